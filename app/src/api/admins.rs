use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{SESSION_TENANT_ID, access, db, principal, request_id, session_error};
use crate::dto::{Admin, Invitation, Role};
use crate::error::AppError;

/// The admins of the active tenant (tenant admins only).
#[server(endpoint = "list_admins")]
pub async fn list_admins() -> Result<Vec<Admin>, AppError> {
    let access = access().await?;
    let admins = domain::access::admins::list(&db()?, &access).await?;
    Ok(admins.into_iter().map(Admin::from).collect())
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
        role: role.into(),
        password: password.filter(|p| !p.is_empty()),
    };
    Ok(domain::access::admins::add(&db()?, &access, new)
        .await?
        .into())
}

#[server(endpoint = "change_admin_role")]
pub async fn change_admin_role(admin_id: Uuid, role: Role) -> Result<Admin, AppError> {
    let access = access().await?;
    Ok(
        domain::access::admins::change_role(&db()?, &access, admin_id, role.into())
            .await?
            .into(),
    )
}

#[server(endpoint = "set_admin_disabled")]
pub async fn set_admin_disabled(admin_id: Uuid, disabled: bool) -> Result<Admin, AppError> {
    let access = access().await?;
    Ok(
        domain::access::admins::set_disabled(&db()?, &access, admin_id, disabled)
            .await?
            .into(),
    )
}

/// The signed-in account's open invitations (every signed-in account).
#[server(endpoint = "list_invitations")]
pub async fn list_invitations() -> Result<Vec<Invitation>, AppError> {
    let (principal, _, _) = principal().await?;
    let invitations = domain::access::admins::invitations(&db()?, &principal).await?;
    Ok(invitations.into_iter().map(Invitation::from).collect())
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
