//! The REST API v1 over HTTP through the real router: keys (scope, rotation with grace,
//! revocation in every process), tenant isolation, idempotency (replays, mismatched
//! bodies, 50 concurrent identical requests with one effect), problem documents for
//! every kind of bad input, rate limits, batches with partial failures, permission
//! checks through the rollout's routed entry point, and the OpenAPI document.

mod support;

use app::context::AppState;
use axum::Router;
use axum::body::Body;
use domain::Role;
use domain::api::keys::{self, NewKey, Scope};
use domain::points::levels;
use domain::testing::{TestAdmin, TestTenant};
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{TestResponse, console};
use tower::ServiceExt;

struct Tenant {
    tenant: TestTenant,
    boss: TestAdmin,
}

async fn tenant(db: &PgPool, slug: &str) -> Tenant {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    domain::demo::seed_tags(&mut conn, tenant.id())
        .await
        .unwrap();
    drop(conn);
    Tenant {
        boss: tenant.with_admin(db, "boss", Role::TenantAdmin).await,
        tenant,
    }
}

async fn key(db: &PgPool, owner: &TestAdmin, scope: Scope, rate: Option<i32>) -> String {
    keys::create(
        db,
        &owner.access(),
        NewKey {
            name: format!("backend {}", scope.as_str()),
            scope,
            rate_per_second: rate,
            burst: rate,
        },
    )
    .await
    .unwrap()
    .secret
}

async fn call(
    router: &Router,
    method: Method,
    path: &str,
    secret: Option<&str>,
    body: Option<Value>,
    idempotency_key: Option<&str>,
) -> TestResponse {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("/api/v1{path}"))
        .header(header::HOST, "localhost");
    if let Some(secret) = secret {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {secret}"));
    }
    if let Some(key) = idempotency_key {
        builder = builder.header("idempotency-key", key);
    }
    let request = match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    };
    raw(router, request).await
}

