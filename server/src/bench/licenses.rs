//! `tierdesk bench licenses`: a tenant with a million licenses (several plans, most
//! assigned, many activated), timed through the domain code as the console and the API
//! call it, plus a contention run of many clients activating the same few licenses.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::licenses::{
    self, ActivateInput, AssignInput, Code, LicenseFilter, LicenseState, ValidateInput, devices,
    seats,
};
use domain::{Access, Conflict, Error, Principal, Role};
use rand::Rng;
use rand::seq::SliceRandom;
use sqlx::PgPool;
use uuid::Uuid;

use super::Latencies;

pub struct LicensesReport {
    pub slug: String,
    pub licenses: i64,
    pub members: i64,
    pub seeded_seconds: f64,
    /// (label, rows of the last answer, latencies in µs)
    pub timings: Vec<(&'static str, usize, Latencies)>,
    pub contention: Contention,
}

pub struct Contention {
    pub clients: usize,
    pub licenses: usize,
    pub seconds: f64,
    pub activated: u64,
    pub refused: u64,
    pub deactivated: u64,
    /// Licenses whose live activations exceed their limit, or whose counter disagrees
    /// with their live activation rows, after the run (must be 0).
    pub over_limit: i64,
}

/// Seeds the tenant set-based: four plans, `licenses` licenses of which 80 % are held
/// (members' quotas raised so that they fit), 1 % suspended, 0.5 % revoked, a few
/// percent expired, and about a third of the held ones activated on devices.
async fn seed(db: &PgPool, licenses: i64, members: i64) -> Result<(Uuid, String, f64), Error> {
    let slug = format!("bench-{}", &Uuid::new_v4().simple().to_string()[..12]);
    let tenant =
        domain::access::tenants::create(db, &Principal::cli(), None, &slug, "Benchmark").await?;
    let tenant_id = tenant.tenant_id;
    let started = Instant::now();
    let mut tx = db.begin().await?;
    // Quotas large enough for about eight seats per member.
    let tiers: Vec<_> = domain::points::levels::default_tiers()
        .into_iter()
        .enumerate()
        .map(|(i, mut tier)| {
            tier.max_licenses = 10 + 5 * i as i32;
            tier
        })
        .collect();
    domain::points::levels::install(&mut tx, tenant_id, &tiers).await?;
    domain::demo::seed_members(&mut tx, tenant_id, members).await?;
    sqlx::query(
        "insert into license_plans (tenant_id, code, name_zh, name_en, default_max_activations, default_validity_days)
         values ($1, 'basic', '基础版', 'Basic', 1, 365), ($1, 'pro', '专业版', 'Pro', 3, 365),
                ($1, 'team', '团队版', 'Team', 5, 730), ($1, 'enterprise', '企业版', 'Enterprise', 10, null)",
    )
    .bind(tenant_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("select setseed(0.17)")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        r#"with plans as (
             select plan_id, default_max_activations as max, default_validity_days as days,
                    row_number() over (order by code) - 1 as p
             from license_plans where tenant_id = $1
           ), people as (
             select member_id, row_number() over (order by member_id) - 1 as n
             from member_profiles where tenant_id = $1
           ), numbered as (
             select i, (i % 4) as p, i < ($2 * 8 / 10) as held, random() as r
             from generate_series(0, $2 - 1) i
           )
           insert into licenses (tenant_id, plan_id, license_key, max_activations, expires_at, member_id,
                                 assigned_at, activations, suspended_at, suspend_reason, revoked_at,
                                 revoke_reason, created_at)
           select $1, pl.plan_id,
                  (select string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 1 + floor(random() * 32)::int, 1)
                                     || case when k in (5, 10, 15) then '-' else '' end, '' order by k)
                   from generate_series(1, 20) k where numbered.i >= 0),
                  pl.max,
                  case when pl.days is null then null
                       else now() + ((numbered.r * 1.05 - 0.05) * pl.days) * interval '1 day' end,
                  case when numbered.held then pe.member_id end,
                  case when numbered.held then now() - interval '60 days' end,
                  case when numbered.held and numbered.i % 3 = 0 then least(pl.max, 1 + numbered.i % 3 + numbered.i % 2) else 0 end,
                  case when numbered.i % 100 = 7 then now() - interval '3 days' end,
                  case when numbered.i % 100 = 7 then 'payment overdue' end,
                  case when not numbered.held and numbered.i % 200 = 3 then now() - interval '5 days' end,
                  case when not numbered.held and numbered.i % 200 = 3 then 'refunded' end,
                  now() - interval '90 days'
           from numbered
           join plans pl on pl.p = numbered.p
           left join people pe on pe.n = numbered.i % $3"#,
    )
    .bind(tenant_id)
    .bind(licenses)
    .bind(members)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into member_license_use (tenant_id, member_id, held)
         select $1, member_id, count(*) from licenses where tenant_id = $1 and member_id is not null
         group by member_id",
    )
    .bind(tenant_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into license_assignments (tenant_id, license_id, member_id, assigned_at, method)
         select tenant_id, license_id, member_id, assigned_at, 'cli' from licenses
         where tenant_id = $1 and member_id is not null",
    )
    .bind(tenant_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into license_activations (tenant_id, license_id, member_id, fingerprint, device_name,
                                          activated_at, last_seen_at)
         select l.tenant_id, l.license_id, l.member_id, 'seed-' || d, 'Device ' || d,
                now() - interval '30 days', now() - interval '1 day'
         from licenses l cross join lateral generate_series(1, l.activations) d
         where l.tenant_id = $1 and l.activations > 0",
    )
    .bind(tenant_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    for table in [
        "licenses",
        "license_assignments",
        "license_activations",
        "member_license_use",
        "member_profiles",
    ] {
        sqlx::query(&format!("analyze {table}")).execute(db).await?;
    }
    Ok((tenant_id, slug, started.elapsed().as_secs_f64()))
}

