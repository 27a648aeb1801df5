//! Background jobs of every server process. Each is safe to run in several processes at
//! once against one database (claims use `FOR UPDATE SKIP LOCKED`), bounded per run, and
//! reads time from the state's clock.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::context::AppState;
use domain::clock::Clock;
use domain::webhooks::{self, Delivery};
use sqlx::PgPool;

/// How often the jobs run and how much each run may do.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub lifecycle_every: Duration,
    pub lifecycle_batch: i64,
    pub webhooks_every: Duration,
    pub webhooks_batch: i64,
    pub webhooks_allow_private: bool,
}

impl Settings {
    /// Defaults (lifecycle every 30 s, webhooks every 2 s, public addresses only),
    /// overridable with `TIERDESK_LIFECYCLE_EVERY_SECS`, `TIERDESK_WEBHOOKS_EVERY_SECS`
    /// and `TIERDESK_WEBHOOKS_ALLOW_PRIVATE`.
    pub fn from_env() -> Self {
        let secs = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|v| *v > 0)
                .map_or(Duration::from_secs(default), Duration::from_secs)
        };
        Settings {
            lifecycle_every: secs("TIERDESK_LIFECYCLE_EVERY_SECS", 30),
            lifecycle_batch: 1000,
            webhooks_every: secs("TIERDESK_WEBHOOKS_EVERY_SECS", 2),
            webhooks_batch: 50,
            webhooks_allow_private: std::env::var("TIERDESK_WEBHOOKS_ALLOW_PRIVATE")
                .is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "yes")),
        }
    }
}

/// Spawns the jobs on the current runtime.
pub fn start(state: &AppState, settings: Settings) {
    let db = state.db.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(settings.lifecycle_every);
        loop {
            ticker.tick().await;
            if db.is_closed() {
                return;
            }
            // Drain in bounded batches so a backlog never becomes one huge transaction.
            loop {
                match domain::grants::run_lifecycle(&db, clock.now(), settings.lifecycle_batch)
                    .await
                {
                    Ok(run) if run.total() > 0 => {
                        tracing::info!(?run, "grant lifecycle");
                        if run
                            .renewed
                            .max(run.graced)
                            .max(run.expired)
                            .max(run.reminded)
                            < settings.lifecycle_batch as u64
                        {
                            break;
                        }
                    }
                    Ok(_) => break,
                    Err(_) if db.is_closed() => return,
                    Err(error) => {
                        tracing::error!(%error, "grant lifecycle failed");
                        break;
                    }
                }
            }
            match webhooks::prune(&db, clock.now(), settings.lifecycle_batch).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "outbox events past retention removed"),
                Err(_) if db.is_closed() => return,
                Err(error) => tracing::error!(%error, "outbox pruning failed"),
            }
        }
    });
    let db = state.db.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let sender = match Sender::new(settings.webhooks_allow_private) {
            Ok(sender) => sender,
            Err(error) => {
                tracing::error!(%error, "webhook delivery disabled: no HTTP client");
                return;
            }
        };
        let mut ticker = tokio::time::interval(settings.webhooks_every);
        loop {
            ticker.tick().await;
            match sender
                .deliver_due(&db, clock.as_ref(), settings.webhooks_batch)
                .await
            {
                Ok(_) => {}
                // Shutting down: the pool closed under us.
                Err(_) if db.is_closed() => return,
                Err(error) => tracing::error!(%error, "webhook delivery failed"),
            }
        }
    });
}

/// Sends signed webhook requests.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

/// Addresses a tenant's webhook must not reach unless the operator allows it: the
/// server's own machine and private networks (a tenant admin could otherwise probe
/// internal services through Tierdesk).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
            }
        },
    }
}

/// Resolves host names and drops private addresses (see [`is_private`]).
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| !is_private(address.ip()))
                .collect();
            if addresses.is_empty() {
                return Err(format!("{host} resolves only to private addresses").into());
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Sender {
    /// `allow_private`: let webhooks reach loopback and private networks (tests, and
    /// deployments whose tenants are trusted; `TIERDESK_WEBHOOKS_ALLOW_PRIVATE`).
    pub fn new(allow_private: bool) -> Result<Self, reqwest::Error> {
        // One process-wide TLS provider; a second install (tests) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder();
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Tierdesk-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender {
            client,
            allow_private,
        })
    }

    /// Delivers up to `limit` due outbox events (each to its own tenant's URL) and
    /// records every attempt. Events are claimed one at a time, so a claim never runs
    /// out while earlier sends of the batch are slow, and every signature and backoff
    /// uses the time of its own attempt. Returns how many were attempted.
    pub async fn deliver_due(
        &self,
        db: &PgPool,
        clock: &dyn Clock,
        limit: i64,
    ) -> domain::Result<usize> {
        let mut attempted = 0;
        while attempted < usize::try_from(limit).unwrap_or(0) {
            let Some(delivery) = webhooks::claim(db, clock.now(), 1).await?.pop() else {
                break;
            };
            let (status, error, elapsed) = self.send(&delivery, clock.now().timestamp()).await;
            webhooks::record(
                db,
                clock.now(),
                &delivery,
                status,
                error.as_deref(),
                elapsed,
            )
            .await?;
            attempted += 1;
        }
        Ok(attempted)
    }

    async fn send(
        &self,
        delivery: &Delivery,
        timestamp: i64,
    ) -> (Option<u16>, Option<String>, i32) {
        let started = Instant::now();
        // A literal IP is not resolved, so the resolver cannot refuse it: check here.
        let literal = reqwest::Url::parse(&delivery.url).ok().and_then(|url| {
            let host = url.host_str()?;
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .ok()
        });
        if !self.allow_private && literal.is_some_and(is_private) {
            return (None, Some("private address not allowed".into()), 0);
        }
        let signature = webhooks::signature(&delivery.secret, timestamp, delivery.body.as_bytes());
        let result = self
            .client
            .post(&delivery.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("Tierdesk-Signature", signature)
            .header("Tierdesk-Event-Id", delivery.event_id.to_string())
            .body(delivery.body.clone())
            .send()
            .await;
        let elapsed = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        match result {
            Ok(response) => (Some(response.status().as_u16()), None, elapsed),
            Err(error) => (None, Some(error_chain(&error)), elapsed),
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
