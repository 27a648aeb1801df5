//! Migration runs: a per-tenant state machine (running ⇄ paused → completed | cancelled)
//! with one active run per tenant (a partial unique index), taking a selection of legacy
//! members in batches.
//!
//! A batch is one transaction: it takes the run row (lock order step 1: the run is the
//! operation's coordination row), reads the next external ids after the run's cursor,
//! creates the missing profiles, locks the batch's profiles in `member_id` order
//! (step 2), then in one statement appends a `migration` ledger entry per formula part,
//! updates balances and levels, records the level moves and writes each member's
//! migration record (source digest, settings version, parts); a second statement grants
//! the mapped tags (method `migration`) and notes the grants on the records; the cache
//! invalidation is deferred to the transaction's last statement (step 4); the batch log
//! row and the run's cursor and counts are written with it. A crash loses at most the
//! batch in flight; the next worker (the job of any process, or `tierdesk migration
//! run` again) continues from the cursor. A member is migrated at most once: members
//! with a live record are skipped, and `migration_members_live_key` guarantees it.
//!
//! Batches adapt their size to a target time (a batch holds its members' rows for that
//! long, so live traffic on them waits at most about that), and the worker pauses
//! briefly between batches.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::analysis::selection_params_within;
use super::settings;
use crate::access::audit;
use crate::tags::permissions::settle;
use crate::{Access, Conflict, Error, Result, Role};
pub use model::migration::run::{
    Batch, RollbackMode, Run, RunDetail, RunError, RunKind, RunStatus, Selection,
};

/// The time a batch aims at.
pub const TARGET_BATCH: Duration = Duration::from_millis(400);
pub const BATCH_MIN: i32 = 50;
pub const BATCH_MAX: i32 = 5000;
/// The pause between two batches of a worker.
pub const PACE: Duration = Duration::from_millis(5);

/// The next batch size, from the last batch's size and time.
pub fn next_batch_size(size: i32, elapsed: Duration) -> i32 {
    let ms = elapsed.as_millis().max(1) as f64;
    let ideal = f64::from(size) * TARGET_BATCH.as_millis() as f64 / ms;
    // Move halfway, at most doubling.
    let next = (f64::from(size) + ideal) / 2.0;
    (next.min(f64::from(size) * 2.0) as i32).clamp(BATCH_MIN, BATCH_MAX)
}

/// Creates a run and its selection in `tx` (the caller has checked the role). The
/// total is the number of members the selection names that exist in the source: legacy
/// members for a migration, live records for a rollback.
pub(crate) async fn create(
    tx: &mut PgConnection,
    access: &Access,
    kind: RunKind,
    rollback_mode: Option<RollbackMode>,
    selection: &Selection,
    now: DateTime<Utc>,
    max_listed: usize,
) -> Result<Uuid> {
    let (selection_kind, ids, share) = selection_params_within(selection, max_listed)?;
    let version = sqlx::query_scalar!(
        r#"select coalesce(max(version), 0) as "version!" from migration_settings where tenant_id = $1"#,
        access.tenant_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let run_id = sqlx::query_scalar!(
        "insert into migration_runs (tenant_id, kind, rollback_mode, selection, share, settings_version,
                                     as_of, started_by, batch_size)
         values ($1, $2, $3, $4, $5, $6, $7, $8, 500) returning run_id",
        access.tenant_id,
        match kind {
            RunKind::Migrate => "migrate",
            RunKind::Rollback => "rollback",
        },
        rollback_mode.map(|m| match m {
            RollbackMode::Emergency => "emergency",
            RollbackMode::Gradual => "gradual",
        }),
        selection_kind,
        (selection_kind == "share").then_some(share),
        version,
        now,
        access.principal.admin_id
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|error| match &error {
        sqlx::Error::Database(e) if e.constraint() == Some("migration_runs_active_key") => {
            Error::Conflict(Conflict::MigrationRunActive)
        }
        _ => Error::from(error),
    })?;
    let total = match (kind, selection_kind) {
        (RunKind::Migrate, "all") => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from legacy_members where tenant_id = $1"#,
                access.tenant_id
            )
            .fetch_one(&mut *tx)
            .await?
        }
        (RunKind::Rollback, "all") => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from migration_members where tenant_id = $1 and rolled_back_at is null"#,
                access.tenant_id
            )
            .fetch_one(&mut *tx)
            .await?
        }
        (RunKind::Migrate, _) => sqlx::query!(
            "insert into migration_run_members (tenant_id, run_id, external_id)
             select $1, $2, l.external_id from legacy_members l
             where l.tenant_id = $1
               and (($3 = 'members' and l.external_id = any($4))
                    or ($3 = 'share' and migration_share_bucket(l.external_id) <= $5))",
            access.tenant_id,
            run_id,
            selection_kind,
            &ids,
            share
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64,
        (RunKind::Rollback, _) => sqlx::query!(
            "insert into migration_run_members (tenant_id, run_id, external_id)
             select $1, $2, m.external_id from migration_members m
             where m.tenant_id = $1 and m.rolled_back_at is null
               and (($3 = 'members' and m.external_id = any($4))
                    or ($3 = 'share' and migration_share_bucket(m.external_id) <= $5))",
            access.tenant_id,
            run_id,
            selection_kind,
            &ids,
            share
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64,
    };
    sqlx::query!(
        "update migration_runs set total = $3 where tenant_id = $1 and run_id = $2",
        access.tenant_id,
        run_id,
        total
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        tx,
        access,
        audit::Event {
            action: match kind {
                RunKind::Migrate => "migration.run.start",
                RunKind::Rollback => "migration.rollback.start",
            },
            target_type: "migration_run",
            target_id: run_id.to_string(),
            before: None,
            after: Some(json!({
                "selection": selection_kind, "members": ids.len(),
                "share": (selection_kind == "share").then_some(share),
                "total": total, "settings_version": version,
                "rollback_mode": rollback_mode,
            })),
        },
    )
    .await?;
    Ok(run_id)
}