async fn raw(router: &Router, request: Request<Body>) -> TestResponse {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn assert_problem(response: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(
        response.headers[header::CONTENT_TYPE],
        "application/problem+json",
        "{}",
        response.body
    );
    let body = response.json();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
}

async fn ledger_rows(db: &PgPool) -> i64 {
    sqlx::query_scalar::<_, i64>("select count(*) from points_ledger")
        .fetch_one(db)
        .await
        .unwrap()
}

fn member(external_id: &str) -> Value {
    json!({"external_id": external_id, "display_name": format!("Member {external_id}")})
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_backend_keeps_members_and_points_and_every_call_names_its_key(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let router = console(db.clone());
    let secret = key(&db, &acme.boss, Scope::Write, None).await;
    let s = Some(secret.as_str());

    // Without a key, or with a wrong one: 401, and nothing else said.
    let anonymous = call(&router, Method::GET, "/members/u1", None, None, None).await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(anonymous.headers[header::WWW_AUTHENTICATE], "Bearer");
    let last = if secret.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &secret[..secret.len() - 1]);
    let wrong = call(
        &router,
        Method::GET,
        "/members/u1",
        Some(&forged),
        None,
        None,
    )
    .await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "unauthenticated");

    let missing = call(&router, Method::GET, "/members/u1", s, None, None).await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "member_not_found");

    let created = call(
        &router,
        Method::POST,
        "/members",
        s,
        Some(member("u1")),
        None,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["external_id"], "u1");
    assert_eq!(created.json()["points"]["available"], 0);
    let updated = call(
        &router,
        Method::POST,
        "/members",
        s,
        Some(json!({"external_id": "u1", "display_name": "Uma", "email": "uma@example.com"})),
        None,
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.json()["display_name"], "Uma");

    let earned = call(
        &router,
        Method::POST,
        "/points/earn",
        s,
        Some(json!({"member": "u1", "points": 1500, "category": "order", "source_ref": "A-1"})),
        None,
    )
    .await;
    assert_eq!(earned.status, StatusCode::CREATED, "{}", earned.body);
    let entry = &earned.json()["entry"];
    assert_eq!(entry["points"], 1500);
    assert_eq!(entry["kind"], "earn");
    let key_id = keys::list(&db, &acme.boss.access()).await.unwrap()[0].key_id;
    assert_eq!(
        entry["client_id"],
        key_id.to_string(),
        "the entry names the key"
    );

    let spent = call(
        &router,
        Method::POST,
        "/points/spend",
        s,
        Some(json!({"member": "u1", "points": 5000})),
        None,
    )
    .await;
    assert_problem(&spent, StatusCode::CONFLICT, "insufficient_points");

    let summary = call(&router, Method::GET, "/members/u1/summary", s, None, None).await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.body);
    let summary = summary.json();
    assert_eq!(summary["member"]["points"]["total"], 1500);
    assert!(summary["member"]["level"]["code"].is_string(), "{summary}");
    assert!(summary["quotas"].is_array());

    let ledger = call(
        &router,
        Method::GET,
        "/members/u1/ledger?limit=1",
        s,
        None,
        None,
    )
    .await;
    assert_eq!(ledger.status, StatusCode::OK, "{}", ledger.body);
    assert_eq!(ledger.json()["entries"].as_array().unwrap().len(), 1);

    // Audit rows name the key.
    let label: String = sqlx::query_scalar(
        "select actor_label from audit_log where action = 'member.create' order by audit_id desc limit 1",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(label.starts_with("api key backend write (tdk_"), "{label}");

    // A read-only key reads and never writes.
    let reader = key(&db, &acme.boss, Scope::Read, None).await;
    let read = call(
        &router,
        Method::GET,
        "/members/u1",
        Some(&reader),
        None,
        None,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
    let before = ledger_rows(&db).await;
    let refused = call(
        &router,
        Method::POST,
        "/points/earn",
        Some(&reader),
        Some(json!({"member": "u1", "points": 1})),
        None,
    )
    .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "insufficient_scope");
    assert_eq!(ledger_rows(&db).await, before);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_key_never_reaches_another_tenant(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let beta = tenant(&db, "beta").await;
    let router = console(db.clone());
    let a = key(&db, &acme.boss, Scope::Write, None).await;
    let b = key(&db, &beta.boss, Scope::Write, None).await;
    let created = call(
        &router,
        Method::POST,
        "/members",
        Some(&b),
        Some(member("shared")),
        None,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let b_member_id = created.json()["id"].as_str().unwrap().to_owned();
    let before = ledger_rows(&db).await;

    for path in [
        "/members/shared",
        "/members/shared/summary",
        "/members/shared/ledger",
        "/members/shared/permissions?keys=report.view",
        "/members/shared/quota",
        &format!("/members/{b_member_id}"),
    ] {
        let response = call(&router, Method::GET, path, Some(&a), None, None).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            response.body
        );
    }
    for (path, body) in [
        ("/points/earn", json!({"member": "shared", "points": 10})),
        ("/points/spend", json!({"member": "shared", "points": 1})),
        (
            "/points/adjust",
            json!({"member": "shared", "points": 5, "reason": "x"}),
        ),
        (
            "/points/reverse",
            json!({"member": "shared", "seq": 1, "reason": "x"}),
        ),
    ] {
        let response = call(&router, Method::POST, path, Some(&a), Some(body), None).await;
        assert_problem(&response, StatusCode::NOT_FOUND, "member_not_found");
    }
    let batch = call(
        &router,
        Method::POST,
        "/points/batch",
        Some(&a),
        Some(json!({"changes": [{"kind": "earn", "member": "shared", "points": 1}]})),
        None,
    )
    .await;
    assert_eq!(batch.json()["results"][0]["status"], 404);
    assert_eq!(ledger_rows(&db).await, before, "nothing posted in beta");

    // A's upsert of the same external id makes A's own member, not B's.
    let own = call(
        &router,
        Method::POST,
        "/members",
        Some(&a),
        Some(member("shared")),
        None,
    )
    .await;
    assert_eq!(own.status, StatusCode::CREATED);
    assert_ne!(own.json()["id"], b_member_id);

    // A secret naming tenant B with A's random part is no key at all.
    let (_, random) = domain::api::keys::parse_secret(&a).unwrap();
    let spliced = format!("tdk_{}_{random}", beta.tenant.id().simple());
    let response = call(
        &router,
        Method::GET,
        "/members/shared",
        Some(&spliced),
        None,
        None,
    )
    .await;
    assert_problem(&response, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn idempotency_keys_replay_refuse_mismatches_and_allow_one_effect(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let router = console(db.clone());
    let secret = key(&db, &acme.boss, Scope::Write, None).await;
    let s = Some(secret.as_str());
    call(
        &router,
        Method::POST,
        "/members",
        s,
        Some(member("u1")),
        None,
    )
    .await;
    let body = json!({"member": "u1", "points": 10});

    let first = call(
        &router,
        Method::POST,
        "/points/earn",
        s,
        Some(body.clone()),
        Some("k-1"),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = call(
        &router,
        Method::POST,
        "/points/earn",
        s,
        Some(body.clone()),
        Some("k-1"),
    )
    .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body, "the same response");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let rows = ledger_rows(&db).await;

    let other = call(
        &router,
        Method::POST,
        "/points/earn",
        s,
        Some(json!({"member": "u1", "points": 11})),
        Some("k-1"),
    )
    .await;
    assert_problem(
        &other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );

    // A refusal is replayed as well (it was the answer).
    let poor = json!({"member": "u1", "points": 1_000_000});
    let refused = call(
        &router,
        Method::POST,
        "/points/spend",
        s,
        Some(poor.clone()),
        Some("k-2"),
    )
    .await;
    assert_problem(&refused, StatusCode::CONFLICT, "insufficient_points");
    let refused_again = call(
        &router,
        Method::POST,
        "/points/spend",
        s,
        Some(poor),
        Some("k-2"),
    )
    .await;
    assert_eq!(refused_again.body, refused.body);

    // Pending approval is replayed too, without filing a second request.
    domain::points::settings::set_approval_threshold(&db, &acme.boss.access(), Some(100))
        .await
        .unwrap();
    let big = json!({"member": "u1", "points": 500, "reason": "goodwill"});
    let pending = call(
        &router,
        Method::POST,
        "/points/adjust",
        s,
        Some(big.clone()),
        Some("k-3"),
    )
    .await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.body);
    assert_eq!(pending.json()["status"], "pending_approval");
    let pending_again = call(
        &router,
        Method::POST,
        "/points/adjust",
        s,
        Some(big),
        Some("k-3"),
    )
    .await;
    assert_eq!(pending_again.body, pending.body);
    let requests: i64 = sqlx::query_scalar("select count(*) from adjustment_requests")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(requests, 1);

    // A bad key header is a 400.
    let bad = call(
        &router,
        Method::POST,
        "/points/earn",
        s,
        Some(body.clone()),
        Some("a b"),
    )
    .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "invalid_idempotency_key");

    // 50 concurrent identical requests: one effect; the others replay or are told the
    // first is still running.
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (router, secret, body) = (router.clone(), secret.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            call(
                &router,
                Method::POST,
                "/points/earn",
                Some(&secret),
                Some(body),
                Some("k-50"),
            )
            .await
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().status);
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::CREATED));
    assert_eq!(ledger_rows(&db).await, rows + 1, "one effect");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bad_input_is_a_problem_document_and_changes_nothing(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let router = console(db.clone());
    let secret = key(&db, &acme.boss, Scope::Write, None).await;
    let s = Some(secret.as_str());
    call(
        &router,
        Method::POST,
        "/members",
        s,
        Some(member("u1")),
        None,
    )
    .await;
    let before = (ledger_rows(&db).await, support::audit_rows(&db).await);

    let send = |body: &'static [u8], content_type: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/points/earn")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    assert_problem(
        &raw(&router, send(b"{", "application/json")).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    assert_problem(
        &raw(
            &router,
            send(b"{\"member\":\"u1\",\"points\":1}", "text/plain"),
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let unknown = raw(
        &router,
        send(
            b"{\"member\":\"u1\",\"points\":1,\"pionts\":2}",
            "application/json",
        ),
    )
    .await;
    assert_problem(&unknown, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert_eq!(unknown.json()["field"], "pionts");
    let wrong_type = raw(
        &router,
        send(
            b"{\"member\":\"u1\",\"points\":\"ten\"}",
            "application/json",
        ),
    )
    .await;
    assert_problem(
        &wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    let zero = raw(
        &router,
        send(b"{\"member\":\"u1\",\"points\":0}", "application/json"),
    )
    .await;
    assert_eq!(
        zero.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        zero.body
    );
    assert_eq!(zero.json()["field"], "points");
    let huge = raw(
        &router,
        send(
            b"{\"member\":\"u1\",\"points\":9223372036854775807}",
            "application/json",
        ),
    )
    .await;
    assert_eq!(
        huge.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        huge.body
    );
    let nul = raw(
        &router,
        send(
            b"{\"member\":\"u1\",\"points\":1,\"category\":\"a\\u0000b\"}",
            "application/json",
        ),
    )
    .await;
    assert_eq!(nul.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nul.body);
    let big = vec![b' '; 2 * 1024 * 1024];
    let oversize = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/points/earn")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))
        .unwrap();
    assert_problem(
        &raw(&router, oversize).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
    let no_member = call(
        &router,
        Method::POST,
        "/members",
        s,
        Some(json!({"external_id": "", "display_name": "x"})),
        None,
    )
    .await;
    assert_problem(&no_member, StatusCode::UNPROCESSABLE_ENTITY, "required");
    let limit = call(
        &router,
        Method::GET,
        "/members/u1/ledger?limit=0",
        s,
        None,
        None,
    )
    .await;
    assert_eq!(limit.status, StatusCode::UNPROCESSABLE_ENTITY);
    let cursor = call(
        &router,
        Method::GET,
        "/members/u1/ledger?cursor=x",
        s,
        None,
        None,
    )
    .await;
    assert_problem(&cursor, StatusCode::BAD_REQUEST, "invalid_query");
    let route = call(&router, Method::GET, "/nothing-here", s, None, None).await;
    assert_problem(&route, StatusCode::NOT_FOUND, "route_not_found");
    let method = call(&router, Method::DELETE, "/members/u1", s, None, None).await;
    assert_problem(
        &method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let empty_batch = call(
        &router,
        Method::POST,
        "/points/batch",
        s,
        Some(json!({"changes": []})),
        None,
    )
    .await;
    assert_problem(
        &empty_batch,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_batch_size",
    );
    assert_eq!(
        (ledger_rows(&db).await, support::audit_rows(&db).await),
        before
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn batches_report_each_change_and_a_bad_one_does_not_sink_the_rest(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let router = console(db.clone());
    let secret = key(&db, &acme.boss, Scope::Write, None).await;
    let s = Some(secret.as_str());
    let members = call(
        &router,
        Method::POST,
        "/members/batch",
        s,
        Some(json!({"members": [member("a"), member("b"), {"external_id": "c", "display_name": ""}]})),
        None,
    )
    .await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.body);
    let statuses: Vec<i64> = members.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 422]);

    let batch = call(
        &router,
        Method::POST,
        "/points/batch",
        s,
        Some(json!({"changes": [
            {"kind": "earn", "member": "a", "points": 100},
            {"kind": "spend", "member": "b", "points": 5},
            {"kind": "earn", "member": "nobody", "points": 1},
            {"kind": "earn", "member": "b", "points": 7},
            {"kind": "adjust", "member": "a", "points": -10, "reason": "fix"},
        ]})),
        Some("batch-1"),
    )
    .await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.body);
    let result = batch.json();
    let statuses: Vec<i64> = result["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 409, 404, 201, 201]);
    assert_eq!(result["posted"], 3);
    assert_eq!(
        result["results"][1]["problem"]["code"],
        "insufficient_points"
    );
    let a = call(&router, Method::GET, "/members/a", s, None, None)
        .await
        .json();
    assert_eq!(a["points"]["available"], 90);
    let again = call(
        &router,
        Method::POST,
        "/points/batch",
        s,
        Some(result_body_of(&batch)),
        Some("batch-1"),
    )
    .await;
    // Another body under the same key is refused; the ledger is checked clean.
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        domain::points::check::check(&db, None)
            .await
            .unwrap()
            .is_empty()
    );
}

fn result_body_of(response: &TestResponse) -> Value {
    json!({"changes": [{"kind": "earn", "member": "a", "points": response.body.len() as i64 % 100 + 1}]})
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn rate_limits_answer_429_per_key(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let router = console(db.clone());
    let slow = key(&db, &acme.boss, Scope::Read, Some(2)).await;
    let other = key(&db, &acme.boss, Scope::Read, Some(2)).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = call(&router, Method::GET, "/members/x", Some(&slow), None, None).await;
        statuses.push(response.status);
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            assert_problem(&response, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
            assert!(response.headers.contains_key(header::RETRY_AFTER));
            assert_eq!(response.headers["ratelimit-limit"], "2");
            assert_eq!(response.headers["ratelimit-remaining"], "0");
        }
    }
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    let unaffected = call(&router, Method::GET, "/members/x", Some(&other), None, None).await;
    assert_eq!(unaffected.status, StatusCode::NOT_FOUND);
}

/// Two server processes (two routers, each with its own started cache node) both know
/// a key; a revocation returns only when both refuse it. Rotation keeps the old key
/// for its grace, or stops it at once with no grace.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn revocation_and_rotation_reach_every_process(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let routers: Vec<Router> = (0..2)
        .map(|i| {
            let options = leptos::config::LeptosOptions::builder()
                .output_name("tierdesk")
                .site_root("target/site")
                .build();
            let state = AppState::new(db.clone(), options, domain::clock::system());
            state
                .permissions
                .start(db.clone(), format!("test process {i}"));
            tierdesk::router::router(state, tierdesk::router::RouterOptions::default())
        })
        .collect();
    // Wait for both nodes to serve.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let secret = key(&db, &acme.boss, Scope::Write, None).await;
    for router in &routers {
        let response = call(router, Method::GET, "/members/x", Some(&secret), None, None).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "known (and now cached)"
        );
    }
    let access = acme.boss.access();
    let key_id = keys::list(&db, &access).await.unwrap()[0].key_id;

    // Rotation with a day's grace: both keys work.
    let rotated = keys::rotate(&db, &access, key_id, 24).await.unwrap();
    for router in &routers {
        for secret in [&secret, &rotated.secret] {
            let response = call(router, Method::GET, "/members/x", Some(secret), None, None).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND);
        }
    }
    // Rotating the new key with no grace stops it at once, everywhere.
    let again = keys::rotate(&db, &access, rotated.key.key_id, 0)
        .await
        .unwrap();
    for router in &routers {
        let response = call(
            router,
            Method::GET,
            "/members/x",
            Some(&rotated.secret),
            None,
            None,
        )
        .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    // Revocation, everywhere, at once.
    keys::revoke(&db, &access, key_id).await.unwrap();
    for router in &routers {
        let response = call(router, Method::GET, "/members/x", Some(&secret), None, None).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        let response = call(
            router,
            Method::GET,
            "/members/x",
            Some(&again.secret),
            None,
            None,
        )
        .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
    }
    let ended = keys::rotate(&db, &access, key_id, 1).await.unwrap_err();
    assert!(matches!(
        ended,
        domain::Error::Conflict(domain::Conflict::ApiKeyEnded)
    ));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn permission_checks_go_through_the_routed_entry_point(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let router = console(db.clone());
    let secret = key(&db, &acme.boss, Scope::Read, None).await;
    let writer = key(&db, &acme.boss, Scope::Write, None).await;
    call(
        &router,
        Method::POST,
        "/members",
        Some(&writer),
        Some(member("u1")),
        None,
    )
    .await;
    let summary = call(
        &router,
        Method::GET,
        "/members/u1/summary",
        Some(&secret),
        None,
        None,
    )
    .await
    .json();
    let granted: Vec<String> = summary["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_owned())
        .collect();
    let some = granted.first().cloned().unwrap_or_else(|| "none".into());
    let check = call(
        &router,
        Method::GET,
        &format!("/members/u1/permissions?keys={some},never.granted"),
        Some(&secret),
        None,
        None,
    )
    .await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.body);
    let check = check.json();
    assert_eq!(check["model"], "new");
    assert_eq!(check["keys"][0]["allowed"], !granted.is_empty());
    assert_eq!(check["keys"][1]["allowed"], false);
    assert_eq!(check["allowed"], false);
    let quota = call(
        &router,
        Method::GET,
        "/members/u1/quota",
        Some(&secret),
        None,
        None,
    )
    .await;
    assert_eq!(quota.status, StatusCode::OK, "{}", quota.body);
    assert!(quota.json()["max_licenses"].is_i64());
    let bad = call(
        &router,
        Method::GET,
        "/members/u1/permissions?keys=",
        Some(&secret),
        None,
        None,
    )
    .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_format");
}

/// The document is generated from the code; the committed copy (docs/openapi.json)
/// must match it, so every change of the contract shows in review. Regenerate with
/// `cargo run -p tierdesk -- api openapi > docs/openapi.json`.
#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = tierdesk::api::document().to_pretty_json().unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim() == generated.trim(),
        "docs/openapi.json is out of date: run `cargo run -p tierdesk -- api openapi > docs/openapi.json`"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/members",
        "/points/earn",
        "/points/batch",
        "/members/{external_id}/permissions",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}

/// The console's API key server functions: tenant admins only, their own tenant's keys
/// only, malformed input a 4xx naming the field; without JavaScript the secret is shown
/// once on the page after the redirect, then never again.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_console_manages_keys_for_tenant_admins_only(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let beta = tenant(&db, "beta").await;
    let sam = acme.tenant.with_admin(&db, "sam", Role::Support).await;
    let router = console(db.clone());
    let mut boss =
        support::Client::signed_in(&router, &acme.boss.email, domain::testing::TEST_PASSWORD).await;
    let mut support_staff =
        support::Client::signed_in(&router, &sam.email, domain::testing::TEST_PASSWORD).await;

    let form = [
        ("name", "Shop"),
        ("scope", "write"),
        ("rate_per_second", ""),
        ("burst", ""),
    ];
    let created = boss.call_fn("create_api_key", &form).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let secret = created.json()["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(&format!("tdk_{}_", acme.tenant.id().simple())));
    let refused = support_staff.call_fn("create_api_key", &form).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let listed = support_staff.call_fn("api_keys", &[]).await;
    assert_eq!(listed.status, StatusCode::FORBIDDEN);

    for (field, bad) in [
        (
            "scope",
            [
                ("name", "x"),
                ("scope", "admin"),
                ("rate_per_second", ""),
                ("burst", ""),
            ],
        ),
        (
            "rate_per_second",
            [
                ("name", "x"),
                ("scope", "read"),
                ("rate_per_second", "0"),
                ("burst", ""),
            ],
        ),
        (
            "burst",
            [
                ("name", "x"),
                ("scope", "read"),
                ("rate_per_second", ""),
                ("burst", "ten"),
            ],
        ),
        (
            "name",
            [
                ("name", " "),
                ("scope", "read"),
                ("rate_per_second", ""),
                ("burst", ""),
            ],
        ),
    ] {
        let response = boss.call_fn("create_api_key", &bad).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            response.body
        );
        assert!(response.body.contains(field), "{field}: {}", response.body);
    }
    assert_eq!(keys::list(&db, &acme.boss.access()).await.unwrap().len(), 1);

    // Another tenant's key is not found, whatever the move.
    let theirs = keys::create(
        &db,
        &beta.boss.access(),
        NewKey {
            name: "theirs".into(),
            scope: Scope::Read,
            rate_per_second: None,
            burst: None,
        },
    )
    .await
    .unwrap();
    let id = theirs.key.key_id.to_string();
    for (name, form) in [
        ("revoke_api_key", vec![("key_id", id.as_str())]),
        (
            "rotate_api_key",
            vec![("key_id", id.as_str()), ("grace_hours", "1")],
        ),
        (
            "set_api_key_limits",
            vec![
                ("key_id", id.as_str()),
                ("rate_per_second", "5"),
                ("burst", ""),
            ],
        ),
    ] {
        let response = boss.call_fn(name, &form).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{name}: {}",
            response.body
        );
    }
    assert!(
        keys::list(&db, &beta.boss.access()).await.unwrap()[0]
            .revoked_at
            .is_none()
    );

    // Without JavaScript: a plain post, a redirect back, the secret on the page once.
    let posted = boss
        .submit_form(
            "create_api_key",
            &[("name", "No JS"), ("scope", "read")],
            "/api-keys",
        )
        .await;
    assert!(posted.status.is_redirection(), "{}", posted.body);
    let back = posted.location().unwrap().to_owned();
    assert!(back.contains("/api-keys"), "{back}");
    let page = boss.get("/api-keys").await;
    assert_eq!(page.status, StatusCode::OK);
    let shown: Vec<&str> = page
        .body
        .match_indices("tdk_")
        .map(|(i, _)| &page.body[i..(i + 85).min(page.body.len())])
        .collect();
    assert!(
        shown
            .iter()
            .any(|s| s.len() == 85 && s[4..36] == *acme.tenant.id().simple().to_string()),
        "the secret is shown"
    );
    let again = boss.get("/api-keys").await;
    assert!(
        !again
            .body
            .contains(&format!("tdk_{}_", acme.tenant.id().simple())),
        "and only once"
    );
}

