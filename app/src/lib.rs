//! The Tierdesk console: Leptos pages (rendered on the server, hydrated in the
//! browser) and the server functions they call.
//!
//! Compiled twice: with `ssr` into the server binary (where server functions run and
//! call `domain`), and with `hydrate` into WASM (where they become HTTP calls). Both
//! builds use the types of `model` directly; `domain` is there only with `ssr`.
//!
//! Arranged by feature like `model` and `domain`: each feature folder holds its pages,
//! its server functions (`api.rs`) and its messages (`i18n.rs`).

#![recursion_limit = "256"]

use leptos::prelude::*;
use leptos_meta::{MetaTags, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, SsrMode, path};

/// Access: sign-in, tenants, admins and invitations, the audit log.
pub mod access;
/// API keys of the tenant's backend (the REST API's credentials).
pub mod api_keys;
/// The build assets' URLs (content-hashed in release builds), for the shell.
pub mod assets;
/// SVG line and bar charts rendered on the server, with their numbers as tables.
pub mod charts;
/// Small shared view pieces: error messages, form fields, tables.
pub mod components;
/// Server-side request context: state, session, authenticated access.
#[cfg(feature = "ssr")]
pub mod context;
/// The server-function error type and the mapping of domain errors onto it.
pub mod error;
/// Form text turned into typed values (server side).
#[cfg(feature = "ssr")]
pub(crate) mod form;
/// UI text in Simplified Chinese and English: the shared messages and the catalogue
/// composed of each feature's own.
pub mod i18n;
/// Licenses: plans, the license list and page, validation, the report, member seats,
/// batch assignment (upload, preview, apply) and the CSV exports' shells.
pub mod licenses;
/// Members: the list and the member page.
pub mod members;
/// The legacy migration: legacy data and its import, the mapping and formula with a
/// live sample.
pub mod migration;
/// The overview: the tenant's figures with charts.
pub mod overview;
/// The pages as lazy routes: their code in a few WASM chunks, loaded when shown.
pub mod pages;
/// Points: approvals, the threshold, level tiers.
pub mod points;
/// The gray rollout: its console with the dashboard, and the member page's panel.
pub mod rollout;
/// The console around the features: layout, not found.
pub mod shell;
/// Tags: the catalogue, member tags and permissions, expiring grants.
pub mod tags;
/// Times in the reader's time zone.
pub mod time;
/// Webhooks: settings, outbox, deliveries.
pub mod webhooks;

use i18n::{Lang, detect_lang};
use pages::{
    AdminsRoute, ApiKeysRoute, ApprovalsRoute, AuditRoute, ExpiringRoute, LevelsRoute,
    LicenseBatchRoute, LicenseBatchesRoute, LicenseReportRoute, LicenseRoute, LicensesRoute,
    MemberRoute, MembersRoute, MigrationRoute, MigrationRunRoute, OverviewRoute, PlansRoute,
    RolloutRoute, SignInRoute, TagsRoute, TenantsRoute, WebhooksRoute,
};
use shell::{layout::Layout, not_found::NotFound};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = detect_lang();
    let stylesheet = assets::stylesheet_href(&options);
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" id="leptos" href=stylesheet />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let lang: Lang = detect_lang();
    provide_context(lang);
    provide_context(time::detect_zone());
    time::remember_browser_zone();
    // Marks the page as hydrated (effects run in the browser only); browser tests wait
    // for it before they interact.
    // The timeout runs after the microtasks in which suspended content (with its data
    // serialised into the page) finishes hydrating.
    Effect::new(|_| {
        set_timeout(
            || {
                if let Some(body) = document().body() {
                    let _ = body.set_attribute("data-hydrated", "true");
                }
            },
            std::time::Duration::ZERO,
        );
    });
    view! {
        <Router>
            <shell::DocumentTitle />
            <Routes fallback=|| view! { <NotFound /> }>
                // Each page is a lazy route (`pages`): its code is in a WASM chunk that the
                // browser fetches when the page is first shown.
                // Async rendering: pages arrive complete (data included, redirects as real
                // 302s), so they work without JavaScript; hydration then takes over.
                <Route path=path!("/login") view={Lazy::<SignInRoute>::new()} ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=Layout ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<OverviewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("tenants") view={Lazy::<TenantsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("admins") view={Lazy::<AdminsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("members") view={Lazy::<MembersRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("members/:id") view={Lazy::<MemberRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("levels") view={Lazy::<LevelsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("approvals") view={Lazy::<ApprovalsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("tags") view={Lazy::<TagsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("expiring") view={Lazy::<ExpiringRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("webhooks") view={Lazy::<WebhooksRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("api-keys") view={Lazy::<ApiKeysRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("licenses/batch") view={Lazy::<LicenseBatchesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("licenses/batch/:id") view={Lazy::<LicenseBatchRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("licenses") view={Lazy::<LicensesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("licenses/plans") view={Lazy::<PlansRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("licenses/report") view={Lazy::<LicenseReportRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("licenses/:id") view={Lazy::<LicenseRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("migration") view={Lazy::<MigrationRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("migration/run") view={Lazy::<MigrationRunRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("rollout") view={Lazy::<RolloutRoute>::new()} ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
