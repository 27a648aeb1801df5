//! Rollback: the blast radius first, then a run that neutralises migrated members in
//! batches (the same worker as migration runs).
//!
//! *Emergency*: the tenant's switch goes to legacy in the same transaction that creates
//! the run (every member is answered by the legacy model once it returns), then every
//! migrated member is neutralised. *Gradual*: a share or a set of the migrated members;
//! each is answered by the legacy model from their batch's commit (no live record).
//!
//! Neutralising a member: every ledger entry of their migration (catch-up included) gets
//! a `reversal` entry; reversals of the catch-up's decreases give points back first, then
//! the migration's entries are reversed in order down to zero available points: a member
//! who spent migrated points keeps the spending, and the part that could not be taken
//! back is the record's `shortfall` (listed in the blast radius). Migration grants still
//! in force are revoked with cause `rollback`. Activity in the new model since the
//! migration (other entries, grants, seats) is kept. The legacy tables are not touched.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::analysis::{EXAMPLES, selection_params, store};
use super::run::{Outcome, create};
use crate::{Access, Error, Result, Role};
pub use model::migration::run::{BlastRadius, Example, KeyDiff, RollbackMode, Run, Selection};

fn check_mode(mode: RollbackMode, selection: &Selection) -> Result<()> {
    if mode == RollbackMode::Emergency && *selection != Selection::All {
        return Err(Error::invalid("selection", crate::Problem::Format));
    }
    Ok(())
}

