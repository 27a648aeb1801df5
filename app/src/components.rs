use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;
use crate::i18n::use_texts;
use model::access::Role;
use model::access::SessionInfo;

/// An error box for a failed request.
#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    let t = use_texts();
    view! {
        <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
            {error.message(t)}
        </p>
    }
}

/// The result of an action: its error, or a short success note.
#[component]
pub fn ActionResult<T, F>(value: F, success: &'static str) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn() -> Option<Result<T, AppError>> + Send + Sync + 'static,
{
    move || match value() {
        Some(Err(error)) => view! { <ErrorBox error /> }.into_any(),
        Some(Ok(_)) => view! {
            <p role="status" class="text-sm text-emerald-700">{success}</p>
        }
        .into_any(),
        None => ().into_any(),
    }
}

/// The latest outcome of a page's actions, one message at a time: a new action's answer
/// replaces the previous one's, so messages do not pile up.
#[derive(Clone, Copy)]
pub struct Outcome(RwSignal<Option<Result<String, AppError>>>);

impl Default for Outcome {
    fn default() -> Self {
        Outcome(RwSignal::new(None))
    }
}

impl Outcome {
    /// Shows `message` for each successful answer of `action` (and its error otherwise).
    pub fn follow<S>(
        self,
        action: ServerAction<S>,
        message: impl Fn(&S::Output) -> String + Send + Sync + 'static,
    ) where
        S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
        S::Output: Clone + Send + Sync + 'static,
    {
        Effect::new(move |_| {
            if let Some(answer) = action.value().get() {
                self.0.set(Some(answer.map(|output| message(&output))));
            }
        });
    }

    /// Clears the message (e.g. when the user starts another edit).
    pub fn clear(self) {
        self.0.set(None);
    }
}

/// Where a page shows its [`Outcome`].
#[component]
pub fn OutcomeView(outcome: Outcome) -> impl IntoView {
    move || match outcome.0.get() {
        Some(Err(error)) => view! { <ErrorBox error /> }.into_any(),
        Some(Ok(message)) => view! {
            <p role="status" class="text-sm text-emerald-700" data-testid="outcome">{message}</p>
        }
        .into_any(),
        None => ().into_any(),
    }
}

/// What a successful plain (no-JavaScript) form post did, from the `?done=` code the
/// request guard adds on the way back (an endpoint's name, or a more precise outcome).
pub fn done_message(code: &str, t: &crate::i18n::Texts) -> Option<&'static str> {
    Some(match code {
        "add_admin" => t.access.invited_added,
        "change_admin_role" => t.done_role_changed,
        "set_admin_disabled" => t.done_access_changed,
        "create_tenant" => t.done_tenant_created,
        "accept_invitation" => t.done_invitation_accepted,
        "decline_invitation" => t.done_invitation_declined,
        "create_member" => t.done_member_created,
        "update_member" => t.done_member_saved,
        "adjust_points" => t.members.adjusted,
        "adjust_points_pending" => t.members.pending_approval,
        "reverse_entry" => t.members.reversed,
        "approve_adjustment" => t.points.approved_plain,
        "reject_adjustment" => t.points.rejected_done,
        "withdraw_adjustment" => t.points.withdrawn_done,
        "set_approval_threshold" => t.points.threshold_saved,
        "save_tiers" | "save_tiers_form" => t.done_tiers_saved,
        "create_tag" => t.done_tag_created,
        "update_tag" => t.done_tag_saved,
        "grant_tag" => t.tags.granted,
        "renew_grant" => t.tags.renewed,
        "revoke_grant" => t.tags.revoked,
        "save_webhook" => t.done_webhook_saved,
        "create_plan" => t.licenses.plan_created,
        "update_plan" => t.licenses.plan_saved,
        "issue_licenses" => t.licenses.issued_done,
        "edit_license" => t.saved,
        "license_suspend" => t.licenses.suspended_done,
        "license_reinstate" => t.licenses.reinstated_done,
        "license_revoke" => t.licenses.revoked_done,
        "assign_license" => t.licenses.assigned_done,
        "unassign_license" => t.licenses.unassigned,
        "transfer_license" => t.licenses.transferred,
        "release_seat" => t.licenses.released_done,
        "activate_device" => t.licenses.activated_plain,
        "deactivate_device" => t.licenses.deactivated,
        _ => return None,
    })
}

/// The outcome of a plain (no-JavaScript) form post, carried back in `?done=`.
#[component]
pub fn UrlDone() -> impl IntoView {
    let t = use_texts();
    let query = use_query_map();
    move || {
        query
            .read()
            .get("done")
            .and_then(|code| done_message(&code, t))
            .map(|message| {
                view! {
                    <p role="status" class="mb-4 rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800" data-testid="done">
                        {message}
                    </p>
                }
            })
    }
}

/// The error a plain (no-JavaScript) form post carried back in `?error=`.
#[component]
pub fn UrlError() -> impl IntoView {
    let query = use_query_map();
    move || {
        query
            .read()
            .get("error")
            .and_then(|json| serde_json::from_str::<AppError>(&json).ok())
            .map(|error| view! { <ErrorBox error /> })
    }
}

