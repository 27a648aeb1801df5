use leptos::prelude::*;

use crate::api_keys::api::{
    CreateApiKey, RevokeApiKey, RotateApiKey, SetApiKeyLimits, api_keys, take_issued_api_key,
};
use crate::components::{
    ActionResult, BUTTON, BUTTON_SMALL, Card, ErrorBox, PageTitle, RequiresRole, TABLE, TD, TH,
    UrlError, use_ready,
};
use crate::i18n::{Texts, use_texts};
use crate::time::format_time;
use model::access::Role;
use model::api::{ApiKey, Issued, KeyState};

const INPUT: &str = "w-full rounded-md border border-slate-300 px-3 py-2";
const LABEL: &str = "mb-1 block font-medium text-slate-700";

/// The tenant's API keys (tenant admins): create one (its secret shown once), rotate
/// with a grace period, revoke, change its rate limit.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let t = use_texts();
    let create = ServerAction::<CreateApiKey>::new();
    let rotate = ServerAction::<RotateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let limits = ServerAction::<SetApiKeyLimits>::new();
    let changes = move || {
        (
            create.version().get(),
            rotate.version().get(),
            revoke.version().get(),
            limits.version().get(),
        )
    };
    let keys = crate::components::resource(changes, |_| api_keys());
    // After a plain form post (no JavaScript) the secret waits in the session.
    let issued = crate::components::resource(changes, |_| take_issued_api_key());
    let ready = use_ready();
    view! {
        <PageTitle text=t.api_keys.title />
        <RequiresRole minimum=Role::TenantAdmin>
        <UrlError />
        <div data-testid="api-keys" data-ready=move || ready.get().then_some("true")>
        <p class="mb-4 text-sm text-slate-600">
            {t.api_keys.intro} " "
            <a href="/api/v1/docs" class="text-indigo-700 underline" rel="external">{t.api_keys.reference}</a>
        </p>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let from_session = issued.await.ok().flatten();
                let from_action = create.value().get().and_then(Result::ok)
                    .or_else(|| rotate.value().get().and_then(Result::ok));
                from_action.or(from_session).map(|issued| view! { <SecretBox issued t /> })
            })}
        </Transition>
        <Card>
            <h2 class="mb-3 font-semibold">{t.api_keys.new_key}</h2>
            <ActionForm action=create attr:aria-busy=move || create.pending().get().then_some("true") attr:class="group">
                <div class="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
                    <label class="block text-sm">
                        <span class=LABEL>{t.api_keys.name}</span>
                        <input name="name" required=true maxlength="100" class=INPUT placeholder="Shop backend" />
                    </label>
                    <label class="block text-sm">
                        <span class=LABEL>{t.api_keys.scope}</span>
                        <select name="scope" class=INPUT>
                            <option value="write">{t.api_keys.scope_write}</option>
                            <option value="read">{t.api_keys.scope_read}</option>
                        </select>
                    </label>
                    <label class="block text-sm">
                        <span class=LABEL>{t.api_keys.rate}</span>
                        <input type="number" name="rate_per_second" min="1" max="100000" class=INPUT />
                    </label>
                    <label class="block text-sm">
                        <span class=LABEL>{t.api_keys.burst}</span>
                        <input type="number" name="burst" min="1" max="100000" class=INPUT />
                    </label>
                </div>
                <p class="mt-1 text-xs text-slate-500">{t.api_keys.limits_hint}</p>
                <button type="submit" class=format!("{BUTTON} mt-4")>{t.api_keys.create}</button>
            </ActionForm>
            <div class="mt-3"><ActionResult value=move || create.value().get().map(|r| r.map(|_| ())) success=t.saved /></div>
        </Card>
        <Card>
            <h2 class="mb-3 font-semibold">{t.api_keys.keys}</h2>
            <ActionResult value=move || rotate.value().get().map(|r| r.map(|_| ())) success=t.saved />
            <ActionResult value=move || revoke.value().get().map(|r| r.map(|_| ())) success=t.saved />
            <ActionResult value=move || limits.value().get().map(|r| r.map(|_| ())) success=t.saved />
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Ok(keys) if keys.is_empty() => view! { <p class="text-sm text-slate-500">{t.no_entries}</p> }.into_any(),
                        Ok(keys) => view! { <KeyList keys rotate revoke limits t /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
        </div>
        </RequiresRole>
    }
}

#[component]
fn SecretBox(issued: Issued, t: &'static Texts) -> impl IntoView {
    view! {
        <div class="mb-4 rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm" role="status" data-testid="issued-secret">
            <p class="font-medium text-amber-900">{t.api_keys.secret_once}</p>
            <p class="mt-1 text-slate-700">{issued.key.name.clone()} " · " {issued.key.prefix.clone()}</p>
            <code class="mt-2 block break-all rounded bg-white px-2 py-1 font-mono text-xs" data-testid="secret">{issued.secret.clone()}</code>
        </div>
    }
}

