//! The tenant's webhook: settings (URL, signing secret, reminder lead time), the outbox
//! events waiting for delivery, and the delivery log. Sending HTTP is the server's job;
//! this module claims due events, signs them and records each attempt.
//!
//! Signature: header `Tierdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<body>"` with the tenant's secret, so receivers can check authenticity and
//! refuse replays outside their tolerance window.
//!
//! Targets: a tenant admin chooses the URL, so unless the operator allows private
//! targets ([`Reach::PrivateAllowed`]) a webhook may reach public internet addresses
//! only ([`is_public_ip`]): checked when the URL is saved and again by the sender at
//! every delivery (DNS answers change). Credentials in a URL (`user:pass@`) are kept for
//! sending but never written anywhere else ([`redact_url`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::json;
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Access, Error, Problem, Result, Role, access::audit};
pub use model::webhooks::{DeliveryAttempt, OutboxEvent, Reach, Webhook};

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
/// How long saving a URL waits for its host name to resolve.
const RESOLVE_TIMEOUT_MS: u64 = 3000;

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

/// Refuses a URL whose host is, or resolves to, anything but public addresses, and
/// one whose host name does not resolve now.
async fn require_public_host(url: &str) -> Result<()> {
    let refused = || Error::invalid("webhook_url", Problem::NotPublic);
    let (host, port) = host_and_port(url).ok_or(Error::invalid("webhook_url", Problem::Format))?;
    let addresses: Vec<IpAddr> = match literal_ip(host) {
        Some(ip) => vec![ip],
        None => {
            // The system resolver also reads numeric forms such as `2130706433` or
            // `127.1` (as the sender's URL parser does).
            let lookup = tokio::net::lookup_host((host, port));
            let timeout = std::time::Duration::from_millis(RESOLVE_TIMEOUT_MS);
            match tokio::time::timeout(timeout, lookup).await {
                Ok(Ok(found)) => found.map(|address| address.ip()).collect(),
                Ok(Err(error)) => {
                    tracing::debug!(%error, host, "webhook host does not resolve");
                    Vec::new()
                }
                Err(_) => {
                    tracing::debug!(host, "webhook host resolution timed out");
                    Vec::new()
                }
            }
        }
    };
    if addresses.is_empty() || !addresses.iter().copied().all(is_public_ip) {
        return Err(refused());
    }
    Ok(())
}

/// The host (IPv6 literals without brackets) and port of an `http(s)://` URL, split as
/// the WHATWG URL standard does: the authority ends at `/`, `\`, `?` or `#`, and its
/// userinfo ends at its last `@`.
fn host_and_port(url: &str) -> Option<(&str, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = &rest[..rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            (host, after)
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None => (host_port, ""),
        },
    };
    let port = match port.strip_prefix(':').unwrap_or(port) {
        "" => default_port,
        digits => digits.parse().ok()?,
    };
    (!host.is_empty()).then_some((host, port))
}

fn literal_ip(host: &str) -> Option<IpAddr> {
    host.parse::<Ipv6Addr>()
        .map(IpAddr::V6)
        .or_else(|_| host.parse::<Ipv4Addr>().map(IpAddr::V4))
        .ok()
}

/// Whether a webhook may reach `ip` without the operator allowing private targets:
/// only ordinary public unicast addresses. Refused: this host (0.0.0.0/8, loopback,
/// `::`), private and shared networks (10/8, 172.16/12, 192.168/16, 100.64/10 CGNAT,
/// fc00::/7), link-local (169.254/16, fe80::/10), IETF and documentation ranges
/// (192.0.0/24, 192.0.2/24, 198.18/15, 198.51.100/24, 203.0.113/24, 2001:db8::/32,
/// 3fff::/20), multicast and reserved (224/4, 240/4 with broadcast, ff00::/8), and all
/// IPv6 outside global unicast 2000::/3 (IPv4-compatible `::a.b.c.d`, site-local,
/// discard-only 100::/64, 64:ff9b:1::/48), IETF protocol assignments 2001::/23 (Teredo
/// 2001::/32 among them). Addresses that embed an IPv4 address are judged by it:
/// IPv4-mapped `::ffff:a.b.c.d`, NAT64 64:ff9b::/96 and 6to4 2002::/16.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_ipv4(v4),
        IpAddr::V6(v6) => is_public_ipv6(v6),
    }
}

fn is_public_ipv4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0
        || a == 10
        || a == 127
        || (a == 100 && (b & 0xc0) == 64)
        || (a == 169 && b == 254)
        || (a == 172 && (b & 0xf0) == 16)
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && (b & 0xfe) == 18)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        // 224/4 multicast, 240/4 reserved, 255.255.255.255 broadcast.
        || a >= 224;
    !special
}

