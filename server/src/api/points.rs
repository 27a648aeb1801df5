//! `/points`: earn, spend, adjust (reason required; above the tenant's threshold it
//! waits for a second tenant admin), reverse, and a batch of up to 1,000 changes.
//! Members are named by external id. A change sent with an `Idempotency-Key` also
//! carries a key derived from it into the ledger, so it is posted once even if a retry
//! takes over a claim whose process died.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::api::keys::Caller;
use domain::points::batch::{BatchItem, post_batch};
use domain::points::ledger::{self, Adjusted, Change, EntryKind, Posted};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::members::{EntryView, check_batch_size};
use super::problem::{ApiJson, Problem};
use super::{ApiState, IDEMPOTENCY_HEADER};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(earn))
        .routes(routes!(spend))
        .routes(routes!(adjust))
        .routes(routes!(reverse))
        .routes(routes!(batch))
}

/// A change of a member's points.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    /// The member's external id.
    pub member: String,
    /// Earn and spend: 1 to 1,000,000,000. Adjust: signed, not 0.
    pub points: i64,
    /// Defaults to the kind (`earn`, `spend`, `manual`).
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub subcategory: Option<String>,
    /// Required for adjustments.
    #[serde(default)]
    pub reason: Option<String>,
    /// What caused the change in the tenant's system (e.g. `order`).
    #[serde(default)]
    pub source_type: Option<String>,
    /// Its id there (e.g. the order number).
    #[serde(default)]
    pub source_ref: Option<String>,
}

/// A change posted to the ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostedView {
    /// The member's external id.
    pub member: String,
    pub entry: EntryView,
    /// The member's level changed with this entry.
    pub level_changed: bool,
}

/// An adjustment: posted, or waiting for a second tenant admin.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustedView {
    /// `posted` or `pending_approval`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posted: Option<PostedView>,
    /// The approval request, when pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_request_id: Option<Uuid>,
}

/// The ledger's idempotency key for a request's change (`index`: its place in a
/// batch), derived from the API key and the request's `Idempotency-Key`.
fn ledger_key(caller: &Caller, headers: &HeaderMap, index: Option<usize>) -> Option<String> {
    let key = headers.get(IDEMPOTENCY_HEADER)?.to_str().ok()?;
    let mut hasher = Sha256::new();
    hasher.update(caller.key.key_id.as_bytes());
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Some(match index {
        Some(index) => format!("api:{hex}:{index}"),
        None => format!("api:{hex}"),
    })
}

async fn change_of(
    state: &ApiState,
    caller: &Caller,
    body: ChangeBody,
    idempotency_key: Option<String>,
) -> Result<Change, Problem> {
    let member_id = domain::members::id_of(&state.app.db, &caller.access, &body.member).await?;
    Ok(Change {
        member_id,
        points: body.points,
        category: body.category.unwrap_or_default(),
        subcategory: body.subcategory,
        reason: body.reason,
        source_type: body.source_type,
        source_ref: body.source_ref,
        idempotency_key,
    })
}

/// An earn or a spend: the ledger statement finds the member by external id itself.
async fn post_for(
    state: &ApiState,
    caller: &Caller,
    headers: &HeaderMap,
    kind: EntryKind,
    body: ChangeBody,
) -> Result<Response, Problem> {
    let member = body.member;
    let change = Change {
        member_id: Uuid::nil(),
        points: body.points,
        category: body.category.unwrap_or_default(),
        subcategory: body.subcategory,
        reason: body.reason,
        source_type: body.source_type,
        source_ref: body.source_ref,
        idempotency_key: ledger_key(caller, headers, None),
    };
    let result = ledger::post_for(&state.app.db, &caller.access, kind, &member, change).await?;
    Ok(created(posted(member, result)))
}

fn posted(member: String, posted: Posted) -> PostedView {
    PostedView {
        member,
        level_changed: posted.level_change.is_some(),
        entry: posted.entry.into(),
    }
}

fn created(view: PostedView) -> Response {
    (StatusCode::CREATED, axum::Json(view)).into_response()
}

