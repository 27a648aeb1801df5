//! Server functions of access: sign-in and the session, tenants, admins and
//! invitations, the audit log. Each is a thin shell over one `domain` function.

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{
    SESSION_ADMIN_ID, SESSION_SIGNED_IN_AT, SESSION_TENANT_ID, access, client_address, db,
    principal, request_id, session, session_error, try_principal,
};
use crate::error::AppError;
use model::access::admins::{Invitation, Member as Admin};
use model::access::audit::Page as AuditPage;
#[cfg(feature = "ssr")]
use model::access::tenants::Membership;
use model::access::tenants::Tenant;
use model::access::{Role, SessionInfo};

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
    leptos_axum::redirect(&crate::access::sign_in::safe_next_path(next.as_deref()));
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
    let tenants: Vec<Membership> = domain::access::tenants::memberships(&db, &principal).await?;
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
    Ok(domain::access::tenants::current(&db()?, &access).await?)
}

/// Every tenant (platform administrators only).
#[server(endpoint = "list_tenants")]
pub async fn list_tenants() -> Result<Vec<Tenant>, AppError> {
    let (principal, _, _) = principal().await?;
    Ok(domain::access::tenants::list_all(&db()?, &principal).await?)
}

/// Creates a tenant (platform administrators only).
#[server(endpoint = "create_tenant")]
pub async fn create_tenant(slug: String, name: String) -> Result<Tenant, AppError> {
    let (principal, _, _) = principal().await?;
    let tenant = domain::access::tenants::create_with_default_tiers(
        &db()?,
        &principal,
        request_id().as_deref(),
        &slug,
        &name,
    )
    .await?;
    Ok(tenant)
}

/// The admins of the active tenant (tenant admins only).
#[server(endpoint = "list_admins")]
pub async fn list_admins() -> Result<Vec<Admin>, AppError> {
    let access = access().await?;
    Ok(domain::access::admins::list(&db()?, &access).await?)
}

/// Invites an email into the active tenant: a pending membership, whether or not the
/// email has an account (a new email gets one with `password`, and signing in with it
/// accepts). The answer is the same either way and shows only what was typed.
#[server(endpoint = "add_admin")]
pub async fn add_admin(
    email: String,
    display_name: String,
    role: Role,
    password: Option<String>,
) -> Result<Admin, AppError> {
    let access = access().await?;
    let new = domain::access::admins::NewMember {
        email,
        display_name,
        role,
        password: password.filter(|p| !p.is_empty()),
    };
    Ok(domain::access::admins::add(&db()?, &access, new).await?)
}

#[server(endpoint = "change_admin_role")]
pub async fn change_admin_role(admin_id: Uuid, role: Role) -> Result<Admin, AppError> {
    let access = access().await?;
    Ok(domain::access::admins::change_role(&db()?, &access, admin_id, role).await?)
}

#[server(endpoint = "set_admin_disabled")]
pub async fn set_admin_disabled(admin_id: Uuid, disabled: bool) -> Result<Admin, AppError> {
    let access = access().await?;
    Ok(domain::access::admins::set_disabled(&db()?, &access, admin_id, disabled).await?)
}

/// The signed-in account's open invitations (every signed-in account).
#[server(endpoint = "list_invitations")]
pub async fn list_invitations() -> Result<Vec<Invitation>, AppError> {
    let (principal, _, _) = principal().await?;
    Ok(domain::access::admins::invitations(&db()?, &principal).await?)
}

/// Accepts an invitation of the signed-in account and opens that tenant.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(tenant_id: Uuid) -> Result<(), AppError> {
    let (principal, _, session) = principal().await?;
    let request_id = request_id();
    domain::access::admins::accept_invitation(&db()?, &principal, request_id.as_deref(), tenant_id)
        .await?;
    session
        .insert(SESSION_TENANT_ID, Some(tenant_id))
        .await
        .map_err(session_error)?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Declines an invitation of the signed-in account.
#[server(endpoint = "decline_invitation")]
pub async fn decline_invitation(tenant_id: Uuid) -> Result<(), AppError> {
    let (principal, _, _) = principal().await?;
    let request_id = request_id();
    domain::access::admins::decline_invitation(
        &db()?,
        &principal,
        request_id.as_deref(),
        tenant_id,
    )
    .await?;
    leptos_axum::redirect("/");
    Ok(())
}

pub const AUDIT_PAGE_SIZE: i64 = 50;

/// A page of the active tenant's audit log, newest first (support and tenant admins).
/// A page of the audit log, filtered by who, what, which target and when (dates as a
/// date input sends them).
#[server(endpoint = "list_audit")]
pub async fn list_audit(
    before: Option<i64>,
    actor: Option<String>,
    action: Option<String>,
    target_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<AuditPage, AppError> {
    use crate::form::optional;
    let access = access().await?;
    let filter = domain::access::audit::Filter {
        actor,
        action,
        target_id,
        from: optional("from", from.as_deref())?,
        to: optional("to", to.as_deref())?,
    };
    Ok(domain::access::audit::search(&db()?, &access, &filter, before, AUDIT_PAGE_SIZE).await?)
}

/// The Audit page's filters as the export link carries them (`?actor=…&from=…`).
#[cfg(feature = "ssr")]
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditExportQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The audit rows matching the Audit page's filters, as CSV (see
/// `domain::access::audit::export_csv`). Served by the server's router at `GET
/// /export/audit.csv` as a download: not a server function, because those answer a
/// browser's request (one that accepts HTML and has a Referer) by redirecting back to
/// the page it came from. Runs in a request's reactive context like a server function
/// (session, response options); errors set the response status as they do there.
#[cfg(feature = "ssr")]
pub async fn audit_export(
    query: AuditExportQuery,
) -> Result<domain::access::audit::Export, AppError> {
    use crate::form::optional;
    let access = access().await?;
    let filter = domain::access::audit::Filter {
        actor: query.actor,
        action: query.action,
        target_id: query.target_id,
        from: optional("from", query.from.as_deref())?,
        to: optional("to", query.to.as_deref())?,
    };
    Ok(domain::access::audit::export_csv(&db()?, &access, &filter).await?)
}
