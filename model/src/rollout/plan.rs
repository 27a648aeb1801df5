//! A rollout as the console, the CLI and the API see it: its stages, the routing of
//! each decision, the cohort and the moves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::cohort::{Strata, Stratum};
use super::score::{Blocker, Score};
use crate::migration::run::Model;
use crate::{Checked, Invalid, Problem};

/// The decisions routed one at a time (seed 002 switches job by job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Whether a member has a permission key.
    Permission,
    /// The member's license quota.
    Quota,
    /// The member's level and points.
    Summary,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 3] = [
        DecisionKind::Permission,
        DecisionKind::Quota,
        DecisionKind::Summary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Permission => "permission",
            DecisionKind::Quota => "quota",
            DecisionKind::Summary => "summary",
        }
    }

    pub fn parse(value: &str) -> Option<DecisionKind> {
        DecisionKind::ALL.into_iter().find(|d| d.as_str() == value)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// How one decision is routed for the cohort (LaunchDarkly's migration stages, without
/// the dual writes: the legacy model is read-only here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The legacy model answers; nothing is compared.
    Off,
    /// The legacy model answers; the new one is computed beside it and compared.
    Shadow,
    /// The new model answers; the legacy one is still compared.
    Live,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Off, Mode::Shadow, Mode::Live];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Shadow => "shadow",
            Mode::Live => "live",
        }
    }

    pub fn parse(value: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == value)
    }

    /// The model that answers a migrated member of the cohort.
    pub fn routed(self) -> Model {
        match self {
            Mode::Live => Model::New,
            Mode::Off | Mode::Shadow => Model::Legacy,
        }
    }

    /// Whether the other model is computed and compared.
    pub fn compares(self) -> bool {
        self != Mode::Off
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStatus {
    Running,
    /// By hand or by a guardrail (`pause_reason` says which): no stage moves; routing
    /// stays as it is.
    Paused,
    /// Every member is in, every decision live: the rollout is over.
    Completed,
    /// Rolled back in an emergency.
    Aborted,
}

impl RolloutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutStatus::Running => "running",
            RolloutStatus::Paused => "paused",
            RolloutStatus::Completed => "completed",
            RolloutStatus::Aborted => "aborted",
        }
    }

    pub fn parse(value: &str) -> Option<RolloutStatus> {
        [
            RolloutStatus::Running,
            RolloutStatus::Paused,
            RolloutStatus::Completed,
            RolloutStatus::Aborted,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    pub fn is_active(self) -> bool {
        matches!(self, RolloutStatus::Running | RolloutStatus::Paused)
    }
}

/// One stage of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagePlan {
    pub percent: u8,
    /// The least time the stage is held before the next one may be entered.
    pub hold_minutes: i32,
    /// Who must approve entering the stage (any tenant admin when none).
    pub approver: Option<Uuid>,
}

/// The most stages a rollout has.
pub const STAGES_MAX: usize = 20;
pub const HOLD_MAX_MINUTES: i32 = 43_200;

/// What a tenant admin fills in to create a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRollout {
    pub name: String,
    /// The bucketing group; empty → the rollout's id. Changing it reshuffles everyone.
    pub group_id: Option<String>,
    pub stages: Vec<StagePlan>,
    /// Seed 000's stratified cohorts, or plain buckets.
    pub strata: Option<Strata>,
    pub min_members: i32,
    /// Share of decisions compared, in basis points (10 000 = all).
    pub sample_bp: i32,
    /// The gate to widen: score in percent.
    pub gate_score: f64,
    pub min_sample: i32,
    pub guard_error_pct: f64,
    pub guard_p99_ms: i32,
}

impl Default for NewRollout {
    /// Seed 000: 5 → 20 → 50 → 100 %, stratified, score ≥ 95 to proceed, errors < 1 %,
    /// a permission check never slower than 500 ms.
    fn default() -> Self {
        NewRollout {
            name: String::new(),
            group_id: None,
            stages: [5, 20, 50, 100]
                .into_iter()
                .map(|percent| StagePlan {
                    percent,
                    hold_minutes: 0,
                    approver: None,
                })
                .collect(),
            strata: Some(Strata::default()),
            min_members: 10,
            sample_bp: 10_000,
            gate_score: 95.0,
            min_sample: 100,
            guard_error_pct: 1.0,
            guard_p99_ms: 500,
        }
    }
}