/// Starts migrating `selection` (tenant admins) with the current mapping and formula,
/// as of `now`. The workers (every server process's job, or the CLI) take it from here.
pub async fn start(
    db: &PgPool,
    access: &Access,
    selection: &Selection,
    now: DateTime<Utc>,
) -> Result<Run> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let run_id = create(
        &mut tx,
        access,
        RunKind::Migrate,
        None,
        selection,
        now,
        model::migration::run::SELECTION_MAX,
    )
    .await?;
    tx.commit().await?;
    get_run(db, access.tenant_id, run_id).await
}

async fn get_run(db: &PgPool, tenant_id: Uuid, run_id: Uuid) -> Result<Run> {
    let row = sqlx::query!(
        r#"select r.run_id, r.kind, r.rollback_mode, r.status, r.selection, r.share, r.settings_version,
                  r.as_of, r.total, r.done, r.skipped, r.errors, r.batches, r.batch_size, r.last_batch_ms,
                  a.display_name as "started_by?", r.started_at, r.updated_at, r.finished_at
           from migration_runs r left join admins a on a.admin_id = r.started_by
           where r.tenant_id = $1 and r.run_id = $2"#,
        tenant_id,
        run_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("run"))?;
    Ok(Run {
        run_id: row.run_id,
        kind: if row.kind == "rollback" {
            RunKind::Rollback
        } else {
            RunKind::Migrate
        },
        rollback_mode: row.rollback_mode.as_deref().map(|m| {
            if m == "emergency" {
                RollbackMode::Emergency
            } else {
                RollbackMode::Gradual
            }
        }),
        status: RunStatus::parse(&row.status).unwrap_or(RunStatus::Failed),
        selection: row.selection,
        share: row.share,
        settings_version: row.settings_version,
        as_of: row.as_of,
        total: row.total,
        done: row.done,
        skipped: row.skipped,
        errors: row.errors,
        batches: row.batches,
        batch_size: row.batch_size,
        last_batch_ms: row.last_batch_ms,
        started_by: row.started_by,
        started_at: row.started_at,
        updated_at: row.updated_at,
        finished_at: row.finished_at,
    })
}

