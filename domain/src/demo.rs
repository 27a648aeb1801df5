//! Demo data: two tenants and one account per role, so that a newcomer can sign in and
//! see tenant switching, roles and isolation at once. Idempotent: seeding twice changes
//! nothing the second time.

use sqlx::PgPool;

use crate::admins::{self, NewAccount};
use crate::{Principal, Result, Role, tenants};

pub const DEMO_TENANT_SLUG: &str = "demo";
pub const SECOND_TENANT_SLUG: &str = "acme";
/// The password of every demo account. Demo data is for trying Tierdesk out, never for
/// production; the console prints it on first start.
pub const DEMO_PASSWORD: &str = "tierdesk-demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.tierdesk.test";
pub const DEMO_SUPPORT_EMAIL: &str = "support@demo.tierdesk.test";
pub const DEMO_VIEWER_EMAIL: &str = "viewer@demo.tierdesk.test";
pub const SECOND_ADMIN_EMAIL: &str = "admin@acme.tierdesk.test";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    AlreadyPresent,
}

/// True when the database holds no tenant at all (a brand-new installation).
pub async fn is_empty(db: &PgPool) -> Result<bool> {
    let any = sqlx::query_scalar!(r#"select exists (select 1 from tenants) as "any!""#)
        .fetch_one(db)
        .await?;
    Ok(!any)
}

/// Seeds the demo tenants and accounts unless the demo tenant exists already.
///
/// The demo admin is a platform administrator and tenant admin of both tenants (to
/// show the tenant switcher); support and viewer belong to the demo tenant only; the
/// second tenant has its own admin, who cannot see the demo tenant.
pub async fn seed(db: &PgPool) -> Result<Outcome> {
    if tenants::by_slug(db, DEMO_TENANT_SLUG).await.is_ok() {
        return Ok(Outcome::AlreadyPresent);
    }
    let cli = Principal::cli();
    let demo = tenants::create(db, &cli, None, DEMO_TENANT_SLUG, "Demo Company 演示公司").await?;
    let acme =
        tenants::create(db, &cli, None, SECOND_TENANT_SLUG, "Acme Learning 极客学堂").await?;
    let accounts = [
        (
            DEMO_ADMIN_EMAIL,
            "Demo Admin 管理员",
            true,
            Some((demo.tenant_id, Role::TenantAdmin)),
        ),
        (
            DEMO_SUPPORT_EMAIL,
            "Sam Support 客服",
            false,
            Some((demo.tenant_id, Role::Support)),
        ),
        (
            DEMO_VIEWER_EMAIL,
            "Vera Viewer 产品经理",
            false,
            Some((demo.tenant_id, Role::Viewer)),
        ),
        (
            SECOND_ADMIN_EMAIL,
            "Acme Admin",
            false,
            Some((acme.tenant_id, Role::TenantAdmin)),
        ),
    ];
    for (email, display_name, is_platform_admin, membership) in accounts {
        let new = NewAccount {
            email: email.into(),
            display_name: display_name.into(),
            password: DEMO_PASSWORD.into(),
            is_platform_admin,
            membership,
        };
        admins::create_account(db, &cli, new).await?;
    }
    // The demo admin also administers the second tenant as a member (not only as a
    // platform administrator), so its switcher shows a real membership there.
    let demo_admin = sqlx::query_scalar!(
        "select admin_id from admins where email = $1",
        DEMO_ADMIN_EMAIL
    )
    .fetch_one(db)
    .await?;
    sqlx::query!(
        "insert into tenant_admins (tenant_id, admin_id, role) values ($1, $2, 'tenant_admin')",
        acme.tenant_id,
        demo_admin
    )
    .execute(db)
    .await?;
    let event = crate::audit::Event {
        action: "admin.add",
        target_type: "admin",
        target_id: demo_admin.to_string(),
        before: None,
        after: Some(serde_json::json!({ "email": DEMO_ADMIN_EMAIL, "role": "tenant_admin" })),
    };
    let mut conn = db.acquire().await?;
    crate::audit::record_in_tenant(&mut conn, acme.tenant_id, &cli, None, event).await?;
    Ok(Outcome::Created)
}
