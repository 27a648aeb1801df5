//! The tenant's webhook: settings (URL, signing secret, reminder lead time), the outbox
//! events waiting for delivery, and the delivery log. Sending HTTP is the server's job;
//! this module claims due events, signs them and records each attempt.
//!
//! Signature: header `Tierdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<body>"` with the tenant's secret, so receivers can check authenticity and
//! refuse replays outside their tolerance window.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Access, Error, Problem, Result, Role, audit};

pub const URL_LENGTH_MAX: usize = 2000;
pub const REMINDER_DAYS_MAX: i32 = 365;
/// Reminder lead time of a tenant that has not chosen one (the column default too).
pub const REMINDER_DAYS_DEFAULT: i32 = 7;
/// Attempts before an event is marked failed.
pub const ATTEMPTS_MAX: i32 = 8;
pub const LOG_MAX: i64 = 200;
/// Settled events (and their delivery attempts) are kept this long.
pub const RETENTION_DAYS: i64 = 30;
/// A claimed event is retried after this long if its sender vanished mid-delivery.
const CLAIM_SECS: i64 = 120;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: Option<String>,
    /// Shown to tenant admins so their receiver can verify signatures.
    pub secret: Option<String>,
    pub reminder_days: i32,
}

/// The tenant's webhook settings (tenant admins: they include the secret).
pub async fn get(db: &PgPool, access: &Access) -> Result<Webhook> {
    access.require(Role::TenantAdmin)?;
    let row = sqlx::query!(
        "select webhook_url, webhook_secret, reminder_days from tenant_settings where tenant_id = $1",
        access.tenant_id
    )
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some(r) => Webhook {
            url: r.webhook_url,
            secret: r.webhook_secret,
            reminder_days: r.reminder_days,
        },
        None => Webhook {
            url: None,
            secret: None,
            reminder_days: REMINDER_DAYS_DEFAULT,
        },
    })
}

fn clean_url(url: Option<&str>) -> Result<Option<String>> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    if url.len() > URL_LENGTH_MAX {
        return Err(Error::invalid(
            "webhook_url",
            Problem::TooLong {
                max: URL_LENGTH_MAX,
            },
        ));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(Error::invalid("webhook_url", Problem::Format))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(Error::invalid("webhook_url", Problem::Format));
    }
    Ok(Some(url.to_owned()))
}

