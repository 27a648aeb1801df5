use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{
    BUTTON, BUTTON_SMALL, Card, ErrorBox, PageTitle, TABLE, TD, TH, UrlError, allowed, use_ready,
    use_session,
};
use crate::i18n::{Texts, use_texts};
use crate::points::api::{
    PreviewTiers, SaveTiers, get_relevel_progress, list_tiers, preview_tiers,
};
use crate::time::format_time;
use model::access::Role;
use model::points::levels::Preview as TierPreview;
use model::points::levels::TierInput;

/// The level tiers. Tenant admins edit the whole ladder at once (moving a boundary
/// changes two tiers), see a what-if preview computed over every member, then apply.
#[component]
pub fn LevelsPage() -> impl IntoView {
    let t = use_texts();
    let preview = ServerAction::<PreviewTiers>::new();
    let save = ServerAction::<SaveTiers>::new();
    let tiers = crate::components::resource(move || save.version().get(), |_| list_tiers());
    let session = use_session();
    // Without JavaScript the editor is a GET form: Preview and "Add tier" come back here
    // with the edited rows in the query (`?code=…&code=…&preview=1`), and the preview is
    // computed while the page renders.
    let query = use_query_map();
    let proposed = move || query.with(rows_from_query);
    let wants_preview = move || query.with(|q| q.get_str("preview").is_some());
    let plain_preview = crate::components::resource(
        move || wants_preview().then(proposed).flatten(),
        |rows| async move {
            match rows {
                Some(rows) => Some((preview_tiers(rows.clone()).await, rows)),
                None => None,
            }
        },
    );
    view! {
        <PageTitle text=t.points.levels_title />
        <UrlError />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                let editable = allowed(session, Role::TenantAdmin).await;
                let initial = match proposed() {
                    Some(rows) => Ok(rows),
                    None => tiers.await.map(|tiers| tiers.iter().map(TierInput::from).collect()),
                };
                match initial {
                    Ok(initial) => view! { <TierEditor initial editable preview save t /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let (result, rows) = plain_preview.await?;
                Some(match result {
                    Ok(result) => view! { <PlainPreview result rows t /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                })
            })}
        </Transition>
        {move || match save.value().get() {
            Some(Ok(applied)) => view! {
                <div role="status" class="mt-4 rounded-md border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-800" data-testid="applied">
                    {t.points.applied} " " <Moves preview=applied t />
                </div>
            }.into_any(),
            Some(Err(error)) => view! { <ErrorBox error /> }.into_any(),
            None => ().into_any(),
        }}
        <RelevelStatus saves=Signal::derive(move || save.version().get()) t />
    }
}

