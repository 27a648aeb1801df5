//! Server functions of the migration page, each authenticating from the session and
//! calling one domain function; and the app-side shells of the legacy upload route
//! (`POST /upload/legacy`: files larger than the server functions' body limit,
//! streamed), which run in the request's reactive context like a server function, so
//! sessions, roles and error statuses behave exactly as in one.

use std::collections::BTreeMap;

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{access, db, now};
use crate::error::AppError;
use model::migration::Settings;
use model::migration::imports::ImportRecord;
use model::migration::legacy::Summary;
use model::migration::sample::Sample;

/// The tenant's legacy user types, members per type and last change (every role).
#[server(endpoint = "legacy_summary")]
pub async fn legacy_summary() -> Result<Summary, AppError> {
    let access = access().await?;
    Ok(domain::migration::legacy::summary(&db()?, &access).await?)
}

/// The tenant's latest imports with their first bad rows (every role).
#[server(endpoint = "legacy_imports")]
pub async fn legacy_imports() -> Result<Vec<ImportRecord>, AppError> {
    let access = access().await?;
    Ok(domain::migration::imports::recent(&db()?, &access).await?)
}

/// One import with every bad row its report kept (every role).
#[server(endpoint = "legacy_import")]
pub async fn legacy_import(import_id: Uuid) -> Result<ImportRecord, AppError> {
    let access = access().await?;
    Ok(domain::migration::imports::get(&db()?, &access, import_id).await?)
}

/// The current mapping and formula version (every role).
#[server(endpoint = "migration_settings")]
pub async fn migration_settings() -> Result<Settings, AppError> {
    let access = access().await?;
    Ok(domain::migration::settings::current(&db()?, &access).await?)
}

/// Saves the form's formula and mapping as the next version after `based_on` (tenant
/// admins); a version saved meanwhile is a conflict (`StaleVersion`). Fields: see
/// [`super::form`].
#[server(endpoint = "save_migration_settings")]
pub async fn save_migration_settings(
    based_on: i32,
    formula: BTreeMap<String, String>,
    mapping: Option<BTreeMap<String, String>>,
) -> Result<Settings, AppError> {
    let access = access().await?;
    let formula = super::form::formula(&formula)?;
    let mapping = super::form::mapping(mapping.as_ref())?;
    Ok(domain::migration::settings::save(&db()?, &access, based_on, formula, mapping).await?)
}

/// What the legacy member `external_id` would get from the form's formula and mapping,
/// saved or not (every role: it writes nothing).
#[server(endpoint = "migration_sample")]
pub async fn migration_sample(
    external_id: String,
    formula: BTreeMap<String, String>,
    mapping: Option<BTreeMap<String, String>>,
) -> Result<Sample, AppError> {
    let access = access().await?;
    let formula = super::form::formula(&formula)?;
    let mapping = super::form::mapping(mapping.as_ref())?;
    Ok(
        domain::migration::sample::sample(&db()?, &access, now()?, &external_id, formula, mapping)
            .await?,
    )
}

/// The upload route's shell for one file (`kind` `None`: the request carried no file):
/// the session's access, then [`domain::migration::imports::stage`] with the file as it
/// streams in, at most `bytes_max` bytes. Not committed: see [`commit_legacy_imports`].
#[cfg(feature = "ssr")]
pub async fn stage_legacy_import<S, B, E>(
    kind: Option<model::migration::imports::ImportKind>,
    file_name: String,
    body: S,
    bytes_max: usize,
) -> Result<domain::migration::imports::Staged, AppError>
where
    S: domain::migration::imports::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let access = access().await?;
    let Some(kind) = kind else {
        access.require(domain::Role::TenantAdmin)?;
        return Err(domain::Error::invalid("file", domain::Problem::Required).into());
    };
    Ok(domain::migration::imports::stage(
        &db()?,
        &access,
        now()?,
        kind,
        &file_name,
        body,
        Some(bytes_max),
    )
    .await?)
}

/// The upload route's shell once every file of the request was staged: commits them in
/// the order they came.
#[cfg(feature = "ssr")]
pub async fn commit_legacy_imports(
    staged: Vec<domain::migration::imports::Staged>,
) -> Result<Vec<ImportRecord>, AppError> {
    let mut records = Vec::with_capacity(staged.len());
    for import in staged {
        records.push(import.commit().await?);
    }
    Ok(records)
}
