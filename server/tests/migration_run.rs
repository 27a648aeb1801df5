//! The run console (`/migration/run`) over HTTP: every server function by role (every
//! role reads, only tenant admins act) and tenant (another tenant's run is not found),
//! malformed selections as 4xx with the field named, and the whole flow as a browser
//! without JavaScript does it: dry run, start, progress, the run worked to completion
//! by `run::drive` (the job does not run in tests), validate, switch, checkpoints and
//! their compare, the blast radius and an emergency rollback.

mod support;

use axum::body::Body;
use domain::Role;
use domain::migration::{legacy, run};
use domain::points::levels;
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

/// Works a run to its end, as the job of a server process would.
async fn drive(db: &PgPool, tenant_id: Uuid, run_id: &str) -> run::Run {
    let run_id: Uuid = run_id.parse().unwrap();
    run::drive(db, tenant_id, run_id, |_| {}).await.unwrap()
}

/// The reads: open to every role.
const READS: [&str; 8] = [
    "migration_routing",
    "latest_migration_preflight",
    "migration_checkpoints",
    "latest_migration_dry_run",
    "active_migration_run",
    "recent_migration_runs",
    "latest_migration_validation",
    "latest_migration_reconciliation",
];

/// The steps with valid arguments: tenant admins only.
fn writes() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        ("switch_migration_routing", vec![("mode", "new")]),
        ("migration_preflight", vec![]),
        ("take_migration_checkpoint", vec![("label", "before")]),
        ("migration_dry_run", vec![("selection", "all")]),
        (
            "start_migration_run",
            vec![("selection", "share"), ("share", "50")],
        ),
        ("migration_catch_up", vec![]),
        ("validate_migration", vec![("fix", "on")]),
        ("reconcile_migration", vec![]),
        (
            "migration_blast_radius",
            vec![("mode", "emergency"), ("selection", "all")],
        ),
        (
            "start_migration_rollback",
            vec![("mode", "gradual"), ("selection", "share"), ("share", "10")],
        ),
    ]
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_role_reads_and_only_tenant_admins_act(db: PgPool) {
    let acme = tenant(&db, "acme", 40).await;
    let router = console(db.clone());
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;
    let mut sam = Client::signed_in(&router, &acme.sam.email, TEST_PASSWORD).await;
    let mut vic = Client::signed_in(&router, &acme.vic.email, TEST_PASSWORD).await;

    for client in [&mut boss, &mut sam, &mut vic] {
        for read in READS {
            let answer = client.call_fn(read, &[]).await;
            assert_eq!(answer.status, StatusCode::OK, "{read}: {}", answer.body);
        }
    }
    let routing = vic.call_fn("migration_routing", &[]).await.json();
    assert_eq!(routing["mode"], "legacy");
    assert_eq!(
        vic.call_fn("latest_migration_dry_run", &[]).await.json(),
        serde_json::Value::Null
    );

    // Support and viewers are refused every step, and nothing is written or audited.
    let audit_before = audit_rows(&db).await;
    let started = boss
        .call_fn(
            "start_migration_run",
            &[("selection", "share"), ("share", "50")],
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let run_id = started.json()["run_id"].as_str().unwrap().to_owned();
    let audit_before = audit_before + 1;
    assert_eq!(audit_rows(&db).await, audit_before);
    for client in [&mut sam, &mut vic] {
        let mut steps = writes();
        steps.push((
            "control_migration_run",
            vec![("run_id", run_id.as_str()), ("to", "paused")],
        ));
        for (name, form) in steps {
            let refused = client.call_fn(name, &form).await;
            assert_eq!(
                refused.status,
                StatusCode::FORBIDDEN,
                "{name}: {}",
                refused.body
            );
        }
        let detail = client
            .call_fn("migration_run_detail", &[("run_id", run_id.as_str())])
            .await;
        assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
        assert_eq!(detail.json()["run"]["status"], "running");
    }
    assert_eq!(
        audit_rows(&db).await,
        audit_before,
        "refusals write nothing"
    );
    let reports: i64 = sqlx::query_scalar("select count(*) from migration_reports")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(reports, 0);

    // The tenant admin: control, then every step (the second start is refused while
    // the first run is active, then allowed once it is cancelled).
    for (to, status) in [
        ("paused", "paused"),
        ("running", "running"),
        ("cancelled", "cancelled"),
    ] {
        let controlled = boss
            .call_fn("control_migration_run", &[("run_id", &run_id), ("to", to)])
            .await;
        assert_eq!(controlled.status, StatusCode::OK, "{}", controlled.body);
        assert_eq!(controlled.json()["status"], status);
    }
    let ended = boss
        .call_fn(
            "control_migration_run",
            &[("run_id", &run_id), ("to", "running")],
        )
        .await;
    assert_eq!(ended.status, StatusCode::CONFLICT, "{}", ended.body);
    for (name, form) in writes() {
        let answer = boss.call_fn(name, &form).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {}", answer.body);
        if name == "start_migration_run" {
            let id = answer.json()["run_id"].as_str().unwrap().to_owned();
            drive(&db, acme.tenant.id(), &id).await;
        }
        if name == "start_migration_rollback" {
            let id = answer.json()["run_id"].as_str().unwrap().to_owned();
            drive(&db, acme.tenant.id(), &id).await;
        }
    }
    let recent = vic.call_fn("recent_migration_runs", &[]).await.json();
    let statuses: Vec<&str> = recent
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "completed", "cancelled"]);
    for (read, kind) in [
        ("latest_migration_preflight", "preflight"),
        ("latest_migration_dry_run", "dry_run"),
        ("latest_migration_validation", "validate"),
        ("latest_migration_reconciliation", "reconcile"),
    ] {
        let latest = vic.call_fn(read, &[]).await.json();
        assert_eq!(latest[0]["kind"], kind, "{read}: {latest}");
    }
    let checkpoints = vic.call_fn("migration_checkpoints", &[]).await.json();
    assert_eq!(
        checkpoints.as_array().unwrap().len(),
        2,
        "pre-flight + taken"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn another_tenants_runs_are_not_found(db: PgPool) {
    let acme = tenant(&db, "acme", 20).await;
    let globex = tenant(&db, "globex", 5).await;
    let router = console(db.clone());
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;
    let mut theirs = Client::signed_in(&router, &globex.boss.email, TEST_PASSWORD).await;
    let started = boss
        .call_fn("start_migration_run", &[("selection", "all")])
        .await
        .json();
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    assert_eq!(started["total"], 20);
    boss.call_fn("take_migration_checkpoint", &[("label", "acme")])
        .await;

    let hidden = theirs
        .call_fn("migration_run_detail", &[("run_id", &run_id)])
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    for to in ["paused", "cancelled"] {
        let hidden = theirs
            .call_fn("control_migration_run", &[("run_id", &run_id), ("to", to)])
            .await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    }
    let ghost = Uuid::new_v4().to_string();
    let missing = boss
        .call_fn("migration_run_detail", &[("run_id", &ghost)])
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs.call_fn("active_migration_run", &[]).await.json(),
        serde_json::Value::Null
    );
    assert_eq!(
        theirs.call_fn("recent_migration_runs", &[]).await.json(),
        serde_json::json!([])
    );
    assert_eq!(
        theirs.call_fn("migration_checkpoints", &[]).await.json(),
        serde_json::json!([])
    );
    // Their own run is theirs alone: both tenants may run at once.
    let own = theirs
        .call_fn("start_migration_run", &[("selection", "all")])
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.json()["total"], 5);
    // The run page of another tenant's run says not found (the page, with its status).
    let page_for_them = page(&mut theirs, &format!("/migration/run?run={run_id}"), "en").await;
    assert_eq!(page_for_them.status, StatusCode::NOT_FOUND);
    assert!(page_for_them.body.contains("data-testid=\"runs\""));
    assert!(!page_for_them.body.contains("data-testid=\"run-detail\""));
    // Acme's run is untouched.
    let still = boss
        .call_fn("migration_run_detail", &[("run_id", &run_id)])
        .await
        .json();
    assert_eq!(still["run"]["status"], "running");
}

