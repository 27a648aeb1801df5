//! The legacy migration (seeds 000 and 001): the legacy model's data and answers
//! ([`legacy`]); the formula and mapping are pure rules in `model::migration`.

/// Imports of legacy user types and members from CSV files, streamed.
pub mod import;
/// The stored reports of imports, and imports streamed from a file or an upload.
pub mod imports;
/// The legacy model: its tables, its permission answers, synthetic data.
pub mod legacy;
/// The console's live sample: one legacy member under the formula and mapping being edited.
pub mod sample;
/// The mapping and formula per tenant, versioned.
pub mod settings;

pub use model::migration::{Formula, Mapping, Part, historical_points, historical_total};
