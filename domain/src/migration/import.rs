//! Imports of legacy data from CSV files (RFC 4180, UTF-8, with a header row), streamed:
//! the caller pushes the file's bytes as they arrive and rows are written in batches of
//! [`BATCH_ROWS`] on one transaction, so a file of any size needs memory for one batch.
//! Good rows are upserted by their key (type id, member external id); a row equal to
//! what is stored changes nothing (its `updated_at` does not move: catch-up reads it);
//! bad rows are reported with their line, column and problem. Tenant admins only.
//!
//! Headers: types `id,name,permissions,max_licenses` (permissions separated by `|`);
//! members `external_id,user_type,registered_at,last_login_at,license_count,payment_total`
//! (dates RFC 3339 or `YYYY-MM-DD` at 00:00 UTC, `last_login_at` may be empty, payment a
//! decimal with at most two places). Columns may come in any order; others are refused.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};

use crate::{Access, Error, Problem, Result, Role, access::audit};
use model::csv::{Reader, Record};
pub use model::migration::legacy::{BAD_ROWS_LISTED, BadRow, ImportReport};

/// Rows written per statement.
pub const BATCH_ROWS: usize = 1000;

/// Rows given as values, each checked or refused (see [`Import::upsert`]).
pub enum Rows {
    UserTypes(Vec<std::result::Result<model::migration::legacy::UserType, model::Invalid>>),
    Members(Vec<std::result::Result<model::migration::legacy::Member, model::Invalid>>),
}

/// What is imported (the user types or the members file; its header is
/// [`Kind::columns`]).
pub use model::migration::imports::ImportKind as Kind;

/// One import in progress: push the file's bytes, then [`Import::finish`].
pub struct Import {
    kind: Kind,
    access: Access,
    now: DateTime<Utc>,
    tx: Transaction<'static, Postgres>,
    reader: Reader,
    /// For each expected column, its position in the file's records.
    positions: Option<Vec<usize>>,
    types: Vec<model::migration::legacy::UserType>,
    members: Vec<(u64, model::migration::legacy::Member)>,
    report: ImportReport,
}

fn problem_code(problem: &Problem) -> &'static str {
    match problem {
        Problem::Required => "required",
        Problem::TooShort { .. } => "too_short",
        Problem::TooLong { .. } => "too_long",
        Problem::TooLarge { .. } => "too_large",
        Problem::NotUtf8 { .. } => "encoding",
        Problem::Format | Problem::NotPublic => "format",
    }
}

fn date(field: &'static str, value: &str) -> std::result::Result<DateTime<Utc>, model::Invalid> {
    let value = value.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or(model::Invalid::new(field, Problem::Format))
}

fn integer(
    field: &'static str,
    value: &str,
    min: i64,
    max: i64,
) -> std::result::Result<i64, model::Invalid> {
    let value: i64 = value
        .trim()
        .parse()
        .map_err(|_| model::Invalid::new(field, Problem::Format))?;
    if value < min {
        return Err(model::Invalid::new(field, Problem::Format));
    }
    if value > max {
        return Err(model::Invalid::new(field, Problem::TooLarge { max }));
    }
    Ok(value)
}

impl Import {
    pub async fn begin(
        db: &PgPool,
        access: &Access,
        now: DateTime<Utc>,
        kind: Kind,
    ) -> Result<Import> {
        access.require(Role::TenantAdmin)?;
        Ok(Import {
            kind,
            access: access.clone(),
            now,
            tx: db.begin().await?,
            reader: Reader::new(),
            positions: None,
            types: Vec::new(),
            members: Vec::new(),
            report: ImportReport::default(),
        })
    }

