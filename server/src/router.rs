//! The HTTP surface. Middleware, outermost first: request id (set and echoed in
//! `x-request-id`), tracing span per request, response compression (brotli or gzip, as
//! the client accepts; the static files are served precompressed instead), request
//! guard (body limit, NUL, writes in their own task: [`crate::guard`]), client address,
//! sessions, `Cache-Control` ([`crate::caching`]), CSRF check. The REST API
//! ([`crate::api`], `/api/v1`) passes the first four only.

use std::net::SocketAddr;
use std::time::Duration;

use app::context::{AppState, ClientAddress};
use app::i18n::{LANG_COOKIE, Lang};
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
use tracing::Instrument;

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

/// The app's routes, generated once per process. Generating them runs the app with
/// resource loading suppressed by a *process-global* flag (leptos_server's
/// `SuppressResourceLoad`); a resource first polled by a page rendering on another
/// thread meanwhile never loads, and that render hangs forever (leptos issue #4773).
/// A server builds one router, but the tests build one per test while other tests
/// render pages: generating once keeps every render clear of it.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
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
    let routes = route_list();
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let console = Router::new()
        .route("/healthz", get(healthz))
        .route("/lang/{code}", get(set_language))
        .route("/export/audit.csv", get(audit_export))
        .route("/export/licenses.csv", get(licenses_export))
        .route("/export/assignments.csv", get(assignments_export))
        .route(
            crate::guard::UPLOAD_PATH,
            post(upload_batch).layer(DefaultBodyLimit::max(crate::guard::UPLOAD_LIMIT_BYTES)),
        )
        .route(
            crate::guard::LEGACY_UPLOAD_PATH,
            post(upload_legacy).layer(DefaultBodyLimit::max(
                crate::guard::LEGACY_UPLOAD_LIMIT_BYTES,
            )),
        )
        .route("/api/{*name}", get(server_fn).post(server_fn))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let leptos_options = state.leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(middleware::from_fn(csrf::require_same_origin))
        .layer(middleware::from_fn(crate::caching::headers))
        .layer(sessions)
        .layer(middleware::from_fn(client_address));
    // The REST API has none of the console's session, CSRF and caching middleware.
    crate::api::router(state.clone())
        .merge(console)
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

