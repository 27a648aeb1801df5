use serde_json::json;
use sqlx::PgPool;

use crate::error::ResultExt;
use crate::{Conflict, Error, Principal, Result, Role, access::audit};
pub use model::access::tenants::{Membership, Tenant};
use model::input;

/// Tenants listed (and offered in the switcher) at most.
pub const TENANTS_LIST_MAX: i64 = 1_000;

/// Creates a tenant; platform administrators only. Audited in the platform log and in
/// the new tenant's own log. The tenant has no level tiers yet (see
/// [`create_with_default_tiers`] for the console's and the CLI's tenants).
pub async fn create(
    db: &PgPool,
    principal: &Principal,
    request_id: Option<&str>,
    slug: &str,
    name: &str,
) -> Result<Tenant> {
    let mut tx = db.begin().await?;
    let tenant = insert(&mut tx, principal, request_id, slug, name).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant.tenant_id, slug = %tenant.slug, "tenant created");
    Ok(tenant)
}

/// Creates a tenant that starts with the default level tiers (bronze to diamond), in
/// one transaction: what a new tenant of the console or the CLI gets.
pub async fn create_with_default_tiers(
    db: &PgPool,
    principal: &Principal,
    request_id: Option<&str>,
    slug: &str,
    name: &str,
) -> Result<Tenant> {
    let mut tx = db.begin().await?;
    let tenant = insert(&mut tx, principal, request_id, slug, name).await?;
    crate::points::levels::install(
        &mut tx,
        tenant.tenant_id,
        &crate::points::levels::default_tiers(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %tenant.tenant_id, slug = %tenant.slug, "tenant created with default tiers");
    Ok(tenant)
}

async fn insert(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    request_id: Option<&str>,
    slug: &str,
    name: &str,
) -> Result<Tenant> {
    principal.require_platform_admin()?;
    let slug = input::slug(slug)?;
    let name = input::name("name", name)?;
    let tenant = sqlx::query_as!(
        Tenant,
        "insert into tenants (slug, name) values ($1, $2)
         returning tenant_id, slug, name, created_at",
        slug,
        name
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint("tenants_slug_key", || {
        Error::Conflict(Conflict::TenantSlugTaken)
    })?;
    let event = || audit::Event {
        action: "tenant.create",
        target_type: "tenant",
        target_id: tenant.tenant_id.to_string(),
        before: None,
        after: Some(json!({ "slug": tenant.slug, "name": tenant.name })),
    };
    audit::record_platform(tx, principal, request_id, event()).await?;
    audit::record_in_tenant(tx, tenant.tenant_id, principal, request_id, event()).await?;
    Ok(tenant)
}

/// Every tenant; platform administrators only.
pub async fn list_all(db: &PgPool, principal: &Principal) -> Result<Vec<Tenant>> {
    principal.require_platform_admin()?;
    let tenants = sqlx::query_as!(
        Tenant,
        "select tenant_id, slug, name, created_at from tenants order by name, tenant_id limit $1",
        TENANTS_LIST_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(tenants)
}

/// The tenants a principal may switch to: enabled, accepted memberships (never an
/// invitation still open), or every tenant for a platform administrator (as tenant
/// admin).
pub async fn memberships(db: &PgPool, principal: &Principal) -> Result<Vec<Membership>> {
    let rows = sqlx::query!(
        r#"select t.tenant_id, t.slug, t.name, ta.role as "role?"
           from tenants t
           left join tenant_admins ta
             on ta.tenant_id = t.tenant_id and ta.admin_id = $1
                and ta.accepted_at is not null and ta.disabled_at is null
           where ta.admin_id is not null or $2
           order by t.name, t.tenant_id
           limit $3"#,
        principal.admin_id,
        principal.is_platform_admin,
        TENANTS_LIST_MAX
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            let role = match (principal.is_platform_admin, row.role) {
                (true, _) | (false, None) => Role::TenantAdmin,
                (false, Some(role)) => Role::parse(&role)?,
            };
            Ok(Membership {
                tenant_id: row.tenant_id,
                slug: row.slug,
                name: row.name,
                role,
            })
        })
        .collect()
}

/// Looks a tenant up by slug, for the command line.
pub async fn by_slug(db: &PgPool, slug: &str) -> Result<Tenant> {
    sqlx::query_as!(
        Tenant,
        "select tenant_id, slug, name, created_at from tenants where slug = $1",
        slug
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::not_found("tenant"))
}

/// The tenant the access is scoped to.
pub async fn current(db: &PgPool, access: &crate::Access) -> Result<Tenant> {
    sqlx::query_as!(
        Tenant,
        "select tenant_id, slug, name, created_at from tenants where tenant_id = $1",
        access.tenant_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::not_found("tenant"))
}
