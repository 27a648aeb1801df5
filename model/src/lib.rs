//! Tierdesk's shared vocabulary, from the database to the browser.
//!
//! Every type the console shows or a client sends is defined here once: data types,
//! the problems and conflicts a request can be refused for, and the *pure* rules (input
//! normalisation, the tier-set rules and the level function, grant states, the quota
//! rule). No I/O: no sqlx, no tokio, no password hashing, so the crate compiles to WASM
//! as well as for the server. `domain` builds on it (and re-exports each type from its
//! feature module); `app` uses it directly in both builds.
//!
//! Arranged by feature, like `domain` and `app`: `access`, `api`, `licenses`, `members`, `migration`, `overview`, `points`,
//! `rollout`, `tags`, `webhooks`.

/// Roles, the session as the console shows it, tenants, admin accounts, the audit log.
pub mod access;
/// API keys of tenant backends and their secrets' format.
pub mod api;
/// CSV both ways: rows for downloads (formula-safe) and a streaming reader for uploads.
pub mod csv;
/// Problems, conflicts and [`Invalid`], the refusal of a pure check.
pub mod error;
/// Normalisation and validation of user input.
pub mod input;
/// License plans, licenses, assignments within the quota, activations, validation.
pub mod licenses;
/// Members and their profiles.
pub mod members;
/// The legacy migration's pure rules: the historical-points formula and the mapping.
pub mod migration;
/// The overview: a tenant's figures (members, points per day, levels, tags, activity).
pub mod overview;
/// Ledger entries, four-eyes requests, points settings, level tiers.
pub mod points;
/// Gray rollout: Unleash-compatible bucketing, cohorts and strata.
pub mod rollout;
/// The tag catalogue, grants, effective permissions and the quota rule.
pub mod tags;
/// Webhook settings, outbox events and deliveries.
pub mod webhooks;

pub use access::Role;
pub use error::{Checked, Conflict, Invalid, Problem};
