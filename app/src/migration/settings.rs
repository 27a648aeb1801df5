//! The mapping and formula editor and its live sample.
//!
//! One form holds every coefficient, a tag select per legacy user type and the sample's
//! external id. Save posts it (an `ActionForm`: with or without JavaScript) as the next
//! version after the one shown; a version saved meanwhile is refused as stale. The
//! sample shows what one legacy member would get from the values in the form, saved or
//! not: with JavaScript it follows every edit through a server function; without, the
//! Preview button submits the same form as a GET of this page, which computes the sample
//! while rendering and shows the form with the previewed values. Preview is the form's
//! first button, so Enter in a field previews rather than saves. Other roles than tenant
//! admins see the values read-only (they may still look up a member in the sample).

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::{BUTTON, BUTTON_SMALL, Data, TABLE, TD, TH, allowed, use_session};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::migration::api::{
    MigrationSample, SaveMigrationSettings, migration_sample, migration_settings,
};
use crate::migration::form::{FORMULA_FIELDS, formula_form, mapping_form, mapping_key};
use crate::migration::i18n::{Texts, use_migration_texts};
use crate::migration::page::ProblemBox;
use crate::time::format_time;
use model::access::Role;
use model::migration::Settings;
use model::migration::legacy::Summary;
use model::migration::sample::{Named, Sample};
use model::tags::Tag;

const SECTION: &str = "mb-6 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-5";
const INPUT: &str = "w-full rounded-md border border-slate-300 px-3 py-2 read-only:bg-slate-50 focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500";

/// The form's values as a plain Preview sent them in the query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Proposed {
    formula: BTreeMap<String, String>,
    mapping: BTreeMap<String, String>,
    external_id: String,
}

/// `?preview=1&formula[…]=…&mapping[t…]=…&external_id=…`, when present.
fn proposed_from_query(query: &leptos_router::params::ParamsMap) -> Option<Proposed> {
    query.get_str("preview")?;
    let mut proposed = Proposed {
        formula: BTreeMap::new(),
        mapping: BTreeMap::new(),
        external_id: query.get("external_id").unwrap_or_default(),
    };
    for (key, value) in query {
        let inner = |prefix: &str| {
            key.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_owned)
        };
        if let Some(field) = inner("formula[") {
            proposed.formula.insert(field, value.to_owned());
        } else if let Some(user_type) = inner("mapping[") {
            proposed.mapping.insert(user_type, value.to_owned());
        }
    }
    Some(proposed)
}

#[component]
pub fn MappingAndFormula(summary: Data<Result<Summary, AppError>>) -> impl IntoView {
    let t = use_migration_texts();
    let shared = crate::i18n::use_texts();
    let save = ServerAction::<SaveMigrationSettings>::new();
    let settings =
        crate::components::resource(move || save.version().get(), |_| migration_settings());
    let tags = crate::components::resource(|| (), |_| crate::tags::api::list_tags());
    let session = use_session();
    let query = use_query_map();
    let proposed = move || query.with(proposed_from_query);
    let plain_sample = crate::components::resource(proposed, |proposed| async move {
        let proposed = proposed.filter(|p| !p.external_id.trim().is_empty())?;
        Some(
            migration_sample(
                proposed.external_id,
                proposed.formula,
                Some(proposed.mapping),
            )
            .await,
        )
    });
    let just_saved = move || query.read().get("done").as_deref() == Some("save_migration_settings");
    view! {
        <section id="migration-settings" class=SECTION data-testid="migration-settings">
            <h2 class="mb-1 font-semibold">{t.settings_title}</h2>
            <p class="mb-4 text-sm text-slate-600">{t.settings_hint}</p>
            <Transition fallback=move || view! { <p>{shared.loading}</p> }>
                {move || Suspend::new(async move {
                    let editable = allowed(session, Role::TenantAdmin).await;
                    let settings = match settings.await {
                        Ok(settings) => settings,
                        Err(error) => return view! { <ProblemBox error /> }.into_any(),
                    };
                    let summary = summary.await.ok();
                    let tags = tags.await.unwrap_or_default();
                    let plain = plain_sample.await;
                    view! {
                        <Editor settings summary tags editable proposed=proposed() plain
                            just_saved=just_saved() save t />
                    }
                    .into_any()
                })}
            </Transition>
        </section>
    }
}

