//! Correctness under real use: the console's write paths (audited adjustments,
//! approvals, reversals, grants) against tier saves and tag edits without deadlocks;
//! idempotency keys on every branch, in sequence and concurrently; tier saves that
//! re-level in the background.

use chrono::Utc;
use domain::members::{self, MemberInput};
use domain::points::ledger::{Adjusted, Change};
use domain::points::levels::{self, TierInput};
use domain::points::{approvals, check, ledger};
use domain::tags::grants::{self, GrantInput, Method};
use domain::tags::{self, TagInput};
use domain::testing::{TestAdmin, TestTenant};
use domain::{Access, Conflict, Error, Problem, Role, points::settings};
use sqlx::PgPool;
use uuid::Uuid;

struct Fixture {
    tenant: TestTenant,
    admin: TestAdmin,
    deputy: TestAdmin,
    support: TestAdmin,
}

async fn fixture(db: &PgPool) -> Fixture {
    let tenant = TestTenant::new(db, "acme").await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    let admin = tenant.with_admin(db, "boss", Role::TenantAdmin).await;
    let deputy = tenant.with_admin(db, "deputy", Role::TenantAdmin).await;
    let support = tenant.with_admin(db, "sam", Role::Support).await;
    Fixture {
        tenant,
        admin,
        deputy,
        support,
    }
}

async fn member(db: &PgPool, access: &Access, external_id: &str) -> Uuid {
    let input = MemberInput {
        external_id: external_id.into(),
        display_name: external_id.into(),
        ..Default::default()
    };
    members::create(db, access, input).await.unwrap().member_id
}

fn adjustment(member_id: Uuid, points: i64, key: Option<&str>) -> Change {
    Change {
        member_id,
        points,
        category: "manual".into(),
        reason: Some("correction".into()),
        idempotency_key: key.map(str::to_owned),
        ..Default::default()
    }
}

fn earning(member_id: Uuid, points: i64, key: Option<&str>) -> Change {
    Change {
        member_id,
        points,
        category: "purchase".into(),
        idempotency_key: key.map(str::to_owned),
        ..Default::default()
    }
}

async fn assert_consistent(db: &PgPool, tenant_id: Uuid) {
    levels::relevel_until_done(db, tenant_id).await.unwrap();
    let violations = check::check(db, None).await.unwrap();
    assert!(violations.is_empty(), "ledger violations: {violations:#?}");
}

/// A database error (a deadlock, a serialization failure) on a console path is a bug.
fn no_database_error<T: std::fmt::Debug>(what: &str, result: &domain::Result<T>) {
    if let Err(error @ (Error::Database(_) | Error::Internal(_))) = result {
        panic!("{what}: {error:?}");
    }
}

fn vip() -> TagInput {
    TagInput {
        code: "vip".into(),
        name_zh: "VIP".into(),
        name_en: "VIP".into(),
        category: "payment".into(),
        permissions: vec!["vip.support".into()],
        max_licenses: 0,
        max_licenses_boost: 1,
        default_term_days: Some(30),
        grace_days: 0,
        auto_renew: false,
        renew_from: "expiry".into(),
        active: true,
    }
}

