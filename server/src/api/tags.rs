//! `/members/{external_id}/tags`: grant a tag (by its code), renew and revoke the
//! member's grant of it. Revocation returns once no server process answers with the
//! revoked privileges.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::api::keys::Caller;
use domain::tags::grants::{self, GrantInput, Method};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ApiState;
use super::members::ExternalId;
use super::problem::{ApiJson, ApiPath, Problem};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(grant))
        .routes(routes!(renew))
        .routes(routes!(revoke))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// The tag's code (e.g. `vip`).
    pub tag: String,
    pub reason: String,
    /// Defaults to now.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// Defaults to `starts_at` + the term; with neither, the grant does not expire.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Defaults to the tag's term.
    #[serde(default)]
    pub term_days: Option<i32>,
    /// Defaults to the tag's rule.
    #[serde(default)]
    pub auto_renew: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub grant_id: Uuid,
    /// The member's external id.
    pub member: String,
    pub tag: String,
}

/// Grants a tag to a member (a member holds a tag at most once at a time: 409
/// `tag_already_held`; renew it instead).
#[utoipa::path(
    post, path = "/members/{external_id}/tags", tag = "tags",
    params(ExternalId, ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    request_body = GrantBody,
    responses(
        (status = 201, description = "Granted", body = GrantView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn grant(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<ExternalId>,
    ApiJson(body): ApiJson<GrantBody>,
) -> Result<Response, Problem> {
    let db = &state.app.db;
    let member_id = domain::members::id_of(db, &caller.access, &path.external_id).await?;
    let tag_id = domain::tags::id_of(db, &caller.access, &body.tag).await?;
    let grant_id = grants::grant(
        db,
        &caller.access,
        state.app.clock.now(),
        Method::Api,
        GrantInput {
            member_id,
            tag_id,
            reason: body.reason,
            starts_at: body.starts_at,
            expires_at: body.expires_at,
            term_days: body.term_days,
            auto_renew: body.auto_renew,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(GrantView {
            grant_id,
            member: path.external_id,
            tag: body.tag.trim().to_owned(),
        }),
    )
        .into_response())
}

/// The member's external id and a tag's code in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberTag {
    /// The tenant's own id for the member.
    pub external_id: String,
    /// The tag's code.
    pub tag: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RenewedView {
    pub grant_id: Uuid,
    /// The grant's new expiry.
    pub expires_at: DateTime<Utc>,
}

/// Extends the member's grant of the tag by its term.
#[utoipa::path(
    post, path = "/members/{external_id}/tags/{tag}/renew", tag = "tags",
    params(MemberTag, ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "Renewed", body = RenewedView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn renew(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<MemberTag>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<axum::Json<RenewedView>, Problem> {
    let db = &state.app.db;
    let member_id = domain::members::id_of(db, &caller.access, &path.external_id).await?;
    let grant_id = grants::held(db, &caller.access, member_id, &path.tag).await?;
    let expires_at = grants::renew(
        db,
        &caller.access,
        state.app.clock.now(),
        grant_id,
        &body.reason,
    )
    .await?;
    Ok(axum::Json(RenewedView {
        grant_id,
        expires_at,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedView {
    pub grant_id: Uuid,
    pub revoked: bool,
}

/// Ends the member's grant of the tag at once; no server process answers with its
/// privileges once this returns.
#[utoipa::path(
    post, path = "/members/{external_id}/tags/{tag}/revoke", tag = "tags",
    params(MemberTag, ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "Revoked", body = RevokedView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<MemberTag>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<axum::Json<RevokedView>, Problem> {
    let db = &state.app.db;
    let member_id = domain::members::id_of(db, &caller.access, &path.external_id).await?;
    let grant_id = grants::held(db, &caller.access, member_id, &path.tag).await?;
    grants::revoke(
        db,
        &caller.access,
        state.app.clock.now(),
        grant_id,
        &body.reason,
    )
    .await?;
    Ok(axum::Json(RevokedView {
        grant_id,
        revoked: true,
    }))
}
