//! The rollout console's forms with inputs: creating a rollout (stages with their
//! approvers, strata, gates, guardrails), the settings of an active one, and accepting
//! a known difference (filled from a mismatch row's link: `?accept_decision=…`).
//! Field names follow [`super::form`]; every field has a visible label.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use super::api::{AcceptRolloutDifference, CreateRollout, UpdateRolloutSettings};
use super::i18n::use_rollout_texts;
use super::page::{Answer, INPUT, LABEL, SECTION};
use crate::components::BUTTON;
use model::rollout::cohort::Strata;
use model::rollout::plan::{DecisionKind, NewRollout, Rollout};

/// The tenant's admins (the approver options), read once by the page: a resource made
/// where the page's others are, so the browser finds its data in the same order as the
/// server wrote it.
pub type Admins =
    crate::components::Data<Result<Vec<model::access::admins::Member>, crate::error::AppError>>;

/// Spare stage rows beyond the default plan's four (empty rows are skipped).
const SPARE_STAGES: usize = 2;

/// A labelled input.
#[component]
fn Input(
    label: &'static str,
    name: String,
    value: String,
    #[prop(default = "number")] kind: &'static str,
    #[prop(optional)] step: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let testid = name.replace(['[', ']'], "-");
    view! {
        <label class="block text-sm">
            <span class=LABEL>{label}</span>
            <input type=kind name=name value=value step=step required=required class=INPUT data-testid=testid />
            {hint.map(|hint| view! { <span class="mt-1 block text-xs text-slate-500">{hint}</span> })}
        </label>
    }
}

/// The create form: the seed's plan filled in (5/20/50/100 %, stratified, gate 95).
#[component]
pub fn CreateForm(action: ServerAction<CreateRollout>, admins: Admins) -> impl IntoView {
    let t = use_rollout_texts();
    let plan = NewRollout::default();
    let strata = plan.strata.clone().unwrap_or_default();
    view! {
        <section id="create" class=SECTION data-testid="create-rollout">
            <h2 class="mb-1 font-semibold">{t.create_title}</h2>
            <p class="mb-3 text-sm text-slate-600">{t.create_hint}</p>
            // The approver options come from a resource: the whole form waits for it so
            // that no suspense boundary sits inside a <select>.
            <Transition fallback=|| ()>
                {move || {
                    let plan = plan.clone();
                    let strata = strata.clone();
                    Suspend::new(async move {
                        let admins: Vec<(Uuid, String)> = admins
                            .await
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|a| a.role == model::access::Role::TenantAdmin && !a.disabled && !a.invited)
                            .map(|a| (a.admin_id, a.display_name))
                            .collect();
                        view! { <CreateFields action plan strata admins /> }
                    })
                }}
            </Transition>
            <Answer action ok=t.created />
        </section>
    }
}

