//! The compatibility score, the gate to widen and the guardrails (seed 000: a
//! dual-system compatibility score of at least 95 to proceed, consistency errors under
//! 1 %, a permission answer never slower than 500 ms).
//!
//! The score of a decision at a stage is the share of compared answers that agree,
//! leaving out the mismatches an accepted difference covers (they are reported apart).
//! A quota answer where the new model gives *less* than the legacy one can never be
//! accepted, so it always counts. Beside the score goes its sample size and the lower
//! bound of a 95 % Wilson interval, so a 100 % over 12 answers is not mistaken for a
//! 100 % over 12 000.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::plan::DecisionKind;

/// The compared answers of one decision at one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub decision: DecisionKind,
    pub stage_no: i32,
    pub compared: i64,
    pub agreed: i64,
    /// Mismatches an accepted difference covers (not in the score).
    pub accepted: i64,
    /// Comparisons where the compared model failed (not in the score; the error rate).
    pub errors: i64,
    /// Percent agreeing of `compared - accepted - errors`; None without a sample.
    pub score: Option<f64>,
    /// The 95 % Wilson lower bound of that share, in percent.
    pub lower: Option<f64>,
}

impl Score {
    /// The score from counts.
    pub fn new(
        decision: DecisionKind,
        stage_no: i32,
        compared: i64,
        agreed: i64,
        accepted: i64,
        errors: i64,
    ) -> Score {
        let n = (compared - accepted - errors).max(0);
        let (score, lower) = if n == 0 {
            (None, None)
        } else {
            let agreed = agreed.clamp(0, n);
            (
                Some(100.0 * agreed as f64 / n as f64),
                Some(100.0 * wilson_lower(agreed, n)),
            )
        };
        Score {
            decision,
            stage_no,
            compared,
            agreed,
            accepted,
            errors,
            score,
            lower,
        }
    }

    /// The answers the score is taken over.
    pub fn sample(&self) -> i64 {
        (self.compared - self.accepted - self.errors).max(0)
    }

    /// Failed comparisons, in percent of all compared.
    pub fn error_pct(&self) -> f64 {
        if self.compared == 0 {
            0.0
        } else {
            100.0 * self.errors as f64 / self.compared as f64
        }
    }
}

/// The lower bound of the 95 % Wilson score interval of `agreed` out of `n` (0–1).
pub fn wilson_lower(agreed: i64, n: i64) -> f64 {
    if n <= 0 {
        return 0.0;
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = agreed as f64 / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let margin = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - margin) / (1.0 + z2 / n)).clamp(0.0, 1.0)
}

/// Why the next stage cannot be entered now. Scores are in hundredths of a percent so
/// the type stays exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Blocker {
    /// The rollout is not running (paused, completed, aborted): the reason if paused.
    NotRunning { reason: Option<String> },
    /// The last stage is entered.
    LastStage,
    /// The current stage's hold time has not passed.
    Hold { until: DateTime<Utc> },
    /// A migration or rollback run of the tenant is still going (the current stage's,
    /// or a step back's rollback): the next stage's run could not start.
    RunActive,
    /// Too few compared answers for a decision that is compared.
    Sample {
        decision: DecisionKind,
        have: i64,
        need: i64,
    },
    /// The score is under the gate.
    Score {
        decision: DecisionKind,
        score_cp: i64,
        gate_cp: i64,
    },
    /// The stage names its approver, and it is someone else.
    Approver { name: Option<String> },
}

/// The gate to widen: every compared decision's score at the current stage is at least
/// `gate_score` over at least `min_sample` answers.
pub fn gate(
    scores: &[Score],
    compared: &[DecisionKind],
    gate_score: f64,
    min_sample: i64,
) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    for decision in compared {
        let score = scores.iter().find(|s| s.decision == *decision);
        let sample = score.map_or(0, Score::sample);
        if sample < min_sample {
            blockers.push(Blocker::Sample {
                decision: *decision,
                have: sample,
                need: min_sample,
            });
            continue;
        }
        let value = score.and_then(|s| s.score).unwrap_or(0.0);
        if value < gate_score {
            blockers.push(Blocker::Score {
                decision: *decision,
                score_cp: (value * 100.0).floor() as i64,
                gate_cp: (gate_score * 100.0).round() as i64,
            });
        }
    }
    blockers
}

/// What trips a guardrail (the rollout pauses itself and says why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Tripped {
    Score {
        decision: DecisionKind,
        score: f64,
        gate: f64,
        sample: i64,
    },
    Errors {
        decision: DecisionKind,
        pct: f64,
        limit: f64,
    },
    Latency {
        decision: DecisionKind,
        p99_ms: f64,
        limit_ms: i64,
    },
}

