//! The legacy data section: the user types with their permissions, quota and members
//! (types the members name but the tenant lacks flagged), the totals, the import form
//! (a plain multipart form post to `/upload/legacy`, which answers 303 back here with
//! `?import=<id>`), and the latest import reports with their bad rows in words.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::components::{BUTTON, Data, RequiresRole, TABLE, TD, TH};
use crate::error::AppError;
use crate::migration::api::{legacy_import, legacy_imports};
use crate::migration::i18n::{Texts, use_migration_texts};
use crate::migration::page::ProblemBox;
use crate::time::format_time;
use model::access::Role;
use model::migration::imports::ImportRecord;
use model::migration::legacy::{BadRow, Summary};

const SECTION: &str = "mb-6 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-5";

#[component]
pub fn LegacyData(summary: Data<Result<Summary, AppError>>) -> impl IntoView {
    let t = use_migration_texts();
    let shared = crate::i18n::use_texts();
    let imports = crate::components::resource(|| (), |_| legacy_imports());
    let query = use_query_map();
    let chosen = move || {
        query
            .read()
            .get("import")
            .and_then(|id| id.trim().parse::<Uuid>().ok())
    };
    let this_import = crate::components::resource(chosen, |id| async move {
        match id {
            Some(id) => Some(legacy_import(id).await),
            None => None,
        }
    });
    view! {
        <section id="migration-legacy" class=SECTION data-testid="legacy-data">
            <h2 class="mb-1 font-semibold">{t.legacy_title}</h2>
            <p class="mb-4 text-sm text-slate-600">{t.legacy_hint}</p>
            <Transition fallback=move || view! { <p>{shared.loading}</p> }>
                {move || Suspend::new(async move {
                    match summary.await {
                        Ok(summary) => view! { <SummaryView summary t /> }.into_any(),
                        Err(error) => view! { <ProblemBox error /> }.into_any(),
                    }
                })}
            </Transition>
            <h3 class="mb-2 mt-6 text-sm font-semibold text-slate-800">{t.import_title}</h3>
            <RequiresRole minimum=Role::TenantAdmin>
                <ImportForm t />
            </RequiresRole>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match this_import.await {
                        Some(Ok(record)) => view! {
                            <div class="mt-4 rounded-md border border-indigo-200 bg-indigo-50/40 p-3" data-testid="this-import">
                                <h3 class="mb-2 text-sm font-semibold">{t.this_import}</h3>
                                <ImportView record full=true t />
                            </div>
                        }.into_any(),
                        Some(Err(error)) => view! { <div class="mt-4"><ProblemBox error /></div> }.into_any(),
                        None => ().into_any(),
                    }
                })}
            </Transition>
            <h3 class="mb-2 mt-6 text-sm font-semibold text-slate-800">{t.imports_title}</h3>
            <Transition fallback=move || view! { <p>{shared.loading}</p> }>
                {move || Suspend::new(async move {
                    match imports.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="text-sm text-slate-500">{t.no_imports}</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="space-y-4" data-testid="imports">
                                {list.into_iter().map(|record| view! {
                                    <li class="border-t border-slate-100 pt-3"><ImportView record full=false t /></li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => view! { <ProblemBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The user types (with their members) and the types members name that do not exist.
#[component]
fn SummaryView(summary: Summary, t: &'static Texts) -> impl IntoView {
    if summary.types.is_empty() && summary.members == 0 {
        return view! { <p class="text-sm text-slate-500" data-testid="no-legacy-data">{t.no_legacy_data}</p> }
            .into_any();
    }
    let members_of = |type_id: i32| {
        summary
            .per_type
            .iter()
            .find(|c| c.type_id == type_id)
            .map_or(0, |c| c.members)
    };
    let known: Vec<_> = summary
        .types
        .iter()
        .map(|ty| (ty.clone(), members_of(ty.type_id)))
        .collect();
    let unknown: Vec<_> = summary
        .per_type
        .iter()
        .filter(|c| c.name.is_none())
        .cloned()
        .collect();
    let right = format!("{TD} text-right tabular-nums");
    view! {
        <h3 class="mb-2 text-sm font-semibold text-slate-800">{t.types_title}</h3>
        <div class="overflow-x-auto"><table class=TABLE data-testid="legacy-types">
            <thead><tr>
                <th class=format!("{TH} text-right")>{t.type_id}</th><th class=TH>{t.type_name}</th>
                <th class=TH>{t.permissions}</th><th class=format!("{TH} text-right")>{t.quota}</th>
                <th class=format!("{TH} text-right")>{t.members}</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100 bg-white">
                {known.into_iter().map(|(ty, members)| view! {
                    <tr data-type=ty.type_id.to_string()>
                        <td class=right.clone()>{ty.type_id}</td>
                        <td class=TD>{ty.name.clone()}</td>
                        <td class=format!("{TD} font-mono text-xs")>{ty.permissions.join(", ")}</td>
                        <td class=right.clone()>{ty.max_licenses}</td>
                        <td class=right.clone() data-testid="members">{members}</td>
                    </tr>
                }).collect_view()}
                {unknown.into_iter().map(|count| view! {
                    <tr data-type=count.type_id.to_string() data-unknown="true">
                        <td class=right.clone()>{count.type_id}</td>
                        <td class=format!("{TD} text-amber-700") colspan="3">"⚠ " {t.unknown_type}</td>
                        <td class=right.clone() data-testid="members">{count.members}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
        <p class="mt-3 flex flex-wrap gap-x-6 gap-y-1 text-sm text-slate-700">
            <span>{t.total_members} {t.colon} <strong class="tabular-nums" data-testid="legacy-total">{summary.members}</strong></span>
            <span>{t.last_change} {t.colon} {summary.last_change.as_ref().map(format_time).unwrap_or_else(|| "—".into())}</span>
        </p>
    }
    .into_any()
}

/// Both files in one plain multipart form: no JavaScript needed. The types come first,
/// since the server reads the files in order as they arrive.
#[component]
fn ImportForm(t: &'static Texts) -> impl IntoView {
    let label = "mb-1 block font-medium text-slate-700";
    view! {
        <p class="mb-3 text-sm text-slate-600">{t.import_hint}</p>
        <form method="post" action="/upload/legacy" enctype="multipart/form-data"
            class="grid gap-4 sm:grid-cols-2" data-testid="legacy-import">
            <label class="block text-sm">
                <span class=label>{t.types_file}</span>
                <input type="file" name="types" accept=".csv,text/csv,text/plain" class="block w-full text-sm" />
                <span class="mt-1 block text-xs text-slate-500">{t.types_columns}</span>
            </label>
            <label class="block text-sm">
                <span class=label>{t.members_file}</span>
                <input type="file" name="members" accept=".csv,text/csv,text/plain" class="block w-full text-sm" />
                <span class="mt-1 block text-xs text-slate-500">{t.members_columns}</span>
            </label>
            <div class="sm:col-span-2"><button type="submit" class=BUTTON>{t.import_button}</button></div>
        </form>
    }
}

/// One import: what it read, its counts, and its bad rows (the first few in the list,
/// every stored one when `full`).
#[component]
fn ImportView(record: ImportRecord, full: bool, t: &'static Texts) -> impl IntoView {
    let report = record.report;
    let not_listed = report.bad_total.saturating_sub(report.bad.len() as u64);
    let id = record.import_id.to_string();
    let counts = [
        (t.rows, report.rows),
        (t.inserted, report.inserted),
        (t.updated, report.updated),
        (t.unchanged, report.unchanged),
        (t.bad, report.bad_total),
    ];
    view! {
        <div data-import=id.clone() data-kind=record.kind.as_str()>
            <p class="text-sm">
                <strong>{t.kind(record.kind)}</strong> " · " <span class="break-all">{record.file_name.clone()}</span>
            </p>
            <p class="text-xs text-slate-500">
                {t.imported_at} " " {format_time(&record.imported_at)} " · " {t.imported_by} " "
                {record.imported_by.clone().unwrap_or_else(|| "cli".into())}
            </p>
            <dl class="mt-2 flex flex-wrap gap-x-5 gap-y-1 text-sm" data-testid="import-counts">
                {counts.into_iter().map(|(name, value)| view! {
                    <div class="flex gap-1"><dt class="text-slate-600">{name}</dt><dd class="font-medium tabular-nums">{value}</dd></div>
                }).collect_view()}
            </dl>
            {if report.bad.is_empty() {
                view! { <p class="mt-2 text-xs text-slate-500">{t.no_bad_rows}</p> }.into_any()
            } else {
                view! { <BadRows rows=report.bad t /> }.into_any()
            }}
            {(not_listed > 0).then(|| view! {
                <p class="mt-1 text-xs text-slate-600">
                    {not_listed} " " {t.bad_not_listed}
                    {(!full).then(|| view! {
                        " · " <a class="text-indigo-700 hover:underline" href=format!("/migration?import={id}")>{t.show_all_bad}</a>
                    })}
                </p>
            })}
        </div>
    }
}

#[component]
fn BadRows(rows: Vec<BadRow>, t: &'static Texts) -> impl IntoView {
    view! {
        <div class="mt-2 max-h-96 overflow-auto"><table class=TABLE data-testid="bad-rows">
            <thead><tr>
                <th class=format!("{TH} text-right")>{t.line}</th><th class=TH>{t.column}</th><th class=TH>{t.problem}</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100 bg-white">
                {rows.into_iter().map(|row| {
                    let column = if row.field == "record" { t.whole_line.to_owned() } else { row.field.clone() };
                    view! {
                        <tr data-line=row.line.to_string() data-problem=row.problem.clone()>
                            <td class=format!("{TD} text-right tabular-nums")>{row.line}</td>
                            <td class=format!("{TD} font-mono text-xs")>{column}</td>
                            <td class=format!("{TD} text-amber-800")>{t.problem(&row.problem)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
    }
}
