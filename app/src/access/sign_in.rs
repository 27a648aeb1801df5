use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::access::api::SignIn;
use crate::components::{BUTTON, Field, UrlError};
use crate::i18n::use_texts;
use crate::shell::layout::LanguageLink;

/// Where a signed-out visitor of `path_and_query` is sent: the sign-in page, with the
/// page to return to in `next` (percent-encoded).
pub fn sign_in_location(path_and_query: &str) -> String {
    format!("/login?next={}", percent_encode(path_and_query))
}

/// The path a redirect may go to after signing in (or switching language): `next`
/// itself when it is a path of this site, else `/`.
///
/// A same-site path starts with exactly one `/`, has no `//` before its query (which a
/// browser would read as another host), no backslash (which browsers treat as `/`), and
/// only visible ASCII (no control characters, which browsers strip, turning `/\t/host`
/// into `//host`; no spaces; nothing that is not valid in a `Location` header). Being a
/// path, it has no scheme.
pub fn safe_next_path(next: Option<&str>) -> String {
    match next {
        Some(next) if is_same_site_path(next) => next.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_same_site_path(next: &str) -> bool {
    let path = next.split(['?', '#']).next().unwrap_or_default();
    next.starts_with('/')
        && !path.contains("//")
        && !next.contains('\\')
        && next.bytes().all(|byte| byte.is_ascii_graphic())
}

/// The first value of `name` in a raw query string, percent-decoded once.
fn query_param(search: &str, name: &str) -> Option<String> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| percent_decode(value))
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                decoded.push(b' ');
                i += 1;
            }
            (byte, _, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let t = use_texts();
    let sign_in = ServerAction::<SignIn>::new();
    // The page to return to; checked again by the server before it is used. Read from
    // the raw query: the router's query map decodes twice (`%2520` would become a space).
    let next = query_param(&use_location().search.get_untracked(), "next")
        .filter(|next| is_same_site_path(next));
    let error = move || sign_in.value().get().and_then(Result::err);
    view! {
        <main class="flex min-h-screen items-center justify-center p-6">
            <div class="w-full max-w-sm">
                <div class="mb-6 text-center">
                    <div class="text-3xl font-bold text-indigo-700">{t.product}</div>
                    <div class="text-sm text-slate-500">{t.access.tagline}</div>
                </div>
                <div class="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
                    <h1 class="mb-4 text-lg font-semibold">{t.access.sign_in_title}</h1>
                    <ActionForm action=sign_in attr:aria-busy=move || sign_in.pending().get().then_some("true") attr:class="group">
                        {next.map(|next| view! { <input type="hidden" name="next" value=next /> })}
                        <div class="space-y-4">
                            <Field label=t.email name="email" kind="email" autocomplete="username" required=true />
                            <Field label=t.access.password name="password" kind="password" autocomplete="current-password" required=true />
                            {move || match error() {
                                Some(error) => view! { <crate::components::ErrorBox error /> }.into_any(),
                                None => view! { <UrlError /> }.into_any(),
                            }}
                            <button type="submit" class=format!("{BUTTON} w-full justify-center") disabled=move || sign_in.pending().get()>
                                {move || if sign_in.pending().get() { t.access.signing_in } else { t.access.sign_in }}
                            </button>
                        </div>
                    </ActionForm>
                </div>
                <div class="mt-4 text-center text-sm"><LanguageLink /></div>
            </div>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_are_returned_to() {
        for good in ["/", "/members?q=a%20b", "/members/1?x=//y", "/admins"] {
            assert_eq!(safe_next_path(Some(good)), good);
        }
        for bad in [
            "//evil.test",
            "//evil.test/x",
            "/\\evil.test/x",
            "\\evil.test",
            "https://evil.test/",
            "evil.test",
            "/a//b",
            "/\t/evil.test",
            "/x\r\nSet-Cookie: a=b",
            "/x\0",
            "/ä",
            "/a b",
            "",
        ] {
            assert_eq!(safe_next_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next_path(None), "/");
    }

    #[test]
    fn the_sign_in_location_carries_the_page() {
        assert_eq!(sign_in_location("/"), "/login?next=%2F");
        let location = sign_in_location("/members?q=a%20b");
        assert_eq!(location, "/login?next=%2Fmembers%3Fq%3Da%2520b");
        let search = location.split_once('?').unwrap().1;
        assert_eq!(
            query_param(search, "next").as_deref(),
            Some("/members?q=a%20b")
        );
        assert_eq!(
            query_param("a=1&next=%2F+x%zz", "next").as_deref(),
            Some("/ x%zz")
        );
        assert_eq!(query_param("a=1", "next"), None);
    }
}
