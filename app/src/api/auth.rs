use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{
    SESSION_ADMIN_ID, SESSION_SIGNED_IN_AT, SESSION_TENANT_ID, access, client_address, db,
    principal, request_id, session, session_error, try_principal,
};
use crate::dto::{SessionInfo, Tenant};
use crate::error::AppError;

/// Signs in with email and password; on success the session id is cycled (against
/// session fixation) and the browser is sent back to `next` (the page that asked for
/// sign-in) when that is a path of this site, else to the console's start page.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    let now = chrono::Utc::now();
    let signed_in =
        domain::access::auth::sign_in(&db()?, &email, &password, client_address().await, now)
            .await?;
    let session = session().await?;
    session.clear().await;
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(SESSION_ADMIN_ID, signed_in.admin_id)
        .await
        .map_err(session_error)?;
    session
        .insert(SESSION_TENANT_ID, signed_in.tenant_id)
        .await
        .map_err(session_error)?;
    session
        .insert(SESSION_SIGNED_IN_AT, now.timestamp())
        .await
        .map_err(session_error)?;
    tracing::info!(admin_id = %signed_in.admin_id, "signed in");
    leptos_axum::redirect(&crate::pages::sign_in::safe_next_path(next.as_deref()));
    Ok(())
}

/// Ends the session (deleting it from the store) and returns to the sign-in page.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    session().await?.flush().await.map_err(session_error)?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Who is signed in, the tenants they may open and the active one; `None` when signed
/// out. If the active tenant is no longer accessible, the first accessible one is chosen.
#[server(endpoint = "session_info")]
pub async fn get_session_info() -> Result<Option<SessionInfo>, AppError> {
    let Some((principal, tenant_id, session)) = try_principal().await? else {
        return Ok(None);
    };
    let db = db()?;
    let profile = domain::access::auth::profile(&db, &principal).await?;
    let tenants: Vec<crate::dto::TenantChoice> =
        domain::access::tenants::memberships(&db, &principal)
            .await?
            .into_iter()
            .map(crate::dto::TenantChoice::from)
            .collect();
    let active = tenants
        .iter()
        .find(|t| Some(t.tenant_id) == tenant_id)
        .or_else(|| tenants.first())
        .cloned();
    let active_id = active.as_ref().map(|t| t.tenant_id);
    if active_id != tenant_id {
        session
            .insert(SESSION_TENANT_ID, active_id)
            .await
            .map_err(session_error)?;
    }
    Ok(Some(SessionInfo {
        email: profile.email,
        display_name: profile.display_name,
        is_platform_admin: profile.is_platform_admin,
        active,
        tenants,
    }))
}

/// Makes another tenant the session's active tenant, if the principal may open it.
#[server(endpoint = "switch_tenant")]
pub async fn switch_tenant(tenant_id: Uuid) -> Result<(), AppError> {
    let (principal, _, session) = principal().await?;
    domain::access::auth::access(&db()?, &principal, tenant_id, request_id()).await?;
    session
        .insert(SESSION_TENANT_ID, Some(tenant_id))
        .await
        .map_err(session_error)?;
    leptos_axum::redirect("/");
    Ok(())
}

/// The active tenant, for the overview page (every role).
#[server(endpoint = "current_tenant")]
pub async fn current_tenant() -> Result<Tenant, AppError> {
    let access = access().await?;
    Ok(domain::access::tenants::current(&db()?, &access)
        .await?
        .into())
}
