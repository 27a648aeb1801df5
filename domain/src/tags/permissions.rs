//! Effective permissions and the permission cache.
//!
//! `effective = level privileges ∪ privileges of every tag grant in force`, where a grant
//! is in force from `starts_at` until `expires_at + grace_days` (auto-renewing grants
//! until the lifecycle job renews them). Quotas: `max_licenses = max(level's, every tag's
//! floor) + sum of the tags' boosts`. Every permission and quota is returned with the
//! level or tag grant that confers it.
//!
//! ## The cache is never stale
//!
//! Each server process owns one [`PermissionCache`] (a *node*). Database triggers bump a
//! per-tenant epoch and send `tenant epoch members|*` on channel `tierdesk_cache` in the
//! transaction of every change that can alter an answer (level change, grant change, tag
//! or tier edit); the epoch row lock orders those transactions, so notifications arrive
//! in epoch order. A node invalidates, then records the epoch it applied
//! (`cache_node_acks`). The writer, after its commit, calls [`settle`], which returns when
//! every live node has applied the tenant's epoch — its own process included — so once a
//! revocation returns, no process answers with the old permission.
//!
//! A node proves it is live by receiving its own ping through the same notification
//! channel (which also proves every earlier notification was applied) and then writing
//! its heartbeat. It serves from its cache only until `ping sent + LEASE - MARGIN`;
//! writers stop waiting for a node whose heartbeat is older than `LEASE`. A node that
//! loses its listening connection therefore stops answering from its cache before any
//! writer stops waiting for it. A fill that raced with an invalidation is dropped
//! (generation check), and every entry also carries the instant a grant starts, ends or
//! leaves grace, after which it is not used.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use uuid::Uuid;

use crate::api::keys::KeyRecord;
use crate::clock::SharedClock;
use crate::{Access, Error, Result, Role};
pub use model::tags::permissions::{
    CacheStats, Effective, GrantState, MAX_LICENSES, Permission, Quota, QuotaPart, Source,
    SourceKind, grant_state,
};

pub const CHANNEL: &str = "tierdesk_cache";
/// Writers wait for nodes whose heartbeat is younger than this.
pub const LEASE: StdDuration = StdDuration::from_secs(5);
/// A node stops serving from its cache this long before its lease ends.
const MARGIN: StdDuration = StdDuration::from_secs(1);
const HEARTBEAT_EVERY: StdDuration = StdDuration::from_secs(1);
/// A listener that hears nothing (not even its own pings) for this long reconnects.
const SILENCE_MAX: StdDuration = StdDuration::from_secs(3);
/// Nodes silent for this long are removed from `cache_nodes`.
const REAP_AFTER_SECS: f64 = 3600.0;