async fn time<T, F, Fut>(runs: usize, mut op: F) -> Result<(usize, Latencies), Error>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
    T: Rows,
{
    let mut samples = Vec::with_capacity(runs);
    let mut rows = 0;
    for i in 0..runs {
        let started = Instant::now();
        let answer = op(i).await?;
        samples.push(started.elapsed().as_micros() as u64);
        rows = answer.rows();
    }
    Ok((rows, Latencies::of(samples)))
}

/// How many rows an answer has (for the printout).
trait Rows {
    fn rows(&self) -> usize;
}

impl Rows for licenses::LicensePage {
    fn rows(&self) -> usize {
        self.licenses.len()
    }
}

impl Rows for licenses::MemberLicenses {
    fn rows(&self) -> usize {
        self.licenses.len()
    }
}

impl Rows for () {
    fn rows(&self) -> usize {
        1
    }
}

impl Rows for licenses::Validation {
    fn rows(&self) -> usize {
        usize::from(self.valid)
    }
}

/// A list page for an owned filter (the timed closures build one per call).
async fn list(
    db: &PgPool,
    access: &Access,
    now: chrono::DateTime<Utc>,
    filter: LicenseFilter,
) -> Result<licenses::LicensePage, Error> {
    licenses::list(db, access, now, &filter).await
}

