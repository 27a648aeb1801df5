//! The gray rollout (issue #13) on a real database: widening keeps members, the
//! stratified mix, routing per decision, completing, a new group id, the kill switch
//! across two processes, shadow records, score and gate arithmetic (and a stage entered
//! again scored afresh), guardrails, stepping back (also mid-run), abort (also over a
//! step back), roles and tenant isolation, and concurrency.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::clock::SharedClock;
use domain::migration::run::RunStatus;
use domain::migration::{legacy, routing, run};
use domain::points::levels;
use domain::rollout::{
    Answer, Blocker, DecisionKind, Mode, NewAccepted, NewRollout, Question, Rollout, RolloutStatus,
    Shadow, StagePlan, Strata, decide, plan, report,
};
use domain::tags::permissions::PermissionCache;
use domain::testing::{TestAdmin, TestTenant};
use domain::{Access, Conflict, Error, Role};
use model::migration::run::Model;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

struct Fixture {
    tenant: TestTenant,
    admin: TestAdmin,
    support: TestAdmin,
    viewer: TestAdmin,
}

impl Fixture {
    fn id(&self) -> Uuid {
        self.tenant.id()
    }
}

/// A tenant with the default tiers, the demo tags and `members` generated legacy members.
async fn fixture(db: &PgPool, slug: &str, members: i64) -> Fixture {
    let tenant = TestTenant::new(db, slug).await;
    let mut conn = db.acquire().await.unwrap();
    levels::install(&mut conn, tenant.id(), &levels::default_tiers())
        .await
        .unwrap();
    domain::demo::seed_tags(&mut conn, tenant.id())
        .await
        .unwrap();
    if members > 0 {
        legacy::generate(&mut conn, tenant.id(), members, now())
            .await
            .unwrap();
    }
    drop(conn);
    Fixture {
        admin: tenant.with_admin(db, "boss", Role::TenantAdmin).await,
        support: tenant.with_admin(db, "sue", Role::Support).await,
        viewer: tenant.with_admin(db, "vic", Role::Viewer).await,
        tenant,
    }
}

fn stages(percents: &[u8]) -> Vec<StagePlan> {
    percents
        .iter()
        .map(|&percent| StagePlan {
            percent,
            hold_minutes: 0,
            approver: None,
        })
        .collect()
}

fn plan_with(percents: &[u8]) -> NewRollout {
    NewRollout {
        name: "Gray rollout".into(),
        stages: stages(percents),
        ..NewRollout::default()
    }
}

async fn create(db: &PgPool, access: &Access) -> Rollout {
    plan::create(db, access, &plan_with(&[5, 20, 50, 100]))
        .await
        .unwrap()
}

/// Drives the current stage's migration run to its end.
async fn drive_stage(db: &PgPool, rollout: &Rollout) -> run::Run {
    let run_id = rollout.current().and_then(|s| s.run_id).expect("a run");
    let tenant_id: Uuid =
        sqlx::query_scalar("select tenant_id from migration_runs where run_id = $1")
            .bind(run_id)
            .fetch_one(db)
            .await
            .unwrap();
    let done = run::drive(db, tenant_id, run_id, |_| {}).await.unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    done
}

/// Decision records written directly: `n` of them for `decision` at `stage`, agreeing
/// when `kind` is None, else with that mismatch kind (and detail).
#[expect(clippy::too_many_arguments, reason = "a record's fields")]
async fn records(
    db: &PgPool,
    tenant_id: Uuid,
    rollout_id: Uuid,
    stage: i32,
    decision: &str,
    n: i64,
    kind: Option<&str>,
    detail: Option<&str>,
    new_us: i32,
) {
    sqlx::query(
        "insert into rollout_decisions (tenant_id, rollout_id, decided_at, decision, external_id, bucket, stage_no,
                                        routed, legacy, new, legacy_us, new_us, agree, kind, detail, error)
         select $1, $2, clock_timestamp(), $3, 'R' || g, 1, $4, 'legacy', null, null, 100, $5,
                $6::text is null, $6, $7, case when $6 = 'error' then 'boom' end
         from generate_series(1, $8::bigint) g",
    )
    .bind(tenant_id)
    .bind(rollout_id)
    .bind(decision)
    .bind(stage)
    .bind(new_us)
    .bind(kind)
    .bind(detail)
    .bind(n)
    .execute(db)
    .await
    .unwrap();
}

/// Enough agreeing records at the current stage for every decision to pass the gate.
async fn pass_gate(db: &PgPool, tenant_id: Uuid, rollout: &Rollout) {
    for decision in DecisionKind::ALL {
        records(
            db,
            tenant_id,
            rollout.rollout_id,
            rollout.stage_no,
            decision.as_str(),
            i64::from(rollout.min_sample),
            None,
            None,
            100,
        )
        .await;
    }
}

/// The cohort: external id → (bucket, stage joined, stratum).
async fn cohort(
    db: &PgPool,
    tenant_id: Uuid,
    rollout_id: Uuid,
) -> HashMap<String, (i16, i32, String)> {
    let rows: Vec<(String, i16, i32, String)> = sqlx::query_as(
        "select external_id, bucket, stage_no, stratum from rollout_members where tenant_id = $1 and rollout_id = $2",
    )
    .bind(tenant_id)
    .bind(rollout_id)
    .fetch_all(db)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(id, b, s, st)| (id, (b, s, st)))
        .collect()
}

