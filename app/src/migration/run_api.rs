//! Server functions of the run console (`/migration/run`), each authenticating from the
//! session and calling one domain function of `domain::migration`: the routing switch,
//! pre-flight and checkpoints, the dry run, runs (start, control, progress, detail),
//! catch-up, validation, reconciliation, the blast radius and the rollback. Reads are
//! open to every role, the steps to tenant admins (the domain decides). The workers (a
//! job in every server process) do a run's batches; these only start and steer runs.

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{access, db, now};
use crate::error::AppError;
use model::migration::run::{
    BlastRadius, CatchUp, Checkpoint, DryRun, Model, Preflight, Reconciliation, ReportInfo,
    RollbackMode, Routing, Run, RunDetail, RunStatus, Validation,
};

/// A stored report with who made it and when.
pub type Latest<T> = Option<(ReportInfo, T)>;

/// Which model answers migrated members (every role).
#[server(endpoint = "migration_routing")]
pub async fn migration_routing() -> Result<Routing, AppError> {
    let access = access().await?;
    Ok(domain::migration::routing::routing(&db()?, &access).await?)
}

/// Flips the tenant-wide switch (tenant admins); `legacy` is the kill switch.
#[server(endpoint = "switch_migration_routing")]
pub async fn switch_migration_routing(mode: Model) -> Result<Routing, AppError> {
    let access = access().await?;
    Ok(domain::migration::routing::switch(&db()?, &access, mode).await?)
}

/// Runs the pre-flight: statistics and a checkpoint, kept as a report (tenant admins).
#[server(endpoint = "migration_preflight")]
pub async fn migration_preflight() -> Result<Preflight, AppError> {
    let access = access().await?;
    Ok(domain::migration::analysis::preflight(&db()?, &access, now()?).await?)
}

/// The latest pre-flight (every role).
#[server(endpoint = "latest_migration_preflight")]
pub async fn latest_migration_preflight() -> Result<Latest<Preflight>, AppError> {
    let access = access().await?;
    Ok(domain::migration::analysis::latest(&db()?, &access, "preflight").await?)
}

/// The tenant's checkpoints, newest first (every role).
#[server(endpoint = "migration_checkpoints")]
pub async fn migration_checkpoints() -> Result<Vec<Checkpoint>, AppError> {
    let access = access().await?;
    Ok(domain::migration::checkpoint::list(&db()?, &access).await?)
}

/// Takes a checkpoint named `label` (tenant admins).
#[server(endpoint = "take_migration_checkpoint")]
pub async fn take_migration_checkpoint(label: String) -> Result<Checkpoint, AppError> {
    let access = access().await?;
    Ok(domain::migration::checkpoint::take(&db()?, &access, &label).await?)
}

/// The dry run of migrating a selection (tenant admins); see [`super::run_form`] for
/// the fields.
#[server(endpoint = "migration_dry_run")]
pub async fn migration_dry_run(
    selection: String,
    share: Option<String>,
    members: Option<String>,
) -> Result<DryRun, AppError> {
    let access = access().await?;
    let selection = super::run_form::selection(&selection, share.as_deref(), members.as_deref())?;
    Ok(domain::migration::analysis::dry_run(&db()?, &access, &selection, now()?).await?)
}

/// The latest dry run (every role).
#[server(endpoint = "latest_migration_dry_run")]
pub async fn latest_migration_dry_run() -> Result<Latest<DryRun>, AppError> {
    let access = access().await?;
    Ok(domain::migration::analysis::latest(&db()?, &access, "dry_run").await?)
}

/// Starts migrating a selection (tenant admins); the workers take it from there.
#[server(endpoint = "start_migration_run")]
pub async fn start_migration_run(
    selection: String,
    share: Option<String>,
    members: Option<String>,
) -> Result<Run, AppError> {
    let access = access().await?;
    let selection = super::run_form::selection(&selection, share.as_deref(), members.as_deref())?;
    Ok(domain::migration::run::start(&db()?, &access, &selection, now()?).await?)
}

