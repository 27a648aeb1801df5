//! Malformed input and impatient clients against the real router: every server
//! function (the list comes from the server-fn registry, so a new function is covered
//! without touching this file) answers each class of bad input with a 4xx, never a
//! 5xx; bodies over the limit are 413; requests abandoned at random points leave no
//! connection mid-transaction and the ledger whole.

mod support;

use std::time::Duration;

use axum::body::Body;
use domain::Role;
use domain::members::{self, MemberInput};
use domain::points::ledger::{self, Change};
use domain::points::levels;
use domain::testing::{TEST_PASSWORD, TestTenant};
use http::{Method, StatusCode, header};
use sqlx::PgPool;
use support::{Client, ORIGIN, audit_rows, console};
use tower::ServiceExt;

/// Form bodies covering the decoding classes: malformed UUIDs, empty and missing
/// fields, non-integers, out-of-range numbers, unknown enum variants, bad booleans, NUL
/// in text, overlong text.
fn form_attacks() -> Vec<String> {
    let uuid_fields = [
        "member_id",
        "request_id",
        "tag_id",
        "grant_id",
        "admin_id",
        "tenant_id",
        "tier_id",
        "after",
        "import_id",
        "run_id",
    ];
    let number_fields = [
        "points",
        "seq",
        "row_version",
        "days",
        "threshold",
        "page_size",
        "before",
        "max_licenses",
        "term_days",
        "grace_days",
        "reminder_days",
        "based_on",
        "formula[per_license]",
        "share",
    ];
    let text_fields = [
        "reason",
        "idempotency_key",
        "q",
        "display_name",
        "email",
        "password",
        "name",
        "name_en",
        "name_zh",
        "code",
        "slug",
        "external_id",
        "category",
        "webhook_url",
        "next",
        "mapping[t1]",
        "label",
        "members",
        "selection",
        "mode",
        "to",
        "fix",
    ];
    let mut bodies = vec![
        String::new(),
        "=".into(),
        "&&&".into(),
        "%zz=%zz".into(),
        "role=root".into(),
        "auto_renew=maybe&active=maybe".into(),
    ];
    for field in uuid_fields {
        bodies.push(format!("{field}=not-a-uuid"));
        bodies.push(format!("{field}="));
    }
    for field in number_fields {
        for value in [
            "12.5",
            "1e3",
            "",
            "9223372036854775808",
            "-9223372036854775809",
            "-9223372036854775808",
            "abc",
        ] {
            bodies.push(format!("{field}={value}"));
        }
    }
    let long = "x".repeat(10_000);
    for field in text_fields {
        bodies.push(format!("{field}=a%00b"));
        bodies.push(format!("{field}={long}"));
    }
    // Everything at once, so functions with several fields fail on any of them.
    let mut all = Vec::new();
    for field in uuid_fields {
        all.push(format!("{field}=00000000-0000-0000-0000-000000000000"));
    }
    for field in number_fields {
        all.push(format!("{field}=-9223372036854775808"));
    }
    for field in text_fields {
        all.push(format!("{field}=x%00"));
    }
    all.push("role=root".into());
    bodies.push(all.join("&"));
    bodies
}

/// JSON bodies: wrong shapes, null, deep nesting, NUL escapes.
fn json_attacks() -> Vec<String> {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    vec![
        String::new(),
        "null".into(),
        "[]".into(),
        "{}".into(),
        "{\"tiers\": null}".into(),
        "{\"tiers\": 5}".into(),
        "{\"tiers\": [{\"code\": 1}]}".into(),
        "{\"tiers\": [{\"tier_id\": null, \"code\": \"a\\u0000\", \"name_zh\": \"a\", \"name_en\": \"a\", \"sort_order\": 1, \"min_points\": 0, \"max_points\": null, \"active\": true, \"permissions\": [], \"max_licenses\": 0}]}".into(),
        "{\"tiers\": [{\"tier_id\": null, \"code\": \"a\", \"name_zh\": \"a\", \"name_en\": \"a\", \"sort_order\": 1.5, \"min_points\": -9223372036854775809, \"max_points\": null, \"active\": \"maybe\", \"permissions\": [], \"max_licenses\": 0}]}".into(),
        deep,
        "tiers=1".into(),
        "{\"tiers\": [".into(),
    ]
}

async fn post(
    client: &mut Client,
    path: &str,
    content_type: &str,
    body: String,
) -> (StatusCode, String) {
    let request = client
        .request(Method::POST, path)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::ACCEPT, "application/json")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::from(body))
        .unwrap();
    let response = client.send(request).await;
    (response.status, response.body)
}