/// What rolling back `selection` would change (tenant admins): members, the permission
/// keys and quotas whose answers change, who has activity since their migration, who
/// spent migrated points. Kept as a report.
pub async fn blast_radius(
    db: &PgPool,
    access: &Access,
    mode: RollbackMode,
    selection: &Selection,
    now: DateTime<Utc>,
) -> Result<BlastRadius> {
    access.require(Role::TenantAdmin)?;
    check_mode(mode, selection)?;
    let (kind, ids, share) = selection_params(selection)?;
    let routing = super::routing::routing(db, access).await?;
    let mut tx = db.begin().await?;
    sqlx::query("set transaction isolation level repeatable read")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        r#"create temporary table blast on commit drop as
           with recs as (
             select mm.run_id, mm.external_id, mm.member_id, mm.migrated_at, mm.user_type
             from migration_members mm
             where mm.tenant_id = $1 and mm.rolled_back_at is null
               and ($2 = 'all' or ($2 = 'members' and mm.external_id = any($3))
                    or ($2 = 'share' and migration_share_bucket(mm.external_id) <= $4))
           )
           select r.external_id, r.member_id,
                  coalesce(t.permissions, '{}') as legacy_perms, coalesce(t.max_licenses, 0)::bigint as legacy_quota,
                  array(select distinct k from unnest(coalesce(lv.permissions, '{}') || coalesce(gp.perms, '{}')) k
                        where k is not null order by k) as new_perms,
                  license_quota($1, r.member_id, $5) as new_quota,
                  p.available_points,
                  coalesce(mig.outstanding, 0) as outstanding,
                  coalesce(act.entries, 0) as entries, coalesce(act.grants, 0) as grants,
                  coalesce(u.held, 0)::bigint as seats
           from recs r
           join member_profiles p on p.tenant_id = $1 and p.member_id = r.member_id
           left join legacy_user_types t on t.tenant_id = $1 and t.type_id = r.user_type
           left join lateral (
             select x.permissions from level_tiers x
             where x.tenant_id = $1 and x.active and x.min_points <= p.total_points
               and (x.max_points is null or p.total_points <= x.max_points)
             order by x.sort_order limit 1
           ) lv on true
           left join lateral (
             select array_agg(k) as perms
             from tag_grants g join tags tg on tg.tenant_id = g.tenant_id and tg.tag_id = g.tag_id
             cross join lateral unnest(tg.permissions) k
             where g.tenant_id = $1 and g.member_id = r.member_id and g.status in ('active', 'grace')
               and g.starts_at <= $5
               and (g.expires_at is null or g.auto_renew or $5 < g.expires_at + make_interval(days => g.grace_days))
           ) gp on true
           left join lateral (
             select sum(e.points)::bigint as outstanding from points_ledger e
             where e.tenant_id = $1 and e.member_id = r.member_id and e.source_type = 'migration'
               and e.source_ref = r.run_id::text
               and not exists (select 1 from points_ledger x where x.tenant_id = $1 and x.member_id = e.member_id
                                 and x.reverses_seq = e.seq)
           ) mig on true
           left join lateral (
             select (select count(*) from points_ledger e
                     where e.tenant_id = $1 and e.member_id = r.member_id and e.created_at > r.migrated_at
                       and e.source_type is distinct from 'migration'
                       and e.source_type is distinct from 'migration_rollback') as entries,
                    (select count(*) from tag_grants g
                     where g.tenant_id = $1 and g.member_id = r.member_id and g.created_at > r.migrated_at
                       and g.method <> 'migration') as grants
           ) act on true
           left join member_license_use u on u.tenant_id = $1 and u.member_id = r.member_id"#,
    )
    .bind(access.tenant_id)
    .bind(kind)
    .bind(&ids)
    .bind(share)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // Checked by the tests, not the query macros (a temporary table).
    let head: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        r#"select count(*),
                  count(*) filter (where new_quota > legacy_quota),
                  count(*) filter (where new_quota < legacy_quota),
                  count(*) filter (where entries > 0 or grants > 0 or seats > 0),
                  count(*) filter (where outstanding > available_points),
                  coalesce(sum(greatest(outstanding - available_points, 0)), 0)::bigint,
                  coalesce(sum(least(greatest(outstanding, 0), available_points)), 0)::bigint
           from blast"#,
    )
    .fetch_one(&mut *tx)
    .await?;
    let keys: Vec<(String, i64, i64)> = sqlx::query_as(
        r#"with combos as (
             select legacy_perms, new_perms, count(*) as members from blast group by legacy_perms, new_perms
           ), universe as (
             select distinct k from combos, unnest(legacy_perms || new_perms) k
           )
           select u.k,
                  coalesce(sum(c.members) filter (where u.k = any(c.new_perms) and not u.k = any(c.legacy_perms)), 0)::bigint,
                  coalesce(sum(c.members) filter (where u.k = any(c.legacy_perms) and not u.k = any(c.new_perms)), 0)::bigint
           from universe u cross join combos c group by u.k order by u.k"#,
    )
    .fetch_all(&mut *tx)
    .await?;
    let activity: Vec<(String, i64, i64)> = sqlx::query_as(
        "select external_id, entries + grants, seats from blast
         where entries > 0 or grants > 0 or seats > 0 order by external_id limit $1",
    )
    .bind(EXAMPLES)
    .fetch_all(&mut *tx)
    .await?;
    let shortfall: Vec<(String, i64, i64)> = sqlx::query_as(
        "select external_id, outstanding, available_points from blast
         where outstanding > available_points order by external_id limit $1",
    )
    .bind(EXAMPLES)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let report = BlastRadius {
        at: Utc::now(),
        mode,
        members: head.0,
        answered_new: if routing.mode == super::routing::Model::New {
            head.0
        } else {
            0
        },
        keys: keys
            .into_iter()
            .filter(|(_, lose, gain)| lose + gain > 0)
            .map(|(key, missing, extra)| KeyDiff {
                key,
                missing,
                extra,
            })
            .collect(),
        quota_lower: head.1,
        quota_higher: head.2,
        with_activity: head.3,
        activity_examples: activity
            .into_iter()
            .map(|(external_id, changes, seats)| Example {
                external_id,
                kind: "activity".into(),
                before: Some(changes),
                after: Some(seats),
            })
            .collect(),
        shortfall_members: head.4,
        shortfall_points: head.5,
        shortfall_examples: shortfall
            .into_iter()
            .map(|(external_id, outstanding, available)| Example {
                external_id,
                kind: "shortfall".into(),
                before: Some(outstanding),
                after: Some(available),
            })
            .collect(),
        points_reversed: head.6,
    };
    store(db, access, "blast_radius", &report).await?;
    Ok(report)
}

/// Starts a rollback (tenant admins; audited). Emergency takes every migrated member
/// and switches the tenant to the legacy model in the same transaction (settled before
/// this returns); gradual takes the selection and leaves the switch.
pub async fn start(
    db: &PgPool,
    access: &Access,
    mode: RollbackMode,
    selection: &Selection,
    now: DateTime<Utc>,
) -> Result<Run> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let (run_id, switched) = start_in(&mut tx, access, mode, selection, now).await?;
    tx.commit().await?;
    if switched {
        crate::tags::permissions::settle(db, access.tenant_id).await?;
    }
    Ok(super::run::detail(db, access, run_id).await?.run)
}

