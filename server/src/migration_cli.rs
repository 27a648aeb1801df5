//! `tierdesk migration …`: every step of the legacy migration as a command, acting as
//! the command line (a tenant admin) in the tenant. Each prints its report; the result
//! says whether it found problems (the binary exits non-zero then).

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::migration::analysis::{Finding, KeyDiff};
use domain::migration::rollback::RollbackMode;
use domain::migration::routing::Model;
use domain::migration::run::{RunKind, RunStatus, Selection};
use domain::migration::{analysis, rollback, routing, run, verify};
use domain::{Access, Principal, Role};
use sqlx::PgPool;

use crate::config::{MigrationCommand, SelectionArgs};

pub type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Runs one command; `Ok(false)` when it found problems.
pub async fn execute(db: &PgPool, command: &MigrationCommand) -> Result<bool, AnyError> {
    let tenant = match command {
        MigrationCommand::Preflight { tenant }
        | MigrationCommand::DryRun { tenant, .. }
        | MigrationCommand::Run { tenant, .. }
        | MigrationCommand::CatchUp { tenant }
        | MigrationCommand::Validate { tenant, .. }
        | MigrationCommand::Reconcile { tenant }
        | MigrationCommand::Rollback { tenant, .. }
        | MigrationCommand::Switch { tenant, .. }
        | MigrationCommand::Status { tenant } => tenant,
    };
    let tenant = domain::access::tenants::by_slug(db, tenant).await?;
    let access = Access {
        principal: Principal::cli(),
        tenant_id: tenant.tenant_id,
        role: Role::TenantAdmin,
        request_id: None,
    };
    let now = Utc::now();
    match command {
        MigrationCommand::Preflight { .. } => {
            let report = analysis::preflight(db, &access, now).await?;
            let s = &report.statistics;
            println!("legacy members: {}", s.members);
            for t in &s.per_type {
                println!(
                    "  type {:>3} {:<20} {}",
                    t.type_id,
                    t.name.as_deref().unwrap_or("(unknown type)"),
                    t.members
                );
            }
            println!(
                "license assignments: {}; payments: {}.{:02}; registration days: {}",
                s.license_count_sum,
                s.payment_cents_sum / 100,
                (s.payment_cents_sum % 100).abs(),
                s.registered_days_sum
            );
            println!(
                "logged in ≤7 days: {}; ≤30 days: {}; never: {}; migrated already: {}",
                s.logged_in_7d, s.logged_in_30d, s.never_logged_in, s.already_migrated
            );
            println!(
                "checkpoint {} ({})",
                report.checkpoint.checkpoint_id, report.checkpoint.label
            );
            for t in &report.checkpoint.tables {
                println!(
                    "  {:<20} rows {:>10}  checksum {}",
                    t.table, t.rows, t.checksum
                );
            }
            let unknown = s.per_type.iter().filter(|t| t.name.is_none()).count();
            Ok(unknown == 0)
        }
        MigrationCommand::DryRun { selection, .. } => {
            let report = analysis::dry_run(db, &access, &selection_of(selection)?, now).await?;
            println!(
                "dry run as of {} (settings version {}), {} ms",
                report.as_of, report.settings_version, report.elapsed_ms
            );
            println!(
                "members {}; migrated already {}; migratable {}",
                report.members, report.already_migrated, report.migratable
            );
            println!(
                "points total {}; quantiles (0/25/50/75/90/99/100 %) {:?}",
                report.points_total, report.points_quantiles
            );
            for part in &report.points_by_part {
                println!("  {:<18} {}", part.code, part.members);
            }
            println!("levels:");
            for level in &report.levels {
                println!("  {:<12} {}", or_none(&level.code), level.members);
            }
            println!("tags:");
            for tag in &report.tags {
                println!("  {:<12} {}", or_none(&tag.code), tag.members);
            }
            println!(
                "license quota new vs legacy: lower {}, equal {}, higher {}",
                report.quota_lower, report.quota_equal, report.quota_higher
            );
            for e in &report.quota_lower_examples {
                println!(
                    "  {} legacy {} new {}",
                    e.external_id,
                    e.before.unwrap_or(0),
                    e.after.unwrap_or(0)
                );
            }
            print_findings("cannot be migrated", &report.unmigratable);
            print_findings("migrated with a rule applied", &report.warnings);
            println!(
                "predicted permission agreement: {:.1} % of {} checks; {} members identical",
                report.agreement_permille() as f64 / 10.0,
                report.agreement_pairs,
                report.members_identical
            );
            print_keys(
                "legacy grants, new would not",
                "new grants, legacy did not",
                &report.keys,
            );
            Ok(report.unmigratable.is_empty() && report.quota_lower == 0)
        }
        MigrationCommand::Run { selection, .. } => {
            let current = run::active(db, &access).await?;
            let started = match current {
                Some(active) if active.kind == RunKind::Migrate => {
                    println!(
                        "resuming run {} ({} of {})",
                        active.run_id,
                        active.handled(),
                        active.total
                    );
                    if active.status == RunStatus::Paused {
                        run::control(db, &access, active.run_id, RunStatus::Running).await?
                    } else {
                        active
                    }
                }
                Some(active) => {
                    return Err(format!(
                        "a rollback run ({}) is going: finish or cancel it first",
                        active.run_id
                    )
                    .into());
                }
                None => {
                    let started = run::start(db, &access, &selection_of(selection)?, now).await?;
                    println!("run {} started: {} members", started.run_id, started.total);
                    started
                }
            };
            let done = drive(db, &access, started.run_id).await?;
            println!(
                "run {}: {} — migrated {}, skipped {}, errors {} in {} batches",
                done.run_id,
                done.status.as_str(),
                done.done,
                done.skipped,
                done.errors,
                done.batches
            );
            let detail = run::detail(db, &access, done.run_id).await?;
            for error in detail.errors.iter().take(20) {
                println!("  {} {}", error.external_id, error.problem);
            }
            Ok(done.errors == 0 && done.status == RunStatus::Completed)
        }
        MigrationCommand::CatchUp { .. } => {
            let report = verify::catch_up(db, &access).await?;
            println!(
                "caught up {} members: {} points, {} not taken back (spent), {} tags changed",
                report.members, report.points, report.shortfall, report.tags_changed
            );
            Ok(true)
        }
        MigrationCommand::Validate { fix, .. } => {
            let report = verify::validate(db, &access, *fix, now).await?;
            println!("validated {} migrated members", report.members);
            print_findings("found", &report.findings);
            if *fix {
                println!("fixed {}", report.fixed);
            }
            Ok(report.problems() == 0)
        }
        MigrationCommand::Reconcile { .. } => {
            let report = verify::reconcile(db, &access).await?;
            println!(
                "compared {}; matching {}; legacy members not migrated {}",
                report.compared, report.matching, report.not_migrated
            );
            println!(
                "checksum expected {} actual {}",
                report.expected_checksum, report.actual_checksum
            );
            print_findings("differing", &report.findings);
            Ok(report.compared == report.matching)
        }
        MigrationCommand::Rollback {
            selection,
            emergency,
            yes,
            ..
        } => {
            let mode = if *emergency {
                RollbackMode::Emergency
            } else {
                RollbackMode::Gradual
            };
            let selection = selection_of(selection)?;
            let blast = rollback::blast_radius(db, &access, mode, &selection, now).await?;
            println!(
                "blast radius: {} migrated members ({} answered by the new model now)",
                blast.members, blast.answered_new
            );
            print_keys("would lose", "would gain", &blast.keys);
            println!(
                "license quota after: lower for {}, higher for {}",
                blast.quota_lower, blast.quota_higher
            );
            println!(
                "activity since migration (kept): {} members",
                blast.with_activity
            );
            for e in &blast.activity_examples {
                println!(
                    "  {} {} changes, {} seats",
                    e.external_id,
                    e.before.unwrap_or(0),
                    e.after.unwrap_or(0)
                );
            }
            println!(
                "points taken back {}; spent migrated points not taken back: {} members, {} points",
                blast.points_reversed, blast.shortfall_members, blast.shortfall_points
            );
            if !yes {
                println!("(nothing rolled back: add --yes)");
                return Ok(true);
            }
            let started = rollback::start(db, &access, mode, &selection, now).await?;
            let done = drive(db, &access, started.run_id).await?;
            println!(
                "rollback {}: {} — {} members rolled back",
                done.run_id,
                done.status.as_str(),
                done.done
            );
            Ok(done.status == RunStatus::Completed)
        }
        MigrationCommand::Switch { to, .. } => {
            let mode = Model::parse(to).ok_or("--to is legacy or new")?;
            let routing = routing::switch(db, &access, mode).await?;
            println!(
                "{}: migrated members are answered by the {} model",
                tenant.slug,
                routing.mode.as_str()
            );
            Ok(true)
        }
        MigrationCommand::Status { .. } => {
            let routing = routing::routing(db, &access).await?;
            println!("switch: {}", routing.mode.as_str());
            for r in run::recent(db, &access).await?.iter().take(5) {
                println!(
                    "{} {:?} {} {}/{} (errors {}) started {}",
                    r.run_id,
                    r.kind,
                    r.status.as_str(),
                    r.handled(),
                    r.total,
                    r.errors,
                    r.started_at
                );
            }
            Ok(true)
        }
    }
}

