//! Cross-site request forgery protection for the console: a state-changing request
//! (anything but GET, HEAD, OPTIONS) must come from a page of this same site, as told by
//! its Origin header (or, when a browser omits Origin, its Referer). Together with
//! SameSite=Lax session cookies this refuses forged form posts and fetches.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};

pub async fn require_same_origin(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || is_same_origin(request.headers()) {
        return next.run(request).await;
    }
    tracing::warn!(method = %request.method(), path = request.uri().path(), "cross-site request refused");
    (StatusCode::FORBIDDEN, "cross-site request refused").into_response()
}

/// True when the Origin (else the Referer) names the host this request was sent to.
pub fn is_same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok());
    source
        .and_then(authority)
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// The `host[:port]` of an absolute http(s) URL.
pub fn authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|authority| !authority.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn origin_must_match_host() {
        assert!(is_same_origin(&headers(&[
            ("host", "a.test:3000"),
            ("origin", "http://a.test:3000")
        ])));
        assert!(is_same_origin(&headers(&[
            ("host", "a.test"),
            ("referer", "https://a.test/admins?x=1")
        ])));
        assert!(!is_same_origin(&headers(&[
            ("host", "a.test"),
            ("origin", "http://evil.test")
        ])));
        assert!(!is_same_origin(&headers(&[
            ("host", "a.test"),
            ("origin", "null")
        ])));
        assert!(!is_same_origin(&headers(&[("host", "a.test")])));
        assert!(!is_same_origin(&headers(&[
            ("host", "a.test"),
            ("origin", "http://a.test.evil.test")
        ])));
    }
}
