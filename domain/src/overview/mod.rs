//! The overview: a tenant's figures for the product manager's page, from set-based
//! queries that stay fast on a large tenant (`tierdesk bench overview`).
//!
//! Points per day come from the daily aggregate (migration `…_overview_aggregates`):
//! `points_daily` plus the rows the ledger trigger appended to `points_daily_pending`
//! since the last fold, added up in one statement; members per level and their 30-day
//! moves likewise from `level_daily` and `level_daily_pending`. Everything is read in one
//! read-only repeatable-read transaction, so the figures agree with each other.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::{Access, Result, Role};
pub use model::overview::{
    Activity, DayPoints, LEVEL_CHANGE_DAYS, LevelCount, Overview, RANGE_DAYS, RECENT_ENTRIES_MAX,
    WEEK_DAYS, checked_days, fill_days,
};
use model::points::ledger::EntryKind;

pub mod check;

/// Pending rows folded per transaction by [`fold_pending`].
pub const FOLD_BATCH_MAX: i64 = 10_000;

/// The tenant's figures at `now`, points per day over the last `days` days (one of
/// [`RANGE_DAYS`]). Every role.
pub async fn overview(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    days: u32,
) -> Result<Overview> {
    access.require(Role::Viewer)?;
    let days = checked_days(days)?;
    let tenant_id = access.tenant_id;
    let mut tx = db.begin().await?;
    sqlx::query!("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let levels = levels(&mut tx, access, now).await?;
    let members_new_7d = sqlx::query_scalar!(
        r#"select count(*) as "count!" from member_profiles
           where tenant_id = $1 and registered_at > $2"#,
        tenant_id,
        now - Duration::days(WEEK_DAYS)
    )
    .fetch_one(&mut *tx)
    .await?;
    let all_days = sqlx::query_as!(
        DayPoints,
        r#"select day as "day!", sum(issued)::bigint as "issued!", sum(spent)::bigint as "spent!",
                  sum(deducted)::bigint as "deducted!"
           from (select day, issued, spent, deducted from points_daily where tenant_id = $1
                 union all
                 select day, issued, spent, deducted from points_daily_pending where tenant_id = $1) d
           group by day"#,
        tenant_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let tags = sqlx::query!(
        r#"select count(*) filter (where starts_at <= $2) as "held!",
                  count(*) filter (where expires_at <= $3) as "expiring!"
           from tag_grants
           where tenant_id = $1 and status in ('active', 'grace')
             and (expires_at is null or auto_renew or expires_at + make_interval(days => grace_days) > $2)"#,
        tenant_id,
        now,
        now + Duration::days(WEEK_DAYS)
    )
    .fetch_one(&mut *tx)
    .await?;
    let pending_approvals = sqlx::query_scalar!(
        r#"select count(*) as "count!" from adjustment_requests
           where tenant_id = $1 and status = 'pending'"#,
        tenant_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let recent = recent(&mut tx, access).await?;
    tx.commit().await?;
    let today = now.date_naive();
    Ok(Overview {
        today,
        days,
        members_total: levels.iter().map(|level| level.members).sum(),
        members_new_7d,
        points: fill_days(today, days, &all_days),
        outstanding: all_days
            .iter()
            .map(|day| day.issued - day.spent - day.deducted)
            .sum(),
        levels,
        tags_held: tags.held,
        expiring_7d: tags.expiring,
        pending_approvals,
        recent,
    })
}

/// Members per level now (stored levels, as the members list filters them) and the
/// net moves of the last 30 UTC days (today included): active tiers in order (and
/// inactive ones still holding members), then members without a level. Both from the
/// level aggregate (`level_daily` plus pending rows, migration `…_level_aggregates`):
/// rows per day and level, never per member or per move.
async fn levels(
    conn: &mut sqlx::PgConnection,
    access: &Access,
    now: DateTime<Utc>,
) -> Result<Vec<LevelCount>> {
    let rows = sqlx::query!(
        r#"with agg as (
             select tier_id, sum(members) as members,
                    coalesce(sum(arrived - departed) filter (where day > $2), 0) as change
             from (select tier_id, day, members, arrived, departed from level_daily where tenant_id = $1
                   union all
                   select tier_id, day, members, arrived, departed from level_daily_pending
                   where tenant_id = $1) d
             group by tier_id
           )
           select t.tier_id as "tier_id?", t.code as "code!", t.name_zh as "name_zh!",
                  t.name_en as "name_en!", t.sort_order as "sort_order?",
                  coalesce(a.members, 0)::bigint as "members!", coalesce(a.change, 0)::bigint as "change!"
           from level_tiers t
           left join agg a on a.tier_id = t.tier_id
           where t.tenant_id = $1 and (t.active or a.members > 0)
           union all
           select null, '', '', '', null, a.members::bigint, a.change::bigint
           from agg a where a.tier_id is null and a.members > 0
           order by 5 nulls last"#,
        access.tenant_id,
        now.date_naive() - Duration::days(LEVEL_CHANGE_DAYS)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| LevelCount {
            tier_id: row.tier_id,
            code: row.code,
            name_zh: row.name_zh,
            name_en: row.name_en,
            members: row.members,
            change_30d: row.change,
        })
        .collect())
}

/// The newest ledger entries of the tenant, newest first.
async fn recent(conn: &mut sqlx::PgConnection, access: &Access) -> Result<Vec<Activity>> {
    let rows = sqlx::query!(
        r#"select l.member_id, p.display_name, l.kind, l.points, l.created_at
           from points_ledger l
           join member_profiles p on p.tenant_id = l.tenant_id and p.member_id = l.member_id
           where l.tenant_id = $1
           order by l.created_at desc, l.member_id, l.seq desc
           limit $2"#,
        access.tenant_id,
        RECENT_ENTRIES_MAX
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Activity {
                member_id: row.member_id,
                display_name: row.display_name,
                kind: EntryKind::parse(&row.kind)?,
                points: row.points,
                created_at: row.created_at,
            })
        })
        .collect()
}

