//! Points: four-eyes approvals and the approval threshold, level tiers with what-if
//! preview and the background re-level's progress. (The ledger is shown on the member
//! page, in `members`.)

/// Server functions of this feature.
pub mod api;
/// The approvals queue and the threshold.
pub mod approvals;
/// UI text of this feature.
pub mod i18n;
/// The level tiers editor.
pub mod levels;

/// A request status in the UI language.
pub fn request_status_label(status: &str, t: &crate::i18n::Texts) -> &'static str {
    match status {
        "approved" => t.points.status_approved,
        "rejected" => t.points.status_rejected,
        "withdrawn" => t.points.status_withdrawn,
        _ => t.points.status_pending,
    }
}
