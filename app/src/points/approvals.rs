use leptos::prelude::*;

use crate::components::{
    BUTTON, BUTTON_SMALL, Card, ErrorBox, Outcome, OutcomeView, PageTitle, RequiresRole, TABLE, TD,
    TH, UrlError, allowed, use_session,
};
use crate::i18n::{Texts, use_texts};
use crate::points::api::{
    ApproveAdjustment, RejectAdjustment, SetApprovalThreshold, WithdrawAdjustment,
    decided_adjustments, get_settings, pending_adjustments,
};
use crate::points::request_status_label;
use crate::time::format_time;
use model::access::Role;
use model::points::approvals::Request;

/// Four-eyes approvals: the threshold setting, the pending requests (a tenant admin
/// other than the requester approves or rejects; the requester may withdraw), and the
/// recently decided ones with who and when.
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let t = use_texts();
    let approve = ServerAction::<ApproveAdjustment>::new();
    let reject = ServerAction::<RejectAdjustment>::new();
    let withdraw = ServerAction::<WithdrawAdjustment>::new();
    let set_threshold = ServerAction::<SetApprovalThreshold>::new();
    let outcome = Outcome::default();
    outcome.follow(approve, move |seq| {
        format!("{}{seq}", t.points.approved_done)
    });
    outcome.follow(reject, move |_| t.points.rejected_done.to_owned());
    outcome.follow(withdraw, move |_| t.points.withdrawn_done.to_owned());
    outcome.follow(set_threshold, move |_| t.points.threshold_saved.to_owned());
    let decisions = move || {
        (
            approve.version().get(),
            reject.version().get(),
            withdraw.version().get(),
        )
    };
    let pending = crate::components::resource(decisions, |_| pending_adjustments());
    let decided = crate::components::resource(decisions, |_| decided_adjustments());
    let settings =
        crate::components::resource(move || set_threshold.version().get(), |_| get_settings());
    let session = use_session();
    let me = crate::components::resource(
        || (),
        move |_| async move {
            match session {
                Some(session) => session.0.await.ok().flatten().map(|info| info.email),
                None => None,
            }
        },
    );
    view! {
        <PageTitle text=t.points.approvals_title />
        <RequiresRole minimum=Role::Support>
        <UrlError />
        <OutcomeView outcome />
        <Card>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let current = settings.await.ok().and_then(|s| s.adjustment_approval_threshold);
                    let is_admin = allowed(session, Role::TenantAdmin).await;
                    view! {
                        <ActionForm action=set_threshold attr:aria-busy=move || set_threshold.pending().get().then_some("true") attr:class="group">
                            <div class="flex flex-wrap items-end gap-3">
                                <label class="block text-sm">
                                    <span class="mb-1 block font-medium text-slate-700">{t.points.threshold}</span>
                                    <input type="number" min="1" name="threshold" value=current.map(|c| c.to_string()).unwrap_or_default()
                                        disabled=!is_admin class="w-40 rounded-md border border-slate-300 px-3 py-2" />
                                </label>
                                <Show when=move || is_admin>
                                    <button type="submit" class=BUTTON disabled=move || set_threshold.pending().get()>{t.save}</button>
                                </Show>
                            </div>
                            <p class="mt-1 text-xs text-slate-500">{t.points.threshold_hint}</p>
                            <p class="mt-1 text-xs text-slate-500" data-testid="approval-rule">{t.points.approval_balance_rule}</p>
                        </ActionForm>
                    }
                })}
            </Transition>
        </Card>
        <Card>
            <h2 class="mb-3 font-semibold">{t.points.pending_title}</h2>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    let is_admin = allowed(session, Role::TenantAdmin).await;
                    let me = me.await;
                    match pending.await {
                        Ok(requests) if requests.is_empty() => view! { <p class="text-sm text-slate-500">{t.points.no_pending}</p> }.into_any(),
                        Ok(requests) => view! {
                            <div class="overflow-x-auto"><table class=TABLE data-testid="pending">
                                <thead><tr>
                                    <th class=TH>{t.when}</th><th class=TH>{t.member_title}</th>
                                    <th class=format!("{TH} text-right")>{t.points_label}</th><th class=TH>{t.reason}</th>
                                    <th class=TH>{t.points.requested_by}</th><th class=TH></th>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100 bg-white">
                                    {requests.into_iter().map(|request| {
                                        let own = me.as_deref() == Some(request.requested_by.as_str());
                                        view! { <PendingRow request own is_admin approve reject withdraw t /> }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
        <Card>
            <h2 class="mb-3 font-semibold">{t.points.decided_title}</h2>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    match decided.await {
                        Ok(requests) if requests.is_empty() => view! { <p class="text-sm text-slate-500">{t.points.no_decided}</p> }.into_any(),
                        Ok(requests) => view! { <DecidedTable requests t /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
        </RequiresRole>
    }
}

/// One pending request: approve and reject for tenant admins other than the requester,
/// withdraw for the requester.
#[component]
fn PendingRow(
    request: Request,
    own: bool,
    is_admin: bool,
    approve: ServerAction<ApproveAdjustment>,
    reject: ServerAction<RejectAdjustment>,
    withdraw: ServerAction<WithdrawAdjustment>,
    t: &'static Texts,
) -> impl IntoView {
    let id = request.request_id.to_string();
    let row_id = id.clone();
    let applicable = request.applicable();
    let busy =
        move || approve.pending().get() || reject.pending().get() || withdraw.pending().get();
    let actions = if own {
        view! {
            <p class="mb-1 text-xs text-slate-500">{t.points.your_request}</p>
            <ActionForm action=withdraw attr:aria-busy=move || withdraw.pending().get().then_some("true") attr:class="group">
                <input type="hidden" name="request_id" value=id.clone() />
                <button type="submit" class=BUTTON_SMALL disabled=busy>{t.points.withdraw}</button>
            </ActionForm>
        }
        .into_any()
    } else if is_admin {
        let id_reject = id.clone();
        view! {
            <div class="flex flex-wrap gap-2">
                <ActionForm action=approve attr:aria-busy=move || approve.pending().get().then_some("true") attr:class="group">
                    <input type="hidden" name="request_id" value=id.clone() />
                    <button type="submit" class=BUTTON_SMALL disabled=move || !applicable || busy()>{t.points.approve}</button>
                </ActionForm>
                <ActionForm action=reject attr:aria-busy=move || reject.pending().get().then_some("true") attr:class="group">
                    <input type="hidden" name="request_id" value=id_reject />
                    <button type="submit" class=BUTTON_SMALL disabled=busy>{t.points.reject}</button>
                </ActionForm>
            </div>
        }
        .into_any()
    } else {
        ().into_any()
    };
    view! {
        <tr data-request=row_id>
            <td class=format!("{TD} whitespace-nowrap")>{format_time(&request.created_at)}</td>
            <td class=TD>
                <a class="text-indigo-700 hover:underline" href=format!("/members/{}", request.member_id)>
                    {request.member_name.clone()} " (" {request.member_external_id.clone()} ")"
                </a>
            </td>
            <td class=format!("{TD} text-right tabular-nums")>{format!("{:+}", request.points)}</td>
            <td class=TD>
                {request.reason.clone()}
                {(!applicable).then(|| view! {
                    <p class="mt-1 text-xs font-medium text-amber-700" data-testid="not-applicable">
                        {t.points.not_applicable_now} " " {request.member_available}
                    </p>
                })}
            </td>
            <td class=TD>{request.requested_by.clone()}</td>
            <td class=TD>{actions}</td>
        </tr>
    }
}

#[component]
fn DecidedTable(requests: Vec<Request>, t: &'static Texts) -> impl IntoView {
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="decided">
            <thead><tr>
                <th class=TH>{t.points.decided_at}</th><th class=TH>{t.member_title}</th>
                <th class=format!("{TH} text-right")>{t.points_label}</th><th class=TH>{t.reason}</th>
                <th class=TH>{t.points.requested_by}</th><th class=TH>{t.status}</th><th class=TH>{t.points.decided_by}</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100 bg-white">
                {requests.into_iter().map(|request| view! {
                    <tr data-request=request.request_id.to_string() data-status=request.status.clone()>
                        <td class=format!("{TD} whitespace-nowrap")>{request.decided_at.as_ref().map(format_time)}</td>
                        <td class=TD>
                            <a class="text-indigo-700 hover:underline" href=format!("/members/{}", request.member_id)>
                                {request.member_name.clone()} " (" {request.member_external_id.clone()} ")"
                            </a>
                        </td>
                        <td class=format!("{TD} text-right tabular-nums")>{format!("{:+}", request.points)}</td>
                        <td class=TD>{request.reason.clone()}</td>
                        <td class=TD>{request.requested_by.clone()}</td>
                        <td class=TD>{request_status_label(&request.status, t)}</td>
                        <td class=TD>{request.decided_by.clone().unwrap_or_else(|| "—".to_owned())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
}
