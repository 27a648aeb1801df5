//! The console around the features: the layout (navigation, tenant switcher,
//! invitations, language) and the not-found page.

/// UI text of the shell, and messages shared by every feature.
pub mod i18n;
pub mod layout;
pub mod not_found;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

use crate::i18n::{Texts, use_texts};

/// The document title names the page: "Members · Tierdesk", "Member · Tierdesk".
/// One place maps paths to titles, at the app root (inside the router, beside the
/// routes rather than inside the pages), so titles never sit in a page's suspended
/// content; the server renders it into `<head>`, the browser follows navigation.
#[component]
pub fn DocumentTitle() -> impl IntoView {
    let t = use_texts();
    let location = use_location();
    let title = move |path: String| match page_title(t, &path) {
        Some(page) => format!("{page} · {}", t.product),
        None => t.product.to_owned(),
    };
    // The server writes `<head>` after the page, when the router's signals may be gone:
    // it takes the title now. The browser follows navigation.
    #[cfg(feature = "ssr")]
    let text = title(location.pathname.get_untracked());
    #[cfg(not(feature = "ssr"))]
    let text = move || title(location.pathname.get());
    view! { <Title text=text /> }
}

/// The name of the page at `path`, as its heading says it.
fn page_title(t: &'static Texts, path: &str) -> Option<&'static str> {
    let path = path.trim_end_matches('/');
    let name = match path {
        "" => t.overview.title,
        "/login" => t.access.sign_in_title,
        "/tenants" => t.access.tenants_title,
        "/admins" => t.access.admins_title,
        "/audit" => t.access.audit_title,
        "/members" => t.members.members_title,
        "/levels" => t.points.levels_title,
        "/approvals" => t.points.approvals_title,
        "/tags" => t.tags.tags_title,
        "/expiring" => t.tags.expiring_title,
        "/webhooks" => t.webhooks.webhooks_title,
        "/api-keys" => t.api_keys.title,
        "/licenses" => t.licenses.licenses_title,
        "/licenses/plans" => t.licenses.plans_title,
        "/licenses/report" => t.licenses.report_title,
        // A license's page (`/licenses/<uuid>`).
        other if other.starts_with("/licenses/") => t.licenses.license_title,
        // A member's page (`/members/<uuid>`): the id says nothing to a reader.
        other if other.starts_with("/members/") => t.member_title,
        // Batch assignment and a batch's page (in the page's language, from context).
        other if other == "/licenses/batch" || other.starts_with("/licenses/batch/") => {
            crate::licenses::batch_i18n::use_batch_texts().title
        }
        "/migration" => crate::migration::i18n::nav_label(
            use_context::<crate::i18n::Lang>().unwrap_or(crate::i18n::Lang::Zh),
        ),
        "/migration/run" => crate::migration::run_i18n::title(
            use_context::<crate::i18n::Lang>().unwrap_or(crate::i18n::Lang::Zh),
        ),
        "/rollout" => crate::rollout::i18n::title(
            use_context::<crate::i18n::Lang>().unwrap_or(crate::i18n::Lang::Zh),
        ),
        _ => return None,
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_name_the_page() {
        let t = crate::i18n::Lang::En.texts();
        assert_eq!(page_title(t, "/members"), Some(t.members.members_title));
        assert_eq!(page_title(t, "/"), Some(t.overview.title));
        assert_eq!(
            page_title(t, "/members/3f2a9c1e-0000-4000-8000-000000000001"),
            Some(t.member_title)
        );
        assert_eq!(
            page_title(t, "/licenses/3f2a9c1e-0000-4000-8000-000000000001"),
            Some(t.licenses.license_title)
        );
        assert_eq!(
            page_title(t, "/licenses/plans"),
            Some(t.licenses.plans_title)
        );
        // The migration pages' titles follow the page's language (the default here).
        assert_eq!(
            page_title(t, "/migration/run"),
            Some(crate::migration::run_i18n::title(crate::i18n::Lang::Zh))
        );
        assert_eq!(
            page_title(t, "/rollout"),
            Some(crate::rollout::i18n::title(crate::i18n::Lang::Zh))
        );
        assert_eq!(page_title(t, "/nowhere"), None);
    }
}
