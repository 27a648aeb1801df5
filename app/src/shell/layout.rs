use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

use crate::access::api::get_session_info;
use crate::access::api::list_invitations;
use crate::components::{BUTTON_SMALL, ErrorBox, SessionResource, UrlDone};
use crate::error::AppError;
use crate::i18n::{Lang, use_texts};
use crate::points::api::pending_adjustment_count;
use model::access::Role;
use model::access::SessionInfo;
use model::access::admins::Invitation;

/// The signed-in frame: header with tenant switcher and account, open invitations,
/// navigation, and the page. Signed-out visitors are sent to the sign-in page with the
/// page as `next` (on the server as a 303).
///
/// The page (`Outlet`) sits outside any suspense boundary so that pages hydrate on
/// their own; the session is shared with them as a resource ([`SessionResource`]).
#[component]
pub fn Layout() -> impl IntoView {
    let t = use_texts();
    let info = crate::components::resource(|| (), |_| get_session_info());
    provide_context(SessionResource(info));
    // Folds the phone menu again after each navigation (in the browser).
    let nav_toggle = NodeRef::<leptos::html::Input>::new();
    let location = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        location.pathname.track();
        if let Some(toggle) = nav_toggle.get_untracked() {
            toggle.set_checked(false);
        }
    });
    // Requests waiting for a decision, shown on the Approvals link; refreshed on every
    // navigation (one indexed count), asked only for roles that see approvals.
    let pending = crate::components::resource(
        move || location.pathname.get(),
        move |_| async move {
            let role = info
                .await
                .ok()
                .flatten()
                .and_then(|i| i.active)
                .map(|a| a.role);
            if role.is_some_and(|role| role >= Role::Support) {
                pending_adjustment_count().await.unwrap_or(0)
            } else {
                0
            }
        },
    );
    let nav_link = "block rounded-md px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700";
    view! {
        <header class="flex min-h-14 flex-wrap items-center gap-x-4 gap-y-2 border-b border-slate-200 bg-white px-4 py-3 sm:px-6">
            // On phones the navigation folds away behind this toggle (a checkbox and its
            // label: it works without JavaScript); from `md` up it is a sidebar.
            <label for="nav-toggle" class="cursor-pointer rounded-md border border-slate-300 px-2 py-1 text-sm text-slate-700 md:hidden" data-testid="nav-toggle">
                <span aria-hidden="true">"☰ "</span>{t.shell.menu}
            </label>
            <a href="/" class="text-lg font-bold text-indigo-700">{t.product}</a>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(Some(info)) => view! { <Account info /> }.into_any(),
                        Ok(None) | Err(AppError::Unauthenticated) => view! { <ToSignIn /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </header>
        <div class="md:flex">
            <input type="checkbox" id="nav-toggle" class="peer sr-only" node_ref=nav_toggle />
            <nav class="hidden w-full shrink-0 space-y-1 border-b border-slate-200 bg-white p-3 peer-checked:block md:block md:w-52 md:border-0 md:bg-transparent md:p-4" aria-label="main">
                <A href="/" exact=true attr:class=nav_link>{t.shell.nav_overview}</A>
                <A href="/members" attr:class=nav_link>{t.shell.nav_members}</A>
                <A href="/levels" attr:class=nav_link>{t.shell.nav_levels}</A>
                <A href="/tags" attr:class=nav_link>{t.shell.nav_tags}</A>
                <A href="/expiring" attr:class=nav_link>{t.shell.nav_expiring}</A>
                <A href="/licenses" attr:class=nav_link>{t.licenses.nav}</A>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let info = info.await.ok().flatten();
                        let role = info.as_ref().and_then(|i| i.active.as_ref()).map(|a| a.role);
                        let can = |minimum: Role| role.is_some_and(|r| r >= minimum);
                        let platform = info.as_ref().is_some_and(|i| i.is_platform_admin);
                        let count = pending.await;
                        view! {
                            {can(Role::Support).then(|| view! {
                                <A href="/approvals" attr:class=nav_link>
                                    {t.shell.nav_approvals}
                                    {(count > 0).then(|| view! {
                                        <span class="ml-2 rounded-full bg-amber-100 px-2 text-xs font-semibold text-amber-800" data-testid="pending-count"
                                            title=t.shell.pending_count_title>{count}</span>
                                    })}
                                </A>
                            })}
                            {platform.then(|| view! { <A href="/tenants" attr:class=nav_link>{t.shell.nav_tenants}</A> })}
                            {can(Role::TenantAdmin).then(|| view! { <A href="/admins" attr:class=nav_link>{t.shell.nav_admins}</A> })}
                            {can(Role::TenantAdmin).then(|| view! { <A href="/webhooks" attr:class=nav_link>{t.shell.nav_webhooks}</A> })}
                            {can(Role::TenantAdmin).then(|| view! { <A href="/api-keys" attr:class=nav_link>{t.shell.nav_api_keys}</A> })}
                            // Tenant admins migrate and roll out; every role may read these pages.
                            {role.is_some().then(|| view! {
                                <A href="/migration" exact=true attr:class=nav_link>{crate::migration::i18n::nav_label(use_context::<Lang>().unwrap_or(Lang::Zh))}</A>
                                <A href="/migration/run" attr:class=nav_link>{crate::migration::run_i18n::title(use_context::<Lang>().unwrap_or(Lang::Zh))}</A>
                                <A href="/rollout" attr:class=nav_link>{crate::rollout::i18n::title(use_context::<Lang>().unwrap_or(Lang::Zh))}</A>
                            })}
                            {can(Role::Support).then(|| view! { <A href="/audit" attr:class=nav_link>{t.shell.nav_audit}</A> })}
                        }
                    })}
                </Transition>
            </nav>
            <main class="min-w-0 flex-1 p-4 sm:p-6">
                <Invitations />
                <UrlDone />
                <Outlet />
            </main>
        </div>
    }
}

