//! The migration's steps as the console and the CLI show them: the routing switch,
//! checkpoints, pre-flight statistics, the dry run, runs with their batches, validation,
//! reconciliation and the blast radius of a rollback.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which model answers a member's permission and quota questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    Legacy,
    New,
}

impl Model {
    pub fn as_str(self) -> &'static str {
        match self {
            Model::Legacy => "legacy",
            Model::New => "new",
        }
    }

    pub fn parse(value: &str) -> Option<Model> {
        match value {
            "legacy" => Some(Model::Legacy),
            "new" => Some(Model::New),
            _ => None,
        }
    }
}

/// The tenant-wide switch: `Legacy` answers every member who has a legacy row the
/// legacy way (the default, and the kill switch); `New` answers migrated members from
/// the new model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    pub mode: Model,
    pub changed_at: Option<DateTime<Utc>>,
    pub changed_by: Option<String>,
}

/// A routed permission answer: which model gave it, and what it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub model: Model,
    pub allowed: bool,
    pub max_licenses: i64,
}

/// One table of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSum {
    pub table: String,
    pub rows: i64,
    /// Order-independent: the sum of a 60-bit hash of every row's full text.
    pub checksum: String,
}

/// Row counts and checksums of the legacy tables and the tenant's target tables at one
/// snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub checkpoint_id: Uuid,
    pub label: String,
    pub tables: Vec<TableSum>,
    pub taken_at: DateTime<Utc>,
    pub taken_by: Option<String>,
}

impl Checkpoint {
    /// The tables whose count or checksum differs from `other`'s (tables missing on
    /// either side included).
    pub fn differences(&self, other: &Checkpoint) -> Vec<String> {
        let mut differ = Vec::new();
        for table in &self.tables {
            if other.tables.iter().all(|t| t != table) {
                differ.push(table.table.clone());
            }
        }
        for table in &other.tables {
            if self.tables.iter().all(|t| t.table != table.table) {
                differ.push(table.table.clone());
            }
        }
        differ
    }
}

/// The legacy tables' figures the pre-flight records (seed 001's statistics snapshot).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    pub members: i64,
    pub per_type: Vec<super::legacy::TypeCount>,
    pub license_count_sum: i64,
    pub payment_cents_sum: i64,
    pub registered_days_sum: i64,
    pub logged_in_7d: i64,
    pub logged_in_30d: i64,
    pub never_logged_in: i64,
    pub already_migrated: i64,
}

/// The pre-flight: statistics and a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preflight {
    pub statistics: Statistics,
    pub checkpoint: Checkpoint,
}

/// Members in a range of points, a level, a tag, …
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// A stable code (a tier or tag code, a bucket's lower bound, a problem code); empty
    /// for "none".
    pub code: String,
    pub name_en: String,
    pub name_zh: String,
    pub members: i64,
}

/// A permission key on which the two models disagree: members the legacy model grants
/// it and the new one would not (`missing`), and the reverse (`extra`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDiff {
    pub key: String,
    pub missing: i64,
    pub extra: i64,
}

/// A member named as an example, with what is notable about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub external_id: String,
    /// A stable code: `quota_lower`, `unknown_type`, `future_registration`, …
    pub kind: String,
    /// Two numbers the kind is about (legacy and new quota; points before and after; …).
    pub before: Option<i64>,
    pub after: Option<i64>,
}

/// Members of a kind (a problem, a warning) with a few examples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: String,
    pub members: i64,
    pub examples: Vec<String>,
}

