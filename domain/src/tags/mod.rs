//! The tenant's tag catalogue: what each tag confers (permission keys, a license quota
//! floor and boost) and the terms new grants get (term, grace period, renewal rule).
//! Tags are deactivated, never deleted, so grant history keeps its meaning. A deactivated
//! tag cannot be granted any more; current holders keep it (and its privileges) until
//! their grant ends — to take privileges away at once, edit them or revoke the grants.

/// Tag grants and their lifecycle (grace, expiry, renewal, reminders).
pub mod grants;
/// Effective permissions (level ∪ tags, with sources) and the never-stale cache.
pub mod permissions;

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ResultExt;
use crate::{Access, Conflict, Error, Result, Role, access::audit};
pub use model::tags::{
    CATEGORIES, GRACE_DAYS_MAX, QUOTA_MAX, RenewFrom, TAG_NAME_LENGTH_MAX, TAGS_MAX, TERM_DAYS_MAX,
    Tag, TagInput,
};
use model::tags::{Clean, clean};

fn snapshot(tag: &Clean) -> serde_json::Value {
    json!({
        "code": tag.code, "name_zh": tag.name_zh, "name_en": tag.name_en,
        "category": tag.category, "permissions": tag.permissions,
        "max_licenses": tag.max_licenses, "max_licenses_boost": tag.max_licenses_boost,
        "default_term_days": tag.default_term_days, "grace_days": tag.grace_days,
        "auto_renew": tag.auto_renew, "renew_from": tag.renew_from.as_str(), "active": tag.active,
    })
}

/// The catalogue, by category and code, with the number of current holders.
pub async fn list(db: &PgPool, access: &Access) -> Result<Vec<Tag>> {
    access.require(Role::Viewer)?;
    let rows = sqlx::query!(
        r#"select t.tag_id, t.code, t.name_zh, t.name_en, t.category, t.permissions, t.max_licenses,
                  t.max_licenses_boost, t.default_term_days, t.grace_days, t.auto_renew, t.renew_from,
                  t.active, t.row_version,
                  (select count(*) from tag_grants g
                   where g.tenant_id = t.tenant_id and g.tag_id = t.tag_id
                     and g.status in ('active', 'grace')) as "holders!"
           from tags t where t.tenant_id = $1
           order by t.active desc, t.category, t.code limit $2"#,
        access.tenant_id,
        TAGS_MAX
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Tag {
                tag_id: r.tag_id,
                code: r.code,
                name_zh: r.name_zh,
                name_en: r.name_en,
                category: r.category,
                permissions: r.permissions,
                max_licenses: r.max_licenses,
                max_licenses_boost: r.max_licenses_boost,
                default_term_days: r.default_term_days,
                grace_days: r.grace_days,
                auto_renew: r.auto_renew,
                renew_from: RenewFrom::parse(&r.renew_from)?,
                active: r.active,
                row_version: r.row_version,
                holders: r.holders,
            })
        })
        .collect()
}

pub async fn get(db: &PgPool, access: &Access, tag_id: Uuid) -> Result<Tag> {
    list(db, access)
        .await?
        .into_iter()
        .find(|t| t.tag_id == tag_id)
        .ok_or_else(|| Error::not_found("tag"))
}

/// The id of the tag with this code in the caller's tenant (how the REST API, which
/// names tags by code, reaches the functions that take ids).
pub async fn id_of(db: &PgPool, access: &Access, code: &str) -> Result<Uuid> {
    access.require(Role::Viewer)?;
    if model::input::plain_text("tag", code).is_err() {
        return Err(Error::not_found("tag"));
    }
    sqlx::query_scalar!(
        "select tag_id from tags where tenant_id = $1 and code = $2",
        access.tenant_id,
        code.trim()
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("tag"))
}

/// Adds a tag to the catalogue (tenant admins).
pub async fn create(db: &PgPool, access: &Access, input: TagInput) -> Result<Uuid> {
    access.require(Role::TenantAdmin)?;
    let tag = clean(&input)?;
    let mut tx = db.begin().await?;
    let tag_id = sqlx::query_scalar!(
        "insert into tags (tenant_id, code, name_zh, name_en, category, permissions, max_licenses,
                           max_licenses_boost, default_term_days, grace_days, auto_renew, renew_from, active)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         returning tag_id",
        access.tenant_id,
        tag.code,
        tag.name_zh,
        tag.name_en,
        tag.category,
        &tag.permissions,
        tag.max_licenses,
        tag.max_licenses_boost,
        tag.default_term_days,
        tag.grace_days,
        tag.auto_renew,
        tag.renew_from.as_str(),
        tag.active
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint("tags_code_key", || Error::Conflict(Conflict::TagCodeTaken))?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "tag.create",
            target_type: "tag",
            target_id: tag_id.to_string(),
            before: None,
            after: Some(snapshot(&tag)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(tag_id)
}

/// Changes a tag (tenant admins), guarded by the version the editor read. Existing
/// grants keep their dates; the new privileges apply to every holder at once.
pub async fn update(
    db: &PgPool,
    access: &Access,
    tag_id: Uuid,
    row_version: i64,
    input: TagInput,
) -> Result<()> {
    access.require(Role::TenantAdmin)?;
    let tag = clean(&input)?;
    let mut tx = db.begin().await?;
    let before = sqlx::query!(
        r#"select code, name_zh, name_en, category, permissions, max_licenses, max_licenses_boost,
                  default_term_days, grace_days, auto_renew, renew_from, active, row_version
           from tags where tenant_id = $1 and tag_id = $2 for no key update"#,
        access.tenant_id,
        tag_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("tag"))?;
    if before.row_version != row_version {
        return Err(Error::Conflict(Conflict::StaleVersion));
    }
    let before = Clean {
        code: before.code,
        name_zh: before.name_zh,
        name_en: before.name_en,
        category: before.category,
        permissions: before.permissions,
        max_licenses: before.max_licenses,
        max_licenses_boost: before.max_licenses_boost,
        default_term_days: before.default_term_days,
        grace_days: before.grace_days,
        auto_renew: before.auto_renew,
        renew_from: RenewFrom::parse(&before.renew_from)?,
        active: before.active,
    };
    sqlx::query!(
        "update tags set code = $3, name_zh = $4, name_en = $5, category = $6, permissions = $7,
                         max_licenses = $8, max_licenses_boost = $9, default_term_days = $10,
                         grace_days = $11, auto_renew = $12, renew_from = $13, active = $14,
                         row_version = row_version + 1, updated_at = now()
         where tenant_id = $1 and tag_id = $2",
        access.tenant_id,
        tag_id,
        tag.code,
        tag.name_zh,
        tag.name_en,
        tag.category,
        &tag.permissions,
        tag.max_licenses,
        tag.max_licenses_boost,
        tag.default_term_days,
        tag.grace_days,
        tag.auto_renew,
        tag.renew_from.as_str(),
        tag.active
    )
    .execute(&mut *tx)
    .await
    .on_constraint("tags_code_key", || Error::Conflict(Conflict::TagCodeTaken))?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "tag.update",
            target_type: "tag",
            target_id: tag_id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&tag)),
        },
    )
    .await?;
    tx.commit().await?;
    permissions::settle(db, access.tenant_id).await
}