/// The language of a request's messages (cookie, then Accept-Language).
fn request_lang(headers: &HeaderMap) -> Lang {
    Lang::for_request(
        headers.get(header::COOKIE).and_then(|v| v.to_str().ok()),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Runs an `app` shell in a reactive owner holding the request's parts, the state and
/// response options (as a server function runs), and answers its result with the status
/// and headers it set.
async fn in_request<T, F, Fut>(
    state: AppState,
    parts: http::request::Parts,
    make: F,
) -> (
    Result<T, app::error::AppError>,
    Option<StatusCode>,
    HeaderMap,
)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, app::error::AppError>>,
{
    let response_options = leptos_axum::ResponseOptions::default();
    let owner = Owner::new();
    let result = owner
        .with(|| {
            provide_context(parts);
            provide_context(state);
            provide_context(response_options.clone());
            ScopedFuture::new(make())
        })
        .await;
    let set = response_options
        .0
        .read()
        .map(|r| (r.status, r.headers.clone()));
    let (status, headers) = set.unwrap_or_default();
    (result, status, headers)
}

/// A refused download or upload: a browser that posted a form or followed a link goes
/// back to its page with the error shown there (or to sign in), any other client gets
/// the status and the message.
fn refused(
    lang: Lang,
    error: &app::error::AppError,
    status: Option<StatusCode>,
    headers: &HeaderMap,
) -> Response {
    refused_saying(error.message(lang.texts()), status, headers)
}

/// [`refused`] with the message given.
fn refused_saying(message: String, status: Option<StatusCode>, headers: &HeaderMap) -> Response {
    match headers.get(header::LOCATION) {
        Some(location) => {
            let status = status
                .filter(StatusCode::is_redirection)
                .unwrap_or(StatusCode::SEE_OTHER);
            (status, [(header::LOCATION, location.clone())]).into_response()
        }
        None => plain_text(status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), message),
    }
}

/// A refused legacy upload, its message in the migration page's words (the file, the
/// line, the missing column).
fn refused_import(
    lang: Lang,
    error: &app::error::AppError,
    status: Option<StatusCode>,
    headers: &HeaderMap,
) -> Response {
    let message = app::migration::i18n::texts(lang).error(error, lang.texts());
    refused_saying(message, status, headers)
}

/// `?plan=&name=` of a raw (`text/csv`) upload.
#[derive(Debug, Default, serde::Deserialize)]
struct UploadQuery {
    plan: Option<String>,
    name: Option<String>,
}

/// `POST /upload/licenses-batch`: a CSV file for batch assignment, as
/// `multipart/form-data` (fields `plan`, then `file`: the console's form, which works
/// without JavaScript) or as the raw body (`text/csv`, with `?plan=&name=`). The file is
/// streamed into `domain::licenses::batch::upload` as it arrives, never buffered whole.
/// Answers 303 to the batch's page, or the batch as JSON when the client accepts JSON;
/// a refusal is the status with its message (a browser's form post goes back to the
/// form with `?error=`).
async fn upload_batch(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let lang = request_lang(&parts.headers);
    let Ok(Query(query)) = Query::<UploadQuery>::try_from_uri(&parts.uri) else {
        let message = app::error::AppError::BadRequest(String::new()).message(lang.texts());
        return plain_text(StatusCode::BAD_REQUEST, message);
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let request = Request::from_parts(parts.clone(), body);
        let Ok(mut multipart) = Multipart::from_request(request, &()).await else {
            let message = app::error::AppError::BadRequest(String::new()).message(lang.texts());
            return plain_text(StatusCode::BAD_REQUEST, message);
        };
        let mut plan = query.plan;
        loop {
            match multipart.next_field().await {
                Ok(Some(field)) if field.name() == Some("plan") => match field.text().await {
                    Ok(text) => plan = Some(text),
                    Err(error) => return plain_text(error.status(), error.body_text()),
                },
                Ok(Some(field)) if field.name() == Some("file") => {
                    let name = field.file_name().unwrap_or_default().to_owned();
                    return uploaded(state, parts, lang, name, plan, Box::pin(field)).await;
                }
                // Other fields are ignored.
                Ok(Some(_)) => {}
                // No file: the domain answers "file required" (after the role check).
                Ok(None) => {
                    let nothing =
                        futures_util::stream::empty::<Result<Vec<u8>, std::convert::Infallible>>();
                    return uploaded(state, parts, lang, String::new(), plan, nothing).await;
                }
                Err(error) => return plain_text(error.status(), error.body_text()),
            }
        }
    }
    if content_type.starts_with("text/csv") || content_type.starts_with("text/plain") {
        let name = query.name.unwrap_or_default();
        let stream = Box::pin(body.into_data_stream());
        return uploaded(state, parts, lang, name, query.plan, stream).await;
    }
    plain_text(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "send the file as multipart/form-data (fields plan, file) or as text/csv".to_owned(),
    )
}

async fn uploaded<S, B, E>(
    state: AppState,
    parts: http::request::Parts,
    lang: Lang,
    name: String,
    plan: Option<String>,
    body: S,
) -> Response
where
    S: futures_util::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let wants_json = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let body = Box::pin(idle_limited(body));
    let (result, status, headers) = in_request(state, parts, || {
        app::licenses::batch_api::upload_batch(name, plan, body)
    })
    .await;
    match result {
        Ok(batch) if wants_json => (StatusCode::OK, axum::Json(batch)).into_response(),
        Ok(batch) => (
            StatusCode::SEE_OTHER,
            [(
                header::LOCATION,
                format!("/licenses/batch/{}", batch.batch_id),
            )],
        )
            .into_response(),
        Err(error) => refused(lang, &error, status, &headers),
    }
}

/// `?kind=&name=` of a raw (`text/csv`) legacy upload.
#[derive(Debug, Default, serde::Deserialize)]
struct LegacyUploadQuery {
    kind: Option<String>,
    name: Option<String>,
}

