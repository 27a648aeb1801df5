//! `tierdesk rollout …` and `tierdesk simulate traffic`: the gray rollout from the
//! command line, acting as the command line (a tenant admin) in the tenant. Each is a
//! thin shell over one `domain::rollout` function and prints what it did.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::rollout::plan::{self, Mode};
use domain::rollout::{Blocker, DecisionKind, NewRollout, Rollout, Shadow, StagePlan, report};
use domain::tags::permissions::PermissionCache;
use domain::{Access, Conflict, Error, Principal, Role};
use sqlx::PgPool;

use crate::config::{RolloutCommand, SimulateCommand};

pub type AnyError = Box<dyn std::error::Error + Send + Sync>;

async fn tenant_access(db: &PgPool, slug: &str) -> Result<Access, AnyError> {
    let tenant = domain::access::tenants::by_slug(db, slug).await?;
    Ok(Access {
        principal: Principal::cli(),
        tenant_id: tenant.tenant_id,
        role: Role::TenantAdmin,
        request_id: None,
    })
}

async fn active(db: &PgPool, access: &Access) -> Result<Rollout, AnyError> {
    match plan::current(db, access).await? {
        Some(r) if r.status.is_active() => Ok(r),
        _ => Err("the tenant has no active rollout (create one first)".into()),
    }
}

fn blocker(b: &Blocker) -> String {
    match b {
        Blocker::NotRunning { reason } => {
            format!("not running ({})", reason.as_deref().unwrap_or("paused"))
        }
        Blocker::LastStage => "no further stage (or not every decision live)".into(),
        Blocker::Hold { until } => format!("held until {until}"),
        Blocker::RunActive => "the stage's migration run is still going".into(),
        Blocker::Sample {
            decision,
            have,
            need,
        } => {
            format!("{}: {have} of {need} compared answers", decision.as_str())
        }
        Blocker::Score {
            decision,
            score_cp,
            gate_cp,
        } => format!(
            "{}: score {:.2} % under the gate {:.2} %",
            decision.as_str(),
            *score_cp as f64 / 100.0,
            *gate_cp as f64 / 100.0
        ),
        Blocker::Approver { name } => format!(
            "only {} may approve",
            name.as_deref().unwrap_or("the approver")
        ),
    }
}