/// Members with a live migration record.
async fn migrated(db: &PgPool, tenant_id: Uuid) -> HashSet<String> {
    sqlx::query_scalar(
        "select external_id from migration_members where tenant_id = $1 and rolled_back_at is null",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

async fn rolled_back(db: &PgPool, tenant_id: Uuid) -> HashSet<String> {
    sqlx::query_scalar(
        "select external_id from migration_members where tenant_id = $1 and rolled_back_at is not null",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// A cache that is not a node (computes every answer), and a shadow.
fn local(db: &PgPool) -> (Arc<PermissionCache>, Arc<Shadow>) {
    let clock: SharedClock = Arc::new(domain::clock::SystemClock);
    (
        PermissionCache::new(clock, 10_000),
        Shadow::start(db.clone()),
    )
}

fn questions() -> [Question; 3] {
    [
        Question::Permission {
            key: "license_request".into(),
        },
        Question::Quota,
        Question::Summary,
    ]
}

/// The model answering each decision for a member through the routed entry point.
async fn models(
    db: &PgPool,
    cache: &Arc<PermissionCache>,
    shadow: &Arc<Shadow>,
    access: &Access,
    external_id: &str,
) -> [Model; 3] {
    let mut out = [Model::Legacy; 3];
    for (i, q) in questions().iter().enumerate() {
        out[i] = decide(db, cache, shadow, access, external_id, q)
            .await
            .unwrap_or_else(|e| panic!("{external_id} {q:?}: {e:?}"))
            .model;
    }
    out
}

/// The ledger's invariants and the overview's aggregates against the raw tables.
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

fn blocked(result: domain::Result<Rollout>) -> Vec<Blocker> {
    match result {
        Err(Error::Conflict(Conflict::RolloutBlocked(blockers))) => blockers,
        other => panic!("expected RolloutBlocked, got {other:?}"),
    }
}

// 1. Widening keeps members.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn widening_keeps_members_and_migrates_the_joiners(db: PgPool) {
    let f = fixture(&db, "acme", 1000).await;
    let admin = f.admin.access();
    let (cache, shadow) = local(&db);
    let created = create(&db, &admin).await;
    assert_eq!(created.stage_no, 0);
    assert_eq!(created.modes, [Mode::Shadow; 3]);
    // Creating sets the switch to new (nobody is answered differently yet: shadow).
    assert_eq!(
        routing::routing(&db, &admin).await.unwrap().mode,
        Model::New
    );
    let mut previous: HashMap<String, (i16, i32, String)> = HashMap::new();
    let mut last_thresholds = vec![0, 0, 0];
    for (stage, percent) in [(1, 5), (2, 20), (3, 50)] {
        let r = plan::get(&db, &admin, created.rollout_id).await.unwrap();
        if stage > 1 {
            pass_gate(&db, f.id(), &r).await;
        }
        let r = plan::advance(&db, &admin, created.rollout_id, now())
            .await
            .unwrap();
        assert_eq!((r.stage_no, r.percent()), (stage, percent));
        let current = r.current().unwrap();
        let thresholds = current.thresholds.clone().unwrap();
        assert!(
            thresholds.iter().zip(&last_thresholds).all(|(t, l)| t >= l),
            "{thresholds:?} after {last_thresholds:?}"
        );
        last_thresholds = thresholds.clone();
        drive_stage(&db, &r).await;
        let now_cohort = cohort(&db, f.id(), r.rollout_id).await;
        // Everyone in before is still in, at the stage they joined.
        for (id, joined) in &previous {
            assert_eq!(
                now_cohort.get(id),
                Some(joined),
                "{id} left at stage {stage}"
            );
        }
        assert!(now_cohort.len() > previous.len());
        let share = now_cohort.len() as f64 / 1000.0 * 100.0;
        assert!(
            (share - f64::from(percent)).abs() <= f64::from(percent) * 0.25 + 1.0,
            "stage {stage}: {share} % of members"
        );
        // Joiners are at this stage; each member is in by its stratum's threshold.
        for (id, (bucket, joined, stratum)) in &now_cohort {
            assert_eq!(
                i32::from(*bucket),
                i32::from(domain::rollout::bucket(&r.group_id, id))
            );
            let s = domain::rollout::Stratum::ALL
                .iter()
                .position(|s| s.as_str() == stratum)
                .unwrap();
            assert!(i32::from(*bucket) <= thresholds[s]);
            if !previous.contains_key(id) {
                assert_eq!(*joined, stage);
            }
        }
        // Every member of the cohort is migrated (the generated data has no dirty type
        // below 1013 members).
        let live = migrated(&db, f.id()).await;
        let ids: HashSet<String> = now_cohort.keys().cloned().collect();
        assert_eq!(live, ids, "stage {stage}");
        previous = now_cohort;
    }
    // Routed by the decisions' modes: every decision live now.
    plan::set_modes(&db, &admin, created.rollout_id, [Mode::Live; 3])
        .await
        .unwrap();
    let member = previous.keys().min().unwrap().clone();
    assert_eq!(
        models(&db, &cache, &shadow, &admin, &member).await,
        [Model::New; 3]
    );
    plan::set_modes(
        &db,
        &admin,
        created.rollout_id,
        [Mode::Off, Mode::Live, Mode::Shadow],
    )
    .await
    .unwrap();
    assert_eq!(
        models(&db, &cache, &shadow, &admin, &member).await,
        [Model::Legacy, Model::New, Model::Legacy]
    );
    let outsider: String = sqlx::query_scalar(
        "select external_id from legacy_members l where tenant_id = $1
           and not exists (select 1 from rollout_members m where m.tenant_id = l.tenant_id
                           and m.external_id = l.external_id)
         order by external_id limit 1",
    )
    .bind(f.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        models(&db, &cache, &shadow, &admin, &outsider).await,
        [Model::Legacy; 3]
    );
    ledger_clean(&db, f.id()).await;
}

// 2. Stratified selection mix.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_stratified_stage_takes_the_seed_mix_and_a_minimum(db: PgPool) {
    let f = fixture(&db, "acme", 2000).await;
    let admin = f.admin.access();
    let r = plan::create(&db, &admin, &plan_with(&[20, 100]))
        .await
        .unwrap();
    assert_eq!(r.strata, Some(Strata::default()));
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    let mix = r.current().unwrap().mix.clone().unwrap();
    let total: i64 = mix.iter().sum();
    assert!((380..=440).contains(&total), "{mix:?}");
    for (got, want) in mix.iter().zip([50.0, 30.0, 20.0]) {
        let share = 100.0 * *got as f64 / total as f64;
        assert!((share - want).abs() <= 3.0, "{mix:?}");
    }
    // The plain buckets would have given the population's mix instead (mostly active).
    let population: Vec<(String, i64)> = sqlx::query_as(
        "select case when last_login_at >= $2 - interval '31 days' then 'active'
                     when registered_at <= $2 - interval '365 days' then 'long_standing' else 'new' end,
                count(*)
         from legacy_members where tenant_id = $1 group by 1",
    )
    .bind(f.id())
    .bind(now())
    .fetch_all(&db)
    .await
    .unwrap();
    let active = population
        .iter()
        .find(|(s, _)| s == "active")
        .map_or(0, |(_, n)| *n);
    assert!(active > 1000, "{population:?}");
    // The dashboard shows the same realised mix (any role reads it).
    let dashboard = report::dashboard(&db, &f.viewer.access(), r.rollout_id, now())
        .await
        .unwrap();
    assert_eq!(dashboard.cohort_mix.to_vec(), mix);
    assert_eq!(dashboard.legacy_members, 2000);
    // Stored strata agree with the definitions as of `now`.
    let rows = cohort(&db, f.id(), r.rollout_id).await;
    assert_eq!(rows.len() as i64, total);
    let dates: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select external_id, registered_at, last_login_at from legacy_members where tenant_id = $1",
    )
    .bind(f.id())
    .fetch_all(&db)
    .await
    .unwrap();
    for (id, registered, login) in dates {
        if let Some((_, _, stratum)) = rows.get(&id) {
            assert_eq!(
                stratum,
                Strata::default().stratum(registered, login, now()).as_str()
            );
        }
    }

    // A tiny tenant still gets at least ten members at 5 %.
    let tiny = fixture(&db, "tiny", 15).await;
    let small = create(&db, &tiny.admin.access()).await;
    let small = plan::advance(&db, &tiny.admin.access(), small.rollout_id, now())
        .await
        .unwrap();
    let members = cohort(&db, tiny.id(), small.rollout_id).await;
    assert!(members.len() >= 10, "{}", members.len());
    assert!(members.len() <= 15);
    let mix: i64 = small.current().unwrap().mix.clone().unwrap().iter().sum();
    assert_eq!(mix, members.len() as i64);
    drive_stage(&db, &small).await;
    assert_eq!(migrated(&db, tiny.id()).await.len(), members.len());
}

// 3. Routing per decision.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn each_decision_is_routed_by_its_mode(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let viewer = f.viewer.access();
    let (cache, shadow) = local(&db);
    let r = create(&db, &admin).await;
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    let r = plan::set_modes(
        &db,
        &admin,
        r.rollout_id,
        [Mode::Live, Mode::Shadow, Mode::Off],
    )
    .await
    .unwrap();
    assert_eq!(r.modes, [Mode::Live, Mode::Shadow, Mode::Off]);
    let members = cohort(&db, f.id(), r.rollout_id).await;
    let live = migrated(&db, f.id()).await;
    let member = members
        .keys()
        .filter(|id| live.contains(*id))
        .min()
        .unwrap();
    assert_eq!(
        models(&db, &cache, &shadow, &viewer, member).await,
        [Model::New, Model::Legacy, Model::Legacy]
    );
    // The permission-only entry point follows the same rule.
    let checked = routing::check(&db, &cache, &viewer, member, "license_request")
        .await
        .unwrap();
    assert_eq!(checked.model, Model::New);
    // "Why is this member in?"
    let why = report::member_route(&db, &viewer, member, now())
        .await
        .unwrap();
    assert!(why.legacy && why.migrated);
    assert_eq!(why.models, [Model::New, Model::Legacy, Model::Legacy]);
    let inside = why.rollout.unwrap();
    assert_eq!(inside.joined_stage, Some(1));
    assert_eq!(i16::from(inside.bucket), members[member].0);
    assert!(
        inside
            .threshold
            .is_some_and(|t| t >= i32::from(inside.bucket))
    );

    // A legacy member outside the cohort: legacy for everything.
    let outsider: String = sqlx::query_scalar(
        "select external_id from legacy_members l where tenant_id = $1
           and not exists (select 1 from rollout_members m where m.tenant_id = l.tenant_id
                           and m.external_id = l.external_id)
         order by external_id limit 1",
    )
    .bind(f.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        models(&db, &cache, &shadow, &viewer, &outsider).await,
        [Model::Legacy; 3]
    );
    let why = report::member_route(&db, &viewer, &outsider, now())
        .await
        .unwrap();
    assert_eq!(why.rollout.unwrap().joined_stage, None);
    assert_eq!(why.models, [Model::Legacy; 3]);
    // A member native to the new model: new for everything.
    domain::members::create(
        &db,
        &admin,
        domain::members::MemberInput {
            external_id: "N-native".into(),
            display_name: "Native".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        models(&db, &cache, &shadow, &viewer, "N-native").await,
        [Model::New; 3]
    );
    // Nobody: not found.
    assert!(matches!(
        decide(&db, &cache, &shadow, &viewer, "nobody", &Question::Quota).await,
        Err(Error::NotFound { .. })
    ));
    // Records: the live decision compared with the legacy answer (routed new), the
    // shadow one (routed legacy), nothing for the decision that is off, nothing for
    // members outside the migration.
    shadow.flush().await.unwrap();
    let recorded: Vec<(String, String, String)> = sqlx::query_as(
        "select external_id, decision, routed from rollout_decisions where tenant_id = $1
         order by external_id, decision",
    )
    .bind(f.id())
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        recorded,
        vec![
            (member.clone(), "permission".into(), "new".into()),
            (member.clone(), "quota".into(), "legacy".into()),
        ]
    );
    let traffic: Vec<(String, i64, i64)> = sqlx::query_as(
        "select decision, sum(legacy)::bigint, sum(new)::bigint from rollout_traffic where tenant_id = $1
         group by decision order by decision",
    )
    .bind(f.id())
    .fetch_all(&db)
    .await
    .unwrap();
    // The member, the outsider and the native member, one decision each (the plain
    // permission check is not the rollout's entry point and is not counted).
    assert_eq!(
        traffic,
        vec![
            ("permission".into(), 1, 2),
            ("quota".into(), 2, 1),
            ("summary".into(), 2, 1),
        ]
    );
    // A member migrated outside the rollout (a run of the migration console) is not in
    // the cohort: the rollout's live decision does not reach them.
    let done = run::start(
        &db,
        &admin,
        &domain::migration::run::Selection::Members(vec![outsider.clone()]),
        now(),
    )
    .await
    .unwrap();
    run::drive(&db, f.id(), done.run_id, |_| {}).await.unwrap();
    assert!(migrated(&db, f.id()).await.contains(&outsider));
    assert_eq!(
        models(&db, &cache, &shadow, &viewer, &outsider).await,
        [Model::Legacy; 3]
    );
    let checked = routing::check(&db, &cache, &viewer, &outsider, "license_request")
        .await
        .unwrap();
    assert_eq!(checked.model, Model::Legacy);
    let why = report::member_route(&db, &viewer, &outsider, now())
        .await
        .unwrap();
    assert!(why.migrated);
    assert_eq!(why.models, [Model::Legacy; 3]);
}

