//! Tags, grant lifecycle with a manual clock, effective permissions and the permission
//! cache across two processes (two pools with their own caches), against a fresh
//! database per test.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::clock::{Clock, ManualClock, SharedClock};
use domain::members::{self, MemberInput};
use domain::points::ledger::{self, Change};
use domain::points::levels;
use domain::tags::grants::{self, GrantInput, Method};
use domain::tags::permissions::{self, GrantState, PermissionCache, SourceKind};
use domain::tags::{self, TagInput};
use domain::testing::{TestAdmin, TestTenant};
use domain::{Access, Conflict, Error, Role};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
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

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

async fn member(db: &PgPool, access: &Access, external_id: &str) -> Uuid {
    let input = MemberInput {
        external_id: external_id.into(),
        display_name: external_id.into(),
        ..Default::default()
    };
    members::create(db, access, input).await.unwrap().member_id
}

fn vip() -> TagInput {
    TagInput {
        code: "vip".into(),
        name_zh: "VIP用户".into(),
        name_en: "VIP".into(),
        category: "payment".into(),
        permissions: vec!["vip.support".into(), "api_access".into()],
        max_licenses: 0,
        max_licenses_boost: 2,
        default_term_days: Some(30),
        grace_days: 7,
        auto_renew: false,
        renew_from: "expiry".into(),
        active: true,
    }
}

fn grant_input(member_id: Uuid, tag_id: Uuid) -> GrantInput {
    GrantInput {
        member_id,
        tag_id,
        reason: "bought VIP".into(),
        ..Default::default()
    }
}

async fn status(db: &PgPool, grant_id: Uuid) -> String {
    sqlx::query_scalar("select status from tag_grants where grant_id = $1")
        .bind(grant_id)
        .fetch_one(db)
        .await
        .unwrap()
}

async fn events(db: &PgPool, grant_id: Uuid) -> Vec<(String, String)> {
    sqlx::query_as("select kind, cause from grant_events where grant_id = $1 order by event_id")
        .bind(grant_id)
        .fetch_all(db)
        .await
        .unwrap()
}

