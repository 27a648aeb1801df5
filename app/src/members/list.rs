use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::use_ready;
use crate::components::{
    ActionResult, BUTTON, Card, ErrorBox, Field, PageTitle, TABLE, TD, TH, UrlError, allowed,
    use_session,
};
use crate::i18n::{Lang, Texts, use_texts};
use crate::members::api::{CreateMember, list_members};
use crate::points::api::list_tiers;
use crate::time::format_time;
use model::access::Role;
use model::members::{Member, Sort, SortColumn};

/// Members: substring search and level filter (a plain GET form, so it works without
/// JavaScript and every result page has a URL), sortable columns (links), keyset
/// pagination, and a form to add one.
#[component]
pub fn MembersPage() -> impl IntoView {
    let t = use_texts();
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let create = ServerAction::<CreateMember>::new();
    let create_form = crate::components::reset_on_success(create);
    let members = crate::components::resource(
        move || {
            (
                param("q"),
                param("level"),
                param("sort"),
                param("dir"),
                param("after"),
                param("before"),
                create.version().get(),
            )
        },
        |(q, level, sort, dir, after, before, _)| list_members(q, level, sort, dir, after, before),
    );
    let sort = move || Sort::from_query(param("sort").as_deref(), param("dir").as_deref());
    let tiers = crate::components::resource(|| (), |_| list_tiers());
    let session = use_session();
    let ready = use_ready();
    view! {
        <PageTitle text=t.members.members_title />
        <UrlError />
        // The level options come from a resource; the whole form waits for it so that
        // no suspense boundary sits inside the <select> (the HTML parser would drop
        // its markers and break hydration).
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let tiers = tiers.await.unwrap_or_default();
                let selected = param("level");
                view! {
                    <form method="get" action="/members" class="mb-4 flex flex-wrap items-end gap-3" role="search">
                        <label class="block text-sm">
                            <span class="mb-1 block font-medium text-slate-700">{t.members.search}</span>
                            <input type="search" name="q" value=param("q").unwrap_or_default() placeholder=t.members.search_hint
                                class="w-72 rounded-md border border-slate-300 px-3 py-2" />
                        </label>
                        <label class="block text-sm">
                            <span class="mb-1 block font-medium text-slate-700">{t.level}</span>
                            <select name="level" class="rounded-md border border-slate-300 px-2 py-2">
                                <option value="">{t.members.all_levels}</option>
                                {tiers.into_iter().map(|tier| {
                                    let is_selected = selected.as_deref() == Some(tier.code.as_str());
                                    let label = tier_label(&tier.code, &tier.name_zh, &tier.name_en);
                                    view! { <option value=tier.code.clone() selected=is_selected>{label}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                        // A new search keeps the chosen order.
                        {sort().map(|sort| view! {
                            <input type="hidden" name="sort" value=sort.column.code() />
                            <input type="hidden" name="dir" value=sort.dir_code() />
                        })}
                        <button type="submit" class=BUTTON>{t.members.search}</button>
                    </form>
                }
            })}
        </Transition>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                match members.await {
                    Ok(page) if page.members.is_empty() => view! { <p>{t.members.no_members}</p> }.into_any(),
                    Ok(page) => {
                        // The pager keeps the search and the level filter.
                        let link = move |key: &str, value: &str| {
                            let mut href = format!("/members?{key}={}", encode(value));
                            for name in ["q", "level", "sort", "dir"] {
                                if let Some(value) = param(name) {
                                    href.push_str(&format!("&{name}={}", encode(&value)));
                                }
                            }
                            href
                        };
                        // A column heading orders by that column (again: the other way
                        // round), keeping the search and level, from the first page.
                        let heading_link = move |column: SortColumn| {
                            let current = sort();
                            let descending = match current {
                                Some(s) if s.column == column => !s.descending,
                                _ => column.starts_descending(),
                            };
                            let mut href = format!(
                                "/members?sort={}&dir={}",
                                column.code(),
                                if descending { "desc" } else { "asc" }
                            );
                            for name in ["q", "level"] {
                                if let Some(value) = param(name) {
                                    href.push_str(&format!("&{name}={}", encode(&value)));
                                }
                            }
                            href
                        };
                        let next = page.next_after.map(|after| view! {
                            <a href=link("after", &after) class="text-indigo-600 hover:underline" rel="next">{t.members.next_page}</a>
                        });
                        let previous = page.prev_before.map(|before| view! {
                            <a href=link("before", &before) class="text-indigo-600 hover:underline" rel="prev">{t.members.previous_page}</a>
                        });
                        let total = if page.total > model::members::COUNT_MAX {
                            format!("{} {}", t.members.more_than, model::members::COUNT_MAX)
                        } else {
                            page.total.to_string()
                        };
                        view! {
                            <p class="mb-2 text-sm text-slate-500" data-testid="member-total">
                                {t.members.found} " " <strong class="tabular-nums">{total}</strong>
                            </p>
                            <MemberTable members=page.members t sort=sort() heading_link />
                            <div class="mt-4 flex flex-wrap gap-4 text-sm">
                                <a href="/members" class="text-indigo-600 hover:underline">{t.members.first_page}</a>
                                {previous}
                                {next}
                            </div>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                allowed(session, Role::Support).await.then(|| view! {
            <div data-testid="new-member" data-ready=move || ready.get().then_some("true")>
            <Card>
                <h2 class="mb-3 font-semibold">{t.members.new_member}</h2>
                <ActionForm action=create node_ref=create_form attr:aria-busy=move || create.pending().get().then_some("true") attr:class="group">
                    <div class="grid gap-4 sm:grid-cols-[1fr_1fr_1fr_auto] sm:items-end">
                        <Field label=t.external_id name="external_id" required=true />
                        <Field label=t.display_name name="display_name" required=true />
                        <Field label=t.email name="email" kind="email" />
                        <button type="submit" class=BUTTON>{t.create}</button>
                    </div>
                </ActionForm>
                <div class="mt-3">
                    {move || match create.value().get() {
                        Some(Ok(member)) => view! {
                            <a class="text-sm text-emerald-700 underline" href=format!("/members/{}", member.member_id)>
                                {t.created} " " {member.display_name}
                            </a>
                        }.into_any(),
                        other => view! { <ActionResult value=move || other.clone() success=t.created /> }.into_any(),
                    }}
                </div>
            </Card>
            </div>
                })
            })}
        </Transition>
    }
}

#[component]
fn MemberTable(
    members: Vec<Member>,
    t: &'static Texts,
    sort: Option<Sort>,
    heading_link: impl Fn(SortColumn) -> String + Copy + Send + 'static,
) -> impl IntoView {
    let current = sort.unwrap_or(Sort {
        column: SortColumn::ExternalId,
        descending: false,
    });
    let heading = move |column: SortColumn, label: &'static str, right: bool| {
        let active = current.column == column;
        let aria = if !active {
            "none"
        } else if current.descending {
            "descending"
        } else {
            "ascending"
        };
        let arrow = match (active, current.descending) {
            (false, _) => "",
            (true, false) => " ▲",
            (true, true) => " ▼",
        };
        let class = if right {
            format!("{TH} text-right")
        } else {
            TH.to_owned()
        };
        view! {
            <th class=class aria-sort=aria>
                <a href=heading_link(column) class="hover:text-indigo-700 hover:underline" data-sort=column.code()>
                    {label}{arrow}
                </a>
            </th>
        }
    };
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="members">
            <thead><tr>
                {heading(SortColumn::ExternalId, t.external_id, false)}
                {heading(SortColumn::DisplayName, t.display_name, false)}
                <th class=TH>{t.email}</th>
                <th class=TH>{t.level}</th>
                {heading(SortColumn::TotalPoints, t.members.total_points, true)}
                <th class=format!("{TH} text-right")>{t.members.available_points}</th>
                {heading(SortColumn::RegisteredAt, t.members.registered_at, true)}
            </tr></thead>
            <tbody class="divide-y divide-slate-100 bg-white">
                {members.into_iter().map(|m| view! {
                    <tr>
                        <td class=format!("{TD} font-mono")>
                            <a class="text-indigo-700 hover:underline" href=format!("/members/{}", m.member_id)>{m.external_id.clone()}</a>
                        </td>
                        <td class=TD>{m.display_name.clone()}</td>
                        <td class=TD>{m.email.clone().unwrap_or_default()}</td>
                        <td class=TD><LevelBadge code=m.level_code.clone() name_zh=m.level_name_zh.clone() name_en=m.level_name_en.clone() /></td>
                        <td class=format!("{TD} text-right tabular-nums")>{m.total_points}</td>
                        <td class=format!("{TD} text-right tabular-nums")>{m.available_points}</td>
                        <td class=format!("{TD} text-right whitespace-nowrap text-xs text-slate-500")>{format_time(&m.registered_at)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

/// A tier's name in the current language.
pub fn tier_label(code: &str, name_zh: &str, name_en: &str) -> String {
    let name = match use_context::<Lang>().unwrap_or(Lang::Zh) {
        Lang::Zh => name_zh,
        Lang::En => name_en,
    };
    if name.is_empty() {
        code.to_owned()
    } else {
        name.to_owned()
    }
}

#[component]
pub fn LevelBadge(
    code: Option<String>,
    name_zh: Option<String>,
    name_en: Option<String>,
) -> impl IntoView {
    let t = use_texts();
    match code {
        Some(code) => {
            let label = tier_label(
                &code,
                name_zh.as_deref().unwrap_or(""),
                name_en.as_deref().unwrap_or(""),
            );
            view! {
                <span class="inline-flex rounded-full bg-indigo-50 px-2 py-0.5 text-xs font-medium text-indigo-700" data-level=code>
                    {label}
                </span>
            }
            .into_any()
        }
        None => view! { <span class="text-xs text-slate-400">{t.no_level}</span> }.into_any(),
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
