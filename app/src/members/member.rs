use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

use crate::components::use_ready;
use crate::components::{
    ActionResult, BUTTON, BUTTON_SMALL, Card, ErrorBox, PageTitle, TABLE, TD, TH, UrlError,
    allowed, use_session,
};
use crate::error::AppError;
use crate::i18n::{Texts, use_texts};
use crate::members::api::{UpdateMember, get_member, member_ledger, member_level_history};
use crate::members::list::LevelBadge;
use crate::points::api::{
    AdjustPoints, ReverseEntry, WithdrawAdjustment, member_pending_adjustments,
};
use crate::tags::member_tags::MemberTags;
use crate::time::format_time;
use model::access::Role;
use model::members::Member;
use model::points::approvals::Request;
use model::points::ledger::Adjustment;
use model::points::ledger::{Entry as LedgerEntry, EntryKind, EntryPage};
use model::points::levels::LevelChange;

/// One member: balances and level, manual adjustment (support and up), tags with
/// effective permissions, the ledger newest first with reversal, level history, and the
/// profile form.
#[component]
pub fn MemberPage() -> impl IntoView {
    let t = use_texts();
    let params = use_params_map();
    let query = use_query_map();
    let member_id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let adjust = ServerAction::<AdjustPoints>::new();
    let reverse = ServerAction::<ReverseEntry>::new();
    let update = ServerAction::<UpdateMember>::new();
    let changes = move || {
        (
            adjust.version().get(),
            reverse.version().get(),
            update.version().get(),
        )
    };
    let member = crate::components::resource(
        move || (member_id(), changes()),
        |(id, _)| async move {
            match id {
                Some(id) => get_member(id).await,
                None => Err(AppError::NotFound {
                    entity: "member".into(),
                }),
            }
        },
    );
    let ledger = crate::components::resource(
        move || (member_id(), before(), changes()),
        |(id, before, _)| async move {
            match id {
                Some(id) => member_ledger(id, before).await,
                None => Err(AppError::NotFound {
                    entity: "member".into(),
                }),
            }
        },
    );
    let history = crate::components::resource(
        move || (member_id(), changes()),
        |(id, _)| async move {
            match id {
                Some(id) => member_level_history(id).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let session = use_session();
    let withdraw = ServerAction::<WithdrawAdjustment>::new();
    let pending = crate::components::resource(
        move || (member_id(), changes(), withdraw.version().get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => member_pending_adjustments(id).await,
                None => Ok(Vec::new()),
            }
        },
    );
    view! {
        <UrlError />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                let may_change = allowed(session, Role::Support).await;
                match member.await {
                    Ok(member) => view! {
                        <MemberHeader member=member.clone() t />
                        {may_change.then(|| view! { <AdjustForm member_id=member.member_id adjust t /> })}
                        <PendingRequests pending withdraw t />
                        <MemberSections member_id ledger history reverse update member=member.clone() may_change t />
                    }.into_any(),
                    // One clear page for a member that does not exist (or is another
                    // tenant's), not a row of empty sections and live forms.
                    Err(AppError::NotFound { .. }) => view! { <MemberNotFound t /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn MemberNotFound(t: &'static Texts) -> impl IntoView {
    view! {
        <PageTitle text=t.member_title />
        <Card>
            <p class="text-slate-700" data-testid="member-not-found">{t.members.member_not_found}</p>
            <a href="/members" class="mt-3 inline-block text-indigo-600 hover:underline">{t.members.back_to_members}</a>
        </Card>
    }
}

/// The member's adjustments waiting for a second admin; the requester may withdraw.
#[component]
fn PendingRequests(
    pending: crate::components::Data<Result<Vec<Request>, AppError>>,
    withdraw: ServerAction<WithdrawAdjustment>,
    t: &'static Texts,
) -> impl IntoView {
    let session = use_session();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let me = match session {
                    Some(session) => session.0.await.ok().flatten().map(|info| info.email),
                    None => None,
                };
                let requests = pending.await.unwrap_or_default();
                (!requests.is_empty()).then(|| view! {
                    <Card>
                        <h2 class="mb-3 font-semibold">{t.points.member_pending_title}</h2>
                        <ul class="space-y-2 text-sm" data-testid="member-pending">
                            {requests.into_iter().map(|request| {
                                let own = me.as_deref() == Some(request.requested_by.as_str());
                                let id = request.request_id.to_string();
                                let row_id = id.clone();
                                view! {
                                    <li class="flex flex-wrap items-center gap-3" data-request=row_id>
                                        <span class="tabular-nums font-medium">{format!("{:+}", request.points)}</span>
                                        <span>{request.reason.clone()}</span>
                                        <span class="text-slate-500">{request.requested_by.clone()} " · " {format_time(&request.created_at)}</span>
                                        {own.then(move || view! {
                                            <ActionForm action=withdraw attr:aria-busy=move || withdraw.pending().get().then_some("true") attr:class="group">
                                                <input type="hidden" name="request_id" value=id />
                                                <button type="submit" class=BUTTON_SMALL disabled=move || withdraw.pending().get()>{t.points.withdraw}</button>
                                            </ActionForm>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <div class="mt-2"><ActionResult value=move || withdraw.value().get() success=t.points.withdrawn_done /></div>
                    </Card>
                })
            })}
        </Transition>
    }
}

/// Everything below the header, for a member that exists.
#[component]
#[expect(clippy::too_many_arguments)]
fn MemberSections(
    member_id: impl Fn() -> Option<Uuid> + Copy + Send + Sync + 'static,
    ledger: crate::components::Data<Result<EntryPage, AppError>>,
    history: crate::components::Data<Result<Vec<LevelChange>, AppError>>,
    reverse: ServerAction<ReverseEntry>,
    update: ServerAction<UpdateMember>,
    member: Member,
    may_change: bool,
    t: &'static Texts,
) -> impl IntoView {
    let session = use_session();
    view! {
        <MemberTags />
        <crate::licenses::member_licenses::MemberLicensesSection />
        <crate::rollout::member_panel::MemberRolloutPanel external_id=member.external_id.clone() />
        <ActionResult value=move || reverse.value().get() success=t.members.reversed />
        <Card>
            <h2 class="mb-3 font-semibold">{t.members.ledger}</h2>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    let may_change = allowed(session, Role::Support).await;
                    match ledger.await {
                        Ok(page) => {
                            let id = member_id().map(|id| id.to_string()).unwrap_or_default();
                            let next = page.next_before.map(|next| view! {
                                <a href=format!("/members/{id}?before={next}") class="text-indigo-600 hover:underline">{t.older}</a>
                            });
                            view! {
                                <div class="overflow-x-auto"><table class=TABLE data-testid="ledger">
                                    <thead><tr>
                                        <th class=TH>{t.seq}</th><th class=TH>{t.when}</th><th class=TH>{t.members.kind}</th>
                                        <th class=TH>{t.category}</th><th class=format!("{TH} text-right")>{t.points_label}</th>
                                        <th class=format!("{TH} text-right")>{t.members.balance}</th><th class=TH>{t.reason}</th>
                                        <th class=TH>{t.operator}</th><th class=TH></th>
                                    </tr></thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {page.entries.into_iter().map(|entry| {
                                            let reversible = may_change && entry.kind != EntryKind::Reversal && !entry.reversed;
                                            view! { <LedgerRow entry reversible reverse t /> }
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                                <div class="mt-3 flex gap-4 text-sm">
                                    <a href=format!("/members/{}", member_id().map(|id| id.to_string()).unwrap_or_default()) class="text-indigo-600 hover:underline">{t.newest}</a>
                                    {next}
                                </div>
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
        <Card>
            <h2 class="mb-3 font-semibold">{t.members.level_history}</h2>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    match history.await {
                        Ok(changes) if changes.is_empty() => view! { <p class="text-sm text-slate-500">{t.members.no_history}</p> }.into_any(),
                        Ok(changes) => view! {
                            <ul class="space-y-1 text-sm" data-testid="level-history">
                                {changes.into_iter().map(|c| view! {
                                    <li>
                                        <span class="text-slate-500">{format_time(&c.created_at)}</span> " · "
                                        {c.from_code.unwrap_or_else(|| "—".into())} " → " <strong>{c.to_code.unwrap_or_else(|| "—".into())}</strong>
                                        " · " {c.total_points} " · " {crate::points::level_cause_label(&c.cause, t)}
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
        {may_change.then(|| view! { <EditForm member update t /> })}
    }
}

#[component]
fn MemberHeader(member: Member, t: &'static Texts) -> impl IntoView {
    view! {
        <PageTitle text=t.member_title />
        <Card>
            <div class="flex flex-wrap items-start gap-8">
                <div>
                    <div class="text-xl font-semibold" data-testid="member-name">{member.display_name.clone()}</div>
                    <div class="font-mono text-sm text-slate-500">{member.external_id.clone()}</div>
                    <div class="text-sm text-slate-500">{member.email.clone().unwrap_or_default()}</div>
                </div>
                <div>
                    <div class="text-xs uppercase text-slate-500">{t.level}</div>
                    <div data-testid="member-level">
                        <LevelBadge code=member.level_code.clone() name_zh=member.level_name_zh.clone() name_en=member.level_name_en.clone() />
                    </div>
                </div>
                <div>
                    <div class="text-xs uppercase text-slate-500">{t.members.available_points}</div>
                    <div class="text-2xl font-semibold tabular-nums" data-testid="available-points">{member.available_points}</div>
                </div>
                <div>
                    <div class="text-xs uppercase text-slate-500">{t.members.total_points}</div>
                    <div class="text-2xl font-semibold tabular-nums" data-testid="total-points">{member.total_points}</div>
                </div>
                <div class="text-sm text-slate-500">
                    <div>{t.members.registered_at} {t.colon} {format_time(&member.registered_at)}</div>
                    <div>{t.members.last_login_at} {t.colon} {member.last_login_at.as_ref().map(format_time).unwrap_or_default()}</div>
                </div>
            </div>
        </Card>
    }
}

/// The idempotency key changes after every answered submission, so a double click
/// posts once and the next adjustment is a new request; after a transport failure or a
/// server fault the key stays, so submitting again retries the same request (which may
/// have been applied although its answer was lost).
#[component]
fn AdjustForm(
    member_id: Uuid,
    adjust: ServerAction<AdjustPoints>,
    t: &'static Texts,
) -> impl IntoView {
    let key = Memo::new(move |previous: Option<&String>| {
        adjust.version().get();
        let unanswered = adjust.value().with_untracked(|value| {
            matches!(
                value,
                Some(Err(AppError::Request(_) | AppError::Internal { .. }))
            )
        });
        match previous {
            Some(previous) if unanswered => previous.clone(),
            _ => Uuid::new_v4().to_string(),
        }
    });
    // After an answer that posted or filed something, the form empties: clicking
    // Adjust again cannot send the same adjustment a second time under a new key.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if matches!(adjust.value().get(), Some(Ok(_)))
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    let ready = use_ready();
    view! {
        <div data-testid="adjust" data-ready=move || ready.get().then_some("true")>
        <Card>
            <h2 class="mb-3 font-semibold">{t.members.adjust_points}</h2>
            <ActionForm action=adjust node_ref=form attr:aria-busy=move || adjust.pending().get().then_some("true") attr:class="group">
                <input type="hidden" name="member_id" value=member_id.to_string() />
                <input type="hidden" name="idempotency_key" value=move || key.get() />
                <div class="grid gap-4 sm:grid-cols-[10rem_1fr_auto] sm:items-end">
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium text-slate-700">{t.points_label}</span>
                        <input type="number" name="points" required=true step="1" placeholder=t.members.points_hint
                            class="w-full rounded-md border border-slate-300 px-3 py-2" />
                    </label>
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium text-slate-700">{t.reason}</span>
                        <input type="text" name="reason" required=true maxlength="500"
                            class="w-full rounded-md border border-slate-300 px-3 py-2" />
                    </label>
                    <button type="submit" class=BUTTON>{t.members.adjust}</button>
                </div>
            </ActionForm>
            <div class="mt-3">
                {move || match adjust.value().get() {
                    Some(Ok(Adjustment::PendingApproval { status, .. })) if status != "pending" => view! {
                        // A retry of a submission that was already decided.
                        <p role="status" class="text-sm text-amber-700">
                            {t.members.request_status} " " {crate::points::request_status_label(&status, t)}
                        </p>
                    }.into_any(),
                    Some(Ok(Adjustment::PendingApproval { .. })) => view! {
                        <p role="status" class="text-sm text-amber-700">{t.members.pending_approval}</p>
                    }.into_any(),
                    other => view! { <ActionResult value=move || other.clone() success=t.members.adjusted /> }.into_any(),
                }}
            </div>
        </Card>
        </div>
    }
}

#[component]
fn LedgerRow(
    entry: LedgerEntry,
    reversible: bool,
    reverse: ServerAction<ReverseEntry>,
    t: &'static Texts,
) -> impl IntoView {
    let sign = if entry.points > 0 {
        "text-emerald-700"
    } else {
        "text-red-700"
    };
    let member_id = use_params_map()
        .read_untracked()
        .get("id")
        .unwrap_or_default();
    view! {
        <tr data-seq=entry.seq>
            <td class=format!("{TD} tabular-nums text-slate-500")>{entry.seq}</td>
            <td class=format!("{TD} whitespace-nowrap")>{format_time(&entry.created_at)}</td>
            <td class=format!("{TD} whitespace-nowrap") data-kind=entry.kind.as_str()>{crate::points::entry_kind_label(entry.kind, t)}{entry.reverses_seq.map(|s| format!(" #{s}"))}</td>
            <td class=TD>{match crate::points::category_label(&entry.category, t) {
                Some(label) => view! { <span>{label}</span> }.into_any(),
                None => view! { <span class="font-mono text-xs">{entry.category.clone()}</span> }.into_any(),
            }}</td>
            <td class=format!("{TD} text-right tabular-nums {sign}")>{format!("{:+}", entry.points)}</td>
            <td class=format!("{TD} text-right tabular-nums")>{entry.available_after}</td>
            <td class=TD>{entry.reason.clone().unwrap_or_default()}</td>
            <td class=format!("{TD} text-xs text-slate-500")>{entry.operator_email.clone().or_else(|| entry.client_id.clone()).unwrap_or_default()}</td>
            <td class=TD>
                {reversible.then(|| view! {
                    <ActionForm action=reverse attr:aria-busy=move || reverse.pending().get().then_some("true") attr:class="group">
                        <input type="hidden" name="member_id" value=member_id.clone() />
                        <input type="hidden" name="seq" value=entry.seq.to_string() />
                        // One key per reversal form: a resubmission gets the original entry.
                        <input type="hidden" name="idempotency_key" value=format!("reverse-{}-{}", member_id, entry.seq) />
                        <div class="flex flex-wrap gap-1">
                            <input type="text" name="reason" required=true placeholder=t.members.reverse_reason
                                class="w-36 rounded border border-slate-300 px-2 py-1 text-xs" />
                            <button type="submit" class=BUTTON_SMALL>{t.members.reverse}</button>
                        </div>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

#[component]
fn EditForm(
    member: Member,
    update: ServerAction<UpdateMember>,
    t: &'static Texts,
) -> impl IntoView {
    let input = "w-full rounded-md border border-slate-300 px-3 py-2";
    view! {
        <Card>
            <h2 class="mb-3 font-semibold">{t.members.edit_member}</h2>
            <ActionForm action=update attr:aria-busy=move || update.pending().get().then_some("true") attr:class="group">
                <input type="hidden" name="member_id" value=member.member_id.to_string() />
                <input type="hidden" name="row_version" value=member.row_version.to_string() />
                <div class="grid gap-4 sm:grid-cols-[1fr_1fr_1fr_auto] sm:items-end">
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium text-slate-700">{t.external_id}</span>
                        <input type="text" name="external_id" required=true value=member.external_id.clone() class=input />
                    </label>
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium text-slate-700">{t.display_name}</span>
                        <input type="text" name="display_name" required=true value=member.display_name.clone() class=input />
                    </label>
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium text-slate-700">{t.email}</span>
                        <input type="email" name="email" value=member.email.clone().unwrap_or_default() class=input />
                    </label>
                    <button type="submit" class=BUTTON>{t.save}</button>
                </div>
            </ActionForm>
            <div class="mt-3"><ActionResult value=move || update.value().get() success=t.saved /></div>
        </Card>
    }
}