// 3b. Completing: the last stage entered, every decision live.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn completing_needs_the_last_stage_and_every_decision_live(db: PgPool) {
    let f = fixture(&db, "acme", 200).await;
    let admin = f.admin.access();
    let (cache, shadow) = local(&db);
    let r = plan::create(&db, &admin, &plan_with(&[50, 100]))
        .await
        .unwrap();
    let id = r.rollout_id;
    // Nothing compared: no gate.
    plan::set_modes(&db, &admin, id, [Mode::Off; 3])
        .await
        .unwrap();
    let r = plan::advance(&db, &admin, id, now()).await.unwrap();
    assert_eq!(
        blocked(plan::complete(&db, &admin, id, now()).await),
        vec![Blocker::RunActive, Blocker::LastStage]
    );
    drive_stage(&db, &r).await;
    let r = plan::advance(&db, &admin, id, now()).await.unwrap();
    assert_eq!(r.percent(), 100);
    drive_stage(&db, &r).await;
    assert_eq!(cohort(&db, f.id(), id).await.len(), 200);
    assert_eq!(
        blocked(plan::advance(&db, &admin, id, now()).await),
        vec![Blocker::LastStage]
    );
    // Every member in, but a decision not live yet.
    plan::set_modes(&db, &admin, id, [Mode::Live, Mode::Live, Mode::Shadow])
        .await
        .unwrap();
    assert_eq!(
        blocked(plan::complete(&db, &admin, id, now()).await),
        vec![Blocker::LastStage]
    );
    plan::set_modes(&db, &admin, id, [Mode::Live; 3])
        .await
        .unwrap();
    let done = plan::complete(&db, &admin, id, now()).await.unwrap();
    assert_eq!(done.status, RolloutStatus::Completed);
    assert!(done.finished_at.is_some());
    // Migrated members are answered by the new model, nothing compared.
    assert_eq!(
        models(&db, &cache, &shadow, &admin, "L000001").await,
        [Model::New; 3]
    );
    shadow.flush().await.unwrap();
    let recorded: i64 =
        sqlx::query_scalar("select count(*) from rollout_decisions where tenant_id = $1")
            .bind(f.id())
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(recorded, 0);
    assert!(matches!(
        plan::pause(&db, &admin, id, "").await,
        Err(Error::Conflict(Conflict::RolloutEnded))
    ));
    // An approver must be one of the tenant's admins.
    let mut bad = plan_with(&[50, 100]);
    bad.stages[1].approver = Some(f.viewer.admin_id);
    assert!(matches!(
        plan::create(&db, &admin, &bad).await,
        Err(Error::Invalid {
            field: "approver",
            ..
        })
    ));
    let mut bad = plan_with(&[50, 90]);
    bad.name = "x".into();
    assert!(matches!(
        plan::create(&db, &admin, &bad).await,
        Err(Error::Invalid {
            field: "stages",
            ..
        })
    ));
}

// 3c. A new group id reshuffles later stages and keeps the cohort.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_new_group_id_reshuffles_later_stages_and_keeps_the_cohort(db: PgPool) {
    let f = fixture(&db, "acme", 600).await;
    let admin = f.admin.access();
    let mut new = plan_with(&[10, 30, 100]);
    new.strata = None;
    new.group_id = Some("spring".into());
    let r = plan::create(&db, &admin, &new).await.unwrap();
    assert_eq!(r.group_id, "spring");
    let id = r.rollout_id;
    let r = plan::advance(&db, &admin, id, now()).await.unwrap();
    assert_eq!(r.current().unwrap().thresholds, Some(vec![10, 10, 10]));
    drive_stage(&db, &r).await;
    let first = cohort(&db, f.id(), id).await;
    assert!(first.iter().all(|(key, (b, _, _))| *b <= 10
        && i32::from(*b) == i32::from(domain::rollout::bucket("spring", key))));
    let settings = plan::Settings {
        group_id: "summer".into(),
        sample_bp: 10_000,
        gate_score: 95.0,
        min_sample: 100,
        guard_error_pct: 1.0,
        guard_p99_ms: 500,
    };
    let r = plan::update_settings(&db, &admin, id, &settings)
        .await
        .unwrap();
    assert_eq!(r.group_id, "summer");
    pass_gate(&db, f.id(), &r).await;
    let r = plan::advance(&db, &admin, id, now()).await.unwrap();
    drive_stage(&db, &r).await;
    let second = cohort(&db, f.id(), id).await;
    for (key, joined) in &first {
        assert_eq!(second.get(key), Some(joined));
    }
    for (key, (b, stage, _)) in &second {
        if *stage == 2 {
            assert_eq!(
                i32::from(*b),
                i32::from(domain::rollout::bucket("summer", key))
            );
            assert!(*b <= 30);
        }
    }
    let reason: Option<String> = sqlx::query_scalar(
        "select reason from rollout_events where tenant_id = $1 and rollout_id = $2 and action = 'settings'",
    )
    .bind(f.id())
    .bind(id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(reason.as_deref(), Some("group id spring → summer"));
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

// 4. The kill switch across two processes.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_kill_switch_sends_everyone_to_legacy_in_every_process(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let viewer = f.viewer.access();
    let (pool_a, cache_a) = node(&db).await;
    let (pool_b, cache_b) = node(&db).await;
    let shadow_a = Shadow::start(pool_a.clone());
    let shadow_b = Shadow::start(pool_b.clone());
    let r = create(&pool_a, &admin).await;
    let r = plan::advance(&pool_a, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&pool_a, &r).await;
    plan::set_modes(&pool_a, &admin, r.rollout_id, [Mode::Live; 3])
        .await
        .unwrap();
    let live = migrated(&db, f.id()).await;
    let members: Vec<String> = {
        let mut ids: Vec<String> = cohort(&db, f.id(), r.rollout_id)
            .await
            .into_keys()
            .filter(|id| live.contains(id))
            .collect();
        ids.sort();
        ids.truncate(5);
        ids
    };
    // Warm both caches with the new model's answers.
    for member in &members {
        for (pool, cache, shadow) in [
            (&pool_a, &cache_a, &shadow_a),
            (&pool_b, &cache_b, &shadow_b),
        ] {
            assert_eq!(
                models(pool, cache, shadow, &viewer, member).await,
                [Model::New; 3]
            );
        }
    }
    let killed = plan::kill(&pool_a, &admin).await.unwrap().unwrap();
    assert_eq!(killed.status, RolloutStatus::Paused);
    assert_eq!(killed.pause_reason.as_deref(), Some("kill switch"));
    // Node B's very next decisions are the legacy model's, for every decision.
    for member in &members {
        let legacy_answer = legacy::answer(&db, f.id(), member).await.unwrap().unwrap();
        for q in questions() {
            let routed = decide(&pool_b, &cache_b, &shadow_b, &viewer, member, &q)
                .await
                .unwrap();
            assert_eq!(routed.model, Model::Legacy, "{member} {q:?}");
            match (&q, &routed.answer) {
                (Question::Permission { key }, Answer::Permission { allowed }) => {
                    assert_eq!(*allowed, legacy_answer.has(key));
                }
                (Question::Quota, Answer::Quota { max_licenses }) => {
                    assert_eq!(*max_licenses, legacy_answer.max_licenses);
                }
                (Question::Summary, Answer::Summary { .. }) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            models(&pool_a, &cache_a, &shadow_a, &viewer, member).await,
            [Model::Legacy; 3]
        );
    }
    // While killed, the rollout does not move.
    assert!(
        blocked(plan::advance(&pool_a, &admin, r.rollout_id, now()).await)
            .iter()
            .any(|b| matches!(b, Blocker::NotRunning { .. }))
    );
    // Resume: the cohort goes back to its modes, in both processes.
    let resumed = plan::resume(&pool_a, &admin, r.rollout_id).await.unwrap();
    assert_eq!(resumed.status, RolloutStatus::Running);
    assert_eq!(
        routing::routing(&db, &admin).await.unwrap().mode,
        Model::New
    );
    for member in &members {
        assert_eq!(
            models(&pool_b, &cache_b, &shadow_b, &viewer, member).await,
            [Model::New; 3]
        );
    }
    // The kill is audited on the timeline.
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from rollout_events where tenant_id = $1 and rollout_id = $2 order by event_id",
    )
    .bind(f.id())
    .bind(r.rollout_id)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(actions, ["create", "advance", "modes", "kill", "resume"]);
    // Only tenant admins press it.
    assert!(matches!(
        plan::kill(&pool_a, &f.support.access()).await,
        Err(Error::Forbidden)
    ));
    cache_a.leave(&pool_a).await.unwrap();
    cache_b.leave(&pool_b).await.unwrap();
}