async fn outbox_topics(db: &PgPool, tenant_id: Uuid) -> Vec<String> {
    sqlx::query_scalar("select topic from outbox_events where tenant_id = $1 order by event_id")
        .bind(tenant_id)
        .fetch_all(db)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn tags_are_validated_and_codes_unique_per_tenant(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let other = fixture(&db, "globex").await;
    let admin = f.admin.access();
    tags::create(&db, &admin, vip()).await.unwrap();
    let again = tags::create(&db, &admin, vip()).await.unwrap_err();
    assert!(matches!(again, Error::Conflict(Conflict::TagCodeTaken)));
    // The same code in another tenant is fine.
    tags::create(&db, &other.admin.access(), vip())
        .await
        .unwrap();
    for (bad, field) in [
        (
            TagInput {
                code: "Not OK!".into(),
                ..vip()
            },
            "code",
        ),
        (
            TagInput {
                category: "nonsense".into(),
                ..vip()
            },
            "category",
        ),
        (
            TagInput {
                auto_renew: true,
                default_term_days: None,
                ..vip()
            },
            "default_term_days",
        ),
        (
            TagInput {
                permissions: vec!["has space".into()],
                ..vip()
            },
            "permissions",
        ),
        (
            TagInput {
                grace_days: -1,
                ..vip()
            },
            "grace_days",
        ),
    ] {
        let error = tags::create(&db, &admin, bad).await.unwrap_err();
        assert!(
            matches!(error, Error::Invalid { field: f, .. } if f == field),
            "{field}: {error:?}"
        );
    }
    // Support staff may read, not edit.
    let support = f.support.access();
    assert_eq!(tags::list(&db, &support).await.unwrap().len(), 1);
    assert!(matches!(
        tags::create(
            &db,
            &support,
            TagInput {
                code: "edu".into(),
                ..vip()
            }
        )
        .await,
        Err(Error::Forbidden)
    ));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn grant_moves_through_grace_to_expired_and_reminds_once(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let clock = ManualClock::new(start());
    let tag_id = tags::create(&db, &admin, vip()).await.unwrap();
    let alice = member(&db, &admin, "alice").await;
    let grant_id = grants::grant(
        &db,
        &f.support.access(),
        clock.now(),
        Method::Manual,
        grant_input(alice, tag_id),
    )
    .await
    .unwrap();
    let has_vip = |now| {
        let db = db.clone();
        let tenant_id = f.tenant.id();
        async move {
            permissions::compute(&db, tenant_id, alice, now)
                .await
                .unwrap()
                .has("vip.support")
        }
    };
    assert!(has_vip(clock.now()).await);

    // 25 days in: within the default 7-day reminder window; reminded once only.
    clock.advance(Duration::days(25));
    let run = grants::run_lifecycle(&db, clock.now(), 100).await.unwrap();
    assert_eq!(run.reminded, 1);
    let run = grants::run_lifecycle(&db, clock.now(), 100).await.unwrap();
    assert_eq!(run.total(), 0, "no second reminder");

    // Day 31: expired, in grace, still conferring privileges.
    clock.advance(Duration::days(6));
    let run = grants::run_lifecycle(&db, clock.now(), 100).await.unwrap();
    assert_eq!(run.graced, 1);
    assert_eq!(status(&db, grant_id).await, "grace");
    assert!(has_vip(clock.now()).await);
    let listed = grants::for_member(&db, &admin, clock.now(), alice)
        .await
        .unwrap();
    assert_eq!(listed[0].state, GrantState::Grace);

    // Day 38: past the grace period. Privileges end with it even before the job runs.
    clock.advance(Duration::days(7));
    assert!(!has_vip(clock.now()).await);
    let run = grants::run_lifecycle(&db, clock.now(), 100).await.unwrap();
    assert_eq!(run.expired, 1);
    assert_eq!(status(&db, grant_id).await, "expired");
    assert_eq!(
        events(&db, grant_id).await,
        [
            ("granted".to_owned(), "console".to_owned()),
            ("reminder".to_owned(), "job".to_owned()),
            ("grace".to_owned(), "job".to_owned()),
            ("expired".to_owned(), "job".to_owned()),
        ]
    );
    assert_eq!(
        outbox_topics(&db, f.tenant.id()).await,
        ["tag.granted", "tag.expiring", "tag.grace", "tag.expired"]
    );
    // Ended grants cannot be revoked; the tag can be granted again.
    let revoke = grants::revoke(&db, &admin, clock.now(), grant_id, "late").await;
    assert!(matches!(revoke, Err(Error::Conflict(Conflict::GrantEnded))));
    grants::grant(
        &db,
        &admin,
        clock.now(),
        Method::Purchase,
        grant_input(alice, tag_id),
    )
    .await
    .unwrap();
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn auto_renewing_grants_renew_instead_of_expiring(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let clock = ManualClock::new(start());
    let from_expiry = tags::create(
        &db,
        &admin,
        TagInput {
            auto_renew: true,
            ..vip()
        },
    )
    .await
    .unwrap();
    let from_now = tags::create(
        &db,
        &admin,
        TagInput {
            code: "edu".into(),
            auto_renew: true,
            renew_from: "now".into(),
            ..vip()
        },
    )
    .await
    .unwrap();
    let alice = member(&db, &admin, "alice").await;
    let a = grants::grant(
        &db,
        &admin,
        clock.now(),
        Method::Purchase,
        grant_input(alice, from_expiry),
    )
    .await
    .unwrap();
    let b = grants::grant(
        &db,
        &admin,
        clock.now(),
        Method::Purchase,
        grant_input(alice, from_now),
    )
    .await
    .unwrap();
    // The job runs two days late: one renews from the old expiry, one from now.
    clock.advance(Duration::days(32));
    let run = grants::run_lifecycle(&db, clock.now(), 100).await.unwrap();
    assert_eq!(run.renewed, 2);
    assert_eq!(run.expired + run.graced + run.reminded, 0);
    let listed = grants::for_member(&db, &admin, clock.now(), alice)
        .await
        .unwrap();
    let expiry = |id| {
        listed
            .iter()
            .find(|g| g.grant_id == id)
            .unwrap()
            .expires_at
            .unwrap()
    };
    assert_eq!(expiry(a), start() + Duration::days(60));
    assert_eq!(expiry(b), clock.now() + Duration::days(30));
    assert!(listed.iter().all(|g| g.state == GrantState::Active));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn two_workers_make_each_transition_once(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let now = start();
    let tag_id = tags::create(&db, &admin, vip()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..60 {
        let member_id = member(&db, &admin, &format!("m{i:03}")).await;
        ids.push(
            grants::grant(
                &db,
                &admin,
                now,
                Method::Migration,
                grant_input(member_id, tag_id),
            )
            .await
            .unwrap(),
        );
    }
    // Everything is due at once (reminder, then grace); two workers with small batches.
    for later in [Duration::days(25), Duration::days(31), Duration::days(40)] {
        let at = now + later;
        let worker = |db: PgPool| async move {
            let mut total = grants::LifecycleRun::default();
            loop {
                let run = grants::run_lifecycle(&db, at, 7).await.unwrap();
                if run.total() == 0 {
                    return total;
                }
                total.reminded += run.reminded;
                total.graced += run.graced;
                total.expired += run.expired;
                total.renewed += run.renewed;
            }
        };
        let (one, two) = tokio::join!(worker(db.clone()), worker(db.clone()));
        let sum = one.total() + two.total();
        assert_eq!(sum, 60, "each grant moved exactly once at +{later}");
    }
    let counts: Vec<(String, i64)> =
        sqlx::query_as("select kind, count(*) from grant_events group by kind order by kind")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        counts,
        [
            ("expired".to_owned(), 60),
            ("grace".to_owned(), 60),
            ("granted".to_owned(), 60),
            ("reminder".to_owned(), 60),
        ]
    );
    let reminders: i64 =
        sqlx::query_scalar("select count(*) from outbox_events where topic = 'tag.expiring'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(reminders, 60);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn effective_permissions_combine_level_and_tags_with_sources(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let clock: SharedClock = ManualClock::new(start());
    let vip_id = tags::create(&db, &admin, vip()).await.unwrap();
    let enterprise = tags::create(
        &db,
        &admin,
        TagInput {
            code: "enterprise".into(),
            category: "business".into(),
            permissions: vec!["batch_operations".into()],
            max_licenses: 20,
            max_licenses_boost: 1,
            default_term_days: None,
            ..vip()
        },
    )
    .await
    .unwrap();
    let alice = member(&db, &admin, "alice").await;
    // Gold: license_request + api_access, 5 licenses (default tiers).
    ledger::earn(
        &db,
        &admin,
        Change {
            member_id: alice,
            points: 3500,
            category: "purchase".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let before = permissions::effective(&db, &admin, &clock, alice)
        .await
        .unwrap();
    let level_licenses = before.quota(permissions::MAX_LICENSES);
    assert_eq!(before.level.as_ref().unwrap().code, "gold");
    assert!(before.has("api_access") && !before.has("vip.support"));

    for tag_id in [vip_id, enterprise] {
        grants::grant(
            &db,
            &admin,
            clock.now(),
            Method::Manual,
            grant_input(alice, tag_id),
        )
        .await
        .unwrap();
    }
    let after = permissions::effective(&db, &admin, &clock, alice)
        .await
        .unwrap();
    let sources = |key: &str| -> Vec<String> {
        after
            .permissions
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.sources.iter().map(|s| s.code.clone()).collect())
            .unwrap_or_default()
    };
    // A permission from both the level and a tag lists both sources.
    assert_eq!(sources("api_access"), ["gold", "vip"]);
    assert_eq!(sources("vip.support"), ["vip"]);
    assert_eq!(sources("batch_operations"), ["enterprise"]);
    // max(level, floors) + boosts = max(5, 20) + 2 + 1.
    assert!(level_licenses < 20);
    assert_eq!(after.quota(permissions::MAX_LICENSES), 20 + 2 + 1);
    let vip_source = &after
        .permissions
        .iter()
        .find(|p| p.key == "vip.support")
        .unwrap()
        .sources[0];
    assert_eq!(vip_source.kind, SourceKind::Tag);
    assert_eq!(vip_source.until, Some(start() + Duration::days(30)));
    assert_eq!(after.valid_until, Some(start() + Duration::days(30)));

    // Another tenant sees none of it.
    let other = fixture(&db, "globex").await;
    let error = permissions::effective(&db, &other.admin.access(), &clock, alice)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }));
}

/// A second "server process": its own pool and its own cache node.
async fn node(db: &PgPool, clock: SharedClock) -> (PgPool, Arc<PermissionCache>) {
    let options = db.connect_options().as_ref().clone();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    let cache = PermissionCache::new(clock, 10_000);
    cache.start(pool.clone(), "test node".into());
    (pool, cache)
}

async fn until_serving(cache: &PermissionCache) {
    for _ in 0..200 {
        if cache.stats().serving {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    panic!("cache node did not start serving");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn revocation_and_downgrade_reach_every_cache_before_returning(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let clock: SharedClock = Arc::new(domain::clock::SystemClock);
    let (pool_a, cache_a) = node(&db, clock.clone()).await;
    let (pool_b, cache_b) = node(&db, clock.clone()).await;
    until_serving(&cache_a).await;
    until_serving(&cache_b).await;

    let tag_id = tags::create(&db, &admin, vip()).await.unwrap();
    let alice = member(&db, &admin, "alice").await;
    let check = |cache: Arc<PermissionCache>, pool: PgPool, key: &'static str| {
        let admin = admin.clone();
        async move { cache.check(&pool, &admin, alice, key).await.unwrap() }
    };

    for round in 0..20 {
        // Grant through process A; both caches fill (B's first answer is cached).
        let grant_id = grants::grant(
            &pool_a,
            &admin,
            clock.now(),
            Method::Manual,
            grant_input(alice, tag_id),
        )
        .await
        .unwrap();
        for _ in 0..3 {
            assert!(check(cache_a.clone(), pool_a.clone(), "vip.support").await);
            assert!(check(cache_b.clone(), pool_b.clone(), "vip.support").await);
        }
        // Revoke through A: the moment it returns, B must not answer from its cache.
        grants::revoke(&pool_a, &admin, clock.now(), grant_id, "refund")
            .await
            .unwrap();
        assert!(
            !check(cache_b.clone(), pool_b.clone(), "vip.support").await,
            "stale answer in the other process, round {round}"
        );
        assert!(!check(cache_a.clone(), pool_a.clone(), "vip.support").await);
    }
    let stats = cache_b.stats();
    assert!(stats.hits > 0, "the cache was used: {stats:?}");
    assert!(stats.invalidations > 0);

    // A downgrade (a reversal of the points that made the member gold) through B.
    let posted = ledger::earn(
        &pool_b,
        &admin,
        Change {
            member_id: alice,
            points: 3500,
            category: "purchase".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(check(cache_a.clone(), pool_a.clone(), "api_access").await);
    assert!(check(cache_a.clone(), pool_a.clone(), "api_access").await);
    ledger::reverse(&pool_b, &admin, alice, posted.entry.seq, "chargeback", None)
        .await
        .unwrap();
    assert!(!check(cache_a.clone(), pool_a.clone(), "api_access").await);

    // A tier edit (tenant-wide) through A: bronze gains a permission; B sees it at once.
    assert!(!check(cache_b.clone(), pool_b.clone(), "bronze.extra").await);
    let mut tiers: Vec<levels::TierInput> = levels::list(&db, &admin)
        .await
        .unwrap()
        .iter()
        .map(levels::TierInput::from)
        .collect();
    tiers[0].permissions.push("bronze.extra".into());
    levels::save(&pool_a, &admin, &tiers).await.unwrap();
    assert!(check(cache_b.clone(), pool_b.clone(), "bronze.extra").await);

    // A tag edit (tenant-wide) through B reaches A.
    grants::grant(
        &pool_a,
        &admin,
        clock.now(),
        Method::Manual,
        grant_input(alice, tag_id),
    )
    .await
    .unwrap();
    assert!(check(cache_a.clone(), pool_a.clone(), "vip.support").await);
    let tag = tags::get(&db, &admin, tag_id).await.unwrap();
    tags::update(
        &pool_b,
        &admin,
        tag_id,
        tag.row_version,
        TagInput {
            permissions: vec!["vip.lounge".into()],
            ..vip()
        },
    )
    .await
    .unwrap();
    assert!(!check(cache_a.clone(), pool_a.clone(), "vip.support").await);
    assert!(check(cache_a.clone(), pool_a.clone(), "vip.lounge").await);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_cache_entry_ends_when_the_grant_does(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let manual = ManualClock::new(start());
    let clock: SharedClock = manual.clone();
    let (pool, cache) = node(&db, clock.clone()).await;
    until_serving(&cache).await;
    let tag_id = tags::create(
        &db,
        &admin,
        TagInput {
            grace_days: 0,
            ..vip()
        },
    )
    .await
    .unwrap();
    let alice = member(&db, &admin, "alice").await;
    grants::grant(
        &db,
        &admin,
        clock.now(),
        Method::Manual,
        grant_input(alice, tag_id),
    )
    .await
    .unwrap();
    assert!(
        cache
            .check(&pool, &admin, alice, "vip.support")
            .await
            .unwrap()
    );
    assert!(
        cache
            .check(&pool, &admin, alice, "vip.support")
            .await
            .unwrap()
    );
    // No job has run and nothing was written: the entry still ends at expiry.
    manual.advance(Duration::days(30));
    assert!(
        !cache
            .check(&pool, &admin, alice, "vip.support")
            .await
            .unwrap()
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn renew_extends_from_expiry_and_needs_a_reason(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let now = start();
    let tag_id = tags::create(&db, &admin, vip()).await.unwrap();
    let alice = member(&db, &admin, "alice").await;
    let grant_id = grants::grant(&db, &admin, now, Method::Manual, grant_input(alice, tag_id))
        .await
        .unwrap();
    // An expiry beyond any term (here: chrono's last year) is refused, not stored.
    let far = GrantInput {
        expires_at: Some(DateTime::<Utc>::MAX_UTC - Duration::days(1)),
        ..grant_input(alice, tag_id)
    };
    let refused = grants::grant(&db, &admin, now, Method::Manual, far).await;
    assert!(matches!(
        refused,
        Err(Error::Invalid {
            field: "expires_at",
            ..
        })
    ));
    let again = grants::grant(&db, &admin, now, Method::Manual, grant_input(alice, tag_id)).await;
    assert!(matches!(
        again,
        Err(Error::Conflict(Conflict::TagAlreadyHeld))
    ));
    let blank = grants::renew(&db, &admin, now, grant_id, "  ").await;
    assert!(matches!(
        blank,
        Err(Error::Invalid {
            field: "reason",
            ..
        })
    ));
    let renewed = grants::renew(&db, &admin, now, grant_id, "loyalty")
        .await
        .unwrap();
    assert_eq!(renewed, now + Duration::days(60));
    // Viewers cannot grant; another tenant cannot touch the grant.
    let viewer = f.tenant.with_admin(&db, "vic", Role::Viewer).await;
    assert!(matches!(
        grants::revoke(&db, &viewer.access(), now, grant_id, "x").await,
        Err(Error::Forbidden)
    ));
    let other = fixture(&db, "globex").await;
    assert!(matches!(
        grants::revoke(&db, &other.admin.access(), now, grant_id, "x").await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(status(&db, grant_id).await, "active");
    let expiring = grants::expiring(&db, &admin, now + Duration::days(50), 30)
        .await
        .unwrap();
    assert_eq!(expiring.len(), 1);
    assert!(
        grants::expiring(&db, &other.admin.access(), now, 366)
            .await
            .unwrap()
            .is_empty()
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_node_that_loses_its_listener_never_answers_stale(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let clock: SharedClock = Arc::new(domain::clock::SystemClock);
    let (pool, cache) = node(&db, clock.clone()).await;
    until_serving(&cache).await;
    let tag_id = tags::create(&db, &admin, vip()).await.unwrap();
    let alice = member(&db, &admin, "alice").await;
    let grant_id = grants::grant(
        &db,
        &admin,
        clock.now(),
        Method::Manual,
        grant_input(alice, tag_id),
    )
    .await
    .unwrap();
    assert!(
        cache
            .check(&pool, &admin, alice, "vip.support")
            .await
            .unwrap()
    );
    // Cut the node's listening connection (a network failure, a restarted pooler).
    let killed: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and query ilike 'listen%'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(!killed.is_empty());
    grants::revoke(&db, &admin, clock.now(), grant_id, "refund")
        .await
        .unwrap();
    assert!(
        !cache
            .check(&pool, &admin, alice, "vip.support")
            .await
            .unwrap()
    );
    // It rejoins and serves from its cache again.
    until_serving(&cache).await;
    assert!(
        !cache
            .check(&pool, &admin, alice, "vip.support")
            .await
            .unwrap()
    );
}

/// A tier save re-levels members while points changes move levels: both take a
/// member's profile before the tenant's cache epoch, so neither deadlocks the other.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn tier_saves_and_level_moves_do_not_deadlock(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let admin = f.admin.access();
    let mut members_ids = Vec::new();
    for i in 0..40 {
        members_ids.push(member(&db, &admin, &format!("m{i:02}")).await);
    }
    let earner = |db: PgPool, admin: Access, ids: Vec<Uuid>| async move {
        for round in 0..15 {
            for id in &ids {
                // 990 + 10·k crosses bronze/silver (1000) on the way up.
                ledger::earn(
                    &db,
                    &admin,
                    Change {
                        member_id: *id,
                        points: 10 + round,
                        category: "purchase".into(),
                        ..Default::default()
                    },
                )
                .await
                .expect("earn during tier saves");
            }
        }
    };
    let saver = |db: PgPool, admin: Access| async move {
        for i in 0..6 {
            let mut tiers: Vec<levels::TierInput> = levels::list(&db, &admin)
                .await
                .unwrap()
                .iter()
                .map(levels::TierInput::from)
                .collect();
            // Move the bronze/silver boundary back and forth.
            let boundary = if i % 2 == 0 { 100 } else { 1000 };
            tiers[0].max_points = Some(boundary - 1);
            tiers[1].min_points = boundary;
            levels::save(&db, &admin, &tiers)
                .await
                .expect("tier save during earns");
        }
    };
    let (a, b) = members_ids.split_at(20);
    tokio::join!(
        earner(db.clone(), admin.clone(), a.to_vec()),
        earner(db.clone(), admin.clone(), b.to_vec()),
        saver(db.clone(), admin.clone()),
    );
    let violations = domain::points::check::check(&db, None).await.unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
}
