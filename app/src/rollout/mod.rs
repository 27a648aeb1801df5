//! The gray rollout's console (issue #13): `/rollout`, where tenant admins create a
//! rollout and move it stage by stage (advance, step back, pause, resume, abort,
//! complete, the kill switch, routing per decision, settings, accepted differences)
//! and every role watches its dashboard (charts drawn on the server, polled every 3
//! seconds with JavaScript); and the member page's "why is this member in or out?"
//! panel. Every server function is a shell over one `domain::rollout` function.

/// Server functions of the console and of the member panel.
pub mod api;
/// The dashboard's time charts (lines with gaps, a gate line, units).
pub mod charts;
/// The dashboard: charts, scores, mismatches, stage and event timelines.
pub mod dashboard;
/// The forms as posted (create, settings, accepted difference): text into typed values.
pub mod form;
/// The forms as shown: create, settings, accept a difference.
pub mod form_view;
/// UI text of the console and of the member panel (their own catalogue).
pub mod i18n;
/// The member page's rollout panel.
pub mod member_panel;
/// `/rollout`: the kill switch, status and moves, forms, the dashboard.
pub mod page;
