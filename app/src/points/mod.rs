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

/// A ledger entry kind in the UI language.
pub fn entry_kind_label(
    kind: model::points::ledger::EntryKind,
    t: &crate::i18n::Texts,
) -> &'static str {
    use model::points::ledger::EntryKind;
    match kind {
        EntryKind::Earn => t.points.kind_earn,
        EntryKind::Spend => t.points.kind_spend,
        EntryKind::Adjust => t.points.kind_adjust,
        EntryKind::Expire => t.points.kind_expire,
        EntryKind::Migration => t.points.kind_migration,
        EntryKind::Reversal => t.points.kind_reversal,
    }
}

/// A ledger category in the UI language. Categories are the tenant's own codes: the
/// common ones are translated, any other is shown as the code it is.
pub fn category_label(category: &str, t: &crate::i18n::Texts) -> Option<&'static str> {
    Some(match category {
        "manual" => t.points.cat_manual,
        "purchase" => t.points.cat_purchase,
        "login" => t.points.cat_login,
        "course" => t.points.cat_course,
        "redemption" => t.points.cat_redemption,
        "referral" => t.points.cat_referral,
        "migration" => t.points.cat_migration,
        "reversal" => t.points.cat_reversal,
        _ => return None,
    })
}

/// Why a level changed, in the UI language.
pub fn level_cause_label(cause: &str, t: &crate::i18n::Texts) -> &'static str {
    match cause {
        "tiers" => t.points.cause_tiers,
        _ => t.points.cause_points,
    }
}
