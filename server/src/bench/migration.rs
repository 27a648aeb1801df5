//! `tierdesk bench migration`: a tenant with `members` synthetic legacy members taken
//! through pre-flight, dry run, the run (everyone), validate + reconcile and an
//! emergency rollback, while one client keeps asking routed permission checks of
//! random members of the tenant. Prints each phase's seconds and the checker's figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::migration::rollback::RollbackMode;
use domain::migration::routing::Model;
use domain::migration::run::Selection;
use domain::migration::{analysis, legacy, rollback, routing, run, verify};
use domain::tags::permissions::PermissionCache;
use domain::{Access, Error, Principal, Role};
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

pub struct MigrationReport {
    pub slug: String,
    /// (phase, seconds)
    pub phases: Vec<(&'static str, f64)>,
    pub checks: usize,
    pub check_p50_us: u64,
    pub check_p99_us: u64,
    pub check_max_us: u64,
    pub check_errors: usize,
    pub migrated: i64,
    pub reconciled: i64,
}

impl MigrationReport {
    /// The seconds of the measured phases (generation excluded).
    pub fn total_seconds(&self) -> f64 {
        self.phases
            .iter()
            .filter(|(phase, _)| *phase != "generate")
            .map(|(_, s)| s)
            .sum()
    }
}

pub async fn run(db: &PgPool, members: i64) -> Result<MigrationReport, Error> {
    let slug = format!("bench-mig-{}", &Uuid::new_v4().simple().to_string()[..8]);
    let tenant =
        domain::access::tenants::create(db, &Principal::cli(), None, &slug, "Migration benchmark")
            .await?;
    let access = Access {
        principal: Principal::cli(),
        tenant_id: tenant.tenant_id,
        role: Role::TenantAdmin,
        request_id: None,
    };
    let mut phases = Vec::new();
    let clock = Instant::now();
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
    phases.push(("generate", clock.elapsed().as_secs_f64()));
    eprintln!("generated {members} legacy members in {slug}");

    // The checker: one client on its own cache node, routed checks of random members.
    let cache = PermissionCache::new(domain::clock::system(), 100_000);
    cache.start(db.clone(), "bench migration checker".into());
    let stop = Arc::new(AtomicBool::new(false));
    let checker = tokio::spawn({
        let (db, cache, stop) = (db.clone(), cache.clone(), stop.clone());
        let access = access.clone();
        let width = std::cmp::max(6, members.to_string().len());
        async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let n = rand::thread_rng().gen_range(1..=members.max(1));
                let id = format!("L{n:0width$}");
                let started = Instant::now();
                match routing::check(&db, &cache, &access, &id, "license_request").await {
                    Ok(_) => latencies.push(started.elapsed().as_micros() as u64),
                    Err(error) => {
                        errors += 1;
                        if errors <= 5 {
                            eprintln!("check of {id} failed: {error}");
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (latencies, errors)
        }
    });

    let now = Utc::now();
    let timed = Instant::now();
    analysis::preflight(db, &access, now).await?;
    phases.push(("preflight", timed.elapsed().as_secs_f64()));
    eprintln!("preflight {:.1} s", timed.elapsed().as_secs_f64());

    let timed = Instant::now();
    let dry = analysis::dry_run(db, &access, &Selection::All, now).await?;
    phases.push(("dry_run", timed.elapsed().as_secs_f64()));
    eprintln!(
        "dry run {:.1} s: {} migratable, {} points, agreement {:.1} %",
        timed.elapsed().as_secs_f64(),
        dry.migratable,
        dry.points_total,
        dry.agreement_permille() as f64 / 10.0
    );

    let timed = Instant::now();
    let started = run::start(db, &access, &Selection::All, now).await?;
    let mut last_report = Instant::now();
    let done = run::drive(db, tenant.tenant_id, started.run_id, |progress| {
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            eprintln!(
                "  {} / {} ({:.0}/s, batch {})",
                progress.handled(),
                progress.total,
                progress.rate(),
                progress.batch_size
            );
        }
    })
    .await?;
    phases.push(("migrate", timed.elapsed().as_secs_f64()));
    eprintln!(
        "migrate {:.1} s: {} migrated, {} errors, {} batches",
        timed.elapsed().as_secs_f64(),
        done.done,
        done.errors,
        done.batches
    );
    routing::switch(db, &access, Model::New).await?;

    let timed = Instant::now();
    let validation = verify::validate(db, &access, false, Utc::now()).await?;
    let reconciliation = verify::reconcile(db, &access).await?;
    phases.push(("validate_reconcile", timed.elapsed().as_secs_f64()));
    eprintln!(
        "validate + reconcile {:.1} s: {} problems (quota_lower included), {} of {} matching",
        timed.elapsed().as_secs_f64(),
        validation.problems(),
        reconciliation.matching,
        reconciliation.compared
    );

    let timed = Instant::now();
    rollback::blast_radius(
        db,
        &access,
        RollbackMode::Emergency,
        &Selection::All,
        Utc::now(),
    )
    .await?;
    let started = rollback::start(
        db,
        &access,
        RollbackMode::Emergency,
        &Selection::All,
        Utc::now(),
    )
    .await?;
    run::drive(db, tenant.tenant_id, started.run_id, |_| {}).await?;
    phases.push(("rollback", timed.elapsed().as_secs_f64()));
    eprintln!("rollback {:.1} s", timed.elapsed().as_secs_f64());

    stop.store(true, Ordering::Relaxed);
    let (mut latencies, check_errors) = checker
        .await
        .map_err(|error| Error::Internal(format!("checker: {error}")))?;
    cache.leave(db).await?;
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    Ok(MigrationReport {
        slug,
        phases,
        checks: latencies.len(),
        check_p50_us: at(0.5),
        check_p99_us: at(0.99),
        check_max_us: latencies.last().copied().unwrap_or(0),
        check_errors,
        migrated: done.done,
        reconciled: reconciliation.matching,
    })
}
