//! The REST API v1 for tenant backends (`/api/v1/…`, JSON). Every call acts as an API
//! key of one tenant ([`domain::api::keys`]); every handler is a thin shell over one
//! domain function. Outside the console's middleware: no session, no CSRF check (there
//! is no cookie to forge with), its own errors ([`problem`]).
//!
//! A request passes, in order: authentication (`Authorization: Bearer tdk_…`; 401),
//! the key's rate limit ([`limits`]; 429 with `Retry-After`), and for writes the
//! idempotency store (`Idempotency-Key`; [`domain::api::idempotency`]) and a task of
//! its own, so a client that disconnects never cuts a write short. The OpenAPI 3.1
//! document is generated from the handlers ([`openapi`]) and served at
//! `/api/v1/openapi.json` with a reference page at `/api/v1/docs`.

/// Legacy user types and members, upserted while the tenant migrates (with catch-up).
pub mod legacy;
/// Licenses by key: validate, activate and deactivate devices, assign, unassign.
pub mod licenses;
/// Per-key token buckets.
pub mod limits;
/// Members: upsert by external id (one or a batch), get, summary, ledger.
pub mod members;
/// Permission checks through the rollout's routed entry point.
pub mod permissions;
/// Points: earn, spend, adjust, reverse, and a batch of changes.
pub mod points;
/// `application/problem+json` errors and the extractors that produce them.
pub mod problem;
/// The generated OpenAPI document and the reference page.
pub mod reference;
/// Tags: grant, renew, revoke.
pub mod tags;

use std::sync::Arc;
use std::time::Duration;

use app::context::AppState;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use domain::api::idempotency::{self, Claim};
use domain::api::keys::{self, Caller};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use tower_http::request_id::RequestId;
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use self::limits::{Limiter, Verdict};
use self::problem::{BODY_LIMIT_BYTES, Problem};

pub const PREFIX: &str = "/api/v1";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// What the API's handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub app: AppState,
    pub limiter: Arc<Limiter>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tierdesk API",
        version = "1.0.0",
        description = "Points, members, permissions and licenses for a tenant's own backend. \
Authenticate with an API key from the console (`Authorization: Bearer tdk_…`). \
Every POST takes an optional `Idempotency-Key` header: a retry with the same key and \
request gets the first response again; the same key with another request is refused \
(422); a retry while the first still runs gets 409. Errors are \
`application/problem+json` with a stable `code`."
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    security(("api_key" = [])),
    components(schemas(problem::Problem))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tdk_<tenant>_<secret>")
                    .build(),
            ),
        );
    }
}

/// The API's routes with their OpenAPI document.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(members::routes())
        .merge(points::routes())
        .merge(permissions::routes())
        .merge(tags::routes())
        .merge(licenses::routes())
        .merge(legacy::routes())
}

/// The generated document (also what `tierdesk api openapi` prints).
pub fn document() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// `/api/v1`, ready to be merged into the server's router.
pub fn router(app: AppState) -> Router<AppState> {
    let limiter = Limiter::new();
    spawn_process_count(app.clone(), limiter.clone());
    let state = ApiState { app, limiter };
    let (api, doc) = routes().split_for_parts();
    let doc = Arc::new(doc);
    let api = api
        .route_layer(middleware::from_fn_with_state(state.clone(), gate))
        .merge(reference::routes(doc))
        // Explicit, or the console's `/api/{*name}` (server functions) would answer.
        .route("/{*rest}", axum::routing::any(not_found))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new().nest(PREFIX, api.with_state(state))
}

async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "no such endpoint; see /api/v1/openapi.json",
    )
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take this method; see /api/v1/openapi.json",
    )
}

