//! Stored legacy import reports: a report is written exactly when its import's rows
//! are committed (a staged import dropped leaves neither), whole-file refusals name the
//! file's field, the list keeps only the first bad rows, roles and tenants.

use chrono::Utc;
use domain::migration::imports::{self, BAD_ROWS_IN_LIST, ImportKind, Staged};
use domain::testing::TestTenant;
use domain::{Access, Error, Problem, Role};
use sqlx::PgPool;

fn body(
    bytes: &[u8],
) -> impl imports::Stream<Item = Result<Vec<u8>, std::convert::Infallible>> + Unpin {
    // One byte at a time at first, so characters and lines are split between chunks.
    let (head, tail) = bytes.split_at(bytes.len().min(40));
    let chunks: Vec<Result<Vec<u8>, std::convert::Infallible>> = head
        .iter()
        .map(|b| Ok(vec![*b]))
        .chain(std::iter::once(Ok(tail.to_vec())))
        .collect();
    futures_util::stream::iter(chunks)
}

async fn stage(
    db: &PgPool,
    access: &Access,
    kind: ImportKind,
    file: &[u8],
    bytes_max: Option<usize>,
) -> domain::Result<Staged> {
    imports::stage(
        db,
        access,
        Utc::now(),
        kind,
        "file.csv",
        body(file),
        bytes_max,
    )
    .await
}

async fn counts(db: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "select (select count(*) from legacy_members), (select count(*) from legacy_imports)",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_report_is_stored_exactly_with_its_rows(db: PgPool) {
    let tenant = TestTenant::new(&db, "acme").await;
    let other = TestTenant::new(&db, "globex").await;
    let boss = tenant
        .with_admin(&db, "boss", Role::TenantAdmin)
        .await
        .access();
    let sam = tenant.with_admin(&db, "sam", Role::Support).await.access();
    let vic = tenant.with_admin(&db, "vic", Role::Viewer).await.access();
    let theirs = other
        .with_admin(&db, "boss", Role::TenantAdmin)
        .await
        .access();
    let mut file = String::from(
        "external_id,user_type,registered_at,last_login_at,license_count,payment_total\n",
    );
    file.push_str("Zoë,1,2020-01-01,,0,0\n");
    for n in 0..30 {
        file.push_str(&format!("B{n},1,not a date,,0,0\n"));
    }

    // Staged and dropped: nothing at all.
    let staged = stage(&db, &boss, ImportKind::Members, file.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(staged.record.report.inserted, 1);
    drop(staged);
    assert_eq!(counts(&db).await, (0, 0));

    // Committed: the rows and the report together.
    let record = stage(&db, &boss, ImportKind::Members, file.as_bytes(), None)
        .await
        .unwrap()
        .commit()
        .await
        .unwrap();
    assert_eq!(counts(&db).await, (1, 1));
    assert_eq!(record.report.bad_total, 30);

    // Every role reads; the list keeps the first bad rows, the import all of them.
    let listed = imports::recent(&db, &vic).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].report.bad.len(), BAD_ROWS_IN_LIST);
    assert_eq!(listed[0].report.bad_total, 30);
    let one = imports::get(&db, &vic, record.import_id).await.unwrap();
    assert_eq!(one.report, record.report);
    assert_eq!(one.imported_by.as_deref(), Some("boss@acme.test"));
    assert_eq!(one.report.bad[0].line, 3);

    // Only tenant admins import; another tenant sees nothing.
    for access in [&sam, &vic] {
        let refused = stage(&db, access, ImportKind::Members, file.as_bytes(), None).await;
        assert!(matches!(refused, Err(Error::Forbidden)));
    }
    assert!(imports::recent(&db, &theirs).await.unwrap().is_empty());
    assert!(matches!(
        imports::get(&db, &theirs, record.import_id).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(counts(&db).await, (1, 1));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bad_files_are_refused_naming_the_file(db: PgPool) {
    let tenant = TestTenant::new(&db, "acme").await;
    let boss = tenant
        .with_admin(&db, "boss", Role::TenantAdmin)
        .await
        .access();
    let types = "id,name,permissions,max_licenses\n1,VIP,,5\n";
    let refusal = |result: domain::Result<Staged>| match result {
        Err(Error::Invalid { field, problem }) => (field, problem),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("accepted"),
    };
    let latin1 = b"id,name,permissions,max_licenses\n1,VIP,,5\n2,Caf\xE9,,1\n";
    assert_eq!(
        refusal(stage(&db, &boss, ImportKind::UserTypes, latin1, None).await),
        ("types", Problem::NotUtf8 { line: 3 })
    );
    assert_eq!(
        refusal(
            stage(
                &db,
                &boss,
                ImportKind::UserTypes,
                types.as_bytes(),
                Some(10)
            )
            .await
        ),
        ("types", Problem::TooLarge { max: 10 })
    );
    assert_eq!(
        refusal(stage(&db, &boss, ImportKind::Members, b"", None).await),
        ("members", Problem::Required)
    );
    assert_eq!(
        refusal(stage(&db, &boss, ImportKind::Members, types.as_bytes(), None).await).0,
        "external_id",
        "a types file sent as members lacks the members' columns"
    );
    let (types_count, imports_count): (i64, i64) = sqlx::query_as(
        "select (select count(*) from legacy_user_types), (select count(*) from legacy_imports)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((types_count, imports_count), (0, 0));
}
