//! Background jobs of every server process. Each is safe to run in several processes at
//! once against one database (claims use `FOR UPDATE SKIP LOCKED`), bounded per run, and
//! reads time from the state's clock.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::context::AppState;
use domain::clock::Clock;
use domain::webhooks::{self, Delivery, Reach, is_public_ip, redact_url};
use reqwest::Url;
use sqlx::PgPool;

use crate::config::env_bool;

/// How long the sender waits for a target's name to resolve when it checks it itself.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the jobs run and how much each run may do.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lifecycle_every: Duration,
    pub lifecycle_batch: i64,
    pub webhooks_every: Duration,
    pub webhooks_batch: i64,
    pub webhooks: SenderOptions,
}

/// Where webhook requests may go, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderOptions {
    /// Public addresses only, or private ones too (`TIERDESK_WEBHOOKS_ALLOW_PRIVATE`).
    pub reach: Reach,
    /// Send every request through this proxy (`TIERDESK_WEBHOOKS_PROXY`). Without it
    /// requests go direct: the environment's `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY`
    /// never apply, since a proxy resolves target names where the sender cannot check them.
    pub proxy: Option<String>,
}

impl Settings {
    /// Defaults (lifecycle every 30 s, webhooks every 2 s, direct, public addresses
    /// only), overridable with `TIERDESK_LIFECYCLE_EVERY_SECS`,
    /// `TIERDESK_WEBHOOKS_EVERY_SECS`, `TIERDESK_WEBHOOKS_ALLOW_PRIVATE` and
    /// `TIERDESK_WEBHOOKS_PROXY`. An invalid boolean or proxy URL is an error.
    pub fn from_env() -> Result<Self, String> {
        let secs = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|v| *v > 0)
                .map_or(Duration::from_secs(default), Duration::from_secs)
        };
        let reach = if env_bool("TIERDESK_WEBHOOKS_ALLOW_PRIVATE")? {
            Reach::PrivateAllowed
        } else {
            Reach::PublicOnly
        };
        let proxy = std::env::var("TIERDESK_WEBHOOKS_PROXY")
            .ok()
            .map(|proxy| proxy.trim().to_owned())
            .filter(|proxy| !proxy.is_empty());
        if let Some(proxy) = &proxy {
            proxy_of(proxy).map_err(|error| {
                format!(
                    "invalid value '{}' for TIERDESK_WEBHOOKS_PROXY: {error}",
                    redact_url(proxy)
                )
            })?;
        }
        Ok(Settings {
            lifecycle_every: secs("TIERDESK_LIFECYCLE_EVERY_SECS", 30),
            lifecycle_batch: 1000,
            webhooks_every: secs("TIERDESK_WEBHOOKS_EVERY_SECS", 2),
            webhooks_batch: 50,
            webhooks: SenderOptions { reach, proxy },
        })
    }
}

/// How often running re-levels are looked for (each runs to its end once found).
const RELEVEL_EVERY: Duration = Duration::from_secs(5);

/// How often the overview's aggregates (points and levels per day) fold their pending
/// rows.
const FOLD_EVERY: Duration = Duration::from_secs(10);

/// How often batches waiting to be applied are looked for.
const LICENSE_BATCH_EVERY: Duration = Duration::from_secs(2);

/// How often running migration and rollback runs are looked for.
const MIGRATION_EVERY: Duration = Duration::from_secs(1);
/// How long a migration worker works before it looks again (other runs get a turn).
const MIGRATION_BUDGET: Duration = Duration::from_secs(10);
/// How often running rollouts' guardrails are checked (and members per model noted).
const ROLLOUT_EVERY: Duration = Duration::from_secs(5);