/// Keeps the limiter's count of live server processes current.
fn spawn_process_count(app: AppState, limiter: Arc<Limiter>) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticker.tick().await;
            if app.db.is_closed() {
                return;
            }
            match domain::tags::permissions::live_nodes(&app.db).await {
                Ok(n) => limiter.set_processes(u64::try_from(n).unwrap_or(1)),
                Err(error) => tracing::warn!(%error, "counting server processes failed"),
            }
            limiter.sweep(Duration::from_secs(300));
        }
    });
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn rate_headers(headers: &mut HeaderMap, verdict: &Verdict) {
    for (name, value) in [
        ("ratelimit-limit", u64::from(verdict.limit)),
        ("ratelimit-remaining", u64::from(verdict.remaining)),
        ("ratelimit-reset", verdict.reset_secs),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}

/// Authentication, rate limit, idempotency and the write's own task.
async fn gate(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned);
    let Some(secret) = bearer(request.headers()) else {
        return Problem::unauthenticated().into_response();
    };
    let caller = match keys::authenticate(
        &state.app.db,
        &state.app.permissions,
        secret,
        request_id,
        state.app.clock.now(),
    )
    .await
    {
        Ok(caller) => caller,
        Err(error) => return Problem::from(error).into_response(),
    };
    let verdict = state.limiter.check(
        caller.key.key_id,
        caller.key.rate_per_second,
        caller.key.burst,
    );
    if !verdict.allowed {
        let mut response = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "this API key's rate limit ({} requests per second) is reached; retry after {} s",
                verdict.limit, verdict.retry_after_secs
            ),
        )
        .into_response();
        rate_headers(response.headers_mut(), &verdict);
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(verdict.retry_after_secs.max(1)),
        );
        return response;
    }
    request.extensions_mut().insert(caller.clone());
    let write = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let mut response = if write {
        write_once(&state, &caller, request, next).await
    } else {
        next.run(request).await
    };
    rate_headers(response.headers_mut(), &verdict);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Runs a write in its own task (it finishes even if the client goes away), under its
/// idempotency key when it has one.
async fn write_once(state: &ApiState, caller: &Caller, request: Request, next: Next) -> Response {
    let key = match request.headers().get(IDEMPOTENCY_HEADER) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(key)
                if !key.is_empty()
                    && key.len() <= idempotency::KEY_LENGTH_MAX
                    && key.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(key.to_owned())
            }
            _ => {
                return Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_idempotency_key",
                    format!(
                        "an idempotency key is 1 to {} visible ASCII characters",
                        idempotency::KEY_LENGTH_MAX
                    ),
                )
                .with_field("Idempotency-Key")
                .into_response();
            }
        },
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT_BYTES).await else {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is over {BODY_LIMIT_BYTES} bytes"),
        )
        .into_response();
    };
    let Some(key) = key else {
        let request = Request::from_parts(parts, Body::from(bytes));
        return run_in_task(next, request).await;
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let fingerprint = idempotency::fingerprint(parts.method.as_str(), &path, &bytes);
    let db = &state.app.db;
    match idempotency::claim(db, caller, &key, fingerprint).await {
        Err(error) => Problem::from(error).into_response(),
        Ok(Claim::Mismatch) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this idempotency key was used with a different request (method, path or body)",
        )
        .with_field("Idempotency-Key")
        .into_response(),
        Ok(Claim::Running) => Problem::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_use",
            "a request with this idempotency key is still running; retry later",
        )
        .with_field("Idempotency-Key")
        .into_response(),
        Ok(Claim::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let content_type = if status.is_success() {
                "application/json"
            } else {
                problem::CONTENT_TYPE
            };
            let mut response = (status, body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
                .headers_mut()
                .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            response
        }
        Ok(Claim::Run) => {
            // Claim, work and stored response in one task: a client that disconnects
            // leaves neither a half-done write nor a claim without its response.
            let request = Request::from_parts(parts, Body::from(bytes));
            let (db, caller) = (db.clone(), caller.clone());
            let task = tokio::spawn(
                async move {
                    let response = next.run(request).await;
                    let (mut head, body) = response.into_parts();
                    let Ok(body) = to_bytes(body, usize::MAX).await else {
                        let _ = idempotency::release(&db, &caller, &key).await;
                        return problem::internal().into_response();
                    };
                    let stored = if head.status.is_server_error() {
                        idempotency::release(&db, &caller, &key).await
                    } else {
                        idempotency::finish(&db, &caller, &key, head.status.as_u16(), &body).await
                    };
                    if let Err(error) = stored {
                        tracing::error!(%error, "storing an idempotent response failed");
                    }
                    head.headers.remove(header::CONTENT_LENGTH);
                    Response::from_parts(head, Body::from(body))
                }
                .instrument(tracing::Span::current()),
            );
            match task.await {
                Ok(response) => response,
                Err(error) => {
                    tracing::error!(%error, "API request task failed");
                    problem::internal().into_response()
                }
            }
        }
    }
}

async fn run_in_task(next: Next, request: Request) -> Response {
    let task = tokio::spawn(next.run(request).instrument(tracing::Span::current()));
    match task.await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!(%error, "API request task failed");
            problem::internal().into_response()
        }
    }
}
