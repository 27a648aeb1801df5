//! `tierdesk bench rollout`: a tenant with `members` synthetic legacy members, a
//! rollout whose first stage (20 %) is migrated, then routed permission decisions of
//! random cohort members by `clients` concurrent clients for `seconds` with the shadow
//! comparison on (sample rate 100 %) and as long with it off, interleaved in
//! one-second slices so that drift in the machine's load hits both alike.
//!
//! Prints p50/p99 and decisions per second of each, the records the comparison wrote,
//! and last the line `shadow_overhead_p99_ratio=<r> routed_check_p99_us=<n>`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::migration::{legacy, run};
use domain::rollout::{NewRollout, Question, Shadow, StagePlan, decide, plan};
use domain::tags::permissions::PermissionCache;
use domain::{Access, Error, Principal, Role};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use sqlx::PgPool;
use uuid::Uuid;

use super::quantile;

pub struct RolloutReport {
    pub slug: String,
    pub cohort: i64,
    pub migrate_seconds: f64,
    /// (shadow on?, sorted latencies in µs, seconds measured)
    pub on: Vec<u64>,
    pub off: Vec<u64>,
    pub seconds_each: f64,
    pub records: i64,
    pub dropped: i64,
    pub peak_rss_kib: Option<u64>,
}

impl RolloutReport {
    pub fn ratio(&self) -> f64 {
        let off = quantile(&self.off, 0.99).max(1) as f64;
        quantile(&self.on, 0.99) as f64 / off
    }
}

