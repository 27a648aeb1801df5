//! The REST API's state in the database: API keys (create, rotate with grace, revoke,
//! authenticate from the process's cache) and the idempotency store of POST requests.
//! The HTTP side (routes, errors, rate limits) is in the server crate; every endpoint is
//! a thin shell over one domain function of the feature it touches.

/// The idempotency store: the first response to each `Idempotency-Key`.
pub mod idempotency;
/// API keys: lifecycle and authentication.
pub mod keys;
