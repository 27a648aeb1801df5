//! The audit log. Rows are written through [`record`] inside the transaction of the
//! change they describe, so a change and its audit row commit or roll back together.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Access, Principal, Result, Role};
pub use model::access::audit::{Entry, Filter, Page};

pub const PAGE_SIZE_MAX: i64 = 100;

/// One change, as it will be stored.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Writes a tenant audit row on the caller's transaction.
pub async fn record(conn: &mut PgConnection, access: &Access, event: Event) -> Result<()> {
    record_in_tenant(
        conn,
        access.tenant_id,
        &access.principal,
        access.request_id.as_deref(),
        event,
    )
    .await
}

pub(crate) async fn record_in_tenant(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    principal: &Principal,
    request_id: Option<&str>,
    event: Event,
) -> Result<()> {
    sqlx::query!(
        r#"insert into audit_log
             (tenant_id, actor_admin_id, actor_label, action, target_type, target_id, before, after, request_id)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"#,
        tenant_id,
        principal.admin_id,
        principal.label,
        event.action,
        event.target_type,
        event.target_id,
        event.before,
        event.after,
        request_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a platform audit row (changes that belong to no single tenant).
pub(crate) async fn record_platform(
    conn: &mut PgConnection,
    principal: &Principal,
    request_id: Option<&str>,
    event: Event,
) -> Result<()> {
    sqlx::query!(
        r#"insert into platform_audit_log
             (actor_admin_id, actor_label, action, target_type, target_id, before, after, request_id)
           values ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        principal.admin_id,
        principal.label,
        event.action,
        event.target_type,
        event.target_id,
        event.before,
        event.after,
        request_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of the tenant's audit log, newest first, by keyset on `audit_id`.
pub async fn list(
    db: &PgPool,
    access: &Access,
    before: Option<i64>,
    page_size: i64,
) -> Result<Page> {
    search(db, access, &Filter::default(), before, page_size).await
}

/// A page of the tenant's audit log matching `filter`, newest first, by keyset on
/// `audit_id` (support and tenant admins).
pub async fn search(
    db: &PgPool,
    access: &Access,
    filter: &Filter,
    before: Option<i64>,
    page_size: i64,
) -> Result<Page> {
    access.require(Role::Support)?;
    let page_size = page_size.clamp(1, PAGE_SIZE_MAX);
    let mut entries = matching(db, access, filter, before, page_size + 1).await?;
    let next_before = if entries.len() as i64 > page_size {
        entries.truncate(page_size as usize);
        entries.last().map(|entry| entry.audit_id)
    } else {
        None
    };
    Ok(Page {
        entries,
        next_before,
    })
}

/// The most rows one export holds; a larger selection is cut at the newest this many
/// and says so (narrow the dates to export the rest).
pub const EXPORT_MAX_ROWS: i64 = 50_000;

/// The tenant's audit rows matching `filter` as CSV (RFC 4180, UTF-8 with a byte-order
/// mark so that spreadsheet programs read Chinese text), newest first, at most
/// [`EXPORT_MAX_ROWS`] (support and tenant admins). Columns: time (UTC, RFC 3339),
/// actor, action, target type, target id, changed fields, before, after, request id.
pub async fn export_csv(db: &PgPool, access: &Access, filter: &Filter) -> Result<Export> {
    access.require(Role::Support)?;
    let mut entries = matching(db, access, filter, None, EXPORT_MAX_ROWS + 1).await?;
    let truncated = entries.len() as i64 > EXPORT_MAX_ROWS;
    entries.truncate(EXPORT_MAX_ROWS as usize);
    let mut csv = String::from("\u{feff}");
    model::access::audit::write_csv(&mut csv, &entries);
    Ok(Export {
        csv,
        rows: entries.len(),
        truncated,
    })
}

/// An audit export: the CSV text, how many rows it holds, and whether the selection had
/// more than [`EXPORT_MAX_ROWS`].
#[derive(Debug, Clone)]
pub struct Export {
    pub csv: String,
    pub rows: usize,
    pub truncated: bool,
}

/// Up to `limit` rows matching `filter` older than `before`, newest first.
async fn matching(
    db: &PgPool,
    access: &Access,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>> {
    let text = |field: &'static str, value: &Option<String>| -> Result<Option<String>> {
        let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        model::input::plain_text(field, value)?;
        if value.chars().count() > 200 {
            return Err(crate::Error::invalid(
                field,
                crate::Problem::TooLong { max: 200 },
            ));
        }
        Ok(Some(value.to_owned()))
    };
    let like = |value: String| {
        format!(
            "{}%",
            value
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    };
    let actor = text("actor", &filter.actor)?.map(like);
    let action = text("action", &filter.action)?.map(like);
    let target_id = text("target_id", &filter.target_id)?;
    let from = filter
        .from
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    let to = filter
        .to
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    Ok(sqlx::query_as!(
        Entry,
        r#"select audit_id, occurred_at, actor_label, action, target_type, target_id,
                  before, after, request_id
           from audit_log
           where tenant_id = $1 and ($2::bigint is null or audit_id < $2)
             and ($3::text is null or lower(actor_label) like $3)
             and ($4::text is null or lower(action) like $4)
             and ($5::text is null or target_id = $5)
             and ($6::timestamptz is null or occurred_at >= $6)
             and ($7::timestamptz is null or occurred_at < $7)
           order by audit_id desc
           limit $8"#,
        access.tenant_id,
        before,
        actor,
        action,
        target_id,
        from,
        to,
        limit
    )
    .fetch_all(db)
    .await?)
}