impl NewRollout {
    /// The plan's rules: a name, 1–20 stages of strictly increasing shares ending at
    /// 100 %, holds within 30 days, and sane gates.
    pub fn validate(&self) -> Checked<()> {
        crate::input::plain_text("name", &self.name)?;
        let name = self.name.trim();
        if name.is_empty() {
            return Err(Invalid::new("name", Problem::Required));
        }
        if name.chars().count() > 200 {
            return Err(Invalid::new("name", Problem::TooLong { max: 200 }));
        }
        if let Some(group) = &self.group_id {
            crate::input::plain_text("group_id", group)?;
            if group.trim().chars().count() > 200 {
                return Err(Invalid::new("group_id", Problem::TooLong { max: 200 }));
            }
        }
        if self.stages.is_empty() {
            return Err(Invalid::new("stages", Problem::Required));
        }
        if self.stages.len() > STAGES_MAX {
            return Err(Invalid::new(
                "stages",
                Problem::TooLarge {
                    max: STAGES_MAX as i64,
                },
            ));
        }
        let mut last = 0;
        for stage in &self.stages {
            if stage.percent == 0 || stage.percent > 100 || stage.percent <= last {
                return Err(Invalid::new("stages", Problem::Format));
            }
            range(
                "hold_minutes",
                i64::from(stage.hold_minutes),
                0,
                i64::from(HOLD_MAX_MINUTES),
            )?;
            last = stage.percent;
        }
        if last != 100 {
            return Err(Invalid::new("stages", Problem::Format));
        }
        if let Some(strata) = &self.strata {
            strata.validate()?;
        }
        range("min_members", i64::from(self.min_members), 0, 1_000_000)?;
        range("sample_bp", i64::from(self.sample_bp), 0, 10_000)?;
        percent("gate_score", self.gate_score)?;
        range("min_sample", i64::from(self.min_sample), 1, 1_000_000)?;
        percent("guard_error_pct", self.guard_error_pct)?;
        range("guard_p99_ms", i64::from(self.guard_p99_ms), 1, 600_000)?;
        Ok(())
    }
}

/// Above `max`: too large; below `min`: not a value this field takes.
fn range(field: &'static str, value: i64, min: i64, max: i64) -> Checked<()> {
    if value > max {
        Err(Invalid::new(field, Problem::TooLarge { max }))
    } else if value < min {
        Err(Invalid::new(field, Problem::Format))
    } else {
        Ok(())
    }
}

/// A percentage 0–100 (NaN is not one).
fn percent(field: &'static str, value: f64) -> Checked<()> {
    if value > 100.0 {
        Err(Invalid::new(field, Problem::TooLarge { max: 100 }))
    } else if value >= 0.0 {
        Ok(())
    } else {
        Err(Invalid::new(field, Problem::Format))
    }
}

/// A stage as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub stage_no: i32,
    pub percent: i32,
    pub hold_minutes: i32,
    pub approver: Option<Uuid>,
    pub approver_name: Option<String>,
    /// Per-stratum bucket limits, once entered (Stratum::ALL order).
    pub thresholds: Option<Vec<i32>>,
    /// Members per stratum in the cohort when entered.
    pub mix: Option<Vec<i64>>,
    /// The migration run that took the stage's new members.
    pub run_id: Option<Uuid>,
    pub entered_at: Option<DateTime<Utc>>,
    pub entered_by: Option<String>,
}

/// A rollout with its stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub rollout_id: Uuid,
    pub name: String,
    pub group_id: String,
    pub status: RolloutStatus,
    /// 0 before the first stage is entered.
    pub stage_no: i32,
    /// Per decision, in DecisionKind::ALL order.
    pub modes: [Mode; 3],
    pub sample_bp: i32,
    pub strata: Option<Strata>,
    pub min_members: i32,
    pub gate_score: f64,
    pub min_sample: i32,
    pub guard_error_pct: f64,
    pub guard_p99_ms: i32,
    pub record_cap: i32,
    pub pause_reason: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub stages: Vec<Stage>,
}

impl Rollout {
    pub fn mode(&self, decision: DecisionKind) -> Mode {
        self.modes[decision.index()]
    }

    /// The stage entered last, if any.
    pub fn current(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.stage_no == self.stage_no)
    }

    /// The stage after the current one, if any.
    pub fn next(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.stage_no == self.stage_no + 1)
    }

    pub fn percent(&self) -> i32 {
        self.current().map_or(0, |s| s.percent)
    }
}

/// A move, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: i64,
    pub action: String,
    pub from_stage: Option<i32>,
    pub to_stage: Option<i32>,
    pub actor: Option<String>,
    pub reason: Option<String>,
    /// The scores the move was taken on.
    pub scores: Vec<Score>,
    pub at: DateTime<Utc>,
}

