//! The rollout console (`/rollout`) and the member page's rollout panel over HTTP:
//! every server function by role (every role reads the dashboard; only tenant admins
//! move the rollout) and by tenant (another tenant's rollout is not found, and its
//! kill switch is its own), malformed plans and settings as 4xx naming the field with
//! nothing written, and the flow: create, advance to 5 % with the stage's migration
//! run worked to its end (`run::drive`: the job does not run in tests), decisions
//! compared in shadow, the dashboard with its cohort, scores and charts, the member
//! panel, and the kill switch sending every decision back to the legacy model.

mod support;

use axum::body::Body;
use domain::Role;
use domain::migration::{legacy, run};
use domain::points::levels;
use domain::rollout::{Question, Shadow};
use domain::testing::{TEST_PASSWORD, TestAdmin, TestTenant};
use http::{Method, StatusCode, header};
use sqlx::PgPool;
use support::{Client, TestResponse, audit_rows, console};
use uuid::Uuid;

struct Tenant {
    tenant: TestTenant,
    boss: TestAdmin,
    sam: TestAdmin,
    vic: TestAdmin,
}

/// A tenant with the default tiers, the demo tags and `members` generated legacy
/// members.
async fn tenant(db: &PgPool, slug: &str, members: i64) -> Tenant {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    domain::demo::seed_tags(&mut conn, tenant.id())
        .await
        .unwrap();
    legacy::generate(&mut conn, tenant.id(), members, chrono::Utc::now())
        .await
        .unwrap();
    drop(conn);
    Tenant {
        boss: tenant.with_admin(db, "boss", Role::TenantAdmin).await,
        sam: tenant.with_admin(db, "sam", Role::Support).await,
        vic: tenant.with_admin(db, "vic", Role::Viewer).await,
        tenant,
    }
}

async fn page(client: &mut Client, path: &str, lang: &str) -> TestResponse {
    let request = client
        .request(Method::GET, path)
        .header(header::ACCEPT, "text/html")
        .header(header::ACCEPT_LANGUAGE, lang)
        .body(Body::empty())
        .unwrap();
    client.send(request).await
}

/// The create form as the console posts it: the seed's plan with `hold` minutes per
/// stage and a minimum sample of 10, then `extra` fields replacing or adding to it.
fn plan<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = vec![
        ("rollout[name]", "Spring rollout"),
        ("rollout[group_id]", ""),
        ("rollout[stages][0][percent]", "5"),
        ("rollout[stages][0][hold_minutes]", "0"),
        ("rollout[stages][0][approver]", ""),
        ("rollout[stages][1][percent]", "20"),
        ("rollout[stages][1][hold_minutes]", "0"),
        ("rollout[stages][2][percent]", "50"),
        ("rollout[stages][2][hold_minutes]", "0"),
        ("rollout[stages][3][percent]", "100"),
        ("rollout[stages][3][hold_minutes]", "0"),
        // A spare row left empty.
        ("rollout[stages][4][percent]", ""),
        ("rollout[stages][4][hold_minutes]", ""),
        ("rollout[stratified]", "on"),
        ("rollout[active_days]", "30"),
        ("rollout[long_standing_days]", "365"),
        ("rollout[mix_active]", "50"),
        ("rollout[mix_long_standing]", "30"),
        ("rollout[mix_new]", "20"),
        ("rollout[min_members]", "10"),
        ("rollout[sample_pct]", "100"),
        ("rollout[gate_score]", "95"),
        ("rollout[min_sample]", "10"),
        ("rollout[guard_error_pct]", "1"),
        ("rollout[guard_p99_ms]", "500"),
    ];
    for (name, value) in extra {
        match form.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => form.push((name, value)),
        }
    }
    form
}

fn settings<'a>(rollout_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = vec![
        ("rollout_id", rollout_id),
        ("settings[group_id]", "spring"),
        ("settings[sample_pct]", "50"),
        ("settings[gate_score]", "97.5"),
        ("settings[min_sample]", "20"),
        ("settings[guard_error_pct]", "2"),
        ("settings[guard_p99_ms]", "400"),
    ];
    for (name, value) in extra {
        match form.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => form.push((name, value)),
        }
    }
    form
}