/// Loads and combines a member's privileges, without the cache.
pub async fn compute(
    db: &PgPool,
    tenant_id: Uuid,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Effective> {
    let rows = sqlx::query!(
        r#"select 'level' as "kind!", t.tier_id as "id!", t.code as "code!", t.name_en as "name_en!",
                  t.name_zh as "name_zh!", t.permissions as "permissions!", t.max_licenses::bigint as "floor!",
                  0::bigint as "boost!", null::uuid as grant_id, null::text as status,
                  null::timestamptz as starts_at, null::timestamptz as expires_at,
                  0 as "grace_days!", false as "auto_renew!"
           from member_profiles p
           -- The level from total_points and the current tiers (not the stored level,
           -- which a re-level after a tier save stores a few seconds later).
           join lateral (
             select x.* from level_tiers x
             where x.tenant_id = p.tenant_id and x.active and x.min_points <= p.total_points
               and (x.max_points is null or p.total_points <= x.max_points)
             order by x.sort_order limit 1
           ) t on true
           where p.tenant_id = $1 and p.member_id = $2
           union all
           select 'tag', tg.tag_id, tg.code, tg.name_en, tg.name_zh, tg.permissions, tg.max_licenses::bigint,
                  tg.max_licenses_boost::bigint, g.grant_id, g.status, g.starts_at, g.expires_at,
                  g.grace_days, g.auto_renew
           from tag_grants g
           join tags tg on tg.tenant_id = g.tenant_id and tg.tag_id = g.tag_id
           where g.tenant_id = $1 and g.member_id = $2 and g.status in ('active', 'grace')"#,
        tenant_id,
        member_id
    )
    .fetch_all(db)
    .await?;
    if rows.is_empty() {
        let exists = sqlx::query_scalar!(
            r#"select exists (select 1 from member_profiles where tenant_id = $1 and member_id = $2) as "exists!""#,
            tenant_id,
            member_id
        )
        .fetch_one(db)
        .await?;
        if !exists {
            return Err(Error::not_found("member"));
        }
    }
    let mut effective = Effective {
        member_id,
        level: None,
        permissions: Vec::new(),
        quotas: Vec::new(),
        valid_until: None,
    };
    let mut by_key: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    let mut parts = Vec::new();
    for row in rows {
        let is_level = row.kind == "level";
        let (state, until) = if is_level {
            (None, None)
        } else {
            let (state, change_at) = grant_state(
                row.status.as_deref().unwrap_or("active"),
                row.starts_at.unwrap_or(now),
                row.expires_at,
                row.grace_days,
                row.auto_renew,
                now,
            );
            if let Some(at) = change_at {
                effective.valid_until = Some(effective.valid_until.map_or(at, |v| v.min(at)));
            }
            if !matches!(state, GrantState::Active | GrantState::Grace) {
                continue;
            }
            (Some(state), change_at)
        };
        let source = Source {
            kind: if is_level {
                SourceKind::Level
            } else {
                SourceKind::Tag
            },
            id: row.id,
            code: row.code,
            name_en: row.name_en,
            name_zh: row.name_zh,
            grant_id: row.grant_id,
            state,
            until,
        };
        for key in row.permissions {
            by_key.entry(key).or_default().push(source.clone());
        }
        if row.floor > 0 || row.boost > 0 || is_level {
            parts.push(QuotaPart {
                source: source.clone(),
                floor: row.floor,
                boost: row.boost,
            });
        }
        if is_level {
            effective.level = Some(source);
        }
    }
    effective.permissions = by_key
        .into_iter()
        .map(|(key, sources)| Permission { key, sources })
        .collect();
    effective.quotas = vec![Quota::combine(MAX_LICENSES, parts)];
    Ok(effective)
}

/// A member's effective permissions with their sources (every role may look).
pub async fn effective(
    db: &PgPool,
    access: &Access,
    clock: &SharedClock,
    member_id: Uuid,
) -> Result<Effective> {
    access.require(Role::Viewer)?;
    compute(db, access.tenant_id, member_id, clock.now()).await
}

/// What the cache keeps per member: just enough to answer checks.
#[derive(Debug)]
struct Compiled {
    keys: HashSet<Box<str>>,
    max_licenses: i64,
    valid_until: Option<DateTime<Utc>>,
}

impl From<&Effective> for Compiled {
    fn from(effective: &Effective) -> Self {
        Compiled {
            keys: effective
                .permissions
                .iter()
                .map(|p| p.key.clone().into_boxed_str())
                .collect(),
            max_licenses: effective.quota(MAX_LICENSES),
            valid_until: effective.valid_until,
        }
    }
}

/// One process's permission cache and its membership in the coherence protocol.
pub struct PermissionCache {
    node_id: Uuid,
    entries: quick_cache::sync::Cache<(Uuid, Uuid), Arc<Compiled>>,
    /// API keys by the SHA-256 of their secret (`crate::api::keys`), under the same
    /// protocol: a key change invalidates its tenant.
    keys: quick_cache::sync::Cache<[u8; 32], Arc<KeyRecord>>,
    clock: SharedClock,
    /// Bumped by every invalidation; a fill that saw it move is not cached.
    generation: AtomicU64,
    /// Held while comparing the generation and inserting (fills) and while bumping it
    /// and removing (invalidations), so a fill that read before an invalidation can
    /// never become visible after it. Reads of the cache do not take it.
    fill_lock: Mutex<()>,
    /// The cache is used until this instant (`None`: not a live node).
    serving_until: Mutex<Option<Instant>>,
    /// Pings sent and not yet seen come back, by number.
    pings: Mutex<BTreeMap<u64, Instant>>,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
}

impl std::fmt::Debug for PermissionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PermissionCache")
            .field("node_id", &self.node_id)
            .field("stats", &self.stats())
            .finish()
    }
}

