//! `/legacy/user-types` and `/legacy/members`: the tenant's legacy system keeps its
//! user types and members in step while the tenant migrates (it keeps running until
//! the switch). Up to 1,000 rows per request, each checked as an import file's row is
//! (a bad row is reported with its position and the others are written); a member
//! changed after their migration is caught up at once (new ledger entries for the
//! difference, the mapped tag moved). Write keys only.

use axum::Extension;
use axum::extract::State;
use chrono::{DateTime, Utc};
use domain::api::keys::Caller;
use domain::migration::import::{Rows, checked_member, checked_type};
use domain::migration::legacy::{self, Upserted};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::members::check_batch_size;
use super::problem::{ApiJson, Problem};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(user_types))
        .routes(routes!(members))
}

/// A legacy user type: what its members may do.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserTypeBody {
    /// The type's id in the legacy system (0 to 1,000,000).
    pub id: i64,
    pub name: String,
    /// Permission keys.
    pub permissions: Vec<String>,
    /// Licenses a member of the type may hold (0 to 1,000,000).
    pub max_licenses: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserTypesBody {
    /// 1 to 1,000 types.
    pub user_types: Vec<UserTypeBody>,
}

/// A member as the legacy system has them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegacyMemberBody {
    /// The member's external id (the same as in `/members`).
    pub external_id: String,
    /// Their user type's id.
    pub user_type: i64,
    pub registered_at: DateTime<Utc>,
    #[serde(default)]
    pub last_login_at: Option<DateTime<Utc>>,
    /// Licenses bought in the legacy system.
    pub license_count: i64,
    /// Payments in cents.
    pub payment_total_cents: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegacyMembersBody {
    /// 1 to 1,000 members.
    pub members: Vec<LegacyMemberBody>,
}

/// A refused row.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusedRow {
    /// The row's position in the request (from 0).
    pub index: u64,
    pub field: String,
    /// `required`, `too_long`, `too_large`, `format`, or `duplicate` (the same id twice
    /// in one request: the last one is written).
    pub problem: String,
}

/// What the catch-up did for members migrated before the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatchUpView {
    pub members: i64,
    /// Net points the catch-up's entries added (negative: taken back).
    pub points: i64,
    /// Points a decrease could not take back (already spent).
    pub shortfall: i64,
    pub tags_changed: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LegacyUpsertView {
    pub rows: u64,
    pub inserted: u64,
    /// Rows that changed a stored row.
    pub updated: u64,
    /// Rows equal to what was stored.
    pub unchanged: u64,
    pub refused: Vec<RefusedRow>,
    pub caught_up: CatchUpView,
}

impl From<Upserted> for LegacyUpsertView {
    fn from(done: Upserted) -> Self {
        let report = done.report;
        LegacyUpsertView {
            rows: report.rows,
            inserted: report.inserted,
            updated: report.updated,
            unchanged: report.unchanged,
            refused: report
                .bad
                .into_iter()
                .map(|b| RefusedRow {
                    index: b.line.saturating_sub(1),
                    field: b.field,
                    problem: b.problem,
                })
                .collect(),
            caught_up: CatchUpView {
                members: done.caught_up.members,
                points: done.caught_up.points,
                shortfall: done.caught_up.shortfall,
                tags_changed: done.caught_up.tags_changed,
            },
        }
    }
}

/// Creates or updates legacy user types by id.
#[utoipa::path(
    post, path = "/legacy/user-types", tag = "legacy",
    request_body = UserTypesBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 200, description = "What was written and refused", body = LegacyUpsertView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_types(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<UserTypesBody>,
) -> Result<axum::Json<LegacyUpsertView>, Problem> {
    check_batch_size(body.user_types.len(), "user_types")?;
    let rows = body
        .user_types
        .into_iter()
        .map(|t| checked_type(t.id, &t.name, &t.permissions, t.max_licenses))
        .collect();
    let done = legacy::upsert(
        &state.app.db,
        &caller.access,
        state.app.clock.now(),
        Rows::UserTypes(rows),
    )
    .await?;
    Ok(axum::Json(done.into()))
}

/// Creates or updates legacy members by external id; members changed after their
/// migration are caught up.
#[utoipa::path(
    post, path = "/legacy/members", tag = "legacy",
    request_body = LegacyMembersBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 200, description = "What was written, refused and caught up", body = LegacyUpsertView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn members(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<LegacyMembersBody>,
) -> Result<axum::Json<LegacyUpsertView>, Problem> {
    check_batch_size(body.members.len(), "members")?;
    let rows = body
        .members
        .into_iter()
        .map(|m| {
            checked_member(
                &m.external_id,
                m.user_type,
                m.registered_at,
                m.last_login_at,
                m.license_count,
                m.payment_total_cents,
            )
        })
        .collect();
    let done = legacy::upsert(
        &state.app.db,
        &caller.access,
        state.app.clock.now(),
        Rows::Members(rows),
    )
    .await?;
    Ok(axum::Json(done.into()))
}
