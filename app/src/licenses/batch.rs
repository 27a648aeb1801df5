//! Batch assignment pages: `/licenses/batch` (upload a CSV file with a default plan;
//! recent batches; the CSV exports) and `/licenses/batch/{id}` (counts per outcome, the
//! rows paged in line order with their outcome in words, a filter by outcome, Apply,
//! and the progress of an apply).
//!
//! Everything works without JavaScript: the upload is a plain multipart form post to
//! `/upload/licenses-batch` (a route, since a file may exceed the server functions'
//! body limit), which answers 303 to the batch's page; the filter and paging are GET
//! links; Apply is an `ActionForm`; while a batch is being applied the page refreshes
//! itself every two seconds (`<meta http-equiv="refresh">`), so the progress bar moves
//! with or without JavaScript.

use leptos::prelude::*;
use leptos_meta::Meta;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

use crate::components::{
    ActionResult, BUTTON, BUTTON_SMALL, Card, ErrorBox, PageTitle, RequiresRole, TABLE, TD, TH,
    UrlError, allowed, use_ready, use_session,
};
use crate::error::AppError;
use crate::licenses::batch_api::{
    ApplyLicenseBatch, batch_plans, license_batch, license_batch_rows, recent_batches,
};
use crate::licenses::batch_i18n::{Texts, use_batch_texts};
use crate::time::format_time;
use model::access::Role;
use model::licenses::batch::{Batch, BatchRow, Outcome, Status};

/// Seconds between refreshes of a batch page while it is being applied.
pub const REFRESH_SECONDS: u32 = 2;