impl PermissionCache {
    pub fn new(clock: SharedClock, capacity: u64) -> Arc<Self> {
        Arc::new(PermissionCache {
            node_id: Uuid::new_v4(),
            // S3-FIFO, sharded, no maintenance work on the read path (a cached check
            // never pays for someone else's bookkeeping).
            entries: quick_cache::sync::Cache::new(usize::try_from(capacity).unwrap_or(usize::MAX)),
            keys: quick_cache::sync::Cache::new(10_000),
            clock,
            generation: AtomicU64::new(0),
            fill_lock: Mutex::new(()),
            serving_until: Mutex::new(None),
            pings: Mutex::new(BTreeMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
        })
    }

    pub fn node_id(&self) -> Uuid {
        self.node_id
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            entries: self.entries.len() as u64,
            serving: self.serving(),
        }
    }

    fn serving(&self) -> bool {
        lock(&self.serving_until).is_some_and(|until| Instant::now() < until)
    }

    fn stop_serving(&self) {
        *lock(&self.serving_until) = None;
        self.clear();
    }

    fn clear(&self) {
        let _fill = lock(&self.fill_lock);
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.clear();
        self.keys.clear();
    }

    /// A cached API key (only while this node serves from its caches).
    pub fn cached_key(&self, digest: &[u8; 32]) -> Option<Arc<KeyRecord>> {
        if !self.serving() {
            return None;
        }
        self.keys.get(digest)
    }

    /// The generation to pass to [`Self::remember_key`]: read it before the key.
    pub fn key_generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Caches a key read from the database, unless an invalidation arrived since
    /// `generation` was read (it may concern this key).
    pub fn remember_key(&self, digest: [u8; 32], key: Arc<KeyRecord>, generation: u64) {
        if !self.serving() {
            return;
        }
        let _fill = lock(&self.fill_lock);
        if self.generation.load(Ordering::SeqCst) == generation {
            self.keys.insert(digest, key);
        }
    }

    /// Leaves the protocol on a clean shutdown, so writers do not wait for this node's
    /// lease to run out.
    pub async fn leave(&self, db: &PgPool) -> Result<()> {
        self.stop_serving();
        sqlx::query!("delete from cache_nodes where node_id = $1", self.node_id)
            .execute(db)
            .await?;
        Ok(())
    }

    /// Whether the member has the permission (`key`), from the cache when possible.
    pub async fn check(
        &self,
        db: &PgPool,
        access: &Access,
        member_id: Uuid,
        key: &str,
    ) -> Result<bool> {
        Ok(self
            .compiled(db, access, member_id)
            .await?
            .keys
            .contains(key))
    }

    /// The member's effective `max_licenses`, from the cache when possible.
    pub async fn max_licenses(&self, db: &PgPool, access: &Access, member_id: Uuid) -> Result<i64> {
        Ok(self.compiled(db, access, member_id).await?.max_licenses)
    }

    async fn compiled(
        &self,
        db: &PgPool,
        access: &Access,
        member_id: Uuid,
    ) -> Result<Arc<Compiled>> {
        access.require(Role::Viewer)?;
        let key = (access.tenant_id, member_id);
        let now = self.clock.now();
        let serving = self.serving();
        if serving
            && let Some(hit) = self.entries.get(&key)
            && hit.valid_until.is_none_or(|until| now < until)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let generation = self.generation.load(Ordering::SeqCst);
        let compiled = Arc::new(Compiled::from(
            &compute(db, access.tenant_id, member_id, now).await?,
        ));
        if serving {
            // An invalidation that arrived while we read may concern what we read.
            let _fill = lock(&self.fill_lock);
            if self.generation.load(Ordering::SeqCst) == generation {
                self.entries.insert(key, compiled.clone());
            }
        }
        Ok(compiled)
    }

    fn invalidate(&self, tenant_id: Uuid, members: Option<&[Uuid]>) {
        let _fill = lock(&self.fill_lock);
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.invalidations.fetch_add(1, Ordering::Relaxed);
        match members {
            Some(members) => {
                for member_id in members {
                    self.entries.remove(&(tenant_id, *member_id));
                }
            }
            None => {
                self.entries.retain(|key, _| key.0 != tenant_id);
                self.keys.retain(|_, key| key.tenant_id != tenant_id);
            }
        }
    }

