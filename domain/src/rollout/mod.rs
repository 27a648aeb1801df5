//! The gray rollout (seeds 000 and 002): a tenant's legacy members moved to the new
//! model stage by stage (5 → 20 → 50 → 100 % by default), bucketed the Unleash way and
//! stratified by seed 000's mix, each decision (permission check, license quota,
//! level/points summary) routed off / shadow / live for the cohort, compared in shadow
//! ([`decide`]), scored, gated and guarded ([`report`]), with every move audited
//! ([`plan`]).
//!
//! It builds on the migration: entering a stage starts a migration run on the stage's
//! new members, stepping back rolls back exactly the members who joined at the stage
//! (a gradual rollback), aborting is the emergency rollback, and the kill switch is the
//! tenant-wide routing switch set to legacy. The routing itself is
//! `migration::routing::Route::model_for`, shared by [`decide::decide`] and
//! `migration::routing::check`.

/// The routed decision and the shadow comparison.
pub mod decide;
/// Create, advance, step back, pause, resume, abort, the kill switch, modes, settings,
/// accepted differences.
pub mod plan;
/// Scores, gates, guardrails, the dashboard, "why is this member in or out", the job.
pub mod report;

pub use decide::{Shadow, decide};
pub use model::rollout::bucket::bucket;
pub use model::rollout::cohort::{Strata, Stratum};
pub use model::rollout::plan::{
    Accepted, Answer, Dashboard, DecisionKind, Event, MemberRoute, Mode, NewAccepted, NewRollout,
    Question, Rollout, RolloutStatus, Routed, StagePlan,
};
pub use model::rollout::score::{Blocker, Score, Tripped};
