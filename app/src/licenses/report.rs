use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::charts::{BarChart, TableWords};
use crate::components::{
    BUTTON_SMALL, Card, ErrorBox, Outcome, OutcomeView, PageTitle, TABLE, TD, TH, UrlError,
    allowed, use_session,
};
use crate::i18n::{Texts, use_texts};
use crate::licenses::LicensesNav;
use crate::licenses::api::{OVER_QUOTA_PAGE, ReleaseSeat, license_report, over_quota_members};
use crate::members::list::tier_label;
use crate::time::format_time;
use model::access::Role;
use model::licenses::{EXPIRING_REPORT_DAYS, OverQuota, Report};

/// Utilisation per plan (a bar chart of assigned seats, and a table of issued,
/// assigned, activated, free, expiring within 30 days, suspended, expired, revoked) and
/// the members holding more seats than their quota allows, keyset-paged by external id
/// (`?after=`), each with a "release one seat" form for support.
#[component]
pub fn ReportPage() -> impl IntoView {
    let t = use_texts();
    let query = use_query_map();
    let after = move || query.read().get("after").filter(|a| !a.is_empty());
    let release = ServerAction::<ReleaseSeat>::new();
    let outcome = Outcome::default();
    outcome.follow(release, move |key| format!("{} {key}", t.licenses.released));
    let report = crate::components::resource(move || release.version().get(), |_| license_report());
    let over = crate::components::resource(
        move || (after(), release.version().get()),
        |(after, _)| over_quota_members(after),
    );
    let session = use_session();
    view! {
        <PageTitle text=t.licenses.report_title />
        <LicensesNav />
        <UrlError />
        <OutcomeView outcome />
        <Card>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Ok(report) => view! { <PlanReportTable report t /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
        <Card>
            <h2 class="mb-1 font-semibold">{t.licenses.over_quota_title}</h2>
            <p class="mb-3 text-xs text-slate-500">{t.licenses.over_quota_hint}</p>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    let may_release = allowed(session, Role::Support).await;
                    match over.await {
                        Ok(members) => view! { <OverQuotaTable members may_release release t /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
    }
}

#[component]
fn PlanReportTable(report: Report, t: &'static Texts) -> impl IntoView {
    let right = format!("{TH} text-right");
    let number = format!("{TD} text-right tabular-nums");
    let expiring = format!(
        "{} ({EXPIRING_REPORT_DAYS} {})",
        t.licenses.expiring, t.tags.days
    );
    view! {
        <p class="mb-3 text-sm text-slate-600">
            {t.licenses.over_quota_title} {t.colon} <strong data-testid="over-quota-count">{report.over_quota}</strong>
            " · " <span class="text-slate-500">{format_time(&report.at)}</span>
        </p>
        {if report.plans.is_empty() {
            view! { <p class="text-sm text-slate-500">{t.licenses.no_plans}</p> }.into_any()
        } else {
            let bars: Vec<(String, i64)> = report.plans.iter().map(|p| (p.code.clone(), p.assigned)).collect();
            let words = TableWords {
                show_numbers: t.overview.show_numbers,
                label_heading: t.license_plan_label,
            };
            view! {
                <div class="mb-4">
                    <BarChart
                        id="assigned-chart"
                        title=t.licenses.chart_assigned.to_owned()
                        bars
                        value_heading=t.licenses.state_assigned
                        words
                    />
                </div>
                <div class="overflow-x-auto"><table class=TABLE data-testid="license-report">
                    <thead><tr>
                        <th class=TH>{t.license_plan_label}</th>
                        <th class=right.clone()>{t.licenses.issued}</th><th class=right.clone()>{t.licenses.state_assigned}</th>
                        <th class=right.clone()>{t.licenses.activated}</th><th class=right.clone()>{t.licenses.free}</th>
                        <th class=right.clone()>{expiring}</th><th class=right.clone()>{t.licenses.state_suspended}</th>
                        <th class=right.clone()>{t.licenses.state_expired}</th><th class=right>{t.licenses.state_revoked}</th>
                    </tr></thead>
                    <tbody class="divide-y divide-slate-100 bg-white">
                        {report.plans.into_iter().map(|p| {
                            let cells = [p.issued, p.assigned, p.activated, p.free, p.expiring, p.suspended, p.expired, p.revoked];
                            view! {
                                <tr data-code=p.code.clone()>
                                    <td class=TD>
                                        <a href=format!("/licenses?plan={}", p.plan_id) class="font-mono text-indigo-700 hover:underline">{p.code.clone()}</a>
                                        " " <span class="text-xs text-slate-500">{tier_label(&p.code, &p.name_zh, &p.name_en)}</span>
                                    </td>
                                    {cells.into_iter().map(|n| view! { <td class=number.clone()>{n}</td> }).collect_view()}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
            }.into_any()
        }}
    }
}

#[component]
fn OverQuotaTable(
    members: Vec<OverQuota>,
    may_release: bool,
    release: ServerAction<ReleaseSeat>,
    t: &'static Texts,
) -> impl IntoView {
    if members.is_empty() {
        return view! { <p class="text-sm text-slate-500" data-testid="over-quota">{t.licenses.nobody_over_quota}</p> }.into_any();
    }
    // A full page may have a next one: it continues after the last external id.
    let next = (members.len() as i64 >= OVER_QUOTA_PAGE)
        .then(|| members.last().map(|m| m.external_id.clone()))
        .flatten();
    let input = "w-40 rounded border border-slate-300 px-2 py-1 text-xs";
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="over-quota">
            <thead><tr>
                <th class=TH>{t.external_id}</th><th class=TH>{t.display_name}</th>
                <th class=format!("{TH} text-right")>{t.licenses.held}</th><th class=format!("{TH} text-right")>{t.licenses.quota}</th>
                <th class=TH></th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100 bg-white">
                {members.into_iter().map(|m| {
                    let id = m.member_id.to_string();
                    view! {
                        <tr data-external-id=m.external_id.clone()>
                            <td class=format!("{TD} font-mono")>
                                <a href=format!("/members/{id}") class="text-indigo-700 hover:underline">{m.external_id.clone()}</a>
                            </td>
                            <td class=TD>{m.display_name.clone()}</td>
                            <td class=format!("{TD} text-right tabular-nums")>{m.held}</td>
                            <td class=format!("{TD} text-right tabular-nums")>{m.quota}</td>
                            <td class=TD>
                                {may_release.then(|| view! {
                                    <details class="group" data-testid="release">
                                        <summary class=format!("{BUTTON_SMALL} inline-block cursor-pointer list-none")>{t.licenses.release_open}</summary>
                                        <ActionForm action=release attr:class="group mt-1 space-y-1 rounded border border-red-200 bg-red-50 p-2" attr:aria-busy=move || release.pending().get().then_some("true")>
                                            <p class="text-xs text-red-800">{t.licenses.release_effect}</p>
                                            <input type="hidden" name="member_id" value=id.clone() />
                                            <div class="flex flex-wrap gap-1">
                                                <input type="text" name="reason" required=true maxlength="500" placeholder=t.reason aria-label=t.reason class=input />
                                                <button type="submit" class=BUTTON_SMALL disabled=move || release.pending().get()>{t.licenses.release}</button>
                                            </div>
                                        </ActionForm>
                                    </details>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
        {next.map(|after| view! {
            <a href=format!("/licenses/report?after={}", crate::licenses::list::encode(&after)) class="mt-3 inline-block text-sm text-indigo-600 hover:underline">{t.licenses.next}</a>
        })}
    }
    .into_any()
}
