//! `tierdesk bench api`: the REST API over real HTTP, on the server's own router and
//! database, with the load generator in the same process (on the same cores, as the
//! issue's goals assume).
//!
//! 1. **Open loop**: requests arrive at a fixed rate (`--rate`) whatever the server
//!    does, over at most `--connections` keep-alive connections, and each latency is
//!    measured from the request's *scheduled* time: a request that waited for a free
//!    connection because the server fell behind counts its wait (no coordinated
//!    omission). The mix: 75 % permission checks (cached), 10 % member summaries, 14 %
//!    earns (each with an `Idempotency-Key`, as a tenant backend sends them), 1 % batches
//!    of 50 earns.
//! 2. **Closed loop**: every connection sends the same mix back to back; the maximum
//!    requests per second.
//! 3. **Batch ingestion**: 4 clients send batches of 1,000 earns back to back, each for
//!    its own quarter of the members (batches that share members serialise on their
//!    profile locks, so a backend ingesting in parallel partitions them); changes per
//!    second, then the ledger check on the tenant.
//! 4. **Single earn vs the domain**: 16 clients, 70 % earn / 30 % spend, through the API
//!    (no idempotency key) and through `ledger::earn`/`spend` directly (`bench points`,
//!    on a tenant of its own), one after the other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::api::keys::{self, NewKey, Scope};
use domain::{Access, Error, Principal, Role};
use rand::Rng;
use sqlx::PgPool;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// Changes per batch in the open-loop mix, and in the ingestion run.
const MIX_BATCH: usize = 50;
const INGEST_BATCH: usize = 1000;
const INGEST_CLIENTS: usize = 4;
const EARN_CLIENTS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Check,
    Summary,
    Earn,
    Batch,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Check => "check",
            Op::Summary => "summary",
            Op::Earn => "earn",
            Op::Batch => "batch",
        }
    }

    /// The open and closed loops' mix.
    fn pick(rng: &mut impl Rng) -> Op {
        match rng.gen_range(0..100) {
            0..75 => Op::Check,
            75..85 => Op::Summary,
            85..99 => Op::Earn,
            _ => Op::Batch,
        }
    }
}

/// One operation's outcomes: latencies of the 2xx answers in µs (sorted), and the rest.
#[derive(Debug, Default, Clone)]
pub struct OpStats {
    pub latencies: Vec<u64>,
    pub errors: u64,
}

pub struct ApiReport {
    pub slug: String,
    pub members: i64,
    pub open: Vec<(Op, OpStats)>,
    pub open_seconds: f64,
    pub closed: Vec<(Op, OpStats)>,
    pub closed_seconds: f64,
    pub ingest_changes: u64,
    pub ingest_seconds: f64,
    pub ingest_errors: u64,
    pub violations: usize,
    pub api_earns: u64,
    pub earn_seconds: f64,
    pub domain_earns: u64,
    pub domain_seconds: f64,
}

impl ApiReport {
    pub fn requests(stats: &[(Op, OpStats)]) -> u64 {
        stats
            .iter()
            .map(|(_, s)| s.latencies.len() as u64 + s.errors)
            .sum()
    }
}

/// What the load generator needs to reach the server.
#[derive(Clone)]
struct Target {
    client: reqwest::Client,
    base: String,
    authorization: String,
    members: Arc<Vec<String>>,
}

impl Target {
    fn member(&self, rng: &mut impl Rng) -> &str {
        &self.members[rng.gen_range(0..self.members.len())]
    }

    /// Sends one request of `op`; true for a 2xx answer.
    async fn send(&self, op: Op, idempotent: bool) -> bool {
        let (method, path, body) = {
            let mut rng = rand::thread_rng();
            match op {
                Op::Check => (
                    reqwest::Method::GET,
                    format!(
                        "/members/{}/permissions?keys=license_request",
                        self.member(&mut rng)
                    ),
                    None,
                ),
                Op::Summary => (
                    reqwest::Method::GET,
                    format!("/members/{}/summary", self.member(&mut rng)),
                    None,
                ),
                Op::Earn => (
                    reqwest::Method::POST,
                    "/points/earn".to_owned(),
                    Some(earn(self.member(&mut rng), rng.gen_range(1..100), "")),
                ),
                Op::Batch => {
                    let changes: Vec<String> = (0..MIX_BATCH)
                        .map(|_| earn(self.member(&mut rng), rng.gen_range(1..100), "earn"))
                        .collect();
                    (
                        reqwest::Method::POST,
                        "/points/batch".to_owned(),
                        Some(format!("{{\"changes\":[{}]}}", changes.join(","))),
                    )
                }
            }
        };
        self.request(method, &path, body, idempotent).await
    }

