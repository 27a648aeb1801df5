//! The member page's licenses section. Kept small: the member page's WASM chunk is
//! near its size limit, so its forms are plain HTML posts to the server functions
//! (`/api/<name>`) rather than `ActionForm`s: no client code per action, they work the
//! same with and without JavaScript, and the answer comes back as the page with its
//! outcome (`?done=` / `?error=`, shown by the layout and the page).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::components::{
    BUTTON, BUTTON_SMALL, Card, ErrorBox, TABLE, TD, TH, allowed, use_ready, use_session,
};
use crate::error::AppError;
use crate::i18n::{Texts, use_texts};
use crate::licenses::api::{licenses_of_member, list_plans};
use crate::licenses::{devices_text, event_label, state_class, state_label};
use crate::members::list::tier_label;
use crate::time::format_time;
use model::access::Role;
use model::licenses::{Activation, License, MemberLicenses, Plan};
use model::tags::permissions::{Quota, SourceKind};

const SMALL_INPUT: &str = "w-36 rounded border border-slate-300 px-2 py-1 text-xs";
const STEP: &str = "group mt-1 flex flex-wrap gap-1 rounded border p-2";

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
    let seats = crate::components::resource(member_id, |id| async move {
        match id {
            Some(id) => licenses_of_member(id).await,
            None => Err(AppError::NotFound {
                entity: "member".into(),
            }),
        }
    });
    let plans = crate::components::resource(|| (), |_| list_plans());
    let session = use_session();
    view! {
        <Card>
            <h2 class="mb-3 font-semibold" id="licenses">{t.licenses.member_title}</h2>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || {
                    let member = member_id();
                    Suspend::new(async move {
                    let support = allowed(session, Role::Support).await;
                    let plans = if support { plans.await.unwrap_or_default() } else { Vec::new() };
                    match (seats.await, member) {
                        (Ok(seats), Some(id)) => {
                            let MemberLicenses { quota, held, licenses, activations, .. } = seats;
                            let keys: Vec<(Uuid, String)> = licenses
                                .iter()
                                .map(|l| (l.license_id, l.license_key.clone()))
                                .collect();
                            view! {
                                <QuotaLine quota held t />
                                <HeldTable licenses support t />
                                <Devices activations keys support t />
                                {support.then(|| view! { <AssignForm member_id=id plans t /> })}
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

/// A second step (a disclosure: no JavaScript needed) holding a plain form that posts to
/// the server function `endpoint` and comes back to this page.
fn step(
    open: &'static str,
    testid: &'static str,
    endpoint: &'static str,
    tone: &'static str,
    fields: impl IntoView,
    button: &'static str,
) -> impl IntoView {
    view! {
        <details class="group" data-testid=testid>
            <summary class=format!("{BUTTON_SMALL} inline-block cursor-pointer list-none")>{open}</summary>
            <form method="post" action=format!("/api/{endpoint}") class=format!("{STEP} {tone}")>
                {fields}
                <button type="submit" class=BUTTON_SMALL>{button}</button>
            </form>
        </details>
    }
}

#[component]
fn HeldTable(licenses: Vec<License>, support: bool, t: &'static Texts) -> impl IntoView {
    if licenses.is_empty() {
        return view! { <p class="text-sm text-slate-500" data-testid="member-licenses">{t.licenses.no_licenses}</p> }.into_any();
    }
    let reason = move || view! { <input type="text" name="reason" required=true maxlength="500" placeholder=t.reason aria-label=t.reason class=SMALL_INPUT /> };
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="member-licenses">
            <thead><tr>
                <th class=TH>{t.license_key_label}</th><th class=TH>{t.licenses.state}</th>
                <th class=TH>{t.licenses.devices}</th><th class=TH>{t.licenses.expires}</th><th class=TH></th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100">
                {licenses.into_iter().map(|l| {
                    let id = l.license_id.to_string();
                    let holder = l.member_id.map(|m| m.to_string());
                    let hidden = move || view! {
                        <input type="hidden" name="license_id" value=id.clone() />
                        {holder.clone().map(|holder| view! { <input type="hidden" name="holder" value=holder /> })}
                    };
                    let usable = l.state.usable();
                    view! {
                        <tr data-key=l.license_key.clone() data-state=l.state.as_str()>
                            <td class=format!("{TD} whitespace-nowrap font-mono")>
                                <a href=format!("/licenses/{}", l.license_id) class="text-indigo-700 hover:underline">{l.license_key.clone()}</a>
                                " " <span class="text-xs text-slate-500">{l.plan_code.clone()}</span>
                            </td>
                            <td class=format!("{TD} {}", state_class(l.state))>{state_label(l.state, t)}</td>
                            <td class=format!("{TD} tabular-nums")>{devices_text(l.activations, l.max_activations)}</td>
                            <td class=format!("{TD} whitespace-nowrap")>{l.expires_at.as_ref().map(format_time).unwrap_or_else(|| t.licenses.never.to_owned())}</td>
                            <td class=TD>
                                {support.then(|| view! {
                                    <div class="flex flex-wrap items-start gap-1">
                                        {usable.then(|| view! {
                                            {step(t.licenses.activate_open, "activate", "activate_device", "border-slate-200 bg-slate-50", view! {
                                                {hidden()}
                                                <input type="text" name="fingerprint" required=true maxlength="200" placeholder=t.fingerprint_label aria-label=t.fingerprint_label class=SMALL_INPUT />
                                                <input type="text" name="device_name" maxlength="200" placeholder=t.device_name_label aria-label=t.device_name_label class=SMALL_INPUT />
                                            }, t.licenses.activate)}
                                            {step(t.licenses.transfer_open, "transfer", "transfer_license", "border-slate-200 bg-slate-50", view! {
                                                <p class="w-full text-xs">{t.licenses.transfer_effect}</p>
                                                {hidden()}
                                                <input type="text" name="to_external_id" required=true maxlength="200" placeholder=t.licenses.to_external_id aria-label=t.licenses.to_external_id class=SMALL_INPUT />
                                                {reason()}
                                            }, t.licenses.transfer)}
                                        })}
                                        {step(t.licenses.unassign_open, "unassign", "unassign_license", "border-red-200 bg-red-50", view! {
                                            <p class="w-full text-xs text-red-800">{t.licenses.unassign_effect}</p>
                                            {hidden()}
                                            {reason()}
                                        }, t.licenses.unassign)}
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

/// The devices of the licenses held (live first), each with its license's key: first
/// and last seen, how they ended.
#[component]
fn Devices(
    activations: Vec<Activation>,
    keys: Vec<(Uuid, String)>,
    support: bool,
    t: &'static Texts,
) -> impl IntoView {
    (!activations.is_empty()).then(|| view! {
        <h3 class="mb-2 mt-4 text-sm font-semibold">{t.licenses.devices_title}</h3>
        <ul class="space-y-1 text-sm" data-testid="member-devices">
            {activations.into_iter().map(|a| {
                let live = a.deactivated_at.is_none();
                let key = keys
                    .iter()
                    .find(|(id, _)| *id == a.license_id)
                    .map(|(_, key)| key.clone());
                view! {
                    <li class="flex flex-wrap items-center gap-x-2 break-all" data-fingerprint=a.fingerprint.clone() data-live=live.to_string()>
                        {key.map(|key| view! { <code class="text-xs text-indigo-700">{key}</code> })}
                        <strong>{a.device_name.clone().unwrap_or_else(|| "—".into())}</strong>
                        <code class="text-xs">{a.fingerprint.clone()}</code>
                        <span class="text-slate-500">
                            {t.licenses.first_seen} " " {format_time(&a.activated_at)} " · " {t.licenses.last_seen} " " {format_time(&a.last_seen_at)}
                            {a.deactivated_at.as_ref().map(|at| format!(
                                " · {} {} {}",
                                t.licenses.ended,
                                format_time(at),
                                a.deactivate_reason.as_deref().map(|r| event_label(r, t)).unwrap_or_default()
                            ))}
                        </span>
                        {(support && live).then(|| view! {
                            <form method="post" action="/api/deactivate_device">
                                <input type="hidden" name="activation_id" value=a.activation_id.to_string() />
                                <button type="submit" class=BUTTON_SMALL>{t.licenses.deactivate}</button>
                            </form>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    })
}

/// Assigns a free seat of a plan, or the license with a given key.
#[component]
fn AssignForm(member_id: Uuid, plans: Vec<Plan>, t: &'static Texts) -> impl IntoView {
    let ready = use_ready();
    let label = "mb-1 block font-medium text-slate-700";
    view! {
        <div class="mt-4 border-t border-slate-100 pt-4" data-testid="assign-form" data-ready=move || ready.get().then_some("true")>
            <h3 class="mb-2 text-sm font-semibold">{t.licenses.assign_title}</h3>
            <form method="post" action="/api/assign_license" class="flex flex-wrap items-end gap-3">
                <input type="hidden" name="member_id" value=member_id.to_string() />
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
            </form>
        </div>
    }
}
