use leptos::prelude::*;

use crate::components::format_time;
use crate::components::{
    ActionResult, BUTTON, Card, ErrorBox, PageTitle, RequiresRole, TABLE, TD, TH, UrlError,
    use_ready,
};
use crate::i18n::{Texts, use_texts};
use crate::webhooks::api::{SaveWebhook, get_webhook, webhook_deliveries, webhook_events};
use model::access::Role;
use model::webhooks::DeliveryAttempt;
use model::webhooks::OutboxEvent;
use model::webhooks::Webhook;

/// The tenant's webhook (tenant admins): where grant events go, the signing secret,
/// the reminder lead time, and what was sent (outbox events and delivery attempts).
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let t = use_texts();
    let save = ServerAction::<SaveWebhook>::new();
    let webhook = Resource::new(move || save.version().get(), |_| get_webhook());
    let events = Resource::new(move || save.version().get(), |_| webhook_events());
    let deliveries = Resource::new(move || save.version().get(), |_| webhook_deliveries());
    view! {
        <PageTitle text=t.webhooks.webhooks_title />
        <RequiresRole minimum=Role::TenantAdmin>
        <UrlError />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                match webhook.await {
                    Ok(webhook) => view! { <WebhookForm webhook save t /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        <Card>
            <h2 class="mb-3 font-semibold">{t.webhooks.outbox_events}</h2>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    match events.await {
                        Ok(events) if events.is_empty() => view! { <p class="text-sm text-slate-500">{t.no_entries}</p> }.into_any(),
                        Ok(events) => view! { <EventTable events t /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
        <Card>
            <h2 class="mb-3 font-semibold">{t.webhooks.delivery_log}</h2>
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    match deliveries.await {
                        Ok(deliveries) if deliveries.is_empty() => view! { <p class="text-sm text-slate-500">{t.no_entries}</p> }.into_any(),
                        Ok(deliveries) => view! { <DeliveryTable deliveries t /> }.into_any(),
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })}
            </Transition>
        </Card>
        </RequiresRole>
    }
}

#[component]
fn WebhookForm(
    webhook: Webhook,
    save: ServerAction<SaveWebhook>,
    t: &'static Texts,
) -> impl IntoView {
    let ready = use_ready();
    let input = "w-full rounded-md border border-slate-300 px-3 py-2";
    let label = "mb-1 block font-medium text-slate-700";
    view! {
        <div data-testid="webhook" data-ready=move || ready.get().then_some("true")>
        <Card>
            <ActionForm action=save attr:aria-busy=move || save.pending().get().then_some("true") attr:class="group">
                <div class="grid gap-4 sm:grid-cols-[1fr_10rem]">
                    <label class="block text-sm">
                        <span class=label>{t.webhooks.webhook_url}</span>
                        <input type="url" name="url" value=webhook.url.clone().unwrap_or_default()
                            placeholder="https://example.com/tierdesk/events" class=input />
                        <span class="mt-1 block text-xs text-slate-500">{t.webhooks.webhook_url_hint}</span>
                    </label>
                    <label class="block text-sm">
                        <span class=label>{t.webhooks.reminder_days}</span>
                        <input type="number" name="reminder_days" min="0" max="365" step="1" required=true
                            value=webhook.reminder_days.to_string() class=input />
                    </label>
                </div>
                <div class="mt-4 text-sm">
                    <span class=label>{t.webhooks.signing_secret}</span>
                    <code class="break-all rounded bg-slate-100 px-2 py-1" data-testid="webhook-secret">
                        {webhook.secret.clone().unwrap_or_else(|| "—".into())}
                    </code>
                    <p class="mt-1 text-xs text-slate-500">{t.webhooks.signing_secret_hint}</p>
                    <label class="mt-2 flex items-center gap-2">
                        <input type="checkbox" name="rotate_secret" value="true" />
                        {t.webhooks.rotate_secret}
                    </label>
                </div>
                <button type="submit" class=format!("{BUTTON} mt-4")>{t.save}</button>
            </ActionForm>
            <div class="mt-3"><ActionResult value=move || save.value().get() success=t.saved /></div>
        </Card>
        </div>
    }
}

#[component]
fn EventTable(events: Vec<OutboxEvent>, t: &'static Texts) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <div class="overflow-x-auto"><table class=TABLE data-testid="outbox-events">
                <thead><tr>
                    <th class=TH>{t.seq}</th><th class=TH>{t.when}</th><th class=TH>{t.webhooks.topic}</th>
                    <th class=TH>{t.status}</th><th class=format!("{TH} text-right")>{t.webhooks.attempts}</th>
                    <th class=TH>{t.webhooks.last_error}</th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {events.into_iter().map(|e| view! {
                        <tr data-event=e.event_id data-status=e.status.clone()>
                            <td class=format!("{TD} tabular-nums text-slate-500")>{e.event_id}</td>
                            <td class=format!("{TD} whitespace-nowrap")>{format_time(&e.created_at)}</td>
                            <td class=format!("{TD} font-mono text-xs")>{e.topic.clone()}</td>
                            <td class=TD>{crate::webhooks::status_label(&e.status, t)}</td>
                            <td class=format!("{TD} text-right tabular-nums")>{e.attempts}</td>
                            <td class=format!("{TD} text-xs text-red-700")>{e.last_error.clone().unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
        </div>
    }
}

#[component]
fn DeliveryTable(deliveries: Vec<DeliveryAttempt>, t: &'static Texts) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <div class="overflow-x-auto"><table class=TABLE data-testid="deliveries">
                <thead><tr>
                    <th class=TH>{t.when}</th><th class=TH>{t.webhooks.event}</th><th class=format!("{TH} text-right")>{t.webhooks.attempt}</th>
                    <th class=TH>{t.webhooks.http_status}</th><th class=TH>{t.webhooks.error}</th>
                    <th class=format!("{TH} text-right")>{t.webhooks.duration_ms}</th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {deliveries.into_iter().map(|d| view! {
                        <tr data-delivery=d.delivery_id>
                            <td class=format!("{TD} whitespace-nowrap")>{format_time(&d.created_at)}</td>
                            <td class=TD>"#" {d.event_id} " " <span class="font-mono text-xs">{d.topic.clone()}</span></td>
                            <td class=format!("{TD} text-right tabular-nums")>{d.attempt}</td>
                            <td class=format!("{TD} tabular-nums")>{d.status_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into())}</td>
                            <td class=format!("{TD} text-xs text-red-700")>{d.error.clone().unwrap_or_default()}</td>
                            <td class=format!("{TD} text-right tabular-nums")>{d.duration_ms}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table></div>
        </div>
    }
}
