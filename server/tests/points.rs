//! Members, levels and points server functions over HTTP: every role, every tenant.

mod support;

use domain::Role;
use domain::members::{self, MemberInput};
use domain::points::ledger::{self, Change};
use domain::points::levels;
use domain::testing::{TEST_PASSWORD, TestAdmin, TestTenant};
use http::StatusCode;
use sqlx::PgPool;
use support::{Client, audit_rows, console};
use uuid::Uuid;

async fn tenant_with_tiers(db: &PgPool, slug: &str) -> TestTenant {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    tenant
}

async fn member_with_points(
    db: &PgPool,
    admin: &TestAdmin,
    external_id: &str,
    points: i64,
) -> Uuid {
    let access = admin.access();
    let input = MemberInput {
        external_id: external_id.into(),
        display_name: external_id.into(),
        ..Default::default()
    };
    let member_id = members::create(db, &access, input).await.unwrap().member_id;
    let change = Change {
        member_id,
        points,
        category: "purchase".into(),
        ..Default::default()
    };
    ledger::earn(db, &access, change).await.unwrap();
    member_id
}

/// Calls a server function that takes JSON (the tier editor's).
async fn call_json(
    client: &mut Client,
    name: &str,
    body: serde_json::Value,
) -> support::TestResponse {
    let request = client
        .request(http::Method::POST, &format!("/api/{name}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::ORIGIN, support::ORIGIN)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    client.send(request).await
}

async fn tiers_json(client: &mut Client) -> serde_json::Value {
    let tiers = client.call_fn("list_tiers", &[]).await;
    assert_eq!(tiers.status, StatusCode::OK, "{}", tiers.body);
    serde_json::json!({ "tiers": tiers.json() })
}

/// A server function, its form fields, and what it needs.
type Call<'a> = (&'a str, Vec<(&'a str, &'a str)>, Needs);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Any,
    Support,
    TenantAdmin,
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_points_server_function_authorises_every_role(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let owner = acme.with_admin(&db, "owner", Role::TenantAdmin).await;
    let actors = [
        (
            acme.with_admin(&db, "boss", Role::TenantAdmin).await,
            Needs::TenantAdmin,
        ),
        (
            acme.with_admin(&db, "sam", Role::Support).await,
            Needs::Support,
        ),
        (acme.with_admin(&db, "vera", Role::Viewer).await, Needs::Any),
    ];
    let router = console(db.clone());
    for (actor, level) in &actors {
        let mut client = Client::signed_in(&router, &actor.email, TEST_PASSWORD).await;
        let member = member_with_points(&db, &owner, &format!("m-{}", actor.admin_id), 500).await;
        let id = member.to_string();
        let version: i64 =
            sqlx::query_scalar("select row_version from member_profiles where member_id = $1")
                .bind(member)
                .fetch_one(&db)
                .await
                .unwrap();
        let version = version.to_string();
        let new_external = format!("new-{}", actor.admin_id);
        let unknown_request = Uuid::new_v4().to_string();
        let calls: Vec<Call> = vec![
            ("list_members", vec![], Needs::Any),
            ("get_member", vec![("member_id", &id)], Needs::Any),
            ("member_ledger", vec![("member_id", &id)], Needs::Any),
            ("member_level_history", vec![("member_id", &id)], Needs::Any),
            ("list_tiers", vec![], Needs::Any),
            ("get_settings", vec![], Needs::Any),
            ("pending_adjustments", vec![], Needs::Support),
            (
                "create_member",
                vec![("external_id", &new_external), ("display_name", "New")],
                Needs::Support,
            ),
            (
                "update_member",
                vec![
                    ("member_id", &id),
                    ("row_version", &version),
                    ("external_id", &id),
                    ("display_name", "Renamed"),
                ],
                Needs::Support,
            ),
            (
                "adjust_points",
                vec![("member_id", &id), ("points", "25"), ("reason", "goodwill")],
                Needs::Support,
            ),
            (
                "reverse_entry",
                vec![("member_id", &id), ("seq", "1"), ("reason", "duplicate")],
                Needs::Support,
            ),
            (
                "set_approval_threshold",
                vec![("threshold", "")],
                Needs::TenantAdmin,
            ),
            (
                "approve_adjustment",
                vec![("request_id", &unknown_request)],
                Needs::TenantAdmin,
            ),
            (
                "reject_adjustment",
                vec![("request_id", &unknown_request)],
                Needs::TenantAdmin,
            ),
        ];
        for (name, form, needs) in calls {
            let before = audit_rows(&db).await;
            let response = client.call_fn(name, &form).await;
            check(actor, *level, name, needs, response.status, &response.body);
            if *level < needs {
                assert_eq!(
                    audit_rows(&db).await,
                    before,
                    "{name} refused but changed something"
                );
            }
        }
        for name in ["preview_tiers", "save_tiers"] {
            let body = tiers_json(&mut client).await;
            let before = audit_rows(&db).await;
            let response = call_json(&mut client, name, body).await;
            check(
                actor,
                *level,
                name,
                Needs::TenantAdmin,
                response.status,
                &response.body,
            );
            if *level < Needs::TenantAdmin {
                assert_eq!(audit_rows(&db).await, before);
            }
        }
    }
    assert!(
        domain::points::check::check(&db, None)
            .await
            .unwrap()
            .is_empty()
    );
}

fn check(
    actor: &TestAdmin,
    level: Needs,
    name: &str,
    needs: Needs,
    status: StatusCode,
    body: &str,
) {
    if level >= needs {
        // An unknown request id is "not found" for those allowed to look.
        let ok =
            status.is_success() || status == StatusCode::NOT_FOUND && name.ends_with("_adjustment");
        assert!(ok, "{} calling {name}: {status} {body}", actor.email);
    } else {
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{} calling {name}: {body}",
            actor.email
        );
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn no_points_server_function_reaches_another_tenant(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let globex = tenant_with_tiers(&db, "globex").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let globex_admin = globex.with_admin(&db, "admin", Role::TenantAdmin).await;
    let theirs = member_with_points(&db, &globex_admin, "g-1", 700)
        .await
        .to_string();
    let router = console(db.clone());
    let mut client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let before = audit_rows(&db).await;

    for (name, form) in [
        ("get_member", vec![("member_id", theirs.as_str())]),
        ("member_level_history", vec![("member_id", &theirs)]),
        ("member_ledger", vec![("member_id", &theirs)]),
        (
            "adjust_points",
            vec![("member_id", &theirs), ("points", "100"), ("reason", "x")],
        ),
        (
            "reverse_entry",
            vec![("member_id", &theirs), ("seq", "1"), ("reason", "x")],
        ),
        (
            "update_member",
            vec![
                ("member_id", &theirs),
                ("row_version", "2"),
                ("external_id", "mine"),
                ("display_name", "Mine"),
            ],
        ),
    ] {
        let response = client.call_fn(name, &form).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{name}: {}",
            response.body
        );
    }
    let search = client.call_fn("list_members", &[("q", "g-1")]).await.json();
    assert_eq!(search["members"].as_array().unwrap().len(), 0);
    assert_eq!(audit_rows(&db).await, before);

    // Saving tiers with the other tenant's tier ids is refused too.
    let mut other = Client::signed_in(&router, &globex_admin.email, TEST_PASSWORD).await;
    let their_tiers = tiers_json(&mut other).await;
    let response = call_json(&mut client, "save_tiers", their_tiers).await;
    assert!(response.status.is_client_error(), "{}", response.body);
    let profile: (i64, String) = sqlx::query_as(
        "select available_points, external_id from member_profiles where member_id = $1::uuid",
    )
    .bind(&theirs)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(profile, (700, "g-1".to_owned()));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn support_adjusts_and_sees_the_entry_and_the_new_level(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let owner = acme.with_admin(&db, "owner", Role::TenantAdmin).await;
    let sam = acme.with_admin(&db, "sam", Role::Support).await;
    let member = member_with_points(&db, &owner, "ann", 900)
        .await
        .to_string();
    let router = console(db.clone());
    let mut client = Client::signed_in(&router, &sam.email, TEST_PASSWORD).await;

    let form = [
        ("member_id", member.as_str()),
        ("points", "150"),
        ("reason", "late order"),
        ("idempotency_key", "form-1"),
    ];
    let adjusted = client.call_fn("adjust_points", &form).await;
    assert_eq!(adjusted.status, StatusCode::OK, "{}", adjusted.body);
    assert_eq!(adjusted.json()["Posted"]["level_changed"], true);
    let double_click = client.call_fn("adjust_points", &form).await;
    assert_eq!(
        double_click.json(),
        adjusted.json(),
        "the same form posts once"
    );

    let profile = client
        .call_fn("get_member", &[("member_id", &member)])
        .await
        .json();
    assert_eq!(
        (
            profile["available_points"].as_i64(),
            profile["level_code"].as_str()
        ),
        (Some(1050), Some("silver"))
    );
    let ledger = client
        .call_fn("member_ledger", &[("member_id", &member)])
        .await
        .json();
    let newest = &ledger["entries"][0];
    assert_eq!(
        (newest["kind"].as_str(), newest["points"].as_i64()),
        (Some("adjust"), Some(150))
    );
    assert_eq!(newest["operator"], sam.email);
    assert_eq!(ledger["entries"].as_array().unwrap().len(), 2);

    let no_reason = client
        .call_fn(
            "adjust_points",
            &[("member_id", &member), ("points", "5"), ("reason", " ")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let overdraw = client
        .call_fn(
            "adjust_points",
            &[("member_id", &member), ("points", "-5000"), ("reason", "x")],
        )
        .await;
    assert_eq!(overdraw.status, StatusCode::CONFLICT);
    assert_eq!(overdraw.json()["InsufficientPoints"]["available"], 1050);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn member_pages_render_on_the_server_and_adjust_works_without_javascript(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let owner = acme.with_admin(&db, "owner", Role::TenantAdmin).await;
    let member = member_with_points(&db, &owner, "ann-42", 1200)
        .await
        .to_string();
    let router = console(db.clone());
    let mut browser = Client::signed_in(&router, &owner.email, TEST_PASSWORD).await;

    let list = browser.get("/members?q=ann").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("ann-42"),
        "search results are in the HTML"
    );
    let page = browser.get(&format!("/members/{member}")).await;
    assert!(
        page.body.contains("data-testid=\"ledger\""),
        "the ledger is rendered on the server"
    );
    let levels = browser.get("/levels").await;
    assert!(levels.body.contains("diamond"));

    let referer = format!("/members/{member}");
    let form = [
        ("member_id", member.as_str()),
        ("points", "-200"),
        ("reason", "refund"),
    ];
    let posted = browser.submit_form("adjust_points", &form, &referer).await;
    assert_eq!(posted.status, StatusCode::FOUND);
    assert!(posted.location().unwrap().contains(&referer), "{posted:?}");
    // Back on the page, it says what happened (no JavaScript needed).
    let location = posted.location().unwrap().to_owned();
    assert!(location.ends_with("?done=adjust_points"), "{location}");
    let after = browser.get(&location).await;
    assert!(
        after.body.contains("data-testid=\"done\""),
        "{}",
        after.body
    );
    // Above the threshold the adjustment is only filed, and the page says so.
    browser
        .call_fn("set_approval_threshold", &[("threshold", "100")])
        .await;
    let big = [
        ("member_id", member.as_str()),
        ("points", "500"),
        ("reason", "goodwill"),
    ];
    let filed = browser.submit_form("adjust_points", &big, &location).await;
    let filed_at = filed.location().unwrap().to_owned();
    assert_eq!(filed_at, format!("{referer}?done=adjust_points_pending"));
    browser
        .call_fn("set_approval_threshold", &[("threshold", "")])
        .await;
    let missing_reason = [
        ("member_id", member.as_str()),
        ("points", "10"),
        ("reason", ""),
    ];
    let refused = browser
        .submit_form("adjust_points", &missing_reason, &referer)
        .await;
    assert!(
        refused.location().unwrap().contains("error="),
        "the error travels back in the URL"
    );
    let profile = browser
        .call_fn("get_member", &[("member_id", &member)])
        .await
        .json();
    assert_eq!(profile["available_points"], 1000);
}

/// The tier editor without JavaScript: "Add tier" and Preview are GET submissions that
/// come back with the edited rows in the query and the preview rendered on the server;
/// the second step posts exactly the previewed rows and lands on the Levels page saying
/// it was applied. Malformed rows change nothing; a viewer cannot apply.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_tier_editor_previews_and_applies_without_javascript(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let owner = acme.with_admin(&db, "owner", Role::TenantAdmin).await;
    let viewer = acme.with_admin(&db, "vera", Role::Viewer).await;
    member_with_points(&db, &owner, "ann", 1200).await;
    let router = console(db.clone());
    let mut browser = Client::signed_in(&router, &owner.email, TEST_PASSWORD).await;
    let tiers = browser.call_fn("list_tiers", &[]).await.json();
    let tiers = tiers.as_array().unwrap().clone();

    // The editor's GET form, as a browser encodes it: one value per field per row,
    // `active` as the indexes of checked rows. Silver now starts at 1,500 points.
    let mut query = Vec::new();
    for (index, tier) in tiers.iter().enumerate() {
        let min = if tier["code"] == "silver" {
            1500
        } else {
            tier["min_points"].as_i64().unwrap()
        };
        let max = match tier["max_points"].as_i64() {
            Some(_) if tier["code"] == "bronze" => "1499".to_owned(),
            Some(max) => max.to_string(),
            None => String::new(),
        };
        query.push(format!("tier_id={}", tier["tier_id"].as_str().unwrap()));
        query.push(format!("code={}", tier["code"].as_str().unwrap()));
        query.push(format!(
            "name_zh={}",
            encode(tier["name_zh"].as_str().unwrap())
        ));
        query.push(format!(
            "name_en={}",
            encode(tier["name_en"].as_str().unwrap())
        ));
        query.push(format!("sort_order={}", tier["sort_order"]));
        query.push(format!("min_points={min}"));
        query.push(format!("max_points={max}"));
        if tier["active"] == true {
            query.push(format!("active={index}"));
        }
        query.push("permissions=".to_owned());
        query.push(format!("max_licenses={}", tier["max_licenses"]));
    }
    let edited = query.join("&");

    let added = browser.get(&format!("/levels?{edited}&add=1")).await;
    assert_eq!(added.status, StatusCode::OK);
    assert_eq!(
        added.body.matches("name=\"code\"").count(),
        tiers.len() + 1,
        "Add tier comes back with one more row"
    );
    assert!(added.body.contains("value=\"1500\""), "the edits are kept");

    let previewed = browser.get(&format!("/levels?{edited}&preview=1")).await;
    assert_eq!(previewed.status, StatusCode::OK);
    assert!(
        previewed.body.contains("data-testid=\"preview\""),
        "{}",
        previewed.body
    );
    assert!(previewed.body.contains("data-testid=\"confirm-apply\""));
    assert!(previewed.body.contains("action=\"/api/apply_tiers\""));
    // ann (1,200 points) moves from silver down to bronze.
    assert!(
        previewed.body.contains("data-testid=\"moved-down\">1<"),
        "{}",
        previewed.body
    );

    // The second step: the previewed rows, as the hidden field carries them.
    let mut rows: Vec<serde_json::Value> = tiers.clone();
    for row in &mut rows {
        if row["code"] == "silver" {
            row["min_points"] = 1500.into();
        }
        if row["code"] == "bronze" {
            row["max_points"] = 1499.into();
        }
    }
    let rows = serde_json::Value::Array(rows).to_string();
    let referer = format!("/levels?{edited}&preview=1");
    let mut vera = Client::signed_in(&router, &viewer.email, TEST_PASSWORD).await;
    let refused = vera
        .submit_form("apply_tiers", &[("tiers", &rows)], &referer)
        .await;
    assert!(
        refused.location().unwrap().contains("error="),
        "{refused:?}"
    );
    let malformed = browser
        .submit_form("apply_tiers", &[("tiers", "[{")], &referer)
        .await;
    assert!(
        malformed.location().unwrap().contains("error="),
        "{malformed:?}"
    );
    let as_api = browser
        .call_fn("apply_tiers", &[("tiers", "not json")])
        .await;
    assert_eq!(
        as_api.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        as_api.body
    );
    let silver = |tiers: serde_json::Value| {
        tiers
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["code"] == "silver")
            .unwrap()["min_points"]
            .clone()
    };
    assert_eq!(
        silver(browser.call_fn("list_tiers", &[]).await.json()),
        1000,
        "nothing changed yet"
    );

    let applied = browser
        .submit_form("apply_tiers", &[("tiers", &rows)], &referer)
        .await;
    assert_eq!(applied.status, StatusCode::FOUND, "{applied:?}");
    assert_eq!(applied.location().unwrap(), "/levels?done=save_tiers_form");
    assert_eq!(
        silver(browser.call_fn("list_tiers", &[]).await.json()),
        1500
    );
    let after = browser.get("/levels?done=save_tiers_form").await;
    assert!(after.body.contains("data-testid=\"done\""));
}

/// Percent-encodes a query value as a browser's form does.
fn encode(value: &str) -> String {
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
