//! Points: the append-only ledger and its invariant check, four-eyes approval of large
//! manual adjustments, the per-tenant points settings, and level tiers (a member's level
//! is a function of their points).

/// Manual adjustments above the tenant's threshold wait for a second tenant admin.
pub mod approvals;
/// A batch of up to 1,000 changes, posted set-based.
pub mod batch;
/// Verifies every ledger invariant and lists violations (`tierdesk check ledger`).
pub mod check;
/// Earn, spend, adjust, reverse: one SQL statement per change, level included.
pub mod ledger;
/// Level tiers, the level function, what-if previews and re-levelling.
pub mod levels;
/// Per-tenant points settings (the four-eyes threshold).
pub mod settings;

pub use ledger::{Entry, EntryKind, Origin, Posted, adjust, earn, reverse, spend};
