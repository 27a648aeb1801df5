//! The overview over HTTP: the server function answers every role of the tenant with
//! the tenant's own figures and refuses the signed-out; the page arrives complete
//! without JavaScript, its charts drawn (SVG with a title, numbers as tables), in
//! either language.

#[expect(dead_code, reason = "shared helpers; this file posts no plain forms")]
mod support;

use domain::Role;
use domain::members::{self, MemberInput};
use domain::points::ledger::{self, Change};
use domain::points::levels;
use domain::testing::{TEST_PASSWORD, TestAdmin, TestTenant};
use http::{Method, StatusCode, header};
use sqlx::PgPool;
use support::{Client, audit_rows, console};

async fn tenant(db: &PgPool, slug: &str, points: i64) -> (TestAdmin, TestAdmin) {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    let admin = tenant.with_admin(db, "boss", Role::TenantAdmin).await;
    let viewer = tenant.with_admin(db, "pm", Role::Viewer).await;
    let input = MemberInput {
        external_id: format!("{slug}-1"),
        display_name: format!("{slug} member"),
        ..Default::default()
    };
    let member_id = members::create(db, &admin.access(), input)
        .await
        .unwrap()
        .member_id;
    let change = Change {
        member_id,
        points,
        category: "purchase".into(),
        ..Default::default()
    };
    ledger::earn(db, &admin.access(), change).await.unwrap();
    (admin, viewer)
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_viewer_reads_the_tenants_figures_and_the_signed_out_nothing(db: PgPool) {
    let (_admin, viewer) = tenant(&db, "acme", 1500).await;
    tenant(&db, "other", 77_000).await;
    let router = console(db.clone());
    let audited = audit_rows(&db).await;

    let mut signed_out = Client::new(&router);
    let refused = signed_out.call_fn("overview", &[("days", "30")]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{refused:?}");

    let mut pm = Client::signed_in(&router, &viewer.email, TEST_PASSWORD).await;
    let answer = pm.call_fn("overview", &[("days", "30")]).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let figures = answer.json();
    assert_eq!(figures["days"], 30);
    assert_eq!(figures["members_total"], 1);
    assert_eq!(
        figures["outstanding"], 1500,
        "another tenant's points never count"
    );
    assert_eq!(figures["points"].as_array().unwrap().len(), 30);
    assert_eq!(figures["points"][29]["issued"], 1500);
    assert_eq!(figures["levels"][1]["code"], "silver");
    assert_eq!(figures["levels"][1]["members"], 1);
    assert_eq!(figures["recent"][0]["display_name"], "acme member");

    let ninety = pm.call_fn("overview", &[("days", "90")]).await.json();
    assert_eq!(ninety["points"].as_array().unwrap().len(), 90);
    let odd = pm.call_fn("overview", &[("days", "7")]).await;
    assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY, "{odd:?}");
    let garbage = pm.call_fn("overview", &[("days", "lots")]).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST, "{garbage:?}");
    assert_eq!(
        audit_rows(&db).await,
        audited,
        "reading writes no audit row"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_page_draws_its_charts_without_javascript(db: PgPool) {
    let (_admin, viewer) = tenant(&db, "acme", 1500).await;
    let router = console(db);
    let mut pm = Client::signed_in(&router, &viewer.email, TEST_PASSWORD).await;

    let request = pm
        .request(Method::GET, "/?days=90")
        .header(header::ACCEPT, "text/html")
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(axum::body::Body::empty())
        .unwrap();
    let english = pm.send(request).await;
    assert_eq!(english.status, StatusCode::OK);
    let page = &english.body;
    for expected in [
        r#"role="img""#,
        r#"aria-labelledby="points-chart-title""#,
        "Points issued and spent per day, last 90 days",
        r#"aria-labelledby="levels-chart-title""#,
        "Members per level",
        "<polyline",
        "<rect",
        "1,500",
        "Show the numbers",
        r#"data-testid="points-outstanding""#,
        "Silver",
    ] {
        assert!(page.contains(expected), "missing {expected}");
    }

    // Chinese by default: the page's own words are all Chinese.
    let chinese = pm.get("/").await;
    assert_eq!(chinese.status, StatusCode::OK);
    for expected in [
        "近 30 天每日积分发放与消耗",
        "各等级会员数",
        "查看数据表",
        "白银",
    ] {
        assert!(chinese.body.contains(expected), "missing {expected}");
    }
    for english_word in [
        "Issued",
        "Spent",
        "Members per level",
        "Show the numbers",
        "Earned",
    ] {
        assert!(
            !chinese.body.contains(english_word),
            "English {english_word} on the Chinese page"
        );
    }

    let mut signed_out = Client::new(&router);
    let redirected = signed_out.get("/").await;
    assert_eq!(redirected.status, StatusCode::SEE_OTHER);
    assert!(
        redirected
            .location()
            .is_some_and(|to| to.starts_with("/login"))
    );
}
