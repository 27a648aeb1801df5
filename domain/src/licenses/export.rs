//! CSV exports of a tenant's licenses and assignments, streamed from the database: rows
//! are read with a cursor-like `fetch` stream and written out in chunks of about
//! [`CHUNK_BYTES`] as they arrive, so a million rows never sit in memory. The role is
//! checked when the export is prepared ([`licenses_csv`], [`assignments_csv`]), before
//! anything is sent, so a refusal is still an HTTP status; [`CsvExport::run`] then
//! writes into a bounded channel and stops as soon as the receiver (the response body)
//! is gone, which ends the query.

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{Access, Error, Result, Role};
use model::csv::{BOM, write_row};
use model::licenses::LicenseState;

/// A chunk is sent once it holds this many bytes.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The header row of the licenses export.
pub const LICENSES_HEADER: [&str; 9] = [
    "key",
    "plan",
    "state",
    "holder_external_id",
    "assigned_at",
    "expires_at",
    "activations",
    "max_activations",
    "last_validated_at",
];

/// The header row of the assignments export.
pub const ASSIGNMENTS_HEADER: [&str; 8] = [
    "key",
    "plan",
    "external_id",
    "method",
    "assigned_at",
    "ended_at",
    "end_kind",
    "end_reason",
];

/// Which rows an export holds: the licenses list's plan and state filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportFilter {
    pub plan_id: Option<Uuid>,
    pub state: Option<LicenseState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Licenses,
    Assignments,
}

/// An export that passed its checks, ready to run.
#[derive(Debug, Clone)]
pub struct CsvExport {
    db: PgPool,
    tenant_id: Uuid,
    now: DateTime<Utc>,
    filter: ExportFilter,
    kind: Kind,
}

/// The licenses export (viewers and up).
pub fn licenses_csv(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    filter: ExportFilter,
) -> Result<CsvExport> {
    access.require(Role::Viewer)?;
    Ok(CsvExport {
        db: db.clone(),
        tenant_id: access.tenant_id,
        now,
        filter,
        kind: Kind::Licenses,
    })
}

/// The assignments export, live and ended (viewers and up); the filters apply to the
/// assigned license (its plan, its state now).
pub fn assignments_csv(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    filter: ExportFilter,
) -> Result<CsvExport> {
    access.require(Role::Viewer)?;
    Ok(CsvExport {
        db: db.clone(),
        tenant_id: access.tenant_id,
        now,
        filter,
        kind: Kind::Assignments,
    })
}

fn time(value: Option<DateTime<Utc>>) -> String {
    value.map_or_else(String::new, |t| {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    })
}

/// Sends `out` if it is full (or `force`); false when the receiver is gone.
async fn send(out: &mut String, sender: &mpsc::Sender<String>, force: bool) -> bool {
    if out.len() < CHUNK_BYTES && (!force || out.is_empty()) {
        return true;
    }
    sender.send(std::mem::take(out)).await.is_ok()
}

impl CsvExport {
    /// The file name offered for the download.
    pub fn file_name(&self) -> String {
        let what = match self.kind {
            Kind::Licenses => "licenses",
            Kind::Assignments => "assignments",
        };
        format!("{what}-{}.csv", self.now.format("%Y-%m-%d"))
    }

