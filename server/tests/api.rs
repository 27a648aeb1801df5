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
        "/members/shared/permissions/effective",
        "/members/shared/licenses",
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
    // B's legacy rows stay B's: A's upsert of the same id writes A's own row.
    let legacy = json!({"members": [{"external_id": "shared", "user_type": 1,
        "registered_at": "2020-01-01T00:00:00Z", "license_count": 0, "payment_total_cents": 0}]});
    call(
        &router,
        Method::POST,
        "/legacy/members",
        Some(&b),
        Some(legacy.clone()),
        None,
    )
    .await;
    let mine = call(
        &router,
        Method::POST,
        "/legacy/members",
        Some(&a),
        Some(legacy),
        None,
    )
    .await;
    assert_eq!(mine.json()["inserted"], 1, "{}", mine.body);

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

    // Transfer to another member: a stale holder is refused, the right one moves it.
    for external_id in ["u2"] {
        call(
            &router,
            Method::POST,
            "/members",
            s,
            Some(member(external_id)),
            None,
        )
        .await;
        call(
            &router,
            Method::POST,
            &format!("/members/{external_id}/tags"),
            s,
            Some(json!({"tag": "vip", "reason": "x"})),
            None,
        )
        .await;
    }
    let transfer_path = format!("/licenses/{license_key}/transfer");
    let stale = call(
        &router,
        Method::POST,
        &transfer_path,
        s,
        Some(json!({"to": "u2", "reason": "gift", "from": "u2"})),
        None,
    )
    .await;
    assert_problem(&stale, StatusCode::CONFLICT, "stale_version");
    let no_reason = call(
        &router,
        Method::POST,
        &transfer_path,
        s,
        Some(json!({"to": "u2", "reason": " "})),
        None,
    )
    .await;
    assert_eq!(
        no_reason.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_reason.body
    );
    let moved = call(
        &router,
        Method::POST,
        &transfer_path,
        s,
        Some(json!({"to": "u2", "reason": "gift", "from": "u1"})),
        Some("tr-1"),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.json()["license_key"], license_key);
    let beta_transfer = call(
        &router,
        Method::POST,
        &transfer_path,
        Some(&theirs),
        Some(json!({"to": "u2", "reason": "steal"})),
        None,
    )
    .await;
    assert_problem(&beta_transfer, StatusCode::NOT_FOUND, "license_not_found");
    let u2 = call(&router, Method::GET, "/members/u2/licenses", s, None, None)
        .await
        .json();
    assert_eq!(u2["held"], 1);

    // The report and the exports, as the console has them; beta sees none of it.
    let report = call(&router, Method::GET, "/licenses/report", s, None, None).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let report = report.json();
    assert_eq!(report["plans"][0]["plan"], "pro");
    assert_eq!(report["plans"][0]["issued"], 3);
    assert_eq!(report["plans"][0]["assigned"], 1);
    let beta_report = call(
        &router,
        Method::GET,
        "/licenses/report",
        Some(&theirs),
        None,
        None,
    )
    .await
    .json();
    assert_eq!(beta_report["plans"], json!([]));
    let csv = call(
        &router,
        Method::GET,
        "/licenses/export.csv?plan=pro&state=assigned",
        s,
        None,
        None,
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(
        csv.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(csv.body.lines().count(), 2, "{}", csv.body);
    assert!(csv.body.contains(&license_key) && csv.body.contains("u2"));
    let assignments = call(
        &router,
        Method::GET,
        "/licenses/assignments.csv",
        s,
        None,
        None,
    )
    .await;
    assert_eq!(assignments.status, StatusCode::OK);
    assert!(assignments.body.contains("gift"), "{}", assignments.body);
    let beta_csv = call(
        &router,
        Method::GET,
        "/licenses/export.csv",
        Some(&theirs),
        None,
        None,
    )
    .await;
    assert!(!beta_csv.body.contains(&license_key));
    let bad_state = call(
        &router,
        Method::GET,
        "/licenses/export.csv?state=lost",
        s,
        None,
        None,
    )
    .await;
    assert_eq!(
        bad_state.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_state.body
    );
    let bad_plan = call(
        &router,
        Method::GET,
        "/licenses/export.csv?plan=nope",
        s,
        None,
        None,
    )
    .await;
    assert_problem(&bad_plan, StatusCode::NOT_FOUND, "plan_not_found");

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

/// The set-based batch moves balances, sequence numbers and levels exactly as the
/// single changes would one after the other, answers a retry with the original
/// response, and a takeover after a lost claim (the same ledger keys again) posts
/// nothing twice.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_batch_posts_in_order_as_single_changes_would(db: PgPool) {
    use domain::points::batch::{BatchItem, post_batch};
    use domain::points::ledger::{Adjusted, Change, EntryKind};
    let acme = tenant(&db, "acme").await;
    let router = console(db.clone());
    let secret = key(&db, &acme.boss, Scope::Write, None).await;
    let s = Some(secret.as_str());
    for id in ["a", "b"] {
        call(&router, Method::POST, "/members", s, Some(member(id)), None).await;
    }
    let changes = json!({"changes": [
        {"kind": "earn", "member": "a", "points": 600},
        {"kind": "earn", "member": "b", "points": 10},
        {"kind": "earn", "member": "a", "points": 500},
        {"kind": "spend", "member": "a", "points": 2000},
        {"kind": "spend", "member": "a", "points": 100},
        {"kind": "earn", "member": "a", "points": 0},
        {"kind": "earn", "member": " b ", "points": 5, "category": "promo"},
        {"kind": "earn", "member": "a\u{0}", "points": 5},
    ]});
    let first = call(
        &router,
        Method::POST,
        "/points/batch",
        s,
        Some(changes.clone()),
        Some("b-1"),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let result = first.json();
    let statuses: Vec<i64> = result["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 201, 409, 201, 422, 201, 404]);
    let seqs: Vec<Value> = result["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["entry"]["seq"].clone())
        .collect();
    assert_eq!(
        seqs[..5],
        [json!(1), json!(1), json!(2), Value::Null, json!(3)]
    );
    assert_eq!(result["results"][4]["entry"]["available_after"], 1000);
    assert_eq!(result["results"][4]["entry"]["total_after"], 1100);
    assert_eq!(result["results"][6]["entry"]["category"], "promo");
    let a = call(&router, Method::GET, "/members/a", s, None, None)
        .await
        .json();
    assert_eq!(a["points"]["available"], 1000);
    assert_eq!(a["level"]["code"], "silver", "{a}");
    let moves: i64 = sqlx::query_scalar(
        "select count(*) from level_changes where cause = 'points' and ledger_seq = 2",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(moves, 1, "a moved to silver at its second entry");
    let entries = ledger_rows(&db).await;
    assert_eq!(entries, 5);

    // A retry gets the first response; the ledger is untouched.
    let retry = call(
        &router,
        Method::POST,
        "/points/batch",
        s,
        Some(changes),
        Some("b-1"),
    )
    .await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.json(), result);
    assert_eq!(ledger_rows(&db).await, entries);

    // The same ledger keys again (a retry that took over a dead claim): every change
    // answers its stored entry, replayed; a different payload under a key conflicts;
    // a key twice in one batch is a retry of the first.
    let a_id = domain::members::id_of(&db, &acme.boss.access(), "a")
        .await
        .unwrap();
    let item = |points: i64, key: &str| BatchItem {
        kind: EntryKind::Earn,
        member: "a".into(),
        change: Change {
            member_id: a_id,
            points,
            category: "bench".into(),
            idempotency_key: Some(key.into()),
            ..Default::default()
        },
    };
    let access = acme.boss.access();
    let once = post_batch(
        &db,
        &access,
        vec![item(7, "k1"), item(7, "k1"), item(8, "k2")],
    )
    .await
    .unwrap();
    let again = post_batch(&db, &access, vec![item(7, "k1"), item(9, "k2")])
        .await
        .unwrap();
    let posted = |o: &domain::Result<Adjusted>| match o {
        Ok(Adjusted::Posted(p)) => Some((p.entry.seq, p.replayed)),
        _ => None,
    };
    assert_eq!(posted(&once[0]), Some((4, false)));
    assert_eq!(posted(&once[1]), Some((4, true)));
    assert_eq!(posted(&once[2]), Some((5, false)));
    assert_eq!(posted(&again[0]), Some((4, true)));
    assert!(matches!(
        again[1],
        Err(domain::Error::Conflict(
            domain::Conflict::IdempotencyKeyReused
        ))
    ));
    assert_eq!(ledger_rows(&db).await, entries + 2);
    assert!(
        domain::points::check::check(&db, None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Concurrent batches on the same members never deadlock and lose nothing.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn concurrent_batches_on_the_same_members_add_up(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let router = console(db.clone());
    let secret = key(&db, &acme.boss, Scope::Write, None).await;
    let ids: Vec<String> = (0..20).map(|i| format!("m{i:02}")).collect();
    let members: Vec<Value> = ids.iter().map(|id| member(id)).collect();
    call(
        &router,
        Method::POST,
        "/members/batch",
        Some(&secret),
        Some(json!({"members": members})),
        None,
    )
    .await;
    let mut tasks = Vec::new();
    for client in 0..8 {
        let (router, secret, ids) = (router.clone(), secret.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            // Each client walks the members in its own order.
            let mut order = ids.clone();
            order.rotate_left((client * 3) % ids.len());
            if client % 2 == 1 {
                order.reverse();
            }
            let changes: Vec<Value> = order
                .iter()
                .map(|m| json!({"kind": "earn", "member": m, "points": 10}))
                .collect();
            call(
                &router,
                Method::POST,
                "/points/batch",
                Some(&secret),
                Some(json!({"changes": changes})),
                None,
            )
            .await
            .status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let totals: Vec<i64> =
        sqlx::query_scalar("select total_points from member_profiles order by external_id")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(totals, vec![80; 20]);
    assert!(
        domain::points::check::check(&db, None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The legacy system keeps its types and members in step over the API; a member
/// changed after their migration is caught up in the same call; effective permissions
/// come from the model that answers the member now.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn legacy_upserts_catch_up_migrated_members_and_effective_permissions_are_routed(db: PgPool) {
    use domain::migration::run;
    let acme = tenant(&db, "acme").await;
    let beta = tenant(&db, "beta").await;
    let router = console(db.clone());
    let writer = key(&db, &acme.boss, Scope::Write, None).await;
    let reader = key(&db, &acme.boss, Scope::Read, None).await;
    let theirs = key(&db, &beta.boss, Scope::Write, None).await;
    let w = Some(writer.as_str());

    let types = json!({"user_types": [
        {"id": 1, "name": "Basic", "permissions": ["license_request"], "max_licenses": 1},
        {"id": 2, "name": "", "permissions": [], "max_licenses": 1},
        {"id": 3, "name": "Pro", "permissions": ["license_request", "api_access"], "max_licenses": 4},
    ]});
    let read_only = call(
        &router,
        Method::POST,
        "/legacy/user-types",
        Some(&reader),
        Some(types.clone()),
        None,
    )
    .await;
    assert_problem(&read_only, StatusCode::FORBIDDEN, "insufficient_scope");
    let written = call(
        &router,
        Method::POST,
        "/legacy/user-types",
        w,
        Some(types),
        None,
    )
    .await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.body);
    let written = written.json();
    assert_eq!(
        (
            written["inserted"].clone(),
            written["refused"][0]["index"].clone()
        ),
        (json!(2), json!(1))
    );
    assert_eq!(written["refused"][0]["field"], "name");

    let member_row = |id: &str, user_type: i64, payment: i64| {
        json!({"external_id": id, "user_type": user_type, "registered_at": "2020-01-01T00:00:00Z",
               "last_login_at": null, "license_count": 1, "payment_total_cents": payment})
    };
    let members = json!({"members": [member_row("m1", 1, 10_000), member_row("m2", 3, 0), member_row("", 1, 0)]});
    let written = call(
        &router,
        Method::POST,
        "/legacy/members",
        w,
        Some(members),
        Some("lm-1"),
    )
    .await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.body);
    let written = written.json();
    assert_eq!(written["inserted"], 2);
    assert_eq!(written["refused"][0]["index"], 2);
    assert_eq!(written["caught_up"]["members"], 0);

    // Before the migration: the legacy model answers, from the user type.
    let legacy = call(
        &router,
        Method::GET,
        "/members/m2/permissions/effective",
        Some(&reader),
        None,
        None,
    )
    .await;
    assert_eq!(legacy.status, StatusCode::OK, "{}", legacy.body);
    let legacy = legacy.json();
    assert_eq!(legacy["model"], "legacy");
    assert_eq!(legacy["user_type"], 3);
    assert_eq!(legacy["permissions"][0]["key"], "api_access");
    assert_eq!(legacy["permissions"][0]["sources"][0]["kind"], "user_type");
    assert_eq!(legacy["quotas"][0]["value"], 4);
    let unknown = call(
        &router,
        Method::GET,
        "/members/nobody/permissions/effective",
        Some(&reader),
        None,
        None,
    )
    .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "member_not_found");
    let beta_sees = call(
        &router,
        Method::GET,
        "/members/m2/permissions/effective",
        Some(&theirs),
        None,
        None,
    )
    .await;
    assert_problem(&beta_sees, StatusCode::NOT_FOUND, "member_not_found");

    // Migrate m1 and switch the tenant to the new model.
    let access = acme.boss.access();
    let started = run::start(
        &db,
        &access,
        &domain::migration::run::Selection::Members(vec!["m1".into()]),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    run::drive(&db, acme.tenant.id(), started.run_id, |_| {})
        .await
        .unwrap();
    let points_before: i64 =
        sqlx::query_scalar("select total_points from member_profiles where external_id = 'm1'")
            .fetch_one(&db)
            .await
            .unwrap();

    // The legacy system records a payment for m1: caught up in the same call.
    let members = json!({"members": [member_row("m1", 1, 500_000)]});
    let caught = call(
        &router,
        Method::POST,
        "/legacy/members",
        w,
        Some(members.clone()),
        None,
    )
    .await;
    assert_eq!(caught.status, StatusCode::OK, "{}", caught.body);
    let caught = caught.json();
    assert_eq!(caught["updated"], 1);
    assert_eq!(caught["caught_up"]["members"], 1, "{caught}");
    let points_after: i64 =
        sqlx::query_scalar("select total_points from member_profiles where external_id = 'm1'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(
        points_after > points_before,
        "{points_before} -> {points_after}"
    );
    assert_eq!(caught["caught_up"]["points"], points_after - points_before);
    // The same row again changes nothing and catches up nothing.
    let same = call(
        &router,
        Method::POST,
        "/legacy/members",
        w,
        Some(members),
        None,
    )
    .await
    .json();
    assert_eq!(
        (
            same["unchanged"].clone(),
            same["caught_up"]["members"].clone()
        ),
        (json!(1), json!(0))
    );
    // Beta's upserts never touch acme's rows.
    let beta_row = json!({"members": [member_row("m1", 1, 1)]});
    call(
        &router,
        Method::POST,
        "/legacy/members",
        Some(&theirs),
        Some(beta_row),
        None,
    )
    .await;
    let acme_payment: i64 = sqlx::query_scalar(
        "select payment_total_cents from legacy_members where tenant_id = $1 and external_id = 'm1'",
    )
    .bind(acme.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(acme_payment, 500_000);

    // A bad row is refused on its own; bad bodies are 4xx and write nothing.
    let bad_row = json!({"members": [member_row("x", -1, 0)]});
    let bad_row = call(
        &router,
        Method::POST,
        "/legacy/members",
        w,
        Some(bad_row),
        None,
    )
    .await
    .json();
    assert_eq!(bad_row["refused"][0]["field"], "user_type");
    for body in [
        json!({"members": []}),
        json!({"members": [member_row("x", 1, 0)], "extra": 1}),
        json!({"members": [{"external_id": "x", "user_type": "one"}]}),
    ] {
        let refused = call(
            &router,
            Method::POST,
            "/legacy/members",
            w,
            Some(body.clone()),
            None,
        )
        .await;
        assert!(refused.status.is_client_error(), "{body}: {}", refused.body);
    }
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from legacy_members where tenant_id = $1 and external_id = 'x'",
    )
    .bind(acme.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(stored, 0);

    // A member only the new model knows: answered by it, with the level as a source.
    call(
        &router,
        Method::POST,
        "/members",
        w,
        Some(member("n1")),
        None,
    )
    .await;
    let new = call(
        &router,
        Method::GET,
        "/members/n1/permissions/effective",
        Some(&reader),
        None,
        None,
    )
    .await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
    let new = new.json();
    assert_eq!(new["model"], "new");
    assert_eq!(new["user_type"], Value::Null);
    assert_eq!(
        new["permissions"][0]["sources"][0]["kind"], "level",
        "{new}"
    );
}
