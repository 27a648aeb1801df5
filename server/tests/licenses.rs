//! Licenses over HTTP: every license server function against every role and another
//! tenant's ids, bad input (refused with the field named, nothing stored), the
//! issue → assign → activate → validate → revoke flow through the console's server
//! functions, and the pages rendered on the server.

mod support;

use chrono::Utc;
use domain::Role;
use domain::licenses::{self, IssueInput, PlanInput};
use domain::licenses::{devices::ActivateInput, seats::AssignInput};
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

/// A member with `points` earned (3000 makes gold: 10 licenses; 0 bronze: 1).
async fn member(db: &PgPool, admin: &TestAdmin, external_id: &str, points: i64) -> Uuid {
    let access = admin.access();
    let input = MemberInput {
        external_id: external_id.into(),
        display_name: external_id.into(),
        ..Default::default()
    };
    let member_id = members::create(db, &access, input).await.unwrap().member_id;
    if points > 0 {
        let change = Change {
            member_id,
            points,
            category: "purchase".into(),
            ..Default::default()
        };
        ledger::earn(db, &access, change).await.unwrap();
    }
    member_id
}

async fn plan(db: &PgPool, admin: &TestAdmin, code: &str) -> Uuid {
    let input = PlanInput {
        code: code.into(),
        name_zh: "专业版".into(),
        name_en: "Pro".into(),
        default_max_activations: 2,
        default_validity_days: Some(365),
        active: true,
    };
    licenses::create_plan(db, &admin.access(), input)
        .await
        .unwrap()
}

/// Issues `count` licenses of a plan; answers their ids and keys.
async fn issue(db: &PgPool, admin: &TestAdmin, plan_id: Uuid, count: i32) -> Vec<(Uuid, String)> {
    let input = IssueInput {
        plan_id,
        count,
        ..Default::default()
    };
    let issued = licenses::issue(db, &admin.access(), Utc::now(), input)
        .await
        .unwrap();
    let mut licenses = Vec::new();
    for key in issued.first_keys {
        let id =
            sqlx::query_scalar::<_, Uuid>("select license_id from licenses where license_key = $1")
                .bind(&key)
                .fetch_one(db)
                .await
                .unwrap();
        licenses.push((id, key));
    }
    licenses
}

async fn assign(db: &PgPool, admin: &TestAdmin, member_id: Uuid, license_id: Uuid) {
    let input = AssignInput {
        member_id,
        plan_id: None,
        license_id: Some(license_id),
    };
    licenses::seats::assign(db, &admin.access(), Utc::now(), input)
        .await
        .unwrap();
}

async fn activate(db: &PgPool, admin: &TestAdmin, license_id: Uuid, fingerprint: &str) -> Uuid {
    let input = ActivateInput {
        license_id,
        fingerprint: fingerprint.into(),
        device_name: Some("Laptop".into()),
    };
    licenses::devices::activate(db, &admin.access(), Utc::now(), input)
        .await
        .unwrap()
        .activation_id
}

async fn row_version(db: &PgPool, table: &str, id_column: &str, id: Uuid) -> String {
    sqlx::query_scalar::<_, i64>(&format!(
        "select row_version from {table} where {id_column} = $1"
    ))
    .bind(id)
    .fetch_one(db)
    .await
    .unwrap()
    .to_string()
}

/// Everything a license call can change in one tenant, in one value (validation's
/// `last_validated_at` aside): equal before and after a call means it changed nothing.
async fn fingerprint(db: &PgPool, tenant_id: Uuid) -> serde_json::Value {
    sqlx::query_scalar::<_, serde_json::Value>(
        r#"select jsonb_build_object(
             'plans', (select coalesce(jsonb_agg(p order by p.plan_id), '[]') from license_plans p where p.tenant_id = $1),
             'licenses', (select coalesce(jsonb_agg(to_jsonb(l) - 'last_validated_at' order by l.license_id), '[]')
                          from licenses l where l.tenant_id = $1),
             'assignments', (select coalesce(jsonb_agg(a order by a.assignment_id), '[]') from license_assignments a where a.tenant_id = $1),
             'activations', (select coalesce(jsonb_agg(a order by a.activation_id), '[]') from license_activations a where a.tenant_id = $1),
             'seats', (select coalesce(jsonb_agg(u order by u.member_id), '[]') from member_license_use u where u.tenant_id = $1),
             'events', (select count(*) from license_events e where e.tenant_id = $1),
             'outbox', (select count(*) from outbox_events o where o.tenant_id = $1),
             'audit', (select count(*) from audit_log a where a.tenant_id = $1))"#,
    )
    .bind(tenant_id)
    .fetch_one(db)
    .await
    .unwrap()
}

