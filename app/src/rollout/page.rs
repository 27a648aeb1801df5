//! `/rollout`: the console of the gray rollout (issue #13), in the order an operator
//! reads it: the kill switch, the rollout's status with what stops the next stage and
//! the moves, the forms (pause, abort, modes, settings, accepting a difference, or
//! creating a rollout), then the dashboard (`dashboard.rs`).
//!
//! Every role reads (product managers watch read-only); tenant admins act (the domain
//! decides; other roles see no forms). Everything works without JavaScript: each move
//! is an `ActionForm`, a plain form post that comes back here with `?done=` or
//! `?error=`, and accepting a difference starts from a link (a GET of this page that
//! fills the form). With JavaScript the moves answer in place, the kill switch and
//! abort ask for confirmation, and the dashboard is polled every 3 seconds while a
//! rollout is active. The polled part holds no text inputs (its buttons are hidden
//! fields only); the forms read the rollout separately and refresh when a move is made
//! or the polled state changes, so typing is never wiped by a refresh.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::api::*;
use super::i18n::use_rollout_texts;
use crate::components::{BUTTON, BUTTON_SMALL, allowed, use_session};
use crate::error::{AppError, blocker_text};
use crate::time::format_time;
use model::access::Role;
use model::migration::run::Model;
use model::rollout::plan::{Dashboard, DecisionKind, Mode, Rollout, RolloutStatus};

pub(super) const SECTION: &str =
    "mb-6 min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-5";
pub(super) const INPUT: &str = "w-full rounded-md border border-slate-300 px-3 py-2 focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500";
pub(super) const LABEL: &str = "mb-1 block font-medium text-slate-700";
const DANGER: &str = "inline-flex items-center rounded-md bg-red-600 px-5 py-3 text-base font-semibold text-white shadow hover:bg-red-500 focus:outline-none focus:ring-2 focus:ring-red-400 focus:ring-offset-2 group-aria-busy:pointer-events-none group-aria-busy:opacity-50";
const CONFIRM: &str =
    "group mt-2 space-y-2 rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-900";

/// Every move of the page: each refreshes what the others show.
#[derive(Clone, Copy)]
pub struct Actions {
    pub create: ServerAction<CreateRollout>,
    pub advance: ServerAction<AdvanceRollout>,
    pub step_back: ServerAction<StepBackRollout>,
    pub pause: ServerAction<PauseRollout>,
    pub resume: ServerAction<ResumeRollout>,
    pub abort: ServerAction<AbortRollout>,
    pub complete: ServerAction<CompleteRollout>,
    pub kill: ServerAction<KillRollout>,
    pub modes: ServerAction<SetRolloutModes>,
    pub settings: ServerAction<UpdateRolloutSettings>,
    pub accept: ServerAction<AcceptRolloutDifference>,
}

impl Actions {
    fn new() -> Self {
        Actions {
            create: ServerAction::new(),
            advance: ServerAction::new(),
            step_back: ServerAction::new(),
            pause: ServerAction::new(),
            resume: ServerAction::new(),
            abort: ServerAction::new(),
            complete: ServerAction::new(),
            kill: ServerAction::new(),
            modes: ServerAction::new(),
            settings: ServerAction::new(),
            accept: ServerAction::new(),
        }
    }

    /// Changes made from this page.
    pub fn version(self) -> usize {
        self.create.version().get()
            + self.advance.version().get()
            + self.step_back.version().get()
            + self.pause.version().get()
            + self.resume.version().get()
            + self.abort.version().get()
            + self.complete.version().get()
            + self.kill.version().get()
            + self.modes.version().get()
            + self.settings.version().get()
            + self.accept.version().get()
    }
}

/// What the forms depend on: a change of it (seen by the poll, e.g. a guardrail
/// pausing the rollout) refreshes them.
fn state_of(dashboard: &Option<Dashboard>) -> String {
    match dashboard {
        Some(d) => format!(
            "{}:{}:{}:{:?}:{}",
            d.rollout.rollout_id,
            d.rollout.status.as_str(),
            d.rollout.stage_no,
            d.rollout.modes,
            d.rollout.updated_at
        ),
        None => String::new(),
    }
}

