use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::components::{
    BUTTON, BUTTON_SMALL, Card, ErrorBox, Outcome, OutcomeView, PageTitle, TABLE, TD, TH, UrlError,
    allowed, use_session,
};
use crate::error::AppError;
use crate::i18n::{Texts, use_texts};
use crate::licenses::api::{
    ActOnLicense, DeactivateDevice, EditLicense, TransferLicense, UnassignLicense, get_license,
};
use crate::licenses::{LicensesNav, devices_text, event_label, state_class, state_label};
use crate::time::format_time;
use model::access::Role;
use model::licenses::{
    Action, Activation, Assignment, License, LicenseDetail, LicenseEvent, LicenseState,
};

const SMALL_INPUT: &str = "w-40 rounded border border-slate-300 px-2 py-1 text-xs";

/// One license: state and holder, limits (tenant admins edit them), suspend, reinstate
/// and revoke with a reason (tenant admins), transfer and unassign (support), devices
/// with deactivation (support), the assignment history and every event.
#[component]
pub fn LicenseDetailPage() -> impl IntoView {
    let t = use_texts();
    let params = use_params_map();
    let license_id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let edit = ServerAction::<EditLicense>::new();
    let act = ServerAction::<ActOnLicense>::new();
    let transfer = ServerAction::<TransferLicense>::new();
    let unassign = ServerAction::<UnassignLicense>::new();
    let deactivate = ServerAction::<DeactivateDevice>::new();
    let outcome = Outcome::default();
    outcome.follow(edit, move |_| t.saved.to_owned());
    outcome.follow(act, move |_| t.licenses.done_changed.to_owned());
    outcome.follow(transfer, move |assigned| {
        format!(
            "{} ({} {}{}{} {})",
            t.licenses.transferred,
            t.held_label,
            assigned.held,
            t.comma,
            t.quota_label,
            assigned.quota
        )
    });
    outcome.follow(unassign, move |_| t.licenses.unassigned.to_owned());
    outcome.follow(deactivate, move |_| t.licenses.deactivated.to_owned());
    let detail = crate::components::resource(
        move || {
            (
                license_id(),
                edit.version().get(),
                act.version().get(),
                transfer.version().get(),
                unassign.version().get(),
                deactivate.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => get_license(id).await,
                None => Err(AppError::NotFound {
                    entity: "license".into(),
                }),
            }
        },
    );
    let session = use_session();
    view! {
        <PageTitle text=t.licenses.license_title />
        <LicensesNav />
        <UrlError />
        <OutcomeView outcome />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                let admin = allowed(session, Role::TenantAdmin).await;
                let support = allowed(session, Role::Support).await;
                match detail.await {
                    Ok(detail) => {
                        let LicenseDetail { license, activations, assignments, events } = detail;
                        view! {
                            <LicenseHeader license=license.clone() t />
                            {admin.then(|| view! { <AdminForms license=license.clone() edit act t /> })}
                            {(support && license.member_id.is_some()).then(|| view! {
                                <HolderForms license_id=license.license_id holder=license.member_id transferable=license.state == LicenseState::Assigned transfer unassign t />
                            })}
                            <Card>
                                <h2 class="mb-3 font-semibold">{t.licenses.devices_title}</h2>
                                <ActivationTable activations may_change=support deactivate t />
                            </Card>
                            <Card>
                                <h2 class="mb-3 font-semibold">{t.licenses.assignments_title}</h2>
                                <AssignmentTable assignments t />
                            </Card>
                            <Card>
                                <h2 class="mb-3 font-semibold">{t.licenses.events_title}</h2>
                                <EventList events t />
                            </Card>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn LicenseHeader(license: License, t: &'static Texts) -> impl IntoView {
    let row = |label: &'static str, value: String| {
        view! { <div><dt class="text-xs text-slate-500">{label}</dt><dd class="break-words">{value}</dd></div> }
    };
    let reason = license
        .revoke_reason
        .clone()
        .or_else(|| license.suspend_reason.clone());
    view! {
        <Card>
            <p class="mb-3 flex flex-wrap items-center gap-3">
                <span class="font-mono text-lg font-semibold" data-testid="license-key">{license.license_key.clone()}</span>
                <span class=format!("font-medium {}", state_class(license.state)) data-testid="license-state" data-state=license.state.as_str()>
                    {state_label(license.state, t)}
                </span>
                {reason.map(|why| view! { <span class="text-sm text-slate-600">"“" {why} "”"</span> })}
            </p>
            <dl class="grid gap-3 text-sm sm:grid-cols-3">
                <div>
                    <dt class="text-xs text-slate-500">{t.licenses.holder}</dt>
                    <dd data-testid="holder">
                        {match license.member_id {
                            Some(id) => view! {
                                <a href=format!("/members/{id}") class="font-mono text-indigo-700 hover:underline">{license.member_external_id.clone().unwrap_or_default()}</a>
                                " " {license.member_name.clone().unwrap_or_default()}
                            }.into_any(),
                            None => view! { <span class="text-slate-500">"—"</span> }.into_any(),
                        }}
                    </dd>
                </div>
                {row(t.license_plan_label, license.plan_code.clone())}
                {row(t.licenses.devices, devices_text(license.activations, license.max_activations))}
                {row(t.licenses.expires, license.expires_at.as_ref().map(format_time).unwrap_or_else(|| t.licenses.never.to_owned()))}
                {row(t.licenses.assigned_at, license.assigned_at.as_ref().map(format_time).unwrap_or_else(|| "—".to_owned()))}
                {row(t.licenses.last_validated, license.last_validated_at.as_ref().map(format_time).unwrap_or_else(|| "—".to_owned()))}
                {row(t.created_at, format_time(&license.created_at))}
            </dl>
        </Card>
    }
}

/// Limits, and suspend / reinstate / revoke: each consequential action is a second step
/// inside a disclosure that names its effect (works without JavaScript).
#[component]
fn AdminForms(
    license: License,
    edit: ServerAction<EditLicense>,
    act: ServerAction<ActOnLicense>,
    t: &'static Texts,
) -> impl IntoView {
    if license.state == LicenseState::Revoked {
        return ().into_any();
    }
    let id = license.license_id.to_string();
    let label = "mb-1 block font-medium text-slate-700";
    let input = "w-full rounded-md border border-slate-300 px-3 py-2";
    let expires_on = license
        .expires_at
        .map(|at| at.date_naive().to_string())
        .unwrap_or_default();
    let suspended = license.state == LicenseState::Suspended;
    let ready = crate::components::use_ready();
    let license_id = license.license_id;
    let action_form = move |action: Action,
                            open: &'static str,
                            effect: &'static str,
                            button: &'static str,
                            danger: bool| {
        let id = license_id.to_string();
        let tone = if danger {
            "border-red-200 bg-red-50"
        } else {
            "border-slate-200 bg-slate-50"
        };
        view! {
            <details class="group" data-testid=format!("license-{}", action.as_str())>
                <summary class=format!("{BUTTON_SMALL} inline-block cursor-pointer list-none")>{open}</summary>
                <ActionForm action=act attr:class=format!("group mt-1 space-y-1 rounded border p-2 {tone}") attr:aria-busy=move || act.pending().get().then_some("true")>
                    <p class="text-xs">{effect}</p>
                    <input type="hidden" name="license_id" value=id />
                    <input type="hidden" name="action" value=action.as_str() />
                    <div class="flex flex-wrap gap-1">
                        <input type="text" name="reason" required=true maxlength="500" placeholder=t.reason aria-label=t.reason class=SMALL_INPUT />
                        <button type="submit" class=BUTTON_SMALL disabled=move || act.pending().get()>{button}</button>
                    </div>
                </ActionForm>
            </details>
        }
    };
    view! {
        <div data-testid="license-admin" data-ready=move || ready.get().then_some("true")><Card>
            <h2 class="mb-3 font-semibold">{t.licenses.limits_title}</h2>
            <ActionForm action=edit attr:aria-busy=move || edit.pending().get().then_some("true") attr:class="group">
                <input type="hidden" name="license_id" value=id />
                <input type="hidden" name="row_version" value=license.row_version.to_string() />
                <div class="flex flex-wrap items-end gap-3">
                    <label class="block text-sm">
                        <span class=label>{t.max_activations_label}</span>
                        <input type="number" name="max_activations" required=true min="1" step="1" value=license.max_activations.to_string() class=input />
                    </label>
                    <label class="block text-sm">
                        <span class=label>{t.licenses.expires_on}</span>
                        <input type="date" name="expires_on" value=expires_on class=input />
                    </label>
                    <button type="submit" class=BUTTON>{t.save}</button>
                </div>
                <p class="mt-2 text-xs text-slate-500">{t.licenses.limits_hint}</p>
            </ActionForm>
            <div class="mt-4 flex flex-wrap items-start gap-3 border-t border-slate-100 pt-4">
                {if suspended {
                    action_form(Action::Reinstate, t.licenses.reinstate_open, t.licenses.reinstate_effect, t.licenses.reinstate_now, false).into_any()
                } else {
                    action_form(Action::Suspend, t.licenses.suspend_open, t.licenses.suspend_effect, t.licenses.suspend_now, false).into_any()
                }}
                {action_form(Action::Revoke, t.licenses.revoke_open, t.licenses.revoke_effect, t.licenses.revoke_now, true)}
            </div>
        </Card></div>
    }
    .into_any()
}

/// Transfer to another member (a usable license) and unassign (any held one), for
/// support.
#[component]
fn HolderForms(
    license_id: Uuid,
    /// The holder this page shows: a move made meanwhile by someone else is refused.
    holder: Option<Uuid>,
    transferable: bool,
    transfer: ServerAction<TransferLicense>,
    unassign: ServerAction<UnassignLicense>,
    t: &'static Texts,
) -> impl IntoView {
    let id = license_id.to_string();
    let holder = holder.map(|h| h.to_string());
    view! {
        <Card>
            <h2 class="mb-3 font-semibold">{t.licenses.holder_title}</h2>
            <div class="flex flex-wrap items-start gap-3">
                {transferable.then(|| view! { <TransferForm license_id=id.clone() holder=holder.clone() transfer t /> })}
                <UnassignForm license_id=id holder unassign t />
            </div>
        </Card>
    }
}

/// Moves the seat to another member, named by external id (reason required).
#[component]
fn TransferForm(
    license_id: String,
    holder: Option<String>,
    transfer: ServerAction<TransferLicense>,
    t: &'static Texts,
) -> impl IntoView {
    view! {
        <details class="group" data-testid="transfer">
            <summary class=format!("{BUTTON_SMALL} inline-block cursor-pointer list-none")>{t.licenses.transfer_open}</summary>
            <ActionForm action=transfer attr:class="group mt-1 space-y-1 rounded border border-slate-200 bg-slate-50 p-2" attr:aria-busy=move || transfer.pending().get().then_some("true")>
                <p class="text-xs">{t.licenses.transfer_effect}</p>
                <input type="hidden" name="license_id" value=license_id />
                {holder.map(|holder| view! { <input type="hidden" name="holder" value=holder /> })}
                <div class="flex flex-wrap gap-1">
                    <input type="text" name="to_external_id" required=true maxlength="200" placeholder=t.licenses.to_external_id aria-label=t.licenses.to_external_id class=SMALL_INPUT />
                    <input type="text" name="reason" required=true maxlength="500" placeholder=t.reason aria-label=t.reason class=SMALL_INPUT />
                    <button type="submit" class=BUTTON_SMALL disabled=move || transfer.pending().get()>{t.licenses.transfer}</button>
                </div>
            </ActionForm>
        </details>
    }
}

/// Takes the seat back from its holder (reason required); a second step names the
/// effect.
#[component]
fn UnassignForm(
    license_id: String,
    holder: Option<String>,
    unassign: ServerAction<UnassignLicense>,
    t: &'static Texts,
) -> impl IntoView {
    view! {
        <details class="group" data-testid="unassign">
            <summary class=format!("{BUTTON_SMALL} inline-block cursor-pointer list-none")>{t.licenses.unassign_open}</summary>
            <ActionForm action=unassign attr:class="group mt-1 space-y-1 rounded border border-red-200 bg-red-50 p-2" attr:aria-busy=move || unassign.pending().get().then_some("true")>
                <p class="text-xs text-red-800">{t.licenses.unassign_effect}</p>
                <input type="hidden" name="license_id" value=license_id />
                {holder.map(|holder| view! { <input type="hidden" name="holder" value=holder /> })}
                <div class="flex flex-wrap gap-1">
                    <input type="text" name="reason" required=true maxlength="500" placeholder=t.reason aria-label=t.reason class=SMALL_INPUT />
                    <button type="submit" class=BUTTON_SMALL disabled=move || unassign.pending().get()>{t.licenses.unassign}</button>
                </div>
            </ActionForm>
        </details>
    }
}

/// Devices of a license (live first), with deactivation of live ones (support).
#[component]
fn ActivationTable(
    activations: Vec<Activation>,
    may_change: bool,
    deactivate: ServerAction<DeactivateDevice>,
    t: &'static Texts,
) -> impl IntoView {
    if activations.is_empty() {
        return view! { <p class="text-sm text-slate-500" data-testid="activations">{t.licenses.no_devices}</p> }.into_any();
    }
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="activations">
            <thead><tr>
                <th class=TH>{t.device_name_label}</th><th class=TH>{t.fingerprint_label}</th>
                <th class=TH>{t.licenses.first_seen}</th><th class=TH>{t.licenses.last_seen}</th>
                <th class=TH>{t.licenses.ended}</th><th class=TH></th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100">
                {activations.into_iter().map(|a| {
                    let live = a.deactivated_at.is_none();
                    let id = a.activation_id.to_string();
                    view! {
                        <tr data-fingerprint=a.fingerprint.clone() data-live=live.to_string()>
                            <td class=TD>{a.device_name.clone().unwrap_or_else(|| "—".into())}</td>
                            <td class=format!("{TD} break-all font-mono text-xs")>{a.fingerprint.clone()}</td>
                            <td class=format!("{TD} whitespace-nowrap")>{format_time(&a.activated_at)}</td>
                            <td class=format!("{TD} whitespace-nowrap")>{format_time(&a.last_seen_at)}</td>
                            <td class=TD>
                                {a.deactivated_at.as_ref().map(|at| format!(
                                    "{} · {}",
                                    format_time(at),
                                    a.deactivate_reason.as_deref().map(|r| event_label(r, t)).unwrap_or_default()
                                ))}
                            </td>
                            <td class=TD>
                                {(may_change && live).then(|| view! {
                                    <ActionForm action=deactivate attr:class="group" attr:aria-busy=move || deactivate.pending().get().then_some("true")>
                                        <input type="hidden" name="activation_id" value=id />
                                        <button type="submit" class=BUTTON_SMALL disabled=move || deactivate.pending().get()>{t.licenses.deactivate}</button>
                                    </ActionForm>
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

/// Holders of a license, newest first.
#[component]
fn AssignmentTable(assignments: Vec<Assignment>, t: &'static Texts) -> impl IntoView {
    if assignments.is_empty() {
        return view! { <p class="text-sm text-slate-500">{t.licenses.no_assignments}</p> }
            .into_any();
    }
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="assignments">
            <thead><tr>
                <th class=TH>{t.external_id}</th><th class=TH>{t.licenses.assigned_at}</th><th class=TH>{t.operator}</th>
                <th class=TH>{t.licenses.ended}</th><th class=TH>{t.reason}</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100">
                {assignments.into_iter().map(|a| view! {
                    <tr>
                        <td class=format!("{TD} font-mono")>
                            <a href=format!("/members/{}", a.member_id) class="text-indigo-700 hover:underline">{a.external_id.clone()}</a>
                        </td>
                        <td class=format!("{TD} whitespace-nowrap")>{format_time(&a.assigned_at)}</td>
                        <td class=format!("{TD} text-xs text-slate-500")>{a.assigned_by.clone().unwrap_or_else(|| a.method.clone())}</td>
                        <td class=format!("{TD} whitespace-nowrap")>
                            {a.ended_at.as_ref().map(|at| format!(
                                "{} · {}",
                                format_time(at),
                                a.end_kind.as_deref().map(|k| event_label(k, t)).unwrap_or_default()
                            ))}
                        </td>
                        <td class=TD>{a.end_reason.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}

#[component]
fn EventList(events: Vec<LicenseEvent>, t: &'static Texts) -> impl IntoView {
    view! {
        <ul class="space-y-1 text-sm" data-testid="license-events">
            {events.into_iter().map(|e| view! {
                <li data-kind=e.kind.clone() class="break-words">
                    <span class="text-slate-500">{format_time(&e.created_at)}</span> " · "
                    <strong>{event_label(&e.kind, t)}</strong>
                    " · " {crate::tags::cause_label(&e.cause, t)}
                    {e.actor.clone().map(|actor| format!(" · {actor}"))}
                    {e.note.clone().map(|note| format!(" · “{note}”"))}
                </li>
            }).collect_view()}
        </ul>
    }
}
