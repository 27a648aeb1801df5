//! The one error type of every server function, and (on the server) the one place
//! where domain errors become HTTP statuses and user-facing errors.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::i18n::Texts;
use model::points::levels::TierProblem;
use model::{Conflict, Problem};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("not signed in")]
    Unauthenticated,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("account disabled")]
    AccountDisabled,
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: i64 },
    #[error("forbidden")]
    Forbidden,
    #[error("{entity} not found")]
    NotFound { entity: String },
    #[error("invalid {field}")]
    Invalid { field: String, problem: Problem },
    #[error("conflict")]
    Conflict(Conflict),
    #[error("insufficient points")]
    InsufficientPoints { available: i64, requested: i64 },
    #[error("invalid tiers")]
    Tiers(TierProblem),
    /// Details are in the server log under this request id, never in the response.
    #[error("internal error")]
    Internal { request_id: Option<String> },
    /// A request the server could not read: an argument that does not decode (a bad
    /// UUID, `12.5` for an integer, an unknown choice, a missing field, a wrong JSON
    /// shape), a forbidden character or an oversize body. Answered with 400 or 413.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Transport problems (network, (de)serialisation) reported by the server-fn layer.
    #[error("request failed: {0}")]
    Request(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// The one place where arguments that do not decode become a 400 (not a 500): the
    /// server-fn layer reports them as `Args` / `MissingArg` (and, on the server,
    /// `Deserialization`). Everything else is a transport problem.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(detail)
            | ServerFnErrorErr::MissingArg(detail)
            // In the browser: a form value that does not fit its type (a number too
            // large for an integer) cannot even be sent.
            | ServerFnErrorErr::Serialization(detail) => bad_request(detail),
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(detail) => bad_request(detail),
            other => AppError::Request(other.to_string()),
        }
    }
}

/// A 400 for a request whose arguments do not decode (the status is set on the server).
fn bad_request(detail: String) -> AppError {
    // serde's messages name the field or the value ("missing field `reason`", "unknown
    // variant `root`"); keep them short and free of control characters.
    let detail: String = detail
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    let error = AppError::BadRequest(detail);
    #[cfg(feature = "ssr")]
    from_domain::respond_with(http::StatusCode::BAD_REQUEST, &error);
    error
}

