//! The site's build assets as the shell links them (server side).
//!
//! A release build (`cargo leptos build --release`, `hash-files = true` in the workspace
//! metadata) names the JS, WASM and CSS after a hash of their content
//! (`pkg/tierdesk.<hash>.css`) and lists the hashes in `hash.txt` beside the server
//! binary; the server then serves those names with a one-year immutable cache lifetime.
//! Leptos's `HydrationScripts` reads the JS and WASM hashes from that file; the
//! stylesheet's is read here. Without the file (tests, `cargo run`) the names are plain.

use std::path::PathBuf;
use std::sync::OnceLock;

use leptos::config::LeptosOptions;

/// Where `cargo leptos build` writes the hashes of the site files: beside the binary.
pub fn hash_file(options: &LeptosOptions) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(options.hash_file.as_ref()))
}

/// The stylesheet's URL path, hashed when the build hashed it.
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    static CSS_HASH: OnceLock<Option<String>> = OnceLock::new();
    let hash = CSS_HASH.get_or_init(|| {
        if !options.hash_files {
            return None;
        }
        let hashes = std::fs::read_to_string(hash_file(options)?).ok()?;
        hash_of(&hashes, "css")
    });
    let pkg = &options.site_pkg_dir;
    let name = &options.output_name;
    match hash {
        Some(hash) => format!("/{pkg}/{name}.{hash}.css"),
        None => format!("/{pkg}/{name}.css"),
    }
}

/// The hash listed for `kind` (`js`, `wasm`, `css`) in a cargo-leptos hash file
/// (lines of `kind: hash`).
pub fn hash_of(hashes: &str, kind: &str) -> Option<String> {
    hashes.lines().find_map(|line| {
        let (file, hash) = line.split_once(':')?;
        (file.trim() == kind).then(|| hash.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hash_of_each_kind() {
        let hashes = "js: AbC-123\nwasm: xYz_9\ncss: Q1w2E3\n";
        assert_eq!(hash_of(hashes, "js").as_deref(), Some("AbC-123"));
        assert_eq!(hash_of(hashes, "wasm").as_deref(), Some("xYz_9"));
        assert_eq!(hash_of(hashes, "css").as_deref(), Some("Q1w2E3"));
        assert_eq!(hash_of(hashes, "split"), None);
    }
}