    async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        idempotent: bool,
    ) -> bool {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(http::header::AUTHORIZATION, &self.authorization);
        if let Some(body) = body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body);
            if idempotent {
                request = request.header("idempotency-key", Uuid::new_v4().to_string());
            }
        }
        match request.send().await {
            Ok(response) => {
                let ok = response.status().is_success();
                // Read the body: the connection goes back to the pool only then.
                let _ = response.bytes().await;
                ok
            }
            Err(_) => false,
        }
    }
}

/// One change as JSON; `kind` set for a batch's change.
fn earn(member: &str, points: i64, kind: &str) -> String {
    if kind == "earn" {
        format!(
            "{{\"kind\":\"earn\",\"member\":\"{member}\",\"points\":{points},\"category\":\"bench\"}}"
        )
    } else {
        format!("{{\"member\":\"{member}\",\"points\":{points},\"category\":\"bench\"}}")
    }
}

type Recorded = Arc<Mutex<HashMap<Op, OpStats>>>;

fn record(recorded: &Recorded, op: Op, ok: bool, micros: u64) {
    if let Ok(mut all) = recorded.lock() {
        let stats = all.entry(op).or_default();
        if ok {
            stats.latencies.push(micros);
        } else {
            stats.errors += 1;
        }
    }
}

fn sorted(recorded: Recorded) -> Vec<(Op, OpStats)> {
    let all = recorded.lock().map(|a| a.clone()).unwrap_or_default();
    let mut all: Vec<(Op, OpStats)> = all.into_iter().collect();
    for (_, stats) in &mut all {
        stats.latencies.sort_unstable();
    }
    all.sort_by_key(|(op, _)| *op);
    all
}

/// Runs the four parts against the server listening at `address` (its router built
/// on `db`); `domain_db` has a connection per earn client for the domain's run.
pub async fn run(
    db: &PgPool,
    domain_db: &PgPool,
    address: std::net::SocketAddr,
    connections: usize,
    rate: u64,
    seconds: u64,
    members: i64,
) -> Result<ApiReport, Error> {
    let slug = format!("bench-api-{}", &Uuid::new_v4().simple().to_string()[..10]);
    let tenant =
        domain::access::tenants::create(db, &Principal::cli(), None, &slug, "API benchmark")
            .await?;
    let mut tx = db.begin().await?;
    domain::points::levels::install(
        &mut tx,
        tenant.tenant_id,
        &domain::points::levels::default_tiers(),
    )
    .await?;
    domain::demo::seed_tags(&mut tx, tenant.tenant_id).await?;
    domain::demo::seed_members(&mut tx, tenant.tenant_id, members).await?;
    tx.commit().await?;
    let external_ids: Vec<String> = sqlx::query_scalar!(
        "select external_id from member_profiles where tenant_id = $1 order by external_id",
        tenant.tenant_id
    )
    .fetch_all(db)
    .await?;
    let access = Access {
        principal: Principal::cli(),
        tenant_id: tenant.tenant_id,
        role: Role::TenantAdmin,
        request_id: None,
    };
    let issued = keys::create(
        db,
        &access,
        NewKey {
            name: "benchmark".into(),
            scope: Scope::Write,
            rate_per_second: Some(keys::RATE_MAX),
            burst: Some(keys::RATE_MAX),
        },
    )
    .await?;
    // reqwest is built without a TLS provider of its own (plain HTTP here).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::Internal(format!("http client: {e}")))?;
    let target = Target {
        client,
        base: format!("http://{address}/api/v1"),
        authorization: format!("Bearer {}", issued.secret),
        members: Arc::new(external_ids),
    };

    // Warm-up: every connection opened, the key and the members' permissions cached.
    closed_loop(&target, connections, Duration::from_secs(2), false).await;

    // Single changes first, the API's and the domain's one after the other on a database
    // in the same state (after the ingestion below, autovacuum shares the cores).
    let (api_earns, earn_seconds) = earn_loop(&target, seconds).await;
    let domain_report = super::points(domain_db, EARN_CLIENTS, seconds, members).await?;
    let (open, open_seconds) = open_loop(&target, connections, rate, seconds).await;
    let (closed, closed_seconds) =
        closed_loop(&target, connections, Duration::from_secs(seconds), true).await;
    let (ingest_changes, ingest_errors, ingest_seconds) = ingest(&target, seconds).await;
    let violations = domain::points::check::check(db, Some(tenant.tenant_id))
        .await?
        .len();
    Ok(ApiReport {
        slug,
        members,
        open,
        open_seconds,
        closed,
        closed_seconds,
        ingest_changes,
        ingest_seconds,
        ingest_errors,
        violations,
        api_earns,
        earn_seconds,
        domain_earns: domain_report.transactions,
        domain_seconds: domain_report.seconds,
    })
}

