//! Batch assignment from CSV: the preview names every refusal, applying assigns within
//! the quota gate, the same file is one batch, an apply resumes after a partial run,
//! and a 100,000-row file streams through upload, preview and apply.

use std::convert::Infallible;
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use domain::licenses::batch::{self, Batch, Malformed, Outcome, Status};
use domain::licenses::{self, IssueInput, PlanInput};
use domain::members::{self, MemberInput};
use domain::points::levels;
use domain::testing::{TestAdmin, TestTenant};
use domain::{Access, Error, Problem, Role};
use futures_util::stream;
use sqlx::PgPool;
use uuid::Uuid;

struct Fixture {
    tenant: TestTenant,
    admin: TestAdmin,
    support: TestAdmin,
    viewer: TestAdmin,
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

async fn fixture(db: &PgPool, slug: &str) -> Fixture {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    let admin = tenant.with_admin(db, "boss", Role::TenantAdmin).await;
    let support = tenant.with_admin(db, "sam", Role::Support).await;
    let viewer = tenant.with_admin(db, "vic", Role::Viewer).await;
    Fixture {
        tenant,
        admin,
        support,
        viewer,
    }
}

async fn plan(db: &PgPool, access: &Access, code: &str, seats: i32, active: bool) -> Uuid {
    let plan_id = licenses::create_plan(
        db,
        access,
        PlanInput {
            code: code.into(),
            name_zh: code.into(),
            name_en: code.into(),
            default_max_activations: 2,
            default_validity_days: None,
            active: true,
        },
    )
    .await
    .unwrap();
    licenses::issue(
        db,
        access,
        now(),
        IssueInput {
            plan_id,
            count: seats,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    if !active {
        sqlx::query("update license_plans set active = false where plan_id = $1")
            .bind(plan_id)
            .execute(db)
            .await
            .unwrap();
    }
    plan_id
}

async fn member(db: &PgPool, access: &Access, external_id: &str) -> Uuid {
    let input = MemberInput {
        external_id: external_id.into(),
        display_name: external_id.into(),
        ..Default::default()
    };
    members::create(db, access, input).await.unwrap().member_id
}

/// The file as a stream of small chunks (cutting lines and the BOM across chunks).
fn body(text: &[u8]) -> impl futures_util::Stream<Item = Result<Vec<u8>, Infallible>> + Unpin {
    let chunks: Vec<Result<Vec<u8>, Infallible>> = text.chunks(7).map(|c| Ok(c.to_vec())).collect();
    stream::iter(chunks)
}

async fn upload(
    db: &PgPool,
    access: &Access,
    name: &str,
    default_plan: Option<Uuid>,
    text: &[u8],
) -> Result<Batch, Error> {
    batch::upload(db, access, now(), name, default_plan, body(text)).await
}

async fn apply_all(db: &PgPool, access: &Access, batch_id: Uuid, chunk: i64) -> batch::Progress {
    loop {
        let progress = batch::apply_step(db, access, now(), batch_id, chunk)
            .await
            .unwrap();
        if progress.done {
            return progress;
        }
    }
}

async fn all_rows(db: &PgPool, access: &Access, batch_id: Uuid) -> Vec<batch::BatchRow> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = batch::rows(db, access, batch_id, None, after, 200)
            .await
            .unwrap();
        rows.extend(page.rows);
        match page.next {
            Some(next) => after = Some(next),
            None => return rows,
        }
    }
}

async fn batch_assignments(db: &PgPool, batch_id: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from license_assignments where batch_id = $1")
        .bind(batch_id)
        .fetch_one(db)
        .await
        .unwrap()
}

const MIXED: &str = "\u{feff}external_id,plan_code\r
m1,pro\r
m1,PRO\r
ghost\r
m2,nope\r
m2,a,b\r
m1\r
m2,pro\r
m3,pro\r
m4,legacy\r
\"unterminated\r
m4\r
";

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_preview_names_every_refusal_and_apply_follows_it(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let support = f.support.access();
    let pro = plan(&db, &admin, "pro", 2, true).await;
    let basic = plan(&db, &admin, "basic", 5, true).await;
    plan(&db, &admin, "legacy", 2, false).await;
    for id in ["m1", "m2", "m3", "m4"] {
        member(&db, &support, id).await;
    }

    // Viewers read, they do not upload.
    let refused = upload(
        &db,
        &f.viewer.access(),
        "x.csv",
        Some(basic),
        MIXED.as_bytes(),
    )
    .await;
    assert!(matches!(refused, Err(Error::Forbidden)));

    let batch = upload(
        &db,
        &support,
        "dir/Mixed.csv",
        Some(basic),
        MIXED.as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(batch.file_name, "Mixed.csv");
    assert_eq!(batch.status, Status::Uploaded);
    assert_eq!(batch.rows_total, 11);
    assert_eq!(batch.last_line, 12);
    assert!(!batch.existing);
    assert_eq!(batch.default_plan_code.as_deref(), Some("basic"));
    for (outcome, rows) in [
        (Outcome::Assign, 3),
        (Outcome::Duplicate, 1),
        (Outcome::UnknownMember, 1),
        (Outcome::UnknownPlan, 1),
        (Outcome::Malformed, 2),
        (Outcome::OverQuota, 1),
        (Outcome::NoFreeLicense, 1),
        (Outcome::PlanInactive, 1),
    ] {
        assert_eq!(batch.count(outcome), rows, "{outcome:?}");
    }
    let viewer = f.viewer.access();
    let rows = all_rows(&db, &viewer, batch.batch_id).await;
    let predicted: Vec<(i32, Outcome)> = rows.iter().map(|r| (r.line_no, r.predicted)).collect();
    assert_eq!(
        predicted,
        vec![
            (2, Outcome::Assign),
            (3, Outcome::Duplicate),
            (4, Outcome::UnknownMember),
            (5, Outcome::UnknownPlan),
            (6, Outcome::Malformed),
            (7, Outcome::OverQuota),
            (8, Outcome::Assign),
            (9, Outcome::NoFreeLicense),
            (10, Outcome::PlanInactive),
            (11, Outcome::Malformed),
            (12, Outcome::Assign),
        ]
    );
    assert_eq!(rows[4].malformed, Some(Malformed::TooManyFields));
    assert_eq!(rows[9].malformed, Some(Malformed::UnterminatedQuote));
    assert_eq!(rows[10].plan_code.as_deref(), Some("basic"));
    // Filtered and paged.
    let page = batch::rows(
        &db,
        &viewer,
        batch.batch_id,
        Some(Outcome::Malformed),
        None,
        1,
    )
    .await
    .unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].line_no, 6);
    assert_eq!(page.next, Some(6));
    let page = batch::rows(
        &db,
        &viewer,
        batch.batch_id,
        Some(Outcome::Malformed),
        Some(6),
        1,
    )
    .await
    .unwrap();
    assert_eq!(page.rows[0].line_no, 11);
    assert_eq!(page.next, None);

