use leptos::prelude::*;

use crate::access::api::{AddAdmin, ChangeAdminRole, SetAdminDisabled, list_admins};
use crate::components::{
    ActionResult, BUTTON, BUTTON_SMALL, Card, ErrorBox, Field, PageTitle, RequiresRole, TABLE, TD,
    TH, UrlError,
};
use crate::i18n::{Texts, use_texts};
use model::access::Role;
use model::access::admins::Member as Admin;

#[component]
pub fn AdminsPage() -> impl IntoView {
    let t = use_texts();
    let add = ServerAction::<AddAdmin>::new();
    let add_form = crate::components::reset_on_success(add);
    let change_role = ServerAction::<ChangeAdminRole>::new();
    let set_disabled = ServerAction::<SetAdminDisabled>::new();
    let admins = crate::components::resource(
        move || {
            (
                add.version().get(),
                change_role.version().get(),
                set_disabled.version().get(),
            )
        },
        |_| list_admins(),
    );
    view! {
        <PageTitle text=t.access.admins_title />
        <RequiresRole minimum=Role::TenantAdmin>
        <UrlError />
        <Card>
            <h2 class="mb-3 font-semibold">{t.access.add_admin}</h2>
            <ActionForm action=add node_ref=add_form attr:aria-busy=move || add.pending().get().then_some("true") attr:class="group">
                <div class="grid gap-4 sm:grid-cols-2">
                    <Field label=t.email name="email" kind="email" required=true />
                    <Field label=t.display_name name="display_name" required=true />
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium text-slate-700">{t.access.role}</span>
                        <RoleSelect selected=Role::Support />
                    </label>
                    <div>
                        <Field label=t.access.initial_password name="password" kind="password" autocomplete="new-password" required=true />
                        <p class="mt-1 text-xs text-slate-500">{t.access.initial_password_hint}</p>
                    </div>
                </div>
                <button type="submit" class=format!("{BUTTON} mt-4")>{t.access.add}</button>
            </ActionForm>
            <div class="mt-3"><ActionResult value=move || add.value().get() success=t.access.invited_added /></div>
        </Card>
        <ActionResult value=move || change_role.value().get() success=t.saved />
        <ActionResult value=move || set_disabled.value().get() success=t.saved />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                match admins.await {
                    Ok(admins) => view! {
                        <div class="overflow-x-auto"><table class=TABLE data-testid="admins">
                            <thead><tr>
                                <th class=TH>{t.email}</th>
                                <th class=TH>{t.display_name}</th>
                                <th class=TH>{t.access.role}</th>
                                <th class=TH>{t.status}</th>
                                <th class=TH></th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100 bg-white">
                                {admins.into_iter().map(|admin| view! {
                                    <AdminRow admin change_role set_disabled t />
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        </RequiresRole>
    }
}

#[component]
fn AdminRow(
    admin: Admin,
    change_role: ServerAction<ChangeAdminRole>,
    set_disabled: ServerAction<SetAdminDisabled>,
    t: &'static Texts,
) -> impl IntoView {
    let id = admin.admin_id.to_string();
    let id_for_disable = id.clone();
    view! {
        <tr data-email=admin.email.clone()>
            <td class=TD>{admin.email.clone()}</td>
            <td class=TD>{admin.display_name.clone()}</td>
            <td class=TD>
                <ActionForm action=change_role attr:aria-busy=move || change_role.pending().get().then_some("true") attr:class="group">
                    <input type="hidden" name="admin_id" value=id.clone() />
                    <div class="flex flex-wrap items-center gap-2">
                        <RoleSelect selected=admin.role />
                        <button type="submit" class=BUTTON_SMALL>{t.access.change_role}</button>
                    </div>
                </ActionForm>
            </td>
            <td class=TD>
                {if admin.disabled {
                    view! { <span class="text-red-700">{t.disabled}</span> }.into_any()
                } else if admin.invited {
                    view! { <span class="text-amber-700" data-status="invited">{t.access.invited}</span> }.into_any()
                } else {
                    view! { <span class="text-emerald-700">{t.active}</span> }.into_any()
                }}
            </td>
            <td class=TD>
                {if admin.disabled {
                    view! {
                        <ActionForm action=set_disabled attr:aria-busy=move || set_disabled.pending().get().then_some("true") attr:class="group">
                            <input type="hidden" name="admin_id" value=id_for_disable />
                            <input type="hidden" name="disabled" value="false" />
                            <button type="submit" class=BUTTON_SMALL>{t.access.enable}</button>
                        </ActionForm>
                    }.into_any()
                } else {
                    // Disabling ends the admin's access at once: a second step says so
                    // (a disclosure: no JavaScript needed).
                    view! {
                        <details>
                            <summary class=format!("{BUTTON_SMALL} inline-block cursor-pointer list-none")>{t.access.disable_open}</summary>
                            <ActionForm action=set_disabled attr:class="group mt-1 space-y-1 rounded border border-red-200 bg-red-50 p-2" attr:aria-busy=move || set_disabled.pending().get().then_some("true")>
                                <p class="text-xs text-red-800">{t.access.disable_effect}</p>
                                <input type="hidden" name="admin_id" value=id_for_disable />
                                <input type="hidden" name="disabled" value="true" />
                                <button type="submit" class=BUTTON_SMALL>{t.access.disable_now}</button>
                            </ActionForm>
                        </details>
                    }.into_any()
                }}
            </td>
        </tr>
    }
}

#[component]
fn RoleSelect(selected: Role) -> impl IntoView {
    let t = use_texts();
    view! {
        <select name="role" class="rounded-md border border-slate-300 px-2 py-1 text-sm">
            {Role::ALL.into_iter().map(|role| view! {
                <option value=role.as_str() selected=role == selected>{crate::access::role_label(role, t)}</option>
            }).collect_view()}
        </select>
    }
}
