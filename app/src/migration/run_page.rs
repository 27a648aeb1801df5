//! `/migration/run`: the console of the migration's steps, in the order an operator
//! works through them (issue #12): the routing switch, pre-flight and checkpoints, the
//! dry run, runs with live progress, validate and reconcile, rollback.
//!
//! Every role reads; tenant admins act (the domain decides; other roles see the
//! reports without the forms). Everything works without JavaScript: each action is an
//! `ActionForm`, a plain form post that comes back to this page with `?done=` or
//! `?error=`; the checkpoint compare and the rollback's blast-radius preview are GET
//! forms of this page (the preview is computed while the page renders, and its
//! confirmation posts the previewed selection). With JavaScript the actions answer in
//! place, and the progress of a running run is polled every second; without, a plain
//! refresh shows the same progress.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{BUTTON, BUTTON_SMALL, TABLE, TD, TH, allowed, use_session};
use crate::error::AppError;
use crate::migration::run_api::*;
use crate::migration::run_i18n::use_run_texts;
use crate::time::format_time;
use model::access::Role;
use model::migration::run::{Checkpoint, Model, Run, RunKind, RunStatus};

pub(super) const SECTION: &str =
    "mb-6 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-5";
pub(super) const INPUT: &str = "w-full rounded-md border border-slate-300 px-3 py-2 focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500";
pub(super) const RIGHT: &str = "px-3 py-2 text-right align-top tabular-nums";
pub(super) const CONFIRM: &str =
    "group mt-2 space-y-2 rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-900";

/// The page's actions: every section reads the data the others change.
#[derive(Clone, Copy)]
pub struct Actions {
    pub switch: ServerAction<SwitchMigrationRouting>,
    pub preflight: ServerAction<MigrationPreflight>,
    pub checkpoint: ServerAction<TakeMigrationCheckpoint>,
    pub dry_run: ServerAction<MigrationDryRun>,
    pub start: ServerAction<StartMigrationRun>,
    pub control: ServerAction<ControlMigrationRun>,
    pub catch_up: ServerAction<MigrationCatchUp>,
    pub validate: ServerAction<ValidateMigration>,
    pub reconcile: ServerAction<ReconcileMigration>,
    pub rollback: ServerAction<StartMigrationRollback>,
}

impl Actions {
    fn new() -> Self {
        Actions {
            switch: ServerAction::new(),
            preflight: ServerAction::new(),
            checkpoint: ServerAction::new(),
            dry_run: ServerAction::new(),
            start: ServerAction::new(),
            control: ServerAction::new(),
            catch_up: ServerAction::new(),
            validate: ServerAction::new(),
            reconcile: ServerAction::new(),
            rollback: ServerAction::new(),
        }
    }

    /// Changes to the runs (and, through an emergency rollback, to the switch).
    pub fn runs(self) -> usize {
        self.start.version().get() + self.control.version().get() + self.rollback.version().get()
    }
}

/// The run console.
#[component]
pub fn MigrationRunPage() -> impl IntoView {
    let t = use_run_texts();
    let actions = Actions::new();
    // Bumped every second while a run is running (JavaScript only).
    let tick = RwSignal::new(0_u32);
    view! {
        <h1 class="mb-2 text-2xl font-semibold tracking-tight">{t.title}</h1>
        <p class="mb-4 text-sm">
            <a href="/migration" class="text-indigo-700 hover:underline" data-testid="to-migration">{t.back_to_migration}</a>
        </p>
        <UrlOutcome />
        <ReadOnlyNote />
        <Switch actions />
        <PreflightAndCheckpoints actions />
        <super::run_reports::DryRunSection actions />
        <RunsSection actions tick />
        <super::run_reports::VerifySection actions />
        <super::run_reports::RollbackSection actions />
    }
}

/// The outcome of a plain (no-JavaScript) post, from `?done=` or `?error=`.
#[component]
fn UrlOutcome() -> impl IntoView {
    let t = use_run_texts();
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
                <p role="alert" data-testid="run-error"
                    class="mb-4 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{message}</p>
            }
            .into_any();
        }
        match query.get("done").and_then(|code| t.done(&code)) {
            Some(message) => view! {
                <p role="status" data-testid="run-done"
                    class="mb-4 rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800">{message}</p>
            }
            .into_any(),
            None => ().into_any(),
        }
    }
}

