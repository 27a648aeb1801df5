//! The HTTP surface. Middleware, outermost first: request id (set and echoed in
//! `x-request-id`), tracing span per request, response compression (brotli or gzip, as
//! the client accepts; the static files are served precompressed instead), request
//! guard (body limit, NUL, writes in their own task: [`crate::guard`]), client address,
//! sessions, `Cache-Control` ([`crate::caching`]), CSRF check.

use std::net::SocketAddr;
use std::time::Duration;

use app::context::{AppState, ClientAddress};
use app::i18n::{LANG_COOKIE, Lang};
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use leptos::prelude::{Owner, provide_context};
use leptos::reactive::computed::ScopedFuture;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use serde_json::json;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::csrf;
use crate::session_store::PgSessionStore;

pub const SESSION_COOKIE: &str = "tierdesk_session";
/// A session ends after this much inactivity (the absolute limit is in `app::context`).
pub const SESSION_IDLE_MINUTES: i64 = 60;
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
const LANG_COOKIE_MAX_AGE_SECONDS: u32 = 365 * 24 * 60 * 60;
/// Bodies smaller than this are sent as they are: compressing them saves too little.
pub const COMPRESS_MIN_BYTES: u16 = 1024;

#[derive(Debug, Clone, Copy, Default)]
pub struct RouterOptions {
    /// Mark cookies Secure (the console is served over https).
    pub secure_cookies: bool,
}

pub fn router(state: AppState, options: RouterOptions) -> Router {
    let sessions = SessionManagerLayer::new(PgSessionStore::new(state.db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(options.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            SESSION_IDLE_MINUTES,
        )));
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/lang/{code}", get(set_language))
        .route("/export/audit.csv", get(audit_export))
        .route("/api/{*name}", get(server_fn).post(server_fn))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let leptos_options = state.leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(middleware::from_fn(csrf::require_same_origin))
        .layer(middleware::from_fn(crate::caching::headers))
        .layer(sessions)
        .layer(middleware::from_fn(client_address))
        .layer(middleware::from_fn(crate::guard::requests))
        .layer(compression())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("-")
                .to_owned();
            tracing::info_span!("request", method = %request.method(), path = request.uri().path(), request_id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Brotli or gzip for pages, server-function answers and any file that has no
/// precompressed copy; never for small bodies, images (already compressed), event
/// streams (they must flow as they come) or responses that already carry a
/// `Content-Encoding` (the precompressed `.br`/`.gz` site files).
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().br(true).gzip(true).compress_when(
        SizeAbove::new(COMPRESS_MIN_BYTES)
            .and(NotForContentType::GRPC)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::SSE),
    )
}

async fn server_fn(State(state): State<AppState>, request: Request<Body>) -> impl IntoResponse {
    handle_server_fns_with_context(move || provide_context(state.clone()), request).await
}

/// Liveness and readiness: 200 when the database answers (with the permission cache's
/// hit/miss counts), else 503 with the reason.
async fn healthz(State(state): State<AppState>) -> Response {
    let reason = match tokio::time::timeout(HEALTH_TIMEOUT, domain::db::ping(&state.db)).await {
        Ok(Ok(())) => {
            let cache = state.permissions.stats();
            let body = json!({
                "status": "ok",
                "database": "ok",
                "permission_cache": {
                    "serving": cache.serving,
                    "hits": cache.hits,
                    "misses": cache.misses,
                    "entries": cache.entries,
                    "invalidations": cache.invalidations,
                },
            });
            return (StatusCode::OK, axum::Json(body)).into_response();
        }
        Ok(Err(domain::Error::Database(sqlx::Error::PoolTimedOut))) => {
            "no database connection available in time"
        }
        Ok(Err(domain::Error::Database(sqlx::Error::Io(_)))) => "database unreachable",
        Ok(Err(error)) => {
            tracing::warn!(%error, "health check failed");
            "database error"
        }
        Err(_) => "database did not answer in time",
    };
    let body = json!({"status": "unavailable", "database": reason});
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

/// The Audit page's "Export CSV" download: the session's tenant's audit rows matching
/// the query's filters (`app::access::api::audit_export` in the request's reactive
/// context, as a server function runs).
async fn audit_export(
    State(state): State<AppState>,
    query: Result<Query<app::access::api::AuditExportQuery>, QueryRejection>,
    request: Request,
) -> Response {
    let (parts, _body) = request.into_parts();
    let lang = Lang::for_request(
        parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok()),
        parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let Ok(Query(query)) = query else {
        let message = app::error::AppError::BadRequest(String::new()).message(lang.texts());
        return plain_text(StatusCode::BAD_REQUEST, message);
    };
    let response_options = leptos_axum::ResponseOptions::default();
    let owner = Owner::new();
    let result = owner
        .with(|| {
            provide_context(parts);
            provide_context(state);
            provide_context(response_options.clone());
            ScopedFuture::new(app::access::api::audit_export(query))
        })
        .await;
    let set = response_options
        .0
        .read()
        .map(|r| (r.status, r.headers.clone()));
    let (status, headers) = set.unwrap_or_default();
    match result {
        Ok(export) => {
            let name = format!(
                "attachment; filename=\"audit-{}.csv\"",
                chrono::Utc::now().format("%Y-%m-%d")
            );
            let mut response = (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, name),
                ],
                export.csv,
            )
                .into_response();
            if export.truncated {
                response
                    .headers_mut()
                    .insert("x-export-truncated", HeaderValue::from(export.rows));
            }
            response
        }
        // A browser that followed the link is sent back to the page with the error
        // shown there (as after a plain form post), or to sign in and back when signed
        // out; any other client gets the status and the message.
        Err(error) => match headers.get(header::LOCATION) {
            Some(location) => {
                let status = status
                    .filter(StatusCode::is_redirection)
                    .unwrap_or(StatusCode::SEE_OTHER);
                (status, [(header::LOCATION, location.clone())]).into_response()
            }
            None => plain_text(
                status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                error.message(lang.texts()),
            ),
        },
    }
}

fn plain_text(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// Stores the chosen UI language in a cookie and returns to the page the link was on
/// (same site only).
async fn set_language(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return (StatusCode::NOT_FOUND, "unknown language").into_response();
    };
    let back = same_site_path(&headers).unwrap_or_else(|| "/".to_owned());
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE_SECONDS}; SameSite=Lax",
        lang.code()
    );
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The path (and query) of the Referer when it is a page of this same site and a safe
/// redirect target (one leading `/`, no `//`, no backslash, visible ASCII only: see
/// `app::access::sign_in::safe_next_path`, shared with sign-in's `next`).
fn same_site_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let authority = csrf::authority(referer)?;
    if !authority.eq_ignore_ascii_case(host) {
        return None;
    }
    let after_scheme = referer.split_once("://")?.1;
    let path = after_scheme.get(authority.len()..)?;
    Some(app::access::sign_in::safe_next_path(Some(path)))
}

/// Makes the peer address available to server functions (sign-in throttling).
async fn client_address(mut request: Request, next: Next) -> Response {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    request.extensions_mut().insert(ClientAddress(address));
    next.run(request).await
}
