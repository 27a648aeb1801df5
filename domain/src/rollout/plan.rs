//! A rollout's life: create, advance a stage (migrating its new members), step back
//! (rolling back exactly the members who joined at the stage), pause and resume, the
//! kill switch, abort (the emergency rollback), per-decision modes, settings, accepted
//! differences, complete.
//!
//! Every move is one transaction that takes the rollout row first (`for update`: the
//! coordination row, lock order step 1), writes the event with the scores it was taken
//! on and the audit row, and, when it migrates or rolls back, creates the migration run
//! in the same transaction (`migration::run::create`, whose run row and run members
//! come after the rollout row). The workers take the run from there.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::report;
use crate::access::audit;
use crate::migration::routing::{self, Model};
use crate::migration::run::{RollbackMode, RunKind, Selection};
use crate::tags::permissions::settle;
use crate::{Access, Conflict, Error, Result, Role};
use model::rollout::bucket::bucket;
use model::rollout::cohort::{self, Histogram, Strata, Stratum};
pub use model::rollout::plan::{
    Accepted, DecisionKind, Event, Mode, NewAccepted, NewRollout, Rollout, RolloutStatus, Stage,
};
use model::rollout::score::{Blocker, Score};

fn conflict_active(error: sqlx::Error) -> Error {
    match &error {
        sqlx::Error::Database(e) if e.constraint() == Some("rollouts_active_key") => {
            Error::Conflict(Conflict::RolloutActive)
        }
        _ => Error::from(error),
    }
}

