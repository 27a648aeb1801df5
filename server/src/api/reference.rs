//! `/api/v1/openapi.json` (the document generated from the handlers) and `/api/v1/docs`,
//! a reference page rendered on the server from that same document: every operation
//! with its parameters, request body, responses and the schemas they use. Plain HTML
//! and CSS, no script and no CDN, so it works offline and without JavaScript.

use std::fmt::Write;
use std::sync::Arc;

use axum::Router;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, header};
use serde_json::Value;

use super::ApiState;

pub fn routes(doc: Arc<utoipa::openapi::OpenApi>) -> Router<ApiState> {
    let json = Arc::new(doc.to_pretty_json().unwrap_or_else(|_| "{}".into()));
    let value: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
    let page = Arc::new(render(&value));
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    let mut response = (*json).clone().into_response();
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    response
                }
            }),
        )
        .route(
            "/docs",
            get(move || {
                let page = page.clone();
                async move { Html((*page).clone()).into_response() as Response }
            }),
        )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A schema in one line: `MemberView`, `string | null`, `array of EntryView`, ….
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if let Some(variants) = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
    {
        return variants.iter().map(type_of).collect::<Vec<_>>().join(" | ");
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".into(),
    };
    if kind.starts_with("array")
        && let Some(items) = schema.get("items")
    {
        return format!("array of {}", type_of(items));
    }
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{} ({})", escape(&kind), escape(format)),
        None => escape(&kind),
    }
}

fn render(doc: &Value) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let version = doc["info"]["version"].as_str().unwrap_or("");
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} {v} reference</title><style>\
body{{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1f2937;background:#f9fafb}}\
main{{max-width:960px;margin:0 auto;padding:16px}}\
h1{{font-size:24px}}h2{{font-size:19px;margin-top:32px;border-bottom:1px solid #e5e7eb}}\
section{{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px;margin:12px 0}}\
.m{{display:inline-block;min-width:52px;font-weight:700;font-size:13px;color:#fff;border-radius:4px;padding:1px 6px;text-align:center}}\
.get{{background:#2563eb}}.post{{background:#059669}}.put{{background:#d97706}}.delete{{background:#dc2626}}\
code,pre{{font-family:ui-monospace,monospace;font-size:13px}}pre{{overflow-x:auto;background:#f3f4f6;padding:8px;border-radius:6px}}\
table{{border-collapse:collapse;width:100%;font-size:14px}}td,th{{border-top:1px solid #e5e7eb;padding:4px 6px;text-align:left;vertical-align:top}}\
.wrap{{overflow-x:auto}}a{{color:#2563eb}}</style></head><body><main>\
<h1>{t} <small>{v}</small></h1><p>{d}</p>\
<p>The machine-readable document: <a href=\"openapi.json\">openapi.json</a> (OpenAPI {o}).</p>",
        t = escape(title),
        v = escape(version),
        d = escape(doc["info"]["description"].as_str().unwrap_or("")),
        o = escape(doc["openapi"].as_str().unwrap_or("3.1")),
    );
    out.push_str("<h2>Operations</h2>");
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                operation(&mut out, method, path, op);
            }
        }
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            let _ = write!(out, "<section id=\"schema-{0}\"><h3>{0}</h3>", escape(name));
            if let Some(description) = schema.get("description").and_then(Value::as_str) {
                let _ = write!(out, "<p>{}</p>", escape(description));
            }
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(properties) = schema["properties"].as_object() {
                out.push_str("<div class=\"wrap\"><table><tr><th>Field</th><th>Type</th><th>Description</th></tr>");
                for (field, property) in properties {
                    let _ = write!(
                        out,
                        "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(field),
                        if required.contains(&field.as_str()) {
                            " *"
                        } else {
                            ""
                        },
                        type_of(property),
                        escape(property["description"].as_str().unwrap_or(""))
                    );
                }
                out.push_str("</table></div>");
            } else {
                let _ = write!(out, "<p>{}</p>", type_of(schema));
            }
            out.push_str("</section>");
        }
    }
    out.push_str("</main></body></html>");
    out
}

fn operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let _ = write!(
        out,
        "<section><p><span class=\"m {method}\">{}</span> <code>/api/v1{}</code></p>",
        method.to_uppercase(),
        escape(path)
    );
    for field in ["summary", "description"] {
        if let Some(text) = op.get(field).and_then(Value::as_str) {
            let _ = write!(out, "<p>{}</p>", escape(text));
        }
    }
    if let Some(parameters) = op["parameters"].as_array() {
        out.push_str("<div class=\"wrap\"><table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>");
        for p in parameters {
            let _ = write!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(p["name"].as_str().unwrap_or("")),
                if p["required"].as_bool().unwrap_or(false) {
                    " *"
                } else {
                    ""
                },
                escape(p["in"].as_str().unwrap_or("")),
                type_of(&p["schema"]),
                escape(p["description"].as_str().unwrap_or(""))
            );
        }
        out.push_str("</table></div>");
    }
    if let Some(body) = op["requestBody"]["content"].as_object() {
        for (media, content) in body {
            let _ = write!(
                out,
                "<p>Body ({}): {}</p>",
                escape(media),
                type_of(&content["schema"])
            );
        }
    }
    if let Some(responses) = op["responses"].as_object() {
        out.push_str(
            "<div class=\"wrap\"><table><tr><th>Status</th><th>Body</th><th>Description</th></tr>",
        );
        for (status, response) in responses {
            let body = response["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|c| type_of(&c["schema"]))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(status),
                body,
                escape(response["description"].as_str().unwrap_or(""))
            );
        }
        out.push_str("</table></div>");
    }
    out.push_str("</section>");
}