    // Another tenant sees no such batch.
    let other = fixture(&db, "globex").await;
    let missing = batch::batch(&db, &other.viewer.access(), batch.batch_id).await;
    assert!(matches!(missing, Err(Error::NotFound { .. })));
    let missing = batch::rows(&db, &other.viewer.access(), batch.batch_id, None, None, 10).await;
    assert!(matches!(missing, Err(Error::NotFound { .. })));
    let missing = batch::apply_step(&db, &other.support.access(), now(), batch.batch_id, 10).await;
    assert!(matches!(missing, Err(Error::NotFound { .. })));

    // Viewers cannot apply.
    let refused = batch::start_apply(&db, &viewer, now(), batch.batch_id).await;
    assert!(matches!(refused, Err(Error::Forbidden)));

    let done = apply_all(&db, &support, batch.batch_id, 4).await;
    assert_eq!((done.assigned, done.refused), (3, 8));
    let applied = batch::batch(&db, &viewer, batch.batch_id).await.unwrap();
    assert_eq!(applied.status, Status::Applied);
    assert_eq!(applied.count(Outcome::Assigned), 3);
    assert_eq!(applied.count(Outcome::Assign), 0);
    let rows = all_rows(&db, &viewer, batch.batch_id).await;
    for row in &rows {
        let expected = match row.predicted {
            Outcome::Assign => Outcome::Assigned,
            other => other,
        };
        assert_eq!(row.outcome, Some(expected), "line {}", row.line_no);
        assert_eq!(row.license_key.is_some(), expected == Outcome::Assigned);
    }
    assert_eq!(batch_assignments(&db, batch.batch_id).await, 3);
    let pro_held: i64 = sqlx::query_scalar(
        "select count(*) from licenses where plan_id = $1 and member_id is not null",
    )
    .bind(pro)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(pro_held, 2);
    let causes: Vec<String> = sqlx::query_scalar(
        "select distinct cause from license_events where tenant_id = $1 and kind = 'assigned'",
    )
    .bind(f.tenant.id())
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(causes, vec!["batch".to_owned()]);

