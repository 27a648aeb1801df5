//! The run console's reports and the forms that make them: the selection fields, the
//! pre-flight's statistics, the dry run (with its bar charts), validation and
//! reconciliation, and the rollback with its blast-radius preview and the confirmation
//! that names the numbers.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::run_page::{Actions, Answer, CONFIRM, ForAdmins, INPUT, RIGHT, SECTION, count, problem};
use crate::charts::{BarChart, Color, TableWords};
use crate::components::{BUTTON, BUTTON_SMALL, TABLE, TD, TH};
use crate::i18n::Lang;
use crate::migration::run_api::*;
use crate::migration::run_i18n::use_run_texts;
use crate::time::format_time;
use model::migration::run::{
    BlastRadius, Count, DryRun, Example, Finding, KeyDiff, Reconciliation, ReportInfo,
    RollbackMode, Statistics, Validation,
};

/// Which members: everyone, about a share of them, or the pasted external ids. The
/// fields are named as the server functions take them (`selection`, `share`,
/// `members`); without JavaScript every field is posted and the server reads the ones
/// the choice needs.
#[component]
pub fn SelectionFields(#[prop(optional)] without_all: bool) -> impl IntoView {
    let t = use_run_texts();
    let radio = "flex items-center gap-2 text-sm";
    view! {
        <fieldset class="space-y-2">
            <legend class="mb-1 text-sm font-medium text-slate-700">{t.selection}</legend>
            {(!without_all).then(|| view! {
                <label class=radio><input type="radio" name="selection" value="all" checked=true />{t.selection_all}</label>
            })}
            <label class="flex flex-wrap items-center gap-2 text-sm">
                <input type="radio" name="selection" value="share" checked=without_all />{t.selection_share}
                <input type="number" name="share" min="1" max="100" step="1" value="10" aria-label=t.share_label
                    class="w-24 rounded-md border border-slate-300 px-2 py-1" />
                "%"
            </label>
            <label class=radio><input type="radio" name="selection" value="members" />{t.selection_members}</label>
            <textarea name="members" rows="3" class=INPUT placeholder=t.members_placeholder aria-label=t.selection_members></textarea>
        </fieldset>
    }
}

fn info_line(info: &ReportInfo) -> impl IntoView + use<> {
    let t = use_run_texts();
    view! {
        <p class="mt-2 text-xs text-slate-500">
            {t.made} " " {format_time(&info.created_at)} " " {info.created_by.clone().unwrap_or_else(|| "cli".into())}
        </p>
    }
}

