//! The migration's mapping and formula per tenant, versioned: a save never changes a
//! version, it adds the next one, so a dry run and a run compute from one fixed version
//! and each migrated member can name it. Until a tenant saves, version 0 is the seed's
//! defaults.

use serde_json::json;
use sqlx::PgPool;

use crate::error::ResultExt;
use crate::{Access, Conflict, Error, Problem, Result, Role, access::audit};
pub use model::migration::{Formula, Mapping, Settings};

/// The tenant's current version (every role).
pub async fn current(db: &PgPool, access: &Access) -> Result<Settings> {
    access.require(Role::Viewer)?;
    let row = sqlx::query!(
        r#"select s.version, s.formula, s.mapping, s.saved_at, a.email as "saved_by?"
           from migration_settings s left join admins a on a.admin_id = s.saved_by
           where s.tenant_id = $1
           order by s.version desc limit 1"#,
        access.tenant_id
    )
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        return Ok(Settings {
            version: 0,
            formula: Formula::default(),
            mapping: Mapping::default(),
            saved_at: None,
            saved_by: None,
        });
    };
    let formula = serde_json::from_value(row.formula)
        .map_err(|error| Error::Internal(format!("stored formula unreadable: {error}")))?;
    let tags = serde_json::from_value(row.mapping)
        .map_err(|error| Error::Internal(format!("stored mapping unreadable: {error}")))?;
    Ok(Settings {
        version: row.version,
        formula,
        mapping: Mapping { tags },
        saved_at: Some(row.saved_at),
        saved_by: row.saved_by,
    })
}

/// Saves the next version (tenant admins) if the current one is still `based_on`: the
/// formula within bounds, the mapping with each user type once and every tag code in
/// the tenant's catalogue. Audited with both versions.
pub async fn save(
    db: &PgPool,
    access: &Access,
    based_on: i32,
    formula: Formula,
    mapping: Mapping,
) -> Result<Settings> {
    access.require(Role::TenantAdmin)?;
    formula.validate()?;
    let mapping = mapping.clean()?;
    let codes: Vec<String> = mapping.tags.iter().map(|(_, code)| code.clone()).collect();
    let known = sqlx::query_scalar!(
        r#"select count(*) as "count!" from tags where tenant_id = $1 and code = any($2)"#,
        access.tenant_id,
        &codes
    )
    .fetch_one(db)
    .await?;
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    if known != distinct.len() as i64 {
        return Err(Error::invalid("mapping", Problem::Format));
    }
    let before = current(db, access).await?;
    if before.version != based_on {
        return Err(Error::Conflict(Conflict::StaleVersion));
    }
    let formula_json = serde_json::to_value(formula)
        .map_err(|error| Error::Internal(format!("formula not serialisable: {error}")))?;
    let mapping_json = serde_json::to_value(&mapping.tags)
        .map_err(|error| Error::Internal(format!("mapping not serialisable: {error}")))?;
    let mut tx = db.begin().await?;
    sqlx::query!(
        "insert into migration_settings (tenant_id, version, formula, mapping, saved_by)
         values ($1, $2, $3, $4, $5)",
        access.tenant_id,
        based_on + 1,
        formula_json,
        mapping_json,
        access.principal.admin_id
    )
    .execute(&mut *tx)
    .await
    // Two saves based on the same version: the second finds its version taken.
    .on_constraint("migration_settings_pkey", || {
        Error::Conflict(Conflict::StaleVersion)
    })?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "migration.settings",
            target_type: "tenant",
            target_id: access.tenant_id.to_string(),
            before: Some(json!({
                "version": before.version, "formula": before.formula, "mapping": before.mapping.tags,
            })),
            after: Some(json!({
                "version": based_on + 1, "formula": formula, "mapping": mapping.tags,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    current(db, access).await
}

/// The formula and mapping of one version (0: the seed's defaults), with each mapped
/// type's tag as a pair of arrays for SQL (`unnest($types, $codes)`).
pub(crate) async fn at_version(
    conn: &mut sqlx::PgConnection,
    tenant_id: uuid::Uuid,
    version: i32,
) -> Result<(Formula, Mapping)> {
    if version == 0 {
        return Ok((Formula::default(), Mapping::default()));
    }
    let row = sqlx::query!(
        "select formula, mapping from migration_settings where tenant_id = $1 and version = $2",
        tenant_id,
        version
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::not_found("settings version"))?;
    let formula = serde_json::from_value(row.formula)
        .map_err(|error| Error::Internal(format!("stored formula unreadable: {error}")))?;
    let tags = serde_json::from_value(row.mapping)
        .map_err(|error| Error::Internal(format!("stored mapping unreadable: {error}")))?;
    Ok((formula, Mapping { tags }))
}

/// The formula as the SQL function `migration_parts` reads it.
pub(crate) fn formula_json(formula: &Formula) -> Result<serde_json::Value> {
    serde_json::to_value(formula)
        .map_err(|error| Error::Internal(format!("formula not serialisable: {error}")))
}

/// The mapping as two arrays: user types and their tag codes.
pub(crate) fn mapping_arrays(mapping: &Mapping) -> (Vec<i32>, Vec<String>) {
    mapping.tags.iter().cloned().unzip()
}
