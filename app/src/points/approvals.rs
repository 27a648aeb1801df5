use leptos::prelude::*;

use crate::components::format_time;
use crate::components::{
    ActionResult, BUTTON, BUTTON_SMALL, Card, ErrorBox, PageTitle, TABLE, TD, TH, UrlError,
    allowed, use_session,
};
use crate::i18n::use_texts;
use crate::points::api::{
    ApproveAdjustment, RejectAdjustment, SetApprovalThreshold, get_settings, pending_adjustments,
};
use model::access::Role;

/// Four-eyes approvals: the threshold setting and the pending requests, which a tenant
/// admin other than the requester approves or rejects.
#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let t = use_texts();
    let approve = ServerAction::<ApproveAdjustment>::new();
    let reject = ServerAction::<RejectAdjustment>::new();
    let set_threshold = ServerAction::<SetApprovalThreshold>::new();
    let pending = Resource::new(
        move || (approve.version().get(), reject.version().get()),
        |_| pending_adjustments(),
    );
    let settings = Resource::new(move || set_threshold.version().get(), |_| get_settings());
    let session = use_session();
    view! {
        <PageTitle text=t.points.approvals_title />
        <UrlError />
        <Card>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let current = settings.await.ok().and_then(|s| s.adjustment_approval_threshold);
                    let is_admin = allowed(session, Role::TenantAdmin).await;
                    view! {
                        <ActionForm action=set_threshold>
                            <div class="flex flex-wrap items-end gap-3">
                                <label class="block text-sm">
                                    <span class="mb-1 block font-medium text-slate-700">{t.points.threshold}</span>
                                    <input type="number" min="1" name="threshold" value=current.map(|c| c.to_string()).unwrap_or_default()
                                        disabled=!is_admin class="w-40 rounded-md border border-slate-300 px-3 py-2" />
                                </label>
                                <Show when=move || is_admin>
                                    <button type="submit" class=BUTTON>{t.save}</button>
                                </Show>
                            </div>
                            <p class="mt-1 text-xs text-slate-500">{t.points.threshold_hint}</p>
                            <p class="mt-1 text-xs text-slate-500" data-testid="approval-rule">{t.points.approval_balance_rule}</p>
                        </ActionForm>
                    }
                })}
            </Transition>
            <div class="mt-2"><ActionResult value=move || set_threshold.value().get() success=t.saved /></div>
        </Card>
        <ActionResult value=move || approve.value().get() success=t.saved />
        <ActionResult value=move || reject.value().get() success=t.saved />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                let is_admin = allowed(session, Role::TenantAdmin).await;
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
                                {requests.into_iter().map(|r| {
                                    let id = r.request_id.to_string();
                                    let id_reject = id.clone();
                                    let applicable = r.applicable();
                                    let available = r.member_available;
                                    view! {
                                        <tr>
                                            <td class=format!("{TD} whitespace-nowrap")>{format_time(&r.created_at)}</td>
                                            <td class=TD>
                                                <a class="text-indigo-700 hover:underline" href=format!("/members/{}", r.member_id)>
                                                    {r.member_name.clone()} " (" {r.member_external_id.clone()} ")"
                                                </a>
                                            </td>
                                            <td class=format!("{TD} text-right tabular-nums")>{format!("{:+}", r.points)}</td>
                                            <td class=TD>
                                                {r.reason.clone()}
                                                {(!applicable).then(|| view! {
                                                    <p class="mt-1 text-xs font-medium text-amber-700" data-testid="not-applicable">
                                                        {t.points.not_applicable_now} " " {available}
                                                    </p>
                                                })}
                                            </td>
                                            <td class=TD>{r.requested_by.clone()}</td>
                                            <td class=TD>
                                                {is_admin.then(|| view! {
                                                    <div class="flex flex-wrap gap-2">
                                                        <ActionForm action=approve>
                                                            <input type="hidden" name="request_id" value=id />
                                                            <button type="submit" class=BUTTON_SMALL disabled=!applicable>{t.points.approve}</button>
                                                        </ActionForm>
                                                        <ActionForm action=reject>
                                                            <input type="hidden" name="request_id" value=id_reject />
                                                            <button type="submit" class=BUTTON_SMALL>{t.points.reject}</button>
                                                        </ActionForm>
                                                    </div>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}