// 5. Shadow records both answers and never changes the routed one.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn shadow_records_both_answers_and_never_changes_the_routed_one(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let viewer = f.viewer.access();
    let (cache, shadow) = local(&db);
    let r = create(&db, &admin).await;
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    assert_eq!(r.modes, [Mode::Shadow; 3]);
    assert_eq!(r.sample_bp, 10_000);
    let members = cohort(&db, f.id(), r.rollout_id).await;
    let mut ids: Vec<String> = members.keys().cloned().collect();
    ids.sort();
    // One member disagrees on purpose: a tag with a permission legacy never gave.
    let tag_id = domain::tags::create(
        &db,
        &admin,
        model::tags::TagInput {
            code: "beta".into(),
            name_zh: "测试".into(),
            name_en: "Beta".into(),
            category: "business".into(),
            permissions: vec!["beta.feature".into()],
            max_licenses: 0,
            max_licenses_boost: 0,
            default_term_days: None,
            grace_days: 0,
            auto_renew: false,
            renew_from: "expiry".into(),
            active: true,
        },
    )
    .await
    .unwrap();
    let odd = ids[0].clone();
    let odd_member: Uuid = sqlx::query_scalar(
        "select member_id from member_profiles where tenant_id = $1 and external_id = $2",
    )
    .bind(f.id())
    .bind(&odd)
    .fetch_one(&db)
    .await
    .unwrap();
    domain::tags::grants::grant(
        &db,
        &admin,
        now(),
        model::tags::grants::Method::Manual,
        model::tags::grants::GrantInput {
            member_id: odd_member,
            tag_id,
            reason: "beta tester".into(),
            starts_at: None,
            expires_at: None,
            term_days: None,
            auto_renew: None,
        },
    )
    .await
    .unwrap();
    let asked = [
        Question::Permission {
            key: "license_request".into(),
        },
        Question::Permission {
            key: "beta.feature".into(),
        },
        Question::Quota,
        Question::Summary,
    ];
    let mut given: HashMap<(String, usize), Answer> = HashMap::new();
    for id in &ids {
        let legacy_answer = legacy::answer(&db, f.id(), id).await.unwrap().unwrap();
        for (i, q) in asked.iter().enumerate() {
            let routed = decide(&db, &cache, &shadow, &viewer, id, q).await.unwrap();
            assert_eq!(routed.model, Model::Legacy);
            match (q, &routed.answer) {
                (Question::Permission { key }, Answer::Permission { allowed }) => {
                    assert_eq!(*allowed, legacy_answer.has(key), "{id} {key}");
                }
                (Question::Quota, Answer::Quota { max_licenses }) => {
                    assert_eq!(*max_licenses, legacy_answer.max_licenses);
                }
                (Question::Summary, Answer::Summary { .. }) => {}
                other => panic!("{other:?}"),
            }
            given.insert((id.clone(), i), routed.answer);
        }
    }
    shadow.flush().await.unwrap();
    type Row = (
        String,
        String,
        Option<String>,
        serde_json::Value,
        serde_json::Value,
        i32,
        Option<i32>,
        bool,
        Option<String>,
        Option<String>,
        i16,
        i32,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select decision, external_id, question, legacy, new, legacy_us, new_us, agree, kind, detail, bucket,
                stage_no, routed
         from rollout_decisions where tenant_id = $1 and rollout_id = $2",
    )
    .bind(f.id())
    .bind(r.rollout_id)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(rows.len(), ids.len() * asked.len());
    let mut seen = HashSet::new();
    let mut extra = Vec::new();
    for (
        decision,
        id,
        question,
        legacy_json,
        new_json,
        legacy_us,
        new_us,
        agree,
        kind,
        detail,
        bucket,
        stage,
        routed,
    ) in rows
    {
        let legacy_answer: Answer = serde_json::from_value(legacy_json).unwrap();
        let new_answer: Answer = serde_json::from_value(new_json).unwrap();
        let i = match (decision.as_str(), question.as_deref()) {
            ("permission", Some("license_request")) => 0,
            ("permission", Some("beta.feature")) => 1,
            ("quota", None) => 2,
            ("summary", None) => 3,
            other => panic!("{other:?}"),
        };
        assert!(seen.insert((id.clone(), i)), "two records of {id} {i}");
        // The answer given was the legacy one.
        assert_eq!(given[&(id.clone(), i)], legacy_answer, "{id} {i}");
        // The summary compares levels: the points differ by design (the legacy formula
        // counts registration days up to now, the migration as of its run).
        let same = match (&legacy_answer, &new_answer) {
            (Answer::Summary { level: l, .. }, Answer::Summary { level: n, .. }) => l == n,
            (l, n) => l == n,
        };
        assert_eq!(agree, same, "{id} {i}: {legacy_answer:?} {new_answer:?}");
        assert_eq!(agree, kind.is_none());
        assert!(legacy_us >= 0 && new_us.is_some_and(|us| us >= 0));
        assert_eq!(bucket, members[&id].0);
        assert_eq!(stage, 1);
        assert_eq!(routed, "legacy");
        if kind.as_deref() == Some("permission_extra") && i == 1 {
            extra.push((id.clone(), detail.clone()));
        }
    }
    assert_eq!(extra, vec![(odd.clone(), Some("beta.feature".to_owned()))]);
    // Each record names the version of the member's new-model data (the migration's
    // settings version: 0, the seed's defaults).
    let versions: Vec<Option<i32>> = sqlx::query_scalar(
        "select distinct settings_version from rollout_decisions where tenant_id = $1",
    )
    .bind(f.id())
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(versions, vec![Some(0)]);
    // The dashboard groups it.
    let dashboard = report::dashboard(&db, &viewer, r.rollout_id, now())
        .await
        .unwrap();
    let grouped = dashboard
        .mismatches
        .iter()
        .find(|m| m.kind == "permission_extra" && m.detail.as_deref() == Some("beta.feature"))
        .unwrap();
    assert_eq!(
        (grouped.count, grouped.examples.clone()),
        (1, vec![odd.clone()])
    );
    // The charts' minutes: every routed decision, every compared one, the timings.
    let asked_total = (ids.len() * asked.len()) as i64;
    let routed: i64 = dashboard.minutes.iter().map(|m| m.routed_legacy).sum();
    let compared: i64 = dashboard.minutes.iter().map(|m| m.compared).sum();
    assert_eq!((routed, compared), (asked_total, asked_total));
    assert!(
        dashboard
            .minutes
            .iter()
            .filter(|m| m.compared > 0)
            .all(|m| m.legacy_p99_us.is_some() && m.new_p99_us.is_some())
    );
    let score = dashboard
        .scores
        .iter()
        .find(|s| s.decision == DecisionKind::Permission)
        .unwrap();
    assert_eq!(score.compared, 2 * ids.len() as i64);

    // Sample rate 0: no records, but the traffic is still counted.
    let settings = plan::Settings {
        group_id: r.group_id.clone(),
        sample_bp: 0,
        gate_score: 95.0,
        min_sample: 100,
        guard_error_pct: 1.0,
        guard_p99_ms: 500,
    };
    plan::update_settings(&db, &admin, r.rollout_id, &settings)
        .await
        .unwrap();
    let before = traffic(&db, f.id()).await;
    assert_eq!(before, (ids.len() * asked.len()) as i64);
    for id in &ids {
        for q in &asked {
            decide(&db, &cache, &shadow, &viewer, id, q).await.unwrap();
        }
    }
    shadow.flush().await.unwrap();
    let after: i64 =
        sqlx::query_scalar("select count(*) from rollout_decisions where tenant_id = $1")
            .bind(f.id())
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(after, (ids.len() * asked.len()) as i64);
    assert_eq!(
        traffic(&db, f.id()).await,
        2 * (ids.len() * asked.len()) as i64
    );
}