/// The process's peak resident memory (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub async fn run(
    db: &PgPool,
    members: i64,
    seconds: u64,
    clients: usize,
) -> Result<RolloutReport, Error> {
    let slug = format!("bench-roll-{}", &Uuid::new_v4().simple().to_string()[..8]);
    let tenant =
        domain::access::tenants::create(db, &Principal::cli(), None, &slug, "Rollout benchmark")
            .await?;
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
    domain::demo::seed_tags(&mut tx, tenant.tenant_id).await?;
    legacy::generate(&mut tx, tenant.tenant_id, members, Utc::now()).await?;
    tx.commit().await?;
    sqlx::query("analyze legacy_members").execute(db).await?;
    eprintln!("generated {members} legacy members in {slug}");

    let rollout = plan::create(
        db,
        &access,
        &NewRollout {
            name: "Benchmark".into(),
            stages: vec![
                StagePlan {
                    percent: 20,
                    hold_minutes: 0,
                    approver: None,
                },
                StagePlan {
                    percent: 100,
                    hold_minutes: 0,
                    approver: None,
                },
            ],
            sample_bp: 0,
            ..NewRollout::default()
        },
    )
    .await?;
    let started = Instant::now();
    let rollout = plan::advance(db, &access, rollout.rollout_id, Utc::now()).await?;
    if let Some(run_id) = rollout.current().and_then(|s| s.run_id) {
        run::drive(db, tenant.tenant_id, run_id, |_| {}).await?;
    }
    let migrate_seconds = started.elapsed().as_secs_f64();
    let cohort: Vec<String> = sqlx::query_scalar(
        "select external_id from rollout_members where tenant_id = $1 and rollout_id = $2",
    )
    .bind(tenant.tenant_id)
    .bind(rollout.rollout_id)
    .fetch_all(db)
    .await?;
    eprintln!(
        "cohort of {} migrated in {migrate_seconds:.1} s",
        cohort.len()
    );
    let keys: Vec<String> = vec![
        "license_request".into(),
        "license_request".into(),
        "api_access".into(),
        "priority_support".into(),
        "sso".into(),
        "course.library".into(),
    ];

    let cache = PermissionCache::new(domain::clock::system(), 1_000_000);
    cache.start(db.clone(), "bench rollout".into());
    let shadow = Shadow::start(db.clone());
    let cohort = Arc::new(cohort);
    let keys = Arc::new(keys);
    let viewer = Access {
        role: Role::Viewer,
        ..access.clone()
    };

    // Warm-up with the comparison on, so that both models' answers are warm (the
    // steady state of a rollout in shadow): every cohort member's compiled permissions
    // in the cache, the route's pages in PostgreSQL's buffers.
    sqlx::query("update rollouts set sample_bp = 10000 where tenant_id = $1 and rollout_id = $2")
        .bind(tenant.tenant_id)
        .bind(rollout.rollout_id)
        .execute(db)
        .await?;
    slice(
        db,
        &cache,
        &shadow,
        &viewer,
        &cohort,
        &keys,
        clients,
        Duration::from_secs(3),
    )
    .await?;
    shadow.flush().await?;
    let warm: i64 = sqlx::query_scalar(
        "select count(*) from rollout_decisions where tenant_id = $1 and rollout_id = $2",
    )
    .bind(tenant.tenant_id)
    .bind(rollout.rollout_id)
    .fetch_one(db)
    .await?;

    let mut on = Vec::new();
    let mut off = Vec::new();
    for i in 0..seconds * 2 {
        let shadow_on = i % 2 == 1;
        sqlx::query("update rollouts set sample_bp = $3 where tenant_id = $1 and rollout_id = $2")
            .bind(tenant.tenant_id)
            .bind(rollout.rollout_id)
            .bind(if shadow_on { 10_000 } else { 0 })
            .execute(db)
            .await?;
        let latencies = slice(
            db,
            &cache,
            &shadow,
            &viewer,
            &cohort,
            &keys,
            clients,
            Duration::from_secs(1),
        )
        .await?;
        if shadow_on {
            on.extend(latencies);
        } else {
            off.extend(latencies);
        }
    }
    shadow.flush().await?;
    on.sort_unstable();
    off.sort_unstable();
    let records: i64 = sqlx::query_scalar::<_, i64>(
        "select count(*) from rollout_decisions where tenant_id = $1 and rollout_id = $2",
    )
    .bind(tenant.tenant_id)
    .bind(rollout.rollout_id)
    .fetch_one(db)
    .await?
        - warm;
    let dropped: i64 = sqlx::query_scalar(
        "select coalesce(sum(dropped), 0)::bigint from rollout_traffic where tenant_id = $1 and rollout_id = $2",
    )
    .bind(tenant.tenant_id)
    .bind(rollout.rollout_id)
    .fetch_one(db)
    .await?;
    Ok(RolloutReport {
        slug,
        cohort: cohort.len() as i64,
        migrate_seconds,
        on,
        off,
        seconds_each: seconds as f64,
        records,
        dropped,
        peak_rss_kib: peak_rss_kib(),
    })
}

/// `clients` clients asking routed permission checks of random cohort members for
/// `duration`; their latencies.
#[expect(clippy::too_many_arguments, reason = "the slice's whole context")]
async fn slice(
    db: &PgPool,
    cache: &Arc<PermissionCache>,
    shadow: &Arc<Shadow>,
    access: &Access,
    cohort: &Arc<Vec<String>>,
    keys: &Arc<Vec<String>>,
    clients: usize,
    duration: Duration,
) -> Result<Vec<u64>, Error> {
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (db, cache, shadow, access, cohort, keys) = (
            db.clone(),
            cache.clone(),
            shadow.clone(),
            access.clone(),
            cohort.clone(),
            keys.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::from_entropy();
            let mut latencies = Vec::new();
            let started = Instant::now();
            while started.elapsed() < duration {
                let (Some(member), Some(key)) = (cohort.choose(&mut rng), keys.choose(&mut rng))
                else {
                    break;
                };
                let question = Question::Permission { key: key.clone() };
                let asked = Instant::now();
                decide(&db, &cache, &shadow, &access, member, &question).await?;
                latencies.push(u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            Ok::<_, Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(
            task.await
                .map_err(|error| Error::Internal(format!("benchmark client failed: {error}")))??,
        );
    }
    Ok(all)
}