/// `/licenses/batch`: the upload form (support and tenant admins) and recent batches.
#[component]
pub fn BatchUploadPage() -> impl IntoView {
    let t = use_batch_texts();
    let shared = crate::i18n::use_texts();
    let plans = crate::components::resource(|| (), |_| batch_plans());
    let batches = crate::components::resource(|| (), |_| recent_batches());
    view! {
        <PageTitle text=t.title />
        <crate::licenses::LicensesNav />
        <UrlError />
        <RequiresRole minimum=Role::Support>
            <Card>
                <h2 class="mb-2 font-semibold">{t.upload_title}</h2>
                <p class="mb-4 text-sm text-slate-600">{t.upload_hint}</p>
                <Transition fallback=move || view! { <p>{shared.loading}</p> }>
                    {move || Suspend::new(async move {
                        match plans.await {
                            Ok(plans) => view! { <UploadForm plans t /> }.into_any(),
                            Err(error) => view! { <ErrorBox error /> }.into_any(),
                        }
                    })}
                </Transition>
            </Card>
        </RequiresRole>
        <h2 class="mb-3 mt-6 font-semibold">{t.recent}</h2>
        <Transition fallback=move || view! { <p>{shared.loading}</p> }>
            {move || Suspend::new(async move {
                match batches.await {
                    Ok(list) if list.is_empty() => view! { <p class="text-sm text-slate-500">{t.no_batches}</p> }.into_any(),
                    Ok(list) => view! { <BatchList batches=list t /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        <p class="mt-6 flex flex-wrap gap-4 text-sm">
            <a class="text-indigo-700 hover:underline" href="/export/licenses.csv" download>{t.export_licenses}</a>
            <a class="text-indigo-700 hover:underline" href="/export/assignments.csv" download>{t.export_assignments}</a>
        </p>
    }
}

/// The upload form: a plain multipart post (no JavaScript needed). The plan comes
/// before the file, since the server reads the fields in order and streams the file as
/// it arrives.
#[component]
fn UploadForm(plans: Vec<model::licenses::Plan>, t: &'static Texts) -> impl IntoView {
    view! {
        <form method="post" action="/upload/licenses-batch" enctype="multipart/form-data"
            class="grid gap-4 sm:grid-cols-[1fr_1fr_auto] sm:items-end" data-testid="batch-upload">
            <label class="block text-sm">
                <span class="mb-1 block font-medium text-slate-700">{t.default_plan}</span>
                <select name="plan" class="w-full rounded-md border border-slate-300 px-2 py-2">
                    <option value="">{t.no_default_plan}</option>
                    {plans.into_iter().filter(|p| p.active).map(|p| {
                        let label = format!("{} · {} ({} {})", p.code, crate::members::list::tier_label(&p.code, &p.name_zh, &p.name_en), p.free, t.free);
                        view! { <option value=p.plan_id.to_string()>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class="block text-sm">
                <span class="mb-1 block font-medium text-slate-700">{t.file}</span>
                <input type="file" name="file" required=true accept=".csv,text/csv,text/plain"
                    class="block w-full text-sm" />
            </label>
            <button type="submit" class=BUTTON>{t.upload}</button>
        </form>
    }
}

#[component]
fn BatchList(batches: Vec<Batch>, t: &'static Texts) -> impl IntoView {
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="batches">
            <thead><tr>
                <th class=TH>{t.file_name}</th><th class=TH>{t.uploaded_at}</th><th class=TH>{t.uploaded_by}</th>
                <th class=TH>{t.plan}</th><th class=format!("{TH} text-right")>{t.rows}</th>
                <th class=format!("{TH} text-right")>{t.assigned}</th><th class=format!("{TH} text-right")>{t.refused}</th>
                <th class=TH>{t.status}</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100 bg-white">
                {batches.into_iter().map(|b| view! {
                    <tr data-batch=b.batch_id.to_string()>
                        <td class=TD>
                            <a class="text-indigo-700 hover:underline" href=format!("/licenses/batch/{}", b.batch_id)>{b.file_name.clone()}</a>
                        </td>
                        <td class=format!("{TD} whitespace-nowrap")>{format_time(&b.created_at)}</td>
                        <td class=TD>{b.created_by.clone().unwrap_or_else(|| "cli".into())}</td>
                        <td class=format!("{TD} font-mono")>{b.default_plan_code.clone().unwrap_or_default()}</td>
                        <td class=format!("{TD} text-right tabular-nums")>{b.rows_total}</td>
                        <td class=format!("{TD} text-right tabular-nums")>{b.assigned}</td>
                        <td class=format!("{TD} text-right tabular-nums")>{b.refused}</td>
                        <td class=TD>{t.status(b.status)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

/// `/licenses/batch/{id}`: one batch, its counts, its rows, Apply and progress.
#[component]
pub fn BatchPage() -> impl IntoView {
    let t = use_batch_texts();
    let shared = crate::i18n::use_texts();
    let params = use_params_map();
    let query = use_query_map();
    let batch_id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let outcome = move || {
        query
            .read()
            .get("outcome")
            .and_then(|o| Outcome::parse(&o).ok())
    };
    let after = move || {
        query
            .read()
            .get("after")
            .and_then(|a| a.trim().parse::<i32>().ok())
    };
    let just_applied = move || query.read().get("done").as_deref() == Some("apply_license_batch");
    let apply = ServerAction::<ApplyLicenseBatch>::new();
    let batch = crate::components::resource(
        move || (batch_id(), apply.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => license_batch(id).await,
                None => Err(AppError::NotFound {
                    entity: "license_batch".into(),
                }),
            }
        },
    );
    let rows = crate::components::resource(
        move || (batch_id(), outcome(), after(), apply.version().get()),
        |(id, outcome, after, _)| async move {
            match id {
                Some(id) => license_batch_rows(id, outcome, after).await,
                None => Err(AppError::NotFound {
                    entity: "license_batch".into(),
                }),
            }
        },
    );
    let session = use_session();
    let ready = use_ready();
    view! {
        <PageTitle text=t.title />
        <p class="mb-4 text-sm"><a class="text-indigo-700 hover:underline" href="/licenses/batch">{t.back}</a></p>
        <UrlError />
        {move || just_applied().then(|| view! { <p role="status" class="mb-3 text-sm text-emerald-700">{t.apply_started}</p> })}
        <Transition fallback=move || view! { <p>{shared.loading}</p> }>
            {move || Suspend::new(async move {
                let can_apply = allowed(session, Role::Support).await;
                match batch.await {
                    Ok(batch) => view! { <BatchSummary batch can_apply apply ready t /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let id = batch_id();
                let filter = outcome();
                match rows.await {
                    Ok(page) => view! { <RowTable page id filter t /> }.into_any(),
                    Err(_) => ().into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn BatchSummary(
    batch: Batch,
    can_apply: bool,
    apply: ServerAction<ApplyLicenseBatch>,
    ready: ReadSignal<bool>,
    t: &'static Texts,
) -> impl IntoView {
    let applying = batch.status == Status::Applying;
    let percent = batch.percent();
    let counts = batch.counts.clone();
    view! {
        {applying.then(|| view! { <Meta http_equiv="refresh" content=REFRESH_SECONDS.to_string() /> })}
        <Card>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="font-semibold">{batch.file_name.clone()}</h2>
                <span class="text-sm text-slate-600" data-testid="batch-status" data-status=batch.status.as_str()>
                    {t.status(batch.status)}
                </span>
            </div>
            <p class="mt-1 text-sm text-slate-600">
                {format_time(&batch.created_at)} " · " {batch.created_by.clone().unwrap_or_else(|| "cli".into())}
                " · " {t.plan} ": " <span class="font-mono">{batch.default_plan_code.clone().unwrap_or_else(|| "—".into())}</span>
                " · " {t.rows} ": " {batch.rows_total}
            </p>
            {batch.existing.then(|| view! { <p class="mt-2 text-sm text-amber-700">{t.existing}</p> })}
            <h3 class="mb-2 mt-4 text-sm font-medium text-slate-700">{t.counts}</h3>
            <div class="overflow-x-auto"><table class=TABLE data-testid="batch-counts">
                <tbody class="divide-y divide-slate-100 bg-white">
                    {counts.into_iter().map(|c| view! {
                        <tr data-outcome=c.outcome.as_str()>
                            <td class=TD>
                                <a class="text-indigo-700 hover:underline" href=format!("/licenses/batch/{}?outcome={}", batch.batch_id, c.outcome.as_str())>
                                    {t.outcome(c.outcome)}
                                </a>
                            </td>
                            <td class=format!("{TD} text-right tabular-nums") data-testid="count">{c.rows}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
            {(batch.status != Status::Uploaded).then(|| view! {
                <div class="mt-4" data-testid="batch-progress">
                    <span class="text-sm text-slate-700">{t.progress} ": " {percent} "% · "
                        {t.assigned} " " {batch.assigned} " · " {t.refused} " " {batch.refused}</span>
                    <progress class="mt-1 block h-2 w-full" max="100" value=percent.to_string()>{percent} "%"</progress>
                    {applying.then(|| view! {
                        <a class="mt-2 inline-block text-sm text-indigo-700 hover:underline" href=format!("/licenses/batch/{}", batch.batch_id)>{t.refresh}</a>
                    })}
                </div>
            })}
            {(can_apply && batch.status == Status::Uploaded).then(|| view! {
                <div class="mt-4" data-testid="batch-apply" data-ready=move || ready.get().then_some("true")>
                    <p class="mb-2 text-sm text-slate-600">{t.apply_hint}</p>
                    <ActionForm action=apply attr:aria-busy=move || apply.pending().get().then_some("true") attr:class="group">
                        <input type="hidden" name="batch_id" value=batch.batch_id.to_string() />
                        <button type="submit" class=BUTTON>{t.apply}</button>
                    </ActionForm>
                    <div class="mt-2"><ActionResult value=move || apply.value().get() success=t.apply_started /></div>
                </div>
            })}
        </Card>
    }
}

#[component]
fn RowTable(
    page: model::licenses::batch::BatchRowPage,
    id: Option<Uuid>,
    filter: Option<Outcome>,
    t: &'static Texts,
) -> impl IntoView {
    let Some(id) = id else {
        return ().into_any();
    };
    let base = format!("/licenses/batch/{id}");
    let filter_value = filter.map(Outcome::as_str).unwrap_or_default();
    let next = page.next.map(|after| match filter {
        Some(o) => format!("{base}?outcome={}&after={after}", o.as_str()),
        None => format!("{base}?after={after}"),
    });
    let first = match filter {
        Some(o) => format!("{base}?outcome={}", o.as_str()),
        None => base.clone(),
    };
    view! {
        <form method="get" action=base.clone() class="mb-3 mt-6 flex flex-wrap items-end gap-3">
            <label class="block text-sm">
                <span class="mb-1 block font-medium text-slate-700">{t.filter}</span>
                <select name="outcome" class="rounded-md border border-slate-300 px-2 py-2">
                    <option value="" selected=filter.is_none()>{t.all_rows}</option>
                    {Outcome::ALL.into_iter().map(|o| view! {
                        <option value=o.as_str() selected=o.as_str() == filter_value>{t.outcome(o)}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class=BUTTON_SMALL>{t.filter}</button>
        </form>
        {if page.rows.is_empty() {
            view! { <p class="text-sm text-slate-500">{t.no_rows}</p> }.into_any()
        } else {
            view! {
                <div class="overflow-x-auto"><table class=TABLE data-testid="batch-rows">
                    <thead><tr>
                        <th class=format!("{TH} text-right")>{t.line}</th><th class=TH>{t.external_id}</th>
                        <th class=TH>{t.plan}</th><th class=TH>{t.outcome}</th><th class=TH>{t.license_key}</th>
                    </tr></thead>
                    <tbody class="divide-y divide-slate-100 bg-white">
                        {page.rows.into_iter().map(|row| view! { <RowLine row t /> }).collect_view()}
                    </tbody>
                </table></div>
            }.into_any()
        }}
        <p class="mt-3 flex gap-4 text-sm">
            {(page.next.is_some() || filter.is_some()).then(|| view! {
                <a class="text-indigo-700 hover:underline" href=first>{t.first_page}</a>
            })}
            {next.map(|href| view! { <a class="text-indigo-700 hover:underline" href=href data-testid="next-rows">{t.next_page}</a> })}
        </p>
    }
    .into_any()
}

#[component]
fn RowLine(row: BatchRow, t: &'static Texts) -> impl IntoView {
    let current = row.current();
    let words = match row.malformed {
        Some(reason) => format!("{}: {}", t.outcome(current), t.malformed(reason)),
        None => t.outcome(current).to_owned(),
    };
    let tone = if current.is_assignment() {
        "text-emerald-700"
    } else {
        "text-amber-700"
    };
    view! {
        <tr data-line=row.line_no.to_string() data-outcome=current.as_str()>
            <td class=format!("{TD} text-right tabular-nums")>{row.line_no}</td>
            <td class=format!("{TD} font-mono")>{row.external_id.clone().unwrap_or_default()}</td>
            <td class=format!("{TD} font-mono")>{row.plan_code.clone().unwrap_or_default()}</td>
            <td class=format!("{TD} {tone}")>{words}</td>
            <td class=format!("{TD} font-mono")>{row.license_key.clone().unwrap_or_default()}</td>
        </tr>
    }
}