impl AppError {
    /// The message shown to the user, in the current language.
    pub fn message(&self, t: &Texts) -> String {
        match self {
            AppError::Unauthenticated => t.error_unauthenticated.into(),
            AppError::InvalidCredentials => t.error_invalid_credentials.into(),
            AppError::AccountDisabled => t.error_account_disabled.into(),
            AppError::TooManyAttempts { retry_after_secs } => {
                let minutes = (retry_after_secs + 59) / 60;
                format!(
                    "{} {minutes} {}{}",
                    t.error_too_many_attempts, t.minutes, t.period
                )
            }
            AppError::Forbidden => t.error_forbidden.into(),
            AppError::NotFound { entity } => {
                let entity = entity_label(entity, t).unwrap_or(entity);
                format!("{} {entity}", t.error_not_found)
            }
            AppError::Invalid { field, problem } => {
                let problem = match problem {
                    Problem::Required => t.problem_required.to_string(),
                    Problem::TooShort { min } => format!("{} {min}", t.problem_too_short),
                    Problem::TooLong { max } => format!("{} {max}", t.problem_too_long),
                    Problem::TooLarge { max } => format!("{} {max}", t.problem_too_large),
                    Problem::Format => t.problem_format.to_string(),
                    Problem::NotPublic => t.problem_not_public.to_string(),
                    Problem::NotUtf8 { line } => format!("{} {line}", t.problem_not_utf8),
                };
                let label = field_label(field, t)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("“{field}”"));
                format!("{label}{}{problem}{}", t.colon, t.period)
            }
            AppError::Conflict(conflict) => match conflict {
                Conflict::TenantSlugTaken => t.conflict_tenant_slug_taken.into(),
                Conflict::AlreadyMember => t.conflict_already_member.into(),
                Conflict::EmailTaken => t.conflict_email_taken.into(),
                Conflict::LastTenantAdmin => t.conflict_last_tenant_admin.into(),
                Conflict::OwnAccount => t.conflict_own_account.into(),
                Conflict::MemberExternalIdTaken => t.conflict_external_id_taken.into(),
                Conflict::IdempotencyKeyReused => t.conflict_idempotency_key.into(),
                Conflict::AlreadyReversed => t.conflict_already_reversed.into(),
                Conflict::StaleVersion => t.conflict_stale_version.into(),
                Conflict::AlreadyDecided => t.conflict_already_decided.into(),
                Conflict::OwnRequest => t.conflict_own_request.into(),
                Conflict::TagCodeTaken => t.conflict_tag_code_taken.into(),
                Conflict::TagAlreadyHeld => t.conflict_tag_already_held.into(),
                Conflict::TagInactive => t.conflict_tag_inactive.into(),
                Conflict::GrantEnded => t.conflict_grant_ended.into(),
                Conflict::LicensePlanCodeTaken => t.conflict_license_plan_code_taken.into(),
                Conflict::LicensePlanInactive => t.conflict_license_plan_inactive.into(),
                Conflict::LicenseHeld => t.conflict_license_held.into(),
                Conflict::NoFreeLicense => t.conflict_no_free_license.into(),
                Conflict::LicenseRevoked => t.conflict_license_revoked.into(),
                Conflict::SameHolder => t.conflict_same_holder.into(),
                Conflict::ActivationEnded => t.conflict_activation_ended.into(),
                Conflict::LicenseQuotaReached { held, quota } => format!(
                    "{} ({} {held}{}{} {quota}){}",
                    t.conflict_license_quota_reached,
                    t.held_label,
                    t.comma,
                    t.quota_label,
                    t.period
                ),
                Conflict::MigrationRunActive => t.conflict_migration_run_active.into(),
                Conflict::MigrationRunEnded => t.conflict_migration_run_ended.into(),
                Conflict::RolloutActive => t.conflict_rollout_active.into(),
                Conflict::RolloutEnded => t.conflict_rollout_ended.into(),
                Conflict::ApiKeyEnded => t.conflict_api_key_ended.into(),
                Conflict::RolloutBlocked(blockers) => format!(
                    "{} {}{}",
                    t.conflict_rollout_blocked,
                    blockers
                        .iter()
                        .map(|b| blocker_text(b, t))
                        .collect::<Vec<_>>()
                        .join("; "),
                    t.period
                ),
                Conflict::NotOverQuota { held, quota } => format!(
                    "{} ({} {held}{}{} {quota}){}",
                    t.conflict_not_over_quota, t.held_label, t.comma, t.quota_label, t.period
                ),
                Conflict::LicenseUnusable(code) => {
                    format!(
                        "{} {}{}",
                        t.conflict_license_unusable,
                        license_code(*code, t),
                        t.period
                    )
                }
            },
            AppError::InsufficientPoints {
                available,
                requested,
            } => {
                format!(
                    "{} {available}{}{} {requested}{}",
                    t.error_insufficient_available,
                    t.comma,
                    t.error_insufficient_requested,
                    t.period
                )
            }
            AppError::Tiers(problem) => tier_message(problem, t),
            AppError::Internal { request_id } => {
                format!(
                    "{} {}",
                    t.error_internal,
                    request_id.as_deref().unwrap_or("-")
                )
            }
            AppError::BadRequest(detail) => format!("{} {detail}", t.error_bad_request),
            AppError::Request(detail) => format!("{} {detail}", t.error_request),
        }
    }
}

/// A form field's label in the UI language, for the fields forms send (the field code
/// itself, quoted, for any other).
fn field_label(field: &str, t: &Texts) -> Option<&'static str> {
    Some(match field {
        "points" => t.points_label,
        "reason" => t.reason,
        "email" => t.email,
        "password" => t.access.password,
        "display_name" => t.display_name,
        "name" => t.name,
        "slug" => t.access.slug,
        "external_id" => t.external_id,
        "code" => t.code,
        "name_zh" => t.name_zh,
        "name_en" => t.name_en,
        "category" => t.category,
        "max_licenses" => t.max_licenses,
        "max_licenses_boost" => t.tags.max_licenses_boost,
        "default_term_days" => t.tags.term_days,
        "grace_days" => t.tags.grace_days,
        "term_days" => t.tags.term_days,
        "expires_at" => t.tags.expires_on,
        "permissions" => t.points.permissions,
        "min_points" => t.points.min_points,
        "max_points" => t.points.max_points,
        "sort_order" => t.points.order,
        "adjustment_approval_threshold" | "threshold" => t.points.threshold,
        "webhook_url" | "url" => t.webhooks.webhook_url,
        "reminder_days" => t.webhooks.reminder_days,
        "count" => t.count_label,
        "max_activations" | "default_max_activations" => t.max_activations_label,
        "default_validity_days" => t.validity_days_label,
        "fingerprint" => t.fingerprint_label,
        "device_name" => t.device_name_label,
        "license_key" | "key_prefix" | "after" => t.license_key_label,
        "expires_on" => t.licenses.expires_on,
        "plan_id" => t.license_plan_label,
        "state" => t.licenses.state,
        "to_external_id" => t.licenses.to_external_id,
        "days" => t.tags.within_days,
        _ => return None,
    })
}

