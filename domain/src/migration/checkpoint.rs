//! Checkpoints: row counts and order-independent checksums of the legacy tables and the
//! tenant's target tables, all read in one repeatable-read snapshot. A row's checksum
//! term is the first 60 bits of the MD5 of its full text (dates rendered in UTC, ISO),
//! summed over the table's rows of the tenant: equal sums mean equal multisets of rows
//! (up to hash collisions), whatever the physical order. A dry run leaves every
//! checksum as it was; after a rollback the legacy tables' are byte-identical to the
//! pre-flight's.

use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::{Access, Error, Result, Role};
pub use model::migration::run::{Checkpoint, TableSum};

/// The tables a checkpoint covers: the legacy source, then the target.
pub const TABLES: [&str; 7] = [
    "legacy_user_types",
    "legacy_members",
    "member_profiles",
    "points_ledger",
    "tag_grants",
    "level_changes",
    "migration_members",
];

/// The legacy tables (never written by the migration).
pub const LEGACY_TABLES: [&str; 2] = ["legacy_user_types", "legacy_members"];

/// Computes every table's figures on `conn`, which must be in a repeatable-read
/// transaction for the figures to share a snapshot.
pub(crate) async fn compute(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Vec<TableSum>> {
    // The row text must not depend on the session's settings.
    sqlx::query("set local timezone = 'UTC'")
        .execute(&mut *conn)
        .await?;
    sqlx::query("set local datestyle = 'ISO, YMD'")
        .execute(&mut *conn)
        .await?;
    let mut sums = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        // `table` is one of the constants above, never input.
        let row = sqlx::query(&format!(
            "select count(*) as rows,
                    coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text as checksum
             from {table} t where t.tenant_id = $1"
        ))
        .bind(tenant_id)
        .fetch_one(&mut *conn)
        .await?;
        sums.push(TableSum {
            table: table.to_owned(),
            rows: row.try_get("rows")?,
            checksum: row.try_get("checksum")?,
        });
    }
    Ok(sums)
}

/// Takes a checkpoint (tenant admins) and keeps it.
pub async fn take(db: &PgPool, access: &Access, label: &str) -> Result<Checkpoint> {
    access.require(Role::TenantAdmin)?;
    let label = model::input::name("label", label)?;
    let mut tx = db.begin().await?;
    sqlx::query("set transaction isolation level repeatable read")
        .execute(&mut *tx)
        .await?;
    let tables = compute(&mut tx, access.tenant_id).await?;
    tx.commit().await?;
    let json = serde_json::to_value(&tables)
        .map_err(|error| Error::Internal(format!("checkpoint not serialisable: {error}")))?;
    let id = sqlx::query_scalar!(
        "insert into migration_checkpoints (tenant_id, label, tables, taken_by)
         values ($1, $2, $3, $4) returning checkpoint_id",
        access.tenant_id,
        label,
        json,
        access.principal.admin_id
    )
    .fetch_one(db)
    .await?;
    get(db, access, id).await
}

/// One checkpoint (every role).
pub async fn get(db: &PgPool, access: &Access, checkpoint_id: Uuid) -> Result<Checkpoint> {
    access.require(Role::Viewer)?;
    let row = sqlx::query!(
        r#"select c.checkpoint_id, c.label, c.tables, c.taken_at, a.display_name as "taken_by?"
           from migration_checkpoints c left join admins a on a.admin_id = c.taken_by
           where c.tenant_id = $1 and c.checkpoint_id = $2"#,
        access.tenant_id,
        checkpoint_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("checkpoint"))?;
    Ok(Checkpoint {
        checkpoint_id: row.checkpoint_id,
        label: row.label,
        tables: serde_json::from_value(row.tables).unwrap_or_default(),
        taken_at: row.taken_at,
        taken_by: row.taken_by,
    })
}

/// The tenant's checkpoints, newest first (at most 50; every role).
pub async fn list(db: &PgPool, access: &Access) -> Result<Vec<Checkpoint>> {
    access.require(Role::Viewer)?;
    let rows = sqlx::query!(
        r#"select c.checkpoint_id, c.label, c.tables, c.taken_at, a.display_name as "taken_by?"
           from migration_checkpoints c left join admins a on a.admin_id = c.taken_by
           where c.tenant_id = $1 order by c.taken_at desc limit 50"#,
        access.tenant_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Checkpoint {
            checkpoint_id: row.checkpoint_id,
            label: row.label,
            tables: serde_json::from_value(row.tables).unwrap_or_default(),
            taken_at: row.taken_at,
            taken_by: row.taken_by,
        })
        .collect())
}