    /// Upserts rows given as values (the REST API's legacy endpoints), checked by
    /// [`checked_type`] / [`checked_member`]: written, counted, reported (a bad row's
    /// `line` is its position from 1) and audited as a file's rows are, in one
    /// transaction.
    pub async fn upsert(
        db: &PgPool,
        access: &Access,
        now: DateTime<Utc>,
        rows: Rows,
    ) -> Result<ImportReport> {
        let kind = match rows {
            Rows::UserTypes(_) => Kind::UserTypes,
            Rows::Members(_) => Kind::Members,
        };
        let mut import = Import::begin(db, access, now, kind).await?;
        import.positions = Some(Vec::new());
        match rows {
            Rows::UserTypes(types) => {
                for (index, row) in types.into_iter().enumerate() {
                    import.report.rows += 1;
                    match row {
                        Ok(t) => import.types.push(t),
                        Err(invalid) => import.bad(
                            index as u64 + 1,
                            invalid.field,
                            problem_code(&invalid.problem),
                        ),
                    }
                }
            }
            Rows::Members(members) => {
                for (index, row) in members.into_iter().enumerate() {
                    import.report.rows += 1;
                    match row {
                        Ok(m) => import.members.push((index as u64 + 1, m)),
                        Err(invalid) => import.bad(
                            index as u64 + 1,
                            invalid.field,
                            problem_code(&invalid.problem),
                        ),
                    }
                }
            }
        }
        import.finish().await
    }

    /// Reads the next bytes of the file.
    pub async fn push(&mut self, bytes: &[u8]) -> Result<()> {
        for record in self.reader.push(bytes) {
            self.record(record).await?;
        }
        Ok(())
    }

    /// Reads the end of the file, writes what is left, audits and commits. A file with
    /// no header, or a header missing a column, is refused and nothing is stored.
    pub async fn finish(self) -> Result<ImportReport> {
        let (report, tx) = self.complete().await?;
        tx.commit().await?;
        Ok(report)
    }

    /// [`Import::finish`] without the commit: the caller writes more on the same
    /// transaction (the stored report, `imports::stage`) and commits it.
    pub async fn complete(mut self) -> Result<(ImportReport, Transaction<'static, Postgres>)> {
        let reader = std::mem::take(&mut self.reader);
        if let Some(record) = reader.finish() {
            self.record(record).await?;
        }
        if self.positions.is_none() {
            return Err(Error::invalid("file", Problem::Required));
        }
        self.flush().await?;
        let action = match self.kind {
            Kind::UserTypes => "legacy.import_types",
            Kind::Members => "legacy.import_members",
        };
        let report = self.report.clone();
        audit::record(
            &mut self.tx,
            &self.access,
            audit::Event {
                action,
                target_type: "tenant",
                target_id: self.access.tenant_id.to_string(),
                before: None,
                after: Some(json!({
                    "rows": report.rows, "inserted": report.inserted, "updated": report.updated,
                    "unchanged": report.unchanged, "bad": report.bad_total,
                })),
            },
        )
        .await?;
        Ok((report, self.tx))
    }

    fn bad(&mut self, line: u64, field: &str, problem: &str) {
        self.report.bad_total += 1;
        if self.report.bad.len() < BAD_ROWS_LISTED {
            self.report.bad.push(BadRow {
                line,
                field: field.to_owned(),
                problem: problem.to_owned(),
            });
        }
    }