/// After a save, members' stored levels follow in the background: how far that got.
/// With JavaScript it refreshes every second while running; without, a link reloads.
#[component]
fn RelevelStatus(saves: Signal<usize>, t: &'static Texts) -> impl IntoView {
    let tick = RwSignal::new(0_u32);
    let progress = crate::components::resource(
        move || (saves.get(), tick.get()),
        |_| get_relevel_progress(),
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match progress.await {
                    Ok(p) if p.running => {
                        #[cfg(feature = "hydrate")]
                        set_timeout(
                            move || tick.update(|n| *n += 1),
                            std::time::Duration::from_secs(1),
                        );
                        let percent = if p.members_total > 0 {
                            p.members_done * 100 / p.members_total
                        } else {
                            100
                        };
                        view! {
                            <div role="status" data-testid="relevel" data-state="running"
                                class="mt-4 rounded-md border border-indigo-200 bg-indigo-50 p-3 text-sm text-indigo-900">
                                <p class="font-medium">{t.points.relevel_running}</p>
                                <div class="mt-2 h-2 w-full overflow-hidden rounded bg-indigo-100">
                                    <div class="h-2 bg-indigo-600" style=format!("width: {percent}%")></div>
                                </div>
                                <p class="mt-1 tabular-nums">
                                    {format!("{} / {} ({percent}%)", p.members_done, p.members_total)}
                                    " · " {t.points.relevel_moved} " " {format!("{} / {}", p.moved, p.expected_moves)}
                                    " · " <a class="text-indigo-700 underline" href="/levels">{t.points.refresh}</a>
                                </p>
                            </div>
                        }
                        .into_any()
                    }
                    Ok(p) => match p.finished_at {
                        Some(finished) => view! {
                            <p data-testid="relevel" data-state="done" class="mt-4 text-xs text-slate-500">
                                {t.points.relevel_done} " " {format_time(&finished)} " · " {t.points.relevel_moved} " " {p.moved}
                            </p>
                        }
                        .into_any(),
                        None => ().into_any(),
                    },
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TierEditor(
    initial: Vec<TierInput>,
    editable: bool,
    preview: ServerAction<PreviewTiers>,
    save: ServerAction<SaveTiers>,
    t: &'static Texts,
) -> impl IntoView {
    // Edited as inputs: a new row has no id yet.
    let rows = RwSignal::new(initial);
    // The rows the shown preview was computed for; editing hides a stale preview.
    let previewed = RwSignal::new(None::<Vec<TierInput>>);
    // Applying moves members: a second step names how many before it happens.
    let confirming = RwSignal::new(false);
    let run_preview = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        confirming.set(false);
        previewed.set(Some(rows.get_untracked()));
        preview.dispatch(PreviewTiers {
            tiers: rows.get_untracked(),
        });
    };
    let apply = move |_| {
        confirming.set(false);
        save.dispatch(SaveTiers {
            tiers: rows.get_untracked(),
        });
        previewed.set(None);
    };
    let add_tier = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        rows.update(|rows| rows.push(blank_tier(rows)));
    };
    let count = move || rows.with(Vec::len);
    let ready = use_ready();
    view! {
        <div data-testid="tier-editor" data-ready=move || ready.get().then_some("true")>
        <Card>
            <form method="get" action="/levels">
            <div class="overflow-x-auto">
                <table class=TABLE data-testid="tiers">
                    <thead><tr>
                        <th class=TH>{t.code}</th><th class=TH>{t.name_zh}</th><th class=TH>{t.name_en}</th>
                        <th class=TH>{t.points.order}</th><th class=TH>{t.points.min_points}</th>
                        <th class=TH title=t.points.max_points_hint>{t.points.max_points}</th><th class=TH>{t.active}</th>
                        <th class=TH>{t.points.permissions}</th><th class=TH>{t.max_licenses}</th>
                    </tr></thead>
                    <tbody class="divide-y divide-slate-100">
                        <For each=move || 0..count() key=|index| *index let:index>
                            <TierRow index rows editable />
                        </For>
                    </tbody>
                </table>
            </div>
            <Show when=move || editable>
                <div class="mt-4 flex gap-3">
                    <button type="submit" name="add" value="1" class=BUTTON_SMALL on:click=add_tier>{t.points.add_tier}</button>
                    <button type="submit" name="preview" value="1" class=BUTTON on:click=run_preview disabled=move || preview.pending().get()>
                        {t.points.preview}
                    </button>
                </div>
            </Show>
            </form>
        </Card>
        </div>
        {move || {
            let current = previewed.get()?;
            if current != rows.get() {
                return None;
            }
            let no_active_tier = !current.iter().any(|tier| tier.active);
            Some(match preview.value().get()? {
                Ok(result) => {
                    let moving = result.moved_up + result.moved_down;
                    view! {
                    <Card>
                        <h2 class="mb-2 font-semibold">{t.points.preview_title}</h2>
                        {no_active_tier.then(|| view! {
                            <p role="alert" class="mb-3 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-800" data-testid="no-active-tier">
                                {t.points.no_active_tier}
                            </p>
                        })}
                        <div data-testid="preview">
                            <p class="mb-3 text-sm"><Moves preview=result.clone() t /></p>
                            <PreviewTable preview=result t />
                        </div>
                        <Show
                            when=move || confirming.get()
                            fallback=move || view! {
                                <button type="button" class=format!("{BUTTON} mt-4") on:click=move |_| confirming.set(true) disabled=move || save.pending().get()>
                                    {t.points.apply}
                                </button>
                            }
                        >
                            <div class="mt-4 rounded-md border border-amber-200 bg-amber-50 p-3 text-sm" data-testid="confirm-apply">
                                <p class="mb-2 text-amber-900">
                                    {t.points.apply_effect_before} " " <strong>{moving}</strong> " " {t.points.apply_effect_after}
                                </p>
                                <div class="flex flex-wrap gap-2">
                                    <button type="button" class=BUTTON on:click=apply disabled=move || save.pending().get()>{t.points.confirm_apply}</button>
                                    <button type="button" class=BUTTON_SMALL on:click=move |_| confirming.set(false)>{t.points.cancel}</button>
                                </div>
                            </div>
                        </Show>
                    </Card>
                }.into_any()
                }
                Err(error) => view! { <ErrorBox error /> }.into_any(),
            })
        }}
    }
}

#[component]
fn Moves(preview: TierPreview, t: &'static Texts) -> impl IntoView {
    view! {
        <span data-testid="moves">
            <strong data-testid="moved-up">{preview.moved_up}</strong> " " {t.points.moved_up} " · "
            <strong data-testid="moved-down">{preview.moved_down}</strong> " " {t.points.moved_down} " · "
            <strong data-testid="unchanged">{preview.unchanged}</strong> " " {t.points.unchanged}
        </span>
    }
}

#[component]
fn PreviewTable(preview: TierPreview, t: &'static Texts) -> impl IntoView {
    view! {
        <div class="overflow-x-auto"><table class=TABLE>
            <thead><tr>
                <th class=TH>{t.level}</th>
                <th class=format!("{TH} text-right")>{t.points.members_now}</th>
                <th class=format!("{TH} text-right")>{t.points.members_after}</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100">
                {preview.per_tier.into_iter().map(|c| {
                    let delta = c.after - c.before;
                    let label = if c.code.is_empty() { t.no_level.to_owned() } else { c.code.clone() };
                    view! {
                        <tr data-tier=c.code.clone()>
                            <td class=format!("{TD} font-mono")>{label}</td>
                            <td class=format!("{TD} text-right tabular-nums")>{c.before}</td>
                            <td class=format!("{TD} text-right tabular-nums")>
                                {c.after} {(delta != 0).then(|| format!(" ({delta:+})"))}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
    }
}

/// One editable row. Inputs carry their initial value as an attribute (so the page
/// renders complete on the server) and write edits back into `rows`.
#[component]
fn TierRow(index: usize, rows: RwSignal<Vec<TierInput>>, editable: bool) -> impl IntoView {
    let tier = rows.with_untracked(|rows| rows[index].clone());
    let edit = move |apply: Box<dyn Fn(&mut TierInput) + Send + Sync>| {
        rows.update(|rows| apply(&mut rows[index]))
    };
    let text =
        "w-full min-w-16 rounded border border-slate-300 px-2 py-1 text-sm disabled:bg-slate-50";
    let number = "w-28 rounded border border-slate-300 px-2 py-1 text-right text-sm tabular-nums disabled:bg-slate-50";
    view! {
        <tr data-code=tier.code.clone()>
            <input type="hidden" name="tier_id" value=tier.tier_id.map(|id| id.to_string()).unwrap_or_default() />
            <td class=TD><input class=text aria-label="code" name="code" value=tier.code.clone() disabled=!editable
                on:input=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |t| t.code = v.clone())) } /></td>
            <td class=TD><input class=text aria-label="name_zh" name="name_zh" value=tier.name_zh.clone() disabled=!editable
                on:input=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |t| t.name_zh = v.clone())) } /></td>
            <td class=TD><input class=text aria-label="name_en" name="name_en" value=tier.name_en.clone() disabled=!editable
                on:input=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |t| t.name_en = v.clone())) } /></td>
            <td class=TD><input class=number type="number" aria-label="sort_order" name="sort_order" value=tier.sort_order.to_string() disabled=!editable
                on:input=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(0); edit(Box::new(move |t| t.sort_order = v)) } /></td>
            <td class=TD><input class=number type="number" min="0" aria-label="min_points" name="min_points" value=tier.min_points.to_string() disabled=!editable
                on:input=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(0); edit(Box::new(move |t| t.min_points = v)) } /></td>
            <td class=TD><input class=number type="number" min="0" aria-label="max_points" name="max_points" value=tier.max_points.map(|m| m.to_string()).unwrap_or_default() disabled=!editable
                on:input=move |ev| { let v = event_target_value(&ev).trim().parse().ok(); edit(Box::new(move |t| t.max_points = v)) } /></td>
            <td class=TD><input type="checkbox" aria-label="active" name="active" value=index.to_string() checked=tier.active disabled=!editable
                on:change=move |ev| { let v = event_target_checked(&ev); edit(Box::new(move |t| t.active = v)) } /></td>
            <td class=TD><input class=text aria-label="permissions" name="permissions" value=tier.permissions.join(", ") disabled=!editable
                on:input=move |ev| {
                    let v: Vec<String> = event_target_value(&ev).split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect();
                    edit(Box::new(move |t| t.permissions = v.clone()))
                } /></td>
            <td class=TD><input class=number type="number" min="0" aria-label="max_licenses" name="max_licenses" value=tier.max_licenses.to_string() disabled=!editable
                on:input=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(0); edit(Box::new(move |t| t.max_licenses = v)) } /></td>
        </tr>
    }
}

