//! The rollout dashboard, drawn on the server from one `Dashboard` (so it shows without
//! JavaScript) and redrawn by the page's poll: members per model over time, the
//! compatibility score per decision with the gate line, decisions per second, p50/p99
//! latency of both models, mismatch kinds; the scores per decision and stage with their
//! sample and confidence bound beside the dry run's prediction; the mismatches with
//! examples; the accepted differences; the stage and event timelines.

use leptos::prelude::*;

use super::charts::{Hue, Line, TimeChart, Unit, Words};
use super::i18n::{RolloutTexts, use_rollout_texts};
use super::page::{SECTION, count};
use crate::components::{TABLE, TD, TH};
use crate::error::decision_name;
use crate::time::format_time;
use chrono::{DateTime, Utc};
use model::rollout::cohort::Stratum;
use model::rollout::plan::{Dashboard as Data, DecisionKind, Minute, Mode};
use model::rollout::score::Score;

const RIGHT: &str = "px-3 py-2 text-right align-top tabular-nums";

/// `10:30` in the reader's zone (the time part of `format_time`).
fn clock(at: &DateTime<Utc>) -> String {
    let text = format_time(at);
    text.split(' ').nth(1).unwrap_or_default().to_owned()
}

/// Score in hundredths of a percent, `None` without a sample (integers only, so both
/// renders agree).
fn score_cp(agreed: i64, sample: i64) -> Option<i64> {
    (sample > 0).then(|| agreed.clamp(0, sample) * 10_000 / sample)
}

/// `97.53 %` or `—`.
fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.2} %"))
}

/// The charts' minutes in order, each with its decisions.
fn by_minute(minutes: &[Minute]) -> Vec<(DateTime<Utc>, Vec<&Minute>)> {
    let mut out: Vec<(DateTime<Utc>, Vec<&Minute>)> = Vec::new();
    for m in minutes {
        match out.last_mut() {
            Some((at, list)) if *at == m.minute => list.push(m),
            _ => out.push((m.minute, vec![m])),
        }
    }
    out
}

#[component]
pub fn Dashboard(dashboard: Data) -> impl IntoView {
    let t = use_rollout_texts();
    view! {
        <section id="charts" class=SECTION data-testid="rollout-charts">
            <h2 class="mb-3 font-semibold">{t.charts_title}</h2>
            <div class="grid min-w-0 gap-6 lg:grid-cols-2">
                {shares_chart(&dashboard, t)}
                {score_chart(&dashboard, t)}
                {rate_chart(&dashboard, t)}
                {latency_chart(&dashboard, t)}
                {mismatch_chart(&dashboard, t)}
            </div>
        </section>
        <Scores dashboard=dashboard.clone() />
        <Mismatches dashboard=dashboard.clone() />
        <Stages dashboard=dashboard.clone() />
        <Events dashboard />
    }
}

fn words(t: &'static RolloutTexts, label_heading: &'static str) -> Words {
    Words {
        show_numbers: t.show_numbers,
        label_heading,
        reference: t.gate,
    }
}

/// (a) Members per model: legacy, the cohort, its migrated members, and per decision
/// the members it answers with the new model.
fn shares_chart(d: &Data, t: &'static RolloutTexts) -> impl IntoView + use<> {
    let shared = crate::i18n::use_texts();
    let labels = d.shares.iter().map(|s| clock(&s.at)).collect();
    let mut lines = vec![
        Line {
            name: t.on_legacy.to_owned(),
            values: d
                .shares
                .iter()
                .map(|s| Some((s.legacy_members - s.migrated).max(0)))
                .collect(),
            hue: Hue::Slate,
        },
        Line {
            name: t.cohort.to_owned(),
            values: d.shares.iter().map(|s| Some(s.cohort)).collect(),
            hue: Hue::Amber,
        },
        Line {
            name: t.migrated.to_owned(),
            values: d.shares.iter().map(|s| Some(s.migrated)).collect(),
            hue: Hue::Indigo,
        },
    ];
    for (decision, hue) in DecisionKind::ALL
        .into_iter()
        .zip([Hue::Emerald, Hue::Rose, Hue::Sky])
    {
        lines.push(Line {
            name: format!("{} · {}", t.live_for, decision_name(decision, shared)),
            values: d
                .shares
                .iter()
                .map(|s| {
                    Some(if s.modes[decision.index()] == Mode::Live {
                        s.migrated
                    } else {
                        0
                    })
                })
                .collect(),
            hue,
        });
    }
    view! {
        <TimeChart id="chart-shares" title=t.chart_shares.to_owned() labels lines unit=Unit::Count words=words(t, t.time) />
    }
}

