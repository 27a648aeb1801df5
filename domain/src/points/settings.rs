//! Per-tenant settings.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Access, Error, Problem, Result, Role, access::audit};
pub use model::points::settings::Settings;

pub async fn get(db: &PgPool, tenant_id: Uuid) -> Result<Settings> {
    let threshold = sqlx::query_scalar!(
        "select adjustment_approval_threshold from tenant_settings where tenant_id = $1",
        tenant_id
    )
    .fetch_optional(db)
    .await?
    .flatten();
    Ok(Settings {
        adjustment_approval_threshold: threshold,
    })
}

/// The active tenant's settings (every role may read them).
pub async fn current(db: &PgPool, access: &Access) -> Result<Settings> {
    access.require(Role::Viewer)?;
    get(db, access.tenant_id).await
}

/// Sets the four-eyes threshold (tenant admins only); audited.
pub async fn set_approval_threshold(
    db: &PgPool,
    access: &Access,
    threshold: Option<i64>,
) -> Result<Settings> {
    access.require(Role::TenantAdmin)?;
    if threshold.is_some_and(|t| t <= 0) {
        return Err(Error::invalid(
            "adjustment_approval_threshold",
            Problem::Format,
        ));
    }
    let mut tx = db.begin().await?;
    let before = sqlx::query_scalar!(
        "select adjustment_approval_threshold from tenant_settings where tenant_id = $1 for no key update",
        access.tenant_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    sqlx::query!(
        "insert into tenant_settings (tenant_id, adjustment_approval_threshold) values ($1, $2)
         on conflict (tenant_id) do update set adjustment_approval_threshold = excluded.adjustment_approval_threshold,
                                               updated_at = now()",
        access.tenant_id,
        threshold
    )
    .execute(&mut *tx)
    .await?;
    let event = audit::Event {
        action: "settings.approval_threshold",
        target_type: "tenant",
        target_id: access.tenant_id.to_string(),
        before: Some(json!({ "adjustment_approval_threshold": before })),
        after: Some(json!({ "adjustment_approval_threshold": threshold })),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    Ok(Settings {
        adjustment_approval_threshold: threshold,
    })
}
