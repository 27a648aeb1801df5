use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{BUTTON, Card, ErrorBox, PageTitle, TABLE, TD, TH, UrlError};
use crate::error::license_code;
use crate::i18n::{Texts, use_texts};
use crate::licenses::api::{expiring_licenses, list_licenses, list_plans, validate_license};
use crate::licenses::{LicensesNav, devices_text, state_class, state_label};
use crate::time::format_time;
use model::licenses::{License, LicenseState, Validation};

/// Days ahead the "expiring soon" section looks.
pub const EXPIRING_DAYS: i64 = 30;

/// The query parameters of the list's filter form, in the order the form sends them.
const FILTERS: [&str; 4] = ["plan", "state", "member", "key"];

/// The license list (filters by plan, state, holder and key prefix; keyset pages),
/// the "validate a key" check, and licenses expiring soon. Both forms are plain GET
/// forms: every answer has a URL and works without JavaScript.
#[component]
pub fn LicensesPage() -> impl IntoView {
    let t = use_texts();
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.trim().is_empty());
    let filters = move || {
        (
            param("plan"),
            param("state"),
            param("member"),
            param("key"),
            param("after"),
        )
    };
    let page = crate::components::resource(filters, |(plan, state, member, key, after)| {
        list_licenses(plan, state, member, key, after)
    });
    let check = move || (param("vkey"), param("vfp"));
    let validation = crate::components::resource(check, |(key, fingerprint)| async move {
        match key {
            Some(key) => Some(validate_license(key, fingerprint).await),
            None => None,
        }
    });
    let plans = crate::components::resource(|| (), |_| list_plans());
    let expiring = crate::components::resource(|| (), |_| expiring_licenses(EXPIRING_DAYS));
    let field = "w-full rounded-md border border-slate-300 px-3 py-2";
    let label = "mb-1 block font-medium text-slate-700";
    view! {
        <PageTitle text=t.licenses.licenses_title />
        <LicensesNav />
        <UrlError />
        <Card>
            <h2 class="mb-1 font-semibold">{t.licenses.validate_title}</h2>
            <p class="mb-3 text-xs text-slate-500">{t.licenses.validate_hint}</p>
            <form method="get" action="/licenses" class="flex flex-wrap items-end gap-3" data-testid="validate-form">
                <label class="block min-w-0 flex-1 text-sm">
                    <span class=label>{t.license_key_label}</span>
                    <input type="text" name="vkey" required=true maxlength="40" autocomplete="off" class=format!("{field} font-mono")
                        value=move || param("vkey").unwrap_or_default() />
                </label>
                <label class="block min-w-0 flex-1 text-sm">
                    <span class=label>{t.fingerprint_label} " " <span class="font-normal text-slate-500">{t.licenses.optional}</span></span>
                    <input type="text" name="vfp" maxlength="200" autocomplete="off" class=field
                        value=move || param("vfp").unwrap_or_default() />
                </label>
                <button type="submit" class=BUTTON>{t.licenses.validate}</button>
            </form>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match validation.await {
                        Some(Ok(validation)) => view! { <ValidationView validation t /> }.into_any(),
                        Some(Err(error)) => view! { <div class="mt-3"><ErrorBox error /></div> }.into_any(),
                        None => ().into_any(),
                    }
                })}
            </Transition>
        </Card>
        <Card>
            <form method="get" action="/licenses" class="mb-4 flex flex-wrap items-end gap-3" data-testid="license-filter">
                <Transition fallback=|| ()>
                    {move || {
                        let chosen = param("plan").unwrap_or_default();
                        Suspend::new(async move {
                        let plans = plans.await.unwrap_or_default();
                        view! {
                            <label class="block text-sm">
                                <span class=label>{t.license_plan_label}</span>
                                <select name="plan" class="rounded-md border border-slate-300 px-2 py-2">
                                    <option value="">{t.licenses.all}</option>
                                    {plans.into_iter().map(|plan| {
                                        let id = plan.plan_id.to_string();
                                        let selected = id == chosen;
                                        view! { <option value=id selected=selected>{plan.code}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                        }
                        })
                    }}
                </Transition>
                <label class="block text-sm">
                    <span class=label>{t.licenses.state}</span>
                    <select name="state" class="rounded-md border border-slate-300 px-2 py-2">
                        <option value="">{t.licenses.all}</option>
                        {LicenseState::ALL.into_iter().map(|state| view! {
                            <option value=state.as_str() selected=move || param("state").as_deref() == Some(state.as_str())>{state_label(state, t)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="block text-sm">
                    <span class=label>{t.licenses.holder_external_id}</span>
                    <input type="text" name="member" maxlength="200" class="w-40 rounded-md border border-slate-300 px-3 py-2"
                        value=move || param("member").unwrap_or_default() />
                </label>
                <label class="block text-sm">
                    <span class=label>{t.licenses.key_prefix}</span>
                    <input type="text" name="key" maxlength="40" class="w-44 rounded-md border border-slate-300 px-3 py-2 font-mono"
                        value=move || param("key").unwrap_or_default() />
                </label>
                <button type="submit" class=BUTTON>{t.licenses.show}</button>
            </form>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || {
                    // "Next" keeps the filters and continues after the last key.
                    let filters: Vec<String> = FILTERS
                        .iter()
                        .filter_map(|name| param(name).map(|v| format!("{name}={}", encode(&v))))
                        .collect();
                    let paged = param("after").is_some();
                    Suspend::new(async move {
                    match page.await {
                        Ok(page) => {
                            let next = page.next.map(|after| {
                                let mut pairs = filters.clone();
                                pairs.push(format!("after={}", encode(&after)));
                                view! {
                                    <a href=format!("/licenses?{}", pairs.join("&")) class="text-indigo-600 hover:underline" data-testid="next-page">{t.licenses.next}</a>
                                }
                            });
                            view! {
                                <LicenseTable licenses=page.licenses testid="licenses" t />
                                <div class="mt-3 flex gap-4 text-sm">
                                    {paged.then(|| view! {
                                        <a href=format!("/licenses?{}", filters.join("&")) class="text-indigo-600 hover:underline">{t.licenses.first_page}</a>
                                    })}
                                    {next}
                                </div>
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                    })
                }}
            </Transition>
        </Card>
        <Card>
            <h2 class="mb-3 font-semibold">{t.licenses.expiring_title}</h2>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    match expiring.await {
                        Ok(licenses) => view! { <LicenseTable licenses testid="expiring-licenses" t /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
    }
}

/// Percent-encodes a query value (keys, external ids, ids).
pub fn encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// What a validation answered: the code in words and as the API gives it.
#[component]
fn ValidationView(validation: Validation, t: &'static Texts) -> impl IntoView {
    let tone = if validation.valid {
        "border-emerald-200 bg-emerald-50 text-emerald-900"
    } else {
        "border-red-200 bg-red-50 text-red-900"
    };
    view! {
        <div class=format!("mt-3 rounded-md border px-3 py-2 text-sm {tone}") data-testid="validation" data-code=validation.code.as_str()>
            <p>
                <strong>{if validation.valid { t.licenses.key_valid } else { t.licenses.key_refused }}</strong>
                {t.colon} {license_code(validation.code, t)} " "
                <code class="rounded bg-white/60 px-1 text-xs">{validation.code.as_str()}</code>
            </p>
            {validation.license_id.map(|id| view! {
                <p class="mt-1">
                    <a href=format!("/licenses/{id}") class="text-indigo-700 hover:underline">{t.licenses.open_license}</a>
                    {validation.activations.zip(validation.max_activations).map(|(n, max)| format!(" · {} {}", t.licenses.devices, devices_text(n, max)))}
                    {format!(" · {} {}", t.licenses.expires, validation.expires_at.as_ref().map(format_time).unwrap_or_else(|| t.licenses.never.to_owned()))}
                </p>
            })}
        </div>
    }
}

/// Licenses as a table that scrolls inside its card on a phone.
#[component]
pub fn LicenseTable(
    licenses: Vec<License>,
    testid: &'static str,
    t: &'static Texts,
) -> impl IntoView {
    if licenses.is_empty() {
        return view! { <p class="text-sm text-slate-500" data-testid=testid>{t.licenses.no_licenses}</p> }.into_any();
    }
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid=testid>
            <thead><tr>
                <th class=TH>{t.license_key_label}</th><th class=TH>{t.license_plan_label}</th><th class=TH>{t.licenses.state}</th>
                <th class=TH>{t.licenses.holder}</th><th class=TH>{t.licenses.devices}</th><th class=TH>{t.licenses.expires}</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100 bg-white">
                {licenses.into_iter().map(|l| view! {
                    <tr data-key=l.license_key.clone() data-state=l.state.as_str()>
                        <td class=format!("{TD} whitespace-nowrap font-mono")>
                            <a href=format!("/licenses/{}", l.license_id) class="text-indigo-700 hover:underline">{l.license_key.clone()}</a>
                        </td>
                        <td class=format!("{TD} font-mono")>{l.plan_code.clone()}</td>
                        <td class=format!("{TD} whitespace-nowrap {}", state_class(l.state))>{state_label(l.state, t)}</td>
                        <td class=TD>
                            {l.member_id.map(|id| view! {
                                <a href=format!("/members/{id}") class="font-mono text-indigo-700 hover:underline">{l.member_external_id.clone().unwrap_or_default()}</a>
                                " " <span class="text-xs text-slate-500">{l.member_name.clone().unwrap_or_default()}</span>
                            })}
                        </td>
                        <td class=format!("{TD} tabular-nums")>{devices_text(l.activations, l.max_activations)}</td>
                        <td class=format!("{TD} whitespace-nowrap")>{l.expires_at.as_ref().map(format_time).unwrap_or_else(|| t.licenses.never.to_owned())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}
