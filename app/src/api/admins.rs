use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{access, db};
use crate::dto::{Admin, Role};
use crate::error::AppError;

/// The admins of the active tenant (tenant admins only).
#[server(endpoint = "list_admins")]
pub async fn list_admins() -> Result<Vec<Admin>, AppError> {
    let access = access().await?;
    let admins = domain::admins::list(&db()?, &access).await?;
    Ok(admins.into_iter().map(Admin::from).collect())
}

/// Adds an admin to the active tenant, creating the account if the email is new.
#[server(endpoint = "add_admin")]
pub async fn add_admin(
    email: String,
    display_name: String,
    role: Role,
    password: Option<String>,
) -> Result<Admin, AppError> {
    let access = access().await?;
    let new = domain::admins::NewMember {
        email,
        display_name,
        role: role.into(),
        password: password.filter(|p| !p.is_empty()),
    };
    Ok(domain::admins::add(&db()?, &access, new).await?.into())
}

#[server(endpoint = "change_admin_role")]
pub async fn change_admin_role(admin_id: Uuid, role: Role) -> Result<Admin, AppError> {
    let access = access().await?;
    Ok(
        domain::admins::change_role(&db()?, &access, admin_id, role.into())
            .await?
            .into(),
    )
}

#[server(endpoint = "set_admin_disabled")]
pub async fn set_admin_disabled(admin_id: Uuid, disabled: bool) -> Result<Admin, AppError> {
    let access = access().await?;
    Ok(
        domain::admins::set_disabled(&db()?, &access, admin_id, disabled)
            .await?
            .into(),
    )
}
