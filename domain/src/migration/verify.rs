//! After a run: catch-up (legacy rows changed since their member was migrated),
//! validate-and-fix (the target's own invariants for migrated members) and reconcile
//! (the mapping recomputed on the legacy source against what the target holds).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::analysis::{EXAMPLES, store};
use super::settings;
use crate::points::ledger::{EntryKind, Origin, Posting, apply};
use crate::tags::permissions::settle;
use crate::{Access, Error, Result, Role};
pub use model::migration::run::{CatchUp, Finding, Reconciliation, Validation};
use model::migration::{Formula, LegacyInputs, Mapping, Part, historical_points};

/// Members caught up per transaction.
const CATCH_UP_BATCH: i64 = 500;

/// The formula and mapping of every version the tenant's live records name.
async fn versions(
    conn: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<HashMap<i32, (Formula, Mapping)>> {
    let used = sqlx::query_scalar!(
        "select distinct settings_version from migration_members where tenant_id = $1 and rolled_back_at is null",
        tenant_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut map = HashMap::new();
    for version in used {
        map.insert(
            version,
            settings::at_version(conn, tenant_id, version).await?,
        );
    }
    Ok(map)
}

/// Versions as SQL arrays: (version, formula) and (version, user type, tag code).
#[expect(
    clippy::type_complexity,
    reason = "two parallel SQL array sets, named by the doc comment"
)]
fn version_arrays(
    map: &HashMap<i32, (Formula, Mapping)>,
) -> Result<(
    Vec<i32>,
    Vec<serde_json::Value>,
    Vec<i32>,
    Vec<i32>,
    Vec<String>,
)> {
    let (mut fv, mut ff, mut mv, mut mt, mut mc) = (vec![], vec![], vec![], vec![], vec![]);
    for (version, (formula, mapping)) in map {
        fv.push(*version);
        ff.push(settings::formula_json(formula)?);
        for (user_type, code) in &mapping.tags {
            mv.push(*version);
            mt.push(*user_type);
            mc.push(code.clone());
        }
    }
    Ok((fv, ff, mv, mt, mc))
}

/// Catches up migrated members whose legacy row changed since their migration (tenant
/// admins; audited): each formula part's difference (computed with the member's
/// settings version and the run's `as_of`) becomes a new entry (`migration` for more,
/// `adjust` for less, down to zero available points), a changed user type moves the
/// migration grant to the newly mapped tag, and the record takes the new digest.
pub async fn catch_up(db: &PgPool, access: &Access) -> Result<CatchUp> {
    catch_up_members(db, access, None).await
}