/// Other roles than tenant admins read the page: say so once.
#[component]
fn ReadOnlyNote() -> impl IntoView {
    let t = use_run_texts();
    let session = use_session();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                (!acts(session).await).then(|| view! {
                    <p class="mb-4 rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-sm text-slate-700" data-testid="run-read-only">
                        {t.read_only}
                    </p>
                })
            })}
        </Transition>
    }
}

/// Whether the signed-in admin may act here: a tenant admin of the active tenant, or a
/// platform administrator (who acts as one everywhere, as `RequiresRole` says).
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

/// Renders `children` for tenant admins only (presentation: the domain authorises).
#[component]
pub(super) fn ForAdmins(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    view! {
        <Transition fallback=|| ()>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    acts(session).await.then(|| children())
                })
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
    let t = use_run_texts();
    let shared = crate::i18n::use_texts();
    move || {
        match action.value().get() {
        Some(Err(error)) => view! {
            <p role="alert" class="mt-2 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
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
    let t = use_run_texts();
    let shared = crate::i18n::use_texts();
    let message = t.error(error, shared);
    view! {
        <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{message}</p>
    }
    .into_any()
}

/// `1,999`.
pub(super) fn count(value: i64) -> String {
    crate::charts::scale::format_count(value)
}

/// Which model answers migrated members, and the flip with its effect named first.
#[component]
fn Switch(actions: Actions) -> impl IntoView {
    let t = use_run_texts();
    let routing = crate::components::resource(
        move || (actions.switch.version().get(), actions.runs()),
        |_| migration_routing(),
    );
    view! {
        <section id="switch" class=SECTION data-testid="switch">
            <h2 class="mb-1 font-semibold">{t.switch_title}</h2>
            <p class="mb-3 text-sm text-slate-600">{t.switch_hint}</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let routing = match routing.await {
                        Ok(routing) => routing,
                        Err(error) => return problem(&error),
                    };
                    let (now_label, other, other_value, effect, button) = match routing.mode {
                        Model::Legacy => (t.mode_legacy, t.mode_new, "new", t.to_new_effect, t.to_new_button),
                        Model::New => (t.mode_new, t.mode_legacy, "legacy", t.to_legacy_effect, t.to_legacy_button),
                    };
                    view! {
                        <p class="text-sm">
                            {t.answered_by} " " <strong data-testid="routing-mode" data-mode=routing.mode.as_str()>{now_label}</strong>
                            {routing.changed_at.map(|at| view! {
                                <span class="text-xs text-slate-500">" · " {t.changed} " " {format_time(&at)} " " {routing.changed_by.clone().unwrap_or_default()}</span>
                            })}
                        </p>
                        <ForAdmins>
                            <details class="mt-3" data-testid="switch-confirm">
                                <summary class=format!("{BUTTON_SMALL} inline-block cursor-pointer list-none")>{t.switch_to} " " {other}</summary>
                                <ActionForm action=actions.switch attr:class=CONFIRM attr:aria-busy=move || actions.switch.pending().get().then_some("true")>
                                    <p>{effect}</p>
                                    <input type="hidden" name="mode" value=other_value />
                                    <button type="submit" class=BUTTON data-testid="switch-submit">{button}</button>
                                </ActionForm>
                            </details>
                        </ForAdmins>
                    }
                    .into_any()
                })}
            </Transition>
            <Answer action=actions.switch ok=t.switched />
        </section>
    }
}