#[component]
fn Account(info: SessionInfo) -> impl IntoView {
    let t = use_texts();
    // The switcher only for people with more than one tenant; everyone sees where they are.
    let switcher = (info.tenants.len() > 1).then(|| view! { <TenantSwitcher info=info.clone() /> });
    let single = (info.tenants.len() <= 1)
        .then(|| info.active.clone())
        .flatten()
        .map(|tenant| view! { <span class="text-sm text-slate-600" data-testid="current-tenant">{tenant.name}</span> });
    view! {
        {switcher}
        {single}
        <div class="ml-auto flex flex-wrap items-center gap-x-4 gap-y-2 text-sm">
            <span class="text-slate-600" data-testid="signed-in-as">
                {info.display_name.clone()} <span class="hidden sm:inline">" · " {info.email.clone()}</span>
            </span>
            <LanguageLink />
            <form method="post" action="/api/sign_out">
                <button type="submit" class=BUTTON_SMALL>{t.shell.sign_out}</button>
            </form>
        </div>
    }
}

/// Sends a signed-out visitor to the sign-in page with this page as `next`: on the
/// server a `303 See Other` (set by the request context, like every other signed-out
/// path of a page render, so that they agree).
#[cfg(feature = "ssr")]
#[component]
fn ToSignIn() -> impl IntoView {
    crate::context::redirect_to_sign_in();
}

/// Sends a signed-out visitor to the sign-in page with this page as `next`: in the
/// browser a navigation (the session ended while the console was open).
#[cfg(not(feature = "ssr"))]
#[component]
fn ToSignIn() -> impl IntoView {
    use leptos_router::components::Redirect;
    let location = leptos_router::hooks::use_location();
    let search = location.search.get_untracked();
    let mut here = location.pathname.get_untracked();
    if !search.is_empty() {
        here.push('?');
        here.push_str(&search);
    }
    view! { <Redirect path=crate::access::sign_in::sign_in_location(&here) /> }
}

/// The signed-in account's open invitations into other tenants, each with plain forms
/// to accept or decline (so that both work without JavaScript and reload every page
/// resource afterwards). Nothing is shown when there are none.
#[component]
fn Invitations() -> impl IntoView {
    let invitations = crate::components::resource(|| (), |_| list_invitations());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                invitations
                    .await
                    .ok()
                    .filter(|list| !list.is_empty())
                    .map(|list| view! { <InvitationList list /> })
            })}
        </Transition>
    }
}

#[component]
fn InvitationList(list: Vec<Invitation>) -> impl IntoView {
    let t = use_texts();
    view! {
        <section class="mb-6 rounded-lg border border-amber-200 bg-amber-50 p-4 text-sm" data-testid="invitations">
            <h2 class="mb-2 font-semibold">{t.shell.invitations_title}</h2>
            <ul class="space-y-2">
                {list.into_iter().map(|invitation| {
                    let id = invitation.tenant_id.to_string();
                    let slug = invitation.tenant_slug.clone();
                    view! {
                        <li class="flex flex-wrap items-center gap-3" data-tenant=slug>
                            <span>
                                {t.shell.invitation_to} " " <strong>{invitation.tenant_name}</strong>
                                " (" {invitation.tenant_slug} ") · " {crate::access::role_label(invitation.role, t)}
                            </span>
                            <form method="post" action="/api/accept_invitation">
                                <input type="hidden" name="tenant_id" value=id.clone() />
                                <button type="submit" class=BUTTON_SMALL>{t.shell.accept}</button>
                            </form>
                            <form method="post" action="/api/decline_invitation">
                                <input type="hidden" name="tenant_id" value=id />
                                <button type="submit" class=BUTTON_SMALL>{t.shell.decline}</button>
                            </form>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

/// A plain form so that switching works without JavaScript and reloads every page
/// resource for the new tenant.
#[component]
fn TenantSwitcher(info: SessionInfo) -> impl IntoView {
    let t = use_texts();
    let active_id = info.active.as_ref().map(|a| a.tenant_id);
    let options = info
        .tenants
        .into_iter()
        .map(|tenant| {
            let selected = Some(tenant.tenant_id) == active_id;
            view! {
                <option value=tenant.tenant_id.to_string() selected=selected>
                    {tenant.name} " (" {tenant.slug} ")"
                </option>
            }
        })
        .collect_view();
    view! {
        <form method="post" action="/api/switch_tenant" class="flex flex-wrap items-center gap-2 text-sm">
            <label for="tenant-switcher" class="text-slate-500">{t.shell.tenant}</label>
            <select id="tenant-switcher" name="tenant_id" class="rounded-md border border-slate-300 px-2 py-1">
                {options}
            </select>
            <button type="submit" class=BUTTON_SMALL>{t.shell.switch}</button>
        </form>
    }
}

/// Switches the UI language (a cookie set by the server, then back to this page).
#[component]
pub fn LanguageLink() -> impl IntoView {
    let t = use_texts();
    let other = match use_context::<Lang>().unwrap_or(Lang::Zh) {
        Lang::Zh => "en",
        Lang::En => "zh",
    };
    view! {
        <a href=format!("/lang/{other}") rel="external" class="text-indigo-600 hover:underline" data-testid="language">
            {t.shell.switch_language}
        </a>
    }
}
