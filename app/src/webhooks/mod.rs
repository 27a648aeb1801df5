//! Webhooks: the tenant's webhook settings, outbox and delivery log.

/// Server functions of this feature.
pub mod api;
/// UI text of this feature.
pub mod i18n;
/// The webhook settings page with the outbox and the delivery log.
pub mod settings;

/// An outbox event's status in the UI language (the code itself if unknown).
pub fn status_label(status: &str, t: &crate::i18n::Texts) -> String {
    match status {
        "pending" => t.webhooks.status_pending,
        "delivered" => t.webhooks.status_delivered,
        "failed" => t.webhooks.status_failed,
        "skipped" => t.webhooks.status_skipped,
        other => other,
    }
    .to_owned()
}