/// The tenant's running or paused run, if any (every role; polled while it runs).
#[server(endpoint = "active_migration_run")]
pub async fn active_migration_run() -> Result<Option<Run>, AppError> {
    let access = access().await?;
    Ok(domain::migration::run::active(&db()?, &access).await?)
}

/// The tenant's latest runs, newest first (every role).
#[server(endpoint = "recent_migration_runs")]
pub async fn recent_migration_runs() -> Result<Vec<Run>, AppError> {
    let access = access().await?;
    Ok(domain::migration::run::recent(&db()?, &access).await?)
}

/// A run with its latest batches and its errors (every role).
#[server(endpoint = "migration_run_detail")]
pub async fn migration_run_detail(run_id: Uuid) -> Result<RunDetail, AppError> {
    let access = access().await?;
    Ok(domain::migration::run::detail(&db()?, &access, run_id).await?)
}

/// Pauses (`paused`), resumes (`running`) or cancels (`cancelled`) a run (tenant admins).
#[server(endpoint = "control_migration_run")]
pub async fn control_migration_run(run_id: Uuid, to: RunStatus) -> Result<Run, AppError> {
    let access = access().await?;
    Ok(domain::migration::run::control(&db()?, &access, run_id, to).await?)
}

/// Re-applies legacy changes made after members were migrated (tenant admins).
#[server(endpoint = "migration_catch_up")]
pub async fn migration_catch_up() -> Result<CatchUp, AppError> {
    let access = access().await?;
    Ok(domain::migration::verify::catch_up(&db()?, &access).await?)
}

/// Validates the migrated members, fixing what it can when `fix` is checked (tenant
/// admins).
#[server(endpoint = "validate_migration")]
pub async fn validate_migration(fix: Option<String>) -> Result<Validation, AppError> {
    let access = access().await?;
    let fix = super::run_form::checkbox("fix", fix.as_deref())?;
    Ok(domain::migration::verify::validate(&db()?, &access, fix, now()?).await?)
}

/// The latest validation (every role).
#[server(endpoint = "latest_migration_validation")]
pub async fn latest_migration_validation() -> Result<Latest<Validation>, AppError> {
    let access = access().await?;
    Ok(domain::migration::analysis::latest(&db()?, &access, "validate").await?)
}

/// Reconciles the target with the legacy source (tenant admins).
#[server(endpoint = "reconcile_migration")]
pub async fn reconcile_migration() -> Result<Reconciliation, AppError> {
    let access = access().await?;
    Ok(domain::migration::verify::reconcile(&db()?, &access).await?)
}

/// The latest reconciliation (every role).
#[server(endpoint = "latest_migration_reconciliation")]
pub async fn latest_migration_reconciliation() -> Result<Latest<Reconciliation>, AppError> {
    let access = access().await?;
    Ok(domain::migration::analysis::latest(&db()?, &access, "reconcile").await?)
}

/// What rolling back a selection would change (tenant admins; kept as a report).
/// Emergency takes everyone (`selection` `all`).
#[server(endpoint = "migration_blast_radius")]
pub async fn migration_blast_radius(
    mode: RollbackMode,
    selection: String,
    share: Option<String>,
    members: Option<String>,
) -> Result<BlastRadius, AppError> {
    let access = access().await?;
    let selection = super::run_form::selection(&selection, share.as_deref(), members.as_deref())?;
    Ok(
        domain::migration::rollback::blast_radius(&db()?, &access, mode, &selection, now()?)
            .await?,
    )
}

/// Starts a rollback (tenant admins); emergency switches the tenant to legacy at once.
#[server(endpoint = "start_migration_rollback")]
pub async fn start_migration_rollback(
    mode: RollbackMode,
    selection: String,
    share: Option<String>,
    members: Option<String>,
) -> Result<Run, AppError> {
    let access = access().await?;
    let selection = super::run_form::selection(&selection, share.as_deref(), members.as_deref())?;
    Ok(domain::migration::rollback::start(&db()?, &access, mode, &selection, now()?).await?)
}