#[component]
fn CreateFields(
    action: ServerAction<CreateRollout>,
    plan: NewRollout,
    strata: Strata,
    admins: Vec<(Uuid, String)>,
) -> impl IntoView {
    let t = use_rollout_texts();
    let rows = plan
        .stages
        .iter()
        .map(|s| (s.percent.to_string(), s.hold_minutes.to_string()))
        .chain(std::iter::repeat_n((String::new(), String::new()), SPARE_STAGES))
        .enumerate()
        .map(|(index, (percent, hold))| {
            let options = admins
                .iter()
                .map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> })
                .collect_view();
            let name = |field: &str| format!("rollout[stages][{index}][{field}]");
            view! {
                <tr data-stage-row=index.to_string()>
                    <td class="px-1 py-1 text-sm text-slate-500">{index + 1}</td>
                    <td class="px-1 py-1">
                        <input type="number" min="1" max="100" name=name("percent") value=percent class=INPUT
                            aria-label=format!("{} {} · {}", t.stage, index + 1, t.percent) data-testid=format!("stage-{index}-percent") />
                    </td>
                    <td class="px-1 py-1">
                        <input type="number" min="0" name=name("hold_minutes") value=hold class=INPUT
                            aria-label=format!("{} {} · {}", t.stage, index + 1, t.hold_minutes) data-testid=format!("stage-{index}-hold") />
                    </td>
                    <td class="px-1 py-1">
                        <select name=name("approver") class=INPUT aria-label=format!("{} {} · {}", t.stage, index + 1, t.approver)>
                            <option value="">{t.any_admin}</option>
                            {options}
                        </select>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let f = |field: &str| format!("rollout[{field}]");
    view! {
        <ActionForm action attr:class="group space-y-4" attr:aria-busy=move || action.pending().get().then_some("true") attr:data-testid="create-form">
            <div class="grid gap-3 sm:grid-cols-2">
                <Input label=t.name name=f("name") value=String::new() kind="text" required=true />
                <Input label=t.group_id name=f("group_id") value=String::new() kind="text" hint=t.group_id_hint />
            </div>
            <fieldset>
                <legend class="mb-1 text-sm font-medium text-slate-700">{t.stages_title}</legend>
                <p class="mb-2 text-xs text-slate-500">{t.stages_hint}</p>
                <div class="overflow-x-auto">
                    <table class="min-w-full text-sm">
                        <thead><tr class="text-left text-slate-600">
                            <th class="px-1 py-1 font-medium">"#"</th>
                            <th class="px-1 py-1 font-medium">{t.percent}</th>
                            <th class="px-1 py-1 font-medium">{t.hold_minutes}</th>
                            <th class="px-1 py-1 font-medium">{t.approver}</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </fieldset>
            <fieldset class="space-y-3 rounded-md border border-slate-200 p-3">
                <legend class="px-1 text-sm font-medium text-slate-700">{t.strata_title}</legend>
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" name=f("stratified") value="on" checked=true data-testid="stratified" />
                    <span>{t.stratified}</span>
                </label>
                <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-5">
                    <Input label=t.active_days name=f("active_days") value=strata.active_days.to_string() />
                    <Input label=t.long_standing_days name=f("long_standing_days") value=strata.long_standing_days.to_string() />
                    <Input label=t.mix_active name=f("mix_active") value=strata.mix[0].to_string() />
                    <Input label=t.mix_long_standing name=f("mix_long_standing") value=strata.mix[1].to_string() />
                    <Input label=t.mix_new name=f("mix_new") value=strata.mix[2].to_string() />
                </div>
                <Input label=t.min_members name=f("min_members") value=plan.min_members.to_string() hint=t.min_members_hint />
            </fieldset>
            <GateFields prefix="rollout" sample_bp=plan.sample_bp gate_score=plan.gate_score min_sample=plan.min_sample
                guard_error_pct=plan.guard_error_pct guard_p99_ms=plan.guard_p99_ms />
            <button type="submit" class=BUTTON data-testid="create-submit">{t.create_button}</button>
        </ActionForm>
    }
}

/// `12.5` from 1 250 basis points.
fn percent_text(basis_points: i32) -> String {
    super::charts::decimals(i64::from(basis_points), 100, 2)
}

/// `95` or `97.5`.
fn number_text(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Sampling, gate and guardrails (create and settings).
#[component]
fn GateFields(
    prefix: &'static str,
    sample_bp: i32,
    gate_score: f64,
    min_sample: i32,
    guard_error_pct: f64,
    guard_p99_ms: i32,
) -> impl IntoView {
    let t = use_rollout_texts();
    let f = move |field: &str| format!("{prefix}[{field}]");
    view! {
        <div class="grid gap-3 sm:grid-cols-2 lg:grid-cols-5">
            <Input label=t.sample_pct name=f("sample_pct") value=percent_text(sample_bp) step="0.01" required=true />
            <Input label=t.gate_score name=f("gate_score") value=number_text(gate_score) step="0.01" required=true />
            <Input label=t.min_sample name=f("min_sample") value=min_sample.to_string() required=true />
            <Input label=t.guard_error_pct name=f("guard_error_pct") value=number_text(guard_error_pct) step="0.01" required=true />
            <Input label=t.guard_p99_ms name=f("guard_p99_ms") value=guard_p99_ms.to_string() required=true />
        </div>
    }
}

/// The settings of an active rollout (changing the group id reshuffles the buckets).
#[component]
pub fn SettingsFields(
    rollout: Rollout,
    action: ServerAction<UpdateRolloutSettings>,
) -> impl IntoView {
    let t = use_rollout_texts();
    view! {
        <h3 class="mb-1 mt-5 font-medium">{t.settings_title}</h3>
        <ActionForm action attr:class="group space-y-3" attr:aria-busy=move || action.pending().get().then_some("true") attr:data-testid="settings-form">
            <input type="hidden" name="rollout_id" value=rollout.rollout_id.to_string() />
            <Input label=t.group_id name="settings[group_id]".to_owned() value=rollout.group_id.clone() kind="text" hint=t.group_id_hint />
            <GateFields prefix="settings" sample_bp=rollout.sample_bp gate_score=rollout.gate_score min_sample=rollout.min_sample
                guard_error_pct=rollout.guard_error_pct guard_p99_ms=rollout.guard_p99_ms />
            <button type="submit" class=BUTTON data-testid="settings-save">{t.settings_save}</button>
        </ActionForm>
        <Answer action ok=t.settings_saved />
    }
}

/// Accepting a difference: shown when a mismatch row's link named it.
#[component]
pub fn AcceptForm(
    rollout_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
    action: ServerAction<AcceptRolloutDifference>,
) -> impl IntoView {
    let t = use_rollout_texts();
    let shared = crate::i18n::use_texts();
    let query = use_query_map();
    // A month from the dashboard's time (the server's clock, the same in both renders).
    let expires = (now + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    move || {
        let expires = expires.clone();
        let query = query.read();
        let decision = query
            .get("accept_decision")
            .and_then(|d| DecisionKind::parse(&d))?;
        let kind = query.get("accept_kind")?;
        let detail = query.get("accept_detail").unwrap_or_default();
        let what = format!(
            "{} · {}{}",
            crate::error::decision_name(decision, shared),
            t.kind(&kind),
            if detail.is_empty() {
                String::new()
            } else {
                format!(" · {detail}")
            }
        );
        Some(view! {
            <div id="accept" class="mt-5" data-testid="accept-section">
                <h3 class="mb-1 font-medium">{t.accept_title}</h3>
                <p class="mb-2 text-sm text-slate-600">{what}</p>
                <ActionForm action attr:class="group grid gap-3 sm:grid-cols-3" attr:aria-busy=move || action.pending().get().then_some("true") attr:data-testid="accept-form">
                    <input type="hidden" name="rollout_id" value=rollout_id.to_string() />
                    <input type="hidden" name="decision" value=decision.as_str() />
                    <input type="hidden" name="kind" value=kind.clone() />
                    <input type="hidden" name="detail" value=detail.clone() />
                    <Input label=t.owner name="owner".to_owned() value=String::new() kind="text" required=true />
                    <Input label=t.accept_reason name="reason".to_owned() value=String::new() kind="text" required=true />
                    <Input label=t.expires_on name="expires_on".to_owned() value=expires.clone() kind="date" required=true />
                    <div class="sm:col-span-3">
                        <button type="submit" class=BUTTON data-testid="accept-submit">{t.accept_button}</button>
                    </div>
                </ActionForm>
                <Answer action ok=t.accepted_done />
            </div>
        })
    }
}
