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