/// A month from now, as a date input sends it.
fn in_a_month() -> String {
    (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string()
}

/// Every move with valid arguments for a rollout (tenant admins only), in an order
/// that works: abort (which ends the rollout) last, then a read.
fn moves(id: &str) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let id = id.to_owned();
    vec![
        ("advance_rollout", vec![("rollout_id", id.clone())]),
        ("step_back_rollout", vec![("rollout_id", id.clone())]),
        (
            "pause_rollout",
            vec![("rollout_id", id.clone()), ("reason", "lunch".into())],
        ),
        ("resume_rollout", vec![("rollout_id", id.clone())]),
        (
            "set_rollout_modes",
            vec![
                ("rollout_id", id.clone()),
                ("permission", "live".into()),
                ("quota", "off".into()),
                ("summary", "shadow".into()),
            ],
        ),
        (
            "accept_rollout_difference",
            vec![
                ("rollout_id", id.clone()),
                ("decision", "permission".into()),
                ("kind", "permission_extra".into()),
                ("detail", "api_access".into()),
                ("owner", "Ana".into()),
                ("reason", "known: VIP keys".into()),
                ("expires_on", in_a_month()),
            ],
        ),
        ("complete_rollout", vec![("rollout_id", id.clone())]),
        (
            "abort_rollout",
            vec![("rollout_id", id.clone()), ("reason", "oops".into())],
        ),
        ("rollout_dashboard", vec![("rollout_id", id)]),
    ]
}

/// Works the tenant's active migration run (a stage's, a step back's rollback) to its
/// end, as the job of a server process would.
async fn drive_active(db: &PgPool, admin: &TestAdmin, tenant_id: Uuid) {
    if let Some(active) = run::active(db, &admin.access()).await.unwrap() {
        run::drive(db, tenant_id, active.run_id, |_| {})
            .await
            .unwrap();
    }
}

async fn call(client: &mut Client, name: &str, form: &[(&str, String)]) -> TestResponse {
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    client.call_fn(name, &form).await
}