/// (b) The compatibility score per decision and minute, with the gate.
fn score_chart(d: &Data, t: &'static RolloutTexts) -> impl IntoView + use<> {
    let shared = crate::i18n::use_texts();
    let minutes = by_minute(&d.minutes);
    let labels = minutes.iter().map(|(at, _)| clock(at)).collect();
    let lines = DecisionKind::ALL
        .into_iter()
        .zip([Hue::Indigo, Hue::Amber, Hue::Emerald])
        .map(|(decision, hue)| Line {
            name: decision_name(decision, shared).to_owned(),
            values: minutes
                .iter()
                .map(|(_, list)| {
                    list.iter().find(|m| m.decision == decision).and_then(|m| {
                        score_cp(m.agreed, (m.compared - m.accepted - m.errors).max(0))
                    })
                })
                .collect(),
            hue,
        })
        .collect();
    let gate = (d.rollout.gate_score * 100.0).round() as i64;
    view! {
        <TimeChart id="chart-score" title=t.chart_score.to_owned() labels lines unit=Unit::Percent
            words=words(t, t.minute) reference=gate />
    }
}

/// (c) Decisions per second, routed to each model.
fn rate_chart(d: &Data, t: &'static RolloutTexts) -> impl IntoView + use<> {
    let minutes = by_minute(&d.minutes);
    let labels = minutes.iter().map(|(at, _)| clock(at)).collect();
    let per_second = |pick: fn(&Minute) -> i64| {
        minutes
            .iter()
            .map(|(_, list)| Some(list.iter().map(|m| pick(m)).sum::<i64>() * 100 / 60))
            .collect()
    };
    let lines = vec![
        Line {
            name: t.routed_legacy.to_owned(),
            values: per_second(|m| m.routed_legacy),
            hue: Hue::Slate,
        },
        Line {
            name: t.routed_new.to_owned(),
            values: per_second(|m| m.routed_new),
            hue: Hue::Indigo,
        },
    ];
    view! {
        <TimeChart id="chart-rate" title=t.chart_rate.to_owned() labels lines unit=Unit::Hundredths words=words(t, t.minute) />
    }
}

/// (d) p50 and p99 latency of both models (the slowest decision of each minute).
fn latency_chart(d: &Data, t: &'static RolloutTexts) -> impl IntoView + use<> {
    let minutes = by_minute(&d.minutes);
    let labels = minutes.iter().map(|(at, _)| clock(at)).collect();
    let worst = |pick: fn(&Minute) -> Option<i64>| {
        minutes
            .iter()
            .map(|(_, list)| list.iter().filter_map(|m| pick(m)).max())
            .collect()
    };
    let lines = vec![
        Line {
            name: t.legacy_p50.to_owned(),
            values: worst(|m| m.legacy_p50_us),
            hue: Hue::Slate,
        },
        Line {
            name: t.legacy_p99.to_owned(),
            values: worst(|m| m.legacy_p99_us),
            hue: Hue::Amber,
        },
        Line {
            name: t.new_p50.to_owned(),
            values: worst(|m| m.new_p50_us),
            hue: Hue::Sky,
        },
        Line {
            name: t.new_p99.to_owned(),
            values: worst(|m| m.new_p99_us),
            hue: Hue::Indigo,
        },
    ];
    view! {
        <TimeChart id="chart-latency" title=t.chart_latency.to_owned() labels lines unit=Unit::Micros words=words(t, t.minute) />
    }
}

