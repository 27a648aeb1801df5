//! Server functions of API keys (tenant admins). A new secret is in the answer (for the
//! page with JavaScript) and kept in the session for one read (for the page after a
//! plain form post's redirect): it is shown once and stored nowhere else.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::context::{access, db, session, session_error};
use crate::error::AppError;
use model::api::{ApiKey, Issued};

/// The session key under which a just-issued secret waits for its one read.
#[cfg(feature = "ssr")]
const ISSUED_KEY: &str = "api_key_issued";

#[cfg(feature = "ssr")]
async fn keep_for_one_read(issued: &Issued) -> Result<(), AppError> {
    session()
        .await?
        .insert(ISSUED_KEY, issued)
        .await
        .map_err(session_error)
}

/// The tenant's API keys, newest first (never their secrets).
#[server(endpoint = "api_keys")]
pub async fn api_keys() -> Result<Vec<ApiKey>, AppError> {
    let access = access().await?;
    Ok(domain::api::keys::list(&db()?, &access).await?)
}

/// The secret issued last in this session, once (then it is gone).
#[server(endpoint = "take_issued_api_key")]
pub async fn take_issued_api_key() -> Result<Option<Issued>, AppError> {
    access().await?;
    session()
        .await?
        .remove::<Issued>(ISSUED_KEY)
        .await
        .map_err(session_error)
}

/// Creates a key: name, scope (`read` or `write`) and an optional rate limit.
#[server(endpoint = "create_api_key")]
pub async fn create_api_key(
    name: String,
    scope: String,
    rate_per_second: Option<String>,
    burst: Option<String>,
) -> Result<Issued, AppError> {
    use crate::form::optional;
    let access = access().await?;
    let scope = model::api::Scope::parse(&scope).map_err(domain::Error::from)?;
    let issued = domain::api::keys::create(
        &db()?,
        &access,
        model::api::NewKey {
            name,
            scope,
            rate_per_second: optional("rate_per_second", rate_per_second.as_deref())?,
            burst: optional("burst", burst.as_deref())?,
        },
    )
    .await?;
    keep_for_one_read(&issued).await?;
    Ok(issued)
}

/// Replaces a key with a new secret; the old one works for `grace_hours` more.
#[server(endpoint = "rotate_api_key")]
pub async fn rotate_api_key(key_id: uuid::Uuid, grace_hours: String) -> Result<Issued, AppError> {
    use crate::form::required;
    let access = access().await?;
    let grace_hours = required("grace_hours", &grace_hours)?;
    let issued = domain::api::keys::rotate(&db()?, &access, key_id, grace_hours).await?;
    keep_for_one_read(&issued).await?;
    Ok(issued)
}

/// Revokes a key: every server process refuses it once this returns.
#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(key_id: uuid::Uuid) -> Result<ApiKey, AppError> {
    let access = access().await?;
    Ok(domain::api::keys::revoke(&db()?, &access, key_id).await?)
}

/// Sets or clears a key's rate limit override (empty: the server's defaults).
#[server(endpoint = "set_api_key_limits")]
pub async fn set_api_key_limits(
    key_id: uuid::Uuid,
    rate_per_second: Option<String>,
    burst: Option<String>,
) -> Result<ApiKey, AppError> {
    use crate::form::optional;
    let access = access().await?;
    Ok(domain::api::keys::set_limits(
        &db()?,
        &access,
        key_id,
        optional("rate_per_second", rate_per_second.as_deref())?,
        optional("burst", burst.as_deref())?,
    )
    .await?)
}