/// Every registered server function, every class of malformed input, as a tenant
/// admin (who reaches the most code): never a 5xx.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn malformed_input_to_every_server_function_is_a_4xx(db: PgPool) {
    let tenant = TestTenant::new(&db, "acme").await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    drop(conn);
    let admin = tenant.with_admin(&db, "boss", Role::TenantAdmin).await;
    let router = console(db.clone());
    let endpoints: Vec<(&'static str, Method)> =
        leptos::server_fn::axum::server_fn_paths().collect();
    assert!(
        endpoints.len() > 30,
        "the registry lists the server functions: {endpoints:?}"
    );
    let forms = form_attacks();
    let jsons = json_attacks();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (path, method) in &endpoints {
        if path.ends_with("/sign_out") {
            continue; // would end the session the other calls need
        }
        let mut client = Client::signed_in(&router, &admin.email, TEST_PASSWORD).await;
        let mut record = |status: StatusCode, what: String, body: &str| {
            checked += 1;
            if status.is_server_error() {
                failures.push(format!("{path} {what}: {status} {body}"));
            }
        };
        if *method == Method::GET {
            for query in ["member_id=zz", "q=a%00", "points=1e3", "x=%zz"] {
                let request = client
                    .request(Method::GET, &format!("{path}?{query}"))
                    .header(header::ACCEPT, "application/json")
                    .body(Body::empty())
                    .unwrap();
                let response = client.send(request).await;
                record(response.status, format!("GET ?{query}"), &response.body);
            }
            continue;
        }
        for body in &forms {
            let (status, text) = post(
                &mut client,
                path,
                "application/x-www-form-urlencoded",
                body.clone(),
            )
            .await;
            record(status, format!("form {:.80}", body), &text);
        }
        for body in &jsons {
            let (status, text) = post(&mut client, path, "application/json", body.clone()).await;
            record(status, format!("json {:.80}", body), &text);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} answered 5xx:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A decoding error says what is wrong, as the error type the console decodes.
    let mut client = Client::signed_in(&router, &admin.email, TEST_PASSWORD).await;
    let (status, body) = post(
        &mut client,
        "/api/adjust_points",
        "application/x-www-form-urlencoded",
        "member_id=zz&points=12.5&reason=x".into(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let decoded: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(decoded["BadRequest"].is_string(), "{body}");
    // Without JavaScript the same error comes back to the form, not as a 500 page.
    let response = client
        .submit_form(
            "adjust_points",
            &[("member_id", "zz"), ("points", "12.5"), ("reason", "x")],
            "/members",
        )
        .await;
    assert!(response.status.is_redirection(), "{response:?}");
    assert!(
        response.location().is_some_and(|l| l.contains("error=")),
        "{response:?}"
    );
    // Refused input changes nothing: no audit row for any of it.
    let before = audit_rows(&db).await;
    let nul_everywhere = form_attacks().pop().unwrap();
    for (path, method) in &endpoints {
        if *method == Method::POST {
            let (status, body) = post(
                &mut client,
                path,
                "application/x-www-form-urlencoded",
                nul_everywhere.clone(),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        }
    }
    assert_eq!(audit_rows(&db).await, before);
    let page = client.get("/levels").await;
    assert_eq!(page.status, StatusCode::OK, "the session still works");
    let tiers = client.call_fn("list_tiers", &[]).await;
    assert!(tiers.json().is_array());
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn oversize_bodies_are_413_on_every_route(db: PgPool) {
    let router = console(db.clone());
    let big = "a=".to_owned() + &"x".repeat(3 * 1024 * 1024);
    for path in [
        "/api/sign_in",
        "/api/adjust_points",
        "/",
        "/login",
        "/nowhere",
    ] {
        let mut client = Client::new(&router);
        let (status, body) = post(
            &mut client,
            path,
            "application/x-www-form-urlencoded",
            big.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {body:.200}");
    }
    // Without a Content-Length header (as a streamed body arrives): refused as it
    // crosses the limit.
    let request = http::Request::builder()
        .method(Method::POST)
        .uri("/api/sign_in")
        .header(header::HOST, support::HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(big))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// Clients that give up at random points (timeouts, closed tabs) while adjusting and
/// reversing: afterwards no pooled connection is inside a transaction, every retry with
/// the same key gets the original entry, and the ledger check is clean.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn requests_abandoned_midway_leave_no_open_transaction(db: PgPool) {
    let tenant = TestTenant::new(&db, "acme").await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    drop(conn);
    let admin = tenant.with_admin(&db, "boss", Role::TenantAdmin).await;
    let access = admin.access();
    let mut member_ids = Vec::new();
    for i in 0..4 {
        let input = MemberInput {
            external_id: format!("m{i}"),
            display_name: format!("m{i}"),
            ..Default::default()
        };
        let member_id = members::create(&db, &access, input)
            .await
            .unwrap()
            .member_id;
        let change = Change {
            member_id,
            points: 10_000,
            category: "purchase".into(),
            ..Default::default()
        };
        ledger::earn(&db, &access, change).await.unwrap();
        member_ids.push(member_id);
    }
    let router = console(db.clone());
    let client = Client::signed_in(&router, &admin.email, TEST_PASSWORD).await;
    let cookie = client.cookie.clone().unwrap();
    let mut tasks = Vec::new();
    for i in 0..120_u64 {
        let router = router.clone();
        let cookie = cookie.clone();
        let member_id = member_ids[(i % 4) as usize];
        tasks.push(tokio::spawn(async move {
            let body = format!(
                "member_id={member_id}&points={}&reason=r{i}&idempotency_key=k{i}",
                if i % 3 == 0 { -7 } else { 11 }
            );
            let request = http::Request::builder()
                .method(Method::POST)
                .uri("/api/adjust_points")
                .header(header::HOST, support::HOST)
                .header(header::ORIGIN, ORIGIN)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(Body::from(body))
                .unwrap();
            // Give up after 0–12 ms: the request future is dropped wherever it is.
            let patience = Duration::from_micros((i * 7919) % 12_000);
            let _ = tokio::time::timeout(patience, router.oneshot(request)).await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Let every abandoned write finish (they run to the end in their own task).
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Every retry answers with the one entry its key made (or makes it now).
    let mut client = Client::signed_in(&router, &admin.email, TEST_PASSWORD).await;
    for i in 0..120_u64 {
        let member_id = member_ids[(i % 4) as usize].to_string();
        let points = if i % 3 == 0 { "-7" } else { "11" };
        let reason = format!("r{i}");
        let key = format!("k{i}");
        let first = client
            .call_fn(
                "adjust_points",
                &[
                    ("member_id", &member_id),
                    ("points", points),
                    ("reason", &reason),
                    ("idempotency_key", &key),
                ],
            )
            .await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        let again = client
            .call_fn(
                "adjust_points",
                &[
                    ("member_id", &member_id),
                    ("points", points),
                    ("reason", &reason),
                    ("idempotency_key", &key),
                ],
            )
            .await;
        assert_eq!(first.body, again.body, "a retry gets the original");
    }
    let entries: i64 = sqlx::query_scalar(
        "select count(*) from points_ledger where tenant_id = $1 and idempotency_key like 'k%'",
    )
    .bind(tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(entries, 120, "one entry per key");

    // No pooled connection sits idle inside a transaction …
    let idle_in_transaction: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(idle_in_transaction, 0);
    // … and none runs its next statement inside someone else's unfinished writes
    // (holding every connection at once, each is outside any writing transaction).
    let size = db.size() as usize;
    let mut held = Vec::new();
    for _ in 0..size {
        held.push(db.acquire().await.unwrap());
    }
    for conn in &mut held {
        let in_transaction: bool =
            sqlx::query_scalar("select txid_current_if_assigned() is not null")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
        assert!(
            !in_transaction,
            "a pooled connection was left in a transaction"
        );
    }
    drop(held);
    let idle_in_transaction: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(idle_in_transaction, 0);
    let violations = domain::points::check::check(&db, None).await.unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
}

/// Without JavaScript: a failed post returns to its form with the page's other
/// parameters kept (a sign-in's `next`), and a post that succeeds after a failure
/// returns without the stale `?error=`.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn plain_form_posts_keep_their_page_and_drop_stale_errors(db: PgPool) {
    let tenant = TestTenant::new(&db, "acme").await;
    let admin = tenant.with_admin(&db, "boss", Role::TenantAdmin).await;
    let router = console(db.clone());
    let mut client = Client::new(&router);
    let failed = client
        .submit_form(
            "sign_in",
            &[
                ("email", admin.email.as_str()),
                ("password", "wrong password"),
            ],
            "/login?next=%2Fapprovals",
        )
        .await;
    let location = failed.location().unwrap_or_default().to_owned();
    assert!(
        location.starts_with("/login?next=%2Fapprovals&error="),
        "{location}"
    );
    let mut client = Client::signed_in(&router, &admin.email, TEST_PASSWORD).await;
    let saved = client
        .submit_form(
            "set_approval_threshold",
            &[("threshold", "500")],
            "/approvals?error=%7B%22Forbidden%22%7D",
        )
        .await;
    // The stale error is gone and the outcome is named instead.
    assert_eq!(
        saved.location(),
        Some("/approvals?done=set_approval_threshold"),
        "{saved:?}"
    );
    let refused = client
        .submit_form(
            "set_approval_threshold",
            &[("threshold", "x")],
            "/approvals?error=%7B%22Forbidden%22%7D",
        )
        .await;
    let location = refused.location().unwrap_or_default();
    assert!(location.starts_with("/approvals?error="), "{location}");
    assert!(!location.contains("Forbidden"), "{location}");
    // Never to another site, whatever the Referer says.
    let refused = client
        .submit_form(
            "set_approval_threshold",
            &[("threshold", "x")],
            "//evil.test/x",
        )
        .await;
    assert!(
        refused
            .location()
            .is_some_and(|l| l.starts_with("/?error=")),
        "{refused:?}"
    );
}
