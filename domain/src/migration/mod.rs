//! The legacy migration (seeds 000 and 001): the legacy model's data and answers
//! ([`legacy`]), imports, the mapping and formula ([`settings`]), which model answers
//! whom ([`routing`]), checkpoints, the read-only steps ([`analysis`]: pre-flight and
//! dry run), runs in batches ([`run`]), catch-up, validation and reconciliation
//! ([`verify`]) and rollback ([`rollback`]). The formula and mapping are pure rules in
//! `model::migration`.

/// Pre-flight statistics and the dry run.
pub mod analysis;
/// Checkpoints of the legacy and target tables.
pub mod checkpoint;
/// Imports of legacy user types and members from CSV files, streamed.
pub mod import;
/// The stored reports of imports, and imports streamed from a file or an upload.
pub mod imports;
/// The legacy model: its tables, its permission answers, synthetic data.
pub mod legacy;
/// Rollback: blast radius, emergency and gradual.
pub mod rollback;
/// Which model answers a member; the routed permission check.
pub mod routing;
/// Runs: start, control, batches, workers.
pub mod run;
/// The console's live sample: one legacy member under the formula and mapping being edited.
pub mod sample;
/// The mapping and formula per tenant, versioned.
pub mod settings;
/// Catch-up, validation and reconciliation.
pub mod verify;

pub use model::migration::{Formula, Mapping, Part, historical_points, historical_total};
