use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::components::{
    BUTTON, BUTTON_SMALL, Card, ErrorBox, Outcome, OutcomeView, PageTitle, TABLE, TD, TH, UrlError,
    allowed, use_ready, use_session,
};
use crate::i18n::{Texts, use_texts};
use crate::licenses::LicensesNav;
use crate::licenses::api::{CreatePlan, IssueLicenses, UpdatePlan, list_plans};
use crate::members::list::tier_label;
use model::access::Role;
use model::licenses::{Issued, Plan};

/// License plans: what each issues by default, seats issued and free. Tenant admins
/// add plans, edit one at a time (`?edit=<plan id>`, a plain link), switch a plan off
/// (its `active` box) and issue seats from an active plan; the first keys issued are
/// shown at once.
#[component]
pub fn PlansPage() -> impl IntoView {
    let t = use_texts();
    let query = use_query_map();
    let editing = move || {
        query
            .read()
            .get("edit")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let create = ServerAction::<CreatePlan>::new();
    let update = ServerAction::<UpdatePlan>::new();
    let issue = ServerAction::<IssueLicenses>::new();
    let outcome = Outcome::default();
    outcome.follow(create, move |_| t.licenses.plan_created.to_owned());
    outcome.follow(update, move |_| t.licenses.plan_saved.to_owned());
    outcome.follow(issue, move |issued| {
        format!("{} {}{}", t.licenses.issued_count, issued.count, t.period)
    });
    let plans = crate::components::resource(
        move || {
            (
                create.version().get(),
                update.version().get(),
                issue.version().get(),
            )
        },
        |_| list_plans(),
    );
    let session = use_session();
    view! {
        <PageTitle text=t.licenses.plans_title />
        <LicensesNav />
        <UrlError />
        <OutcomeView outcome />
        <IssuedKeys issue t />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || {
                let editing = editing();
                Suspend::new(async move {
                    let editable = allowed(session, Role::TenantAdmin).await;
                    match plans.await {
                        Ok(plans) => {
                            let edited = editing.and_then(|id| plans.iter().find(|p| p.plan_id == id).cloned());
                            view! {
                                <Card><PlanTable plans editable issue t /></Card>
                                {editable.then(|| view! { <PlanEditor plan=edited create update t /> })}
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// The keys of the latest issue (the first 20), to hand over or copy.
#[component]
fn IssuedKeys(issue: ServerAction<IssueLicenses>, t: &'static Texts) -> impl IntoView {
    move || {
        let issued: Issued = issue.value().get()?.ok()?;
        Some(view! {
            <section class="mb-6 rounded-lg border border-emerald-200 bg-emerald-50 p-4 text-sm" data-testid="issued-keys">
                <p class="mb-2 font-medium">{t.licenses.first_keys} " (" {issued.first_keys.len()} " / " {issued.count} ")"</p>
                <ul class="grid gap-1 font-mono sm:grid-cols-2">
                    {issued.first_keys.into_iter().map(|key| view! { <li data-key=key.clone()>{key.clone()}</li> }).collect_view()}
                </ul>
            </section>
        })
    }
}

#[component]
fn PlanTable(
    plans: Vec<Plan>,
    editable: bool,
    issue: ServerAction<IssueLicenses>,
    t: &'static Texts,
) -> impl IntoView {
    if plans.is_empty() {
        return view! { <p class="text-sm text-slate-500" data-testid="plans">{t.licenses.no_plans}</p> }.into_any();
    }
    view! {
        <div class="overflow-x-auto"><table class=TABLE data-testid="plans">
            <thead><tr>
                <th class=TH>{t.code}</th><th class=TH>{t.name}</th><th class=format!("{TH} text-right")>{t.max_activations_label}</th>
                <th class=TH>{t.validity_days_label}</th><th class=TH>{t.status}</th>
                <th class=format!("{TH} text-right")>{t.licenses.issued}</th><th class=format!("{TH} text-right")>{t.licenses.free}</th>
                <th class=TH></th>
            </tr></thead>
            <tbody class="divide-y divide-slate-100 bg-white">
                {plans.into_iter().map(|plan| view! { <PlanRow plan editable issue t /> }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}

#[component]
fn PlanRow(
    plan: Plan,
    editable: bool,
    issue: ServerAction<IssueLicenses>,
    t: &'static Texts,
) -> impl IntoView {
    let name = tier_label(&plan.code, &plan.name_zh, &plan.name_en);
    let small = "w-28 rounded border border-slate-300 px-2 py-1 text-xs";
    let id = plan.plan_id.to_string();
    let issuable = editable && plan.active;
    view! {
        <tr data-code=plan.code.clone()>
            <td class=format!("{TD} font-mono")>{plan.code.clone()}</td>
            <td class=TD>{name}</td>
            <td class=format!("{TD} text-right tabular-nums")>{plan.default_max_activations}</td>
            <td class=format!("{TD} whitespace-nowrap")>{plan.default_validity_days.map_or_else(|| t.licenses.never.to_owned(), |d| format!("{d} {}", t.tags.days))}</td>
            <td class=TD>{if plan.active { t.active } else { t.disabled }}</td>
            <td class=format!("{TD} text-right tabular-nums") data-testid="issued">{plan.issued}</td>
            <td class=format!("{TD} text-right tabular-nums") data-testid="free">{plan.free}</td>
            <td class=TD>
                <div class="flex flex-wrap items-start gap-2">
                    <a href=format!("/licenses?plan={id}") class="text-indigo-600 hover:underline">{t.licenses.licenses_title}</a>
                    {editable.then(|| view! {
                        <a href=format!("/licenses/plans?edit={id}") class="text-indigo-600 hover:underline">{t.tags.edit}</a>
                    })}
                    {issuable.then(|| view! {
                        <details class="group" data-testid="issue">
                            <summary class=format!("{BUTTON_SMALL} inline-block cursor-pointer list-none")>{t.licenses.issue_open}</summary>
                            <ActionForm action=issue attr:class="group mt-1 space-y-1 rounded border border-slate-200 bg-slate-50 p-2" attr:aria-busy=move || issue.pending().get().then_some("true")>
                                <input type="hidden" name="plan_id" value=id.clone() />
                                <div class="flex flex-wrap gap-1">
                                    <input type="number" name="count" required=true min="1" max="10000" step="1" placeholder=t.count_label aria-label=t.count_label class=small />
                                    <input type="number" name="max_activations" min="1" step="1" placeholder=t.max_activations_label aria-label=t.max_activations_label class=small />
                                    <input type="date" name="expires_on" aria-label=t.licenses.expires_on class=small />
                                    <button type="submit" class=BUTTON_SMALL>{t.licenses.issue}</button>
                                </div>
                                <p class="text-xs text-slate-500">{t.licenses.issue_hint}</p>
                            </ActionForm>
                        </details>
                    })}
                </div>
            </td>
        </tr>
    }
}

/// The create form, or the edit form of the plan in `?edit=`.
#[component]
fn PlanEditor(
    plan: Option<Plan>,
    create: ServerAction<CreatePlan>,
    update: ServerAction<UpdatePlan>,
    t: &'static Texts,
) -> impl IntoView {
    let create_form = crate::components::reset_on_success(create);
    let ready = use_ready();
    let form = match plan {
        Some(plan) => view! {
            <h2 class="mb-3 font-semibold">{t.licenses.edit_plan} " " <span class="font-mono">{plan.code.clone()}</span></h2>
            <ActionForm action=update attr:aria-busy=move || update.pending().get().then_some("true") attr:class="group">
                <input type="hidden" name="plan_id" value=plan.plan_id.to_string() />
                <input type="hidden" name="row_version" value=plan.row_version.to_string() />
                <PlanFields plan=Some(plan) t />
                <div class="mt-4 flex flex-wrap items-center gap-4">
                    <button type="submit" class=BUTTON>{t.save}</button>
                    <a href="/licenses/plans" class="text-sm text-indigo-600 hover:underline">{t.licenses.new_plan}</a>
                </div>
            </ActionForm>
        }
        .into_any(),
        None => view! {
            <h2 class="mb-3 font-semibold">{t.licenses.new_plan}</h2>
            <ActionForm action=create node_ref=create_form attr:aria-busy=move || create.pending().get().then_some("true") attr:class="group">
                <PlanFields plan=None t />
                <button type="submit" class=format!("{BUTTON} mt-4")>{t.create}</button>
            </ActionForm>
        }
        .into_any(),
    };
    view! {
        <div data-testid="plan-editor" data-ready=move || ready.get().then_some("true")>
            <Card>{form}</Card>
        </div>
    }
}

/// The fields of the plan form (`plan[…]`), filled from `plan` when editing.
#[component]
fn PlanFields(plan: Option<Plan>, t: &'static Texts) -> impl IntoView {
    let input = "w-full rounded-md border border-slate-300 px-3 py-2";
    let label = "mb-1 block font-medium text-slate-700";
    let (code, name_zh, name_en, max, days, active) = match plan {
        Some(p) => (
            p.code,
            p.name_zh,
            p.name_en,
            p.default_max_activations.to_string(),
            p.default_validity_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            p.active,
        ),
        None => (
            String::new(),
            String::new(),
            String::new(),
            "1".to_owned(),
            String::new(),
            true,
        ),
    };
    view! {
        <div class="grid gap-4 sm:grid-cols-3">
            <label class="block text-sm">
                <span class=label>{t.code}</span>
                <input type="text" name="plan[code]" required=true maxlength="40" value=code class=input />
            </label>
            <label class="block text-sm">
                <span class=label>{t.name_zh}</span>
                <input type="text" name="plan[name_zh]" required=true maxlength="100" value=name_zh class=input />
            </label>
            <label class="block text-sm">
                <span class=label>{t.name_en}</span>
                <input type="text" name="plan[name_en]" required=true maxlength="100" value=name_en class=input />
            </label>
            <label class="block text-sm">
                <span class=label>{t.max_activations_label}</span>
                <input type="number" name="plan[default_max_activations]" required=true min="1" step="1" value=max class=input />
            </label>
            <label class="block text-sm">
                <span class=label>{t.validity_days_label}</span>
                <input type="number" name="plan[default_validity_days]" min="1" step="1" value=days placeholder=t.licenses.never class=input />
            </label>
            <label class="flex items-center gap-2 self-end pb-2 text-sm">
                <input type="checkbox" name="plan[active]" value="true" checked=active />
                {t.active}
            </label>
        </div>
        <p class="mt-2 text-xs text-slate-500">{t.licenses.plan_hint}</p>
    }
}