/// Requests at `rate` per second for `seconds`, at most `connections` in flight; each
/// latency from its scheduled time.
async fn open_loop(
    target: &Target,
    connections: usize,
    rate: u64,
    seconds: u64,
) -> (Vec<(Op, OpStats)>, f64) {
    let recorded: Recorded = Arc::default();
    let slots = Arc::new(Semaphore::new(connections));
    let total = rate.max(1) * seconds;
    let interval_ns = 1_000_000_000 / rate.max(1);
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let scheduled = start + Duration::from_nanos(i * interval_ns);
        tokio::time::sleep_until(scheduled).await;
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let op = Op::pick(&mut rand::thread_rng());
        let (target, recorded) = (target.clone(), recorded.clone());
        tasks.spawn(async move {
            let ok = target.send(op, true).await;
            let micros = scheduled.elapsed().as_micros() as u64;
            drop(slot);
            record(&recorded, op, ok, micros);
        });
        // Reap finished tasks as we go (memory stays flat at any duration).
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = (tokio::time::Instant::now() - start).as_secs_f64();
    (sorted(recorded), elapsed)
}

/// `connections` clients sending the mix back to back for `length`.
async fn closed_loop(
    target: &Target,
    connections: usize,
    length: Duration,
    idempotent: bool,
) -> (Vec<(Op, OpStats)>, f64) {
    let recorded: Recorded = Arc::default();
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (target, recorded) = (target.clone(), recorded.clone());
        tasks.spawn(async move {
            while Instant::now() < deadline {
                let op = Op::pick(&mut rand::thread_rng());
                let sent = Instant::now();
                let ok = target.send(op, idempotent).await;
                record(&recorded, op, ok, sent.elapsed().as_micros() as u64);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    (sorted(recorded), started.elapsed().as_secs_f64())
}

/// Batches of 1,000 earns back to back from 4 clients: (changes posted, failed
/// requests, seconds).
async fn ingest(target: &Target, seconds: u64) -> (u64, u64, f64) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..INGEST_CLIENTS {
        let target = target.clone();
        // Each client its own share of the members, as a backend ingesting in parallel
        // partitions them: batches sharing members serialise on their profile locks.
        let share: Vec<String> = target
            .members
            .iter()
            .skip(client)
            .step_by(INGEST_CLIENTS)
            .cloned()
            .collect();
        tasks.spawn(async move {
            let (mut posted, mut failed) = (0u64, 0u64);
            while Instant::now() < deadline {
                let body = {
                    let mut rng = rand::thread_rng();
                    let changes: Vec<String> = (0..INGEST_BATCH)
                        .map(|_| {
                            let member = &share[rng.gen_range(0..share.len())];
                            earn(member, rng.gen_range(1..100), "earn")
                        })
                        .collect();
                    format!("{{\"changes\":[{}]}}", changes.join(","))
                };
                if target
                    .request(reqwest::Method::POST, "/points/batch", Some(body), true)
                    .await
                {
                    posted += INGEST_BATCH as u64;
                } else {
                    failed += 1;
                }
            }
            (posted, failed)
        });
    }
    let (mut posted, mut failed) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        if let Ok((p, f)) = done {
            posted += p;
            failed += f;
        }
    }
    (posted, failed, started.elapsed().as_secs_f64())
}

/// 16 clients, 70 % earn / 30 % spend through the API without idempotency keys, as
/// `bench points` does through the domain: (changes posted, seconds).
async fn earn_loop(target: &Target, seconds: u64) -> (u64, f64) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..EARN_CLIENTS {
        let target = target.clone();
        tasks.spawn(async move {
            let mut posted = 0u64;
            while Instant::now() < deadline {
                let (path, body) = {
                    let mut rng = rand::thread_rng();
                    let member = target.member(&mut rng).to_owned();
                    let path = if rng.gen_bool(0.7) {
                        "/points/earn"
                    } else {
                        "/points/spend"
                    };
                    (path, earn(&member, rng.gen_range(1..100), ""))
                };
                if target
                    .request(reqwest::Method::POST, path, Some(body), false)
                    .await
                {
                    posted += 1;
                }
            }
            posted
        });
    }
    let mut posted = 0;
    while let Some(done) = tasks.join_next().await {
        posted += done.unwrap_or(0);
    }
    (posted, started.elapsed().as_secs_f64())
}
