use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{BUTTON, ErrorBox, PageTitle, TABLE, TD, TH};
use crate::i18n::{Texts, use_texts};
use crate::members::list::tier_label;
use crate::tags::api::expiring_grants;
use crate::tags::member_tags::state_text;
use crate::time::format_time;
use model::tags::grants::Expiring as ExpiringGrant;

pub const EXPIRING_DAYS_DEFAULT: i64 = 30;

/// Grants in force that expire within the next `days` days (a plain GET form, so every
/// answer has a URL and it works without JavaScript).
#[component]
pub fn ExpiringPage() -> impl IntoView {
    let t = use_texts();
    let query = use_query_map();
    let days_text = move || query.read().get("days").filter(|d| !d.trim().is_empty());
    // Text that is not a number asks for 0 days, which the server refuses with a clear
    // "invalid days" message.
    let days = move || days_text().map_or(EXPIRING_DAYS_DEFAULT, |d| d.trim().parse().unwrap_or(0));
    let expiring = crate::components::resource(days, expiring_grants);
    view! {
        <PageTitle text=t.tags.expiring_title />
        <form method="get" action="/expiring" class="mb-4 flex flex-wrap items-end gap-3">
            <label class="block text-sm">
                <span class="mb-1 block font-medium text-slate-700">{t.tags.within_days}</span>
                <input type="number" name="days" min="1" max="366" step="1"
                    value=move || days_text().unwrap_or_else(|| EXPIRING_DAYS_DEFAULT.to_string())
                    class="w-28 rounded-md border border-slate-300 px-3 py-2" />
            </label>
            <button type="submit" class=BUTTON>{t.tags.show}</button>
        </form>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                match expiring.await {
                    Ok(grants) if grants.is_empty() => view! { <p data-testid="expiring">{t.tags.nothing_expiring}</p> }.into_any(),
                    Ok(grants) => view! { <ExpiringTable grants t /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ExpiringTable(grants: Vec<ExpiringGrant>, t: &'static Texts) -> impl IntoView {
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="expiring">
            <thead><tr>
                <th class=TH>{t.external_id}</th><th class=TH>{t.display_name}</th><th class=TH>{t.tags.tag}</th>
                <th class=TH>{t.tags.expires_at}</th><th class=TH>{t.tags.state}</th><th class=TH>{t.tags.auto_renew}</th>
                <th class=TH>{t.tags.reminded}</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100 bg-white">
                {grants.into_iter().map(|g| {
                    let name = tier_label(&g.tag_code, &g.tag_name_zh, &g.tag_name_en);
                    view! {
                        <tr data-grant=g.grant_id.to_string() data-tag=g.tag_code.clone()>
                            <td class=format!("{TD} font-mono")>
                                <a class="text-indigo-700 hover:underline" href=format!("/members/{}", g.member_id)>{g.external_id.clone()}</a>
                            </td>
                            <td class=TD>{g.display_name.clone()}</td>
                            <td class=TD>{name}</td>
                            <td class=format!("{TD} whitespace-nowrap")>{format_time(&g.expires_at)}</td>
                            <td class=TD>{state_text(g.state, None, t)}</td>
                            <td class=TD>{if g.auto_renew { t.tags.yes } else { t.tags.no }}</td>
                            <td class=TD>{if g.reminded { t.tags.yes } else { t.tags.no }}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
    }
}
