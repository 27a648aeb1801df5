//! The legacy "user type" model a tenant migrates from. Its tables are written only by
//! imports (and [`generate`]); the migration reads them and never changes them.
//! [`answer`] is what a member gets until they are migrated and routed to the new
//! model.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Access, Result, Role};
pub use model::migration::legacy::{Answer, Member, Summary, TypeCount, UserType};

/// A member's permissions and license quota the legacy way, from their user type;
/// `None` for an external id the legacy tables do not have.
pub async fn answer(db: &PgPool, tenant_id: Uuid, external_id: &str) -> Result<Option<Answer>> {
    let row = sqlx::query!(
        r#"select m.external_id, m.user_type, t.type_id as "type_id?", t.permissions as "permissions?",
                  t.max_licenses as "max_licenses?"
           from legacy_members m
           left join legacy_user_types t on t.tenant_id = m.tenant_id and t.type_id = m.user_type
           where m.tenant_id = $1 and m.external_id = $2"#,
        tenant_id,
        external_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Answer {
        external_id: r.external_id,
        user_type: r.user_type,
        type_known: r.type_id.is_some(),
        permissions: r.permissions.unwrap_or_default(),
        max_licenses: r.max_licenses.map_or(0, i64::from),
    }))
}

/// The tenant's legacy types, member count per type (types members name but the
/// tenant lacks included), and when legacy data last changed (every role).
pub async fn summary(db: &PgPool, access: &Access) -> Result<Summary> {
    access.require(Role::Viewer)?;
    let types = sqlx::query_as!(
        UserType,
        "select type_id, name, permissions, max_licenses from legacy_user_types
         where tenant_id = $1 order by type_id",
        access.tenant_id
    )
    .fetch_all(db)
    .await?;
    let per_type = sqlx::query_as!(
        TypeCount,
        r#"select m.user_type as "type_id!", t.name as "name?", count(*) as "members!"
           from legacy_members m
           left join legacy_user_types t on t.tenant_id = m.tenant_id and t.type_id = m.user_type
           where m.tenant_id = $1
           group by m.user_type, t.name order by m.user_type"#,
        access.tenant_id
    )
    .fetch_all(db)
    .await?;
    let last_change = sqlx::query_scalar!(
        "select greatest((select max(updated_at) from legacy_members where tenant_id = $1),
                         (select max(updated_at) from legacy_user_types where tenant_id = $1))",
        access.tenant_id
    )
    .fetch_one(db)
    .await?;
    Ok(Summary {
        members: per_type.iter().map(|t| t.members).sum(),
        types,
        per_type,
        last_change,
    })
}

/// The seed's legacy user types: (id, name, permission keys, license quota).
pub const DEMO_TYPES: [(i32, &str, &[&str], i32); 5] = [
    (
        1,
        "VIP",
        &["license_request", "api_access", "vip.support"],
        5,
    ),
    (
        2,
        "Enterprise",
        &["license_request", "api_access", "sso"],
        20,
    ),
    (3, "Education", &["license_request", "course.library"], 3),
    (4, "Standard", &["license_request"], 1),
    (5, "Trial", &[], 0),
];

/// Writes realistic synthetic legacy data for a tenant, set-based and deterministic:
/// the five [`DEMO_TYPES`] (replacing the tenant's types of those ids), and `members`
/// members (external ids `L000001`…, replacing those ids) with the seed's mix (about
/// 10 % VIP, 5 % enterprise, 10 % education, 55 % standard, 20 % trial), registrations
/// spread over six years (more recent ones more common), activity skewed (a third
/// logged in this week, a fifth never), license counts and payments following the type;
/// and a few dirty rows, as real legacy data has: a registration in the future, a
/// negative payment (a refund), a type the tenant does not have.
pub async fn generate(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    members: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    for (type_id, name, permissions, max_licenses) in DEMO_TYPES {
        let permissions: Vec<String> = permissions.iter().map(|p| (*p).to_owned()).collect();
        sqlx::query!(
            "insert into legacy_user_types (tenant_id, type_id, name, permissions, max_licenses, updated_at)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (tenant_id, type_id) do update
               set name = excluded.name, permissions = excluded.permissions,
                   max_licenses = excluded.max_licenses, updated_at = excluded.updated_at",
            tenant_id,
            type_id,
            name,
            &permissions,
            max_licenses,
            now
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!("select setseed(0.61)")
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        r#"insert into legacy_members as m (tenant_id, external_id, user_type, registered_at, last_login_at,
                                            license_count, payment_total_cents, updated_at)
           select $1, format('L%s', lpad(n::text, greatest(6, length($2::text)), '0')), kind,
                  case when n % 997 = 0 then $3::timestamptz + interval '20 days'
                       else $3::timestamptz - (power(random(), 1.7) * 2190)::int * interval '1 day'
                            - (random() * 86400)::int * interval '1 second' end,
                  case when activity < 0.33 then $3::timestamptz - (random() * 7 * 86400)::int * interval '1 second'
                       when activity < 0.55 then $3::timestamptz - (7 + random() * 23)::int * interval '1 day'
                       when activity < 0.80 then $3::timestamptz - (30 + random() * 700)::int * interval '1 day'
                       end,
                  case kind when 2 then (random() * 30)::int when 1 then (random() * 6)::int
                            when 3 then (random() * 4)::int when 4 then (random() * 2)::int else 0 end,
                  case when n % 1009 = 0 then -(random() * 5000)::bigint
                       else (case kind when 2 then random() * 2000000 when 1 then random() * 300000
                                       when 3 then random() * 20000 when 4 then random() * 5000
                                       else 0 end)::bigint end,
                  $3::timestamptz
           from (
             select n, random() as activity,
                    case when n % 1013 = 0 then 9
                         else (select case when r < 0.10 then 1 when r < 0.15 then 2 when r < 0.25 then 3
                                           when r < 0.80 then 4 else 5 end
                               from (select random() as r where n > 0) x) end as kind
             from generate_series(1, $2::bigint) n
           ) g
           on conflict (tenant_id, external_id) do update
             set user_type = excluded.user_type, registered_at = excluded.registered_at,
                 last_login_at = excluded.last_login_at, license_count = excluded.license_count,
                 payment_total_cents = excluded.payment_total_cents, updated_at = excluded.updated_at"#,
        tenant_id,
        members,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a legacy upsert did: the rows' report, and the catch-up of the members it
/// changed who were migrated before the change.
#[derive(Debug, Clone, Default)]
pub struct Upserted {
    pub report: model::migration::legacy::ImportReport,
    pub caught_up: model::migration::run::CatchUp,
}

/// Upserts legacy user types or members given as values (tenant admins: the REST API
/// while the tenant migrates; the legacy system keeps running). Rows are checked,
/// written and audited as an import's are; changed members who were already migrated
/// are caught up at once ([`super::verify::catch_up_members`]).
pub async fn upsert(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    rows: super::import::Rows,
) -> Result<Upserted> {
    access.require(Role::TenantAdmin)?;
    let members: Option<Vec<String>> = match &rows {
        super::import::Rows::Members(members) => Some(
            members
                .iter()
                .filter_map(|m| m.as_ref().ok().map(|m| m.external_id.clone()))
                .collect(),
        ),
        super::import::Rows::UserTypes(_) => None,
    };
    let report = super::import::Import::upsert(db, access, now, rows).await?;
    let caught_up = match members {
        Some(ids) if report.inserted + report.updated > 0 => {
            super::verify::catch_up_members(db, access, Some(&ids)).await?
        }
        _ => Default::default(),
    };
    Ok(Upserted { report, caught_up })
}
