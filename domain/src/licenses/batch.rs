//! Batch assignment: a CSV file of member external ids (and optionally plan codes) is
//! uploaded, previewed (who gets a license, who is refused and why) and applied.
//!
//! **Streaming.** [`upload`] reads the file as a stream of chunks, cuts it into lines
//! ([`LineSplitter`]) and inserts rows in chunks of [`INSERT_CHUNK`] (one multi-row
//! insert each), so a 100,000-row file is never held in memory; the SHA-256 of the
//! bytes is computed on the way. Everything happens in one transaction: a file that is
//! refused (not UTF-8, too large, too many rows, empty) leaves nothing behind.
//!
//! **Idempotent per file.** A batch is identified by the SHA-256 of its bytes within
//! the tenant (`license_batches_file_key`): uploading the same file again answers the
//! existing batch (`existing`), whatever default plan the second upload named. Each row
//! is applied once: [`apply_step`] takes the batch row first, applies the rows after
//! `applied_through` in line order and moves `applied_through` past them in the same
//! transaction, so a crash resumes where the last committed step ended and a second
//! apply finds nothing left.
//!
//! **The preview** is computed set-based in SQL when the file is uploaded (and again
//! when the same file is uploaded while not yet applied), in this order of refusals:
//! malformed, duplicate (same external id and plan as an earlier line), unknown member,
//! unknown plan, plan inactive, over quota (seats held plus this member's earlier
//! assignable rows reach `license_quota`), no free license (earlier assignable rows of
//! the plan take its free usable licenses). Applying decides each row again at that
//! moment, a chunk at a time and set-based (`assign_rows`): the chunk's free licenses
//! and its members' seat rows are locked, seats are given in line order while each
//! member's seats held (read under the lock) stay below the quota, and every write is
//! one statement for the chunk. So the applied outcome may differ from the prediction
//! when things changed in between, and a 100,000-row file applies in seconds.
//!
//! Lock order: the `license_batches` row (`FOR NO KEY UPDATE`, the coordination row of
//! an apply) comes before license rows, then `member_license_use` (see [`super`]).

use chrono::{DateTime, Utc};
/// The upload's byte stream (re-exported so callers need no stream crate of their own).
pub use futures_util::Stream;
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::access::{Principal, audit};
use crate::{Access, Error, Problem, Result, Role};
pub use model::licenses::batch::{
    Batch, BatchRow, BatchRowPage, Cut, FILE_BYTES_MAX, LINE_BYTES_MAX, Line, LineSplitter,
    Malformed, Outcome, OutcomeCount, RECENT_MAX, ROWS_MAX, ROWS_PAGE_MAX, Status, parse_line,
};

/// Rows per multi-row insert while uploading.
pub const INSERT_CHUNK: usize = 1000;
/// Rows per apply step (one transaction) unless the caller says otherwise.
pub const APPLY_CHUNK: i64 = 500;
/// From this many rows on, the preview is planned with hash joins (see [`predict`]).
const HASH_JOIN_ROWS: i32 = 2_000;
/// The longest file name kept (the `license_batches_file_name` constraint).
pub const FILE_NAME_LENGTH_MAX: usize = 200;

/// Where an apply stands after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub batch_id: Uuid,
    pub applied_through: i32,
    pub last_line: i32,
    pub assigned: i32,
    pub refused: i32,
    /// Every row is applied.
    pub done: bool,
}

/// The name shown for an uploaded file: its last path component, control characters
/// removed, at most [`FILE_NAME_LENGTH_MAX`] characters; `upload.csv` when nothing is left.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(FILE_NAME_LENGTH_MAX)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "upload.csv".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Rows read from the file, waiting for their multi-row insert.
#[derive(Default)]
struct Pending {
    line_no: Vec<i32>,
    external_id: Vec<Option<String>>,
    plan_code: Vec<Option<String>>,
    malformed: Vec<Option<String>>,
}

impl Pending {
    fn push(&mut self, line_no: u32, line: Line) {
        let (external_id, plan_code, malformed) = match line {
            Line::Header | Line::Blank => return,
            Line::Row {
                external_id,
                plan_code,
            } => (Some(external_id), plan_code, None),
            Line::Malformed(reason) => (None, None, Some(reason.as_str().to_owned())),
        };
        self.line_no
            .push(i32::try_from(line_no).unwrap_or(i32::MAX));
        self.external_id.push(external_id);
        self.plan_code.push(plan_code);
        self.malformed.push(malformed);
    }