async fn traffic(db: &PgPool, tenant_id: Uuid) -> i64 {
    sqlx::query_scalar(
        "select coalesce(sum(legacy + new), 0)::bigint from rollout_traffic where tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_one(db)
    .await
    .unwrap()
}

// 6. Score and gate arithmetic, including the minimum sample.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_gate_needs_the_sample_the_score_the_hold_and_the_approver(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let alice = f.tenant.with_admin(&db, "alice", Role::TenantAdmin).await;
    let mut new = plan_with(&[5, 20, 100]);
    new.stages[0].hold_minutes = 60;
    new.stages[1].approver = Some(alice.admin_id);
    let r = plan::create(&db, &admin, &new).await.unwrap();
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    let id = r.rollout_id;
    // Permission: 99 agreeing (one short of the sample). Quota: 180 agree, 16 higher,
    // 4 lower (90 %). Summary: 100 agreeing.
    records(&db, f.id(), id, 1, "permission", 99, None, None, 100).await;
    records(&db, f.id(), id, 1, "quota", 180, None, None, 100).await;
    records(
        &db,
        f.id(),
        id,
        1,
        "quota",
        16,
        Some("quota_higher"),
        None,
        100,
    )
    .await;
    records(
        &db,
        f.id(),
        id,
        1,
        "quota",
        4,
        Some("quota_lower"),
        None,
        100,
    )
    .await;
    records(&db, f.id(), id, 1, "summary", 100, None, None, 100).await;
    // Records of another stage do not count.
    records(&db, f.id(), id, 2, "permission", 50, None, None, 100).await;
    let blockers = blocked(plan::advance(&db, &admin, id, now()).await);
    assert_eq!(
        blockers,
        vec![
            Blocker::Hold {
                until: now() + Duration::minutes(60)
            },
            Blocker::Sample {
                decision: DecisionKind::Permission,
                have: 99,
                need: 100
            },
            Blocker::Score {
                decision: DecisionKind::Quota,
                score_cp: 9000,
                gate_cp: 9500
            },
            Blocker::Approver {
                name: Some("alice".into())
            },
        ]
    );
    let dashboard = report::dashboard(&db, &f.viewer.access(), id, now())
        .await
        .unwrap();
    assert_eq!(dashboard.blockers, blockers);
    let quota = dashboard
        .scores
        .iter()
        .find(|s| s.decision == DecisionKind::Quota && s.stage_no == 1)
        .unwrap();
    assert_eq!(
        (quota.compared, quota.agreed, quota.accepted),
        (200, 180, 0)
    );
    assert_eq!(quota.score, Some(90.0));
    assert!(quota.lower.unwrap() < 90.0);
    // A lower quota can never be accepted; a higher one can.
    let accept = |kind: &str| NewAccepted {
        decision: DecisionKind::Quota,
        kind: kind.into(),
        detail: None,
        owner: "licensing team".into(),
        reason: "the new plans are more generous".into(),
        expires_at: now() + Duration::days(30),
    };
    assert!(matches!(
        plan::accept(&db, &admin, id, &accept("quota_lower"), now()).await,
        Err(Error::Invalid { field: "kind", .. })
    ));
    let accepted = plan::accept(&db, &admin, id, &accept("quota_higher"), now())
        .await
        .unwrap();
    assert_eq!(accepted.owner, "licensing team");
    records(&db, f.id(), id, 1, "permission", 1, None, None, 100).await;
    let blockers = blocked(plan::advance(&db, &admin, id, now()).await);
    assert_eq!(
        blockers,
        vec![
            Blocker::Hold {
                until: now() + Duration::minutes(60)
            },
            Blocker::Approver {
                name: Some("alice".into())
            },
        ]
    );
    // The accepted mismatches are reported apart; the lower ones still count.
    let dashboard = report::dashboard(&db, &f.viewer.access(), id, now())
        .await
        .unwrap();
    let quota = dashboard
        .scores
        .iter()
        .find(|s| s.decision == DecisionKind::Quota && s.stage_no == 1)
        .unwrap();
    assert_eq!(
        (quota.compared, quota.agreed, quota.accepted),
        (200, 180, 16)
    );
    assert_eq!(quota.sample(), 184);
    let higher = dashboard
        .mismatches
        .iter()
        .find(|m| m.kind == "quota_higher")
        .unwrap();
    assert_eq!(higher.accepted, Some(accepted.accepted_id));
    let lower = dashboard
        .mismatches
        .iter()
        .find(|m| m.kind == "quota_lower")
        .unwrap();
    assert_eq!(lower.accepted, None);
    // More lower quotas push it under the gate again, accepted or not.
    records(
        &db,
        f.id(),
        id,
        1,
        "quota",
        6,
        Some("quota_lower"),
        None,
        100,
    )
    .await;
    let later = now() + Duration::minutes(61);
    let blockers = blocked(plan::advance(&db, &alice.access(), id, later).await);
    assert_eq!(
        blockers,
        vec![Blocker::Score {
            decision: DecisionKind::Quota,
            score_cp: 9473,
            gate_cp: 9500
        }]
    );
    records(&db, f.id(), id, 1, "quota", 20, None, None, 100).await;
    // The hold has passed, but the boss is not the stage's approver.
    let blockers = blocked(plan::advance(&db, &admin, id, later).await);
    assert_eq!(
        blockers,
        vec![Blocker::Approver {
            name: Some("alice".into())
        }]
    );
    let moved = plan::advance(&db, &alice.access(), id, later)
        .await
        .unwrap();
    assert_eq!(moved.stage_no, 2);
    // The move is audited with the scores it was taken on.
    let scores: serde_json::Value = sqlx::query_scalar(
        "select score from rollout_events where tenant_id = $1 and rollout_id = $2 and action = 'advance'
         order by event_id desc limit 1",
    )
    .bind(f.id())
    .bind(id)
    .fetch_one(&db)
    .await
    .unwrap();
    let scores: Vec<domain::rollout::Score> = serde_json::from_value(scores).unwrap();
    assert_eq!(scores.len(), 3);
    assert!(scores.iter().all(|s| s.stage_no == 1 && s.sample() >= 100));
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where tenant_id = $1 and action = 'rollout.advance'",
    )
    .bind(f.id())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(audited, 2);
}

