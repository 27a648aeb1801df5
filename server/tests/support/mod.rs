//! Drives the real router in-process: requests carry Host and Origin like a browser's,
//! and a client keeps its session cookie between calls.

use std::net::SocketAddr;

use app::context::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use http::{HeaderMap, Method, Request, StatusCode, header};
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use tierdesk::router::{RouterOptions, SESSION_COOKIE, router};
use tower::ServiceExt;

pub const HOST: &str = "localhost";
pub const ORIGIN: &str = "http://localhost";

pub fn console(db: PgPool) -> Router {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn")
        .try_init();
    let leptos_options = LeptosOptions::builder()
        .output_name("tierdesk")
        .site_root("target/site")
        .build();
    router(
        AppState::new(db, leptos_options, domain::clock::system()),
        RouterOptions::default(),
    )
    .layer(MockConnectInfo(SocketAddr::from(([192, 0, 2, 10], 40000))))
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }
}

/// One browser: a session cookie and the console router.
pub struct Client {
    pub router: Router,
    pub cookie: Option<String>,
}

impl Client {
    pub fn new(router: &Router) -> Self {
        Client {
            router: router.clone(),
            cookie: None,
        }
    }

    /// A client signed in with the given credentials (panics if sign-in fails).
    pub async fn signed_in(router: &Router, email: &str, password: &str) -> Self {
        let mut client = Client::new(router);
        let response = client
            .call_fn("sign_in", &[("email", email), ("password", password)])
            .await;
        assert!(
            response.status.is_success() || response.status.is_redirection(),
            "{response:?}"
        );
        assert!(
            client.cookie.is_some(),
            "sign-in set no session cookie: {response:?}"
        );
        client
    }

    /// Calls a server function the way the hydrated console does (form-encoded POST).
    pub async fn call_fn(&mut self, name: &str, form: &[(&str, &str)]) -> TestResponse {
        let body = encode_form(form);
        let request = self
            .request(Method::POST, &format!("/api/{name}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, ORIGIN)
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Submits a form the way a browser without JavaScript does.
    pub async fn submit_form(
        &mut self,
        name: &str,
        form: &[(&str, &str)],
        referer: &str,
    ) -> TestResponse {
        let request = self
            .request(Method::POST, &format!("/api/{name}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::ORIGIN, ORIGIN)
            .header(header::REFERER, format!("{ORIGIN}{referer}"))
            .body(Body::from(encode_form(form)))
            .unwrap();
        self.send(request).await
    }

    /// A page load as a browser makes it (accepting HTML).
    pub async fn get(&mut self, path: &str) -> TestResponse {
        let request = self
            .request(Method::GET, path)
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    pub fn request(&self, method: Method, path: &str) -> http::request::Builder {
        let builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, HOST);
        match &self.cookie {
            Some(cookie) => builder.header(header::COOKIE, cookie.as_str()),
            None => builder,
        }
    }

    pub async fn send(&mut self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set_cookie in headers.get_all(header::SET_COOKIE) {
            let set_cookie = set_cookie.to_str().unwrap();
            let Some(pair) = set_cookie.split(';').next() else {
                continue;
            };
            if !pair.starts_with(&format!("{SESSION_COOKIE}=")) {
                continue;
            }
            let removed = set_cookie.contains("Max-Age=0") || pair.ends_with('=');
            self.cookie = if removed { None } else { Some(pair.to_owned()) };
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

fn encode_form(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

pub async fn audit_rows(db: &PgPool) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "select (select count(*) from audit_log) + (select count(*) from platform_audit_log)",
    )
    .fetch_one(db)
    .await
    .unwrap()
}