    async fn record(&mut self, record: Record) -> Result<()> {
        let fields = match record.fields {
            Ok(fields) => fields,
            // An unreadable header: this is not the file it should be.
            Err(_) if self.positions.is_none() => {
                return Err(Error::invalid("file", Problem::Format));
            }
            Err(error) => {
                self.report.rows += 1;
                self.bad(record.line, "record", error.as_str());
                return Ok(());
            }
        };
        let Some(positions) = &self.positions else {
            // The header: every expected column once, nothing else.
            let names: Vec<String> = fields
                .iter()
                .map(|f| f.trim().to_ascii_lowercase())
                .collect();
            let mut positions = Vec::new();
            for column in self.kind.columns() {
                match names.iter().position(|n| n == column) {
                    Some(at) => positions.push(at),
                    None => return Err(Error::invalid(column, Problem::Required)),
                }
            }
            if names.len() != positions.len() {
                return Err(Error::invalid("file", Problem::Format));
            }
            self.positions = Some(positions);
            return Ok(());
        };
        self.report.rows += 1;
        if fields.len() != positions.len() {
            self.bad(record.line, "record", "columns");
            return Ok(());
        }
        let value: Vec<&str> = positions.iter().map(|&at| fields[at].as_str()).collect();
        let parsed = match self.kind {
            Kind::UserTypes => parse_type(&value).map(|t| self.types.push(t)),
            Kind::Members => parse_member(&value).map(|m| self.members.push((record.line, m))),
        };
        if let Err(invalid) = parsed {
            self.bad(record.line, invalid.field, problem_code(&invalid.problem));
        }
        if self.types.len() + self.members.len() >= BATCH_ROWS {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        match self.kind {
            Kind::UserTypes => {
                let mut types = std::mem::take(&mut self.types);
                // A type listed twice: the last line wins.
                types.reverse();
                let mut seen = std::collections::HashSet::new();
                types.retain(|t| seen.insert(t.type_id));
                for t in types {
                    let changed = sqlx::query_scalar!(
                        r#"insert into legacy_user_types as t (tenant_id, type_id, name, permissions, max_licenses, updated_at)
                           values ($1, $2, $3, $4, $5, $6)
                           on conflict (tenant_id, type_id) do update
                             set name = excluded.name, permissions = excluded.permissions,
                                 max_licenses = excluded.max_licenses, updated_at = excluded.updated_at
                             where (t.name, t.permissions, t.max_licenses)
                                   is distinct from (excluded.name, excluded.permissions, excluded.max_licenses)
                           returning (xmax = 0) as "inserted!""#,
                        self.access.tenant_id,
                        t.type_id,
                        t.name,
                        &t.permissions,
                        t.max_licenses,
                        self.now
                    )
                    .fetch_optional(&mut *self.tx)
                    .await?;
                    self.count(changed);
                }
            }
            Kind::Members => {
                let mut members = std::mem::take(&mut self.members);
                // An external id twice in one batch: the last line wins, the earlier is
                // reported (one statement cannot write a row twice).
                members.reverse();
                let mut seen = std::collections::HashSet::new();
                let mut duplicates = Vec::new();
                members.retain(|(line, m)| {
                    let first = seen.insert(m.external_id.clone());
                    if !first {
                        duplicates.push(*line);
                    }
                    first
                });
                for line in duplicates {
                    self.bad(line, "external_id", "duplicate");
                }
                let ids: Vec<String> = members.iter().map(|(_, m)| m.external_id.clone()).collect();
                let types: Vec<i32> = members.iter().map(|(_, m)| m.user_type).collect();
                let registered: Vec<DateTime<Utc>> =
                    members.iter().map(|(_, m)| m.registered_at).collect();
                let logins: Vec<Option<DateTime<Utc>>> =
                    members.iter().map(|(_, m)| m.last_login_at).collect();
                let licenses: Vec<i32> = members.iter().map(|(_, m)| m.license_count).collect();
                let payments: Vec<i64> =
                    members.iter().map(|(_, m)| m.payment_total_cents).collect();
                let changed = sqlx::query_scalar!(
                    r#"insert into legacy_members as m (tenant_id, external_id, user_type, registered_at, last_login_at,
                                                        license_count, payment_total_cents, updated_at)
                       select $1, * , $8 from unnest($2::text[], $3::int[], $4::timestamptz[], $5::timestamptz[],
                                                    $6::int[], $7::bigint[])
                       on conflict (tenant_id, external_id) do update
                         set user_type = excluded.user_type, registered_at = excluded.registered_at,
                             last_login_at = excluded.last_login_at, license_count = excluded.license_count,
                             payment_total_cents = excluded.payment_total_cents, updated_at = excluded.updated_at
                         where (m.user_type, m.registered_at, m.last_login_at, m.license_count, m.payment_total_cents)
                               is distinct from (excluded.user_type, excluded.registered_at, excluded.last_login_at,
                                                 excluded.license_count, excluded.payment_total_cents)
                       returning (xmax = 0) as "inserted!""#,
                    self.access.tenant_id,
                    &ids,
                    &types,
                    &registered,
                    &logins as &[Option<DateTime<Utc>>],
                    &licenses,
                    &payments,
                    self.now
                )
                .fetch_all(&mut *self.tx)
                .await?;
                let written = changed.len() as u64;
                let inserted = changed.iter().filter(|i| **i).count() as u64;
                self.report.inserted += inserted;
                self.report.updated += written - inserted;
                self.report.unchanged += ids.len() as u64 - written;
            }
        }
        Ok(())
    }

