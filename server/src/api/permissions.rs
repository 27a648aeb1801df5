//! Permission and quota checks, answered through the rollout's routed entry point
//! ([`domain::rollout::decide`]): the legacy or the new model per member, as the
//! tenant's migration and rollout say, shadow-compared when the rollout asks for it.
//! These are the decisions the gray rollout moves.

use axum::Extension;
use axum::extract::State;
use domain::api::keys::Caller;
use domain::rollout::decide::{RoutedEffective, decide_keys, effective as routed_effective};
use domain::rollout::{Answer, Question, decide};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::members::{ExternalId, PermissionView, QuotaPartView, QuotaView, SourceView, source};
use super::problem::{ApiPath, ApiQuery, Problem};

/// The most keys one check asks about.
pub const KEYS_MAX: usize = 100;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(check))
        .routes(routes!(quota))
        .routes(routes!(effective))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckQuery {
    /// One permission key, or several separated by commas (at most 100).
    pub keys: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyAnswer {
    pub key: String,
    pub allowed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    /// The member's external id.
    pub member: String,
    /// The model that answered: `legacy` or `new`.
    pub model: String,
    /// True when every key asked is allowed.
    pub allowed: bool,
    pub keys: Vec<KeyAnswer>,
}

async fn ask(
    state: &ApiState,
    caller: &Caller,
    external_id: &str,
    question: &Question,
) -> Result<domain::rollout::Routed, Problem> {
    let app = &state.app;
    Ok(decide(
        &app.db,
        &app.permissions,
        &app.shadow,
        &caller.access,
        external_id,
        question,
    )
    .await?)
}

/// Whether the member has one or more permissions (`?keys=a,b`).
#[utoipa::path(
    get, path = "/members/{external_id}/permissions", tag = "permissions",
    params(ExternalId, CheckQuery),
    responses(
        (status = 200, description = "The answer per key", body = CheckView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn check(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<ExternalId>,
    ApiQuery(query): ApiQuery<CheckQuery>,
) -> Result<axum::Json<CheckView>, Problem> {
    let keys: Vec<&str> = query.keys.split(',').map(str::trim).collect();
    if keys.len() > KEYS_MAX || keys.iter().any(|k| k.is_empty()) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_format",
            format!("`keys` is 1 to {KEYS_MAX} permission keys separated by commas"),
        )
        .with_field("keys"));
    }
    let keys: Vec<String> = keys.into_iter().map(str::to_owned).collect();
    let app = &state.app;
    let routed = decide_keys(
        &app.db,
        &app.permissions,
        &app.shadow,
        &caller.access,
        &path.external_id,
        &keys,
    )
    .await?;
    let model = routed.first().map(|r| r.model);
    let answers: Vec<KeyAnswer> = keys
        .into_iter()
        .zip(routed)
        .filter_map(|(key, routed)| match routed.answer {
            Answer::Permission { allowed } => Some(KeyAnswer { key, allowed }),
            _ => None,
        })
        .collect();
    Ok(axum::Json(CheckView {
        member: path.external_id,
        model: model.map_or("new", |m| m.as_str()).to_owned(),
        allowed: answers.iter().all(|a| a.allowed),
        keys: answers,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaAnswer {
    /// The member's external id.
    pub member: String,
    /// The model that answered: `legacy` or `new`.
    pub model: String,
    /// How many licenses the member may hold.
    pub max_licenses: i64,
}

/// The member's license quota (`max_licenses`).
#[utoipa::path(
    get, path = "/members/{external_id}/quota", tag = "permissions",
    params(ExternalId),
    responses(
        (status = 200, description = "The quota", body = QuotaAnswer),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn quota(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<ExternalId>,
) -> Result<axum::Json<QuotaAnswer>, Problem> {
    let routed = ask(&state, &caller, &path.external_id, &Question::Quota).await?;
    let Answer::Quota { max_licenses } = routed.answer else {
        return Err(super::problem::internal());
    };
    Ok(axum::Json(QuotaAnswer {
        member: path.external_id,
        model: routed.model.as_str().to_owned(),
        max_licenses,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EffectiveView {
    /// The member's external id.
    pub member: String,
    /// The model that answers the member's permission checks now: `legacy` or `new`.
    pub model: String,
    /// With the legacy model: the member's user type (every permission and the quota
    /// come from it).
    pub user_type: Option<i32>,
    /// Sorted by key.
    pub permissions: Vec<PermissionView>,
    pub quotas: Vec<QuotaView>,
}

/// The member's effective permissions and quotas with their sources, from the model
/// that answers their permission checks now (the rollout's routing): the level and the
/// tags in the new model, the user type in the legacy one.
#[utoipa::path(
    get, path = "/members/{external_id}/permissions/effective", tag = "permissions",
    params(ExternalId),
    responses(
        (status = 200, description = "Permissions and quotas with their sources", body = EffectiveView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn effective(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<ExternalId>,
) -> Result<axum::Json<EffectiveView>, Problem> {
    let answer = routed_effective(
        &state.app.db,
        &caller.access,
        state.app.clock.now(),
        &path.external_id,
    )
    .await?;
    Ok(axum::Json(match answer {
        RoutedEffective::Legacy(legacy) => {
            let from_type = || SourceView {
                kind: "user_type".into(),
                code: legacy.user_type.to_string(),
                name_en: format!("User type {}", legacy.user_type),
                name_zh: format!("用户类型 {}", legacy.user_type),
                state: None,
                until: None,
            };
            let mut keys = legacy.permissions.clone();
            keys.sort();
            keys.dedup();
            EffectiveView {
                member: path.external_id,
                model: "legacy".into(),
                user_type: Some(legacy.user_type),
                permissions: keys
                    .into_iter()
                    .map(|key| PermissionView {
                        key,
                        sources: vec![from_type()],
                    })
                    .collect(),
                quotas: vec![QuotaView {
                    key: domain::tags::permissions::MAX_LICENSES.into(),
                    value: legacy.max_licenses,
                    parts: vec![QuotaPartView {
                        source: from_type(),
                        floor: legacy.max_licenses,
                        boost: 0,
                    }],
                }],
            }
        }
        RoutedEffective::New(effective) => EffectiveView {
            member: path.external_id,
            model: "new".into(),
            user_type: None,
            permissions: effective
                .permissions
                .into_iter()
                .map(|p| PermissionView {
                    key: p.key,
                    sources: p.sources.into_iter().map(source).collect(),
                })
                .collect(),
            quotas: effective.quotas.into_iter().map(QuotaView::from).collect(),
        },
    }))
}
