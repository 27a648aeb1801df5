//! The license invariants, checked against each other in one repeatable-read snapshot
//! (`tierdesk check licenses`; the tests run it after their races):
//!
//! - a member's `member_license_use.held` = the licenses they hold;
//! - a license's `activations` = its live activation rows, never above
//!   `max_activations` unless the limit was lowered after (then validation says
//!   `too_many_activations`) — only a counter that disagrees with its rows is a
//!   violation;
//! - a license has a holder exactly when it has a live assignment to that member;
//! - a revoked license has no holder and no live device.

use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;

/// At most this many violations are listed per rule.
pub const VIOLATIONS_PER_RULE_MAX: i64 = 100;

/// One row that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub tenant_slug: String,
    pub rule: &'static str,
    /// The member's external id or the license key, and both sides' figures.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.tenant_slug, self.rule, self.detail)
    }
}

/// Every violation of the tenant's (or every tenant's) license invariants.
pub async fn check(db: &PgPool, tenant_id: Option<Uuid>) -> Result<Vec<Violation>> {
    let mut tx = db.begin().await?;
    sqlx::query!("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query!(
        r#"(select t.slug as "slug!", 'seats held' as "rule!",
                   p.external_id || ': counter ' || coalesce(u.held, 0) || ', licenses ' || coalesce(l.n, 0) as "detail!"
            from (select tenant_id, member_id, held from member_license_use) u
            full join (select tenant_id, member_id, count(*) as n from licenses
                       where member_id is not null group by tenant_id, member_id) l
              using (tenant_id, member_id)
            join member_profiles p using (tenant_id, member_id)
            join tenants t on t.tenant_id = p.tenant_id
            where ($1::uuid is null or p.tenant_id = $1) and coalesce(u.held, 0) <> coalesce(l.n, 0)
            limit $2)
           union all
           (select t.slug, 'live activations',
                   l.license_key || ': counter ' || l.activations || ', devices ' || count(a.activation_id)
            from licenses l
            join tenants t on t.tenant_id = l.tenant_id
            left join license_activations a on a.tenant_id = l.tenant_id and a.license_id = l.license_id
                                           and a.deactivated_at is null
            where ($1::uuid is null or l.tenant_id = $1)
            group by t.slug, l.tenant_id, l.license_id
            having l.activations <> count(a.activation_id)
            limit $2)
           union all
           (select t.slug, 'holder and live assignment',
                   l.license_key || ': holder ' || coalesce(l.member_id::text, '-') || ', live assignment '
                   || coalesce(s.member_id::text, '-')
            from licenses l
            join tenants t on t.tenant_id = l.tenant_id
            full join (select tenant_id, license_id, member_id from license_assignments where ended_at is null) s
              on s.tenant_id = l.tenant_id and s.license_id = l.license_id
            where ($1::uuid is null or l.tenant_id = $1)
              and l.member_id is distinct from s.member_id
            limit $2)
           union all
           (select t.slug, 'revoked license in use',
                   l.license_key || ': holder ' || coalesce(l.member_id::text, '-') || ', devices ' || l.activations
            from licenses l join tenants t on t.tenant_id = l.tenant_id
            where ($1::uuid is null or l.tenant_id = $1) and l.revoked_at is not null
              and (l.member_id is not null or l.activations > 0)
            limit $2)"#,
        tenant_id,
        VIOLATIONS_PER_RULE_MAX
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| Violation {
            tenant_slug: r.slug,
            rule: match r.rule.as_str() {
                "seats held" => "seats held",
                "live activations" => "live activations",
                "holder and live assignment" => "holder and live assignment",
                _ => "revoked license in use",
            },
            detail: r.detail,
        })
        .collect())
}
