//! Checks every request passes before anything reads it, in one place:
//!
//! - **Body limit.** A body over [`BODY_LIMIT_BYTES`] is refused with 413 on every route,
//!   whether it announces its length or streams; except the batch upload
//!   ([`UPLOAD_PATH`]) and the legacy import ([`LEGACY_UPLOAD_PATH`]), whose files
//!   stream to the domain unbuffered, up to [`UPLOAD_LIMIT_BYTES`] and
//!   [`LEGACY_UPLOAD_LIMIT_BYTES`] (413 when announced above it; the domain refuses a
//!   file that grows past its limit while streaming).
//! - **No NUL.** PostgreSQL cannot store U+0000 in text, so a server-function request
//!   carrying it (raw, `%00` or the JSON escape, in the body or the query) is refused
//!   with 400 before it reaches a field. The domain's `input::plain_text` refuses it too
//!   (and other control characters), for callers that do not come through here.
//! - **Writes outlive their client.** A server-function call that changes something
//!   runs in its own task: when the client disconnects, the request future is dropped
//!   but the task finishes its transaction and returns its connection to the pool, so a
//!   dropped request can never leave a connection mid-transaction.
//!
//! Arguments that do not decode are turned into 400s by `app::error` (the server-fn
//! layer's `Args` errors), not here.

use app::error::AppError;
use app::error::from_domain;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use tracing::Instrument;

/// The largest request body accepted (the biggest legitimate one, a full tier set, is a
/// few kilobytes).
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// The batch upload route: its body is a file, streamed to the domain as it arrives
/// (not buffered here), up to [`UPLOAD_LIMIT_BYTES`].
pub const UPLOAD_PATH: &str = "/upload/licenses-batch";
/// The largest upload body: the largest file the domain accepts plus room for the
/// multipart envelope. The domain counts the file's own bytes as it reads them.
pub const UPLOAD_LIMIT_BYTES: usize = domain::licenses::batch::FILE_BYTES_MAX + 64 * 1024;

/// The legacy import route: its body is one or two CSV files (user types, members),
/// streamed into the domain as they arrive, up to [`LEGACY_UPLOAD_LIMIT_BYTES`].
pub const LEGACY_UPLOAD_PATH: &str = "/upload/legacy";
/// The largest legacy upload body: the files' limit (both together) plus room for the
/// multipart envelope. The route counts the files' own bytes as it streams them.
pub const LEGACY_UPLOAD_LIMIT_BYTES: usize =
    domain::migration::imports::UPLOAD_BYTES_MAX + 64 * 1024;

pub async fn requests(request: Request, next: Next) -> Response {
    let has_body = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if request.uri().path().starts_with(crate::api::PREFIX) {
        // The REST API reads its own bodies (with the same limit) and answers its
        // refusals as problem documents.
        return next.run(request).await;
    }
    let is_server_fn = request.uri().path().starts_with("/api/");
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let upload_limit = match request.uri().path() {
        UPLOAD_PATH => Some(UPLOAD_LIMIT_BYTES),
        LEGACY_UPLOAD_PATH => Some(LEGACY_UPLOAD_LIMIT_BYTES),
        _ => None,
    };
    if let Some(limit) = upload_limit {
        // Streamed by its handler, which stops reading at the limit.
        if announced.is_some_and(|length| length > limit as u64) {
            return too_large();
        }
        return next.run(request).await;
    }
    if announced.is_some_and(|length| length > BODY_LIMIT_BYTES as u64) {
        return too_large();
    }
    let request = if has_body {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT_BYTES).await else {
            // Over the limit while streaming (or the client went away mid-body).
            return too_large();
        };
        let json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if is_server_fn && contains_nul(&bytes, json) {
            return nul_refused();
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };
    if is_server_fn
        && request
            .uri()
            .query()
            .is_some_and(|query| contains_nul(query.as_bytes(), false))
    {
        return nul_refused();
    }
    if is_server_fn && has_body {
        let referer = request
            .headers()
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let endpoint = request.uri().path().trim_start_matches("/api/").to_owned();
        let task = tokio::spawn(next.run(request).instrument(tracing::Span::current()));
        return match task.await {
            Ok(response) => with_outcome(response, referer.as_deref(), &endpoint),
            Err(error) => {
                tracing::error!(%error, "server function task failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        };
    }
    next.run(request).await
}

/// A plain form post that succeeded goes back to its page (the Referer); if that page
/// still shows an earlier failure (`?error=`), go back without it.
/// A plain form post (no JavaScript) is answered with a redirect back to its page. On
/// failure the page's URL carries `?error=` (set by `app::error`); on success a stale
/// `?error=` is dropped and `?done=<code>` names what happened, so that the page can say
/// so after the redirect: the code the server function set (`from_domain::outcome`),
/// else the endpoint's name.
fn with_outcome(mut response: Response, referer: Option<&str>, endpoint: &str) -> Response {
    let failed = response
        .headers_mut()
        .remove(from_domain::ERROR_REDIRECT_HEADER)
        .is_some();
    let code = response
        .headers_mut()
        .remove(from_domain::DONE_HEADER)
        .and_then(|value| value.to_str().ok().map(str::to_owned))
        .unwrap_or_else(|| endpoint.to_owned());
    let Some(referer) = referer else {
        return response;
    };
    let back_to_referer = response.status().is_redirection()
        && response
            .headers()
            .get(header::LOCATION)
            // The server-fn layer answers a form post with its Referer, sometimes with
            // an empty query (`…?`) appended.
            .is_some_and(|location| {
                let location = location.as_bytes();
                location.strip_suffix(b"?").unwrap_or(location) == referer.as_bytes()
            });
    if failed || !back_to_referer {
        return response;
    }
    let code_ok = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let back = from_domain::without_error_param(referer);
    let location = if code_ok {
        let separator = if back.contains('?') { '&' } else { '?' };
        format!("{back}{separator}done={code}")
    } else {
        back
    };
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// NUL as a raw byte, or as the body's encoding spells it: `%00` in a form or query,
/// `\u0000` in JSON (where a literal `%00` is just text).
pub fn contains_nul(bytes: &[u8], json: bool) -> bool {
    if bytes.contains(&0) {
        return true;
    }
    if json {
        bytes
            .windows(6)
            .any(|w| w[0] == b'\\' && w[1..].eq_ignore_ascii_case(b"u0000"))
    } else {
        bytes.windows(3).any(|w| w == b"%00")
    }
}

fn too_large() -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {BODY_LIMIT_BYTES} bytes"),
    )
}

fn nul_refused() -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        "text must not contain the NUL character".to_owned(),
    )
}

/// The body a server function's caller decodes as its error type.
fn error_response(status: StatusCode, detail: String) -> Response {
    let body = serde_json::to_string(&AppError::BadRequest(detail)).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::contains_nul;

    #[test]
    fn nul_in_every_spelling() {
        assert!(contains_nul(b"reason=a%00b", false));
        assert!(contains_nul(b"{\"name\":\"a\\u0000\"}", true));
        assert!(contains_nul(b"{\"name\":\"a\\U0000\"}", true));
        assert!(contains_nul(b"a\0b", false));
        assert!(contains_nul(b"a\0b", true));
        assert!(!contains_nul(b"reason=100%25+sure&points=1000", false));
        assert!(!contains_nul(b"{\"name\":\"\\u00e9\"}", true));
        assert!(!contains_nul(b"{\"name\":\"100%00\"}", true));
    }
}