/// Tier saves and tag edits while support staff adjust (audited), file and approve
/// four-eyes requests, reverse entries and grant and revoke tags on the same members:
/// every call answers (no 40P01), and every invariant holds afterwards.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn console_writes_do_not_deadlock_with_tier_saves_and_tag_edits(db: PgPool) {
    let f = fixture(&db).await;
    let admin = f.admin.access();
    settings::set_approval_threshold(&db, &admin, Some(400))
        .await
        .unwrap();
    let tag_id = tags::create(&db, &admin, vip()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..24 {
        let id = member(&db, &admin, &format!("m{i:02}")).await;
        // Just below silver (1000): small adjustments move levels both ways.
        ledger::earn(&db, &admin, earning(id, 990, None))
            .await
            .unwrap();
        ids.push(id);
    }

    let adjuster = |db: PgPool, access: Access, ids: Vec<Uuid>| async move {
        for round in 0..6_i64 {
            for (i, id) in ids.iter().enumerate() {
                let points = if (round + i as i64) % 2 == 0 { 25 } else { -20 };
                let result = ledger::adjust(&db, &access, adjustment(*id, points, None)).await;
                no_database_error("audited adjustment", &result);
                if let Ok(Adjusted::Posted(posted)) = result
                    && round % 3 == 0
                {
                    let reversed = ledger::reverse(
                        &db,
                        &access,
                        *id,
                        posted.entry.seq,
                        "undo",
                        Some(format!("rev-{id}-{}", posted.entry.seq)),
                    )
                    .await;
                    no_database_error("reversal", &reversed);
                }
            }
        }
    };
    let approver = |db: PgPool, requester: Access, approver: Access, ids: Vec<Uuid>| async move {
        for id in ids {
            let filed = ledger::adjust(&db, &requester, adjustment(id, 500, None)).await;
            no_database_error("request", &filed);
            if let Ok(Adjusted::PendingApproval(request)) = filed {
                let approved = approvals::approve(&db, &approver, request.request_id).await;
                no_database_error("approval", &approved);
            }
        }
    };
    let granter = |db: PgPool, access: Access, ids: Vec<Uuid>| async move {
        for _ in 0..2 {
            for id in &ids {
                let input = GrantInput {
                    member_id: *id,
                    tag_id,
                    reason: "promo".into(),
                    starts_at: None,
                    expires_at: None,
                    term_days: None,
                    auto_renew: None,
                };
                let granted = grants::grant(&db, &access, Utc::now(), Method::Manual, input).await;
                no_database_error("grant", &granted);
                if let Ok(grant_id) = granted {
                    let revoked = grants::revoke(&db, &access, Utc::now(), grant_id, "test").await;
                    no_database_error("revoke", &revoked);
                }
            }
        }
    };
    let saver = |db: PgPool, access: Access| async move {
        for i in 0..8 {
            let mut tiers: Vec<TierInput> = levels::list(&db, &access)
                .await
                .unwrap()
                .iter()
                .map(TierInput::from)
                .collect();
            let boundary = if i % 2 == 0 { 1005 } else { 1000 };
            tiers[0].max_points = Some(boundary - 1);
            tiers[1].min_points = boundary;
            // Swap two orders too: the save rewrites every tier row.
            let saved = levels::save(&db, &access, &tiers).await;
            no_database_error("tier save", &saved);
            saved.unwrap();
        }
    };
    let tag_editor = |db: PgPool, access: Access| async move {
        for i in 0..8 {
            let tag = tags::get(&db, &access, tag_id).await.unwrap();
            let mut input = vip();
            input.max_licenses_boost = 1 + i % 3;
            let updated = tags::update(&db, &access, tag_id, tag.row_version, input).await;
            no_database_error("tag edit", &updated);
        }
    };
    let support = f.support.access();
    let deputy = f.deputy.access();
    tokio::join!(
        adjuster(db.clone(), support.clone(), ids[0..8].to_vec()),
        adjuster(db.clone(), admin.clone(), ids[4..12].to_vec()),
        approver(
            db.clone(),
            support.clone(),
            deputy.clone(),
            ids[8..16].to_vec()
        ),
        granter(db.clone(), support.clone(), ids[0..24].to_vec()),
        saver(db.clone(), admin.clone()),
        tag_editor(db.clone(), deputy.clone()),
    );
    assert_consistent(&db, f.tenant.id()).await;
}

