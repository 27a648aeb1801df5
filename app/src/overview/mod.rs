//! The overview: the product manager's page of the tenant's figures, with charts.

/// Server functions.
pub mod api;
/// UI text.
pub mod i18n;
/// The page.
pub mod page;
