use leptos::prelude::*;

use crate::components::{
    ActionResult, BUTTON, BUTTON_SMALL, Card, ErrorBox, Outcome, OutcomeView, PageTitle,
    RequiresRole, TABLE, TD, TH, UrlError, use_ready,
};
use crate::i18n::{Texts, use_texts};
use crate::time::format_time;
use crate::webhooks::api::{
    RedeliverWebhook, SaveWebhook, SendTestWebhook, get_webhook, webhook_deliveries, webhook_events,
};
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
    let test = ServerAction::<SendTestWebhook>::new();
    let redeliver = ServerAction::<RedeliverWebhook>::new();
    let sent = Outcome::default();
    sent.follow(test, move |id| format!("{} #{id}", t.webhooks.test_queued));
    sent.follow(redeliver, move |id| {
        format!("{} #{id}", t.webhooks.redelivery_queued)
    });
    let changes = move || {
        (
            save.version().get(),
            test.version().get(),
            redeliver.version().get(),
        )
    };
    let webhook = crate::components::resource(move || save.version().get(), |_| get_webhook());
    let events = crate::components::resource(changes, |_| webhook_events());
    let deliveries = crate::components::resource(changes, |_| webhook_deliveries());
    view! {
        <PageTitle text=t.webhooks.webhooks_title />
        <RequiresRole minimum=Role::TenantAdmin>
        <UrlError />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || Suspend::new(async move {
                match webhook.await {
                    Ok(webhook) => view! { <WebhookForm webhook save test t /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
        <Card>
            <h2 class="mb-3 font-semibold">{t.webhooks.outbox_events}</h2>
            <OutcomeView outcome=sent />
            <Transition fallback=move || view! { <p>{t.loading}</p> }>
                {move || Suspend::new(async move {
                    match events.await {
                        Ok(events) if events.is_empty() => view! { <p class="text-sm text-slate-500">{t.no_entries}</p> }.into_any(),
                        Ok(events) => view! { <EventTable events redeliver t /> }.into_any(),
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
    test: ServerAction<SendTestWebhook>,
    t: &'static Texts,
) -> impl IntoView {
    let has_url = webhook.url.is_some();
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
                    // Masked until asked for (a disclosure: no JavaScript needed).
                    <details>
                        <summary class="cursor-pointer text-indigo-700">"•••••••• " {t.webhooks.reveal_secret}</summary>
                        <code class="mt-1 inline-block break-all rounded bg-slate-100 px-2 py-1" data-testid="webhook-secret">
                            {webhook.secret.clone().unwrap_or_else(|| "—".into())}
                        </code>
                    </details>
                    <p class="mt-1 text-xs text-slate-500">{t.webhooks.signing_secret_hint}</p>
                    <label class="mt-2 flex items-center gap-2">
                        <input type="checkbox" name="rotate_secret" value="true" />
                        {t.webhooks.rotate_secret}
                    </label>
                </div>
                <button type="submit" class=format!("{BUTTON} mt-4")>{t.save}</button>
            </ActionForm>
            <div class="mt-3"><ActionResult value=move || save.value().get() success=t.saved /></div>
            {has_url.then(|| view! {
                <ActionForm action=test attr:aria-busy=move || test.pending().get().then_some("true") attr:class="group mt-4 border-t border-slate-100 pt-4">
                    <button type="submit" class=BUTTON_SMALL>{t.webhooks.send_test}</button>
                    <span class="ml-2 text-xs text-slate-500">{t.webhooks.send_test_hint}</span>
                </ActionForm>
            })}
        </Card>
        </div>
    }
}

#[component]
fn EventTable(
    events: Vec<OutboxEvent>,
    redeliver: ServerAction<RedeliverWebhook>,
    t: &'static Texts,
) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <table class=TABLE data-testid="outbox-events">
                <thead><tr>
                    <th class=TH>{t.seq}</th><th class=TH>{t.when}</th><th class=TH>{t.webhooks.topic}</th>
                    <th class=TH>{t.status}</th><th class=format!("{TH} text-right")>{t.webhooks.attempts}</th>
                    <th class=TH>{t.webhooks.last_error}</th><th class=TH>{t.webhooks.payload}</th><th class=TH></th>
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
                            <td class=TD>
                                <details>
                                    <summary class="cursor-pointer text-xs text-indigo-700">{t.webhooks.show_payload}</summary>
                                    <pre class="mt-1 max-w-md overflow-x-auto rounded bg-slate-50 p-2 text-xs">{serde_json::to_string_pretty(&e.payload).unwrap_or_default()}</pre>
                                </details>
                            </td>
                            <td class=TD>
                                <ActionForm action=redeliver attr:aria-busy=move || redeliver.pending().get().then_some("true") attr:class="group">
                                    <input type="hidden" name="event_id" value=e.event_id.to_string() />
                                    <button type="submit" class=BUTTON_SMALL>{t.webhooks.redeliver}</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn DeliveryTable(deliveries: Vec<DeliveryAttempt>, t: &'static Texts) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <table class=TABLE data-testid="deliveries">
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
            </table>
        </div>
    }
}