/// The rollout console.
#[component]
pub fn RolloutPage() -> impl IntoView {
    let t = use_rollout_texts();
    let actions = Actions::new();
    // Bumped every 3 seconds while a rollout is active (JavaScript only).
    let tick = RwSignal::new(0_u32);
    let state = RwSignal::new(None::<String>);
    let scheduled = StoredValue::new(false);
    let live = crate::components::resource(
        move || (tick.get(), actions.version()),
        |_| current_rollout(),
    );
    let forms = crate::components::resource(
        move || (actions.version(), state.get()),
        |_| current_rollout(),
    );
    // The approver options of the create form, asked for by tenant admins only (the
    // others see no form, and a refusal would set the page's status).
    let session = use_session();
    let admins: super::form_view::Admins = crate::components::resource(
        || (),
        move |_| async move {
            if acts(session).await {
                crate::access::api::list_admins().await
            } else {
                Ok(Vec::new())
            }
        },
    );
    // In the browser only: schedule the next poll after each answer, and refresh the
    // forms when the polled state moved.
    Effect::new(move |_| {
        let Some(Ok(dashboard)) = live.get() else {
            return;
        };
        let now = state_of(&dashboard);
        match state.get_untracked() {
            None => state.update_untracked(|state| *state = Some(now)),
            Some(before) if before != now => state.set(Some(now)),
            Some(_) => {}
        }
        // One timer at a time: an answer to a move refetches too, and must not start
        // a second chain of polls.
        if !scheduled.get_value()
            && dashboard
                .as_ref()
                .is_some_and(|d| d.rollout.status.is_active())
        {
            scheduled.set_value(true);
            set_timeout(
                move || {
                    scheduled.set_value(false);
                    tick.update(|n| *n += 1);
                },
                std::time::Duration::from_secs(3),
            );
        }
    });
    view! {
        <h1 class="mb-2 text-2xl font-semibold tracking-tight">{t.title}</h1>
        <p class="mb-4 max-w-3xl text-sm text-slate-600">{t.intro}</p>
        <UrlOutcome />
        <ReadOnlyNote />
        <KillSwitch actions tick />
        <Transition fallback=move || view! { <p class="text-sm text-slate-500">{t.loading}</p> }>
            {move || Suspend::new(async move {
                match live.await {
                    Ok(Some(dashboard)) => view! { <Status dashboard actions /> }.into_any(),
                    Ok(None) => view! {
                        <p class="mb-6 text-sm text-slate-600" data-testid="no-rollout">{t.no_rollout}</p>
                    }.into_any(),
                    Err(error) => problem(&error),
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match forms.await {
                    Ok(Some(dashboard)) if dashboard.rollout.status.is_active() => {
                        let now = dashboard.shares.last().map_or(dashboard.rollout.updated_at, |s| s.at);
                        view! { <Controls rollout=dashboard.rollout now actions /> }.into_any()
                    }
                    Ok(_) => view! {
                        <ForAdmins>
                            <super::form_view::CreateForm action=actions.create admins />
                        </ForAdmins>
                    }.into_any(),
                    Err(_) => ().into_any(),
                }
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match live.await {
                    Ok(Some(dashboard)) => view! { <super::dashboard::Dashboard dashboard /> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
    }
}

/// The outcome of a plain (no-JavaScript) post, from `?done=` or `?error=`.
#[component]
fn UrlOutcome() -> impl IntoView {
    let t = use_rollout_texts();
    let shared = crate::i18n::use_texts();
    let query = use_query_map();
    move || {
        let query = query.read();
        if let Some(error) = query
            .get("error")
            .and_then(|json| serde_json::from_str::<AppError>(&json).ok())
        {
            let message = t.error(&error, shared);
            return view! {
                <p role="alert" data-testid="rollout-error"
                    class="mb-4 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{message}</p>
            }
            .into_any();
        }
        match query.get("done").and_then(|code| t.done(&code)) {
            Some(message) => view! {
                <p role="status" data-testid="rollout-done"
                    class="mb-4 rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800">{message}</p>
            }
            .into_any(),
            None => ().into_any(),
        }
    }
}

/// Whether the signed-in admin may act: a tenant admin, or a platform administrator.
async fn acts(session: Option<crate::components::SessionResource>) -> bool {
    let platform = match session {
        Some(session) => session
            .0
            .await
            .ok()
            .flatten()
            .is_some_and(|info| info.is_platform_admin),
        None => false,
    };
    platform || allowed(session, Role::TenantAdmin).await
}

/// Other roles than tenant admins read the page: say so once.
#[component]
fn ReadOnlyNote() -> impl IntoView {
    let t = use_rollout_texts();
    let session = use_session();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                (!acts(session).await).then(|| view! {
                    <p class="mb-4 rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-sm text-slate-700" data-testid="rollout-read-only">
                        {t.read_only}
                    </p>
                })
            })}
        </Transition>
    }
}

/// Renders `children` for tenant admins only (presentation: the domain authorises).
#[component]
pub(super) fn ForAdmins(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    view! {
        <Transition fallback=|| ()>
            {move || {
                let children = children.clone();
                Suspend::new(async move { acts(session).await.then(|| children()) })
            }}
        </Transition>
    }
}

/// An action's answer: its error in this page's words, or `ok`.
#[component]
pub(super) fn Answer<S>(action: ServerAction<S>, ok: &'static str) -> impl IntoView
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let t = use_rollout_texts();
    let shared = crate::i18n::use_texts();
    move || {
        match action.value().get() {
        Some(Err(error)) => view! {
            <p role="alert" class="mt-2 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="rollout-answer-error">
                {t.error(&error, shared)}
            </p>
        }
        .into_any(),
        Some(Ok(_)) => view! { <p role="status" class="mt-2 text-sm text-emerald-700">{ok}</p> }.into_any(),
        None => ().into_any(),
    }
    }
}

/// A failed read, in this page's words.
pub(super) fn problem(error: &AppError) -> AnyView {
    let t = use_rollout_texts();
    let shared = crate::i18n::use_texts();
    let message = t.error(error, shared);
    view! {
        <p role="alert" class="mb-4 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{message}</p>
    }
    .into_any()
}

/// The tenant-wide kill switch: which model answers now, and one red button (with a
/// confirmation in the browser; without JavaScript the form posts at once).
#[component]
fn KillSwitch(actions: Actions, tick: RwSignal<u32>) -> impl IntoView {
    let t = use_rollout_texts();
    let routing = crate::components::resource(
        move || (tick.get(), actions.version()),
        |_| crate::migration::run_api::migration_routing(),
    );
    let confirm = t.kill_confirm;
    view! {
        <section id="kill-switch" class=format!("{SECTION} border-red-200") data-testid="kill-section">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <div class="min-w-0">
                    <h2 class="font-semibold">{t.kill_title}</h2>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match routing.await {
                                Ok(routing) => {
                                    let label = match routing.mode {
                                        Model::Legacy => t.model_legacy,
                                        Model::New => t.model_new,
                                    };
                                    view! {
                                        <p class="text-sm">
                                            {t.switch_now} " " <strong data-testid="routing-mode" data-mode=routing.mode.as_str()>{label}</strong>
                                            {routing.changed_at.map(|at| view! {
                                                <span class="text-xs text-slate-500">" · " {format_time(&at)} " " {routing.changed_by.clone().unwrap_or_default()}</span>
                                            })}
                                        </p>
                                    }.into_any()
                                }
                                Err(error) => problem(&error),
                            }
                        })}
                    </Transition>
                    <p class="mt-1 text-xs text-slate-500">{t.kill_hint}</p>
                </div>
                <ForAdmins>
                    <ActionForm action=actions.kill attr:class="group" attr:aria-busy=move || actions.kill.pending().get().then_some("true")>
                        <button type="submit" class=DANGER data-testid="kill-switch"
                            on:click=move |ev: leptos::ev::MouseEvent| {
                                if !window().confirm_with_message(confirm).unwrap_or(true) {
                                    ev.prevent_default();
                                }
                            }>
                            {t.kill_button}
                        </button>
                    </ActionForm>
                </ForAdmins>
            </div>
            <Answer action=actions.kill ok=t.killed />
        </section>
    }
}

