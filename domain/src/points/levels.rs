//! Level tiers and the level function.
//!
//! A member's level is a pure function of `total_points` and the tenant's active tiers
//! ([`level_for`]); the same rule is written once more in SQL ([`LEVEL_SQL`] is the
//! shape every statement uses) so that it can run set-based inside the statement that
//! changes the points. Active tiers must cover 0..∞ without overlap or gap.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::ResultExt;
use crate::{Access, Error, Problem, Result, Role, access::audit};
use model::points::levels::clean;
pub use model::points::levels::{
    LevelChange, Preview, RelevelProgress, TIERS_MAX, Tier, TierCount, TierInput, TierProblem,
    default_tiers, level_for, validate,
};

pub async fn list(db: &PgPool, access: &Access) -> Result<Vec<Tier>> {
    access.require(Role::Viewer)?;
    load(&mut *db.acquire().await?, access.tenant_id).await
}

async fn load(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Vec<Tier>> {
    let tiers = sqlx::query_as!(
        Tier,
        "select tier_id, code, name_zh, name_en, sort_order, min_points, max_points, active,
                permissions, max_licenses
         from level_tiers where tenant_id = $1 order by sort_order",
        tenant_id
    )
    .fetch_all(conn)
    .await?;
    Ok(tiers)
}

/// The complete new set of tiers, cleaned and checked. The input lists every existing
/// tier (a tier is retired by deactivating it, so history keeps its name) plus any new
/// ones; the input's field errors come first, then the set's.
fn proposed(current: &[Tier], inputs: &[TierInput]) -> Result<Vec<Tier>> {
    if inputs.len() > TIERS_MAX {
        return Err(Error::invalid("tiers", Problem::TooLong { max: TIERS_MAX }));
    }
    let tiers: Vec<Tier> = inputs
        .iter()
        .map(|input| clean(input).map_err(Error::from))
        .collect::<Result<_>>()?;
    for tier in &tiers {
        let existing = inputs.iter().any(|i| i.tier_id == Some(tier.tier_id));
        if existing && !current.iter().any(|c| c.tier_id == tier.tier_id) {
            return Err(Error::not_found("level tier"));
        }
    }
    if let Some(missing) = current
        .iter()
        .find(|c| !tiers.iter().any(|t| t.tier_id == c.tier_id))
    {
        return Err(Error::Tiers(TierProblem::MissingTier {
            code: missing.code.clone(),
        }));
    }
    let mut tiers = tiers;
    tiers.sort_by_key(|t| t.sort_order);
    validate(&tiers).map_err(Error::Tiers)?;
    Ok(tiers)
}

/// What saving `inputs` (the complete set) would do to members' levels; writes nothing.
pub async fn preview(db: &PgPool, access: &Access, inputs: &[TierInput]) -> Result<Preview> {
    access.require(Role::TenantAdmin)?;
    let mut conn = db.acquire().await?;
    let current = load(&mut conn, access.tenant_id).await?;
    let tiers = proposed(&current, inputs)?;
    let moves = count_moves(&mut conn, access.tenant_id, &tiers).await?;
    Ok(summarise(&current, &tiers, &moves))
}

/// (old tier, new tier, members) for a proposed set of tiers, set-based.
async fn count_moves(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    tiers: &[Tier],
) -> Result<Vec<Move>> {
    let active: Vec<&Tier> = tiers.iter().filter(|t| t.active).collect();
    let ids: Vec<Uuid> = active.iter().map(|t| t.tier_id).collect();
    let orders: Vec<i32> = active.iter().map(|t| t.sort_order).collect();
    let mins: Vec<i64> = active.iter().map(|t| t.min_points).collect();
    let maxes: Vec<Option<i64>> = active.iter().map(|t| t.max_points).collect();
    let moves = sqlx::query_as!(
        Move,
        r#"with proposed as (
             select * from unnest($2::uuid[], $3::int[], $4::bigint[], $5::bigint[])
               as p(tier_id, sort_order, min_points, max_points)
           )
           -- From the level under the current tiers (not the stored level, which a
           -- re-level may still be catching up) to the level under the proposed ones.
           select (select t.tier_id from level_tiers t
                   where t.tenant_id = mp.tenant_id and t.active and t.min_points <= mp.total_points
                     and (t.max_points is null or mp.total_points <= t.max_points)
                   order by t.sort_order limit 1) as old_tier,
                  (select p.tier_id from proposed p
                   where p.min_points <= mp.total_points
                     and (p.max_points is null or mp.total_points <= p.max_points)
                   order by p.sort_order limit 1) as new_tier,
                  count(*) as "members!"
           from member_profiles mp
           where mp.tenant_id = $1
           group by 1, 2"#,
        tenant_id,
        &ids,
        &orders,
        &mins,
        &maxes as &[Option<i64>]
    )
    .fetch_all(conn)
    .await?;
    Ok(moves)
}