/// An answer of either model to one decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Answer {
    Permission { allowed: bool },
    Quota { max_licenses: i64 },
    Summary { level: Option<String>, points: i64 },
}

/// What a decision asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Question {
    Permission { key: String },
    Quota,
    Summary,
}

impl Question {
    pub fn decision(&self) -> DecisionKind {
        match self {
            Question::Permission { .. } => DecisionKind::Permission,
            Question::Quota => DecisionKind::Quota,
            Question::Summary => DecisionKind::Summary,
        }
    }
}

/// The routed answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routed {
    pub model: Model,
    pub answer: Answer,
}

/// How two answers differ (None when they agree).
pub fn mismatch(
    question: &Question,
    legacy: &Answer,
    new: &Answer,
) -> Option<(String, Option<String>)> {
    match (legacy, new) {
        (Answer::Permission { allowed: l }, Answer::Permission { allowed: n }) if l != n => {
            let key = match question {
                Question::Permission { key } => Some(key.clone()),
                _ => None,
            };
            Some((
                if *l {
                    "permission_missing"
                } else {
                    "permission_extra"
                }
                .into(),
                key,
            ))
        }
        (Answer::Quota { max_licenses: l }, Answer::Quota { max_licenses: n }) if l != n => Some((
            if n < l { "quota_lower" } else { "quota_higher" }.into(),
            None,
        )),
        (Answer::Summary { level: l, .. }, Answer::Summary { level: n, .. }) if l != n => {
            Some(("level_differs".into(), None))
        }
        _ => None,
    }
}

/// "Why is this member in or out?": the member page's rollout panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRoute {
    pub external_id: String,
    /// Whether the member has a legacy row (members without one are native to the new
    /// model and always answered by it).
    pub legacy: bool,
    pub migrated: bool,
    /// The tenant-wide switch.
    pub switch: Model,
    pub rollout: Option<MemberInRollout>,
    /// Which model answers each decision right now (DecisionKind::ALL order).
    pub models: [Model; 3],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInRollout {
    pub rollout_id: Uuid,
    pub name: String,
    pub group_id: String,
    pub bucket: u8,
    pub stratum: Option<Stratum>,
    /// The stage the member joined at, if in the cohort.
    pub joined_stage: Option<i32>,
    /// The current stage and its bucket limit for the member's stratum.
    pub stage_no: i32,
    pub threshold: Option<i32>,
    pub modes: [Mode; 3],
}

/// A mismatch kind with its counts and examples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    pub decision: DecisionKind,
    pub kind: String,
    pub detail: Option<String>,
    pub count: i64,
    pub examples: Vec<String>,
    /// The accepted difference that covers it, if any.
    pub accepted: Option<Uuid>,
}

/// A known, accepted difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub accepted_id: Uuid,
    pub decision: DecisionKind,
    pub kind: String,
    pub detail: Option<String>,
    pub owner: String,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What an admin fills in to accept a difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccepted {
    pub decision: DecisionKind,
    pub kind: String,
    pub detail: Option<String>,
    pub owner: String,
    pub reason: String,
    pub expires_at: DateTime<Utc>,
}

/// One minute of one decision: the charts' points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Minute {
    pub minute: DateTime<Utc>,
    pub decision: DecisionKind,
    /// Routed decisions (every one, not only the sampled).
    pub routed_legacy: i64,
    pub routed_new: i64,
    pub compared: i64,
    pub agreed: i64,
    pub accepted: i64,
    pub errors: i64,
    pub legacy_p50_us: Option<i64>,
    pub legacy_p99_us: Option<i64>,
    pub new_p50_us: Option<i64>,
    pub new_p99_us: Option<i64>,
}

/// Members per model at one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub at: DateTime<Utc>,
    pub legacy_members: i64,
    pub cohort: i64,
    pub migrated: i64,
    pub modes: [Mode; 3],
}

/// The rollout dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub rollout: Rollout,
    pub events: Vec<Event>,
    /// Per decision and stage (current stage first).
    pub scores: Vec<Score>,
    /// What stops the next stage now (empty: it may be entered).
    pub blockers: Vec<Blocker>,
    /// The permission agreement the latest dry run predicted, in percent.
    pub predicted: Option<f64>,
    pub minutes: Vec<Minute>,
    pub shares: Vec<Share>,
    pub mismatches: Vec<Mismatch>,
    pub accepted: Vec<Accepted>,
    /// The migration run of the current stage.
    pub run: Option<crate::migration::run::Run>,
    /// The cohort per stratum now.
    pub cohort_mix: [i64; 3],
    pub legacy_members: i64,
}