/// `POST /upload/legacy`: the legacy user types and/or members CSV files, as
/// `multipart/form-data` (file fields `types` and `members`: the migration page's form,
/// which works without JavaScript) or as the raw body (`text/csv`, with
/// `?kind=types|members&name=`). Each file is streamed into
/// `domain::migration::imports::stage` as it arrives (never buffered whole; both files
/// together at most `UPLOAD_BYTES_MAX`), and the imports are committed only once every
/// file was read, so a refused file leaves nothing behind. Answers 303 to
/// `/migration?import=<id>` (the last file's import), or the imports as JSON when the
/// client accepts JSON; a refusal is the status with its message (a browser's form post
/// goes back to the page with `?error=`).
async fn upload_legacy(State(state): State<AppState>, request: Request) -> Response {
    use app::migration::api::{commit_legacy_imports, stage_legacy_import};
    use domain::migration::imports::{ImportKind, UPLOAD_BYTES_MAX};
    let (parts, body) = request.into_parts();
    let lang = request_lang(&parts.headers);
    let Ok(Query(query)) = Query::<LegacyUploadQuery>::try_from_uri(&parts.uri) else {
        let message = app::error::AppError::BadRequest(String::new()).message(lang.texts());
        return plain_text(StatusCode::BAD_REQUEST, message);
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let mut staged: Vec<domain::migration::imports::Staged> = Vec::new();
    if content_type.starts_with("multipart/form-data") {
        let request = Request::from_parts(parts.clone(), body);
        let Ok(mut multipart) = Multipart::from_request(request, &()).await else {
            let message = app::error::AppError::BadRequest(String::new()).message(lang.texts());
            return plain_text(StatusCode::BAD_REQUEST, message);
        };
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(error) => return plain_text(error.status(), error.body_text()),
            };
            let kind = match field.name() {
                Some("types") => ImportKind::UserTypes,
                Some("members") => ImportKind::Members,
                // Other fields are ignored.
                _ => continue,
            };
            let name = field.file_name().unwrap_or_default().to_owned();
            // A file input left empty is sent as a part without a file name or bytes.
            if name.is_empty() {
                continue;
            }
            if staged.iter().any(|s| s.record.kind == kind) {
                return plain_text(
                    StatusCode::BAD_REQUEST,
                    format!("send the {} file once", kind.field()),
                );
            }
            let budget = UPLOAD_BYTES_MAX.saturating_sub(staged.iter().map(|s| s.bytes).sum());
            let body = Box::pin(idle_limited(field));
            let (result, status, headers) = in_request(state.clone(), parts.clone(), || {
                stage_legacy_import(Some(kind), name, body, budget)
            })
            .await;
            match result {
                Ok(import) => staged.push(import),
                Err(error) => return refused_import(lang, &error, status, &headers),
            }
        }
    } else if content_type.starts_with("text/csv") || content_type.starts_with("text/plain") {
        let kind = match query.kind.as_deref().map(ImportKind::parse) {
            Some(Ok(kind)) => Some(kind),
            Some(Err(_)) | None => {
                return plain_text(
                    StatusCode::BAD_REQUEST,
                    "name the file with ?kind=types or ?kind=members".to_owned(),
                );
            }
        };
        let name = query.name.unwrap_or_default();
        let body = Box::pin(idle_limited(body.into_data_stream()));
        let (result, status, headers) = in_request(state.clone(), parts.clone(), || {
            stage_legacy_import(kind, name, body, UPLOAD_BYTES_MAX)
        })
        .await;
        match result {
            Ok(import) => staged.push(import),
            Err(error) => return refused_import(lang, &error, status, &headers),
        }
    } else {
        return plain_text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the files as multipart/form-data (fields types, members) or as text/csv with ?kind=types|members"
                .to_owned(),
        );
    }
    if staged.is_empty() {
        // No file: the shell answers "file required" (after the role check).
        let nothing = futures_util::stream::empty::<Result<Vec<u8>, std::convert::Infallible>>();
        let (result, status, headers) = in_request(state.clone(), parts.clone(), || {
            stage_legacy_import(None, String::new(), nothing, 0)
        })
        .await;
        if let Err(error) = result {
            return refused_import(lang, &error, status, &headers);
        }
    }
    let wants_json = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let (result, status, headers) =
        in_request(state, parts, || commit_legacy_imports(staged)).await;
    match result {
        Ok(records) if wants_json => (StatusCode::OK, axum::Json(records)).into_response(),
        Ok(records) => {
            let location = match records.last() {
                Some(record) => format!("/migration?import={}", record.import_id),
                None => "/migration".to_owned(),
            };
            (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
        }
        Err(error) => refused_import(lang, &error, status, &headers),
    }
}

/// An upload holds a database transaction while its file arrives: a client that stops
/// sending for this long is cut off (its upload refused, nothing stored), so a stalled
/// or deliberately slow client cannot hold a connection indefinitely.
const UPLOAD_IDLE_LIMIT: Duration = Duration::from_secs(30);

