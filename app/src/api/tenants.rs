use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::context::{db, principal, request_id};
use crate::dto::Tenant;
use crate::error::AppError;

/// Every tenant (platform administrators only).
#[server(endpoint = "list_tenants")]
pub async fn list_tenants() -> Result<Vec<Tenant>, AppError> {
    let (principal, _, _) = principal().await?;
    let tenants = domain::access::tenants::list_all(&db()?, &principal).await?;
    Ok(tenants.into_iter().map(Tenant::from).collect())
}

/// Creates a tenant (platform administrators only).
#[server(endpoint = "create_tenant")]
pub async fn create_tenant(slug: String, name: String) -> Result<Tenant, AppError> {
    let (principal, _, _) = principal().await?;
    let tenant =
        domain::access::tenants::create(&db()?, &principal, request_id().as_deref(), &slug, &name)
            .await?;
    Ok(tenant.into())
}
