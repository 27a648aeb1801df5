//! The first response to each `Idempotency-Key`, per API key (Stripe's rules):
//!
//! - the first request under a key claims it (a row with no response yet) and runs;
//!   its response (2xx or 4xx) is stored with it;
//! - a retry with the same method, path and body gets the stored response, and the
//!   work is not done again;
//! - the same key with a different request is refused (422);
//! - a retry while the first is still running is refused (409): exactly one of any
//!   number of concurrent identical requests does the work;
//! - a first request that ended in a server fault leaves no row, so a retry runs again.
//!
//! A claim whose process died (no response after [`ABANDONED_AFTER_SECS`]) may be taken
//! over by a retry. Points changes also carry the key into the ledger's own idempotency,
//! so even then a change is posted once. Rows are kept [`KEEP_HOURS`] hours.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::Result;
use crate::api::keys::Caller;

/// A claim this old with no response is taken to be abandoned.
pub const ABANDONED_AFTER_SECS: f64 = 600.0;
/// Stored responses are kept at least this long (pruned by the jobs after it).
pub const KEEP_HOURS: i32 = 48;
pub const KEY_LENGTH_MAX: usize = 255;

/// What to do with a request that carries an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: run the request, then [`finish`] (or [`release`] on a fault).
    Run,
    /// Answered before: send this again.
    Replay { status: u16, body: Vec<u8> },
    /// The first request with this key is still running.
    Running,
    /// The key was used with a different request.
    Mismatch,
}

/// The fingerprint of a request: method, path (with query) and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hasher.finalize().into()
}

/// Claims `key` for a request, or says how the earlier one under it stands.
pub async fn claim(db: &PgPool, caller: &Caller, key: &str, request: [u8; 32]) -> Result<Claim> {
    let tenant_id = caller.access.tenant_id;
    let key_id = caller.key.key_id;
    let claimed = sqlx::query_scalar!(
        r#"insert into api_idempotency (tenant_id, key_id, idempotency_key, request_hash)
           values ($1, $2, $3, $4)
           on conflict (tenant_id, key_id, idempotency_key) do update
             set started_at = now(), request_hash = excluded.request_hash
             where api_idempotency.response_status is null
               and api_idempotency.request_hash = excluded.request_hash
               and api_idempotency.started_at < now() - make_interval(secs => $5)
           returning 1 as "one!""#,
        tenant_id,
        key_id,
        key,
        &request[..],
        ABANDONED_AFTER_SECS
    )
    .fetch_optional(db)
    .await?;
    if claimed.is_some() {
        return Ok(Claim::Run);
    }
    let Some(row) = sqlx::query!(
        "select request_hash, response_status, response_body from api_idempotency
         where tenant_id = $1 and key_id = $2 and idempotency_key = $3",
        tenant_id,
        key_id,
        key
    )
    .fetch_optional(db)
    .await?
    else {
        // Released between our insert and our read (the first request faulted): the
        // client may retry.
        return Ok(Claim::Running);
    };
    if row.request_hash != request {
        return Ok(Claim::Mismatch);
    }
    Ok(match (row.response_status, row.response_body) {
        (Some(status), body) => Claim::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body: body.unwrap_or_default(),
        },
        (None, _) => Claim::Running,
    })
}

/// Stores the response of a claimed request.
pub async fn finish(
    db: &PgPool,
    caller: &Caller,
    key: &str,
    status: u16,
    body: &[u8],
) -> Result<()> {
    sqlx::query!(
        "update api_idempotency set response_status = $4, response_body = $5, finished_at = now()
         where tenant_id = $1 and key_id = $2 and idempotency_key = $3",
        caller.access.tenant_id,
        caller.key.key_id,
        key,
        i32::from(status),
        body
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Gives a claim up (the request ended in a server fault): a retry runs again.
pub async fn release(db: &PgPool, caller: &Caller, key: &str) -> Result<()> {
    sqlx::query!(
        "delete from api_idempotency
         where tenant_id = $1 and key_id = $2 and idempotency_key = $3 and response_status is null",
        caller.access.tenant_id,
        caller.key.key_id,
        key
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes stored responses older than [`KEEP_HOURS`]; returns how many.
pub async fn prune(db: &PgPool) -> Result<u64> {
    let deleted = sqlx::query!(
        "delete from api_idempotency where started_at < now() - make_interval(hours => $1)",
        KEEP_HOURS
    )
    .execute(db)
    .await?;
    Ok(deleted.rows_affected())
}
