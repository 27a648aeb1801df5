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
    type Row = (
        chrono::DateTime<Utc>,
        Option<chrono::DateTime<Utc>>,
        i32,
        i64,
    );
    let members: Vec<Row> =
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

async fn import(
    db: &PgPool,
    access: &domain::Access,
    kind: domain::migration::import::Kind,
    bytes: &[u8],
    chunk: usize,
) -> domain::Result<domain::migration::import::ImportReport> {
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
    let mut import = domain::migration::import::Import::begin(db, access, now, kind).await?;
    for part in bytes.chunks(chunk) {
        import.push(part).await?;
    }
    import.finish().await
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn imports_stream_upsert_and_report_bad_rows_by_line(db: PgPool) {
    use domain::migration::import::Kind;
    let tenant = TestTenant::new(&db, "acme").await;
    let admin = tenant
        .with_admin(&db, "ann", Role::TenantAdmin)
        .await
        .access();
    let support = tenant.with_admin(&db, "sam", Role::Support).await.access();
    let types = "id,name,permissions,max_licenses\n1,VIP,license_request|api_access,5\n2,\"Enterprise, large\",sso,20\nx,Broken,,1\n3,Edu,course.library,-2\n";
    let report = import(&db, &admin, Kind::UserTypes, types.as_bytes(), 7)
        .await
        .unwrap();
    assert_eq!((report.rows, report.inserted, report.bad_total), (4, 2, 2));
    let bad: Vec<(u64, &str, &str)> = report
        .bad
        .iter()
        .map(|b| (b.line, b.field.as_str(), b.problem.as_str()))
        .collect();
    assert_eq!(
        bad,
        vec![(4, "id", "format"), (5, "max_licenses", "format")]
    );

    // Members: columns in another order, a BOM, CRLF, bad rows of every kind.
    let members = "\u{feff}external_id,registered_at,user_type,last_login_at,license_count,payment_total\r\n\
        A1,2020-01-31,1,2026-11-30T08:00:00Z,2,99.5\r\n\
        A2,2021-02-03T04:05:06+08:00,2,,0,0\r\n\
        A3,31/01/2020,1,,0,0\r\n\
        A4,2020-01-01,1,,-1,0\r\n\
        A5,2020-01-01,1,,0,1.234\r\n\
        ,2020-01-01,1,,0,0\r\n\
        A6,2020-01-01,1\r\n\
        A1,2020-01-31,4,,2,99.5\r\n";
    let mut bytes = members.as_bytes().to_vec();
    bytes.extend_from_slice(b"A7,2020-01-01,\xff\xfe,,0,0\r\n");
    let report = import(&db, &admin, Kind::Members, &bytes, 5).await.unwrap();
    assert_eq!((report.rows, report.inserted), (9, 2));
    let bad: Vec<(u64, &str, &str)> = report
        .bad
        .iter()
        .map(|b| (b.line, b.field.as_str(), b.problem.as_str()))
        .collect();
    assert_eq!(
        bad,
        vec![
            (4, "registered_at", "format"),
            (5, "license_count", "format"),
            (6, "payment_total", "format"),
            (7, "external_id", "required"),
            (8, "record", "columns"),
            (10, "record", "encoding"),
            // A1 twice in one batch: the last line (9) wins.
            (2, "external_id", "duplicate"),
        ]
    );
    let a1: (i32, i64) = sqlx::query_as(
        "select user_type, payment_total_cents from legacy_members where external_id = 'A1'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(a1, (4, 9950));

    // The same file again changes nothing; one changed row moves only its updated_at.
    let before: Vec<(String, chrono::DateTime<Utc>)> =
        sqlx::query_as("select external_id, updated_at from legacy_members order by 1")
            .fetch_all(&db)
            .await
            .unwrap();
    let again = import(&db, &admin, Kind::Members, &bytes, 4096)
        .await
        .unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));
    let changed = "external_id,user_type,registered_at,last_login_at,license_count,payment_total\nA2,2,2021-02-03T04:05:06+08:00,,3,0\nA1,4,2020-01-31,,2,99.50\n";
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
    let mut later = domain::migration::import::Import::begin(&db, &admin, now, Kind::Members)
        .await
        .unwrap();
    later.push(changed.as_bytes()).await.unwrap();
    let report = later.finish().await.unwrap();
    assert_eq!((report.updated, report.unchanged), (1, 1));
    let after: Vec<(String, chrono::DateTime<Utc>)> =
        sqlx::query_as("select external_id, updated_at from legacy_members order by 1")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(after[0], before[0]);
    assert_eq!(after[1].1, now);

    // Refused files store nothing: a missing column, no header, a binary file.
    for (file, field) in [
        ("external_id,user_type\nZ,1\n".as_bytes(), "registered_at"),
        (b"".as_slice(), "file"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF".as_slice(), "file"),
    ] {
        let refused = import(&db, &admin, Kind::Members, file, 3)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, domain::Error::Invalid { field: f, .. } if f == field),
            "{refused:?}"
        );
    }
    let count: i64 = sqlx::query_scalar("select count(*) from legacy_members")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(count, 2);
    // Support staff do not import; another tenant's import touches only its own rows.
    assert!(matches!(
        import(&db, &support, Kind::Members, &bytes, 64).await,
        Err(domain::Error::Forbidden)
    ));
    let other = TestTenant::new(&db, "globex").await;
    let theirs = other
        .with_admin(&db, "olga", Role::TenantAdmin)
        .await
        .access();
    let report = import(&db, &theirs, Kind::Members, &bytes, 64)
        .await
        .unwrap();
    assert_eq!(report.inserted, 2);
    let ours: i64 = sqlx::query_scalar("select count(*) from legacy_members where tenant_id = $1")
        .bind(tenant.id())
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(ours, 2);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_mapping_and_formula_are_versioned_per_tenant(db: PgPool) {
    use domain::migration::settings::{self, Formula, Mapping};
    use domain::{Conflict, Error};
    let tenant = TestTenant::new(&db, "acme").await;
    let admin = tenant
        .with_admin(&db, "ann", Role::TenantAdmin)
        .await
        .access();
    let support = tenant.with_admin(&db, "sam", Role::Support).await.access();
    for code in ["vip", "enterprise", "education"] {
        domain::tags::create(
            &db,
            &admin,
            domain::tags::TagInput {
                code: code.into(),
                name_zh: code.into(),
                name_en: code.into(),
                category: "business".into(),
                renew_from: "expiry".into(),
                active: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    // Until saved: the seed's defaults, version 0.
    let seed = settings::current(&db, &support).await.unwrap();
    assert_eq!(
        (seed.version, seed.formula, seed.mapping.clone()),
        (0, Formula::default(), Mapping::default())
    );
    let richer = Formula {
        per_license: 80,
        ..Formula::default()
    };
    let saved = settings::save(&db, &admin, 0, richer, Mapping::default())
        .await
        .unwrap();
    assert_eq!((saved.version, saved.formula.per_license), (1, 80));
    assert!(saved.saved_by.is_some());
    // Saving from a version that is no longer current is refused, as is bad input.
    assert!(matches!(
        settings::save(&db, &admin, 0, Formula::default(), Mapping::default()).await,
        Err(Error::Conflict(Conflict::StaleVersion))
    ));
    let unknown_tag = Mapping {
        tags: vec![(1, "gold-club".into())],
    };
    assert!(matches!(
        settings::save(&db, &admin, 1, Formula::default(), unknown_tag).await,
        Err(Error::Invalid {
            field: "mapping",
            ..
        })
    ));
    let negative = Formula {
        per_currency_unit: -5,
        ..Formula::default()
    };
    assert!(matches!(
        settings::save(&db, &admin, 1, negative, Mapping::default()).await,
        Err(Error::Invalid {
            field: "per_currency_unit",
            ..
        })
    ));
    assert!(matches!(
        settings::save(&db, &support, 1, Formula::default(), Mapping::default()).await,
        Err(Error::Forbidden)
    ));
    // Ten admins saving from version 1 at once: one version 2.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (db, admin) = (db.clone(), admin.clone());
            tokio::spawn(async move {
                let formula = Formula {
                    per_license: 50 + i,
                    ..Formula::default()
                };
                settings::save(&db, &admin, 1, formula, Mapping::default()).await
            })
        })
        .collect();
    let mut saved = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(settings) => {
                saved += 1;
                assert_eq!(settings.version, 2);
            }
            Err(Error::Conflict(Conflict::StaleVersion)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(saved, 1);
    let versions: i64 = sqlx::query_scalar("select count(*) from migration_settings")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(versions, 2);
    // Another tenant still has the defaults.
    let other = TestTenant::new(&db, "globex").await;
    let theirs = other.with_admin(&db, "olga", Role::Viewer).await.access();
    assert_eq!(settings::current(&db, &theirs).await.unwrap().version, 0);
}
