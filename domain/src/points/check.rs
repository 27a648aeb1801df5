//! The ledger invariant check: recomputes everything the write path asserts and lists
//! what does not hold (the "pair assertion" of the ledger). Used by
//! `tierdesk check ledger` and by the tests after randomised workloads.

use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;

/// At most this many violations are listed per rule (a broken ledger is broken enough).
pub const VIOLATIONS_PER_RULE_MAX: i64 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub tenant_slug: String,
    pub member_external_id: String,
    pub rule: String,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}: {}: {}",
            self.tenant_slug, self.member_external_id, self.rule, self.detail
        )
    }
}

/// Checks one tenant (or all with `None`): each entry links to the one before it
/// (gap-free seq, balances carried over, after = before + delta, never negative);
/// each profile equals its ledger (sums, count); each profile's level matches its
/// points under the active tiers.
pub async fn check(db: &PgPool, tenant_id: Option<Uuid>) -> Result<Vec<Violation>> {
    let mut violations = chain(db, tenant_id).await?;
    violations.extend(balances(db, tenant_id).await?);
    violations.extend(levels(db, tenant_id).await?);
    Ok(violations)
}

async fn chain(db: &PgPool, tenant_id: Option<Uuid>) -> Result<Vec<Violation>> {
    let rows = sqlx::query_as!(
        Violation,
        r#"select t.slug as "tenant_slug!", p.external_id as "member_external_id!",
                  'entry chain' as "rule!",
                  format('entry %s: position %s, available %s→%s (previous %s, delta %s), total %s→%s (previous %s)',
                         l.seq, l.position, l.available_before, l.available_after, l.previous_available,
                         l.points, l.total_before, l.total_after, l.previous_total) as "detail!"
           from (
             select e.*,
                    row_number() over w as position,
                    coalesce(lag(e.available_after) over w, 0) as previous_available,
                    coalesce(lag(e.total_after) over w, 0) as previous_total
             from points_ledger e
             where $1::uuid is null or e.tenant_id = $1
             window w as (partition by e.tenant_id, e.member_id order by e.seq)
           ) l
           join tenants t on t.tenant_id = l.tenant_id
           join member_profiles p on p.tenant_id = l.tenant_id and p.member_id = l.member_id
           where l.seq <> l.position
              or l.available_before <> l.previous_available
              or l.total_before <> l.previous_total
              or l.available_after <> l.available_before + l.points
              or l.available_after < 0 or l.total_after < 0
           order by t.slug, p.external_id, l.seq
           limit $2"#,
        tenant_id,
        VIOLATIONS_PER_RULE_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(rows)
}

async fn balances(db: &PgPool, tenant_id: Option<Uuid>) -> Result<Vec<Violation>> {
    let rows = sqlx::query_as!(
        Violation,
        r#"select t.slug as "tenant_slug!", p.external_id as "member_external_id!",
                  'profile balances' as "rule!",
                  format('profile available %s, total %s, seq %s; ledger sums available %s, total %s, entries %s',
                         p.available_points, p.total_points, p.ledger_seq,
                         coalesce(s.available, 0), coalesce(s.total, 0), coalesce(s.entries, 0)) as "detail!"
           from member_profiles p
           join tenants t on t.tenant_id = p.tenant_id
           left join (
             select tenant_id, member_id, sum(points) as available,
                    sum(total_after - total_before) as total, count(*) as entries
             from points_ledger
             where $1::uuid is null or tenant_id = $1
             group by tenant_id, member_id
           ) s on s.tenant_id = p.tenant_id and s.member_id = p.member_id
           where ($1::uuid is null or p.tenant_id = $1)
             and (p.available_points <> coalesce(s.available, 0)
                  or p.total_points <> coalesce(s.total, 0)
                  or p.ledger_seq <> coalesce(s.entries, 0)
                  or p.available_points < 0)
           order by t.slug, p.external_id
           limit $2"#,
        tenant_id,
        VIOLATIONS_PER_RULE_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(rows)
}

async fn levels(db: &PgPool, tenant_id: Option<Uuid>) -> Result<Vec<Violation>> {
    let rows = sqlx::query_as!(
        Violation,
        r#"select t.slug as "tenant_slug!", p.external_id as "member_external_id!",
                  'level' as "rule!",
                  format('total %s points: level %s, expected %s', p.total_points,
                         coalesce(current_tier.code, 'none'), coalesce(expected_tier.code, 'none')) as "detail!"
           from member_profiles p
           join tenants t on t.tenant_id = p.tenant_id
           left join level_tiers current_tier
             on current_tier.tenant_id = p.tenant_id and current_tier.tier_id = p.level_tier_id
           left join lateral (
             select x.tier_id, x.code from level_tiers x
             where x.tenant_id = p.tenant_id and x.active and x.min_points <= p.total_points
               and (x.max_points is null or p.total_points <= x.max_points)
             order by x.sort_order limit 1
           ) expected_tier on true
           where ($1::uuid is null or p.tenant_id = $1)
             and p.level_tier_id is distinct from expected_tier.tier_id
             -- While a re-level after a tier save runs, stored levels are catching up.
             and not exists (select 1 from level_relevels r
                             where r.tenant_id = p.tenant_id and r.status = 'running')
           order by t.slug, p.external_id
           limit $2"#,
        tenant_id,
        VIOLATIONS_PER_RULE_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(rows)
}