/// Terms and figures as a definition list.
fn figures(items: Vec<(&'static str, String)>, testid: &'static str) -> impl IntoView + use<> {
    view! {
        <dl class="mt-2 grid grid-cols-1 gap-x-6 gap-y-1 text-sm sm:grid-cols-2" data-testid=testid>
            {items.into_iter().map(|(term, value)| view! {
                <div class="flex justify-between gap-2 border-b border-slate-100 py-0.5">
                    <dt class="text-slate-600">{term}</dt><dd class="font-medium tabular-nums">{value}</dd>
                </div>
            }).collect_view()}
        </dl>
    }
}

/// The pre-flight's statistics of the legacy tables.
pub fn statistics(info: &ReportInfo, s: &Statistics) -> impl IntoView + use<> {
    let t = use_run_texts();
    let types = s
        .per_type
        .iter()
        .map(|ty| {
            let name = ty.name.clone().unwrap_or_else(|| t.unknown_type.into());
            view! { <tr><td class=TD>{ty.type_id}</td><td class=TD>{name}</td><td class=RIGHT>{count(ty.members)}</td></tr> }
        })
        .collect_view();
    let payments = format!(
        "{}.{:02}",
        s.payment_cents_sum / 100,
        (s.payment_cents_sum % 100).abs()
    );
    view! {
        <div data-testid="statistics" data-members=s.members.to_string()>
            {info_line(info)}
            {figures(vec![
                (t.legacy_members, count(s.members)),
                (t.already_migrated, count(s.already_migrated)),
                (t.license_sum, count(s.license_count_sum)),
                (t.payment_sum, payments),
                (t.days_sum, count(s.registered_days_sum)),
                (t.logged_in_7d, count(s.logged_in_7d)),
                (t.logged_in_30d, count(s.logged_in_30d)),
                (t.never_logged_in, count(s.never_logged_in)),
            ], "statistics-figures")}
            <div class="mt-3 overflow-x-auto"><table class=TABLE>
                <thead><tr><th class=TH>{t.user_type}</th><th class=TH>{t.name}</th><th class=format!("{TH} text-right")>{t.members}</th></tr></thead>
                <tbody class="divide-y divide-slate-100">{types}</tbody>
            </table></div>
        </div>
    }
}

/// The dry run: its form and the latest report.
#[component]
pub fn DryRunSection(actions: Actions) -> impl IntoView {
    let t = use_run_texts();
    let latest = crate::components::resource(
        move || actions.dry_run.version().get(),
        |_| latest_migration_dry_run(),
    );
    view! {
        <section id="dry-run" class=SECTION data-testid="dry-run">
            <h2 class="mb-1 font-semibold">{t.dry_run_title}</h2>
            <p class="mb-3 text-sm text-slate-600">{t.dry_run_hint}</p>
            <ForAdmins>
                <ActionForm action=actions.dry_run attr:class="group space-y-3" attr:aria-busy=move || actions.dry_run.pending().get().then_some("true") attr:data-testid="dry-run-form">
                    <SelectionFields />
                    <button type="submit" class=BUTTON data-testid="dry-run-submit">{t.dry_run_button}</button>
                </ActionForm>
            </ForAdmins>
            <Answer action=actions.dry_run ok=t.dry_run_done />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match latest.await {
                        Ok(Some((info, report))) => view! { <DryRunReport info report /> }.into_any(),
                        Ok(None) => view! { <p class="mt-2 text-sm text-slate-500">{t.no_dry_run}</p> }.into_any(),
                        Err(error) => problem(&error),
                    }
                })}
            </Transition>
        </section>
    }
}

fn name_of(c: &Count, none: &'static str) -> String {
    let lang = use_context::<Lang>().unwrap_or(Lang::Zh);
    let name = match lang {
        Lang::Zh => &c.name_zh,
        Lang::En => &c.name_en,
    };
    if !name.is_empty() {
        name.clone()
    } else if !c.code.is_empty() {
        c.code.clone()
    } else {
        none.to_owned()
    }
}