#[derive(Debug, Clone)]
pub(crate) struct Move {
    old_tier: Option<Uuid>,
    new_tier: Option<Uuid>,
    members: i64,
}

fn summarise(current: &[Tier], proposed: &[Tier], moves: &[Move]) -> Preview {
    // Rank by min_points of the tier in its own set: a member moves up when the new
    // tier starts higher than the old one did.
    let rank = |tiers: &[Tier], id: Option<Uuid>| -> i64 {
        id.and_then(|id| tiers.iter().find(|t| t.tier_id == id))
            .map_or(-1, |t| t.min_points)
    };
    let code = |id: Option<Uuid>| -> String {
        id.and_then(|id| current.iter().chain(proposed).find(|t| t.tier_id == id))
            .map_or_else(String::new, |t| t.code.clone())
    };
    let mut preview = Preview::default();
    let mut counts: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for tier in proposed.iter().chain(current) {
        counts.entry(tier.code.clone()).or_default();
    }
    for m in moves {
        counts.entry(code(m.old_tier)).or_default().0 += m.members;
        counts.entry(code(m.new_tier)).or_default().1 += m.members;
        if m.old_tier == m.new_tier {
            preview.unchanged += m.members;
        } else if rank(proposed, m.new_tier) > rank(current, m.old_tier) {
            preview.moved_up += m.members;
        } else {
            preview.moved_down += m.members;
        }
    }
    let order_of = |code: &str| {
        proposed
            .iter()
            .chain(current)
            .find(|t| t.code == code)
            .map_or(i32::MAX, |t| t.sort_order)
    };
    let mut per_tier: Vec<TierCount> = counts
        .into_iter()
        .map(|(code, (before, after))| TierCount {
            code,
            before,
            after,
        })
        .collect();
    per_tier.retain(|c| !c.code.is_empty() || c.before > 0 || c.after > 0);
    per_tier.sort_by_key(|c| order_of(&c.code));
    preview.per_tier = per_tier;
    preview
}

