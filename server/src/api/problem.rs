//! Errors as `application/problem+json` (RFC 9457), with a stable machine-readable
//! `code` per failure and the `field` it concerns, and the extractors that turn every
//! malformed request (body, path, query, headers) into one. Never an internal detail:
//! a server fault is logged with the request id and answered with `internal`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::response::{IntoResponse, Response};
use domain::{Conflict, Error, Problem as Invalid};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// A refusal or a fault, as every endpoint answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:tierdesk:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: &'static str,
    pub status: u16,
    /// What went wrong with this request, for people.
    pub detail: String,
    /// Stable and machine-readable: switch on this.
    pub code: String,
    /// The request field (body, path or query parameter, or header) it concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:tierdesk:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn unauthenticated() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send a valid API key as `Authorization: Bearer tdk_…`",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(&self)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// `CamelCase` to `snake_case` (a conflict's name is its code).
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn conflict_code(conflict: &Conflict) -> String {
    let debug = format!("{conflict:?}");
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or("conflict");
    snake(name)
}

fn invalid_detail(field: &str, problem: &Invalid) -> (String, String) {
    match problem {
        Invalid::Required => ("required".into(), format!("`{field}` is required")),
        Invalid::TooShort { min } => (
            "too_short".into(),
            format!("`{field}` must be at least {min} characters"),
        ),
        Invalid::TooLong { max } => (
            "too_long".into(),
            format!("`{field}` must be at most {max} characters"),
        ),
        Invalid::TooLarge { max } => (
            "too_large".into(),
            format!("`{field}` must be at most {max} (and at least -{max})"),
        ),
        Invalid::Format => ("invalid_format".into(), format!("`{field}` is not valid")),
        Invalid::NotPublic => (
            "not_public".into(),
            format!("`{field}` must be a public address"),
        ),
        Invalid::NotUtf8 { line } => (
            "not_utf8".into(),
            format!("`{field}` is not UTF-8 text (line {line})"),
        ),
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Unauthenticated | Error::InvalidCredentials | Error::AccountDisabled => {
                Problem::unauthenticated()
            }
            Error::TooManyAttempts { retry_after_secs } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests; try again in {retry_after_secs} s"),
            ),
            Error::Forbidden => Problem::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "this API key's scope does not allow this operation (a read-only key only reads)",
            ),
            Error::NotFound { entity } => {
                let code = format!("{}_not_found", entity.replace(' ', "_"));
                Problem::new(StatusCode::NOT_FOUND, &code, format!("{entity} not found"))
            }
            Error::Invalid { field, problem } => {
                let (code, detail) = invalid_detail(field, &problem);
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, &code, detail).with_field(field)
            }
            Error::Conflict(conflict) => {
                let code = conflict_code(&conflict);
                let detail = match &conflict {
                    Conflict::LicenseQuotaReached { held, quota } => {
                        format!("the member holds {held} licenses of a quota of {quota}")
                    }
                    Conflict::IdempotencyKeyReused => {
                        "this idempotency key was used with a different request".into()
                    }
                    _ => format!("refused: {}", code.replace('_', " ")),
                };
                Problem::new(StatusCode::CONFLICT, &code, detail)
            }
            Error::InsufficientPoints {
                available,
                requested,
            } => Problem::new(
                StatusCode::CONFLICT,
                "insufficient_points",
                format!("the member has {available} points available; {requested} requested"),
            )
            .with_field("points"),
            Error::Tiers(problem) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_tiers",
                format!("{problem:?}"),
            ),
            Error::Database(sqlx::Error::PoolTimedOut) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server is busy; retry shortly",
            ),
            Error::Database(error) => {
                tracing::error!(%error, "API request failed on the database");
                internal()
            }
            Error::Internal(error) => {
                tracing::error!(%error, "API request failed");
                internal()
            }
        }
    }
}

pub fn internal() -> Problem {
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed; the request id in `x-request-id` finds it in the logs",
    )
}

/// The longest JSON body the API reads (a batch of 1,000 changes is about 250 KB).
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// A JSON body: `application/json`, at most [`BODY_LIMIT_BYTES`], decoding into `T`
/// (unknown fields refused); anything else is a 4xx problem.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let v = v.trim_start().to_ascii_lowercase();
                v == "application/json" || v.starts_with("application/json;")
            });
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as `Content-Type: application/json`",
            )
            .with_field("Content-Type"));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is over {BODY_LIMIT_BYTES} bytes"),
            )
        })?;
        decode(&bytes).map(ApiJson)
    }
}

/// Decodes a JSON body, naming the field that did not fit.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: Result<T, _> = T::deserialize(&mut deserializer).and_then(|value| {
        deserializer.end()?;
        Ok(value)
    });
    value.map_err(|error| {
        let code = if error.is_syntax() || error.is_eof() {
            "malformed_json"
        } else {
            "invalid_body"
        };
        let status = if code == "malformed_json" {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let message = error.to_string();
        let mut problem = Problem::new(status, code, message.clone());
        // serde names the field as "unknown field `x`", "missing field `x`" or
        // "invalid type … for `x`"-less messages; take the first backticked name.
        if let Some(start) = message.find('`')
            && let Some(len) = message[start + 1..].find('`')
        {
            problem = problem.with_field(&message[start + 1..start + 1 + len]);
        }
        problem
    })
}

/// A path parameter that does not parse is a 400 naming it.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection: PathRejection| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_path",
                    rejection.body_text(),
                )
            })
    }
}

/// Query parameters that do not parse are a 400 naming them.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection: QueryRejection| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    rejection.body_text(),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_names() {
        assert_eq!(
            conflict_code(&Conflict::MemberExternalIdTaken),
            "member_external_id_taken"
        );
        assert_eq!(
            conflict_code(&Conflict::LicenseQuotaReached { held: 1, quota: 1 }),
            "license_quota_reached"
        );
        assert_eq!(
            conflict_code(&Conflict::RolloutBlocked(vec![])),
            "rollout_blocked"
        );
    }

    #[test]
    fn bodies_name_the_field_that_does_not_fit() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[expect(dead_code, reason = "only decoded")]
        struct Body {
            points: i64,
        }
        let unknown = decode::<Body>(br#"{"points": 1, "pionts": 2}"#).unwrap_err();
        assert_eq!(
            (unknown.status, unknown.field.as_deref()),
            (422, Some("pionts"))
        );
        let missing = decode::<Body>(b"{}").unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("points"));
        let malformed = decode::<Body>(b"{").unwrap_err();
        assert_eq!(
            (malformed.status, malformed.code.as_str()),
            (400, "malformed_json")
        );
        let trailing = decode::<Body>(br#"{"points": 1} x"#).unwrap_err();
        assert_eq!(trailing.status, 400);
    }
}