/// The rollout's status, stage, what stops the next stage, the current stage's
/// migration run, and the moves without text (advance, step back, resume, complete).
#[component]
fn Status(dashboard: Dashboard, actions: Actions) -> impl IntoView {
    let t = use_rollout_texts();
    let shared = crate::i18n::use_texts();
    let rollout = dashboard.rollout.clone();
    let stages = rollout.stages.len();
    let percent = rollout.percent();
    let id = rollout.rollout_id.to_string();
    let active = rollout.status.is_active();
    let blockers = dashboard
        .blockers
        .iter()
        .map(|b| {
            let (kind, decision) = blocker_code(b);
            view! { <li data-kind=kind data-decision=decision>{blocker_text(b, shared)}</li> }
        })
        .collect_view();
    let blocked = !dashboard.blockers.is_empty();
    let next = rollout.next().map(|s| s.percent);
    let modes = DecisionKind::ALL
        .into_iter()
        .map(|d| {
            let mode = rollout.mode(d);
            view! {
                <li class="rounded-full border border-slate-200 px-2 py-0.5" data-decision=d.as_str() data-mode=mode.as_str()>
                    {crate::error::decision_name(d, shared)} ": " <strong>{t.mode(mode)}</strong>
                </li>
            }
        })
        .collect_view();
    let last_stage = next.is_none();
    let stage_no = rollout.stage_no;
    let all_live = rollout.modes.iter().all(|m| *m == Mode::Live);
    let paused = rollout.status == RolloutStatus::Paused;
    let run = dashboard.run.clone();
    let cohort_size: i64 = dashboard.cohort_mix.iter().sum();
    view! {
        <section id="status" class=SECTION data-testid="rollout-status-section" data-rollout=rollout.rollout_id.to_string()>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="min-w-0 break-words text-lg font-semibold">{rollout.name.clone()}</h2>
                <span class=status_class(rollout.status) data-testid="rollout-status" data-status=rollout.status.as_str()>{t.status(rollout.status)}</span>
            </div>
            {rollout.pause_reason.clone().filter(|_| rollout.status != RolloutStatus::Running).map(|reason| view! {
                <p class="mt-1 text-sm text-amber-800" data-testid="pause-reason">{t.why_paused} " " {reason}</p>
            })}
            <p class="mt-2 text-sm" data-testid="rollout-stage" data-stage=rollout.stage_no.to_string() data-percent=percent.to_string()>
                {t.stage} " " <strong>{rollout.stage_no} " / " {stages}</strong> " · " <strong>{percent} " %"</strong> " " {t.of_members}
                {next.map(|next| view! { " · " {t.next_stage} " " {next} " %" })}
            </p>
            <p class="mt-1 text-sm text-slate-600">
                {t.cohort} " " <span data-testid="cohort-size" data-size=cohort_size.to_string()>{count(cohort_size)}</span>
                " (" {t.stratum_active} " " {count(dashboard.cohort_mix[0])} " · " {t.stratum_long_standing} " " {count(dashboard.cohort_mix[1])}
                " · " {t.stratum_new} " " {count(dashboard.cohort_mix[2])} ") · " {t.legacy_members} " " {count(dashboard.legacy_members)}
                " · " {t.group_id} " " <code class="break-all text-xs">{rollout.group_id.clone()}</code>
            </p>
            <ul class="mt-2 flex flex-wrap gap-2 text-xs" data-testid="modes">{modes}</ul>
            {run.map(|run| view! { <RunProgress run /> })}
            {active.then(|| view! {
                <div class="mt-3 text-sm" data-testid="blockers" data-blocked=blocked.to_string()>
                    {if blocked {
                        view! {
                            <p class="font-medium text-amber-800">{t.blocked_by}</p>
                            <ul class="ml-5 list-disc text-amber-900">{blockers}</ul>
                        }.into_any()
                    } else {
                        view! { <p class="text-emerald-700">{t.gate_open}</p> }.into_any()
                    }}
                </div>
            })}
            {active.then(|| view! {
                <ForAdmins>
                    <div class="mt-3 flex flex-wrap gap-2">
                        {(!last_stage).then(|| { let id = id.clone(); view! {
                            <ActionForm action=actions.advance attr:class="group" attr:aria-busy=move || actions.advance.pending().get().then_some("true")>
                                {move_button(id.clone(), Some(stage_no), "advance", t.advance, "advance")}
                            </ActionForm>
                        }})}
                        {(rollout.stage_no > 0).then(|| { let id = id.clone(); view! {
                            <ActionForm action=actions.step_back attr:class="group" attr:aria-busy=move || actions.step_back.pending().get().then_some("true")>
                                {move_button(id.clone(), Some(stage_no), "step_back", t.step_back, "step-back")}
                            </ActionForm>
                        }})}
                        {paused.then(|| { let id = id.clone(); view! {
                            <ActionForm action=actions.resume attr:class="group" attr:aria-busy=move || actions.resume.pending().get().then_some("true")>
                                {move_button(id.clone(), None, "resume", t.resume, "resume")}
                            </ActionForm>
                        }})}
                        {(last_stage && all_live).then(|| { let id = id.clone(); view! {
                            <ActionForm action=actions.complete attr:class="group" attr:aria-busy=move || actions.complete.pending().get().then_some("true")>
                                {move_button(id.clone(), None, "complete", t.complete, "complete")}
                            </ActionForm>
                        }})}
                    </div>
                    {blocked.then(|| view! { <p class="mt-1 text-xs text-slate-500">{t.advance_hint}</p> })}
                </ForAdmins>
            })}
            <Answer action=actions.advance ok=t.advanced />
            <Answer action=actions.step_back ok=t.stepped_back />
            <Answer action=actions.resume ok=t.resumed />
            <Answer action=actions.complete ok=t.completed />
        </section>
    }
}