/// Saves the complete set of tiers; returns them with what the save moves (equal to
/// what [`preview`] said). The transaction is short and touches no member: it commits
/// the tiers and (re)starts the tenant's re-level job ([`relevel_step`]), which stores
/// the new levels in short batches afterwards. Points changes compute levels from the
/// current tiers, and effective permissions compute the level from `total_points`, so
/// both are exact from the commit on; only the stored level (shown in lists and level
/// history) follows within seconds. No points write waits for more than one batch.
pub async fn save(
    db: &PgPool,
    access: &Access,
    inputs: &[TierInput],
) -> Result<(Vec<Tier>, Preview)> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    // Tier edits of one tenant serialise on its re-level row (lock order: first).
    lock_relevel(&mut tx, access.tenant_id).await?;
    // One cache invalidation at the end instead of one per tier statement.
    sqlx::query!("set local tierdesk.cache_defer = 'on'")
        .execute(&mut *tx)
        .await?;
    let current = load(&mut tx, access.tenant_id).await?;
    let tiers = proposed(&current, inputs)?;
    // Read-only and before any tier row is locked: points changes go on meanwhile.
    let moves = count_moves(&mut tx, access.tenant_id, &tiers).await?;
    write_all(&mut tx, access.tenant_id, &tiers).await?;
    let members: i64 = moves.iter().map(|m| m.members).sum();
    let moving: i64 = moves
        .iter()
        .filter(|m| m.old_tier != m.new_tier)
        .map(|m| m.members)
        .sum();
    sqlx::query!(
        "update level_relevels
         set status = 'running', pass = 1, cursor_member = null,
             since = now() - interval '1 minute',
             members_total = $2, members_done = 0, expected_moves = $3, moved = 0,
             saves = saves + 1, barrier_at = null, started_at = now(), finished_at = null,
             updated_at = now()
         where tenant_id = $1",
        access.tenant_id,
        members,
        moving
    )
    .execute(&mut *tx)
    .await?;
    let event = audit::Event {
        action: "tiers.update",
        target_type: "level_tiers",
        target_id: access.tenant_id.to_string(),
        before: Some(json!(current.iter().map(tier_json).collect::<Vec<_>>())),
        after: Some(json!(tiers.iter().map(tier_json).collect::<Vec<_>>())),
    };
    audit::record(&mut tx, access, event).await?;
    sqlx::query!("select cache_invalidate($1, null)", access.tenant_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Start storing the new levels now; the job of every process resumes it after a
    // restart (`run_relevels`).
    let pool = db.clone();
    let tenant_id = access.tenant_id;
    tokio::spawn(async move {
        if let Err(error) = relevel_tenant(&pool, tenant_id).await {
            tracing::warn!(%tenant_id, %error, "re-levelling stopped; the job resumes it");
        }
    });
    crate::tags::permissions::settle(db, access.tenant_id).await?;
    let preview = summarise(&current, &tiers, &moves);
    Ok((tiers, preview))
}

