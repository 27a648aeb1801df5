//! Benchmarks run by `tierdesk bench …`: they measure and print, never assert.

use std::time::{Duration, Instant};

/// `tierdesk bench licenses`: a million licenses, list/assign/activate/validate timings
/// and a contention run.
/// `tierdesk bench api`: the REST API over real HTTP.
pub mod api;
pub mod licenses;
/// `tierdesk bench migration`: the legacy migration at scale with a permission checker.
pub mod migration;
/// The rollout's shadow comparison overhead.
pub mod rollout;

use domain::members::{Sort, SortColumn};
use domain::points::ledger::{self, Change};
use domain::{Access, Error, Principal, Role};
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

/// Share of earns in the mixed workload (the rest are spends).
const EARN_SHARE: f64 = 0.7;

pub struct PointsReport {
    pub transactions: u64,
    pub refused: u64,
    pub seconds: f64,
    pub latency_us_p50: u64,
    pub latency_us_p99: u64,
    pub violations: usize,
}

/// Creates a fresh tenant with `members` members (realistic ledgers), then runs
/// `clients` concurrent loops of earn (70%) / spend (30%) on random members through
/// `domain::points::ledger` for `seconds`, then checks the tenant's ledger.
pub async fn points(
    db: &PgPool,
    clients: usize,
    seconds: u64,
    members: i64,
) -> Result<PointsReport, Error> {
    let slug = format!("bench-{}", &Uuid::new_v4().simple().to_string()[..12]);
    let tenant =
        domain::access::tenants::create(db, &Principal::cli(), None, &slug, "Benchmark").await?;
    let mut tx = db.begin().await?;
    domain::points::levels::install(
        &mut tx,
        tenant.tenant_id,
        &domain::points::levels::default_tiers(),
    )
    .await?;
    domain::demo::seed_members(&mut tx, tenant.tenant_id, members).await?;
    tx.commit().await?;
    let member_ids: Vec<Uuid> = sqlx::query_scalar!(
        "select member_id from member_profiles where tenant_id = $1",
        tenant.tenant_id
    )
    .fetch_all(db)
    .await?;
    let access = Access {
        principal: Principal::cli(),
        tenant_id: tenant.tenant_id,
        role: Role::TenantAdmin,
        request_id: None,
    };

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (db, access, member_ids) = (db.clone(), access.clone(), member_ids.clone());
        tasks.push(tokio::spawn(async move {
            client_loop(&db, &access, &member_ids, deadline).await
        }));
    }
    let mut latencies = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (task_latencies, task_refused) = task
            .await
            .map_err(|error| Error::Internal(format!("benchmark client failed: {error}")))??;
        latencies.extend(task_latencies);
        refused += task_refused;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    let violations = domain::points::check::check(db, Some(tenant.tenant_id))
        .await?
        .len();
    Ok(PointsReport {
        transactions: latencies.len() as u64,
        refused,
        seconds: elapsed,
        latency_us_p50: percentile(0.50),
        latency_us_p99: percentile(0.99),
        violations,
    })
}

async fn client_loop(
    db: &PgPool,
    access: &Access,
    member_ids: &[Uuid],
    deadline: Instant,
) -> Result<(Vec<u64>, u64), Error> {
    let mut latencies = Vec::new();
    let mut refused = 0;
    while Instant::now() < deadline {
        let (member_id, earn, points) = {
            let mut rng = rand::thread_rng();
            (
                member_ids[rng.gen_range(0..member_ids.len())],
                rng.gen_bool(EARN_SHARE),
                rng.gen_range(1..100),
            )
        };
        let change = Change {
            member_id,
            points,
            category: "bench".into(),
            ..Default::default()
        };
        let started = Instant::now();
        let result = if earn {
            ledger::earn(db, access, change).await
        } else {
            ledger::spend(db, access, change).await
        };
        match result {
            Ok(_) => latencies.push(started.elapsed().as_micros() as u64),
            Err(Error::InsufficientPoints { .. }) => refused += 1,
            Err(error) => return Err(error),
        }
    }
    Ok((latencies, refused))
}