/// What a migration of the selection would do, computed without writing anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRun {
    pub at: DateTime<Utc>,
    pub as_of: DateTime<Utc>,
    pub settings_version: i32,
    /// Legacy members in the selection.
    pub members: i64,
    /// Of those, migrated already (skipped by a run).
    pub already_migrated: i64,
    /// Would be migrated.
    pub migratable: i64,
    pub points_total: i64,
    /// Quantiles of a migrated member's historical points: 0, 25, 50, 75, 90, 99, 100 %.
    pub points_quantiles: Vec<i64>,
    /// Members per points range (`code` is the range's lower bound).
    pub points_buckets: Vec<Count>,
    /// Points per formula part (`code` is the part's category).
    pub points_by_part: Vec<Count>,
    pub levels: Vec<Count>,
    pub tags: Vec<Count>,
    /// License quota legacy vs new, per member.
    pub quota_lower: i64,
    pub quota_equal: i64,
    pub quota_higher: i64,
    pub quota_lower_examples: Vec<Example>,
    /// Rows that cannot be migrated, by reason.
    pub unmigratable: Vec<Finding>,
    /// Rows migrated with a rule applied (future dates, refunds, capped parts).
    pub warnings: Vec<Finding>,
    /// Predicted permission agreement: over every (member, permission key) pair of the
    /// tenant's keys, how many both models answer alike.
    pub keys: Vec<KeyDiff>,
    pub agreement_pairs: i64,
    pub agreement_equal: i64,
    /// Members whose whole permission set is the same in both models.
    pub members_identical: i64,
    pub elapsed_ms: i64,
}

impl DryRun {
    /// The predicted agreement in per mille (1000: every answer alike).
    pub fn agreement_permille(&self) -> i64 {
        if self.agreement_pairs == 0 {
            1000
        } else {
            self.agreement_equal * 1000 / self.agreement_pairs
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Migrate,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackMode {
    /// Every member answered by the legacy model at once (the switch goes to legacy),
    /// then every migrated member neutralised.
    Emergency,
    /// A share or a set of the migrated members.
    Gradual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Paused,
    Cancelled,
    Completed,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<RunStatus> {
        Some(match value {
            "running" => RunStatus::Running,
            "paused" => RunStatus::Paused,
            "cancelled" => RunStatus::Cancelled,
            "completed" => RunStatus::Completed,
            "failed" => RunStatus::Failed,
            _ => return None,
        })
    }

    /// Running or paused: the tenant's one active run.
    pub fn active(self) -> bool {
        matches!(self, RunStatus::Running | RunStatus::Paused)
    }
}

/// Which members a run takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Every legacy member (a rollback: every migrated member).
    All,
    /// These external ids (at most [`SELECTION_MAX`]).
    Members(Vec<String>),
    /// About this percentage (1–100) of them, by a stable hash of the external id.
    Share(i32),
}

/// Members a listed selection may name.
pub const SELECTION_MAX: usize = 200_000;

/// A run as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub run_id: Uuid,
    pub kind: RunKind,
    pub rollback_mode: Option<RollbackMode>,
    pub status: RunStatus,
    /// `all`, `members` or `share`.
    pub selection: String,
    pub share: Option<i32>,
    pub settings_version: i32,
    pub as_of: DateTime<Utc>,
    pub total: i64,
    pub done: i64,
    pub skipped: i64,
    pub errors: i64,
    pub batches: i32,
    pub batch_size: i32,
    pub last_batch_ms: Option<i32>,
    pub started_by: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Run {
    /// Members handled (done, skipped or failed) of the total.
    pub fn handled(&self) -> i64 {
        self.done + self.skipped + self.errors
    }

    /// Members per second so far.
    pub fn rate(&self) -> f64 {
        let end = self.finished_at.unwrap_or(self.updated_at);
        let seconds = (end - self.started_at).num_milliseconds() as f64 / 1000.0;
        if seconds <= 0.0 {
            0.0
        } else {
            self.handled() as f64 / seconds
        }
    }

    /// Seconds left at the rate so far (running runs only).
    pub fn eta_seconds(&self) -> Option<i64> {
        let rate = self.rate();
        (self.status == RunStatus::Running && rate > 0.0)
            .then(|| ((self.total - self.handled()).max(0) as f64 / rate).ceil() as i64)
    }
}

/// A committed batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub batch_no: i32,
    pub first_id: String,
    pub last_id: String,
    pub members: i32,
    pub skipped: i32,
    pub errors: i32,
    pub ms: i32,
    pub committed_at: DateTime<Utc>,
}

/// A member a run could not take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunError {
    pub external_id: String,
    pub problem: String,
    pub at: DateTime<Utc>,
}

/// A run with its latest batches and errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: Run,
    pub batches: Vec<Batch>,
    pub errors: Vec<RunError>,
}

