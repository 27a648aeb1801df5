//! The read-only steps: pre-flight (statistics and a checkpoint) and the dry run. Both
//! are set-based over the whole selection; the dry run reads one repeatable-read
//! snapshot and writes nothing but its report (a temporary table holds the per-member
//! results while it aggregates; the checkpoints before and after are equal).

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};
use sqlx::PgPool;
use uuid::Uuid;

use super::{checkpoint, settings};
use crate::{Access, Error, Result, Role};
pub use model::migration::run::{
    Count, DryRun, Example, Finding, KeyDiff, Preflight, ReportInfo, Selection, Statistics,
};

/// Examples listed per finding.
pub const EXAMPLES: i64 = 20;

/// A selection as SQL parameters: kind, listed ids, share.
pub(crate) fn selection_params(selection: &Selection) -> Result<(&'static str, Vec<String>, i32)> {
    selection_params_within(selection, model::migration::run::SELECTION_MAX)
}

/// [`selection_params`] with another bound on listed members (the rollout lists a
/// stage's joiners, which it read from the legacy table itself: any number).
pub(crate) fn selection_params_within(
    selection: &Selection,
    max: usize,
) -> Result<(&'static str, Vec<String>, i32)> {
    Ok(match selection {
        Selection::All => ("all", Vec::new(), 100),
        Selection::Members(ids) => {
            if ids.len() > max {
                return Err(Error::invalid(
                    "members",
                    crate::Problem::TooLarge { max: max as i64 },
                ));
            }
            let mut clean = Vec::with_capacity(ids.len());
            for id in ids {
                model::input::plain_text("members", id)?;
                let id = id.trim();
                if id.is_empty() {
                    continue;
                }
                if id.chars().count() > 128 {
                    return Err(Error::invalid(
                        "members",
                        crate::Problem::TooLong { max: 128 },
                    ));
                }
                clean.push(id.to_owned());
            }
            clean.sort();
            clean.dedup();
            if clean.is_empty() {
                return Err(Error::invalid("members", crate::Problem::Required));
            }
            ("members", clean, 100)
        }
        Selection::Share(share) => {
            if !(1..=100).contains(share) {
                return Err(Error::invalid("share", crate::Problem::Format));
            }
            ("share", Vec::new(), *share)
        }
    })
}

/// Stores a report.
pub(crate) async fn store<T: Serialize>(
    db: &PgPool,
    access: &Access,
    kind: &str,
    report: &T,
) -> Result<Uuid> {
    let json = serde_json::to_value(report)
        .map_err(|error| Error::Internal(format!("report not serialisable: {error}")))?;
    Ok(sqlx::query_scalar!(
        "insert into migration_reports (tenant_id, kind, report, created_by) values ($1, $2, $3, $4)
         returning report_id",
        access.tenant_id,
        kind,
        json,
        access.principal.admin_id
    )
    .fetch_one(db)
    .await?)
}

/// The latest report of a kind (every role).
pub async fn latest<T: DeserializeOwned>(
    db: &PgPool,
    access: &Access,
    kind: &str,
) -> Result<Option<(ReportInfo, T)>> {
    access.require(Role::Viewer)?;
    let row = sqlx::query!(
        r#"select r.report_id, r.kind, r.report, r.created_at, a.display_name as "created_by?"
           from migration_reports r left join admins a on a.admin_id = r.created_by
           where r.tenant_id = $1 and r.kind = $2 order by r.created_at desc limit 1"#,
        access.tenant_id,
        kind
    )
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let report = serde_json::from_value(row.report)
        .map_err(|error| Error::Internal(format!("stored report unreadable: {error}")))?;
    Ok(Some((
        ReportInfo {
            report_id: row.report_id,
            kind: row.kind,
            created_at: row.created_at,
            created_by: row.created_by,
        },
        report,
    )))
}