    /// Writes the CSV (BOM, header, rows) into `sender` in chunks; answers the rows
    /// written. Returns early, without error, when the receiver is dropped.
    pub async fn run(self, sender: mpsc::Sender<String>) -> Result<u64> {
        let mut out = String::with_capacity(CHUNK_BYTES + 1024);
        out.push_str(BOM);
        let state = self.filter.state.map(LicenseState::as_str);
        let mut written = 0u64;
        match self.kind {
            Kind::Licenses => {
                write_row(&mut out, LICENSES_HEADER);
                let mut rows = sqlx::query!(
                    r#"select l.license_key, p.code as plan_code, m.external_id as "holder?",
                              l.assigned_at, l.expires_at, l.activations, l.max_activations,
                              l.last_validated_at, l.revoked_at is not null as "revoked!",
                              l.suspended_at is not null as "suspended!", l.member_id
                       from licenses l
                       join license_plans p on p.tenant_id = l.tenant_id and p.plan_id = l.plan_id
                       left join member_profiles m on m.tenant_id = l.tenant_id and m.member_id = l.member_id
                       where l.tenant_id = $1 and ($2::uuid is null or l.plan_id = $2)
                         and case $3::text
                               when 'revoked' then l.revoked_at is not null
                               when 'suspended' then l.revoked_at is null and l.suspended_at is not null
                               when 'expired' then l.revoked_at is null and l.suspended_at is null
                                                   and l.expires_at is not null and l.expires_at <= $4
                               when 'assigned' then l.revoked_at is null and l.suspended_at is null
                                                    and (l.expires_at is null or l.expires_at > $4)
                                                    and l.member_id is not null
                               when 'free' then l.revoked_at is null and l.suspended_at is null
                                                and (l.expires_at is null or l.expires_at > $4)
                                                and l.member_id is null
                               else true end
                       order by l.license_key"#,
                    self.tenant_id,
                    self.filter.plan_id,
                    state,
                    self.now
                )
                .fetch(&self.db);
                while let Some(r) = rows.try_next().await.map_err(Error::from)? {
                    let state = model::licenses::state(
                        r.revoked,
                        r.suspended,
                        r.expires_at,
                        r.member_id.is_some(),
                        self.now,
                    );
                    write_row(
                        &mut out,
                        [
                            r.license_key,
                            r.plan_code,
                            state.as_str().to_owned(),
                            r.holder.unwrap_or_default(),
                            time(r.assigned_at),
                            time(r.expires_at),
                            r.activations.to_string(),
                            r.max_activations.to_string(),
                            time(r.last_validated_at),
                        ],
                    );
                    written += 1;
                    if !send(&mut out, &sender, false).await {
                        return Ok(written);
                    }
                }
            }
            Kind::Assignments => {
                write_row(&mut out, ASSIGNMENTS_HEADER);
                let mut rows = sqlx::query!(
                    r#"select l.license_key, p.code as plan_code, m.external_id, s.method,
                              s.assigned_at, s.ended_at, s.end_kind, s.end_reason
                       from license_assignments s
                       join licenses l on l.tenant_id = s.tenant_id and l.license_id = s.license_id
                       join license_plans p on p.tenant_id = l.tenant_id and p.plan_id = l.plan_id
                       join member_profiles m on m.tenant_id = s.tenant_id and m.member_id = s.member_id
                       where s.tenant_id = $1 and ($2::uuid is null or l.plan_id = $2)
                         and case $3::text
                               when 'revoked' then l.revoked_at is not null
                               when 'suspended' then l.revoked_at is null and l.suspended_at is not null
                               when 'expired' then l.revoked_at is null and l.suspended_at is null
                                                   and l.expires_at is not null and l.expires_at <= $4
                               when 'assigned' then l.revoked_at is null and l.suspended_at is null
                                                    and (l.expires_at is null or l.expires_at > $4)
                                                    and l.member_id is not null
                               when 'free' then l.revoked_at is null and l.suspended_at is null
                                                and (l.expires_at is null or l.expires_at > $4)
                                                and l.member_id is null
                               else true end
                       order by s.assigned_at, s.assignment_id"#,
                    self.tenant_id,
                    self.filter.plan_id,
                    state,
                    self.now
                )
                .fetch(&self.db);
                while let Some(r) = rows.try_next().await.map_err(Error::from)? {
                    write_row(
                        &mut out,
                        [
                            r.license_key,
                            r.plan_code,
                            r.external_id,
                            r.method,
                            time(Some(r.assigned_at)),
                            time(r.ended_at),
                            r.end_kind.unwrap_or_default(),
                            r.end_reason.unwrap_or_default(),
                        ],
                    );
                    written += 1;
                    if !send(&mut out, &sender, false).await {
                        return Ok(written);
                    }
                }
            }
        }
        send(&mut out, &sender, true).await;
        Ok(written)
    }
}