/// [`start`] inside the caller's transaction (the rollout's abort): the run's id, and
/// whether the switch moved (the caller settles after committing).
pub(crate) async fn start_in(
    tx: &mut PgConnection,
    access: &Access,
    mode: RollbackMode,
    selection: &Selection,
    now: DateTime<Utc>,
) -> Result<(Uuid, bool)> {
    check_mode(mode, selection)?;
    if mode == RollbackMode::Emergency {
        // An emergency does not wait for a run to be cancelled by hand: the active run
        // (a migration, or a gradual rollback, whose members the emergency takes too)
        // is cancelled here, after its batch in flight (which holds the run row)
        // commits.
        let cancelled = sqlx::query_scalar!(
            "update migration_runs set status = 'cancelled', finished_at = now(), updated_at = now()
             where tenant_id = $1 and status in ('running', 'paused')
             returning run_id",
            access.tenant_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(run_id) = cancelled {
            crate::access::audit::record(
                tx,
                access,
                crate::access::audit::Event {
                    action: "migration.run.control",
                    target_type: "migration_run",
                    target_id: run_id.to_string(),
                    before: None,
                    after: Some(
                        serde_json::json!({ "status": "cancelled", "why": "emergency rollback" }),
                    ),
                },
            )
            .await?;
        }
    }
    let switched = if mode == RollbackMode::Emergency {
        super::routing::set_mode(
            tx,
            access,
            super::routing::Model::Legacy,
            "emergency rollback",
        )
        .await?
    } else {
        false
    };
    let run_id = create(
        tx,
        access,
        model::migration::run::RunKind::Rollback,
        Some(mode),
        selection,
        now,
        model::migration::run::SELECTION_MAX,
    )
    .await?;
    Ok((run_id, switched))
}

/// One rollback batch: the live records among `ids`.
pub(crate) async fn batch(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    run_id: Uuid,
    _batch_no: i32,
    ids: &[String],
) -> Result<Outcome> {
    sqlx::query!("set local tierdesk.cache_defer = 'on'")
        .execute(&mut *tx)
        .await?;
    // Lock order step 2: the members' profiles in member order.
    let members = sqlx::query_scalar!(
        "select p.member_id from unnest($2::text[]) i (id)
         join migration_members mm on mm.tenant_id = $1 and mm.external_id = i.id and mm.rolled_back_at is null
         join member_profiles p on p.tenant_id = $1 and p.member_id = mm.member_id
         order by p.member_id for no key update of p",
        tenant_id,
        ids
    )
    .fetch_all(&mut *tx)
    .await?;
    let skipped = ids.len() as i64 - members.len() as i64;
    if members.is_empty() {
        return Ok(Outcome {
            done: 0,
            skipped,
            errors: 0,
            members,
        });
    }
    let done = sqlx::query!(
        r#"with recs as (
             -- Per id through the keys (a batch reads its rows, never the tenant's).
             select mm.run_id, mm.external_id, mm.member_id
             from unnest($2::text[]) i (id)
             join migration_members mm on mm.tenant_id = $1 and mm.external_id = i.id and mm.rolled_back_at is null
           ), prof as (
             select p.member_id, p.available_points, p.total_points, p.ledger_seq, p.level_tier_id
             from recs r join member_profiles p on p.tenant_id = $1 and p.member_id = r.member_id
           ), ent as (
             select e.member_id, e.seq, e.points, e.category
             from recs r
             cross join lateral (
               select x.member_id, x.seq, x.points, x.category from points_ledger x
               where x.tenant_id = $1 and x.member_id = r.member_id and x.source_type = 'migration'
                 and x.source_ref = r.run_id::text
                 and not exists (select 1 from points_ledger y where y.tenant_id = $1 and y.member_id = x.member_id
                                   and y.reverses_seq = x.seq)
             ) e
           ), ordered as (
             select e.*, p.available_points as a0,
                    coalesce(sum(case when e.points < 0 then -e.points else 0 end) over (partition by e.member_id), 0) as back,
                    coalesce(sum(case when e.points > 0 then e.points else 0 end)
                               over (partition by e.member_id order by e.seq
                                     rows between unbounded preceding and 1 preceding), 0) as before_pos
             from ent e join prof p on p.member_id = e.member_id
           ), amounts as (
             select o.*, case when o.points < 0 then -o.points
                              else -least(o.points, greatest(0, o.a0 + o.back - o.before_pos)) end as delta
             from ordered o
           ), nonzero as (
             select a.*, row_number() over (partition by a.member_id order by (a.points > 0), a.seq) as k
             from amounts a where a.delta <> 0
           ), numbered as (
             select n.member_id, n.seq, n.category, n.delta, pr.ledger_seq + n.k as new_seq,
                    pr.available_points + sum(n.delta) over w - n.delta as available_before,
                    pr.total_points + sum(n.delta) over w - n.delta as total_before
             from nonzero n join prof pr on pr.member_id = n.member_id
             window w as (partition by n.member_id order by n.k)
           ), entries as (
             insert into points_ledger (tenant_id, member_id, seq, kind, category, points, available_before,
                                        available_after, total_before, total_after, reason, source_type, source_ref,
                                        reverses_seq)
             select $1, member_id, new_seq, 'reversal', category, delta, available_before, available_before + delta,
                    total_before, total_before + delta, 'Legacy migration rolled back', 'migration_rollback',
                    $3::uuid::text, seq
             from numbered
             returning member_id, seq, points
           ), sums as (
             select member_id, count(*)::bigint as n, sum(points)::bigint as points from entries group by member_id
           ), nxt as (
             select p.member_id, p.level_tier_id as old_tier, p.total_points + coalesce(s.points, 0) as new_total,
                    coalesce(s.points, 0) as points, p.ledger_seq + coalesce(s.n, 0) as new_seq,
                    (select t.tier_id from level_tiers t
                     where t.tenant_id = $1 and t.active and t.min_points <= p.total_points + coalesce(s.points, 0)
                       and (t.max_points is null or p.total_points + coalesce(s.points, 0) <= t.max_points)
                     order by t.sort_order limit 1) as new_tier
             from prof p left join sums s on s.member_id = p.member_id
           ), updated as (
             update member_profiles p
             set available_points = p.available_points + n.points, total_points = n.new_total, ledger_seq = n.new_seq,
                 level_tier_id = n.new_tier,
                 level_updated_at = case when n.new_tier is distinct from n.old_tier then now() else p.level_updated_at end,
                 row_version = p.row_version + 1, updated_at = now()
             from nxt n
             where p.tenant_id = $1 and p.member_id = n.member_id and n.points <> 0
           ), moves as (
             insert into level_changes (tenant_id, member_id, from_tier_id, to_tier_id, cause, ledger_seq, total_points)
             select $1, n.member_id, n.old_tier, n.new_tier, 'points', n.new_seq, n.new_total
             from nxt n where n.new_tier is distinct from n.old_tier
           ), per_member as (
             select member_id,
                    coalesce(sum(-delta) filter (where points > 0), 0)::bigint as reversed,
                    coalesce(sum(points + delta) filter (where points > 0), 0)::bigint as shortfall
             from amounts group by member_id
           )
           update migration_members mm
           set rolled_back_at = now(), rollback_run_id = $3, reversed = coalesce(pm.reversed, 0),
               shortfall = coalesce(pm.shortfall, 0)
           from recs r left join per_member pm on pm.member_id = r.member_id
           where mm.tenant_id = $1 and mm.run_id = r.run_id and mm.external_id = r.external_id"#,
        tenant_id,
        ids,
        run_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    // End the migration's grants still in force.
    sqlx::query!(
        r#"with target as (
             select g.grant_id, g.status from unnest($3::text[]) i (id)
             join migration_members mm on mm.tenant_id = $1 and mm.rollback_run_id = $2 and mm.external_id = i.id
             join tag_grants g on g.tenant_id = $1 and g.grant_id = mm.grant_id
             where g.status in ('active', 'grace')
           ), ended as (
             update tag_grants g
             set status = 'revoked', revoked_at = now(), revoke_reason = 'Legacy migration rolled back',
                 ended_at = now(), row_version = g.row_version + 1, updated_at = now()
             from target t
             where g.tenant_id = $1 and g.grant_id = t.grant_id
             returning g.grant_id, g.member_id, g.expires_at, t.status as status_before
           )
           insert into grant_events (tenant_id, grant_id, member_id, kind, from_status, to_status, expires_at, cause, note)
           select $1, grant_id, member_id, 'revoked', status_before, 'revoked', expires_at, 'rollback', $2::uuid::text
           from ended"#,
        tenant_id,
        run_id,
        ids
    )
    .execute(&mut *tx)
    .await?;
    Ok(Outcome {
        done,
        skipped,
        errors: 0,
        members,
    })
}
