//! Simulated decision traffic: random members of a tenant asking routed decisions
//! through `domain::rollout::decide` (the entry point the REST API will call), so the
//! rollout dashboard, the demo and the tests have live decisions to compare before
//! real clients exist.
//!
//! Used by `tierdesk simulate traffic` and by `tierdesk serve` with demo data (a slow
//! stream for every tenant with a running rollout, `--demo-traffic-rps`).
//!
//! The mix: 60 % permission checks (keys from the tenant's legacy types, tags and
//! tiers, the common ones more often), 25 % license quota, 15 % level/points summary.
//! Members: `cohort_share` of the questions go to members of the rollout's cohort (the
//! ones the comparison is about), the rest to any member, legacy or native.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::rollout::{Question, Shadow, decide};
use domain::tags::permissions::PermissionCache;
use domain::{Access, Principal, Role};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// What the simulator asks from.
#[derive(Debug, Clone, Default)]
pub struct Population {
    pub cohort: Vec<String>,
    pub others: Vec<String>,
    /// Permission keys, the common ones repeated (a weighted pick).
    pub keys: Vec<String>,
}

/// The members and keys to ask about: up to 5,000 of the cohort and 5,000 others.
pub async fn population(db: &PgPool, tenant_id: Uuid) -> Result<Population, domain::Error> {
    let cohort = sqlx::query_scalar::<_, String>(
        "select rm.external_id from rollout_members rm
         join rollouts r on r.tenant_id = rm.tenant_id and r.rollout_id = rm.rollout_id
                         and r.status in ('running', 'paused')
         where rm.tenant_id = $1 order by random() limit 5000",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await?;
    let mut others = sqlx::query_scalar::<_, String>(
        "select external_id from legacy_members tablesample system (least(100, greatest(1, 500000.0 / greatest(
                   (select reltuples from pg_class where relname = 'legacy_members'), 1))))
         where tenant_id = $1 limit 4000",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await?;
    others.extend(
        sqlx::query_scalar::<_, String>(
            "select p.external_id from member_profiles p
             where p.tenant_id = $1
               and not exists (select 1 from legacy_members l where l.tenant_id = p.tenant_id
                               and l.external_id = p.external_id)
             limit 1000",
        )
        .bind(tenant_id)
        .fetch_all(db)
        .await?,
    );
    let mut keys = sqlx::query_scalar::<_, String>(
        "select distinct k from (
           select unnest(permissions) k from legacy_user_types where tenant_id = $1
           union all select unnest(permissions) from tags where tenant_id = $1
           union all select unnest(permissions) from level_tiers where tenant_id = $1) keys
         order by k",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await?;
    // The common question is asked more often.
    if keys.iter().any(|k| k == "license_request") {
        keys.extend(std::iter::repeat_n("license_request".to_owned(), 3));
    }
    if keys.is_empty() {
        keys.push("license_request".into());
    }
    Ok(Population {
        cohort,
        others,
        keys,
    })
}

impl Population {
    pub fn is_empty(&self) -> bool {
        self.cohort.is_empty() && self.others.is_empty()
    }

    /// One question about one member.
    pub fn pick(&self, rng: &mut impl Rng, cohort_share: f64) -> Option<(String, Question)> {
        let member = if !self.cohort.is_empty()
            && (self.others.is_empty() || rng.gen_bool(cohort_share.clamp(0.0, 1.0)))
        {
            self.cohort.choose(rng)?
        } else {
            self.others.choose(rng)?
        };
        let roll: f64 = rng.r#gen();
        let question = if roll < 0.60 {
            Question::Permission {
                key: self.keys.choose(rng)?.clone(),
            }
        } else if roll < 0.85 {
            Question::Quota
        } else {
            Question::Summary
        };
        Some((member.clone(), question))
    }
}

/// The simulator's access: a read-only principal of the tenant.
pub fn access(tenant_id: Uuid) -> Access {
    Access {
        principal: Principal {
            admin_id: None,
            api_key_id: None,
            label: "simulator".into(),
            is_platform_admin: false,
        },
        tenant_id,
        role: Role::Viewer,
        request_id: None,
    }
}

/// What a simulation did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub decisions: u64,
    pub legacy: u64,
    pub new: u64,
    pub errors: u64,
    pub latencies_us: Vec<u64>,
}

impl Summary {
    pub fn quantile_us(&self, q: f64) -> u64 {
        crate::bench::quantile(&self.latencies_us, q)
    }
}

/// Asks `rps` decisions a second for `duration` (at most 64 in flight; a slow answer
/// does not slow the rate down until that many wait).
pub async fn run(
    db: &PgPool,
    cache: &Arc<PermissionCache>,
    shadow: &Arc<Shadow>,
    tenant_id: Uuid,
    rps: u32,
    duration: Duration,
    cohort_share: f64,
) -> Result<Summary, domain::Error> {
    let population = population(db, tenant_id).await?;
    if population.is_empty() || rps == 0 {
        return Ok(Summary::default());
    }
    let access = access(tenant_id);
    let limit = Arc::new(Semaphore::new(64));
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rps)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let started = Instant::now();
    let mut rng = rand::rngs::StdRng::from_entropy();
    while started.elapsed() < duration {
        ticker.tick().await;
        let Some((member, question)) = population.pick(&mut rng, cohort_share) else {
            break;
        };
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break;
        };
        let (db, cache, shadow, access, sender) = (
            db.clone(),
            cache.clone(),
            shadow.clone(),
            access.clone(),
            sender.clone(),
        );
        tokio::spawn(async move {
            let _permit = permit;
            let asked = Instant::now();
            let result = decide(&db, &cache, &shadow, &access, &member, &question).await;
            let _ = sender.send((result.map(|r| r.model), asked.elapsed()));
        });
    }
    drop(sender);
    let mut summary = Summary::default();
    while let Some((result, elapsed)) = receiver.recv().await {
        summary.decisions += 1;
        summary
            .latencies_us
            .push(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
        match result {
            Ok(domain::migration::routing::Model::Legacy) => summary.legacy += 1,
            Ok(domain::migration::routing::Model::New) => summary.new += 1,
            Err(_) => summary.errors += 1,
        }
    }
    summary.latencies_us.sort_unstable();
    Ok(summary)
}

/// The demo's stream: every tenant with an active (running or paused) rollout gets `rps` decisions a
/// second, half of them on its cohort, until the process stops.
pub async fn demo_loop(db: PgPool, cache: Arc<PermissionCache>, shadow: Arc<Shadow>, rps: u32) {
    loop {
        let tenants = sqlx::query_scalar::<_, Uuid>(
            "select tenant_id from rollouts where status in ('running', 'paused')",
        )
        .fetch_all(&db)
        .await
        .unwrap_or_default();
        if tenants.is_empty() {
            tokio::time::sleep(Duration::from_secs(3)).await;
            continue;
        }
        let mut rounds = Vec::new();
        for tenant_id in tenants {
            let (db, cache, shadow) = (db.clone(), cache.clone(), shadow.clone());
            rounds.push(tokio::spawn(async move {
                run(
                    &db,
                    &cache,
                    &shadow,
                    tenant_id,
                    rps,
                    Duration::from_secs(10),
                    0.5,
                )
                .await
            }));
        }
        for round in rounds {
            if let Ok(Err(error)) = round.await {
                tracing::warn!(%error, "simulated traffic round failed");
            }
        }
    }
}