/// A new row at the end of the ladder: active, ordered after the others.
fn blank_tier(rows: &[TierInput]) -> TierInput {
    TierInput {
        tier_id: None,
        code: String::new(),
        name_zh: String::new(),
        name_en: String::new(),
        sort_order: rows.iter().map(|t| t.sort_order).max().unwrap_or(0) + 1,
        min_points: 0,
        max_points: None,
        active: true,
        permissions: Vec::new(),
        max_licenses: 0,
    }
}

/// The most rows the editor's query is read for (a ladder has a handful).
const QUERY_ROWS_MAX: usize = 50;

/// The rows of an edited ladder as the editor's GET form sends them: one value of each
/// field per row, in order (`code=…&code=…`), `active` as the indexes of the checked
/// rows, plus a blank row for "Add tier". `None` when the query has no rows (the stored
/// ladder is shown). Numbers that do not parse are read as 0 (the browser's number
/// inputs send digits only); what they mean is checked by the preview and the save.
fn rows_from_query(query: &leptos_router::params::ParamsMap) -> Option<Vec<TierInput>> {
    let all = |name: &str| query.get_all(name).unwrap_or_default();
    let codes = all("code");
    if codes.is_empty() {
        return None;
    }
    let column = |name: &str| {
        let mut values = all(name);
        values.resize(codes.len(), String::new());
        values
    };
    let (ids, zh, en, orders) = (
        column("tier_id"),
        column("name_zh"),
        column("name_en"),
        column("sort_order"),
    );
    let (mins, maxes, permissions, licenses) = (
        column("min_points"),
        column("max_points"),
        column("permissions"),
        column("max_licenses"),
    );
    let active = all("active");
    let mut rows: Vec<TierInput> = codes
        .iter()
        .enumerate()
        .take(QUERY_ROWS_MAX)
        .map(|(i, code)| TierInput {
            tier_id: ids[i].parse().ok(),
            code: code.clone(),
            name_zh: zh[i].clone(),
            name_en: en[i].clone(),
            sort_order: orders[i].trim().parse().unwrap_or(0),
            min_points: mins[i].trim().parse().unwrap_or(0),
            max_points: maxes[i].trim().parse().ok(),
            active: active.iter().any(|a| a.trim() == i.to_string()),
            permissions: permissions[i]
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            max_licenses: licenses[i].trim().parse().unwrap_or(0),
        })
        .collect();
    if query.get_str("add").is_some() && rows.len() < QUERY_ROWS_MAX {
        rows.push(blank_tier(&rows));
    }
    Some(rows)
}

