//! API keys: the REST API's keys of a tenant's backend (tenant admins).

/// Server functions of this feature.
pub mod api;
/// UI text of this feature.
pub mod i18n;
/// The API keys page: create, rotate with grace, revoke, rate limits.
pub mod page;
