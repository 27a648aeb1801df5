//! The overview aggregates' check: each aggregate, folded plus pending, must say what
//! the raw tables say. Used by `tierdesk check overview` and by the tests after
//! concurrent workloads.
//!
//! - points per day (`points_daily` ∪ `points_daily_pending`) = the ledger's entries
//!   grouped by UTC day (issued, spent, deducted, entries);
//! - members per level (`level_daily` ∪ pending, `members` summed over every day) = the
//!   profiles grouped by stored level;
//! - level moves per day (`arrived`, `departed`) = `level_changes` grouped by UTC day
//!   and level.
//!
//! All three are read in one repeatable-read snapshot: the triggers write the pending
//! rows in the writers' own transactions and the fold moves rows in one transaction, so
//! any snapshot must balance exactly.

use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;

/// At most this many mismatches are listed per aggregate.
pub const MISMATCHES_PER_AGGREGATE_MAX: i64 = 100;

/// One key (day and/or level) where an aggregate and its raw table disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub tenant_slug: String,
    /// `points per day`, `members per level` or `level moves per day`.
    pub aggregate: String,
    /// The day and/or the level's code (`-` for members without a level).
    pub key: String,
    /// Both sides' figures.
    pub detail: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} {}: {}",
            self.tenant_slug, self.aggregate, self.key, self.detail
        )
    }
}

/// Compares every aggregate of one tenant (or all with `None`) with the raw tables, in
/// one snapshot; lists what differs (nothing when they agree).
pub async fn check(db: &PgPool, tenant_id: Option<Uuid>) -> Result<Vec<Mismatch>> {
    let mut tx = db.begin().await?;
    sqlx::query!("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let mut mismatches = sqlx::query_as!(
        Mismatch,
        r#"select t.slug as "tenant_slug!", 'points per day' as "aggregate!", d.day::text as "key!",
                  format('aggregate issued %s, spent %s, deducted %s, entries %s; ledger issued %s, spent %s, deducted %s, entries %s',
                         d.a_issued, d.a_spent, d.a_deducted, d.a_entries,
                         d.r_issued, d.r_spent, d.r_deducted, d.r_entries) as "detail!"
           from (
             select tenant_id, day,
                    sum(a_issued) as a_issued, sum(a_spent) as a_spent, sum(a_deducted) as a_deducted,
                    sum(a_entries) as a_entries, sum(r_issued) as r_issued, sum(r_spent) as r_spent,
                    sum(r_deducted) as r_deducted, sum(r_entries) as r_entries
             from (
               select tenant_id, day, issued as a_issued, spent as a_spent, deducted as a_deducted,
                      entries as a_entries, 0 as r_issued, 0 as r_spent, 0 as r_deducted, 0 as r_entries
               from points_daily where $1::uuid is null or tenant_id = $1
               union all
               select tenant_id, day, issued, spent, deducted, entries, 0, 0, 0, 0
               from points_daily_pending where $1::uuid is null or tenant_id = $1
               union all
               select tenant_id, (created_at at time zone 'UTC')::date, 0, 0, 0, 0,
                      coalesce(sum(points) filter (where points > 0), 0),
                      coalesce(-sum(points) filter (where points < 0 and kind = 'spend'), 0),
                      coalesce(-sum(points) filter (where points < 0 and kind <> 'spend'), 0),
                      count(*)
               from points_ledger where $1::uuid is null or tenant_id = $1
               group by 1, 2
             ) s
             group by tenant_id, day
           ) d
           join tenants t on t.tenant_id = d.tenant_id
           where (d.a_issued, d.a_spent, d.a_deducted, d.a_entries)
                 <> (d.r_issued, d.r_spent, d.r_deducted, d.r_entries)
           order by t.slug, d.day
           limit $2"#,
        tenant_id,
        MISMATCHES_PER_AGGREGATE_MAX
    )
    .fetch_all(&mut *tx)
    .await?;
    mismatches.extend(
        sqlx::query_as!(
            Mismatch,
            r#"select t.slug as "tenant_slug!", 'members per level' as "aggregate!",
                      coalesce(lt.code, d.tier_id::text, '-') as "key!",
                      format('aggregate %s, profiles %s', d.aggregate, d.profiles) as "detail!"
               from (
                 select tenant_id, tier_id, sum(aggregate) as aggregate, sum(profiles) as profiles
                 from (
                   select tenant_id, tier_id, members as aggregate, 0 as profiles
                   from level_daily where $1::uuid is null or tenant_id = $1
                   union all
                   select tenant_id, tier_id, members, 0
                   from level_daily_pending where $1::uuid is null or tenant_id = $1
                   union all
                   select tenant_id, level_tier_id, 0, count(*)
                   from member_profiles where $1::uuid is null or tenant_id = $1
                   group by 1, 2
                 ) s
                 group by tenant_id, tier_id
               ) d
               join tenants t on t.tenant_id = d.tenant_id
               left join level_tiers lt on lt.tenant_id = d.tenant_id and lt.tier_id = d.tier_id
               where d.aggregate <> d.profiles
               order by t.slug, 3
               limit $2"#,
            tenant_id,
            MISMATCHES_PER_AGGREGATE_MAX
        )
        .fetch_all(&mut *tx)
        .await?,
    );
    mismatches.extend(
        sqlx::query_as!(
            Mismatch,
            r#"select t.slug as "tenant_slug!", 'level moves per day' as "aggregate!",
                      d.day::text || ' ' || coalesce(lt.code, d.tier_id::text, '-') as "key!",
                      format('aggregate arrived %s, departed %s; level history arrived %s, departed %s',
                             d.a_arrived, d.a_departed, d.r_arrived, d.r_departed) as "detail!"
               from (
                 select tenant_id, day, tier_id, sum(a_arrived) as a_arrived, sum(a_departed) as a_departed,
                        sum(r_arrived) as r_arrived, sum(r_departed) as r_departed
                 from (
                   select tenant_id, day, tier_id, arrived as a_arrived, departed as a_departed,
                          0 as r_arrived, 0 as r_departed
                   from level_daily where $1::uuid is null or tenant_id = $1
                   union all
                   select tenant_id, day, tier_id, arrived, departed, 0, 0
                   from level_daily_pending where $1::uuid is null or tenant_id = $1
                   union all
                   select tenant_id, (created_at at time zone 'UTC')::date, to_tier_id, 0, 0, 1, 0
                   from level_changes where $1::uuid is null or tenant_id = $1
                   union all
                   select tenant_id, (created_at at time zone 'UTC')::date, from_tier_id, 0, 0, 0, 1
                   from level_changes where $1::uuid is null or tenant_id = $1
                 ) s
                 group by tenant_id, day, tier_id
               ) d
               join tenants t on t.tenant_id = d.tenant_id
               left join level_tiers lt on lt.tenant_id = d.tenant_id and lt.tier_id = d.tier_id
               where (d.a_arrived, d.a_departed) <> (d.r_arrived, d.r_departed)
               order by t.slug, d.day, 3
               limit $2"#,
            tenant_id,
            MISMATCHES_PER_AGGREGATE_MAX
        )
        .fetch_all(&mut *tx)
        .await?,
    );
    tx.commit().await?;
    Ok(mismatches)
}