/// A blocker's kind and decision as data attributes (for scripts and tests).
fn blocker_code(blocker: &model::rollout::score::Blocker) -> (&'static str, &'static str) {
    use model::rollout::score::Blocker;
    match blocker {
        Blocker::NotRunning { .. } => ("not_running", ""),
        Blocker::LastStage => ("last_stage", ""),
        Blocker::Hold { .. } => ("hold", ""),
        Blocker::RunActive => ("run_active", ""),
        Blocker::Sample { decision, .. } => ("sample", decision.as_str()),
        Blocker::Score { decision, .. } => ("score", decision.as_str()),
        Blocker::Approver { .. } => ("approver", ""),
    }
}

/// A move without text: the rollout's id and one button.
/// The stage shown goes with advance and step back (`from_stage`), so a second click
/// does not move twice.
fn move_button(
    rollout_id: String,
    from_stage: Option<i32>,
    action: &'static str,
    label: &'static str,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <input type="hidden" name="rollout_id" value=rollout_id />
        {from_stage.map(|stage| view! { <input type="hidden" name="from_stage" value=stage.to_string() /> })}
        <button type="submit" class=BUTTON_SMALL data-testid=testid data-action=action>{label}</button>
    }
}

fn status_class(status: RolloutStatus) -> &'static str {
    match status {
        RolloutStatus::Running => {
            "rounded-full bg-emerald-100 px-3 py-1 text-sm font-medium text-emerald-800"
        }
        RolloutStatus::Paused => {
            "rounded-full bg-amber-100 px-3 py-1 text-sm font-medium text-amber-800"
        }
        RolloutStatus::Completed => {
            "rounded-full bg-indigo-100 px-3 py-1 text-sm font-medium text-indigo-800"
        }
        RolloutStatus::Aborted => {
            "rounded-full bg-red-100 px-3 py-1 text-sm font-medium text-red-800"
        }
    }
}