/// Tags by code through the API: grant (the permission answers at once), a second grant
/// is a conflict, renew extends, revoke ends it; another tenant's member is not found.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn tags_are_granted_renewed_and_revoked_by_code(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let beta = tenant(&db, "beta").await;
    let router = console(db.clone());
    let secret = key(&db, &acme.boss, Scope::Write, None).await;
    let s = Some(secret.as_str());
    let theirs = key(&db, &beta.boss, Scope::Write, None).await;
    call(
        &router,
        Method::POST,
        "/members",
        s,
        Some(member("u1")),
        None,
    )
    .await;
    let check = |router: Router, secret: String| async move {
        call(
            &router,
            Method::GET,
            "/members/u1/permissions?keys=vip.support",
            Some(&secret),
            None,
            None,
        )
        .await
        .json()["allowed"]
            .clone()
    };
    assert_eq!(check(router.clone(), secret.clone()).await, false);

    let granted = call(
        &router,
        Method::POST,
        "/members/u1/tags",
        s,
        Some(json!({"tag": "vip", "reason": "bought VIP", "term_days": 30})),
        Some("grant-1"),
    )
    .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    assert_eq!(check(router.clone(), secret.clone()).await, true);
    let twice = call(
        &router,
        Method::POST,
        "/members/u1/tags",
        s,
        Some(json!({"tag": "vip", "reason": "again"})),
        None,
    )
    .await;
    assert_problem(&twice, StatusCode::CONFLICT, "tag_already_held");
    let nul = call(
        &router,
        Method::POST,
        "/members/u1/tags",
        s,
        Some(json!({"tag": "v\u{0}ip", "reason": "x"})),
        None,
    )
    .await;
    assert_problem(&nul, StatusCode::NOT_FOUND, "tag_not_found");
    let nul_member = call(
        &router,
        Method::GET,
        "/members/u%001/permissions?keys=vip.support",
        s,
        None,
        None,
    )
    .await;
    assert_problem(&nul_member, StatusCode::NOT_FOUND, "member_not_found");
    let nul_plan = call(
        &router,
        Method::POST,
        "/members/u1/licenses",
        s,
        Some(json!({"plan": "p\u{0}"})),
        None,
    )
    .await;
    assert_problem(&nul_plan, StatusCode::NOT_FOUND, "plan_not_found");
    let unknown = call(
        &router,
        Method::POST,
        "/members/u1/tags",
        s,
        Some(json!({"tag": "gold", "reason": "x"})),
        None,
    )
    .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "tag_not_found");

    let renewed = call(
        &router,
        Method::POST,
        "/members/u1/tags/vip/renew",
        s,
        Some(json!({"reason": "renewal"})),
        None,
    )
    .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let no_reason = call(
        &router,
        Method::POST,
        "/members/u1/tags/vip/revoke",
        s,
        Some(json!({"reason": " "})),
        None,
    )
    .await;
    assert_problem(&no_reason, StatusCode::UNPROCESSABLE_ENTITY, "required");
    let from_beta = call(
        &router,
        Method::POST,
        "/members/u1/tags/vip/revoke",
        Some(&theirs),
        Some(json!({"reason": "x"})),
        None,
    )
    .await;
    assert_problem(&from_beta, StatusCode::NOT_FOUND, "member_not_found");
    assert_eq!(check(router.clone(), secret.clone()).await, true);

    let revoked = call(
        &router,
        Method::POST,
        "/members/u1/tags/vip/revoke",
        s,
        Some(json!({"reason": "refund"})),
        None,
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(check(router.clone(), secret.clone()).await, false);
    let gone = call(
        &router,
        Method::POST,
        "/members/u1/tags/vip/revoke",
        s,
        Some(json!({"reason": "again"})),
        None,
    )
    .await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "grant_not_found");
}