/// Creates a rollout (tenant admins; audited) and sets the tenant's switch to `new` so
/// the cohort can be compared. Every decision starts in shadow: nobody is answered
/// differently until a decision is made live.
pub async fn create(db: &PgPool, access: &Access, new: &NewRollout) -> Result<Rollout> {
    access.require(Role::TenantAdmin)?;
    new.validate()?;
    let mut tx = db.begin().await?;
    // Approvers must be the tenant's enabled admins.
    for stage in &new.stages {
        if let Some(approver) = stage.approver {
            let ok = sqlx::query_scalar!(
                r#"select exists (select 1 from tenant_admins where tenant_id = $1 and admin_id = $2
                                  and role = 'tenant_admin' and disabled_at is null) as "ok!""#,
                access.tenant_id,
                approver
            )
            .fetch_one(&mut *tx)
            .await?;
            if !ok {
                return Err(Error::invalid("approver", crate::Problem::Format));
            }
        }
    }
    let strata = new
        .strata
        .as_ref()
        .map(|s| serde_json::to_value(s).map_err(|e| Error::Internal(e.to_string())))
        .transpose()?;
    let group = new
        .group_id
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty());
    let rollout_id = sqlx::query_scalar!(
        "with id as (select gen_random_uuid() as id)
         insert into rollouts (tenant_id, rollout_id, name, group_id, strata, min_members, sample_bp,
                               gate_score, min_sample, guard_error_pct, guard_p99_ms, created_by)
         select $1, id.id, $2, coalesce($3, id.id::text), $4, $5, $6, $7::float8::numeric, $8,
                $9::float8::numeric, $10, $11
         from id returning rollout_id",
        access.tenant_id,
        new.name.trim(),
        group,
        strata,
        new.min_members,
        new.sample_bp,
        new.gate_score,
        new.min_sample,
        new.guard_error_pct,
        new.guard_p99_ms,
        access.principal.admin_id
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(conflict_active)?;
    for (i, stage) in new.stages.iter().enumerate() {
        sqlx::query!(
            "insert into rollout_stages (tenant_id, rollout_id, stage_no, percent, hold_minutes, approver)
             values ($1, $2, $3, $4, $5, $6)",
            access.tenant_id,
            rollout_id,
            i as i32 + 1,
            i32::from(stage.percent),
            stage.hold_minutes,
            stage.approver
        )
        .execute(&mut *tx)
        .await?;
    }
    let switched = routing::set_mode(&mut tx, access, Model::New, "rollout").await?;
    event(&mut tx, access, rollout_id, "create", None, None, None, &[]).await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "rollout.create",
            target_type: "rollout",
            target_id: rollout_id.to_string(),
            before: None,
            after: Some(json!({
                "name": new.name.trim(), "group_id": group,
                "stages": new.stages.iter().map(|s| s.percent).collect::<Vec<_>>(),
                "stratified": new.strata.is_some(), "sample_bp": new.sample_bp,
                "gate_score": new.gate_score, "min_sample": new.min_sample,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    if switched {
        settle(db, access.tenant_id).await?;
    }
    get(db, access, rollout_id).await
}

/// Records a move on the timeline.
#[expect(clippy::too_many_arguments, reason = "an event's fields")]
async fn event(
    conn: &mut PgConnection,
    access: &Access,
    rollout_id: Uuid,
    action: &str,
    from_stage: Option<i32>,
    to_stage: Option<i32>,
    reason: Option<&str>,
    scores: &[Score],
) -> Result<()> {
    let scores = serde_json::to_value(scores).map_err(|e| Error::Internal(e.to_string()))?;
    sqlx::query!(
        "insert into rollout_events (tenant_id, rollout_id, action, from_stage, to_stage, actor, reason, score)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        access.tenant_id,
        rollout_id,
        action,
        from_stage,
        to_stage,
        access.principal.admin_id,
        reason,
        scores
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The rollout's row, locked (lock order step 1).
struct Locked {
    status: RolloutStatus,
    stage_no: i32,
    group_id: String,
    strata: Option<Strata>,
    min_members: i32,
    gate_score: f64,
    min_sample: i32,
    modes: [Mode; 3],
}

async fn lock(conn: &mut PgConnection, tenant_id: Uuid, rollout_id: Uuid) -> Result<Locked> {
    let row = sqlx::query!(
        r#"select status, stage_no, group_id, strata, min_members, gate_score::float8 as "gate_score!",
                  min_sample, permission_mode, quota_mode, summary_mode
           from rollouts where tenant_id = $1 and rollout_id = $2 for update"#,
        tenant_id,
        rollout_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found("rollout"))?;
    let mode = |m: &str| Mode::parse(m).unwrap_or(Mode::Off);
    Ok(Locked {
        status: RolloutStatus::parse(&row.status).unwrap_or(RolloutStatus::Aborted),
        stage_no: row.stage_no,
        group_id: row.group_id,
        strata: row.strata.and_then(|s| serde_json::from_value(s).ok()),
        min_members: row.min_members,
        gate_score: row.gate_score,
        min_sample: row.min_sample,
        modes: [
            mode(&row.permission_mode),
            mode(&row.quota_mode),
            mode(&row.summary_mode),
        ],
    })
}

fn require_active(locked: &Locked) -> Result<()> {
    if locked.status.is_active() {
        Ok(())
    } else {
        Err(Error::Conflict(Conflict::RolloutEnded))
    }
}

/// What stops entering the next stage now (empty: it may be entered by `actor`).
pub(crate) async fn blockers(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    rollout_id: Uuid,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(Vec<Blocker>, Vec<Score>)> {
    let row = sqlx::query!(
        r#"select r.status, r.pause_reason, r.stage_no, r.gate_score::float8 as "gate_score!", r.min_sample,
                  r.permission_mode, r.quota_mode, r.summary_mode,
                  c.entered_at as "entered_at?", c.hold_minutes as "hold_minutes?",
                  n.stage_no as "next?", n.approver as "approver?", a.display_name as "approver_name?"
           from rollouts r
           left join rollout_stages c on c.tenant_id = r.tenant_id and c.rollout_id = r.rollout_id
                                      and c.stage_no = r.stage_no
           left join rollout_stages n on n.tenant_id = r.tenant_id and n.rollout_id = r.rollout_id
                                      and n.stage_no = r.stage_no + 1
           left join admins a on a.admin_id = n.approver
           where r.tenant_id = $1 and r.rollout_id = $2"#,
        tenant_id,
        rollout_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found("rollout"))?;
    let scores = report::scores(&mut *conn, tenant_id, rollout_id, row.stage_no, None).await?;
    let mut blockers = Vec::new();
    if row.status != "running" {
        blockers.push(Blocker::NotRunning {
            reason: row.pause_reason.clone(),
        });
    }
    if row.next.is_none() {
        blockers.push(Blocker::LastStage);
    }
    if let (Some(entered), Some(hold)) = (row.entered_at, row.hold_minutes) {
        let until = entered + chrono::Duration::minutes(i64::from(hold));
        if until > now {
            blockers.push(Blocker::Hold { until });
        }
    }
    // The stage's run, or any other run of the tenant (a step back's rollback): the next
    // stage's run cannot start while one is going (one active run per tenant).
    let active = sqlx::query_scalar!(
        r#"select exists (select 1 from migration_runs where tenant_id = $1
                          and status in ('running', 'paused')) as "active!""#,
        tenant_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if active {
        blockers.push(Blocker::RunActive);
    }
    if row.stage_no > 0 {
        let compared: Vec<DecisionKind> = DecisionKind::ALL
            .into_iter()
            .zip([&row.permission_mode, &row.quota_mode, &row.summary_mode])
            .filter(|(_, m)| Mode::parse(m).is_some_and(Mode::compares))
            .map(|(d, _)| d)
            .collect();
        blockers.extend(model::rollout::score::gate(
            &scores,
            &compared,
            row.gate_score,
            i64::from(row.min_sample),
        ));
    }
    if let Some(approver) = row.approver
        && actor != Some(approver)
    {
        blockers.push(Blocker::Approver {
            name: row.approver_name,
        });
    }
    Ok((blockers, scores))
}

/// Enters the next stage (the stage's approver, or any tenant admin when it names
/// none; audited with the scores it was taken on). Refused with what stops it (the
/// hold time, the gate, a run still going, a pause). The stage's new members are added
/// to the cohort and a migration run is started on them; they are routed by the
/// decisions' modes as their batch commits.
pub async fn advance(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Rollout> {
    advance_from(db, access, rollout_id, None, now).await
}

/// [`advance`] from the stage the caller saw (`from_stage`): a retry, or a second
/// click, after the move was made answers the rollout as it is now instead of moving
/// again; a rollout moved elsewhere meanwhile answers `StaleVersion`.
pub async fn advance_from(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    from_stage: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Rollout> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let locked = lock(&mut tx, access.tenant_id, rollout_id).await?;
    require_active(&locked)?;
    match from_stage {
        Some(from) if locked.stage_no == from + 1 => {
            tx.rollback().await?;
            return get(db, access, rollout_id).await;
        }
        Some(from) if locked.stage_no != from => {
            return Err(Error::Conflict(Conflict::StaleVersion));
        }
        _ => {}
    }
    let (blockers, scores) = blockers(
        &mut tx,
        access.tenant_id,
        rollout_id,
        access.principal.admin_id,
        now,
    )
    .await?;
    if !blockers.is_empty() {
        return Err(Error::Conflict(Conflict::RolloutBlocked(blockers)));
    }
    let next = locked.stage_no + 1;
    let percent = sqlx::query_scalar!(
        "select percent from rollout_stages where tenant_id = $1 and rollout_id = $2 and stage_no = $3",
        access.tenant_id,
        rollout_id,
        next
    )
    .fetch_one(&mut *tx)
    .await?;
    let previous = sqlx::query_scalar!(
        "select thresholds from rollout_stages where tenant_id = $1 and rollout_id = $2 and stage_no = $3",
        access.tenant_id,
        rollout_id,
        locked.stage_no
    )
    .fetch_optional(&mut *tx)
    .await?
    .flatten()
    .unwrap_or_default();
    let mut prev = [0u8; 3];
    for (i, t) in previous.iter().take(3).enumerate() {
        prev[i] = (*t).clamp(0, 100) as u8;
    }
    // The population: every legacy member, bucketed and stratified.
    let members = sqlx::query!(
        "select external_id, registered_at, last_login_at from legacy_members where tenant_id = $1",
        access.tenant_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let strata = locked.strata.clone();
    let definitions = strata.clone().unwrap_or_default();
    let mut histogram = Histogram::default();
    let placed: Vec<(String, u8, Stratum)> = members
        .into_iter()
        .map(|m| {
            let b = bucket(&locked.group_id, &m.external_id);
            let s = definitions.stratum(m.registered_at, m.last_login_at, now);
            histogram.add(s, b);
            (m.external_id, b, s)
        })
        .collect();
    let thresholds = cohort::thresholds(
        &histogram,
        percent.clamp(0, 100) as u8,
        strata.as_ref(),
        u64::try_from(locked.min_members).unwrap_or(0),
        prev,
    );
    let joining: Vec<&(String, u8, Stratum)> = placed
        .iter()
        .filter(|(_, b, s)| *b <= thresholds[s.index()])
        .collect();
    let ids: Vec<String> = joining.iter().map(|(id, _, _)| id.clone()).collect();
    let buckets: Vec<i16> = joining.iter().map(|(_, b, _)| i16::from(*b)).collect();
    let strata_names: Vec<String> = joining
        .iter()
        .map(|(_, _, s)| s.as_str().to_owned())
        .collect();
    let joined = sqlx::query_scalar!(
        "insert into rollout_members (tenant_id, rollout_id, external_id, bucket, stratum, stage_no)
         select $1, $2, i.id, i.bucket, i.stratum, $3
         from unnest($4::text[], $5::smallint[], $6::text[]) i (id, bucket, stratum)
         on conflict (tenant_id, rollout_id, external_id) do nothing
         returning external_id",
        access.tenant_id,
        rollout_id,
        next,
        &ids,
        &buckets,
        &strata_names
    )
    .fetch_all(&mut *tx)
    .await?;
    let mix = sqlx::query!(
        r#"select count(*) filter (where stratum = 'active') as "active!",
                  count(*) filter (where stratum = 'long_standing') as "long_standing!",
                  count(*) filter (where stratum = 'new') as "new!"
           from rollout_members where tenant_id = $1 and rollout_id = $2"#,
        access.tenant_id,
        rollout_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let run_id = if joined.is_empty() {
        None
    } else {
        Some(
            crate::migration::run::create(
                &mut tx,
                access,
                RunKind::Migrate,
                None,
                &Selection::Members(joined.clone()),
                now,
                usize::MAX,
            )
            .await?,
        )
    };
    let thresholds: Vec<i32> = thresholds.iter().map(|t| i32::from(*t)).collect();
    sqlx::query!(
        "update rollout_stages set thresholds = $4, mix = $5, run_id = $6, entered_at = $7, entered_by = $8
         where tenant_id = $1 and rollout_id = $2 and stage_no = $3",
        access.tenant_id,
        rollout_id,
        next,
        &thresholds,
        &[mix.active, mix.long_standing, mix.new],
        run_id,
        now,
        access.principal.admin_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update rollouts set stage_no = $3, updated_at = now() where tenant_id = $1 and rollout_id = $2",
        access.tenant_id,
        rollout_id,
        next
    )
    .execute(&mut *tx)
    .await?;
    event(
        &mut tx,
        access,
        rollout_id,
        "advance",
        Some(locked.stage_no),
        Some(next),
        None,
        &scores,
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "rollout.advance",
            target_type: "rollout",
            target_id: rollout_id.to_string(),
            before: Some(json!({ "stage": locked.stage_no })),
            after: Some(json!({
                "stage": next, "percent": percent, "joined": joined.len(), "run_id": run_id,
                "thresholds": thresholds, "scores": scores,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, access, rollout_id).await
}

/// Steps back a stage (tenant admins; audited): the members who joined at the current
/// stage leave the cohort and are rolled back (a gradual rollback run on exactly them);
/// the stage's migration run, if still going, is cancelled first.
pub async fn step_back(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Rollout> {
    step_back_from(db, access, rollout_id, None, now).await
}

/// [`step_back`] from the stage the caller saw: a retry after the step answers the
/// rollout as it is; a rollout moved elsewhere meanwhile answers `StaleVersion`.
pub async fn step_back_from(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    from_stage: Option<i32>,
    now: DateTime<Utc>,
) -> Result<Rollout> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let locked = lock(&mut tx, access.tenant_id, rollout_id).await?;
    require_active(&locked)?;
    match from_stage {
        Some(from) if locked.stage_no == from - 1 => {
            tx.rollback().await?;
            return get(db, access, rollout_id).await;
        }
        Some(from) if locked.stage_no != from => {
            return Err(Error::Conflict(Conflict::StaleVersion));
        }
        _ => {}
    }
    if locked.stage_no == 0 {
        return Err(Error::Conflict(Conflict::RolloutBlocked(vec![
            Blocker::LastStage,
        ])));
    }
    let scores =
        report::scores(&mut tx, access.tenant_id, rollout_id, locked.stage_no, None).await?;
    // The stage's run, if still going, stops after its batch in flight.
    sqlx::query!(
        "update migration_runs r set status = 'cancelled', finished_at = now(), updated_at = now()
         from rollout_stages s
         where s.tenant_id = $1 and s.rollout_id = $2 and s.stage_no = $3
           and r.tenant_id = s.tenant_id and r.run_id = s.run_id and r.status in ('running', 'paused')",
        access.tenant_id,
        rollout_id,
        locked.stage_no
    )
    .execute(&mut *tx)
    .await?;
    let leaving = sqlx::query_scalar!(
        "delete from rollout_members where tenant_id = $1 and rollout_id = $2 and stage_no = $3
         returning external_id",
        access.tenant_id,
        rollout_id,
        locked.stage_no
    )
    .fetch_all(&mut *tx)
    .await?;
    let migrated = sqlx::query_scalar!(
        "select external_id from migration_members
         where tenant_id = $1 and external_id = any($2) and rolled_back_at is null",
        access.tenant_id,
        &leaving
    )
    .fetch_all(&mut *tx)
    .await?;
    let run_id = if migrated.is_empty() {
        None
    } else {
        Some(
            crate::migration::run::create(
                &mut tx,
                access,
                RunKind::Rollback,
                Some(RollbackMode::Gradual),
                &Selection::Members(migrated.clone()),
                now,
                usize::MAX,
            )
            .await?,
        )
    };
    sqlx::query!(
        "update rollout_stages set thresholds = null, mix = null, run_id = null, entered_at = null, entered_by = null
         where tenant_id = $1 and rollout_id = $2 and stage_no = $3",
        access.tenant_id,
        rollout_id,
        locked.stage_no
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update rollouts set stage_no = stage_no - 1, updated_at = now() where tenant_id = $1 and rollout_id = $2",
        access.tenant_id,
        rollout_id
    )
    .execute(&mut *tx)
    .await?;
    event(
        &mut tx,
        access,
        rollout_id,
        "step_back",
        Some(locked.stage_no),
        Some(locked.stage_no - 1),
        None,
        &scores,
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "rollout.step_back",
            target_type: "rollout",
            target_id: rollout_id.to_string(),
            before: Some(json!({ "stage": locked.stage_no })),
            after: Some(json!({
                "stage": locked.stage_no - 1, "leaving": leaving.len(),
                "rolled_back": migrated.len(), "run_id": run_id,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, access, rollout_id).await
}

/// Pauses (tenant admins; audited): no stage moves until resumed; routing stays.
pub async fn pause(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    reason: &str,
) -> Result<Rollout> {
    access.require(Role::TenantAdmin)?;
    let reason = clean_reason(reason)?;
    let mut tx = db.begin().await?;
    let locked = lock(&mut tx, access.tenant_id, rollout_id).await?;
    require_active(&locked)?;
    if locked.status == RolloutStatus::Running {
        set_paused(
            &mut tx,
            access,
            rollout_id,
            locked.stage_no,
            "pause",
            &reason,
        )
        .await?;
    }
    tx.commit().await?;
    get(db, access, rollout_id).await
}

fn clean_reason(reason: &str) -> Result<String> {
    model::input::plain_text("reason", reason)?;
    let reason = reason.trim();
    if reason.chars().count() > 500 {
        return Err(Error::invalid(
            "reason",
            crate::Problem::TooLong { max: 500 },
        ));
    }
    Ok(if reason.is_empty() {
        "paused by hand".into()
    } else {
        reason.to_owned()
    })
}

async fn set_paused(
    conn: &mut PgConnection,
    access: &Access,
    rollout_id: Uuid,
    stage_no: i32,
    action: &str,
    reason: &str,
) -> Result<()> {
    let scores = report::scores(&mut *conn, access.tenant_id, rollout_id, stage_no, None).await?;
    sqlx::query!(
        "update rollouts set status = 'paused', pause_reason = $3, updated_at = now()
         where tenant_id = $1 and rollout_id = $2",
        access.tenant_id,
        rollout_id,
        reason
    )
    .execute(&mut *conn)
    .await?;
    event(
        conn,
        access,
        rollout_id,
        action,
        Some(stage_no),
        Some(stage_no),
        Some(reason),
        &scores,
    )
    .await?;
    audit::record(
        conn,
        access,
        audit::Event {
            action: "rollout.pause",
            target_type: "rollout",
            target_id: rollout_id.to_string(),
            before: None,
            after: Some(json!({ "status": "paused", "why": reason, "action": action })),
        },
    )
    .await
}

/// Resumes a paused rollout (tenant admins; audited). After the kill switch, resuming
/// sets the tenant's switch back to `new`. The guardrails look only at answers after
/// the resume.
pub async fn resume(db: &PgPool, access: &Access, rollout_id: Uuid) -> Result<Rollout> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let locked = lock(&mut tx, access.tenant_id, rollout_id).await?;
    require_active(&locked)?;
    let mut switched = false;
    if locked.status == RolloutStatus::Paused {
        sqlx::query!(
            "update rollouts set status = 'running', pause_reason = null, updated_at = now()
             where tenant_id = $1 and rollout_id = $2",
            access.tenant_id,
            rollout_id
        )
        .execute(&mut *tx)
        .await?;
        switched = routing::set_mode(&mut tx, access, Model::New, "rollout resumed").await?;
        event(
            &mut tx,
            access,
            rollout_id,
            "resume",
            Some(locked.stage_no),
            Some(locked.stage_no),
            None,
            &[],
        )
        .await?;
        audit::record(
            &mut tx,
            access,
            audit::Event {
                action: "rollout.resume",
                target_type: "rollout",
                target_id: rollout_id.to_string(),
                before: Some(json!({ "status": "paused" })),
                after: Some(json!({ "status": "running", "switch": switched })),
            },
        )
        .await?;
    }
    tx.commit().await?;
    if switched {
        settle(db, access.tenant_id).await?;
    }
    get(db, access, rollout_id).await
}

/// The kill switch (tenant admins; audited): every decision of every member goes back
/// to the legacy model at once, in every process (the tenant's switch set to legacy and
/// settled before this returns), and the active rollout, if any, is paused. Nothing is
/// rolled back: resuming sends the cohort back to its modes.
pub async fn kill(db: &PgPool, access: &Access) -> Result<Option<Rollout>> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let active = sqlx::query_scalar!(
        "select rollout_id from rollouts where tenant_id = $1 and status in ('running', 'paused')",
        access.tenant_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(rollout_id) = active {
        let locked = lock(&mut tx, access.tenant_id, rollout_id).await?;
        // Ended between the read above and the lock (an abort, a completion): it stays
        // ended (pausing it would make it active again); the switch still flips.
        if locked.status.is_active() {
            set_paused(
                &mut tx,
                access,
                rollout_id,
                locked.stage_no,
                "kill",
                "kill switch",
            )
            .await?;
        }
    }
    let switched = routing::set_mode(&mut tx, access, Model::Legacy, "kill switch").await?;
    tx.commit().await?;
    if switched {
        settle(db, access.tenant_id).await?;
    }
    match active {
        Some(rollout_id) => Ok(Some(get(db, access, rollout_id).await?)),
        None => Ok(None),
    }
}

/// Aborts (tenant admins; audited): the emergency rollback of every migrated member
/// (the switch goes to legacy first, settled before this returns) and the rollout ends.
pub async fn abort(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Rollout> {
    access.require(Role::TenantAdmin)?;
    let reason = clean_reason(reason)?;
    let mut tx = db.begin().await?;
    let locked = lock(&mut tx, access.tenant_id, rollout_id).await?;
    require_active(&locked)?;
    let scores =
        report::scores(&mut tx, access.tenant_id, rollout_id, locked.stage_no, None).await?;
    sqlx::query!(
        "update rollouts set status = 'aborted', pause_reason = $3, finished_at = now(), updated_at = now()
         where tenant_id = $1 and rollout_id = $2",
        access.tenant_id,
        rollout_id,
        reason
    )
    .execute(&mut *tx)
    .await?;
    // A gradual rollback still going (a step back's) is superseded: the emergency
    // rollback takes every migrated member, those it has not reached included. Without
    // this the emergency run could not start (one active run per tenant).
    let superseded = sqlx::query_scalar!(
        "update migration_runs set status = 'cancelled', finished_at = now(), updated_at = now()
         where tenant_id = $1 and kind = 'rollback' and status in ('running', 'paused')
         returning run_id",
        access.tenant_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(superseded) = superseded {
        audit::record(
            &mut tx,
            access,
            audit::Event {
                action: "migration.run.control",
                target_type: "migration_run",
                target_id: superseded.to_string(),
                before: None,
                after: Some(json!({ "status": "cancelled", "why": "rollout aborted" })),
            },
        )
        .await?;
    }
    let (run_id, _) = crate::migration::rollback::start_in(
        &mut tx,
        access,
        RollbackMode::Emergency,
        &Selection::All,
        now,
    )
    .await?;
    event(
        &mut tx,
        access,
        rollout_id,
        "abort",
        Some(locked.stage_no),
        Some(0),
        Some(&reason),
        &scores,
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "rollout.abort",
            target_type: "rollout",
            target_id: rollout_id.to_string(),
            before: Some(json!({ "stage": locked.stage_no })),
            after: Some(json!({ "status": "aborted", "why": reason, "rollback_run_id": run_id })),
        },
    )
    .await?;
    tx.commit().await?;
    settle(db, access.tenant_id).await?;
    get(db, access, rollout_id).await
}

/// Sets how each decision is routed for the cohort (tenant admins; audited with the
/// scores). Switching one decision at a time is the seed's way; nothing stops several.
pub async fn set_modes(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    modes: [Mode; 3],
) -> Result<Rollout> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let locked = lock(&mut tx, access.tenant_id, rollout_id).await?;
    require_active(&locked)?;
    if locked.modes != modes {
        let scores =
            report::scores(&mut tx, access.tenant_id, rollout_id, locked.stage_no, None).await?;
        sqlx::query!(
            "update rollouts set permission_mode = $3, quota_mode = $4, summary_mode = $5, updated_at = now()
             where tenant_id = $1 and rollout_id = $2",
            access.tenant_id,
            rollout_id,
            modes[0].as_str(),
            modes[1].as_str(),
            modes[2].as_str()
        )
        .execute(&mut *tx)
        .await?;
        let text = |m: [Mode; 3]| {
            DecisionKind::ALL
                .iter()
                .zip(m)
                .map(|(d, m)| format!("{}={}", d.as_str(), m.as_str()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        event(
            &mut tx,
            access,
            rollout_id,
            "modes",
            Some(locked.stage_no),
            Some(locked.stage_no),
            Some(&text(modes)),
            &scores,
        )
        .await?;
        audit::record(
            &mut tx,
            access,
            audit::Event {
                action: "rollout.modes",
                target_type: "rollout",
                target_id: rollout_id.to_string(),
                before: Some(json!({ "modes": text(locked.modes) })),
                after: Some(json!({ "modes": text(modes) })),
            },
        )
        .await?;
    }
    tx.commit().await?;
    get(db, access, rollout_id).await
}

/// The sampling, gate and guardrail settings, and the group id (changing it reshuffles
/// every bucket: members already in the cohort stay, later stages pick by the new
/// buckets).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub group_id: String,
    pub sample_bp: i32,
    pub gate_score: f64,
    pub min_sample: i32,
    pub guard_error_pct: f64,
    pub guard_p99_ms: i32,
}

/// Changes the settings (tenant admins; audited).
pub async fn update_settings(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    settings: &Settings,
) -> Result<Rollout> {
    access.require(Role::TenantAdmin)?;
    let check = NewRollout {
        name: "x".into(),
        group_id: Some(settings.group_id.clone()),
        sample_bp: settings.sample_bp,
        gate_score: settings.gate_score,
        min_sample: settings.min_sample,
        guard_error_pct: settings.guard_error_pct,
        guard_p99_ms: settings.guard_p99_ms,
        ..NewRollout::default()
    };
    check.validate()?;
    let group = settings.group_id.trim();
    if group.is_empty() {
        return Err(Error::invalid("group_id", crate::Problem::Required));
    }
    let mut tx = db.begin().await?;
    let locked = lock(&mut tx, access.tenant_id, rollout_id).await?;
    require_active(&locked)?;
    sqlx::query!(
        "update rollouts set group_id = $3, sample_bp = $4, gate_score = $5::float8::numeric, min_sample = $6,
                guard_error_pct = $7::float8::numeric, guard_p99_ms = $8, updated_at = now()
         where tenant_id = $1 and rollout_id = $2",
        access.tenant_id,
        rollout_id,
        group,
        settings.sample_bp,
        settings.gate_score,
        settings.min_sample,
        settings.guard_error_pct,
        settings.guard_p99_ms
    )
    .execute(&mut *tx)
    .await?;
    let reason =
        (group != locked.group_id).then(|| format!("group id {} → {group}", locked.group_id));
    event(
        &mut tx,
        access,
        rollout_id,
        "settings",
        Some(locked.stage_no),
        Some(locked.stage_no),
        reason.as_deref(),
        &[],
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "rollout.settings",
            target_type: "rollout",
            target_id: rollout_id.to_string(),
            before: Some(json!({ "group_id": locked.group_id, "gate_score": locked.gate_score, "min_sample": locked.min_sample })),
            after: Some(serde_json::to_value(settings).unwrap_or_default()),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, access, rollout_id).await
}

/// Completes the rollout (tenant admins; audited): the last stage is entered, its run
/// is done and every decision is live. Migrated members are then answered by the new
/// model with nothing compared.
pub async fn complete(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Rollout> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let locked = lock(&mut tx, access.tenant_id, rollout_id).await?;
    require_active(&locked)?;
    let (blockers, scores) = blockers(
        &mut tx,
        access.tenant_id,
        rollout_id,
        access.principal.admin_id,
        now,
    )
    .await?;
    let mut stops: Vec<Blocker> = blockers
        .into_iter()
        .filter(|b| matches!(b, Blocker::RunActive | Blocker::NotRunning { .. }))
        .collect();
    let last = sqlx::query_scalar!(
        r#"select coalesce(max(stage_no), 0) as "n!" from rollout_stages where tenant_id = $1 and rollout_id = $2"#,
        access.tenant_id,
        rollout_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if locked.stage_no < last || locked.modes.iter().any(|m| *m != Mode::Live) {
        stops.push(Blocker::LastStage);
    }
    if !stops.is_empty() {
        return Err(Error::Conflict(Conflict::RolloutBlocked(stops)));
    }
    sqlx::query!(
        "update rollouts set status = 'completed', finished_at = now(), updated_at = now()
         where tenant_id = $1 and rollout_id = $2",
        access.tenant_id,
        rollout_id
    )
    .execute(&mut *tx)
    .await?;
    event(
        &mut tx,
        access,
        rollout_id,
        "complete",
        Some(locked.stage_no),
        Some(locked.stage_no),
        None,
        &scores,
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "rollout.complete",
            target_type: "rollout",
            target_id: rollout_id.to_string(),
            before: None,
            after: Some(json!({ "status": "completed", "scores": scores })),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, access, rollout_id).await
}

/// Accepts a known difference (tenant admins; audited): mismatches it covers are
/// reported apart from the score until it expires. A quota lower in the new model is
/// never accepted.
pub async fn accept(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    new: &NewAccepted,
    now: DateTime<Utc>,
) -> Result<Accepted> {
    access.require(Role::TenantAdmin)?;
    if ![
        "permission_missing",
        "permission_extra",
        "quota_higher",
        "level_differs",
    ]
    .contains(&new.kind.as_str())
    {
        return Err(Error::invalid("kind", crate::Problem::Format));
    }
    let expected = match new.kind.as_str() {
        "permission_missing" | "permission_extra" => DecisionKind::Permission,
        "quota_higher" => DecisionKind::Quota,
        _ => DecisionKind::Summary,
    };
    if new.decision != expected {
        return Err(Error::invalid("decision", crate::Problem::Format));
    }
    for (field, value, max) in [("owner", &new.owner, 200), ("reason", &new.reason, 1000)] {
        model::input::plain_text(field, value)?;
        if value.trim().is_empty() {
            return Err(Error::invalid(field, crate::Problem::Required));
        }
        if value.trim().chars().count() > max {
            return Err(Error::invalid(field, crate::Problem::TooLong { max }));
        }
    }
    let detail = match &new.detail {
        Some(d) if !d.trim().is_empty() => {
            model::input::plain_text("detail", d)?;
            if d.trim().chars().count() > 100 {
                return Err(Error::invalid(
                    "detail",
                    crate::Problem::TooLong { max: 100 },
                ));
            }
            Some(d.trim().to_owned())
        }
        _ => None,
    };
    if new.expires_at <= now || new.expires_at > now + chrono::Duration::days(366) {
        return Err(Error::invalid("expires_at", crate::Problem::Format));
    }
    let mut tx = db.begin().await?;
    let locked = lock(&mut tx, access.tenant_id, rollout_id).await?;
    require_active(&locked)?;
    let accepted_id = sqlx::query_scalar!(
        "insert into rollout_accepted (tenant_id, rollout_id, decision, kind, detail, owner, reason, expires_at, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning accepted_id",
        access.tenant_id,
        rollout_id,
        new.decision.as_str(),
        new.kind,
        detail,
        new.owner.trim(),
        new.reason.trim(),
        new.expires_at,
        access.principal.admin_id
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "rollout.accept",
            target_type: "rollout",
            target_id: rollout_id.to_string(),
            before: None,
            after: Some(json!({
                "accepted_id": accepted_id, "decision": new.decision.as_str(), "kind": new.kind,
                "detail": detail, "owner": new.owner.trim(), "reason": new.reason.trim(),
                "expires_at": new.expires_at,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    report::accepted(db, access, rollout_id)
        .await?
        .into_iter()
        .find(|a| a.accepted_id == accepted_id)
        .ok_or_else(|| Error::not_found("accepted difference"))
}

/// The tenant's active rollout, else its latest (every role).
pub async fn current(db: &PgPool, access: &Access) -> Result<Option<Rollout>> {
    access.require(Role::Viewer)?;
    let id = sqlx::query_scalar!(
        "select rollout_id from rollouts where tenant_id = $1
         order by (status in ('running', 'paused')) desc, created_at desc limit 1",
        access.tenant_id
    )
    .fetch_optional(db)
    .await?;
    match id {
        Some(id) => Ok(Some(get(db, access, id).await?)),
        None => Ok(None),
    }
}

/// A rollout with its stages (every role).
pub async fn get(db: &PgPool, access: &Access, rollout_id: Uuid) -> Result<Rollout> {
    access.require(Role::Viewer)?;
    let row = sqlx::query!(
        r#"select r.rollout_id, r.name, r.group_id, r.status, r.stage_no, r.permission_mode, r.quota_mode,
                  r.summary_mode, r.sample_bp, r.strata, r.min_members, r.gate_score::float8 as "gate_score!",
                  r.min_sample, r.guard_error_pct::float8 as "guard_error_pct!", r.guard_p99_ms, r.record_cap,
                  r.pause_reason, a.display_name as "created_by?", r.created_at, r.updated_at, r.finished_at
           from rollouts r left join admins a on a.admin_id = r.created_by
           where r.tenant_id = $1 and r.rollout_id = $2"#,
        access.tenant_id,
        rollout_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("rollout"))?;
    let stages = sqlx::query!(
        r#"select s.stage_no, s.percent, s.hold_minutes, s.approver, ap.display_name as "approver_name?",
                  s.thresholds, s.mix, s.run_id, s.entered_at, en.display_name as "entered_by?"
           from rollout_stages s
           left join admins ap on ap.admin_id = s.approver
           left join admins en on en.admin_id = s.entered_by
           where s.tenant_id = $1 and s.rollout_id = $2 order by s.stage_no"#,
        access.tenant_id,
        rollout_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|s| Stage {
        stage_no: s.stage_no,
        percent: s.percent,
        hold_minutes: s.hold_minutes,
        approver: s.approver,
        approver_name: s.approver_name,
        thresholds: s.thresholds,
        mix: s.mix,
        run_id: s.run_id,
        entered_at: s.entered_at,
        entered_by: s.entered_by,
    })
    .collect();
    let mode = |m: &str| Mode::parse(m).unwrap_or(Mode::Off);
    Ok(Rollout {
        rollout_id: row.rollout_id,
        name: row.name,
        group_id: row.group_id,
        status: RolloutStatus::parse(&row.status).unwrap_or(RolloutStatus::Aborted),
        stage_no: row.stage_no,
        modes: [
            mode(&row.permission_mode),
            mode(&row.quota_mode),
            mode(&row.summary_mode),
        ],
        sample_bp: row.sample_bp,
        strata: row.strata.and_then(|s| serde_json::from_value(s).ok()),
        min_members: row.min_members,
        gate_score: row.gate_score,
        min_sample: row.min_sample,
        guard_error_pct: row.guard_error_pct,
        guard_p99_ms: row.guard_p99_ms,
        record_cap: row.record_cap,
        pause_reason: row.pause_reason,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
        finished_at: row.finished_at,
        stages,
    })
}

/// The guardrails tripped: pause with the reason (the job; audited as the system).
pub(crate) async fn auto_pause(
    db: &PgPool,
    tenant_id: Uuid,
    rollout_id: Uuid,
    reason: &str,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let locked = lock(&mut tx, tenant_id, rollout_id).await?;
    if locked.status != RolloutStatus::Running {
        return Ok(false);
    }
    let system = Access {
        principal: crate::access::Principal {
            admin_id: None,
            api_key_id: None,
            label: "guardrail".into(),
            is_platform_admin: false,
        },
        tenant_id,
        role: Role::TenantAdmin,
        request_id: None,
    };
    set_paused(
        &mut tx,
        &system,
        rollout_id,
        locked.stage_no,
        "auto_pause",
        reason,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