/// The validation of migrated members (and the fixes it applied, when asked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub at: DateTime<Utc>,
    pub members: i64,
    /// Per kind (`level`, `balance`, `tag_missing`, `tag_extra`, `quota_lower`): members
    /// found, with examples.
    pub findings: Vec<Finding>,
    /// Fixes applied (every kind but `quota_lower`, which is reported only).
    pub fixed: i64,
}

impl Validation {
    /// Problems left after the fixes.
    pub fn problems(&self) -> i64 {
        self.findings.iter().map(|f| f.members).sum::<i64>() - self.fixed
    }
}

/// What catch-up did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatchUp {
    pub members: i64,
    /// Net points added (negative: taken back) by the catch-up's entries.
    pub points: i64,
    /// Points a decrease could not take back (already spent).
    pub shortfall: i64,
    pub tags_changed: i64,
}

/// The reconciliation: the mapping recomputed on the legacy source against what the
/// target holds, per member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    pub at: DateTime<Utc>,
    /// Migrated members compared.
    pub compared: i64,
    pub matching: i64,
    /// Per kind (`points`, `tag`, `legacy_missing`, `stale`): members, with examples.
    pub findings: Vec<Finding>,
    /// Legacy members without a live migration (not migrated, or rolled back).
    pub not_migrated: i64,
    /// Order-independent checksums of (member, points per part, tag): expected from the
    /// legacy source and the mapping, actual from the ledger and the grants.
    pub expected_checksum: String,
    pub actual_checksum: String,
}

/// What a rollback of a selection would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlastRadius {
    pub at: DateTime<Utc>,
    pub mode: RollbackMode,
    /// Migrated members the rollback takes.
    pub members: i64,
    /// Members answered by the new model now (they change model).
    pub answered_new: i64,
    /// Per key: members who would lose it (`missing`: the new model grants it, legacy
    /// not) and gain it (`extra`).
    pub keys: Vec<KeyDiff>,
    pub quota_lower: i64,
    pub quota_higher: i64,
    /// Members with activity in the new model since their migration (entries that are
    /// not the migration's, grants, seats): kept, never deleted.
    pub with_activity: i64,
    pub activity_examples: Vec<Example>,
    /// Members who spent migrated points: reversed down to zero, the rest reported.
    pub shortfall_members: i64,
    pub shortfall_points: i64,
    pub shortfall_examples: Vec<Example>,
    /// Migration points the rollback takes back.
    pub points_reversed: i64,
}

/// Every report kind, latest first, as the console lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportInfo {
    pub report_id: Uuid,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(table: &str, rows: i64, checksum: &str) -> TableSum {
        TableSum {
            table: table.into(),
            rows,
            checksum: checksum.into(),
        }
    }

    #[test]
    fn checkpoints_compare_by_table() {
        let at = Utc::now();
        let a = Checkpoint {
            checkpoint_id: Uuid::nil(),
            label: "a".into(),
            tables: vec![sum("legacy_members", 3, "1"), sum("points_ledger", 0, "0")],
            taken_at: at,
            taken_by: None,
        };
        let mut b = a.clone();
        assert!(a.differences(&b).is_empty());
        b.tables[1] = sum("points_ledger", 4, "99");
        b.tables.push(sum("tag_grants", 0, "0"));
        assert_eq!(a.differences(&b), vec!["points_ledger", "tag_grants"]);
    }

    #[test]
    fn progress_and_eta() {
        let start = Utc::now();
        let run = Run {
            run_id: Uuid::nil(),
            kind: RunKind::Migrate,
            rollback_mode: None,
            status: RunStatus::Running,
            selection: "all".into(),
            share: None,
            settings_version: 0,
            as_of: start,
            total: 1000,
            done: 200,
            skipped: 40,
            errors: 10,
            batches: 3,
            batch_size: 100,
            last_batch_ms: Some(10),
            started_by: None,
            started_at: start,
            updated_at: start + chrono::Duration::seconds(10),
            finished_at: None,
        };
        assert_eq!(run.handled(), 250);
        assert!((run.rate() - 25.0).abs() < 1e-9);
        assert_eq!(run.eta_seconds(), Some(30));
    }
}
