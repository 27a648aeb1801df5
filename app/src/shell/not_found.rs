use leptos::prelude::*;

use crate::i18n::use_texts;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let t = use_texts();
    view! {
        <main class="mx-auto max-w-md p-10 text-center">
            <h1 class="mb-4 text-xl font-semibold">{t.shell.not_found}</h1>
            <a class="text-indigo-600 underline" href="/">{t.shell.back_home}</a>
        </main>
    }
}
