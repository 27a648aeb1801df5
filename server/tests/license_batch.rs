//! Batch assignment and the license exports over HTTP: the upload route (multipart
//! form as the console posts it, raw text/csv for scripts) against every role, another
//! tenant's batch, bad files and the size limit; the batch server functions; the
//! streamed CSV exports (headers, tenant scope, a large one).

mod support;

use axum::body::Body;
use domain::Role;
use domain::licenses::{self, IssueInput, PlanInput};
use domain::members::{self, MemberInput};
use domain::points::levels;
use domain::testing::{TEST_PASSWORD, TestAdmin, TestTenant};
use http::{Method, StatusCode, header};
use sqlx::PgPool;
use support::{Client, ORIGIN, TestResponse, audit_rows, console};
use uuid::Uuid;

const BOUNDARY: &str = "----tierdeskBatchBoundary7MA4YWxk";

struct Tenant {
    tenant: TestTenant,
    boss: TestAdmin,
    sam: TestAdmin,
    vic: TestAdmin,
    plan_id: Uuid,
}

async fn tenant(db: &PgPool, slug: &str, members: &[&str]) -> Tenant {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    let boss = tenant.with_admin(db, "boss", Role::TenantAdmin).await;
    let sam = tenant.with_admin(db, "sam", Role::Support).await;
    let vic = tenant.with_admin(db, "vic", Role::Viewer).await;
    let access = boss.access();
    let plan_id = licenses::create_plan(
        db,
        &access,
        PlanInput {
            code: "pro".into(),
            name_zh: "专业版".into(),
            name_en: "Pro".into(),
            default_max_activations: 2,
            default_validity_days: Some(365),
            active: true,
        },
    )
    .await
    .unwrap();
    licenses::issue(
        db,
        &access,
        chrono::Utc::now(),
        IssueInput {
            plan_id,
            count: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for id in members {
        let input = MemberInput {
            external_id: (*id).into(),
            display_name: (*id).into(),
            ..Default::default()
        };
        members::create(db, &access, input).await.unwrap();
    }
    Tenant {
        tenant,
        boss,
        sam,
        vic,
        plan_id,
    }
}

fn multipart(plan: &str, file_name: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"plan\"\r\n\r\n{plan}\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Posts the console's upload form as a browser without JavaScript does.
async fn post_form(client: &mut Client, plan: &str, file_name: &str, file: &[u8]) -> TestResponse {
    let request = client
        .request(Method::POST, "/upload/licenses-batch")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .header(header::ORIGIN, ORIGIN)
        .header(header::REFERER, format!("{ORIGIN}/licenses/batch"))
        .body(Body::from(multipart(plan, file_name, file)))
        .unwrap();
    client.send(request).await
}

/// Posts a raw CSV body as a script does (JSON answer, no Referer).
async fn post_raw(
    client: &mut Client,
    query: &str,
    content_type: &str,
    body: Body,
) -> TestResponse {
    let request = client
        .request(Method::POST, &format!("/upload/licenses-batch{query}"))
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT, "application/json")
        .header(header::ORIGIN, ORIGIN)
        .body(body)
        .unwrap();
    client.send(request).await
}

async fn stored_batches(db: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "select (select count(*) from license_batches), (select count(*) from license_batch_rows)",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

async fn get_csv(client: &mut Client, path: &str) -> TestResponse {
    let request = client
        .request(Method::GET, path)
        .header(header::ACCEPT, "text/csv,*/*")
        .body(Body::empty())
        .unwrap();
    client.send(request).await
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_upload_route_previews_and_applies_by_role(db: PgPool) {
    let acme = tenant(&db, "acme", &["m1", "m2", "m3"]).await;
    let globex = tenant(&db, "globex", &["g1"]).await;
    let router = console(db.clone());
    let plan = acme.plan_id.to_string();
    let file = b"external_id,plan_code\nm1\nm2,pro\nm2\nghost\nm3,a,b\n";

    // Signed out: refused, nothing stored.
    let mut anonymous = Client::new(&router);
    let refused = post_raw(&mut anonymous, "", "text/csv", Body::from(&file[..])).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);

    // A viewer reads but does not upload.
    let mut vic = Client::signed_in(&router, &acme.vic.email, TEST_PASSWORD).await;
    let refused = post_raw(
        &mut vic,
        &format!("?plan={plan}"),
        "text/csv",
        Body::from(&file[..]),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(stored_batches(&db).await, (0, 0));

    // Support uploads with the console's form: 303 to the batch's page.
    let mut sam = Client::signed_in(&router, &acme.sam.email, TEST_PASSWORD).await;
    let posted = post_form(&mut sam, &plan, "members.csv", file).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let location = posted.location().unwrap().to_owned();
    let batch_id: Uuid = location
        .strip_prefix("/licenses/batch/")
        .unwrap()
        .parse()
        .unwrap();

    let batch = sam
        .call_fn("license_batch", &[("batch_id", &batch_id.to_string())])
        .await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.body);
    let batch = batch.json();
    assert_eq!(batch["rows_total"], 5);
    assert_eq!(batch["file_name"], "members.csv");
    let counts: Vec<(String, i64)> = batch["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["outcome"].as_str().unwrap().to_owned(),
                c["rows"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            ("assign".to_owned(), 2),
            ("malformed".to_owned(), 1),
            ("duplicate".to_owned(), 1),
            ("unknown_member".to_owned(), 1),
        ]
    );
    let rows = vic
        .call_fn(
            "license_batch_rows",
            &[
                ("batch_id", &batch_id.to_string()),
                ("outcome", "malformed"),
            ],
        )
        .await;
    assert_eq!(rows.status, StatusCode::OK, "{}", rows.body);
    assert_eq!(rows.json()["rows"][0]["line_no"], 6);
    assert_eq!(rows.json()["rows"][0]["malformed"], "too_many_fields");

    // The batch page renders for a viewer, without JavaScript.
    let page = vic.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("members.csv"), "{}", page.body);
    assert!(page.body.contains("data-line=\"6\""));

    // Another tenant's ids are not found, for reading and applying.
    let mut gus = Client::signed_in(&router, &globex.boss.email, TEST_PASSWORD).await;
    for name in ["license_batch", "license_batch_rows", "apply_license_batch"] {
        let missing = gus
            .call_fn(name, &[("batch_id", &batch_id.to_string())])
            .await;
        assert_eq!(
            missing.status,
            StatusCode::NOT_FOUND,
            "{name}: {}",
            missing.body
        );
    }

    // A viewer cannot apply; support can (the background worker does the rows).
    let refused = vic
        .call_fn(
            "apply_license_batch",
            &[("batch_id", &batch_id.to_string())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Apply as the page's form posts it without JavaScript: back to the page, done.
    let audited = audit_rows(&db).await;
    let started = sam
        .submit_form(
            "apply_license_batch",
            &[("batch_id", &batch_id.to_string())],
            &location,
        )
        .await;
    assert!(started.status.is_redirection(), "{}", started.body);
    assert_eq!(
        started.location(),
        Some(format!("{location}?done=apply_license_batch").as_str())
    );
    assert_eq!(audit_rows(&db).await, audited + 1);
    let status = sam
        .call_fn("license_batch", &[("batch_id", &batch_id.to_string())])
        .await
        .json();
    assert_eq!(status["status"], "applying");
    while domain::licenses::batch::run_applying(&db, chrono::Utc::now(), 2)
        .await
        .unwrap()
        .is_some()
    {}
    let applied = sam
        .call_fn("license_batch", &[("batch_id", &batch_id.to_string())])
        .await
        .json();
    assert_eq!(applied["status"], "applied");
    assert_eq!(applied["assigned"], 2);
    assert_eq!(applied["refused"], 3);

    // The same file again (now raw, as a script sends it): the same batch.
    let again = post_raw(
        &mut sam,
        &format!("?plan={plan}&name=again.csv"),
        "text/csv; charset=utf-8",
        Body::from(&file[..]),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json()["batch_id"], batch_id.to_string());
    assert_eq!(again.json()["existing"], true);
    let assignments: i64 =
        sqlx::query_scalar("select count(*) from license_assignments where batch_id = $1")
            .bind(batch_id)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(assignments, 2);

    // The recent list is the tenant's own.
    let mine = sam.call_fn("recent_batches", &[]).await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let theirs = gus.call_fn("recent_batches", &[]).await.json();
    assert_eq!(theirs.as_array().unwrap().len(), 0);
    let _ = acme.tenant.id();
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bad_uploads_are_refused_with_a_message_and_store_nothing(db: PgPool) {
    let acme = tenant(&db, "acme", &["m1"]).await;
    let router = console(db.clone());
    let mut sam = Client::signed_in(&router, &acme.sam.email, TEST_PASSWORD).await;

    // Not UTF-8 (Latin-1 "é" on line 2).
    let latin1 = post_raw(&mut sam, "", "text/csv", Body::from(&b"m1\nm\xE9\n"[..])).await;
    assert_eq!(
        latin1.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        latin1.body
    );
    assert!(
        latin1.body.contains("UTF-8") && latin1.body.contains('2'),
        "{}",
        latin1.body
    );

    // Empty.
    let empty = post_raw(&mut sam, "", "text/csv", Body::empty()).await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );

    // No file field in the form.
    let request = sam
        .request(Method::POST, "/upload/licenses-batch")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ORIGIN, ORIGIN)
        .body(Body::from(format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"plan\"\r\n\r\n\r\n--{BOUNDARY}--\r\n"
        )))
        .unwrap();
    let missing = sam.send(request).await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );

    // A plan id that is not one.
    let bad_plan = post_raw(&mut sam, "?plan=nope", "text/csv", Body::from("m1\n")).await;
    assert_eq!(
        bad_plan.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_plan.body
    );

    // Wrong content type.
    let json = post_raw(&mut sam, "", "application/json", Body::from("{\"a\":1}")).await;
    assert_eq!(
        json.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        json.body
    );
    assert!(!json.body.is_empty());

    // Announced over the limit: refused before reading.
    let request = sam
        .request(Method::POST, "/upload/licenses-batch")
        .header(header::CONTENT_TYPE, "text/csv")
        .header(header::CONTENT_LENGTH, (64 * 1024 * 1024).to_string())
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .unwrap();
    let announced = sam.send(request).await;
    assert_eq!(announced.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Streamed over the limit without announcing it: refused while reading.
    let chunk = "m1\n".repeat(1024 * 1024 / 3);
    let chunks = (0..18).map(move |_| Ok::<_, std::convert::Infallible>(chunk.clone()));
    let huge = post_raw(
        &mut sam,
        "",
        "text/csv",
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert!(huge.status.is_client_error(), "{:?}", huge.status);
    assert!(!huge.body.is_empty());

    // A cross-site post is refused like any other state change.
    let request = sam
        .request(Method::POST, "/upload/licenses-batch")
        .header(header::CONTENT_TYPE, "text/csv")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from("m1\n"))
        .unwrap();
    let forged = sam.send(request).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // A browser's failed form post goes back to the form with the error.
    let back = post_form(&mut sam, "", "latin1.csv", b"m\xE9\n").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert!(
        back.location()
            .unwrap()
            .starts_with("/licenses/batch?error=")
    );

    assert_eq!(stored_batches(&db).await, (0, 0));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn exports_stream_the_tenants_own_rows(db: PgPool) {
    let acme = tenant(&db, "acme", &["m1", "m2"]).await;
    let globex = tenant(&db, "globex", &["g1"]).await;
    // m1 gets a license through a batch of one row.
    let access = acme.sam.access();
    let now = chrono::Utc::now();
    let one = futures_util::stream::iter(vec![Ok::<_, std::convert::Infallible>(b"m1\n".to_vec())]);
    let batch =
        domain::licenses::batch::upload(&db, &access, now, "one.csv", Some(acme.plan_id), one)
            .await
            .unwrap();
    domain::licenses::batch::apply_step(&db, &access, now, batch.batch_id, 10)
        .await
        .unwrap();
    let router = console(db.clone());

    // Signed out, a browser following the link is sent to sign in and back.
    let mut anonymous = Client::new(&router);
    let refused = get_csv(&mut anonymous, "/export/licenses.csv").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(refused.location().unwrap().starts_with("/login"));

    let mut vic = Client::signed_in(&router, &acme.vic.email, TEST_PASSWORD).await;
    let csv = get_csv(&mut vic, "/export/licenses.csv").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"licenses-")
    );
    let cache = csv.headers[header::CACHE_CONTROL].to_str().unwrap();
    assert!(cache.contains("no-store"), "{cache}");
    let lines: Vec<&str> = csv.body.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "key,plan,state,holder_external_id,assigned_at,expires_at,activations,max_activations,last_validated_at"
    );
    assert_eq!(lines.len(), 6, "{}", csv.body);
    assert_eq!(
        lines.iter().filter(|l| l.contains(",assigned,m1,")).count(),
        1
    );
    // Filtered by state; another tenant's rows never appear.
    let free = get_csv(&mut vic, "/export/licenses.csv?state=free").await;
    assert_eq!(free.body.lines().count(), 5, "{}", free.body);
    let bad = get_csv(&mut vic, "/export/licenses.csv?state=nope").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut gus = Client::signed_in(&router, &globex.boss.email, TEST_PASSWORD).await;
    let theirs = get_csv(&mut gus, "/export/licenses.csv").await;
    assert_eq!(theirs.body.lines().count(), 6);
    assert!(!theirs.body.contains(",m1,"));

    let assignments = get_csv(&mut vic, "/export/assignments.csv").await;
    assert_eq!(assignments.status, StatusCode::OK);
    let lines: Vec<&str> = assignments
        .body
        .trim_start_matches('\u{feff}')
        .lines()
        .collect();
    assert_eq!(
        lines[0],
        "key,plan,external_id,method,assigned_at,ended_at,end_kind,end_reason"
    );
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains(",pro,m1,batch,"), "{}", lines[1]);
    let theirs = get_csv(&mut gus, "/export/assignments.csv").await;
    assert_eq!(theirs.body.lines().count(), 1);

    // Compressed, as every browser asks for it: the whole body arrives (a finished body
    // polled once more by the compression layer must not panic).
    for encoding in ["gzip", "br"] {
        let request = vic
            .request(Method::GET, "/export/licenses.csv")
            .header(header::ACCEPT_ENCODING, encoding)
            .body(Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(router.clone(), request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_ENCODING], encoding);
        let mut body = response.into_body().into_data_stream();
        let mut bytes = 0usize;
        while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
            bytes += chunk.expect("the compressed export arrives whole").len();
        }
        assert!(bytes > 20, "{encoding}: {bytes} bytes");
    }

    // A large-ish export: 30,000 licenses, streamed in many chunks.
    sqlx::query(
        "insert into licenses (tenant_id, plan_id, license_key, max_activations)
         select $1, $2, regexp_replace(lpad(upper(to_hex(g)), 20, '0'), '(.{5})(.{5})(.{5})(.{5})', '\\1-\\2-\\3-\\4'), 2
         from generate_series(1, 30000) g",
    )
    .bind(acme.tenant.id())
    .bind(acme.plan_id)
    .execute(&db)
    .await
    .unwrap();
    let request = vic
        .request(Method::GET, "/export/licenses.csv")
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body().into_data_stream();
    let (mut chunks, mut bytes, mut newlines) = (0usize, 0usize, 0usize);
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        let chunk = chunk.unwrap();
        chunks += 1;
        bytes += chunk.len();
        newlines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    assert_eq!(newlines, 1 + 5 + 30_000);
    assert!(chunks > 10, "{chunks} chunks for {bytes} bytes");
}