/// A run with its latest 50 batches and first 200 errors (every role).
pub async fn detail(db: &PgPool, access: &Access, run_id: Uuid) -> Result<RunDetail> {
    access.require(Role::Viewer)?;
    let run = get_run(db, access.tenant_id, run_id).await?;
    let batches = sqlx::query_as!(
        Batch,
        "select batch_no, first_id, last_id, members, skipped, errors, ms, committed_at
         from migration_batches where tenant_id = $1 and run_id = $2 order by batch_no desc limit 50",
        access.tenant_id,
        run_id
    )
    .fetch_all(db)
    .await?;
    let errors = sqlx::query_as!(
        RunError,
        "select external_id, problem, at from migration_errors
         where tenant_id = $1 and run_id = $2 order by external_id limit 200",
        access.tenant_id,
        run_id
    )
    .fetch_all(db)
    .await?;
    Ok(RunDetail {
        run,
        batches,
        errors,
    })
}

/// The tenant's runs, newest first (at most 20; every role).
pub async fn recent(db: &PgPool, access: &Access) -> Result<Vec<Run>> {
    access.require(Role::Viewer)?;
    let ids = sqlx::query_scalar!(
        "select run_id from migration_runs where tenant_id = $1 order by started_at desc limit 20",
        access.tenant_id
    )
    .fetch_all(db)
    .await?;
    let mut runs = Vec::with_capacity(ids.len());
    for run_id in ids {
        runs.push(get_run(db, access.tenant_id, run_id).await?);
    }
    Ok(runs)
}

/// The tenant's active (running or paused) run, if any (every role).
pub async fn active(db: &PgPool, access: &Access) -> Result<Option<Run>> {
    access.require(Role::Viewer)?;
    let id = sqlx::query_scalar!(
        "select run_id from migration_runs where tenant_id = $1 and status in ('running', 'paused')",
        access.tenant_id
    )
    .fetch_optional(db)
    .await?;
    match id {
        Some(run_id) => Ok(Some(get_run(db, access.tenant_id, run_id).await?)),
        None => Ok(None),
    }
}

/// Pauses, resumes or cancels a run (tenant admins; audited). Pausing a paused run or
/// resuming a running one changes nothing; an ended run answers `MigrationRunEnded`.
/// Waits for the batch in flight (it holds the run row), so when this returns no batch
/// of the run is being written.
pub async fn control(db: &PgPool, access: &Access, run_id: Uuid, to: RunStatus) -> Result<Run> {
    access.require(Role::TenantAdmin)?;
    if !matches!(
        to,
        RunStatus::Running | RunStatus::Paused | RunStatus::Cancelled
    ) {
        return Err(Error::invalid("status", crate::Problem::Format));
    }
    let mut tx = db.begin().await?;
    let status = sqlx::query_scalar!(
        "select status from migration_runs where tenant_id = $1 and run_id = $2 for no key update",
        access.tenant_id,
        run_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("run"))?;
    let from = RunStatus::parse(&status).unwrap_or(RunStatus::Failed);
    if !from.active() {
        return Err(Error::Conflict(Conflict::MigrationRunEnded));
    }
    if from != to {
        sqlx::query!(
            "update migration_runs set status = $3, updated_at = now(),
                    finished_at = case when $3 = 'cancelled' then now() end
             where tenant_id = $1 and run_id = $2",
            access.tenant_id,
            run_id,
            to.as_str()
        )
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            access,
            audit::Event {
                action: "migration.run.control",
                target_type: "migration_run",
                target_id: run_id.to_string(),
                before: Some(json!({ "status": from.as_str() })),
                after: Some(json!({ "status": to.as_str() })),
            },
        )
        .await?;
    }
    tx.commit().await?;
    get_run(db, access.tenant_id, run_id).await
}

/// What one step of a worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A batch committed: members handled, and the time it took.
    Batch { handled: i64, elapsed: Duration },
    /// The run has nothing left: it is completed now.
    Finished,
    /// The run is not running (paused, ended) or another worker holds it.
    Idle,
}

/// The run row a batch works under.
struct Locked {
    kind: String,
    selection: String,
    cursor: Option<String>,
    settings_version: i32,
    as_of: DateTime<Utc>,
    batches: i32,
}