    async fn flush(
        &mut self,
        conn: &mut PgConnection,
        tenant_id: Uuid,
        batch_id: Uuid,
    ) -> Result<()> {
        if self.line_no.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "insert into license_batch_rows (tenant_id, batch_id, line_no, external_id, plan_code, malformed)
             select $1, $2, * from unnest($3::int4[], $4::text[], $5::text[], $6::text[])",
            tenant_id,
            batch_id,
            &self.line_no,
            &self.external_id as &[Option<String>],
            &self.plan_code as &[Option<String>],
            &self.malformed as &[Option<String>]
        )
        .execute(conn)
        .await?;
        *self = Pending::default();
        Ok(())
    }
}

/// Reads an uploaded file into a new batch and previews it (support and tenant
/// admins). `body` is the file as a stream of byte chunks; it is read once, as it
/// comes. A file this tenant uploaded before answers that batch (`existing: true`, its
/// preview refreshed while not yet applied). Refused, with nothing stored: bytes that
/// are not UTF-8 (`NotUtf8` naming the line), more than [`FILE_BYTES_MAX`] bytes
/// (`TooLarge`), no rows at all (`Required`), a broken stream (`Format`), all on the
/// field `file`; more than [`ROWS_MAX`] rows (`TooLarge` on `rows`). An unknown default plan is not found.
pub async fn upload<S, B, E>(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    file_name: &str,
    default_plan: Option<Uuid>,
    mut body: S,
) -> Result<Batch>
where
    S: Stream<Item = std::result::Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    access.require(Role::Support)?;
    let tenant_id = access.tenant_id;
    let file_name = clean_file_name(file_name);
    let mut tx = db.begin().await?;
    if let Some(plan_id) = default_plan {
        sqlx::query_scalar!(
            "select plan_id from license_plans where tenant_id = $1 and plan_id = $2",
            tenant_id,
            plan_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("license_plan"))?;
    }
    let batch_id = Uuid::new_v4();
    // A placeholder digest until the file is read: 16 bytes, so never a real SHA-256.
    sqlx::query!(
        "insert into license_batches (tenant_id, batch_id, file_sha256, file_name, default_plan_id, created_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
        tenant_id,
        batch_id,
        batch_id.as_bytes().as_slice(),
        file_name,
        default_plan,
        access.principal.admin_id,
        now
    )
    .execute(&mut *tx)
    .await?;

    let mut hasher = Sha256::new();
    let mut splitter = LineSplitter::new();
    let mut pending = Pending::default();
    let mut cuts = Vec::new();
    let mut bytes_read = 0usize;
    let mut rows = 0u32;
    let mut last_line = 0u32;
    let mut ended = false;
    while !ended {
        match body.next().await {
            Some(Ok(chunk)) => {
                let chunk = chunk.as_ref();
                bytes_read = bytes_read.saturating_add(chunk.len());
                if bytes_read > FILE_BYTES_MAX {
                    return Err(Error::invalid(
                        "file",
                        Problem::TooLarge {
                            max: FILE_BYTES_MAX as i64,
                        },
                    ));
                }
                hasher.update(chunk);
                splitter.push(chunk, |cut| cuts.push(cut));
            }
            Some(Err(error)) => {
                tracing::info!(%error, "batch upload stream broke off");
                return Err(Error::invalid("file", Problem::Format));
            }
            None => {
                splitter.finish(|cut| cuts.push(cut));
                ended = true;
            }
        }
        for cut in cuts.drain(..) {
            let (line_no, line) = match cut {
                Cut::Line { line_no, bytes } => {
                    let line = parse_line(&bytes, line_no == 1)
                        .map_err(|_| Error::invalid("file", Problem::NotUtf8 { line: line_no }))?;
                    (line_no, line)
                }
                Cut::TooLong { line_no } => (line_no, Line::Malformed(Malformed::TooLong)),
            };
            if matches!(line, Line::Header | Line::Blank) {
                continue;
            }
            rows += 1;
            if rows > ROWS_MAX {
                return Err(Error::invalid(
                    "rows",
                    Problem::TooLarge {
                        max: i64::from(ROWS_MAX),
                    },
                ));
            }
            last_line = line_no;
            pending.push(line_no, line);
        }
        if pending.line_no.len() >= INSERT_CHUNK {
            pending.flush(&mut tx, tenant_id, batch_id).await?;
        }
    }
    pending.flush(&mut tx, tenant_id, batch_id).await?;
    if rows == 0 {
        return Err(Error::invalid("file", Problem::Required));
    }
    let digest = hasher.finalize().to_vec();
    let earlier = sqlx::query_scalar!(
        "select batch_id from license_batches where tenant_id = $1 and file_sha256 = $2",
        tenant_id,
        digest
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(earlier) = earlier {
        tx.rollback().await?;
        return again(db, tenant_id, earlier, now).await;
    }
    let stored = sqlx::query!(
        "update license_batches set file_sha256 = $3, rows_total = $4, last_line = $5
         where tenant_id = $1 and batch_id = $2",
        tenant_id,
        batch_id,
        digest,
        i32::try_from(rows).unwrap_or(i32::MAX),
        i32::try_from(last_line).unwrap_or(i32::MAX)
    )
    .execute(&mut *tx)
    .await;
    match stored {
        Ok(_) => {}
        // The same file uploaded concurrently, committed first.
        Err(sqlx::Error::Database(error))
            if error.constraint() == Some("license_batches_file_key") =>
        {
            tx.rollback().await?;
            let earlier = sqlx::query_scalar!(
                "select batch_id from license_batches where tenant_id = $1 and file_sha256 = $2",
                tenant_id,
                digest
            )
            .fetch_one(db)
            .await?;
            return again(db, tenant_id, earlier, now).await;
        }
        Err(error) => return Err(error.into()),
    }
    predict(
        &mut tx,
        tenant_id,
        batch_id,
        now,
        i32::try_from(rows).unwrap_or(i32::MAX),
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "license.batch_upload",
            target_type: "license_batch",
            target_id: batch_id.to_string(),
            before: None,
            after: Some(json!({
                "file_name": file_name, "rows": rows, "default_plan_id": default_plan,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, tenant_id, batch_id, false).await
}

/// The batch a repeated upload answers, its preview refreshed if not applied yet.
async fn again(db: &PgPool, tenant_id: Uuid, batch_id: Uuid, now: DateTime<Utc>) -> Result<Batch> {
    let mut tx = db.begin().await?;
    let found = sqlx::query!(
        "select status, rows_total from license_batches where tenant_id = $1 and batch_id = $2 for no key update",
        tenant_id,
        batch_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if found.status == Status::Uploaded.as_str() {
        predict(&mut tx, tenant_id, batch_id, now, found.rows_total).await?;
    }
    tx.commit().await?;
    get(db, tenant_id, batch_id, true).await
}

/// Writes the preview of every row into `predicted`, set-based (see the module docs
/// for the order of refusals).
async fn predict(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    batch_id: Uuid,
    now: DateTime<Utc>,
    rows: i32,
) -> Result<()> {
    // The rows were inserted by this very transaction, so the planner's statistics know
    // nothing of them and estimate a handful: it would join the stages by nested loops,
    // which is quadratic in the rows (100,000 rows: minutes). For a large file, hash
    // joins are the right plan (100,000 rows: seconds); JIT is off for it, as the
    // penalty cost of the disabled joins would make it compile the query at length.
    let large = rows > HASH_JOIN_ROWS;
    if large {
        sqlx::query!("select set_config('enable_nestloop', 'off', true) as nestloop, set_config('jit', 'off', true) as jit")
            .fetch_one(&mut *conn)
            .await?;
    }
    sqlx::query!(
        r#"with base as (
             select r.line_no, r.malformed, m.member_id, p.plan_id, p.active,
                    row_number() over (partition by r.external_id, coalesce(r.plan_code, dp.code)
                                       order by r.line_no) as seen
             from license_batch_rows r
             join license_batches b on b.tenant_id = r.tenant_id and b.batch_id = r.batch_id
             left join license_plans dp on dp.tenant_id = b.tenant_id and dp.plan_id = b.default_plan_id
             left join member_profiles m on m.tenant_id = r.tenant_id and m.external_id = r.external_id
             left join license_plans p on p.tenant_id = r.tenant_id and p.code = coalesce(r.plan_code, dp.code)
             where r.tenant_id = $1 and r.batch_id = $2
           ),
           checked as (
             select line_no, member_id, plan_id,
                    case when malformed is not null then 'malformed'
                         when seen > 1 then 'duplicate'
                         when member_id is null then 'unknown_member'
                         when plan_id is null then 'unknown_plan'
                         when not active then 'plan_inactive' end as refusal
             from base
           ),
           quotas as (
             select v.member_id, coalesce(u.held, 0)::bigint as held,
                    license_quota($1, v.member_id, $3) as quota
             from (select distinct member_id from checked where refusal is null) v
             left join member_license_use u on u.tenant_id = $1 and u.member_id = v.member_id
           ),
           -- Every row once per stage (no self-joins): a refusal is carried on, and the
           -- ranks count only the rows still assignable at that stage.
           within_quota as (
             select c.line_no, c.plan_id,
                    coalesce(c.refusal,
                             case when q.held + row_number() over (partition by c.member_id, c.refusal is null
                                                                   order by c.line_no) > q.quota
                                  then 'over_quota' end) as refusal
             from checked c left join quotas q on q.member_id = c.member_id
           ),
           free as (
             select v.plan_id,
                    (select count(*) from licenses l
                     where l.tenant_id = $1 and l.plan_id = v.plan_id and l.member_id is null
                       and l.revoked_at is null and l.suspended_at is null
                       and (l.expires_at is null or l.expires_at > $3)) as free
             from (select distinct plan_id from within_quota where refusal is null) v
           ),
           seated as (
             select w.line_no,
                    coalesce(w.refusal,
                             case when row_number() over (partition by w.plan_id, w.refusal is null
                                                          order by w.line_no) > f.free
                                  then 'no_free_license' else 'assign' end) as result
             from within_quota w left join free f on f.plan_id = w.plan_id
           )
           update license_batch_rows r
           set predicted = s.result
           from seated s
           where r.tenant_id = $1 and r.batch_id = $2 and r.line_no = s.line_no"#,
        tenant_id,
        batch_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    if large {
        sqlx::query!("reset enable_nestloop")
            .execute(&mut *conn)
            .await?;
        sqlx::query!("reset jit").execute(conn).await?;
    }
    Ok(())
}

/// A batch with its counts per outcome.
async fn get(db: &PgPool, tenant_id: Uuid, batch_id: Uuid, existing: bool) -> Result<Batch> {
    let row = sqlx::query!(
        r#"select b.batch_id, b.file_name, p.code as "default_plan_code?", b.status, b.rows_total,
                  b.applied_through, b.last_line, b.assigned, b.refused, a.email as "created_by?",
                  b.created_at, b.applied_at
           from license_batches b
           left join license_plans p on p.tenant_id = b.tenant_id and p.plan_id = b.default_plan_id
           left join admins a on a.admin_id = b.created_by
           where b.tenant_id = $1 and b.batch_id = $2"#,
        tenant_id,
        batch_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("license_batch"))?;
    let counted = sqlx::query!(
        r#"select coalesce(outcome, predicted) as "outcome!", count(*) as "rows!"
           from license_batch_rows where tenant_id = $1 and batch_id = $2
           group by 1"#,
        tenant_id,
        batch_id
    )
    .fetch_all(db)
    .await?;
    let mut counts: Vec<OutcomeCount> = counted
        .into_iter()
        .filter_map(|c| {
            Outcome::parse(&c.outcome).ok().map(|outcome| OutcomeCount {
                outcome,
                rows: c.rows,
            })
        })
        .collect();
    counts.sort_by_key(|c| Outcome::ALL.iter().position(|o| *o == c.outcome));
    Ok(Batch {
        batch_id: row.batch_id,
        file_name: row.file_name,
        default_plan_code: row.default_plan_code,
        status: Status::parse(&row.status)?,
        rows_total: row.rows_total,
        applied_through: row.applied_through,
        last_line: row.last_line,
        assigned: row.assigned,
        refused: row.refused,
        counts,
        created_by: row.created_by,
        created_at: row.created_at,
        applied_at: row.applied_at,
        existing,
    })
}

/// A batch of the tenant with its counts per outcome (viewers and up).
pub async fn batch(db: &PgPool, access: &Access, batch_id: Uuid) -> Result<Batch> {
    access.require(Role::Viewer)?;
    get(db, access.tenant_id, batch_id, false).await
}

/// The tenant's most recent batches, newest first (without counts per outcome).
pub async fn recent(db: &PgPool, access: &Access) -> Result<Vec<Batch>> {
    access.require(Role::Viewer)?;
    let rows = sqlx::query!(
        r#"select b.batch_id, b.file_name, p.code as "default_plan_code?", b.status, b.rows_total,
                  b.applied_through, b.last_line, b.assigned, b.refused, a.email as "created_by?",
                  b.created_at, b.applied_at
           from license_batches b
           left join license_plans p on p.tenant_id = b.tenant_id and p.plan_id = b.default_plan_id
           left join admins a on a.admin_id = b.created_by
           where b.tenant_id = $1
           order by b.created_at desc, b.batch_id
           limit $2"#,
        access.tenant_id,
        RECENT_MAX
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Batch {
                batch_id: row.batch_id,
                file_name: row.file_name,
                default_plan_code: row.default_plan_code,
                status: Status::parse(&row.status)?,
                rows_total: row.rows_total,
                applied_through: row.applied_through,
                last_line: row.last_line,
                assigned: row.assigned,
                refused: row.refused,
                counts: Vec::new(),
                created_by: row.created_by,
                created_at: row.created_at,
                applied_at: row.applied_at,
                existing: false,
            })
        })
        .collect()
}

/// A page of a batch's rows in line order after line `after`, only those whose
/// current outcome is `outcome` when given (viewers and up).
pub async fn rows(
    db: &PgPool,
    access: &Access,
    batch_id: Uuid,
    outcome: Option<Outcome>,
    after: Option<i32>,
    limit: i64,
) -> Result<BatchRowPage> {
    access.require(Role::Viewer)?;
    let limit = limit.clamp(1, ROWS_PAGE_MAX);
    let found = sqlx::query_scalar!(
        "select batch_id from license_batches where tenant_id = $1 and batch_id = $2",
        access.tenant_id,
        batch_id
    )
    .fetch_optional(db)
    .await?;
    if found.is_none() {
        return Err(Error::not_found("license_batch"));
    }
    let found = sqlx::query!(
        r#"select r.line_no, r.external_id, coalesce(r.plan_code, dp.code) as plan_code,
                  r.malformed, r.predicted, r.outcome, l.license_key as "license_key?"
           from license_batch_rows r
           join license_batches b on b.tenant_id = r.tenant_id and b.batch_id = r.batch_id
           left join license_plans dp on dp.tenant_id = b.tenant_id and dp.plan_id = b.default_plan_id
           left join licenses l on l.tenant_id = r.tenant_id and l.license_id = r.license_id
           where r.tenant_id = $1 and r.batch_id = $2 and r.line_no > $3
             and ($4::text is null or coalesce(r.outcome, r.predicted) = $4)
           order by r.line_no
           limit $5"#,
        access.tenant_id,
        batch_id,
        after.unwrap_or(0),
        outcome.map(Outcome::as_str),
        limit + 1
    )
    .fetch_all(db)
    .await?;
    let mut rows: Vec<BatchRow> = found
        .into_iter()
        .map(|r| BatchRow {
            line_no: r.line_no,
            external_id: r.external_id,
            plan_code: r.plan_code,
            malformed: r.malformed.as_deref().and_then(Malformed::parse),
            predicted: r
                .predicted
                .as_deref()
                .and_then(|p| Outcome::parse(p).ok())
                .unwrap_or(Outcome::Malformed),
            outcome: r.outcome.as_deref().and_then(|o| Outcome::parse(o).ok()),
            license_key: r.license_key,
        })
        .collect();
    let next = if rows.len() as i64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.last().map(|r| r.line_no)
    } else {
        None
    };
    Ok(BatchRowPage { rows, next })
}

/// Marks a batch for applying by the background worker, acting as `access`'s admin
/// (support and tenant admins). Idempotent: a batch applying or applied is answered as
/// it is.
pub async fn start_apply(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    batch_id: Uuid,
) -> Result<Batch> {
    access.require(Role::Support)?;
    let mut tx = db.begin().await?;
    let started = mark_applying(&mut tx, access, now, batch_id).await?;
    if started {
        audit::record(
            &mut tx,
            access,
            audit::Event {
                action: "license.batch_apply",
                target_type: "license_batch",
                target_id: batch_id.to_string(),
                before: None,
                after: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    get(db, access.tenant_id, batch_id, false).await
}

/// Moves an uploaded batch to applying; false when it was past that already.
async fn mark_applying(
    conn: &mut PgConnection,
    access: &Access,
    now: DateTime<Utc>,
    batch_id: Uuid,
) -> Result<bool> {
    let status = sqlx::query_scalar!(
        "select status from license_batches where tenant_id = $1 and batch_id = $2 for no key update",
        access.tenant_id,
        batch_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found("license_batch"))?;
    if status != Status::Uploaded.as_str() {
        return Ok(false);
    }
    sqlx::query!(
        "update license_batches set status = 'applying', apply_started_by = $3, apply_started_at = $4
         where tenant_id = $1 and batch_id = $2",
        access.tenant_id,
        batch_id,
        access.principal.admin_id,
        now
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// Applies the next `chunk` rows of a batch in one transaction (support and tenant
/// admins), starting it if it was only uploaded. Waits for another worker's step on the
/// same batch, then continues after it.
pub async fn apply_step(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    batch_id: Uuid,
    chunk: i64,
) -> Result<Progress> {
    access.require(Role::Support)?;
    let mut tx = db.begin().await?;
    if mark_applying(&mut tx, access, now, batch_id).await? {
        audit::record(
            &mut tx,
            access,
            audit::Event {
                action: "license.batch_apply",
                target_type: "license_batch",
                target_id: batch_id.to_string(),
                before: None,
                after: None,
            },
        )
        .await?;
    }
    let progress = step_locked(&mut tx, access, now, batch_id, chunk).await?;
    tx.commit().await?;
    Ok(progress)
}

/// One step of the background worker: claims a batch being applied that no other
/// worker holds (`SKIP LOCKED`), applies its next `chunk` rows acting as the admin who
/// started it, and answers its progress; `None` when no batch is waiting.
pub async fn run_applying(db: &PgPool, now: DateTime<Utc>, chunk: i64) -> Result<Option<Progress>> {
    let mut tx = db.begin().await?;
    let claimed = sqlx::query!(
        r#"select b.tenant_id, b.batch_id, b.apply_started_by, a.email as "email?"
           from license_batches b left join admins a on a.admin_id = b.apply_started_by
           where b.status = 'applying'
           order by b.created_at
           limit 1
           for no key update of b skip locked"#
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(claimed) = claimed else {
        return Ok(None);
    };
    let principal = match (claimed.apply_started_by, claimed.email) {
        (Some(admin_id), Some(email)) => Principal {
            admin_id: Some(admin_id),
            api_key_id: None,
            label: email,
            is_platform_admin: false,
        },
        _ => Principal::cli(),
    };
    let access = Access {
        principal,
        tenant_id: claimed.tenant_id,
        role: Role::Support,
        request_id: None,
    };
    let progress = step_locked(&mut tx, &access, now, claimed.batch_id, chunk).await?;
    tx.commit().await?;
    Ok(Some(progress))
}

/// Applies the next rows of a batch on the caller's transaction: the batch row is taken
/// (`FOR NO KEY UPDATE`) before any license row.
async fn step_locked(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    access: &Access,
    now: DateTime<Utc>,
    batch_id: Uuid,
    chunk: i64,
) -> Result<Progress> {
    let tenant_id = access.tenant_id;
    let batch = sqlx::query!(
        "select status, applied_through, last_line, assigned, refused, default_plan_id
         from license_batches where tenant_id = $1 and batch_id = $2 for no key update",
        tenant_id,
        batch_id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::not_found("license_batch"))?;
    if batch.status != Status::Applying.as_str() {
        return Ok(Progress {
            batch_id,
            applied_through: batch.applied_through,
            last_line: batch.last_line,
            assigned: batch.assigned,
            refused: batch.refused,
            done: batch.status == Status::Applied.as_str(),
        });
    }
    let rows = sqlx::query!(
        r#"select r.line_no, r.malformed, r.predicted, m.member_id as "member_id?",
                  p.plan_id as "plan_id?", p.active as "plan_active?"
           from license_batch_rows r
           left join license_plans dp on dp.tenant_id = r.tenant_id and dp.plan_id = $3
           left join member_profiles m on m.tenant_id = r.tenant_id and m.external_id = r.external_id
           left join license_plans p on p.tenant_id = r.tenant_id and p.code = coalesce(r.plan_code, dp.code)
           where r.tenant_id = $1 and r.batch_id = $2 and r.line_no > $4
           order by r.line_no
           limit $5"#,
        tenant_id,
        batch_id,
        batch.default_plan_id,
        batch.applied_through,
        chunk.clamp(1, 10_000)
    )
    .fetch_all(&mut **tx)
    .await?;
    // Rows the file itself settles, and the rows that want a seat.
    let mut decided: Vec<(i32, Outcome)> = Vec::with_capacity(rows.len());
    let mut wanted: Vec<(i32, Uuid, Uuid)> = Vec::new();
    for row in &rows {
        let outcome = if row.malformed.is_some() {
            Outcome::Malformed
        } else if row.predicted.as_deref() == Some(Outcome::Duplicate.as_str()) {
            // Fixed by the file's content, decided at upload.
            Outcome::Duplicate
        } else {
            match (row.member_id, row.plan_id, row.plan_active) {
                (None, _, _) => Outcome::UnknownMember,
                (_, None, _) => Outcome::UnknownPlan,
                (_, _, Some(false)) => Outcome::PlanInactive,
                (Some(member_id), Some(plan_id), _) => {
                    wanted.push((row.line_no, member_id, plan_id));
                    continue;
                }
            }
        };
        decided.push((row.line_no, outcome));
    }
    let seats = assign_rows(tx, access, now, batch_id, &wanted).await?;
    let mut lines = Vec::with_capacity(rows.len());
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut licenses: Vec<Option<Uuid>> = Vec::with_capacity(rows.len());
    let (mut assigned, mut refused) = (0i32, 0i32);
    let mut all: Vec<(i32, Outcome, Option<Uuid>)> = decided
        .into_iter()
        .map(|(line, outcome)| (line, outcome, None))
        .chain(seats)
        .collect();
    all.sort_by_key(|(line, _, _)| *line);
    for (line, outcome, license_id) in all {
        if outcome == Outcome::Assigned {
            assigned += 1;
        } else {
            refused += 1;
        }
        lines.push(line);
        outcomes.push(outcome.as_str().to_owned());
        licenses.push(license_id);
    }
    sqlx::query!(
        "update license_batch_rows r set outcome = u.outcome, license_id = u.license_id
         from unnest($3::int4[], $4::text[], $5::uuid[]) as u(line_no, outcome, license_id)
         where r.tenant_id = $1 and r.batch_id = $2 and r.line_no = u.line_no",
        tenant_id,
        batch_id,
        &lines,
        &outcomes,
        &licenses as &[Option<Uuid>]
    )
    .execute(&mut **tx)
    .await?;
    let through = lines.last().copied().unwrap_or(batch.last_line);
    let done = through >= batch.last_line;
    let updated = sqlx::query!(
        "update license_batches
         set applied_through = $3, assigned = assigned + $4, refused = refused + $5,
             status = case when $6 then 'applied' else status end,
             applied_at = case when $6 then $7 else applied_at end
         where tenant_id = $1 and batch_id = $2
         returning applied_through, last_line, assigned, refused",
        tenant_id,
        batch_id,
        through,
        assigned,
        refused,
        done,
        now
    )
    .fetch_one(&mut **tx)
    .await?;
    if done {
        audit::record(
            tx,
            access,
            audit::Event {
                action: "license.batch_applied",
                target_type: "license_batch",
                target_id: batch_id.to_string(),
                before: None,
                after: Some(json!({ "assigned": updated.assigned, "refused": updated.refused })),
            },
        )
        .await?;
    }
    Ok(Progress {
        batch_id,
        applied_through: updated.applied_through,
        last_line: updated.last_line,
        assigned: updated.assigned,
        refused: updated.refused,
        done,
    })
}

/// Seats for a chunk's rows, set-based on the caller's transaction (which holds the
/// batch row), in the lock order of the licenses feature: free licenses of each plan
/// wanted (`SKIP LOCKED`, as many as rows want), then the members' seat rows (in
/// `member_id` order), then the writes. Rows are served in line order: a member gets a
/// seat while their seats held (read under the lock) stay below their quota, a plan
/// gives seats while its locked free licenses last. The gate is the same rule as a
/// single assignment's: seats are raised only under the row lock, from fresh values.
async fn assign_rows(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    access: &Access,
    now: DateTime<Utc>,
    batch_id: Uuid,
    wanted: &[(i32, Uuid, Uuid)],
) -> Result<Vec<(i32, Outcome, Option<Uuid>)>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let tenant_id = access.tenant_id;
    let mut per_plan: std::collections::BTreeMap<Uuid, i32> = std::collections::BTreeMap::new();
    for (_, _, plan_id) in wanted {
        *per_plan.entry(*plan_id).or_default() += 1;
    }
    let (plans, counts): (Vec<Uuid>, Vec<i32>) = per_plan.into_iter().unzip();
    let free = sqlx::query!(
        r#"select l.plan_id as "plan_id!", l.license_id as "license_id!", l.license_key as "license_key!"
           from unnest($2::uuid[], $3::int4[]) as p(plan_id, n)
           cross join lateral (
             select f.plan_id, f.license_id, f.license_key from licenses f
             where f.tenant_id = $1 and f.plan_id = p.plan_id and f.member_id is null
               and f.revoked_at is null and f.suspended_at is null
               and (f.expires_at is null or f.expires_at > $4)
             order by f.expires_at desc nulls first, f.license_key
             limit p.n
             for no key update skip locked
           ) l"#,
        tenant_id,
        &plans,
        &counts,
        now
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut pools: std::collections::HashMap<Uuid, std::collections::VecDeque<(Uuid, String)>> =
        std::collections::HashMap::new();
    for row in free {
        pools
            .entry(row.plan_id)
            .or_default()
            .push_back((row.license_id, row.license_key));
    }
    let mut members: Vec<Uuid> = wanted.iter().map(|(_, m, _)| *m).collect();
    members.sort();
    members.dedup();
    sqlx::query!(
        "insert into member_license_use (tenant_id, member_id, held)
         select $1, m, 0 from unnest($2::uuid[]) m
         on conflict (tenant_id, member_id) do nothing",
        tenant_id,
        &members
    )
    .execute(&mut **tx)
    .await?;
    let seats = sqlx::query!(
        r#"select u.member_id, u.held, license_quota($1, u.member_id, $3) as "quota!"
           from member_license_use u
           where u.tenant_id = $1 and u.member_id = any($2)
           order by u.member_id
           for no key update"#,
        tenant_id,
        &members,
        now
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut room: std::collections::HashMap<Uuid, (i64, i64)> = seats
        .into_iter()
        .map(|s| (s.member_id, (i64::from(s.held), s.quota)))
        .collect();
    let mut results = Vec::with_capacity(wanted.len());
    let (mut given_licenses, mut given_members, mut given_keys) =
        (Vec::new(), Vec::new(), Vec::new());
    for (line, member_id, plan_id) in wanted {
        let Some((held, quota)) = room.get_mut(member_id) else {
            results.push((*line, Outcome::UnknownMember, None));
            continue;
        };
        if *held >= *quota {
            results.push((*line, Outcome::OverQuota, None));
            continue;
        }
        let Some((license_id, key)) = pools.get_mut(plan_id).and_then(|pool| pool.pop_front())
        else {
            results.push((*line, Outcome::NoFreeLicense, None));
            continue;
        };
        *held += 1;
        given_licenses.push(license_id);
        given_members.push(*member_id);
        given_keys.push(key);
        results.push((*line, Outcome::Assigned, Some(license_id)));
    }
    if given_licenses.is_empty() {
        return Ok(results);
    }
    let client_id = access
        .principal
        .admin_id
        .is_none()
        .then(|| access.principal.label.clone());
    sqlx::query!(
        "update licenses l set member_id = u.member_id, assigned_at = $4, row_version = l.row_version + 1,
                               updated_at = now()
         from unnest($2::uuid[], $3::uuid[]) as u(license_id, member_id)
         where l.tenant_id = $1 and l.license_id = u.license_id",
        tenant_id,
        &given_licenses,
        &given_members,
        now
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "update member_license_use s set held = s.held + u.k
         from (select m, count(*)::int as k from unnest($2::uuid[]) m group by m) u
         where s.tenant_id = $1 and s.member_id = u.m",
        tenant_id,
        &given_members
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        r#"with given as (
             select u.license_id, u.member_id, u.license_key
             from unnest($2::uuid[], $3::uuid[], $4::text[]) as u(license_id, member_id, license_key)
           ), assignments as (
             insert into license_assignments (tenant_id, license_id, member_id, assigned_at, assigned_by,
                                              client_id, method, batch_id)
             select $1, license_id, member_id, $5, $6, $7, 'batch', $8 from given
           ), events as (
             insert into license_events (tenant_id, license_id, member_id, kind, cause, actor_id)
             select $1, license_id, member_id, 'assigned', 'batch', $6 from given
           )
           insert into outbox_events (tenant_id, topic, payload, status)
           select $1, 'license.assigned',
                  jsonb_build_object('license_id', g.license_id, 'license_key', g.license_key,
                                     'member_id', g.member_id, 'external_id', p.external_id,
                                     'batch_id', $8::uuid),
                  case when exists (select 1 from tenant_settings s
                                    where s.tenant_id = $1 and s.webhook_url is not null)
                       then 'pending' else 'skipped' end
           from given g
           join member_profiles p on p.tenant_id = $1 and p.member_id = g.member_id"#,
        tenant_id,
        &given_licenses,
        &given_members,
        &given_keys,
        now,
        access.principal.admin_id,
        client_id,
        batch_id
    )
    .execute(&mut **tx)
    .await?;
    // One audit row per chunk, naming every seat it gave.
    let seats: Vec<serde_json::Value> = given_licenses
        .iter()
        .zip(&given_members)
        .zip(&given_keys)
        .map(|((license_id, member_id), key)| {
            json!({ "license_id": license_id, "license_key": key, "member_id": member_id })
        })
        .collect();
    audit::record(
        tx,
        access,
        audit::Event {
            action: "license.batch_assign",
            target_type: "license_batch",
            target_id: batch_id.to_string(),
            before: None,
            after: Some(json!({ "assigned": seats.len(), "seats": seats })),
        },
    )
    .await?;
    Ok(results)
}