/// `body`, failing when no chunk arrives within [`UPLOAD_IDLE_LIMIT`].
fn idle_limited<S, B, E>(body: S) -> impl futures_util::Stream<Item = Result<B, String>>
where
    S: futures_util::Stream<Item = Result<B, E>> + Unpin,
    E: std::fmt::Display,
{
    // Fused: the upload's reader may poll once more after the end, which an unfused
    // `unfold` answers with a panic.
    futures_util::StreamExt::fuse(futures_util::stream::unfold(
        Some(body),
        |body| async move {
            let mut body = body?;
            match tokio::time::timeout(UPLOAD_IDLE_LIMIT, futures_util::StreamExt::next(&mut body))
                .await
            {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
                Ok(Some(Err(error))) => Some((Err(error.to_string()), None)),
                Ok(None) => None,
                Err(_) => Some((Err("the upload stalled".to_owned()), None)),
            }
        },
    ))
}

/// `GET /export/licenses.csv`: the session's tenant's licenses (filters `plan`, `state`).
async fn licenses_export(
    State(state): State<AppState>,
    query: Result<Query<app::licenses::batch_api::LicenseExportQuery>, QueryRejection>,
    request: Request,
) -> Response {
    license_export(
        state,
        app::licenses::batch_api::ExportKind::Licenses,
        query,
        request,
    )
    .await
}

/// `GET /export/assignments.csv`: the session's tenant's assignments, live and ended.
async fn assignments_export(
    State(state): State<AppState>,
    query: Result<Query<app::licenses::batch_api::LicenseExportQuery>, QueryRejection>,
    request: Request,
) -> Response {
    license_export(
        state,
        app::licenses::batch_api::ExportKind::Assignments,
        query,
        request,
    )
    .await
}

/// Chunks of CSV in flight between the query and the response body: the query waits
/// (holding no more than this) while the client is slow.
const EXPORT_CHUNKS_IN_FLIGHT: usize = 8;

/// The console's license exports: the session's access and the filters checked, then
/// streamed by [`csv_download`].
async fn license_export(
    state: AppState,
    kind: app::licenses::batch_api::ExportKind,
    query: Result<Query<app::licenses::batch_api::LicenseExportQuery>, QueryRejection>,
    request: Request,
) -> Response {
    let (parts, _body) = request.into_parts();
    let lang = request_lang(&parts.headers);
    let Ok(Query(query)) = query else {
        let message = app::error::AppError::BadRequest(String::new()).message(lang.texts());
        return plain_text(StatusCode::BAD_REQUEST, message);
    };
    let (result, status, headers) = in_request(state, parts, || {
        app::licenses::batch_api::license_export(kind, query)
    })
    .await;
    let export = match result {
        Ok(export) => export,
        Err(error) => return refused(lang, &error, status, &headers),
    };
    csv_download(export)
}

/// Streams an export as a `text/csv` download (the console's routes and the REST
/// API's): the query runs in its own task on a pooled connection and sends CSV chunks
/// through a bounded channel that is the response body. A client that goes away drops
/// the body, the task's next send fails and the query stops; a query that fails mid-way
/// aborts the body (the download is incomplete, not silently short).
pub(crate) fn csv_download(export: domain::licenses::export::CsvExport) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", export.file_name());
    let (sender, receiver) = tokio::sync::mpsc::channel::<String>(EXPORT_CHUNKS_IN_FLIGHT);
    let (failed, failure) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        async move {
            if let Err(error) = export.run(sender).await {
                tracing::error!(%error, "license export failed");
                let _ = failed.send(());
            }
        }
        .instrument(tracing::Span::current()),
    );
    // Fused: the compression layer polls a finished body once more, which an unfused
    // `unfold` answers with a panic (and a cut download).
    let chunks = futures_util::StreamExt::fuse(futures_util::stream::unfold(
        (receiver, Some(failure)),
        |(mut receiver, failure)| async move {
            match receiver.recv().await {
                Some(chunk) => Some((Ok(chunk), (receiver, failure))),
                None => {
                    // The sender is gone: the export ended, or failed (then it said so).
                    let failed = match failure {
                        Some(failure) => failure.await.is_ok(),
                        None => false,
                    };
                    failed.then(|| {
                        (
                            Err(std::io::Error::other("export failed")),
                            (receiver, None),
                        )
                    })
                }
            }
        },
    ));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
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
