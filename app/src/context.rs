//! Server-side request context for server functions: the shared state, the session,
//! and the authenticated [`domain::Access`] every tenant-scoped call starts from.

use std::net::IpAddr;

use axum::extract::FromRef;
use chrono::Utc;
use http::header;
use leptos::prelude::*;
use sqlx::PgPool;
use tower_sessions::Session;
use uuid::Uuid;

use crate::error::AppError;

/// Shared by the axum router and every server function.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: PgPool,
    pub leptos_options: LeptosOptions,
    /// This process's permission cache (a node of the invalidation protocol).
    pub permissions: std::sync::Arc<domain::tags::permissions::PermissionCache>,
    /// This process's shadow comparison (the rollout's decision records).
    pub shadow: std::sync::Arc<domain::rollout::Shadow>,
    /// The clock for grant states and lifecycle decisions (a manual one in tests).
    pub clock: domain::clock::SharedClock,
    /// Which addresses tenants' webhooks may reach (public only unless the operator
    /// allows private ones); saving a webhook URL checks its host against it.
    pub webhooks_reach: domain::webhooks::Reach,
}

impl AppState {
    /// State with a permission cache that is not yet a node; call
    /// `state.permissions.start(..)` to join the invalidation protocol.
    pub fn new(
        db: PgPool,
        leptos_options: LeptosOptions,
        clock: domain::clock::SharedClock,
    ) -> Self {
        AppState {
            permissions: domain::tags::permissions::PermissionCache::new(clock.clone(), 1_000_000),
            shadow: domain::rollout::Shadow::start(db.clone()),
            db,
            leptos_options,
            clock,
            webhooks_reach: domain::webhooks::Reach::PublicOnly,
        }
    }
}

/// The client's address as seen by the server (set by the server's middleware).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub Option<IpAddr>);

pub const SESSION_ADMIN_ID: &str = "admin_id";
pub const SESSION_TENANT_ID: &str = "tenant_id";
pub const SESSION_SIGNED_IN_AT: &str = "signed_in_at";
/// A session ends this long after sign-in, however active it is.
pub const SESSION_ABSOLUTE_SECONDS: i64 = 12 * 60 * 60;

/// The database pool. Missing only when a request was abandoned mid-render and its
/// reactive owner is already gone; that is an error for a response nobody reads, never a
/// panic.
pub fn db() -> Result<PgPool, AppError> {
    match use_context::<AppState>() {
        Some(state) => Ok(state.db),
        None => {
            tracing::debug!("application state missing from the request context");
            Err(AppError::Internal {
                request_id: request_id(),
            })
        }
    }
}

/// The clock of this process (the system clock, or a test's manual clock).
pub fn now() -> Result<chrono::DateTime<Utc>, AppError> {
    match use_context::<AppState>() {
        Some(state) => Ok(state.clock.now()),
        None => Err(AppError::Internal {
            request_id: request_id(),
        }),
    }
}

/// The shared state (database, permission cache, clock).
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| AppError::Internal {
        request_id: request_id(),
    })
}

pub fn request_id() -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    let value = parts.headers.get("x-request-id")?.to_str().ok()?;
    Some(value.to_owned())
}

/// The Referer of a plain HTML form post (one that accepts text/html, i.e. made
/// without JavaScript), where errors must be carried back in the URL.
pub fn plain_form_referer() -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    let accepts_html = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !accepts_html {
        return None;
    }
    let referer = parts.headers.get(header::REFERER)?.to_str().ok()?;
    Some(referer.to_owned())
}

pub async fn client_address() -> Option<IpAddr> {
    leptos_axum::extract::<axum::Extension<ClientAddress>>()
        .await
        .ok()
        .and_then(|e| e.0.0)
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|error| {
        tracing::error!(%error, "session layer missing");
        AppError::Internal {
            request_id: request_id(),
        }
    })
}

pub fn session_error(error: tower_sessions::session::Error) -> AppError {
    tracing::error!(%error, "session store failed");
    AppError::Internal {
        request_id: request_id(),
    }
}

/// The signed-in principal and the session's active tenant (if any). Sessions past
/// their absolute lifetime, or of a disabled account, are ended here.
///
/// Signed out: a server function called over HTTP answers 401; a page being rendered
/// answers `303 See Other` to the sign-in page instead (see [`redirect_to_sign_in`]).
pub async fn principal() -> Result<(domain::Principal, Option<Uuid>, Session), AppError> {
    match try_principal().await? {
        Some(signed_in) => Ok(signed_in),
        None if redirect_to_sign_in() => Err(AppError::Unauthenticated),
        None => Err(domain::Error::Unauthenticated.into()),
    }
}

/// When the current request is a page load (a GET or HEAD outside `/api/`), answers it
/// with `303 See Other` to `/login?next=<this page>` and returns true; for a server
/// function call does nothing and returns false (those answer 401).
///
/// Every signed-out path of a page render ends here (the layout, and any server
/// function the page calls), so the answer does not depend on which finishes first.
pub fn redirect_to_sign_in() -> bool {
    let Some(parts) = use_context::<http::request::Parts>() else {
        return false;
    };
    let page_load = matches!(parts.method, http::Method::GET | http::Method::HEAD)
        && !parts.uri.path().starts_with("/api/");
    if !page_load {
        return false;
    }
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return false;
    };
    let here = parts
        .uri
        .path_and_query()
        .map_or("/", |path_and_query| path_and_query.as_str());
    let location = crate::access::sign_in::sign_in_location(here);
    let Ok(location) = http::HeaderValue::from_str(&location) else {
        return false;
    };
    response.set_status(http::StatusCode::SEE_OTHER);
    response.insert_header(header::LOCATION, location);
    true
}

/// Like [`principal`], but a missing or ended session is `Ok(None)` rather than an error.
pub async fn try_principal() -> Result<Option<(domain::Principal, Option<Uuid>, Session)>, AppError>
{
    let session = session().await?;
    let admin_id: Option<Uuid> = session.get(SESSION_ADMIN_ID).await.map_err(session_error)?;
    let signed_in_at: Option<i64> = session
        .get(SESSION_SIGNED_IN_AT)
        .await
        .map_err(session_error)?;
    let (Some(admin_id), Some(signed_in_at)) = (admin_id, signed_in_at) else {
        return Ok(None);
    };
    if Utc::now().timestamp() - signed_in_at > SESSION_ABSOLUTE_SECONDS {
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    }
    let principal = match domain::access::auth::principal(&db()?, admin_id).await {
        Ok(principal) => principal,
        Err(domain::Error::Unauthenticated) => {
            session.flush().await.map_err(session_error)?;
            return Ok(None);
        }
        Err(other) => return Err(other.into()),
    };
    let tenant_id: Option<Uuid> = session
        .get::<Option<Uuid>>(SESSION_TENANT_ID)
        .await
        .map_err(session_error)?
        .flatten();
    Ok(Some((principal, tenant_id, session)))
}

/// The authenticated access to the session's active tenant. Every tenant-scoped server
/// function starts here; the tenant comes from the session, never from the request.
pub async fn access() -> Result<domain::Access, AppError> {
    let (principal, tenant_id, _session) = principal().await?;
    let tenant_id = tenant_id.ok_or_else(|| AppError::from(domain::Error::Forbidden))?;
    Ok(domain::access::auth::access(&db()?, &principal, tenant_id, request_id()).await?)
}
