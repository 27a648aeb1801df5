//! The console's live sample: what one legacy member would get from the formula and
//! mapping being edited (not necessarily saved), computed with the pure rules the
//! migration itself uses, so the numbers match it: `historical_points`, the tenant's
//! tiers through `level_for`, and the mapping's tag. Reads only.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::{Access, Error, Result, Role};
use model::migration::legacy::Member;
use model::migration::sample::Named;
pub use model::migration::sample::Sample;
use model::migration::{Formula, Mapping, historical_points};

/// The sample for the legacy member `external_id` of the tenant (every role: it writes
/// nothing). The formula and mapping are checked as a save checks them (the mapping's
/// tags need not be in the catalogue yet: the sample says whether they are). A member
/// the legacy tables do not have is not found.
pub async fn sample(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    external_id: &str,
    formula: Formula,
    mapping: Mapping,
) -> Result<Sample> {
    access.require(Role::Viewer)?;
    formula.validate()?;
    let mapping = mapping.clean()?;
    let external_id = external_id.trim();
    let row = sqlx::query!(
        r#"select m.external_id, m.user_type, m.registered_at, m.last_login_at, m.license_count,
                  m.payment_total_cents, t.name as "type_name?"
           from legacy_members m
           left join legacy_user_types t on t.tenant_id = m.tenant_id and t.type_id = m.user_type
           where m.tenant_id = $1 and m.external_id = $2"#,
        access.tenant_id,
        external_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("legacy_member"))?;
    let member = Member {
        external_id: row.external_id,
        user_type: row.user_type,
        registered_at: row.registered_at,
        last_login_at: row.last_login_at,
        license_count: row.license_count,
        payment_total_cents: row.payment_total_cents,
    };
    let parts = historical_points(&formula, &member.inputs(), now);
    let total = parts.iter().map(|(_, points)| points).sum();
    let tiers = crate::points::levels::list(db, access).await?;
    let level = model::points::levels::level_for(&tiers, total).map(|tier| Named {
        code: tier.code.clone(),
        name_zh: tier.name_zh.clone(),
        name_en: tier.name_en.clone(),
    });
    let tag = mapping.tag_for(member.user_type).map(str::to_owned);
    let tag_names = match &tag {
        Some(code) => {
            sqlx::query_as!(
                Named,
                "select code, name_zh, name_en from tags where tenant_id = $1 and code = $2",
                access.tenant_id,
                code
            )
            .fetch_optional(db)
            .await?
        }
        None => None,
    };
    Ok(Sample {
        external_id: member.external_id,
        user_type: member.user_type,
        type_name: row.type_name,
        parts: parts.to_vec(),
        total,
        level,
        tag,
        tag_names,
        as_of: now,
    })
}