/// The plan form's fields, named as the console's form names them.
fn plan_form(code: &str) -> Form {
    vec![
        ("plan[code]", code.to_owned()),
        ("plan[name_zh]", "企业版".into()),
        ("plan[name_en]", "Enterprise".into()),
        ("plan[default_max_activations]", "3".into()),
        ("plan[default_validity_days]", "365".into()),
        ("plan[active]", "true".into()),
    ]
}

fn borrowed<'a>(form: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    form.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// Form fields as owned text (ids and keys are made at run time).
type Form = Vec<(&'static str, String)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Any,
    Support,
    TenantAdmin,
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_license_server_function_authorises_every_role(db: PgPool) {
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
        let suffix = actor.admin_id.simple().to_string()[..8].to_owned();
        let plan_id = plan(&db, &owner, &format!("p-{suffix}")).await;
        let seats = issue(&db, &owner, plan_id, 8).await;
        let holder = member(&db, &owner, &format!("h-{suffix}"), 3500).await;
        member(&db, &owner, &format!("o-{suffix}"), 3500).await;
        for (license_id, _) in &seats[3..7] {
            assign(&db, &owner, holder, *license_id).await;
        }
        let activation = activate(&db, &owner, seats[6].0, "device-a").await;
        let (edit_id, suspend_id, key_seat) = (seats[0].0, seats[1].0, &seats[2].1);
        let (unassign_id, transfer_id, activate_id) = (seats[3].0, seats[4].0, seats[5].0);
        let (plan, holder_id) = (plan_id.to_string(), holder.to_string());
        let mut update = plan_form(&format!("p-{suffix}"));
        update.push(("plan_id", plan.clone()));
        update.push((
            "row_version",
            row_version(&db, "license_plans", "plan_id", plan_id).await,
        ));
        let calls: Vec<(&str, Form, Needs)> = vec![
            ("list_plans", vec![], Needs::Any),
            (
                "list_licenses",
                vec![("plan", plan.clone()), ("state", "assigned".into())],
                Needs::Any,
            ),
            ("expiring_licenses", vec![("days", "30".into())], Needs::Any),
            (
                "get_license",
                vec![("license_id", edit_id.to_string())],
                Needs::Any,
            ),
            ("license_report", vec![], Needs::Any),
            ("over_quota_members", vec![], Needs::Any),
            (
                "licenses_of_member",
                vec![("member_id", holder_id.clone())],
                Needs::Any,
            ),
            (
                "validate_license",
                vec![
                    ("license_key", seats[6].1.clone()),
                    ("fingerprint", "device-a".into()),
                ],
                Needs::Any,
            ),
            (
                "create_plan",
                plan_form(&format!("n-{suffix}")),
                Needs::TenantAdmin,
            ),
            ("update_plan", update, Needs::TenantAdmin),
            (
                "issue_licenses",
                vec![("plan_id", plan.clone()), ("count", "2".into())],
                Needs::TenantAdmin,
            ),
            (
                "edit_license",
                vec![
                    ("license_id", edit_id.to_string()),
                    (
                        "row_version",
                        row_version(&db, "licenses", "license_id", edit_id).await,
                    ),
                    ("max_activations", "5".into()),
                    ("expires_on", "2030-01-01".into()),
                ],
                Needs::TenantAdmin,
            ),
            (
                "act_on_license",
                vec![
                    ("license_id", suspend_id.to_string()),
                    ("action", "suspend".into()),
                    ("reason", "unpaid".into()),
                ],
                Needs::TenantAdmin,
            ),
            (
                "assign_license",
                vec![
                    ("member_id", holder_id.clone()),
                    ("license_key", key_seat.to_lowercase()),
                ],
                Needs::Support,
            ),
            (
                "assign_license",
                vec![("member_id", holder_id.clone()), ("plan_id", plan.clone())],
                Needs::Support,
            ),
            (
                "unassign_license",
                vec![
                    ("license_id", unassign_id.to_string()),
                    ("reason", "left".into()),
                ],
                Needs::Support,
            ),
            (
                "transfer_license",
                vec![
                    ("license_id", transfer_id.to_string()),
                    ("to_external_id", format!("o-{suffix}")),
                    ("reason", "moved".into()),
                ],
                Needs::Support,
            ),
            (
                "activate_device",
                vec![
                    ("license_id", activate_id.to_string()),
                    ("fingerprint", "device-b".into()),
                    ("device_name", "Desk".into()),
                ],
                Needs::Support,
            ),
            (
                "deactivate_device",
                vec![("activation_id", activation.to_string())],
                Needs::Support,
            ),
            (
                "release_seat",
                vec![
                    ("member_id", holder_id.clone()),
                    ("reason", "over quota".into()),
                ],
                Needs::Support,
            ),
        ];
        for (name, form, needs) in calls {
            let form = borrowed(&form);
            let before = fingerprint(&db, acme.id()).await;
            let response = client.call_fn(name, &form).await;
            if *level >= needs {
                // The holder is within their quota, so an allowed release is refused as
                // such (409), never forbidden.
                let expected = if name == "release_seat" {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::OK
                };
                assert_eq!(
                    response.status, expected,
                    "{} calling {name}: {}",
                    actor.email, response.body
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
                    fingerprint(&db, acme.id()).await,
                    before,
                    "{name} refused but changed something"
                );
            }
        }
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn no_license_server_function_reaches_another_tenant(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let globex = tenant_with_tiers(&db, "globex").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let globex_admin = globex.with_admin(&db, "admin", Role::TenantAdmin).await;
    let our_plan = plan(&db, &boss, "pro").await;
    let ours = issue(&db, &boss, our_plan, 2).await;
    let our_member = member(&db, &boss, "a-1", 3500).await;
    assign(&db, &boss, our_member, ours[0].0).await;
    let their_plan = plan(&db, &globex_admin, "secret-plan").await;
    let theirs = issue(&db, &globex_admin, their_plan, 3).await;
    let their_member = member(&db, &globex_admin, "g-1", 3500).await;
    assign(&db, &globex_admin, their_member, theirs[0].0).await;
    let their_activation = activate(&db, &globex_admin, theirs[0].0, "their-device").await;
    let globex_before = fingerprint(&db, globex.id()).await;
    let router = console(db.clone());
    let mut client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let acme_before = fingerprint(&db, acme.id()).await;
    let audit_before = audit_rows(&db).await;

    let (their_license, their_key) = (theirs[0].0.to_string(), theirs[1].1.clone());
    let (their_plan, their_member) = (their_plan.to_string(), their_member.to_string());
    let (our_plan, our_member) = (our_plan.to_string(), our_member.to_string());
    let our_license = ours[0].0.to_string();
    let mut update = plan_form("mine");
    update.extend([("plan_id", their_plan.clone()), ("row_version", "1".into())]);
    let calls: Vec<(&str, Form)> = vec![
        ("get_license", vec![("license_id", their_license.clone())]),
        (
            "licenses_of_member",
            vec![("member_id", their_member.clone())],
        ),
        ("update_plan", update),
        (
            "issue_licenses",
            vec![("plan_id", their_plan.clone()), ("count", "1".into())],
        ),
        (
            "edit_license",
            vec![
                ("license_id", their_license.clone()),
                ("row_version", "1".into()),
                ("max_activations", "9".into()),
            ],
        ),
        (
            "act_on_license",
            vec![
                ("license_id", their_license.clone()),
                ("action", "revoke".into()),
                ("reason", "x".into()),
            ],
        ),
        (
            "assign_license",
            vec![
                ("member_id", their_member.clone()),
                ("plan_id", our_plan.clone()),
            ],
        ),
        (
            "assign_license",
            vec![
                ("member_id", our_member.clone()),
                ("plan_id", their_plan.clone()),
            ],
        ),
        (
            "assign_license",
            vec![
                ("member_id", our_member.clone()),
                ("license_key", their_key.clone()),
            ],
        ),
        (
            "unassign_license",
            vec![
                ("license_id", their_license.clone()),
                ("reason", "x".into()),
            ],
        ),
        (
            "transfer_license",
            vec![
                ("license_id", their_license.clone()),
                ("to_external_id", "a-1".into()),
                ("reason", "x".into()),
            ],
        ),
        (
            "transfer_license",
            vec![
                ("license_id", our_license.clone()),
                ("to_external_id", "g-1".into()),
                ("reason", "x".into()),
            ],
        ),
        (
            "release_seat",
            vec![("member_id", their_member.clone()), ("reason", "x".into())],
        ),
        (
            "activate_device",
            vec![
                ("license_id", their_license.clone()),
                ("fingerprint", "mine".into()),
            ],
        ),
        (
            "deactivate_device",
            vec![("activation_id", their_activation.to_string())],
        ),
    ];
    for (name, form) in calls {
        let response = client.call_fn(name, &borrowed(&form)).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{name} {form:?}: {}",
            response.body
        );
        assert!(
            !response.body.contains("secret-plan") && !response.body.contains("g-1"),
            "{name} answered another tenant's data: {}",
            response.body
        );
    }
    assert_eq!(fingerprint(&db, acme.id()).await, acme_before);
    assert_eq!(audit_rows(&db).await, audit_before);

    // Lists, the report and validation see only the session's tenant.
    let plans = client.call_fn("list_plans", &[]).await.json();
    let codes: Vec<&str> = plans
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["code"].as_str())
        .collect();
    assert_eq!(codes, ["pro"]);
    let page = client.call_fn("list_licenses", &[]).await.json();
    assert_eq!(page["licenses"].as_array().unwrap().len(), 2);
    let filtered = client
        .call_fn("list_licenses", &[("plan", &their_plan)])
        .await
        .json();
    assert_eq!(filtered["licenses"], serde_json::json!([]));
    let by_member = client
        .call_fn("list_licenses", &[("member", "g-1")])
        .await
        .json();
    assert_eq!(by_member["licenses"], serde_json::json!([]));
    let by_key = client
        .call_fn("list_licenses", &[("key", &their_key[..5])])
        .await
        .json();
    assert!(
        by_key["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["license_key"] != their_key.as_str())
    );
    let expiring = client
        .call_fn("expiring_licenses", &[("days", "366")])
        .await
        .json();
    assert_eq!(expiring.as_array().unwrap().len(), 2);
    let report = client.call_fn("license_report", &[]).await.json();
    assert_eq!(report["plans"].as_array().unwrap().len(), 1);
    assert_eq!(report["plans"][0]["issued"], 2);
    let over = client.call_fn("over_quota_members", &[]).await.json();
    assert_eq!(over, serde_json::json!([]));
    let validation = client
        .call_fn("validate_license", &[("license_key", &theirs[0].1)])
        .await
        .json();
    assert_eq!(validation["code"], "not_found");
    assert_eq!(validation["license_id"], serde_json::Value::Null);
    assert_eq!(fingerprint(&db, globex.id()).await, globex_before);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bad_input_is_refused_clearly_and_changes_nothing(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let plan_id = plan(&db, &boss, "pro").await;
    let seats = issue(&db, &boss, plan_id, 2).await;
    let holder = member(&db, &boss, "ann", 3500).await;
    member(&db, &boss, "bob", 3500).await;
    assign(&db, &boss, holder, seats[0].0).await;
    let router = console(db.clone());
    let mut client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let before = fingerprint(&db, acme.id()).await;

    let plan = plan_id.to_string();
    let held = seats[0].0.to_string();
    let license_version = row_version(&db, "licenses", "license_id", seats[0].0).await;
    let huge = "x".repeat(10_000);
    let with = |field: &'static str, value: &str| {
        let mut form = plan_form("gold-plan");
        form.retain(|(name, _)| *name != field);
        form.push((field, value.to_owned()));
        form
    };
    let issue = |count: &str, max: &str, expires: &str| {
        vec![
            ("plan_id", plan.clone()),
            ("count", count.to_owned()),
            ("max_activations", max.to_owned()),
            ("expires_on", expires.to_owned()),
        ]
    };
    let cases: Vec<(&str, Form, &str)> = vec![
        ("issue_licenses", issue("-3", "", ""), "count"),
        ("issue_licenses", issue("0", "", ""), "count"),
        ("issue_licenses", issue("100000", "", ""), "count"),
        ("issue_licenses", issue("99999999999", "", ""), "count"),
        ("issue_licenses", issue("many", "", ""), "count"),
        ("issue_licenses", issue("", "", ""), "count"),
        ("issue_licenses", issue("5", "0", ""), "max_activations"),
        ("issue_licenses", issue("5", "-1", ""), "max_activations"),
        ("issue_licenses", issue("5", "lots", ""), "max_activations"),
        ("issue_licenses", issue("5", "", "next week"), "expires_on"),
        ("issue_licenses", issue("5", "", "2001-01-01"), "expires_on"),
        ("issue_licenses", issue("5", "", "9999-12-31"), "expires_on"),
        ("issue_licenses", issue("5", "", "2030-02-30"), "expires_on"),
        ("create_plan", with("plan[code]", "Bad Code!"), "code"),
        ("create_plan", with("plan[name_en]", &huge), "name_en"),
        ("create_plan", with("plan[name_zh]", "a\u{7}b"), "name_zh"),
        (
            "create_plan",
            with("plan[default_max_activations]", "0"),
            "default_max_activations",
        ),
        (
            "create_plan",
            with("plan[default_max_activations]", "three"),
            "default_max_activations",
        ),
        (
            "create_plan",
            with("plan[default_validity_days]", "-1"),
            "default_validity_days",
        ),
        (
            "create_plan",
            with("plan[default_validity_days]", "a year"),
            "default_validity_days",
        ),
        ("list_licenses", vec![("key", "U!!".into())], "key_prefix"),
        ("list_licenses", vec![("key", huge.clone())], "key_prefix"),
        ("list_licenses", vec![("after", "é".into())], "after"),
        ("list_licenses", vec![("plan", "zz".into())], "plan_id"),
        ("list_licenses", vec![("state", "lost".into())], "state"),
        ("expiring_licenses", vec![("days", "0".into())], "days"),
        ("expiring_licenses", vec![("days", "1000".into())], "days"),
        (
            "validate_license",
            vec![("license_key", "".into())],
            "license_key",
        ),
        (
            "validate_license",
            vec![
                ("license_key", seats[0].1.clone()),
                ("fingerprint", "dev\u{1b}[31m".into()),
            ],
            "fingerprint",
        ),
        (
            "validate_license",
            vec![
                ("license_key", seats[0].1.clone()),
                ("fingerprint", huge.clone()),
            ],
            "fingerprint",
        ),
        (
            "activate_device",
            vec![("license_id", held.clone()), ("fingerprint", "a\tb".into())],
            "fingerprint",
        ),
        (
            "activate_device",
            vec![("license_id", held.clone()), ("fingerprint", huge.clone())],
            "fingerprint",
        ),
        (
            "activate_device",
            vec![
                ("license_id", held.clone()),
                ("fingerprint", "ok".into()),
                ("device_name", huge.clone()),
            ],
            "device_name",
        ),
        (
            "activate_device",
            vec![("license_id", held.clone()), ("fingerprint", "  ".into())],
            "fingerprint",
        ),
        (
            "edit_license",
            vec![
                ("license_id", held.clone()),
                ("row_version", license_version.clone()),
                ("max_activations", "0".into()),
            ],
            "max_activations",
        ),
        (
            "edit_license",
            vec![
                ("license_id", held.clone()),
                ("row_version", license_version.clone()),
                ("max_activations", "2".into()),
                ("expires_on", "01/02/2030".into()),
            ],
            "expires_on",
        ),
        (
            "act_on_license",
            vec![
                ("license_id", held.clone()),
                ("action", "revoke".into()),
                ("reason", "  ".into()),
            ],
            "reason",
        ),
        (
            "unassign_license",
            vec![("license_id", held.clone()), ("reason", "".into())],
            "reason",
        ),
        (
            "transfer_license",
            vec![
                ("license_id", held.clone()),
                ("to_external_id", "bob".into()),
                ("reason", " ".into()),
            ],
            "reason",
        ),
        (
            "transfer_license",
            vec![
                ("license_id", held.clone()),
                ("to_external_id", " ".into()),
                ("reason", "x".into()),
            ],
            "to_external_id",
        ),
        (
            "assign_license",
            vec![
                ("member_id", holder.to_string()),
                ("license_key", "ABC".into()),
            ],
            "license_key",
        ),
        (
            "assign_license",
            vec![
                ("member_id", holder.to_string()),
                ("license_key", huge.clone()),
            ],
            "license_key",
        ),
        (
            "assign_license",
            vec![("member_id", holder.to_string()), ("plan_id", "pro".into())],
            "plan_id",
        ),
        (
            "assign_license",
            vec![("member_id", holder.to_string())],
            "plan_id",
        ),
        (
            "release_seat",
            vec![("member_id", holder.to_string()), ("reason", "".into())],
            "reason",
        ),
    ];
    for (name, form, field) in cases {
        let response = client.call_fn(name, &borrowed(&form)).await;
        let shown: Vec<_> = form
            .iter()
            .map(|(n, v)| (n, &v[..v.len().min(40)]))
            .collect();
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name} {shown:?}: {}",
            response.body
        );
        assert_eq!(
            response.json()["Invalid"]["field"],
            field,
            "{name} {shown:?}"
        );
        assert_eq!(
            fingerprint(&db, acme.id()).await,
            before,
            "{name} {shown:?} refused but changed something"
        );
    }

    // Undecodable values are a 400, an unknown key only "not found", never a 5xx.
    for (name, form) in [
        (
            "act_on_license",
            vec![
                ("license_id", held.as_str()),
                ("action", "explode"),
                ("reason", "x"),
            ],
        ),
        ("get_license", vec![("license_id", "not-a-uuid")]),
        (
            "edit_license",
            vec![
                ("license_id", &held),
                ("row_version", "x"),
                ("max_activations", "1"),
            ],
        ),
    ] {
        let response = client.call_fn(name, &form).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            response.body
        );
    }
    let unknown = client
        .call_fn("validate_license", &[("license_key", &huge)])
        .await;
    assert_eq!(unknown.status, StatusCode::OK, "{}", unknown.body);
    assert_eq!(unknown.json()["code"], "not_found");

    // Conflicts say what is wrong, and change nothing either.
    let taken = client
        .call_fn("create_plan", &borrowed(&plan_form("pro")))
        .await;
    assert_eq!(
        taken.json(),
        serde_json::json!({ "Conflict": "LicensePlanCodeTaken" })
    );
    let same = client
        .call_fn(
            "transfer_license",
            &[
                ("license_id", &held),
                ("to_external_id", "ann"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(same.json(), serde_json::json!({ "Conflict": "SameHolder" }));
    let free = seats[1].0.to_string();
    let nobody = client
        .call_fn(
            "unassign_license",
            &[("license_id", &free), ("reason", "x")],
        )
        .await;
    assert_eq!(nobody.status, StatusCode::CONFLICT, "{}", nobody.body);
    let stale = client
        .call_fn(
            "edit_license",
            &[
                ("license_id", &held),
                ("row_version", "0"),
                ("max_activations", "3"),
            ],
        )
        .await;
    assert_eq!(
        stale.json(),
        serde_json::json!({ "Conflict": "StaleVersion" })
    );
    assert_eq!(fingerprint(&db, acme.id()).await, before);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn issue_assign_activate_validate_then_revoke_through_the_console(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let owner = acme.with_admin(&db, "owner", Role::TenantAdmin).await;
    let sam = acme.with_admin(&db, "sam", Role::Support).await;
    let vera = acme.with_admin(&db, "vera", Role::Viewer).await;
    // Bronze: a quota of one seat.
    let ann = member(&db, &owner, "ann", 0).await.to_string();
    let router = console(db.clone());
    let mut admin = Client::signed_in(&router, &owner.email, TEST_PASSWORD).await;
    let mut support = Client::signed_in(&router, &sam.email, TEST_PASSWORD).await;
    let mut viewer = Client::signed_in(&router, &vera.email, TEST_PASSWORD).await;

    let created = admin
        .call_fn("create_plan", &borrowed(&plan_form("pro")))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let plan_id = created.json().as_str().unwrap().to_owned();
    let issued = admin
        .call_fn(
            "issue_licenses",
            &[
                ("plan_id", &plan_id),
                ("count", "3"),
                ("max_activations", "1"),
            ],
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let issued = issued.json();
    assert_eq!(issued["count"], 3);
    assert_eq!(issued["first_keys"].as_array().unwrap().len(), 3);
    let plans = admin.call_fn("list_plans", &[]).await.json();
    assert_eq!(
        (plans[0]["issued"].as_i64(), plans[0]["free"].as_i64()),
        (Some(3), Some(3))
    );

    // Support assigns a free seat of the plan; the quota (bronze: 1) then refuses a second.
    let assigned = support
        .call_fn(
            "assign_license",
            &[("member_id", &ann), ("plan_id", &plan_id)],
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    let assigned = assigned.json();
    assert_eq!(
        (assigned["held"].as_i64(), assigned["quota"].as_i64()),
        (Some(1), Some(1))
    );
    let key = assigned["license_key"].as_str().unwrap().to_owned();
    let license_id = assigned["license_id"].as_str().unwrap().to_owned();
    let full = support
        .call_fn(
            "assign_license",
            &[("member_id", &ann), ("plan_id", &plan_id)],
        )
        .await;
    assert_eq!(full.status, StatusCode::CONFLICT);
    assert_eq!(full.json()["Conflict"]["LicenseQuotaReached"]["quota"], 1);
    let seats = viewer
        .call_fn("licenses_of_member", &[("member_id", &ann)])
        .await
        .json();
    assert_eq!(seats["held"], 1);
    assert_eq!(seats["quota"]["value"], 1);
    assert_eq!(seats["quota"]["parts"][0]["source"]["code"], "bronze");

    // A device, then validation as a support person would check it (any case, no dashes).
    let activated = support
        .call_fn(
            "activate_device",
            &[
                ("license_id", &license_id),
                ("fingerprint", "laptop-1"),
                ("device_name", "Ann's laptop"),
            ],
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);
    let second = support
        .call_fn(
            "activate_device",
            &[("license_id", &license_id), ("fingerprint", "phone-1")],
        )
        .await;
    assert_eq!(
        second.status,
        StatusCode::CONFLICT,
        "one device only: {}",
        second.body
    );
    let typed = key.replace('-', "").to_lowercase();
    let valid = viewer
        .call_fn(
            "validate_license",
            &[("license_key", &typed), ("fingerprint", "laptop-1")],
        )
        .await
        .json();
    assert_eq!(
        (valid["valid"].as_bool(), valid["code"].as_str()),
        (Some(true), Some("valid"))
    );
    let other_device = viewer
        .call_fn(
            "validate_license",
            &[("license_key", &key), ("fingerprint", "phone-1")],
        )
        .await
        .json();
    assert_eq!(other_device["code"], "fingerprint_not_activated");

    // The admin revokes: validation refuses it, the seat and the device are released.
    let revoked = admin
        .call_fn(
            "act_on_license",
            &[
                ("license_id", &license_id),
                ("action", "revoke"),
                ("reason", "chargeback"),
            ],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let refused = viewer
        .call_fn(
            "validate_license",
            &[("license_key", &key), ("fingerprint", "laptop-1")],
        )
        .await
        .json();
    assert_eq!(
        (refused["valid"].as_bool(), refused["code"].as_str()),
        (Some(false), Some("revoked"))
    );
    let again = admin
        .call_fn(
            "act_on_license",
            &[
                ("license_id", &license_id),
                ("action", "reinstate"),
                ("reason", "oops"),
            ],
        )
        .await;
    assert_eq!(
        again.json(),
        serde_json::json!({ "Conflict": "LicenseRevoked" })
    );
    let seats = viewer
        .call_fn("licenses_of_member", &[("member_id", &ann)])
        .await
        .json();
    assert_eq!(seats["held"], 0);
    let detail = viewer
        .call_fn("get_license", &[("license_id", &license_id)])
        .await
        .json();
    assert_eq!(detail["license"]["state"], "revoked");
    assert_eq!(detail["activations"][0]["deactivate_reason"], "revoked");
    assert_eq!(detail["assignments"][0]["end_kind"], "revoked");
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["revoked", "activated", "assigned", "issued"]);
    let report = viewer.call_fn("license_report", &[]).await.json();
    let pro = &report["plans"][0];
    assert_eq!(
        (
            pro["issued"].as_i64(),
            pro["free"].as_i64(),
            pro["revoked"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );

    // The pages, rendered on the server, say the same.
    let page = viewer.get(&format!("/licenses?vkey={typed}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"data-code="revoked""#),
        "{}",
        page.body
    );
    let page = viewer.get(&format!("/licenses/{license_id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&key) && page.body.contains(r#"data-state="revoked""#));
    let page = viewer.get("/licenses/plans").await;
    assert!(page.body.contains(r#"data-code="pro""#), "{}", page.body);
    let page = viewer.get("/licenses/report").await;
    assert!(page.body.contains(r#"data-testid="license-report""#));
    // No language asked for: Chinese, like every page.
    assert!(page.body.contains("许可证报表"), "{}", page.body);
    let page = viewer.get(&format!("/members/{ann}")).await;
    assert!(
        page.body.contains(r#"data-testid="license-quota""#),
        "{}",
        page.body
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn license_forms_work_without_javascript(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let owner = acme.with_admin(&db, "owner", Role::TenantAdmin).await;
    let plan_id = plan(&db, &owner, "pro").await;
    let seats = issue(&db, &owner, plan_id, 1).await;
    let bob = member(&db, &owner, "bob", 3500).await;
    let router = console(db.clone());
    let mut client = Client::signed_in(&router, &owner.email, TEST_PASSWORD).await;
    let page = format!("/members/{bob}");

    let key = seats[0].1.clone();
    let done = client
        .submit_form(
            "assign_license",
            &[("member_id", &bob.to_string()), ("license_key", &key)],
            &page,
        )
        .await;
    assert!(done.status.is_redirection(), "{done:?}");
    let location = done.location().unwrap().to_owned();
    assert!(
        location.starts_with(&page) && location.contains("done=assign_license"),
        "{location}"
    );
    let shown = client.get(&location).await;
    assert!(
        shown.body.contains(r#"data-testid="done""#),
        "{}",
        shown.body
    );
    assert!(shown.body.contains(&key));
    // The member page's seat forms are plain posts to the server functions.
    for endpoint in ["activate_device", "transfer_license", "unassign_license"] {
        assert!(
            shown.body.contains(&format!(r#"action="/api/{endpoint}""#)),
            "{endpoint}"
        );
    }
    let license = seats[0].0.to_string();
    let activated = client
        .submit_form(
            "activate_device",
            &[
                ("license_id", &license),
                ("fingerprint", "bobs-pc"),
                ("device_name", "PC"),
            ],
            &page,
        )
        .await;
    assert!(
        activated
            .location()
            .unwrap()
            .contains("done=activate_device"),
        "{activated:?}"
    );
    let shown = client.get(activated.location().unwrap()).await;
    assert!(shown.body.contains(r#"data-fingerprint="bobs-pc""#));
    assert!(shown.body.contains(r#"action="/api/deactivate_device""#));

    let detail = format!("/licenses/{license}");
    let refused = client
        .submit_form(
            "act_on_license",
            &[
                ("license_id", &license),
                ("action", "suspend"),
                ("reason", ""),
            ],
            &detail,
        )
        .await;
    let location = refused.location().unwrap().to_owned();
    assert!(location.contains("error="), "{location}");
    let shown = client.get(&location).await;
    assert!(shown.body.contains(r#"role="alert""#));
    let suspended = client
        .submit_form(
            "act_on_license",
            &[
                ("license_id", &license),
                ("action", "suspend"),
                ("reason", "unpaid"),
            ],
            &detail,
        )
        .await;
    let location = suspended.location().unwrap();
    assert!(location.contains("done=license_suspend"), "{location}");
    let validation = client
        .call_fn("validate_license", &[("license_key", &key)])
        .await
        .json();
    assert_eq!(validation["code"], "suspended");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn members_over_quota_are_listed_and_released_one_seat_at_a_time(db: PgPool) {
    use domain::tags::grants::{self, GrantInput, Method};
    use domain::tags::{self, TagInput};
    let acme = tenant_with_tiers(&db, "acme").await;
    let owner = acme.with_admin(&db, "owner", Role::TenantAdmin).await;
    let sam = acme.with_admin(&db, "sam", Role::Support).await;
    let plan_id = plan(&db, &owner, "pro").await;
    let seats = issue(&db, &owner, plan_id, 3).await;
    // Bronze (1 seat) with a tag that guarantees 3.
    let carl = member(&db, &owner, "carl", 0).await;
    let tag = TagInput {
        code: "team".into(),
        name_zh: "团队".into(),
        name_en: "Team".into(),
        category: "business".into(),
        max_licenses: 3,
        renew_from: "expiry".into(),
        active: true,
        ..Default::default()
    };
    let tag_id = tags::create(&db, &owner.access(), tag).await.unwrap();
    let grant = GrantInput {
        member_id: carl,
        tag_id,
        reason: "team plan".into(),
        ..Default::default()
    };
    let grant_id = grants::grant(&db, &owner.access(), Utc::now(), Method::Manual, grant)
        .await
        .unwrap();
    for (license_id, _) in &seats {
        assign(&db, &owner, carl, *license_id).await;
    }
    // The seat with a device is released last.
    activate(&db, &owner, seats[0].0, "carls-laptop").await;
    grants::revoke(&db, &owner.access(), Utc::now(), grant_id, "team left")
        .await
        .unwrap();

    let router = console(db.clone());
    let mut support = Client::signed_in(&router, &sam.email, TEST_PASSWORD).await;
    let over = support.call_fn("over_quota_members", &[]).await.json();
    assert_eq!(over.as_array().unwrap().len(), 1, "{over}");
    assert_eq!(
        (
            over[0]["external_id"].as_str(),
            over[0]["held"].as_i64(),
            over[0]["quota"].as_i64()
        ),
        (Some("carl"), Some(3), Some(1))
    );
    let after = support
        .call_fn("over_quota_members", &[("after", "carl")])
        .await
        .json();
    assert_eq!(after, serde_json::json!([]));
    let report = support.call_fn("license_report", &[]).await.json();
    assert_eq!(report["over_quota"], 1);
    let page = support.get("/licenses/report").await;
    assert!(
        page.body.contains(r#"data-external-id="carl""#),
        "{}",
        page.body
    );

    let id = carl.to_string();
    let mut released = Vec::new();
    for _ in 0..2 {
        let answer = support
            .call_fn(
                "release_seat",
                &[("member_id", &id), ("reason", "over quota")],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        released.push(answer.json().as_str().unwrap().to_owned());
    }
    assert!(
        !released.contains(&seats[0].1),
        "the seat in use stays: {released:?}"
    );
    let over = support.call_fn("over_quota_members", &[]).await.json();
    assert_eq!(over, serde_json::json!([]));
    // Within the quota again: releasing is refused and takes nothing.
    let refused = support
        .call_fn(
            "release_seat",
            &[("member_id", &id), ("reason", "over quota")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let held = support
        .call_fn("licenses_of_member", &[("member_id", &id)])
        .await
        .json();
    assert_eq!(held["held"], 1);
    assert_eq!(held["licenses"][0]["license_key"], seats[0].1.as_str());
}