/// Works a run to its end in the foreground, printing progress every few seconds.
async fn drive(db: &PgPool, access: &Access, run_id: uuid::Uuid) -> Result<run::Run, AnyError> {
    let mut last = Instant::now();
    Ok(run::drive(db, access.tenant_id, run_id, |progress| {
        if last.elapsed() >= Duration::from_secs(2) {
            last = Instant::now();
            eprintln!(
                "  {} / {} ({:.0} members/s, batch {}, ETA {} s)",
                progress.handled(),
                progress.total,
                progress.rate(),
                progress.batch_size,
                progress.eta_seconds().unwrap_or(0)
            );
        }
    })
    .await?)
}

fn or_none(code: &str) -> &str {
    if code.is_empty() { "(none)" } else { code }
}

fn print_findings(title: &str, findings: &[Finding]) {
    for f in findings {
        println!(
            "{title}: {} — {} members (e.g. {})",
            f.kind,
            f.members,
            f.examples
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

fn print_keys(missing: &str, extra: &str, keys: &[KeyDiff]) {
    for k in keys {
        println!(
            "  {:<20} {missing}: {}; {extra}: {}",
            k.key, k.missing, k.extra
        );
    }
}

/// The selection the flags name (everyone by default).
pub fn selection_of(args: &SelectionArgs) -> Result<Selection, AnyError> {
    if let Some(share) = args.share {
        return Ok(Selection::Share(share));
    }
    if let Some(file) = &args.members {
        return Ok(Selection::Members(read_ids(file)?));
    }
    Ok(Selection::All)
}

fn read_ids(file: &Path) -> Result<Vec<String>, AnyError> {
    let text = std::fs::read_to_string(file)
        .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect())
}