async fn lock_run(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    run_id: Uuid,
    wait: bool,
) -> Result<Option<Locked>> {
    let row = if wait {
        sqlx::query!(
            "select kind, selection, cursor, settings_version, as_of, batches from migration_runs
             where tenant_id = $1 and run_id = $2 and status = 'running' for no key update",
            tenant_id,
            run_id
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| {
            (
                r.kind,
                r.selection,
                r.cursor,
                r.settings_version,
                r.as_of,
                r.batches,
            )
        })
    } else {
        sqlx::query!(
            "select kind, selection, cursor, settings_version, as_of, batches from migration_runs
             where tenant_id = $1 and run_id = $2 and status = 'running' for no key update skip locked",
            tenant_id,
            run_id
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| (r.kind, r.selection, r.cursor, r.settings_version, r.as_of, r.batches))
    };
    Ok(row.map(
        |(kind, selection, cursor, settings_version, as_of, batches)| Locked {
            kind,
            selection,
            cursor,
            settings_version,
            as_of,
            batches,
        },
    ))
}

/// The next external ids of the run's selection after its cursor.
async fn next_ids(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    run_id: Uuid,
    run: &Locked,
    size: i32,
) -> Result<Vec<String>> {
    let cursor = run.cursor.clone().unwrap_or_default();
    let ids = match (run.kind.as_str(), run.selection.as_str()) {
        ("migrate", "all") => {
            sqlx::query_scalar!(
                "select external_id from legacy_members where tenant_id = $1 and external_id > $2
                 order by external_id limit $3",
                tenant_id,
                cursor,
                i64::from(size)
            )
            .fetch_all(&mut *conn)
            .await?
        }
        ("rollback", "all") => {
            sqlx::query_scalar!(
                "select external_id from migration_members
                 where tenant_id = $1 and rolled_back_at is null and external_id > $2
                 order by external_id limit $3",
                tenant_id,
                cursor,
                i64::from(size)
            )
            .fetch_all(&mut *conn)
            .await?
        }
        _ => {
            sqlx::query_scalar!(
                "select external_id from migration_run_members
                 where tenant_id = $1 and run_id = $2 and external_id > $3
                 order by external_id limit $4",
                tenant_id,
                run_id,
                cursor,
                i64::from(size)
            )
            .fetch_all(&mut *conn)
            .await?
        }
    };
    Ok(ids)
}

