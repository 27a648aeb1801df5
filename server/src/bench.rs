//! Benchmarks run by `tierdesk bench …`: they measure and print, never assert.

use std::time::{Duration, Instant};

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
    let tenant = domain::tenants::create(db, &Principal::cli(), None, &slug, "Benchmark").await?;
    let mut tx = db.begin().await?;
    domain::levels::install(&mut tx, tenant.tenant_id, &domain::levels::default_tiers()).await?;
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

/// One measured member query: its label and its latencies in microseconds.
pub struct QueryTiming {
    pub label: &'static str,
    pub rows: usize,
    pub latency_us_p50: u64,
    pub latency_us_max: u64,
}

/// Seeds a tenant with `members` members, then times the console's member queries
/// (through `domain::members::search`, as the Members page runs them).
pub async fn members(
    db: &PgPool,
    members: i64,
    runs: usize,
) -> Result<(f64, Vec<QueryTiming>), Error> {
    let slug = format!("bench-{}", &Uuid::new_v4().simple().to_string()[..12]);
    let tenant = domain::tenants::create(db, &Principal::cli(), None, &slug, "Benchmark").await?;
    let seeding = Instant::now();
    let mut tx = db.begin().await?;
    domain::levels::install(&mut tx, tenant.tenant_id, &domain::levels::default_tiers()).await?;
    domain::demo::seed_members(&mut tx, tenant.tenant_id, members).await?;
    tx.commit().await?;
    sqlx::query("analyze member_profiles").execute(db).await?;
    let seeded_seconds = seeding.elapsed().as_secs_f64();
    let access = Access {
        principal: Principal::cli(),
        tenant_id: tenant.tenant_id,
        role: Role::Viewer,
        request_id: None,
    };
    // External ids are M + the member number, zero-padded to at least six digits.
    let width = members.to_string().len().max(6);
    let middle = format!("M{:0width$}", members / 2);
    let searches: Vec<(&'static str, domain::members::Search)> = vec![
        ("first page", search(None, None, None)),
        (
            "page in the middle (keyset)",
            search(None, None, Some(middle)),
        ),
        ("level filter: diamond", search(None, Some("diamond"), None)),
        (
            "external id prefix 'm0500'",
            search(Some("m0500"), None, None),
        ),
        (
            "email prefix 'member4242'",
            search(Some("member4242"), None, None),
        ),
        ("name prefix '王伟'", search(Some("王伟"), None, None)),
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
        latencies.sort_unstable();
        timings.push(QueryTiming {
            label,
            rows,
            latency_us_p50: latencies[latencies.len() / 2],
            latency_us_max: latencies[latencies.len() - 1],
        });
    }
    Ok((seeded_seconds, timings))
}

fn search(
    text: Option<&str>,
    level: Option<&str>,
    after: Option<String>,
) -> domain::members::Search {
    domain::members::Search {
        text: text.map(str::to_owned),
        level_code: level.map(str::to_owned),
        after,
        page_size: 25,
    }
}
