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