/// A form, the status it gets, and the field its refusal names.
type Case<'a> = (Vec<(&'a str, &'a str)>, StatusCode, &'a str);

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn malformed_selections_are_4xx_naming_the_field(db: PgPool) {
    let acme = tenant(&db, "acme", 10).await;
    let router = console(db.clone());
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;
    let many = "a\n".repeat(200_001 /* SELECTION_MAX + 1 */);
    let cases: Vec<Case> = vec![
        (
            vec![("selection", "share"), ("share", "0")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "share",
        ),
        (
            vec![("selection", "share"), ("share", "101")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "share",
        ),
        (
            vec![("selection", "share"), ("share", "ten")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "share",
        ),
        (
            vec![("selection", "share"), ("share", "")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "share",
        ),
        (
            vec![("selection", "members"), ("members", " \n, ")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "members",
        ),
        (
            vec![("selection", "members")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "members",
        ),
        (
            vec![("selection", "members"), ("members", many.as_str())],
            StatusCode::UNPROCESSABLE_ENTITY,
            "members",
        ),
        (
            vec![("selection", "members"), ("members", "L1\na\u{1}b")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "members",
        ),
        (
            vec![("selection", "members"), ("members", "a\u{7f}b")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "members",
        ),
        (
            vec![("selection", "some")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "selection",
        ),
    ];
    for name in ["migration_dry_run", "start_migration_run"] {
        for (form, status, field) in &cases {
            let refused = boss.call_fn(name, form).await;
            assert_eq!(
                refused.status, *status,
                "{name} {:.60?}: {}",
                form, refused.body
            );
            assert_eq!(
                refused.json()["Invalid"]["field"],
                *field,
                "{name}: {}",
                refused.body
            );
        }
        let missing = boss.call_fn(name, &[]).await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);
    }
    for (form, status, field) in &cases {
        for mode in ["gradual", "emergency"] {
            let mut form = form.clone();
            form.push(("mode", mode));
            for name in ["migration_blast_radius", "start_migration_rollback"] {
                let refused = boss.call_fn(name, &form).await;
                assert_eq!(refused.status, *status, "{name}: {}", refused.body);
                let named = refused.json()["Invalid"]["field"].clone();
                // An emergency rollback refuses any selection but everyone first.
                assert!(
                    named == *field || (mode == "emergency" && named == "selection"),
                    "{name}: {named}"
                );
            }
        }
    }
    let emergency_share = boss
        .call_fn(
            "start_migration_rollback",
            &[
                ("mode", "emergency"),
                ("selection", "share"),
                ("share", "10"),
            ],
        )
        .await;
    assert_eq!(emergency_share.status, StatusCode::UNPROCESSABLE_ENTITY);
    for (name, form) in [
        ("switch_migration_routing", vec![("mode", "both")]),
        (
            "migration_blast_radius",
            vec![("mode", "soon"), ("selection", "all")],
        ),
        ("migration_run_detail", vec![("run_id", "not-a-uuid")]),
        (
            "control_migration_run",
            vec![("run_id", "x"), ("to", "paused")],
        ),
        (
            "control_migration_run",
            vec![
                ("run_id", "00000000-0000-0000-0000-000000000000"),
                ("to", "sideways"),
            ],
        ),
    ] {
        let refused = boss.call_fn(name, &form).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            refused.body
        );
    }
    let run_id = boss
        .call_fn("start_migration_run", &[("selection", "all")])
        .await
        .json()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for to in ["completed", "failed"] {
        let refused = boss
            .call_fn("control_migration_run", &[("run_id", &run_id), ("to", to)])
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
    }
    for (name, form) in [
        ("validate_migration", vec![("fix", "maybe")]),
        ("take_migration_checkpoint", vec![("label", "")]),
        ("take_migration_checkpoint", vec![("label", "a\u{1}b")]),
    ] {
        let refused = boss.call_fn(name, &form).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            refused.body
        );
    }
    let long = "x".repeat(300);
    let refused = boss
        .call_fn("take_migration_checkpoint", &[("label", long.as_str())])
        .await;
    assert!(refused.status.is_client_error(), "{}", refused.body);
    // Without JavaScript a refusal comes back to the page in its words.
    let refused = boss
        .submit_form(
            "migration_dry_run",
            &[("selection", "share"), ("share", "0")],
            "/migration/run",
        )
        .await;
    assert!(refused.status.is_redirection(), "{refused:?}");
    let location = refused.location().unwrap().to_owned();
    assert!(location.contains("error="), "{location}");
    let shown = page(&mut boss, &location, "en").await;
    assert!(
        shown
            .body
            .contains("Share: must be a whole number from 1 to 100."),
        "{}",
        shown.body
    );
    let shown = page(&mut boss, &location, "zh-CN").await;
    assert!(shown.body.contains("比例：必须是 1 到 100 之间的整数。"));
    let long_id = "x".repeat(129);
    for (members, says) in [
        (
            long_id.as_str(),
            "External IDs: each external ID has at most 128 characters.",
        ),
        (
            "L1 a\u{1}b",
            "External IDs: contains characters that are not allowed",
        ),
        ("", "External IDs: paste at least one external ID."),
    ] {
        let refused = boss
            .submit_form(
                "start_migration_run",
                &[("selection", "members"), ("members", members)],
                "/migration/run",
            )
            .await;
        let location = refused.location().unwrap().to_owned();
        let shown = page(&mut boss, &location, "en").await;
        assert!(shown.body.contains(says), "{says}");
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn without_javascript_from_dry_run_to_rollback(db: PgPool) {
    let acme = tenant(&db, "acme", 60).await;
    let router = console(db.clone());
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;
    let back = "/migration/run";
    let post = |name: &'static str, form: Vec<(&'static str, &'static str)>| (name, form);

    // The page, both languages, linked from and to /migration.
    assert_eq!(boss.get(back).await.status, StatusCode::OK);
    let shown = page(&mut boss, back, "en").await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown.body.contains("<title>Migration run"),
        "the document title"
    );
    assert!(shown.body.contains("data-testid=\"to-migration\""));
    assert!(shown.body.contains("data-testid=\"no-runs\""));
    assert!(shown.body.contains("data-mode=\"legacy\""));
    let zh = page(&mut boss, back, "zh-CN").await;
    assert!(zh.body.contains("迁移执行") && zh.body.contains("试运行"));
    let migration = page(&mut boss, "/migration", "en").await;
    assert!(migration.body.contains("href=\"/migration/run\""));

    // Pre-flight and a dry run of everyone: the report with its charts.
    for (name, form) in [
        post("migration_preflight", vec![]),
        post(
            "migration_dry_run",
            vec![("selection", "all"), ("share", "10"), ("members", "")],
        ),
    ] {
        let answer = boss.submit_form(name, &form, back).await;
        let location = answer.location().unwrap_or_default().to_owned();
        assert!(
            location.contains(&format!("done={name}")),
            "{name}: {answer:?}"
        );
    }
    let shown = page(&mut boss, "/migration/run?done=migration_dry_run", "en").await;
    assert!(shown.body.contains("Dry run done"));
    assert!(
        shown
            .body
            .contains("data-testid=\"statistics\" data-members=\"60\"")
    );
    assert!(
        shown
            .body
            .contains("data-testid=\"dry-run-report\" data-members=\"60\" data-migratable=\"60\""),
        "{}",
        shown.body
    );
    for chart in [
        "Members per level",
        "Members per tag",
        "Members per points range",
    ] {
        assert!(shown.body.contains(&format!(">{chart}</title>")), "{chart}");
    }

    // Start everyone: the page shows the running run; the worker completes it.
    let started = boss
        .submit_form(
            "start_migration_run",
            &[("selection", "all"), ("share", "10"), ("members", "")],
            back,
        )
        .await;
    assert!(
        started
            .location()
            .unwrap()
            .contains("done=start_migration_run")
    );
    let run_id = boss.call_fn("active_migration_run", &[]).await.json()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = page(&mut boss, back, "en").await;
    assert!(shown.body.contains(&format!("data-run=\"{run_id}\" data-status=\"running\" data-kind=\"migrate\" data-handled=\"0\" data-total=\"60\"")), "{}", shown.body);
    // Pause and resume as plain posts.
    for to in ["paused", "running"] {
        let answer = boss
            .submit_form(
                "control_migration_run",
                &[("run_id", run_id.as_str()), ("to", to)],
                back,
            )
            .await;
        assert!(
            answer
                .location()
                .unwrap()
                .contains("done=control_migration_run"),
            "{answer:?}"
        );
    }
    let done = drive(&db, acme.tenant.id(), &run_id).await;
    assert_eq!(done.status, run::RunStatus::Completed);
    assert_eq!(done.done, 60);
    let shown = page(&mut boss, back, "en").await;
    assert!(
        shown.body.contains(
            "data-status=\"completed\" data-kind=\"migrate\" data-handled=\"60\" data-total=\"60\""
        ),
        "{}",
        shown.body
    );
    let detail = page(&mut boss, &format!("/migration/run?run={run_id}"), "en").await;
    assert!(
        detail
            .body
            .contains(&format!("data-testid=\"run-detail\" data-run=\"{run_id}\""))
    );

    // Validate with fixes and reconcile; switch to the new model.
    for (name, form) in [
        post("validate_migration", vec![("fix", "on")]),
        post("reconcile_migration", vec![]),
        post("switch_migration_routing", vec![("mode", "new")]),
        post("take_migration_checkpoint", vec![("label", "migrated")]),
    ] {
        let answer = boss.submit_form(name, &form, back).await;
        assert!(
            answer
                .location()
                .unwrap_or_default()
                .contains(&format!("done={name}")),
            "{name}: {answer:?}"
        );
    }
    let shown = page(&mut boss, back, "en").await;
    // Validation fixes what it can; a lower quota is only reported (the generated data
    // may have one), so no other kind of problem is left.
    assert!(
        shown
            .body
            .contains("data-testid=\"validation\" data-problems=")
    );
    assert!(
        shown.body.contains("data-members=\"60\"><p"),
        "validation of every member"
    );
    for kind in ["level", "balance", "tag_missing", "tag_extra"] {
        assert!(
            !shown.body.contains(&format!("<tr data-kind=\"{kind}\">")),
            "{kind}"
        );
    }
    assert!(
        shown
            .body
            .contains("data-testid=\"reconciliation\" data-equal=\"true\"")
    );
    assert!(shown.body.contains("data-mode=\"new\""));

    // The emergency rollback's blast radius, then its confirmation naming the numbers.
    let preview = "/migration/run?preview=rollback&mode=emergency&selection=all";
    let shown = page(&mut boss, preview, "en").await;
    assert!(
        shown
            .body
            .contains("data-testid=\"blast-radius\" data-members=\"60\""),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("Roll back 60 members"),
        "the confirmation names the number"
    );
    let answer = boss
        .submit_form(
            "start_migration_rollback",
            &[
                ("mode", "emergency"),
                ("selection", "all"),
                ("share", ""),
                ("members", ""),
            ],
            preview,
        )
        .await;
    let location = answer.location().unwrap().to_owned();
    assert!(
        location.contains("done=start_migration_rollback"),
        "{location}"
    );
    let shown = page(&mut boss, &location, "en").await;
    assert!(shown.body.contains("Rollback started"));
    assert!(
        !shown.body.contains("data-testid=\"blast-radius\""),
        "no second preview"
    );
    assert!(
        shown.body.contains("data-mode=\"legacy\""),
        "emergency switches at once"
    );
    let rollback_id = boss.call_fn("active_migration_run", &[]).await.json()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = drive(&db, acme.tenant.id(), &rollback_id).await;
    assert_eq!(done.status, run::RunStatus::Completed);
    let shown = page(&mut boss, back, "en").await;
    assert!(
        shown
            .body
            .contains("data-status=\"completed\" data-kind=\"rollback\""),
        "{}",
        shown.body
    );

    // The legacy tables are as the pre-flight found them: the compare says so.
    boss.submit_form(
        "take_migration_checkpoint",
        &[("label", "rolled back")],
        back,
    )
    .await;
    let checkpoints = boss.call_fn("migration_checkpoints", &[]).await.json();
    let ids: Vec<&str> = checkpoints
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["checkpoint_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "pre-flight, migrated, rolled back");
    let compare = page(
        &mut boss,
        &format!("/migration/run?a={}&b={}", ids[2], ids[0]),
        "en",
    )
    .await;
    assert!(
        compare
            .body
            .contains("data-table=\"legacy_members\" data-same=\"true\""),
        "{}",
        compare.body
    );
    assert!(
        compare
            .body
            .contains("data-table=\"legacy_user_types\" data-same=\"true\"")
    );
    assert!(
        compare
            .body
            .contains("data-table=\"points_ledger\" data-same=\"false\"")
    );

    // A viewer reads it all, without the forms.
    let mut vic = Client::signed_in(&router, &acme.vic.email, TEST_PASSWORD).await;
    let shown = page(&mut vic, back, "en").await;
    assert!(shown.body.contains("data-testid=\"run-read-only\""));
    assert!(shown.body.contains("data-testid=\"dry-run-report\""));
    assert!(!shown.body.contains("data-testid=\"dry-run-form\""));
    assert!(!shown.body.contains("data-testid=\"switch-confirm\""));
    let preview_for_viewer = page(&mut vic, preview, "en").await;
    assert_eq!(preview_for_viewer.status, StatusCode::FORBIDDEN);
    assert!(
        !preview_for_viewer
            .body
            .contains("data-testid=\"blast-radius\"")
    );
}
