//! Sign-in and the per-request loading of who is signed in.
//!
//! Throttling: failures are counted per account (email) and per client address in
//! fixed windows. Reaching the limit locks that key for [`LOCK_SECONDS`]; while any key
//! of a request is locked, sign-in is refused without checking the password, with a
//! message that says when to retry. A success clears the account's counter only, so an
//! attacker holding one valid account cannot reset an address's counter.
//!
//! The account key is a SHA-256 of the normalised email, so a key never grows with the
//! input; an email that cannot be an account (longer than [`EMAIL_LENGTH_MAX`], or with
//! control characters) is refused as invalid credentials before anything is looked up,
//! and counts against the address only.
//!
//! Only accepted memberships grant access (see `admins`): a pending invitation is
//! invisible to [`access`], to the tenant switcher and to the default tenant.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Access, Error, Principal, Result, Role, access::admins, access::password};

pub const ACCOUNT_FAILURES_MAX: i32 = 5;
pub const ADDRESS_FAILURES_MAX: i32 = 20;
pub const WINDOW_SECONDS: i64 = 15 * 60;
pub const LOCK_SECONDS: i64 = 15 * 60;
/// The longest email that can belong to an account (characters).
pub const EMAIL_LENGTH_MAX: usize = model::input::EMAIL_LENGTH_MAX;

/// The result of a successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub admin_id: Uuid,
    /// The tenant to open first: the account's oldest enabled membership (its "home"
    /// tenant), or for a platform administrator without memberships, the first tenant.
    /// `None` also for an account whose only memberships are invitations to answer.
    pub tenant_id: Option<Uuid>,
}

