//! Server functions of batch assignment (the batches, their rows, starting an apply),
//! and the app-side shells of the routes that cannot be server functions: the upload
//! (a file larger than the server functions' body limit, streamed) and the CSV exports
//! of licenses and assignments (downloads). Those shells run in the request's reactive
//! context, as `app::access::api::audit_export` does, so sessions, roles and error
//! statuses behave exactly as in server functions.

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{access, db, now};
use crate::error::AppError;
use model::licenses::Plan;
use model::licenses::batch::{Batch, BatchRowPage, Outcome};

/// The plans a batch may default to (every role reads).
#[server(endpoint = "batch_plans")]
pub async fn batch_plans() -> Result<Vec<Plan>, AppError> {
    let access = access().await?;
    Ok(domain::licenses::plans(&db()?, &access, now()?).await?)
}

/// The tenant's recent batches, newest first (every role).
#[server(endpoint = "recent_batches")]
pub async fn recent_batches() -> Result<Vec<Batch>, AppError> {
    let access = access().await?;
    Ok(domain::licenses::batch::recent(&db()?, &access).await?)
}

/// One batch with its counts per outcome (every role).
#[server(endpoint = "license_batch")]
pub async fn license_batch(batch_id: Uuid) -> Result<Batch, AppError> {
    let access = access().await?;
    Ok(domain::licenses::batch::batch(&db()?, &access, batch_id).await?)
}

/// A page of a batch's rows after line `after`, only those with `outcome` when given
/// (every role).
#[server(endpoint = "license_batch_rows")]
pub async fn license_batch_rows(
    batch_id: Uuid,
    outcome: Option<Outcome>,
    after: Option<i32>,
) -> Result<BatchRowPage, AppError> {
    let access = access().await?;
    Ok(domain::licenses::batch::rows(
        &db()?,
        &access,
        batch_id,
        outcome,
        after,
        domain::licenses::batch::ROWS_PAGE_MAX,
    )
    .await?)
}

/// Starts applying a batch in the background (support and tenant admins); the batch
/// page shows its progress.
#[server(endpoint = "apply_license_batch")]
pub async fn apply_license_batch(batch_id: Uuid) -> Result<Batch, AppError> {
    let access = access().await?;
    Ok(domain::licenses::batch::start_apply(&db()?, &access, now()?, batch_id).await?)
}

/// The upload route's shell (`POST /upload/licenses-batch`): the session's access, then
/// [`domain::licenses::batch::upload`] with the body as it streams in. `plan` is the
/// default plan's id as the form sent it (empty: none).
#[cfg(feature = "ssr")]
pub async fn upload_batch<S, B, E>(
    file_name: String,
    plan: Option<String>,
    body: S,
) -> Result<Batch, AppError>
where
    S: domain::licenses::batch::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let access = access().await?;
    let plan: Option<Uuid> = crate::form::optional("plan", plan.as_deref())?;
    Ok(domain::licenses::batch::upload(&db()?, &access, now()?, &file_name, plan, body).await?)
}

/// The filters of `/export/licenses.csv` and `/export/assignments.csv`: the licenses
/// list's plan and state.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LicenseExportQuery {
    pub plan: Option<String>,
    pub state: Option<String>,
}

/// Which export a download route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Licenses,
    Assignments,
}

/// The export routes' shell: the session's access and the filters checked, the export
/// ready to stream (nothing is read yet).
#[cfg(feature = "ssr")]
pub async fn license_export(
    kind: ExportKind,
    query: LicenseExportQuery,
) -> Result<domain::licenses::export::CsvExport, AppError> {
    use crate::form::optional;
    let access = access().await?;
    let state = match query.state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(state) => Some(
            model::licenses::LicenseState::parse(state)
                .map_err(|invalid| AppError::from(domain::Error::from(invalid)))?,
        ),
    };
    let filter = domain::licenses::export::ExportFilter {
        plan_id: optional("plan", query.plan.as_deref())?,
        state,
    };
    let db = db()?;
    let now = now()?;
    Ok(match kind {
        ExportKind::Licenses => domain::licenses::export::licenses_csv(&db, &access, now, filter)?,
        ExportKind::Assignments => {
            domain::licenses::export::assignments_csv(&db, &access, now, filter)?
        }
    })
}