/// A license validation code in the UI language.
/// A decision's name in the reader's language.
pub fn decision_name(decision: model::rollout::plan::DecisionKind, t: &Texts) -> &'static str {
    use model::rollout::plan::DecisionKind;
    match decision {
        DecisionKind::Permission => t.decision_permission,
        DecisionKind::Quota => t.decision_quota,
        DecisionKind::Summary => t.decision_summary,
    }
}

/// What stops a rollout's next stage, in the reader's language.
pub fn blocker_text(blocker: &model::rollout::score::Blocker, t: &Texts) -> String {
    use model::rollout::score::Blocker;
    match blocker {
        Blocker::NotRunning { reason } => match reason {
            Some(reason) => format!("{} ({reason})", t.blocker_paused),
            None => t.blocker_paused.into(),
        },
        Blocker::LastStage => t.blocker_last_stage.into(),
        Blocker::Hold { until } => {
            format!("{} {} UTC", t.blocker_hold, until.format("%Y-%m-%d %H:%M"))
        }
        Blocker::RunActive => t.blocker_run_active.into(),
        Blocker::Sample {
            decision,
            have,
            need,
        } => format!(
            "{}: {have} {} {need}",
            decision_name(*decision, t),
            t.blocker_sample
        ),
        Blocker::Score {
            decision,
            score_cp,
            gate_cp,
        } => format!(
            "{}: {:.2} % {} {:.2} %",
            decision_name(*decision, t),
            *score_cp as f64 / 100.0,
            t.blocker_score,
            *gate_cp as f64 / 100.0
        ),
        Blocker::Approver { name } => {
            format!("{} {}", t.blocker_approver, name.as_deref().unwrap_or("—"))
        }
    }
}

pub fn license_code(code: model::licenses::Code, t: &Texts) -> &'static str {
    use model::licenses::Code;
    match code {
        Code::Valid => t.license_code_valid,
        Code::NotFound => t.license_code_not_found,
        Code::Expired => t.license_code_expired,
        Code::Suspended => t.license_code_suspended,
        Code::Revoked => t.license_code_revoked,
        Code::NotAssigned => t.license_code_not_assigned,
        Code::TooManyActivations => t.license_code_too_many_activations,
        Code::FingerprintNotActivated => t.license_code_fingerprint_not_activated,
    }
}

/// The kind of thing that was not found, in the UI language.
fn entity_label<'a>(entity: &str, t: &'a Texts) -> Option<&'a str> {
    Some(match entity {
        "member" => t.member_title,
        "tag" => t.tags.tag,
        "license" => t.license_label,
        "license_plan" => t.license_plan_label,
        "activation" => t.activation_label,
        _ => return None,
    })
}

fn tier_message(problem: &TierProblem, t: &Texts) -> String {
    match problem {
        TierProblem::DuplicateCode { code } => format!("{} “{code}”.", t.tier_duplicate_code),
        TierProblem::DuplicateOrder { first, second } => {
            format!("{} “{first}”, “{second}”.", t.tier_duplicate_order)
        }
        TierProblem::Overlap { first, second } => {
            format!("{} “{first}”, “{second}”.", t.tier_overlap)
        }
        TierProblem::Gap { after, from, to } => format!("{} “{after}”: {from}–{to}.", t.tier_gap),
        TierProblem::DoesNotStartAtZero { first, min_points } => {
            format!("{} “{first}” ({min_points}).", t.tier_not_from_zero)
        }
        TierProblem::OpenEndedNotLast { code } => format!("{} “{code}”.", t.tier_open_not_last),
        TierProblem::NoOpenEndedTier => t.tier_no_open_end.into(),
        TierProblem::MissingTier { code } => format!("{} “{code}”.", t.tier_missing),
    }
}

#[cfg(feature = "ssr")]
pub mod from_domain {
    use super::*;
    use http::{HeaderValue, StatusCode, header};
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;

