//! Tenants, admins, roles, sign-in and audit against a fresh PostgreSQL database per test.

use chrono::{Duration, Utc};
use domain::access::auth::{self, ACCOUNT_FAILURES_MAX, ADDRESS_FAILURES_MAX, LOCK_SECONDS};
use domain::testing::{TEST_PASSWORD, TestTenant};
use domain::{
    Conflict, Error, Principal, Role, access::admins, access::audit, access::tenants, demo,
};
use sqlx::PgPool;

fn address(last: u8) -> Option<std::net::IpAddr> {
    Some(std::net::IpAddr::from([192, 0, 2, last]))
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn sign_in_accepts_the_right_password_only(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let ann = acme.with_admin(&db, "ann", Role::Support).await;

    let signed_in = auth::sign_in(
        &db,
        "  ANN@acme.test ",
        TEST_PASSWORD,
        address(1),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(signed_in.admin_id, ann.admin_id);
    assert_eq!(signed_in.tenant_id, Some(acme.id()));

    let wrong_password =
        auth::sign_in(&db, &ann.email, "wrong-password", address(1), Utc::now()).await;
    assert!(matches!(wrong_password, Err(Error::InvalidCredentials)));
    let unknown_email = auth::sign_in(
        &db,
        "nobody@acme.test",
        TEST_PASSWORD,
        address(1),
        Utc::now(),
    )
    .await;
    assert!(matches!(unknown_email, Err(Error::InvalidCredentials)));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn repeated_failures_lock_the_account_until_the_lock_ends(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let ann = acme.with_admin(&db, "ann", Role::Viewer).await;
    let now = Utc::now();
    for attempt in 0..ACCOUNT_FAILURES_MAX {
        // Different addresses: the account counter alone must lock.
        let result = auth::sign_in(
            &db,
            &ann.email,
            "wrong-password",
            address(attempt as u8),
            now,
        )
        .await;
        assert!(matches!(result, Err(Error::InvalidCredentials)));
    }
    let locked = auth::sign_in(&db, &ann.email, TEST_PASSWORD, address(99), now).await;
    assert!(
        matches!(locked, Err(Error::TooManyAttempts { retry_after_secs }) if retry_after_secs > 0)
    );

    let after_lock = now + Duration::seconds(LOCK_SECONDS + 1);
    auth::sign_in(&db, &ann.email, TEST_PASSWORD, address(99), after_lock)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn repeated_failures_from_one_address_lock_that_address(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let ann = acme.with_admin(&db, "ann", Role::Viewer).await;
    let now = Utc::now();
    for attempt in 0..ADDRESS_FAILURES_MAX {
        let email = format!("guess{attempt}@acme.test");
        let _ = auth::sign_in(&db, &email, "wrong-password", address(7), now).await;
    }
    let from_locked_address = auth::sign_in(&db, &ann.email, TEST_PASSWORD, address(7), now).await;
    assert!(matches!(
        from_locked_address,
        Err(Error::TooManyAttempts { .. })
    ));
    auth::sign_in(&db, &ann.email, TEST_PASSWORD, address(8), now)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn disabled_accounts_cannot_sign_in(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let ann = acme.with_admin(&db, "ann", Role::Support).await;
    admins::set_disabled(&db, &boss.access(), ann.admin_id, true)
        .await
        .unwrap();
    let result = auth::sign_in(&db, &ann.email, TEST_PASSWORD, None, Utc::now()).await;
    assert!(matches!(result, Err(Error::AccountDisabled)));
    // Their access to the tenant ends at once, not at their next sign-in.
    let access = auth::access(&db, &ann.principal(), acme.id(), None).await;
    assert!(matches!(access, Err(Error::Forbidden)));

    admins::set_disabled(&db, &boss.access(), ann.admin_id, false)
        .await
        .unwrap();
    auth::sign_in(&db, &ann.email, TEST_PASSWORD, None, Utc::now())
        .await
        .unwrap();

    sqlx::query("update admins set disabled_at = now() where admin_id = $1")
        .bind(ann.admin_id)
        .execute(&db)
        .await
        .unwrap();
    let globally_disabled = auth::sign_in(&db, &ann.email, TEST_PASSWORD, None, Utc::now()).await;
    assert!(matches!(globally_disabled, Err(Error::AccountDisabled)));
    assert!(matches!(
        auth::principal(&db, ann.admin_id).await,
        Err(Error::Unauthenticated)
    ));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn admin_changes_are_audited_with_before_and_after(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let access = boss.access();
    let new = admins::NewMember {
        email: "Carl@Acme.test".into(),
        display_name: "Carl".into(),
        role: Role::Viewer,
        password: Some("carl-password-1".into()),
    };
    let carl = admins::add(&db, &access, new).await.unwrap();
    assert_eq!(carl.email, "carl@acme.test");
    admins::change_role(&db, &access, carl.admin_id, Role::Support)
        .await
        .unwrap();
    admins::set_disabled(&db, &access, carl.admin_id, true)
        .await
        .unwrap();

    let page = audit::list(&db, &access, None, 10).await.unwrap();
    let actions: Vec<&str> = page.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        &actions[..3],
        ["admin.disable", "admin.change_role", "admin.add"]
    );
    let change = &page.entries[1];
    assert_eq!(change.actor_label, boss.email);
    assert_eq!(change.target_id, carl.admin_id.to_string());
    assert_eq!(change.before.as_ref().unwrap()["role"], "viewer");
    assert_eq!(change.after.as_ref().unwrap()["role"], "support");
    assert_eq!(change.changes().len(), 1, "only the role changed");

    // Filters combine: an action prefix, who acted, a target, a day range.
    let filter = |action: &str, actor: &str| audit::Filter {
        action: Some(action.into()),
        actor: Some(actor.into()),
        ..Default::default()
    };
    let found = audit::search(&db, &access, &filter("admin.", "BOSS"), None, 10)
        .await
        .unwrap();
    assert!(found.entries.len() >= 3);
    assert!(found.entries.iter().all(|e| e.action.starts_with("admin.")));
    let nobody = audit::search(&db, &access, &filter("admin.", "someone-else"), None, 10)
        .await
        .unwrap();
    assert!(nobody.entries.is_empty());
    let target = audit::Filter {
        target_id: Some(carl.admin_id.to_string()),
        to: Some(chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()),
        ..Default::default()
    };
    assert!(
        audit::search(&db, &access, &target, None, 10)
            .await
            .unwrap()
            .entries
            .is_empty(),
        "nothing happened before 2000"
    );
    let wildcard = audit::search(&db, &access, &filter("%", ""), None, 10)
        .await
        .unwrap();
    assert!(
        wildcard.entries.is_empty(),
        "% is a character, not a wildcard"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn audit_pages_by_keyset(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let carl = acme.with_admin(&db, "carl", Role::Viewer).await;
    for _ in 0..3 {
        admins::set_disabled(&db, &boss.access(), carl.admin_id, true)
            .await
            .unwrap();
        admins::set_disabled(&db, &boss.access(), carl.admin_id, false)
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = audit::list(&db, &boss.access(), before, 4).await.unwrap();
        assert!(page.entries.len() <= 4);
        seen.extend(page.entries.iter().map(|e| e.audit_id));
        match page.next_before {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted, "newest first, no duplicates");
    // tenant.create + 2 × admin.add + 6 changes
    assert_eq!(seen.len(), 9);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_tenant_keeps_one_active_tenant_admin(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let deputy = acme.with_admin(&db, "deputy", Role::TenantAdmin).await;

    let own = admins::change_role(&db, &boss.access(), boss.admin_id, Role::Viewer).await;
    assert!(matches!(own, Err(Error::Conflict(Conflict::OwnAccount))));

    admins::change_role(&db, &boss.access(), deputy.admin_id, Role::Support)
        .await
        .unwrap();
    // The deputy is no longer a tenant admin, so it cannot act on the boss either.
    let by_support =
        admins::set_disabled(&db, &deputy.access_with(Role::Support), boss.admin_id, true).await;
    assert!(matches!(by_support, Err(Error::Forbidden)));

    let platform = acme.with_platform_admin(&db, "root").await;
    admins::change_role(&db, &platform.access(), platform.admin_id, Role::Viewer)
        .await
        .unwrap_err();
    let last = admins::change_role(&db, &platform.access(), boss.admin_id, Role::Viewer).await;
    assert!(
        last.is_ok(),
        "the platform admin is itself an active tenant admin member"
    );
    let really_last = admins::set_disabled(&db, &platform.access(), platform.admin_id, true).await;
    assert!(matches!(
        really_last,
        Err(Error::Conflict(Conflict::OwnAccount))
    ));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_last_tenant_admin_cannot_be_removed(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let cli = domain::Access {
        principal: Principal::cli(),
        tenant_id: acme.id(),
        role: Role::TenantAdmin,
        request_id: None,
    };
    let demote = admins::change_role(&db, &cli, boss.admin_id, Role::Viewer).await;
    assert!(matches!(
        demote,
        Err(Error::Conflict(Conflict::LastTenantAdmin))
    ));
    let disable = admins::set_disabled(&db, &cli, boss.admin_id, true).await;
    assert!(matches!(
        disable,
        Err(Error::Conflict(Conflict::LastTenantAdmin))
    ));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn admins_of_one_tenant_cannot_touch_another(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let globex = TestTenant::new(&db, "globex").await;
    let acme_boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let globex_staff = globex.with_admin(&db, "staff", Role::Viewer).await;

    let access = acme_boss.access();
    let listed = admins::list(&db, &access).await.unwrap();
    assert!(listed.iter().all(|a| a.admin_id != globex_staff.admin_id));
    let change = admins::change_role(&db, &access, globex_staff.admin_id, Role::TenantAdmin).await;
    assert!(matches!(change, Err(Error::NotFound { .. })));
    let disable = admins::set_disabled(&db, &access, globex_staff.admin_id, true).await;
    assert!(matches!(disable, Err(Error::NotFound { .. })));
    let into_other = auth::access(&db, &acme_boss.principal(), globex.id(), None).await;
    assert!(matches!(into_other, Err(Error::Forbidden)));
    let audit_rows = audit::list(&db, &access, None, 100).await.unwrap();
    assert!(
        audit_rows
            .entries
            .iter()
            .all(|e| e.target_id != globex_staff.admin_id.to_string())
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn only_platform_admins_create_tenants(db: PgPool) {
    let acme = TestTenant::new(&db, "acme").await;
    let boss = acme.with_admin(&db, "boss", Role::TenantAdmin).await;
    let refused = tenants::create(&db, &boss.principal(), None, "new", "New").await;
    assert!(matches!(refused, Err(Error::Forbidden)));
    let taken = tenants::create(&db, &Principal::cli(), None, "acme", "Again").await;
    assert!(matches!(
        taken,
        Err(Error::Conflict(Conflict::TenantSlugTaken))
    ));
    let invalid = tenants::create(&db, &Principal::cli(), None, "Bad Slug!", "X").await;
    assert!(matches!(invalid, Err(Error::Invalid { field: "slug", .. })));
    assert_eq!(
        tenants::list_all(&db, &Principal::cli())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_new_tenant_of_the_console_starts_with_the_default_tiers(db: PgPool) {
    let fresh = tenants::create_with_default_tiers(&db, &Principal::cli(), None, "fresh", "Fresh")
        .await
        .unwrap();
    let codes: Vec<String> = sqlx::query_scalar(
        "select code from level_tiers where tenant_id = $1 and active order by sort_order",
    )
    .bind(fresh.tenant_id)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(codes, ["bronze", "silver", "gold", "platinum", "diamond"]);
    // A refused creation leaves nothing behind.
    let taken =
        tenants::create_with_default_tiers(&db, &Principal::cli(), None, "fresh", "Again").await;
    assert!(matches!(
        taken,
        Err(Error::Conflict(Conflict::TenantSlugTaken))
    ));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn demo_seed_is_idempotent(db: PgPool) {
    assert!(demo::is_empty(&db).await.unwrap());
    assert_eq!(demo::seed(&db).await.unwrap(), demo::Outcome::Created);
    assert_eq!(
        demo::seed(&db).await.unwrap(),
        demo::Outcome::AlreadyPresent
    );
    let signed_in = auth::sign_in(
        &db,
        demo::DEMO_ADMIN_EMAIL,
        demo::DEMO_PASSWORD,
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    let principal = auth::principal(&db, signed_in.admin_id).await.unwrap();
    assert_eq!(
        tenants::memberships(&db, &principal).await.unwrap().len(),
        2
    );
}
