//! Server functions of tags: the catalogue, grants (grant, renew, revoke), effective
//! permissions, grant history and grants nearing expiry.

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{access, db, now, state};
use crate::error::AppError;
use crate::tags::form::TagForm;
use model::tags::Tag;
use model::tags::grants::{Expiring, Grant, GrantEvent};
use model::tags::permissions::Effective;

/// The tenant's tag catalogue with current holders (every role).
#[server(endpoint = "list_tags")]
pub async fn list_tags() -> Result<Vec<Tag>, AppError> {
    let access = access().await?;
    Ok(domain::tags::list(&db()?, &access)
        .await?
        .into_iter()
        .collect())
}

/// Adds a tag to the catalogue (tenant admins). Form fields are `tag[code]`, ….
#[server(endpoint = "create_tag")]
pub async fn create_tag(tag: TagForm) -> Result<Uuid, AppError> {
    let access = access().await?;
    let input = domain::tags::TagInput::try_from(tag)?;
    Ok(domain::tags::create(&db()?, &access, input).await?)
}

/// Changes a tag if unchanged since `row_version` was read (tenant admins); the new
/// privileges apply to every holder at once.
#[server(endpoint = "update_tag")]
pub async fn update_tag(tag_id: Uuid, row_version: i64, tag: TagForm) -> Result<(), AppError> {
    let access = access().await?;
    let input = domain::tags::TagInput::try_from(tag)?;
    Ok(domain::tags::update(&db()?, &access, tag_id, row_version, input).await?)
}

/// A member's grants: current first, then ended ones (every role).
#[server(endpoint = "member_grants")]
pub async fn member_grants(member_id: Uuid) -> Result<Vec<Grant>, AppError> {
    let access = access().await?;
    Ok(domain::tags::grants::for_member(&db()?, &access, now()?, member_id).await?)
}

/// Grants a tag to a member (support and tenant admins; reason required). The expiry
/// is a date (`YYYY-MM-DD`, the grant ends at its start, UTC); without one, `term_days`
/// or else the tag's term applies. `auto_renew` is "true", "false" or empty (the tag's
/// rule).
#[server(endpoint = "grant_tag")]
pub async fn grant_tag(
    member_id: Uuid,
    tag_id: Uuid,
    reason: String,
    expires_on: Option<String>,
    term_days: Option<String>,
    auto_renew: Option<String>,
) -> Result<Uuid, AppError> {
    use crate::form::{optional, optional_date};
    let access = access().await?;
    let input = domain::tags::grants::GrantInput {
        member_id,
        tag_id,
        reason,
        starts_at: None,
        expires_at: optional_date("expires_on", expires_on.as_deref())?,
        term_days: optional("term_days", term_days.as_deref())?,
        auto_renew: optional("auto_renew", auto_renew.as_deref())?,
    };
    domain::tags::grants::grant(
        &db()?,
        &access,
        now()?,
        domain::tags::grants::Method::Manual,
        input,
    )
    .await
    // The form asks for a date: name the field the user sees.
    .map_err(|error| match error {
        domain::Error::Invalid {
            field: "expires_at",
            problem,
        } => domain::Error::invalid("expires_on", problem).into(),
        other => other.into(),
    })
}

/// Extends a grant by its term (support and tenant admins; reason required); returns
/// the new expiry.
#[server(endpoint = "renew_grant")]
pub async fn renew_grant(
    grant_id: Uuid,
    reason: String,
) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    let access = access().await?;
    Ok(domain::tags::grants::renew(&db()?, &access, now()?, grant_id, &reason).await?)
}

/// Ends a grant at once (support and tenant admins; reason required). When this
/// returns, no server process answers with the revoked privileges.
#[server(endpoint = "revoke_grant")]
pub async fn revoke_grant(grant_id: Uuid, reason: String) -> Result<(), AppError> {
    let access = access().await?;
    Ok(domain::tags::grants::revoke(&db()?, &access, now()?, grant_id, &reason).await?)
}

/// Every transition of a member's grants, newest first (every role).
#[server(endpoint = "member_grant_history")]
pub async fn member_grant_history(member_id: Uuid) -> Result<Vec<GrantEvent>, AppError> {
    let access = access().await?;
    Ok(domain::tags::grants::history(&db()?, &access, member_id).await?)
}

/// Grants in force that expire within `days` days, soonest first (every role).
#[server(endpoint = "expiring_grants")]
pub async fn expiring_grants(days: i64) -> Result<Vec<Expiring>, AppError> {
    let access = access().await?;
    Ok(domain::tags::grants::expiring(&db()?, &access, now()?, days).await?)
}

/// A member's effective permissions and quotas with their sources (every role).
#[server(endpoint = "member_permissions")]
pub async fn member_permissions(member_id: Uuid) -> Result<Effective, AppError> {
    let access = access().await?;
    let state = state()?;
    Ok(domain::tags::permissions::effective(&state.db, &access, &state.clock, member_id).await?)
}
