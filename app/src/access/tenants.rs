use leptos::prelude::*;

use crate::access::api::{CreateTenant, list_tenants};
use crate::components::{
    ActionResult, BUTTON, Card, ErrorBox, Field, PageTitle, RequiresRole, TABLE, TD, TH, UrlError,
};
use crate::i18n::use_texts;
use crate::time::format_time;

#[component]
pub fn TenantsPage() -> impl IntoView {
    let t = use_texts();
    let create = ServerAction::<CreateTenant>::new();
    let create_form = crate::components::reset_on_success(create);
    let tenants = crate::components::resource(move || create.version().get(), |_| list_tenants());
    view! {
        <PageTitle text=t.access.tenants_title />
        <RequiresRole platform=true>
        <UrlError />
        <Card>
            <h2 class="mb-3 font-semibold">{t.access.create_tenant}</h2>
            <ActionForm action=create node_ref=create_form attr:aria-busy=move || create.pending().get().then_some("true") attr:class="group">
                <div class="grid gap-4 sm:grid-cols-[1fr_2fr_auto] sm:items-end">
                    <Field label=t.access.slug name="slug" required=true />
                    <Field label=t.name name="name" required=true />
                    <button type="submit" class=BUTTON>{t.create}</button>
                </div>
            </ActionForm>
            <div class="mt-3"><ActionResult value=move || create.value().get() success=t.created /></div>
        </Card>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                match tenants.await {
                    Ok(tenants) => view! {
                        <div class="overflow-x-auto"><table class=TABLE data-testid="tenants">
                            <thead><tr>
                                <th class=TH>{t.access.slug}</th><th class=TH>{t.name}</th><th class=TH>{t.created_at}</th>
                            </tr></thead>
                            <tbody class="divide-y divide-slate-100 bg-white">
                                {tenants.into_iter().map(|tenant| view! {
                                    <tr>
                                        <td class=format!("{TD} font-mono")>{tenant.slug}</td>
                                        <td class=TD>{tenant.name}</td>
                                        <td class=TD>{format_time(&tenant.created_at)}</td>
                                    </tr>
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
