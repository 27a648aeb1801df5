//! The legacy model: synthetic data (the seed's mix, dirty rows, deterministic and
//! idempotent), its permission answers, the summary, tenant isolation; and the formula
//! over the generated population.

use chrono::{TimeZone, Utc};
use domain::Role;
use domain::migration::{Formula, historical_total, legacy};
use domain::testing::TestTenant;
use sqlx::PgPool;

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn generated_legacy_data_has_the_seed_mix_and_a_few_dirty_rows(db: PgPool) {
    let tenant = TestTenant::new(&db, "acme").await;
    let viewer = tenant.with_admin(&db, "vic", Role::Viewer).await.access();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
    let mut conn = db.acquire().await.unwrap();
    legacy::generate(&mut conn, tenant.id(), 5000, now)
        .await
        .unwrap();
    // Again: the same ids are replaced, nothing is added.
    legacy::generate(&mut conn, tenant.id(), 5000, now)
        .await
        .unwrap();
    drop(conn);
    let summary = legacy::summary(&db, &viewer).await.unwrap();
    assert_eq!(summary.members, 5000);
    assert_eq!(summary.types.len(), 5);
    let share = |type_id: i32| {
        summary
            .per_type
            .iter()
            .find(|t| t.type_id == type_id)
            .map_or(0, |t| t.members) as f64
            / 5000.0
    };
    assert!((0.07..0.13).contains(&share(1)), "vip {}", share(1));
    assert!((0.03..0.07).contains(&share(2)), "enterprise {}", share(2));
    assert!((0.45..0.65).contains(&share(4)), "standard {}", share(4));
    // Dirty rows: an unknown type, a future registration, a refund.
    let unknown = summary.per_type.iter().find(|t| t.type_id == 9).unwrap();
    assert_eq!((unknown.name.as_deref(), unknown.members), (None, 4));
    let future: i64 =
        sqlx::query_scalar("select count(*) from legacy_members where registered_at > $1")
            .bind(now)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(future, 5);
    let refunds: i64 =
        sqlx::query_scalar("select count(*) from legacy_members where payment_total_cents < 0")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(refunds >= 1);

    // Answers come from the member's type; an unknown type answers nothing.
    let enterprise: String = sqlx::query_scalar(
        "select external_id from legacy_members where user_type = 2 order by external_id limit 1",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let answer = legacy::answer(&db, tenant.id(), &enterprise)
        .await
        .unwrap()
        .unwrap();
    assert!(answer.type_known && answer.has("sso"));
    assert_eq!(answer.max_licenses, 20);
    let dirty = legacy::answer(&db, tenant.id(), "L001013")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            dirty.type_known,
            dirty.max_licenses,
            dirty.permissions.len()
        ),
        (false, 0, 0)
    );
    assert!(
        legacy::answer(&db, tenant.id(), "nobody")
            .await
            .unwrap()
            .is_none()
    );

    // The formula over everyone: totals within the parts' bounds.
    let members: Vec<(chrono::DateTime<Utc>, Option<chrono::DateTime<Utc>>, i32, i64)> =
        sqlx::query_as(
            "select registered_at, last_login_at, license_count, payment_total_cents from legacy_members",
        )
        .fetch_all(&db)
        .await
        .unwrap();
    let formula = Formula::default();
    for (registered_at, last_login_at, license_count, payment_total_cents) in members {
        let inputs = model::migration::LegacyInputs {
            registered_at,
            last_login_at,
            license_count: i64::from(license_count),
            payment_total_cents,
        };
        let total = historical_total(&formula, &inputs, now);
        assert!(total >= 0);
    }

    // Another tenant sees none of it; it has no legacy data of its own.
    let other = TestTenant::new(&db, "globex").await;
    let theirs = other.with_admin(&db, "olga", Role::Viewer).await.access();
    let summary = legacy::summary(&db, &theirs).await.unwrap();
    assert_eq!((summary.members, summary.types.len()), (0, 0));
    assert!(
        legacy::answer(&db, other.id(), &enterprise)
            .await
            .unwrap()
            .is_none()
    );
}
