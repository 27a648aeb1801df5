//! The overview page: the tenant, its figures, points over 30 or 90 days, the level
//! distribution and recent activity. The range is the `days` query parameter, chosen by
//! links, so the page works without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::access::api::{current_tenant, get_session_info};
use crate::charts::scale::{format_change, format_count};
use crate::charts::{BarChart, Color, LineChart, Series, TableWords};
use crate::components::{Card, ErrorBox, PageTitle};
use crate::i18n::{Texts, use_texts};
use crate::members::list::tier_label;
use crate::overview::api::tenant_overview;
use crate::time::format_time;
use model::overview::{Activity, LevelCount, Overview, RANGE_DAYS};
use model::points::ledger::EntryKind;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let t = use_texts();
    let query = use_query_map();
    let days = move || {
        query
            .read()
            .get("days")
            .and_then(|days| days.parse::<u32>().ok())
            .filter(|days| RANGE_DAYS.contains(days))
            .unwrap_or(RANGE_DAYS[0])
    };
    let data = crate::components::resource(days, |days| async move {
        Ok((
            current_tenant().await?,
            get_session_info().await?,
            tenant_overview(days).await?,
        ))
    });
    view! {
        <PageTitle text=t.overview.title />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((tenant, info, figures)) => {
                        let role = info.as_ref().and_then(|i| i.active.as_ref()).map(|a| crate::access::role_label(a.role, t));
                        let platform = info.as_ref().is_some_and(|i| i.is_platform_admin);
                        view! {
                            <Card>
                                <h2 class="mb-3 text-xl font-semibold" data-testid="tenant-name">{tenant.name.clone()}</h2>
                                <dl class="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 text-sm">
                                    <dt class="text-slate-500">{t.overview.tenant_code}</dt>
                                    <dd class="font-mono">{tenant.slug.clone()}</dd>
                                    <dt class="text-slate-500">{t.created_at}</dt>
                                    <dd>{format_time(&tenant.created_at)}</dd>
                                    <dt class="text-slate-500">{t.overview.your_role}</dt>
                                    <dd data-testid="role">{role}{platform.then(|| format!(" · {}", t.overview.platform_admin))}</dd>
                                </dl>
                            </Card>
                            <Figures figures=figures.clone() />
                            <PointsCard figures=figures.clone() />
                            <LevelsCard levels=figures.levels.clone() />
                            <RecentCard recent=figures.recent />
                        }
                        .into_any()
                    }
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The headline numbers, four to a row on wide screens, two on phones.
#[component]
fn Figures(figures: Overview) -> impl IntoView {
    let t = use_texts();
    view! {
        <section class="mb-6 grid grid-cols-2 gap-3 lg:grid-cols-4" data-testid="figures">
            <Figure
                label=t.overview.members
                value=figures.members_total
                testid="members-total"
                note=format!("+{} {}", format_count(figures.members_new_7d), t.overview.new_this_week)
            />
            <Figure
                label=t.overview.outstanding
                value=figures.outstanding
                testid="points-outstanding"
                note=t.overview.outstanding_hint.to_owned()
            />
            <Figure
                label=t.overview.tags_held
                value=figures.tags_held
                testid="tags-held"
                note=format!("{} {}", format_count(figures.expiring_7d), t.overview.expiring_7d)
                href="/expiring"
            />
            <Figure
                label=t.overview.pending_approvals
                value=figures.pending_approvals
                testid="pending-approvals"
                note=t.overview.review.to_owned()
                href="/approvals"
            />
        </section>
    }
}

#[component]
fn Figure(
    label: &'static str,
    value: i64,
    testid: &'static str,
    note: String,
    #[prop(optional)] href: Option<&'static str>,
) -> impl IntoView {
    let note = match href {
        Some(href) => {
            view! { <a class="text-indigo-700 hover:underline" href=href>{note}</a> }.into_any()
        }
        None => note.into_any(),
    };
    view! {
        <div class="rounded-lg border border-slate-200 bg-white p-3 shadow-sm sm:p-4">
            <p class="text-xs text-slate-500 sm:text-sm">{label}</p>
            <p class="mt-1 text-xl font-semibold tabular-nums sm:text-2xl" data-testid=testid>{format_count(value)}</p>
            <p class="mt-1 text-xs text-slate-500">{note}</p>
        </div>
    }
}

/// Points issued and spent per day over the chosen range, with the range's totals.
#[component]
fn PointsCard(figures: Overview) -> impl IntoView {
    let t = use_texts();
    let labels: Vec<String> = figures
        .points
        .iter()
        .map(|day| day.day.format("%m-%d").to_string())
        .collect();
    let series = vec![
        Series {
            name: t.overview.issued.to_owned(),
            values: figures.points.iter().map(|day| day.issued).collect(),
            color: Color::Indigo,
        },
        Series {
            name: t.overview.spent.to_owned(),
            values: figures.points.iter().map(|day| day.spent).collect(),
            color: Color::Amber,
        },
        Series {
            name: t.overview.deducted.to_owned(),
            values: figures.points.iter().map(|day| day.deducted).collect(),
            color: Color::Slate,
        },
    ];
    let title = if figures.days == RANGE_DAYS[1] {
        t.overview.chart_points_90
    } else {
        t.overview.chart_points_30
    };
    let words = TableWords {
        show_numbers: t.overview.show_numbers,
        label_heading: t.overview.day,
    };
    view! {
        <Card>
            <div class="mb-3 flex flex-wrap items-center justify-between gap-2">
                <h2 class="text-lg font-semibold">{t.overview.points_title}</h2>
                <RangeLinks days=figures.days />
            </div>
            <dl class="mb-3 grid grid-cols-3 gap-2 text-sm" data-testid="points-totals">
                <Total label=t.overview.issued value=figures.issued_in_range() />
                <Total label=t.overview.spent value=figures.spent_in_range() />
                <Total label=t.overview.deducted value=figures.deducted_in_range() />
            </dl>
            <LineChart id="points-chart" title=title.to_owned() labels series words />
        </Card>
    }
}

#[component]
fn Total(label: &'static str, value: i64) -> impl IntoView {
    view! {
        <div>
            <dt class="text-slate-500">{label}</dt>
            <dd class="font-semibold tabular-nums">{format_count(value)}</dd>
        </div>
    }
}

/// The range choice as links (`?days=30`, `?days=90`): no JavaScript needed.
#[component]
fn RangeLinks(days: u32) -> impl IntoView {
    let t = use_texts();
    let links = RANGE_DAYS
        .iter()
        .map(|range| {
            let label = if *range == RANGE_DAYS[1] {
                t.overview.last_90_days
            } else {
                t.overview.last_30_days
            };
            let current = *range == days;
            let class = if current {
                "rounded-md bg-indigo-600 px-3 py-1 text-white"
            } else {
                "rounded-md px-3 py-1 text-indigo-700 hover:bg-indigo-50"
            };
            view! {
                <a href=format!("/?days={range}") class=class aria-current=current.then_some("page")>
                    {label}
                </a>
            }
        })
        .collect_view();
    view! {
        <nav aria-label=t.overview.range_label class="flex gap-1 text-sm">
            {links}
        </nav>
    }
}

/// Members per level (bar chart) and the table with each level's 30-day change.
#[component]
fn LevelsCard(levels: Vec<LevelCount>) -> impl IntoView {
    let t = use_texts();
    let name = move |level: &LevelCount| {
        if level.tier_id.is_none() {
            t.overview.no_level.to_owned()
        } else {
            tier_label(&level.code, &level.name_zh, &level.name_en)
        }
    };
    let bars: Vec<(String, i64)> = levels
        .iter()
        .map(|level| (name(level), level.members))
        .collect();
    let rows = levels
        .iter()
        .map(|level| {
            view! {
                <tr class="border-t border-slate-100">
                    <th scope="row" class="px-2 py-1 text-left font-normal">{name(level)}</th>
                    <td class="px-2 py-1 text-right tabular-nums">{format_count(level.members)}</td>
                    <td class="px-2 py-1 text-right tabular-nums">{format_change(level.change_30d)}</td>
                </tr>
            }
        })
        .collect_view();
    let words = TableWords {
        show_numbers: t.overview.show_numbers,
        label_heading: t.overview.level,
    };
    view! {
        <Card>
            <h2 class="mb-3 text-lg font-semibold">{t.overview.levels_title}</h2>
            <div class="grid gap-4 lg:grid-cols-2">
                <BarChart
                    id="levels-chart"
                    title=t.overview.chart_levels.to_owned()
                    bars
                    value_heading=t.overview.members_column
                    words
                />
                <div class="overflow-x-auto">
                    <table class="min-w-full text-sm" data-testid="levels-table">
                        <thead class="text-slate-500">
                            <tr>
                                <th scope="col" class="px-2 py-1 text-left">{t.overview.level}</th>
                                <th scope="col" class="px-2 py-1 text-right">{t.overview.members_column}</th>
                                <th scope="col" class="px-2 py-1 text-right">{t.overview.change_30d}</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                    <p class="mt-2 text-xs text-slate-500">{t.overview.change_hint}</p>
                </div>
            </div>
        </Card>
    }
}

/// The newest ledger entries.
#[component]
fn RecentCard(recent: Vec<Activity>) -> impl IntoView {
    let t = use_texts();
    let body = if recent.is_empty() {
        view! { <p class="text-sm text-slate-500">{t.overview.no_activity}</p> }.into_any()
    } else {
        let rows = recent
            .into_iter()
            .map(|entry| {
                view! {
                    <tr class="border-t border-slate-100">
                        <td class="whitespace-nowrap px-2 py-1 text-slate-500">{format_time(&entry.created_at)}</td>
                        <td class="px-2 py-1">
                            <a class="text-indigo-700 hover:underline" href=format!("/members/{}", entry.member_id)>
                                {entry.display_name.clone()}
                            </a>
                        </td>
                        <td class="px-2 py-1">{kind_label(entry.kind, t)}</td>
                        <td class="px-2 py-1 text-right tabular-nums">{format_change(entry.points)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="overflow-x-auto">
                <table class="min-w-full text-sm" data-testid="recent-activity">
                    <thead class="text-slate-500">
                        <tr>
                            <th scope="col" class="px-2 py-1 text-left">{t.when}</th>
                            <th scope="col" class="px-2 py-1 text-left">{t.overview.member}</th>
                            <th scope="col" class="px-2 py-1 text-left">{t.overview.entry}</th>
                            <th scope="col" class="px-2 py-1 text-right">{t.overview.points}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <Card>
            <h2 class="mb-3 text-lg font-semibold">{t.overview.recent_title}</h2>
            {body}
        </Card>
    }
}

fn kind_label(kind: EntryKind, t: &'static Texts) -> &'static str {
    match kind {
        EntryKind::Earn => t.overview.kind_earn,
        EntryKind::Spend => t.overview.kind_spend,
        EntryKind::Adjust => t.overview.kind_adjust,
        EntryKind::Expire => t.overview.kind_expire,
        EntryKind::Migration => t.overview.kind_migration,
        EntryKind::Reversal => t.overview.kind_reversal,
    }
}
