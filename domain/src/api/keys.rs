//! API keys. A key acts in its own tenant only (the tenant id is part of the secret and
//! the lookup is by `(tenant_id, secret_hash)`), as a principal labelled with the key's
//! name and prefix, so audit rows and ledger entries name it. Read keys act with the
//! viewer role, read-write keys with the tenant-admin role (four-eyes rules apply: a
//! key never approves its own request).
//!
//! Authentication costs no database round trip once a key is cached. The cache lives
//! in the process's [`PermissionCache`] and follows its coherence protocol: a change of
//! a key (revocation, rotation, limits) bumps the tenant's epoch in its transaction and
//! returns only when every live server process has dropped its copy.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::access::audit::{self, Event};
use crate::tags::permissions::{self, PermissionCache};
use crate::{Access, Conflict, Error, Principal, Result, Role};
pub use model::api::{
    ApiKey, Issued, KeyState, NewKey, RATE_MAX, Scope, checked_grace_hours, checked_limits,
    display_prefix, format_secret, parse_secret,
};

/// How often a key's `last_used_at` is written at most (per process).
const LAST_USED_EVERY_SECS: i64 = 60;

/// A key as authentication needs it: cached per process.
#[derive(Debug)]
pub struct KeyRecord {
    pub tenant_id: Uuid,
    pub key_id: Uuid,
    pub scope: Scope,
    pub label: String,
    pub rate_per_second: Option<i32>,
    pub burst: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Unix seconds of this process's last `last_used_at` write.
    last_written: AtomicI64,
}

