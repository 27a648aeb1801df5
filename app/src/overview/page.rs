use leptos::prelude::*;

use crate::access::api::{current_tenant, get_session_info};
use crate::components::format_time;
use crate::components::{Card, ErrorBox, PageTitle};
use crate::i18n::use_texts;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let t = use_texts();
    let data = Resource::new(
        || (),
        |_| async { Ok((current_tenant().await?, get_session_info().await?)) },
    );
    view! {
        <PageTitle text=t.shell.overview_title />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((tenant, info)) => {
                        let role = info.as_ref().and_then(|i| i.active.as_ref()).map(|a| crate::access::role_label(a.role, t));
                        let platform = info.as_ref().is_some_and(|i| i.is_platform_admin);
                        view! {
                            <Card>
                                <h2 class="mb-3 text-xl font-semibold" data-testid="tenant-name">{tenant.name.clone()}</h2>
                                <dl class="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 text-sm">
                                    <dt class="text-slate-500">{t.shell.tenant_slug}</dt>
                                    <dd class="font-mono">{tenant.slug.clone()}</dd>
                                    <dt class="text-slate-500">{t.created_at}</dt>
                                    <dd>{format_time(&tenant.created_at)}</dd>
                                    <dt class="text-slate-500">{t.shell.your_role}</dt>
                                    <dd data-testid="role">{role}{platform.then(|| format!(" · {}", t.shell.platform_admin))}</dd>
                                </dl>
                            </Card>
                            <p class="text-sm text-slate-500">{t.shell.overview_hint}</p>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}