// 6b. A stage entered again after a step back is scored afresh.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_stage_entered_again_is_scored_afresh(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let r = plan::create(&db, &admin, &plan_with(&[5, 20, 100]))
        .await
        .unwrap();
    let id = r.rollout_id;
    plan::set_modes(&db, &admin, id, [Mode::Shadow, Mode::Off, Mode::Off])
        .await
        .unwrap();
    let r = plan::advance(&db, &admin, id, now()).await.unwrap();
    drive_stage(&db, &r).await;
    records(&db, f.id(), id, 1, "permission", 100, None, None, 100).await;
    let r = plan::advance(&db, &admin, id, now()).await.unwrap();
    drive_stage(&db, &r).await;
    // Stage 2 goes badly: 60 % agreement. Step back.
    records(&db, f.id(), id, 2, "permission", 60, None, None, 100).await;
    records(
        &db,
        f.id(),
        id,
        2,
        "permission",
        40,
        Some("permission_missing"),
        Some("sso"),
        100,
    )
    .await;
    assert!(matches!(
        blocked(plan::advance(&db, &admin, id, now()).await)[..],
        [Blocker::Score { score_cp: 6000, .. }]
    ));
    let back = plan::step_back(&db, &admin, id, now()).await.unwrap();
    let rollback = run::active(&db, &admin).await.unwrap().unwrap();
    run::drive(&db, f.id(), rollback.run_id, |_| {})
        .await
        .unwrap();
    // Stage 1's score is still its own; entering stage 2 again starts from nothing.
    let r = plan::advance(&db, &admin, back.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    assert_eq!(
        blocked(plan::advance(&db, &admin, id, now()).await),
        vec![Blocker::Sample {
            decision: DecisionKind::Permission,
            have: 0,
            need: 100
        }]
    );
    let dashboard = report::dashboard(&db, &f.viewer.access(), id, now())
        .await
        .unwrap();
    assert!(
        dashboard.mismatches.is_empty(),
        "{:?}",
        dashboard.mismatches
    );
    records(&db, f.id(), id, 2, "permission", 100, None, None, 100).await;
    assert_eq!(
        plan::advance(&db, &admin, id, now())
            .await
            .unwrap()
            .stage_no,
        3
    );
}

// 7. Automatic pause on a guardrail.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn guardrails_pause_the_rollout_and_say_why(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let r = create(&db, &admin).await;
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    let id = r.rollout_id;
    // Nothing trips on fewer answers than the minimum sample.
    records(
        &db,
        f.id(),
        id,
        1,
        "permission",
        60,
        Some("permission_missing"),
        Some("sso"),
        100,
    )
    .await;
    assert!(
        report::guard(&db, f.id(), id, now())
            .await
            .unwrap()
            .is_empty()
    );
    // A low score over enough answers.
    records(&db, f.id(), id, 1, "permission", 60, None, None, 100).await;
    let tripped = report::guard(&db, f.id(), id, now()).await.unwrap();
    assert_eq!(tripped.len(), 1, "{tripped:?}");
    let paused = plan::get(&db, &admin, id).await.unwrap();
    assert_eq!(paused.status, RolloutStatus::Paused);
    let reason = paused.pause_reason.unwrap();
    assert!(reason.contains("permission score 50.00 %"), "{reason}");
    // Paused: the guard does nothing more.
    assert!(
        report::guard(&db, f.id(), id, now())
            .await
            .unwrap()
            .is_empty()
    );
    // After a resume the older answers are not counted.
    plan::resume(&db, &admin, id).await.unwrap();
    assert!(
        report::guard(&db, f.id(), id, now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        plan::get(&db, &admin, id).await.unwrap().status,
        RolloutStatus::Running
    );
    // Errors above the limit.
    records(&db, f.id(), id, 1, "quota", 95, None, None, 100).await;
    records(&db, f.id(), id, 1, "quota", 5, Some("error"), None, 100).await;
    report::guard(&db, f.id(), id, now()).await.unwrap();
    let paused = plan::get(&db, &admin, id).await.unwrap();
    assert_eq!(paused.status, RolloutStatus::Paused);
    let reason = paused.pause_reason.unwrap();
    assert!(reason.contains("quota errors 5.00 %"), "{reason}");
    plan::resume(&db, &admin, id).await.unwrap();
    // The new model's p99 above the limit (500 ms).
    records(&db, f.id(), id, 1, "summary", 100, None, None, 700_000).await;
    report::guard(&db, f.id(), id, now()).await.unwrap();
    let paused = plan::get(&db, &admin, id).await.unwrap();
    assert_eq!(paused.status, RolloutStatus::Paused);
    let reason = paused.pause_reason.unwrap();
    assert!(
        reason.contains("summary p99 of the new model 700.0 ms"),
        "{reason}"
    );
    // Each pause is on the timeline as the guardrail's.
    let pauses: Vec<(Option<Uuid>, Option<String>)> = sqlx::query_as(
        "select actor, reason from rollout_events where tenant_id = $1 and rollout_id = $2
           and action = 'auto_pause' order by event_id",
    )
    .bind(f.id())
    .bind(id)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(pauses.len(), 3);
    assert!(pauses.iter().all(|(actor, _)| actor.is_none()));
    // The job guards running rollouts and snapshots them.
    plan::resume(&db, &admin, id).await.unwrap();
    report::work(&db, now()).await.unwrap();
    let snapshots: i64 = sqlx::query_scalar(
        "select count(*) from rollout_snapshots where tenant_id = $1 and rollout_id = $2",
    )
    .bind(f.id())
    .bind(id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(snapshots, 1);
    // The job keeps at most record_cap records, the newest.
    records(&db, f.id(), id, 1, "quota", 1500, None, None, 100).await;
    sqlx::query("update rollouts set record_cap = 1000 where rollout_id = $1")
        .bind(id)
        .execute(&db)
        .await
        .unwrap();
    let newest: i64 =
        sqlx::query_scalar("select max(record_id) from rollout_decisions where rollout_id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap();
    // Pruning goes with the minute's snapshot: the next minute.
    report::work(&db, now() + Duration::minutes(1))
        .await
        .unwrap();
    let (kept, oldest): (i64, i64) = sqlx::query_as(
        "select count(*), min(record_id) from rollout_decisions where rollout_id = $1",
    )
    .bind(id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((kept, oldest), (1000, newest - 999));
}

// 8. Stepping back a stage rolls back exactly the leaving members.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn stepping_back_rolls_back_exactly_the_leaving_members(db: PgPool) {
    let f = fixture(&db, "acme", 600).await;
    let admin = f.admin.access();
    let (cache, shadow) = local(&db);
    let r = create(&db, &admin).await;
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    let first: HashSet<String> = cohort(&db, f.id(), r.rollout_id)
        .await
        .into_keys()
        .collect();
    pass_gate(&db, f.id(), &r).await;
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    let second: HashSet<String> = cohort(&db, f.id(), r.rollout_id)
        .await
        .into_keys()
        .collect();
    let joiners: HashSet<String> = second.difference(&first).cloned().collect();
    assert!(!joiners.is_empty());
    assert_eq!(migrated(&db, f.id()).await, second);
    plan::set_modes(&db, &admin, r.rollout_id, [Mode::Live; 3])
        .await
        .unwrap();

    let back = plan::step_back(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    assert_eq!(back.stage_no, 1);
    assert!(back.stages[1].thresholds.is_none() && back.stages[1].run_id.is_none());
    // Leaving the cohort takes effect at once: still migrated (the rollback has not
    // run), the leavers are answered by the legacy model; the stayers by their modes.
    let leaver = joiners.iter().min().unwrap().clone();
    assert!(migrated(&db, f.id()).await.contains(&leaver));
    assert_eq!(
        models(&db, &cache, &shadow, &admin, &leaver).await,
        [Model::Legacy; 3]
    );
    let stayer = first.iter().min().unwrap().clone();
    assert_eq!(
        models(&db, &cache, &shadow, &admin, &stayer).await,
        [Model::New; 3]
    );
    let rollback = run::active(&db, &admin)
        .await
        .unwrap()
        .expect("a rollback run");
    assert_eq!(rollback.total, joiners.len() as i64);
    // While the rollback runs the stage cannot be entered again, and the dashboard says so.
    pass_gate(&db, f.id(), &back).await;
    assert!(
        blocked(plan::advance(&db, &admin, r.rollout_id, now()).await)
            .contains(&Blocker::RunActive)
    );
    let dashboard = report::dashboard(&db, &f.viewer.access(), r.rollout_id, now())
        .await
        .unwrap();
    assert_eq!(dashboard.blockers, vec![Blocker::RunActive]);
    let done = run::drive(&db, f.id(), rollback.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.done),
        (RunStatus::Completed, joiners.len() as i64)
    );
    // Exactly the joiners are rolled back and answered by the legacy model.
    assert_eq!(rolled_back(&db, f.id()).await, joiners);
    assert_eq!(migrated(&db, f.id()).await, first);
    let now_cohort: HashSet<String> = cohort(&db, f.id(), r.rollout_id)
        .await
        .into_keys()
        .collect();
    assert_eq!(now_cohort, first);
    let mut sample: Vec<&String> = joiners.iter().collect();
    sample.sort();
    for id in sample.iter().take(5) {
        assert_eq!(
            models(&db, &cache, &shadow, &admin, id).await,
            [Model::Legacy; 3]
        );
    }
    let mut stayers: Vec<&String> = first.iter().collect();
    stayers.sort();
    for id in stayers.iter().take(5) {
        assert_eq!(
            models(&db, &cache, &shadow, &admin, id).await,
            [Model::New; 3]
        );
    }
    ledger_clean(&db, f.id()).await;
    // The stage can be entered again: the same members come back.
    let again = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &again).await;
    assert_eq!(migrated(&db, f.id()).await, second);
    ledger_clean(&db, f.id()).await;
}

// 8b. Stepping back while the stage's run is still going.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn stepping_back_mid_run_rolls_back_only_the_joiners_it_migrated(db: PgPool) {
    let f = fixture(&db, "acme", 600).await;
    let admin = f.admin.access();
    let r = create(&db, &admin).await;
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    let first: HashSet<String> = cohort(&db, f.id(), r.rollout_id)
        .await
        .into_keys()
        .collect();
    pass_gate(&db, f.id(), &r).await;
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    let run_id = r.current().unwrap().run_id.unwrap();
    // One batch of 50 of the joiners, then the step back.
    assert!(matches!(
        run::step(&db, f.id(), run_id, 50, true).await.unwrap(),
        run::Step::Batch { handled: 50, .. }
    ));
    let partly: HashSet<String> = migrated(&db, f.id())
        .await
        .difference(&first)
        .cloned()
        .collect();
    assert_eq!(partly.len(), 50);
    plan::step_back(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    assert_eq!(
        run::detail(&db, &admin, run_id).await.unwrap().run.status,
        RunStatus::Cancelled
    );
    let rollback = run::active(&db, &admin)
        .await
        .unwrap()
        .expect("a rollback run");
    assert_eq!(rollback.total, 50);
    run::drive(&db, f.id(), rollback.run_id, |_| {})
        .await
        .unwrap();
    assert_eq!(rolled_back(&db, f.id()).await, partly);
    assert_eq!(migrated(&db, f.id()).await, first);
    ledger_clean(&db, f.id()).await;
}

// 9. Abort.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn abort_rolls_everyone_back_and_ends_the_rollout(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let r = create(&db, &admin).await;
    assert!(matches!(
        plan::create(&db, &admin, &plan_with(&[10, 100])).await,
        Err(Error::Conflict(Conflict::RolloutActive))
    ));
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    let cohort_ids: HashSet<String> = cohort(&db, f.id(), r.rollout_id)
        .await
        .into_keys()
        .collect();
    let aborted = plan::abort(&db, &admin, r.rollout_id, "numbers look wrong", now())
        .await
        .unwrap();
    assert_eq!(aborted.status, RolloutStatus::Aborted);
    assert!(aborted.finished_at.is_some());
    assert_eq!(
        routing::routing(&db, &admin).await.unwrap().mode,
        Model::Legacy
    );
    let rollback = run::active(&db, &admin)
        .await
        .unwrap()
        .expect("a rollback run");
    assert_eq!(rollback.total, cohort_ids.len() as i64);
    run::drive(&db, f.id(), rollback.run_id, |_| {})
        .await
        .unwrap();
    assert!(migrated(&db, f.id()).await.is_empty());
    assert_eq!(rolled_back(&db, f.id()).await, cohort_ids);
    ledger_clean(&db, f.id()).await;
    // Every write answers RolloutEnded now.
    let id = r.rollout_id;
    let ended = |result: domain::Result<Rollout>| {
        assert!(
            matches!(result, Err(Error::Conflict(Conflict::RolloutEnded))),
            "{result:?}"
        )
    };
    ended(plan::advance(&db, &admin, id, now()).await);
    ended(plan::step_back(&db, &admin, id, now()).await);
    ended(plan::pause(&db, &admin, id, "").await);
    ended(plan::resume(&db, &admin, id).await);
    ended(plan::abort(&db, &admin, id, "again", now()).await);
    ended(plan::set_modes(&db, &admin, id, [Mode::Live; 3]).await);
    ended(plan::complete(&db, &admin, id, now()).await);
    let settings = plan::Settings {
        group_id: "x".into(),
        sample_bp: 100,
        gate_score: 95.0,
        min_sample: 100,
        guard_error_pct: 1.0,
        guard_p99_ms: 500,
    };
    ended(plan::update_settings(&db, &admin, id, &settings).await);
    let accept = NewAccepted {
        decision: DecisionKind::Permission,
        kind: "permission_extra".into(),
        detail: None,
        owner: "o".into(),
        reason: "r".into(),
        expires_at: now() + Duration::days(1),
    };
    assert!(matches!(
        plan::accept(&db, &admin, id, &accept, now()).await,
        Err(Error::Conflict(Conflict::RolloutEnded))
    ));
    // The kill switch without an active rollout still flips the switch.
    assert!(plan::kill(&db, &admin).await.unwrap().is_none());
    // A new rollout may start.
    let next = create(&db, &admin).await;
    assert_eq!(
        plan::current(&db, &f.viewer.access())
            .await
            .unwrap()
            .unwrap()
            .rollout_id,
        next.rollout_id
    );
}