/// The legacy user types the mapping has a row for: the tenant's types, the types its
/// members name without the tenant having them, and any type the mapping lists.
fn type_rows(
    summary: Option<&Summary>,
    mappings: &[&BTreeMap<String, String>],
) -> Vec<(i32, Option<String>)> {
    let mut rows: BTreeMap<i32, Option<String>> = BTreeMap::new();
    if let Some(summary) = summary {
        for ty in &summary.types {
            rows.insert(ty.type_id, Some(ty.name.clone()));
        }
        for count in &summary.per_type {
            rows.entry(count.type_id).or_insert(None);
        }
    }
    for mapping in mappings {
        for key in mapping.keys() {
            if let Some(id) = key.strip_prefix('t').and_then(|id| id.parse().ok()) {
                rows.entry(id).or_insert(None);
            }
        }
    }
    rows.into_iter().collect()
}

#[component]
fn Editor(
    settings: Settings,
    summary: Option<Summary>,
    tags: Vec<Tag>,
    editable: bool,
    proposed: Option<Proposed>,
    plain: Option<Result<Sample, AppError>>,
    just_saved: bool,
    save: ServerAction<SaveMigrationSettings>,
    t: &'static Texts,
) -> impl IntoView {
    let lang = use_context::<Lang>().unwrap_or(Lang::Zh);
    let saved_mapping = mapping_form(&settings.mapping);
    let (formula, mapping, external_id) = match proposed {
        Some(p) => (p.formula, p.mapping, p.external_id),
        None => (
            formula_form(&settings.formula),
            saved_mapping.clone(),
            String::new(),
        ),
    };
    let rows = type_rows(summary.as_ref(), &[&saved_mapping, &mapping]);
    let form_ref = NodeRef::<leptos::html::Form>::new();
    let sample = ServerAction::<MigrationSample>::new();
    // Browser tests wait for this before typing into the form (the sample follows input
    // only once hydrated).
    let ready = crate::components::use_ready();
    // Recomputes the sample from the form's current values (in the browser).
    let refresh = move || {
        #[cfg(feature = "hydrate")]
        {
            use leptos::form::FromFormData;
            let Some(form) = form_ref.get_untracked() else {
                return;
            };
            let Ok(data) = leptos::web_sys::FormData::new_with_form(&form) else {
                return;
            };
            if let Ok(args) = MigrationSample::from_form_data(&data)
                && !args.external_id.trim().is_empty()
            {
                sample.dispatch(args);
            }
        }
    };
    let version = settings.version;
    let header = view! {
        <p class="mb-4 text-sm text-slate-700" data-testid="settings-version" data-version=version.to_string()>
            {t.version} {t.colon}
            {if version == 0 { t.version_defaults.to_owned() } else { version.to_string() }}
            {settings.saved_at.as_ref().map(|at| format!(" · {}", format_time(at)))}
            {settings.saved_by.clone().map(|by| format!(" · {} {by}", t.saved_by))}
        </p>
        {just_saved.then(|| view! {
            <p role="status" class="mb-3 text-sm text-emerald-700" data-testid="settings-saved">{t.saved} " " {version}</p>
        })}
        {(!editable).then(|| view! { <p class="mb-3 text-sm text-slate-500" data-testid="settings-read-only">{t.read_only}</p> })}
    };
    let fields = view! {
        <input type="hidden" name="based_on" value=version.to_string() />
        <div on:input=move |_| refresh()>
            <h3 class="mb-2 text-sm font-semibold text-slate-800">{t.formula_title}</h3>
            <div class="grid gap-3 sm:grid-cols-3">
                {FORMULA_FIELDS.into_iter().map(|field| view! {
                    <label class="block text-sm">
                        <span class="mb-1 block font-medium text-slate-700">{t.field(field).unwrap_or(field)}</span>
                        <input type="number" name=format!("formula[{field}]") value=formula.get(field).cloned().unwrap_or_default()
                            min="0" max="1000000" step="1" required=true readonly=!editable class=INPUT />
                    </label>
                }).collect_view()}
            </div>
            <h3 class="mb-2 mt-6 text-sm font-semibold text-slate-800">{t.mapping_title}</h3>
            {if rows.is_empty() {
                view! { <p class="text-sm text-slate-500">{t.no_types}</p> }.into_any()
            } else {
                view! {
                    <div class="overflow-x-auto"><table class=TABLE data-testid="mapping">
                        <thead><tr><th class=TH>{t.user_type}</th><th class=TH>{t.tag}</th></tr></thead>
                        <tbody class="divide-y divide-slate-100 bg-white">
                            {rows.into_iter().map(|(type_id, name)| {
                                let current = mapping.get(&mapping_key(type_id)).cloned().filter(|c| !c.is_empty());
                                view! {
                                    <tr data-type=type_id.to_string()>
                                        <td class=TD>
                                            <span class="tabular-nums">{type_id}</span> " · "
                                            {match name {
                                                Some(name) => view! { <span>{name}</span> }.into_any(),
                                                None => view! { <span class="text-amber-700">{t.unknown_type}</span> }.into_any(),
                                            }}
                                        </td>
                                        <td class=TD><TagSelect type_id current tags=tags.clone() editable lang t /></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
            <h3 class="mb-1 mt-6 text-sm font-semibold text-slate-800">{t.sample_title}</h3>
            <p class="mb-2 text-sm text-slate-600">{t.sample_hint}</p>
            <div class="flex flex-wrap items-end gap-3">
                <label class="block text-sm">
                    <span class="mb-1 block font-medium text-slate-700">{t.external_id}</span>
                    <input type="text" name="external_id" value=external_id autocomplete="off" class=INPUT data-testid="sample-external-id" />
                </label>
                // Without JavaScript: a GET of this page with the form's values. With
                // it: recompute in place (the sample also follows every edit).
                <button type="submit" formaction="/migration" formmethod="get" name="preview" value="1"
                    class=BUTTON_SMALL data-testid="sample-preview"
                    on:click=move |ev| { ev.prevent_default(); refresh(); }>
                    {t.preview}
                </button>
            </div>
        </div>
        <div class="mt-3" data-testid="sample" aria-live="polite" data-ready=move || ready.get().then_some("true")>
            {move || match sample.value().get().or_else(|| plain.clone()) {
                Some(Ok(sample)) => view! { <SampleView sample lang t /> }.into_any(),
                Some(Err(error)) => view! { <ProblemBox error /> }.into_any(),
                None => ().into_any(),
            }}
        </div>
    };
    let form = if editable {
        view! {
            <ActionForm action=save node_ref=form_ref attr:class="group" attr:data-testid="settings-form"
                attr:aria-busy=move || save.pending().get().then_some("true")>
                {fields}
                <div class="mt-6"><button type="submit" class=BUTTON data-testid="settings-save">{t.save}</button></div>
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            <form method="get" action="/migration" node_ref=form_ref data-testid="settings-form">{fields}</form>
        }
        .into_any()
    };
    view! {
        {header}
        {form}
        <div class="mt-3">
            {move || match save.value().get() {
                Some(Ok(saved)) => view! {
                    <p role="status" class="text-sm text-emerald-700" data-testid="settings-saved">{t.saved} " " {saved.version}</p>
                }.into_any(),
                Some(Err(error)) => view! { <ProblemBox error /> }.into_any(),
                None => ().into_any(),
            }}
        </div>
    }
}

/// A tag select for one user type: none, or a tag of the catalogue; a mapped code the
/// catalogue lacks is shown as such (saving it is refused). Read-only roles get the
/// select disabled, with its value in a hidden field so that Preview still sends it.
#[component]
fn TagSelect(
    type_id: i32,
    current: Option<String>,
    tags: Vec<Tag>,
    editable: bool,
    lang: Lang,
    t: &'static Texts,
) -> impl IntoView {
    let name = format!("mapping[{}]", mapping_key(type_id));
    let missing = current
        .clone()
        .filter(|code| !tags.iter().any(|tag| &tag.code == code));
    let hidden = (!editable).then(|| {
        view! { <input type="hidden" name=name.clone() value=current.clone().unwrap_or_default() /> }
    });
    view! {
        <select name=(editable).then(|| name.clone()) disabled=!editable aria-label=t.tag
            class="w-full min-w-40 rounded-md border border-slate-300 px-2 py-2 disabled:bg-slate-50">
            <option value="" selected=current.is_none()>{t.no_tag}</option>
            {tags.into_iter().map(|tag| {
                let selected = current.as_deref() == Some(tag.code.as_str());
                let label = format!("{} · {}", tag.code, match lang { Lang::Zh => &tag.name_zh, Lang::En => &tag.name_en });
                view! { <option value=tag.code.clone() selected=selected>{label}</option> }
            }).collect_view()}
            {missing.map(|code| view! {
                <option value=code.clone() selected=true>{format!("{code} ({})", t.not_in_catalogue)}</option>
            })}
        </select>
        {hidden}
    }
}

fn named(named: &Named, lang: Lang) -> String {
    let name = match lang {
        Lang::Zh => &named.name_zh,
        Lang::En => &named.name_en,
    };
    format!("{name} ({})", named.code)
}

/// "This member would get …": the formula's parts, the total, the level and the tag.
#[component]
fn SampleView(sample: Sample, lang: Lang, t: &'static Texts) -> impl IntoView {
    let right = format!("{TD} text-right tabular-nums");
    let level = match &sample.level {
        Some(level) => named(level, lang),
        None => t.no_level.to_owned(),
    };
    let tag = match (&sample.tag, &sample.tag_names) {
        (_, Some(names)) => named(names, lang),
        (Some(code), None) => format!("{code} ({})", t.not_in_catalogue),
        (None, None) => t.no_tag.to_owned(),
    };
    let user_type = match &sample.type_name {
        Some(name) => format!("{} · {name}", sample.user_type),
        None => format!("{} · {}", sample.user_type, t.unknown_type),
    };
    view! {
        <div class="rounded-md border border-slate-200 p-3" data-testid="sample-result"
            data-total=sample.total.to_string() data-level=sample.level.as_ref().map(|l| l.code.clone()).unwrap_or_default()
            data-tag=sample.tag.clone().unwrap_or_default()>
            <p class="mb-2 text-sm">
                <span class="font-mono">{sample.external_id.clone()}</span> " · " {t.user_type} " " {user_type}
            </p>
            <div class="overflow-x-auto"><table class=TABLE>
                <thead><tr><th class=TH></th><th class=format!("{TH} text-right")>{t.points}</th></tr></thead>
                <tbody class="divide-y divide-slate-100 bg-white">
                    {sample.parts.iter().map(|(part, points)| view! {
                        <tr data-part=part.category()><td class=TD>{t.part(*part)}</td><td class=right.clone()>{*points}</td></tr>
                    }).collect_view()}
                    <tr class="font-semibold"><td class=TD>{t.total}</td><td class=right.clone() data-testid="sample-total">{sample.total}</td></tr>
                </tbody>
            </table></div>
            <p class="mt-2 flex flex-wrap gap-x-6 gap-y-1 text-sm">
                <span>{t.level} {t.colon} <strong data-testid="sample-level">{level}</strong></span>
                <span>{t.tag} {t.colon} <strong data-testid="sample-tag">{tag}</strong></span>
                <span class="text-slate-500">{t.as_of} " " {format_time(&sample.as_of)}</span>
            </p>
        </div>
    }
}
