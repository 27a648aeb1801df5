//! Tags, grants, effective permissions and webhook settings over HTTP: every server
//! function against every role and another tenant's ids, bad input, the grant → revoke
//! flow as the console shows it, and the pages without JavaScript.

mod support;

use domain::Role;
use domain::members::{self, MemberInput};
use domain::points::ledger::{self, Change};
use domain::points::levels;
use domain::tags::grants::{self, GrantInput, Method};
use domain::tags::{self, TagInput};
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

/// A member with `points` earned (3000 makes gold: `api_access`, 10 licenses).
async fn member(db: &PgPool, admin: &TestAdmin, external_id: &str, points: i64) -> Uuid {
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

fn tag_input(code: &str, permissions: &[&str], floor: i32, boost: i32) -> TagInput {
    TagInput {
        code: code.into(),
        name_zh: code.to_uppercase(),
        name_en: code.to_uppercase(),
        category: "payment".into(),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        max_licenses: floor,
        max_licenses_boost: boost,
        default_term_days: Some(365),
        grace_days: 7,
        auto_renew: false,
        renew_from: "expiry".into(),
        active: true,
    }
}

async fn tag(db: &PgPool, admin: &TestAdmin, code: &str, floor: i32, boost: i32) -> Uuid {
    let permissions = [format!("{code}.support")];
    let permissions: Vec<&str> = permissions.iter().map(String::as_str).collect();
    tags::create(
        db,
        &admin.access(),
        tag_input(code, &permissions, floor, boost),
    )
    .await
    .unwrap()
}

async fn granted(db: &PgPool, admin: &TestAdmin, member_id: Uuid, tag_id: Uuid) -> Uuid {
    let input = GrantInput {
        member_id,
        tag_id,
        reason: "fixture".into(),
        ..Default::default()
    };
    grants::grant(
        db,
        &admin.access(),
        chrono::Utc::now(),
        Method::Manual,
        input,
    )
    .await
    .unwrap()
}

/// Everything a tag, grant or webhook call can change in one tenant, in one value: if
/// it is equal before and after a call, the call changed nothing.
async fn fingerprint(db: &PgPool, tenant_id: Uuid) -> serde_json::Value {
    sqlx::query_scalar::<_, serde_json::Value>(
        r#"select jsonb_build_object(
             'tags', (select coalesce(jsonb_agg(t order by t.tag_id), '[]') from tags t where t.tenant_id = $1),
             'grants', (select coalesce(jsonb_agg(g order by g.grant_id), '[]') from tag_grants g where g.tenant_id = $1),
             'events', (select count(*) from grant_events e where e.tenant_id = $1),
             'outbox', (select count(*) from outbox_events o where o.tenant_id = $1),
             'settings', (select to_jsonb(s) from tenant_settings s where s.tenant_id = $1),
             'audit', (select count(*) from audit_log a where a.tenant_id = $1))"#,
    )
    .bind(tenant_id)
    .fetch_one(db)
    .await
    .unwrap()
}

async fn row_version(db: &PgPool, tag_id: Uuid) -> String {
    sqlx::query_scalar::<_, i64>("select row_version from tags where tag_id = $1")
        .bind(tag_id)
        .fetch_one(db)
        .await
        .unwrap()
        .to_string()
}

/// The tag form's fields, named as the console's form names them.
fn tag_form<'a>(code: &'a str, permissions: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("tag[code]", code),
        ("tag[name_zh]", "贵宾"),
        ("tag[name_en]", "VIP"),
        ("tag[category]", "payment"),
        ("tag[permissions]", permissions),
        ("tag[max_licenses]", "0"),
        ("tag[max_licenses_boost]", "2"),
        ("tag[default_term_days]", "365"),
        ("tag[grace_days]", "7"),
        ("tag[renew_from]", "expiry"),
        ("tag[active]", "true"),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Any,
    Support,
    TenantAdmin,
}

/// A server function, its form fields, and the field it must refuse.
type Refusal<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

