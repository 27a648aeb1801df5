//! Members: the searchable list and the member page (profile, ledger with adjustments
//! and reversals, level history; the member's tags come from `tags`).

/// Server functions of this feature.
pub mod api;
/// UI text of this feature.
pub mod i18n;
/// The member list with search and keyset paging.
pub mod list;
/// One member's page.
pub mod member;