/// [`catch_up`] of the migrated members among `only` (external ids; `None`: all):
/// what the REST API's legacy upserts run right after writing, so a member the legacy
/// system changes after their migration is caught up at once.
pub async fn catch_up_members(
    db: &PgPool,
    access: &Access,
    only: Option<&[String]>,
) -> Result<CatchUp> {
    access.require(Role::TenantAdmin)?;
    let only: Option<Vec<String>> = only.map(<[String]>::to_vec);
    let mut total = CatchUp::default();
    loop {
        let mut tx = db.begin().await?;
        let map = versions(&mut tx, access.tenant_id).await?;
        let stale = sqlx::query!(
            r#"select mm.run_id, mm.external_id, mm.member_id, mm.settings_version, mm.as_of, mm.parts,
                      mm.tag_id, mm.grant_id, l.user_type, l.registered_at, l.last_login_at,
                      l.license_count, l.payment_total_cents,
                      legacy_member_digest(l.user_type, l.registered_at, l.last_login_at, l.license_count,
                                           l.payment_total_cents) as "digest!"
               from migration_members mm
               join legacy_members l on l.tenant_id = mm.tenant_id and l.external_id = mm.external_id
               join member_profiles p on p.tenant_id = mm.tenant_id and p.member_id = mm.member_id
               where mm.tenant_id = $1 and mm.rolled_back_at is null
                 and ($3::text[] is null or mm.external_id = any($3))
                 and mm.source_digest <> legacy_member_digest(l.user_type, l.registered_at, l.last_login_at,
                                                              l.license_count, l.payment_total_cents)
               order by mm.member_id limit $2
               for no key update of p, mm"#,
            access.tenant_id,
            CATCH_UP_BATCH,
            only.as_deref()
        )
        .fetch_all(&mut *tx)
        .await?;
        if stale.is_empty() {
            tx.rollback().await?;
            break;
        }
        let mut changed = Vec::new();
        for row in &stale {
            let Some((formula, mapping)) = map.get(&row.settings_version) else {
                continue;
            };
            let inputs = LegacyInputs {
                registered_at: row.registered_at,
                last_login_at: row.last_login_at,
                license_count: i64::from(row.license_count),
                payment_total_cents: row.payment_total_cents,
            };
            let wanted = historical_points(formula, &inputs, row.as_of);
            let mut applied = row.parts.clone();
            for (index, (part, points)) in wanted.iter().enumerate() {
                let delta = points - row.parts.get(index).copied().unwrap_or(0);
                let posted =
                    post_difference(&mut tx, access, row.member_id, row.run_id, *part, delta)
                        .await?;
                applied[index] += posted;
                total.points += posted;
                total.shortfall += posted - delta;
            }
            let tag = mapping.tag_for(row.user_type);
            let tag_id = match tag {
                Some(code) => {
                    sqlx::query_scalar!(
                        "select tag_id from tags where tenant_id = $1 and code = $2",
                        access.tenant_id,
                        code
                    )
                    .fetch_optional(&mut *tx)
                    .await?
                }
                None => None,
            };
            if tag_id != row.tag_id {
                total.tags_changed += 1;
                if let Some(grant_id) = row.grant_id {
                    end_grant(
                        &mut tx,
                        access.tenant_id,
                        grant_id,
                        "migration",
                        "Legacy user type changed",
                    )
                    .await?;
                }
            }
            sqlx::query!(
                "update migration_members
                 set parts = $4, source_digest = $5, user_type = $6, caught_up_at = now(),
                     tag_id = case when $7 then null else tag_id end,
                     grant_id = case when $7 then null else grant_id end
                 where tenant_id = $1 and run_id = $2 and external_id = $3",
                access.tenant_id,
                row.run_id,
                row.external_id,
                &applied,
                row.digest,
                row.user_type,
                tag_id != row.tag_id
            )
            .execute(&mut *tx)
            .await?;
            if tag_id != row.tag_id {
                let (types, codes) = settings::mapping_arrays(mapping);
                super::run::grant_mapped(
                    &mut tx,
                    access.tenant_id,
                    row.run_id,
                    std::slice::from_ref(&row.external_id),
                    &types,
                    &codes,
                    Utc::now(),
                )
                .await?;
            }
            changed.push(row.member_id);
            total.members += 1;
        }
        crate::access::audit::record(
            &mut tx,
            access,
            crate::access::audit::Event {
                action: "migration.catch_up",
                target_type: "tenant",
                target_id: access.tenant_id.to_string(),
                before: None,
                after: Some(json!({ "members": changed.len() })),
            },
        )
        .await?;
        tx.commit().await?;
        settle(db, access.tenant_id).await?;
        if (stale.len() as i64) < CATCH_UP_BATCH {
            break;
        }
    }
    Ok(total)
}

/// Posts a part's difference; returns the points actually moved (a decrease stops at
/// zero available points).
async fn post_difference(
    tx: &mut PgConnection,
    access: &Access,
    member_id: Uuid,
    run_id: Uuid,
    part: Part,
    delta: i64,
) -> Result<i64> {
    let delta = if delta < 0 {
        let available = sqlx::query_scalar!(
            "select available_points from member_profiles where tenant_id = $1 and member_id = $2",
            access.tenant_id,
            member_id
        )
        .fetch_one(&mut *tx)
        .await?;
        delta.max(-available)
    } else {
        delta
    };
    if delta == 0 {
        return Ok(0);
    }
    let posting = Posting {
        kind: if delta > 0 {
            EntryKind::Migration
        } else {
            EntryKind::Adjust
        },
        member_id,
        available_delta: delta,
        total_delta: delta,
        category: part.category().to_owned(),
        subcategory: Some("catch_up".into()),
        reason: Some("Legacy data changed after migration".into()),
        source_type: Some("migration".into()),
        source_ref: Some(run_id.to_string()),
        origin: Origin::System,
        manual: false,
        idempotency_key: None,
        reverses_seq: None,
        external_id: None,
    };
    let hash = posting.request_hash();
    apply(tx, access.tenant_id, &posting, &hash)
        .await?
        .ok_or_else(|| Error::Internal("catch-up entry refused".into()))?;
    Ok(delta)
}