    fn count(&mut self, changed: Option<bool>) {
        match changed {
            Some(true) => self.report.inserted += 1,
            Some(false) => self.report.updated += 1,
            None => self.report.unchanged += 1,
        }
    }
}

fn parse_type(
    value: &[&str],
) -> std::result::Result<model::migration::legacy::UserType, model::Invalid> {
    let type_id = integer("id", value[0], 0, 1_000_000)?;
    let keys: Vec<String> = value[2].split('|').map(str::to_owned).collect();
    let max_licenses = integer("max_licenses", value[3], 0, 1_000_000)?;
    checked_type(type_id, value[1], &keys, max_licenses)
}

/// A user type given as values (the REST API), checked as a file's row is.
pub fn checked_type(
    type_id: i64,
    name: &str,
    permissions: &[String],
    max_licenses: i64,
) -> std::result::Result<model::migration::legacy::UserType, model::Invalid> {
    let type_id = in_range("id", type_id, 0, 1_000_000)?;
    let name = model::input::name("name", name)?;
    if name.chars().count() > 100 {
        return Err(model::Invalid::new("name", Problem::TooLong { max: 100 }));
    }
    let permissions = model::input::permissions(permissions)?;
    let max_licenses = in_range("max_licenses", max_licenses, 0, 1_000_000)?;
    Ok(model::migration::legacy::UserType {
        type_id,
        name,
        permissions,
        max_licenses,
    })
}

fn in_range(
    field: &'static str,
    value: i64,
    min: i64,
    max: i64,
) -> std::result::Result<i32, model::Invalid> {
    if value < min {
        return Err(model::Invalid::new(field, Problem::Format));
    }
    if value > max {
        return Err(model::Invalid::new(field, Problem::TooLarge { max }));
    }
    Ok(value as i32)
}

fn parse_member(
    value: &[&str],
) -> std::result::Result<model::migration::legacy::Member, model::Invalid> {
    let last_login_at = match value[3].trim() {
        "" => None,
        text => Some(date("last_login_at", text)?),
    };
    let payment = value[5].trim();
    checked_member(
        value[0],
        integer("user_type", value[1], 0, 1_000_000)?,
        date("registered_at", value[2])?,
        last_login_at,
        integer("license_count", value[4], 0, 1_000_000)?,
        if payment.is_empty() {
            0
        } else {
            model::migration::parse_cents("payment_total", payment)?
        },
    )
}

/// A legacy member given as values (the REST API), checked as a file's row is.
pub fn checked_member(
    external_id: &str,
    user_type: i64,
    registered_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
    license_count: i64,
    payment_total_cents: i64,
) -> std::result::Result<model::migration::legacy::Member, model::Invalid> {
    let external_id = external_id.trim();
    if external_id.is_empty() {
        return Err(model::Invalid::new("external_id", Problem::Required));
    }
    model::input::plain_text("external_id", external_id)?;
    if external_id.chars().count() > 128 {
        return Err(model::Invalid::new(
            "external_id",
            Problem::TooLong { max: 128 },
        ));
    }
    if payment_total_cents < 0 {
        return Err(model::Invalid::new("payment_total_cents", Problem::Format));
    }
    // Years 1 to 9999 (what PostgreSQL and RFC 3339 both hold).
    for (field, at) in [
        ("registered_at", Some(registered_at)),
        ("last_login_at", last_login_at),
    ] {
        if at.is_some_and(|at| !(1..=9999).contains(&chrono::Datelike::year(&at))) {
            return Err(model::Invalid::new(field, Problem::Format));
        }
    }
    Ok(model::migration::legacy::Member {
        external_id: external_id.to_owned(),
        user_type: in_range("user_type", user_type, 0, 1_000_000)?,
        registered_at,
        last_login_at,
        license_count: in_range("license_count", license_count, 0, 1_000_000)?,
        payment_total_cents,
    })
}