/// Spawns the jobs on the current runtime.
pub fn start(state: &AppState, settings: Settings) {
    // Legacy migration and rollback runs started in the console (or left by a process
    // that stopped): a batch at a time, each claiming its run row with SKIP LOCKED, so
    // several processes share the work and a restart resumes after the last batch.
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(MIGRATION_EVERY);
        loop {
            ticker.tick().await;
            match domain::migration::run::work_running(&db, MIGRATION_BUDGET).await {
                Ok(_) => {}
                Err(_) if db.is_closed() => return,
                Err(error) => tracing::error!(%error, "migration batch failed"),
            }
        }
    });
    // Gray rollouts: the guardrails of running rollouts (pausing one that trips, with
    // the reason), a snapshot of members per model a minute, decision records pruned
    // to each rollout's cap. Every process runs it; a guardrail pause is idempotent.
    let db = state.db.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(ROLLOUT_EVERY);
        loop {
            ticker.tick().await;
            match domain::rollout::report::work(&db, clock.now()).await {
                Ok(()) => {}
                Err(_) if db.is_closed() => return,
                Err(error) => tracing::error!(%error, "rollout job failed"),
            }
        }
    });
    // License batch assignment: batches someone started applying, a committed step of
    // rows at a time (each step claims its batch with SKIP LOCKED, so several processes
    // share the work, and a restart resumes after the last committed step).
    let db = state.db.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(LICENSE_BATCH_EVERY);
        loop {
            ticker.tick().await;
            loop {
                match domain::licenses::batch::run_applying(
                    &db,
                    clock.now(),
                    domain::licenses::batch::APPLY_CHUNK,
                )
                .await
                {
                    Ok(Some(progress)) if progress.done => {
                        tracing::info!(?progress, "license batch applied");
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) if db.is_closed() => return,
                    Err(error) => {
                        tracing::error!(%error, "license batch step failed");
                        break;
                    }
                }
            }
        }
    });
    // Re-levels after tier saves: a save starts its own worker; this resumes any that
    // stopped (a restart mid-way, a worker that failed).
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(RELEVEL_EVERY);
        loop {
            ticker.tick().await;
            match domain::points::levels::run_relevels(&db).await {
                Ok(_) => {}
                Err(_) if db.is_closed() => return,
                Err(error) => tracing::error!(%error, "re-levelling failed"),
            }
        }
    });
    // The overview's daily aggregates: fold what ledger and profile statements
    // appended, in bounded batches. Readers add pending rows themselves, so this only
    // keeps them few.
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(FOLD_EVERY);
        loop {
            ticker.tick().await;
            loop {
                match domain::overview::fold_pending(&db).await {
                    Ok(folded) if folded >= domain::overview::FOLD_BATCH_MAX => {}
                    Ok(_) => break,
                    Err(_) if db.is_closed() => return,
                    Err(error) => {
                        tracing::error!(%error, "folding the overview aggregates failed");
                        break;
                    }
                }
            }
        }
    });
    let (lifecycle_every, lifecycle_batch) = (settings.lifecycle_every, settings.lifecycle_batch);
    let db = state.db.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(lifecycle_every);
        loop {
            ticker.tick().await;
            if db.is_closed() {
                return;
            }
            // Drain in bounded batches so a backlog never becomes one huge transaction.
            loop {
                match domain::tags::grants::run_lifecycle(&db, clock.now(), lifecycle_batch).await {
                    Ok(run) if run.total() > 0 => {
                        tracing::info!(?run, "grant lifecycle");
                        if run
                            .renewed
                            .max(run.graced)
                            .max(run.expired)
                            .max(run.reminded)
                            < lifecycle_batch as u64
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
            // Licenses: expiries recorded and reminders sent (usability never waits
            // for this; it is decided from the dates when asked).
            loop {
                match domain::licenses::lifecycle::run_lifecycle(&db, clock.now(), lifecycle_batch)
                    .await
                {
                    Ok(run) if run.expired + run.reminded > 0 => {
                        tracing::info!(?run, "license lifecycle");
                        if run.expired.max(run.reminded) < lifecycle_batch as u64 {
                            break;
                        }
                    }
                    Ok(_) => break,
                    Err(_) if db.is_closed() => return,
                    Err(error) => {
                        tracing::error!(%error, "license lifecycle failed");
                        break;
                    }
                }
            }
            match webhooks::prune(&db, clock.now(), lifecycle_batch).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "outbox events past retention removed"),
                Err(_) if db.is_closed() => return,
                Err(error) => tracing::error!(%error, "outbox pruning failed"),
            }
            match domain::api::idempotency::prune(&db).await {
                Ok(0) => {}
                Ok(removed) => {
                    tracing::info!(removed, "stored API responses past retention removed")
                }
                Err(_) if db.is_closed() => return,
                Err(error) => tracing::error!(%error, "pruning stored API responses failed"),
            }
        }
    });
    let db = state.db.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let sender = match Sender::new(&settings.webhooks) {
            Ok(sender) => sender,
            Err(error) => {
                tracing::error!(%error, "webhook delivery disabled: no HTTP client");
                return;
            }
        };
        if let Some(proxy) = &settings.webhooks.proxy {
            tracing::info!(
                proxy = redact_url(proxy),
                "webhooks are sent through a proxy"
            );
        }
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
    reach: Reach,
    /// Requests go through a proxy, which resolves target names itself: the sender
    /// resolves and checks them before sending.
    proxied: bool,
}