// 9b. Abort while a step back's rollback is still going.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn abort_takes_over_a_step_back_in_progress(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let r = create(&db, &admin).await;
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    pass_gate(&db, f.id(), &r).await;
    let r = plan::advance(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    drive_stage(&db, &r).await;
    let everyone: HashSet<String> = cohort(&db, f.id(), r.rollout_id)
        .await
        .into_keys()
        .collect();
    plan::step_back(&db, &admin, r.rollout_id, now())
        .await
        .unwrap();
    // The gradual rollback has not run a batch yet: the emergency takes everyone.
    let aborted = plan::abort(&db, &admin, r.rollout_id, "stop everything", now())
        .await
        .unwrap();
    assert_eq!(aborted.status, RolloutStatus::Aborted);
    let rollback = run::active(&db, &admin)
        .await
        .unwrap()
        .expect("a rollback run");
    assert_eq!(
        rollback.rollback_mode,
        Some(model::migration::run::RollbackMode::Emergency)
    );
    run::drive(&db, f.id(), rollback.run_id, |_| {})
        .await
        .unwrap();
    assert!(migrated(&db, f.id()).await.is_empty());
    assert_eq!(rolled_back(&db, f.id()).await, everyone);
    ledger_clean(&db, f.id()).await;
}

// 10. Tenant isolation and roles.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn roles_and_tenants(db: PgPool) {
    let f = fixture(&db, "acme", 200).await;
    let other = fixture(&db, "other", 0).await;
    let admin = f.admin.access();
    let (cache, shadow) = local(&db);
    for access in [f.support.access(), f.viewer.access()] {
        assert!(matches!(
            plan::create(&db, &access, &plan_with(&[50, 100])).await,
            Err(Error::Forbidden)
        ));
    }
    let r = create(&db, &admin).await;
    let id = r.rollout_id;
    let r = plan::advance(&db, &admin, id, now()).await.unwrap();
    drive_stage(&db, &r).await;
    let settings = plan::Settings {
        group_id: r.group_id.clone(),
        sample_bp: 100,
        gate_score: 95.0,
        min_sample: 100,
        guard_error_pct: 1.0,
        guard_p99_ms: 500,
    };
    let accept = NewAccepted {
        decision: DecisionKind::Permission,
        kind: "permission_extra".into(),
        detail: Some("license_request".into()),
        owner: "o".into(),
        reason: "r".into(),
        expires_at: now() + Duration::days(1),
    };
    // Every write: Forbidden below tenant admin, NotFound in another tenant.
    let refused = |result: domain::Result<()>, want: &str| match (&result, want) {
        (Err(Error::Forbidden), "forbidden") | (Err(Error::NotFound { .. }), "not found") => {}
        _ => panic!("expected {want}, got {result:?}"),
    };
    let other_admin = other.admin.access();
    for (access, want) in [
        (f.support.access(), "forbidden"),
        (f.viewer.access(), "forbidden"),
        (other_admin.clone(), "not found"),
    ] {
        let a = &access;
        refused(plan::advance(&db, a, id, now()).await.map(|_| ()), want);
        refused(plan::step_back(&db, a, id, now()).await.map(|_| ()), want);
        refused(plan::pause(&db, a, id, "x").await.map(|_| ()), want);
        refused(plan::resume(&db, a, id).await.map(|_| ()), want);
        refused(plan::abort(&db, a, id, "x", now()).await.map(|_| ()), want);
        refused(
            plan::set_modes(&db, a, id, [Mode::Live; 3])
                .await
                .map(|_| ()),
            want,
        );
        refused(
            plan::update_settings(&db, a, id, &settings)
                .await
                .map(|_| ()),
            want,
        );
        refused(plan::complete(&db, a, id, now()).await.map(|_| ()), want);
        refused(
            plan::accept(&db, a, id, &accept, now()).await.map(|_| ()),
            want,
        );
        if want == "forbidden" {
            refused(plan::kill(&db, a).await.map(|_| ()), want);
        }
    }
    // Reads: every role of the tenant; another tenant does not find it.
    for access in [f.viewer.access(), f.support.access(), admin.clone()] {
        assert_eq!(plan::get(&db, &access, id).await.unwrap().rollout_id, id);
        assert_eq!(
            plan::current(&db, &access)
                .await
                .unwrap()
                .unwrap()
                .rollout_id,
            id
        );
        report::dashboard(&db, &access, id, now()).await.unwrap();
        report::accepted(&db, &access, id).await.unwrap();
        report::member_route(&db, &access, "L000001", now())
            .await
            .unwrap();
        decide(&db, &cache, &shadow, &access, "L000001", &Question::Quota)
            .await
            .unwrap();
    }
    assert!(matches!(
        plan::get(&db, &other_admin, id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        report::dashboard(&db, &other_admin, id, now()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        report::accepted(&db, &other_admin, id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(plan::current(&db, &other_admin).await.unwrap().is_none());
    // The other tenant's kill switch and rollout leave this one alone.
    assert!(plan::kill(&db, &other_admin).await.unwrap().is_none());
    assert_eq!(
        plan::get(&db, &admin, id).await.unwrap().status,
        RolloutStatus::Running
    );
    assert_eq!(
        routing::routing(&db, &admin).await.unwrap().mode,
        Model::New
    );
    let theirs = create(&db, &other_admin).await;
    assert_ne!(theirs.rollout_id, id);
    // Decisions never see another tenant's members.
    for id in ["L000001", "L000150"] {
        assert!(matches!(
            decide(&db, &cache, &shadow, &other_admin, id, &Question::Quota).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            report::member_route(&db, &other_admin, id, now()).await,
            Err(Error::NotFound { .. })
        ));
    }
    shadow.flush().await.unwrap();
    let foreign: i64 =
        sqlx::query_scalar("select count(*) from rollout_decisions where tenant_id = $1")
            .bind(other.id())
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(foreign, 0);
}

// 11. Concurrency.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn concurrent_advances_and_decisions(db: PgPool) {
    let f = fixture(&db, "acme", 1000).await;
    let admin = f.admin.access();
    // Two creates at once: one rollout, the other is told one is active.
    let plan = plan_with(&[5, 20, 50, 100]);
    let (a, b) = tokio::join!(
        plan::create(&db, &admin, &plan),
        plan::create(&db, &admin, &plan)
    );
    let r = match (a, b) {
        (Ok(r), Err(Error::Conflict(Conflict::RolloutActive)))
        | (Err(Error::Conflict(Conflict::RolloutActive)), Ok(r)) => r,
        other => panic!("exactly one create succeeds: {other:?}"),
    };
    let id = r.rollout_id;
    let (a, b) = tokio::join!(
        plan::advance(&db, &admin, id, now()),
        plan::advance(&db, &admin, id, now())
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("exactly one advance succeeds: {other:?}"),
    };
    assert_eq!(won.stage_no, 1);
    match lost {
        Error::Conflict(Conflict::RolloutBlocked(blockers)) => {
            assert!(blockers.contains(&Blocker::RunActive), "{blockers:?}")
        }
        Error::Conflict(Conflict::MigrationRunActive) => {}
        other => panic!("{other:?}"),
    }
    let rows: Vec<(i32, i64)> = sqlx::query_as(
        "select stage_no, count(*) from rollout_members where tenant_id = $1 and rollout_id = $2 group by 1",
    )
    .bind(f.id())
    .bind(id)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    let joined = rows[0].1;
    let runs: i64 = sqlx::query_scalar("select count(*) from migration_runs where tenant_id = $1")
        .bind(f.id())
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(runs, 1);
    let current = plan::get(&db, &admin, id).await.unwrap();
    assert_eq!(current.stage_no, 1);
    assert_eq!(
        current
            .current()
            .unwrap()
            .mix
            .clone()
            .unwrap()
            .iter()
            .sum::<i64>(),
        joined
    );
    drive_stage(&db, &current).await;
    pass_gate(&db, f.id(), &current).await;

    // Decisions during a running migration batch all succeed.
    let r = plan::advance(&db, &admin, id, now()).await.unwrap();
    let run_id = r.current().unwrap().run_id.unwrap();
    plan::set_modes(&db, &admin, id, [Mode::Live, Mode::Shadow, Mode::Shadow])
        .await
        .unwrap();
    let (cache, shadow) = local(&db);
    let ids: Vec<String> = {
        let mut ids: Vec<String> = cohort(&db, f.id(), id).await.into_keys().collect();
        ids.sort();
        ids
    };
    // The worker takes small batches (each holds its members' rows while it writes);
    // the decisions run meanwhile.
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let worker = tokio::spawn({
        let (db, running) = (db.clone(), running.clone());
        let tenant_id = f.id();
        async move {
            let mut batches = 0;
            loop {
                match run::step(&db, tenant_id, run_id, 20, true).await {
                    Ok(run::Step::Batch { .. }) => batches += 1,
                    Ok(_) => break,
                    Err(e) => panic!("{e:?}"),
                }
                tokio::task::yield_now().await;
            }
            running.store(false, std::sync::atomic::Ordering::SeqCst);
            batches
        }
    });
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (db, cache, shadow, access, running) = (
            db.clone(),
            cache.clone(),
            shadow.clone(),
            admin.clone(),
            running.clone(),
        );
        let member = ids[(i * 7) % ids.len()].clone();
        let question = questions()[i % 3].clone();
        tasks.push(tokio::spawn(async move {
            let routed = decide(&db, &cache, &shadow, &access, &member, &question).await;
            (routed, running.load(std::sync::atomic::Ordering::SeqCst))
        }));
    }
    let mut during = 0;
    for task in tasks {
        let (routed, while_running) = task.await.unwrap();
        routed.unwrap();
        during += usize::from(while_running);
    }
    let batches = worker.await.unwrap();
    assert!(batches >= 5, "{batches} batches");
    assert!(during > 0, "no decision overlapped the run");
    let done = run::detail(&db, &admin, run_id).await.unwrap().run;
    assert_eq!(done.status, RunStatus::Completed);
    shadow.flush().await.unwrap();
    ledger_clean(&db, f.id()).await;
    assert_eq!(
        migrated(&db, f.id()).await,
        ids.iter().cloned().collect::<HashSet<_>>()
    );
}

// A retried or doubled advance (the same stage seen) moves once; a step back likewise.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_retried_move_moves_once(db: PgPool) {
    let f = fixture(&db, "acme", 300).await;
    let admin = f.admin.access();
    let r = plan::create(&db, &admin, &plan_with(&[5, 20, 100]))
        .await
        .unwrap();
    let first = plan::advance_from(&db, &admin, r.rollout_id, Some(0), now())
        .await
        .unwrap();
    assert_eq!(first.stage_no, 1);
    let again = plan::advance_from(&db, &admin, r.rollout_id, Some(0), now())
        .await
        .unwrap();
    assert_eq!(again.stage_no, 1, "the retry answers the moved rollout");
    assert!(matches!(
        plan::advance_from(&db, &admin, r.rollout_id, Some(3), now()).await,
        Err(Error::Conflict(Conflict::StaleVersion))
    ));
    let back = plan::step_back_from(&db, &admin, r.rollout_id, Some(1), now())
        .await
        .unwrap();
    assert_eq!(back.stage_no, 0);
    let back_again = plan::step_back_from(&db, &admin, r.rollout_id, Some(1), now())
        .await
        .unwrap();
    assert_eq!(back_again.stage_no, 0);
    let events: i64 = sqlx::query_scalar(
        "select count(*) from rollout_events where rollout_id = $1 and action in ('advance', 'step_back')",
    )
    .bind(r.rollout_id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(events, 2);
}