/// (e) Mismatches per kind at the current stage.
fn mismatch_chart(d: &Data, t: &'static RolloutTexts) -> impl IntoView + use<> {
    let mut bars: Vec<(String, i64)> = Vec::new();
    for m in &d.mismatches {
        let label = t.kind(&m.kind).to_owned();
        match bars.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += m.count,
            None => bars.push((label, m.count)),
        }
    }
    view! {
        <div class="min-w-0">
            <p class="mb-1 text-sm font-medium text-slate-700">{t.chart_mismatches}</p>
            {if bars.is_empty() {
                view! { <p class="text-sm text-slate-500" data-testid="chart-mismatches">{t.no_mismatches}</p> }.into_any()
            } else {
                view! {
                    <crate::charts::BarChart id="chart-mismatches" title=t.chart_mismatches.to_owned() bars
                        value_heading=t.count words=crate::charts::TableWords { show_numbers: t.show_numbers, label_heading: t.kind_heading }
                        color=crate::charts::Color::Amber />
                }.into_any()
            }}
        </div>
    }
}

/// The scores per decision and stage, and the dry run's prediction beside the observed
/// permission score.
#[component]
fn Scores(dashboard: Data) -> impl IntoView {
    let t = use_rollout_texts();
    let shared = crate::i18n::use_texts();
    let observed = dashboard
        .scores
        .iter()
        .find(|s| {
            s.decision == DecisionKind::Permission && s.stage_no == dashboard.rollout.stage_no
        })
        .and_then(|s| s.score);
    let rows = dashboard
        .scores
        .iter()
        .map(|s: &Score| {
            let passes = s.score.is_some_and(|v| v >= dashboard.rollout.gate_score)
                && s.sample() >= i64::from(dashboard.rollout.min_sample);
            view! {
                <tr data-decision=s.decision.as_str() data-stage=s.stage_no.to_string() data-passes=passes.to_string()>
                    <td class=TD>{decision_name(s.decision, shared)}</td>
                    <td class=RIGHT>{s.stage_no}</td>
                    <td class=RIGHT><strong class=if passes { "text-emerald-700" } else { "text-slate-900" }>{percent(s.score)}</strong></td>
                    <td class=RIGHT>{count(s.sample())}</td>
                    <td class=RIGHT>{percent(s.lower)}</td>
                    <td class=RIGHT>{count(s.accepted)}</td>
                    <td class=RIGHT>{count(s.errors)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section id="scores" class=SECTION data-testid="scores">
            <h2 class="mb-1 font-semibold">{t.scores_title}</h2>
            <p class="mb-3 text-sm text-slate-600">
                {t.scores_hint} " " {t.gate} " " {format!("{:.2} %", dashboard.rollout.gate_score)} " · "
                {t.min_sample} " " {count(i64::from(dashboard.rollout.min_sample))}
            </p>
            <p class="mb-3 text-sm" data-testid="predicted">
                {t.predicted} " " <strong>{percent(dashboard.predicted)}</strong> " · " {t.observed} " " <strong>{percent(observed)}</strong>
            </p>
            {if dashboard.scores.is_empty() {
                view! { <p class="text-sm text-slate-500">{t.no_scores}</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto"><table class=TABLE>
                        <thead><tr>
                            <th class=TH>{t.decision}</th><th class=format!("{TH} text-right")>{t.stage}</th>
                            <th class=format!("{TH} text-right")>{t.score}</th><th class=format!("{TH} text-right")>{t.sample}</th>
                            <th class=format!("{TH} text-right")>{t.lower_bound}</th><th class=format!("{TH} text-right")>{t.accepted}</th>
                            <th class=format!("{TH} text-right")>{t.errors}</th>
                        </tr></thead>
                        <tbody class="divide-y divide-slate-100">{rows}</tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

/// Mismatches by kind with counts and examples (links to the members), accepted ones
/// marked; and the accepted differences.
#[component]
fn Mismatches(dashboard: Data) -> impl IntoView {
    let t = use_rollout_texts();
    let shared = crate::i18n::use_texts();
    let active = dashboard.rollout.status.is_active();
    let rows = dashboard
        .mismatches
        .iter()
        .map(|m| {
            let examples = m
                .examples
                .iter()
                .map(|id| view! {
                    <a class="mr-2 font-mono text-xs text-indigo-700 hover:underline" href=format!("/members?q={}", query_value(id))>{id.clone()}</a>
                })
                .collect_view();
            // A lower quota in the new model is never accepted.
            let acceptable = active && m.accepted.is_none() && m.kind != "quota_lower";
            let accept_link = format!(
                "/rollout?accept_decision={}&accept_kind={}&accept_detail={}#accept",
                m.decision.as_str(),
                query_value(&m.kind),
                query_value(m.detail.as_deref().unwrap_or_default())
            );
            view! {
                <tr data-kind=m.kind.clone() data-decision=m.decision.as_str() data-accepted=m.accepted.is_some().to_string()>
                    <td class=TD>{decision_name(m.decision, shared)}</td>
                    <td class=TD>{t.kind(&m.kind).to_owned()}</td>
                    <td class=format!("{TD} font-mono text-xs break-all")>{m.detail.clone().unwrap_or_else(|| "—".into())}</td>
                    <td class=RIGHT>{count(m.count)}</td>
                    <td class=TD>{examples}</td>
                    <td class=TD>
                        {if m.accepted.is_some() {
                            view! { <span class="rounded-full bg-slate-100 px-2 py-0.5 text-xs text-slate-700">{t.accepted_badge}</span> }.into_any()
                        } else if acceptable {
                            view! {
                                <super::page::ForAdmins>
                                    <a class="text-xs text-indigo-700 underline" href=accept_link.clone() data-testid="accept-link">{t.accept_link}</a>
                                </super::page::ForAdmins>
                            }.into_any()
                        } else {
                            ().into_any()
                        }}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let accepted = dashboard
        .accepted
        .iter()
        .map(|a| view! {
            <tr>
                <td class=TD>{decision_name(a.decision, shared)}</td>
                <td class=TD>{t.kind(&a.kind).to_owned()}</td>
                <td class=format!("{TD} font-mono text-xs break-all")>{a.detail.clone().unwrap_or_else(|| "—".into())}</td>
                <td class=TD>{a.owner.clone()}</td>
                <td class=TD>{a.reason.clone()}</td>
                <td class=TD>{format_time(&a.expires_at)}</td>
                <td class=TD>{a.created_by.clone().unwrap_or_default()}</td>
            </tr>
        })
        .collect_view();
    view! {
        <section id="mismatches" class=SECTION data-testid="mismatches">
            <h2 class="mb-1 font-semibold">{t.mismatches_title}</h2>
            <p class="mb-3 text-sm text-slate-600">{t.mismatches_hint}</p>
            {if dashboard.mismatches.is_empty() {
                view! { <p class="text-sm text-slate-500">{t.no_mismatches}</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto"><table class=TABLE data-testid="mismatch-table">
                        <thead><tr>
                            <th class=TH>{t.decision}</th><th class=TH>{t.kind_heading}</th><th class=TH>{t.detail}</th>
                            <th class=format!("{TH} text-right")>{t.count}</th><th class=TH>{t.examples}</th><th class=TH></th>
                        </tr></thead>
                        <tbody class="divide-y divide-slate-100">{rows}</tbody>
                    </table></div>
                }.into_any()
            }}
            <h3 class="mb-2 mt-5 font-medium">{t.accepted_title}</h3>
            {if dashboard.accepted.is_empty() {
                view! { <p class="text-sm text-slate-500">{t.no_accepted}</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto"><table class=TABLE data-testid="accepted-table">
                        <thead><tr>
                            <th class=TH>{t.decision}</th><th class=TH>{t.kind_heading}</th><th class=TH>{t.detail}</th>
                            <th class=TH>{t.owner}</th><th class=TH>{t.accept_reason}</th><th class=TH>{t.expires_on}</th><th class=TH>{t.by}</th>
                        </tr></thead>
                        <tbody class="divide-y divide-slate-100">{accepted}</tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

/// Percent-encodes a query value.
fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The stages: share, hold, approver, when and by whom entered, the realised mix.
#[component]
fn Stages(dashboard: Data) -> impl IntoView {
    let t = use_rollout_texts();
    let current = dashboard.rollout.stage_no;
    let rows = dashboard
        .rollout
        .stages
        .iter()
        .map(|s| {
            let mix = s.mix.as_ref().map(|mix| {
                let total: i64 = mix.iter().sum();
                Stratum::ALL
                    .into_iter()
                    .zip(mix.iter())
                    .map(|(stratum, n)| {
                        let share = if total > 0 { n * 100 / total } else { 0 };
                        format!("{} {} ({share}%)", t.stratum(stratum), count(*n))
                    })
                    .collect::<Vec<_>>()
                    .join(" · ")
            });
            let state = if s.stage_no == current {
                "current"
            } else if s.stage_no < current {
                "done"
            } else {
                "next"
            };
            view! {
                <li class=if state == "current" { "rounded-md border border-indigo-300 bg-indigo-50 p-2" } else { "rounded-md border border-slate-200 p-2" }
                    data-stage=s.stage_no.to_string() data-state=state>
                    <p class="font-medium">
                        {t.stage} " " {s.stage_no} " · " {s.percent} " %"
                        {(state == "current").then(|| view! { <span class="ml-2 text-xs text-indigo-700">{t.current}</span> })}
                    </p>
                    <p class="text-xs text-slate-600">
                        {t.hold_minutes} " " {s.hold_minutes} " · " {t.approver} " " {s.approver_name.clone().unwrap_or_else(|| t.any_admin.to_owned())}
                    </p>
                    {s.entered_at.map(|at| view! {
                        <p class="text-xs text-slate-600">{t.entered} " " {format_time(&at)} " " {s.entered_by.clone().unwrap_or_default()}</p>
                    })}
                    {mix.map(|mix| view! { <p class="text-xs text-slate-600" data-testid="stage-mix">{t.realised_mix} " " {mix}</p> })}
                </li>
            }
        })
        .collect_view();
    view! {
        <section id="stages" class=SECTION data-testid="stages">
            <h2 class="mb-3 font-semibold">{t.stages_title}</h2>
            <ol class="grid gap-2 text-sm sm:grid-cols-2 lg:grid-cols-4">{rows}</ol>
        </section>
    }
}

/// Every move with who, when, why and the scores it was taken on.
#[component]
fn Events(dashboard: Data) -> impl IntoView {
    let t = use_rollout_texts();
    let shared = crate::i18n::use_texts();
    let items = dashboard
        .events
        .iter()
        .map(|e| {
            let stages = match (e.from_stage, e.to_stage) {
                (Some(from), Some(to)) if from != to => format!(" · {} {from} → {to}", t.stage),
                _ => String::new(),
            };
            let scores = e
                .scores
                .iter()
                .filter(|s| s.score.is_some())
                .map(|s| format!("{} {} ({})", decision_name(s.decision, shared), percent(s.score), count(s.sample())))
                .collect::<Vec<_>>()
                .join(" · ");
            view! {
                <li class="border-l-2 border-slate-200 pl-3" data-action=e.action.clone()>
                    <p><span class="text-slate-500">{format_time(&e.at)}</span> " · " <strong>{t.action(&e.action).to_owned()}</strong> {stages}
                        " · " {e.actor.clone().unwrap_or_else(|| t.system.to_owned())}</p>
                    {e.reason.clone().map(|reason| view! { <p class="text-xs text-slate-700">{t.reason} " " {reason}</p> })}
                    {(!scores.is_empty()).then(|| view! { <p class="text-xs text-slate-500">{t.scores_then} " " {scores}</p> })}
                </li>
            }
        })
        .collect_view();
    view! {
        <section id="events" class=SECTION data-testid="events">
            <h2 class="mb-3 font-semibold">{t.events_title}</h2>
            <ol class="max-h-96 space-y-2 overflow-auto text-sm">{items}</ol>
        </section>
    }
}