/// The preview computed while the page rendered (the editor's form without
/// JavaScript), with the second step: a plain form that applies exactly these rows.
#[component]
fn PlainPreview(result: TierPreview, rows: Vec<TierInput>, t: &'static Texts) -> impl IntoView {
    let moving = result.moved_up + result.moved_down;
    let no_active_tier = !rows.iter().any(|tier| tier.active);
    let rows_json = serde_json::to_string(&rows).unwrap_or_default();
    view! {
        <Card>
            <h2 class="mb-2 font-semibold">{t.points.preview_title}</h2>
            {no_active_tier.then(|| view! {
                <p role="alert" class="mb-3 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-800" data-testid="no-active-tier">
                    {t.points.no_active_tier}
                </p>
            })}
            <div data-testid="preview">
                <p class="mb-3 text-sm"><Moves preview=result.clone() t /></p>
                <PreviewTable preview=result t />
            </div>
            <form method="post" action="/api/apply_tiers" class="mt-4 rounded-md border border-amber-200 bg-amber-50 p-3 text-sm" data-testid="confirm-apply">
                <input type="hidden" name="tiers" value=rows_json />
                <p class="mb-2 text-amber-900">
                    {t.points.apply_effect_before} " " <strong>{moving}</strong> " " {t.points.apply_effect_after}
                </p>
                <div class="flex flex-wrap gap-2">
                    <button type="submit" class=BUTTON>{t.points.confirm_apply}</button>
                    <a href="/levels" class=BUTTON_SMALL>{t.points.cancel}</a>
                </div>
            </form>
        </Card>
    }
}
