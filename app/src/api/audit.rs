use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::context::{access, db};
use crate::dto::AuditPage;
use crate::error::AppError;

pub const AUDIT_PAGE_SIZE: i64 = 50;

/// A page of the active tenant's audit log, newest first (support and tenant admins).
#[server(endpoint = "list_audit")]
pub async fn list_audit(before: Option<i64>) -> Result<AuditPage, AppError> {
    let access = access().await?;
    Ok(
        domain::access::audit::list(&db()?, &access, before, AUDIT_PAGE_SIZE)
            .await?
            .into(),
    )
}
