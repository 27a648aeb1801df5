//! Webhooks: the tenant's webhook settings, outbox and delivery log.

/// Server functions of this feature.
pub mod api;
/// UI text of this feature.
pub mod i18n;
/// The webhook settings page with the outbox and the delivery log.
pub mod settings;
