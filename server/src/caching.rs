//! `Cache-Control` on every response, chosen by what it is:
//!
//! - **Hashed build assets** (`/pkg/<name>.<hash>.<ext>`, named by content in release
//!   builds, the pages' WASM chunks and their loader included): `public,
//!   max-age=31536000, immutable`. A new build has new names, so a browser never needs
//!   to ask again.
//! - **Other static files** (the favicon, unhashed development builds): `no-cache`, i.e.
//!   stored but revalidated (`Last-Modified` / 304) before each use.
//! - **Server functions** (`/api/…`): `no-store`. They answer with account data.
//! - **Pages** and everything else: `no-store` when the request is signed in, so that
//!   after signing out, Back (or anyone at the same browser) cannot bring the previous
//!   page's data back from the cache, and `no-cache` otherwise (the sign-in page).
//!
//! Runs inside the session layer: whether a request is signed in is read from the
//! session the handler has already loaded.

use app::context::SESSION_ADMIN_ID;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use tower_sessions::Session;
use uuid::Uuid;

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const REVALIDATE: &str = "no-cache";
pub const NO_STORE: &str = "no-store";

pub async fn headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let session = request.extensions().get::<Session>().cloned();
    let mut response = next.run(request).await;
    let found = matches!(
        response.status(),
        StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
    );
    // Server-function answers and downloads (`/export/…`) are per user, whatever the
    // session says by the time the answer leaves.
    let private = path.starts_with("/api/") || path.starts_with("/export/");
    let policy = if found && is_hashed_asset(&path) {
        IMMUTABLE
    } else if found && !private && is_static_file(&path) && !is_html(&response) {
        REVALIDATE
    } else if private || signed_in(session).await {
        NO_STORE
    } else {
        REVALIDATE
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    // Site files are served from their precompressed copies by the request's
    // Accept-Encoding: a shared cache must keep one copy per encoding.
    if found && !private && is_static_file(&path) && !varies_by_encoding(&response) {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

fn varies_by_encoding(response: &Response) -> bool {
    response
        .headers()
        .get_all(header::VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|name| name.trim().eq_ignore_ascii_case("accept-encoding"))
}

/// A file name with an extension (no route of the console has a dot in its last segment).
fn is_static_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.contains('.'))
}

/// `/pkg/<name>.<hash>.<ext>` where the hash is cargo-leptos's: the MD5 of the content
/// in unpadded base64url (22 characters).
pub fn is_hashed_asset(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/pkg/") else {
        return false;
    };
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[parts.len() - 2].len() == 22
        && parts[parts.len() - 2]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

async fn signed_in(session: Option<Session>) -> bool {
    let Some(session) = session else {
        return false;
    };
    // Already loaded by the handler when it looked at the session; a read error counts
    // as signed in (the stricter policy).
    !matches!(session.get::<Uuid>(SESSION_ADMIN_ID).await, Ok(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_assets_are_recognised_by_name() {
        assert!(is_hashed_asset("/pkg/tierdesk.AbCdEfGhIjKlMnOpQr-_12.wasm"));
        assert!(is_hashed_asset("/pkg/tierdesk.AbCdEfGhIjKlMnOpQr-_12.css"));
        // The split build's page chunks, shared chunks and chunk loader (lazy routes).
        assert!(is_hashed_asset(
            "/pkg/split_lists.AbCdEfGhIjKlMnOpQr-_12.wasm"
        ));
        assert!(is_hashed_asset("/pkg/chunk_3.AbCdEfGhIjKlMnOpQr-_12.wasm"));
        assert!(is_hashed_asset(
            "/pkg/__wasm_split.AbCdEfGhIjKlMnOpQr-_12.js"
        ));
        assert!(!is_hashed_asset("/pkg/tierdesk.wasm"));
        assert!(!is_hashed_asset("/pkg/tierdesk.short.wasm"));
        assert!(!is_hashed_asset("/favicon.svg"));
        assert!(!is_hashed_asset("/members/AbCdEfGhIjKlMnOpQr-_12"));
    }

    #[test]
    fn static_files_have_an_extension() {
        assert!(is_static_file("/favicon.svg"));
        assert!(is_static_file("/pkg/tierdesk.js"));
        assert!(!is_static_file("/members"));
        assert!(!is_static_file(
            "/members/0195b2f4-7a8e-7c3d-9b1a-2f4e6d8c0a1b"
        ));
    }
}