    // The same file again is the same batch, and applying it again assigns nothing.
    let again = upload(&db, &support, "again.csv", None, MIXED.as_bytes())
        .await
        .unwrap();
    assert_eq!(again.batch_id, batch.batch_id);
    assert!(again.existing);
    assert_eq!(again.status, Status::Applied);
    let progress = batch::apply_step(&db, &support, now(), batch.batch_id, 100)
        .await
        .unwrap();
    assert!(progress.done);
    assert_eq!(progress.assigned, 3);
    assert_eq!(batch_assignments(&db, batch.batch_id).await, 3);
    let batches: i64 = sqlx::query_scalar("select count(*) from license_batches")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(batches, 1);
    assert_eq!(batch::recent(&db, &viewer).await.unwrap().len(), 1);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bad_files_are_refused_and_leave_nothing(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let basic = plan(&db, &admin, "basic", 2, true).await;
    let support = f.support.access();
    let refused = upload(&db, &support, "latin1.csv", Some(basic), b"m1\nm2\nm\xE9\n").await;
    assert!(
        matches!(
            refused,
            Err(Error::Invalid {
                field: "file",
                problem: Problem::NotUtf8 { line: 3 }
            })
        ),
        "{refused:?}"
    );
    let refused = upload(&db, &support, "empty.csv", Some(basic), b"").await;
    assert!(matches!(
        refused,
        Err(Error::Invalid {
            field: "file",
            problem: Problem::Required
        })
    ));
    let refused = upload(
        &db,
        &support,
        "header.csv",
        Some(basic),
        b"external_id\r\n\r\n",
    )
    .await;
    assert!(matches!(
        refused,
        Err(Error::Invalid {
            field: "file",
            problem: Problem::Required
        })
    ));
    let huge = vec![b'x'; batch::FILE_BYTES_MAX + 1];
    let refused = batch::upload(
        &db,
        &support,
        now(),
        "huge.csv",
        None,
        stream::iter(vec![Ok::<_, Infallible>(huge)]),
    )
    .await;
    assert!(matches!(
        refused,
        Err(Error::Invalid {
            field: "file",
            problem: Problem::TooLarge { .. }
        })
    ));
    // One row too many (short lines, well within the byte limit).
    let lines = batch::ROWS_MAX as usize + 1;
    let chunks = (0..lines.div_ceil(10_000)).map(move |c| {
        let end = ((c + 1) * 10_000).min(lines);
        let text: String = (c * 10_000..end).map(|n| format!("{n:x}\n")).collect();
        Ok::<_, Infallible>(text.into_bytes())
    });
    let refused = batch::upload(&db, &support, now(), "many.csv", None, stream::iter(chunks)).await;
    assert!(
        matches!(
            refused,
            Err(Error::Invalid {
                field: "rows",
                problem: Problem::TooLarge { .. }
            })
        ),
        "{refused:?}"
    );
    let broken = batch::upload(
        &db,
        &support,
        now(),
        "broken.csv",
        None,
        stream::iter(vec![Ok(b"m1\n".to_vec()), Err("connection reset")]),
    )
    .await;
    assert!(matches!(
        broken,
        Err(Error::Invalid {
            field: "file",
            problem: Problem::Format
        })
    ));
    let unknown_plan = upload(&db, &support, "x.csv", Some(Uuid::new_v4()), b"m1\n").await;
    assert!(matches!(unknown_plan, Err(Error::NotFound { .. })));
    let stored: (i64, i64) = sqlx::query_as(
        "select (select count(*) from license_batches), (select count(*) from license_batch_rows)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(stored, (0, 0));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_apply_resumes_where_it_stopped(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let support = f.support.access();
    let basic = plan(&db, &admin, "basic", 20, true).await;
    let mut text = String::new();
    for n in 0..10 {
        let id = format!("r{n}");
        member(&db, &support, &id).await;
        text.push_str(&id);
        text.push('\n');
    }
    let batch = upload(&db, &support, "ten.csv", Some(basic), text.as_bytes())
        .await
        .unwrap();
    assert_eq!(batch.count(Outcome::Assign), 10);

    // One step of four rows, as if the process then stopped.
    let first = batch::apply_step(&db, &support, now(), batch.batch_id, 4)
        .await
        .unwrap();
    assert_eq!(
        (first.applied_through, first.assigned, first.done),
        (4, 4, false)
    );
    let midway = batch::batch(&db, &support, batch.batch_id).await.unwrap();
    assert_eq!(midway.status, Status::Applying);
    assert_eq!(midway.percent(), 40);

    // The background worker claims it and finishes.
    let mut steps = 0;
    while let Some(progress) = batch::run_applying(&db, now(), 3).await.unwrap() {
        steps += 1;
        assert!(steps < 10);
        if progress.done {
            assert_eq!(progress.assigned, 10);
        }
    }
    assert_eq!(steps, 2);
    assert_eq!(batch_assignments(&db, batch.batch_id).await, 10);
    // Acting as the admin who started the apply.
    let actors: Vec<Option<Uuid>> = sqlx::query_scalar(
        "select distinct assigned_by from license_assignments where batch_id = $1",
    )
    .bind(batch.batch_id)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(actors, vec![Some(f.support.admin_id)]);
    let done = batch::batch(&db, &support, batch.batch_id).await.unwrap();
    assert_eq!(done.status, Status::Applied);
    assert!(batch::run_applying(&db, now(), 3).await.unwrap().is_none());

    // start_apply on an applied batch changes nothing.
    let again = batch::start_apply(&db, &support, now(), batch.batch_id)
        .await
        .unwrap();
    assert_eq!(again.status, Status::Applied);
    assert_eq!(batch_assignments(&db, batch.batch_id).await, 10);
}

/// 100,000 rows: members and licenses are created set-based; the file is generated as
/// a stream of chunks, so it never exists whole (streaming is by design, not measured).
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_hundred_thousand_rows_stream_through_preview_and_apply(db: PgPool) {
    const ROWS: usize = 100_000;
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let support = f.support.access();
    let bulk = plan(&db, &admin, "bulk", 1, true).await;
    sqlx::query(
        "with m as (
           insert into members (member_id) select gen_random_uuid() from generate_series(1, $2)
           returning member_id
         ), n as (select member_id, row_number() over () as n from m)
         insert into member_profiles (tenant_id, member_id, external_id, display_name, level_tier_id)
         select $1, member_id, format('B%s', lpad(n::text, 6, '0')), 'Bulk ' || n,
                (select tier_id from level_tiers where tenant_id = $1 and min_points = 0 limit 1)
         from n",
    )
    .bind(f.tenant.id())
    .bind(ROWS as i64)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(
        "insert into licenses (tenant_id, plan_id, license_key, max_activations)
         select $1, $2, regexp_replace(lpad(upper(to_hex(g)), 20, '0'), '(.{5})(.{5})(.{5})(.{5})', '\\1-\\2-\\3-\\4'), 2
         from generate_series(1, $3) g",
    )
    .bind(f.tenant.id())
    .bind(bulk)
    .bind(ROWS as i64)
    .execute(&db)
    .await
    .unwrap();

    let lines_per_chunk = 1000;
    let chunks = (0..ROWS / lines_per_chunk).map(move |c| {
        let mut chunk = String::with_capacity(lines_per_chunk * 9);
        for n in c * lines_per_chunk..(c + 1) * lines_per_chunk {
            chunk.push_str(&format!("B{:06}\n", n + 1));
        }
        Ok::<_, Infallible>(chunk.into_bytes())
    });
    let started = Instant::now();
    let batch = batch::upload(
        &db,
        &support,
        now(),
        "bulk.csv",
        Some(bulk),
        stream::iter(chunks),
    )
    .await
    .unwrap();
    let preview = started.elapsed();
    assert_eq!(batch.rows_total, ROWS as i32);
    // One license was issued by the fixture, plus 100,000: every row gets one.
    assert_eq!(batch.count(Outcome::Assign), ROWS as i64);

    let started = Instant::now();
    let done = apply_all(&db, &support, batch.batch_id, 1000).await;
    let apply = started.elapsed();
    assert_eq!(done.assigned, ROWS as i32);
    assert_eq!(batch_assignments(&db, batch.batch_id).await, ROWS as i64);
    let over: i64 = sqlx::query_scalar("select count(*) from member_license_use where held > 1")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(over, 0);
    println!(
        "license_batch_100k upload_and_preview_ms={} apply_ms={}",
        preview.as_millis(),
        apply.as_millis()
    );
}