/// (rollouts, events, accepted) stored, every tenant.
async fn stored(db: &PgPool) -> (i64, i64, i64) {
    sqlx::query_as(
        "select (select count(*) from rollouts), (select count(*) from rollout_events),
                (select count(*) from rollout_accepted)",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_role_reads_and_only_tenant_admins_move(db: PgPool) {
    let acme = tenant(&db, "acme", 40).await;
    let router = console(db.clone());
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;
    let mut sam = Client::signed_in(&router, &acme.sam.email, TEST_PASSWORD).await;
    let mut vic = Client::signed_in(&router, &acme.vic.email, TEST_PASSWORD).await;

    // Before any rollout: every role reads "none".
    for client in [&mut boss, &mut sam, &mut vic] {
        let none = client.call_fn("current_rollout", &[]).await;
        assert_eq!(none.status, StatusCode::OK, "{}", none.body);
        assert_eq!(none.json(), serde_json::Value::Null);
    }
    // Support and viewers cannot create one, nor press the kill switch.
    let before = (stored(&db).await, audit_rows(&db).await);
    for client in [&mut sam, &mut vic] {
        let refused = client.call_fn("create_rollout", &plan(&[])).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        let refused = client.call_fn("kill_rollout", &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    assert_eq!((stored(&db).await, audit_rows(&db).await), before);

    let created = boss.call_fn("create_rollout", &plan(&[])).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let rollout = created.json();
    let id = rollout["rollout_id"].as_str().unwrap().to_owned();
    assert_eq!(rollout["status"], "running");
    assert_eq!(
        rollout["stages"].as_array().unwrap().len(),
        4,
        "the spare row is skipped"
    );
    assert_eq!(rollout["min_sample"], 10);
    assert_eq!(rollout["sample_bp"], 10_000);
    assert_eq!(
        rollout["group_id"],
        id.as_str(),
        "an empty group id is the rollout's id"
    );

    // Every role reads the dashboard (a product manager watches read-only) and the
    // member panel.
    for client in [&mut boss, &mut sam, &mut vic] {
        let current = client.call_fn("current_rollout", &[]).await;
        assert_eq!(current.status, StatusCode::OK, "{}", current.body);
        assert_eq!(current.json()["rollout"]["rollout_id"], id.as_str());
        let dashboard = client
            .call_fn("rollout_dashboard", &[("rollout_id", id.as_str())])
            .await;
        assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.body);
        let member = client
            .call_fn("member_rollout", &[("external_id", "L000001")])
            .await;
        assert_eq!(member.status, StatusCode::OK, "{}", member.body);
    }
    // The page reads for a viewer, without forms.
    let shown = page(&mut vic, "/rollout", "en").await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown.body.contains("<title>Gray rollout"),
        "the document title"
    );
    assert!(shown.body.contains("data-testid=\"rollout-read-only\""));
    assert!(shown.body.contains("data-testid=\"rollout-charts\""));
    assert!(!shown.body.contains("data-testid=\"kill-switch\""));
    assert!(!shown.body.contains("data-testid=\"controls\""));

    // Support and viewers are refused every move, and nothing is written.
    let before = (stored(&db).await, audit_rows(&db).await);
    for client in [&mut sam, &mut vic] {
        for (name, form) in moves(&id) {
            if name == "rollout_dashboard" {
                continue;
            }
            let refused = call(client, name, &form).await;
            assert_eq!(
                refused.status,
                StatusCode::FORBIDDEN,
                "{name}: {}",
                refused.body
            );
        }
        let refused = client
            .call_fn("update_rollout_settings", &settings(&id, &[]))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    assert_eq!(
        (stored(&db).await, audit_rows(&db).await),
        before,
        "refusals write nothing"
    );

    // The tenant admin: settings, modes, accepting a difference, pause and resume.
    let saved = boss
        .call_fn("update_rollout_settings", &settings(&id, &[]))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.json()["group_id"], "spring");
    assert_eq!(saved.json()["sample_bp"], 5_000);
    assert_eq!(saved.json()["gate_score"], 97.5);
    for (name, form) in moves(&id) {
        let answer = call(&mut boss, name, &form).await;
        // The rollout is not at its last stage (nor every decision live) to complete.
        let expected = if name == "complete_rollout" {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        assert_eq!(answer.status, expected, "{name}: {}", answer.body);
        drive_active(&db, &acme.boss, acme.tenant.id()).await;
    }
    let ended = boss.call_fn("current_rollout", &[]).await.json();
    assert_eq!(ended["rollout"]["status"], "aborted");
    assert_eq!(ended["accepted"].as_array().unwrap().len(), 1);
    let actions: Vec<&str> = ended["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["create", "settings", "advance", "pause", "modes", "abort"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    // An ended rollout refuses moves; a new one may be created.
    let refused = call(&mut boss, "advance_rollout", &moves(&id)[0].1).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let again = boss.call_fn("create_rollout", &plan(&[])).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let twice = boss.call_fn("create_rollout", &plan(&[])).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "one active rollout");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn another_tenants_rollout_is_not_found(db: PgPool) {
    let acme = tenant(&db, "acme", 20).await;
    let globex = tenant(&db, "globex", 5).await;
    let router = console(db.clone());
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;
    let mut theirs = Client::signed_in(&router, &globex.boss.email, TEST_PASSWORD).await;
    let id = boss.call_fn("create_rollout", &plan(&[])).await.json()["rollout_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = (stored(&db).await, audit_rows(&db).await);
    for (name, form) in moves(&id) {
        let hidden = call(&mut theirs, name, &form).await;
        assert_eq!(
            hidden.status,
            StatusCode::NOT_FOUND,
            "{name}: {}",
            hidden.body
        );
    }
    let hidden = theirs
        .call_fn("update_rollout_settings", &settings(&id, &[]))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    assert_eq!((stored(&db).await, audit_rows(&db).await), before);
    let ghost = Uuid::new_v4().to_string();
    let missing = boss
        .call_fn("rollout_dashboard", &[("rollout_id", &ghost)])
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Their view: no rollout; their kill switch is theirs alone.
    assert_eq!(
        theirs.call_fn("current_rollout", &[]).await.json(),
        serde_json::Value::Null
    );
    let killed = theirs.call_fn("kill_rollout", &[]).await;
    assert_eq!(killed.status, StatusCode::OK, "{}", killed.body);
    assert_eq!(killed.json(), serde_json::Value::Null);
    let ours = boss.call_fn("current_rollout", &[]).await.json();
    assert_eq!(
        ours["rollout"]["status"], "running",
        "acme's rollout is untouched"
    );
    assert_eq!(
        boss.call_fn("migration_routing", &[]).await.json()["mode"],
        "new"
    );
    // Their members are not ours: the panel knows no rollout of theirs for our ids.
    let panel = theirs
        .call_fn("member_rollout", &[("external_id", "L000001")])
        .await;
    if panel.status == StatusCode::OK {
        assert_eq!(panel.json()["rollout"], serde_json::Value::Null);
    } else {
        assert_eq!(panel.status, StatusCode::NOT_FOUND, "{}", panel.body);
    }
}

/// A form, the status it gets, and the field its refusal names.
type Case<'a> = (Vec<(&'a str, &'a str)>, StatusCode, &'a str);

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn malformed_plans_are_4xx_naming_the_field(db: PgPool) {
    let acme = tenant(&db, "acme", 10).await;
    let router = console(db.clone());
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;
    let long = "x".repeat(201);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let cases: Vec<Case> = vec![
        (plan(&[("rollout[name]", "  ")]), unprocessable, "name"),
        (
            plan(&[("rollout[name]", long.as_str())]),
            unprocessable,
            "name",
        ),
        (plan(&[("rollout[name]", "a\u{1}b")]), unprocessable, "name"),
        (
            plan(&[("rollout[name]", "a\u{202e}b\u{7f}")]),
            unprocessable,
            "name",
        ),
        (
            plan(&[("rollout[group_id]", "g\u{1b}[31m")]),
            unprocessable,
            "group_id",
        ),
        (
            plan(&[("rollout[stages][0][percent]", "0")]),
            unprocessable,
            "stages",
        ),
        (
            plan(&[("rollout[stages][0][percent]", "300")]),
            unprocessable,
            "stages",
        ),
        (
            plan(&[("rollout[stages][0][percent]", "-5")]),
            unprocessable,
            "stages",
        ),
        (
            plan(&[("rollout[stages][0][percent]", "5.5")]),
            unprocessable,
            "stages",
        ),
        (
            plan(&[("rollout[stages][1][percent]", "5")]),
            unprocessable,
            "stages",
        ),
        (
            plan(&[("rollout[stages][3][percent]", "90")]),
            unprocessable,
            "stages",
        ),
        (
            plan(&[("rollout[stages][0][hold_minutes]", "99999999999")]),
            unprocessable,
            "hold_minutes",
        ),
        (
            plan(&[("rollout[stages][0][hold_minutes]", "-1")]),
            unprocessable,
            "hold_minutes",
        ),
        (
            plan(&[("rollout[stages][0][approver]", "someone")]),
            unprocessable,
            "approver",
        ),
        (
            plan(&[(
                "rollout[stages][0][approver]",
                "00000000-0000-4000-8000-000000000000",
            )]),
            unprocessable,
            "approver",
        ),
        (plan(&[("rollout[mix_new]", "25")]), unprocessable, "mix"),
        (plan(&[("rollout[mix_new]", "NaN")]), unprocessable, "mix"),
        (
            plan(&[("rollout[active_days]", "0")]),
            unprocessable,
            "active_days",
        ),
        (
            plan(&[("rollout[long_standing_days]", "1e9")]),
            unprocessable,
            "long_standing_days",
        ),
        (
            plan(&[("rollout[min_members]", "ten")]),
            unprocessable,
            "min_members",
        ),
        (
            plan(&[("rollout[sample_pct]", "NaN")]),
            unprocessable,
            "sample_pct",
        ),
        (
            plan(&[("rollout[sample_pct]", "100.5")]),
            unprocessable,
            "sample_pct",
        ),
        (
            plan(&[("rollout[sample_pct]", "-0.5")]),
            unprocessable,
            "sample_pct",
        ),
        (
            plan(&[("rollout[gate_score]", "NaN")]),
            unprocessable,
            "gate_score",
        ),
        (
            plan(&[("rollout[gate_score]", "inf")]),
            unprocessable,
            "gate_score",
        ),
        (
            plan(&[("rollout[gate_score]", "1e400")]),
            unprocessable,
            "gate_score",
        ),
        (
            plan(&[("rollout[gate_score]", "101")]),
            unprocessable,
            "gate_score",
        ),
        (
            plan(&[("rollout[min_sample]", "0")]),
            unprocessable,
            "min_sample",
        ),
        (
            plan(&[("rollout[min_sample]", "99999999999999999999")]),
            unprocessable,
            "min_sample",
        ),
        (
            plan(&[("rollout[guard_error_pct]", "-inf")]),
            unprocessable,
            "guard_error_pct",
        ),
        (
            plan(&[("rollout[guard_p99_ms]", "0")]),
            unprocessable,
            "guard_p99_ms",
        ),
    ];
    let before = (stored(&db).await, audit_rows(&db).await);
    for (form, status, field) in &cases {
        let refused = boss.call_fn("create_rollout", form).await;
        assert_eq!(refused.status, *status, "{field}: {}", refused.body);
        assert_eq!(
            refused.json()["Invalid"]["field"],
            *field,
            "{}",
            refused.body
        );
    }
    // No stages at all.
    let no_stages: Vec<(&str, &str)> = plan(&[])
        .into_iter()
        .filter(|(name, _)| !name.contains("[stages]"))
        .collect();
    let refused = boss.call_fn("create_rollout", &no_stages).await;
    assert_eq!(refused.status, unprocessable, "{}", refused.body);
    assert_eq!(refused.json()["Invalid"]["field"], "stages");
    // Missing fields and undecodable ones are bad requests, with a message.
    let missing: Vec<(&str, &str)> = plan(&[])
        .into_iter()
        .filter(|(name, _)| *name != "rollout[gate_score]")
        .collect();
    for form in [missing, vec![]] {
        let refused = boss.call_fn("create_rollout", &form).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert!(refused.json()["BadRequest"].is_string(), "{}", refused.body);
    }
    assert_eq!(
        (stored(&db).await, audit_rows(&db).await),
        before,
        "refusals write nothing"
    );

    // An active rollout's moves with bad input.
    let id = boss.call_fn("create_rollout", &plan(&[])).await.json()["rollout_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = (stored(&db).await, audit_rows(&db).await);
    for (extra, field) in [
        (("settings[gate_score]", "NaN"), "gate_score"),
        (("settings[sample_pct]", "1e400"), "sample_pct"),
        (("settings[min_sample]", "-3"), "min_sample"),
        (("settings[guard_p99_ms]", "ms"), "guard_p99_ms"),
        (("settings[group_id]", "a\u{0}b"), ""),
    ] {
        let refused = boss
            .call_fn("update_rollout_settings", &settings(&id, &[extra]))
            .await;
        assert!(
            refused.status.is_client_error(),
            "{field}: {}",
            refused.body
        );
        if !field.is_empty() {
            assert_eq!(refused.status, unprocessable, "{field}: {}", refused.body);
            assert_eq!(
                refused.json()["Invalid"]["field"],
                field,
                "{}",
                refused.body
            );
        }
    }
    let month = in_a_month();
    let accept = |extra: &[(&'static str, &'static str)]| {
        let mut form = vec![
            ("decision", "permission"),
            ("kind", "permission_extra"),
            ("detail", "api_access"),
            ("owner", "Ana"),
            ("reason", "known"),
            ("expires_on", month.as_str()),
        ];
        for (name, value) in extra {
            match form.iter_mut().find(|(n, _)| n == name) {
                Some(field) => field.1 = value,
                None => form.push((name, value)),
            }
        }
        form
    };
    for (extra, status, field) in [
        (
            vec![("kind", "quota_lower"), ("decision", "quota")],
            unprocessable,
            "kind",
        ),
        (vec![("kind", "level_differs")], unprocessable, "decision"),
        (vec![("owner", " ")], unprocessable, "owner"),
        (vec![("reason", "a\u{7}")], unprocessable, "reason"),
        (vec![("expires_on", "soon")], unprocessable, "expires_on"),
        (vec![("expires_on", "")], unprocessable, "expires_on"),
        (
            vec![("decision", "everything")],
            StatusCode::BAD_REQUEST,
            "",
        ),
    ] {
        let mut form = accept(&extra);
        form.push(("rollout_id", id.as_str()));
        let refused = boss.call_fn("accept_rollout_difference", &form).await;
        assert_eq!(refused.status, status, "{extra:?}: {}", refused.body);
        if !field.is_empty() {
            assert_eq!(
                refused.json()["Invalid"]["field"],
                field,
                "{}",
                refused.body
            );
        }
    }
    for (name, form) in [
        ("advance_rollout", vec![("rollout_id", "not-a-uuid")]),
        ("pause_rollout", vec![("rollout_id", id.as_str())]),
        (
            "set_rollout_modes",
            vec![
                ("rollout_id", id.as_str()),
                ("permission", "sideways"),
                ("quota", "off"),
                ("summary", "off"),
            ],
        ),
        ("set_rollout_modes", vec![("rollout_id", id.as_str())]),
        ("member_rollout", vec![]),
    ] {
        let refused = boss.call_fn(name, &form).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            refused.body
        );
    }
    let long_reason = "r".repeat(501);
    let refused = boss
        .call_fn(
            "pause_rollout",
            &[
                ("rollout_id", id.as_str()),
                ("reason", long_reason.as_str()),
            ],
        )
        .await;
    assert_eq!(refused.status, unprocessable, "{}", refused.body);
    assert_eq!(
        (stored(&db).await, audit_rows(&db).await),
        before,
        "refusals write nothing"
    );
    let current = boss.call_fn("current_rollout", &[]).await.json();
    assert_eq!(current["rollout"]["gate_score"], 95.0);
    assert_eq!(current["rollout"]["status"], "running");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn from_creation_to_the_kill_switch(db: PgPool) {
    let acme = tenant(&db, "acme", 400).await;
    let router = console(db.clone());
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;
    let mut vic = Client::signed_in(&router, &acme.vic.email, TEST_PASSWORD).await;
    let back = "/rollout";

    // Without JavaScript: the page offers the create form; the plain post comes back.
    assert_eq!(boss.get(back).await.status, StatusCode::OK);
    let shown = page(&mut boss, back, "en").await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("data-testid=\"no-rollout\""));
    assert!(shown.body.contains("data-testid=\"create-form\""));
    assert!(shown.body.contains("data-testid=\"kill-switch\""));
    let zh = page(&mut boss, back, "zh-CN").await;
    assert!(zh.body.contains("灰度发布") && zh.body.contains("紧急开关"));
    let created = boss.submit_form("create_rollout", &plan(&[]), back).await;
    let location = created.location().unwrap_or_default().to_owned();
    assert!(location.contains("done=create_rollout"), "{created:?}");
    let refused = boss
        .submit_form(
            "create_rollout",
            &plan(&[("rollout[gate_score]", "NaN")]),
            back,
        )
        .await;
    assert!(
        refused.location().unwrap_or_default().contains("error="),
        "{refused:?}"
    );
    let dashboard = boss.call_fn("current_rollout", &[]).await.json();
    let id = dashboard["rollout"]["rollout_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        dashboard["rollout"]["modes"],
        serde_json::json!(["shadow", "shadow", "shadow"])
    );

    // Advance to 5 %: the stage's migration run takes the cohort.
    let advanced = boss
        .submit_form(
            "advance_rollout",
            &[("rollout_id", id.as_str()), ("from_stage", "0")],
            back,
        )
        .await;
    assert!(
        advanced
            .location()
            .unwrap_or_default()
            .contains("done=advance_rollout"),
        "{advanced:?}"
    );
    // A second click from the same page does not move again.
    let again = boss
        .call_fn(
            "advance_rollout",
            &[("rollout_id", id.as_str()), ("from_stage", "0")],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json()["stage_no"], 1);
    let dashboard = boss.call_fn("current_rollout", &[]).await.json();
    assert_eq!(dashboard["rollout"]["stage_no"], 1);
    let run_id: Uuid = dashboard["rollout"]["stages"][0]["run_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        dashboard["blockers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["kind"] == "run_active"),
        "{}",
        dashboard["blockers"]
    );
    run::drive(&db, acme.tenant.id(), run_id, |_| {})
        .await
        .unwrap();

    // Decisions for the cohort, compared in shadow.
    let cohort: Vec<String> = sqlx::query_scalar(
        "select external_id from rollout_members where tenant_id = $1 order by external_id",
    )
    .bind(acme.tenant.id())
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(cohort.len() >= 10, "{}", cohort.len());
    let cache = domain::tags::permissions::PermissionCache::new(domain::clock::system(), 10_000);
    let shadow = Shadow::start(db.clone());
    let access = acme.boss.access();
    for external_id in &cohort {
        for question in [
            Question::Permission {
                key: "license_request".into(),
            },
            Question::Quota,
            Question::Summary,
        ] {
            domain::rollout::decide(&db, &cache, &shadow, &access, external_id, &question)
                .await
                .unwrap();
        }
    }
    shadow.flush().await.unwrap();

    // The viewer's dashboard: the cohort, the run done, scores, the charts' points.
    let dashboard = vic.call_fn("current_rollout", &[]).await.json();
    let cohort_size: i64 = dashboard["cohort_mix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_i64().unwrap())
        .sum();
    assert_eq!(cohort_size, cohort.len() as i64);
    assert_eq!(dashboard["run"]["status"], "completed");
    let compared: i64 = dashboard["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["compared"].as_i64().unwrap())
        .sum();
    assert_eq!(compared, 3 * cohort.len() as i64, "every decision compared");
    assert!(!dashboard["minutes"].as_array().unwrap().is_empty());
    let shown = page(&mut vic, back, "en").await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains(&format!(
        "data-testid=\"cohort-size\" data-size=\"{}\"",
        cohort.len()
    )));
    for chart in ["chart-shares", "chart-score", "chart-rate", "chart-latency"] {
        assert!(
            shown.body.contains(&format!("data-testid=\"{chart}\"")),
            "{chart}"
        );
    }
    assert!(
        shown.body.contains("data-testid=\"chart-score-reference\""),
        "the gate line"
    );
    assert!(
        shown
            .body
            .contains("data-testid=\"stage-run\" data-status=\"completed\"")
    );
    assert!(shown.body.contains("data-point"), "points drawn");

    // The member panel: a cohort member is in, answered by legacy in shadow.
    let member = vic
        .call_fn("member_rollout", &[("external_id", cohort[0].as_str())])
        .await
        .json();
    assert_eq!(member["rollout"]["joined_stage"], 1);
    assert_eq!(
        member["models"],
        serde_json::json!(["legacy", "legacy", "legacy"])
    );
    // Permission live: the cohort's permission checks are answered by the new model.
    let live = boss
        .call_fn(
            "set_rollout_modes",
            &[
                ("rollout_id", id.as_str()),
                ("permission", "live"),
                ("quota", "shadow"),
                ("summary", "shadow"),
            ],
        )
        .await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.body);
    let member = vic
        .call_fn("member_rollout", &[("external_id", cohort[0].as_str())])
        .await
        .json();
    assert_eq!(member["models"][0], "new");

    // The kill switch (a plain post): every decision back to legacy, the rollout paused.
    let killed = boss.submit_form("kill_rollout", &[], back).await;
    assert!(
        killed
            .location()
            .unwrap_or_default()
            .contains("done=kill_rollout"),
        "{killed:?}"
    );
    assert_eq!(
        vic.call_fn("migration_routing", &[]).await.json()["mode"],
        "legacy"
    );
    let member = vic
        .call_fn("member_rollout", &[("external_id", cohort[0].as_str())])
        .await
        .json();
    assert_eq!(
        member["models"],
        serde_json::json!(["legacy", "legacy", "legacy"])
    );
    let dashboard = vic.call_fn("current_rollout", &[]).await.json();
    assert_eq!(dashboard["rollout"]["status"], "paused");
    let routed = domain::rollout::decide(
        &db,
        &cache,
        &shadow,
        &access,
        &cohort[0],
        &Question::Permission {
            key: "license_request".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(routed.model.as_str(), "legacy");
    let shown = page(&mut vic, back, "en").await;
    assert!(
        shown
            .body
            .contains("data-testid=\"routing-mode\" data-mode=\"legacy\"")
    );
    assert!(shown.body.contains("data-status=\"paused\""));
}
