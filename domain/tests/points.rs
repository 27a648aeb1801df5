//! The points ledger, levels and four-eyes approvals against a fresh database per test.

use std::collections::HashSet;
use std::sync::Arc;

use domain::members::{self, MemberInput};
use domain::points::ledger::{Adjusted, Change, EntryKind};
use domain::points::levels::{self, TierInput};
use domain::points::{approvals, check, ledger};
use domain::testing::{TestAdmin, TestTenant};
use domain::{Access, Conflict, Error, Role, points::settings};
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use uuid::Uuid;

struct Fixture {
    tenant: TestTenant,
    admin: TestAdmin,
    support: TestAdmin,
}

async fn fixture(db: &PgPool, slug: &str) -> Fixture {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    let admin = tenant.with_admin(db, "boss", Role::TenantAdmin).await;
    let support = tenant.with_admin(db, "sam", Role::Support).await;
    Fixture {
        tenant,
        admin,
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

fn change(member_id: Uuid, points: i64) -> Change {
    Change {
        member_id,
        points,
        category: "purchase".into(),
        ..Default::default()
    }
}

async fn assert_ledger_consistent(db: &PgPool) {
    let violations = check::check(db, None).await.unwrap();
    assert!(violations.is_empty(), "ledger violations: {violations:#?}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn spending_more_than_available_is_refused_and_changes_nothing(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let access = f.support.access();
    let ann = member(&db, &access, "ann").await;
    ledger::earn(&db, &access, change(ann, 300)).await.unwrap();
    let spent = ledger::spend(&db, &access, change(ann, 120)).await.unwrap();
    assert_eq!(
        (spent.entry.available_before, spent.entry.available_after),
        (300, 180)
    );
    assert_eq!(
        (spent.entry.total_before, spent.entry.total_after),
        (300, 300),
        "spending keeps the lifetime total"
    );

    let refused = ledger::spend(&db, &access, change(ann, 181)).await;
    assert!(
        matches!(
            refused,
            Err(Error::InsufficientPoints {
                available: 180,
                requested: 181
            })
        ),
        "{refused:?}"
    );
    let profile = members::get(&db, &access, ann).await.unwrap();
    assert_eq!((profile.available_points, profile.total_points), (180, 300));
    assert_eq!(
        ledger::entries(&db, &access, ann, None, 10)
            .await
            .unwrap()
            .entries
            .len(),
        2
    );
    assert_ledger_consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn level_follows_points_up_and_down(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let access = f.support.access();
    let ann = member(&db, &access, "ann").await;
    assert_eq!(
        members::get(&db, &access, ann)
            .await
            .unwrap()
            .level_code
            .as_deref(),
        Some("bronze")
    );

    let to_silver = ledger::earn(&db, &access, change(ann, 1000)).await.unwrap();
    assert!(to_silver.level_change.is_some());
    assert_eq!(
        members::get(&db, &access, ann)
            .await
            .unwrap()
            .level_code
            .as_deref(),
        Some("silver")
    );
    let to_gold = ledger::earn(&db, &access, change(ann, 2000)).await.unwrap();
    assert_eq!(
        members::get(&db, &access, ann)
            .await
            .unwrap()
            .level_code
            .as_deref(),
        Some("gold")
    );

    // Reversing the last earn takes the member back down across the boundary.
    let reversed = ledger::reverse(&db, &access, ann, to_gold.entry.seq, "entered twice", None)
        .await
        .unwrap();
    assert_eq!(reversed.entry.kind, EntryKind::Reversal);
    assert_eq!(reversed.entry.total_after, 1000);
    let profile = members::get(&db, &access, ann).await.unwrap();
    assert_eq!(
        (profile.level_code.as_deref(), profile.total_points),
        (Some("silver"), 1000)
    );
    let again = ledger::reverse(&db, &access, ann, to_gold.entry.seq, "again", None).await;
    assert!(matches!(
        again,
        Err(Error::Conflict(Conflict::AlreadyReversed))
    ));

    let history = levels::history(&db, &access, ann).await.unwrap();
    let moves: Vec<(Option<&str>, Option<&str>)> = history
        .iter()
        .map(|c| (c.from_code.as_deref(), c.to_code.as_deref()))
        .collect();
    assert_eq!(
        moves,
        [
            (Some("gold"), Some("silver")),
            (Some("silver"), Some("gold")),
            (Some("bronze"), Some("silver"))
        ]
    );
    assert_ledger_consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_retry_with_the_same_key_returns_the_original(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let access = f.support.access();
    let ann = member(&db, &access, "ann").await;
    let keyed = |points| Change {
        idempotency_key: Some("order-17".into()),
        ..change(ann, points)
    };

    let first = ledger::earn(&db, &access, keyed(500)).await.unwrap();
    let retry = ledger::earn(&db, &access, keyed(500)).await.unwrap();
    assert!(retry.replayed && !first.replayed);
    assert_eq!(retry.entry, first.entry);
    let different = ledger::earn(&db, &access, keyed(600)).await;
    assert!(matches!(
        different,
        Err(Error::Conflict(Conflict::IdempotencyKeyReused))
    ));
    // A retried spend that could no longer be afforded still returns its original.
    ledger::spend(
        &db,
        &access,
        Change {
            idempotency_key: Some("redeem-1".into()),
            ..change(ann, 400)
        },
    )
    .await
    .unwrap();
    let retried_spend = ledger::spend(
        &db,
        &access,
        Change {
            idempotency_key: Some("redeem-1".into()),
            ..change(ann, 400)
        },
    )
    .await;
    assert!(retried_spend.unwrap().replayed);
    assert_eq!(
        members::get(&db, &access, ann)
            .await
            .unwrap()
            .available_points,
        100
    );
    assert_ledger_consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn manual_adjustments_need_a_reason_and_viewers_cannot_adjust(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let ann = member(&db, &f.support.access(), "ann").await;
    let viewer = f.tenant.with_admin(&db, "vera", Role::Viewer).await;
    let no_reason = ledger::adjust(&db, &f.support.access(), change(ann, 50)).await;
    assert!(matches!(
        no_reason,
        Err(Error::Invalid {
            field: "reason",
            ..
        })
    ));
    let by_viewer = ledger::adjust(
        &db,
        &viewer.access(),
        Change {
            reason: Some("goodwill".into()),
            ..change(ann, 50)
        },
    )
    .await;
    assert!(matches!(by_viewer, Err(Error::Forbidden)));
    let adjusted = ledger::adjust(
        &db,
        &f.support.access(),
        Change {
            reason: Some("goodwill".into()),
            ..change(ann, 50)
        },
    )
    .await
    .unwrap();
    let Adjusted::Posted(posted) = adjusted else {
        panic!("no threshold set")
    };
    assert!(posted.entry.manual);
    assert_eq!(posted.entry.operator_admin_id, Some(f.support.admin_id));
    assert_ledger_consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn large_adjustments_wait_for_a_second_tenant_admin(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let deputy = f.tenant.with_admin(&db, "deputy", Role::TenantAdmin).await;
    settings::set_approval_threshold(&db, &f.admin.access(), Some(1000))
        .await
        .unwrap();
    let ann = member(&db, &f.support.access(), "ann").await;
    let big = Change {
        reason: Some("migration fix".into()),
        ..change(ann, 5000)
    };

    let Adjusted::PendingApproval(request) =
        ledger::adjust(&db, &f.admin.access(), big).await.unwrap()
    else {
        panic!("above the threshold");
    };
    assert_eq!(
        members::get(&db, &f.admin.access(), ann)
            .await
            .unwrap()
            .total_points,
        0,
        "nothing posted yet"
    );
    let own = approvals::approve(&db, &f.admin.access(), request.request_id).await;
    assert!(matches!(own, Err(Error::Conflict(Conflict::OwnRequest))));
    let by_support = approvals::approve(&db, &f.support.access(), request.request_id).await;
    assert!(matches!(by_support, Err(Error::Forbidden)));

    let posted = approvals::approve(&db, &deputy.access(), request.request_id)
        .await
        .unwrap();
    assert_eq!(posted.entry.points, 5000);
    assert_eq!(posted.entry.operator_admin_id, Some(f.admin.admin_id));
    let profile = members::get(&db, &f.admin.access(), ann).await.unwrap();
    assert_eq!(
        (profile.total_points, profile.level_code.as_deref()),
        (5000, Some("gold"))
    );
    let twice = approvals::reject(&db, &deputy.access(), request.request_id).await;
    assert!(matches!(
        twice,
        Err(Error::Conflict(Conflict::AlreadyDecided))
    ));
    assert!(
        approvals::pending(&db, &f.admin.access())
            .await
            .unwrap()
            .is_empty()
    );

    let small = Change {
        reason: Some("small".into()),
        ..change(ann, 999)
    };
    assert!(matches!(
        ledger::adjust(&db, &f.support.access(), small)
            .await
            .unwrap(),
        Adjusted::Posted(_)
    ));
    assert_ledger_consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_requester_withdraws_their_own_pending_request_and_nobody_else_can(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let deputy = f.tenant.with_admin(&db, "deputy", Role::TenantAdmin).await;
    settings::set_approval_threshold(&db, &f.admin.access(), Some(100))
        .await
        .unwrap();
    let ann = member(&db, &f.support.access(), "ann").await;
    let big = Change {
        reason: Some("goodwill".into()),
        idempotency_key: Some("k-1".into()),
        ..change(ann, 500)
    };
    let Adjusted::PendingApproval(request) = ledger::adjust(&db, &f.support.access(), big.clone())
        .await
        .unwrap()
    else {
        panic!("above the threshold");
    };
    let id = request.request_id;
    assert_eq!(
        approvals::pending_count(&db, &f.admin.access())
            .await
            .unwrap(),
        1
    );
    let on_member = approvals::pending_for_member(&db, &f.admin.access(), ann)
        .await
        .unwrap();
    assert_eq!(on_member.len(), 1);
    assert_eq!(on_member[0].requested_by, f.support.email);

    // Only the requester withdraws; a tenant admin rejects instead.
    assert!(matches!(
        approvals::withdraw(&db, &deputy.access(), id).await,
        Err(Error::Forbidden)
    ));
    let withdrawn = approvals::withdraw(&db, &f.support.access(), id)
        .await
        .unwrap();
    assert_eq!(withdrawn.status, "withdrawn");
    assert_eq!(withdrawn.decided_by, None);
    assert!(withdrawn.decided_at.is_some());
    // Withdrawing again (a retried click) answers the same; deciding it is too late.
    let again = approvals::withdraw(&db, &f.support.access(), id)
        .await
        .unwrap();
    assert_eq!(again, withdrawn);
    assert!(matches!(
        approvals::approve(&db, &deputy.access(), id).await,
        Err(Error::Conflict(Conflict::AlreadyDecided))
    ));
    // A retry of the original submission tells how it ended.
    let Adjusted::PendingApproval(retried) =
        ledger::adjust(&db, &f.support.access(), big).await.unwrap()
    else {
        panic!("the retry answers the request");
    };
    assert_eq!(
        (retried.request_id, retried.status.as_str()),
        (id, "withdrawn")
    );

    assert_eq!(
        approvals::pending_count(&db, &f.admin.access())
            .await
            .unwrap(),
        0
    );
    assert!(
        approvals::pending_for_member(&db, &f.admin.access(), ann)
            .await
            .unwrap()
            .is_empty()
    );
    let decided = approvals::decided(&db, &f.admin.access()).await.unwrap();
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].status, "withdrawn");
    assert_eq!(
        members::get(&db, &f.admin.access(), ann)
            .await
            .unwrap()
            .total_points,
        0,
        "nothing was posted"
    );
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action = 'points.adjust_withdrawn' and target_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // Decided requests show who decided.
    let Adjusted::PendingApproval(second) = ledger::adjust(
        &db,
        &f.support.access(),
        Change {
            reason: Some("second".into()),
            ..change(ann, 300)
        },
    )
    .await
    .unwrap() else {
        panic!("above the threshold");
    };
    approvals::reject(&db, &deputy.access(), second.request_id)
        .await
        .unwrap();
    let decided = approvals::decided(&db, &f.support.access()).await.unwrap();
    assert_eq!(decided[0].request_id, second.request_id);
    assert_eq!(
        decided[0].decided_by.as_deref(),
        Some(deputy.email.as_str())
    );
    assert!(matches!(
        approvals::decided(
            &db,
            &f.tenant
                .with_admin(&db, "vera", Role::Viewer)
                .await
                .access()
        )
        .await,
        Err(Error::Forbidden)
    ));
}

fn as_inputs(tiers: &[levels::Tier]) -> Vec<TierInput> {
    tiers.iter().map(TierInput::from).collect()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn tier_changes_are_validated_and_the_preview_matches_the_result(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let support = f.support.access();
    for (id, points) in [
        ("a", 0),
        ("b", 1500),
        ("c", 2500),
        ("d", 5000),
        ("e", 40000),
    ] {
        let member_id = member(&db, &support, id).await;
        if points > 0 {
            ledger::earn(&db, &support, change(member_id, points))
                .await
                .unwrap();
        }
    }
    let access = f.admin.access();
    let current = as_inputs(&levels::list(&db, &access).await.unwrap());
    let index = |code: &str| current.iter().position(|t| t.code == code).unwrap();
    let (silver, gold) = (index("silver"), index("gold"));

    let mut overlap = current.clone();
    overlap[silver].max_points = Some(3500);
    let refused = levels::preview(&db, &access, &overlap).await;
    assert!(
        matches!(&refused, Err(Error::Tiers(levels::TierProblem::Overlap { first, second })) if first == "silver" && second == "gold"),
        "{refused:?}"
    );
    let mut gap = current.clone();
    gap[silver].max_points = Some(1999);
    assert!(matches!(
        levels::save(&db, &access, &gap).await,
        Err(Error::Tiers(levels::TierProblem::Gap { after, from: 2000, to: 2999 })) if after == "silver"
    ));
    let missing: Vec<TierInput> = current
        .iter()
        .filter(|t| t.code != "gold")
        .cloned()
        .collect();
    assert!(matches!(
        levels::preview(&db, &access, &missing).await,
        Err(Error::Tiers(levels::TierProblem::MissingTier { code })) if code == "gold"
    ));

    // Move the silver/gold boundary down to 2000: the member at 2500 moves up.
    let mut boundary = current.clone();
    boundary[silver].max_points = Some(1999);
    boundary[gold].min_points = 2000;
    let preview = levels::preview(&db, &access, &boundary).await.unwrap();
    assert_eq!(
        (preview.moved_up, preview.moved_down, preview.unchanged),
        (1, 0, 4)
    );
    let (_, applied) = levels::save(&db, &access, &boundary).await.unwrap();
    assert_eq!(
        applied, preview,
        "the preview counts are what applying does"
    );
    levels::relevel_until_done(&db, f.tenant.id())
        .await
        .unwrap();
    let c = members::search(
        &db,
        &access,
        members::Search {
            text: Some("c".into()),
            page_size: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(c.members[0].level_code.as_deref(), Some("gold"));

    // And back up to 4000: now the member at 2500 moves down again.
    let mut back = as_inputs(&levels::list(&db, &access).await.unwrap());
    back[silver].max_points = Some(3999);
    back[gold].min_points = 4000;
    let preview = levels::preview(&db, &access, &back).await.unwrap();
    assert_eq!((preview.moved_up, preview.moved_down), (0, 1));
    assert_eq!(levels::save(&db, &access, &back).await.unwrap().1, preview);
    assert_ledger_consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn members_of_another_tenant_are_not_found(db: PgPool) {
    let acme = fixture(&db, "acme").await;
    let globex = fixture(&db, "globex").await;
    let theirs = member(&db, &globex.support.access(), "g1").await;
    let access = acme.admin.access();
    assert!(matches!(
        members::get(&db, &access, theirs).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        ledger::earn(&db, &access, change(theirs, 10)).await,
        Err(Error::NotFound { .. })
    ));
    let adjust = ledger::adjust(
        &db,
        &access,
        Change {
            reason: Some("x".into()),
            ..change(theirs, 10)
        },
    )
    .await;
    assert!(matches!(adjust, Err(Error::NotFound { .. })), "{adjust:?}");
    let entries = ledger::entries(&db, &access, theirs, None, 10).await;
    assert!(matches!(entries, Err(Error::NotFound { .. })));
    let found = members::search(
        &db,
        &access,
        members::Search {
            text: Some("g1".into()),
            page_size: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(found.members.is_empty());
    let edit = members::MemberEdit {
        external_id: "stolen".into(),
        display_name: "x".into(),
        ..Default::default()
    };
    assert!(
        members::update(&db, &access, theirs, 1, edit)
            .await
            .is_err()
    );
    assert_eq!(
        members::get(&db, &globex.admin.access(), theirs)
            .await
            .unwrap()
            .external_id,
        "g1"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn concurrent_earns_spends_and_retries_keep_every_invariant(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let access = Arc::new(f.support.access());
    let mut members_ids = Vec::new();
    for i in 0..4 {
        members_ids.push(member(&db, &access, &format!("m{i}")).await);
    }
    let members_ids = Arc::new(members_ids);
    let mut tasks = Vec::new();
    for task in 0..16u64 {
        let (db, access, members_ids) = (db.clone(), access.clone(), members_ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(task);
            let mut succeeded = HashSet::new();
            for op in 0..40 {
                let member_id = members_ids[rng.gen_range(0..members_ids.len())];
                // Keys are shared across tasks on purpose: concurrent retries collide.
                let key = format!("k{}", rng.gen_range(0..200));
                let earn = rng.gen_bool(0.55);
                let points = rng.gen_range(1..400);
                let change = Change {
                    member_id,
                    points,
                    category: if earn { "earn".into() } else { "spend".into() },
                    idempotency_key: (op % 3 != 0).then(|| key.clone()),
                    ..Default::default()
                };
                let result = if earn {
                    ledger::earn(&db, &access, change).await
                } else {
                    ledger::spend(&db, &access, change).await
                };
                match result {
                    Ok(posted) if !posted.replayed => {
                        if let Some(key) = posted.entry.idempotency_key {
                            assert!(succeeded.insert(key), "a key posted twice by one task");
                        }
                    }
                    Ok(_) => {}
                    Err(
                        Error::InsufficientPoints { .. }
                        | Error::Conflict(Conflict::IdempotencyKeyReused),
                    ) => {}
                    Err(other) => panic!("unexpected error: {other:?}"),
                }
            }
            succeeded
        }));
    }
    let mut all_keys = HashSet::new();
    for task in tasks {
        for key in task.await.unwrap() {
            assert!(
                all_keys.insert(key),
                "one idempotency key created two entries"
            );
        }
    }
    assert_ledger_consistent(&db).await;
    let keyed: i64 =
        sqlx::query_scalar("select count(*) from points_ledger where idempotency_key is not null")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(keyed as usize, all_keys.len(), "retries created nothing");
    let negative: i64 =
        sqlx::query_scalar("select count(*) from member_profiles where available_points < 0")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(negative, 0);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_demo_seed_has_consistent_ledgers(db: PgPool) {
    domain::demo::seed(&db).await.unwrap();
    assert_ledger_consistent(&db).await;
    let members: i64 = sqlx::query_scalar("select count(*) from member_profiles")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        members,
        domain::demo::DEMO_MEMBERS + domain::demo::DEMO_MEMBERS / 10
    );
    let levels: i64 =
        sqlx::query_scalar("select count(distinct level_tier_id) from member_profiles")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(
        levels >= 8,
        "every tier of both tenants has members: {levels}"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_ledger_refuses_edits_and_the_check_finds_damage(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let access = f.support.access();
    let ann = member(&db, &access, "ann").await;
    ledger::earn(&db, &access, change(ann, 100)).await.unwrap();
    ledger::earn(&db, &access, change(ann, 50)).await.unwrap();
    assert_ledger_consistent(&db).await;

    let edit = sqlx::query("update points_ledger set reason = 'edited' where member_id = $1")
        .bind(ann)
        .execute(&db)
        .await;
    assert!(edit.is_err(), "the ledger is append-only");
    let delete = sqlx::query("delete from points_ledger where member_id = $1")
        .bind(ann)
        .execute(&db)
        .await;
    assert!(delete.is_err(), "the ledger is append-only");

    // Damage made behind the domain's back (trigger disabled, as only an owner could)
    // is found by the check, rule by rule.
    let damage = [
        "alter table points_ledger disable trigger points_ledger_append_only",
        "update points_ledger set available_before = available_before + 5, available_after = available_after + 5 where seq = 2",
        "update member_profiles set total_points = total_points + 1",
        "update member_profiles set level_tier_id = (select tier_id from level_tiers where code = 'diamond')",
    ];
    for statement in damage {
        sqlx::query(statement).execute(&db).await.unwrap();
    }
    let violations = check::check(&db, Some(f.tenant.id())).await.unwrap();
    let rules: HashSet<&str> = violations.iter().map(|v| v.rule.as_str()).collect();
    assert_eq!(
        rules,
        HashSet::from(["entry chain", "profile balances", "level"]),
        "{violations:#?}"
    );
    assert!(
        violations
            .iter()
            .all(|v| v.member_external_id == "ann" && v.tenant_slug == "acme")
    );
}

/// Every order of the member list pages forwards and back by keyset without losing or
/// repeating anyone, ties included (equal points, equal names), within the search and
/// the tenant; a forged cursor is a clear 422.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn member_lists_sort_by_each_column_and_page_both_ways(db: PgPool) {
    use domain::members::{Search, Sort, SortColumn};
    let f = fixture(&db, "acme").await;
    let access = f.support.access();
    let globex = fixture(&db, "globex").await;
    member(&db, &globex.support.access(), "g-intruder").await;
    // Points and names with ties: 9 members.
    let people = [
        ("m1", "Zhang", 500),
        ("m2", "li", 100),
        ("m3", "Li", 100),
        ("m4", "Wang", 0),
        ("m5", "zhang", 900),
        ("m6", "Chen", 100),
        ("m7", "Ann", 500),
        ("m8", "wang", 0),
        ("m9", "Bo", 2500),
    ];
    for (id, name, points) in people {
        let input = MemberInput {
            external_id: id.into(),
            display_name: name.into(),
            ..Default::default()
        };
        let created = members::create(&db, &access, input).await.unwrap();
        if points > 0 {
            ledger::earn(&db, &access, change(created.member_id, points))
                .await
                .unwrap();
        }
    }
    let read_all = |sort: Option<Sort>, text: Option<&str>| {
        let (db, access) = (db.clone(), access.clone());
        let text = text.map(str::to_owned);
        async move {
            let search = |after: Option<String>, before: Option<String>| Search {
                text: text.clone(),
                sort,
                after,
                before,
                page_size: 2,
                ..Default::default()
            };
            let mut pages: Vec<Vec<String>> = Vec::new();
            let mut after = None;
            loop {
                let page = members::search(&db, &access, search(after.clone(), None))
                    .await
                    .unwrap();
                pages.push(page.members.iter().map(|m| m.external_id.clone()).collect());
                match page.next_after {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            // And back from the last page to the first, by `before`.
            let mut back: Vec<Vec<String>> = Vec::new();
            let mut before = {
                let mut last = None;
                let mut after = None;
                for _ in 0..pages.len() {
                    let page = members::search(&db, &access, search(after.clone(), None))
                        .await
                        .unwrap();
                    last = page.prev_before.clone();
                    after = page.next_after;
                }
                last
            };
            while let Some(cursor) = before {
                let page = members::search(&db, &access, search(None, Some(cursor)))
                    .await
                    .unwrap();
                back.push(page.members.iter().map(|m| m.external_id.clone()).collect());
                before = page.prev_before;
            }
            (pages, back)
        }
    };
    let sort = |column, descending| Some(Sort { column, descending });
    let expected: [(Option<Sort>, &[&str]); 5] = [
        (
            None,
            &["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"],
        ),
        (
            sort(SortColumn::TotalPoints, true),
            &["m9", "m5", "m7", "m1", "m6", "m3", "m2", "m8", "m4"],
        ),
        (
            sort(SortColumn::TotalPoints, false),
            &["m4", "m8", "m2", "m3", "m6", "m1", "m7", "m5", "m9"],
        ),
        (
            sort(SortColumn::DisplayName, false),
            &["m7", "m9", "m6", "m2", "m3", "m4", "m8", "m1", "m5"],
        ),
        (
            sort(SortColumn::RegisteredAt, true),
            &["m9", "m8", "m7", "m6", "m5", "m4", "m3", "m2", "m1"],
        ),
    ];
    for (order, want) in expected {
        let (pages, back) = read_all(order, None).await;
        let flat: Vec<String> = pages.iter().flatten().cloned().collect();
        assert_eq!(flat, want, "{order:?}");
        // Back from the last page: every earlier page, in reverse.
        let mut earlier: Vec<Vec<String>> = pages[..pages.len() - 1].to_vec();
        earlier.reverse();
        assert_eq!(back, earlier, "{order:?}");
    }
    // Within a search: "zhang" matches m1 and m5 (case-insensitive), by points.
    let (pages, _) = read_all(sort(SortColumn::TotalPoints, true), Some("zhang")).await;
    assert_eq!(pages.concat(), ["m5", "m1"]);
    // A cursor that is not one: 422 naming the field, never a 500.
    for cursor in [
        "not json",
        "[\"x\",\"m1\"]",
        "[1,2,3]",
        "[\"2026-13-01\",\"m1\"]",
    ] {
        let column = if cursor.contains("2026") {
            SortColumn::RegisteredAt
        } else {
            SortColumn::TotalPoints
        };
        let result = members::search(
            &db,
            &access,
            Search {
                sort: sort(column, true),
                after: Some(cursor.into()),
                page_size: 2,
                ..Default::default()
            },
        )
        .await;
        assert!(
            matches!(result, Err(Error::Invalid { field: "after", .. })),
            "{cursor}: {result:?}"
        );
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn members_are_found_by_any_part_of_id_name_or_email_and_paged_both_ways(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let access = f.support.access();
    for (id, name, email) in [
        ("a1", "Zhang Wei", "zw@x.test"),
        ("a2", "Wang Fang", "wf@x.test"),
        ("b1", "Li Na", "ln@x.test"),
    ] {
        let input = MemberInput {
            external_id: id.into(),
            display_name: name.into(),
            email: Some(email.into()),
            ..Default::default()
        };
        members::create(&db, &access, input).await.unwrap();
    }
    let find = |text: &str| {
        let search = members::Search {
            text: Some(text.into()),
            page_size: 10,
            ..Default::default()
        };
        let (db, access) = (db.clone(), access.clone());
        async move {
            members::search(&db, &access, search)
                .await
                .unwrap()
                .members
                .into_iter()
                .map(|m| m.external_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find("A").await,
        ["a1", "a2"],
        "external id prefix, case-insensitive"
    );
    assert_eq!(find("wang").await, ["a2"], "name prefix");
    assert_eq!(find("LN@").await, ["b1"], "email prefix");
    assert_eq!(
        find("%").await,
        Vec::<String>::new(),
        "wildcards are literal"
    );
    let first = members::search(
        &db,
        &access,
        members::Search {
            page_size: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(first.next_after.as_deref(), Some("a2"));
    let rest = members::search(
        &db,
        &access,
        members::Search {
            page_size: 2,
            after: first.next_after,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        rest.members
            .iter()
            .map(|m| m.external_id.as_str())
            .collect::<Vec<_>>(),
        ["b1"]
    );
    assert!(rest.next_after.is_none());
    assert_eq!(first.total, 3);
    assert_eq!(
        first.prev_before, None,
        "the first page has no previous page"
    );
    // Back from the second page to the first.
    assert_eq!(rest.prev_before.as_deref(), Some("b1"));
    let back = members::search(
        &db,
        &access,
        members::Search {
            page_size: 2,
            before: rest.prev_before,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        back.members
            .iter()
            .map(|m| m.external_id.as_str())
            .collect::<Vec<_>>(),
        ["a1", "a2"]
    );
    assert_eq!(
        (back.prev_before, back.next_after.as_deref()),
        (None, Some("a2"))
    );
    // From three characters on, any part of the id, name or email matches.
    assert_eq!(find("fang").await, ["a2"], "inside a name");
    assert_eq!(find("x.test").await, ["a1", "a2", "b1"], "inside an email");
    assert_eq!(
        find("ei").await,
        Vec::<String>::new(),
        "two letters: prefix only"
    );
}

/// A text search reads the next members in order first and falls back to the trigram
/// indexes when they hold no full page: both must give the pages a plain scan gives,
/// forwards and backwards, with and without a level, whether most members match
/// (`example`: every email) or few.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn text_search_pages_equal_a_plain_scan_whether_few_or_most_match(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let access = f.support.access();
    let mut conn = db.acquire().await.unwrap();
    // More members than the first attempt reads, so both paths answer.
    let count = members::SEARCH_WALK_ROWS + 1_000;
    domain::demo::seed_members(&mut conn, f.tenant.id(), count)
        .await
        .unwrap();
    for (text, level) in [
        ("example", None),
        ("example", Some("silver")),
        ("wang", None),
        ("0042", None),
        ("m0029", None),
        ("member2999@", None),
        ("王伟", None),
        ("nobody", None),
    ] {
        let pattern = if text.chars().count() >= 3 {
            format!("%{text}%")
        } else {
            format!("{text}%")
        };
        let expected: Vec<String> = sqlx::query_scalar(
            "select p.external_id from member_profiles p
             left join level_tiers t on t.tenant_id = p.tenant_id and t.tier_id = p.level_tier_id
             where p.tenant_id = $1
               and (lower(p.external_id) like $2 or lower(p.display_name) like $2 or lower(p.email) like $2)
               and ($3::text is null or t.code = $3)
             order by p.external_id",
        )
        .bind(f.tenant.id())
        .bind(&pattern)
        .bind(level)
        .fetch_all(&db)
        .await
        .unwrap();
        let search = |after: Option<String>, before: Option<String>| members::Search {
            text: Some(text.into()),
            level_code: level.map(str::to_owned),
            sort: None,
            after,
            before,
            page_size: 100,
        };
        let mut found = Vec::new();
        let mut after = None;
        let last_page = loop {
            let page = members::search(&db, &access, search(after, None))
                .await
                .unwrap();
            assert_eq!(page.total, expected.len() as i64, "{text} {level:?}");
            found.extend(page.members.iter().map(|m| m.external_id.clone()));
            after = page.next_after.clone();
            if after.is_none() {
                break page;
            }
        };
        assert_eq!(found, expected, "{text} {level:?} forwards");
        // One page back from the last page: the hundred before it.
        if let Some(before) = last_page.prev_before {
            let back = members::search(&db, &access, search(None, Some(before.clone())))
                .await
                .unwrap();
            let at = expected.iter().position(|id| *id == before).unwrap();
            let want = &expected[at.saturating_sub(100)..at];
            let got: Vec<String> = back.members.into_iter().map(|m| m.external_id).collect();
            assert_eq!(got, want, "{text} {level:?} backwards");
        }
    }
}
