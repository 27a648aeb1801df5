//! Licenses against a fresh database per test: plans and issuing, the quota and
//! activation races (≥ 50 contenders each, on their own connections), validation codes
//! for each state under a manual clock, over quota after a downgrade and after a tag
//! expires, transfers keeping history, the lifecycle job with two workers, and the SQL
//! quota function against the Rust quota rule.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::licenses::{
    self, Action, Code, IssueInput, LicenseEdit, LicenseFilter, LicenseState, PlanInput, devices,
    lifecycle, seats,
};
use domain::members::{self, MemberInput};
use domain::points::ledger::{self, Change};
use domain::points::levels;
use domain::tags::grants::{self, GrantInput, Method};
use domain::tags::permissions::{self, MAX_LICENSES};
use domain::tags::{self, TagInput};
use domain::testing::{TestAdmin, TestTenant};
use domain::{Access, Conflict, Error, Role};
use model::licenses::{ActivateInput, AssignInput, ValidateInput};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

struct Fixture {
    tenant: TestTenant,
    admin: TestAdmin,
    support: TestAdmin,
    viewer: TestAdmin,
}

async fn fixture(db: &PgPool, slug: &str) -> Fixture {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    // Default tiers: bronze (0–999 points) 1 license, silver 5, gold (3000+) 10.
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    Fixture {
        admin: tenant.with_admin(db, "boss", Role::TenantAdmin).await,
        support: tenant.with_admin(db, "sam", Role::Support).await,
        viewer: tenant.with_admin(db, "vic", Role::Viewer).await,
        tenant,
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

async fn earn(db: &PgPool, access: &Access, member_id: Uuid, points: i64) -> i64 {
    ledger::earn(
        db,
        access,
        Change {
            member_id,
            points,
            category: "purchase".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .entry
    .seq
}

fn plan(code: &str, activations: i32, days: Option<i32>) -> PlanInput {
    PlanInput {
        code: code.into(),
        name_zh: format!("{code} 方案"),
        name_en: format!("{code} plan"),
        default_max_activations: activations,
        default_validity_days: days,
        active: true,
    }
}

async fn issue(db: &PgPool, f: &Fixture, plan_id: Uuid, count: i32, now: DateTime<Utc>) {
    licenses::issue(
        db,
        &f.admin.access(),
        now,
        IssueInput {
            plan_id,
            count,
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

async fn free_license(db: &PgPool, f: &Fixture, plan_id: Uuid, now: DateTime<Utc>) -> Uuid {
    licenses::list(
        db,
        &f.admin.access(),
        now,
        &LicenseFilter {
            plan_id: Some(plan_id),
            state: Some(LicenseState::Free),
            limit: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .licenses[0]
        .license_id
}

/// A pool of its own, so that contenders really run on separate connections.
async fn wide_pool(db: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(60)
        .connect_with(db.connect_options().as_ref().clone())
        .await
        .unwrap()
}

/// The license invariants hold (seats, devices, holders).
async fn consistent(db: &PgPool) {
    let violations = licenses::check::check(db, None).await.unwrap();
    assert!(violations.is_empty(), "{violations:?}");
}

async fn count(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn plans_are_checked_and_seats_issued_with_readable_unique_keys(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let now = start();
    let admin = f.admin.access();
    let plan_id = licenses::create_plan(&db, &admin, plan("pro", 3, Some(365)))
        .await
        .unwrap();
    let again = licenses::create_plan(&db, &admin, plan("pro", 1, None)).await;
    assert!(matches!(
        again,
        Err(Error::Conflict(Conflict::LicensePlanCodeTaken))
    ));
    let bad = licenses::create_plan(&db, &admin, plan("bad", 0, None)).await;
    assert!(matches!(
        bad,
        Err(Error::Invalid {
            field: "default_max_activations",
            ..
        })
    ));
    // Support and viewers do not manage plans or issue seats.
    assert!(matches!(
        licenses::create_plan(&db, &f.support.access(), plan("x", 1, None)).await,
        Err(Error::Forbidden)
    ));
    let refused = licenses::issue(
        &db,
        &f.support.access(),
        now,
        IssueInput {
            plan_id,
            count: 1,
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(refused, Err(Error::Forbidden)));
    for count in [0, -1, 10_001] {
        let refused = licenses::issue(
            &db,
            &admin,
            now,
            IssueInput {
                plan_id,
                count,
                ..Default::default()
            },
        )
        .await;
        assert!(matches!(
            refused,
            Err(Error::Invalid { field: "count", .. })
        ));
    }
    let issued = licenses::issue(
        &db,
        &admin,
        now,
        IssueInput {
            plan_id,
            count: 120,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(issued.count, 120);
    assert_eq!(issued.first_keys.len(), 20);
    // The plan's limits are copied onto each license.
    let page = licenses::list(&db, &f.viewer.access(), now, &LicenseFilter::default())
        .await
        .unwrap();
    assert_eq!(page.licenses.len(), 50);
    let first = &page.licenses[0];
    assert_eq!(first.max_activations, 3);
    assert_eq!(first.expires_at, Some(now + Duration::days(365)));
    assert_eq!(first.state, LicenseState::Free);
    let key = regex_like_key(&first.license_key);
    assert!(key, "{}", first.license_key);
    // Keyset paging visits every license once, in key order.
    let mut seen = HashSet::new();
    let mut after = None;
    loop {
        let page = licenses::list(
            &db,
            &admin,
            now,
            &LicenseFilter {
                after: after.clone(),
                limit: Some(50),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        for license in &page.licenses {
            assert!(seen.insert(license.license_key.clone()));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 120);
    // A key prefix, typed in lower case without its dash, finds the license.
    let typed: String = first.license_key[..7].replace('-', "").to_ascii_lowercase();
    let found = licenses::list(
        &db,
        &admin,
        now,
        &LicenseFilter {
            key_prefix: Some(typed),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        found
            .licenses
            .iter()
            .any(|l| l.license_key == first.license_key)
    );
    let malformed = licenses::list(
        &db,
        &admin,
        now,
        &LicenseFilter {
            key_prefix: Some("UUU".into()),
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(
        malformed,
        Err(Error::Invalid {
            field: "key_prefix",
            ..
        })
    ));
    // Another tenant sees none of it.
    let other = fixture(&db, "globex").await;
    let theirs = licenses::list(&db, &other.admin.access(), now, &LicenseFilter::default())
        .await
        .unwrap();
    assert!(theirs.licenses.is_empty());
    let detail = licenses::detail(&db, &other.admin.access(), now, first.license_id).await;
    assert!(matches!(detail, Err(Error::NotFound { .. })));
}

fn regex_like_key(key: &str) -> bool {
    let groups: Vec<&str> = key.split('-').collect();
    groups.len() == 4
        && groups.iter().all(|g| {
            g.len() == 5
                && g.bytes()
                    .all(|b| model::licenses::KEY_ALPHABET.contains(&b))
        })
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn fifty_assignments_racing_for_a_members_last_unit_of_quota_have_one_winner(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let now = start();
    let admin = f.admin.access();
    let plan_id = licenses::create_plan(&db, &admin, plan("pro", 2, None))
        .await
        .unwrap();
    issue(&db, &f, plan_id, 60, now).await;
    let alice = member(&db, &admin, "alice").await;
    // Silver by points; alice takes all but the last unit of her quota first.
    earn(&db, &admin, alice, 1500).await;
    let quota = seats::member_licenses(&db, &admin, now, alice)
        .await
        .unwrap()
        .quota
        .value;
    assert!(quota >= 2);
    for _ in 0..quota - 1 {
        seats::assign(
            &db,
            &f.support.access(),
            now,
            AssignInput {
                member_id: alice,
                plan_id: Some(plan_id),
                license_id: None,
            },
        )
        .await
        .unwrap();
    }
    let pool = wide_pool(&db).await;
    // Half ask for any seat of the plan, half for a named free license.
    let mut named = Vec::new();
    for license in licenses::list(
        &db,
        &admin,
        now,
        &LicenseFilter {
            state: Some(LicenseState::Free),
            limit: Some(25),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .licenses
    {
        named.push(license.license_id);
    }
    let mut tasks = Vec::new();
    for i in 0..50 {
        let pool = pool.clone();
        let access = f.support.access();
        let license_id = named.get(i / 2).copied().filter(|_| i % 2 == 1);
        tasks.push(tokio::spawn(async move {
            seats::assign(
                &pool,
                &access,
                now,
                AssignInput {
                    member_id: alice,
                    plan_id: Some(plan_id),
                    license_id,
                },
            )
            .await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(assigned) => {
                won += 1;
                assert_eq!((assigned.held, assigned.quota), (quota, quota));
            }
            Err(Error::Conflict(Conflict::LicenseQuotaReached { held, quota: q }))
                if held == quota && q == quota => {}
            // The winner took the very license this contender named.
            Err(Error::Conflict(Conflict::SameHolder)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let held = licenses::list(
        &db,
        &admin,
        now,
        &LicenseFilter {
            member: Some("alice".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(held.licenses.len() as i64, quota);
    assert_eq!(
        count(
            &db,
            "select count(*) from license_assignments where ended_at is null"
        )
        .await,
        quota
    );
    assert_eq!(
        count(&db, "select sum(held)::bigint from member_license_use").await,
        quota
    );
    consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn fifty_members_racing_for_the_last_free_license_have_one_winner(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let now = start();
    let admin = f.admin.access();
    let plan_id = licenses::create_plan(&db, &admin, plan("pro", 2, None))
        .await
        .unwrap();
    issue(&db, &f, plan_id, 1, now).await;
    let last = free_license(&db, &f, plan_id, now).await;
    let mut people = Vec::new();
    for i in 0..50 {
        people.push(member(&db, &admin, &format!("m{i:02}")).await);
    }
    let pool = wide_pool(&db).await;
    // Every contender asks for a seat of the plan; half name the license itself.
    let tasks: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(i, &member_id)| {
            let pool = pool.clone();
            let access = f.support.access();
            tokio::spawn(async move {
                seats::assign(
                    &pool,
                    &access,
                    now,
                    AssignInput {
                        member_id,
                        plan_id: Some(plan_id),
                        license_id: (i % 2 == 0).then_some(last),
                    },
                )
                .await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(assigned) => {
                won += 1;
                assert_eq!(assigned.license_id, last);
            }
            Err(Error::Conflict(Conflict::NoFreeLicense | Conflict::LicenseHeld)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(
        count(&db, "select count(*) from license_assignments").await,
        1
    );
    assert_eq!(
        count(
            &db,
            "select coalesce(sum(held), 0)::bigint from member_license_use"
        )
        .await,
        1
    );
    consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn fifty_devices_racing_for_the_last_activation_slot_have_one_winner(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let now = start();
    let admin = f.admin.access();
    let plan_id = licenses::create_plan(&db, &admin, plan("pro", 3, None))
        .await
        .unwrap();
    issue(&db, &f, plan_id, 1, now).await;
    let license_id = free_license(&db, &f, plan_id, now).await;
    let alice = member(&db, &admin, "alice").await;
    seats::assign(
        &db,
        &f.support.access(),
        now,
        AssignInput {
            member_id: alice,
            license_id: Some(license_id),
            plan_id: None,
        },
    )
    .await
    .unwrap();
    for device in ["laptop", "phone"] {
        devices::activate(
            &db,
            &f.support.access(),
            now,
            ActivateInput {
                license_id,
                fingerprint: device.into(),
                device_name: None,
            },
        )
        .await
        .unwrap();
    }
    let pool = wide_pool(&db).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let pool = pool.clone();
            let access = f.support.access();
            tokio::spawn(async move {
                devices::activate(
                    &pool,
                    &access,
                    now,
                    ActivateInput {
                        license_id,
                        fingerprint: format!("device-{i}"),
                        device_name: Some(format!("Device {i}")),
                    },
                )
                .await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(activated) => {
                won += 1;
                assert!(activated.created);
                assert_eq!(activated.activations, 3);
            }
            Err(Error::Conflict(Conflict::LicenseUnusable(Code::TooManyActivations))) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(
        count(
            &db,
            "select count(*) from license_activations where deactivated_at is null"
        )
        .await,
        3
    );
    // Refusals changed nothing: no events or outbox rows beyond the three activations.
    assert_eq!(
        count(
            &db,
            "select count(*) from license_events where kind = 'activated'"
        )
        .await,
        3
    );

    // The same device 50 times at once: one activation, the same answer for all.
    devices::deactivate(
        &db,
        &f.support.access(),
        now,
        licenses::detail(&db, &admin, now, license_id)
            .await
            .unwrap()
            .activations
            .iter()
            .find(|a| a.fingerprint == "phone")
            .unwrap()
            .activation_id,
    )
    .await
    .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let pool = pool.clone();
            let access = f.support.access();
            tokio::spawn(async move {
                devices::activate(
                    &pool,
                    &access,
                    now,
                    ActivateInput {
                        license_id,
                        fingerprint: "tablet".into(),
                        device_name: None,
                    },
                )
                .await
                .unwrap()
            })
        })
        .collect();
    let mut ids = HashSet::new();
    let mut created = 0;
    for task in tasks {
        let activated = task.await.unwrap();
        ids.insert(activated.activation_id);
        created += usize::from(activated.created);
    }
    assert_eq!((ids.len(), created), (1, 1));
    assert_eq!(
        count(&db, "select activations::bigint from licenses").await,
        3
    );
    consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn validation_answers_a_stable_code_for_each_state(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let mut now = start();
    let admin = f.admin.access();
    let viewer = f.viewer.access();
    let plan_id = licenses::create_plan(&db, &admin, plan("pro", 2, Some(30)))
        .await
        .unwrap();
    issue(&db, &f, plan_id, 1, now).await;
    let license_id = free_license(&db, &f, plan_id, now).await;
    let key = licenses::detail(&db, &admin, now, license_id)
        .await
        .unwrap()
        .license
        .license_key;
    let check = |key: String, fingerprint: Option<&str>| ValidateInput {
        license_key: key,
        fingerprint: fingerprint.map(str::to_owned),
    };
    let code = |v: model::licenses::Validation| v.code;
    assert_eq!(
        code(
            devices::validate(
                &db,
                &viewer,
                now,
                &check("00000-00000-00000-00000".into(), None)
            )
            .await
            .unwrap()
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            devices::validate(&db, &viewer, now, &check(key.clone(), None))
                .await
                .unwrap()
        ),
        Code::NotAssigned
    );
    let alice = member(&db, &admin, "alice").await;
    seats::assign(
        &db,
        &f.support.access(),
        now,
        AssignInput {
            member_id: alice,
            license_id: Some(license_id),
            plan_id: None,
        },
    )
    .await
    .unwrap();
    // Activating a device is refused for nobody's license, and works for alice's.
    let valid = devices::validate(&db, &viewer, now, &check(key.to_lowercase(), None))
        .await
        .unwrap();
    assert!(valid.valid);
    assert_eq!(valid.code, Code::Valid);
    assert_eq!(
        code(
            devices::validate(&db, &viewer, now, &check(key.clone(), Some("laptop")))
                .await
                .unwrap()
        ),
        Code::FingerprintNotActivated
    );
    for device in ["laptop", "phone"] {
        devices::activate(
            &db,
            &f.support.access(),
            now,
            ActivateInput {
                license_id,
                fingerprint: device.into(),
                device_name: None,
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(
        code(
            devices::validate(&db, &viewer, now, &check(key.clone(), Some("laptop")))
                .await
                .unwrap()
        ),
        Code::Valid
    );
    let last_validated: Option<DateTime<Utc>> =
        sqlx::query_scalar("select last_validated_at from licenses")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(last_validated, Some(now));
    // A person checking the key in the console gets the same answer, unrecorded.
    let checked = devices::check(
        &db,
        &viewer,
        now + Duration::hours(1),
        &check(key.clone(), Some("laptop")),
    )
    .await
    .unwrap();
    assert_eq!(checked.code, Code::Valid);
    let still: Option<DateTime<Utc>> = sqlx::query_scalar("select last_validated_at from licenses")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(still, Some(now));
    // Lowering the limit keeps both devices: too many activations until one goes.
    let version = licenses::detail(&db, &admin, now, license_id)
        .await
        .unwrap()
        .license
        .row_version;
    licenses::edit(
        &db,
        &admin,
        now,
        LicenseEdit {
            license_id,
            max_activations: 1,
            expires_at: Some(now + Duration::days(30)),
            row_version: version,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        code(
            devices::validate(&db, &viewer, now, &check(key.clone(), Some("laptop")))
                .await
                .unwrap()
        ),
        Code::TooManyActivations
    );
    licenses::act(
        &db,
        &admin,
        now,
        license_id,
        Action::Suspend,
        "unpaid invoice",
    )
    .await
    .unwrap();
    assert_eq!(
        code(
            devices::validate(&db, &viewer, now, &check(key.clone(), Some("laptop")))
                .await
                .unwrap()
        ),
        Code::Suspended
    );
    // A suspended license refuses activation and changes nothing.
    let refused = devices::activate(
        &db,
        &f.support.access(),
        now,
        ActivateInput {
            license_id,
            fingerprint: "desk".into(),
            device_name: None,
        },
    )
    .await;
    assert!(matches!(
        refused,
        Err(Error::Conflict(Conflict::LicenseUnusable(Code::Suspended)))
    ));
    licenses::act(&db, &admin, now, license_id, Action::Reinstate, "paid")
        .await
        .unwrap();
    // Expiry is decided from the date at the moment of the question (no job ran).
    now += Duration::days(30);
    assert_eq!(
        code(
            devices::validate(&db, &viewer, now, &check(key.clone(), Some("laptop")))
                .await
                .unwrap()
        ),
        Code::Expired
    );
    now -= Duration::days(1);
    licenses::act(&db, &admin, now, license_id, Action::Revoke, "fraud")
        .await
        .unwrap();
    let revoked = devices::validate(&db, &viewer, now, &check(key.clone(), Some("laptop")))
        .await
        .unwrap();
    assert_eq!((revoked.valid, revoked.code), (false, Code::Revoked));
    // Revoking freed alice's quota and ended her devices; it cannot be undone.
    let mine = seats::member_licenses(&db, &viewer, now, alice)
        .await
        .unwrap();
    assert_eq!(mine.held, 0);
    assert!(mine.licenses.is_empty());
    assert!(
        licenses::detail(&db, &admin, now, license_id)
            .await
            .unwrap()
            .activations
            .iter()
            .all(|a| a.deactivate_reason.as_deref() == Some("revoked"))
    );
    assert!(matches!(
        licenses::act(&db, &admin, now, license_id, Action::Reinstate, "oops").await,
        Err(Error::Conflict(Conflict::LicenseRevoked))
    ));
    // Validation is tenant-scoped: another tenant's key is not found.
    let other = fixture(&db, "globex").await;
    assert_eq!(
        code(
            devices::validate(&db, &other.viewer.access(), now, &check(key, None))
                .await
                .unwrap()
        ),
        Code::NotFound
    );
    consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn quota_going_down_takes_nothing_and_lists_the_member_as_over_quota(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let now = start();
    let admin = f.admin.access();
    let support = f.support.access();
    let plan_id = licenses::create_plan(&db, &admin, plan("pro", 2, None))
        .await
        .unwrap();
    issue(&db, &f, plan_id, 20, now).await;
    let vip_id = tags::create(
        &db,
        &admin,
        TagInput {
            code: "vip".into(),
            name_zh: "VIP".into(),
            name_en: "VIP".into(),
            category: "payment".into(),
            max_licenses_boost: 2,
            default_term_days: Some(30),
            renew_from: "expiry".into(),
            active: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // alice: silver (5) by points; bob: bronze (1) + VIP boost 2 = 3, VIP for 30 days.
    let alice = member(&db, &admin, "alice").await;
    let seq = earn(&db, &admin, alice, 1500).await;
    let bob = member(&db, &admin, "bob").await;
    grants::grant(
        &db,
        &support,
        now,
        Method::Manual,
        GrantInput {
            member_id: bob,
            tag_id: vip_id,
            reason: "bought VIP".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for member_id in [alice, bob] {
        for _ in 0..3 {
            seats::assign(
                &db,
                &support,
                now,
                AssignInput {
                    member_id,
                    plan_id: Some(plan_id),
                    license_id: None,
                },
            )
            .await
            .unwrap();
        }
    }
    assert!(
        seats::over_quota(&db, &admin, now, None, 50)
            .await
            .unwrap()
            .is_empty()
    );
    // Alice's purchase is reversed: bronze, quota 1. Bob's VIP ends (30 days, no grace).
    ledger::reverse(&db, &admin, alice, seq, "chargeback", None)
        .await
        .unwrap();
    let later = now + Duration::days(31);
    let over = seats::over_quota(&db, &f.viewer.access(), later, None, 50)
        .await
        .unwrap();
    let summary: Vec<(&str, i64, i64)> = over
        .iter()
        .map(|o| (o.external_id.as_str(), o.held, o.quota))
        .collect();
    assert_eq!(summary, vec![("alice", 3, 1), ("bob", 3, 1)]);
    let report = licenses::report(&db, &f.viewer.access(), later)
        .await
        .unwrap();
    assert_eq!(report.over_quota, 2);
    // They keep every seat, and cannot receive another.
    let mine = seats::member_licenses(&db, &support, later, alice)
        .await
        .unwrap();
    assert_eq!(
        (mine.held, mine.quota.value, mine.licenses.len()),
        (3, 1, 3)
    );
    let refused = seats::assign(
        &db,
        &support,
        later,
        AssignInput {
            member_id: alice,
            plan_id: Some(plan_id),
            license_id: None,
        },
    )
    .await;
    assert!(matches!(
        refused,
        Err(Error::Conflict(Conflict::LicenseQuotaReached {
            held: 3,
            quota: 1
        }))
    ));
    // Twenty releases racing on alice (3 held, quota 1): exactly two seats go, the rest
    // are refused once she is within her quota.
    let pool = wide_pool(&db).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (pool, support) = (pool.clone(), support.clone());
            tokio::spawn(async move {
                seats::release_one(&pool, &support, later, alice, "over quota after downgrade")
                    .await
            })
        })
        .collect();
    let mut released = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => released += 1,
            Err(Error::Conflict(Conflict::NotOverQuota { held: 1, quota: 1 })) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(released, 2);
    let over = seats::over_quota(&db, &admin, later, None, 50)
        .await
        .unwrap();
    assert_eq!(over.len(), 1);
    assert_eq!(over[0].external_id, "bob");
    // Unassigning needs a reason.
    let no_reason = seats::unassign(&db, &support, later, mine.licenses[2].license_id, " ").await;
    assert!(matches!(
        no_reason,
        Err(Error::Invalid {
            field: "reason",
            ..
        })
    ));
    consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_sql_quota_agrees_with_the_rust_quota_rule(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let now = start();
    let admin = f.admin.access();
    let support = f.support.access();
    let mut tag_ids = Vec::new();
    for (code, floor, boost, term, grace, auto) in [
        ("vip", 0, 2, Some(30), 7, false),
        ("edu", 4, 0, None, 0, false),
        ("ent", 6, 1, Some(10), 0, true),
    ] {
        tag_ids.push(
            tags::create(
                &db,
                &admin,
                TagInput {
                    code: code.into(),
                    name_zh: code.into(),
                    name_en: code.into(),
                    category: "business".into(),
                    max_licenses: floor,
                    max_licenses_boost: boost,
                    default_term_days: term,
                    grace_days: grace,
                    auto_renew: auto,
                    renew_from: "expiry".into(),
                    active: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        );
    }
    let mut people = Vec::new();
    for (i, points) in [0_i64, 1500, 5000, 800, 20_000, 3100]
        .into_iter()
        .enumerate()
    {
        let member_id = member(&db, &admin, &format!("m{i}")).await;
        if points > 0 {
            earn(&db, &admin, member_id, points).await;
        }
        for (t, tag_id) in tag_ids.iter().enumerate() {
            if (i + t) % 2 == 0 {
                grants::grant(
                    &db,
                    &support,
                    now - Duration::days(i as i64 * 5),
                    Method::Manual,
                    GrantInput {
                        member_id,
                        tag_id: *tag_id,
                        reason: "test".into(),
                        starts_at: Some(now - Duration::days(i as i64 * 5)),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            }
        }
        people.push(member_id);
    }
    // Over time grants pass their expiry, then their grace.
    for days in [0, 8, 20, 33, 40] {
        let at = now + Duration::days(days);
        for &member_id in &people {
            let rust = permissions::compute(&db, f.tenant.id(), member_id, at)
                .await
                .unwrap()
                .quota(MAX_LICENSES);
            let sql: i64 = sqlx::query_scalar("select license_quota($1, $2, $3)")
                .bind(f.tenant.id())
                .bind(member_id)
                .bind(at)
                .fetch_one(&db)
                .await
                .unwrap();
            assert_eq!(sql, rust, "member {member_id} at +{days} days");
        }
        // The set-based over-quota function applies the same rule: every member holds
        // one seat more than the quota says (written directly: the gate would refuse).
        sqlx::query("delete from member_license_use")
            .execute(&db)
            .await
            .unwrap();
        sqlx::query(
            "insert into member_license_use (tenant_id, member_id, held)
             select $1, m, license_quota($1, m, $2) + 1 from unnest($3::uuid[]) m",
        )
        .bind(f.tenant.id())
        .bind(at)
        .bind(&people)
        .execute(&db)
        .await
        .unwrap();
        let over: i64 = sqlx::query_scalar(
            "select count(*) from license_over_quota($1, $2) o
             where o.held = license_quota($1, o.member_id, $2) + 1",
        )
        .bind(f.tenant.id())
        .bind(at)
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(over, people.len() as i64, "at +{days} days");
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_transfer_moves_the_seat_and_keeps_the_history(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let now = start();
    let admin = f.admin.access();
    let support = f.support.access();
    let plan_id = licenses::create_plan(&db, &admin, plan("pro", 3, None))
        .await
        .unwrap();
    issue(&db, &f, plan_id, 2, now).await;
    let alice = member(&db, &admin, "alice").await;
    let bob = member(&db, &admin, "bob").await;
    let assigned = seats::assign(
        &db,
        &support,
        now,
        AssignInput {
            member_id: alice,
            plan_id: Some(plan_id),
            license_id: None,
        },
    )
    .await
    .unwrap();
    let license_id = assigned.license_id;
    for device in ["laptop", "phone"] {
        devices::activate(
            &db,
            &support,
            now,
            ActivateInput {
                license_id,
                fingerprint: device.into(),
                device_name: Some(format!("Alice's {device}")),
            },
        )
        .await
        .unwrap();
    }
    // A viewer cannot transfer; a transfer needs a reason; not to the same holder.
    assert!(matches!(
        seats::transfer(&db, &f.viewer.access(), now, license_id, bob, "moved").await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        seats::transfer(&db, &support, now, license_id, bob, "").await,
        Err(Error::Invalid {
            field: "reason",
            ..
        })
    ));
    assert!(matches!(
        seats::transfer(&db, &support, now, license_id, alice, "same").await,
        Err(Error::Conflict(Conflict::SameHolder))
    ));
    let later = now + Duration::hours(1);
    let moved = seats::transfer(&db, &support, later, license_id, bob, "alice left the team")
        .await
        .unwrap();
    assert_eq!(moved.held, 1);
    // Someone who still saw alice as the holder cannot move or take the seat now.
    let stale =
        seats::transfer_held(&db, &support, later, license_id, Some(alice), alice, "back").await;
    assert!(matches!(
        stale,
        Err(Error::Conflict(Conflict::StaleVersion))
    ));
    let stale = seats::unassign_held(&db, &support, later, license_id, Some(alice), "gone").await;
    assert!(matches!(
        stale,
        Err(Error::Conflict(Conflict::StaleVersion))
    ));
    let detail = licenses::detail(&db, &admin, later, license_id)
        .await
        .unwrap();
    assert_eq!(detail.license.member_id, Some(bob));
    assert_eq!(detail.license.activations, 0);
    assert_eq!(detail.activations.len(), 2);
    assert!(
        detail
            .activations
            .iter()
            .all(|a| a.member_id == alice && a.deactivate_reason.as_deref() == Some("transferred"))
    );
    let kinds: Vec<(Uuid, Option<&str>)> = detail
        .assignments
        .iter()
        .map(|a| (a.member_id, a.end_kind.as_deref()))
        .collect();
    assert_eq!(kinds, vec![(bob, None), (alice, Some("transferred"))]);
    assert!(detail.events.iter().any(|e| e.kind == "transferred"));
    let alices = seats::member_licenses(&db, &support, later, alice)
        .await
        .unwrap();
    assert_eq!(alices.held, 0);
    assert_eq!(alices.history.len(), 1);
    // Bob's new device counts from zero.
    devices::activate(
        &db,
        &support,
        later,
        ActivateInput {
            license_id,
            fingerprint: "bob-pc".into(),
            device_name: None,
        },
    )
    .await
    .unwrap();
    // Audit rows and outbox events for the whole story.
    let audited = count(
        &db,
        "select count(*) from audit_log where action like 'license.%'",
    )
    .await;
    assert!(audited >= 5, "{audited}");
    let topics: Vec<String> =
        sqlx::query_scalar("select topic from outbox_events order by event_id")
            .fetch_all(&db)
            .await
            .unwrap();
    for topic in [
        "license.issued",
        "license.assigned",
        "license.activated",
        "license.transferred",
    ] {
        assert!(topics.iter().any(|t| t == topic), "{topic}: {topics:?}");
    }
    // Another tenant cannot touch any of it.
    let other = fixture(&db, "globex").await;
    assert!(matches!(
        seats::unassign(&db, &other.support.access(), later, license_id, "mine").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        seats::assign(
            &db,
            &other.support.access(),
            later,
            AssignInput {
                member_id: alice,
                plan_id: Some(plan_id),
                license_id: None,
            },
        )
        .await,
        Err(Error::NotFound { .. })
    ));
    consistent(&db).await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_lifecycle_job_records_each_expiry_and_reminder_once_with_two_workers(db: PgPool) {
    let f = fixture(&db, "acme").await;
    let now = start();
    let admin = f.admin.access();
    let plan_id = licenses::create_plan(&db, &admin, plan("pro", 1, Some(10)))
        .await
        .unwrap();
    issue(&db, &f, plan_id, 30, now).await;
    for i in 0..30 {
        let member_id = member(&db, &admin, &format!("m{i:02}")).await;
        earn(&db, &admin, member_id, 3500).await;
        seats::assign(
            &db,
            &f.support.access(),
            now,
            AssignInput {
                member_id,
                plan_id: Some(plan_id),
                license_id: None,
            },
        )
        .await
        .unwrap();
    }
    // The tenant's lead time is 7 days: reminders from day 3, expiry on day 10.
    let pool = wide_pool(&db).await;
    let run = |at: DateTime<Utc>| {
        let a = pool.clone();
        let b = pool.clone();
        async move {
            let (x, y) = tokio::join!(
                lifecycle::run_lifecycle(&a, at, 7),
                lifecycle::run_lifecycle(&b, at, 7)
            );
            let (x, y) = (x.unwrap(), y.unwrap());
            (x.expired + y.expired, x.reminded + y.reminded)
        }
    };
    let mut reminded = 0;
    for _ in 0..10 {
        reminded += run(now + Duration::days(4)).await.1;
    }
    assert_eq!(reminded, 30);
    let mut expired = 0;
    for _ in 0..10 {
        expired += run(now + Duration::days(11)).await.0;
    }
    assert_eq!(expired, 30);
    assert_eq!(
        count(
            &db,
            "select count(*) from license_events where kind = 'reminder'"
        )
        .await,
        30
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from license_events where kind = 'expired'"
        )
        .await,
        30
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from outbox_events where topic in ('license.expiring', 'license.expired')"
        )
        .await,
        60
    );
    // Extending a license re-arms its expiry record.
    let license = licenses::list(&db, &admin, now, &LicenseFilter::default())
        .await
        .unwrap()
        .licenses
        .remove(0);
    licenses::edit(
        &db,
        &admin,
        now,
        LicenseEdit {
            license_id: license.license_id,
            max_activations: 1,
            expires_at: Some(now + Duration::days(20)),
            row_version: license.row_version,
        },
    )
    .await
    .unwrap();
    assert_eq!(run(now + Duration::days(21)).await.0, 1);
    consistent(&db).await;
}