/// Pre-flight (tenant admins): the legacy statistics snapshot (members per type, sums
/// of the formula's inputs) and a checkpoint, in one snapshot; kept as a report.
pub async fn preflight(db: &PgPool, access: &Access, now: DateTime<Utc>) -> Result<Preflight> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    sqlx::query("set transaction isolation level repeatable read")
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query!(
        r#"select count(*) as "members!",
                  coalesce(sum(license_count), 0)::bigint as "licenses!",
                  coalesce(sum(payment_total_cents), 0)::bigint as "payments!",
                  coalesce(sum(greatest(($2::timestamptz at time zone 'UTC')::date
                                        - (registered_at at time zone 'UTC')::date, 0)), 0)::bigint as "days!",
                  count(*) filter (where last_login_at >= $2::timestamptz - interval '7 days') as "week!",
                  count(*) filter (where last_login_at >= $2::timestamptz - interval '30 days') as "month!",
                  count(*) filter (where last_login_at is null) as "never!",
                  (select count(*) from migration_members mm
                   where mm.tenant_id = $1 and mm.rolled_back_at is null) as "migrated!"
           from legacy_members where tenant_id = $1"#,
        access.tenant_id,
        now
    )
    .fetch_one(&mut *tx)
    .await?;
    let per_type = sqlx::query_as!(
        model::migration::legacy::TypeCount,
        r#"select m.user_type as "type_id!", t.name as "name?", count(*) as "members!"
           from legacy_members m
           left join legacy_user_types t on t.tenant_id = m.tenant_id and t.type_id = m.user_type
           where m.tenant_id = $1
           group by m.user_type, t.name order by m.user_type"#,
        access.tenant_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let tables = checkpoint::compute(&mut tx, access.tenant_id).await?;
    tx.commit().await?;
    let json = serde_json::to_value(&tables)
        .map_err(|error| Error::Internal(format!("checkpoint not serialisable: {error}")))?;
    let checkpoint_id = sqlx::query_scalar!(
        "insert into migration_checkpoints (tenant_id, label, tables, taken_by)
         values ($1, 'pre-flight', $2, $3) returning checkpoint_id",
        access.tenant_id,
        json,
        access.principal.admin_id
    )
    .fetch_one(db)
    .await?;
    let report = Preflight {
        statistics: Statistics {
            members: row.members,
            per_type,
            license_count_sum: row.licenses,
            payment_cents_sum: row.payments,
            registered_days_sum: row.days,
            logged_in_7d: row.week,
            logged_in_30d: row.month,
            never_logged_in: row.never,
            already_migrated: row.migrated,
        },
        checkpoint: checkpoint::get(db, access, checkpoint_id).await?,
    };
    store(db, access, "preflight", &report).await?;
    Ok(report)
}

/// Lower bounds of the dry run's points ranges.
const BUCKETS: [i64; 8] = [0, 1, 100, 250, 500, 1000, 3000, 10000];