/// The current stage's migration run: done / total as a bar.
#[component]
fn RunProgress(run: model::migration::run::Run) -> impl IntoView {
    let t = use_rollout_texts();
    let handled = run.handled();
    let percent = if run.total > 0 {
        (handled * 100 / run.total).clamp(0, 100)
    } else {
        100
    };
    view! {
        <div class="mt-3 text-sm" data-testid="stage-run" data-status=run.status.as_str()
            data-handled=handled.to_string() data-total=run.total.to_string()>
            <p class="mb-1 text-slate-700">{t.stage_run} " · " {t.run_status(run.status)}</p>
            <div class="h-2 w-full overflow-hidden rounded bg-slate-100" role="progressbar"
                aria-valuemin="0" aria-valuemax="100" aria-valuenow=percent.to_string() aria-label=t.stage_run>
                <div class="h-2 bg-indigo-600" style=format!("width: {percent}%")></div>
            </div>
            <p class="mt-1 tabular-nums text-slate-600">
                {format!("{} / {} ({percent}%)", count(handled), count(run.total))} " · " {t.errors} " " {run.errors}
                " · " <a class="text-indigo-700 underline" href=format!("/migration/run?run={}#run", run.run_id)>{t.run_details}</a>
            </p>
        </div>
    }
}

/// The moves with text: pause (reason), abort (reason, confirmed), the modes, the
/// settings, accepting a difference (when a mismatch row's link filled it).
#[component]
fn Controls(
    rollout: Rollout,
    now: chrono::DateTime<chrono::Utc>,
    actions: Actions,
) -> impl IntoView {
    view! {
        <ForAdmins>
            <ControlForms rollout=rollout.clone() now actions />
        </ForAdmins>
    }
}