#[component]
fn DryRunReport(info: ReportInfo, report: DryRun) -> impl IntoView {
    let t = use_run_texts();
    let words = TableWords {
        show_numbers: t.show_numbers,
        label_heading: t.category,
    };
    let permille = report.agreement_permille();
    let bars = |counts: &[Count]| -> Vec<(String, i64)> {
        counts
            .iter()
            .map(|c| (name_of(c, t.none), c.members))
            .collect()
    };
    let buckets: Vec<(String, i64)> = report
        .points_buckets
        .iter()
        .map(|c| (format!("≥ {}", c.code), c.members))
        .collect();
    let quantiles = ["0", "25", "50", "75", "90", "99", "100"]
        .iter()
        .zip(report.points_quantiles.iter())
        .map(|(q, v)| view! { <tr><td class=TD>{format!("p{q}")}</td><td class=RIGHT>{count(*v)}</td></tr> })
        .collect_view();
    let parts = report
        .points_by_part
        .iter()
        .map(|c| view! { <tr><td class=TD>{name_of(c, t.none)}</td><td class=RIGHT>{count(c.members)}</td></tr> })
        .collect_view();
    view! {
        <div class="mt-3" data-testid="dry-run-report" data-members=report.members.to_string()
            data-migratable=report.migratable.to_string() data-agreement=permille.to_string()>
            {info_line(&info)}
            {figures(vec![
                (t.selected_members, count(report.members)),
                (t.already_migrated, count(report.already_migrated)),
                (t.migratable, count(report.migratable)),
                (t.points_total, count(report.points_total)),
                (t.settings_version, report.settings_version.to_string()),
                (t.as_of, format_time(&report.as_of)),
                (t.agreement, format!("{}.{} %", permille / 10, permille % 10)),
                (t.members_identical, count(report.members_identical)),
            ], "dry-run-figures")}
            <div class="mt-4 grid gap-4 lg:grid-cols-2">
                <div><h3 class="mb-1 text-sm font-medium">{t.quantiles}</h3>
                    <table class=TABLE data-testid="quantiles"><tbody class="divide-y divide-slate-100">{quantiles}</tbody></table></div>
                <div><h3 class="mb-1 text-sm font-medium">{t.points_by_part}</h3>
                    <table class=TABLE data-testid="points-by-part"><tbody class="divide-y divide-slate-100">{parts}</tbody></table></div>
            </div>
            <div class="mt-4 grid gap-4 lg:grid-cols-2" data-testid="dry-run-charts">
                <BarChart id="dry-run-levels" title=t.levels_chart.to_owned() bars=bars(&report.levels) value_heading=t.members words />
                <BarChart id="dry-run-tags" title=t.tags_chart.to_owned() bars=bars(&report.tags) value_heading=t.members words color=Color::Emerald />
                <BarChart id="dry-run-points" title=t.points_chart.to_owned() bars=buckets value_heading=t.members words color=Color::Amber />
            </div>
            <h3 class="mb-1 mt-4 text-sm font-medium">{t.quota_title}</h3>
            {figures(vec![
                (t.quota_lower, count(report.quota_lower)),
                (t.quota_equal, count(report.quota_equal)),
                (t.quota_higher, count(report.quota_higher)),
            ], "quota")}
            <Examples examples=report.quota_lower_examples.clone() before=t.legacy_quota after=t.new_quota />
            <h3 class="mb-1 mt-4 text-sm font-medium">{t.unmigratable}</h3>
            <Findings findings=report.unmigratable.clone() testid="unmigratable" />
            <h3 class="mb-1 mt-4 text-sm font-medium">{t.warnings}</h3>
            <Findings findings=report.warnings.clone() testid="warnings" />
            <h3 class="mb-1 mt-4 text-sm font-medium">{t.keys_title}</h3>
            <Keys keys=report.keys.clone() missing=t.key_missing extra=t.key_extra />
        </div>
    }
}

/// Members named as examples, with their two numbers.
#[component]
fn Examples(examples: Vec<Example>, before: &'static str, after: &'static str) -> impl IntoView {
    let t = use_run_texts();
    if examples.is_empty() {
        return ().into_any();
    }
    let rows = examples
        .into_iter()
        .map(|e| {
            let number = |v: Option<i64>| v.map(count).unwrap_or_else(|| "—".into());
            view! {
                <tr><td class=format!("{TD} font-mono text-xs")>{e.external_id.clone()}</td>
                    <td class=RIGHT>{number(e.before)}</td><td class=RIGHT>{number(e.after)}</td></tr>
            }
        })
        .collect_view();
    view! {
        <details class="mt-2 text-sm"><summary class="cursor-pointer text-indigo-700">{t.examples}</summary>
            <div class="max-h-64 overflow-auto"><table class=TABLE>
                <thead><tr><th class=TH>{t.external_id}</th><th class=format!("{TH} text-right")>{before}</th><th class=format!("{TH} text-right")>{after}</th></tr></thead>
                <tbody class="divide-y divide-slate-100">{rows}</tbody>
            </table></div>
        </details>
    }
    .into_any()
}

