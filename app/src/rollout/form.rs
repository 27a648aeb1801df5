//! The rollout console's forms as posted. Every number arrives as text so that a bad
//! value (`12.5` stages, `NaN`, `1e400`, `-3`) is a 422 naming the field rather than an
//! unreadable request; the domain then checks the ranges (`NewRollout::validate`), so
//! the console, the CLI and the API refuse the same plans.
//!
//! Stages are posted with `serde_qs`'s index notation (`rollout[stages][0][percent]`),
//! the way `ActionForm` and a plain form post both send repeated rows; rows left empty
//! are skipped, so the form can offer spare rows.

use serde::{Deserialize, Serialize};

/// One row of the stage table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageForm {
    #[serde(default)]
    pub percent: String,
    #[serde(default)]
    pub hold_minutes: String,
    /// An admin id; empty: any tenant admin approves.
    #[serde(default)]
    pub approver: Option<String>,
}

/// The create form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutForm {
    pub name: String,
    /// Empty: the rollout's id.
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub stages: Vec<StageForm>,
    /// A checkbox: stratified cohorts (with the three fields below) or plain buckets.
    #[serde(default)]
    pub stratified: Option<String>,
    #[serde(default)]
    pub active_days: Option<String>,
    #[serde(default)]
    pub long_standing_days: Option<String>,
    /// Percent of a stage per stratum: active, long-standing, new.
    #[serde(default)]
    pub mix_active: Option<String>,
    #[serde(default)]
    pub mix_long_standing: Option<String>,
    #[serde(default)]
    pub mix_new: Option<String>,
    pub min_members: String,
    /// Percent of decisions compared (0–100, two decimals).
    pub sample_pct: String,
    pub gate_score: String,
    pub min_sample: String,
    pub guard_error_pct: String,
    pub guard_p99_ms: String,
}

/// The settings form of an active rollout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsForm {
    pub group_id: String,
    pub sample_pct: String,
    pub gate_score: String,
    pub min_sample: String,
    pub guard_error_pct: String,
    pub guard_p99_ms: String,
}

#[cfg(feature = "ssr")]
mod read {
    use super::*;
    use crate::error::AppError;
    use crate::form::required;
    use model::rollout::cohort::Strata;
    use model::rollout::plan::{DecisionKind, NewAccepted, NewRollout, StagePlan};

    fn invalid(field: &'static str, problem: domain::Problem) -> AppError {
        domain::Error::invalid(field, problem).into()
    }