impl Tripped {
    /// The reason the rollout shows (English; the console phrases it per language from
    /// the same fields when it can).
    pub fn reason(&self) -> String {
        match self {
            Tripped::Score {
                decision,
                score,
                gate,
                sample,
            } => format!(
                "guardrail: {} score {score:.2} % over {sample} answers is under {gate:.2} %",
                decision.as_str()
            ),
            Tripped::Errors {
                decision,
                pct,
                limit,
            } => format!(
                "guardrail: {} errors {pct:.2} % are over {limit:.2} %",
                decision.as_str()
            ),
            Tripped::Latency {
                decision,
                p99_ms,
                limit_ms,
            } => format!(
                "guardrail: {} p99 of the new model {p99_ms:.1} ms is over {limit_ms} ms",
                decision.as_str()
            ),
        }
    }
}

/// The guardrails over a window of recent answers (`p99_us`: the new model's p99 per
/// decision in that window). Nothing trips on fewer than `min_sample` answers.
pub fn guardrails(
    window: &[Score],
    p99_us: &[(DecisionKind, i64)],
    gate_score: f64,
    min_sample: i64,
    error_pct: f64,
    p99_ms: i64,
) -> Vec<Tripped> {
    let mut tripped = Vec::new();
    for score in window {
        if score.compared < min_sample {
            continue;
        }
        if score.error_pct() > error_pct {
            tripped.push(Tripped::Errors {
                decision: score.decision,
                pct: score.error_pct(),
                limit: error_pct,
            });
        }
        if score.sample() >= min_sample
            && let Some(value) = score.score
            && value < gate_score
        {
            tripped.push(Tripped::Score {
                decision: score.decision,
                score: value,
                gate: gate_score,
                sample: score.sample(),
            });
        }
        if let Some((_, us)) = p99_us.iter().find(|(d, _)| *d == score.decision)
            && *us > p99_ms * 1000
        {
            tripped.push(Tripped::Latency {
                decision: score.decision,
                p99_ms: *us as f64 / 1000.0,
                limit_ms: p99_ms,
            });
        }
    }
    tripped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_leaves_out_accepted_and_errors() {
        let s = Score::new(DecisionKind::Permission, 1, 1000, 900, 80, 20);
        assert_eq!(s.sample(), 900);
        assert_eq!(s.score, Some(100.0));
        let s = Score::new(DecisionKind::Quota, 1, 200, 190, 0, 0);
        assert_eq!(s.score, Some(95.0));
        assert!(s.lower.unwrap() < 95.0 && s.lower.unwrap() > 90.0);
        assert_eq!(Score::new(DecisionKind::Quota, 1, 0, 0, 0, 0).score, None);
    }

    #[test]
    fn wilson_bound_narrows_with_the_sample() {
        assert!(wilson_lower(12, 12) < 0.76);
        assert!(wilson_lower(12_000, 12_000) > 0.999);
        assert_eq!(wilson_lower(0, 0), 0.0);
        assert!(wilson_lower(0, 10) >= 0.0);
    }

    #[test]
    fn gate_needs_the_sample_and_the_score() {
        let scores = vec![
            Score::new(DecisionKind::Permission, 2, 99, 99, 0, 0),
            Score::new(DecisionKind::Quota, 2, 100, 94, 0, 0),
            Score::new(DecisionKind::Summary, 2, 100, 95, 0, 0),
        ];
        let blockers = gate(&scores, &DecisionKind::ALL, 95.0, 100);
        assert_eq!(
            blockers,
            vec![
                Blocker::Sample {
                    decision: DecisionKind::Permission,
                    have: 99,
                    need: 100
                },
                Blocker::Score {
                    decision: DecisionKind::Quota,
                    score_cp: 9400,
                    gate_cp: 9500
                },
            ]
        );
        // A decision that is not compared does not gate.
        assert!(gate(&scores[2..], &[DecisionKind::Summary], 95.0, 100).is_empty());
    }

    #[test]
    fn guardrails_trip_on_score_errors_and_latency() {
        let window = vec![
            Score::new(DecisionKind::Permission, 1, 50, 10, 0, 0),
            Score::new(DecisionKind::Quota, 1, 200, 150, 0, 10),
        ];
        let tripped = guardrails(
            &window,
            &[(DecisionKind::Quota, 700_000)],
            95.0,
            100,
            1.0,
            500,
        );
        assert_eq!(tripped.len(), 3, "{tripped:?}");
        assert!(matches!(tripped[0], Tripped::Errors { .. }));
        assert!(matches!(tripped[1], Tripped::Score { .. }));
        assert!(matches!(tripped[2], Tripped::Latency { .. }));
        assert!(tripped[2].reason().contains("700.0 ms"));
    }
}
