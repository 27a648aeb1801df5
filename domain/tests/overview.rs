//! The overview's figures: points issued, spent and deducted per day from the daily
//! aggregate (before and after the fold), outstanding = the members' available points,
//! the level distribution and its moves, tags, approvals, recent activity; another
//! tenant's data never counts; every role may read it, a bad range is refused; the
//! aggregates equal the raw tables under concurrent writes, tier saves and folds, and
//! the check finds an aggregate that does not.

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
    let level_pending: i64 = sqlx::query_scalar("select count(*) from level_daily_pending")
        .fetch_one(&db)
        .await
        .unwrap();
    // Ten new members (one row each) and one move per acme member reaching silver
    // (300..500 points stay bronze: none), so ten.
    assert_eq!(level_pending, 10, "one pending row per profile statement");
    assert_eq!(
        overview::fold_pending(&db).await.unwrap(),
        pending + level_pending
    );
    assert_eq!(overview::fold_pending(&db).await.unwrap(), 0);
    assert!(overview::check::check(&db, None).await.unwrap().is_empty());
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

/// Members per level and the 30-day moves as the raw tables say them, by level code
/// (`-` for no level).
async fn raw_levels(db: &PgPool, tenant_id: Uuid) -> Vec<(String, i64, i64)> {
    sqlx::query_as::<_, (String, i64, i64)>(
        "select coalesce(t.code, '-'), coalesce(c.members, 0)::bigint, coalesce(m.change, 0)::bigint
         from (select tier_id, code, sort_order from level_tiers where tenant_id = $1
               union all select null, null, null) t
         left join (select level_tier_id, count(*) as members from member_profiles
                    where tenant_id = $1 group by 1) c
           on c.level_tier_id is not distinct from t.tier_id
         left join (select tier_id, sum(delta) as change
                    from (select to_tier_id as tier_id, 1 as delta from level_changes where tenant_id = $1
                          union all
                          select from_tier_id, -1 from level_changes where tenant_id = $1) x
                    group by 1) m
           on m.tier_id is not distinct from t.tier_id
         where t.tier_id is not null or c.members > 0
         order by t.sort_order nulls last",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn aggregates_equal_the_raw_tables_under_concurrent_writes(db: PgPool) {
    use rand::Rng;

    let (acme, admin) = tenant(&db, "acme").await;
    let access = admin.access();
    let (_other, other_admin) = tenant(&db, "other").await;
    let mut ids = Vec::new();
    for n in 0..30 {
        ids.push(member(&db, &access, &format!("m{n}"), n).await);
    }
    let other = member(&db, &other_admin.access(), "o", 1).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));

    // Writers: earns and spends that move members up (and reversals of nothing: the
    // ledger refuses overdrafts), new members, on both tenants.
    let mut writers = Vec::new();
    for writer in 0..4 {
        let (db, access, other_access, ids) = (
            db.clone(),
            access.clone(),
            other_admin.access(),
            ids.clone(),
        );
        writers.push(tokio::spawn(async move {
            for step in 0..40 {
                let (member_id, points, earn) = {
                    let mut rng = rand::thread_rng();
                    (
                        ids[rng.gen_range(0..ids.len())],
                        rng.gen_range(50..1500),
                        rng.gen_bool(0.7),
                    )
                };
                let result = if earn {
                    ledger::earn(&db, &access, change(member_id, points)).await
                } else {
                    ledger::spend(&db, &access, change(member_id, points)).await
                };
                match result {
                    Ok(_) | Err(Error::InsufficientPoints { .. }) => {}
                    Err(error) => panic!("writer {writer}: {error:?}"),
                }
                if step % 10 == 0 {
                    let input = MemberInput {
                        external_id: format!("w{writer}-{step}"),
                        display_name: format!("Writer {writer} member {step}"),
                        ..Default::default()
                    };
                    members::create(&db, &access, input).await.unwrap();
                    ledger::earn(&db, &other_access, change(other, 400))
                        .await
                        .unwrap();
                }
            }
        }));
    }
    // Tier saves that move stored levels in the background re-level, twice.
    let saver = {
        let (db, access) = (db.clone(), access.clone());
        tokio::spawn(async move {
            for boundary in [2000, 3000] {
                let mut tiers: Vec<levels::TierInput> = levels::list(&db, &access)
                    .await
                    .unwrap()
                    .iter()
                    .map(levels::TierInput::from)
                    .collect();
                tiers[1].max_points = Some(boundary - 1);
                tiers[2].min_points = boundary;
                levels::save(&db, &access, &tiers).await.unwrap();
                levels::relevel_until_done(&db, access.tenant_id)
                    .await
                    .unwrap();
            }
        })
    };
    // The fold runs throughout, and every snapshot balances, folded or not.
    let folder = {
        let (db, done) = (db.clone(), done.clone());
        tokio::spawn(async move {
            let mut checks = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                overview::fold_pending(&db).await.unwrap();
                let mismatches = overview::check::check(&db, None).await.unwrap();
                assert!(mismatches.is_empty(), "mid-run: {mismatches:?}");
                checks += 1;
            }
            checks
        })
    };
    for writer in writers {
        writer.await.unwrap();
    }
    saver.await.unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(folder.await.unwrap() > 0);

    let mismatches = overview::check::check(&db, None).await.unwrap();
    assert!(mismatches.is_empty(), "{mismatches:?}");
    let figures = read(&db, &access, 30).await;
    let shown: Vec<(String, i64, i64)> = figures
        .levels
        .iter()
        .map(|level| {
            let code = if level.tier_id.is_none() {
                "-".to_owned()
            } else {
                level.code.clone()
            };
            (code, level.members, level.change_30d)
        })
        .collect();
    assert_eq!(shown, raw_levels(&db, acme.id()).await);
    assert_eq!(figures.members_total, 30 + 4 * 4);
    assert!(
        figures.levels.iter().any(|level| level.change_30d != 0),
        "the workload moved members: {shown:?}"
    );
    while overview::fold_pending(&db).await.unwrap() >= overview::FOLD_BATCH_MAX {}
    assert_eq!(read(&db, &access, 30).await.levels, figures.levels);
    assert!(overview::check::check(&db, None).await.unwrap().is_empty());
    assert!(
        domain::points::check::check(&db, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_check_finds_an_aggregate_that_disagrees(db: PgPool) {
    let (acme, admin) = tenant(&db, "acme").await;
    let access = admin.access();
    let ann = member(&db, &access, "ann", 3).await;
    ledger::earn(&db, &access, change(ann, 1200)).await.unwrap();
    overview::fold_pending(&db).await.unwrap();
    assert!(overview::check::check(&db, None).await.unwrap().is_empty());

    // A level moved without its history (as a hand-made update would) keeps the counts
    // right (they follow the profiles) and the moves as the history lists them.
    sqlx::query(
        "update member_profiles set level_tier_id =
           (select tier_id from level_tiers where tenant_id = $1 and code = 'gold')
         where tenant_id = $1",
    )
    .bind(acme.id())
    .execute(&db)
    .await
    .unwrap();
    assert!(overview::check::check(&db, None).await.unwrap().is_empty());
    let gold = read(&db, &access, 30).await.levels[2].clone();
    assert_eq!(
        (gold.code.as_str(), gold.members, gold.change_30d),
        ("gold", 1, 0)
    );

    // Aggregate rows that no raw row backs are reported, folded or pending.
    sqlx::query("update points_daily set issued = issued + 1 where tenant_id = $1")
        .bind(acme.id())
        .execute(&db)
        .await
        .unwrap();
    sqlx::query(
        "insert into level_daily_pending (tenant_id, day, tier_id, members, arrived, departed)
         values ($1, (now() at time zone 'UTC')::date, null, 1, 1, 0)",
    )
    .bind(acme.id())
    .execute(&db)
    .await
    .unwrap();
    let found: Vec<(String, String)> = overview::check::check(&db, Some(acme.id()))
        .await
        .unwrap()
        .into_iter()
        .map(|mismatch| (mismatch.aggregate, mismatch.key))
        .collect();
    let today = Utc::now().date_naive().to_string();
    assert_eq!(
        found,
        vec![
            ("points per day".to_owned(), today.clone()),
            ("members per level".to_owned(), "-".to_owned()),
            ("level moves per day".to_owned(), format!("{today} -")),
        ]
    );
}