fn print_rollout(r: &Rollout) {
    println!(
        "rollout {} \"{}\" ({}), group {}, stage {} ({} %)",
        r.rollout_id,
        r.name,
        r.status.as_str(),
        r.group_id,
        r.stage_no,
        r.percent()
    );
    if let Some(reason) = &r.pause_reason {
        println!("  paused: {reason}");
    }
    println!(
        "  modes: {}",
        DecisionKind::ALL
            .iter()
            .map(|d| format!("{}={}", d.as_str(), r.mode(*d).as_str()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for s in &r.stages {
        println!(
            "  stage {} {:>3} %  hold {} min{}{}",
            s.stage_no,
            s.percent,
            s.hold_minutes,
            s.entered_at
                .map(|at| format!("  entered {at}"))
                .unwrap_or_default(),
            s.mix
                .as_ref()
                .map(|m| format!("  mix active/long-standing/new {m:?}"))
                .unwrap_or_default()
        );
    }
}

/// Runs one command; `Ok(false)` when it was refused or found problems.
pub async fn execute(db: &PgPool, command: &RolloutCommand) -> Result<bool, AnyError> {
    let now = Utc::now();
    match command {
        RolloutCommand::Bucket { group, key } => {
            println!("bucket={}", domain::rollout::bucket(group, key));
            Ok(true)
        }
        RolloutCommand::Status { tenant } => {
            let access = tenant_access(db, tenant).await?;
            let routing = domain::migration::routing::routing(db, &access).await?;
            println!("switch: {}", routing.mode.as_str());
            let Some(r) = plan::current(db, &access).await? else {
                println!("no rollout");
                return Ok(true);
            };
            print_rollout(&r);
            let dashboard = report::dashboard(db, &access, r.rollout_id, now).await?;
            for s in &dashboard.scores {
                println!(
                    "  stage {} {:<10} compared {:>6} score {} (lower {}) accepted {} errors {}",
                    s.stage_no,
                    s.decision.as_str(),
                    s.compared,
                    s.score.map_or("—".into(), |v| format!("{v:.2} %")),
                    s.lower.map_or("—".into(), |v| format!("{v:.2} %")),
                    s.accepted,
                    s.errors
                );
            }
            for m in &dashboard.mismatches {
                println!(
                    "  mismatch {} {} {} ×{} e.g. {}{}",
                    m.decision.as_str(),
                    m.kind,
                    m.detail.as_deref().unwrap_or(""),
                    m.count,
                    m.examples.join(", "),
                    if m.accepted.is_some() {
                        " (accepted)"
                    } else {
                        ""
                    }
                );
            }
            if dashboard.blockers.is_empty() {
                println!("next stage: open");
            } else {
                for b in &dashboard.blockers {
                    println!("next stage blocked: {}", blocker(b));
                }
            }
            Ok(true)
        }
        RolloutCommand::Create {
            tenant,
            name,
            stages,
            hold_minutes,
            unstratified,
            group,
            min_sample,
            sample,
        } => {
            let access = tenant_access(db, tenant).await?;
            let defaults = NewRollout::default();
            let new = NewRollout {
                name: name.clone(),
                group_id: group.clone(),
                stages: stages
                    .iter()
                    .map(|p| StagePlan {
                        percent: *p,
                        hold_minutes: *hold_minutes,
                        approver: None,
                    })
                    .collect(),
                strata: if *unstratified {
                    None
                } else {
                    defaults.strata.clone()
                },
                min_sample: *min_sample,
                sample_bp: (sample * 100.0).round().clamp(-1.0, 1_000_000.0) as i32,
                ..defaults
            };
            let r = plan::create(db, &access, &new).await?;
            print_rollout(&r);
            Ok(true)
        }
        RolloutCommand::Advance { tenant, wait } => {
            let access = tenant_access(db, tenant).await?;
            let r = active(db, &access).await?;
            match plan::advance(db, &access, r.rollout_id, now).await {
                Ok(r) => {
                    print_rollout(&r);
                    if *wait && let Some(run_id) = r.current().and_then(|s| s.run_id) {
                        let run =
                            domain::migration::run::drive(db, access.tenant_id, run_id, |_| {})
                                .await?;
                        println!(
                            "migrated {} of {} ({} skipped, {} errors)",
                            run.done, run.total, run.skipped, run.errors
                        );
                    }
                    Ok(true)
                }
                Err(Error::Conflict(Conflict::RolloutBlocked(blockers))) => {
                    for b in &blockers {
                        println!("blocked: {}", blocker(b));
                    }
                    Ok(false)
                }
                Err(error) => Err(error.into()),
            }
        }
        RolloutCommand::StepBack { tenant } => {
            let access = tenant_access(db, tenant).await?;
            let r = active(db, &access).await?;
            print_rollout(&plan::step_back(db, &access, r.rollout_id, now).await?);
            Ok(true)
        }
        RolloutCommand::Pause { tenant, reason } => {
            let access = tenant_access(db, tenant).await?;
            let r = active(db, &access).await?;
            print_rollout(&plan::pause(db, &access, r.rollout_id, reason).await?);
            Ok(true)
        }
        RolloutCommand::Resume { tenant } => {
            let access = tenant_access(db, tenant).await?;
            let r = active(db, &access).await?;
            print_rollout(&plan::resume(db, &access, r.rollout_id).await?);
            Ok(true)
        }
        RolloutCommand::Kill { tenant } => {
            let access = tenant_access(db, tenant).await?;
            let paused = plan::kill(db, &access).await?;
            println!(
                "switch: legacy (every decision of every member answered by the legacy model)"
            );
            if let Some(r) = paused {
                print_rollout(&r);
            }
            Ok(true)
        }
        RolloutCommand::Abort { tenant, reason } => {
            let access = tenant_access(db, tenant).await?;
            let r = active(db, &access).await?;
            print_rollout(&plan::abort(db, &access, r.rollout_id, reason, now).await?);
            Ok(true)
        }
        RolloutCommand::Mode {
            tenant,
            decision,
            to,
        } => {
            let access = tenant_access(db, tenant).await?;
            let r = active(db, &access).await?;
            let mut modes = r.modes;
            let decision = DecisionKind::parse(decision).ok_or("unknown decision")?;
            modes[decision.index()] = Mode::parse(to).ok_or("unknown mode")?;
            print_rollout(&plan::set_modes(db, &access, r.rollout_id, modes).await?);
            Ok(true)
        }
    }
}

/// `tierdesk simulate traffic`.
pub async fn simulate(db: &PgPool, command: &SimulateCommand) -> Result<bool, AnyError> {
    let SimulateCommand::Traffic {
        tenant,
        rps,
        seconds,
        cohort_share,
    } = command;
    if !(0.0..=1.0).contains(cohort_share) {
        return Err("--cohort-share is a share between 0 and 1".into());
    }
    if *rps == 0 || *rps > 100_000 {
        return Err("--rps is between 1 and 100000".into());
    }
    let access = tenant_access(db, tenant).await?;
    let cache = PermissionCache::new(domain::clock::system(), 1_000_000);
    cache.start(
        db.clone(),
        format!("tierdesk simulate traffic pid {}", std::process::id()),
    );
    let shadow: Arc<Shadow> = Shadow::start(db.clone());
    let summary = crate::traffic::run(
        db,
        &cache,
        &shadow,
        access.tenant_id,
        *rps,
        Duration::from_secs(*seconds),
        *cohort_share,
    )
    .await?;
    shadow.flush().await?;
    cache.leave(db).await?;
    println!(
        "decisions {} (legacy {}, new {}, errors {}) in {} s; p50 {:.2} ms p99 {:.2} ms",
        summary.decisions,
        summary.legacy,
        summary.new,
        summary.errors,
        seconds,
        summary.quantile_us(0.5) as f64 / 1000.0,
        summary.quantile_us(0.99) as f64 / 1000.0
    );
    Ok(summary.errors == 0)
}