/// An authenticated call: who acts (for every domain function) and the key's limits.
#[derive(Debug, Clone)]
pub struct Caller {
    pub access: Access,
    pub key: Arc<KeyRecord>,
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn role_of(scope: Scope) -> Role {
    match scope {
        Scope::Read => Role::Viewer,
        Scope::Write => Role::TenantAdmin,
    }
}

fn label_of(name: &str, prefix: &str) -> String {
    format!("api key {name} ({prefix}…)")
}

/// The principal a key acts as.
fn principal_of(key: &KeyRecord) -> Principal {
    Principal {
        admin_id: None,
        api_key_id: Some(key.key_id),
        label: key.label.clone(),
        is_platform_admin: false,
    }
}

/// Authenticates a secret (the `Authorization: Bearer` value). Unknown, malformed,
/// revoked and expired keys are all `Unauthenticated`, with no hint which.
pub async fn authenticate(
    db: &PgPool,
    cache: &PermissionCache,
    secret: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Caller> {
    let Some((tenant_id, _)) = parse_secret(secret) else {
        return Err(Error::Unauthenticated);
    };
    let digest = hash(secret);
    let key = match cache.cached_key(&digest) {
        Some(key) => key,
        None => {
            let generation = cache.key_generation();
            let row = sqlx::query!(
                r#"select key_id, name, scope, prefix, rate_per_second, burst, expires_at
                   from api_keys
                   where tenant_id = $1 and secret_hash = $2 and revoked_at is null"#,
                tenant_id,
                &digest[..]
            )
            .fetch_optional(db)
            .await?
            .ok_or(Error::Unauthenticated)?;
            let key = Arc::new(KeyRecord {
                tenant_id,
                key_id: row.key_id,
                scope: Scope::parse(&row.scope)?,
                label: label_of(&row.name, &row.prefix),
                rate_per_second: row.rate_per_second,
                burst: row.burst,
                expires_at: row.expires_at,
                last_written: AtomicI64::new(0),
            });
            cache.remember_key(digest, key.clone(), generation);
            key
        }
    };
    if key.expires_at.is_some_and(|until| until <= now) {
        return Err(Error::Unauthenticated);
    }
    touch(db, &key, now);
    Ok(Caller {
        access: Access {
            principal: principal_of(&key),
            tenant_id: key.tenant_id,
            role: role_of(key.scope),
            request_id,
        },
        key,
    })
}

/// Records the key's use, at most once a minute per process, off the request's path.
fn touch(db: &PgPool, key: &Arc<KeyRecord>, now: DateTime<Utc>) {
    let seconds = now.timestamp();
    let last = key.last_written.load(Ordering::Relaxed);
    if seconds - last < LAST_USED_EVERY_SECS
        || key
            .last_written
            .compare_exchange(last, seconds, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let db = db.clone();
    let (tenant_id, key_id) = (key.tenant_id, key.key_id);
    tokio::spawn(async move {
        // In a table of its own: an update of `api_keys` would invalidate caches.
        if let Err(error) = sqlx::query!(
            "insert into api_key_usage (tenant_id, key_id, last_used_at) values ($1, $2, $3)
             on conflict (tenant_id, key_id) do update
               set last_used_at = greatest(api_key_usage.last_used_at, excluded.last_used_at)",
            tenant_id,
            key_id,
            now
        )
        .execute(&db)
        .await
        {
            tracing::warn!(%error, %key_id, "recording an API key's use failed");
        }
    });
}

/// The tenant's keys, newest first.
pub async fn list(db: &PgPool, access: &Access) -> Result<Vec<ApiKey>> {
    access.require(Role::TenantAdmin)?;
    let rows = sqlx::query!(
        r#"select k.key_id, k.name, k.scope, k.prefix, k.rate_per_second, k.burst,
                  a.email as "created_by?", k.created_at, k.expires_at, k.revoked_at,
                  u.last_used_at as "last_used_at?", k.rotated_from, now() as "now!"
           from api_keys k
           left join admins a on a.admin_id = k.created_by
           left join api_key_usage u on u.tenant_id = k.tenant_id and u.key_id = k.key_id
           where k.tenant_id = $1
           order by k.created_at desc, k.key_id"#,
        access.tenant_id
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            let mut key = ApiKey {
                key_id: row.key_id,
                name: row.name,
                scope: Scope::parse(&row.scope)?,
                prefix: row.prefix,
                rate_per_second: row.rate_per_second,
                burst: row.burst,
                created_by: row.created_by,
                created_at: row.created_at,
                expires_at: row.expires_at,
                revoked_at: row.revoked_at,
                last_used_at: row.last_used_at,
                rotated_from: row.rotated_from,
                state: KeyState::Active,
            };
            key.state = key.state_at(row.now);
            Ok(key)
        })
        .collect()
}

async fn get(db: &PgPool, access: &Access, key_id: Uuid) -> Result<ApiKey> {
    list(db, access)
        .await?
        .into_iter()
        .find(|key| key.key_id == key_id)
        .ok_or(Error::not_found("api key"))
}

/// A fresh secret for the tenant, its hash and its display prefix.
fn new_secret(tenant_id: Uuid) -> (String, [u8; 32], String) {
    let mut random = [0u8; model::api::SECRET_RANDOM_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let secret = format_secret(tenant_id, &random);
    let prefix = parse_secret(&secret).map_or_else(String::new, |(_, r)| display_prefix(r));
    let digest = hash(&secret);
    (secret, digest, prefix)
}

/// Creates a key; its secret is in the answer and nowhere else.
pub async fn create(db: &PgPool, access: &Access, new: NewKey) -> Result<Issued> {
    access.require(Role::TenantAdmin)?;
    let new = new.checked()?;
    let (secret, digest, prefix) = new_secret(access.tenant_id);
    let mut tx = db.begin().await?;
    let key_id = sqlx::query_scalar!(
        "insert into api_keys (tenant_id, name, scope, prefix, secret_hash, rate_per_second, burst, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning key_id",
        access.tenant_id,
        new.name,
        new.scope.as_str(),
        prefix,
        &digest[..],
        new.rate_per_second,
        new.burst,
        access.principal.admin_id
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        access,
        Event {
            action: "api_key.create",
            target_type: "api_key",
            target_id: key_id.to_string(),
            before: None,
            after: Some(json!({
                "name": new.name, "scope": new.scope.as_str(), "prefix": prefix,
                "rate_per_second": new.rate_per_second, "burst": new.burst,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Issued {
        key: get(db, access, key_id).await?,
        secret,
    })
}

/// Replaces a key: a new secret with the same name, scope and limits; the old one keeps
/// working for `grace_hours` (0: stops at once), then stops.
pub async fn rotate(
    db: &PgPool,
    access: &Access,
    key_id: Uuid,
    grace_hours: i32,
) -> Result<Issued> {
    access.require(Role::TenantAdmin)?;
    let grace_hours = checked_grace_hours(grace_hours)?;
    let mut tx = db.begin().await?;
    let old = sqlx::query!(
        r#"select name, scope, prefix, rate_per_second, burst, expires_at, revoked_at,
                  now() as "now!"
           from api_keys where tenant_id = $1 and key_id = $2 for update"#,
        access.tenant_id,
        key_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::not_found("api key"))?;
    if old.revoked_at.is_some() || old.expires_at.is_some_and(|until| until <= old.now) {
        return Err(Error::Conflict(Conflict::ApiKeyEnded));
    }
    let grace_end = old.now + Duration::hours(i64::from(grace_hours));
    // A key already in grace keeps the earlier end.
    let expires_at = old
        .expires_at
        .map_or(grace_end, |until| until.min(grace_end));
    sqlx::query!(
        "update api_keys set expires_at = $3 where tenant_id = $1 and key_id = $2",
        access.tenant_id,
        key_id,
        expires_at
    )
    .execute(&mut *tx)
    .await?;
    let (secret, digest, prefix) = new_secret(access.tenant_id);
    let new_id = sqlx::query_scalar!(
        "insert into api_keys (tenant_id, name, scope, prefix, secret_hash, rate_per_second, burst,
                               created_by, rotated_from)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning key_id",
        access.tenant_id,
        old.name,
        old.scope,
        prefix,
        &digest[..],
        old.rate_per_second,
        old.burst,
        access.principal.admin_id,
        key_id
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        access,
        Event {
            action: "api_key.rotate",
            target_type: "api_key",
            target_id: key_id.to_string(),
            before: Some(json!({"prefix": old.prefix})),
            after: Some(json!({
                "old_key_expires_at": expires_at, "new_key_id": new_id, "new_prefix": prefix,
                "grace_hours": grace_hours,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    permissions::settle(db, access.tenant_id).await?;
    Ok(Issued {
        key: get(db, access, new_id).await?,
        secret,
    })
}

/// Revokes a key: every server process refuses it once this returns. Revoking a
/// revoked key changes nothing.
pub async fn revoke(db: &PgPool, access: &Access, key_id: Uuid) -> Result<ApiKey> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let revoked = sqlx::query_scalar!(
        "update api_keys set revoked_at = now()
         where tenant_id = $1 and key_id = $2 and revoked_at is null returning prefix",
        access.tenant_id,
        key_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    match revoked {
        Some(prefix) => {
            audit::record(
                &mut tx,
                access,
                Event {
                    action: "api_key.revoke",
                    target_type: "api_key",
                    target_id: key_id.to_string(),
                    before: Some(json!({"prefix": prefix})),
                    after: None,
                },
            )
            .await?;
            tx.commit().await?;
            permissions::settle(db, access.tenant_id).await?;
        }
        None => tx.rollback().await?,
    }
    get(db, access, key_id).await
}

/// Changes a key's rate limit override (`None`: the server's defaults).
pub async fn set_limits(
    db: &PgPool,
    access: &Access,
    key_id: Uuid,
    rate_per_second: Option<i32>,
    burst: Option<i32>,
) -> Result<ApiKey> {
    access.require(Role::TenantAdmin)?;
    checked_limits(rate_per_second, burst)?;
    let mut tx = db.begin().await?;
    let before = sqlx::query!(
        "select rate_per_second, burst from api_keys where tenant_id = $1 and key_id = $2 for update",
        access.tenant_id,
        key_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::not_found("api key"))?;
    sqlx::query!(
        "update api_keys set rate_per_second = $3, burst = $4 where tenant_id = $1 and key_id = $2",
        access.tenant_id,
        key_id,
        rate_per_second,
        burst
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        access,
        Event {
            action: "api_key.limits",
            target_type: "api_key",
            target_id: key_id.to_string(),
            before: Some(json!({"rate_per_second": before.rate_per_second, "burst": before.burst})),
            after: Some(json!({"rate_per_second": rate_per_second, "burst": burst})),
        },
    )
    .await?;
    tx.commit().await?;
    permissions::settle(db, access.tenant_id).await?;
    get(db, access, key_id).await
}