/// The same submission above the threshold, sent again or ten times at once, files one
/// request and every copy gets it; approving it credits once; a retry after the
/// decision still returns that request.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_retried_adjustment_above_the_threshold_files_one_request(db: PgPool) {
    let f = fixture(&db).await;
    let support = f.support.access();
    settings::set_approval_threshold(&db, &f.admin.access(), Some(1000))
        .await
        .unwrap();
    let ann = member(&db, &support, "ann").await;

    let copies = (0..10).map(|_| {
        let db = db.clone();
        let support = support.clone();
        async move { ledger::adjust(&db, &support, adjustment(ann, 5000, Some("form-1"))).await }
    });
    let answers = futures_join_all(copies).await;
    let mut request_ids = std::collections::HashSet::new();
    for answer in answers {
        match answer.unwrap() {
            Adjusted::PendingApproval(request) => request_ids.insert(request.request_id),
            other => panic!("above the threshold: {other:?}"),
        };
    }
    assert_eq!(request_ids.len(), 1, "one request for ten copies");
    let request_id = *request_ids.iter().next().unwrap();
    assert_eq!(
        approvals::pending(&db, &support).await.unwrap().len(),
        1,
        "one request waits"
    );
    let Adjusted::PendingApproval(again) =
        ledger::adjust(&db, &support, adjustment(ann, 5000, Some("form-1")))
            .await
            .unwrap()
    else {
        panic!("a retry returns the request");
    };
    assert_eq!(again.request_id, request_id);
    let other_payload = ledger::adjust(&db, &support, adjustment(ann, 6000, Some("form-1"))).await;
    assert!(matches!(
        other_payload,
        Err(Error::Conflict(Conflict::IdempotencyKeyReused))
    ));

    approvals::approve(&db, &f.deputy.access(), request_id)
        .await
        .unwrap();
    let Adjusted::PendingApproval(after) =
        ledger::adjust(&db, &support, adjustment(ann, 5000, Some("form-1")))
            .await
            .unwrap()
    else {
        panic!("a retry after approval returns the request");
    };
    assert_eq!(
        (after.request_id, after.status.as_str()),
        (request_id, "approved")
    );
    let profile = members::get(&db, &support, ann).await.unwrap();
    assert_eq!(profile.total_points, 5000, "credited once");
    assert_consistent(&db, f.tenant.id()).await;
}

/// Below the threshold, the same key posts once, in sequence and concurrently; the
/// same holds for earn and spend.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_keyed_write_answers_a_retry_with_the_original(db: PgPool) {
    let f = fixture(&db).await;
    let support = f.support.access();
    let ann = member(&db, &support, "ann").await;

    let adjusts = futures_join_all((0..8).map(|_| {
        let (db, support) = (db.clone(), support.clone());
        async move { ledger::adjust(&db, &support, adjustment(ann, 300, Some("adj-1"))).await }
    }))
    .await;
    let seqs: std::collections::HashSet<i64> = adjusts
        .into_iter()
        .map(|a| match a.unwrap() {
            Adjusted::Posted(posted) => posted.entry.seq,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(seqs.len(), 1);

    let earns = futures_join_all((0..8).map(|_| {
        let (db, support) = (db.clone(), support.clone());
        async move { ledger::earn(&db, &support, earning(ann, 100, Some("earn-1"))).await }
    }))
    .await;
    let earn_seqs: std::collections::HashSet<i64> =
        earns.into_iter().map(|e| e.unwrap().entry.seq).collect();
    assert_eq!(earn_seqs.len(), 1);

    let spends = futures_join_all((0..8).map(|_| {
        let (db, support) = (db.clone(), support.clone());
        async move { ledger::spend(&db, &support, earning(ann, 50, Some("spend-1"))).await }
    }))
    .await;
    let spend_seqs: std::collections::HashSet<i64> =
        spends.into_iter().map(|s| s.unwrap().entry.seq).collect();
    assert_eq!(spend_seqs.len(), 1);
    let again = ledger::spend(&db, &support, earning(ann, 50, Some("spend-1")))
        .await
        .unwrap();
    assert!(again.replayed);
    let profile = members::get(&db, &support, ann).await.unwrap();
    assert_eq!(profile.available_points, 300 + 100 - 50);
    assert_consistent(&db, f.tenant.id()).await;
}

/// A deduction larger than the balance is refused when filed (it would never apply),
/// and a pending request whose member's balance fell says so.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_deduction_that_could_never_apply_is_not_filed(db: PgPool) {
    let f = fixture(&db).await;
    let support = f.support.access();
    settings::set_approval_threshold(&db, &f.admin.access(), Some(100))
        .await
        .unwrap();
    let ann = member(&db, &support, "ann").await;
    ledger::earn(&db, &support, earning(ann, 300, None))
        .await
        .unwrap();
    let refused = ledger::adjust(&db, &support, adjustment(ann, -5000, Some("k"))).await;
    assert!(
        matches!(
            refused,
            Err(Error::InsufficientPoints {
                available: 300,
                requested: 5000
            })
        ),
        "{refused:?}"
    );
    assert!(approvals::pending(&db, &support).await.unwrap().is_empty());

    let Adjusted::PendingApproval(request) =
        ledger::adjust(&db, &support, adjustment(ann, -250, None))
            .await
            .unwrap()
    else {
        panic!("above the threshold");
    };
    assert!(request.applicable());
    ledger::spend(&db, &support, earning(ann, 100, None))
        .await
        .unwrap();
    let pending = approvals::pending(&db, &support).await.unwrap();
    assert_eq!(pending[0].member_available, 200);
    assert!(
        !pending[0].applicable(),
        "the balance fell below the request"
    );
}

