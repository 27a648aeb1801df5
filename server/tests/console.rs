//! The console over HTTP: the real router, real sessions, a fresh database per test.

mod support;

use domain::Role;
use domain::testing::{TEST_PASSWORD, TestAdmin, TestTenant};
use http::{Method, StatusCode, header};
use sqlx::PgPool;
use support::{Client, TestResponse, audit_rows, console};
use tierdesk::caching::{IMMUTABLE, NO_STORE, REVALIDATE};

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn healthz_reports_the_database(db: PgPool) {
    let router = console(db.clone());
    let mut client = Client::new(&router);
    let ok = client.get("/healthz").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["status"], "ok");
    assert_eq!(ok.json()["database"], "ok");
    // The permission cache's counters are exposed for monitoring.
    assert_eq!(ok.json()["permission_cache"]["hits"], 0);
    assert!(ok.json()["permission_cache"]["misses"].is_u64());
    assert!(ok.headers.contains_key("x-request-id"));

    db.close().await;
    let down = client.get("/healthz").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.json()["status"], "unavailable");
    assert!(down.json()["database"].is_string());
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn sign_in_with_wrong_then_right_password(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let ann = acme.with_admin(&db, "ann", Role::Support).await;
    let router = console(db);
    let mut client = Client::new(&router);

    let wrong = client
        .call_fn(
            "sign_in",
            &[("email", &ann.email), ("password", "wrong-password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json(), serde_json::json!("InvalidCredentials"));
    assert!(client.cookie.is_none());

    let right = client
        .call_fn(
            "sign_in",
            &[("email", &ann.email), ("password", TEST_PASSWORD)],
        )
        .await;
    assert!(
        right.status.is_success() || right.status.is_redirection(),
        "{right:?}"
    );
    let set_cookie = right
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );

    let info = client.call_fn("session_info", &[]).await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.json()["email"], ann.email);
    assert_eq!(info.json()["active"]["role"], "support");

    let out = client.call_fn("sign_out", &[]).await;
    assert!(out.status.is_success() || out.status.is_redirection());
    assert!(client.cookie.is_none(), "sign-out removes the cookie");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn repeated_failures_are_throttled_with_a_clear_error(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let ann = acme.with_admin(&db, "ann", Role::Support).await;
    let router = console(db);
    let mut client = Client::new(&router);
    for _ in 0..domain::access::auth::ACCOUNT_FAILURES_MAX {
        client
            .call_fn(
                "sign_in",
                &[("email", &ann.email), ("password", "wrong-password")],
            )
            .await;
    }
    let locked = client
        .call_fn(
            "sign_in",
            &[("email", &ann.email), ("password", TEST_PASSWORD)],
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked.json()["TooManyAttempts"]["retry_after_secs"]
            .as_i64()
            .unwrap()
            > 0
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn sign_in_cycles_the_session_id(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let ann = acme.with_admin(&db, "ann", Role::Viewer).await;
    let router = console(db);
    let mut client = Client::signed_in(&router, &ann.email, TEST_PASSWORD).await;
    let first = client.cookie.clone().unwrap();

    client
        .call_fn(
            "sign_in",
            &[("email", &ann.email), ("password", TEST_PASSWORD)],
        )
        .await;
    let second = client.cookie.clone().unwrap();
    assert_ne!(first, second, "a new session id on every sign-in");

    let mut fixated = Client {
        router: router.clone(),
        cookie: Some(first),
    };
    let info = fixated.call_fn("session_info", &[]).await;
    assert_eq!(
        info.json(),
        serde_json::Value::Null,
        "the old session id is dead"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn disabling_an_admin_ends_their_access_at_once(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let ann = acme.with_admin(&db, "ann", Role::Support).await;
    let router = console(db);
    let mut ann_client = Client::signed_in(&router, &ann.email, TEST_PASSWORD).await;
    let mut boss_client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;

    let id = ann.admin_id.to_string();
    let disabled = boss_client
        .call_fn(
            "set_admin_disabled",
            &[("admin_id", &id), ("disabled", "true")],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_eq!(disabled.json()["disabled"], true);

    assert_eq!(
        ann_client.call_fn("list_audit", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let again = Client::new(&router)
        .call_fn(
            "sign_in",
            &[("email", &ann.email), ("password", TEST_PASSWORD)],
        )
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    assert_eq!(again.json(), serde_json::json!("AccountDisabled"));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn state_changes_need_a_same_site_origin(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let router = console(db.clone());
    let mut client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let before = audit_rows(&db).await;
    for origin in [None, Some("http://evil.test")] {
        let mut request = client
            .request(Method::POST, "/api/add_admin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        let body = "email=x%40acme.test&display_name=X&role=viewer&password=long-password-1";
        let response = client.send(request.body(body.into()).unwrap()).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "origin {origin:?}");
    }
    assert_eq!(audit_rows(&db).await, before, "nothing changed");
}

/// What each server function needs: every role may call `Any`; the rest need at least
/// that role; `Platform` needs a platform administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Any,
    Support,
    TenantAdmin,
    Platform,
}

/// A server function, its form fields, and what it needs.
type Call<'a> = (&'a str, Vec<(&'a str, &'a str)>, Needs);

fn level(admin: &TestAdmin) -> Needs {
    match (admin.is_platform_admin, admin.role) {
        (true, _) => Needs::Platform,
        (false, Role::TenantAdmin) => Needs::TenantAdmin,
        (false, Role::Support) => Needs::Support,
        (false, Role::Viewer) => Needs::Any,
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_server_function_authorises_every_role(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let actors = [
        acme.with_platform_admin(&db, "root").await,
        acme.with_admin(&db, "boss", Role::TenantAdmin).await,
        acme.with_admin(&db, "sam", Role::Support).await,
        acme.with_admin(&db, "vera", Role::Viewer).await,
    ];
    let target = acme
        .with_admin(&db, "target", Role::Viewer)
        .await
        .admin_id
        .to_string();
    let tenant = acme.id().to_string();
    let router = console(db.clone());

    for actor in &actors {
        let mut client = Client::signed_in(&router, &actor.email, TEST_PASSWORD).await;
        let new_email = format!("new-{}@acme.test", actor.admin_id);
        let new_slug = format!("t-{}", &actor.admin_id.simple().to_string()[..8]);
        let calls: Vec<Call> = vec![
            ("session_info", vec![], Needs::Any),
            ("current_tenant", vec![], Needs::Any),
            ("list_invitations", vec![], Needs::Any),
            ("switch_tenant", vec![("tenant_id", &tenant)], Needs::Any),
            ("list_audit", vec![], Needs::Support),
            ("list_admins", vec![], Needs::TenantAdmin),
            (
                "add_admin",
                vec![
                    ("email", &new_email),
                    ("display_name", "New"),
                    ("role", "viewer"),
                    ("password", "long-password-1"),
                ],
                Needs::TenantAdmin,
            ),
            (
                "change_admin_role",
                vec![("admin_id", &target), ("role", "support")],
                Needs::TenantAdmin,
            ),
            (
                "set_admin_disabled",
                vec![("admin_id", &target), ("disabled", "true")],
                Needs::TenantAdmin,
            ),
            ("legacy_summary", vec![], Needs::Any),
            ("legacy_imports", vec![], Needs::Any),
            ("migration_settings", vec![], Needs::Any),
            ("list_tenants", vec![], Needs::Platform),
            (
                "create_tenant",
                vec![("slug", &new_slug), ("name", "New tenant")],
                Needs::Platform,
            ),
            ("sign_out", vec![], Needs::Any),
        ];
        for (name, form, needs) in calls {
            let audit_before = audit_rows(&db).await;
            let response = client.call_fn(name, &form).await;
            if level(actor) >= needs {
                let ok = response.status.is_success() || response.status.is_redirection();
                assert!(
                    ok,
                    "{} calling {name}: {} {}",
                    actor.email, response.status, response.body
                );
            } else {
                assert_eq!(
                    response.status,
                    StatusCode::FORBIDDEN,
                    "{} calling {name}: {}",
                    actor.email,
                    response.body
                );
                assert_eq!(response.json(), serde_json::json!("Forbidden"));
                assert_eq!(
                    audit_rows(&db).await,
                    audit_before,
                    "{name} refused but changed something"
                );
            }
        }
    }
    let target_role: String =
        sqlx::query_scalar("select role from tenant_admins where admin_id = $1::uuid")
            .bind(&target)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        target_role, "support",
        "only allowed calls changed the target"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn no_server_function_reaches_another_tenant(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let globex = TestTenant::new(&db, "globex").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let victim = globex.with_admin(&db, "victim", Role::TenantAdmin).await;
    globex.with_admin(&db, "other", Role::Viewer).await;
    let router = console(db.clone());
    let mut client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let victim_id = victim.admin_id.to_string();
    let globex_id = globex.id().to_string();
    let before = audit_rows(&db).await;

    let switch = client
        .call_fn("switch_tenant", &[("tenant_id", &globex_id)])
        .await;
    assert_eq!(switch.status, StatusCode::FORBIDDEN);
    for answer in ["accept_invitation", "decline_invitation"] {
        let uninvited = client.call_fn(answer, &[("tenant_id", &globex_id)]).await;
        assert_eq!(uninvited.status, StatusCode::NOT_FOUND, "{answer}");
    }
    let role = client
        .call_fn(
            "change_admin_role",
            &[("admin_id", &victim_id), ("role", "viewer")],
        )
        .await;
    assert_eq!(role.status, StatusCode::NOT_FOUND);
    let disable = client
        .call_fn(
            "set_admin_disabled",
            &[("admin_id", &victim_id), ("disabled", "true")],
        )
        .await;
    assert_eq!(disable.status, StatusCode::NOT_FOUND);
    assert_eq!(audit_rows(&db).await, before);

    let admins = client.call_fn("list_admins", &[]).await.json();
    let emails: Vec<&str> = admins
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["boss@acme.test"]);
    let audit = client.call_fn("list_audit", &[]).await.json();
    for entry in audit["entries"].as_array().unwrap() {
        assert_ne!(entry["target_id"], victim_id.as_str());
    }
    let info = client.call_fn("session_info", &[]).await.json();
    assert_eq!(
        info["tenants"].as_array().unwrap().len(),
        1,
        "the switcher offers only acme"
    );
    let tenant = client.call_fn("current_tenant", &[]).await.json();
    assert_eq!(tenant["slug"], "acme");

    // Licenses: every function that takes an id of another tenant's plan, license,
    // member or device answers 404 and changes nothing.
    let their = globex_licenses(&db, &victim).await;
    let ours = our_member(&db, &boss).await;
    let before = audit_rows(&db).await;
    let license_calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("get_license", vec![("license_id", &their.license)]),
        ("licenses_of_member", vec![("member_id", &their.member)]),
        (
            "issue_licenses",
            vec![("plan_id", &their.plan), ("count", "1")],
        ),
        (
            "update_plan",
            vec![
                ("plan_id", &their.plan),
                ("row_version", "1"),
                ("plan[code]", "mine"),
                ("plan[name_zh]", "我的"),
                ("plan[name_en]", "Mine"),
                ("plan[default_max_activations]", "1"),
            ],
        ),
        (
            "edit_license",
            vec![
                ("license_id", &their.license),
                ("row_version", "1"),
                ("max_activations", "9"),
            ],
        ),
        (
            "act_on_license",
            vec![
                ("license_id", &their.license),
                ("action", "revoke"),
                ("reason", "x"),
            ],
        ),
        (
            "assign_license",
            vec![
                ("member_id", &their.member),
                ("license_key", &their.free_key),
            ],
        ),
        (
            "assign_license",
            vec![("member_id", &ours), ("license_key", &their.free_key)],
        ),
        (
            "assign_license",
            vec![("member_id", &ours), ("plan_id", &their.plan)],
        ),
        (
            "unassign_license",
            vec![("license_id", &their.license), ("reason", "x")],
        ),
        (
            "transfer_license",
            vec![
                ("license_id", &their.license),
                ("to_external_id", "a-1"),
                ("reason", "x"),
            ],
        ),
        (
            "release_seat",
            vec![("member_id", &their.member), ("reason", "x")],
        ),
        (
            "activate_device",
            vec![("license_id", &their.license), ("fingerprint", "x")],
        ),
        (
            "deactivate_device",
            vec![("activation_id", &their.activation)],
        ),
    ];
    for (name, form) in license_calls {
        let response = client.call_fn(name, &form).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{name}: {}",
            response.body
        );
    }
    assert_eq!(audit_rows(&db).await, before);
    let unknown = client
        .call_fn("validate_license", &[("license_key", &their.free_key)])
        .await
        .json();
    assert_eq!(unknown["code"], "not_found");
    let listed = client.call_fn("list_licenses", &[]).await.json();
    assert_eq!(listed["licenses"], serde_json::json!([]));

    // Migration: another tenant's legacy import is not found, and its data not listed
    // (`migration_console.rs` covers the upload, the settings and the sample).
    let mut conn = db.acquire().await.unwrap();
    domain::migration::legacy::generate(&mut conn, globex.id(), 5, chrono::Utc::now())
        .await
        .unwrap();
    drop(conn);
    let their_import: String = sqlx::query_scalar(
        "insert into legacy_imports (tenant_id, import_id, kind, file_name, report)
         values ($1, gen_random_uuid(), 'members', 'm.csv', '{}') returning import_id::text",
    )
    .bind(globex.id())
    .fetch_one(&db)
    .await
    .unwrap();
    let hidden = client
        .call_fn("legacy_import", &[("import_id", &their_import)])
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    let listed = client.call_fn("legacy_imports", &[]).await.json();
    assert_eq!(listed, serde_json::json!([]));
    let summary = client.call_fn("legacy_summary", &[]).await.json();
    assert_eq!(summary["members"], 0);
}

/// Another tenant's license objects, as ids for requests.
struct TheirLicenses {
    plan: String,
    license: String,
    free_key: String,
    member: String,
    activation: String,
}

/// A plan with two licenses, one held by a member and active on a device.
async fn globex_licenses(db: &PgPool, admin: &TestAdmin) -> TheirLicenses {
    use domain::licenses::{self, IssueInput, PlanInput, devices, seats};
    let access = admin.access();
    let now = chrono::Utc::now();
    let plan = PlanInput {
        code: "pro".into(),
        name_zh: "专业版".into(),
        name_en: "Pro".into(),
        default_max_activations: 2,
        default_validity_days: None,
        active: true,
    };
    let plan_id = licenses::create_plan(db, &access, plan).await.unwrap();
    let input = IssueInput {
        plan_id,
        count: 2,
        ..Default::default()
    };
    let keys = licenses::issue(db, &access, now, input)
        .await
        .unwrap()
        .first_keys;
    let member_id = member_with_seats(db, admin, "g-1").await;
    // After the grant's start.
    let now = chrono::Utc::now();
    let held = seats::assign_key(db, &access, now, member_id, &keys[0])
        .await
        .unwrap();
    let activation = devices::activate(
        db,
        &access,
        now,
        devices::ActivateInput {
            license_id: held.license_id,
            fingerprint: "their-device".into(),
            device_name: None,
        },
    )
    .await
    .unwrap();
    TheirLicenses {
        plan: plan_id.to_string(),
        license: held.license_id.to_string(),
        free_key: keys[1].clone(),
        member: member_id.to_string(),
        activation: activation.activation_id.to_string(),
    }
}

/// A member whose quota allows seats: a plain tenant has no tiers, so a tag's floor
/// gives them five.
async fn member_with_seats(db: &PgPool, admin: &TestAdmin, external_id: &str) -> uuid::Uuid {
    let access = admin.access();
    let now = chrono::Utc::now();
    let member = domain::members::MemberInput {
        external_id: external_id.into(),
        display_name: external_id.into(),
        ..Default::default()
    };
    let member_id = domain::members::create(db, &access, member)
        .await
        .unwrap()
        .member_id;
    let tag = domain::tags::TagInput {
        code: "seats".into(),
        name_zh: "席位".into(),
        name_en: "Seats".into(),
        category: "payment".into(),
        max_licenses: 5,
        renew_from: "expiry".into(),
        active: true,
        ..Default::default()
    };
    let tag_id = domain::tags::create(db, &access, tag).await.unwrap();
    let grant = domain::tags::grants::GrantInput {
        member_id,
        tag_id,
        reason: "fixture".into(),
        ..Default::default()
    };
    domain::tags::grants::grant(
        db,
        &access,
        now,
        domain::tags::grants::Method::Manual,
        grant,
    )
    .await
    .unwrap();
    member_id
}

async fn our_member(db: &PgPool, admin: &TestAdmin) -> String {
    member_with_seats(db, admin, "a-1").await.to_string()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn admins_page_actions_write_audit_rows(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let router = console(db);
    let mut client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;

    let added = client
        .call_fn(
            "add_admin",
            &[
                ("email", "dora@acme.test"),
                ("display_name", "Dora"),
                ("role", "viewer"),
                ("password", "dora-password-1"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let dora = added.json()["admin_id"].as_str().unwrap().to_owned();
    let changed = client
        .call_fn(
            "change_admin_role",
            &[("admin_id", &dora), ("role", "support")],
        )
        .await;
    assert_eq!(changed.json()["role"], "support");

    let invalid = client
        .call_fn(
            "add_admin",
            &[
                ("email", "not-an-email"),
                ("display_name", "X"),
                ("role", "viewer"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.json()["Invalid"]["field"], "email");

    let audit = client.call_fn("list_audit", &[]).await.json();
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries[0]["action"], "admin.change_role");
    assert_eq!(entries[0]["actor"], boss.email);
    assert_eq!(entries[0]["before"]["role"], "viewer");
    assert_eq!(entries[0]["after"]["role"], "support");
    assert!(
        entries[0]["request_id"].is_string(),
        "audit rows carry the request id"
    );
    assert_eq!(entries[1]["action"], "admin.add");
}

/// The Audit page's "Export CSV" link: a download of the filtered rows for support and
/// tenant admins of the session's tenant only, never cached; signed out it goes to
/// sign-in and back; a bad filter is a 4xx with a message.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_audit_export_is_a_tenant_scoped_csv_download(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let ann = acme.with_admin(&db, "ann", Role::Support).await;
    let vic = acme.with_admin(&db, "vic", Role::Viewer).await;
    let globex = TestTenant::new(&db, "globex").await;
    let gus = globex.with_admin(&db, "gus", Role::TenantAdmin).await;
    let router = console(db);
    let mut boss_client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let changed = boss_client
        .call_fn(
            "change_admin_role",
            &[("admin_id", &vic.admin_id.to_string()), ("role", "support")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    boss_client
        .call_fn(
            "change_admin_role",
            &[("admin_id", &vic.admin_id.to_string()), ("role", "viewer")],
        )
        .await;

    // As a browser follows the link from the Audit page (accepts HTML, has a Referer).
    let export = |client: &mut Client, query: &str| {
        let request = client
            .request(Method::GET, &format!("/export/audit.csv{query}"))
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::REFERER, "http://localhost:3000/audit?action=x")
            .body(axum::body::Body::empty())
            .unwrap();
        let mut client = Client {
            router: client.router.clone(),
            cookie: client.cookie.clone(),
        };
        async move { client.send(request).await }
    };
    let mut ann_client = Client::signed_in(&router, &ann.email, TEST_PASSWORD).await;
    let csv = export(&mut ann_client, "?action=admin.change&actor=boss").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"audit-"),
        "{:?}",
        csv.headers
    );
    assert_eq!(csv.headers[header::CACHE_CONTROL], NO_STORE);
    let lines: Vec<&str> = csv.body.trim_end().split("\r\n").collect();
    assert!(
        lines[0].starts_with("\u{feff}occurred_at,actor,action"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines.len(),
        3,
        "the header and the two role changes: {lines:?}"
    );
    assert!(
        lines[1].contains("admin.change_role")
            && lines[1].contains("\"{\"\"role\"\":\"\"viewer\"\"}\"")
    );

    // Another tenant's admin sees only their own tenant's rows.
    let mut gus_client = Client::signed_in(&router, &gus.email, TEST_PASSWORD).await;
    let theirs = export(&mut gus_client, "?action=admin.change").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(
        theirs.body.trim_end().split("\r\n").count(),
        1,
        "{}",
        theirs.body
    );

    // A viewer may not: the browser goes back to the Audit page, which shows why; a
    // client without a Referer gets the status and the message. A malformed date or
    // query is a 4xx with a message.
    let mut vic_client = Client::signed_in(&router, &vic.email, TEST_PASSWORD).await;
    let refused = export(&mut vic_client, "").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let back = refused.headers[header::LOCATION].to_str().unwrap();
    assert!(back.starts_with("/audit?action=x&error="), "{back}");
    let plain = |client: &mut Client, query: &str| {
        let request = client
            .request(Method::GET, &format!("/export/audit.csv{query}"))
            .header(header::ACCEPT_LANGUAGE, "en")
            .body(axum::body::Body::empty())
            .unwrap();
        let mut client = Client {
            router: client.router.clone(),
            cookie: client.cookie.clone(),
        };
        async move { client.send(request).await }
    };
    let refused = plain(&mut vic_client, "").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.is_empty());
    let bad_date = plain(&mut ann_client, "?from=2026-13-45").await;
    assert_eq!(
        bad_date.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_date.body
    );
    assert!(
        bad_date.body.contains("From") || bad_date.body.contains("from"),
        "{}",
        bad_date.body
    );
    let bad_query = plain(&mut ann_client, "?from=%FF%FE").await;
    assert!(bad_query.status.is_client_error(), "{:?}", bad_query.status);
    let long = format!("?actor={}", "a".repeat(300));
    assert_eq!(
        plain(&mut ann_client, &long).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Signed out: to sign-in, and back here afterwards.
    let signed_out = export(&mut Client::new(&router), "?action=admin").await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    let location = signed_out.headers[header::LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("/login?next=%2Fexport%2Faudit.csv"),
        "{location}"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn pages_render_on_the_server_and_forms_work_without_javascript(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let router = console(db);
    let mut browser = Client::new(&router);

    let console_page = browser.get("/").await;
    assert_eq!(console_page.status, StatusCode::SEE_OTHER);
    assert_eq!(console_page.location(), Some("/login?next=%2F"));
    let login = browser.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("name=\"password\""), "{}", login.body);

    let wrong = browser
        .submit_form(
            "sign_in",
            &[("email", &boss.email), ("password", "wrong-password")],
            "/login",
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FOUND);
    let location = wrong.location().unwrap();
    assert!(location.contains("/login?error="), "{location}");
    let with_error = browser
        .get(location.trim_start_matches(support::ORIGIN))
        .await;
    assert!(
        with_error.body.contains("role=\"alert\""),
        "the error shows without JavaScript"
    );

    let right = browser
        .submit_form(
            "sign_in",
            &[("email", &boss.email), ("password", TEST_PASSWORD)],
            "/login",
        )
        .await;
    assert_eq!(right.status, StatusCode::FOUND);
    assert_eq!(right.location(), Some("/"));
    let admins = browser.get("/admins").await;
    assert_eq!(admins.status, StatusCode::OK);
    assert!(
        admins.body.contains("boss@acme.test"),
        "server-rendered data"
    );

    let missing = browser.get("/no-such-page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn language_follows_accept_language_and_the_switch(db: PgPool) {
    let router = console(db);
    let mut browser = Client::new(&router);
    let request = browser
        .request(Method::GET, "/login")
        .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
        .body(axum::body::Body::empty())
        .unwrap();
    let english = browser.send(request).await;
    assert!(
        english.body.contains("<html lang=\"en\""),
        "{}",
        &english.body[..200.min(english.body.len())]
    );
    assert!(english.body.contains("Sign in"));

    let switch = browser
        .send(
            browser
                .request(Method::GET, "/lang/zh")
                .header(header::REFERER, "http://localhost/login")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.location(), Some("/login"));
    let cookie = switch
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let request = browser
        .request(Method::GET, "/login")
        .header(header::ACCEPT_LANGUAGE, "en-US")
        .header(header::COOKIE, cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let chinese = browser.send(request).await;
    assert!(chinese.body.contains("<html lang=\"zh-CN\""));
    assert!(chinese.body.contains("登录"));
}

/// The fields of an `add_admin` answer that do not depend on the email.
fn answer_shape(answer: &serde_json::Value) -> serde_json::Value {
    let mut shape = answer.clone();
    let object = shape.as_object_mut().unwrap();
    for varying in ["admin_id", "email", "added_at"] {
        object.remove(varying);
    }
    shape
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn adding_an_existing_account_reveals_nothing_and_grants_nothing_until_accepted(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let globex = TestTenant::new(&db, "globex").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let account = |email: &str, name: &str| domain::access::admins::NewAccount {
        email: email.into(),
        display_name: name.into(),
        password: TEST_PASSWORD.into(),
        is_platform_admin: false,
        membership: Some((globex.id(), Role::Support)),
    };
    let cli = domain::Principal::cli();
    domain::access::admins::create_account(
        &db,
        &cli,
        account("victor@globex.test", "Secret Victor"),
    )
    .await
    .unwrap();
    domain::access::admins::create_account(&db, &cli, account("olga@globex.test", "Secret Olga"))
        .await
        .unwrap();
    let router = console(db.clone());
    let mut boss_client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let acme_id = acme.id().to_string();

    let mut add = async |email: &str, name: &str| {
        let form = [
            ("email", email),
            ("display_name", name),
            ("role", "viewer"),
            ("password", "chosen-password-1"),
        ];
        let response = boss_client.call_fn("add_admin", &form).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        response.json()
    };
    let existing = add("Victor@Globex.test", "Typed Victor").await;
    let new = add("nina@elsewhere.test", "Typed Nina").await;
    add("olga@globex.test", "Typed Olga").await;

    // The same answer for an existing account and a new email: what was typed, invited.
    assert_eq!(existing["email"], "victor@globex.test");
    assert_eq!(existing["display_name"], "Typed Victor");
    assert_eq!(new["display_name"], "Typed Nina");
    let mut new_shape = answer_shape(&new);
    new_shape["display_name"] = "Typed Victor".into();
    assert_eq!(answer_shape(&existing), new_shape);
    assert_eq!(existing["invited"], true);
    assert_eq!(existing["disabled"], false);

    // The list and the tenant's audit log show the typed names only.
    let list = boss_client.call_fn("list_admins", &[]).await;
    assert!(!list.body.contains("Secret"), "{}", list.body);
    let rows = list.json();
    let row = |email: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|row| row["email"] == email)
            .unwrap()
            .clone()
    };
    assert_eq!(row("victor@globex.test")["display_name"], "Typed Victor");
    assert_eq!(row("victor@globex.test")["invited"], true);
    assert_eq!(row("nina@elsewhere.test")["invited"], true);
    let audit = boss_client.call_fn("list_audit", &[]).await;
    assert!(!audit.body.contains("Secret"), "{}", audit.body);
    assert!(!audit.body.contains("account.create"), "{}", audit.body);
    let page = boss_client.get("/admins").await;
    assert!(page.body.contains("Typed Victor") && !page.body.contains("Secret"));

    // Until accepted, the invitation grants nothing.
    let mut victor = Client::signed_in(&router, "victor@globex.test", TEST_PASSWORD).await;
    let info = victor.call_fn("session_info", &[]).await.json();
    assert_eq!(info["active"]["slug"], "globex");
    assert_eq!(info["tenants"].as_array().unwrap().len(), 1, "{info}");
    let switch = victor
        .call_fn("switch_tenant", &[("tenant_id", &acme_id)])
        .await;
    assert_eq!(switch.status, StatusCode::FORBIDDEN);
    assert_eq!(
        victor.call_fn("current_tenant", &[]).await.json()["slug"],
        "globex"
    );
    let victor_id: uuid::Uuid = existing["admin_id"].as_str().unwrap().parse().unwrap();
    let principal = domain::access::auth::principal(&db, victor_id)
        .await
        .unwrap();
    assert!(matches!(
        domain::access::auth::access(&db, &principal, acme.id(), None).await,
        Err(domain::Error::Forbidden)
    ));
    let invitations = victor.call_fn("list_invitations", &[]).await.json();
    assert_eq!(invitations.as_array().unwrap().len(), 1, "{invitations}");
    assert_eq!(invitations[0]["tenant_slug"], "acme");
    assert_eq!(invitations[0]["role"], "viewer");
    let page = victor.get("/").await;
    assert!(page.body.contains("data-testid=\"invitations\""));

    // The owner accepts: the membership is active, in the switcher and opened.
    let accept = victor
        .submit_form("accept_invitation", &[("tenant_id", &acme_id)], "/")
        .await;
    assert_eq!(accept.status, StatusCode::FOUND, "{}", accept.body);
    let info = victor.call_fn("session_info", &[]).await.json();
    assert_eq!(info["active"]["slug"], "acme");
    assert_eq!(info["active"]["role"], "viewer");
    assert_eq!(info["tenants"].as_array().unwrap().len(), 2);
    assert_eq!(
        victor.call_fn("list_invitations", &[]).await.json(),
        serde_json::json!([])
    );
    let again = victor
        .call_fn("accept_invitation", &[("tenant_id", &acme_id)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // Accepted: the account's own name now shows to the tenant it joined.
    let rows = boss_client.call_fn("list_admins", &[]).await.json();
    let victor_row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["email"] == "victor@globex.test")
        .unwrap();
    assert_eq!(victor_row["display_name"], "Secret Victor");
    assert_eq!(victor_row["invited"], false);

    // Another owner declines: the invitation is gone and never granted anything.
    let mut olga = Client::signed_in(&router, "olga@globex.test", TEST_PASSWORD).await;
    let decline = olga
        .call_fn("decline_invitation", &[("tenant_id", &acme_id)])
        .await;
    assert!(decline.status.is_success(), "{}", decline.body);
    let switch = olga
        .call_fn("switch_tenant", &[("tenant_id", &acme_id)])
        .await;
    assert_eq!(switch.status, StatusCode::FORBIDDEN);
    let rows = boss_client.call_fn("list_admins", &[]).await.json();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|row| row["email"] != "olga@globex.test")
    );

    // The new email's account: signing in with the password the adder chose accepts.
    let mut nina = Client::signed_in(&router, "nina@elsewhere.test", "chosen-password-1").await;
    let info = nina.call_fn("session_info", &[]).await.json();
    assert_eq!(info["active"]["slug"], "acme");
    assert_eq!(info["active"]["role"], "viewer");

    let audit = boss_client.call_fn("list_audit", &[]).await.json();
    let actions: Vec<(&str, &str)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        &actions[..6],
        [
            ("admin.accept", "nina@elsewhere.test"),
            ("admin.decline", "olga@globex.test"),
            ("admin.accept", "victor@globex.test"),
            ("admin.add", "boss@acme.test"),
            ("admin.add", "boss@acme.test"),
            ("admin.add", "boss@acme.test"),
        ]
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_invited_tenant_admin_does_not_count_as_the_last_one(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let root = domain::access::admins::NewAccount {
        email: "root@platform.test".into(),
        display_name: "Root".into(),
        password: TEST_PASSWORD.into(),
        is_platform_admin: true,
        membership: None,
    };
    domain::access::admins::create_account(&db, &domain::Principal::cli(), root)
        .await
        .unwrap();
    let router = console(db);
    let mut boss_client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let form = [
        ("email", "pending@acme.test"),
        ("display_name", "Pending"),
        ("role", "tenant_admin"),
        ("password", "chosen-password-1"),
    ];
    let invited = boss_client.call_fn("add_admin", &form).await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);

    let mut root_client = Client::signed_in(&router, "root@platform.test", TEST_PASSWORD).await;
    let boss_id = boss.admin_id.to_string();
    for (name, form) in [
        (
            "set_admin_disabled",
            [("admin_id", boss_id.as_str()), ("disabled", "true")],
        ),
        (
            "change_admin_role",
            [("admin_id", boss_id.as_str()), ("role", "viewer")],
        ),
    ] {
        let refused = root_client.call_fn(name, &form).await;
        assert_eq!(
            refused.status,
            StatusCode::CONFLICT,
            "{name}: {}",
            refused.body
        );
        assert_eq!(
            refused.json(),
            serde_json::json!({ "Conflict": "LastTenantAdmin" })
        );
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn signed_out_pages_go_to_sign_in_and_back(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let router = console(db);
    let mut browser = Client::new(&router);

    for _ in 0..3 {
        // The same answer every time (no race between the page's data loads).
        let home = browser.get("/").await;
        assert_eq!(home.status, StatusCode::SEE_OTHER);
        assert_eq!(home.location(), Some("/login?next=%2F"));
    }
    let members = browser.get("/members?q=a%20b").await;
    assert_eq!(members.status, StatusCode::SEE_OTHER);
    assert_eq!(
        members.location(),
        Some("/login?next=%2Fmembers%3Fq%3Da%2520b")
    );
    // Server functions keep answering 401.
    let api = browser.call_fn("list_admins", &[]).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.json(), serde_json::json!("Unauthenticated"));

    // The sign-in page carries `next` into its form.
    let login = browser.get("/login?next=%2Fmembers%3Fq%3Da%2520b").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(
        login
            .body
            .contains("name=\"next\" value=\"/members?q=a%20b\""),
        "{}",
        login.body
    );
    let evil = browser.get("/login?next=%2F%2Fevil.test").await;
    assert!(!evil.body.contains("name=\"next\""), "{}", evil.body);

    let credentials = [("email", boss.email.as_str()), ("password", TEST_PASSWORD)];
    let with = |next: &'static str| {
        let mut form = credentials.to_vec();
        form.push(("next", next));
        form
    };
    let back = browser
        .submit_form("sign_in", &with("/members?q=a%20b"), "/login")
        .await;
    assert_eq!(back.status, StatusCode::FOUND, "{}", back.body);
    assert_eq!(back.location(), Some("/members?q=a%20b"));
    for unsafe_next in [
        "//evil.test",
        "//evil.test/x",
        "/\\evil.test",
        "https://evil.test/",
        "/\t/evil.test",
    ] {
        let mut client = Client::new(&router);
        let home = client
            .submit_form("sign_in", &with(unsafe_next), "/login")
            .await;
        assert_eq!(home.status, StatusCode::FOUND, "{unsafe_next:?}");
        assert_eq!(home.location(), Some("/"), "{unsafe_next:?}");
        // The hydrated form (a server-function call) gets the same target.
        let mut client = Client::new(&router);
        let home = client.call_fn("sign_in", &with(unsafe_next)).await;
        assert_eq!(home.location(), Some("/"), "{unsafe_next:?}");
    }
    let plain = Client::new(&router)
        .submit_form("sign_in", &credentials, "/login")
        .await;
    assert_eq!(plain.location(), Some("/"));
    let page = browser.get("/members").await;
    assert_eq!(page.status, StatusCode::OK);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_language_switch_never_leaves_the_site(db: PgPool) {
    let router = console(db);
    let mut browser = Client::new(&router);
    let cases = [
        ("http://localhost//evil.test/x", "/"),
        ("http://localhost/\\evil.test/x", "/"),
        ("http://localhost/%09/evil.test", "/%09/evil.test"),
        ("http://evil.test/members", "/"),
        ("http://localhost/members?q=1", "/members?q=1"),
    ];
    for (referer, expected) in cases {
        let request = browser
            .request(Method::GET, "/lang/en")
            .header(header::REFERER, referer)
            .body(axum::body::Body::empty())
            .unwrap();
        let switch = browser.send(request).await;
        assert_eq!(switch.status, StatusCode::SEE_OTHER, "{referer}");
        assert_eq!(switch.location(), Some(expected), "{referer}");
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_overlong_email_is_refused_and_throttle_keys_stay_small(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let ann = acme.with_admin(&db, "ann", Role::Support).await;
    let router = console(db.clone());
    let mut client = Client::new(&router);
    let long = format!("{}@acme.test", "a".repeat(10_000));
    for email in [long.as_str(), "ann\u{7}@acme.test", "ann\u{85}@acme.test"] {
        let response = client
            .call_fn(
                "sign_in",
                &[("email", email), ("password", "wrong-password")],
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            response.body
        );
        assert_eq!(response.json(), serde_json::json!("InvalidCredentials"));
    }
    // NUL is refused before the server function runs (4xx, never a 500).
    let nul = client
        .call_fn(
            "sign_in",
            &[("email", "ann\0@acme.test"), ("password", "wrong-password")],
        )
        .await;
    assert!(nul.status.is_client_error(), "{nul:?}");
    let wrong = client
        .call_fn(
            "sign_in",
            &[("email", &ann.email), ("password", "wrong-password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let keys: Vec<String> = sqlx::query_scalar("select throttle_key from sign_in_throttle")
        .fetch_all(&db)
        .await
        .unwrap();
    // (The in-process router has no peer address, so only account keys are stored here;
    // address keys are an IP address, and `domain::access::auth`'s unit test bounds both.)
    assert!(!keys.is_empty());
    for key in &keys {
        assert!(key.len() <= 100, "{key}");
        assert!(!key.contains("acme.test"), "no email stored: {key}");
    }
    Client::signed_in(&router, &ann.email, TEST_PASSWORD).await;
}

// What a browser's first load gets over HTTP: compression as negotiated, precompressed
// static files, and `Cache-Control` by kind (hashed assets immutable, pages revalidated
// or not stored at all once signed in, server functions never stored).

const HASH: &str = "AbCdEfGhIjKlMnOpQrSt_-";

fn cache_control(response: &TestResponse) -> &str {
    response
        .headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn content_encoding(response: &TestResponse) -> Option<&str> {
    response
        .headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
}

async fn get_with(client: &mut Client, path: &str, accept_encoding: &str) -> TestResponse {
    let request = client
        .request(Method::GET, path)
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .header(header::ACCEPT_ENCODING, accept_encoding)
        .body(axum::body::Body::empty())
        .unwrap();
    client.send(request).await
}

/// A site directory laid out as a release build leaves it: hashed names, with `.br` and
/// `.gz` copies made at build time.
fn release_site() -> tempdir::Site {
    let site = tempdir::Site::new();
    let wasm = vec![b'w'; 4096];
    site.write(&format!("pkg/tierdesk.{HASH}.wasm"), &wasm);
    site.write(&format!("pkg/tierdesk.{HASH}.wasm.br"), b"brotli bytes");
    site.write(&format!("pkg/tierdesk.{HASH}.wasm.gz"), b"gzip bytes");
    site.write(
        "favicon.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    );
    site
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn hashed_assets_are_immutable_and_served_precompressed(db: PgPool) {
    let site = release_site();
    let router = console_with_site(db, site.path());
    let mut client = Client::new(&router);
    let wasm = format!("/pkg/tierdesk.{HASH}.wasm");

    let brotli = get_with(&mut client, &wasm, "gzip, deflate, br, zstd").await;
    assert_eq!(brotli.status, StatusCode::OK);
    assert_eq!(content_encoding(&brotli), Some("br"));
    assert_eq!(brotli.body, "brotli bytes");
    assert_eq!(cache_control(&brotli), IMMUTABLE);
    let vary: Vec<&str> = brotli
        .headers
        .get_all(header::VARY)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        vary.iter()
            .filter(|v| v.to_ascii_lowercase().contains("accept-encoding"))
            .count(),
        1,
        "one copy per encoding in shared caches, said once: {vary:?}"
    );

    let gzip = get_with(&mut client, &wasm, "gzip").await;
    assert_eq!(content_encoding(&gzip), Some("gzip"));
    assert_eq!(gzip.body, "gzip bytes");
    assert_eq!(cache_control(&gzip), IMMUTABLE);

    let plain = get_with(&mut client, &wasm, "identity").await;
    assert_eq!(content_encoding(&plain), None);
    assert_eq!(plain.body.len(), 4096);

    // Unhashed files are revalidated before use; a hashed name that is not there is not
    // cached as if it were.
    let favicon = get_with(&mut client, "/favicon.svg", "br").await;
    assert_eq!(favicon.status, StatusCode::OK);
    assert_eq!(cache_control(&favicon), REVALIDATE);
    let missing = get_with(&mut client, &format!("/pkg/tierdesk.{HASH}.js"), "br").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_ne!(cache_control(&missing), IMMUTABLE);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn pages_are_compressed_and_revalidated_until_signed_in(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let ann = acme.with_admin(&db, "ann", Role::TenantAdmin).await;
    let router = console(db);
    let mut client = Client::new(&router);

    let login = get_with(&mut client, "/login", "gzip, deflate, br").await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(content_encoding(&login), Some("br"));
    assert!(
        login.headers.get_all(header::VARY).iter().any(|v| v
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding")),
        "{login:?}"
    );
    assert_eq!(cache_control(&login), REVALIDATE);
    let login_gzip = get_with(&mut client, "/login", "gzip").await;
    assert_eq!(content_encoding(&login_gzip), Some("gzip"));
    let login_plain = get_with(&mut client, "/login", "identity").await;
    assert_eq!(content_encoding(&login_plain), None);
    assert!(login_plain.body.contains("<html"));
    // The shell links the stylesheet and the favicon.
    assert!(
        login_plain.body.contains("rel=\"stylesheet\""),
        "{}",
        login_plain.body
    );
    assert!(login_plain.body.contains("href=\"/favicon.svg\""));

    // Signed in, neither pages nor server-function answers may be stored: after signing
    // out, Back must not show the previous page's data.
    let signed_in = client
        .call_fn(
            "sign_in",
            &[("email", &ann.email), ("password", TEST_PASSWORD)],
        )
        .await;
    assert!(signed_in.status.is_success() || signed_in.status.is_redirection());
    assert_eq!(cache_control(&signed_in), NO_STORE);
    let members = get_with(&mut client, "/members", "br").await;
    assert_eq!(members.status, StatusCode::OK, "{members:?}");
    assert_eq!(cache_control(&members), NO_STORE);
    assert_eq!(content_encoding(&members), Some("br"));

    let info = client.call_fn("session_info", &[]).await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(cache_control(&info), NO_STORE);
    // A small answer is not worth compressing.
    assert!(info.body.len() < 1024, "{}", info.body);
    assert_eq!(content_encoding(&info), None);

    let signed_out = client.call_fn("sign_out", &[]).await;
    assert_eq!(cache_control(&signed_out), NO_STORE);
    let members_again = get_with(&mut client, "/members", "br").await;
    assert!(members_again.status.is_redirection(), "{members_again:?}");
    let login_again = get_with(&mut client, "/login", "br").await;
    assert_eq!(cache_control(&login_again), REVALIDATE);
}

/// A throw-away directory (removed when dropped).
mod tempdir {
    use std::path::PathBuf;

    pub struct Site(PathBuf);

    impl Site {
        pub fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("tierdesk-site-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Site(dir)
        }

        pub fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }

        pub fn write(&self, name: &str, bytes: &[u8]) {
            let path = self.0.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }

    impl Drop for Site {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The console serving its static files from `site_root`.
fn console_with_site(db: PgPool, site_root: &str) -> axum::Router {
    let leptos_options = leptos::config::LeptosOptions::builder()
        .output_name("tierdesk")
        .site_root(site_root)
        .build();
    tierdesk::router::router(
        app::context::AppState::new(db, leptos_options, domain::clock::system()),
        tierdesk::router::RouterOptions::default(),
    )
}
