//! Gray rollout: which members a stage of a rollout reaches.
//!
//! Bucketing is Unleash's, so that a member lands in the same bucket here, in the
//! console's preview (WASM) and in any Unleash SDK evaluating the same group id;
//! cohorts add seed 000's stratified mix (active / long-standing / new) on top.

/// Unleash-compatible bucketing: MurmurHash3 and the 1..=100 bucket.
pub mod bucket;
/// Strata, their mix and the per-stratum bucket thresholds of a stage.
pub mod cohort;
/// Rollouts, stages, decisions and their modes, answers, the dashboard's shapes.
pub mod plan;
/// The compatibility score, the gate to widen and the guardrails.
pub mod score;