/// Folds up to [`FOLD_BATCH_MAX`] pending rows of each aggregate (oldest first, every
/// tenant) into `points_daily` and `level_daily`, in one transaction; returns how many
/// rows it folded in all (fewer than the batch: nothing is left). One fold at a time
/// (a transaction-scoped advisory lock; a second caller folds nothing). It locks only
/// aggregate rows, which no other transaction writes, so it never waits for a points
/// change nor makes one wait. Readers see the rows before or after, never both.
pub async fn fold_pending(db: &PgPool) -> Result<i64> {
    let mut tx = db.begin().await?;
    let ours = sqlx::query_scalar!(
        r#"select pg_try_advisory_xact_lock(hashtext('tierdesk.points_daily_fold')) as "ours!""#
    )
    .fetch_one(&mut *tx)
    .await?;
    if !ours {
        return Ok(0);
    }
    let points = sqlx::query_scalar!(
        r#"with batch as (
             select tenant_id, pending_id from points_daily_pending
             order by pending_id limit $1
           ), moved as (
             delete from points_daily_pending p using batch b
             where p.tenant_id = b.tenant_id and p.pending_id = b.pending_id
             returning p.tenant_id, p.day, p.issued, p.spent, p.deducted, p.entries
           ), folded as (
             insert into points_daily (tenant_id, day, issued, spent, deducted, entries)
             select tenant_id, day, sum(issued), sum(spent), sum(deducted), sum(entries)
             from moved
             group by tenant_id, day
             order by tenant_id, day
             on conflict (tenant_id, day) do update
             set issued = points_daily.issued + excluded.issued,
                 spent = points_daily.spent + excluded.spent,
                 deducted = points_daily.deducted + excluded.deducted,
                 entries = points_daily.entries + excluded.entries
           )
           select count(*) as "moved!" from moved"#,
        FOLD_BATCH_MAX
    )
    .fetch_one(&mut *tx)
    .await?;
    let levels = sqlx::query_scalar!(
        r#"with batch as (
             select tenant_id, pending_id from level_daily_pending
             order by pending_id limit $1
           ), moved as (
             delete from level_daily_pending p using batch b
             where p.tenant_id = b.tenant_id and p.pending_id = b.pending_id
             returning p.tenant_id, p.day, p.tier_id, p.members, p.arrived, p.departed
           ), folded as (
             insert into level_daily (tenant_id, day, tier_id, members, arrived, departed)
             select tenant_id, day, tier_id, sum(members), sum(arrived), sum(departed)
             from moved
             group by tenant_id, day, tier_id
             order by tenant_id, day, tier_id
             on conflict (tenant_id, day, tier_id) do update
             set members = level_daily.members + excluded.members,
                 arrived = level_daily.arrived + excluded.arrived,
                 departed = level_daily.departed + excluded.departed
           )
           select count(*) as "moved!" from moved"#,
        FOLD_BATCH_MAX
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(points + levels)
}
