//! Tags: the catalogue, a member's tags and effective permissions, grants nearing expiry.

/// Server functions of this feature.
pub mod api;
/// The tag catalogue page.
pub mod catalogue;
/// Grants nearing expiry.
pub mod expiring;
/// The tag form as posted.
pub mod form;
/// UI text of this feature.
pub mod i18n;
/// The member page's tags, effective permissions and grant history.
pub mod member_tags;

use model::tags::permissions::GrantState;

/// A tag category's name in the UI language (the code itself if unknown).
pub fn category_label(category: &str, t: &crate::i18n::Texts) -> String {
    match category {
        "payment" => t.tags.category_payment,
        "business" => t.tags.category_business,
        "education" => t.tags.category_education,
        "partner" => t.tags.category_partner,
        "internal" => t.tags.category_internal,
        "other" => t.tags.category_other,
        other => other,
    }
    .to_owned()
}

/// A grant state's name in the UI language.
pub fn state_label(state: GrantState, t: &crate::i18n::Texts) -> &'static str {
    match state {
        GrantState::Scheduled => t.tags.state_scheduled,
        GrantState::Active => t.tags.state_active,
        GrantState::Grace => t.tags.state_grace,
        GrantState::Expired => t.tags.state_expired,
        GrantState::Revoked => t.tags.state_revoked,
    }
}

/// A grant event's kind in the UI language (the code itself if unknown).
pub fn event_label(kind: &str, t: &crate::i18n::Texts) -> String {
    match kind {
        "granted" => t.tags.event_granted,
        "renewed" => t.tags.event_renewed,
        "grace" => t.tags.event_grace,
        "expired" => t.tags.event_expired,
        "revoked" => t.tags.event_revoked,
        "reminder" => t.tags.event_reminder,
        other => other,
    }
    .to_owned()
}

/// A stored grant status (active, grace, expired, revoked) in the UI language.
pub fn status_label(status: &str, t: &crate::i18n::Texts) -> String {
    match status {
        "active" => t.tags.state_active,
        "grace" => t.tags.state_grace,
        "expired" => t.tags.state_expired,
        "revoked" => t.tags.state_revoked,
        "scheduled" => t.tags.state_scheduled,
        other => other,
    }
    .to_owned()
}

/// What caused a grant event, in the UI language.
pub fn cause_label(cause: &str, t: &crate::i18n::Texts) -> String {
    match cause {
        "console" => t.tags.cause_console,
        "api" => t.tags.cause_api,
        "job" => t.tags.cause_job,
        "migration" => t.tags.cause_migration,
        other => other,
    }
    .to_owned()
}

/// How a grant was made, in the UI language.
pub fn method_label(method: &str, t: &crate::i18n::Texts) -> String {
    match method {
        "manual" => t.tags.method_manual,
        "migration" => t.tags.method_migration,
        "purchase" => t.tags.method_purchase,
        "api" => t.tags.method_api,
        other => other,
    }
    .to_owned()
}