/// Pre-flight (statistics and a checkpoint), the checkpoints and their compare.
#[component]
fn PreflightAndCheckpoints(actions: Actions) -> impl IntoView {
    let t = use_run_texts();
    let preflight = crate::components::resource(
        move || actions.preflight.version().get(),
        |_| latest_migration_preflight(),
    );
    let checkpoints = crate::components::resource(
        move || {
            actions.preflight.version().get() + actions.checkpoint.version().get() + actions.runs()
        },
        |_| migration_checkpoints(),
    );
    let query = use_query_map();
    let picked = move || query.with(|q| (q.get("a"), q.get("b")));
    view! {
        <section id="checkpoints" class=SECTION data-testid="preflight">
            <h2 class="mb-1 font-semibold">{t.preflight_title}</h2>
            <p class="mb-3 text-sm text-slate-600">{t.preflight_hint}</p>
            <ForAdmins>
                <ActionForm action=actions.preflight attr:class="group" attr:aria-busy=move || actions.preflight.pending().get().then_some("true")>
                    <button type="submit" class=BUTTON data-testid="preflight-run">{t.preflight_run}</button>
                </ActionForm>
            </ForAdmins>
            <Answer action=actions.preflight ok=t.preflight_done />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match preflight.await {
                        Ok(Some((info, report))) => super::run_reports::statistics(&info, &report.statistics).into_any(),
                        Ok(None) => view! { <p class="mt-2 text-sm text-slate-500">{t.no_preflight}</p> }.into_any(),
                        Err(error) => problem(&error),
                    }
                })}
            </Transition>
            <h3 class="mb-2 mt-5 font-medium">{t.checkpoints_title}</h3>
            <ForAdmins>
                <ActionForm action=actions.checkpoint attr:class="group flex flex-wrap items-end gap-2" attr:aria-busy=move || actions.checkpoint.pending().get().then_some("true")>
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium text-slate-700">{t.label}</span>
                        <input type="text" name="label" required=true maxlength="100" class=INPUT data-testid="checkpoint-label" />
                    </label>
                    <button type="submit" class=BUTTON data-testid="checkpoint-take">{t.take_checkpoint}</button>
                </ActionForm>
            </ForAdmins>
            <Answer action=actions.checkpoint ok=t.checkpoint_taken />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match checkpoints.await {
                        Ok(list) => view! { <Checkpoints list picked=picked() /> }.into_any(),
                        Err(error) => problem(&error),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The checkpoint list, a GET form to pick two, and their compare.
#[component]
fn Checkpoints(list: Vec<Checkpoint>, picked: (Option<String>, Option<String>)) -> impl IntoView {
    let t = use_run_texts();
    if list.is_empty() {
        return view! { <p class="mt-2 text-sm text-slate-500">{t.no_checkpoints}</p> }.into_any();
    }
    let find = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| list.iter().find(|c| c.checkpoint_id.to_string() == *id))
            .cloned()
    };
    let (a, b) = (find(&picked.0), find(&picked.1));
    let all = list.clone();
    let options = move |selected: Option<&Checkpoint>| {
        all.iter()
            .map(|c| {
                let id = c.checkpoint_id.to_string();
                let chosen = selected.is_some_and(|s| s.checkpoint_id == c.checkpoint_id);
                view! { <option value=id selected=chosen>{format!("{} · {}", c.label, format_time(&c.taken_at))}</option> }
            })
            .collect_view()
    };
    let rows = list
        .iter()
        .map(|c| {
            let rows: i64 = c.tables.iter().map(|table| table.rows).sum();
            view! {
                <tr data-checkpoint=c.checkpoint_id.to_string()>
                    <td class=TD>{c.label.clone()}</td>
                    <td class=TD>{format_time(&c.taken_at)}</td>
                    <td class=TD>{c.taken_by.clone().unwrap_or_else(|| "cli".into())}</td>
                    <td class=RIGHT>{count(rows)}</td>
                </tr>
            }
        })
        .collect_view();
    let b_default = b.clone().or_else(|| list.get(1).cloned());
    let a_options = options(a.as_ref());
    let b_options = options(b_default.as_ref());
    view! {
        <div class="mt-3 max-h-72 overflow-auto"><table class=TABLE data-testid="checkpoints">
            <thead><tr>
                <th class=TH>{t.label}</th><th class=TH>{t.taken}</th><th class=TH>{t.by}</th><th class=format!("{TH} text-right")>{t.rows}</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100">{rows}</tbody>
        </table></div>
        <form method="get" action="/migration/run#checkpoints" class="mt-3 flex flex-wrap items-end gap-2" data-testid="compare-form">
            <label class="block text-sm"><span class="mb-1 block font-medium text-slate-700">{t.compare_a}</span>
                <select name="a" class=INPUT>{a_options}</select></label>
            <label class="block text-sm"><span class="mb-1 block font-medium text-slate-700">{t.compare_b}</span>
                <select name="b" class=INPUT>{b_options}</select></label>
            <button type="submit" class=BUTTON_SMALL data-testid="compare-submit">{t.compare}</button>
        </form>
        {a.zip(b).map(|(a, b)| view! { <Compare a b /> })}
    }
    .into_any()
}