#[component]
pub fn PageTitle(text: &'static str) -> impl IntoView {
    view! { <h1 class="mb-6 text-2xl font-semibold tracking-tight">{text}</h1> }
}

#[component]
pub fn Card(children: Children) -> impl IntoView {
    view! { <section class="mb-6 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-5">{children()}</section> }
}

/// A labelled text input.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    view! {
        <label class="block text-sm">
            <span class="mb-1 block font-medium text-slate-700">{label}</span>
            <input
                type=kind
                name=name
                autocomplete=autocomplete
                required=required
                class="w-full rounded-md border border-slate-300 px-3 py-2 focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500"
            />
        </label>
    }
}

// A form whose request is on its way is `aria-busy` (see `busy`): its buttons show it
// and take no second press.
pub const BUTTON: &str = "inline-flex items-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-50 group-aria-busy:pointer-events-none group-aria-busy:opacity-50 group-aria-busy:cursor-progress";
pub const BUTTON_SMALL: &str = "rounded border border-slate-300 bg-white px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-40 disabled:hover:bg-white group-aria-busy:pointer-events-none group-aria-busy:opacity-40";
pub const TABLE: &str = "min-w-full divide-y divide-slate-200 text-sm";
pub const TH: &str = "whitespace-nowrap px-3 py-2 text-left font-medium text-slate-600";
pub const TD: &str = "px-3 py-2 align-top";

/// The session resource, provided by the layout to every page.
#[derive(Clone, Copy)]
pub struct SessionResource(pub Data<Result<Option<SessionInfo>, AppError>>);

/// The session resource of the current page (pages are always inside the layout).
pub fn use_session() -> Option<SessionResource> {
    use_context::<SessionResource>()
}

/// Whether the signed-in admin holds at least `minimum` in the active tenant; awaited
/// inside a page's `Suspend`. Only for showing or hiding controls: every server
/// function authorises on its own.
pub async fn allowed(session: Option<SessionResource>, minimum: Role) -> bool {
    let Some(session) = session else { return false };
    let role = session
        .0
        .await
        .ok()
        .flatten()
        .and_then(|info| info.active)
        .map(|active| active.role);
    role.is_some_and(|role| role >= minimum)
}

/// False while server-rendered, true once this component runs in the browser (its
/// effects only run after hydration). Interactive parts expose it as `data-ready`, so
/// browser tests wait for exactly the part they use.
pub fn use_ready() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    ready
}

/// Renders `children` only for an admin who holds `minimum` in the active tenant (or a
/// platform administrator; `platform` pages are theirs alone). Anyone else sees whom
/// the page is for and what their own role allows, instead of forms that fail on
/// submit. Only presentation: every server function authorises on its own.
#[component]
pub fn RequiresRole(
    #[prop(optional)] minimum: Option<Role>,
    #[prop(optional)] platform: bool,
    children: ChildrenFn,
) -> impl IntoView {
    let t = use_texts();
    let session = use_session();
    view! {
        <Transition fallback=|| ()>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    let info = match session {
                        Some(session) => session.0.await.ok().flatten(),
                        None => None,
                    };
                    let role = info.as_ref().and_then(|i| i.active.as_ref()).map(|a| a.role);
                    let is_platform = info.as_ref().is_some_and(|i| i.is_platform_admin);
                    let permitted = is_platform
                        || (!platform && minimum.is_none_or(|m| role.is_some_and(|r| r >= m)));
                    if permitted {
                        return children().into_any();
                    }
                    let needed = if platform {
                        t.restricted_platform
                    } else {
                        minimum.map_or("", |m| crate::access::role_label(m, t))
                    };
                    let yours = role.map_or("—", |r| crate::access::role_label(r, t));
                    view! {
                        <section class="mb-6 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-5" data-testid="restricted">
                            <p class="text-slate-700">{t.restricted_for} " " <strong>{needed}</strong> {t.period}</p>
                            <p class="mt-1 text-sm text-slate-500">{t.your_role_here} {t.colon} {yours}{t.period} " " {t.restricted_hint}</p>
                        </section>
                    }
                    .into_any()
                })
            }}
        </Transition>
    }
}

/// A form ref that empties its form after each successful answer of `action`, so the
/// next submission is a new request (forms with an idempotency key derive a fresh key
/// from the action's version).
pub fn reset_on_success<S>(action: ServerAction<S>) -> NodeRef<leptos::html::Form>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_)))
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    form
}

/// The encoding of the resources' data in the page: JSON, as Leptos's default
/// (`JsonSerdeCodec`), but read back from bytes (`serde_json::from_slice`) as server
/// functions read their answers. A resource's value is a server function's answer, so
/// the browser then has one JSON reader per type instead of two (`from_str` and
/// `from_slice` are separate instantiations of every type's deserialiser); see
/// `docs/BENCHMARKS.md`, "First load".
pub struct Json;

impl<T: serde::Serialize> leptos::server::codee::Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(val)
    }
}

impl<T: serde::de::DeserializeOwned> leptos::server::codee::Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(val.as_bytes())
    }
}

/// A resource whose value travels in the page as [`Json`].
pub type Data<T> = Resource<T, Json>;

/// `Resource::new` with the [`Json`] encoding.
#[track_caller]
pub fn resource<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Data<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    S: PartialEq + Clone + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}
