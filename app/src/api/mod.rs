//! Server functions, one module per feature. Each is a thin shell: authenticate from
//! the session, call one `domain` function, convert the result. Endpoints are named
//! explicitly (`/api/<name>`) so that tests and plain HTML forms can address them.

pub mod admins;
pub mod audit;
pub mod auth;
/// Form text turned into typed values (server side).
#[cfg(feature = "ssr")]
pub(crate) mod form;
pub mod grants;
pub mod levels;
pub mod members;
pub mod points;
pub mod tags;
pub mod tenants;
pub mod webhooks;
