//! The migration page over HTTP: the legacy upload route (both files in the console's
//! multipart form, raw text/csv for scripts) against every role and another tenant,
//! bad files refused whole, the import reports; the mapping and formula save and the
//! live sample (roles, malformed input as 4xx, stale versions, tenant isolation, the
//! no-JavaScript preview and save).

mod support;

use axum::body::Body;
use domain::Role;
use domain::migration::imports::{self, ImportKind};
use domain::points::levels;
use domain::tags::{self, TagInput};
use domain::testing::{TEST_PASSWORD, TestAdmin, TestTenant};
use http::{Method, StatusCode, header};
use sqlx::PgPool;
use support::{Client, ORIGIN, TestResponse, audit_rows, console};

const BOUNDARY: &str = "----tierdeskLegacyBoundary9QzX";

const TYPES: &str = "id,name,permissions,max_licenses\n\
                     1,VIP,license_request|api_access,5\n\
                     4,Standard,license_request,1\n";

/// Two good members, one with a bad date (line 4), one with a bad type (line 5).
const MEMBERS: &str = "external_id,user_type,registered_at,last_login_at,license_count,payment_total\n\
                       L1,1,2020-01-01,,2,10.00\n\
                       L2,9,2026-01-01T08:00:00Z,2026-11-30,0,0\n\
                       L3,4,yesterday,,0,0\n\
                       L4,x,2020-01-01,,0,0\n";

struct Tenant {
    tenant: TestTenant,
    boss: TestAdmin,
    sam: TestAdmin,
    vic: TestAdmin,
}