fn is_public_ipv6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_ipv4(v4);
    }
    // NAT64 well-known prefix 64:ff9b::/96: the IPv4 address is the last 32 bits.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_ipv4(embedded_v4(s[6], s[7]));
    }
    // 6to4 2002:a.b.c.d::/48.
    if s[0] == 0x2002 {
        return is_public_ipv4(embedded_v4(s[1], s[2]));
    }
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    let ietf_protocol = (s[0] == 0x2001) && s[1] < 0x0200; // 2001::/23, Teredo inside
    let documentation = (s[0] == 0x2001 && s[1] == 0x0db8) || (s[0] & 0xfff0) == 0x3ff0;
    global_unicast && !ietf_protocol && !documentation
}

/// The URL with any userinfo (`user:password@`) replaced by `***@`, for everything but
/// the request itself: audit rows, logs, the delivery log. The authority is found as
/// the WHATWG URL standard finds it (it ends at `/`, `\\`, `?` or `#`; the userinfo
/// ends at its last `@`), so an `@` in the path or query is left alone.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find(':') else {
        return url.to_owned();
    };
    let after_scheme = &url[scheme_end + 1..];
    let slashes = after_scheme.len() - after_scheme.trim_start_matches(['/', '\\']).len();
    let authority_start = scheme_end + 1 + slashes;
    let rest = &url[authority_start..];
    let authority = &rest[..rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!(
            "{}***@{}",
            &url[..authority_start],
            &url[authority_start + at + 1..]
        ),
        None => url.to_owned(),
    }
}

