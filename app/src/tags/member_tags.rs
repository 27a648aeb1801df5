//! The member page's tag sections: the member's grants (grant, renew, revoke), the
//! effective permissions with their sources, and the history of grant transitions.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::components::{
    ActionResult, BUTTON, BUTTON_SMALL, Card, ErrorBox, TABLE, TD, TH, allowed, use_ready,
    use_session,
};
use crate::error::AppError;
use crate::i18n::{Texts, use_texts};
use crate::members::list::tier_label;
use crate::tags::api::list_tags;
use crate::tags::api::{
    GrantTag, RenewGrant, RevokeGrant, member_grant_history, member_grants, member_permissions,
};
use crate::time::format_time;
use model::access::Role;
use model::tags::grants::Grant;
use model::tags::grants::GrantEvent;
use model::tags::permissions::Effective;
use model::tags::permissions::GrantState;
use model::tags::permissions::Quota;
use model::tags::permissions::Source;
use model::tags::permissions::SourceKind;

/// Tags, effective permissions and grant history of the member in the URL. Grant, renew
/// and revoke are for support and tenant admins, each with a required reason.
#[component]
pub fn MemberTags() -> impl IntoView {
    let t = use_texts();
    let params = use_params_map();
    let member_id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let grant = ServerAction::<GrantTag>::new();
    let renew = ServerAction::<RenewGrant>::new();
    let revoke = ServerAction::<RevokeGrant>::new();
    let changes = move || {
        (
            grant.version().get(),
            renew.version().get(),
            revoke.version().get(),
        )
    };
    let missing = || AppError::NotFound {
        entity: "member".into(),
    };
    let grants = crate::components::resource(
        move || (member_id(), changes()),
        move |(id, _)| async move {
            match id {
                Some(id) => member_grants(id).await,
                None => Err(missing()),
            }
        },
    );
    let effective = crate::components::resource(
        move || (member_id(), changes()),
        move |(id, _)| async move {
            match id {
                Some(id) => member_permissions(id).await,
                None => Err(missing()),
            }
        },
    );
    let history = crate::components::resource(
        move || (member_id(), changes()),
        move |(id, _)| async move {
            match id {
                Some(id) => member_grant_history(id).await,
                None => Err(missing()),
            }
        },
    );
    let tags = crate::components::resource(|| (), |_| list_tags());
    let session = use_session();
    view! {
        <Card>
            <h2 class="mb-3 font-semibold">{t.tags.tags}</h2>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    let may_change = allowed(session, Role::Support).await;
                    match grants.await {
                        Ok(grants) if grants.is_empty() => view! {
                            <p class="text-sm text-slate-500" data-testid="grants">{t.tags.no_grants}</p>
                        }.into_any(),
                        Ok(grants) => view! { <GrantTable grants may_change renew revoke t /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
            <ActionResult value=move || renew.value().get() success=t.tags.renewed />
            <ActionResult value=move || revoke.value().get() success=t.tags.revoked />
            // The tag options come from a resource; the whole form waits for it (no
            // suspense boundary inside the <select>).
            <Transition fallback=|| ()>
                {move || {
                    let id = member_id();
                    Suspend::new(async move {
                        let may_change = allowed(session, Role::Support).await;
                        let tags = tags.await.ok()?;
                        let id = id?;
                        // Only tags this member can be granted: active, and not held now
                        // (a held tag is renewed instead).
                        let held: Vec<Uuid> = grants
                            .await
                            .map(|grants| {
                                grants
                                    .into_iter()
                                    .filter(|g| g.state.is_live())
                                    .map(|g| g.tag_id)
                                    .collect()
                            })
                            .unwrap_or_default();
                        let tags: Vec<_> = tags
                            .into_iter()
                            .filter(|tag| tag.active && !held.contains(&tag.tag_id))
                            .collect();
                        if !may_change {
                            return None;
                        }
                        Some(if tags.is_empty() {
                            view! { <p class="mt-4 text-sm text-slate-500" data-testid="nothing-to-grant">{t.tags.nothing_to_grant}</p> }.into_any()
                        } else {
                            view! { <GrantForm member_id=id tags grant t /> }.into_any()
                        })
                    })
                }}
            </Transition>
        </Card>
        <Card>
            <h2 class="mb-1 font-semibold">{t.tags.effective_permissions}</h2>
            <p class="mb-3 text-xs text-slate-500">{t.tags.effective_hint}</p>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    match effective.await {
                        Ok(effective) => view! { <EffectiveView effective t /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
        <Card>
            <h2 class="mb-3 font-semibold">{t.tags.grant_history}</h2>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    match history.await {
                        Ok(events) if events.is_empty() => view! {
                            <p class="text-sm text-slate-500">{t.tags.no_grant_events}</p>
                        }.into_any(),
                        Ok(events) => view! { <GrantHistory events t /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
    }
}

/// "Active", "Grace until …", "Expired", "Revoked", "Scheduled".
pub fn state_text(
    state: GrantState,
    grace_until: Option<chrono::DateTime<chrono::Utc>>,
    t: &Texts,
) -> String {
    match (state, grace_until) {
        (GrantState::Grace, Some(until)) => {
            format!("{} {}", t.tags.grace_until, format_time(&until))
        }
        (state, _) => crate::tags::state_label(state, t).to_owned(),
    }
}

fn state_class(state: GrantState) -> &'static str {
    match state {
        GrantState::Active => "text-emerald-700",
        GrantState::Grace => "text-amber-700",
        GrantState::Scheduled => "text-indigo-700",
        GrantState::Expired | GrantState::Revoked => "text-slate-500",
    }
}

#[component]
fn GrantTable(
    grants: Vec<Grant>,
    may_change: bool,
    renew: ServerAction<RenewGrant>,
    revoke: ServerAction<RevokeGrant>,
    t: &'static Texts,
) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <div class="overflow-x-auto"><table class=TABLE data-testid="grants">
                <thead><tr>
                    <th class=TH>{t.tags.tag}</th><th class=TH>{t.tags.state}</th><th class=TH>{t.tags.expires_at}</th>
                    <th class=TH>{t.tags.auto_renew}</th><th class=TH>{t.reason}</th><th class=TH>{t.operator}</th>
                    <th class=TH></th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {grants.into_iter().map(|grant| view! { <GrantRow grant may_change renew revoke t /> }).collect_view()}
                </tbody>
            </table></div>
        </div>
    }
}

#[component]
fn GrantRow(
    grant: Grant,
    may_change: bool,
    renew: ServerAction<RenewGrant>,
    revoke: ServerAction<RevokeGrant>,
    t: &'static Texts,
) -> impl IntoView {
    let name = tier_label(&grant.tag_code, &grant.tag_name_zh, &grant.tag_name_en);
    let id = grant.grant_id.to_string();
    let renew_id = id.clone();
    let revoke_id = id.clone();
    let renewable = may_change && grant.renewable();
    let revocable = may_change && grant.state.is_live();
    let small_input = "w-36 rounded border border-slate-300 px-2 py-1 text-xs";
    let ended = grant.revoke_reason.clone().map(|why| format!(" ({why})"));
    view! {
        <tr data-tag=grant.tag_code.clone() data-state=grant.state.as_str() data-grant=id>
            <td class=TD><span class="font-medium">{name}</span> " " <span class="font-mono text-xs text-slate-500">{grant.tag_code.clone()}</span></td>
            <td class=format!("{TD} whitespace-nowrap {}", state_class(grant.state)) data-testid="grant-state">
                {state_text(grant.state, grant.grace_until, t)}{ended}
            </td>
            <td class=format!("{TD} whitespace-nowrap")>
                // An ended grant's expiry no longer matters.
                {if grant.state.is_live() {
                    grant.expires_at.as_ref().map(format_time).unwrap_or_else(|| t.tags.no_expiry.to_owned())
                } else {
                    "—".to_owned()
                }}
            </td>
            <td class=TD>{if grant.auto_renew { t.tags.yes } else { t.tags.no }}</td>
            <td class=TD>{grant.reason.clone()}</td>
            <td class=format!("{TD} text-xs text-slate-500")>{grant.granted_by_email.clone().unwrap_or_else(|| crate::tags::method_label(&grant.method, t))}</td>
            <td class=TD>
                <div class="space-y-1">
                    {renewable.then(|| view! {
                        <ActionForm action=renew attr:aria-busy=move || renew.pending().get().then_some("true") attr:class="group">
                            <input type="hidden" name="grant_id" value=renew_id.clone() />
                            <div class="flex flex-wrap gap-1">
                                <input type="text" name="reason" required=true maxlength="500" placeholder=t.tags.renew_reason aria-label=t.tags.renew_reason class=small_input />
                                <button type="submit" class=BUTTON_SMALL>{t.tags.renew}</button>
                            </div>
                        </ActionForm>
                    })}
                    // Revoking takes the privileges away at once: a second step names that
                    // effect before the button that does it (a disclosure: no JavaScript
                    // needed).
                    {revocable.then(|| view! {
                        <details class="group">
                            <summary class=format!("{BUTTON_SMALL} inline-block cursor-pointer list-none")>{t.tags.revoke_open}</summary>
                            <ActionForm action=revoke attr:class="group mt-1 space-y-1 rounded border border-red-200 bg-red-50 p-2" attr:aria-busy=move || revoke.pending().get().then_some("true")>
                                <p class="text-xs text-red-800">{t.tags.revoke_effect}</p>
                                <input type="hidden" name="grant_id" value=revoke_id.clone() />
                                <div class="flex flex-wrap gap-1">
                                    <input type="text" name="reason" required=true maxlength="500" placeholder=t.tags.revoke_reason aria-label=t.tags.revoke_reason class=small_input />
                                    <button type="submit" class=BUTTON_SMALL disabled=move || revoke.pending().get()>{t.tags.revoke_now}</button>
                                </div>
                            </ActionForm>
                        </details>
                    })}
                </div>
            </td>
        </tr>
    }
}

#[component]
fn GrantForm(
    member_id: Uuid,
    tags: Vec<model::tags::Tag>,
    grant: ServerAction<GrantTag>,
    t: &'static Texts,
) -> impl IntoView {
    let grant_form = crate::components::reset_on_success(grant);
    let ready = use_ready();
    let input = "w-full rounded-md border border-slate-300 px-3 py-2";
    let label = "mb-1 block font-medium text-slate-700";
    let options = tags
        .into_iter()
        .filter(|tag| tag.active)
        .map(|tag| {
            let name = tier_label(&tag.code, &tag.name_zh, &tag.name_en);
            view! { <option value=tag.tag_id.to_string()>{name} " (" {tag.code.clone()} ")"</option> }
        })
        .collect_view();
    view! {
        <div class="mt-4 border-t border-slate-100 pt-4" data-testid="grant-form" data-ready=move || ready.get().then_some("true")>
            <h3 class="mb-3 text-sm font-semibold">{t.tags.grant_tag}</h3>
            <ActionForm action=grant node_ref=grant_form attr:aria-busy=move || grant.pending().get().then_some("true") attr:class="group">
                <input type="hidden" name="member_id" value=member_id.to_string() />
                <div class="grid gap-4 sm:grid-cols-3">
                    <label class="block text-sm">
                        <span class=label>{t.tags.tag}</span>
                        <select name="tag_id" required=true class="w-full rounded-md border border-slate-300 px-2 py-2">{options}</select>
                    </label>
                    <label class="block text-sm sm:col-span-2">
                        <span class=label>{t.reason}</span>
                        <input type="text" name="reason" required=true maxlength="500" class=input />
                    </label>
                    <label class="block text-sm">
                        <span class=label>{t.tags.expires_on}</span>
                        <input type="date" name="expires_on" class=input />
                    </label>
                    <label class="block text-sm">
                        <span class=label>{t.tags.term_days}</span>
                        <input type="number" name="term_days" min="1" step="1" placeholder=t.tags.tag_default class=input />
                    </label>
                    <label class="block text-sm">
                        <span class=label>{t.tags.auto_renew}</span>
                        <select name="auto_renew" class="w-full rounded-md border border-slate-300 px-2 py-2">
                            <option value="">{t.tags.tag_default}</option>
                            <option value="true">{t.tags.yes}</option>
                            <option value="false">{t.tags.no}</option>
                        </select>
                    </label>
                </div>
                <p class="mt-2 text-xs text-slate-500">{t.tags.expiry_hint}</p>
                <button type="submit" class=format!("{BUTTON} mt-3")>{t.tags.grant}</button>
            </ActionForm>
            <div class="mt-3"><ActionResult value=move || grant.value().get() success=t.tags.granted /></div>
        </div>
    }
}

/// "Gold level", "VIP tag", in the current language.
fn source_name(source: &Source, t: &Texts) -> String {
    let name = tier_label(&source.code, &source.name_zh, &source.name_en);
    match source.kind {
        SourceKind::Level => format!("{name} {}", t.tags.source_level),
        SourceKind::Tag => format!("{name} {}", t.tags.source_tag),
    }
}

/// "Gold level", "VIP tag until …", "VIP tag (grace) until …".
fn source_text(source: &Source, t: &Texts) -> String {
    match source.kind {
        SourceKind::Level => source_name(source, t),
        SourceKind::Tag => {
            let mut text = source_name(source, t);
            if source.state == Some(GrantState::Grace) {
                text.push_str(&format!(" ({})", t.tags.state_grace));
            }
            if let Some(until) = &source.until {
                text.push_str(&format!(" {} {}", t.tags.until, format_time(until)));
            }
            text
        }
    }
}

#[component]
fn EffectiveView(effective: Effective, t: &'static Texts) -> impl IntoView {
    let quotas = effective.quotas.clone();
    view! {
        {if effective.permissions.is_empty() {
            view! { <p class="text-sm text-slate-500" data-testid="effective-permissions">{t.tags.no_permissions}</p> }.into_any()
        } else {
            view! {
                <ul class="space-y-1 text-sm" data-testid="effective-permissions">
                    {effective.permissions.into_iter().map(|permission| view! {
                        <li data-permission=permission.key.clone()>
                            <code class="rounded bg-slate-100 px-1">{permission.key.clone()}</code>
                            <span class="text-slate-500">" ← "</span>
                            {permission.sources.iter().map(|source| view! {
                                <span class="mr-2 inline-flex rounded-full bg-indigo-50 px-2 py-0.5 text-xs text-indigo-700"
                                    data-source=source.code.clone()>{source_text(source, t)}</span>
                            }).collect_view()}
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        {quotas.into_iter().map(|quota| view! { <QuotaView quota t /> }).collect_view()}
    }
}

/// A quota with how it was combined: max(every floor) + every boost.
#[component]
fn QuotaView(quota: Quota, t: &'static Texts) -> impl IntoView {
    let floors: Vec<String> = quota
        .parts
        .iter()
        .filter(|part| part.floor > 0 || part.source.kind == SourceKind::Level)
        .map(|part| format!("{} {}", source_name(&part.source, t), part.floor))
        .collect();
    let boosts: Vec<String> = quota
        .parts
        .iter()
        .filter(|part| part.boost > 0)
        .map(|part| format!(" + {} +{}", source_name(&part.source, t), part.boost))
        .collect();
    let formula = format!(
        "= max({}){}",
        if floors.is_empty() {
            "0".to_owned()
        } else {
            floors.join(", ")
        },
        boosts.concat()
    );
    view! {
        <div class="mt-4 text-sm" data-testid=format!("quota-{}", quota.key) data-quota=quota.key.clone()>
            <code class="rounded bg-slate-100 px-1">{quota.key.clone()}</code> " "
            <strong class="text-lg tabular-nums" data-testid="quota-value">{quota.value}</strong>
            " " <span class="text-slate-600" data-testid="quota-formula">{formula}</span>
            <p class="text-xs text-slate-500">{t.tags.quota_rule}</p>
        </div>
    }
}

#[component]
fn GrantHistory(events: Vec<GrantEvent>, t: &'static Texts) -> impl IntoView {
    view! {
        <ul class="space-y-1 text-sm" data-testid="grant-history">
            {events.into_iter().map(|e| view! {
                <li data-kind=e.kind.clone()>
                    <span class="text-slate-500">{format_time(&e.created_at)}</span> " · "
                    <span class="font-mono">{e.tag_code.clone()}</span> " · "
                    <strong>{crate::tags::event_label(&e.kind, t)}</strong> " · "
                    {e.from_status.as_deref().map(|s| crate::tags::status_label(s, t)).unwrap_or_else(|| "—".into())} " → " {crate::tags::status_label(&e.to_status, t)}
                    " · " {t.tags.cause} {t.colon} {crate::tags::cause_label(&e.cause, t)}
                    {e.actor_email.clone().map(|actor| format!(" · {actor}"))}
                    {e.note.clone().map(|note| format!(" · “{note}”"))}
                    {e.expires_at.as_ref().map(|at| format!(" · {} {}", t.tags.until, format_time(at)))}
                </li>
            }).collect_view()}
        </ul>
    }
}
