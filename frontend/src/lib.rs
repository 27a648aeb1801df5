//! The browser entry point: hydrates the server-rendered console.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Pages are lazy routes (`app::pages`): hydration waits for the open page's WASM chunk.
    leptos::mount::hydrate_lazy(app::App);
}
