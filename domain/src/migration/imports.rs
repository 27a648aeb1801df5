//! Legacy imports streamed from a file or an upload, and their stored reports.
//!
//! [`stage`] streams one file into an [`Import`] and writes its report
//! (`legacy_imports`) on the import's own transaction, which it leaves open: the caller
//! commits ([`Staged::commit`]) once every file of the request was read, so an upload
//! of both files stores both or neither, and a report exists exactly when its rows were
//! committed. A file is refused whole, with nothing stored, when it is not UTF-8
//! (`NotUtf8` naming the first line), larger than the caller's limit (`TooLarge`), has
//! no header or a header other than its columns, or the stream breaks off (`Format`):
//! refusals of the file itself name its form field (`types`, `members`), refusals of
//! the header name the missing column. Bad *rows* are not refusals: they are counted
//! and listed in the report.
//!
//! Tenant admins import; every role reads the reports ([`recent`], [`get`]).

use chrono::{DateTime, Utc};
/// The upload's byte stream (re-exported so callers need no stream crate of their own).
pub use futures_util::Stream;
use futures_util::StreamExt;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::import::Import;
use crate::{Access, Error, Problem, Result, Role};
pub use model::migration::imports::{
    BAD_ROWS_IN_LIST, ImportKind, ImportRecord, RECENT_IMPORTS_MAX, UPLOAD_BYTES_MAX,
};
pub use model::migration::legacy::ImportReport;

/// The longest file name kept (the `legacy_imports_file_name` constraint).
pub const FILE_NAME_LENGTH_MAX: usize = 200;

/// An import read and written but not yet committed.
pub struct Staged {
    tx: Transaction<'static, Postgres>,
    /// What the import did (`imported_by` is the principal's label until read back).
    pub record: ImportRecord,
    /// The file's size.
    pub bytes: usize,
}

impl Staged {
    /// Commits the import's rows, its audit row and its report together.
    pub async fn commit(self) -> Result<ImportRecord> {
        self.tx.commit().await?;
        Ok(self.record)
    }
}

/// Streams one file into an import of `kind` and writes its report, without
/// committing (tenant admins). `bytes_max`: the largest file accepted (`None`: any
/// size, for the command line). See the module's documentation for the refusals.
pub async fn stage<S, B, E>(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    kind: ImportKind,
    file_name: &str,
    mut body: S,
    bytes_max: Option<usize>,
) -> Result<Staged>
where
    S: Stream<Item = std::result::Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    access.require(Role::TenantAdmin)?;
    let refused = |problem| Error::invalid(kind.field(), problem);
    let mut import = Import::begin(db, access, now, kind).await?;
    let mut utf8 = Utf8Check::default();
    let mut bytes = 0usize;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| {
            tracing::info!(%error, "legacy import stream broke off");
            refused(Problem::Format)
        })?;
        let chunk = chunk.as_ref();
        bytes = bytes.saturating_add(chunk.len());
        if let Some(max) = bytes_max.filter(|max| bytes > *max) {
            return Err(refused(Problem::TooLarge {
                max: i64::try_from(max).unwrap_or(i64::MAX),
            }));
        }
        utf8.push(chunk)
            .map_err(|line| refused(Problem::NotUtf8 { line }))?;
        import.push(chunk).await.map_err(|e| for_file(kind, e))?;
    }
    utf8.finish()
        .map_err(|line| refused(Problem::NotUtf8 { line }))?;
    let (report, mut tx) = import.complete().await.map_err(|e| for_file(kind, e))?;
    let record = ImportRecord {
        import_id: Uuid::new_v4(),
        kind,
        file_name: clean_file_name(file_name, kind),
        report,
        imported_by: Some(access.principal.label.clone()),
        imported_at: now,
    };
    let report_json = serde_json::to_value(&record.report)
        .map_err(|error| Error::Internal(format!("import report not serialisable: {error}")))?;
    sqlx::query!(
        "insert into legacy_imports (tenant_id, import_id, kind, file_name, report, imported_by, imported_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
        access.tenant_id,
        record.import_id,
        kind.as_str(),
        record.file_name,
        report_json,
        access.principal.admin_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    Ok(Staged { tx, record, bytes })
}

/// [`stage`] and commit: one file imported on its own.
pub async fn import_file<S, B, E>(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    kind: ImportKind,
    file_name: &str,
    body: S,
    bytes_max: Option<usize>,
) -> Result<ImportRecord>
where
    S: Stream<Item = std::result::Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    stage(db, access, now, kind, file_name, body, bytes_max)
        .await?
        .commit()
        .await
}

/// The tenant's latest imports, newest first, each listing its first
/// [`BAD_ROWS_IN_LIST`] bad rows (every role).
pub async fn recent(db: &PgPool, access: &Access) -> Result<Vec<ImportRecord>> {
    access.require(Role::Viewer)?;
    let rows = sqlx::query!(
        r#"select i.import_id, i.kind, i.file_name, i.report, a.email as "imported_by?", i.imported_at
           from legacy_imports i left join admins a on a.admin_id = i.imported_by
           where i.tenant_id = $1
           order by i.imported_at desc, i.import_id
           limit $2"#,
        access.tenant_id,
        RECENT_IMPORTS_MAX
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            let mut record = record(
                row.import_id,
                &row.kind,
                row.file_name,
                row.report,
                row.imported_by,
                row.imported_at,
            )?;
            record.report.bad.truncate(BAD_ROWS_IN_LIST);
            Ok(record)
        })
        .collect()
}