/// Findings by kind: members and examples.
#[component]
fn Findings(findings: Vec<Finding>, testid: &'static str) -> impl IntoView {
    let t = use_run_texts();
    if findings.is_empty() {
        return view! { <p class="text-sm text-slate-500" data-testid=testid>{t.none_found}</p> }
            .into_any();
    }
    let rows = findings
        .into_iter()
        .map(|f| view! {
            <tr data-kind=f.kind.clone()>
                <td class=TD>{t.finding(&f.kind)}</td>
                <td class=RIGHT>{count(f.members)}</td>
                <td class=format!("{TD} font-mono text-xs break-all")>{f.examples.join(", ")}</td>
            </tr>
        })
        .collect_view();
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid=testid>
            <thead><tr><th class=TH>{t.kind_heading}</th><th class=format!("{TH} text-right")>{t.members}</th><th class=TH>{t.examples}</th></tr></thead>
            <tbody class="divide-y divide-slate-100">{rows}</tbody>
        </table></div>
    }
    .into_any()
}

/// Per permission key: members one side grants and the other not.
#[component]
fn Keys(keys: Vec<KeyDiff>, missing: &'static str, extra: &'static str) -> impl IntoView {
    let t = use_run_texts();
    if keys.is_empty() {
        return view! { <p class="text-sm text-slate-500" data-testid="keys">{t.keys_alike}</p> }
            .into_any();
    }
    let rows = keys
        .into_iter()
        .map(|k| view! {
            <tr data-key=k.key.clone()><td class=format!("{TD} font-mono text-xs")>{k.key.clone()}</td>
                <td class=RIGHT>{count(k.missing)}</td><td class=RIGHT>{count(k.extra)}</td></tr>
        })
        .collect_view();
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="keys">
            <thead><tr><th class=TH>{t.key}</th><th class=format!("{TH} text-right")>{missing}</th><th class=format!("{TH} text-right")>{extra}</th></tr></thead>
            <tbody class="divide-y divide-slate-100">{rows}</tbody>
        </table></div>
    }
    .into_any()
}

/// Validate (with or without fixes) and reconcile, with their latest reports.
#[component]
pub fn VerifySection(actions: Actions) -> impl IntoView {
    let t = use_run_texts();
    let validation = crate::components::resource(
        move || actions.validate.version().get(),
        |_| latest_migration_validation(),
    );
    let reconciliation = crate::components::resource(
        move || actions.reconcile.version().get(),
        |_| latest_migration_reconciliation(),
    );
    view! {
        <section id="validate" class=SECTION data-testid="verify">
            <h2 class="mb-1 font-semibold">{t.verify_title}</h2>
            <p class="mb-3 text-sm text-slate-600">{t.verify_hint}</p>
            <ForAdmins>
                <div class="flex flex-wrap items-center gap-3">
                    <ActionForm action=actions.validate attr:class="group flex items-center gap-3" attr:aria-busy=move || actions.validate.pending().get().then_some("true")>
                        <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="fix" value="on" />{t.fix}</label>
                        <button type="submit" class=BUTTON data-testid="validate-submit">{t.validate_button}</button>
                    </ActionForm>
                    <ActionForm action=actions.reconcile attr:class="group" attr:aria-busy=move || actions.reconcile.pending().get().then_some("true")>
                        <button type="submit" class=BUTTON data-testid="reconcile-submit">{t.reconcile_button}</button>
                    </ActionForm>
                </div>
            </ForAdmins>
            <Answer action=actions.validate ok=t.validated />
            <Answer action=actions.reconcile ok=t.reconciled />
            <h3 class="mb-1 mt-4 font-medium">{t.validation_title}</h3>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match validation.await {
                        Ok(Some((info, report))) => view! { <ValidationView info report /> }.into_any(),
                        Ok(None) => view! { <p class="text-sm text-slate-500">{t.no_validation}</p> }.into_any(),
                        Err(error) => problem(&error),
                    }
                })}
            </Transition>
            <h3 class="mb-1 mt-4 font-medium">{t.reconciliation_title}</h3>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match reconciliation.await {
                        Ok(Some((info, report))) => view! { <ReconciliationView info report /> }.into_any(),
                        Ok(None) => view! { <p class="text-sm text-slate-500">{t.no_reconciliation}</p> }.into_any(),
                        Err(error) => problem(&error),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ValidationView(info: ReportInfo, report: Validation) -> impl IntoView {
    let t = use_run_texts();
    let problems = report.problems();
    view! {
        <div data-testid="validation" data-problems=problems.to_string() data-members=report.members.to_string()>
            {info_line(&info)}
            {figures(vec![
                (t.members_checked, count(report.members)),
                (t.fixed, count(report.fixed)),
                (t.problems_left, count(problems)),
            ], "validation-figures")}
            <div class="mt-2"><Findings findings=report.findings testid="validation-findings" /></div>
        </div>
    }
}

#[component]
fn ReconciliationView(info: ReportInfo, report: Reconciliation) -> impl IntoView {
    let t = use_run_texts();
    let equal = report.expected_checksum == report.actual_checksum;
    view! {
        <div data-testid="reconciliation" data-equal=equal.to_string()>
            {info_line(&info)}
            {figures(vec![
                (t.compared, count(report.compared)),
                (t.matching, count(report.matching)),
                (t.not_migrated, count(report.not_migrated)),
            ], "reconciliation-figures")}
            <div class="mt-2 overflow-x-auto"><table class=TABLE data-testid="checksums">
                <thead><tr><th class=TH>{t.expected_checksum}</th><th class=TH>{t.actual_checksum}</th><th class=TH></th></tr></thead>
                <tbody><tr>
                    <td class=format!("{TD} font-mono text-xs break-all")>{report.expected_checksum.clone()}</td>
                    <td class=format!("{TD} font-mono text-xs break-all")>{report.actual_checksum.clone()}</td>
                    <td class=TD>{if equal { t.same } else { t.different }}</td>
                </tr></tbody>
            </table></div>
            <div class="mt-2"><Findings findings=report.findings testid="reconciliation-findings" /></div>
        </div>
    }
}

/// The previewed rollback, as the preview form put it in the query.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Previewed {
    mode: RollbackMode,
    selection: String,
    share: Option<String>,
    members: Option<String>,
}

