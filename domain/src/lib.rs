//! Tierdesk's business logic on PostgreSQL.
//!
//! Every operation is a plain async function that takes a pool (or a transaction) and an
//! [`access::Access`] describing who acts in which tenant. Authorisation is decided here,
//! once, so that the console, the REST API and the CLI cannot disagree. Nothing in this
//! crate knows about HTTP, sessions or Leptos.

/// Who acts where (access checks), sign-in, admin accounts, tenants, the audit log.
pub mod access;
/// The REST API's keys and idempotency store.
pub mod api;
/// Time as a dependency (system clock, manual clock for tests).
pub mod clock;
/// Pool creation, migrations and health checks.
pub mod db;
/// Demo data for a newcomer's first start and for end-to-end tests.
pub mod demo;
/// The domain error type and the mapping of named PostgreSQL constraints onto it.
pub mod error;
/// Licenses: plans, seats within the quota, activations, validation, the expiry job.
pub mod licenses;
/// Members: global identity, per-tenant profile, search.
pub mod members;
/// The legacy migration: the legacy model's data and answers.
pub mod migration;
/// The overview: a tenant's figures (members, points per day, levels, tags, activity),
/// and the fold of the daily points aggregate.
pub mod overview;
/// Points: the ledger, its invariant check, four-eyes approvals, settings, level tiers.
pub mod points;
/// The gray rollout: cohorts, stages, per-decision routing, shadow comparison, gates.
pub mod rollout;
/// Tags: the catalogue, grants and their lifecycle, effective permissions and their cache.
pub mod tags;
/// Fixture builders for tests (`TestTenant::new(..).with_admin(..)`).
#[cfg(any(test, feature = "testing"))]
pub mod testing;
/// Webhook settings, signed outbox deliveries and their log.
pub mod webhooks;

pub use access::{Access, Principal, Role};
pub use error::{Conflict, Error, Problem, Result};