/// Ends a grant still in force (revoked, with the cause).
pub(crate) async fn end_grant(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    grant_id: Uuid,
    cause: &str,
    reason: &str,
) -> Result<()> {
    sqlx::query!(
        r#"with target as (
             select grant_id, status from tag_grants
             where tenant_id = $1 and grant_id = $2 and status in ('active', 'grace')
           ), ended as (
             update tag_grants g
             set status = 'revoked', revoked_at = now(), revoke_reason = $4, ended_at = now(),
                 row_version = g.row_version + 1, updated_at = now()
             from target t where g.tenant_id = $1 and g.grant_id = t.grant_id
             returning g.grant_id, g.member_id, g.expires_at, t.status as before
           )
           insert into grant_events (tenant_id, grant_id, member_id, kind, from_status, to_status, expires_at, cause, note)
           select $1, grant_id, member_id, 'revoked', before, 'revoked', expires_at, $3, $4 from ended"#,
        tenant_id,
        grant_id,
        cause,
        reason
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Validates every migrated member (tenant admins): the stored level against the
/// points, the balances against the ledger, the mapped tag held, no migration grant of
/// another tag, the new quota at least the legacy one. With `fix`, repairs all but the
/// quota (reported only), each fix recorded with before and after. Kept as a report.
pub async fn validate(
    db: &PgPool,
    access: &Access,
    fix: bool,
    now: DateTime<Utc>,
) -> Result<Validation> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    sqlx::query("set transaction isolation level repeatable read")
        .execute(&mut *tx)
        .await?;
    let relevel_running = sqlx::query_scalar!(
        r#"select exists (select 1 from level_relevels where tenant_id = $1 and status = 'running') as "running!""#,
        access.tenant_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let rows = sqlx::query!(
        r#"with recs as (
             select mm.external_id, mm.member_id, mm.tag_id, mm.grant_id, mm.user_type
             from migration_members mm where mm.tenant_id = $1 and mm.rolled_back_at is null
           )
           select kind as "kind!", count(*) as "members!",
                  (array_agg(external_id order by external_id))[1:$3] as "examples!: Vec<String>"
           from (
             select 'level' as kind, r.external_id from recs r
             join member_profiles p on p.tenant_id = $1 and p.member_id = r.member_id
             where not $4 and p.level_tier_id is distinct from (
               select t.tier_id from level_tiers t
               where t.tenant_id = $1 and t.active and t.min_points <= p.total_points
                 and (t.max_points is null or p.total_points <= t.max_points)
               order by t.sort_order limit 1)
             union all
             select 'balance', r.external_id from recs r
             join member_profiles p on p.tenant_id = $1 and p.member_id = r.member_id
             where not exists (
               select 1 from points_ledger e
               where e.tenant_id = $1 and e.member_id = p.member_id and e.seq = p.ledger_seq
                 and e.available_after = p.available_points and e.total_after = p.total_points)
               and not (p.ledger_seq = 0 and p.available_points = 0 and p.total_points = 0)
             union all
             select 'tag_missing', r.external_id from recs r
             where r.tag_id is not null and not exists (
               select 1 from tag_grants g where g.tenant_id = $1 and g.member_id = r.member_id
                 and g.tag_id = r.tag_id and g.status in ('active', 'grace'))
             union all
             select 'tag_extra', r.external_id from recs r
             where exists (
               select 1 from tag_grants g where g.tenant_id = $1 and g.member_id = r.member_id
                 and g.method = 'migration' and g.status in ('active', 'grace')
                 and g.tag_id is distinct from r.tag_id)
             union all
             select 'quota_lower', r.external_id from recs r
             join legacy_user_types t on t.tenant_id = $1 and t.type_id = r.user_type
             where license_quota($1, r.member_id, $2) < t.max_licenses
           ) f group by kind order by kind"#,
        access.tenant_id,
        now,
        EXAMPLES as i32,
        relevel_running
    )
    .fetch_all(&mut *tx)
    .await?;
    let members = sqlx::query_scalar!(
        r#"select count(*) as "n!" from migration_members where tenant_id = $1 and rolled_back_at is null"#,
        access.tenant_id
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let findings: Vec<Finding> = rows
        .into_iter()
        .map(|r| Finding {
            kind: r.kind,
            members: r.members,
            examples: r.examples,
        })
        .collect();
    let fixed = if fix && findings.iter().any(|f| f.kind != "quota_lower") {
        apply_fixes(db, access, relevel_running).await?
    } else {
        0
    };
    let report = Validation {
        at: Utc::now(),
        members,
        findings,
        fixed,
    };
    store(db, access, "validate", &report).await?;
    Ok(report)
}

/// Applies the fixes of every fixable finding in one transaction, recording each.
async fn apply_fixes(db: &PgPool, access: &Access, relevel_running: bool) -> Result<i64> {
    let mut tx = db.begin().await?;
    sqlx::query!("set local tierdesk.cache_defer = 'on'")
        .execute(&mut *tx)
        .await?;
    // Profiles of every migrated member with a level or balance finding, in member order.
    let locked = sqlx::query_scalar!(
        "select p.member_id from member_profiles p
         join migration_members mm on mm.tenant_id = p.tenant_id and mm.member_id = p.member_id
                                   and mm.rolled_back_at is null
         where p.tenant_id = $1
           and ((not $2 and p.level_tier_id is distinct from (
                  select t.tier_id from level_tiers t
                  where t.tenant_id = $1 and t.active and t.min_points <= p.total_points
                    and (t.max_points is null or p.total_points <= t.max_points)
                  order by t.sort_order limit 1))
                or not exists (select 1 from points_ledger e
                               where e.tenant_id = $1 and e.member_id = p.member_id and e.seq = p.ledger_seq
                                 and e.available_after = p.available_points and e.total_after = p.total_points)
                   and not (p.ledger_seq = 0 and p.available_points = 0 and p.total_points = 0))
         order by p.member_id for no key update of p",
        access.tenant_id,
        relevel_running
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut fixed = 0;
    // Balances from the ledger's last entry (the ledger is the truth).
    fixed += sqlx::query!(
        r#"with wrong as (
             select p.member_id, p.external_id, p.available_points, p.total_points, p.ledger_seq,
                    coalesce(e.seq, 0) as seq, coalesce(e.available_after, 0) as available, coalesce(e.total_after, 0) as total
             from member_profiles p
             left join lateral (select x.seq, x.available_after, x.total_after from points_ledger x
                                where x.tenant_id = $1 and x.member_id = p.member_id order by x.seq desc limit 1) e on true
             where p.tenant_id = $1 and p.member_id = any($2)
               and (coalesce(e.seq, 0), coalesce(e.available_after, 0), coalesce(e.total_after, 0))
                   is distinct from (p.ledger_seq, p.available_points, p.total_points)
           ), fixed as (
             update member_profiles p set available_points = w.available, total_points = w.total, ledger_seq = w.seq,
                    row_version = p.row_version + 1, updated_at = now()
             from wrong w where p.tenant_id = $1 and p.member_id = w.member_id
           )
           insert into migration_fixes (tenant_id, external_id, kind, before, after, fixed_by)
           select $1, external_id, 'balance',
                  jsonb_build_object('available', available_points, 'total', total_points, 'seq', ledger_seq),
                  jsonb_build_object('available', available, 'total', total, 'seq', seq), $3
           from wrong"#,
        access.tenant_id,
        &locked,
        access.principal.admin_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    if !relevel_running {
        fixed += sqlx::query!(
            r#"with wrong as (
                 select p.member_id, p.external_id, p.level_tier_id as old_tier, p.total_points, p.ledger_seq,
                        (select t.tier_id from level_tiers t
                         where t.tenant_id = $1 and t.active and t.min_points <= p.total_points
                           and (t.max_points is null or p.total_points <= t.max_points)
                         order by t.sort_order limit 1) as new_tier
                 from member_profiles p where p.tenant_id = $1 and p.member_id = any($2)
               ), moved as (
                 update member_profiles p set level_tier_id = w.new_tier, level_updated_at = now(),
                        row_version = p.row_version + 1, updated_at = now()
                 from wrong w where p.tenant_id = $1 and p.member_id = w.member_id
                   and w.new_tier is distinct from w.old_tier
                 returning w.*
               ), history as (
                 insert into level_changes (tenant_id, member_id, from_tier_id, to_tier_id, cause, ledger_seq, total_points)
                 select $1, member_id, old_tier, new_tier, 'tiers', null, total_points from moved
               )
               insert into migration_fixes (tenant_id, external_id, kind, before, after, fixed_by)
               select $1, external_id, 'level', jsonb_build_object('tier_id', old_tier),
                      jsonb_build_object('tier_id', new_tier), $3
               from moved"#,
            access.tenant_id,
            &locked,
            access.principal.admin_id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
    }
    // Migration grants of a tag the record does not map to: ended.
    let extra = sqlx::query!(
        "select g.grant_id, mm.external_id, g.tag_id from migration_members mm
         join tag_grants g on g.tenant_id = mm.tenant_id and g.member_id = mm.member_id
         where mm.tenant_id = $1 and mm.rolled_back_at is null and g.method = 'migration'
           and g.status in ('active', 'grace') and g.tag_id is distinct from mm.tag_id",
        access.tenant_id
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in &extra {
        end_grant(
            &mut tx,
            access.tenant_id,
            row.grant_id,
            "migration",
            "Not the mapped tag (validation)",
        )
        .await?;
        sqlx::query!(
            "insert into migration_fixes (tenant_id, external_id, kind, before, after, fixed_by)
             values ($1, $2, 'tag_extra', jsonb_build_object('tag_id', $3::uuid), '{}'::jsonb, $4)",
            access.tenant_id,
            row.external_id,
            row.tag_id,
            access.principal.admin_id
        )
        .execute(&mut *tx)
        .await?;
        fixed += 1;
    }
    // Mapped tags not held: granted again.
    let missing = sqlx::query!(
        "update migration_members mm set grant_id = null
         where mm.tenant_id = $1 and mm.rolled_back_at is null and mm.tag_id is not null
           and not exists (select 1 from tag_grants g where g.tenant_id = $1 and g.member_id = mm.member_id
                             and g.tag_id = mm.tag_id and g.status in ('active', 'grace'))
         returning mm.run_id, mm.external_id, mm.tag_id, mm.settings_version",
        access.tenant_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut runs: Vec<(Uuid, i32)> = missing
        .iter()
        .map(|m| (m.run_id, m.settings_version))
        .collect();
    runs.sort();
    runs.dedup();
    for (run_id, version) in runs {
        let (_, mapping) = settings::at_version(&mut tx, access.tenant_id, version).await?;
        let (types, codes) = settings::mapping_arrays(&mapping);
        let ids: Vec<String> = missing
            .iter()
            .filter(|m| m.run_id == run_id)
            .map(|m| m.external_id.clone())
            .collect();
        super::run::grant_mapped(
            &mut tx,
            access.tenant_id,
            run_id,
            &ids,
            &types,
            &codes,
            Utc::now(),
        )
        .await?;
    }
    for row in &missing {
        sqlx::query!(
            "insert into migration_fixes (tenant_id, external_id, kind, before, after, fixed_by)
             values ($1, $2, 'tag_missing', '{}'::jsonb, jsonb_build_object('tag_id', $3::uuid), $4)",
            access.tenant_id,
            row.external_id,
            row.tag_id,
            access.principal.admin_id
        )
        .execute(&mut *tx)
        .await?;
        fixed += 1;
    }
    sqlx::query!("select cache_invalidate($1, null)", access.tenant_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    settle(db, access.tenant_id).await?;
    Ok(fixed)
}

/// Reconciles (tenant admins): for every migrated member, the points per part and the
/// tag recomputed from the legacy row (with the member's settings version and the run's
/// `as_of`) against the target's migration entries and grants, set-based; with an
/// order-independent checksum of each side. Kept as a report.
pub async fn reconcile(db: &PgPool, access: &Access) -> Result<Reconciliation> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    sqlx::query("set transaction isolation level repeatable read")
        .execute(&mut *tx)
        .await?;
    let map = versions(&mut tx, access.tenant_id).await?;
    let (fv, ff, mv, mt, mc) = version_arrays(&map)?;
    sqlx::query(
        r#"create temporary table recon on commit drop as
           with recs as (
             select mm.* from migration_members mm where mm.tenant_id = $1 and mm.rolled_back_at is null
           ), formulas as (
             select * from unnest($2::int[], $3::jsonb[]) f (version, formula)
           ), mapped as (
             select m.version, m.type_id, g.tag_id
             from unnest($4::int[], $5::int[], $6::text[]) m (version, type_id, code)
             join tags g on g.tenant_id = $1 and g.code = m.code
           )
           select r.external_id, (l.external_id is not null) as in_source,
                  r.source_digest is distinct from legacy_member_digest(l.user_type, l.registered_at, l.last_login_at,
                                                                        l.license_count, l.payment_total_cents) as stale,
                  migration_parts(f.formula, l.registered_at, l.last_login_at, l.license_count, l.payment_total_cents,
                                  r.as_of) as expected_parts,
                  mp.tag_id as expected_tag,
                  coalesce(a.parts, array[0, 0, 0, 0]::bigint[]) as actual_parts,
                  case when mp.tag_id is not null and exists (
                         select 1 from tag_grants g where g.tenant_id = $1 and g.member_id = r.member_id
                           and g.tag_id = mp.tag_id and g.status in ('active', 'grace')) then mp.tag_id
                       else (select g.tag_id from tag_grants g where g.tenant_id = $1 and g.grant_id = r.grant_id
                               and g.status in ('active', 'grace')) end as actual_tag
           from recs r
           left join legacy_members l on l.tenant_id = $1 and l.external_id = r.external_id
           left join formulas f on f.version = r.settings_version
           left join mapped mp on mp.version = r.settings_version and mp.type_id = l.user_type
           -- Per member through the ledger's primary key: linear in the members,
           -- whatever the planner believes about fresh tables.
           left join lateral (
             select array[coalesce(sum(e.points) filter (where e.category = 'registration'), 0),
                          coalesce(sum(e.points) filter (where e.category = 'license_activity'), 0),
                          coalesce(sum(e.points) filter (where e.category = 'activity'), 0),
                          coalesce(sum(e.points) filter (where e.category = 'payment'), 0)]::bigint[] as parts
             from points_ledger e
             where e.tenant_id = $1 and e.member_id = r.member_id and e.source_type = 'migration'
               and e.source_ref = r.run_id::text
           ) a on true"#,
    )
    .bind(access.tenant_id)
    .bind(&fv)
    .bind(&ff)
    .bind(&mv)
    .bind(&mt)
    .bind(&mc)
    .execute(&mut *tx)
    .await?;
    // Checked by the tests, not the query macros (a temporary table).
    let head: (i64, i64, String, String) = sqlx::query_as(
        r#"select count(*),
                  count(*) filter (where in_source and expected_parts = actual_parts
                                   and expected_tag is not distinct from actual_tag),
                  coalesce(sum(('x' || substr(md5(concat_ws('|', external_id, array_to_string(expected_parts, ','),
                                                           expected_tag)), 1, 15))::bit(60)::bigint)
                           filter (where in_source), 0)::text,
                  coalesce(sum(('x' || substr(md5(concat_ws('|', external_id, array_to_string(actual_parts, ','),
                                                           actual_tag)), 1, 15))::bit(60)::bigint), 0)::text
           from recon"#,
    )
    .fetch_one(&mut *tx)
    .await?;
    let findings: Vec<(String, i64, Vec<String>)> = sqlx::query_as(
        r#"select kind, count(*), (array_agg(external_id order by external_id))[1:$1]
           from (
             select 'legacy_missing' as kind, external_id from recon where not in_source
             union all select 'points', external_id from recon where in_source and expected_parts <> actual_parts
             union all select 'tag', external_id from recon
               where in_source and expected_tag is distinct from actual_tag
             union all select 'stale', external_id from recon where in_source and stale
           ) f group by kind order by kind"#,
    )
    .bind(EXAMPLES as i32)
    .fetch_all(&mut *tx)
    .await?;
    let not_migrated = sqlx::query_scalar!(
        r#"select count(*) as "n!" from legacy_members l
           where l.tenant_id = $1 and not exists (
             select 1 from migration_members mm where mm.tenant_id = $1 and mm.external_id = l.external_id
               and mm.rolled_back_at is null)"#,
        access.tenant_id
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let report = Reconciliation {
        at: Utc::now(),
        compared: head.0,
        matching: head.1,
        findings: findings
            .into_iter()
            .map(|(kind, members, examples)| Finding {
                kind,
                members,
                examples,
            })
            .collect(),
        not_migrated,
        expected_checksum: head.2,
        actual_checksum: head.3,
    };
    store(db, access, "reconcile", &report).await?;
    Ok(report)
}
