//! The member page's licenses section. Kept small: the member page's WASM chunk is
//! near its size limit, so it reuses the license page's forms and device table.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::components::{
    BUTTON, BUTTON_SMALL, Card, ErrorBox, Outcome, OutcomeView, TABLE, TD, TH, allowed, use_session,
};
use crate::error::AppError;
use crate::i18n::{Texts, use_texts};
use crate::licenses::api::{
    ActivateDevice, AssignLicense, DeactivateDevice, TransferLicense, UnassignLicense,
    licenses_of_member, list_plans,
};
use crate::licenses::detail::{ActivationTable, TransferForm, UnassignForm};
use crate::licenses::{devices_text, state_class, state_label};
use crate::members::list::tier_label;
use crate::time::format_time;
use model::access::Role;
use model::licenses::{License, MemberLicenses, Plan};
use model::tags::permissions::{Quota, SourceKind};

/// The member's seats: quota used of its limit with where the limit comes from, the
/// licenses held with their devices; support assigns (a free seat of a plan, or a key),
/// unassigns, transfers, activates a device on the member's behalf and deactivates.
#[component]
pub fn MemberLicensesSection() -> impl IntoView {
    let t = use_texts();
    let params = use_params_map();
    let member_id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let assign = ServerAction::<AssignLicense>::new();
    let unassign = ServerAction::<UnassignLicense>::new();
    let transfer = ServerAction::<TransferLicense>::new();
    let activate = ServerAction::<ActivateDevice>::new();
    let deactivate = ServerAction::<DeactivateDevice>::new();
    let outcome = Outcome::default();
    outcome.follow(assign, move |a| {
        format!(
            "{} {} ({} {}{}{} {})",
            t.licenses.assigned,
            a.license_key,
            t.held_label,
            a.held,
            t.comma,
            t.quota_label,
            a.quota
        )
    });
    outcome.follow(unassign, move |_| t.licenses.unassigned.to_owned());
    outcome.follow(transfer, move |_| t.licenses.transferred.to_owned());
    outcome.follow(activate, move |a| {
        format!(
            "{} {}",
            t.licenses.activated_done,
            devices_text(a.activations, a.max_activations)
        )
    });
    outcome.follow(deactivate, move |_| t.licenses.deactivated.to_owned());
    let seats = crate::components::resource(
        move || {
            (
                member_id(),
                assign.version().get(),
                unassign.version().get(),
                transfer.version().get(),
                activate.version().get(),
                deactivate.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => licenses_of_member(id).await,
                None => Err(AppError::NotFound {
                    entity: "member".into(),
                }),
            }
        },
    );
    let plans = crate::components::resource(move || assign.version().get(), |_| list_plans());
    let session = use_session();
    view! {
        <Card>
            <h2 class="mb-3 font-semibold">{t.licenses.member_title}</h2>
            <OutcomeView outcome />
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || {
                    let member = member_id();
                    Suspend::new(async move {
                    let support = allowed(session, Role::Support).await;
                    let plans = if support { plans.await.unwrap_or_default() } else { Vec::new() };
                    match (seats.await, member) {
                        (Ok(seats), Some(id)) => {
                            let MemberLicenses { quota, held, licenses, activations, .. } = seats;
                            view! {
                                <QuotaLine quota held t />
                                <HeldTable licenses support unassign transfer activate t />
                                {(!activations.is_empty()).then(|| view! {
                                    <h3 class="mb-2 mt-4 text-sm font-semibold">{t.licenses.devices_title}</h3>
                                })}
                                {(!activations.is_empty()).then(|| view! { <ActivationTable activations may_change=support deactivate t /> })}
                                {support.then(|| view! { <AssignForm member_id=id plans assign t /> })}
                            }.into_any()
                        }
                        (Err(error), _) => view! { <ErrorBox error /> }.into_any(),
                        (Ok(_), None) => ().into_any(),
                    }
                    })
                }}
            </Transition>
        </Card>
    }
}

/// "2 / 12 used · = max(Gold level 10, …) + VIP tag +2".
#[component]
fn QuotaLine(quota: Quota, held: i64, t: &'static Texts) -> impl IntoView {
    let name = |kind: SourceKind, code: &str, zh: &str, en: &str| {
        let suffix = match kind {
            SourceKind::Level => t.tags.source_level,
            SourceKind::Tag => t.tags.source_tag,
        };
        format!("{} {suffix}", tier_label(code, zh, en))
    };
    let mut floors = Vec::new();
    let mut boosts = String::new();
    for part in &quota.parts {
        let s = &part.source;
        if part.floor > 0 || s.kind == SourceKind::Level {
            floors.push(format!(
                "{} {}",
                name(s.kind, &s.code, &s.name_zh, &s.name_en),
                part.floor
            ));
        }
        if part.boost > 0 {
            boosts.push_str(&format!(
                " + {} +{}",
                name(s.kind, &s.code, &s.name_zh, &s.name_en),
                part.boost
            ));
        }
    }
    let floors = if floors.is_empty() {
        "0".to_owned()
    } else {
        floors.join(", ")
    };
    view! {
        <p class="mb-3 text-sm" data-testid="license-quota" data-held=held data-quota=quota.value>
            <strong class="text-lg tabular-nums" data-testid="quota-used">{held} " / " {quota.value}</strong>
            " " {t.licenses.quota_used} " "
            <span class="text-slate-600" data-testid="quota-sources">{format!("= max({floors}){boosts}")}</span>
        </p>
    }
}

