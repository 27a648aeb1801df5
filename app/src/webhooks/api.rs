//! Server functions of webhooks: settings, the outbox and the delivery log.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::context::{access, db, state};
use crate::error::AppError;
use model::webhooks::{DeliveryAttempt, OutboxEvent, Webhook};

/// The tenant's webhook settings, secret included (tenant admins).
#[server(endpoint = "get_webhook")]
pub async fn get_webhook() -> Result<Webhook, AppError> {
    let access = access().await?;
    Ok(domain::webhooks::get(&db()?, &access).await?)
}

/// Saves the webhook URL (empty: no deliveries) and the reminder lead time; a ticked
/// `rotate_secret` replaces the signing secret (tenant admins). Unless the operator
/// allows private targets, the URL's host must resolve to public addresses (422 on
/// `webhook_url` otherwise). The answer carries the URL as saved, for the admin editing
/// it; the delivery log and the audit log show it without credentials.
#[server(endpoint = "save_webhook")]
pub async fn save_webhook(
    url: Option<String>,
    reminder_days: String,
    rotate_secret: Option<String>,
) -> Result<Webhook, AppError> {
    use crate::form::required;
    let access = access().await?;
    let reminder_days = required("reminder_days", &reminder_days)?;
    Ok(domain::webhooks::set(
        &db()?,
        &access,
        url.as_deref(),
        reminder_days,
        rotate_secret.is_some(),
        state()?.webhooks_reach,
    )
    .await?)
}

/// The tenant's latest outbox events (tenant admins).
#[server(endpoint = "webhook_events")]
pub async fn webhook_events() -> Result<Vec<OutboxEvent>, AppError> {
    let access = access().await?;
    Ok(domain::webhooks::events(&db()?, &access).await?)
}

/// The tenant's latest delivery attempts (tenant admins).
#[server(endpoint = "webhook_deliveries")]
pub async fn webhook_deliveries() -> Result<Vec<DeliveryAttempt>, AppError> {
    let access = access().await?;
    Ok(domain::webhooks::deliveries(&db()?, &access).await?)
}

/// Queues a test event for the tenant's webhook (tenant admins).
#[server(endpoint = "send_test_webhook")]
pub async fn send_test_webhook() -> Result<i64, AppError> {
    let access = access().await?;
    Ok(domain::webhooks::send_test(&db()?, &access).await?)
}

/// Delivers an outbox event again, as a new event (tenant admins).
#[server(endpoint = "redeliver_webhook")]
pub async fn redeliver_webhook(event_id: i64) -> Result<i64, AppError> {
    let access = access().await?;
    Ok(domain::webhooks::redeliver(&db()?, &access, event_id).await?)
}