/// Adds earned points (raises the lifetime total, and the level with it).
#[utoipa::path(
    post, path = "/points/earn", tag = "points",
    request_body = ChangeBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 201, description = "Posted", body = PostedView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn earn(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<Response, Problem> {
    post_for(&state, &caller, &headers, EntryKind::Earn, body).await
}

/// Spends available points; refused (409 `insufficient_points`) if the member has
/// fewer.
#[utoipa::path(
    post, path = "/points/spend", tag = "points",
    request_body = ChangeBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 201, description = "Posted", body = PostedView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn spend(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<Response, Problem> {
    post_for(&state, &caller, &headers, EntryKind::Spend, body).await
}

/// A correction with a reason. Above the tenant's approval threshold it is filed for a
/// second tenant admin (202, `pending_approval`).
#[utoipa::path(
    post, path = "/points/adjust", tag = "points",
    request_body = ChangeBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 201, description = "Posted", body = AdjustedView),
        (status = 202, description = "Waiting for approval", body = AdjustedView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn adjust(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<Response, Problem> {
    let member = body.member.clone();
    let change = change_of(&state, &caller, body, ledger_key(&caller, &headers, None)).await?;
    Ok(
        match ledger::adjust(&state.app.db, &caller.access, change).await? {
            Adjusted::Posted(result) => (
                StatusCode::CREATED,
                axum::Json(AdjustedView {
                    status: "posted".into(),
                    posted: Some(posted(member, result)),
                    approval_request_id: None,
                }),
            )
                .into_response(),
            Adjusted::PendingApproval(request) => (
                StatusCode::ACCEPTED,
                axum::Json(AdjustedView {
                    status: "pending_approval".into(),
                    posted: None,
                    approval_request_id: Some(request.request_id),
                }),
            )
                .into_response(),
        },
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReverseBody {
    /// The member's external id.
    pub member: String,
    /// The entry to reverse (its `seq`).
    pub seq: i64,
    pub reason: String,
}

/// Reverses an entry with a new entry of the opposite amount (the ledger is
/// append-only); an entry is reversed at most once.
#[utoipa::path(
    post, path = "/points/reverse", tag = "points",
    request_body = ReverseBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 201, description = "Posted", body = PostedView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reverse(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReverseBody>,
) -> Result<Response, Problem> {
    let db = &state.app.db;
    let member_id = domain::members::id_of(db, &caller.access, &body.member).await?;
    let result = ledger::reverse(
        db,
        &caller.access,
        member_id,
        body.seq,
        &body.reason,
        ledger_key(&caller, &headers, None),
    )
    .await?;
    Ok(created(posted(body.member, result)))
}

/// One change of a batch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchChange {
    /// `earn`, `spend` or `adjust`.
    pub kind: BatchKind,
    #[serde(flatten)]
    pub change: ChangeBody,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchKind {
    Earn,
    Spend,
    Adjust,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// 1 to 1,000 changes, applied in order.
    pub changes: Vec<BatchChange>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOutcome {
    /// The change's position in the request (from 0).
    pub index: usize,
    /// 201 posted, 202 waiting for approval, else the refusal's status.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<EntryView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_request_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResult {
    pub posted: usize,
    pub refused: usize,
    pub results: Vec<BatchOutcome>,
}

/// Up to 1,000 points changes in one request. Each is reported separately; one refused
/// change does not stop the others.
#[utoipa::path(
    post, path = "/points/batch", tag = "points",
    request_body = BatchBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 200, description = "Every change's outcome", body = BatchResult),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn batch(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BatchBody>,
) -> Result<axum::Json<BatchResult>, Problem> {
    check_batch_size(body.changes.len(), "changes")?;
    let items: Vec<BatchItem> = body
        .changes
        .into_iter()
        .enumerate()
        .map(|(index, item)| BatchItem {
            kind: match item.kind {
                BatchKind::Earn => EntryKind::Earn,
                BatchKind::Spend => EntryKind::Spend,
                BatchKind::Adjust => EntryKind::Adjust,
            },
            member: item.change.member,
            change: Change {
                member_id: Uuid::nil(),
                points: item.change.points,
                category: item.change.category.unwrap_or_default(),
                subcategory: item.change.subcategory,
                reason: item.change.reason,
                source_type: item.change.source_type,
                source_ref: item.change.source_ref,
                idempotency_key: ledger_key(&caller, &headers, Some(index)),
            },
        })
        .collect();
    let outcomes = post_batch(&state.app.db, &caller.access, items).await?;
    let mut results = Vec::with_capacity(outcomes.len());
    for (index, outcome) in outcomes.into_iter().enumerate() {
        results.push(match outcome.map_err(Problem::from) {
            Ok(Adjusted::Posted(result)) => BatchOutcome {
                index,
                status: 201,
                entry: Some(result.entry.into()),
                approval_request_id: None,
                problem: None,
            },
            Ok(Adjusted::PendingApproval(request)) => BatchOutcome {
                index,
                status: 202,
                entry: None,
                approval_request_id: Some(request.request_id),
                problem: None,
            },
            Err(problem) if problem.status >= 500 => return Err(problem),
            Err(problem) => BatchOutcome {
                index,
                status: problem.status,
                entry: None,
                approval_request_id: None,
                problem: Some(problem),
            },
        });
    }
    let posted = results.iter().filter(|r| r.status < 300).count();
    Ok(axum::Json(BatchResult {
        posted,
        refused: results.len() - posted,
        results,
    }))
}