fn new_secret() -> String {
    let bytes: [u8; 24] = rand::thread_rng().r#gen();
    format!("whsec_{}", hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sets the webhook URL (empty: no deliveries) and the reminder lead time; a secret is
/// generated with the first URL, and again when `rotate_secret` is set. With
/// [`Reach::PublicOnly`] the URL's host must resolve now, to public addresses only.
pub async fn set(
    db: &PgPool,
    access: &Access,
    url: Option<&str>,
    reminder_days: i32,
    rotate_secret: bool,
    reach: Reach,
) -> Result<Webhook> {
    access.require(Role::TenantAdmin)?;
    let url = clean_url(url)?;
    if !(0..=REMINDER_DAYS_MAX).contains(&reminder_days) {
        return Err(Error::invalid("reminder_days", Problem::Format));
    }
    if let (Some(url), Reach::PublicOnly) = (&url, reach) {
        require_public_host(url).await?;
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
            // The audit log is read by every tenant admin, and kept: no credentials.
            before: Some(json!({
                "url": before.url.as_deref().map(redact_url),
                "reminder_days": before.reminder_days,
            })),
            after: Some(json!({
                "url": url.as_deref().map(redact_url), "reminder_days": reminder_days,
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
        redact_url(&delivery.url),
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

/// Queues a test event (`webhook.test`) for the tenant's webhook, so an admin can check
/// their receiver and its signature check; tenant admins, with a URL configured.
/// Audited. Returns the event's id.
pub async fn send_test(db: &PgPool, access: &Access) -> Result<i64> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let event_id = sqlx::query_scalar!(
        r#"insert into outbox_events (tenant_id, topic, payload, status)
           select s.tenant_id, 'webhook.test',
                  jsonb_build_object('topic', 'webhook.test', 'tenant_id', s.tenant_id, 'sent_at', now()),
                  'pending'
           from tenant_settings s
           where s.tenant_id = $1 and s.webhook_url is not null
           returning event_id"#,
        access.tenant_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::invalid("webhook_url", Problem::Required))?;
    let event = audit::Event {
        action: "webhook.test",
        target_type: "outbox_event",
        target_id: event_id.to_string(),
        before: None,
        after: None,
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    Ok(event_id)
}

/// Delivers an event again: a new outbox event with the same topic and payload (the
/// first one and its attempts stay as they were); tenant admins, with a URL configured.
/// Audited. Returns the new event's id.
pub async fn redeliver(db: &PgPool, access: &Access, event_id: i64) -> Result<i64> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from outbox_events where tenant_id = $1 and event_id = $2) as "exists!""#,
        access.tenant_id,
        event_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if !exists {
        return Err(Error::not_found("event"));
    }
    let copy = sqlx::query_scalar!(
        r#"insert into outbox_events (tenant_id, topic, payload, status)
           select e.tenant_id, e.topic, e.payload, 'pending'
           from outbox_events e
           join tenant_settings s on s.tenant_id = e.tenant_id and s.webhook_url is not null
           where e.tenant_id = $1 and e.event_id = $2
           returning event_id"#,
        access.tenant_id,
        event_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::invalid("webhook_url", Problem::Required))?;
    let event = audit::Event {
        action: "webhook.redeliver",
        target_type: "outbox_event",
        target_id: event_id.to_string(),
        before: None,
        after: Some(serde_json::json!({ "event_id": copy })),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    Ok(copy)
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

/// The tenant's latest delivery attempts (tenant admins), URLs without credentials.
pub async fn deliveries(db: &PgPool, access: &Access) -> Result<Vec<DeliveryAttempt>> {
    access.require(Role::TenantAdmin)?;
    let mut attempts = sqlx::query_as!(
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
    .await?;
    // Stored redacted; this also covers rows written before redaction existed.
    for attempt in &mut attempts {
        attempt.url = redact_url(&attempt.url);
    }
    Ok(attempts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_public() {
        let refused = [
            // IPv4: this network, private, shared (CGNAT), loopback, link-local.
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            // IETF protocol assignments, documentation, benchmarking.
            "192.0.0.1",
            "192.0.0.255",
            "192.0.2.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            // Multicast, reserved, broadcast.
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // IPv6: unspecified, loopback, IPv4-compatible.
            "::",
            "::1",
            "::8.8.8.8",
            "::127.0.0.1",
            // IPv4-mapped, judged by the IPv4 address.
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            // NAT64: the well-known prefix by its IPv4 address, the local-use one always.
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::808:808",
            // Documentation (2001:db8::/32, 3fff::/20), multicast, link-local, unique
            // local, site-local, discard-only.
            "2001:db8::1",
            "2001:db8:ffff::1",
            "3fff::1",
            "ff02::1",
            "ff0e::1",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd12:3456::1",
            "fec0::1",
            "100::1",
            // 6to4 by its IPv4 address.
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            // Teredo and the rest of 2001::/23.
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
        ];
        for ip in refused {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip} must be refused");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.0.3.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "198.51.101.1",
            "203.0.114.1",
            "223.255.255.255",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:81c::200e",
            "2001:4860:4860::8888",
            "2001:200::1",
        ];
        for ip in public {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip} must be public");
        }
    }

    #[test]
    fn credentials_are_redacted_from_urls() {
        for (url, redacted) in [
            ("https://example.com/x", "https://example.com/x"),
            (
                "https://user:pass@example.com/x",
                "https://***@example.com/x",
            ),
            ("https://token@example.com", "https://***@example.com"),
            (
                "http://user:p@ss@example.com:8080/x",
                "http://***@example.com:8080/x",
            ),
            ("http://@example.com/", "http://***@example.com/"),
            // An `@` in the path, query or fragment is not userinfo.
            ("https://example.com/a@b", "https://example.com/a@b"),
            (
                "https://example.com?to=a@b.c",
                "https://example.com?to=a@b.c",
            ),
            ("https://example.com#me@x", "https://example.com#me@x"),
            (
                "https://u:p@example.com/a@b?c=d@e",
                "https://***@example.com/a@b?c=d@e",
            ),
            // A backslash ends the authority as a slash does.
            ("http://example.com\\x@y", "http://example.com\\x@y"),
            // IPv6 hosts.
            ("http://[::1]:8080/x", "http://[::1]:8080/x"),
            (
                "http://user:pw@[2001:db8::1]:8443/x",
                "http://***@[2001:db8::1]:8443/x",
            ),
            ("http://[fe80::1]/a@b", "http://[fe80::1]/a@b"),
            // Not URLs: nothing to find, nothing changed.
            ("", ""),
            ("example.com", "example.com"),
        ] {
            assert_eq!(redact_url(url), redacted, "{url}");
        }
    }

    #[test]
    fn hosts_and_ports_are_split_as_url_parsers_do() {
        for (url, expected) in [
            ("http://example.com/x", Some(("example.com", 80))),
            ("https://example.com", Some(("example.com", 443))),
            ("HTTPS://example.com:8443?x", Some(("example.com", 8443))),
            ("http://u:p@127.0.0.1:9/x", Some(("127.0.0.1", 9))),
            ("http://evil.com@127.0.0.1/", Some(("127.0.0.1", 80))),
            ("http://127.0.0.1\\@evil.com/", Some(("127.0.0.1", 80))),
            ("http://[::ffff:127.0.0.1]/", Some(("::ffff:127.0.0.1", 80))),
            ("http://[::1]:8080/", Some(("::1", 8080))),
            ("http://2130706433/", Some(("2130706433", 80))),
            ("http://example.com:http/", None),
            ("http:///x", None),
            ("ftp://example.com/", None),
        ] {
            assert_eq!(host_and_port(url), expected, "{url}");
        }
    }
}
