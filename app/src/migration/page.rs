//! `/migration`: the migration's sections in the order an operator works through them.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{ErrorBox, PageTitle};
use crate::error::AppError;
use crate::migration::api::legacy_summary;
use crate::migration::i18n::use_migration_texts;
use crate::migration::legacy_data::LegacyData;
use crate::migration::settings::MappingAndFormula;

/// The migration page. The legacy summary is read once and shared by the legacy data
/// and the mapping editor (which has a row per legacy user type).
#[component]
pub fn MigrationPage() -> impl IntoView {
    let t = use_migration_texts();
    let summary = crate::components::resource(|| (), |_| legacy_summary());
    view! {
        <PageTitle text=t.title />
        <p class="mb-4 text-sm">
            <a href="/migration/run" class="text-indigo-700 hover:underline" data-testid="to-migration-run">
                {crate::migration::run_i18n::title(use_context::<crate::i18n::Lang>().unwrap_or(crate::i18n::Lang::Zh))} " →"
            </a>
        </p>
        <UrlProblem />
        <LegacyData summary />
        <MappingAndFormula summary />
        // The run's parts (issue #12), each in its own section, in this order.
        <section id="migration-dry-run" data-part="dry-run"></section>
        <section id="migration-checkpoints" data-part="checkpoints"></section>
        <section id="migration-run" data-part="run"></section>
        <section id="migration-validate" data-part="validate"></section>
        <section id="migration-rollback" data-part="rollback"></section>
    }
}

/// The error a plain (no-JavaScript) post carried back in `?error=` (an import or a
/// save), in this page's words.
#[component]
fn UrlProblem() -> impl IntoView {
    let t = use_migration_texts();
    let shared = crate::i18n::use_texts();
    let query = use_query_map();
    move || {
        query
            .read()
            .get("error")
            .and_then(|json| serde_json::from_str::<AppError>(&json).ok())
            .map(|error| {
                let message = t.error(&error, shared);
                view! {
                    <p role="alert" data-testid="migration-error"
                        class="mb-4 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
                        {message}
                    </p>
                }
            })
    }
}

/// An error box in this page's words.
#[component]
pub fn ProblemBox(error: AppError) -> impl IntoView {
    let t = use_migration_texts();
    let shared = crate::i18n::use_texts();
    match &error {
        AppError::Invalid { .. } | AppError::Conflict(_) | AppError::NotFound { .. } => view! {
            <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
                {t.error(&error, shared)}
            </p>
        }
        .into_any(),
        _ => view! { <ErrorBox error /> }.into_any(),
    }
}