/// Two checkpoints table by table: rows and checksum on each side, same or different.
#[component]
fn Compare(a: Checkpoint, b: Checkpoint) -> impl IntoView {
    let t = use_run_texts();
    let differ = a.differences(&b);
    let mut tables: Vec<String> = a.tables.iter().map(|x| x.table.clone()).collect();
    for table in &b.tables {
        if !tables.contains(&table.table) {
            tables.push(table.table.clone());
        }
    }
    let side = |c: &Checkpoint, table: &str| {
        c.tables
            .iter()
            .find(|x| x.table == table)
            .map(|x| (count(x.rows), x.checksum.clone()))
            .unwrap_or_else(|| ("—".into(), "—".into()))
    };
    let rows = tables
        .iter()
        .map(|table| {
            let (a_rows, a_sum) = side(&a, table);
            let (b_rows, b_sum) = side(&b, table);
            let same = !differ.contains(table);
            view! {
                <tr data-table=table.clone() data-same=same.to_string()>
                    <td class=format!("{TD} font-mono text-xs")>{table.clone()}</td>
                    <td class=RIGHT>{a_rows}</td><td class=format!("{TD} font-mono text-xs break-all")>{a_sum}</td>
                    <td class=RIGHT>{b_rows}</td><td class=format!("{TD} font-mono text-xs break-all")>{b_sum}</td>
                    <td class=TD>{if same {
                        view! { <span class="text-emerald-700">{t.same}</span> }.into_any()
                    } else {
                        view! { <strong class="text-amber-800">{t.different}</strong> }.into_any()
                    }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="mt-3 text-sm" data-testid="compare-summary" data-differ=differ.len().to_string()>
            {if differ.is_empty() { t.compare_equal.to_owned() } else { format!("{} {}", differ.len(), t.compare_differ) }}
        </p>
        <div class="mt-2 overflow-x-auto"><table class=TABLE data-testid="compare">
            <thead><tr>
                <th class=TH>{t.table}</th>
                <th class=format!("{TH} text-right")>{a.label.clone()} " · " {t.rows}</th><th class=TH>{t.checksum}</th>
                <th class=format!("{TH} text-right")>{b.label.clone()} " · " {t.rows}</th><th class=TH>{t.checksum}</th>
                <th class=TH></th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100">{rows}</tbody>
        </table></div>
    }
}

/// Start a run, the active run with its controls and live progress, the recent runs
/// and one run's batches and errors, catch-up.
#[component]
fn RunsSection(actions: Actions, tick: RwSignal<u32>) -> impl IntoView {
    let t = use_run_texts();
    let active = crate::components::resource(
        move || (tick.get(), actions.runs()),
        |_| active_migration_run(),
    );
    let recent = crate::components::resource(
        move || (tick.get(), actions.runs()),
        |_| recent_migration_runs(),
    );
    let query = use_query_map();
    let chosen = move || query.with(|q| q.get("run").and_then(|id| id.parse::<uuid::Uuid>().ok()));
    let detail = crate::components::resource(
        move || (chosen(), tick.get(), actions.runs()),
        |(run, _, _)| async move {
            match run {
                Some(run_id) => Some(migration_run_detail(run_id).await),
                None => None,
            }
        },
    );
    view! {
        <section id="run" class=SECTION data-testid="runs">
            <h2 class="mb-1 font-semibold">{t.run_title}</h2>
            <p class="mb-3 text-sm text-slate-600">{t.run_hint}</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let active = match active.await {
                        Ok(active) => active,
                        Err(error) => return problem(&error),
                    };
                    let latest = recent.await.ok().and_then(|runs| runs.into_iter().next());
                    if active.as_ref().is_some_and(|run| run.status == RunStatus::Running) {
                        #[cfg(feature = "hydrate")]
                        set_timeout(move || tick.update(|n| *n += 1), std::time::Duration::from_secs(1));
                    }
                    match active.or(latest) {
                        Some(run) => view! { <Progress run actions /> }.into_any(),
                        None => view! { <p class="text-sm text-slate-500" data-testid="no-runs">{t.no_runs}</p> }.into_any(),
                    }
                })}
            </Transition>
            <Answer action=actions.control ok=t.control_done />
            <ForAdmins>
                <h3 class="mb-2 mt-5 font-medium">{t.start_title}</h3>
                <ActionForm action=actions.start attr:class="group space-y-3" attr:aria-busy=move || actions.start.pending().get().then_some("true") attr:data-testid="start-form">
                    <super::run_reports::SelectionFields />
                    <button type="submit" class=BUTTON data-testid="start-submit">{t.start_button}</button>
                </ActionForm>
            </ForAdmins>
            <Answer action=actions.start ok=t.started />
            <h3 class="mb-2 mt-5 font-medium">{t.recent_title}</h3>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match recent.await {
                        Ok(runs) => view! { <RecentRuns runs /> }.into_any(),
                        Err(error) => problem(&error),
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match detail.await {
                        Some(Ok(detail)) => view! { <RunDetailView detail /> }.into_any(),
                        Some(Err(error)) => problem(&error),
                        None => ().into_any(),
                    }
                })}
            </Transition>
            <ForAdmins>
                <h3 class="mb-1 mt-5 font-medium">{t.catch_up_title}</h3>
                <p class="mb-2 text-sm text-slate-600">{t.catch_up_hint}</p>
                <ActionForm action=actions.catch_up attr:class="group" attr:aria-busy=move || actions.catch_up.pending().get().then_some("true")>
                    <button type="submit" class=BUTTON_SMALL data-testid="catch-up">{t.catch_up_button}</button>
                </ActionForm>
            </ForAdmins>
            {move || match actions.catch_up.value().get() {
                Some(Ok(done)) => view! {
                    <p role="status" class="mt-2 text-sm text-emerald-700" data-testid="caught-up">
                        {t.caught_up} " " {count(done.members)} " · " {t.points} " " {done.points}
                        " · " {t.shortfall} " " {done.shortfall} " · " {t.tags_changed} " " {done.tags_changed}
                    </p>
                }.into_any(),
                Some(Err(error)) => problem(&error),
                None => ().into_any(),
            }}
        </section>
    }
}

