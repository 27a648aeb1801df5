//! The overview's figures: points issued, spent and deducted per day from the daily
//! aggregate (before and after the fold), outstanding = the members' available points,
//! the level distribution and its moves, tags, approvals, recent activity; another
//! tenant's data never counts; every role may read it, a bad range is refused.

use chrono::{Duration, Utc};
use domain::members::{self, MemberInput};
use domain::overview::{self, Overview};
use domain::points::ledger::{self, Change};
use domain::points::levels;
use domain::testing::{TestAdmin, TestTenant};
use domain::{Access, Error, Role};
use sqlx::PgPool;
use uuid::Uuid;

async fn tenant(db: &PgPool, slug: &str) -> (TestTenant, TestAdmin) {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    let admin = tenant.with_admin(db, "boss", Role::TenantAdmin).await;
    (tenant, admin)
}

async fn member(db: &PgPool, access: &Access, external_id: &str, registered_days_ago: i64) -> Uuid {
    let input = MemberInput {
        external_id: external_id.into(),
        display_name: format!("Member {external_id}"),
        registered_at: Some(Utc::now() - Duration::days(registered_days_ago)),
        ..Default::default()
    };
    members::create(db, access, input).await.unwrap().member_id
}

fn change(member_id: Uuid, points: i64) -> Change {
    Change {
        member_id,
        points,
        category: "purchase".into(),
        reason: Some("test".into()),
        ..Default::default()
    }
}

async fn read(db: &PgPool, access: &Access, days: u32) -> Overview {
    overview::overview(db, access, Utc::now(), days)
        .await
        .unwrap()
}

async fn available_sum(db: &PgPool, tenant_id: Uuid) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "select coalesce(sum(available_points), 0)::bigint from member_profiles where tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_one(db)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn figures_come_from_the_tenants_own_ledger(db: PgPool) {
    let (acme, admin) = tenant(&db, "acme").await;
    let access = admin.access();
    let ann = member(&db, &access, "ann", 2).await;
    let bob = member(&db, &access, "bob", 40).await;
    ledger::earn(&db, &access, change(ann, 1200)).await.unwrap();
    ledger::earn(&db, &access, change(bob, 500)).await.unwrap();
    ledger::spend(&db, &access, change(ann, 200)).await.unwrap();
    ledger::adjust(&db, &access, change(bob, -100))
        .await
        .unwrap();

    // Another tenant's members, points and levels never count.
    let (_other, other_admin) = tenant(&db, "other").await;
    let other_access = other_admin.access();
    let carl = member(&db, &other_access, "carl", 1).await;
    ledger::earn(&db, &other_access, change(carl, 90_000))
        .await
        .unwrap();
    ledger::spend(&db, &other_access, change(carl, 5_000))
        .await
        .unwrap();

    let figures = read(&db, &access, 30).await;
    assert_eq!(figures.days, 30);
    assert_eq!(figures.points.len(), 30);
    assert_eq!(figures.members_total, 2);
    assert_eq!(figures.members_new_7d, 1, "bob registered 40 days ago");
    let today = figures.points.last().unwrap();
    assert_eq!(today.day, Utc::now().date_naive());
    assert_eq!(
        (today.issued, today.spent, today.deducted),
        (1700, 200, 100)
    );
    assert!(
        figures.points[..29]
            .iter()
            .all(|day| day.issued == 0 && day.spent == 0)
    );
    assert_eq!(figures.issued_in_range(), 1700);
    assert_eq!(figures.outstanding, 1400);
    assert_eq!(figures.outstanding, available_sum(&db, acme.id()).await);

    let counts: Vec<(&str, i64, i64)> = figures
        .levels
        .iter()
        .map(|level| (level.code.as_str(), level.members, level.change_30d))
        .collect();
    assert_eq!(counts[0], ("bronze", 1, -1), "ann left bronze");
    assert_eq!(counts[1], ("silver", 1, 1), "ann arrived at silver");
    assert!(
        counts[2..]
            .iter()
            .all(|(_, members, change)| *members == 0 && *change == 0)
    );

    let recent: Vec<i64> = figures.recent.iter().map(|entry| entry.points).collect();
    assert_eq!(recent, vec![-100, -200, 500, 1200]);
    assert!(figures.recent.iter().all(|entry| entry.member_id != carl));
    assert_eq!(figures.pending_approvals, 0);
    assert_eq!((figures.tags_held, figures.expiring_7d), (0, 0));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_fold_changes_no_figure(db: PgPool) {
    let (acme, admin) = tenant(&db, "acme").await;
    let access = admin.access();
    let (_other, other_admin) = tenant(&db, "other").await;
    for n in 0..5 {
        let id = member(&db, &access, &format!("m{n}"), 100).await;
        ledger::earn(&db, &access, change(id, 100 * (n + 1)))
            .await
            .unwrap();
        ledger::spend(&db, &access, change(id, 10)).await.unwrap();
        let other = member(&db, &other_admin.access(), &format!("o{n}"), 1).await;
        ledger::earn(&db, &other_admin.access(), change(other, 7))
            .await
            .unwrap();
    }
    let before = read(&db, &access, 90).await;
    let other_before = read(&db, &other_admin.access(), 90).await;
    let pending: i64 = sqlx::query_scalar("select count(*) from points_daily_pending")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(pending, 15, "one pending row per ledger statement");
    assert_eq!(overview::fold_pending(&db).await.unwrap(), 15);
    assert_eq!(overview::fold_pending(&db).await.unwrap(), 0);
    let after = read(&db, &access, 90).await;
    assert_eq!(before.points, after.points);
    assert_eq!(after.outstanding, 1450);
    assert_eq!(after.outstanding, available_sum(&db, acme.id()).await);
    assert_eq!(
        read(&db, &other_admin.access(), 90).await.points,
        other_before.points
    );
    assert_eq!(other_before.outstanding, 35);
    // Entries after the fold are pending again and counted with the folded ones.
    let late = member(&db, &access, "late", 0).await;
    ledger::earn(&db, &access, change(late, 50)).await.unwrap();
    let later = read(&db, &access, 90).await;
    assert_eq!(later.points.last().unwrap().issued, 1550);
    assert_eq!(later.members_new_7d, 1);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_role_reads_and_ranges_are_checked(db: PgPool) {
    let (_acme, admin) = tenant(&db, "acme").await;
    for role in [Role::Viewer, Role::Support, Role::TenantAdmin] {
        let figures = overview::overview(&db, &admin.access_with(role), Utc::now(), 90)
            .await
            .unwrap();
        assert_eq!(figures.points.len(), 90);
        assert_eq!(figures.outstanding, 0);
    }
    let refused = overview::overview(&db, &admin.access(), Utc::now(), 7).await;
    assert!(
        matches!(refused, Err(Error::Invalid { field: "days", .. })),
        "{refused:?}"
    );
}
