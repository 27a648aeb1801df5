//! Points: the append-only ledger and its invariant check, and four-eyes approval of
//! large manual adjustments.

/// Manual adjustments above the tenant's threshold wait for a second tenant admin.
pub mod approvals;
/// Verifies every ledger invariant and lists violations (`tierdesk check ledger`).
pub mod check;
/// Earn, spend, adjust, reverse: one SQL statement per change, level included.
pub mod ledger;

pub use ledger::{Entry, EntryKind, Origin, Posted, adjust, earn, reverse, spend};