/// The dry run (tenant admins) of migrating `selection` with the tenant's current
/// mapping and formula as of `now`: computes everything a run would, writes nothing but
/// its report.
pub async fn dry_run(
    db: &PgPool,
    access: &Access,
    selection: &Selection,
    now: DateTime<Utc>,
) -> Result<DryRun> {
    access.require(Role::TenantAdmin)?;
    let started = Instant::now();
    let (kind, ids, share) = selection_params(selection)?;
    let current = settings::current(db, access).await?;
    let formula = settings::formula_json(&current.formula)?;
    let (types, codes) = settings::mapping_arrays(&current.mapping);
    let mut tx = db.begin().await?;
    sqlx::query("set transaction isolation level repeatable read")
        .execute(&mut *tx)
        .await?;
    // Per legacy member of the selection: what a run would compute. Temporary, dropped
    // at commit: the tenant's tables are only read.
    sqlx::query(
        r#"create temporary table dry_members on commit drop as
           select l.external_id, l.user_type, (t.type_id is not null) as type_known,
                  coalesce(t.permissions, '{}') as legacy_perms,
                  coalesce(t.max_licenses, 0)::bigint as legacy_quota,
                  p.member_id, coalesce(p.total_points, 0) as existing_total,
                  (mm.external_id is not null) as already,
                  migration_parts($2, l.registered_at, l.last_login_at, l.license_count,
                                  l.payment_total_cents, $3) as parts,
                  l.registered_at > $3 as future_registration,
                  l.payment_total_cents < 0 as refund,
                  mp.tag_id
           from legacy_members l
           left join legacy_user_types t on t.tenant_id = l.tenant_id and t.type_id = l.user_type
           left join member_profiles p on p.tenant_id = l.tenant_id and p.external_id = l.external_id
           left join migration_members mm on mm.tenant_id = l.tenant_id and mm.external_id = l.external_id
                                          and mm.rolled_back_at is null
           left join (select m.type_id, g.tag_id
                      from unnest($4::int[], $5::text[]) m (type_id, code)
                      join tags g on g.tenant_id = $1 and g.code = m.code) mp on mp.type_id = l.user_type
           where l.tenant_id = $1
             and ($6 = 'all' or ($6 = 'members' and l.external_id = any($7))
                  or ($6 = 'share' and migration_share_bucket(l.external_id) <= $8))"#,
    )
    .bind(access.tenant_id)
    .bind(formula)
    .bind(now)
    .bind(&types)
    .bind(&codes)
    .bind(kind)
    .bind(&ids)
    .bind(share)
    .execute(&mut *tx)
    .await?;
    // The migratable members as the new model would answer them: the level from the
    // new total, the mapped tag (unless held already) and the grants they hold now.
    sqlx::query(
        r#"create temporary table dry_new on commit drop as
           with m as (
             select d.*, d.parts[1] + d.parts[2] + d.parts[3] + d.parts[4] as points
             from dry_members d where d.type_known and not d.already
           ), held as (
             select g.member_id, array_agg(distinct g.tag_id) as tags
             from tag_grants g
             where g.tenant_id = $1 and g.status in ('active', 'grace') and g.starts_at <= $2
               and (g.expires_at is null or g.auto_renew or $2 < g.expires_at + make_interval(days => g.grace_days))
               and g.member_id in (select member_id from m where member_id is not null)
             group by g.member_id
           ), tagged as (
             select m.*, array_remove(coalesce(h.tags, '{}') || case when m.tag_id is null or m.tag_id = any(coalesce(h.tags, '{}'))
                                                                   then '{}'::uuid[] else array[m.tag_id] end,
                                      null) as tags
             from m left join held h on h.member_id = m.member_id
           )
           select x.external_id, x.legacy_perms, x.legacy_quota, x.points, x.tag_id, x.parts,
                  x.future_registration, x.refund, lv.tier_id,
                  array(select distinct k from unnest(coalesce(lv.permissions, '{}') || coalesce(tg.perms, '{}')) k
                        where k is not null order by k) as new_perms,
                  greatest(coalesce(lv.max_licenses, 0), coalesce(tg.floor, 0))::bigint + coalesce(tg.boost, 0)::bigint as new_quota
           from tagged x
           left join lateral (
             select t.tier_id, t.permissions, t.max_licenses from level_tiers t
             where t.tenant_id = $1 and t.active and t.min_points <= x.existing_total + x.points
               and (t.max_points is null or x.existing_total + x.points <= t.max_points)
             order by t.sort_order limit 1
           ) lv on true
           left join lateral (
             select array_agg(p) filter (where p is not null) as perms, max(g.max_licenses) as floor,
                    sum(g.max_licenses_boost) as boost
             from tags g left join lateral unnest(g.permissions) p on true
             where g.tenant_id = $1 and g.tag_id = any(x.tags)
           ) tg on true"#,
    )
    .bind(access.tenant_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // The temporary tables are not known at build time: these statements are checked
    // by the tests (domain/tests/migration.rs), not by the query macros.
    type Head = (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        Option<Vec<i64>>,
        i64,
        i64,
        i64,
        i64,
    );
    let head: Head = sqlx::query_as(
        r#"select (select count(*) from dry_members), (select count(*) from dry_members where already),
                  count(*), coalesce(sum(points), 0)::bigint,
                  coalesce(sum(parts[1]), 0)::bigint, coalesce(sum(parts[2]), 0)::bigint,
                  coalesce(sum(parts[3]), 0)::bigint, coalesce(sum(parts[4]), 0)::bigint,
                  percentile_disc(array[0, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) within group (order by points),
                  count(*) filter (where new_quota < legacy_quota),
                  count(*) filter (where new_quota = legacy_quota),
                  count(*) filter (where new_quota > legacy_quota),
                  count(*) filter (where array(select distinct k from unnest(legacy_perms) k order by k) = new_perms)
           from dry_new"#,
    )
    .fetch_one(&mut *tx)
    .await?;
    let (members, already, migratable, points_total) = (head.0, head.1, head.2, head.3);
    let buckets: Vec<(i64, i64)> = sqlx::query_as(
        r#"select b.lower, count(n.external_id)
           from unnest($1::bigint[]) with ordinality b (lower, i)
           left join dry_new n on n.points >= b.lower
             and n.points < coalesce((select x from unnest($1::bigint[]) with ordinality y (x, j) where j = b.i + 1),
                                     9223372036854775807)
           group by b.lower, b.i order by b.i"#,
    )
    .bind(&BUCKETS[..])
    .fetch_all(&mut *tx)
    .await?;
    let levels: Vec<(String, String, String, i64)> = sqlx::query_as(
        r#"select coalesce(t.code, ''), coalesce(t.name_en, ''), coalesce(t.name_zh, ''), count(*)
           from dry_new n left join level_tiers t on t.tenant_id = $1 and t.tier_id = n.tier_id
           group by t.code, t.name_en, t.name_zh, t.sort_order order by t.sort_order nulls first"#,
    )
    .bind(access.tenant_id)
    .fetch_all(&mut *tx)
    .await?;
    let tags: Vec<(String, String, String, i64)> = sqlx::query_as(
        r#"select coalesce(g.code, ''), coalesce(g.name_en, ''), coalesce(g.name_zh, ''), count(*)
           from dry_new n left join tags g on g.tenant_id = $1 and g.tag_id = n.tag_id
           group by g.code, g.name_en, g.name_zh order by g.code nulls first"#,
    )
    .bind(access.tenant_id)
    .fetch_all(&mut *tx)
    .await?;
    let quota_lower_examples: Vec<(String, i64, i64)> = sqlx::query_as(
        "select external_id, legacy_quota, new_quota from dry_new
         where new_quota < legacy_quota order by external_id limit $1",
    )
    .bind(EXAMPLES)
    .fetch_all(&mut *tx)
    .await?;
    // Per permission key of the tenant (legacy types, tiers, tags): members the legacy
    // model grants it and the new one would not, and the reverse. Grouped by the pair
    // of permission sets first (a few combinations, not a row per member).
    let keys: Vec<(String, i64, i64)> = sqlx::query_as(
        r#"with universe as (
             select distinct k from (
               select unnest(permissions) as k from legacy_user_types where tenant_id = $1
               union all select unnest(permissions) from level_tiers where tenant_id = $1 and active
               union all select unnest(permissions) from tags where tenant_id = $1
             ) u where k is not null
           ), combos as (
             select legacy_perms, new_perms, count(*) as members from dry_new group by legacy_perms, new_perms
           )
           select u.k,
                  coalesce(sum(c.members) filter (where u.k = any(c.legacy_perms) and not u.k = any(c.new_perms)), 0)::bigint,
                  coalesce(sum(c.members) filter (where u.k = any(c.new_perms) and not u.k = any(c.legacy_perms)), 0)::bigint
           from universe u cross join combos c
           group by u.k order by u.k"#,
    )
    .bind(access.tenant_id)
    .fetch_all(&mut *tx)
    .await?;
    let universe = sqlx::query_scalar!(
        r#"select count(distinct k) as "count!" from (
             select unnest(permissions) as k from legacy_user_types where tenant_id = $1
             union all select unnest(permissions) from level_tiers where tenant_id = $1 and active
             union all select unnest(permissions) from tags where tenant_id = $1
           ) u"#,
        access.tenant_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let findings: Vec<(String, i64, Vec<String>)> = sqlx::query_as(
        r#"select kind, count(*), (array_agg(external_id order by external_id))[1:$1]
           from (
             select 'unknown_type' as kind, external_id from dry_members where not type_known and not already
             union all select 'future_registration', external_id from dry_members
               where future_registration and type_known and not already
             union all select 'refund', external_id from dry_members where refund and type_known and not already
             union all select 'capped', external_id from dry_members
               where type_known and not already and 1000000000 = any(parts)
           ) f group by kind order by kind"#,
    )
    .bind(EXAMPLES as i32)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let pairs = migratable * universe;
    let differing: i64 = keys.iter().map(|k| k.1 + k.2).sum();
    let count = |code: String, name_en: String, name_zh: String, members: i64| Count {
        code,
        name_en,
        name_zh,
        members,
    };
    let (unmigratable, warnings): (Vec<_>, Vec<_>) = findings
        .into_iter()
        .map(|(kind, members, examples)| Finding {
            kind,
            members,
            examples,
        })
        .partition(|f| f.kind == "unknown_type");
    let report = DryRun {
        at: Utc::now(),
        as_of: now,
        settings_version: current.version,
        members,
        already_migrated: already,
        migratable,
        points_total,
        points_quantiles: head.8.unwrap_or_default(),
        points_buckets: buckets
            .into_iter()
            .map(|(lower, members)| count(lower.to_string(), String::new(), String::new(), members))
            .collect(),
        points_by_part: [
            ("registration", head.4),
            ("license_activity", head.5),
            ("activity", head.6),
            ("payment", head.7),
        ]
        .into_iter()
        .map(|(code, points)| count(code.into(), String::new(), String::new(), points))
        .collect(),
        levels: levels
            .into_iter()
            .map(|(code, en, zh, members)| count(code, en, zh, members))
            .collect(),
        tags: tags
            .into_iter()
            .map(|(code, en, zh, members)| count(code, en, zh, members))
            .collect(),
        quota_lower: head.9,
        quota_equal: head.10,
        quota_higher: head.11,
        quota_lower_examples: quota_lower_examples
            .into_iter()
            .map(|(external_id, legacy, new)| Example {
                external_id,
                kind: "quota_lower".into(),
                before: Some(legacy),
                after: Some(new),
            })
            .collect(),
        unmigratable,
        warnings,
        keys: keys
            .into_iter()
            .filter(|(_, missing, extra)| missing + extra > 0)
            .map(|(key, missing, extra)| KeyDiff {
                key,
                missing,
                extra,
            })
            .collect(),
        agreement_pairs: pairs,
        agreement_equal: pairs - differing,
        members_identical: head.12,
        elapsed_ms: started.elapsed().as_millis() as i64,
    };
    store(db, access, "dry_run", &report).await?;
    Ok(report)
}