/// Checks an email and password, with throttling. `now` is injected for tests.
pub async fn sign_in(
    db: &PgPool,
    email: &str,
    password_attempt: &str,
    address: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<SignedIn> {
    let email = email.trim().to_lowercase();
    let plausible =
        email.chars().count() <= EMAIL_LENGTH_MAX && !email.chars().any(char::is_control);
    let keys = throttle_keys(plausible.then_some(email.as_str()), address);
    if let Some(locked_until) = locked_until(db, &keys, now).await? {
        let retry_after_secs = (locked_until - now).num_seconds().max(1);
        return Err(Error::TooManyAttempts { retry_after_secs });
    }
    if !plausible {
        record_failure(db, &keys, now).await?;
        return Err(Error::InvalidCredentials);
    }

    let account = sqlx::query!(
        r#"select admin_id, password_hash, is_platform_admin, disabled_at is not null as "disabled!"
           from admins where email = $1"#,
        email
    )
    .fetch_optional(db)
    .await?;
    let stored_hash = account.as_ref().map_or_else(
        || password::DUMMY_HASH.to_owned(),
        |a| a.password_hash.clone(),
    );
    let password_matches = password::verify(password_attempt.to_owned(), stored_hash).await?;
    let Some(account) = account.filter(|_| password_matches) else {
        record_failure(db, &keys, now).await?;
        return Err(Error::InvalidCredentials);
    };

    sqlx::query!(
        "delete from sign_in_throttle where throttle_key = $1",
        keys[0].0
    )
    .execute(db)
    .await?;
    if account.disabled {
        return Err(Error::AccountDisabled);
    }
    let principal = Principal {
        admin_id: Some(account.admin_id),
        api_key_id: None,
        label: email.clone(),
        is_platform_admin: account.is_platform_admin,
    };
    admins::accept_on_sign_in(db, &principal).await?;
    let tenant_id = default_tenant(db, account.admin_id, account.is_platform_admin).await?;
    if tenant_id.is_none()
        && !account.is_platform_admin
        && !admins::has_open_invitation(db, account.admin_id).await?
    {
        return Err(Error::AccountDisabled);
    }
    Ok(SignedIn {
        admin_id: account.admin_id,
        tenant_id,
    })
}

/// The throttle keys of a request with their failure limits; the account key (when the
/// email is plausible) first. Keys are bounded: the account key is a SHA-256 of the
/// normalised email, the address key an IP address.
fn throttle_keys(email: Option<&str>, address: Option<IpAddr>) -> Vec<(String, i32)> {
    let mut keys = Vec::with_capacity(2);
    if let Some(email) = email {
        let digest = Sha256::digest(email.as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        keys.push((format!("account:{hex}"), ACCOUNT_FAILURES_MAX));
    }
    if let Some(address) = address {
        keys.push((format!("address:{address}"), ADDRESS_FAILURES_MAX));
    }
    keys
}

async fn locked_until(
    db: &PgPool,
    keys: &[(String, i32)],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let names: Vec<String> = keys.iter().map(|(name, _)| name.clone()).collect();
    let locked = sqlx::query_scalar!(
        r#"select max(locked_until) as "locked_until: DateTime<Utc>"
           from sign_in_throttle where throttle_key = any($1) and locked_until > $2"#,
        &names,
        now
    )
    .fetch_one(db)
    .await?;
    Ok(locked)
}

async fn record_failure(db: &PgPool, keys: &[(String, i32)], now: DateTime<Utc>) -> Result<()> {
    let window_start_min = now - Duration::seconds(WINDOW_SECONDS);
    let locked_until = now + Duration::seconds(LOCK_SECONDS);
    for (key, failures_max) in keys {
        // One statement per key: a failure outside the current window starts a new one;
        // reaching the limit locks the key and starts counting afresh after the lock.
        sqlx::query!(
            r#"insert into sign_in_throttle as t (throttle_key, failures, window_start)
               values ($1, 1, $2)
               on conflict (throttle_key) do update set
                 failures = case when t.window_start < $3 then 1 else t.failures + 1 end,
                 window_start = case when t.window_start < $3 then $2 else t.window_start end,
                 locked_until = case
                   when t.window_start >= $3 and t.failures + 1 >= $4 then $5
                   else t.locked_until end"#,
            key,
            now,
            window_start_min,
            failures_max,
            locked_until
        )
        .execute(db)
        .await?;
    }
    Ok(())
}

async fn default_tenant(
    db: &PgPool,
    admin_id: Uuid,
    is_platform_admin: bool,
) -> Result<Option<Uuid>> {
    let tenant_id = sqlx::query_scalar!(
        r#"select t.tenant_id from tenants t
           left join tenant_admins ta
             on ta.tenant_id = t.tenant_id and ta.admin_id = $1
                and ta.accepted_at is not null and ta.disabled_at is null
           where ta.admin_id is not null or $2
           order by ta.admin_id is null, ta.created_at, t.name, t.tenant_id
           limit 1"#,
        admin_id,
        is_platform_admin
    )
    .fetch_optional(db)
    .await?;
    Ok(tenant_id)
}

/// Loads the principal of a session; a deleted or disabled account is signed out.
pub async fn principal(db: &PgPool, admin_id: Uuid) -> Result<Principal> {
    let account = sqlx::query!(
        "select email, is_platform_admin from admins where admin_id = $1 and disabled_at is null",
        admin_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::Unauthenticated)?;
    Ok(Principal {
        admin_id: Some(admin_id),
        api_key_id: None,
        label: account.email,
        is_platform_admin: account.is_platform_admin,
    })
}

/// The access a principal has in a tenant: its enabled, accepted membership's role, or
/// tenant admin for platform administrators. Anything else (an invitation not yet
/// accepted included) is forbidden.
pub async fn access(
    db: &PgPool,
    principal: &Principal,
    tenant_id: Uuid,
    request_id: Option<String>,
) -> Result<Access> {
    let row = sqlx::query!(
        r#"select ta.role as "role?"
           from tenants t
           left join tenant_admins ta
             on ta.tenant_id = t.tenant_id and ta.admin_id = $2
                and ta.accepted_at is not null and ta.disabled_at is null
           where t.tenant_id = $1"#,
        tenant_id,
        principal.admin_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::Forbidden)?;
    let role = match (row.role, principal.is_platform_admin) {
        (_, true) => Role::TenantAdmin,
        (Some(role), false) => Role::parse(&role)?,
        (None, false) => return Err(Error::Forbidden),
    };
    Ok(Access {
        principal: principal.clone(),
        tenant_id,
        role,
        request_id,
    })
}

/// The account's own details for the console header.
#[derive(Debug, Clone)]
pub struct Profile {
    pub admin_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub is_platform_admin: bool,
}

pub async fn profile(db: &PgPool, principal: &Principal) -> Result<Profile> {
    let admin_id = principal.admin_id.ok_or(Error::Unauthenticated)?;
    let row = sqlx::query!(
        "select email, display_name, is_platform_admin from admins where admin_id = $1",
        admin_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::Unauthenticated)?;
    Ok(Profile {
        admin_id,
        email: row.email,
        display_name: row.display_name,
        is_platform_admin: row.is_platform_admin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_keys_are_bounded_and_hide_the_email() {
        let long = format!("{}@acme.test", "a".repeat(10_000));
        let address: IpAddr = "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap();
        let keys = throttle_keys(Some(&long), Some(address));
        assert_eq!(keys.len(), 2);
        for (key, _) in &keys {
            assert!(key.len() <= 100, "{key}");
            assert!(!key.contains("acme"), "{key}");
        }
        assert_eq!(keys[0].0.len(), "account:".len() + 64);
        assert_eq!(
            throttle_keys(Some("x@y.test"), None),
            throttle_keys(Some("x@y.test"), None)
        );
        assert_eq!(throttle_keys(None, Some(address)).len(), 1);
    }
}