fn state_label(state: KeyState, t: &'static Texts) -> (&'static str, &'static str) {
    match state {
        KeyState::Active => (t.api_keys.state_active, "bg-emerald-100 text-emerald-800"),
        KeyState::Grace => (t.api_keys.state_grace, "bg-amber-100 text-amber-800"),
        KeyState::Expired => (t.api_keys.state_expired, "bg-slate-200 text-slate-700"),
        KeyState::Revoked => (t.api_keys.state_revoked, "bg-red-100 text-red-800"),
    }
}

#[component]
fn KeyList(
    keys: Vec<ApiKey>,
    rotate: ServerAction<RotateApiKey>,
    revoke: ServerAction<RevokeApiKey>,
    limits: ServerAction<SetApiKeyLimits>,
    t: &'static Texts,
) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <table class=TABLE data-testid="api-key-list">
                <thead><tr>
                    <th class=TH>{t.api_keys.name}</th><th class=TH>{t.api_keys.prefix}</th>
                    <th class=TH>{t.api_keys.scope}</th><th class=TH>{t.api_keys.state}</th>
                    <th class=TH>{t.api_keys.rate}</th><th class=TH>{t.api_keys.created}</th>
                    <th class=TH>{t.api_keys.last_used}</th><th class=TH></th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {keys.into_iter().map(|key| {
                        let state = key.state;
                        let (label, badge) = state_label(state, t);
                        let usable = matches!(state, KeyState::Active | KeyState::Grace);
                        let id = key.key_id.to_string();
                        let limits_text = match (key.rate_per_second, key.burst) {
                            (None, None) => t.api_keys.default_limits.to_owned(),
                            (rate, burst) => format!(
                                "{} / {}",
                                rate.map_or_else(|| "—".into(), |r| r.to_string()),
                                burst.map_or_else(|| "—".into(), |b| b.to_string())
                            ),
                        };
                        let actions = usable.then(|| {
                            let (rotate_id, limits_id, revoke_id) = (id.clone(), id.clone(), id.clone());
                            view! {
                                        <details>
                                            <summary class="cursor-pointer text-xs text-indigo-700">{t.api_keys.rotate} " · " {t.api_keys.revoke}</summary>
                                            <div class="mt-2 grid gap-3 sm:w-72">
                                                <ActionForm action=rotate attr:class="group flex flex-wrap items-end gap-2">
                                                    <input type="hidden" name="key_id" value=rotate_id />
                                                    <label class="text-xs">
                                                        <span class="block text-slate-600">{t.api_keys.grace_hours}</span>
                                                        <input type="number" name="grace_hours" min="0" max="720" value="24" required=true class="w-24 rounded border border-slate-300 px-2 py-1" />
                                                    </label>
                                                    <button type="submit" class=BUTTON_SMALL>{t.api_keys.rotate}</button>
                                                </ActionForm>
                                                <ActionForm action=limits attr:class="group flex flex-wrap items-end gap-2">
                                                    <input type="hidden" name="key_id" value=limits_id />
                                                    <input type="number" name="rate_per_second" min="1" max="100000" placeholder=t.api_keys.rate
                                                        value=key.rate_per_second.map(|r| r.to_string()).unwrap_or_default() class="w-28 rounded border border-slate-300 px-2 py-1 text-xs" />
                                                    <input type="number" name="burst" min="1" max="100000" placeholder=t.api_keys.burst
                                                        value=key.burst.map(|b| b.to_string()).unwrap_or_default() class="w-20 rounded border border-slate-300 px-2 py-1 text-xs" />
                                                    <button type="submit" class=BUTTON_SMALL>{t.api_keys.save_limits}</button>
                                                </ActionForm>
                                                <ActionForm action=revoke attr:class="group">
                                                    <input type="hidden" name="key_id" value=revoke_id />
                                                    <button type="submit" class="rounded border border-red-300 bg-white px-2 py-1 text-xs font-medium text-red-700 hover:bg-red-50">{t.api_keys.revoke}</button>
                                                    <span class="ml-2 text-xs text-slate-500">{t.api_keys.revoke_confirm}</span>
                                                </ActionForm>
                                            </div>
                                        </details>
                                    }
                        });
                        view! {
                            <tr data-key=id.clone() data-state=format!("{state:?}").to_lowercase()>
                                <td class=TD>{key.name.clone()}</td>
                                <td class=format!("{TD} font-mono text-xs")>{key.prefix.clone()} "…"</td>
                                <td class=TD>{if key.scope == model::api::Scope::Write { t.api_keys.scope_write } else { t.api_keys.scope_read }}</td>
                                <td class=TD>
                                    <span class=format!("rounded px-2 py-0.5 text-xs {badge}")>{label}</span>
                                    {key.expires_at.filter(|_| state == KeyState::Grace).map(|until| view! {
                                        <span class="block text-xs text-slate-500">{t.api_keys.until} " " {format_time(&until)}</span>
                                    })}
                                </td>
                                <td class=format!("{TD} tabular-nums")>{limits_text}</td>
                                <td class=format!("{TD} whitespace-nowrap")>{format_time(&key.created_at)}</td>
                                <td class=format!("{TD} whitespace-nowrap")>{key.last_used_at.map_or_else(|| t.api_keys.never.to_owned(), |at| format_time(&at))}</td>
                                <td class=TD>
                                    {actions}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
