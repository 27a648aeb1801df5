use leptos::prelude::*;

use crate::api::auth::SignIn;
use crate::components::{BUTTON, Field, UrlError};
use crate::i18n::use_texts;
use crate::pages::layout::LanguageLink;

#[component]
pub fn SignInPage() -> impl IntoView {
    let t = use_texts();
    let sign_in = ServerAction::<SignIn>::new();
    let error = move || sign_in.value().get().and_then(Result::err);
    view! {
        <main class="flex min-h-screen items-center justify-center p-6">
            <div class="w-full max-w-sm">
                <div class="mb-6 text-center">
                    <div class="text-3xl font-bold text-indigo-700">{t.product}</div>
                    <div class="text-sm text-slate-500">{t.tagline}</div>
                </div>
                <div class="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
                    <h1 class="mb-4 text-lg font-semibold">{t.sign_in_title}</h1>
                    <ActionForm action=sign_in>
                        <div class="space-y-4">
                            <Field label=t.email name="email" kind="email" autocomplete="username" required=true />
                            <Field label=t.password name="password" kind="password" autocomplete="current-password" required=true />
                            {move || match error() {
                                Some(error) => view! { <crate::components::ErrorBox error /> }.into_any(),
                                None => view! { <UrlError /> }.into_any(),
                            }}
                            <button type="submit" class=format!("{BUTTON} w-full justify-center") disabled=move || sign_in.pending().get()>
                                {move || if sign_in.pending().get() { t.signing_in } else { t.sign_in }}
                            </button>
                        </div>
                    </ActionForm>
                </div>
                <div class="mt-4 text-center text-sm"><LanguageLink /></div>
            </div>
        </main>
    }
}