#[component]
fn HeldTable(
    licenses: Vec<License>,
    support: bool,
    unassign: ServerAction<UnassignLicense>,
    transfer: ServerAction<TransferLicense>,
    activate: ServerAction<ActivateDevice>,
    t: &'static Texts,
) -> impl IntoView {
    if licenses.is_empty() {
        return view! { <p class="text-sm text-slate-500" data-testid="member-licenses">{t.licenses.no_licenses}</p> }.into_any();
    }
    let input = "w-36 rounded border border-slate-300 px-2 py-1 text-xs";
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="member-licenses">
            <thead><tr>
                <th class=TH>{t.license_key_label}</th><th class=TH>{t.licenses.state}</th>
                <th class=TH>{t.licenses.devices}</th><th class=TH>{t.licenses.expires}</th><th class=TH></th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100">
                {licenses.into_iter().map(|l| {
                    let id = l.license_id.to_string();
                    let (activate_id, transfer_id, unassign_id) = (id.clone(), id.clone(), id.clone());
                    let usable = l.state.usable();
                    view! {
                        <tr data-key=l.license_key.clone() data-state=l.state.as_str()>
                            <td class=format!("{TD} whitespace-nowrap font-mono")>
                                <a href=format!("/licenses/{id}") class="text-indigo-700 hover:underline">{l.license_key.clone()}</a>
                                " " <span class="text-xs text-slate-500">{l.plan_code.clone()}</span>
                            </td>
                            <td class=format!("{TD} {}", state_class(l.state))>{state_label(l.state, t)}</td>
                            <td class=format!("{TD} tabular-nums")>{devices_text(l.activations, l.max_activations)}</td>
                            <td class=format!("{TD} whitespace-nowrap")>{l.expires_at.as_ref().map(format_time).unwrap_or_else(|| t.licenses.never.to_owned())}</td>
                            <td class=TD>
                                {support.then(|| view! {
                                    <div class="flex flex-wrap items-start gap-1">
                                        {usable.then(|| view! {
                                            <details class="group" data-testid="activate">
                                                <summary class=format!("{BUTTON_SMALL} inline-block cursor-pointer list-none")>{t.licenses.activate_open}</summary>
                                                <ActionForm action=activate attr:class="group mt-1 flex flex-wrap gap-1 rounded border border-slate-200 bg-slate-50 p-2" attr:aria-busy=move || activate.pending().get().then_some("true")>
                                                    <input type="hidden" name="license_id" value=activate_id />
                                                    <input type="text" name="fingerprint" required=true maxlength="200" placeholder=t.fingerprint_label aria-label=t.fingerprint_label class=input />
                                                    <input type="text" name="device_name" maxlength="200" placeholder=t.device_name_label aria-label=t.device_name_label class=input />
                                                    <button type="submit" class=BUTTON_SMALL>{t.licenses.activate}</button>
                                                </ActionForm>
                                            </details>
                                            <TransferForm license_id=transfer_id transfer t />
                                        })}
                                        <UnassignForm license_id=unassign_id unassign t />
                                    </div>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}

/// Assigns a free seat of a plan, or the license with a given key.
#[component]
fn AssignForm(
    member_id: Uuid,
    plans: Vec<Plan>,
    assign: ServerAction<AssignLicense>,
    t: &'static Texts,
) -> impl IntoView {
    let form = crate::components::reset_on_success(assign);
    let ready = crate::components::use_ready();
    let label = "mb-1 block font-medium text-slate-700";
    view! {
        <div class="mt-4 border-t border-slate-100 pt-4" data-testid="assign-form" data-ready=move || ready.get().then_some("true")>
            <h3 class="mb-2 text-sm font-semibold">{t.licenses.assign_title}</h3>
            <ActionForm action=assign node_ref=form attr:aria-busy=move || assign.pending().get().then_some("true") attr:class="group">
                <input type="hidden" name="member_id" value=member_id.to_string() />
                <div class="flex flex-wrap items-end gap-3">
                    <label class="block text-sm">
                        <span class=label>{t.license_plan_label}</span>
                        <select name="plan_id" class="rounded-md border border-slate-300 px-2 py-2">
                            <option value="">"—"</option>
                            {plans.into_iter().filter(|p| p.active).map(|p| view! {
                                <option value=p.plan_id.to_string() disabled=p.free == 0>
                                    {p.code.clone()} " (" {t.licenses.free} " " {p.free} ")"
                                </option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="block text-sm">
                        <span class=label>{t.licenses.or_key}</span>
                        <input type="text" name="license_key" maxlength="40" autocomplete="off" class="w-56 rounded-md border border-slate-300 px-3 py-2 font-mono" />
                    </label>
                    <button type="submit" class=BUTTON>{t.licenses.assign}</button>
                </div>
            </ActionForm>
        </div>
    }
}