/// Takes the tenant's tier-set lock: its `level_relevels` row (created on first use).
/// `FOR NO KEY UPDATE`, never `FOR UPDATE` on `tenants`: the latter conflicts with the
/// key-share lock of every insert that references the tenant (audit rows, outbox).
async fn lock_relevel(conn: &mut PgConnection, tenant_id: Uuid) -> Result<()> {
    sqlx::query!(
        "insert into level_relevels (tenant_id) values ($1) on conflict (tenant_id) do nothing",
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "select tenant_id from level_relevels where tenant_id = $1 for no key update",
        tenant_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(())
}

/// The tenant's re-level progress (idle and empty if tiers were never saved).
pub async fn relevel_progress(db: &PgPool, access: &Access) -> Result<RelevelProgress> {
    access.require(Role::Viewer)?;
    let row = sqlx::query!(
        r#"select status, pass, members_total, members_done, expected_moves, moved,
                  started_at, finished_at
           from level_relevels where tenant_id = $1"#,
        access.tenant_id
    )
    .fetch_optional(db)
    .await?;
    Ok(
        row.map_or_else(RelevelProgress::default, |row| RelevelProgress {
            running: row.status == "running",
            pass: row.pass,
            members_total: row.members_total,
            members_done: row.members_done,
            expected_moves: row.expected_moves,
            moved: row.moved,
            started_at: row.started_at,
            finished_at: row.finished_at,
        }),
    )
}

/// Members per committed re-level batch: a points write on a member of the batch waits
/// for at most this batch.
pub const RELEVEL_JOB_BATCH_SIZE: i64 = 500;

/// Runs one tenant's re-level to the end (or until another worker holds it).
pub async fn relevel_tenant(db: &PgPool, tenant_id: Uuid) -> Result<()> {
    while relevel_step(db, tenant_id, RELEVEL_JOB_BATCH_SIZE).await? == Step::More {}
    Ok(())
}

/// The longest a re-level waits for transactions older than its save (one stuck idle
/// in a transaction must not stop it; pass 2 still catches what such a wait misses).
const BARRIER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits until every transaction of this database that began before now has ended (as
/// `CREATE INDEX CONCURRENTLY` does): a points statement that started before a tier save
/// committed computed its level from the old tiers, and must be visible to pass 1.
async fn wait_for_older_transactions(db: &PgPool) -> Result<()> {
    let now: DateTime<Utc> = sqlx::query_scalar!(r#"select clock_timestamp() as "now!""#)
        .fetch_one(db)
        .await?;
    let deadline = std::time::Instant::now() + BARRIER_TIMEOUT;
    loop {
        let older = sqlx::query_scalar!(
            r#"select count(*) as "count!" from pg_stat_activity
               where datname = current_database() and pid <> pg_backend_pid()
                 and backend_type = 'client backend' and xact_start < $1"#,
            now
        )
        .fetch_one(db)
        .await?;
        if older == 0 {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            tracing::warn!(older, "re-level starts before older transactions ended");
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Runs the tenant's re-level to its end, waiting while another worker holds a batch
/// (tests, benchmarks and the CLI: they need the stored levels final).
pub async fn relevel_until_done(db: &PgPool, tenant_id: Uuid) -> Result<()> {
    loop {
        match relevel_step(db, tenant_id, RELEVEL_JOB_BATCH_SIZE).await? {
            Step::More => {}
            Step::Done => return Ok(()),
            Step::Busy => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
        }
    }
}

/// Resumes every running re-level (the background job of every process: after a
/// restart, or when the worker a save started has stopped). Returns the tenants seen.
pub async fn run_relevels(db: &PgPool) -> Result<usize> {
    let tenants = sqlx::query_scalar!(
        "select tenant_id from level_relevels where status = 'running' order by tenant_id limit 100"
    )
    .fetch_all(db)
    .await?;
    for tenant_id in &tenants {
        // One tenant's failure must not hold the others back.
        if let Err(error) = relevel_tenant(db, *tenant_id).await {
            tracing::error!(%tenant_id, %error, "re-levelling failed; retried next run");
        }
    }
    Ok(tenants.len())
}

/// What a [`relevel_step`] left to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Call again.
    More,
    /// Finished, or nothing to do.
    Done,
    /// Another worker holds the job right now (it goes on with it).
    Busy,
}

/// One committed batch of the tenant's re-level: takes the job row (skipping when
/// another worker holds it), stores the level of up to `batch_size` members after the
/// cursor, advances the cursor. Pass 1 visits every member; pass 2 only members whose
/// profile changed since just before the save (a points statement that read the old
/// tiers and committed after pass 1 had passed its member).
pub async fn relevel_step(db: &PgPool, tenant_id: Uuid, batch_size: i64) -> Result<Step> {
    let Some(seen) = sqlx::query!(
        r#"select status = 'running' as "running!", saves, barrier_at is not null as "barrier_passed!"
           from level_relevels where tenant_id = $1"#,
        tenant_id
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(Step::Done);
    };
    if !seen.running {
        return Ok(Step::Done);
    }
    if !seen.barrier_passed {
        // Outside any lock: a save may come meanwhile (then we wait again for it).
        wait_for_older_transactions(db).await?;
    }
    let mut tx = db.begin().await?;
    let Some(job) = sqlx::query!(
        "select status, pass, cursor_member, since, saves, barrier_at from level_relevels
         where tenant_id = $1 for no key update skip locked",
        tenant_id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Step::Busy);
    };
    if job.status != "running" {
        return Ok(Step::Done);
    }
    if job.barrier_at.is_none() {
        if job.saves != seen.saves || seen.barrier_passed {
            // Another save since we waited: wait for its older transactions too.
            return Ok(Step::More);
        }
        sqlx::query!(
            "update level_relevels set barrier_at = now() where tenant_id = $1",
            tenant_id
        )
        .execute(&mut *tx)
        .await?;
    }
    // Permissions compute the level themselves: storing it needs no invalidation.
    sqlx::query!("set local tierdesk.cache_defer = 'on'")
        .execute(&mut *tx)
        .await?;
    let since = if job.pass == 2 { job.since } else { None };
    let upper = sqlx::query_scalar!(
        "select member_id from member_profiles
         where tenant_id = $1 and ($2::uuid is null or member_id > $2)
         order by member_id offset $3 limit 1",
        tenant_id,
        job.cursor_member,
        batch_size - 1
    )
    .fetch_optional(&mut *tx)
    .await?;
    let moved = relevel_members(&mut tx, tenant_id, job.cursor_member, upper, since).await?;
    // Every member up to `upper` was looked at (the last batch: the rest).
    let visited = if upper.is_some() {
        batch_size
    } else {
        i64::MAX / 2
    };
    let (status, pass, cursor) = match (upper, job.pass) {
        (Some(upper), pass) => ("running", pass, Some(upper)),
        (None, 1) => ("running", 2, None),
        (None, _) => ("done", 2, None),
    };
    sqlx::query!(
        "update level_relevels
         set status = $2, pass = $3, cursor_member = $4,
             members_done = case when $5 = 1 then least(members_done + $6, members_total) else members_done end,
             moved = moved + $7,
             finished_at = case when $2 = 'done' then now() end, updated_at = now()
         where tenant_id = $1",
        tenant_id,
        status,
        pass,
        cursor,
        job.pass,
        visited,
        moved
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(if status == "done" {
        Step::Done
    } else {
        Step::More
    })
}

/// The job's batch: stores the level of the members with `after < member_id <= upper`
/// (and, with `since`, changed at or after it) whose stored level differs, locking only
/// those (`FOR NO KEY UPDATE` re-reads a row a concurrent points change just committed,
/// so the level is computed from its new total); returns how many moved.
async fn relevel_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    after: Option<Uuid>,
    upper: Option<Uuid>,
    since: Option<DateTime<Utc>>,
) -> Result<i64> {
    let moved = sqlx::query_scalar!(
        r#"with candidates as (
             select mp.member_id from member_profiles mp
             where mp.tenant_id = $1
               and ($2::uuid is null or mp.member_id > $2) and ($3::uuid is null or mp.member_id <= $3)
               and ($4::timestamptz is null or mp.updated_at >= $4)
               and mp.level_tier_id is distinct from
                   (select t.tier_id from level_tiers t
                    where t.tenant_id = mp.tenant_id and t.active and t.min_points <= mp.total_points
                      and (t.max_points is null or mp.total_points <= t.max_points)
                    order by t.sort_order limit 1)
           ), target as (
             select mp.member_id, mp.level_tier_id as old_tier, mp.total_points,
                    (select t.tier_id from level_tiers t
                     where t.tenant_id = mp.tenant_id and t.active and t.min_points <= mp.total_points
                       and (t.max_points is null or mp.total_points <= t.max_points)
                     order by t.sort_order limit 1) as new_tier
             from member_profiles mp
             where mp.tenant_id = $1 and mp.member_id in (select member_id from candidates)
             order by mp.member_id
             for no key update of mp
           ), changed as (
             update member_profiles mp
             set level_tier_id = target.new_tier, level_updated_at = now(),
                 row_version = mp.row_version + 1, updated_at = now()
             from target
             where mp.tenant_id = $1 and mp.member_id = target.member_id
               and target.new_tier is distinct from target.old_tier
             returning mp.member_id, target.old_tier, target.new_tier, target.total_points
           ), logged as (
             insert into level_changes (tenant_id, member_id, from_tier_id, to_tier_id, cause, total_points)
             select $1, member_id, old_tier, new_tier, 'tiers', total_points from changed
           )
           select count(*) as "moved!" from changed"#,
        tenant_id,
        after,
        upper,
        since
    )
    .fetch_one(conn)
    .await?;
    Ok(moved)
}

/// Writes a validated set: orders are first parked out of the way (negative) so that
/// swapping two tiers' orders never trips the unique constraint mid-way.
async fn write_all(conn: &mut PgConnection, tenant_id: Uuid, tiers: &[Tier]) -> Result<()> {
    sqlx::query!(
        "update level_tiers set sort_order = -sort_order - 1 where tenant_id = $1",
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    for tier in tiers {
        upsert(conn, tenant_id, tier).await?;
    }
    Ok(())
}

fn tier_json(tier: &Tier) -> serde_json::Value {
    json!({
        "code": tier.code, "name_zh": tier.name_zh, "name_en": tier.name_en,
        "sort_order": tier.sort_order, "min_points": tier.min_points, "max_points": tier.max_points,
        "active": tier.active, "permissions": tier.permissions, "max_licenses": tier.max_licenses,
    })
}

async fn upsert(conn: &mut PgConnection, tenant_id: Uuid, tier: &Tier) -> Result<()> {
    sqlx::query!(
        "insert into level_tiers (tenant_id, tier_id, code, name_zh, name_en, sort_order, min_points,
                                  max_points, active, permissions, max_licenses)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict (tenant_id, tier_id) do update set
           code = excluded.code, name_zh = excluded.name_zh, name_en = excluded.name_en,
           sort_order = excluded.sort_order, min_points = excluded.min_points,
           max_points = excluded.max_points, active = excluded.active,
           permissions = excluded.permissions, max_licenses = excluded.max_licenses,
           updated_at = now()",
        tenant_id,
        tier.tier_id,
        tier.code,
        tier.name_zh,
        tier.name_en,
        tier.sort_order,
        tier.min_points,
        tier.max_points,
        tier.active,
        &tier.permissions,
        tier.max_licenses
    )
    .execute(conn)
    .await
    .on_constraint("level_tiers_code_key", || Error::Tiers(TierProblem::DuplicateCode { code: tier.code.clone() }))?;
    Ok(())
}

/// Members re-levelled per statement when seeding ([`install`]: all in the caller's
/// transaction, progress logged after each batch).
pub const RELEVEL_BATCH_SIZE: i64 = 20_000;

/// Sets every member's level from the current tiers (set-based, batched by member id)
/// and records each change; returns (old tier, new tier, members) for every member.
pub(crate) async fn relevel(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Vec<Move>> {
    relevel_in_batches(conn, tenant_id, RELEVEL_BATCH_SIZE).await
}

async fn relevel_in_batches(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    batch_size: i64,
) -> Result<Vec<Move>> {
    let total = sqlx::query_scalar!(
        r#"select count(*) as "count!" from member_profiles where tenant_id = $1"#,
        tenant_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut moves: Vec<Move> = Vec::new();
    let mut after: Option<Uuid> = None;
    let mut done = 0;
    loop {
        // The last member of this batch; `None` when the rest fits in one batch.
        let upper = sqlx::query_scalar!(
            "select member_id from member_profiles
             where tenant_id = $1 and ($2::uuid is null or member_id > $2)
             order by member_id offset $3 limit 1",
            tenant_id,
            after,
            batch_size - 1
        )
        .fetch_optional(&mut *conn)
        .await?;
        for batch_move in relevel_batch(conn, tenant_id, after, upper).await? {
            done += batch_move.members;
            match moves
                .iter_mut()
                .find(|m| m.old_tier == batch_move.old_tier && m.new_tier == batch_move.new_tier)
            {
                Some(existing) => existing.members += batch_move.members,
                None => moves.push(batch_move),
            }
        }
        if total > batch_size {
            tracing::info!(%tenant_id, done, total, "re-levelling members");
        }
        match upper {
            Some(upper) => after = Some(upper),
            None => break,
        }
    }
    Ok(moves)
}

/// Re-levels the members with `after < member_id <= upper` (open ends for `None`) and
/// counts every member by (old tier, new tier), for [`install`]'s summary. Locks only
/// members that move.
async fn relevel_batch(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    after: Option<Uuid>,
    upper: Option<Uuid>,
) -> Result<Vec<Move>> {
    let moves = sqlx::query_as!(
        Move,
        r#"with candidates as (
             select mp.member_id from member_profiles mp
             where mp.tenant_id = $1
               and ($2::uuid is null or mp.member_id > $2) and ($3::uuid is null or mp.member_id <= $3)
               and mp.level_tier_id is distinct from
                   (select t.tier_id from level_tiers t
                    where t.tenant_id = mp.tenant_id and t.active and t.min_points <= mp.total_points
                      and (t.max_points is null or mp.total_points <= t.max_points)
                    order by t.sort_order limit 1)
           ), target as (
             select mp.member_id, mp.level_tier_id as old_tier, mp.total_points,
                    (select t.tier_id from level_tiers t
                     where t.tenant_id = mp.tenant_id and t.active and t.min_points <= mp.total_points
                       and (t.max_points is null or mp.total_points <= t.max_points)
                     order by t.sort_order limit 1) as new_tier
             from member_profiles mp
             where mp.tenant_id = $1 and mp.member_id in (select member_id from candidates)
             order by mp.member_id
             for no key update of mp
           ), changed as (
             update member_profiles mp
             set level_tier_id = target.new_tier, level_updated_at = now(),
                 row_version = mp.row_version + 1, updated_at = now()
             from target
             where mp.tenant_id = $1 and mp.member_id = target.member_id
               and target.new_tier is distinct from target.old_tier
             returning mp.member_id, target.old_tier, target.new_tier, target.total_points
           ), logged as (
             insert into level_changes (tenant_id, member_id, from_tier_id, to_tier_id, cause, total_points)
             select $1, member_id, old_tier, new_tier, 'tiers', total_points from changed
           )
           select old_tier, new_tier, count(*) as "members!" from changed group by 1, 2
           union all
           select mp.level_tier_id, mp.level_tier_id, count(*)
           from member_profiles mp
           where mp.tenant_id = $1
             and ($2::uuid is null or mp.member_id > $2) and ($3::uuid is null or mp.member_id <= $3)
             and mp.member_id not in (select member_id from changed)
           group by 1, 2"#,
        tenant_id,
        after,
        upper
    )
    .fetch_all(conn)
    .await?;
    Ok(moves)
}

pub const HISTORY_LENGTH_MAX: i64 = 100;

pub async fn history(db: &PgPool, access: &Access, member_id: Uuid) -> Result<Vec<LevelChange>> {
    access.require(Role::Viewer)?;
    crate::members::ensure_exists(db, access, member_id).await?;
    let changes = sqlx::query_as!(
        LevelChange,
        r#"select f.code as "from_code?", t.code as "to_code?", c.cause, c.ledger_seq, c.total_points, c.created_at
           from level_changes c
           left join level_tiers f on f.tenant_id = c.tenant_id and f.tier_id = c.from_tier_id
           left join level_tiers t on t.tenant_id = c.tenant_id and t.tier_id = c.to_tier_id
           where c.tenant_id = $1 and c.member_id = $2
           order by c.change_id desc
           limit $3"#,
        access.tenant_id,
        member_id,
        HISTORY_LENGTH_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(changes)
}

/// Installs a whole set of tiers at once (for seeding); validates the set first.
pub async fn install(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    inputs: &[TierInput],
) -> Result<Vec<Tier>> {
    let current = load(conn, tenant_id).await?;
    let tiers = proposed(&current, inputs)?;
    write_all(conn, tenant_id, &tiers).await?;
    relevel(conn, tenant_id).await?;
    Ok(tiers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn batched_relevelling_covers_every_member_once(db: PgPool) {
        use crate::points::ledger::{self, Change};
        let tenant = crate::testing::TestTenant::new(&db, "acme").await;
        let mut conn = db.acquire().await.unwrap();
        install(&mut conn, tenant.id(), &default_tiers())
            .await
            .unwrap();
        let admin = tenant.with_admin(&db, "boss", Role::TenantAdmin).await;
        for (i, points) in [0, 500, 1500, 2500, 3500, 12000, 40000]
            .into_iter()
            .enumerate()
        {
            let input = crate::members::MemberInput {
                external_id: format!("m{i}"),
                display_name: format!("m{i}"),
                ..Default::default()
            };
            let member_id = crate::members::create(&db, &admin.access(), input)
                .await
                .unwrap()
                .member_id;
            if points > 0 {
                let change = Change {
                    member_id,
                    points,
                    category: "test".into(),
                    ..Default::default()
                };
                ledger::earn(&db, &admin.access(), change).await.unwrap();
            }
        }
        // Shift every boundary behind the domain's back, then re-level in batches of 3.
        sqlx::query("update level_tiers set min_points = min_points * 2, max_points = max_points * 2 + 1 where tenant_id = $1 and min_points > 0")
            .bind(tenant.id())
            .execute(&db)
            .await
            .unwrap();
        sqlx::query(
            "update level_tiers set max_points = 1999 where tenant_id = $1 and code = 'bronze'",
        )
        .bind(tenant.id())
        .execute(&db)
        .await
        .unwrap();
        let moves = relevel_in_batches(&mut conn, tenant.id(), 3).await.unwrap();
        let members: i64 = moves.iter().map(|m| m.members).sum();
        assert_eq!(members, 7, "every member counted once: {moves:?}");
        let moved: i64 = moves
            .iter()
            .filter(|m| m.old_tier != m.new_tier)
            .map(|m| m.members)
            .sum();
        assert_eq!(
            moved, 4,
            "1500, 3500, 12000 and 40000 moved down: {moves:?}"
        );
        assert!(
            crate::points::check::check(&db, Some(tenant.id()))
                .await
                .unwrap()
                .is_empty()
        );
    }

    fn tiers() -> Vec<Tier> {
        default_tiers()
            .iter()
            .map(|input| clean(input).unwrap())
            .collect()
    }

    #[test]
    fn default_tiers_are_valid_and_level_follows_points() {
        let tiers = tiers();
        validate(&tiers).unwrap();
        let code = |points| level_for(&tiers, points).map(|t| t.code.as_str());
        assert_eq!(code(0), Some("bronze"));
        assert_eq!(code(999), Some("bronze"));
        assert_eq!(code(1000), Some("silver"));
        assert_eq!(code(29999), Some("platinum"));
        assert_eq!(code(30000), Some("diamond"));
        assert_eq!(code(i64::MAX), Some("diamond"));
    }

    #[test]
    fn problems_name_the_tiers() {
        let mut overlap = tiers();
        overlap[1].min_points = 900;
        assert_eq!(
            validate(&overlap),
            Err(TierProblem::Overlap {
                first: "bronze".into(),
                second: "silver".into()
            })
        );
        let mut gap = tiers();
        gap[1].min_points = 1100;
        assert_eq!(
            validate(&gap),
            Err(TierProblem::Gap {
                after: "bronze".into(),
                from: 1000,
                to: 1099
            })
        );
        let mut start = tiers();
        start[0].min_points = 1;
        assert!(matches!(
            validate(&start),
            Err(TierProblem::DoesNotStartAtZero { .. })
        ));
        let mut order = tiers();
        order[4].sort_order = 1;
        assert_eq!(
            validate(&order),
            Err(TierProblem::DuplicateOrder {
                first: "bronze".into(),
                second: "diamond".into()
            })
        );
        let mut closed = tiers();
        closed[4].max_points = Some(99999);
        assert_eq!(validate(&closed), Err(TierProblem::NoOpenEndedTier));
        // An inactive tier does not count: deactivating the top one leaves platinum
        // closed at the top.
        let mut inactive = tiers();
        inactive[4].active = false;
        assert_eq!(validate(&inactive), Err(TierProblem::NoOpenEndedTier));
    }
}