/// A retried reversal returns the original; concurrent reversals of one entry with
/// distinct keys: one posts, every other answer is AlreadyReversed.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn reversals_are_idempotent_and_second_reversals_conflict(db: PgPool) {
    let f = fixture(&db).await;
    let support = f.support.access();
    let ann = member(&db, &support, "ann").await;
    let earned = ledger::earn(&db, &support, earning(ann, 100, None))
        .await
        .unwrap();
    let seq = earned.entry.seq;
    let first = ledger::reverse(&db, &support, ann, seq, "mistake", Some("rev-1".into()))
        .await
        .unwrap();
    let retry = ledger::reverse(&db, &support, ann, seq, "mistake", Some("rev-1".into()))
        .await
        .unwrap();
    assert_eq!(retry.entry.seq, first.entry.seq);
    assert!(retry.replayed);
    let other = ledger::reverse(&db, &support, ann, seq, "mistake", Some("rev-2".into())).await;
    assert!(matches!(
        other,
        Err(Error::Conflict(Conflict::AlreadyReversed))
    ));

    // Concurrently, distinct keys: the balance is used up by the first reversal, and
    // the others must still say AlreadyReversed (not InsufficientPoints).
    let bob = member(&db, &support, "bob").await;
    let earned = ledger::earn(&db, &support, earning(bob, 100, None))
        .await
        .unwrap();
    let answers = futures_join_all((0..8).map(|i| {
        let (db, support) = (db.clone(), support.clone());
        let seq = earned.entry.seq;
        async move {
            ledger::reverse(&db, &support, bob, seq, "mistake", Some(format!("bob-{i}"))).await
        }
    }))
    .await;
    let posted = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(posted, 1, "{answers:?}");
    for answer in &answers {
        assert!(
            matches!(
                answer,
                Ok(_) | Err(Error::Conflict(Conflict::AlreadyReversed))
            ),
            "{answer:?}"
        );
    }
    // Concurrently, one key: every copy gets the same entry.
    let cy = member(&db, &support, "cy").await;
    let earned = ledger::earn(&db, &support, earning(cy, 100, None))
        .await
        .unwrap();
    let answers =
        futures_join_all((0..8).map(|_| {
            let (db, support) = (db.clone(), support.clone());
            let seq = earned.entry.seq;
            async move {
                ledger::reverse(&db, &support, cy, seq, "mistake", Some("cy-rev".into())).await
            }
        }))
        .await;
    let seqs: std::collections::HashSet<i64> =
        answers.into_iter().map(|a| a.unwrap().entry.seq).collect();
    assert_eq!(seqs.len(), 1);
    assert_consistent(&db, f.tenant.id()).await;
}

