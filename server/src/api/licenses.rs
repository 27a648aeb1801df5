//! Licenses by key: validate (key and device fingerprint → valid or a stable reason
//! code), activate and deactivate a device, assign (from a plan or by key) and
//! unassign, and a member's licenses.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::api::keys::Caller;
use domain::licenses::devices::{self, ActivateInput, ValidateInput};
use domain::licenses::seats::{self, AssignInput};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ApiState;
use super::members::{ExternalId, LicenseView};
use super::problem::{ApiJson, ApiPath, ApiQuery, Problem};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(validate))
        .routes(routes!(activate))
        .routes(routes!(deactivate))
        .routes(routes!(assign))
        .routes(routes!(member_licenses))
        .routes(routes!(unassign))
        .routes(routes!(transfer))
        .routes(routes!(report))
        .routes(routes!(export_licenses))
        .routes(routes!(export_assignments))
}

/// An enum's wire name (its serde name).
fn wire<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateBody {
    /// As the customer has it: any case, with or without dashes.
    pub license_key: String,
    /// The device asking; without it only the license itself is checked.
    #[serde(default)]
    pub fingerprint: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationView {
    pub valid: bool,
    /// `valid`, `not_found`, `expired`, `suspended`, `revoked`, `not_assigned`,
    /// `too_many_activations` or `fingerprint_not_activated`.
    pub code: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub activations: Option<i32>,
    pub max_activations: Option<i32>,
    pub checked_at: DateTime<Utc>,
}

/// Whether a license key is valid now (for one device when a fingerprint is given):
/// always 200, with a stable reason code; records the license's last validation.
#[utoipa::path(
    post, path = "/licenses/validate", tag = "licenses",
    request_body = ValidateBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses(
        (status = 200, description = "The answer", body = ValidationView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn validate(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<ValidateBody>,
) -> Result<axum::Json<ValidationView>, Problem> {
    let answer = devices::validate(
        &state.app.db,
        &caller.access,
        state.app.clock.now(),
        &ValidateInput {
            license_key: body.license_key,
            fingerprint: body.fingerprint,
        },
    )
    .await?;
    Ok(axum::Json(ValidationView {
        valid: answer.valid,
        code: wire(&answer.code),
        expires_at: answer.expires_at,
        activations: answer.activations,
        max_activations: answer.max_activations,
        checked_at: answer.checked_at,
    }))
}

/// The license key in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LicenseKey {
    /// The license key (any case, with or without dashes).
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    /// The device's fingerprint (visible text, 1 to 200 characters).
    pub fingerprint: String,
    #[serde(default)]
    pub device_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivatedView {
    pub activation_id: Uuid,
    /// False when the device was active already (the same activation).
    pub created: bool,
    pub activations: i32,
    pub max_activations: i32,
}

/// Activates the held license on a device; the same device again is the same
/// activation; a new device beyond the limit is refused (409).
#[utoipa::path(
    post, path = "/licenses/{key}/activate", tag = "licenses",
    params(LicenseKey, ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    request_body = DeviceBody,
    responses(
        (status = 201, description = "Activated", body = ActivatedView),
        (status = 200, description = "Active already", body = ActivatedView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn activate(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<LicenseKey>,
    ApiJson(body): ApiJson<DeviceBody>,
) -> Result<Response, Problem> {
    let db = &state.app.db;
    let license_id = seats::license_id_of(db, &caller.access, &path.key).await?;
    let activated = devices::activate(
        db,
        &caller.access,
        state.app.clock.now(),
        ActivateInput {
            license_id,
            fingerprint: body.fingerprint,
            device_name: body.device_name,
        },
    )
    .await?;
    let status = if activated.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(ActivatedView {
            activation_id: activated.activation_id,
            created: activated.created,
            activations: activated.activations,
            max_activations: activated.max_activations,
        }),
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerprintBody {
    pub fingerprint: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DoneView {
    pub done: bool,
}

/// Deactivates a device: its slot is free again.
#[utoipa::path(
    post, path = "/licenses/{key}/deactivate", tag = "licenses",
    params(LicenseKey, ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    request_body = FingerprintBody,
    responses(
        (status = 200, description = "Deactivated", body = DoneView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn deactivate(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<LicenseKey>,
    ApiJson(body): ApiJson<FingerprintBody>,
) -> Result<axum::Json<DoneView>, Problem> {
    let db = &state.app.db;
    let license_id = seats::license_id_of(db, &caller.access, &path.key).await?;
    let activation_id =
        devices::activation_of(db, &caller.access, license_id, &body.fingerprint).await?;
    devices::deactivate(db, &caller.access, state.app.clock.now(), activation_id).await?;
    Ok(axum::Json(DoneView { done: true }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// A free license of this plan (by its code) …
    #[serde(default)]
    pub plan: Option<String>,
    /// … or this license (by its key).
    #[serde(default)]
    pub license_key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignedView {
    pub license_key: String,
    /// Licenses the member holds now, and their quota.
    pub held: i64,
    pub quota: i64,
}

/// Gives the member a license within their quota: a free one of a plan, or one by key.
#[utoipa::path(
    post, path = "/members/{external_id}/licenses", tag = "licenses",
    params(ExternalId, ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    request_body = AssignBody,
    responses(
        (status = 201, description = "Assigned", body = AssignedView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<ExternalId>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Response, Problem> {
    let db = &state.app.db;
    let now = state.app.clock.now();
    let member_id = domain::members::id_of(db, &caller.access, &path.external_id).await?;
    let assigned = match (&body.plan, &body.license_key) {
        (Some(plan), None) => {
            let plan_id = seats::plan_id_of(db, &caller.access, plan).await?;
            let input = AssignInput {
                member_id,
                plan_id: Some(plan_id),
                license_id: None,
            };
            seats::assign(db, &caller.access, now, input).await?
        }
        (None, Some(key)) => seats::assign_key(db, &caller.access, now, member_id, key).await?,
        _ => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "required",
                "give either `plan` or `license_key`",
            )
            .with_field("plan"));
        }
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(AssignedView {
            license_key: assigned.license_key,
            held: assigned.held,
            quota: assigned.quota,
        }),
    )
        .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberLicensesView {
    pub licenses: Vec<LicenseView>,
    pub held: i64,
    /// The member's `max_licenses`.
    pub quota: i64,
}

/// The licenses a member holds, with their quota.
#[utoipa::path(
    get, path = "/members/{external_id}/licenses", tag = "licenses",
    params(ExternalId),
    responses(
        (status = 200, description = "The member's licenses", body = MemberLicensesView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn member_licenses(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<ExternalId>,
) -> Result<axum::Json<MemberLicensesView>, Problem> {
    let db = &state.app.db;
    let member_id = domain::members::id_of(db, &caller.access, &path.external_id).await?;
    let held = seats::member_licenses(db, &caller.access, state.app.clock.now(), member_id).await?;
    Ok(axum::Json(MemberLicensesView {
        licenses: held
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
        held: held.held,
        quota: held.quota.value,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnassignBody {
    pub reason: String,
}

/// Takes a license back from its holder: the assignment ends, its devices are
/// deactivated, the member's quota is freed.
#[utoipa::path(
    post, path = "/licenses/{key}/unassign", tag = "licenses",
    params(LicenseKey, ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    request_body = UnassignBody,
    responses(
        (status = 200, description = "Unassigned", body = DoneView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unassign(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<LicenseKey>,
    ApiJson(body): ApiJson<UnassignBody>,
) -> Result<axum::Json<DoneView>, Problem> {
    let db = &state.app.db;
    let license_id = seats::license_id_of(db, &caller.access, &path.key).await?;
    seats::unassign(
        db,
        &caller.access,
        state.app.clock.now(),
        license_id,
        &body.reason,
    )
    .await?;
    Ok(axum::Json(DoneView { done: true }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// The member who gets the license (external id).
    pub to: String,
    pub reason: String,
    /// The holder you expect (external id): refused (409 `stale_version`) if the
    /// license moved meanwhile.
    #[serde(default)]
    pub from: Option<String>,
}

/// Moves a license to another member within their quota: the old assignment ends and
/// its devices are deactivated.
#[utoipa::path(
    post, path = "/licenses/{key}/transfer", tag = "licenses",
    params(LicenseKey, ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    request_body = TransferBody,
    responses(
        (status = 200, description = "Transferred", body = AssignedView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn transfer(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiPath(path): ApiPath<LicenseKey>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Result<axum::Json<AssignedView>, Problem> {
    let db = &state.app.db;
    let license_id = seats::license_id_of(db, &caller.access, &path.key).await?;
    let holder = match &body.from {
        Some(from) => Some(domain::members::id_of(db, &caller.access, from).await?),
        None => None,
    };
    let assigned = seats::transfer_to_external(
        db,
        &caller.access,
        state.app.clock.now(),
        license_id,
        holder,
        &body.to,
        &body.reason,
    )
    .await?;
    Ok(axum::Json(AssignedView {
        license_key: assigned.license_key,
        held: assigned.held,
        quota: assigned.quota,
    }))
}

/// One plan's licenses by state.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanReportView {
    pub plan: String,
    pub name_en: String,
    pub name_zh: String,
    pub issued: i64,
    pub assigned: i64,
    /// Licenses with at least one live device.
    pub activated: i64,
    pub free: i64,
    /// Usable licenses expiring within 30 days.
    pub expiring: i64,
    pub suspended: i64,
    pub expired: i64,
    pub revoked: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub plans: Vec<PlanReportView>,
    /// Members holding more licenses than their quota allows now.
    pub members_over_quota: i64,
    pub at: DateTime<Utc>,
}

/// The licenses report, as the console shows it: per plan issued, assigned, activated,
/// free, expiring, suspended, expired and revoked; members over quota.
#[utoipa::path(
    get, path = "/licenses/report", tag = "licenses",
    responses(
        (status = 200, description = "The report", body = ReportView),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn report(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::Json<ReportView>, Problem> {
    let report =
        domain::licenses::report(&state.app.db, &caller.access, state.app.clock.now()).await?;
    Ok(axum::Json(ReportView {
        plans: report
            .plans
            .into_iter()
            .map(|p| PlanReportView {
                plan: p.code,
                name_en: p.name_en,
                name_zh: p.name_zh,
                issued: p.issued,
                assigned: p.assigned,
                activated: p.activated,
                free: p.free,
                expiring: p.expiring,
                suspended: p.suspended,
                expired: p.expired,
                revoked: p.revoked,
            })
            .collect(),
        members_over_quota: report.over_quota,
        at: report.at,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Only this plan (its code).
    #[serde(default)]
    pub plan: Option<String>,
    /// Only licenses in this state now: `free`, `assigned`, `expired`, `suspended` or
    /// `revoked`.
    #[serde(default)]
    pub state: Option<String>,
}

async fn export_filter(
    state: &ApiState,
    caller: &Caller,
    query: ExportQuery,
) -> Result<domain::licenses::export::ExportFilter, Problem> {
    let plan_id = match query.plan.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(plan) => Some(seats::plan_id_of(&state.app.db, &caller.access, plan).await?),
    };
    let license_state = match query.state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(value) => Some(
            domain::licenses::LicenseState::parse(value)
                .map_err(|invalid| Problem::from(domain::Error::from(invalid)))?,
        ),
    };
    Ok(domain::licenses::export::ExportFilter {
        plan_id,
        state: license_state,
    })
}

/// The licenses as CSV (UTF-8 with a BOM; one row per license), streamed.
#[utoipa::path(
    get, path = "/licenses/export.csv", tag = "licenses",
    params(ExportQuery),
    responses(
        (status = 200, description = "The CSV file", body = String, content_type = "text/csv"),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export_licenses(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, Problem> {
    let filter = export_filter(&state, &caller, query).await?;
    let export = domain::licenses::export::licenses_csv(
        &state.app.db,
        &caller.access,
        state.app.clock.now(),
        filter,
    )?;
    Ok(crate::router::csv_download(export))
}

/// Every assignment, live and ended, as CSV (the filters apply to the license),
/// streamed.
#[utoipa::path(
    get, path = "/licenses/assignments.csv", tag = "licenses",
    params(ExportQuery),
    responses(
        (status = 200, description = "The CSV file", body = String, content_type = "text/csv"),
        (status = "4XX", description = "Refused", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn export_assignments(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, Problem> {
    let filter = export_filter(&state, &caller, query).await?;
    let export = domain::licenses::export::assignments_csv(
        &state.app.db,
        &caller.access,
        state.app.clock.now(),
        filter,
    )?;
    Ok(crate::router::csv_download(export))
}