/// Seeds, times each operation `runs` times, then runs the contention phase.
pub async fn run(
    db: &PgPool,
    licenses_count: i64,
    members: i64,
    runs: usize,
    contention_clients: usize,
    contention_seconds: u64,
) -> Result<LicensesReport, Error> {
    let (tenant_id, slug, seeded_seconds) = seed(db, licenses_count, members).await?;
    let access = Access {
        principal: Principal::cli(),
        tenant_id,
        role: Role::TenantAdmin,
        request_id: None,
    };
    let now = Utc::now();
    let plans = licenses::plans(db, &access, now).await?;
    let plan = |code: &str| {
        plans
            .iter()
            .find(|p| p.code == code)
            .map(|p| p.plan_id)
            .ok_or_else(|| Error::Internal(format!("plan {code} missing")))
    };
    let (pro, enterprise) = (plan("pro")?, plan("enterprise")?);
    let people: Vec<(Uuid, String)> = sqlx::query_as(
        "select member_id, external_id from member_profiles where tenant_id = $1 order by random() limit $2",
    )
    .bind(tenant_id)
    .bind(runs as i64 * 2)
    .fetch_all(db)
    .await?;
    let held: Vec<(Uuid, String, i32, i32)> = sqlx::query_as(
        "select license_id, license_key, activations, max_activations from licenses
         where tenant_id = $1 and member_id is not null and suspended_at is null and expires_at is null
         order by random() limit $2",
    )
    .bind(tenant_id)
    .bind(runs as i64 * 2)
    .fetch_all(db)
    .await?;
    let mut timings = Vec::new();
    let (rows, latency) = time(runs, |_| list(db, &access, now, LicenseFilter::default())).await?;
    timings.push(("license list, first page", rows, latency));
    let (rows, latency) = time(runs, |i| {
        let after = held.get(i).map(|h| h.1.clone());
        list(
            db,
            &access,
            now,
            LicenseFilter {
                plan_id: Some(pro),
                state: Some(LicenseState::Assigned),
                after,
                ..Default::default()
            },
        )
    })
    .await?;
    timings.push(("license list, plan + state, keyset page", rows, latency));
    let (rows, latency) = time(runs, |_| {
        list(
            db,
            &access,
            now,
            LicenseFilter {
                state: Some(LicenseState::Revoked),
                ..Default::default()
            },
        )
    })
    .await?;
    timings.push(("license list, revoked (0.5 %)", rows, latency));
    let (rows, latency) = time(runs, |i| {
        let prefix = held.get(i % held.len().max(1)).map(|h| h.1[..4].to_owned());
        list(
            db,
            &access,
            now,
            LicenseFilter {
                key_prefix: prefix,
                ..Default::default()
            },
        )
    })
    .await?;
    timings.push(("key prefix search (4 characters)", rows, latency));
    let (rows, latency) = time(runs, |i| {
        let member = people.get(i % people.len().max(1)).map(|p| p.1.clone());
        list(
            db,
            &access,
            now,
            LicenseFilter {
                member,
                ..Default::default()
            },
        )
    })
    .await?;
    timings.push(("license list, one member", rows, latency));
    let (rows, latency) = time(runs, |i| {
        let member_id = people[i % people.len()].0;
        seats::member_licenses(db, &access, now, member_id)
    })
    .await?;
    timings.push(("member's licenses (member page)", rows, latency));
    // Assign a free seat of the plan to members with spare quota, then unassign it.
    let mut assigned = Vec::new();
    let mut samples = Vec::new();
    for i in 0..runs {
        let member_id = people[i % people.len()].0;
        let started = Instant::now();
        let answer = seats::assign(
            db,
            &access,
            now,
            AssignInput {
                member_id,
                plan_id: Some(pro),
                license_id: None,
            },
        )
        .await;
        samples.push(started.elapsed().as_micros() as u64);
        match answer {
            Ok(seat) => assigned.push(seat.license_id),
            Err(Error::Conflict(Conflict::LicenseQuotaReached { .. })) => {}
            Err(other) => return Err(other),
        }
    }
    timings.push((
        "assign (free seat of a plan)",
        assigned.len(),
        Latencies::of(samples),
    ));
    let (rows, latency) = time(assigned.len(), |i| {
        seats::unassign(db, &access, now, assigned[i], "benchmark")
    })
    .await?;
    timings.push(("unassign", rows, latency));
    // Activate new devices on held licenses with free slots, then validate.
    let mut samples = Vec::new();
    let mut activated = 0;
    for i in 0..runs {
        let license_id = held[i % held.len()].0;
        let started = Instant::now();
        let answer = devices::activate(
            db,
            &access,
            now,
            ActivateInput {
                license_id,
                fingerprint: format!("bench-{i}"),
                device_name: Some("Benchmark".into()),
            },
        )
        .await;
        samples.push(started.elapsed().as_micros() as u64);
        match answer {
            Ok(_) => activated += 1,
            Err(Error::Conflict(Conflict::LicenseUnusable(_))) => {}
            Err(other) => return Err(other),
        }
    }
    timings.push(("activate (new device)", activated, Latencies::of(samples)));
    let (rows, latency) = time(runs, |i| {
        let key = held[i % held.len()].1.clone();
        let fingerprint = (i % 2 == 0).then(|| format!("bench-{i}"));
        let access = &access;
        async move {
            devices::validate(
                db,
                access,
                now,
                &ValidateInput {
                    license_key: key,
                    fingerprint,
                },
            )
            .await
        }
    })
    .await?;
    timings.push(("validate (key, device)", rows, latency));
    let contention = contention(
        db,
        &access,
        enterprise,
        contention_clients,
        Duration::from_secs(contention_seconds),
    )
    .await?;
    Ok(LicensesReport {
        slug,
        licenses: licenses_count,
        members,
        seeded_seconds,
        timings,
        contention,
    })
}

