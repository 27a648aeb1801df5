//! The console's pages as lazy routes: in the browser the pages' code is split off the
//! main WASM module into a few chunks, each fetched when one of its pages is first
//! shown, so a first visit downloads the shell (layout, navigation, router, shared
//! components) and the chunk of the page it opens instead of every page. The release
//! build splits the WASM with `cargo leptos build --release --split`
//! (`scripts/setup.sh`, `build_release`).
//!
//! Pages are grouped into chunks (`start`, `member`, `lists`, `points`, `admin`,
//! `licenses`, `migration`, `rollout`) rather than one chunk per page. The splitter puts code that several
//! chunks use, and the main module does not, into shared chunks of its own, one per
//! combination of chunks that use it: with one chunk per page that made 160 shared files, most of a few
//! hundred bytes, and a cold load of /members took 79 WASM files (a request each; see
//! `docs/BENCHMARKS.md`, "First load"). With five groups every page took 17: the main
//! module, its group's chunk and at most 15 shared ones.
//! The grouping follows how the console is used: sign-in and the overview it lands on,
//! the member page alone (the largest), the lists (members, tags, expiring grants),
//! points (levels, approvals), administration (tenants, admins, audit, webhooks) and
//! licenses (the list, plans, a license's page, the report; the member page's licenses
//! section stays in `member`) and the migration pages (`/migration` and its run console
//! `/migration/run`: their own chunk, with their own message catalogues) and the rollout
//! console (`/rollout`, its own chunk; the member page's rollout panel stays in `member`).
//!
//! This is what `#[lazy_route]` generates, with the chunk named by the group instead of
//! by the page: the page's view function is a wasm_split split point (`wasm_split`
//! puts every split point with the same module name into one chunk). On the server
//! nothing is deferred: the route records which chunk the page needs, and leptos_axum
//! adds `<link rel="preload">` for it, its shared chunks and the chunk loader to the
//! page's head (through `MetaTags`), so the browser fetches them alongside the main
//! module rather than after it.
//!
//! Each route's `data()` is empty: the pages create their resources themselves, and on
//! a first load their data is already in the HTML (async SSR), so there is nothing to
//! fetch while the chunk loads.
//!
//! A WASM build without `--split` would leave the chunks' imports unresolved: debug
//! builds take the flag as well (`cargo leptos watch --split`).

// The chunk boundaries are `extern "C"` imports and `#[no_mangle]` exports generated
// by `wasm_split`, which the `unsafe_code` lint reports; they exist only in the WASM
// build.
#![cfg_attr(target_family = "wasm", allow(unsafe_code))]

use leptos::prelude::*;
use leptos_router::LazyRoute;

use crate::access::{
    admins::AdminsPage, audit::AuditPage, sign_in::SignInPage, tenants::TenantsPage,
};
use crate::api_keys::page::ApiKeysPage;
use crate::licenses::batch::{BatchPage, BatchUploadPage};
use crate::licenses::{
    detail::LicenseDetailPage, list::LicensesPage, plans::PlansPage, report::ReportPage,
};
use crate::members::{list::MembersPage, member::MemberPage};
use crate::migration::page::MigrationPage;
use crate::migration::run_page::MigrationRunPage;
use crate::overview::page::OverviewPage;
use crate::points::{approvals::ApprovalsPage, levels::LevelsPage};
use crate::rollout::page::RolloutPage;
use crate::tags::{catalogue::TagsPage, expiring::ExpiringPage};
use crate::webhooks::settings::WebhooksPage;

/// Declares `$route`, the lazy route that shows the page component `$page`; its code
/// goes into the WASM chunk `$chunk` (through the split point `$view`, with `$preload`
/// to fetch the chunk ahead of a navigation).
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident => $page:ident in $chunk:ident via $view:ident, $preload:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $route;

        #[::leptos::wasm_split::wasm_split(
            $chunk,
            wasm_split_path = ::leptos::wasm_split,
            preload(#[doc(hidden)] $preload)
        )]
        fn $view(_route: $route) -> AnyView {
            view! { <$page /> }.into_any()
        }

        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(this: Self) -> AnyView {
                // The server renders at once; it only notes the chunk for the preloads.
                #[cfg(feature = "ssr")]
                ::leptos::prefetch_lazy_fn_on_server(stringify!($chunk));
                $view(this).await
            }

            async fn preload() {
                // Fetches the chunk in the browser; does nothing on the server.
                $preload().await;
            }
        }
    };
}

lazy_page!(
    /// `/login`
    SignInRoute => SignInPage in start via sign_in_view, preload_sign_in
);
lazy_page!(
    /// `/`
    OverviewRoute => OverviewPage in start via overview_view, preload_overview
);
lazy_page!(
    /// `/members/:id`
    MemberRoute => MemberPage in member via member_view, preload_member
);
lazy_page!(
    /// `/members`
    MembersRoute => MembersPage in lists via members_view, preload_members
);
lazy_page!(
    /// `/tags`
    TagsRoute => TagsPage in lists via tags_view, preload_tags
);
lazy_page!(
    /// `/expiring`
    ExpiringRoute => ExpiringPage in lists via expiring_view, preload_expiring
);
lazy_page!(
    /// `/levels`
    LevelsRoute => LevelsPage in points via levels_view, preload_levels
);
lazy_page!(
    /// `/approvals`
    ApprovalsRoute => ApprovalsPage in points via approvals_view, preload_approvals
);
lazy_page!(
    /// `/tenants`
    TenantsRoute => TenantsPage in admin via tenants_view, preload_tenants
);
lazy_page!(
    /// `/admins`
    AdminsRoute => AdminsPage in admin via admins_view, preload_admins
);
lazy_page!(
    /// `/audit`
    AuditRoute => AuditPage in admin via audit_view, preload_audit
);
lazy_page!(
    /// `/webhooks`
    WebhooksRoute => WebhooksPage in admin via webhooks_view, preload_webhooks
);
lazy_page!(
    /// `/api-keys`
    ApiKeysRoute => ApiKeysPage in admin via api_keys_view, preload_api_keys
);
lazy_page!(
    /// `/licenses`
    LicensesRoute => LicensesPage in licenses via licenses_view, preload_licenses
);
lazy_page!(
    /// `/licenses/plans`
    PlansRoute => PlansPage in licenses via plans_view, preload_plans
);
lazy_page!(
    /// `/licenses/report`
    LicenseReportRoute => ReportPage in licenses via license_report_view, preload_license_report
);
lazy_page!(
    /// `/licenses/:id`
    LicenseRoute => LicenseDetailPage in licenses via license_view, preload_license
);
lazy_page!(
    /// `/licenses/batch`
    LicenseBatchesRoute => BatchUploadPage in licenses via license_batches_view, preload_license_batches
);
lazy_page!(
    /// `/licenses/batch/:id`
    LicenseBatchRoute => BatchPage in licenses via license_batch_view, preload_license_batch
);
lazy_page!(
    /// `/migration`
    MigrationRoute => MigrationPage in migration via migration_view, preload_migration
);
lazy_page!(
    /// `/migration/run`
    MigrationRunRoute => MigrationRunPage in migration via migration_run_view, preload_migration_run
);
lazy_page!(
    /// `/rollout`
    RolloutRoute => RolloutPage in rollout via rollout_view, preload_rollout
);