#[component]
fn ControlForms(
    rollout: Rollout,
    now: chrono::DateTime<chrono::Utc>,
    actions: Actions,
) -> impl IntoView {
    let t = use_rollout_texts();
    let id = rollout.rollout_id.to_string();
    let (id_abort, id_modes) = (id.clone(), id.clone());
    let running = rollout.status == RolloutStatus::Running;
    let abort_confirm = t.abort_confirm;
    let modes = rollout.modes;
    let settings_rollout = rollout.clone();
    view! {
            <section id="controls" class=SECTION data-testid="controls">
                <h2 class="mb-3 font-semibold">{t.controls_title}</h2>
                <div class="grid gap-4 md:grid-cols-2">
                    {running.then(|| {
                        let id = id.clone();
                        view! {
                            <ActionForm action=actions.pause attr:class="group space-y-2" attr:aria-busy=move || actions.pause.pending().get().then_some("true")>
                                <input type="hidden" name="rollout_id" value=id />
                                <label class="block text-sm">
                                    <span class=LABEL>{t.pause_reason}</span>
                                    <input type="text" name="reason" maxlength="500" class=INPUT data-testid="pause-reason-input" />
                                </label>
                                <button type="submit" class=BUTTON_SMALL data-testid="pause">{t.pause}</button>
                            </ActionForm>
                        }
                    })}
                    <ActionForm action=actions.abort attr:class=CONFIRM attr:aria-busy=move || actions.abort.pending().get().then_some("true")>
                        <input type="hidden" name="rollout_id" value=id_abort />
                        <p class="font-medium">{t.abort_title}</p>
                        <p class="text-xs">{t.abort_hint}</p>
                        <label class="block">
                            <span class=LABEL>{t.abort_reason}</span>
                            <input type="text" name="reason" required=true maxlength="500" class=INPUT data-testid="abort-reason" />
                        </label>
                        <label class="flex items-center gap-2">
                            <input type="checkbox" required=true data-testid="abort-understood" />
                            <span>{t.abort_understood}</span>
                        </label>
                        <button type="submit" class="inline-flex items-center rounded-md bg-red-700 px-4 py-2 text-sm font-medium text-white hover:bg-red-600 group-aria-busy:opacity-50"
                            data-testid="abort"
                            on:click=move |ev: leptos::ev::MouseEvent| {
                                if !window().confirm_with_message(abort_confirm).unwrap_or(true) {
                                    ev.prevent_default();
                                }
                            }>{t.abort}</button>
                    </ActionForm>
                </div>
                <Answer action=actions.pause ok=t.paused_done />
                <Answer action=actions.abort ok=t.aborted_done />
                <h3 class="mb-1 mt-5 font-medium">{t.modes_title}</h3>
                <p class="mb-2 text-sm text-slate-600">{t.modes_hint}</p>
                <ActionForm action=actions.modes attr:class="group flex flex-wrap items-end gap-3" attr:aria-busy=move || actions.modes.pending().get().then_some("true") attr:data-testid="modes-form">
                    <input type="hidden" name="rollout_id" value=id_modes />
                    {DecisionKind::ALL.into_iter().map(|d| view! { <ModeSelect decision=d current=modes[d.index()] /> }).collect_view()}
                    <button type="submit" class=BUTTON data-testid="modes-save">{t.modes_save}</button>
                </ActionForm>
                <Answer action=actions.modes ok=t.modes_saved />
                <super::form_view::SettingsFields rollout=settings_rollout action=actions.settings />
                <super::form_view::AcceptForm rollout_id=rollout.rollout_id now action=actions.accept />
            </section>
    }
}

#[component]
fn ModeSelect(decision: DecisionKind, current: Mode) -> impl IntoView {
    let t = use_rollout_texts();
    let shared = crate::i18n::use_texts();
    let options = Mode::ALL
        .into_iter()
        .map(|mode| view! { <option value=mode.as_str() selected=mode == current>{t.mode(mode)}</option> })
        .collect_view();
    view! {
        <label class="block text-sm">
            <span class=LABEL>{crate::error::decision_name(decision, shared)}</span>
            <select name=decision.as_str() class=INPUT data-testid=format!("mode-{}", decision.as_str())>{options}</select>
        </label>
    }
}

/// `1,999`.
pub(super) fn count(value: i64) -> String {
    crate::charts::scale::format_count(value)
}