/// `clients` loops activating random new devices on the same four licenses (held, at
/// most 10 devices each) and deactivating half of their successes, for `duration`;
/// then counts licenses over their limit or with a counter that disagrees with rows.
async fn contention(
    db: &PgPool,
    access: &Access,
    plan_id: Uuid,
    clients: usize,
    duration: Duration,
) -> Result<Contention, Error> {
    let targets: Vec<Uuid> = sqlx::query_scalar(
        "select license_id from licenses
         where tenant_id = $1 and plan_id = $2 and member_id is not null and suspended_at is null
           and revoked_at is null
         order by license_key limit 4",
    )
    .bind(access.tenant_id)
    .bind(plan_id)
    .fetch_all(db)
    .await?;
    let targets = Arc::new(targets);
    let (activated, refused, deactivated) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (db, access, targets) = (db.clone(), access.clone(), targets.clone());
        let (activated, refused, deactivated) =
            (activated.clone(), refused.clone(), deactivated.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let Some(&license_id) = targets.choose(&mut rand::thread_rng()) else {
                    return Ok(());
                };
                let answer = devices::activate(
                    &db,
                    &access,
                    Utc::now(),
                    ActivateInput {
                        license_id,
                        fingerprint: format!("c{client}-{n}"),
                        device_name: None,
                    },
                )
                .await;
                match answer {
                    Ok(done) => {
                        activated.fetch_add(1, Ordering::Relaxed);
                        if rand::thread_rng().gen_bool(0.5) {
                            devices::deactivate(&db, &access, Utc::now(), done.activation_id)
                                .await?;
                            deactivated.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(Error::Conflict(Conflict::LicenseUnusable(Code::TooManyActivations))) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(other) => return Err(other),
                }
            }
            Ok::<(), Error>(())
        }));
    }
    for task in tasks {
        task.await
            .map_err(|error| Error::Internal(format!("benchmark client failed: {error}")))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let over_limit: i64 = sqlx::query_scalar(
        "select count(*) from licenses l
         where l.tenant_id = $1 and l.license_id = any($2)
           and (l.activations > l.max_activations
                or l.activations <> (select count(*) from license_activations a
                                     where a.tenant_id = l.tenant_id and a.license_id = l.license_id
                                       and a.deactivated_at is null))",
    )
    .bind(access.tenant_id)
    .bind(targets.as_slice())
    .fetch_one(db)
    .await?;
    Ok(Contention {
        clients,
        licenses: targets.len(),
        seconds,
        activated: activated.load(Ordering::Relaxed),
        refused: refused.load(Ordering::Relaxed),
        deactivated: deactivated.load(Ordering::Relaxed),
        over_limit,
    })
}