/// Licenses through the API: assign from a plan within the quota, activate devices up to
/// the limit, validate with stable codes, deactivate, unassign; another tenant's key is
/// not found and validates as `not_found`.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn licenses_are_assigned_activated_and_validated_by_key(db: PgPool) {
    use domain::licenses::{self, IssueInput, PlanInput};
    let acme = tenant(&db, "acme").await;
    let beta = tenant(&db, "beta").await;
    let router = console(db.clone());
    let secret = key(&db, &acme.boss, Scope::Write, None).await;
    let s = Some(secret.as_str());
    let theirs = key(&db, &beta.boss, Scope::Write, None).await;
    let plan = PlanInput {
        code: "pro".into(),
        name_zh: "专业版".into(),
        name_en: "Pro".into(),
        default_max_activations: 1,
        default_validity_days: Some(365),
        active: true,
    };
    let plan_id = licenses::create_plan(&db, &acme.boss.access(), plan)
        .await
        .unwrap();
    let input = IssueInput {
        plan_id,
        count: 3,
        ..Default::default()
    };
    licenses::issue(&db, &acme.boss.access(), chrono::Utc::now(), input)
        .await
        .unwrap();
    call(
        &router,
        Method::POST,
        "/members",
        s,
        Some(member("u1")),
        None,
    )
    .await;
    // Give the member a quota of 2 (the VIP tag's boost).
    call(
        &router,
        Method::POST,
        "/members/u1/tags",
        s,
        Some(json!({"tag": "vip", "reason": "x"})),
        None,
    )
    .await;

    let assigned = call(
        &router,
        Method::POST,
        "/members/u1/licenses",
        s,
        Some(json!({"plan": "pro"})),
        Some("as-1"),
    )
    .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    let license_key = assigned.json()["license_key"].as_str().unwrap().to_owned();
    let neither = call(
        &router,
        Method::POST,
        "/members/u1/licenses",
        s,
        Some(json!({})),
        None,
    )
    .await;
    assert_problem(&neither, StatusCode::UNPROCESSABLE_ENTITY, "required");

    let device = |fingerprint: &str| json!({"fingerprint": fingerprint});
    let path = format!("/licenses/{}/activate", license_key.to_lowercase());
    let first = call(
        &router,
        Method::POST,
        &path,
        s,
        Some(device("laptop-1")),
        None,
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = call(
        &router,
        Method::POST,
        &path,
        s,
        Some(device("laptop-1")),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    let second = call(
        &router,
        Method::POST,
        &path,
        s,
        Some(device("laptop-2")),
        None,
    )
    .await;
    assert_problem(&second, StatusCode::CONFLICT, "license_unusable");

    let validate = |body: Value| {
        let router = router.clone();
        let secret = secret.clone();
        async move {
            call(
                &router,
                Method::POST,
                "/licenses/validate",
                Some(&secret),
                Some(body),
                None,
            )
            .await
            .json()
        }
    };
    let ok = validate(json!({"license_key": license_key, "fingerprint": "laptop-1"})).await;
    assert_eq!(
        (ok["valid"].clone(), ok["code"].clone()),
        (json!(true), json!("valid"))
    );
    let other_device = validate(json!({"license_key": license_key, "fingerprint": "phone"})).await;
    assert_eq!(other_device["code"], "fingerprint_not_activated");
    let from_beta = call(
        &router,
        Method::POST,
        "/licenses/validate",
        Some(&theirs),
        Some(json!({"license_key": license_key})),
        None,
    )
    .await;
    assert_eq!(from_beta.json()["code"], "not_found");
    let beta_activate = call(
        &router,
        Method::POST,
        &path,
        Some(&theirs),
        Some(device("x")),
        None,
    )
    .await;
    assert_problem(&beta_activate, StatusCode::NOT_FOUND, "license_not_found");

    let listed = call(&router, Method::GET, "/members/u1/licenses", s, None, None)
        .await
        .json();
    assert_eq!(listed["held"], 1);
    assert_eq!(listed["licenses"][0]["key"], license_key);

    let off = call(
        &router,
        Method::POST,
        &format!("/licenses/{license_key}/deactivate"),
        s,
        Some(device("laptop-1")),
        None,
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    let second = call(
        &router,
        Method::POST,
        &path,
        s,
        Some(device("laptop-2")),
        None,
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "the slot is free again");

    let back = call(
        &router,
        Method::POST,
        &format!("/licenses/{license_key}/unassign"),
        s,
        Some(json!({"reason": "refund"})),
        None,
    )
    .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    let gone = validate(json!({"license_key": license_key})).await;
    assert_eq!(gone["code"], "not_assigned");
}