/// `i64::MIN` has no absolute value: it must not slip past the per-entry maximum or the
/// four-eyes threshold. NUL and other control characters are refused as input.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn extreme_numbers_and_control_characters_are_invalid_input(db: PgPool) {
    let f = fixture(&db).await;
    let support = f.support.access();
    settings::set_approval_threshold(&db, &f.admin.access(), Some(1000))
        .await
        .unwrap();
    let ann = member(&db, &support, "ann").await;
    for points in [i64::MIN, i64::MIN + 1, i64::MAX, -1_000_000_001] {
        let refused = ledger::adjust(&db, &support, adjustment(ann, points, None)).await;
        assert!(
            matches!(
                refused,
                Err(Error::Invalid {
                    field: "points",
                    ..
                })
            ),
            "{points}: {refused:?}"
        );
        for result in [
            ledger::earn(&db, &support, earning(ann, points, None)).await,
            ledger::spend(&db, &support, earning(ann, points, None)).await,
        ] {
            assert!(
                matches!(
                    result,
                    Err(Error::Invalid {
                        field: "points",
                        ..
                    })
                ),
                "{points}: {result:?}"
            );
        }
    }
    let nul = Change {
        reason: Some("a\0b".into()),
        ..adjustment(ann, 10, None)
    };
    assert!(matches!(
        ledger::adjust(&db, &support, nul).await,
        Err(Error::Invalid {
            field: "reason",
            problem: Problem::Format
        })
    ));
    let nul_key = ledger::earn(&db, &support, earning(ann, 10, Some("k\0"))).await;
    assert!(matches!(
        nul_key,
        Err(Error::Invalid {
            field: "idempotency_key",
            ..
        })
    ));
    let nul_name = members::create(
        &db,
        &support,
        MemberInput {
            external_id: "x".into(),
            display_name: "bad\0name".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(nul_name, Err(Error::Invalid { .. })));
    let mut tiers: Vec<TierInput> = levels::list(&db, &f.admin.access())
        .await
        .unwrap()
        .iter()
        .map(TierInput::from)
        .collect();
    tiers[0].name_en = "Bron\0ze".into();
    assert!(matches!(
        levels::preview(&db, &f.admin.access(), &tiers).await,
        Err(Error::Invalid { .. })
    ));
    assert_eq!(
        members::get(&db, &support, ann).await.unwrap().row_version,
        1,
        "nothing was written"
    );
}