/// `?preview=rollback&mode=…&selection=…&share=…&members=…`, unless the page came back
/// from starting that rollback.
fn previewed(query: &leptos_router::params::ParamsMap) -> Option<Previewed> {
    if query.get_str("preview") != Some("rollback")
        || query.get_str("done") == Some("start_migration_rollback")
    {
        return None;
    }
    let mode = match query.get_str("mode")? {
        "emergency" => RollbackMode::Emergency,
        "gradual" => RollbackMode::Gradual,
        _ => return None,
    };
    Some(Previewed {
        mode,
        selection: query.get("selection").unwrap_or_else(|| "all".into()),
        share: query.get("share"),
        members: query.get("members"),
    })
}

/// Rollback: emergency or gradual, the blast radius first (a GET of this page computes
/// it), then a confirmation that names the numbers and posts the same selection.
#[component]
pub fn RollbackSection(actions: Actions) -> impl IntoView {
    let t = use_run_texts();
    let query = use_query_map();
    let preview = crate::components::resource(
        move || query.with(previewed),
        |previewed| async move {
            let p = previewed?;
            let radius = migration_blast_radius(
                p.mode,
                p.selection.clone(),
                p.share.clone(),
                p.members.clone(),
            )
            .await;
            Some((p, radius))
        },
    );
    let started = move || matches!(actions.rollback.value().get(), Some(Ok(_)));
    view! {
        <section id="rollback" class=SECTION data-testid="rollback">
            <h2 class="mb-1 font-semibold">{t.rollback_title}</h2>
            <p class="mb-3 text-sm text-slate-600">{t.rollback_hint}</p>
            <ForAdmins>
                <div class="grid gap-4 sm:grid-cols-2">
                    <form method="get" action="/migration/run#rollback" class="space-y-2 rounded-md border border-slate-200 p-3" data-testid="emergency-form">
                        <h3 class="font-medium">{t.emergency}</h3>
                        <p class="text-sm text-slate-600">{t.emergency_hint}</p>
                        <input type="hidden" name="preview" value="rollback" />
                        <input type="hidden" name="mode" value="emergency" />
                        <input type="hidden" name="selection" value="all" />
                        <button type="submit" class=BUTTON_SMALL data-testid="emergency-preview">{t.preview_blast}</button>
                    </form>
                    <form method="get" action="/migration/run#rollback" class="space-y-2 rounded-md border border-slate-200 p-3" data-testid="gradual-form">
                        <h3 class="font-medium">{t.gradual}</h3>
                        <p class="text-sm text-slate-600">{t.gradual_hint}</p>
                        <input type="hidden" name="preview" value="rollback" />
                        <input type="hidden" name="mode" value="gradual" />
                        <SelectionFields without_all=true />
                        <button type="submit" class=BUTTON_SMALL data-testid="gradual-preview">{t.preview_blast}</button>
                    </form>
                </div>
            </ForAdmins>
            <Answer action=actions.rollback ok=t.rollback_started />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let (previewed, radius) = preview.await?;
                    if started() {
                        return None;
                    }
                    Some(match radius {
                        Ok(radius) => view! { <Blast previewed radius actions /> }.into_any(),
                        Err(error) => problem(&error),
                    })
                })}
            </Transition>
        </section>
    }
}