/// One import with every bad row its report kept (every role); another tenant's is
/// not found.
pub async fn get(db: &PgPool, access: &Access, import_id: Uuid) -> Result<ImportRecord> {
    access.require(Role::Viewer)?;
    let row = sqlx::query!(
        r#"select i.import_id, i.kind, i.file_name, i.report, a.email as "imported_by?", i.imported_at
           from legacy_imports i left join admins a on a.admin_id = i.imported_by
           where i.tenant_id = $1 and i.import_id = $2"#,
        access.tenant_id,
        import_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("legacy_import"))?;
    record(
        row.import_id,
        &row.kind,
        row.file_name,
        row.report,
        row.imported_by,
        row.imported_at,
    )
}

fn record(
    import_id: Uuid,
    kind: &str,
    file_name: String,
    report: serde_json::Value,
    imported_by: Option<String>,
    imported_at: DateTime<Utc>,
) -> Result<ImportRecord> {
    let report = serde_json::from_value(report)
        .map_err(|error| Error::Internal(format!("stored import report unreadable: {error}")))?;
    Ok(ImportRecord {
        import_id,
        kind: ImportKind::parse(kind)?,
        file_name,
        report,
        imported_by,
        imported_at,
    })
}

/// A refusal of the file itself (`file`) names the file's form field; refusals of a
/// header column keep the column (the two kinds' columns differ, so the column says
/// which file).
fn for_file(kind: ImportKind, error: Error) -> Error {
    match error {
        Error::Invalid {
            field: "file",
            problem,
        } => Error::invalid(kind.field(), problem),
        other => other,
    }
}

/// The name a person recognises: no directories, no control characters, at most
/// [`FILE_NAME_LENGTH_MAX`] characters; the kind's default when nothing is left.
fn clean_file_name(name: &str, kind: ImportKind) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(FILE_NAME_LENGTH_MAX)
        .collect();
    match cleaned.trim() {
        "" => format!("{}.csv", kind.field()),
        name => name.to_owned(),
    }
}

/// Checks that a stream of chunks is UTF-8 as it arrives (a character may be split
/// between chunks), counting lines so a refusal can name the first bad one.
#[derive(Debug, Default)]
struct Utf8Check {
    /// The start of a character cut off at the end of the previous chunk (at most 3
    /// bytes).
    carry: Vec<u8>,
    /// Line breaks seen so far.
    breaks: u32,
}

impl Utf8Check {
    /// `Err(line)` at the first byte that cannot be UTF-8.
    fn push(&mut self, chunk: &[u8]) -> std::result::Result<(), u32> {
        let joined;
        let bytes = if self.carry.is_empty() {
            chunk
        } else {
            joined = [std::mem::take(&mut self.carry).as_slice(), chunk].concat();
            joined.as_slice()
        };
        match std::str::from_utf8(bytes) {
            Ok(_) => {
                self.count(bytes);
                Ok(())
            }
            Err(error) => {
                let valid = error.valid_up_to();
                self.count(&bytes[..valid]);
                match error.error_len() {
                    // Cut off mid-character: the next chunk may complete it.
                    None => {
                        self.carry = bytes[valid..].to_vec();
                        Ok(())
                    }
                    Some(_) => Err(self.breaks.saturating_add(1)),
                }
            }
        }
    }

    /// `Err(line)` when the file ends mid-character.
    fn finish(&self) -> std::result::Result<(), u32> {
        if self.carry.is_empty() {
            Ok(())
        } else {
            Err(self.breaks.saturating_add(1))
        }
    }

    fn count(&mut self, bytes: &[u8]) {
        let breaks = bytes.iter().filter(|b| **b == b'\n').count();
        self.breaks = self
            .breaks
            .saturating_add(u32::try_from(breaks).unwrap_or(u32::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(chunks: &[&[u8]]) -> std::result::Result<(), u32> {
        let mut utf8 = Utf8Check::default();
        for chunk in chunks {
            utf8.push(chunk)?;
        }
        utf8.finish()
    }

    #[test]
    fn utf8_split_anywhere_and_bad_bytes_by_line() {
        let text = "id,name\n1,Überträger 中文\n".as_bytes();
        for cut in 0..text.len() {
            assert_eq!(check(&[&text[..cut], &text[cut..]]), Ok(()), "cut at {cut}");
        }
        assert_eq!(check(&[b"a\nb\n", b"m\xE9\n"]), Err(3));
        assert_eq!(check(&[b"a\n\xE4\xB8"]), Err(2));
        assert_eq!(check(&[b"\xFF"]), Err(1));
    }

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(
            clean_file_name("C:\\x\\types.csv", ImportKind::UserTypes),
            "types.csv"
        );
        assert_eq!(
            clean_file_name(" \u{7} ", ImportKind::Members),
            "members.csv"
        );
        assert_eq!(
            clean_file_name(&"a".repeat(300), ImportKind::Members).len(),
            FILE_NAME_LENGTH_MAX
        );
    }
}