    /// The single mapping of domain errors for server functions: logs server faults
    /// once with the request id, picks the HTTP status, and for plain HTML form posts
    /// (no JavaScript) sends the browser back to the form with the error in the URL.
    impl From<domain::Error> for AppError {
        fn from(error: domain::Error) -> Self {
            let request_id = crate::context::request_id();
            let (status, app_error) = match error {
                domain::Error::Unauthenticated => {
                    (StatusCode::UNAUTHORIZED, AppError::Unauthenticated)
                }
                domain::Error::InvalidCredentials => {
                    (StatusCode::UNAUTHORIZED, AppError::InvalidCredentials)
                }
                domain::Error::AccountDisabled => {
                    (StatusCode::FORBIDDEN, AppError::AccountDisabled)
                }
                domain::Error::TooManyAttempts { retry_after_secs } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    AppError::TooManyAttempts { retry_after_secs },
                ),
                domain::Error::Forbidden => (StatusCode::FORBIDDEN, AppError::Forbidden),
                domain::Error::NotFound { entity } => (
                    StatusCode::NOT_FOUND,
                    AppError::NotFound {
                        entity: entity.into(),
                    },
                ),
                domain::Error::Invalid { field, problem } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    AppError::Invalid {
                        field: field.into(),
                        problem,
                    },
                ),
                domain::Error::Conflict(conflict) => {
                    (StatusCode::CONFLICT, AppError::Conflict(conflict))
                }
                domain::Error::InsufficientPoints {
                    available,
                    requested,
                } => (
                    StatusCode::CONFLICT,
                    AppError::InsufficientPoints {
                        available,
                        requested,
                    },
                ),
                domain::Error::Tiers(problem) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, AppError::Tiers(problem))
                }
                domain::Error::Database(_) | domain::Error::Internal(_) => {
                    tracing::error!(error = ?error, request_id = request_id.as_deref(), "server function failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        AppError::Internal { request_id },
                    )
                }
            };
            respond_with(status, &app_error);
            app_error
        }
    }

    /// Sets the status, or for a plain form post a redirect back to the form that
    /// carries the error (`?error=<json>`) so the page can show it without JavaScript.
    pub(super) fn respond_with(status: StatusCode, error: &AppError) {
        let Some(response) = use_context::<ResponseOptions>() else {
            return;
        };
        let back_to_form = crate::context::plain_form_referer().and_then(|referer| {
            // Back to the form with its other parameters (`next` on the sign-in page,
            // a search), an earlier error replaced by this one.
            let back = without_error_param(&referer);
            let json = serde_json::to_string(error).ok()?;
            let separator = if back.contains('?') { '&' } else { '?' };
            HeaderValue::from_str(&format!("{back}{separator}error={}", percent_encode(&json))).ok()
        });
        match back_to_form {
            Some(location) => {
                response.insert_header(header::LOCATION, location);
                response.insert_header(
                    header::HeaderName::from_static(ERROR_REDIRECT_HEADER),
                    HeaderValue::from_static("1"),
                );
            }
            None => response.set_status(status),
        }
    }

    /// Marks the redirect of a plain form post that failed (the request guard leaves its
    /// `?error=` in place; after a success it removes a stale one).
    pub const ERROR_REDIRECT_HEADER: &str = "x-tierdesk-form-error";

    /// Names the outcome of a successful plain form post when it is not simply "the
    /// function named by the endpoint succeeded" (e.g. an adjustment filed for
    /// approval); the request guard turns it into `?done=<code>` on the way back.
    pub const DONE_HEADER: &str = "x-tierdesk-done";

    /// Sets the outcome code of this server function's answer (see [`DONE_HEADER`]).
    pub fn outcome(code: &'static str) {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.insert_header(
                header::HeaderName::from_static(DONE_HEADER),
                HeaderValue::from_static(code),
            );
        }
    }

    /// The path and query of `url` (absolute or not) without any `error` or `done`
    /// parameter (the outcome of an earlier post).
    pub fn without_error_param(url: &str) -> String {
        let path_and_query = match url.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
            None => url,
        };
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                !pair.is_empty() && !pair.starts_with("error=") && !pair.starts_with("done=")
            })
            .collect();
        let back = if kept.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", kept.join("&"))
        };
        // Never another site (`//evil.test`, `/\evil.test`).
        crate::access::sign_in::safe_next_path(Some(&back))
    }

    fn percent_encode(value: &str) -> String {
        let mut encoded = String::with_capacity(value.len() * 3);
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                encoded.push(byte as char);
            } else {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
        encoded
    }
}