/// A tier save commits at once and re-levels in committed batches: levels and
/// permissions follow the new tiers before the job ran; the job stores every level,
/// resumes from its cursor (a restart), and records each move once.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_tier_save_relevels_in_resumable_background_batches(db: PgPool) {
    let f = fixture(&db).await;
    let admin = f.admin.access();
    let mut ids = Vec::new();
    for i in 0..30_i64 {
        let id = member(&db, &admin, &format!("m{i:02}")).await;
        ledger::earn(&db, &admin, earning(id, 500 + i * 20, None))
            .await
            .unwrap();
        ids.push(id);
    }
    // Members at 500..1080: lowering silver to 600 moves the 20 at 600..999 up.
    let mut tiers: Vec<TierInput> = levels::list(&db, &admin)
        .await
        .unwrap()
        .iter()
        .map(TierInput::from)
        .collect();
    tiers[0].max_points = Some(599);
    tiers[1].min_points = 600;
    let preview = levels::preview(&db, &admin, &tiers).await.unwrap();
    let (_, applied) = levels::save(&db, &admin, &tiers).await.unwrap();
    assert_eq!(applied, preview);
    assert_eq!(applied.moved_up, 20);
    // Permissions already follow the new tiers, whatever the stored level is.
    let top = ids[10];
    let effective = domain::tags::permissions::compute(&db, f.tenant.id(), top, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        effective.level.as_ref().map(|l| l.code.as_str()),
        Some("silver")
    );
    // A points change now computes its level from the new tiers.
    let posted = ledger::earn(&db, &admin, earning(ids[0], 100, None))
        .await
        .unwrap();
    assert!(posted.level_change.is_some(), "500 + 100 is silver now");

    // Drive the job in batches of 7 (as after a restart: from the stored cursor).
    loop {
        match levels::relevel_step(&db, f.tenant.id(), 7).await.unwrap() {
            levels::Step::More => {}
            levels::Step::Done => break,
            levels::Step::Busy => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
        }
    }
    let progress = levels::relevel_progress(&db, &admin).await.unwrap();
    assert!(!progress.running);
    assert_eq!(progress.members_done, 30);
    assert!(progress.finished_at.is_some());
    let moves: i64 = sqlx::query_scalar(
        "select count(*) from level_changes where tenant_id = $1 and cause = 'tiers'",
    )
    .bind(f.tenant.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(moves, 20, "the 20 others moved once each by the job");
    assert_consistent(&db, f.tenant.id()).await;
    assert_eq!(levels::run_relevels(&db).await.unwrap(), 0, "nothing left");
}

/// `join_all` without a dependency: spawn every future and await them in order.
async fn futures_join_all<F, T>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// A points change whose transaction began before a tier save committed computed its
/// level from the old tiers; the re-level waits for it (the barrier) so the stored level
/// ends right even when that change commits after the save.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_change_that_read_the_old_tiers_is_relevelled(db: PgPool) {
    let f = fixture(&db).await;
    let admin = f.admin.access();
    let ann = member(&db, &admin, "ann").await;
    ledger::earn(&db, &admin, earning(ann, 2850, None))
        .await
        .unwrap();
    // A points change in flight: +100 to 2950, level computed with the old tiers
    // (silver up to 2999), not yet committed.
    let mut slow = db.begin().await.unwrap();
    sqlx::query(
        "with p as (
           update member_profiles set total_points = total_points + 100,
                  available_points = available_points + 100, ledger_seq = ledger_seq + 1,
                  updated_at = now()
           where tenant_id = $1 and member_id = $2
           returning member_id, ledger_seq, available_points, total_points
         )
         insert into points_ledger (tenant_id, member_id, seq, kind, category, points,
                                    available_before, available_after, total_before, total_after)
         select $1, member_id, ledger_seq, 'earn', 'slow', 100, available_points - 100,
                available_points, total_points - 100, total_points
         from p",
    )
    .bind(f.tenant.id())
    .bind(ann)
    .execute(&mut *slow)
    .await
    .unwrap();
    // The save lowers gold to 2900: 2850 stays silver, 2950 is gold.
    let mut tiers: Vec<TierInput> = levels::list(&db, &admin)
        .await
        .unwrap()
        .iter()
        .map(TierInput::from)
        .collect();
    tiers[1].max_points = Some(2899);
    tiers[2].min_points = 2900;
    levels::save(&db, &admin, &tiers).await.unwrap();
    let finishing = tokio::spawn({
        let db = db.clone();
        let tenant_id = f.tenant.id();
        async move { levels::relevel_until_done(&db, tenant_id).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        levels::relevel_progress(&db, &admin).await.unwrap().running,
        "the re-level waits for the older transaction"
    );
    slow.commit().await.unwrap();
    finishing.await.unwrap().unwrap();
    let profile = members::get(&db, &admin, ann).await.unwrap();
    assert_eq!(
        (profile.total_points, profile.level_code.as_deref()),
        (2950, Some("gold"))
    );
    assert_consistent(&db, f.tenant.id()).await;
}