/// A server function, its form fields, and what it needs.
type Call = (&'static str, Vec<(&'static str, String)>, Needs);

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_tag_server_function_authorises_every_role(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let owner = acme.with_admin(&db, "owner", Role::TenantAdmin).await;
    let vip = tag(&db, &owner, "vip", 0, 2).await;
    let education = tag(&db, &owner, "education", 0, 0).await;
    let enterprise = tag(&db, &owner, "enterprise", 20, 0).await;
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
        let member_id = member(&db, &owner, &format!("m-{}", actor.admin_id), 100).await;
        let to_renew = granted(&db, &owner, member_id, education).await;
        let to_revoke = granted(&db, &owner, member_id, enterprise).await;
        let id = member_id.to_string();
        let mut new_tag: Vec<(&str, String)> = tag_form("new-tag", "a.b")
            .into_iter()
            .map(|(name, value)| (name, value.to_owned()))
            .collect();
        new_tag[0].1 = format!("t-{}", actor.admin_id);
        let mut edit_tag = tag_form("vip", "vip.support export.unlimited")
            .into_iter()
            .map(|(name, value)| (name, value.to_owned()))
            .collect::<Vec<_>>();
        edit_tag.push(("tag_id", vip.to_string()));
        edit_tag.push(("row_version", row_version(&db, vip).await));
        let calls: Vec<Call> = vec![
            ("list_tags", vec![], Needs::Any),
            ("member_grants", vec![("member_id", id.clone())], Needs::Any),
            (
                "member_grant_history",
                vec![("member_id", id.clone())],
                Needs::Any,
            ),
            (
                "member_permissions",
                vec![("member_id", id.clone())],
                Needs::Any,
            ),
            ("expiring_grants", vec![("days", "30".into())], Needs::Any),
            (
                "grant_tag",
                vec![
                    ("member_id", id.clone()),
                    ("tag_id", vip.to_string()),
                    ("reason", "upgrade".into()),
                ],
                Needs::Support,
            ),
            (
                "renew_grant",
                vec![
                    ("grant_id", to_renew.to_string()),
                    ("reason", "loyal".into()),
                ],
                Needs::Support,
            ),
            (
                "revoke_grant",
                vec![
                    ("grant_id", to_revoke.to_string()),
                    ("reason", "contract ended".into()),
                ],
                Needs::Support,
            ),
            ("create_tag", new_tag, Needs::TenantAdmin),
            ("update_tag", edit_tag, Needs::TenantAdmin),
            ("get_webhook", vec![], Needs::TenantAdmin),
            (
                "save_webhook",
                vec![
                    // Saving checks the host; a public literal needs no DNS in tests.
                    ("url", "https://93.184.216.34/tierdesk".into()),
                    ("reminder_days", "14".into()),
                    ("rotate_secret", "true".into()),
                ],
                Needs::TenantAdmin,
            ),
            ("webhook_events", vec![], Needs::TenantAdmin),
            ("webhook_deliveries", vec![], Needs::TenantAdmin),
        ];
        for (name, form, needs) in calls {
            let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let before = fingerprint(&db, acme.id()).await;
            let response = client.call_fn(name, &form).await;
            if *level >= needs {
                assert_eq!(
                    response.status,
                    StatusCode::OK,
                    "{} calling {name}: {}",
                    actor.email,
                    response.body
                );
            } else {
                assert_eq!(
                    response.status,
                    StatusCode::FORBIDDEN,
                    "{} calling {name}: {}",
                    actor.email,
                    response.body
                );
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
async fn no_tag_server_function_reaches_another_tenant(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let globex = tenant_with_tiers(&db, "globex").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let globex_admin = globex.with_admin(&db, "admin", Role::TenantAdmin).await;
    let ours_member = member(&db, &boss, "a-1", 100).await.to_string();
    let ours_tag = tag(&db, &boss, "vip", 0, 2).await.to_string();
    let their_member_id = member(&db, &globex_admin, "g-1", 100).await;
    let their_tag_id = tag(&db, &globex_admin, "gold-club", 5, 1).await;
    let their_grant = granted(&db, &globex_admin, their_member_id, their_tag_id)
        .await
        .to_string();
    let (theirs, their_tag) = (their_member_id.to_string(), their_tag_id.to_string());
    // Globex has a webhook and an event waiting for it.
    domain::webhooks::set(
        &db,
        &globex_admin.access(),
        Some("https://93.184.216.34/globex"),
        3,
        false,
        domain::webhooks::Reach::PublicOnly,
    )
    .await
    .unwrap();
    let revoked = granted(
        &db,
        &globex_admin,
        their_member_id,
        tag(&db, &globex_admin, "old", 0, 0).await,
    )
    .await;
    grants::revoke(
        &db,
        &globex_admin.access(),
        chrono::Utc::now(),
        revoked,
        "ended",
    )
    .await
    .unwrap();
    let globex_before = fingerprint(&db, globex.id()).await;
    let router = console(db.clone());
    let mut client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let acme_before = fingerprint(&db, acme.id()).await;

    let mut edit_their_tag = tag_form("mine", "a.b");
    edit_their_tag.extend([("tag_id", their_tag.as_str()), ("row_version", "1")]);
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("member_grants", vec![("member_id", &theirs)]),
        ("member_grant_history", vec![("member_id", &theirs)]),
        ("member_permissions", vec![("member_id", &theirs)]),
        (
            "grant_tag",
            vec![
                ("member_id", &theirs),
                ("tag_id", &ours_tag),
                ("reason", "x"),
            ],
        ),
        (
            "grant_tag",
            vec![
                ("member_id", &ours_member),
                ("tag_id", &their_tag),
                ("reason", "x"),
            ],
        ),
        (
            "renew_grant",
            vec![("grant_id", &their_grant), ("reason", "x")],
        ),
        (
            "revoke_grant",
            vec![("grant_id", &their_grant), ("reason", "x")],
        ),
        ("update_tag", edit_their_tag),
    ];
    for (name, form) in calls {
        let response = client.call_fn(name, &form).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{name}: {}",
            response.body
        );
    }
    assert_eq!(fingerprint(&db, acme.id()).await, acme_before);

    // Lists and settings show only the session's tenant; saving touches only it.
    let listed = client.call_fn("list_tags", &[]).await.json();
    let codes: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["code"].as_str())
        .collect();
    assert_eq!(codes, ["vip"]);
    let expiring = client
        .call_fn("expiring_grants", &[("days", "366")])
        .await
        .json();
    assert_eq!(expiring, serde_json::json!([]));
    let webhook = client.call_fn("get_webhook", &[]).await.json();
    assert_eq!(webhook["url"], serde_json::Value::Null);
    for name in ["webhook_events", "webhook_deliveries"] {
        let rows = client.call_fn(name, &[]).await.json();
        assert_eq!(rows, serde_json::json!([]), "{name}");
    }
    let saved = client
        .call_fn(
            "save_webhook",
            &[
                ("url", "https://93.184.216.34/acme"),
                ("reminder_days", "10"),
                ("rotate_secret", "true"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(fingerprint(&db, globex.id()).await, globex_before);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bad_input_is_refused_clearly_and_changes_nothing(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let member_id = member(&db, &boss, "ann", 100).await;
    let vip_id = tag(&db, &boss, "vip", 0, 2).await;
    let grant_id = granted(&db, &boss, member_id, vip_id).await.to_string();
    let (id, vip) = (member_id.to_string(), vip_id.to_string());
    let router = console(db.clone());
    let mut client = Client::signed_in(&router, &boss.email, TEST_PASSWORD).await;
    let before = fingerprint(&db, acme.id()).await;

    let with = |field: &'static str, value: &'static str| {
        let mut form = tag_form("gold-club", "a.b");
        form.retain(|(name, _)| *name != field);
        form.push((field, value));
        form
    };
    let mut auto_renew_without_term = with("tag[default_term_days]", "");
    auto_renew_without_term.push(("tag[auto_renew]", "true"));
    let cases: Vec<Refusal> = vec![
        ("create_tag", with("tag[code]", "Bad Code!"), "code"),
        ("create_tag", with("tag[name_en]", "  "), "name_en"),
        ("create_tag", with("tag[category]", "gold"), "category"),
        (
            "create_tag",
            with("tag[permissions]", "ok, not/ok"),
            "permissions",
        ),
        (
            "create_tag",
            with("tag[max_licenses]", "many"),
            "max_licenses",
        ),
        (
            "create_tag",
            with("tag[max_licenses_boost]", "-1"),
            "max_licenses_boost",
        ),
        ("create_tag", with("tag[grace_days]", "-3"), "grace_days"),
        (
            "create_tag",
            with("tag[default_term_days]", "0"),
            "default_term_days",
        ),
        ("create_tag", auto_renew_without_term, "default_term_days"),
        (
            "grant_tag",
            vec![("member_id", &id), ("tag_id", &vip), ("reason", "  ")],
            "reason",
        ),
        (
            "grant_tag",
            vec![
                ("member_id", &id),
                ("tag_id", &vip),
                ("reason", "x"),
                ("expires_on", "next week"),
            ],
            "expires_on",
        ),
        (
            "grant_tag",
            vec![
                ("member_id", &id),
                ("tag_id", &vip),
                ("reason", "x"),
                ("expires_on", "2001-01-01"),
            ],
            "expires_on",
        ),
        (
            "grant_tag",
            vec![
                ("member_id", &id),
                ("tag_id", &vip),
                ("reason", "x"),
                ("term_days", "0"),
            ],
            "term_days",
        ),
        (
            "grant_tag",
            vec![
                ("member_id", &id),
                ("tag_id", &vip),
                ("reason", "x"),
                ("auto_renew", "maybe"),
            ],
            "auto_renew",
        ),
        (
            "renew_grant",
            vec![("grant_id", &grant_id), ("reason", "")],
            "reason",
        ),
        (
            "revoke_grant",
            vec![("grant_id", &grant_id), ("reason", " ")],
            "reason",
        ),
        ("expiring_grants", vec![("days", "0")], "days"),
        ("expiring_grants", vec![("days", "1000")], "days"),
        (
            "save_webhook",
            vec![("url", "ftp://example.com"), ("reminder_days", "7")],
            "webhook_url",
        ),
        (
            "save_webhook",
            vec![("url", ""), ("reminder_days", "-1")],
            "reminder_days",
        ),
        (
            "save_webhook",
            vec![("url", ""), ("reminder_days", "soon")],
            "reminder_days",
        ),
    ];
    for (name, form, field) in cases {
        let response = client.call_fn(name, &form).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name} {form:?}: {}",
            response.body
        );
        assert_eq!(
            response.json()["Invalid"]["field"],
            field,
            "{name} {form:?}"
        );
        assert_eq!(
            fingerprint(&db, acme.id()).await,
            before,
            "{name} {form:?} refused but changed something"
        );
    }

    // Conflicts say what is wrong, and change nothing either.
    let held = client
        .call_fn(
            "grant_tag",
            &[("member_id", &id), ("tag_id", &vip), ("reason", "again")],
        )
        .await;
    assert_eq!(held.status, StatusCode::CONFLICT);
    assert_eq!(
        held.json(),
        serde_json::json!({ "Conflict": "TagAlreadyHeld" })
    );
    let taken = client.call_fn("create_tag", &tag_form("vip", "")).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        taken.json(),
        serde_json::json!({ "Conflict": "TagCodeTaken" })
    );
    let mut stale = tag_form("vip", "");
    stale.extend([("tag_id", vip.as_str()), ("row_version", "0")]);
    let stale = client.call_fn("update_tag", &stale).await;
    assert_eq!(
        stale.json(),
        serde_json::json!({ "Conflict": "StaleVersion" })
    );
    assert_eq!(fingerprint(&db, acme.id()).await, before);
}

fn permission_keys(effective: &serde_json::Value) -> Vec<String> {
    effective["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap().to_owned())
        .collect()
}

fn max_licenses(effective: &serde_json::Value) -> i64 {
    let quotas = effective["quotas"].as_array().unwrap();
    let quota = quotas.iter().find(|q| q["key"] == "max_licenses").unwrap();
    quota["value"].as_i64().unwrap()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_grant_then_a_revocation_show_in_the_effective_permissions(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let owner = acme.with_admin(&db, "owner", Role::TenantAdmin).await;
    let sam = acme.with_admin(&db, "sam", Role::Support).await;
    let gold = member(&db, &owner, "gold-member", 3500).await.to_string();
    let router = console(db.clone());
    let mut admin = Client::signed_in(&router, &owner.email, TEST_PASSWORD).await;
    let mut support = Client::signed_in(&router, &sam.email, TEST_PASSWORD).await;

    // The tenant admin creates the tags through the console's form.
    for (code, permissions, floor, boost) in [
        ("vip", "vip.support, export.unlimited", "0", "2"),
        ("enterprise", "sso", "20", "0"),
    ] {
        let mut form = tag_form(code, permissions);
        form.retain(|(name, _)| !name.starts_with("tag[max_licenses"));
        form.extend([
            ("tag[max_licenses]", floor),
            ("tag[max_licenses_boost]", boost),
        ]);
        let created = admin.call_fn("create_tag", &form).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    }
    let tags = support.call_fn("list_tags", &[]).await.json();
    let tag_id = |code: &str| {
        tags.as_array()
            .unwrap()
            .iter()
            .find(|t| t["code"] == code)
            .unwrap()["tag_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (vip, enterprise) = (tag_id("vip"), tag_id("enterprise"));

    let before = support
        .call_fn("member_permissions", &[("member_id", &gold)])
        .await
        .json();
    assert_eq!(permission_keys(&before), ["api_access", "license_request"]);
    assert_eq!(max_licenses(&before), 10);

    // Support grants VIP until a date, and enterprise without expiry.
    let expires_on = (chrono::Utc::now() + chrono::Duration::days(90))
        .format("%Y-%m-%d")
        .to_string();
    let vip_grant = support
        .call_fn(
            "grant_tag",
            &[
                ("member_id", &gold),
                ("tag_id", &vip),
                ("reason", "bought VIP"),
                ("expires_on", &expires_on),
                ("term_days", ""),
                ("auto_renew", ""),
            ],
        )
        .await;
    assert_eq!(vip_grant.status, StatusCode::OK, "{}", vip_grant.body);
    let vip_grant = vip_grant.json().as_str().unwrap().to_owned();
    let enterprise_grant = support
        .call_fn(
            "grant_tag",
            &[
                ("member_id", &gold),
                ("tag_id", &enterprise),
                ("reason", "contract"),
            ],
        )
        .await;
    assert_eq!(enterprise_grant.status, StatusCode::OK);

    let granted = support
        .call_fn("member_permissions", &[("member_id", &gold)])
        .await
        .json();
    assert_eq!(
        permission_keys(&granted),
        [
            "api_access",
            "export.unlimited",
            "license_request",
            "sso",
            "vip.support"
        ]
    );
    let vip_support = granted["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "vip.support")
        .unwrap();
    assert_eq!(vip_support["sources"][0]["kind"], "tag");
    assert_eq!(vip_support["sources"][0]["code"], "vip");
    assert_eq!(vip_support["sources"][0]["state"], "active");
    assert!(
        vip_support["sources"][0]["until"]
            .as_str()
            .unwrap()
            .starts_with(&expires_on),
        "VIP confers its privileges until the end of its grace period: {vip_support}"
    );
    // max(gold 10, enterprise 20) + VIP 2
    assert_eq!(max_licenses(&granted), 22);
    let grants = support
        .call_fn("member_grants", &[("member_id", &gold)])
        .await
        .json();
    let vip_row = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["grant_id"] == vip_grant.as_str())
        .unwrap();
    assert_eq!(vip_row["state"], "active");
    assert_eq!(vip_row["granted_by"], sam.email);
    assert!(
        vip_row["expires_at"]
            .as_str()
            .unwrap()
            .starts_with(&expires_on)
    );

    // Renewing extends by the tag's term (365 days) from the expiry.
    let renewed = support
        .call_fn(
            "renew_grant",
            &[("grant_id", &vip_grant), ("reason", "loyalty")],
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let new_expiry: chrono::DateTime<chrono::Utc> = serde_json::from_value(renewed.json()).unwrap();
    let old_expiry: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(vip_row["expires_at"].clone()).unwrap();
    assert_eq!(new_expiry - old_expiry, chrono::Duration::days(365));

    // Revoking takes the privileges away at once.
    let revoked = support
        .call_fn(
            "revoke_grant",
            &[("grant_id", &vip_grant), ("reason", "chargeback")],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let after = support
        .call_fn("member_permissions", &[("member_id", &gold)])
        .await
        .json();
    assert_eq!(
        permission_keys(&after),
        ["api_access", "license_request", "sso"]
    );
    assert_eq!(max_licenses(&after), 20);
    let again = support
        .call_fn(
            "revoke_grant",
            &[("grant_id", &vip_grant), ("reason", "twice")],
        )
        .await;
    assert_eq!(
        again.json(),
        serde_json::json!({ "Conflict": "GrantEnded" })
    );

    let grants = support
        .call_fn("member_grants", &[("member_id", &gold)])
        .await
        .json();
    let vip_row = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["grant_id"] == vip_grant.as_str())
        .unwrap();
    assert_eq!(
        (vip_row["state"].as_str(), vip_row["revoke_reason"].as_str()),
        (Some("revoked"), Some("chargeback"))
    );
    let history = support
        .call_fn("member_grant_history", &[("member_id", &gold)])
        .await
        .json();
    let vip_events: Vec<(String, String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["grant_id"] == vip_grant.as_str())
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["cause"].as_str().unwrap().to_owned(),
                e["note"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("revoked", "console", "chargeback"),
        ("renewed", "console", "loyalty"),
        ("granted", "console", "bought VIP"),
    ]
    .map(|(kind, cause, note)| (kind.to_owned(), cause.to_owned(), note.to_owned()));
    assert_eq!(vip_events, expected);

    // The tag catalogue counts current holders.
    let tags = support.call_fn("list_tags", &[]).await.json();
    let holders = |code: &str| {
        tags.as_array()
            .unwrap()
            .iter()
            .find(|t| t["code"] == code)
            .unwrap()["holders"]
            .as_i64()
    };
    assert_eq!((holders("vip"), holders("enterprise")), (Some(0), Some(1)));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn tag_pages_render_on_the_server_and_forms_work_without_javascript(db: PgPool) {
    let acme = tenant_with_tiers(&db, "acme").await;
    let owner = acme.with_admin(&db, "owner", Role::TenantAdmin).await;
    let member_id = member(&db, &owner, "ann-42", 1200).await.to_string();
    let router = console(db.clone());
    let mut browser = Client::signed_in(&router, &owner.email, TEST_PASSWORD).await;

    // Create a tag with the plain form.
    let created = browser
        .submit_form("create_tag", &tag_form("vip", "vip.support"), "/tags")
        .await;
    assert_eq!(created.status, StatusCode::FOUND, "{created:?}");
    let page = browser.get("/tags").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("data-code=\"vip\""),
        "the catalogue is in the HTML"
    );
    assert!(page.body.contains("data-testid=\"privileges-editor\""));
    let vip: String = sqlx::query_scalar("select tag_id::text from tags where code = 'vip'")
        .fetch_one(&db)
        .await
        .unwrap();
    let edit = browser.get(&format!("/tags?edit={vip}")).await;
    assert!(
        edit.body.contains("name=\"row_version\""),
        "the edit form is filled in"
    );

    // Grant, then revoke, from the member page.
    let referer = format!("/members/{member_id}");
    let grant = [
        ("member_id", member_id.as_str()),
        ("tag_id", vip.as_str()),
        ("reason", "campaign"),
        ("expires_on", ""),
        ("term_days", "30"),
        ("auto_renew", ""),
    ];
    let posted = browser.submit_form("grant_tag", &grant, &referer).await;
    assert_eq!(posted.status, StatusCode::FOUND);
    assert!(posted.location().unwrap().contains(&referer), "{posted:?}");
    let page = browser.get(&referer).await;
    // The member now holds the only tag: the grant form is replaced by a note that
    // there is nothing left to grant (a held tag is renewed, not granted again).
    for testid in [
        "grants",
        "nothing-to-grant",
        "effective-permissions",
        "grant-history",
    ] {
        assert!(
            page.body.contains(&format!("data-testid=\"{testid}\"")),
            "{testid} is rendered on the server"
        );
    }
    assert!(page.body.contains("data-permission=\"vip.support\""));
    let grant_id: String = sqlx::query_scalar("select grant_id::text from tag_grants")
        .fetch_one(&db)
        .await
        .unwrap();
    let no_reason = [("grant_id", grant_id.as_str()), ("reason", "")];
    let refused = browser
        .submit_form("revoke_grant", &no_reason, &referer)
        .await;
    assert!(
        refused.location().unwrap().contains("error="),
        "the error travels back in the URL"
    );
    let revoke = [("grant_id", grant_id.as_str()), ("reason", "campaign over")];
    let posted = browser.submit_form("revoke_grant", &revoke, &referer).await;
    assert_eq!(posted.status, StatusCode::FOUND);
    let page = browser.get(&referer).await;
    assert!(!page.body.contains("data-permission=\"vip.support\""));
    assert!(page.body.contains("data-state=\"revoked\""));

    let expiring = browser.get("/expiring?days=60").await;
    assert_eq!(expiring.status, StatusCode::OK);
    let saved = browser
        .submit_form(
            "save_webhook",
            &[("url", "https://93.184.216.34/t"), ("reminder_days", "5")],
            "/webhooks",
        )
        .await;
    assert_eq!(saved.status, StatusCode::FOUND);
    let webhooks = browser.get("/webhooks").await;
    assert!(webhooks.body.contains("https://93.184.216.34/t"));
    assert!(webhooks.body.contains("whsec_"), "the secret is shown");
    assert!(audit_rows(&db).await > 0);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn demo_data_has_tags_with_varied_expiries(db: PgPool) {
    domain::demo::seed(&db).await.unwrap();
    let router = console(db.clone());
    let mut admin = Client::signed_in(
        &router,
        domain::demo::DEMO_ADMIN_EMAIL,
        domain::demo::DEMO_PASSWORD,
    )
    .await;
    let tags = admin.call_fn("list_tags", &[]).await.json();
    let by_code = |code: &str| {
        tags.as_array()
            .unwrap()
            .iter()
            .find(|t| t["code"] == code)
            .unwrap_or_else(|| panic!("no {code} tag"))
            .clone()
    };
    let vip = by_code("vip");
    assert_eq!(
        (vip["category"].as_str(), vip["max_licenses_boost"].as_i64()),
        (Some("payment"), Some(2))
    );
    assert_eq!(by_code("enterprise")["max_licenses"], 20);
    assert_eq!(by_code("education")["default_term_days"], 180);
    assert_eq!(by_code("enterprise")["holders"], 100);

    let expiring = admin
        .call_fn("expiring_grants", &[("days", "30")])
        .await
        .json();
    let states: Vec<&str> = expiring
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["state"].as_str().unwrap())
        .collect();
    assert!(
        (10..60).contains(&states.len()),
        "a few grants expire within 30 days: {}",
        states.len()
    );
    assert!(states.contains(&"grace"), "one is in its grace period");
    assert!(states.contains(&"active"));
}
