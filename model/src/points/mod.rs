//! Points: ledger entries and changes, four-eyes requests, the points settings, and level
//! tiers with the level function.

/// Four-eyes approval requests.
pub mod approvals;
/// Ledger entries, changes and the rules for their fields.
pub mod ledger;
/// Level tiers, the level function and the tier-set rules.
pub mod levels;
/// Per-tenant points settings.
pub mod settings;
