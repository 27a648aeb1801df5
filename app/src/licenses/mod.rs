//! Licenses: the license list with validation and expiring seats, plans with issuing,
//! a license's page, the utilisation report, and the member page's licenses section.

/// Server functions of this feature.
pub mod api;
/// A license's page: limits, suspension and revocation, devices, holders, events.
pub mod detail;
/// The plan form as posted.
pub mod form;
/// UI text of this feature.
pub mod i18n;
/// The license list, key validation and licenses expiring soon.
pub mod list;
/// The member page's licenses: quota and its sources, seats, devices.
pub mod member_licenses;
/// Plans: the catalogue, its editor and issuing seats.
pub mod plans;
/// The utilisation report and members over quota.
pub mod report;

use leptos::prelude::*;

use crate::i18n::Texts;
use model::licenses::LicenseState;

/// A license state's name in the UI language.
pub fn state_label(state: LicenseState, t: &Texts) -> &'static str {
    match state {
        LicenseState::Free => t.licenses.state_free,
        LicenseState::Assigned => t.licenses.state_assigned,
        LicenseState::Suspended => t.licenses.state_suspended,
        LicenseState::Expired => t.licenses.state_expired,
        LicenseState::Revoked => t.licenses.state_revoked,
    }
}

/// The colour of a state, so unusable licenses stand out in lists.
pub fn state_class(state: LicenseState) -> &'static str {
    match state {
        LicenseState::Assigned => "text-emerald-700",
        LicenseState::Free => "text-indigo-700",
        LicenseState::Suspended => "text-amber-700",
        LicenseState::Expired | LicenseState::Revoked => "text-slate-500",
    }
}

/// A license event's, an assignment end's or a device end's kind in the UI language
/// (the code itself if unknown).
pub fn event_label(kind: &str, t: &Texts) -> String {
    match kind {
        "issued" => t.licenses.event_issued,
        "assigned" => t.licenses.event_assigned,
        "unassigned" => t.licenses.event_unassigned,
        "transferred" => t.licenses.event_transferred,
        "activated" => t.licenses.event_activated,
        "deactivated" => t.licenses.event_deactivated,
        "suspended" => t.licenses.event_suspended,
        "reinstated" => t.licenses.event_reinstated,
        "revoked" => t.licenses.event_revoked,
        "expired" => t.licenses.event_expired,
        "edited" => t.licenses.event_edited,
        "reminder" => t.licenses.event_reminder,
        other => other,
    }
    .to_owned()
}

/// The links between the licenses pages.
#[component]
pub fn LicensesNav() -> impl IntoView {
    let t = crate::i18n::use_texts();
    let link = "rounded-md border border-slate-300 bg-white px-3 py-1 text-sm text-slate-700 hover:bg-slate-100";
    view! {
        <nav class="mb-4 flex flex-wrap gap-2" aria-label=t.licenses.licenses_title data-testid="licenses-nav">
            <a href="/licenses" class=link>{t.licenses.licenses_title}</a>
            <a href="/licenses/plans" class=link>{t.licenses.plans_title}</a>
            <a href="/licenses/report" class=link>{t.licenses.report_title}</a>
            <a href="/licenses/batch" class=link>{batch_i18n::use_batch_texts().title}</a>
        </nav>
    }
}

/// "3 / 5": live devices of the limit.
pub fn devices_text(activations: i32, max: i32) -> String {
    format!("{activations} / {max}")
}
/// Batch assignment pages: upload, preview, apply with progress.
pub mod batch;
/// Server functions of batch assignment.
pub mod batch_api;
/// Messages of batch assignment.
pub mod batch_i18n;