/// A run's progress: done / total as a bar, rate, ETA, errors; pause, resume, cancel.
#[component]
fn Progress(run: Run, actions: Actions) -> impl IntoView {
    let t = use_run_texts();
    let handled = run.handled();
    let percent = if run.total > 0 {
        (handled * 100 / run.total).min(100)
    } else {
        100
    };
    let id = run.run_id.to_string();
    let controls: Vec<(RunStatus, &'static str)> = match run.status {
        RunStatus::Running => vec![
            (RunStatus::Paused, t.pause),
            (RunStatus::Cancelled, t.cancel),
        ],
        RunStatus::Paused => vec![
            (RunStatus::Running, t.resume),
            (RunStatus::Cancelled, t.cancel),
        ],
        _ => Vec::new(),
    };
    let eta = run.eta_seconds().map(duration);
    let control_id = id.clone();
    view! {
        <div role="status" data-testid="run-progress" data-run=id.clone() data-status=run.status.as_str()
            data-kind=kind_code(run.kind) data-handled=handled.to_string() data-total=run.total.to_string()
            class="rounded-md border border-indigo-200 bg-indigo-50 p-3 text-sm text-indigo-950">
            <p class="font-medium">{t.kind(run.kind, run.rollback_mode)} " · " <span data-testid="run-status">{t.status(run.status)}</span></p>
            <div class="mt-2 h-2 w-full overflow-hidden rounded bg-indigo-100">
                <div class="h-2 bg-indigo-600" style=format!("width: {percent}%")></div>
            </div>
            <p class="mt-1 tabular-nums">
                <span data-testid="run-count">{format!("{} / {} ({percent}%)", count(handled), count(run.total))}</span>
                " · " {t.rate} " " {format!("{:.0}/s", run.rate())}
                {eta.map(|eta| view! { " · " {t.eta} " " {eta} })}
                " · " {t.errors} " " <span data-testid="run-errors">{run.errors}</span>
                " · " {t.skipped} " " {run.skipped}
            </p>
            <p class="mt-1 text-xs text-indigo-800">
                {t.started_label} " " {format_time(&run.started_at)} " " {run.started_by.clone().unwrap_or_else(|| "cli".into())}
                {run.finished_at.map(|at| view! { " · " {t.finished} " " {format_time(&at)} })}
                " · " <a class="underline" href=format!("/migration/run?run={id}#run")>{t.batches_and_errors}</a>
                " · " <a class="underline" href="/migration/run#run" data-testid="refresh">{t.refresh}</a>
            </p>
            <ForAdmins>
                <div class="mt-2 flex flex-wrap gap-2">
                    {controls.clone().into_iter().map(|(to, label)| {
                        let id = control_id.clone();
                        view! {
                            <ActionForm action=actions.control attr:class="group" attr:aria-busy=move || actions.control.pending().get().then_some("true")>
                                <input type="hidden" name="run_id" value=id />
                                <input type="hidden" name="to" value=to.as_str() />
                                <button type="submit" class=BUTTON_SMALL data-control=to.as_str()>{label}</button>
                            </ActionForm>
                        }
                    }).collect_view()}
                </div>
            </ForAdmins>
        </div>
    }
}