    /// Runs this node: listens for invalidations, acknowledges them and keeps its lease,
    /// reconnecting after failures. Spawn it once per process.
    pub fn start(self: &Arc<Self>, db: PgPool, description: String) {
        let node = self.clone();
        let pinger = self.clone();
        let ping_db = db.clone();
        tokio::spawn(async move {
            loop {
                let outcome = node.run(&db, &description).await;
                if db.is_closed() {
                    node.stop_serving();
                    return;
                }
                if let Err(error) = outcome {
                    tracing::warn!(%error, node = %node.node_id, "permission cache node lost its listener; reconnecting");
                }
                node.stop_serving();
                tokio::time::sleep(StdDuration::from_millis(500)).await;
            }
        });
        tokio::spawn(async move {
            let mut number: u64 = 0;
            let mut ticker = tokio::time::interval(HEARTBEAT_EVERY);
            loop {
                ticker.tick().await;
                if ping_db.is_closed() {
                    return;
                }
                number += 1;
                let sent = Instant::now();
                lock(&pinger.pings).insert(number, sent);
                let payload = format!("ping {} {number}", pinger.node_id);
                if let Err(error) = sqlx::query("select pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(payload)
                    .execute(&ping_db)
                    .await
                {
                    tracing::warn!(%error, "permission cache ping failed");
                }
                // Forget pings that never came back (a lost connection).
                lock(&pinger.pings).retain(|_, at| at.elapsed() < LEASE * 2);
                if number.is_multiple_of(60)
                    && let Err(error) = sqlx::query!(
                        "delete from cache_nodes where heartbeat_at < now() - make_interval(secs => $1)",
                        REAP_AFTER_SECS
                    )
                    .execute(&ping_db)
                    .await
                {
                    tracing::warn!(%error, "reaping silent cache nodes failed");
                }
            }
        });
    }

    async fn run(&self, db: &PgPool, description: &str) -> Result<()> {
        let mut listener = PgListener::connect_with(db).await?;
        listener.listen(CHANNEL).await?;
        self.register(db, description).await?;
        loop {
            // Our own pings arrive every second: silence means a dead connection even
            // if the socket has not noticed.
            let first = match tokio::time::timeout(SILENCE_MAX, listener.try_recv()).await {
                Ok(Ok(Some(first))) => first,
                Ok(Ok(None)) => return Err(Error::Internal("listener connection lost".into())),
                Ok(Err(error)) => return Err(error.into()),
                Err(_) => return Err(Error::Internal("listener silent".into())),
            };
            let mut batch = vec![first];
            while let Some(more) = listener.next_buffered() {
                batch.push(more);
            }
            let mut acks: BTreeMap<Uuid, i64> = BTreeMap::new();
            let mut pinged: Option<Instant> = None;
            for notification in &batch {
                match parse(notification.payload()) {
                    Some(Message::Invalidate {
                        tenant_id,
                        epoch,
                        members,
                    }) => {
                        self.invalidate(tenant_id, members.as_deref());
                        let acked = acks.entry(tenant_id).or_insert(epoch);
                        *acked = (*acked).max(epoch);
                    }
                    Some(Message::Ping { node_id, number }) if node_id == self.node_id => {
                        if let Some(sent) = lock(&self.pings).remove(&number) {
                            pinged = Some(pinged.map_or(sent, |p: Instant| p.max(sent)));
                        }
                    }
                    Some(Message::Ping { .. }) => {}
                    None => tracing::warn!(
                        payload = notification.payload(),
                        "unknown cache notification"
                    ),
                }
            }
            if acks.is_empty() && pinged.is_none() {
                // Only other nodes' pings: nothing to record.
                continue;
            }
            let tenants: Vec<Uuid> = acks.keys().copied().collect();
            let epochs: Vec<i64> = acks.values().copied().collect();
            let heartbeat = pinged.is_some();
            let updated = sqlx::query_scalar!(
                r#"with acked as (
                     insert into cache_node_acks (node_id, tenant_id, epoch)
                     select $1, t, e from unnest($2::uuid[], $3::bigint[]) as a(t, e)
                     on conflict (node_id, tenant_id) do update
                       set epoch = greatest(cache_node_acks.epoch, excluded.epoch)
                   )
                   update cache_nodes set heartbeat_at = case when $4 then now() else heartbeat_at end
                   where node_id = $1
                   returning node_id"#,
                self.node_id,
                &tenants,
                &epochs,
                heartbeat
            )
            .fetch_optional(db)
            .await?;
            if updated.is_none() {
                return Err(Error::Internal("cache node was reaped".into()));
            }
            if let Some(sent) = pinged {
                if !self.serving() {
                    // The lease had lapsed: writers may have stopped waiting for us, so
                    // nothing cached before this moment can be trusted.
                    self.clear();
                }
                *lock(&self.serving_until) = Some(sent + LEASE - MARGIN);
            }
        }
    }