    /// A finite number (Rust's parser also takes `NaN` and `inf`, which are not).
    fn number(field: &'static str, text: &str) -> Result<f64, AppError> {
        let value: f64 = required(field, text)?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(invalid(field, domain::Problem::Format))
        }
    }

    /// A percentage with at most two decimals as basis points (0–10 000).
    fn basis_points(field: &'static str, text: &str) -> Result<i32, AppError> {
        let value = number(field, text)?;
        if value > 100.0 {
            return Err(invalid(field, domain::Problem::TooLarge { max: 100 }));
        }
        if value < 0.0 {
            return Err(invalid(field, domain::Problem::Format));
        }
        Ok((value * 100.0).round() as i32)
    }

    fn stages(rows: &[StageForm]) -> Result<Vec<StagePlan>, AppError> {
        let mut stages = Vec::new();
        for row in rows {
            if row.percent.trim().is_empty() && row.hold_minutes.trim().is_empty() {
                continue;
            }
            let percent: u8 = required("stages", &row.percent)?;
            let hold_minutes = match row.hold_minutes.trim() {
                "" => 0,
                text => required("hold_minutes", text)?,
            };
            let approver = crate::form::optional("approver", row.approver.as_deref())?;
            stages.push(StagePlan {
                percent,
                hold_minutes,
                approver,
            });
        }
        Ok(stages)
    }

    impl RolloutForm {
        /// The plan as the domain takes it (it checks the ranges).
        pub fn read(&self) -> Result<NewRollout, AppError> {
            let stratified =
                crate::migration::run_form::checkbox("stratified", self.stratified.as_deref())?;
            let strata = if stratified {
                let defaults = Strata::default();
                let days = |field: &'static str, text: &Option<String>, default: i64| {
                    crate::form::optional::<i64>(field, text.as_deref())
                        .map(|value| value.unwrap_or(default))
                };
                let share = |text: &Option<String>, default: u8| {
                    crate::form::optional::<u8>("mix", text.as_deref())
                        .map(|value| value.unwrap_or(default))
                };
                Some(Strata {
                    active_days: days("active_days", &self.active_days, defaults.active_days)?,
                    long_standing_days: days(
                        "long_standing_days",
                        &self.long_standing_days,
                        defaults.long_standing_days,
                    )?,
                    mix: [
                        share(&self.mix_active, defaults.mix[0])?,
                        share(&self.mix_long_standing, defaults.mix[1])?,
                        share(&self.mix_new, defaults.mix[2])?,
                    ],
                })
            } else {
                None
            };
            let group_id = self
                .group_id
                .as_deref()
                .map(str::trim)
                .filter(|group| !group.is_empty())
                .map(str::to_owned);
            Ok(NewRollout {
                name: self.name.clone(),
                group_id,
                stages: stages(&self.stages)?,
                strata,
                min_members: required("min_members", &self.min_members)?,
                sample_bp: basis_points("sample_pct", &self.sample_pct)?,
                gate_score: number("gate_score", &self.gate_score)?,
                min_sample: required("min_sample", &self.min_sample)?,
                guard_error_pct: number("guard_error_pct", &self.guard_error_pct)?,
                guard_p99_ms: required("guard_p99_ms", &self.guard_p99_ms)?,
            })
        }
    }

    impl SettingsForm {
        pub fn read(&self) -> Result<domain::rollout::plan::Settings, AppError> {
            Ok(domain::rollout::plan::Settings {
                group_id: self.group_id.trim().to_owned(),
                sample_bp: basis_points("sample_pct", &self.sample_pct)?,
                gate_score: number("gate_score", &self.gate_score)?,
                min_sample: required("min_sample", &self.min_sample)?,
                guard_error_pct: number("guard_error_pct", &self.guard_error_pct)?,
                guard_p99_ms: required("guard_p99_ms", &self.guard_p99_ms)?,
            })
        }
    }

    /// An accepted difference as posted; the expiry is a date (its first instant, UTC).
    pub fn accepted(
        decision: DecisionKind,
        kind: String,
        detail: Option<String>,
        owner: String,
        reason: String,
        expires_on: &str,
    ) -> Result<NewAccepted, AppError> {
        let expires_at = crate::form::optional_date("expires_on", Some(expires_on))?
            .ok_or_else(|| invalid("expires_on", domain::Problem::Required))?;
        Ok(NewAccepted {
            decision,
            kind,
            detail: detail.filter(|detail| !detail.trim().is_empty()),
            owner,
            reason,
            expires_at,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn form() -> RolloutForm {
            RolloutForm {
                name: "Spring".into(),
                stages: [5, 20, 50, 100]
                    .into_iter()
                    .map(|p| StageForm {
                        percent: p.to_string(),
                        hold_minutes: "0".into(),
                        approver: Some(String::new()),
                    })
                    .chain([StageForm::default()])
                    .collect(),
                stratified: Some("on".into()),
                min_members: "10".into(),
                sample_pct: "12.5".into(),
                gate_score: "95".into(),
                min_sample: "100".into(),
                guard_error_pct: "1".into(),
                guard_p99_ms: "500".into(),
                ..RolloutForm::default()
            }
        }

        #[test]
        fn a_plan_as_posted() {
            let new = form().read().unwrap();
            assert_eq!(new.stages.len(), 4);
            assert_eq!(new.sample_bp, 1250);
            assert_eq!(new.strata, Some(Strata::default()));
            assert_eq!(new.group_id, None);
            assert!(new.validate().is_ok());
        }

        #[test]
        fn bad_numbers_name_their_field() {
            let field = |form: RolloutForm| match form.read() {
                Err(AppError::Invalid { field, .. }) => field,
                other => panic!("{other:?}"),
            };
            let mut bad = form();
            bad.gate_score = "NaN".into();
            assert_eq!(field(bad), "gate_score");
            let mut bad = form();
            bad.sample_pct = "1e400".into();
            assert_eq!(field(bad), "sample_pct");
            let mut bad = form();
            bad.stages[0].percent = "300".into();
            assert_eq!(field(bad), "stages");
            let mut bad = form();
            bad.stages[1].approver = Some("someone".into());
            assert_eq!(field(bad), "approver");
            let mut bad = form();
            bad.mix_new = Some("-1".into());
            assert_eq!(field(bad), "mix");
        }
    }
}

#[cfg(feature = "ssr")]
pub use read::accepted;
