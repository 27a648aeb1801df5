//! `/members`: upsert by external id (one, or a batch of up to 1,000), get, the
//! summary (points, level, permissions and quotas with sources, tags, licenses) and
//! the ledger with cursor pagination.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::api::keys::Caller;
use domain::members::{self, Member, MemberInput};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ApiState;
use super::problem::{ApiJson, ApiPath, ApiQuery, Problem};

pub const BATCH_MAX: usize = 1_000;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(upsert))
        .routes(routes!(upsert_batch))
        .routes(routes!(get))
        .routes(routes!(summary))
        .routes(routes!(ledger))
}

/// A member as the tenant's backend knows them.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    /// The tenant's own id for the member (1 to 128 characters).
    pub external_id: String,
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub registered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_login_at: Option<DateTime<Utc>>,
    /// The member's type in the legacy system, while the tenant migrates.
    #[serde(default)]
    pub legacy_user_type: Option<i32>,
}

impl From<MemberBody> for MemberInput {
    fn from(body: MemberBody) -> Self {
        MemberInput {
            external_id: body.external_id,
            display_name: body.display_name,
            email: body.email,
            registered_at: body.registered_at,
            last_login_at: body.last_login_at,
            legacy_user_type: body.legacy_user_type,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Points {
    pub available: i64,
    /// Lifetime earned (what levels go by).
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Level {
    pub code: String,
    pub name_en: Option<String>,
    pub name_zh: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub id: Uuid,
    pub external_id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub legacy_user_type: Option<i32>,
    pub points: Points,
    pub level: Option<Level>,
    /// Bumped by every change of the profile.
    pub version: i64,
}

impl From<Member> for MemberView {
    fn from(m: Member) -> Self {
        MemberView {
            id: m.member_id,
            external_id: m.external_id,
            display_name: m.display_name,
            email: m.email,
            registered_at: m.registered_at,
            last_login_at: m.last_login_at,
            legacy_user_type: m.legacy_user_type,
            points: Points {
                available: m.available_points,
                total: m.total_points,
            },
            level: m.level_code.map(|code| Level {
                code,
                name_en: m.level_name_en,
                name_zh: m.level_name_zh,
            }),
            version: m.row_version,
        }
    }
}

/// The member's external id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ExternalId {
    /// The tenant's own id for the member.
    pub external_id: String,
}

/// Creates or updates a member by external id.
///
/// Fields left out keep their values on an update. 201 when created, 200 when updated.
#[utoipa::path(
    post, path = "/members", tag = "members",
    request_body = MemberBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 201, description = "Created", body = MemberView),
        (status = 200, description = "Updated", body = MemberView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upsert(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<MemberBody>,
) -> Result<Response, Problem> {
    let (member, created) = members::upsert(&state.app.db, &caller.access, body.into()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(MemberView::from(member))).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberBatch {
    /// 1 to 1,000 members.
    pub members: Vec<MemberBody>,
}

/// One member's outcome in a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOutcome {
    /// The member's position in the request (from 0).
    pub index: usize,
    /// 201 created, 200 updated, else the refusal's status.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberBatchResult {
    pub results: Vec<MemberOutcome>,
}

/// Creates or updates up to 1,000 members; each is reported separately, and one
/// refused member does not stop the others.
#[utoipa::path(
    post, path = "/members/batch", tag = "members",
    request_body = MemberBatch,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 200, description = "Every member's outcome", body = MemberBatchResult),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upsert_batch(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<MemberBatch>,
) -> Result<axum::Json<MemberBatchResult>, Problem> {
    check_batch_size(body.members.len(), "members")?;
    let mut results = Vec::with_capacity(body.members.len());
    for (index, member) in body.members.into_iter().enumerate() {
        results.push(
            match members::upsert(&state.app.db, &caller.access, member.into()).await {
                Ok((member, created)) => MemberOutcome {
                    index,
                    status: if created { 201 } else { 200 },
                    member: Some(member.into()),
                    problem: None,
                },
                Err(error) => {
                    let problem = Problem::from(error);
                    if problem.status >= 500 {
                        return Err(problem);
                    }
                    MemberOutcome {
                        index,
                        status: problem.status,
                        member: None,
                        problem: Some(problem),
                    }
                }
            },
        );
    }
    Ok(axum::Json(MemberBatchResult { results }))
}

pub fn check_batch_size(len: usize, field: &str) -> Result<(), Problem> {
    if len == 0 || len > BATCH_MAX {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_batch_size",
            format!("a batch has 1 to {BATCH_MAX} items; this one has {len}"),
        )
        .with_field(field));
    }
    Ok(())
}

