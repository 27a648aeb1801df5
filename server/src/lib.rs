//! The Tierdesk server: one binary with the console (Leptos SSR + server functions),
//! health checks, background housekeeping and the command line.
//!
//! Reading order: `main.rs` (commands) → [`config`] → [`embedded`] (the default
//! database) → [`router`] (HTTP: middleware, routes) → [`session_store`], [`csrf`].

/// The REST API v1 for tenant backends (`/api/v1`).
pub mod api;
/// `tierdesk api …`: the OpenAPI document and API keys from the command line.
pub mod api_cli;
/// Benchmarks (`tierdesk bench …`).
pub mod bench;
/// `Cache-Control` per kind of response (hashed assets, files, server functions, pages).
pub mod caching;
/// Command-line flags and environment variables.
pub mod config;
/// Cross-site request forgery protection (Origin/Referer check).
pub mod csrf;
/// The embedded default PostgreSQL cluster.
pub mod embedded;
/// Body limit, NUL refusal and disconnect-proof writes for every request.
pub mod guard;
/// Background jobs: the grant lifecycle, webhook delivery, re-levels after tier saves.
pub mod jobs;
/// `tierdesk migration …`: the legacy migration's steps as commands.
pub mod migration_cli;
/// The HTTP router: console pages, server functions, health, language switch.
/// `tierdesk rollout …` and `tierdesk simulate traffic`.
pub mod rollout_cli;
pub mod router;
/// tower-sessions store in PostgreSQL.
pub mod session_store;
/// Logging setup.
pub mod telemetry;
/// Simulated decision traffic (the CLI, the demo, the benchmark).
pub mod traffic;
