//! Server functions of the rollout console (`/rollout`) and of the member page's
//! rollout panel, each authenticating from the session and calling one function of
//! `domain::rollout`. Reads are open to every role (product managers watch the
//! dashboard read-only); every move is for tenant admins (the domain decides). Form
//! fields arrive as text and are read by [`super::form`], so a bad value is a 422 that
//! names the field.

use leptos::prelude::*;
use uuid::Uuid;

use super::form::{RolloutForm, SettingsForm};
#[cfg(feature = "ssr")]
use crate::context::{access, db, now};
use crate::error::AppError;
use model::rollout::plan::{Accepted, Dashboard, DecisionKind, MemberRoute, Mode, Rollout};

/// The dashboard of the tenant's active rollout, else of its latest; `None` before the
/// first (every role; polled while a rollout is active).
#[server(endpoint = "current_rollout")]
pub async fn current_rollout() -> Result<Option<Dashboard>, AppError> {
    let access = access().await?;
    Ok(domain::rollout::report::current_dashboard(&db()?, &access, now()?).await?)
}

/// The dashboard of one rollout of the tenant (every role).
#[server(endpoint = "rollout_dashboard")]
pub async fn rollout_dashboard(rollout_id: Uuid) -> Result<Dashboard, AppError> {
    let access = access().await?;
    Ok(domain::rollout::report::dashboard(&db()?, &access, rollout_id, now()?).await?)
}

/// Creates a rollout (tenant admins): see [`RolloutForm`] for the fields.
#[server(endpoint = "create_rollout")]
pub async fn create_rollout(rollout: RolloutForm) -> Result<Rollout, AppError> {
    let new = rollout.read()?;
    let access = access().await?;
    Ok(domain::rollout::plan::create(&db()?, &access, &new).await?)
}

/// Enters the next stage (its approver, or any tenant admin); refused with its blockers.
/// `from_stage` is the stage the page showed: a second click (or a retry) after the
/// move answers the rollout as it is instead of moving twice.
#[server(endpoint = "advance_rollout")]
pub async fn advance_rollout(
    rollout_id: Uuid,
    from_stage: Option<i32>,
) -> Result<Rollout, AppError> {
    let access = access().await?;
    Ok(
        domain::rollout::plan::advance_from(&db()?, &access, rollout_id, from_stage, now()?)
            .await?,
    )
}

/// Steps back a stage: the members who joined at it are rolled back (tenant admins).
/// `from_stage` as for [`advance_rollout`].
#[server(endpoint = "step_back_rollout")]
pub async fn step_back_rollout(
    rollout_id: Uuid,
    from_stage: Option<i32>,
) -> Result<Rollout, AppError> {
    let access = access().await?;
    Ok(
        domain::rollout::plan::step_back_from(&db()?, &access, rollout_id, from_stage, now()?)
            .await?,
    )
}

/// Pauses with a reason (tenant admins).
#[server(endpoint = "pause_rollout")]
pub async fn pause_rollout(rollout_id: Uuid, reason: String) -> Result<Rollout, AppError> {
    let access = access().await?;
    Ok(domain::rollout::plan::pause(&db()?, &access, rollout_id, &reason).await?)
}

/// Resumes a paused rollout (tenant admins).
#[server(endpoint = "resume_rollout")]
pub async fn resume_rollout(rollout_id: Uuid) -> Result<Rollout, AppError> {
    let access = access().await?;
    Ok(domain::rollout::plan::resume(&db()?, &access, rollout_id).await?)
}

/// Aborts: the emergency rollback of every migrated member (tenant admins).
#[server(endpoint = "abort_rollout")]
pub async fn abort_rollout(rollout_id: Uuid, reason: String) -> Result<Rollout, AppError> {
    let access = access().await?;
    Ok(domain::rollout::plan::abort(&db()?, &access, rollout_id, &reason, now()?).await?)
}

/// Completes the rollout once its last stage is entered and every decision is live.
#[server(endpoint = "complete_rollout")]
pub async fn complete_rollout(rollout_id: Uuid) -> Result<Rollout, AppError> {
    let access = access().await?;
    Ok(domain::rollout::plan::complete(&db()?, &access, rollout_id, now()?).await?)
}

/// The kill switch: every decision of every member back to the legacy model at once,
/// the active rollout paused (tenant admins).
#[server(endpoint = "kill_rollout")]
pub async fn kill_rollout() -> Result<Option<Rollout>, AppError> {
    let access = access().await?;
    Ok(domain::rollout::plan::kill(&db()?, &access).await?)
}

/// How each decision is routed for the cohort: `off`, `shadow` or `live` (tenant admins).
#[server(endpoint = "set_rollout_modes")]
pub async fn set_rollout_modes(
    rollout_id: Uuid,
    permission: Mode,
    quota: Mode,
    summary: Mode,
) -> Result<Rollout, AppError> {
    let access = access().await?;
    let modes = [permission, quota, summary];
    Ok(domain::rollout::plan::set_modes(&db()?, &access, rollout_id, modes).await?)
}

/// The group id, sampling, gate and guardrails (tenant admins).
#[server(endpoint = "update_rollout_settings")]
pub async fn update_rollout_settings(
    rollout_id: Uuid,
    settings: SettingsForm,
) -> Result<Rollout, AppError> {
    let settings = settings.read()?;
    let access = access().await?;
    Ok(domain::rollout::plan::update_settings(&db()?, &access, rollout_id, &settings).await?)
}

/// Accepts a known difference until `expires_on` (a date), with its owner and reason
/// (tenant admins).
#[server(endpoint = "accept_rollout_difference")]
pub async fn accept_rollout_difference(
    rollout_id: Uuid,
    decision: DecisionKind,
    kind: String,
    detail: Option<String>,
    owner: String,
    reason: String,
    expires_on: String,
) -> Result<Accepted, AppError> {
    let new = super::form::accepted(decision, kind, detail, owner, reason, &expires_on)?;
    let access = access().await?;
    Ok(domain::rollout::plan::accept(&db()?, &access, rollout_id, &new, now()?).await?)
}

/// "Why is this member in or out?": bucket, stratum, stage, and which model answers
/// each decision now (every role).
#[server(endpoint = "member_rollout")]
pub async fn member_rollout(external_id: String) -> Result<MemberRoute, AppError> {
    let access = access().await?;
    Ok(domain::rollout::report::member_route(&db()?, &access, &external_id, now()?).await?)
}
