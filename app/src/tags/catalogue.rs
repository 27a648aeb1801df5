use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::components::{
    ActionResult, BUTTON, Card, ErrorBox, PageTitle, TABLE, TD, TH, UrlError, allowed, use_ready,
    use_session,
};
use crate::i18n::{Texts, use_texts};
use crate::members::list::tier_label;
use crate::tags::api::{CreateTag, UpdateTag, list_tags};
use crate::tags::category_label;
use model::access::Role;
use model::tags::CATEGORIES as TAG_CATEGORIES;
use model::tags::{RenewFrom, Tag};

/// The tag catalogue: what each tag confers and the terms of new grants. Tenant admins
/// add tags and edit one at a time (`?edit=<tag id>`, a plain link, so editing works
/// without JavaScript); every other role reads.
#[component]
pub fn TagsPage() -> impl IntoView {
    let t = use_texts();
    let query = use_query_map();
    let editing = move || {
        query
            .read()
            .get("edit")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let create = ServerAction::<CreateTag>::new();
    let update = ServerAction::<UpdateTag>::new();
    let tags = crate::components::resource(
        move || (create.version().get(), update.version().get()),
        |_| list_tags(),
    );
    let session = use_session();
    view! {
        <PageTitle text=t.tags.tags_title />
        <UrlError />
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || {
                let editing = editing();
                Suspend::new(async move {
                    let editable = allowed(session, Role::TenantAdmin).await;
                    match tags.await {
                        Ok(tags) => {
                            let edited = editing.and_then(|id| tags.iter().find(|tag| tag.tag_id == id).cloned());
                            view! {
                                <TagTable tags editable t />
                                {editable.then(|| view! { <TagEditor tag=edited create update t /> })}
                            }.into_any()
                        }
                        Err(error) => view! { <ErrorBox error /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn TagTable(tags: Vec<Tag>, editable: bool, t: &'static Texts) -> impl IntoView {
    if tags.is_empty() {
        return view! { <p class="mb-6 text-sm text-slate-500">{t.tags.no_tags}</p> }.into_any();
    }
    view! {
        <div class="mb-6 overflow-x-auto">
            <div class="overflow-x-auto"><table class=TABLE data-testid="tags">
                <thead><tr>
                    <th class=TH>{t.code}</th><th class=TH>{t.name}</th><th class=TH>{t.category}</th>
                    <th class=TH>{t.tags.privileges}</th><th class=TH>{t.tags.term}</th><th class=TH>{t.tags.grace}</th>
                    <th class=TH>{t.tags.renewal}</th><th class=format!("{TH} text-right")>{t.tags.holders}</th>
                    <th class=TH>{t.status}</th><th class=TH></th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100 bg-white">
                    {tags.into_iter().map(|tag| view! { <TagRow tag editable t /> }).collect_view()}
                </tbody>
            </table></div>
        </div>
    }
    .into_any()
}

#[component]
fn TagRow(tag: Tag, editable: bool, t: &'static Texts) -> impl IntoView {
    let name = tier_label(&tag.code, &tag.name_zh, &tag.name_en);
    let term = match tag.default_term_days {
        Some(days) => format!("{days} {}", t.tags.days),
        None => t.tags.no_expiry.to_owned(),
    };
    let renewal = format!(
        "{} · {}",
        if tag.auto_renew {
            t.tags.auto_renews
        } else {
            t.tags.manual_renewal
        },
        if tag.renew_from == RenewFrom::Now {
            t.tags.renew_from_now
        } else {
            t.tags.renew_from_expiry
        }
    );
    view! {
        <tr data-code=tag.code.clone()>
            <td class=format!("{TD} font-mono")>{tag.code.clone()}</td>
            <td class=TD>
                <div>{name}</div>
                <div class="text-xs text-slate-500">{tag.name_zh.clone()} " / " {tag.name_en.clone()}</div>
            </td>
            <td class=TD>{category_label(&tag.category, t)}</td>
            <td class=TD data-testid="privileges">
                <div class="flex flex-wrap gap-1">
                    {tag.permissions.iter().map(|key| view! {
                        <code class="rounded bg-slate-100 px-1 text-xs">{key.clone()}</code>
                    }).collect_view()}
                </div>
                {(tag.max_licenses > 0).then(|| view! {
                    <div class="text-xs text-slate-600">{t.max_licenses} " " {t.tags.floor} " " {tag.max_licenses}</div>
                })}
                {(tag.max_licenses_boost > 0).then(|| view! {
                    <div class="text-xs text-slate-600">{t.max_licenses} " " {t.tags.boost} " +" {tag.max_licenses_boost}</div>
                })}
            </td>
            <td class=format!("{TD} whitespace-nowrap")>{term}</td>
            <td class=format!("{TD} whitespace-nowrap")>{tag.grace_days} " " {t.tags.days}</td>
            <td class=TD>{renewal}</td>
            <td class=format!("{TD} text-right tabular-nums")>{tag.holders}</td>
            <td class=TD>
                {if tag.active {
                    view! { <span class="text-emerald-700">{t.active}</span> }.into_any()
                } else {
                    view! { <span class="text-slate-500">{t.disabled}</span> }.into_any()
                }}
            </td>
            <td class=TD>
                {editable.then(|| view! {
                    <a href=format!("/tags?edit={}", tag.tag_id) class="text-indigo-600 hover:underline">{t.tags.edit}</a>
                })}
            </td>
        </tr>
    }
}

/// The create form, or the edit form of the tag in `?edit=`.
#[component]
fn TagEditor(
    tag: Option<Tag>,
    create: ServerAction<CreateTag>,
    update: ServerAction<UpdateTag>,
    t: &'static Texts,
) -> impl IntoView {
    let create_form = crate::components::reset_on_success(create);
    let ready = use_ready();
    let form = match tag {
        Some(tag) => view! {
            <h2 class="mb-3 font-semibold">{t.tags.edit_tag} " " <span class="font-mono">{tag.code.clone()}</span></h2>
            <ActionForm action=update attr:aria-busy=move || update.pending().get().then_some("true") attr:class="group">
                <input type="hidden" name="tag_id" value=tag.tag_id.to_string() />
                <input type="hidden" name="row_version" value=tag.row_version.to_string() />
                <TagFields tag=Some(tag) t />
                <div class="mt-4 flex items-center gap-4">
                    <button type="submit" class=BUTTON>{t.save}</button>
                    <a href="/tags" class="text-sm text-indigo-600 hover:underline">{t.tags.new_tag}</a>
                </div>
            </ActionForm>
            <div class="mt-3"><ActionResult value=move || update.value().get() success=t.saved /></div>
        }
        .into_any(),
        None => view! {
            <h2 class="mb-3 font-semibold">{t.tags.new_tag}</h2>
            <ActionForm action=create node_ref=create_form attr:aria-busy=move || create.pending().get().then_some("true") attr:class="group">
                <TagFields tag=None t />
                <button type="submit" class=format!("{BUTTON} mt-4")>{t.create}</button>
            </ActionForm>
            <div class="mt-3"><ActionResult value=move || create.value().get() success=t.created /></div>
        }
        .into_any(),
    };
    view! {
        <div data-testid="tag-editor" data-ready=move || ready.get().then_some("true")>
            <Card>{form}</Card>
        </div>
    }
}

/// The fields of the tag form (`tag[…]`), filled from `tag` when editing.
#[component]
fn TagFields(tag: Option<Tag>, t: &'static Texts) -> impl IntoView {
    let input = "w-full rounded-md border border-slate-300 px-3 py-2";
    let tag = tag.unwrap_or_else(|| Tag {
        tag_id: Uuid::nil(),
        code: String::new(),
        name_zh: String::new(),
        name_en: String::new(),
        category: TAG_CATEGORIES[0].into(),
        permissions: Vec::new(),
        max_licenses: 0,
        max_licenses_boost: 0,
        default_term_days: None,
        grace_days: 0,
        auto_renew: false,
        renew_from: RenewFrom::Expiry,
        active: true,
        row_version: 0,
        holders: 0,
    });
    let label = "mb-1 block font-medium text-slate-700";
    view! {
        <div class="grid gap-4 sm:grid-cols-4">
            <label class="block text-sm">
                <span class=label>{t.code}</span>
                <input type="text" name="tag[code]" required=true maxlength="40" value=tag.code.clone() class=input />
            </label>
            <label class="block text-sm">
                <span class=label>{t.name_zh}</span>
                <input type="text" name="tag[name_zh]" required=true maxlength="100" value=tag.name_zh.clone() class=input />
            </label>
            <label class="block text-sm">
                <span class=label>{t.name_en}</span>
                <input type="text" name="tag[name_en]" required=true maxlength="100" value=tag.name_en.clone() class=input />
            </label>
            <label class="block text-sm">
                <span class=label>{t.category}</span>
                <select name="tag[category]" class="w-full rounded-md border border-slate-300 px-2 py-2">
                    {TAG_CATEGORIES.into_iter().map(|category| view! {
                        <option value=category selected=category == tag.category>{category_label(category, t)}</option>
                    }).collect_view()}
                </select>
            </label>
        </div>
        <fieldset class="mt-4 rounded-md border border-slate-200 p-3" data-testid="privileges-editor">
            <legend class="px-1 text-sm font-medium text-slate-700">{t.tags.privileges}</legend>
            <div class="grid gap-4 sm:grid-cols-[2fr_1fr_1fr]">
                <label class="block text-sm">
                    <span class=label>{t.tags.permission_keys}</span>
                    <input type="text" name="tag[permissions]" value=tag.permissions.join(", ") placeholder="vip.support, export.unlimited" class=input />
                    <span class="mt-1 block text-xs text-slate-500">{t.tags.permission_keys_hint}</span>
                </label>
                <label class="block text-sm">
                    <span class=label>{t.tags.max_licenses_floor}</span>
                    <input type="number" name="tag[max_licenses]" min="0" step="1" value=tag.max_licenses.to_string() class=input />
                </label>
                <label class="block text-sm">
                    <span class=label>{t.tags.max_licenses_boost}</span>
                    <input type="number" name="tag[max_licenses_boost]" min="0" step="1" value=tag.max_licenses_boost.to_string() class=input />
                </label>
            </div>
            <p class="mt-2 text-xs text-slate-500">{t.tags.quota_rule}</p>
        </fieldset>
        <div class="mt-4 grid gap-4 sm:grid-cols-4 sm:items-end">
            <label class="block text-sm">
                <span class=label>{t.tags.term_days}</span>
                <input type="number" name="tag[default_term_days]" min="1" step="1"
                    value=tag.default_term_days.map(|d| d.to_string()).unwrap_or_default() placeholder=t.tags.no_expiry class=input />
            </label>
            <label class="block text-sm">
                <span class=label>{t.tags.grace_days}</span>
                <input type="number" name="tag[grace_days]" min="0" step="1" value=tag.grace_days.to_string() class=input />
            </label>
            <label class="block text-sm">
                <span class=label>{t.tags.renew_from}</span>
                <select name="tag[renew_from]" class="w-full rounded-md border border-slate-300 px-2 py-2">
                    <option value="expiry" selected=tag.renew_from != RenewFrom::Now>{t.tags.renew_from_expiry}</option>
                    <option value="now" selected=tag.renew_from == RenewFrom::Now>{t.tags.renew_from_now}</option>
                </select>
            </label>
            <div class="space-y-1 text-sm">
                <label class="flex items-center gap-2">
                    <input type="checkbox" name="tag[auto_renew]" value="true" checked=tag.auto_renew />
                    {t.tags.auto_renew}
                </label>
                <label class="flex items-center gap-2">
                    <input type="checkbox" name="tag[active]" value="true" checked=tag.active />
                    {t.active}
                </label>
            </div>
        </div>
    }
}