    /// Joins the protocol: with writers held off (share lock on the epochs), records the
    /// node and, as applied, every epoch committed so far (the cache is empty).
    async fn register(&self, db: &PgPool, description: &str) -> Result<()> {
        self.stop_serving();
        let mut tx = db.begin().await?;
        // Do not queue behind a long tier save (and block every writer behind us).
        sqlx::query!("set local lock_timeout = '2s'")
            .execute(&mut *tx)
            .await?;
        sqlx::query!("lock table tenant_cache_epochs in share mode")
            .execute(&mut *tx)
            .await?;
        sqlx::query!(
            "insert into cache_nodes (node_id, description) values ($1, $2)
             on conflict (node_id) do update set heartbeat_at = now(), started_at = now()",
            self.node_id,
            description
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into cache_node_acks (node_id, tenant_id, epoch)
             select $1, tenant_id, epoch from tenant_cache_epochs
             on conflict (node_id, tenant_id) do update set epoch = excluded.epoch",
            self.node_id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

enum Message {
    Invalidate {
        tenant_id: Uuid,
        epoch: i64,
        members: Option<Vec<Uuid>>,
    },
    Ping {
        node_id: Uuid,
        number: u64,
    },
}

fn parse(payload: &str) -> Option<Message> {
    let mut parts = payload.split(' ');
    let first = parts.next()?;
    if first == "ping" {
        return Some(Message::Ping {
            node_id: parts.next()?.parse().ok()?,
            number: parts.next()?.parse().ok()?,
        });
    }
    let tenant_id = first.parse().ok()?;
    let epoch = parts.next()?.parse().ok()?;
    let members = match parts.next()? {
        "*" => None,
        list => Some(
            list.split(',')
                .map(str::parse)
                .collect::<std::result::Result<Vec<Uuid>, _>>()
                .ok()?,
        ),
    };
    Some(Message::Invalidate {
        tenant_id,
        epoch,
        members,
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits until every live cache node has applied the tenant's latest invalidation. Call
/// it after committing a change that can alter permissions; when it returns, no process
/// answers from the state before the change.
pub async fn settle(db: &PgPool, tenant_id: Uuid) -> Result<()> {
    let Some(target) = sqlx::query_scalar!(
        "select epoch from tenant_cache_epochs where tenant_id = $1",
        tenant_id
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(());
    };
    let started = Instant::now();
    let mut pause = StdDuration::from_micros(250);
    loop {
        let waiting = sqlx::query_scalar!(
            r#"select count(*) as "count!" from cache_nodes n
               where n.heartbeat_at > now() - make_interval(secs => $3)
                 and coalesce((select a.epoch from cache_node_acks a
                               where a.node_id = n.node_id and a.tenant_id = $1), 0) < $2"#,
            tenant_id,
            target,
            LEASE.as_secs_f64()
        )
        .fetch_one(db)
        .await?;
        if waiting == 0 {
            return Ok(());
        }
        if started.elapsed() > LEASE * 3 {
            // Cannot happen while nodes follow the protocol: a node that stops acking
            // stops heartbeating and drops out after LEASE.
            tracing::error!(%tenant_id, waiting, "permission cache nodes did not acknowledge an invalidation");
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(StdDuration::from_millis(20));
    }
}

/// How many server processes are live nodes now (at least 1: the caller's own).
pub async fn live_nodes(db: &PgPool) -> Result<i64> {
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from cache_nodes
           where heartbeat_at > now() - make_interval(secs => $1)"#,
        LEASE.as_secs_f64()
    )
    .fetch_one(db)
    .await?;
    Ok(count.max(1))
}