/// One batch of a run (any worker). `wait`: queue for the run row (the CLI) or skip a
/// run another worker holds (the jobs).
pub async fn step(
    db: &PgPool,
    tenant_id: Uuid,
    run_id: Uuid,
    size: i32,
    wait: bool,
) -> Result<Step> {
    let started = Instant::now();
    let mut tx = db.begin().await?;
    let Some(run) = lock_run(&mut tx, tenant_id, run_id, wait).await? else {
        return Ok(Step::Idle);
    };
    let ids = next_ids(&mut tx, tenant_id, run_id, &run, size).await?;
    let Some(last) = ids.last().cloned() else {
        sqlx::query!(
            "update migration_runs set status = 'completed', finished_at = now(), updated_at = now()
             where tenant_id = $1 and run_id = $2",
            tenant_id,
            run_id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // The tables grew by a tenant's worth of rows: fresh statistics for the
        // validation, reconciliation and rollback that follow.
        sqlx::query("analyze migration_members, member_profiles, points_ledger, tag_grants")
            .execute(db)
            .await?;
        return Ok(Step::Finished);
    };
    let first = ids[0].clone();
    let batch_no = run.batches + 1;
    let outcome = if run.kind == "rollback" {
        super::rollback::batch(&mut tx, tenant_id, run_id, batch_no, &ids).await?
    } else {
        migrate_batch(&mut tx, tenant_id, run_id, batch_no, &run, &ids).await?
    };
    let elapsed = started.elapsed();
    let ms = i32::try_from(elapsed.as_millis()).unwrap_or(i32::MAX);
    sqlx::query!(
        "insert into migration_batches (tenant_id, run_id, batch_no, first_id, last_id, members, skipped, errors, ms)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        tenant_id,
        run_id,
        batch_no,
        first,
        last,
        outcome.done as i32,
        outcome.skipped as i32,
        outcome.errors as i32,
        ms
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update migration_runs
         set cursor = $3, batches = $4, done = done + $5, skipped = skipped + $6, errors = errors + $7,
             last_batch_ms = $8, batch_size = $9, updated_at = now()
         where tenant_id = $1 and run_id = $2",
        tenant_id,
        run_id,
        last,
        batch_no,
        outcome.done,
        outcome.skipped,
        outcome.errors,
        ms,
        next_batch_size(size, elapsed)
    )
    .execute(&mut *tx)
    .await?;
    if !outcome.members.is_empty() {
        // Lock order step 4, last: the tenant's epoch row only for the commit.
        sqlx::query!(
            "select cache_invalidate($1, $2)",
            tenant_id,
            &outcome.members
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if !outcome.members.is_empty() {
        settle(db, tenant_id).await?;
    }
    Ok(Step::Batch {
        handled: outcome.done + outcome.skipped + outcome.errors,
        elapsed,
    })
}

/// What a batch did.
pub(crate) struct Outcome {
    pub done: i64,
    pub skipped: i64,
    pub errors: i64,
    /// Members whose answers changed (for the cache).
    pub members: Vec<Uuid>,
}

async fn migrate_batch(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    run_id: Uuid,
    batch_no: i32,
    run: &Locked,
    ids: &[String],
) -> Result<Outcome> {
    let (formula, mapping) = settings::at_version(tx, tenant_id, run.settings_version).await?;
    let formula = settings::formula_json(&formula)?;
    let (types, codes) = settings::mapping_arrays(&mapping);
    sqlx::query!("set local tierdesk.cache_defer = 'on'")
        .execute(&mut *tx)
        .await?;
    // Which of the ids to migrate: in the source with a known type and not migrated yet.
    let classified = sqlx::query!(
        r#"select i.id as "external_id!",
                  (l.external_id is not null) as "in_source!",
                  (t.type_id is not null) as "type_known!",
                  exists (select 1 from migration_members mm where mm.tenant_id = $1 and mm.external_id = i.id
                            and mm.rolled_back_at is null) as "migrated!"
           from unnest($2::text[]) i (id)
           left join legacy_members l on l.tenant_id = $1 and l.external_id = i.id
           left join legacy_user_types t on t.tenant_id = $1 and t.type_id = l.user_type"#,
        tenant_id,
        ids
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut todo = Vec::new();
    let mut unknown = Vec::new();
    let mut skipped = 0;
    for row in classified {
        if !row.in_source || row.migrated {
            skipped += 1;
        } else if !row.type_known {
            unknown.push(row.external_id);
        } else {
            todo.push(row.external_id);
        }
    }
    if !unknown.is_empty() {
        sqlx::query!(
            "insert into migration_errors (tenant_id, run_id, external_id, problem)
             select $1, $2, id, 'unknown_type' from unnest($3::text[]) id
             on conflict do nothing",
            tenant_id,
            run_id,
            &unknown
        )
        .execute(&mut *tx)
        .await?;
    }
    if todo.is_empty() {
        return Ok(Outcome {
            done: 0,
            skipped,
            errors: unknown.len() as i64,
            members: Vec::new(),
        });
    }
    // Members the new model does not know yet (most of a migration): the profile is
    // inserted with its final balances and level in the same statement as its entries,
    // level move and record (named by the external id; a profile someone created
    // meanwhile is left to the path below).
    let fresh = sqlx::query!(
        r#"with src as (
             select l.external_id, gen_random_uuid() as member_id, l.registered_at, l.last_login_at, l.user_type,
                    migration_parts($3, l.registered_at, l.last_login_at, l.license_count,
                                    l.payment_total_cents, $4) as parts,
                    legacy_member_digest(l.user_type, l.registered_at, l.last_login_at, l.license_count,
                                         l.payment_total_cents) as digest
             from unnest($2::text[]) i (id)
             join legacy_members l on l.tenant_id = $1 and l.external_id = i.id
             where not exists (select 1 from member_profiles p where p.tenant_id = $1 and p.external_id = i.id)
           ), lv as (
             select s.*, s.parts[1] + s.parts[2] + s.parts[3] + s.parts[4] as total,
                    (s.parts[1] > 0)::int + (s.parts[2] > 0)::int + (s.parts[3] > 0)::int
                      + (s.parts[4] > 0)::int as n,
                    (select t.tier_id from level_tiers t
                     where t.tenant_id = $1 and t.active
                       and t.min_points <= s.parts[1] + s.parts[2] + s.parts[3] + s.parts[4]
                       and (t.max_points is null or s.parts[1] + s.parts[2] + s.parts[3] + s.parts[4] <= t.max_points)
                     order by t.sort_order limit 1) as tier,
                    (select t.tier_id from level_tiers t
                     where t.tenant_id = $1 and t.active and t.min_points <= 0
                       and (t.max_points is null or 0 <= t.max_points)
                     order by t.sort_order limit 1) as zero_tier
             from src s
           ), profiles as (
             insert into member_profiles (tenant_id, member_id, external_id, display_name, registered_at,
                                          last_login_at, legacy_user_type, total_points, available_points,
                                          ledger_seq, level_tier_id, level_updated_at)
             select $1, member_id, external_id, external_id, least(registered_at, now()), last_login_at, user_type,
                    total, total, n, tier, now()
             from lv
             on conflict (tenant_id, external_id) do nothing
             returning member_id
           ), people as (
             insert into members (member_id) select member_id from profiles
           ), made as (
             select lv.* from lv join profiles p on p.member_id = lv.member_id
           ), pieces as (
             select m.member_id, k.ord, k.category, m.parts[k.ord] as points
             from made m
             cross join (values (1, 'registration'), (2, 'license_activity'), (3, 'activity'), (4, 'payment'))
               k (ord, category)
             where m.parts[k.ord] > 0
           ), numbered as (
             select x.member_id, x.category, x.points, row_number() over w as seq,
                    sum(x.points) over w - x.points as before
             from pieces x
             window w as (partition by x.member_id order by x.ord)
           ), entries as (
             insert into points_ledger (tenant_id, member_id, seq, kind, category, points, available_before,
                                        available_after, total_before, total_after, reason, source_type, source_ref)
             select $1, member_id, seq, 'migration', category, points, before, before + points, before,
                    before + points, 'Legacy migration', 'migration', $5::uuid::text
             from numbered
           ), moves as (
             -- As for a member created with 0 points who then earned them.
             insert into level_changes (tenant_id, member_id, from_tier_id, to_tier_id, cause, ledger_seq, total_points)
             select $1, member_id, zero_tier, tier, 'points', n, total from made
             where tier is distinct from zero_tier
           )
           insert into migration_members (tenant_id, run_id, external_id, member_id, batch_no, settings_version,
                                          as_of, source_digest, user_type, parts)
           select $1, $5, external_id, member_id, $6, $7, $4, digest, user_type, parts from made
           returning external_id, member_id"#,
        tenant_id,
        &todo,
        formula,
        run.as_of,
        run_id,
        batch_no,
        run.settings_version
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut members: Vec<Uuid> = fresh.iter().map(|r| r.member_id).collect();
    let mut done = fresh.len() as i64;
    let made: std::collections::HashSet<&str> =
        fresh.iter().map(|r| r.external_id.as_str()).collect();
    let existing: Vec<String> = todo
        .iter()
        .filter(|id| !made.contains(id.as_str()))
        .cloned()
        .collect();
    if !existing.is_empty() {
        done += migrate_existing(
            tx,
            tenant_id,
            run_id,
            batch_no,
            run,
            &formula,
            &existing,
            &mut members,
        )
        .await?;
    }
    grant_mapped(tx, tenant_id, run_id, &todo, &types, &codes, run.as_of).await?;
    Ok(Outcome {
        done,
        skipped,
        errors: unknown.len() as i64,
        members,
    })
}

/// Migrates members who have a profile already (they joined the new model before their
/// migration): entries after their own, balances and level from theirs.
#[expect(clippy::too_many_arguments)]
async fn migrate_existing(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    run_id: Uuid,
    batch_no: i32,
    run: &Locked,
    formula: &serde_json::Value,
    todo: &[String],
    members: &mut Vec<Uuid>,
) -> Result<i64> {
    // Lock order step 2: the profiles in member order.
    let locked = sqlx::query_scalar!(
        "select p.member_id from unnest($2::text[]) i (id)
         join member_profiles p on p.tenant_id = $1 and p.external_id = i.id
         order by p.member_id for no key update of p",
        tenant_id,
        todo
    )
    .fetch_all(&mut *tx)
    .await?;
    members.extend(locked);
    // One entry per non-zero part, balances and levels, level moves, and the records.
    let done = sqlx::query!(
        r#"with calc as (
             select p.member_id, p.external_id, p.ledger_seq, p.available_points, p.total_points,
                    p.level_tier_id, l.user_type,
                    migration_parts($3, l.registered_at, l.last_login_at, l.license_count,
                                    l.payment_total_cents, $4) as parts,
                    legacy_member_digest(l.user_type, l.registered_at, l.last_login_at, l.license_count,
                                         l.payment_total_cents) as digest
             -- Per id through the keys (a batch reads its rows, never the tenant's).
             from unnest($2::text[]) i (id)
             join member_profiles p on p.tenant_id = $1 and p.external_id = i.id
             join legacy_members l on l.tenant_id = $1 and l.external_id = i.id
           ), pieces as (
             select c.member_id, k.ord, k.category, c.parts[k.ord] as points
             from calc c
             cross join (values (1, 'registration'), (2, 'license_activity'), (3, 'activity'), (4, 'payment'))
               k (ord, category)
             where c.parts[k.ord] > 0
           ), numbered as (
             select x.member_id, x.category, x.points,
                    c.ledger_seq + row_number() over w as seq,
                    c.available_points + sum(x.points) over w - x.points as available_before,
                    c.total_points + sum(x.points) over w - x.points as total_before
             from pieces x join calc c on c.member_id = x.member_id
             window w as (partition by x.member_id order by x.ord)
           ), entries as (
             insert into points_ledger (tenant_id, member_id, seq, kind, category, points, available_before,
                                        available_after, total_before, total_after, reason, source_type, source_ref)
             select $1, member_id, seq, 'migration', category, points, available_before,
                    available_before + points, total_before, total_before + points,
                    'Legacy migration', 'migration', $5::uuid::text
             from numbered
             returning member_id, seq, points
           ), sums as (
             select member_id, count(*)::bigint as n, sum(points)::bigint as points, max(seq) as last_seq
             from entries group by member_id
           ), nxt as (
             select c.member_id, c.level_tier_id as old_tier, c.total_points + coalesce(s.points, 0) as new_total,
                    coalesce(s.points, 0) as points, coalesce(s.n, 0) as n, c.ledger_seq + coalesce(s.n, 0) as new_seq,
                    c.user_type,
                    (select t.tier_id from level_tiers t
                     where t.tenant_id = $1 and t.active and t.min_points <= c.total_points + coalesce(s.points, 0)
                       and (t.max_points is null or c.total_points + coalesce(s.points, 0) <= t.max_points)
                     order by t.sort_order limit 1) as new_tier
             from calc c left join sums s on s.member_id = c.member_id
           ), updated as (
             update member_profiles p
             set available_points = p.available_points + n.points, total_points = n.new_total,
                 ledger_seq = n.new_seq, legacy_user_type = n.user_type, level_tier_id = n.new_tier,
                 level_updated_at = case when n.new_tier is distinct from n.old_tier then now() else p.level_updated_at end,
                 row_version = p.row_version + 1, updated_at = now()
             from nxt n
             where p.tenant_id = $1 and p.member_id = n.member_id
             returning p.member_id
           ), moves as (
             insert into level_changes (tenant_id, member_id, from_tier_id, to_tier_id, cause, ledger_seq, total_points)
             select $1, n.member_id, n.old_tier, n.new_tier, 'points', n.new_seq, n.new_total
             from nxt n where n.new_tier is distinct from n.old_tier
           )
           insert into migration_members (tenant_id, run_id, external_id, member_id, batch_no, settings_version,
                                          as_of, source_digest, user_type, parts)
           select $1, $5, c.external_id, c.member_id, $6, $7, $4, c.digest, c.user_type, c.parts
           from calc c join updated u on u.member_id = c.member_id"#,
        tenant_id,
        todo,
        formula,
        run.as_of,
        run_id,
        batch_no,
        run.settings_version
    )
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    Ok(done)
}

/// Grants each of the run's records named by `ids` that has no grant yet the tag its
/// user type maps to, unless the member holds it (method `migration`, terms copied from
/// the tag, from `now`), and notes the tag and grant on the record.
pub(crate) async fn grant_mapped(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    run_id: Uuid,
    ids: &[String],
    types: &[i32],
    codes: &[String],
    now: DateTime<Utc>,
) -> Result<u64> {
    let granted = sqlx::query!(
        r#"with records as (
             select mm.run_id, mm.external_id, mm.member_id, g.tag_id, g.default_term_days, g.grace_days,
                    g.auto_renew, g.renew_from, g.active,
                    exists (select 1 from tag_grants x where x.tenant_id = $1 and x.member_id = mm.member_id
                              and x.tag_id = g.tag_id and x.status in ('active', 'grace')) as held
             from unnest($3::text[]) i (id)
             join migration_members mm on mm.tenant_id = $1 and mm.run_id = $2 and mm.external_id = i.id
             join unnest($4::int[], $5::text[]) m (type_id, code) on m.type_id = mm.user_type
             join tags g on g.tenant_id = $1 and g.code = m.code
             where mm.rolled_back_at is null and mm.grant_id is null
           ), granted as (
             insert into tag_grants (tenant_id, member_id, tag_id, method, reason, starts_at, expires_at, term_days,
                                     grace_days, auto_renew, renew_from, status)
             select $1, member_id, tag_id, 'migration', 'Legacy user type', $6,
                    case when default_term_days is null then null
                         else $6::timestamptz + make_interval(days => default_term_days) end,
                    default_term_days, grace_days, auto_renew and default_term_days is not null, renew_from, 'active'
             from records where active and not held
             on conflict do nothing
             returning grant_id, member_id, tag_id, expires_at
           ), events as (
             insert into grant_events (tenant_id, grant_id, member_id, kind, from_status, to_status, expires_at,
                                       cause, note)
             select $1, grant_id, member_id, 'granted', null, 'active', expires_at, 'migration', $2::uuid::text
             from granted
           )
           update migration_members mm set tag_id = r.tag_id, grant_id = g.grant_id
           from records r left join granted g on g.member_id = r.member_id and g.tag_id = r.tag_id
           where mm.tenant_id = $1 and mm.run_id = r.run_id and mm.external_id = r.external_id"#,
        tenant_id,
        run_id,
        ids,
        types,
        codes,
        now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(granted)
}

/// Works a run until it is completed, paused or cancelled (the CLI), adapting the batch
/// size; `progress` is called after every batch.
pub async fn drive(
    db: &PgPool,
    tenant_id: Uuid,
    run_id: Uuid,
    mut progress: impl FnMut(&Run),
) -> Result<Run> {
    let mut size = sqlx::query_scalar!(
        "select batch_size from migration_runs where tenant_id = $1 and run_id = $2",
        tenant_id,
        run_id
    )
    .fetch_one(db)
    .await?;
    loop {
        match step(db, tenant_id, run_id, size, true).await? {
            Step::Batch { elapsed, .. } => {
                size = next_batch_size(size, elapsed);
                progress(&get_run(db, tenant_id, run_id).await?);
                tokio::time::sleep(PACE).await;
            }
            Step::Finished | Step::Idle => return get_run(db, tenant_id, run_id).await,
        }
    }
}

/// The job of every server process: works the running runs of every tenant for up to
/// `budget`, skipping runs another worker holds. True when it did some work.
pub async fn work_running(db: &PgPool, budget: Duration) -> Result<bool> {
    let started = Instant::now();
    let runs = sqlx::query!(
        "select tenant_id, run_id, batch_size from migration_runs where status = 'running'
         order by updated_at limit 10"
    )
    .fetch_all(db)
    .await?;
    let mut worked = false;
    for run in runs {
        let mut size = run.batch_size;
        while started.elapsed() < budget {
            match step(db, run.tenant_id, run.run_id, size, false).await? {
                Step::Batch { elapsed, .. } => {
                    worked = true;
                    size = next_batch_size(size, elapsed);
                    tokio::time::sleep(PACE).await;
                }
                Step::Finished => {
                    worked = true;
                    break;
                }
                Step::Idle => break,
            }
        }
    }
    Ok(worked)
}
