use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::access::api::list_audit;
use crate::components::{BUTTON_SMALL, ErrorBox, PageTitle, RequiresRole, TABLE, TD, TH};
use crate::i18n::{Texts, use_texts};
use crate::members::list::encode;
use crate::time::format_time;
use model::access::Role;
use model::access::audit::Entry as AuditEntry;

/// The filter fields, as the page's query string carries them.
const FILTERS: [&str; 5] = ["actor", "action", "target_id", "from", "to"];

/// The tenant's audit log, newest first, filtered by who, what, which target and when
/// (a plain GET form), paged by keyset (`?before=<audit id>`), so filters and pager
/// work without JavaScript too. Each row shows only the fields the change touched.
#[component]
pub fn AuditPage() -> impl IntoView {
    let t = use_texts();
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let filters = move || FILTERS.map(&param);
    let before = move || param("before").and_then(|b| b.parse::<i64>().ok());
    let page = crate::components::resource(
        move || (before(), filters()),
        |(before, [actor, action, target_id, from, to])| {
            list_audit(before, actor, action, target_id, from, to)
        },
    );
    // The current filters, for the pager links.
    let filter_query = move || {
        filters()
            .iter()
            .zip(FILTERS)
            .filter_map(|(value, name)| value.as_ref().map(|v| format!("&{name}={}", encode(v))))
            .collect::<String>()
    };
    view! {
        <PageTitle text=t.access.audit_title />
        <RequiresRole minimum=Role::Support>
        <form method="get" action="/audit" class="mb-4 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 text-sm sm:grid-cols-[1fr_1fr_1fr_auto_auto_auto] sm:items-end" data-testid="audit-filter">
            <FilterField label=t.access.who name="actor" value=param("actor") />
            <FilterField label=t.access.action name="action" value=param("action") />
            <FilterField label=t.access.target name="target_id" value=param("target_id") />
            <FilterField label=t.access.from name="from" value=param("from") kind="date" />
            <FilterField label=t.access.to name="to" value=param("to") kind="date" />
            <div class="flex gap-2">
                <button type="submit" class=BUTTON_SMALL>{t.access.filter}</button>
                <a href="/audit" class="self-center text-xs text-indigo-600 hover:underline">{t.access.clear}</a>
                // A download, not a page: `download` and `rel="external"` keep the
                // router from handling it.
                <a href=move || format!("/export/audit.csv?{}", filter_query().trim_start_matches('&'))
                    download="" rel="external" title=t.access.export_csv_hint data-testid="audit-export"
                    class="self-center whitespace-nowrap text-xs text-indigo-600 hover:underline">{t.access.export_csv}</a>
            </div>
        </form>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) if page.entries.is_empty() => view! { <p>{t.no_entries}</p> }.into_any(),
                    Ok(page) => view! {
                        <div class="overflow-x-auto"><table class=TABLE data-testid="audit">
                            <thead><tr>
                                <th class=TH>{t.when}</th>
                                <th class=TH>{t.access.who}</th>
                                <th class=TH>{t.access.action}</th>
                                <th class=TH>{t.access.target}</th>
                                <th class=TH>{t.access.changes}</th>
                                <th class=TH>{t.access.request_id}</th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100 bg-white">
                                {page.entries.into_iter().map(|entry| view! { <AuditRow entry t /> }).collect_view()}
                            </tbody>
                        </table></div>
                        <div class="mt-4 flex gap-4 text-sm">
                            <a href=format!("/audit?{}", filter_query().trim_start_matches('&')) class="text-indigo-600 hover:underline">{t.newest}</a>
                            {page.next_before.map(|next| view! {
                                <a href=format!("/audit?before={next}{}", filter_query()) class="text-indigo-600 hover:underline">{t.older}</a>
                            })}
                        </div>
                    }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        </RequiresRole>
    }
}

#[component]
fn FilterField(
    label: &'static str,
    name: &'static str,
    value: Option<String>,
    #[prop(default = "text")] kind: &'static str,
) -> impl IntoView {
    view! {
        <label class="block">
            <span class="mb-1 block font-medium text-slate-700">{label}</span>
            <input type=kind name=name value=value.unwrap_or_default()
                class="w-full rounded-md border border-slate-300 px-2 py-1" />
        </label>
    }
}

/// Where a target lives in the console, if it has a page.
fn target_link(target_type: &str, target_id: &str) -> Option<String> {
    match target_type {
        "member" => Some(format!("/members/{target_id}")),
        "adjustment_request" => Some("/approvals".into()),
        "tag" => Some("/tags".into()),
        "level_tiers" | "tier" | "level_tier" => Some("/levels".into()),
        "admin" => Some("/admins".into()),
        "outbox_event" => Some("/webhooks".into()),
        _ => None,
    }
}

#[component]
fn AuditRow(entry: AuditEntry, t: &'static Texts) -> impl IntoView {
    let show = |value: &Option<serde_json::Value>| match value {
        None => "—".to_owned(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    let changes = entry.changes();
    let target = format!("{} {}", entry.target_type, entry.target_id);
    let target = match target_link(&entry.target_type, &entry.target_id) {
        Some(href) => {
            view! { <a href=href class="text-indigo-700 hover:underline">{target}</a> }.into_any()
        }
        None => view! { <span>{target}</span> }.into_any(),
    };
    view! {
        <tr data-action=entry.action.clone()>
            <td class=format!("{TD} whitespace-nowrap")>{format_time(&entry.occurred_at)}</td>
            <td class=TD>{entry.actor_label.clone()}</td>
            <td class=format!("{TD} font-mono text-xs")>{entry.action.clone()}</td>
            <td class=format!("{TD} font-mono text-xs break-all")>{target}</td>
            <td class=format!("{TD} text-xs")>
                {if changes.is_empty() {
                    view! { <span class="text-slate-400">{t.access.no_changes}</span> }.into_any()
                } else {
                    view! {
                        <ul class="space-y-0.5">
                            {changes.into_iter().map(|change| view! {
                                <li>
                                    <span class="font-mono text-slate-500">{change.field.clone()}</span> " "
                                    <span class="text-red-700 line-through">{show(&change.before)}</span> " → "
                                    <span class="text-emerald-800">{show(&change.after)}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </td>
            <td class=format!("{TD} font-mono text-xs text-slate-500")>{entry.request_id.clone().unwrap_or_default()}</td>
        </tr>
    }
}