/// One measured member query: its label, the rows of its page and its latencies in
/// microseconds.
pub struct QueryTiming {
    pub label: &'static str,
    pub rows: usize,
    pub latency_us_p50: u64,
    pub latency_us_p99: u64,
    pub latency_us_max: u64,
}

/// A new tenant with the default tiers and `members` members with realistic ledgers,
/// analysed; and the seconds seeding took.
async fn seeded_tenant(
    db: &PgPool,
    members: i64,
) -> Result<(domain::access::tenants::Tenant, f64), Error> {
    let slug = format!("bench-{}", &Uuid::new_v4().simple().to_string()[..12]);
    let tenant =
        domain::access::tenants::create(db, &Principal::cli(), None, &slug, "Benchmark").await?;
    let seeding = Instant::now();
    let mut tx = db.begin().await?;
    domain::points::levels::install(
        &mut tx,
        tenant.tenant_id,
        &domain::points::levels::default_tiers(),
    )
    .await?;
    domain::demo::seed_members(&mut tx, tenant.tenant_id, members).await?;
    tx.commit().await?;
    sqlx::query("analyze member_profiles").execute(db).await?;
    Ok((tenant, seeding.elapsed().as_secs_f64()))
}

/// Seeds a tenant with `members` members (or takes the existing tenant `tenant`, a
/// slug printed by an earlier run), then times the console's member queries (through
/// `domain::members::search`, as the Members page runs them). Returns the members, the
/// seconds seeding took (0 for an existing tenant) and the timings.
pub async fn members(
    db: &PgPool,
    members: i64,
    runs: usize,
    tenant: Option<&str>,
) -> Result<(i64, f64, Vec<QueryTiming>), Error> {
    let (tenant, seeded_seconds) = match tenant {
        Some(slug) => (domain::access::tenants::by_slug(db, slug).await?, 0.0),
        None => seeded_tenant(db, members).await?,
    };
    println!("tenant: {}", tenant.slug);
    let members: i64 =
        sqlx::query_scalar("select count(*) from member_profiles where tenant_id = $1")
            .bind(tenant.tenant_id)
            .fetch_one(db)
            .await?;
    let access = Access {
        principal: Principal::cli(),
        tenant_id: tenant.tenant_id,
        role: Role::Viewer,
        request_id: None,
    };
    // External ids are M + the member number, zero-padded to at least six digits;
    // emails are member<n>@example.com; a third of the names are Latin ("Eli Wang").
    let width = members.to_string().len().max(6);
    let middle = format!("M{:0width$}", members / 2);
    let middle_id = middle.clone();
    let searches: Vec<(&'static str, domain::members::Search)> = vec![
        ("first page", search(None, None, None)),
        (
            "page in the middle (keyset)",
            search(None, None, Some(middle)),
        ),
        ("level filter: diamond", search(None, Some("diamond"), None)),
        ("text 'm0500' (id start)", search(Some("m0500"), None, None)),
        (
            "text 'member4242' (email start)",
            search(Some("member4242"), None, None),
        ),
        (
            "text '王伟' (2 chars: prefix)",
            search(Some("王伟"), None, None),
        ),
        (
            "substring '4242@' (email middle)",
            search(Some("4242@"), None, None),
        ),
        (
            "substring '0500' (ids and emails)",
            search(Some("0500"), None, None),
        ),
        (
            "substring 'wang' (1 in 24 names)",
            search(Some("wang"), None, None),
        ),
        (
            "substring 'example' (every email)",
            search(Some("example"), None, None),
        ),
        (
            "by total points, highest first",
            sorted(SortColumn::TotalPoints, true, None, None),
        ),
        (
            "by total points, page after 1,000 points",
            sorted(
                SortColumn::TotalPoints,
                true,
                None,
                Some(format!(r#"["1000","{middle_id}"]"#)),
            ),
        ),
        (
            "by name, A first",
            sorted(SortColumn::DisplayName, false, None, None),
        ),
        (
            "by registration, newest first",
            sorted(SortColumn::RegisteredAt, true, None, None),
        ),
        (
            "by total points, level filter: gold",
            sorted(SortColumn::TotalPoints, true, Some("gold"), None),
        ),
        (
            "by name, substring 'wang'",
            domain::members::Search {
                text: Some("wang".into()),
                ..sorted(SortColumn::DisplayName, false, None, None)
            },
        ),
    ];
    let mut timings = Vec::new();
    for (label, query) in searches {
        let mut latencies = Vec::with_capacity(runs);
        let mut rows = 0;
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            rows = domain::members::search(db, &access, query.clone())
                .await?
                .members
                .len();
            latencies.push(started.elapsed().as_micros() as u64);
        }
        let latency = Latencies::of(latencies);
        timings.push(QueryTiming {
            label,
            rows,
            latency_us_p50: latency.p50,
            latency_us_p99: latency.p99,
            latency_us_max: latency.max,
        });
    }
    Ok((members, seeded_seconds, timings))
}

fn sorted(
    column: SortColumn,
    descending: bool,
    level: Option<&str>,
    after: Option<String>,
) -> domain::members::Search {
    domain::members::Search {
        sort: Some(Sort { column, descending }),
        ..search(None, level, after)
    }
}

fn search(
    text: Option<&str>,
    level: Option<&str>,
    after: Option<String>,
) -> domain::members::Search {
    domain::members::Search {
        text: text.map(str::to_owned),
        level_code: level.map(str::to_owned),
        sort: None,
        after,
        before: None,
        page_size: 25,
    }
}

/// Latency figures of one phase of the permissions benchmark.
pub struct CheckTiming {
    pub checks: u64,
    pub seconds: f64,
    pub latency_ns_p50: u64,
    pub latency_ns_p99: u64,
}

pub struct PermissionsReport {
    pub members: usize,
    pub with_vip: i64,
    pub with_enterprise: i64,
    pub uncached: CheckTiming,
    pub cached: CheckTiming,
    pub stats: domain::tags::permissions::CacheStats,
}

/// Seeds a tenant with `members` members (a fifth hold a VIP tag, one in twenty an
/// enterprise tag), then times `check_permission` on random members for `seconds`
/// each: through a cache that is not a node (every check computes from PostgreSQL),
/// then through a live cache node after warming it.
pub async fn permissions(
    db: &PgPool,
    members: i64,
    seconds: u64,
) -> Result<PermissionsReport, Error> {
    use domain::tags::permissions::PermissionCache;

    let slug = format!("bench-{}", &Uuid::new_v4().simple().to_string()[..12]);
    let tenant =
        domain::access::tenants::create(db, &Principal::cli(), None, &slug, "Benchmark").await?;
    let access = Access {
        principal: Principal::cli(),
        tenant_id: tenant.tenant_id,
        role: Role::TenantAdmin,
        request_id: None,
    };
    let mut tx = db.begin().await?;
    domain::points::levels::install(
        &mut tx,
        tenant.tenant_id,
        &domain::points::levels::default_tiers(),
    )
    .await?;
    domain::demo::seed_members(&mut tx, tenant.tenant_id, members).await?;
    tx.commit().await?;
    let tag = |code: &str, permissions: &[&str], floor: i32, boost: i32| domain::tags::TagInput {
        code: code.into(),
        name_zh: code.into(),
        name_en: code.into(),
        category: "payment".into(),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        max_licenses: floor,
        max_licenses_boost: boost,
        default_term_days: Some(365),
        grace_days: 7,
        renew_from: "expiry".into(),
        active: true,
        ..Default::default()
    };
    let vip = domain::tags::create(
        db,
        &access,
        tag("vip", &["vip.support", "export.unlimited"], 0, 2),
    )
    .await?;
    let enterprise = domain::tags::create(
        db,
        &access,
        tag("enterprise", &["sso", "audit.export"], 20, 0),
    )
    .await?;
    let mut granted = Vec::new();
    for (tag_id, every) in [(vip, 5), (enterprise, 20)] {
        let rows = sqlx::query!(
            "insert into tag_grants (tenant_id, member_id, tag_id, method, reason, starts_at, expires_at,
                                     term_days, grace_days)
             select tenant_id, member_id, $2, 'migration', 'benchmark', now(), now() + interval '365 days', 365, 7
             from (select tenant_id, member_id, row_number() over (order by member_id) as n
                   from member_profiles where tenant_id = $1) m
             where n % $3 = 0",
            tenant.tenant_id,
            tag_id,
            every
        )
        .execute(db)
        .await?
        .rows_affected();
        granted.push(rows as i64);
    }
    sqlx::query("analyze tag_grants").execute(db).await?;
    let member_ids: Vec<Uuid> = sqlx::query_scalar!(
        "select member_id from member_profiles where tenant_id = $1",
        tenant.tenant_id
    )
    .fetch_all(db)
    .await?;

    let clock = domain::clock::system();
    // Never started: not a node, so it never answers from memory.
    let uncached = PermissionCache::new(clock.clone(), 1);
    let uncached = time_checks(db, &access, &uncached, &member_ids, seconds).await?;

    // Room for every member: the phase measures answers from memory, not eviction.
    let cache = PermissionCache::new(clock, member_ids.len() as u64 * 2 + 16);
    cache.start(db.clone(), "tierdesk bench permissions".into());
    let ready = Instant::now();
    while !cache.stats().serving {
        if ready.elapsed() > Duration::from_secs(10) {
            return Err(Error::Internal("the cache node did not start".into()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for member_id in &member_ids {
        cache.check(db, &access, *member_id, "vip.support").await?;
    }
    let cached = time_checks(db, &access, &cache, &member_ids, seconds).await?;
    Ok(PermissionsReport {
        members: member_ids.len(),
        with_vip: granted[0],
        with_enterprise: granted[1],
        uncached,
        cached,
        stats: cache.stats(),
    })
}

async fn time_checks(
    db: &PgPool,
    access: &Access,
    cache: &domain::tags::permissions::PermissionCache,
    member_ids: &[Uuid],
    seconds: u64,
) -> Result<CheckTiming, Error> {
    const KEYS: [&str; 4] = ["vip.support", "api_access", "sso", "not.granted"];
    let mut latencies = Vec::new();
    let mut rng = rand::thread_rng();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds.max(1));
    while Instant::now() < deadline {
        let member_id = member_ids[rng.gen_range(0..member_ids.len())];
        let key = KEYS[rng.gen_range(0..KEYS.len())];
        let before = Instant::now();
        std::hint::black_box(cache.check(db, access, member_id, key).await?);
        latencies.push(before.elapsed().as_nanos() as u64);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    Ok(CheckTiming {
        checks: latencies.len() as u64,
        seconds,
        latency_ns_p50: percentile(0.50),
        latency_ns_p99: percentile(0.99),
    })
}

/// Latencies of the benchmark's writers over one window, in microseconds.
/// The `q` quantile of sorted samples (0 when there are none).
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    sorted
        .get(((sorted.len() as f64 - 1.0).max(0.0) * q) as usize)
        .copied()
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Latencies {
    pub count: usize,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

impl Latencies {
    fn of(mut samples: Vec<u64>) -> Self {
        samples.sort_unstable();
        let at = |p: f64| {
            samples
                .get(((samples.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or(0)
        };
        Latencies {
            count: samples.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: samples.last().copied().unwrap_or(0),
        }
    }
}

pub struct TiersReport {
    pub members: i64,
    pub seeded_seconds: f64,
    /// The tier save's own duration (the console waits for this).
    pub save_ms: f64,
    /// From the save's commit until every stored level follows the new tiers.
    pub relevel_seconds: f64,
    pub expected_moves: i64,
    pub moved: i64,
    /// The writers' latencies before the save (baseline, same load otherwise).
    pub baseline: Latencies,
    /// The writers' latencies from the save until the re-level finished.
    pub during: Latencies,
    pub violations: usize,
}

/// Seeds a tenant with `members` members, starts `clients` writers making audited
/// manual adjustments (the console's path) on random members, then saves a tier change
/// that moves members (the silver/gold boundary down by 500) and waits until the
/// background re-level has stored every level. Reports the save's duration, the
/// re-level's, and the writers' latencies before the save (baseline) and from the save
/// until the re-level is done.
pub async fn tiers(db: &PgPool, members: i64, clients: usize) -> Result<TiersReport, Error> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let (tenant, seeded_seconds) = seeded_tenant(db, members).await?;
    let member_ids: Arc<Vec<Uuid>> = Arc::new(
        sqlx::query_scalar!(
            "select member_id from member_profiles where tenant_id = $1",
            tenant.tenant_id
        )
        .fetch_all(db)
        .await?,
    );
    let access = Access {
        principal: Principal::cli(),
        tenant_id: tenant.tenant_id,
        role: Role::TenantAdmin,
        request_id: None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (db, access, ids, stop) =
            (db.clone(), access.clone(), member_ids.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut latencies: Vec<(Instant, u64)> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let (member_id, points) = {
                    let mut rng = rand::thread_rng();
                    (ids[rng.gen_range(0..ids.len())], rng.gen_range(1..50))
                };
                let change = Change {
                    member_id,
                    points,
                    category: "manual".into(),
                    reason: Some("benchmark".into()),
                    ..Default::default()
                };
                let started = Instant::now();
                ledger::adjust(&db, &access, change).await?;
                latencies.push((started, started.elapsed().as_micros() as u64));
            }
            Ok::<_, Error>(latencies)
        }));
    }
    // Baseline: the same writers with no tier change.
    let baseline_from = Instant::now() + Duration::from_secs(2);
    tokio::time::sleep(Duration::from_secs(12)).await;
    let mut tiers: Vec<domain::points::levels::TierInput> =
        domain::points::levels::list(db, &access)
            .await?
            .iter()
            .map(domain::points::levels::TierInput::from)
            .collect();
    let (silver, gold) = (1, 2);
    let boundary = tiers[gold].min_points - 500;
    tiers[silver].max_points = Some(boundary - 1);
    tiers[gold].min_points = boundary;
    let saving = Instant::now();
    let (_, preview) = domain::points::levels::save(db, &access, &tiers).await?;
    let save_ms = saving.elapsed().as_secs_f64() * 1000.0;
    domain::points::levels::relevel_until_done(db, tenant.tenant_id).await?;
    let relevel_seconds = saving.elapsed().as_secs_f64() - save_ms / 1000.0;
    let relevelled = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let mut samples = Vec::new();
    for writer in writers {
        samples.extend(
            writer
                .await
                .map_err(|error| Error::Internal(format!("benchmark writer failed: {error}")))??,
        );
    }
    let window = |from: Instant, to: Instant| {
        Latencies::of(
            samples
                .iter()
                .filter(|(started, _)| *started >= from && *started < to)
                .map(|(_, latency)| *latency)
                .collect(),
        )
    };
    let baseline = window(baseline_from, saving);
    let during = window(saving, relevelled);
    let progress = domain::points::levels::relevel_progress(db, &access).await?;
    let violations = domain::points::check::check(db, Some(tenant.tenant_id))
        .await?
        .len();
    Ok(TiersReport {
        members,
        seeded_seconds,
        save_ms,
        relevel_seconds,
        expected_moves: preview.moved_up + preview.moved_down,
        moved: progress.moved,
        baseline,
        during,
        violations,
    })
}

/// What `tierdesk bench overview` measured.
pub struct OverviewReport {
    pub members: i64,
    pub ledger_rows: i64,
    pub seeded_seconds: f64,
    pub fold_seconds: f64,
    /// Latency of the whole overview per range (30 and 90 days), in microseconds.
    pub ranges: Vec<(u32, Latencies)>,
    /// Points per day over 90 days summed from the ledger rows themselves, once.
    pub ledger_scan_ms: u128,
}

/// Members handled per seeding statement of the overview benchmark.
const OVERVIEW_SEED_BATCH: i64 = 10_000;

/// Seeds a tenant with `members` members (their usual ledgers), then earn/spend pairs
/// spread over the last 90 days until the tenant has at least `ledger_rows` ledger
/// rows, set-based in batches of members; folds the daily aggregate; then times
/// `domain::overview::overview` (as the page calls it) `runs` times per range.
///
/// With `tenant` (a slug), measures that tenant as it is instead (seeded by an earlier
/// run, which prints its slug): seeding ten million rows takes long, measuring does not.
pub async fn overview(
    db: &PgPool,
    members: i64,
    ledger_rows: i64,
    runs: usize,
    tenant: Option<&str>,
) -> Result<OverviewReport, Error> {
    let (tenant, seeded) = match tenant {
        Some(slug) => (domain::access::tenants::by_slug(db, slug).await?, false),
        None => (seeded_tenant(db, members).await?.0, true),
    };
    println!("tenant: {}", tenant.slug);
    let seeding = Instant::now();
    let tenant_id = tenant.tenant_id;
    let existing: i64 =
        sqlx::query_scalar("select count(*) from points_ledger where tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(db)
            .await?;
    let members: i64 =
        sqlx::query_scalar("select count(*) from member_profiles where tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(db)
            .await?;
    let missing = if seeded {
        (ledger_rows - existing).max(0)
    } else {
        0
    };
    // Whole pairs per member, so balances end where they started plus the earned total.
    let pairs = (missing + 2 * members - 1) / (2 * members).max(1);
    // Keyset over the tenant's members; none when there is nothing to add.
    let mut next = (pairs > 0).then_some(Uuid::nil());
    while let Some(after) = next {
        let last: Option<Uuid> = sqlx::query_scalar(
            "select member_id from (select member_id from member_profiles
             where tenant_id = $1 and member_id > $2 order by member_id limit $3) b
             order by member_id desc limit 1",
        )
        .bind(tenant_id)
        .bind(after)
        .bind(OVERVIEW_SEED_BATCH)
        .fetch_optional(db)
        .await?;

        if let Some(last) = last {
            seed_pairs(db, tenant_id, after, last, pairs).await?;
            eprintln!(
                "seeded pairs up to member {last} ({:.0} s)",
                seeding.elapsed().as_secs_f64()
            );
        }
        next = last;
    }
    // The demo's tag catalogue and grants (a VIP tag for one member in 25, an
    // enterprise tag for one in 100), so tags held and expiring count real grants.
    let tagged: bool =
        sqlx::query_scalar("select exists (select 1 from tags where tenant_id = $1)")
            .bind(tenant_id)
            .fetch_one(db)
            .await?;
    if !tagged {
        let mut conn = db.acquire().await?;
        domain::demo::seed_tags(&mut conn, tenant_id).await?;
    }
    // Vacuumed as autovacuum would leave them in steady state (visibility maps set, so
    // the level count is an index-only scan).
    sqlx::query("vacuum analyze member_profiles, points_ledger, level_changes, tag_grants")
        .execute(db)
        .await?;
    let seeded_seconds = seeding.elapsed().as_secs_f64();
    let folding = Instant::now();
    while domain::overview::fold_pending(db).await? >= domain::overview::FOLD_BATCH_MAX {}
    let fold_seconds = folding.elapsed().as_secs_f64();
    spread_level_history(db, tenant_id).await?;
    sqlx::query("analyze points_daily, points_daily_pending, level_daily, level_daily_pending")
        .execute(db)
        .await?;
    let (point_days, level_rows): (i64, i64) = sqlx::query_as(
        "select (select count(*) from points_daily where tenant_id = $1),
                (select count(*) from level_daily where tenant_id = $1)",
    )
    .bind(tenant_id)
    .fetch_one(db)
    .await?;
    println!("aggregate rows read: points_daily {point_days}, level_daily {level_rows}");
    let ledger_rows: i64 =
        sqlx::query_scalar("select count(*) from points_ledger where tenant_id = $1")
            .bind(tenant_id)
            .fetch_one(db)
            .await?;
    let access = Access {
        principal: Principal::cli(),
        tenant_id,
        role: Role::Viewer,
        request_id: None,
    };
    let mut ranges = Vec::new();
    for days in domain::overview::RANGE_DAYS {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            domain::overview::overview(db, &access, chrono::Utc::now(), days).await?;
            samples.push(started.elapsed().as_micros() as u64);
        }
        ranges.push((days, Latencies::of(samples)));
    }
    let scanning = Instant::now();
    // The query the aggregate replaces (not compile-checked: benchmark only).
    sqlx::query(
        "select (created_at at time zone 'UTC')::date as day,
                sum(points) filter (where points > 0), -sum(points) filter (where kind = 'spend')
         from points_ledger where tenant_id = $1 and created_at >= now() - interval '90 days'
         group by 1",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await?;
    Ok(OverviewReport {
        members,
        ledger_rows,
        seeded_seconds,
        fold_seconds,
        ranges,
        ledger_scan_ms: scanning.elapsed().as_millis(),
    })
}

/// Gives the level aggregate the history a real tenant has: seeding creates every
/// member on one day, so the folded `members` column would be a handful of rows; a
/// tenant some years old has one per level and day since it started. Moves each
/// member's count to its registration day (the totals, which `tierdesk check overview`
/// compares with the profiles, do not change; the moves per day stay as the level
/// history says). Once per tenant, after a full fold, with no writers (benchmark only).
async fn spread_level_history(db: &PgPool, tenant_id: Uuid) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    let days: i64 = sqlx::query_scalar(
        "select count(distinct day) from level_daily where tenant_id = $1 and members <> 0",
    )
    .bind(tenant_id)
    .fetch_one(&mut *tx)
    .await?;
    if days > 30 {
        return Ok(());
    }
    sqlx::query("update level_daily set members = 0 where tenant_id = $1")
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into level_daily (tenant_id, day, tier_id, members)
         select tenant_id, (registered_at at time zone 'UTC')::date, level_tier_id, count(*)
         from member_profiles where tenant_id = $1
         group by 1, 2, 3
         on conflict (tenant_id, day, tier_id) do update set members = level_daily.members + excluded.members",
    )
    .bind(tenant_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Appends `pairs` earn/spend pairs to each member in `(after, last]`: earn `a`, then
/// spend `a` (a per member), dated evenly over the last 90 days; updates the profiles'
/// sequence, lifetime total and level (from the tenant's tiers) in the same
/// transaction. The ledger invariants hold (`tierdesk check ledger`).
async fn seed_pairs(
    db: &PgPool,
    tenant_id: Uuid,
    after: Uuid,
    last: Uuid,
    pairs: i64,
) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "insert into points_ledger
           (tenant_id, member_id, seq, kind, category, points, available_before, available_after,
            total_before, total_after, source_type, created_at)
         select $1, p.member_id, p.ledger_seq + g.n,
                case when g.n % 2 = 1 then 'earn' else 'spend' end,
                case when g.n % 2 = 1 then 'purchase' else 'redemption' end,
                case when g.n % 2 = 1 then a.amount else -a.amount end,
                p.available_points + case when g.n % 2 = 1 then 0 else a.amount end,
                p.available_points + case when g.n % 2 = 1 then a.amount else 0 end,
                p.total_points + ((g.n - 1) / 2 + case when g.n % 2 = 1 then 0 else 1 end) * a.amount,
                p.total_points + ((g.n + 1) / 2) * a.amount,
                'bench',
                now() - (2 * $4 - g.n) * (interval '90 days' / (2 * $4))
                      - (abs(hashtext(p.member_id::text)) % 600) * interval '1 minute'
         from member_profiles p
         cross join lateral (select 10 + abs(hashtext(p.member_id::text)) % 50 as amount) a
         cross join lateral generate_series(1, 2 * $4) as g(n)
         where p.tenant_id = $1 and p.member_id > $2 and p.member_id <= $3",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(last)
    .bind(pairs)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update member_profiles p
         set ledger_seq = p.ledger_seq + 2 * $4,
             total_points = p.total_points + $4 * (10 + abs(hashtext(p.member_id::text)) % 50),
             level_tier_id = (select t.tier_id from level_tiers t
                              where t.tenant_id = $1 and t.active
                                and t.min_points <= p.total_points + $4 * (10 + abs(hashtext(p.member_id::text)) % 50)
                                and (t.max_points is null
                                     or p.total_points + $4 * (10 + abs(hashtext(p.member_id::text)) % 50) <= t.max_points)
                              order by t.sort_order limit 1)
         where p.tenant_id = $1 and p.member_id > $2 and p.member_id <= $3",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(last)
    .bind(pairs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