/// The blast radius and the confirmation naming its numbers.
#[component]
fn Blast(previewed: Previewed, radius: BlastRadius, actions: Actions) -> impl IntoView {
    let t = use_run_texts();
    let mode = match previewed.mode {
        RollbackMode::Emergency => "emergency",
        RollbackMode::Gradual => "gradual",
    };
    let confirm = t.confirm_rollback(&radius);
    let button = format!(
        "{} {} {}",
        t.roll_back,
        count(radius.members),
        t.members_now
    );
    view! {
        <div class="mt-4" data-testid="blast-radius" data-members=radius.members.to_string()
            data-activity=radius.with_activity.to_string() data-shortfall=radius.shortfall_members.to_string()>
            <h3 class="font-medium">{t.blast_title} " · " {if previewed.mode == RollbackMode::Emergency { t.emergency } else { t.gradual }}</h3>
            {figures(vec![
                (t.members, count(radius.members)),
                (t.answered_new, count(radius.answered_new)),
                (t.quota_lower, count(radius.quota_lower)),
                (t.quota_higher, count(radius.quota_higher)),
                (t.with_activity, count(radius.with_activity)),
                (t.shortfall_members, count(radius.shortfall_members)),
                (t.shortfall_points, count(radius.shortfall_points)),
                (t.points_reversed, count(radius.points_reversed)),
            ], "blast-figures")}
            <h4 class="mb-1 mt-3 text-sm font-medium">{t.keys_change}</h4>
            <Keys keys=radius.keys.clone() missing=t.would_lose extra=t.would_gain />
            <h4 class="mb-1 mt-3 text-sm font-medium">{t.with_activity}</h4>
            <Examples examples=radius.activity_examples.clone() before=t.before after=t.after />
            <h4 class="mb-1 mt-3 text-sm font-medium">{t.shortfall_members}</h4>
            <Examples examples=radius.shortfall_examples.clone() before=t.before after=t.after />
            <details class="mt-4" data-testid="rollback-confirm">
                <summary class=format!("{BUTTON} cursor-pointer list-none bg-red-600 hover:bg-red-500")>{t.rollback_open}</summary>
                <ActionForm action=actions.rollback attr:class=CONFIRM attr:aria-busy=move || actions.rollback.pending().get().then_some("true")>
                    <p data-testid="rollback-effect">{confirm}</p>
                    <input type="hidden" name="mode" value=mode />
                    <input type="hidden" name="selection" value=previewed.selection.clone() />
                    <input type="hidden" name="share" value=previewed.share.clone().unwrap_or_default() />
                    <input type="hidden" name="members" value=previewed.members.clone().unwrap_or_default() />
                    <button type="submit" class=format!("{BUTTON} bg-red-600 hover:bg-red-500") data-testid="rollback-submit">{button}</button>
                </ActionForm>
            </details>
        </div>
    }
}
