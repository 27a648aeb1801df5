//! Server functions of the overview.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::context::{access, db, now};
use crate::error::AppError;
use model::overview::Overview;

/// The tenant's figures, points per day over the last `days` days (30 or 90; every
/// role).
#[server(endpoint = "overview")]
pub async fn tenant_overview(days: u32) -> Result<Overview, AppError> {
    let access = access().await?;
    Ok(domain::overview::overview(&db()?, &access, now()?, days).await?)
}
