//! The member page's rollout panel: "why is this member in or out?" — the member's
//! bucket under the rollout's group id, their stratum, the stage they joined at, the
//! current stage's bucket limit for their stratum, and which model answers each
//! decision right now. Every role sees it. Its texts are the panel's own few
//! (`PanelTexts`), so the member chunk does not carry the console's catalogue.

use leptos::prelude::*;

use super::api::member_rollout;
use super::i18n::use_panel_texts;
use crate::components::{Card, ErrorBox};
use crate::error::decision_name;
use model::rollout::plan::{DecisionKind, MemberRoute};

#[component]
pub fn MemberRolloutPanel(external_id: String) -> impl IntoView {
    let p = use_panel_texts();
    let route = crate::components::resource(move || external_id.clone(), member_rollout);
    view! {
        <Card>
            <section data-testid="member-rollout" aria-labelledby="member-rollout-title">
                <h2 id="member-rollout-title" class="mb-1 font-semibold">{p.panel_title}</h2>
                <p class="mb-3 text-sm text-slate-600">{p.panel_hint}</p>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match route.await {
                            Ok(route) => view! { <Why route /> }.into_any(),
                            Err(error) => view! { <ErrorBox error /> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </Card>
    }
}

#[component]
fn Why(route: MemberRoute) -> impl IntoView {
    let p = use_panel_texts();
    let shared = crate::i18n::use_texts();
    let models = DecisionKind::ALL
        .into_iter()
        .map(|d| {
            let model = route.models[d.index()];
            let mode = route.rollout.as_ref().map(|r| r.modes[d.index()]);
            view! {
                <li data-decision=d.as_str() data-model=model.as_str()>
                    {decision_name(d, shared)} ": " <strong>{p.model(model)}</strong>
                    {mode.map(|mode| view! { <span class="text-slate-500">" (" {p.mode} " " {p.mode(mode)} ")"</span> })}
                </li>
            }
        })
        .collect_view();
    let placement = match &route.rollout {
        None => view! { <p class="text-sm" data-testid="member-rollout-none">{p.no_rollout}</p> }
            .into_any(),
        Some(r) => {
            let stratum = r.stratum.map_or(p.no_stratum, |stratum| p.stratum(stratum));
            let cohort = match r.joined_stage {
                Some(stage) => format!("{} {stage}", p.in_cohort),
                None => p.out_cohort.to_owned(),
            };
            view! {
                <dl class="grid grid-cols-[auto,1fr] gap-x-3 gap-y-1 text-sm" data-testid="member-rollout-placement"
                    data-bucket=r.bucket.to_string() data-in=r.joined_stage.is_some().to_string()>
                    <dt class="text-slate-500">{p.bucket}</dt>
                    <dd><strong>{r.bucket}</strong> " · " {p.group_id} " " <code class="break-all text-xs">{r.group_id.clone()}</code></dd>
                    <dt class="text-slate-500">{p.stratum}</dt>
                    <dd>{stratum}</dd>
                    <dt class="text-slate-500">{p.stage}</dt>
                    <dd>
                        {r.stage_no} " · " {r.name.clone()}
                        {r.threshold.map(|limit| view! { " · " {p.threshold} " " <strong>{limit}</strong> })}
                    </dd>
                    <dt class="sr-only">{p.panel_title}</dt>
                    <dd class="col-span-2">{cohort}</dd>
                </dl>
            }
            .into_any()
        }
    };
    view! {
        {(!route.legacy).then(|| view! { <p class="mb-2 text-sm">{p.not_legacy}</p> })}
        {placement}
        <p class="mt-2 text-sm">
            {if route.migrated { p.migrated } else { p.not_migrated }} " · " {p.switch} " " <strong>{p.model(route.switch)}</strong>
        </p>
        <p class="mt-2 text-sm font-medium">{p.answered_by}</p>
        <ul class="ml-5 list-disc text-sm" data-testid="member-rollout-models">{models}</ul>
    }
}
