//! Tierdesk's business logic on PostgreSQL.
//!
//! Every operation is a plain async function that takes a pool (or a transaction) and an
//! [`access::Access`] describing who acts in which tenant. Authorisation is decided here,
//! once, so that the console, the REST API and the CLI cannot disagree. Nothing in this
//! crate knows about HTTP, sessions or Leptos.

/// Who is acting, in which tenant, with which role; the checks every operation starts with.
pub mod access;
/// Admin accounts and their per-tenant memberships (add, change role, disable).
pub mod admins;
/// The append-only audit log of administrative changes.
pub mod audit;
/// Sign-in: password verification, throttling of failures, loading a session's access.
pub mod auth;
/// Time as a dependency (system clock, manual clock for tests).
pub mod clock;
/// Pool creation, migrations and health checks.
pub mod db;
/// Demo data for a newcomer's first start and for end-to-end tests.
pub mod demo;
/// The domain error type and the mapping of named PostgreSQL constraints onto it.
pub mod error;
/// Tag grants and their lifecycle (grace, expiry, renewal, reminders).
pub mod grants;
/// Input checks shared by every operation (lengths, formats), with typed problems.
pub mod input;
/// Level tiers, the level function, what-if previews and re-levelling.
pub mod levels;
/// Members: global identity, per-tenant profile, search.
pub mod members;
/// argon2id password hashing, off the async runtime.
pub mod password;
/// Effective permissions (level ∪ tags, with sources) and the never-stale cache.
pub mod permissions;
/// The points ledger, its invariant check, four-eyes approvals.
pub mod points;
/// Per-tenant settings.
pub mod settings;
/// The tag catalogue (privileges and grant terms).
pub mod tags;
/// Tenants: creation by platform administrators and listing.
pub mod tenants;
/// Fixture builders for tests (`TestTenant::new(..).with_admin(..)`).
#[cfg(any(test, feature = "testing"))]
pub mod testing;
/// Webhook settings, signed outbox deliveries and their log.
pub mod webhooks;

pub use access::{Access, Principal, Role};
pub use error::{Conflict, Error, Problem, Result};
