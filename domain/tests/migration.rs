//! The legacy migration end to end on a real database: the SQL formula against the Rust
//! one, the dry run (writes nothing, predicts what the run does), runs (everyone once,
//! idempotent, resumable after an aborted connection, a selection), catch-up,
//! validation and reconciliation, rollback (legacy byte-identical, activity kept,
//! shortfall reported; emergency and gradual), the kill switch across two cache nodes,
//! roles and tenant isolation.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::clock::SharedClock;
use domain::migration::checkpoint;
use domain::migration::run::{RunStatus, Selection};
use domain::migration::{
    Formula, analysis, historical_points, legacy, rollback, routing, run, verify,
};
use domain::points::{ledger, levels};
use domain::tags::permissions::PermissionCache;
use domain::testing::{TestAdmin, TestTenant};
use domain::{Access, Conflict, Error, Role};
use model::migration::LegacyInputs;
use model::migration::run::{Model, RollbackMode};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

struct Fixture {
    tenant: TestTenant,
    admin: TestAdmin,
    viewer: TestAdmin,
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

/// A tenant with the default tiers, the demo tags (vip, enterprise, education) and
/// `members` generated legacy members.
async fn fixture(db: &PgPool, slug: &str, members: i64) -> Fixture {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    domain::demo::seed_tags(&mut conn, tenant.id())
        .await
        .unwrap();
    legacy::generate(&mut conn, tenant.id(), members, now())
        .await
        .unwrap();
    drop(conn);
    Fixture {
        admin: tenant.with_admin(db, "boss", Role::TenantAdmin).await,
        viewer: tenant.with_admin(db, "vic", Role::Viewer).await,
        tenant,
    }
}

async fn migrate(db: &PgPool, access: &Access, selection: Selection) -> run::Run {
    let started = run::start(db, access, &selection, now()).await.unwrap();
    let done = run::drive(db, access.tenant_id, started.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    done
}

/// The ledger's invariants and the overview's aggregates (members per level, moves,
/// points per day) against the raw tables.
async fn ledger_clean(db: &PgPool, tenant_id: Uuid) {
    let violations = domain::points::check::check(db, Some(tenant_id))
        .await
        .unwrap();
    assert!(violations.is_empty(), "{violations:?}");
    let mismatches = domain::overview::check::check(db, Some(tenant_id))
        .await
        .unwrap();
    assert!(mismatches.is_empty(), "{mismatches:?}");
}

/// Legacy inputs of every member, by external id, with the user type.
/// A legacy member row as read back: id, type, registered, last login, licenses, payments.
type LegacyRow = (String, i32, DateTime<Utc>, Option<DateTime<Utc>>, i32, i64);

async fn legacy_rows(db: &PgPool, tenant_id: Uuid) -> HashMap<String, (i32, LegacyInputs)> {
    let rows: Vec<LegacyRow> = sqlx::query_as(
        "select external_id, user_type, registered_at, last_login_at, license_count, payment_total_cents
         from legacy_members where tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await
    .unwrap();
    rows.into_iter()
        .map(
            |(id, user_type, registered_at, last_login_at, licenses, cents)| {
                (
                    id,
                    (
                        user_type,
                        LegacyInputs {
                            registered_at,
                            last_login_at,
                            license_count: i64::from(licenses),
                            payment_total_cents: cents,
                        },
                    ),
                )
            },
        )
        .collect()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_sql_formula_is_the_rust_formula(db: PgPool) {
    let formulas = [
        Formula::default(),
        Formula {
            registration_per_day: 7,
            registration_cap: 1_000_000,
            per_license: 3,
            recent_days: 0,
            recent_points: 9,
            month_days: 0,
            month_points: 8,
            older_points: 1,
            per_currency_unit: 1_000_000,
        },
    ];
    let at = now();
    let mut cases = Vec::new();
    for days in [-400, -1, 0, 1, 99, 100, 101, 5000, 100_000] {
        for login in [
            None,
            Some(-2),
            Some(0),
            Some(7),
            Some(8),
            Some(30),
            Some(31),
            Some(4000),
        ] {
            for licenses in [i64::from(i32::MIN), -1, 0, 3, i64::from(i32::MAX)] {
                for cents in [i64::MIN, -500, 0, 1, 99, 9_999, 123_456_789, i64::MAX] {
                    cases.push(LegacyInputs {
                        registered_at: at
                            - Duration::days(days)
                            - Duration::seconds(days.abs() % 7 * 3600),
                        last_login_at: login.map(|d: i64| {
                            at - Duration::days(d) - Duration::seconds(d.abs() % 5 * 7000)
                        }),
                        license_count: licenses,
                        payment_total_cents: cents,
                    });
                }
            }
        }
    }
    for formula in formulas {
        let json = serde_json::to_value(formula).unwrap();
        for chunk in cases.chunks(500) {
            let registered: Vec<DateTime<Utc>> = chunk.iter().map(|c| c.registered_at).collect();
            let logins: Vec<Option<DateTime<Utc>>> =
                chunk.iter().map(|c| c.last_login_at).collect();
            let licenses: Vec<i64> = chunk.iter().map(|c| c.license_count).collect();
            let cents: Vec<i64> = chunk.iter().map(|c| c.payment_total_cents).collect();
            let sql: Vec<Vec<i64>> = sqlx::query_scalar(
                "select migration_parts($1, r, l, n, c, $6)
                 from unnest($2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::bigint[])
                      with ordinality u (r, l, n, c, i) order by i",
            )
            .bind(&json)
            .bind(&registered)
            .bind(&logins)
            .bind(&licenses)
            .bind(&cents)
            .bind(at)
            .fetch_all(&db)
            .await
            .unwrap();
            for (case, sql) in chunk.iter().zip(sql) {
                let rust: Vec<i64> = historical_points(&formula, case, at)
                    .iter()
                    .map(|(_, p)| *p)
                    .collect();
                assert_eq!(sql, rust, "{case:?} with {formula:?}");
            }
        }
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_dry_run_writes_nothing_and_predicts_the_run(db: PgPool) {
    let f = fixture(&db, "acme", 2000).await;
    let admin = f.admin.access();
    let before = checkpoint::take(&db, &admin, "before").await.unwrap();
    let dry = analysis::dry_run(&db, &admin, &Selection::All, now())
        .await
        .unwrap();
    let after = checkpoint::take(&db, &admin, "after").await.unwrap();
    assert!(before.differences(&after).is_empty());
    assert_eq!(dry.members, 2000);
    // One member with a type the tenant lacks (L001013).
    let unknown = dry
        .unmigratable
        .iter()
        .find(|u| u.kind == "unknown_type")
        .unwrap();
    assert_eq!(
        (unknown.members, unknown.examples.clone()),
        (1, vec!["L001013".to_owned()])
    );
    assert_eq!(dry.migratable, 1999);
    // The points total is the Rust formula's over the migratable members.
    let rows = legacy_rows(&db, f.tenant.id()).await;
    let expected: i64 = rows
        .iter()
        .filter(|(id, _)| id.as_str() != "L001013")
        .map(|(_, (_, inputs))| {
            historical_points(&Formula::default(), inputs, now())
                .iter()
                .map(|p| p.1)
                .sum::<i64>()
        })
        .sum();
    assert_eq!(dry.points_total, expected);
    assert_eq!(dry.levels.iter().map(|l| l.members).sum::<i64>(), 1999);
    assert_eq!(
        dry.points_buckets.iter().map(|b| b.members).sum::<i64>(),
        1999
    );
    assert!(dry.warnings.iter().any(|w| w.kind == "future_registration"));
    assert!(dry.warnings.iter().any(|w| w.kind == "refund"));
    assert_eq!(dry.quota_lower + dry.quota_equal + dry.quota_higher, 1999);
    assert!(dry.agreement_pairs > 0 && dry.agreement_equal <= dry.agreement_pairs);
    // Stored as the latest report; other roles read it, only admins run it.
    let (_, stored): (_, model::migration::run::DryRun) =
        analysis::latest(&db, &f.viewer.access(), "dry_run")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(stored, dry);
    assert!(matches!(
        analysis::dry_run(&db, &f.viewer.access(), &Selection::All, now()).await,
        Err(Error::Forbidden)
    ));

    // The run does what the dry run said.
    migrate(&db, &admin, Selection::All).await;
    let total: i64 = sqlx::query_scalar(
        "select coalesce(sum(points), 0)::bigint from points_ledger where tenant_id = $1 and kind = 'migration'",
    )
    .bind(f.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(total, dry.points_total);
    let per_level: Vec<(String, i64)> = sqlx::query_as(
        "select t.code, count(*) from member_profiles p join level_tiers t on t.tenant_id = p.tenant_id
           and t.tier_id = p.level_tier_id where p.tenant_id = $1 group by t.code, t.sort_order order by t.sort_order",
    )
    .bind(f.tenant.id())
    .fetch_all(&db)
    .await
    .unwrap();
    let predicted: Vec<(String, i64)> = dry
        .levels
        .iter()
        .map(|l| (l.code.clone(), l.members))
        .collect();
    assert_eq!(per_level, predicted);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_run_migrates_everyone_once_and_again_changes_nothing(db: PgPool) {
    let f = fixture(&db, "acme", 1500).await;
    let admin = f.admin.access();
    // One legacy member joined the new model before the migration and earned there.
    let early = domain::members::create(
        &db,
        &admin,
        domain::members::MemberInput {
            external_id: "L000005".into(),
            display_name: "Early Bird".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .member_id;
    ledger::earn(
        &db,
        &admin,
        ledger::Change {
            member_id: early,
            points: 1234,
            category: "shop".into(),
            subcategory: None,
            reason: None,
            source_type: None,
            source_ref: None,
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let first = migrate(&db, &admin, Selection::All).await;
    assert_eq!((first.total, first.done, first.errors), (1500, 1499, 1));
    // Their migration entries follow their own entry; their name is kept.
    let (name, total, seq): (String, i64, i64) = sqlx::query_as(
        "select display_name, total_points, ledger_seq from member_profiles where tenant_id = $1 and member_id = $2",
    )
    .bind(f.tenant.id())
    .bind(early)
    .fetch_one(&db)
    .await
    .unwrap();
    let rows = legacy_rows(&db, f.tenant.id()).await;
    let parts = historical_points(&Formula::default(), &rows["L000005"].1, now());
    assert_eq!(name, "Early Bird");
    assert_eq!(total, 1234 + parts.iter().map(|p| p.1).sum::<i64>());
    assert_eq!(seq, 1 + parts.iter().filter(|p| p.1 > 0).count() as i64);
    let detail = run::detail(&db, &admin, first.run_id).await.unwrap();
    assert_eq!(detail.errors[0].external_id, "L001013");
    assert_eq!(detail.errors[0].problem, "unknown_type");
    ledger_clean(&db, f.tenant.id()).await;
    // Each member's migration entries are the Rust formula's parts, one entry per part.
    let rows = legacy_rows(&db, f.tenant.id()).await;
    let ledger: Vec<(String, String, i64)> = sqlx::query_as(
        "select p.external_id, e.category, e.points from points_ledger e
         join member_profiles p on p.tenant_id = e.tenant_id and p.member_id = e.member_id
         where e.tenant_id = $1 and e.kind = 'migration'",
    )
    .bind(f.tenant.id())
    .fetch_all(&db)
    .await
    .unwrap();
    let mut by_member: HashMap<String, HashMap<String, i64>> = HashMap::new();
    for (id, category, points) in ledger {
        assert!(
            by_member
                .entry(id)
                .or_default()
                .insert(category, points)
                .is_none()
        );
    }
    for (id, (_, inputs)) in &rows {
        if id == "L001013" {
            assert!(!by_member.contains_key(id));
            continue;
        }
        for (part, points) in historical_points(&Formula::default(), inputs, now()) {
            let got = by_member
                .get(id)
                .and_then(|m| m.get(part.category()))
                .copied()
                .unwrap_or(0);
            assert_eq!(got, points, "{id} {part:?}");
        }
    }
    // Mapped tags granted with method migration: vip for type 1, enterprise 2, education 3.
    let grants: Vec<(i32, String, i64)> = sqlx::query_as(
        "select l.user_type, t.code, count(*) from tag_grants g
         join tags t on t.tenant_id = g.tenant_id and t.tag_id = g.tag_id
         join member_profiles p on p.tenant_id = g.tenant_id and p.member_id = g.member_id
         join legacy_members l on l.tenant_id = p.tenant_id and l.external_id = p.external_id
         where g.tenant_id = $1 and g.method = 'migration' group by l.user_type, t.code order by 1",
    )
    .bind(f.tenant.id())
    .fetch_all(&db)
    .await
    .unwrap();
    let types: Vec<(i32, &str)> = grants.iter().map(|(t, c, _)| (*t, c.as_str())).collect();
    assert_eq!(types, vec![(1, "vip"), (2, "enterprise"), (3, "education")]);

    // Again: nothing to do, everything skipped; validation and reconciliation clean.
    let again = migrate(&db, &admin, Selection::All).await;
    assert_eq!((again.done, again.skipped, again.errors), (0, 1499, 1));
    let validation = verify::validate(&db, &admin, false, now()).await.unwrap();
    assert_eq!(validation.members, 1499);
    let problems: Vec<_> = validation
        .findings
        .iter()
        .filter(|f| f.kind != "quota_lower")
        .collect();
    assert!(problems.is_empty(), "{problems:?}");
    let reconciliation = verify::reconcile(&db, &admin).await.unwrap();
    assert_eq!(
        (reconciliation.compared, reconciliation.matching),
        (1499, 1499)
    );
    assert_eq!(
        reconciliation.expected_checksum,
        reconciliation.actual_checksum
    );
    assert_eq!(reconciliation.not_migrated, 1);
    ledger_clean(&db, f.tenant.id()).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_run_resumes_after_its_connection_is_killed_mid_batch(db: PgPool) {
    let f = fixture(&db, "acme", 3000).await;
    let admin = f.admin.access();
    let started = run::start(&db, &admin, &Selection::All, now())
        .await
        .unwrap();
    // A worker on its own pool, killed from outside while it writes.
    let options = db.connect_options().as_ref().clone();
    let worker_pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    let tenant_id = f.tenant.id();
    let worker = tokio::spawn({
        let pool = worker_pool.clone();
        async move {
            loop {
                match run::step(&pool, tenant_id, started.run_id, 100, true).await {
                    Ok(run::Step::Batch { .. }) => {}
                    other => return other.map(|_| ()),
                }
            }
        }
    });
    // Wait for a few batches, then cut every connection of the worker.
    loop {
        let done: i64 = sqlx::query_scalar("select done from migration_runs where run_id = $1")
            .bind(started.run_id)
            .fetch_one(&db)
            .await
            .unwrap();
        if done >= 300 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
    sqlx::query(
        "select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid() and application_name = 'killme'
            or (datname = current_database() and pid <> pg_backend_pid() and state <> 'idle')",
    )
    .execute(&db)
    .await
    .unwrap();
    let outcome = worker.await.unwrap();
    worker_pool.close().await;
    // Whether it died mid-batch or finished, running it again completes the run.
    let _ = outcome;
    let done = run::drive(&db, tenant_id, started.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    let records: i64 = sqlx::query_scalar(
        "select count(*) from migration_members where tenant_id = $1 and rolled_back_at is null",
    )
    .bind(tenant_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(records, 2998);
    // Exactly once: one entry per non-zero part, no member twice.
    let duplicates: i64 = sqlx::query_scalar(
        "select count(*) from (select member_id, category from points_ledger
                               where tenant_id = $1 and kind = 'migration'
                               group by member_id, category having count(*) > 1) d",
    )
    .bind(tenant_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(duplicates, 0);
    ledger_clean(&db, tenant_id).await;
    let reconciliation = verify::reconcile(&db, &admin).await.unwrap();
    assert_eq!(reconciliation.matching, 2998);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn one_active_run_per_tenant_pause_resume_cancel(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let first = run::start(&db, &admin, &Selection::Share(50), now())
        .await
        .unwrap();
    assert!(first.total > 100 && first.total < 200, "{}", first.total);
    assert!(matches!(
        run::start(&db, &admin, &Selection::All, now()).await,
        Err(Error::Conflict(Conflict::MigrationRunActive))
    ));
    let paused = run::control(&db, &admin, first.run_id, RunStatus::Paused)
        .await
        .unwrap();
    assert_eq!(paused.status, RunStatus::Paused);
    // A paused run takes no batches.
    assert_eq!(
        run::step(&db, admin.tenant_id, first.run_id, 50, true)
            .await
            .unwrap(),
        run::Step::Idle
    );
    run::control(&db, &admin, first.run_id, RunStatus::Running)
        .await
        .unwrap();
    assert!(matches!(
        run::step(&db, admin.tenant_id, first.run_id, 50, true)
            .await
            .unwrap(),
        run::Step::Batch { .. }
    ));
    let cancelled = run::control(&db, &admin, first.run_id, RunStatus::Cancelled)
        .await
        .unwrap();
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    assert!(matches!(
        run::control(&db, &admin, first.run_id, RunStatus::Running).await,
        Err(Error::Conflict(Conflict::MigrationRunEnded))
    ));
    // The next run takes the rest of the share and no one twice.
    let rest = migrate(&db, &admin, Selection::Share(50)).await;
    assert_eq!(rest.done + rest.errors, first.total - 50);
    // Listed members; ids not in the legacy tables are not selected.
    let listed = migrate(
        &db,
        &admin,
        Selection::Members(vec!["L000001".into(), "L000002".into(), "nobody".into()]),
    )
    .await;
    assert!(listed.total <= 2);
    // Roles and tenants.
    let viewer = f.viewer.access();
    assert!(matches!(
        run::start(&db, &viewer, &Selection::All, now()).await,
        Err(Error::Forbidden)
    ));
    let other = fixture(&db, "other", 10).await;
    assert!(matches!(
        run::detail(&db, &other.admin.access(), first.run_id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        run::control(&db, &other.admin.access(), first.run_id, RunStatus::Paused).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        run::start(&db, &admin, &Selection::Share(0), now()).await,
        Err(Error::Invalid { .. })
    ));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn catch_up_applies_legacy_changes_after_migration(db: PgPool) {
    let f = fixture(&db, "acme", 400).await;
    let admin = f.admin.access();
    migrate(&db, &admin, Selection::All).await;
    // The legacy system keeps running: a payment arrives for one member, another's
    // type moves from standard (4) to VIP (1), a third gets a refund.
    let ids: Vec<String> = sqlx::query_scalar(
        "select external_id from legacy_members where tenant_id = $1 and user_type = 4 order by external_id limit 3",
    )
    .bind(f.tenant.id())
    .fetch_all(&db)
    .await
    .unwrap();
    sqlx::query("update legacy_members set payment_total_cents = payment_total_cents + 10000, updated_at = now() where tenant_id = $1 and external_id = $2")
        .bind(f.tenant.id()).bind(&ids[0]).execute(&db).await.unwrap();
    sqlx::query("update legacy_members set user_type = 1, updated_at = now() where tenant_id = $1 and external_id = $2")
        .bind(f.tenant.id()).bind(&ids[1]).execute(&db).await.unwrap();
    sqlx::query("update legacy_members set payment_total_cents = 0, license_count = 0, updated_at = now() where tenant_id = $1 and external_id = $2")
        .bind(f.tenant.id()).bind(&ids[2]).execute(&db).await.unwrap();
    let stale = verify::reconcile(&db, &admin).await.unwrap();
    assert!(stale.matching <= stale.compared - 2, "{stale:?}");
    let caught = verify::catch_up(&db, &admin).await.unwrap();
    assert_eq!(caught.members, 3);
    assert_eq!(caught.tags_changed, 1);
    let reconciliation = verify::reconcile(&db, &admin).await.unwrap();
    assert_eq!(
        reconciliation.matching, reconciliation.compared,
        "{reconciliation:?}"
    );
    assert_eq!(
        reconciliation.expected_checksum,
        reconciliation.actual_checksum
    );
    // The ledger stays append-only: the difference is a new entry.
    let catch_up_entries: i64 = sqlx::query_scalar(
        "select count(*) from points_ledger where tenant_id = $1 and subcategory = 'catch_up'",
    )
    .bind(f.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(catch_up_entries >= 2);
    let vip: bool = sqlx::query_scalar(
        "select exists (select 1 from tag_grants g join tags t on t.tenant_id = g.tenant_id and t.tag_id = g.tag_id
                        join member_profiles p on p.tenant_id = g.tenant_id and p.member_id = g.member_id
                        where g.tenant_id = $1 and p.external_id = $2 and t.code = 'vip'
                          and g.status = 'active' and g.method = 'migration')",
    )
    .bind(f.tenant.id())
    .bind(&ids[1])
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(vip);
    ledger_clean(&db, f.tenant.id()).await;
    // Nothing left to catch up.
    assert_eq!(verify::catch_up(&db, &admin).await.unwrap().members, 0);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn emergency_rollback_restores_legacy_answers_and_keeps_activity(db: PgPool) {
    let f = fixture(&db, "acme", 600).await;
    let admin = f.admin.access();
    let preflight = analysis::preflight(&db, &admin, now()).await.unwrap();
    migrate(&db, &admin, Selection::All).await;
    routing::switch(&db, &admin, Model::New).await.unwrap();
    // After migration a member spends most of their points and earns a few.
    let (member_id, available): (Uuid, i64) = sqlx::query_as(
        "select member_id, available_points from member_profiles where tenant_id = $1 and available_points > 200
         order by external_id limit 1",
    )
    .bind(f.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    let change = |points: i64| ledger::Change {
        member_id,
        points,
        category: "shop".into(),
        subcategory: None,
        reason: None,
        source_type: None,
        source_ref: None,
        idempotency_key: None,
    };
    ledger::spend(&db, &admin, change(available - 10))
        .await
        .unwrap();
    ledger::earn(&db, &admin, change(5)).await.unwrap();
    let blast =
        rollback::blast_radius(&db, &admin, RollbackMode::Emergency, &Selection::All, now())
            .await
            .unwrap();
    assert_eq!(blast.members, 600);
    assert_eq!(blast.answered_new, 600);
    assert_eq!(blast.with_activity, 1);
    assert_eq!(blast.shortfall_members, 1);
    assert_eq!(blast.activity_examples.len(), 1);
    // An emergency cancels a migration run that is going (here: a share started after
    // the first run, with nothing left to do but not finished yet).
    let going = run::start(&db, &admin, &Selection::Share(10), now())
        .await
        .unwrap();
    assert_eq!(going.status, RunStatus::Running);
    // Emergency needs everyone.
    assert!(matches!(
        rollback::start(
            &db,
            &admin,
            RollbackMode::Emergency,
            &Selection::Share(10),
            now()
        )
        .await,
        Err(Error::Invalid { .. })
    ));
    let started = rollback::start(&db, &admin, RollbackMode::Emergency, &Selection::All, now())
        .await
        .unwrap();
    // The switch went back to legacy before the first batch; the migration run ended.
    assert_eq!(
        routing::routing(&db, &admin).await.unwrap().mode,
        Model::Legacy
    );
    let cancelled = run::detail(&db, &admin, going.run_id).await.unwrap().run;
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    let done = run::drive(&db, admin.tenant_id, started.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!((done.status, done.done), (RunStatus::Completed, 600));
    ledger_clean(&db, f.tenant.id()).await;
    // Legacy tables byte-identical to the pre-flight checkpoint.
    let after = checkpoint::take(&db, &admin, "after rollback")
        .await
        .unwrap();
    for table in checkpoint::LEGACY_TABLES {
        let a = preflight
            .checkpoint
            .tables
            .iter()
            .find(|t| t.table == table)
            .unwrap();
        let b = after.tables.iter().find(|t| t.table == table).unwrap();
        assert_eq!(a, b);
    }
    // The spender keeps the spending and the earning; reversed down to zero.
    let (available_now, shortfall): (i64, i64) = sqlx::query_as(
        "select p.available_points, mm.shortfall from member_profiles p
         join migration_members mm on mm.tenant_id = p.tenant_id and mm.member_id = p.member_id
         where p.tenant_id = $1 and p.member_id = $2",
    )
    .bind(f.tenant.id())
    .bind(member_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(available_now, 0);
    assert!(shortfall > 0);
    let kept: i64 = sqlx::query_scalar(
        "select count(*) from points_ledger where tenant_id = $1 and member_id = $2 and kind in ('spend', 'earn')",
    )
    .bind(f.tenant.id())
    .bind(member_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(kept, 2);
    // Everyone else is back at zero migration points; the migration grants ended.
    let outstanding: i64 = sqlx::query_scalar(
        "select coalesce(sum(points), 0)::bigint from points_ledger
         where tenant_id = $1 and source_type in ('migration', 'migration_rollback') and member_id <> $2",
    )
    .bind(f.tenant.id())
    .bind(member_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(outstanding, 0);
    let live_grants: i64 = sqlx::query_scalar(
        "select count(*) from tag_grants where tenant_id = $1 and method = 'migration' and status in ('active', 'grace')",
    )
    .bind(f.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(live_grants, 0);
    let causes: i64 = sqlx::query_scalar(
        "select count(*) from grant_events where tenant_id = $1 and cause = 'rollback'",
    )
    .bind(f.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(causes > 0);
    // And the members can be migrated again.
    let again = migrate(&db, &admin, Selection::All).await;
    assert_eq!(again.done, 600);
    ledger_clean(&db, f.tenant.id()).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn gradual_rollback_takes_a_share(db: PgPool) {
    let f = fixture(&db, "acme", 800).await;
    let admin = f.admin.access();
    migrate(&db, &admin, Selection::All).await;
    routing::switch(&db, &admin, Model::New).await.unwrap();
    let blast = rollback::blast_radius(
        &db,
        &admin,
        RollbackMode::Gradual,
        &Selection::Share(25),
        now(),
    )
    .await
    .unwrap();
    let started = rollback::start(
        &db,
        &admin,
        RollbackMode::Gradual,
        &Selection::Share(25),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(started.total, blast.members);
    assert!(
        blast.members > 120 && blast.members < 280,
        "{}",
        blast.members
    );
    run::drive(&db, admin.tenant_id, started.run_id, |_| {})
        .await
        .unwrap();
    // The switch stays on new; the rolled-back members are answered by legacy.
    assert_eq!(
        routing::routing(&db, &admin).await.unwrap().mode,
        Model::New
    );
    let (rolled, live): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where rolled_back_at is not null), count(*) filter (where rolled_back_at is null)
         from migration_members where tenant_id = $1",
    )
    .bind(f.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((rolled, live), (blast.members, 800 - blast.members));
    let some_rolled: String = sqlx::query_scalar(
        "select external_id from migration_members where tenant_id = $1 and rolled_back_at is not null limit 1",
    )
    .bind(f.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    let some_live: String = sqlx::query_scalar(
        "select external_id from migration_members where tenant_id = $1 and rolled_back_at is null limit 1",
    )
    .bind(f.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        routing::route(&db, f.tenant.id(), &some_rolled)
            .await
            .unwrap()
            .model,
        Model::Legacy
    );
    assert_eq!(
        routing::route(&db, f.tenant.id(), &some_live)
            .await
            .unwrap()
            .model,
        Model::New
    );
    ledger_clean(&db, f.tenant.id()).await;
}

async fn node(db: &PgPool) -> (PgPool, Arc<PermissionCache>) {
    let options = db.connect_options().as_ref().clone();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    let clock: SharedClock = Arc::new(domain::clock::SystemClock);
    let cache = PermissionCache::new(clock, 10_000);
    cache.start(pool.clone(), "test node".into());
    for _ in 0..200 {
        if cache.stats().serving {
            return (pool, cache);
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    panic!("cache node did not start serving");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_kill_switch_flips_answers_in_two_processes(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let viewer = f.viewer.access();
    let (pool_a, cache_a) = node(&db).await;
    let (pool_b, cache_b) = node(&db).await;
    // A trial member (legacy type 5: no permissions, quota 0) gains license_request
    // (bronze) in the new model.
    let trial: String = sqlx::query_scalar(
        "select external_id from legacy_members where tenant_id = $1 and user_type = 5 order by external_id limit 1",
    )
    .bind(f.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    migrate(&db, &admin, Selection::Members(vec![trial.clone()])).await;
    for (pool, cache) in [(&pool_a, &cache_a), (&pool_b, &cache_b)] {
        let answer = routing::check(pool, cache, &viewer, &trial, "license_request")
            .await
            .unwrap();
        assert_eq!((answer.model, answer.allowed), (Model::Legacy, false));
    }
    routing::switch(&db, &admin, Model::New).await.unwrap();
    for (pool, cache) in [(&pool_a, &cache_a), (&pool_b, &cache_b)] {
        let answer = routing::check(pool, cache, &viewer, &trial, "license_request")
            .await
            .unwrap();
        assert_eq!((answer.model, answer.allowed), (Model::New, true));
    }
    // The kill switch: both nodes answer the legacy way as soon as it returns.
    routing::switch(&db, &admin, Model::Legacy).await.unwrap();
    for (pool, cache) in [(&pool_a, &cache_a), (&pool_b, &cache_b)] {
        let answer = routing::check(pool, cache, &viewer, &trial, "license_request")
            .await
            .unwrap();
        assert_eq!(
            (answer.model, answer.allowed, answer.max_licenses),
            (Model::Legacy, false, 0)
        );
    }
    // Only tenant admins switch; other tenants' members are not found.
    assert!(matches!(
        routing::switch(&db, &viewer, Model::New).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        routing::check(&pool_a, &cache_a, &viewer, "nobody", "license_request").await,
        Err(Error::NotFound { .. })
    ));
    cache_a.leave(&pool_a).await.unwrap();
    cache_b.leave(&pool_b).await.unwrap();
}