fn kind_code(kind: RunKind) -> &'static str {
    match kind {
        RunKind::Migrate => "migrate",
        RunKind::Rollback => "rollback",
    }
}

/// `1 h 2 min`, `3 min 20 s`, `45 s`.
fn duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

#[component]
fn RecentRuns(runs: Vec<Run>) -> impl IntoView {
    let t = use_run_texts();
    if runs.is_empty() {
        return view! { <p class="text-sm text-slate-500">{t.no_runs}</p> }.into_any();
    }
    let rows = runs
        .into_iter()
        .map(|run| {
            let id = run.run_id.to_string();
            let selection = match run.share {
                Some(share) => format!("{} {share}%", t.selection_name(&run.selection)),
                None => t.selection_name(&run.selection).to_owned(),
            };
            view! {
                <tr data-run=id.clone() data-status=run.status.as_str() data-kind=kind_code(run.kind)>
                    <td class=TD><a class="text-indigo-700 hover:underline" href=format!("/migration/run?run={id}#run")>{format_time(&run.started_at)}</a></td>
                    <td class=TD>{t.kind(run.kind, run.rollback_mode)}</td>
                    <td class=TD>{selection}</td>
                    <td class=TD>{t.status(run.status)}</td>
                    <td class=RIGHT>{format!("{} / {}", count(run.handled()), count(run.total))}</td>
                    <td class=RIGHT>{run.errors}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="max-h-80 overflow-auto"><table class=TABLE data-testid="recent-runs">
            <thead><tr>
                <th class=TH>{t.started_label}</th><th class=TH>{t.kind_heading}</th><th class=TH>{t.selection}</th>
                <th class=TH>{t.status_heading}</th><th class=format!("{TH} text-right")>{t.progress}</th>
                <th class=format!("{TH} text-right")>{t.errors}</th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100">{rows}</tbody>
        </table></div>
    }
    .into_any()
}

/// One run's latest batches and its errors.
#[component]
fn RunDetailView(detail: model::migration::run::RunDetail) -> impl IntoView {
    let t = use_run_texts();
    let batches = detail
        .batches
        .into_iter()
        .map(|b| view! {
            <tr>
                <td class=RIGHT>{b.batch_no}</td>
                <td class=format!("{TD} font-mono text-xs")>{format!("{} … {}", b.first_id, b.last_id)}</td>
                <td class=RIGHT>{b.members}</td><td class=RIGHT>{b.skipped}</td><td class=RIGHT>{b.errors}</td>
                <td class=RIGHT>{b.ms}</td><td class=TD>{format_time(&b.committed_at)}</td>
            </tr>
        })
        .collect_view();
    let errors = detail
        .errors
        .into_iter()
        .map(|e| view! {
            <tr><td class=format!("{TD} font-mono text-xs")>{e.external_id}</td><td class=TD>{e.problem}</td><td class=TD>{format_time(&e.at)}</td></tr>
        })
        .collect_view();
    view! {
        <div class="mt-4" data-testid="run-detail" data-run=detail.run.run_id.to_string()>
            <h3 class="mb-2 font-medium">{t.batches_title} " · " {format_time(&detail.run.started_at)}</h3>
            <div class="max-h-80 overflow-auto"><table class=TABLE data-testid="batches">
                <thead><tr>
                    <th class=format!("{TH} text-right")>"#"</th><th class=TH>{t.members_range}</th>
                    <th class=format!("{TH} text-right")>{t.members}</th><th class=format!("{TH} text-right")>{t.skipped}</th>
                    <th class=format!("{TH} text-right")>{t.errors}</th><th class=format!("{TH} text-right")>"ms"</th>
                    <th class=TH>{t.committed}</th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">{batches}</tbody>
            </table></div>
            <h3 class="mb-2 mt-3 font-medium">{t.errors_title}</h3>
            <div class="max-h-80 overflow-auto"><table class=TABLE data-testid="run-errors-list">
                <thead><tr><th class=TH>{t.external_id}</th><th class=TH>{t.problem}</th><th class=TH>{t.at}</th></tr></thead>
                <tbody class="divide-y divide-slate-100">{errors}</tbody>
            </table></div>
        </div>
    }
}