/// Resolves host names and drops addresses that are not public (see [`is_public_ip`]).
/// Used when requests go direct, so the address connected to is one that was checked.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| is_public_ip(address.ip()))
                .collect();
            if addresses.is_empty() {
                return Err(format!("{host} resolves only to private addresses").into());
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn proxy_of(url: &str) -> Result<reqwest::Proxy, reqwest::Error> {
    reqwest::Proxy::all(url)
}

impl Sender {
    /// A sender that goes direct (environment proxies ignored) or through
    /// `options.proxy`, and reaches public addresses only unless `options.reach` allows
    /// private ones.
    pub fn new(options: &SenderOptions) -> Result<Self, reqwest::Error> {
        // One process-wide TLS provider; a second install (tests) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // `no_proxy` also turns off reqwest's reading of HTTP_PROXY and friends.
        let mut builder = reqwest::Client::builder().no_proxy();
        match (&options.proxy, options.reach) {
            (Some(proxy), _) => builder = builder.proxy(proxy_of(proxy)?),
            // With a proxy the resolver would only ever see the proxy's own name (the
            // operator's choice, often private); targets are checked in `send` instead.
            (None, Reach::PublicOnly) => builder = builder.dns_resolver(Arc::new(PublicOnly)),
            (None, Reach::PrivateAllowed) => {}
        }
        let client = builder
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Tierdesk-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender {
            client,
            reach: options.reach,
            proxied: options.proxy.is_some(),
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

    /// Sends one delivery, signed with `timestamp`: the response's status, or why
    /// there was none, and how long it took (milliseconds).
    pub async fn send(
        &self,
        delivery: &Delivery,
        timestamp: i64,
    ) -> (Option<u16>, Option<String>, i32) {
        let started = Instant::now();
        let elapsed = || i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        if self.reach == Reach::PublicOnly
            && let Err(refusal) = self.check_target(&delivery.url).await
        {
            return (None, Some(refusal), elapsed());
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
        match result {
            Ok(response) => (Some(response.status().as_u16()), None, elapsed()),
            // The error's text would carry the URL, credentials and all; the delivery
            // log records the URL (redacted) beside it anyway.
            Err(error) => (None, Some(error_chain(&error.without_url())), elapsed()),
        }
    }

    /// Refuses a target that is not public: a literal IP always (no resolver sees it),
    /// a name only when a proxy will resolve it (otherwise [`PublicOnly`] does, at
    /// connect time). Every address of the name must be public.
    async fn check_target(&self, url: &str) -> Result<(), String> {
        let url = Url::parse(url).map_err(|error| format!("invalid URL: {error}"))?;
        let port = url.port_or_known_default().unwrap_or(0);
        let host = url.host_str().ok_or("the URL has no host")?;
        // The URL parser has turned every IP spelling (`2130706433`, `[::ffff:…]`) into
        // its canonical text.
        let literal = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>();
        let addresses: Vec<IpAddr> = match literal {
            Ok(ip) => vec![ip],
            Err(_) if !self.proxied => return Ok(()),
            Err(_) => {
                let lookup = tokio::net::lookup_host((host, port));
                match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                    Ok(Ok(found)) => found.map(|address| address.ip()).collect(),
                    Ok(Err(error)) => return Err(format!("{host} does not resolve: {error}")),
                    Err(_) => return Err(format!("{host} does not resolve: timed out")),
                }
            }
        };
        match addresses.iter().find(|ip| !is_public_ip(**ip)) {
            Some(ip) => Err(format!("private address not allowed: {ip}")),
            None if addresses.is_empty() => Err("the host has no addresses".into()),
            None => Ok(()),
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