/// A member by external id.
#[utoipa::path(
    get, path = "/members/{external_id}", tag = "members",
    params(ExternalId),
    responses(
        (status = 200, description = "The member", body = MemberView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<ExternalId>,
) -> Result<axum::Json<MemberView>, Problem> {
    let member = members::find(&state.app.db, &caller.access, &path.external_id).await?;
    Ok(axum::Json(member.into()))
}

/// Where a permission or quota comes from: the member's level or a tag they hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceView {
    /// `level` or `tag`.
    pub kind: String,
    pub code: String,
    pub name_en: String,
    pub name_zh: String,
    /// For a tag: `active`, `grace`, … (null for the level).
    pub state: Option<String>,
    /// For a tag: when it stops conferring privileges, if ever.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionView {
    pub key: String,
    pub sources: Vec<SourceView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaPartView {
    pub source: SourceView,
    pub floor: i64,
    pub boost: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaView {
    pub key: String,
    /// The largest floor plus the sum of the boosts.
    pub value: i64,
    pub parts: Vec<QuotaPartView>,
}

impl From<domain::tags::permissions::Quota> for QuotaView {
    fn from(q: domain::tags::permissions::Quota) -> Self {
        QuotaView {
            key: q.key,
            value: q.value,
            parts: q
                .parts
                .into_iter()
                .map(|part| QuotaPartView {
                    source: source(part.source),
                    floor: part.floor,
                    boost: part.boost,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagView {
    pub code: String,
    pub name_en: String,
    pub name_zh: String,
    /// `scheduled`, `active`, `grace`, `expired` or `revoked`.
    pub state: String,
    pub starts_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub auto_renew: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseView {
    pub key: String,
    pub plan: String,
    /// `active`, `expired`, `suspended`, `revoked`, …
    pub state: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub activations: i32,
    pub max_activations: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    pub member: MemberView,
    pub permissions: Vec<PermissionView>,
    pub quotas: Vec<QuotaView>,
    pub tags: Vec<TagView>,
    pub licenses: Vec<LicenseView>,
    /// Licenses held against the `max_licenses` quota.
    pub licenses_held: i64,
}

/// An enum's wire name (its serde name).
fn wire<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub fn source(s: domain::tags::permissions::Source) -> SourceView {
    SourceView {
        kind: wire(&s.kind),
        code: s.code,
        name_en: s.name_en,
        name_zh: s.name_zh,
        state: s.state.map(|state| wire(&state)),
        until: s.until,
    }
}

/// A member's points, level, permissions and quotas with their sources, tags and
/// licenses.
#[utoipa::path(
    get, path = "/members/{external_id}/summary", tag = "members",
    params(ExternalId),
    responses(
        (status = 200, description = "The summary", body = SummaryView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn summary(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<ExternalId>,
) -> Result<axum::Json<SummaryView>, Problem> {
    let summary = members::summary(
        &state.app.db,
        &caller.access,
        state.app.clock.now(),
        &path.external_id,
    )
    .await?;
    Ok(axum::Json(SummaryView {
        member: summary.member.into(),
        permissions: summary
            .effective
            .permissions
            .into_iter()
            .map(|p| PermissionView {
                key: p.key,
                sources: p.sources.into_iter().map(source).collect(),
            })
            .collect(),
        quotas: summary
            .effective
            .quotas
            .into_iter()
            .map(QuotaView::from)
            .collect(),
        tags: summary
            .grants
            .into_iter()
            .map(|g| TagView {
                code: g.tag_code,
                name_en: g.tag_name_en,
                name_zh: g.tag_name_zh,
                state: wire(&g.state),
                starts_at: g.starts_at,
                expires_at: g.expires_at,
                auto_renew: g.auto_renew,
            })
            .collect(),
        licenses: summary
            .licenses
            .into_iter()
            .map(|l| LicenseView {
                state: wire(&l.state),
                key: l.license_key,
                plan: l.plan_code,
                expires_at: l.expires_at,
                activations: l.activations,
                max_activations: l.max_activations,
            })
            .collect(),
        licenses_held: summary.licenses_held,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    /// Entries older than this cursor (a page's `next_cursor`).
    pub cursor: Option<i64>,
    /// 1 to 100 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    /// The entry's position in the member's ledger (1, 2, 3, …).
    pub seq: i64,
    /// `earn`, `spend`, `adjust`, `reverse`, `expire`, …
    pub kind: String,
    pub category: String,
    pub subcategory: Option<String>,
    /// Signed change of available points.
    pub points: i64,
    pub available_after: i64,
    pub total_after: i64,
    pub reason: Option<String>,
    pub source_type: Option<String>,
    pub source_ref: Option<String>,
    /// The API key that caused it (its id), if one did.
    pub client_id: Option<String>,
    pub reverses_seq: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<domain::points::ledger::Entry> for EntryView {
    fn from(e: domain::points::ledger::Entry) -> Self {
        EntryView {
            seq: e.seq,
            kind: e.kind.as_str().to_owned(),
            category: e.category,
            subcategory: e.subcategory,
            points: e.points,
            available_after: e.available_after,
            total_after: e.total_after,
            reason: e.reason,
            source_type: e.source_type,
            source_ref: e.source_ref,
            client_id: e.client_id,
            reverses_seq: e.reverses_seq,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPage {
    /// Newest first.
    pub entries: Vec<EntryView>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<i64>,
}

/// A member's ledger, newest first, by cursor.
#[utoipa::path(
    get, path = "/members/{external_id}/ledger", tag = "members",
    params(ExternalId, LedgerQuery),
    responses(
        (status = 200, description = "A page of entries", body = LedgerPage),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ledger(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<ExternalId>,
    ApiQuery(query): ApiQuery<LedgerQuery>,
) -> Result<axum::Json<LedgerPage>, Problem> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=domain::points::ledger::PAGE_SIZE_MAX).contains(&limit) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_large",
            format!("`limit` is 1 to {}", domain::points::ledger::PAGE_SIZE_MAX),
        )
        .with_field("limit"));
    }
    let db = &state.app.db;
    let member_id = members::id_of(db, &caller.access, &path.external_id).await?;
    let page =
        domain::points::ledger::entries(db, &caller.access, member_id, query.cursor, limit).await?;
    Ok(axum::Json(LedgerPage {
        entries: page.entries.into_iter().map(EntryView::from).collect(),
        next_cursor: page.next_before,
    }))
}