fn new_secret() -> String {
    let bytes: [u8; 24] = rand::thread_rng().r#gen();
    format!("whsec_{}", hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sets the webhook URL (empty: no deliveries) and the reminder lead time; a secret is
/// generated with the first URL, and again when `rotate_secret` is set.
pub async fn set(
    db: &PgPool,
    access: &Access,
    url: Option<&str>,
    reminder_days: i32,
    rotate_secret: bool,
) -> Result<Webhook> {
    access.require(Role::TenantAdmin)?;
    let url = clean_url(url)?;
    if !(0..=REMINDER_DAYS_MAX).contains(&reminder_days) {
        return Err(Error::invalid("reminder_days", Problem::Format));
    }
    let before = get(db, access).await?;
    let secret = match (&before.secret, rotate_secret || before.secret.is_none()) {
        (Some(secret), false) => Some(secret.clone()),
        _ if url.is_some() || rotate_secret => Some(new_secret()),
        _ => None,
    };
    let mut tx = db.begin().await?;
    sqlx::query!(
        "insert into tenant_settings (tenant_id, webhook_url, webhook_secret, reminder_days)
         values ($1, $2, $3, $4)
         on conflict (tenant_id) do update set webhook_url = excluded.webhook_url,
             webhook_secret = excluded.webhook_secret, reminder_days = excluded.reminder_days,
             updated_at = now()",
        access.tenant_id,
        url,
        secret,
        reminder_days
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "webhook.update",
            target_type: "tenant",
            target_id: access.tenant_id.to_string(),
            before: Some(json!({ "url": before.url, "reminder_days": before.reminder_days })),
            after: Some(json!({
                "url": url, "reminder_days": reminder_days,
                "secret_rotated": secret != before.secret,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Webhook {
        url,
        secret,
        reminder_days,
    })
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex(&mac.finalize().into_bytes()))
}

/// An event claimed for delivery, with its own tenant's URL and secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub tenant_id: Uuid,
    pub event_id: i64,
    pub attempt: i32,
    pub url: String,
    pub secret: String,
    pub body: String,
}

/// Claims up to `limit` due events of every tenant (skipping those another process
/// holds) and renders their bodies. A claim lasts two minutes.
pub async fn claim(db: &PgPool, now: DateTime<Utc>, limit: i64) -> Result<Vec<Delivery>> {
    let rows = sqlx::query!(
        r#"with due as (
             select e.tenant_id, e.event_id from outbox_events e
             where e.status = 'pending' and e.next_attempt_at <= $1
             order by e.next_attempt_at limit $2 for update skip locked
           ), claimed as (
             update outbox_events e
             set attempts = e.attempts + 1, next_attempt_at = $1 + make_interval(secs => $3)
             from due
             where e.tenant_id = due.tenant_id and e.event_id = due.event_id
             returning e.tenant_id, e.event_id, e.attempts, e.topic, e.payload, e.created_at
           )
           -- Each event goes to its own tenant's webhook, read with the claim.
           select c.tenant_id as "tenant_id!", c.event_id as "event_id!", c.attempts as "attempts!",
                  c.topic as "topic!", c.payload as "payload!", c.created_at as "created_at!",
                  s.webhook_url as "webhook_url?", s.webhook_secret as "webhook_secret?"
           from claimed c left join tenant_settings s on s.tenant_id = c.tenant_id"#,
        now,
        limit,
        CLAIM_SECS as f64
    )
    .fetch_all(db)
    .await?;
    let mut deliveries = Vec::with_capacity(rows.len());
    for row in rows {
        let (Some(url), Some(secret)) = (row.webhook_url, row.webhook_secret) else {
            // The webhook was removed since the event was queued.
            sqlx::query!(
                "update outbox_events set status = 'skipped' where tenant_id = $1 and event_id = $2",
                row.tenant_id,
                row.event_id
            )
            .execute(db)
            .await?;
            continue;
        };
        let body = json!({
            "id": row.event_id,
            "tenant_id": row.tenant_id,
            "topic": row.topic,
            "created_at": row.created_at,
            "attempt": row.attempts,
            "data": row.payload,
        })
        .to_string();
        deliveries.push(Delivery {
            tenant_id: row.tenant_id,
            event_id: row.event_id,
            attempt: row.attempts,
            url,
            secret,
            body,
        });
    }
    Ok(deliveries)
}

/// Backoff before attempt `n + 1`: 30 s, 1 min, 2 min, … capped at 1 h.
pub fn backoff(attempt: i32) -> Duration {
    let exponent = u32::try_from(attempt.clamp(1, 8) - 1).unwrap_or(0);
    Duration::seconds((30_i64 << exponent).min(3600))
}

/// Records one attempt: delivered on a 2xx, else retried with backoff, or failed after
/// the last attempt.
pub async fn record(
    db: &PgPool,
    now: DateTime<Utc>,
    delivery: &Delivery,
    status_code: Option<u16>,
    error: Option<&str>,
    duration_ms: i32,
) -> Result<()> {
    let ok = status_code.is_some_and(|c| (200..300).contains(&c));
    let error = error.map(|e| e.chars().take(500).collect::<String>());
    let mut tx = db.begin().await?;
    sqlx::query!(
        "insert into webhook_deliveries (tenant_id, event_id, attempt, url, status_code, error, duration_ms)
         values ($1, $2, $3, $4, $5, $6, $7)",
        delivery.tenant_id,
        delivery.event_id,
        delivery.attempt,
        delivery.url,
        status_code.map(i32::from),
        error,
        duration_ms
    )
    .execute(&mut *tx)
    .await?;
    let last_error = if ok {
        None
    } else {
        Some(
            error
                .clone()
                .unwrap_or_else(|| format!("HTTP {}", status_code.map_or(0, i32::from))),
        )
    };
    let status = if ok {
        "delivered"
    } else if delivery.attempt >= ATTEMPTS_MAX {
        "failed"
    } else {
        "pending"
    };
    // Fenced by the attempt: a sender whose claim ran out (and was re-claimed by
    // another process) cannot overwrite the newer outcome.
    sqlx::query!(
        "update outbox_events set status = $3, last_error = $4,
                delivered_at = case when $3 = 'delivered' then $5::timestamptz else null end,
                next_attempt_at = $6
         where tenant_id = $1 and event_id = $2 and status = 'pending' and attempts = $7",
        delivery.tenant_id,
        delivery.event_id,
        status,
        last_error,
        now,
        now + backoff(delivery.attempt),
        delivery.attempt
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes up to `limit` settled events (delivered, failed, skipped) older than the
/// retention period, with their delivery attempts, across tenants. Returns how many.
pub async fn prune(db: &PgPool, now: DateTime<Utc>, limit: i64) -> Result<u64> {
    let cutoff = now - Duration::days(RETENTION_DAYS);
    let removed = sqlx::query!(
        "with old as (
           select tenant_id, event_id from outbox_events
           where status <> 'pending' and created_at < $1
           order by created_at limit $2
           for update skip locked
         ), attempts as (
           delete from webhook_deliveries d using old
           where d.tenant_id = old.tenant_id and d.event_id = old.event_id
         )
         delete from outbox_events e using old
         where e.tenant_id = old.tenant_id and e.event_id = old.event_id",
        cutoff,
        limit
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(removed)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub event_id: i64,
    pub topic: String,
    pub payload: serde_json::Value,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub delivery_id: i64,
    pub event_id: i64,
    pub topic: String,
    pub attempt: i32,
    pub url: String,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub created_at: DateTime<Utc>,
}

/// The tenant's latest outbox events (tenant admins).
pub async fn events(db: &PgPool, access: &Access) -> Result<Vec<OutboxEvent>> {
    access.require(Role::TenantAdmin)?;
    Ok(sqlx::query_as!(
        OutboxEvent,
        "select event_id, topic, payload, status, attempts, next_attempt_at, last_error, delivered_at, created_at
         from outbox_events where tenant_id = $1 order by event_id desc limit $2",
        access.tenant_id,
        LOG_MAX
    )
    .fetch_all(db)
    .await?)
}

/// The tenant's latest delivery attempts (tenant admins).
pub async fn deliveries(db: &PgPool, access: &Access) -> Result<Vec<DeliveryAttempt>> {
    access.require(Role::TenantAdmin)?;
    Ok(sqlx::query_as!(
        DeliveryAttempt,
        "select d.delivery_id, d.event_id, e.topic, d.attempt, d.url, d.status_code, d.error,
                d.duration_ms, d.created_at
         from webhook_deliveries d
         join outbox_events e on e.tenant_id = d.tenant_id and e.event_id = d.event_id
         where d.tenant_id = $1 order by d.delivery_id desc limit $2",
        access.tenant_id,
        LOG_MAX
    )
    .fetch_all(db)
    .await?)
}
