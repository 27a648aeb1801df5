//! The legacy migration's console page, `/migration` (issue #12): the legacy data with
//! its import and the import reports, and the mapping and formula editor with its live
//! sample. The run's later parts (dry run, checkpoints, run, validate and reconcile,
//! rollback) each get a section of the page. Every role reads; tenant admins import and
//! save. Everything works without JavaScript: the import is a plain multipart form post
//! to `/upload/legacy`, the save a plain form post, and the sample a GET of the page with
//! the form's values.

/// Server functions of the page, and the shells of the upload route.
pub mod api;
/// The mapping and formula form as posted.
pub mod form;
/// UI text of this feature (its own catalogue, in its own chunk).
pub mod i18n;
/// The legacy data: types, members per type, the import form and reports.
pub mod legacy_data;
/// The page: its sections in order.
pub mod page;
/// Server functions of the run console.
pub mod run_api;
/// The run console's form fields as posted (selections, the fix checkbox).
#[cfg(feature = "ssr")]
pub mod run_form;
/// UI text of the run console (its own catalogue, in the migration chunk).
pub mod run_i18n;
/// `/migration/run`: the console of the migration's steps (switch, pre-flight and
/// checkpoints, dry run, runs with live progress, validate and reconcile, rollback).
pub mod run_page;
/// The run console's reports: dry run, validation, reconciliation, rollback.
pub mod run_reports;
/// The mapping and formula editor and the live sample.
pub mod settings;
