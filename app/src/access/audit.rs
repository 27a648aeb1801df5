use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::access::api::list_audit;
use crate::components::format_time;
use crate::components::{ErrorBox, PageTitle, RequiresRole, TABLE, TD, TH};
use crate::i18n::use_texts;
use model::access::Role;
use model::access::audit::Entry as AuditEntry;

/// The tenant's audit log, newest first, paged by keyset (`?before=<audit id>`), so the
/// pager links work without JavaScript too.
#[component]
pub fn AuditPage() -> impl IntoView {
    let t = use_texts();
    let query = use_query_map();
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let page = Resource::new(before, list_audit);
    view! {
        <PageTitle text=t.access.audit_title />
        <RequiresRole minimum=Role::Support>
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
                                <th class=TH>{t.access.before}</th>
                                <th class=TH>{t.access.after}</th>
                                <th class=TH>{t.access.request_id}</th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100 bg-white">
                                {page.entries.into_iter().map(|entry| view! { <AuditRow entry /> }).collect_view()}
                            </tbody>
                        </table></div>
                        <div class="mt-4 flex gap-4 text-sm">
                            <a href="/audit" class="text-indigo-600 hover:underline">{t.newest}</a>
                            {page.next_before.map(|next| view! {
                                <a href=format!("/audit?before={next}") class="text-indigo-600 hover:underline">{t.older}</a>
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
fn AuditRow(entry: AuditEntry) -> impl IntoView {
    let json = |value: &Option<serde_json::Value>| {
        value.as_ref().map(|v| v.to_string()).unwrap_or_default()
    };
    view! {
        <tr>
            <td class=format!("{TD} whitespace-nowrap")>{format_time(&entry.occurred_at)}</td>
            <td class=TD>{entry.actor_label.clone()}</td>
            <td class=format!("{TD} font-mono")>{entry.action.clone()}</td>
            <td class=format!("{TD} font-mono text-xs")>{entry.target_type.clone()} " " {entry.target_id.clone()}</td>
            <td class=format!("{TD} font-mono text-xs break-all")>{json(&entry.before)}</td>
            <td class=format!("{TD} font-mono text-xs break-all")>{json(&entry.after)}</td>
            <td class=format!("{TD} font-mono text-xs text-slate-500")>{entry.request_id.clone().unwrap_or_default()}</td>
        </tr>
    }
}