async fn tenant(db: &PgPool, slug: &str) -> Tenant {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    drop(conn);
    let boss = tenant.with_admin(db, "boss", Role::TenantAdmin).await;
    let sam = tenant.with_admin(db, "sam", Role::Support).await;
    let vic = tenant.with_admin(db, "vic", Role::Viewer).await;
    tags::create(
        db,
        &boss.access(),
        TagInput {
            code: "vip".into(),
            name_zh: "贵宾".into(),
            name_en: "VIP".into(),
            category: "payment".into(),
            default_term_days: Some(365),
            grace_days: 7,
            renew_from: "expiry".into(),
            active: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Tenant {
        tenant,
        boss,
        sam,
        vic,
    }
}

/// A multipart body with the given file fields (an empty name: an input left empty).
fn multipart(files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Posts the migration page's import form as a browser without JavaScript does.
async fn post_form(client: &mut Client, files: &[(&str, &str, &[u8])]) -> TestResponse {
    let request = client
        .request(Method::POST, "/upload/legacy")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .header(header::ORIGIN, ORIGIN)
        .header(header::REFERER, format!("{ORIGIN}/migration"))
        .body(Body::from(multipart(files)))
        .unwrap();
    client.send(request).await
}

/// Posts a raw CSV body as a script does (JSON answer, no Referer).
async fn post_raw(client: &mut Client, query: &str, body: Body) -> TestResponse {
    let request = client
        .request(Method::POST, &format!("/upload/legacy{query}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .header(header::ACCEPT, "application/json")
        .header(header::ORIGIN, ORIGIN)
        .body(body)
        .unwrap();
    client.send(request).await
}

/// (user types, members, import reports) stored, every tenant.
async fn stored(db: &PgPool) -> (i64, i64, i64) {
    sqlx::query_as(
        "select (select count(*) from legacy_user_types), (select count(*) from legacy_members),
                (select count(*) from legacy_imports)",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

async fn page_en(client: &mut Client, path: &str) -> TestResponse {
    let request = client
        .request(Method::GET, path)
        .header(header::ACCEPT, "text/html")
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(Body::empty())
        .unwrap();
    client.send(request).await
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn uploads_import_both_files_and_keep_their_reports_by_role(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let globex = tenant(&db, "globex").await;
    let router = console(db.clone());
    let files: [(&str, &str, &[u8]); 2] = [
        ("types", "types.csv", TYPES.as_bytes()),
        ("members", "members.csv", MEMBERS.as_bytes()),
    ];

    // Signed out, a viewer, support: refused, nothing stored.
    let mut anonymous = Client::new(&router);
    let refused = post_raw(&mut anonymous, "?kind=types", Body::from(TYPES)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    for actor in [&acme.vic, &acme.sam] {
        let mut client = Client::signed_in(&router, &actor.email, TEST_PASSWORD).await;
        let refused = post_raw(&mut client, "?kind=types", Body::from(TYPES)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        let refused = post_form(&mut client, &files).await;
        assert!(
            refused.status == StatusCode::FORBIDDEN || refused.status == StatusCode::SEE_OTHER,
            "{refused:?}"
        );
    }
    assert_eq!(stored(&db).await, (0, 0, 0));

    // A tenant admin imports both files with the page's form: 303 back to the page.
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;
    let posted = post_form(&mut boss, &files).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let location = posted.location().unwrap().to_owned();
    let import_id = location
        .strip_prefix("/migration?import=")
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned();
    assert_eq!(stored(&db).await, (2, 2, 2));

    let recent = boss.call_fn("legacy_imports", &[]).await;
    assert_eq!(recent.status, StatusCode::OK, "{}", recent.body);
    let recent = recent.json();
    let kinds: Vec<&str> = recent
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"user_types") && kinds.contains(&"members"),
        "{recent}"
    );
    let members = boss
        .call_fn("legacy_import", &[("import_id", &import_id)])
        .await
        .json();
    assert_eq!(members["kind"], "members");
    assert_eq!(members["file_name"], "members.csv");
    assert_eq!(members["imported_by"], acme.boss.email.as_str());
    let report = &members["report"];
    assert_eq!(
        (&report["rows"], &report["inserted"], &report["bad_total"]),
        (&4.into(), &2.into(), &2.into()),
        "{report}"
    );
    let bad: Vec<(u64, &str, &str)> = report["bad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().unwrap(),
                b["field"].as_str().unwrap(),
                b["problem"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        bad,
        [(4, "registered_at", "format"), (5, "user_type", "format")]
    );

    // The page shows the types, the unknown type 9, the import and its bad rows in words.
    let page = page_en(&mut boss, &location).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "Legacy data",
        "data-testid=\"this-import\"",
        "members.csv",
        "not in the expected format",
        "registered_at",
        "not among the user types",
        "action=\"/upload/legacy\"",
        "Mapping and formula",
    ] {
        assert!(page.body.contains(text), "page lacks {text}");
    }
    let chinese = boss.get(&location).await;
    assert!(
        chinese.body.contains("格式不正确"),
        "the bad rows in Chinese"
    );

    // The same file again: nothing changes, each row is counted unchanged.
    let again = post_raw(
        &mut boss,
        "?kind=members&name=again.csv",
        Body::from(MEMBERS),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let again = again.json();
    assert_eq!(again[0]["report"]["unchanged"], 2, "{again}");
    assert_eq!(again[0]["report"]["inserted"], 0);

    // Every role reads the reports; a viewer sees the page without the import form.
    let mut vic = Client::signed_in(&router, &acme.vic.email, TEST_PASSWORD).await;
    let read = vic
        .call_fn("legacy_import", &[("import_id", &import_id)])
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let page = page_en(&mut vic, "/migration").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("action=\"/upload/legacy\""));
    assert!(page.body.contains("data-testid=\"restricted\""));
    assert!(
        page.body.contains("href=\"/migration\""),
        "the navigation entry"
    );

    // Another tenant sees none of it.
    let mut theirs = Client::signed_in(&router, &globex.boss.email, TEST_PASSWORD).await;
    let listed = theirs.call_fn("legacy_imports", &[]).await.json();
    assert_eq!(listed, serde_json::json!([]));
    let one = theirs
        .call_fn("legacy_import", &[("import_id", &import_id)])
        .await;
    assert_eq!(one.status, StatusCode::NOT_FOUND, "{}", one.body);
    let summary = theirs.call_fn("legacy_summary", &[]).await.json();
    assert_eq!(summary["members"], 0);
    assert_eq!(summary["types"], serde_json::json!([]));
    let summary = boss.call_fn("legacy_summary", &[]).await.json();
    assert_eq!(summary["members"], 2);
    let _ = &acme.tenant;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bad_files_are_refused_whole_with_a_message(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let router = console(db.clone());
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;
    let audit_before = audit_rows(&db).await;

    // Good types, members not UTF-8 (Latin-1 "é" on line 3): neither is stored.
    let latin1 = b"external_id,user_type,registered_at,last_login_at,license_count,payment_total\nL1,1,2020-01-01,,0,0\nL\xE9,1,2020-01-01,,0,0\n";
    let back = post_form(
        &mut boss,
        &[
            ("types", "types.csv", TYPES.as_bytes()),
            ("members", "latin1.csv", latin1),
        ],
    )
    .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let location = back.location().unwrap().to_owned();
    assert!(location.starts_with("/migration?error="), "{location}");
    let page = page_en(&mut boss, &location).await;
    assert!(
        page.body.contains("Members file: not UTF-8 text"),
        "the error in words: {}",
        page.body
    );
    assert_eq!(stored(&db).await, (0, 0, 0));

    // The same as a script: 422 naming the file and the line.
    let raw = post_raw(&mut boss, "?kind=members", Body::from(&latin1[..])).await;
    assert_eq!(raw.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", raw.body);
    assert!(raw.body.contains('3'), "{}", raw.body);

    // A header with a column too many, one missing, an empty file.
    for (file, says) in [
        (
            "id,name,permissions,max_licenses,colour\n1,A,,1\n",
            "id,name,permissions,max_licenses",
        ),
        ("id,name,max_licenses\n1,A,1\n", "permissions"),
        ("", "用户类型文件"),
    ] {
        let refused = post_raw(&mut boss, "?kind=types", Body::from(file)).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{file:?}: {}",
            refused.body
        );
        assert!(refused.body.contains(says), "{file:?}: {}", refused.body);
    }
    let missing = post_form(
        &mut boss,
        &[("types", "types.csv", b"id,name,max_licenses\n1,A,1\n")],
    )
    .await;
    let page = page_en(&mut boss, missing.location().unwrap()).await;
    assert!(
        page.body.contains("lacks the column permissions"),
        "{}",
        page.body
    );

    // No file chosen (the browser sends both inputs empty).
    let none = post_form(&mut boss, &[("types", "", b""), ("members", "", b"")]).await;
    let location = none.location().unwrap().to_owned();
    assert!(location.starts_with("/migration?error="), "{location}");
    let page = page_en(&mut boss, &location).await;
    assert!(page.body.contains("Choose a user types file"));

    // Raw without a kind, or the wrong content type.
    let unnamed = post_raw(&mut boss, "", Body::from(TYPES)).await;
    assert_eq!(unnamed.status, StatusCode::BAD_REQUEST);
    let request = boss
        .request(Method::POST, "/upload/legacy")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, ORIGIN)
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        boss.send(request).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    // Announced over the limit: refused before reading.
    let request = boss
        .request(Method::POST, "/upload/legacy?kind=members")
        .header(header::CONTENT_TYPE, "text/csv")
        .header(header::CONTENT_LENGTH, (64 * 1024 * 1024).to_string())
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        boss.send(request).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Streamed over the limit without announcing it: refused while reading.
    let line = "L1,1,2020-01-01,,0,0\n".repeat(50_000);
    let header_line =
        "external_id,user_type,registered_at,last_login_at,license_count,payment_total\n";
    let chunks = std::iter::once(header_line.to_owned())
        .chain(std::iter::repeat_n(line, 17))
        .map(Ok::<_, std::convert::Infallible>);
    let huge = post_raw(
        &mut boss,
        "?kind=members",
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert!(huge.status.is_client_error(), "{:?}", huge.status);
    assert!(!huge.body.is_empty());

    // A cross-site post is refused like any other state change.
    let request = boss
        .request(Method::POST, "/upload/legacy?kind=types")
        .header(header::CONTENT_TYPE, "text/csv")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(TYPES))
        .unwrap();
    assert_eq!(boss.send(request).await.status, StatusCode::FORBIDDEN);

    assert_eq!(stored(&db).await, (0, 0, 0));
    assert_eq!(audit_rows(&db).await, audit_before, "no import was audited");
}

/// The form fields of the editor with the seed's formula, `mapping` as given.
fn settings_form(based_on: &str, mapping: &[(&str, &str)]) -> Vec<(String, String)> {
    let formula = domain::migration::Formula::default();
    let mut form = vec![("based_on".to_owned(), based_on.to_owned())];
    for field in app::migration::form::FORMULA_FIELDS {
        form.push((
            format!("formula[{field}]"),
            app::migration::form::coefficient(&formula, field).to_string(),
        ));
    }
    for (user_type, code) in mapping {
        form.push((format!("mapping[{user_type}]"), (*code).to_owned()));
    }
    form
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn legacy_data(db: &PgPool, admin: &TestAdmin) {
    let now = chrono::Utc::now();
    for (kind, file) in [
        (ImportKind::UserTypes, TYPES),
        (ImportKind::Members, MEMBERS),
    ] {
        let body = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(file.as_bytes())]);
        imports::import_file(db, &admin.access(), now, kind, "t.csv", body, None)
            .await
            .unwrap();
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn settings_save_and_the_sample_by_role_and_tenant(db: PgPool) {
    let acme = tenant(&db, "acme").await;
    let globex = tenant(&db, "globex").await;
    legacy_data(&db, &acme.boss).await;
    let router = console(db.clone());
    let mut boss = Client::signed_in(&router, &acme.boss.email, TEST_PASSWORD).await;

    let current = boss.call_fn("migration_settings", &[]).await.json();
    assert_eq!(current["version"], 0);

    // Only tenant admins save.
    let form = settings_form("0", &[("t1", "vip"), ("t4", "")]);
    for actor in [&acme.vic, &acme.sam] {
        let mut client = Client::signed_in(&router, &actor.email, TEST_PASSWORD).await;
        let refused = client
            .call_fn("save_migration_settings", &pairs(&form))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    let saved = boss.call_fn("save_migration_settings", &pairs(&form)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let saved = saved.json();
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["mapping"]["tags"], serde_json::json!([[1, "vip"]]));
    // Based on a version no longer current: a conflict, nothing saved.
    let stale = boss.call_fn("save_migration_settings", &pairs(&form)).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert_eq!(
        stale.json(),
        serde_json::json!({"Conflict": "StaleVersion"})
    );

    // Malformed input: 4xx naming the field, never a 500.
    let mut bad = settings_form("1", &[]);
    bad[3].1 = "abc".into();
    let refused = boss.call_fn("save_migration_settings", &pairs(&bad)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.json()["Invalid"]["field"], "per_license");
    let mut negative = settings_form("1", &[]);
    negative[1].1 = "-5".into();
    let refused = boss
        .call_fn("save_migration_settings", &pairs(&negative))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    for mapping in [("x1", "vip"), ("t1", "no-such-tag")] {
        let form = settings_form("1", &[mapping]);
        let refused = boss.call_fn("save_migration_settings", &pairs(&form)).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{mapping:?}: {}",
            refused.body
        );
    }
    let missing = boss
        .call_fn("save_migration_settings", &[("based_on", "1")])
        .await;
    assert!(missing.status.is_client_error(), "{missing:?}");
    let not_a_number = boss
        .call_fn("save_migration_settings", &[("based_on", "x")])
        .await;
    assert_eq!(not_a_number.status, StatusCode::BAD_REQUEST);

    // The sample: L1 registered years ago (500), 2 licenses (100), never logged in (0),
    // paid 10.00 (50): 650, bronze, tag vip. Every role may compute it.
    let mut sample_form = settings_form("1", &[("t1", "vip")]);
    sample_form.push(("external_id".into(), "L1".into()));
    let mut vic = Client::signed_in(&router, &acme.vic.email, TEST_PASSWORD).await;
    for client in [&mut boss, &mut vic] {
        let sample = client
            .call_fn("migration_sample", &pairs(&sample_form))
            .await;
        assert_eq!(sample.status, StatusCode::OK, "{}", sample.body);
        let sample = sample.json();
        assert_eq!(sample["total"], 650, "{sample}");
        assert_eq!(
            sample["parts"],
            serde_json::json!([
                ["registration", 500],
                ["license_activity", 100],
                ["activity", 0],
                ["payment", 50]
            ])
        );
        assert_eq!(sample["level"]["code"], "bronze");
        assert_eq!(sample["tag"], "vip");
        assert_eq!(sample["tag_names"]["name_en"], "VIP");
    }
    // The values in the form count, saved or not.
    let mut doubled = sample_form.clone();
    let per_license = doubled
        .iter_mut()
        .find(|(k, _)| k == "formula[per_license]")
        .unwrap();
    per_license.1 = "100".into();
    let sample = boss
        .call_fn("migration_sample", &pairs(&doubled))
        .await
        .json();
    assert_eq!(sample["total"], 750);
    // An unknown type, an unknown member, a bad coefficient.
    let mut l2 = settings_form("1", &[]);
    l2.push(("external_id".into(), "L2".into()));
    let sample = boss.call_fn("migration_sample", &pairs(&l2)).await.json();
    assert_eq!(sample["type_name"], serde_json::Value::Null);
    assert_eq!(sample["tag"], serde_json::Value::Null);
    let mut ghost = settings_form("1", &[]);
    ghost.push(("external_id".into(), "ghost".into()));
    let missing = boss.call_fn("migration_sample", &pairs(&ghost)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let mut huge = sample_form.clone();
    huge[2].1 = "99999999999".into();
    let refused = boss.call_fn("migration_sample", &pairs(&huge)).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );

    // Another tenant: its own version 0, and acme's member is not theirs.
    let mut theirs = Client::signed_in(&router, &globex.boss.email, TEST_PASSWORD).await;
    let their_settings = theirs.call_fn("migration_settings", &[]).await.json();
    assert_eq!(their_settings["version"], 0);
    let hidden = theirs
        .call_fn("migration_sample", &pairs(&sample_form))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    // Without JavaScript: Preview is a GET of the page with the form's values…
    let query: Vec<String> = sample_form
        .iter()
        .map(|(k, v)| format!("{}={}", k.replace('[', "%5B").replace(']', "%5D"), v))
        .collect();
    let page = page_en(
        &mut boss,
        &format!("/migration?preview=1&{}", query.join("&")),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("data-total=\"650\""),
        "the sample on the page"
    );
    assert!(page.body.contains("data-level=\"bronze\""));
    // …and Save a plain form post that comes back to the page saying so.
    let form = settings_form("1", &[("t4", "vip")]);
    let saved = boss
        .submit_form("save_migration_settings", &pairs(&form), "/migration")
        .await;
    assert!(saved.status.is_redirection(), "{saved:?}");
    let location = saved.location().unwrap().to_owned();
    assert!(
        location.contains("done=save_migration_settings"),
        "{location}"
    );
    let page = page_en(&mut boss, &location).await;
    assert!(page.body.contains("data-version=\"2\""));
    assert!(page.body.contains("data-testid=\"settings-saved\""));
    // A stale plain save comes back with the conflict in words.
    let stale = boss
        .submit_form("save_migration_settings", &pairs(&form), "/migration")
        .await;
    let location = stale.location().unwrap().to_owned();
    assert!(location.contains("error="), "{location}");
    let page = page_en(&mut boss, &location).await;
    assert!(page.body.contains("Someone saved a newer version"));
    // A viewer sees the editor read-only, without Save.
    let page = page_en(&mut vic, "/migration").await;
    assert!(page.body.contains("data-testid=\"settings-read-only\""));
    assert!(!page.body.contains("data-testid=\"settings-save\""));
}
