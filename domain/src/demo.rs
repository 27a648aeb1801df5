//! Demo data: two tenants and one account per role, so that a newcomer can sign in and
//! see tenant switching, roles and isolation at once. Idempotent: seeding twice changes
//! nothing the second time.

use sqlx::PgPool;

use uuid::Uuid;

use crate::access::admins::{self, NewAccount};
use crate::{Principal, Result, Role, access::tenants, points::levels};

/// Members in the demo tenant: enough to make search, paging and the tier preview
/// meaningful, few enough to seed in seconds.
pub const DEMO_MEMBERS: i64 = 10_000;

pub const DEMO_TENANT_SLUG: &str = "demo";
pub const SECOND_TENANT_SLUG: &str = "acme";
/// The password of every demo account. Demo data is for trying Tierdesk out, never for
/// production; the console prints it on first start.
pub const DEMO_PASSWORD: &str = "tierdesk-demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.tierdesk.test";
pub const DEMO_SUPPORT_EMAIL: &str = "support@demo.tierdesk.test";
pub const DEMO_VIEWER_EMAIL: &str = "viewer@demo.tierdesk.test";
pub const SECOND_ADMIN_EMAIL: &str = "admin@acme.tierdesk.test";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    AlreadyPresent,
}

/// True when the database holds no tenant at all (a brand-new installation).
pub async fn is_empty(db: &PgPool) -> Result<bool> {
    let any = sqlx::query_scalar!(r#"select exists (select 1 from tenants) as "any!""#)
        .fetch_one(db)
        .await?;
    Ok(!any)
}

/// Seeds the demo tenants and accounts unless the demo tenant exists already.
///
/// The demo admin is a platform administrator and tenant admin of both tenants (to
/// show the tenant switcher); support and viewer belong to the demo tenant only; the
/// second tenant has its own admin, who cannot see the demo tenant.
/// Legacy members of the second demo tenant (Acme Learning), which starts on the legacy
/// model.
pub const ACME_LEGACY_MEMBERS: i64 = 2000;

pub async fn seed(db: &PgPool) -> Result<Outcome> {
    if tenants::by_slug(db, DEMO_TENANT_SLUG).await.is_ok() {
        return Ok(Outcome::AlreadyPresent);
    }
    let cli = Principal::cli();
    let demo = tenants::create(db, &cli, None, DEMO_TENANT_SLUG, "Demo Company 演示公司").await?;
    let acme =
        tenants::create(db, &cli, None, SECOND_TENANT_SLUG, "Acme Learning 极客学堂").await?;
    let accounts = [
        (
            DEMO_ADMIN_EMAIL,
            "Demo Admin 管理员",
            true,
            Some((demo.tenant_id, Role::TenantAdmin)),
        ),
        (
            DEMO_SUPPORT_EMAIL,
            "Sam Support 客服",
            false,
            Some((demo.tenant_id, Role::Support)),
        ),
        (
            DEMO_VIEWER_EMAIL,
            "Vera Viewer 产品经理",
            false,
            Some((demo.tenant_id, Role::Viewer)),
        ),
        (
            SECOND_ADMIN_EMAIL,
            "Acme Admin",
            false,
            Some((acme.tenant_id, Role::TenantAdmin)),
        ),
    ];
    for (email, display_name, is_platform_admin, membership) in accounts {
        let new = NewAccount {
            email: email.into(),
            display_name: display_name.into(),
            password: DEMO_PASSWORD.into(),
            is_platform_admin,
            membership,
        };
        admins::create_account(db, &cli, new).await?;
    }
    // The demo admin also administers the second tenant as a member (not only as a
    // platform administrator), so its switcher shows a real membership there.
    let demo_admin = sqlx::query_scalar!(
        "select admin_id from admins where email = $1",
        DEMO_ADMIN_EMAIL
    )
    .fetch_one(db)
    .await?;
    sqlx::query!(
        "insert into tenant_admins (tenant_id, admin_id, role) values ($1, $2, 'tenant_admin')",
        acme.tenant_id,
        demo_admin
    )
    .execute(db)
    .await?;
    let event = crate::access::audit::Event {
        action: "admin.add",
        target_type: "admin",
        target_id: demo_admin.to_string(),
        before: None,
        after: Some(serde_json::json!({ "email": DEMO_ADMIN_EMAIL, "role": "tenant_admin" })),
    };
    let mut conn = db.acquire().await?;
    crate::access::audit::record_in_tenant(&mut conn, acme.tenant_id, &cli, None, event).await?;
    let mut tx = db.begin().await?;
    for tenant_id in [demo.tenant_id, acme.tenant_id] {
        levels::install(&mut tx, tenant_id, &levels::default_tiers()).await?;
    }
    seed_members(&mut tx, demo.tenant_id, DEMO_MEMBERS).await?;
    seed_members(&mut tx, acme.tenant_id, DEMO_MEMBERS / 10).await?;
    for tenant_id in [demo.tenant_id, acme.tenant_id] {
        seed_tags(&mut tx, tenant_id).await?;
    }
    seed_licenses(&mut tx, demo.tenant_id).await?;
    // Acme Learning starts on the legacy "user type" model: its legacy members are
    // ready to dry-run and migrate (the switch is on legacy until someone flips it).
    crate::migration::legacy::generate(
        &mut tx,
        acme.tenant_id,
        ACME_LEGACY_MEMBERS,
        chrono::Utc::now(),
    )
    .await?;
    sqlx::query!(
        "insert into migration_routing (tenant_id, mode) values ($1, 'legacy')",
        acme.tenant_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Outcome::Created)
}

/// Creates `count` members with realistic ledgers, set-based: 1–6 earn entries each
/// (skewed amounts, so every tier has members), then a spend for about half of them;
/// profiles and levels are set from the ledger. Deterministic per tenant (seeded).
pub async fn seed_members(
    conn: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    count: i64,
) -> Result<()> {
    sqlx::query!("select setseed(0.42)")
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        r#"with new_members as (
             insert into members (member_id)
             select gen_random_uuid() from generate_series(1, $2::bigint)
             returning member_id
           ), numbered as (
             select member_id, row_number() over (order by member_id) as n from new_members
           )
           insert into member_profiles
             (tenant_id, member_id, external_id, display_name, email, registered_at, last_login_at, legacy_user_type)
           select $1, member_id, format('M%s', lpad(n::text, greatest(6, length($2::text)), '0')),
                  case when n % 3 = 0
                       then (array['Alice','Bob','Chen','Dana','Eli','Fang','Grace','Hao','Ivy','Jun'])[1 + n % 10]
                            || ' ' || (array['Lin','Wang','Smith','Zhou','Garcia','Li','Brown','Xu'])[1 + n % 8]
                       else (array['王','李','张','刘','陈','杨','赵','黄','周','吴'])[1 + n % 10]
                            || (array['伟','芳','娜','敏','静','磊','洋','艳','勇','军','杰','婷'])[1 + n % 12]
                  end,
                  format('member%s@example.com', n),
                  now() - (30 + floor(random() * 1500)) * interval '1 day',
                  case when random() < 0.9 then now() - floor(random() * 90) * interval '1 day' end,
                  case when random() < 0.7 then null else 1 + floor(random() * 4)::int end
           from numbered"#,
        tenant_id,
        count
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"insert into points_ledger
             (tenant_id, member_id, seq, kind, category, points, available_before, available_after,
              total_before, total_after, source_type, created_at)
           select $1, member_id, seq, 'earn', category, points, running - points, running,
                  running - points, running, 'demo', created_at
           from (
             select e.*, sum(e.points) over (partition by e.member_id order by e.seq) as running
             from (
               select p.member_id, g.seq,
                      (20 + floor(power(random(), 4) * 12000))::bigint as points,
                      (array['purchase','login','review','referral','course'])[1 + floor(random() * 5)::int] as category,
                      p.registered_at + g.seq * interval '11 days' as created_at
               from member_profiles p
               cross join lateral generate_series(1, 1 + (abs(hashtext(p.member_id::text)) % 6)) as g(seq)
               where p.tenant_id = $1 and p.ledger_seq = 0
             ) e
           ) x"#,
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    // Fresh statistics before the statements that join the new rows: sized for the
    // tables as they were before (no rows of this tenant), the planner picks nested
    // loops over a distinct-on of the whole tenant's ledger, which turns quadratic (the
    // balance update below stalled for over 30 minutes at 250,000 members).
    sqlx::query!("analyze member_profiles, points_ledger")
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        r#"insert into points_ledger
             (tenant_id, member_id, seq, kind, category, points, available_before, available_after,
              total_before, total_after, source_type, created_at)
           select $1, member_id, seq + 1, 'spend', 'redemption', -amount, available_after,
                  available_after - amount, total_after, total_after, 'demo', now() - interval '2 days'
           from (
             select last.*, floor(last.available_after * (0.1 + random() * 0.5))::bigint as amount
             from (
               select distinct on (member_id) member_id, seq, available_after, total_after
               from points_ledger where tenant_id = $1
               order by member_id, seq desc
             ) last
             where random() < 0.5
           ) spend
           where amount > 0"#,
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"update member_profiles p
           set available_points = last.available_after, total_points = last.total_after, ledger_seq = last.seq
           from (
             select distinct on (member_id) member_id, seq, available_after, total_after
             from points_ledger where tenant_id = $1
             order by member_id, seq desc
           ) last
           where p.tenant_id = $1 and p.member_id = last.member_id"#,
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    // Fresh statistics: without them the planner sizes the re-level's joins for the
    // tables as they were before these rows, which turns quadratic on a database that
    // already holds other tenants.
    sqlx::query!("analyze member_profiles, points_ledger")
        .execute(&mut *conn)
        .await?;
    levels::relevel(conn, tenant_id).await?;
    Ok(())
}

/// The demo tag catalogue and grants, set-based:
///
/// - *vip* (payment): `vip.support` and `export.unlimited`, 2 more licenses, a year's
///   term renewed from expiry, 7 days' grace. Every 25th member holds it, with expiries
///   spread over the coming year: a few expire within 30 days, the first is in grace.
/// - *enterprise* (business): at least 20 licenses and `sso`, no expiry; every 100th
///   member holds it.
/// - *education* (education): `course.library` for 180 days; in the catalogue only.
///
/// Members are picked by the number in their external id (`M000007` is 7), so the same
/// members hold the same tags in every fresh demo database.
pub async fn seed_tags(conn: &mut sqlx::PgConnection, tenant_id: Uuid) -> Result<()> {
    sqlx::query!(
        r#"insert into tags (tenant_id, code, name_zh, name_en, category, permissions, max_licenses,
                            max_licenses_boost, default_term_days, grace_days, auto_renew, renew_from)
           values ($1, 'vip', '贵宾', 'VIP', 'payment', '{vip.support,export.unlimited}', 0, 2, 365, 7, false, 'expiry'),
                  ($1, 'enterprise', '企业客户', 'Enterprise', 'business', '{sso}', 20, 0, null, 0, false, 'expiry'),
                  ($1, 'education', '教育优惠', 'Education', 'education', '{course.library}', 0, 0, 180, 0, false, 'expiry')"#,
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"with numbered as (
             select member_id, registered_at, substring(external_id from 2)::bigint as n
             from member_profiles where tenant_id = $1 and external_id ~ '^M[0-9]+$'
           ), vip as (
             -- k-th VIP holder expires in (7k mod 363) - 3 days (and 6 hours): -3 … 359.
             select member_id, now() + ((((n / 25) * 7) % 363 - 3) * 24 + 6) * interval '1 hour' as expires_at
             from numbered where n % 25 = 7
           ), wanted as (
             select v.member_id, t.tag_id, 'purchase' as method, 'Annual VIP membership (demo)' as reason,
                    'demo-shop' as client_id, v.expires_at - interval '365 days' as starts_at, v.expires_at,
                    365 as term_days, 7 as grace_days
             from vip v join tags t on t.tenant_id = $1 and t.code = 'vip'
             union all
             select m.member_id, t.tag_id, 'api', 'Enterprise contract (demo)', 'demo-backend',
                    m.registered_at, null, null, 0
             from numbered m join tags t on t.tenant_id = $1 and t.code = 'enterprise'
             where m.n % 100 = 3
           ), granted as (
             insert into tag_grants (tenant_id, member_id, tag_id, method, reason, client_id, starts_at,
                                     expires_at, term_days, grace_days, status)
             select $1, member_id, tag_id, method, reason, client_id, starts_at, expires_at, term_days,
                    grace_days, case when expires_at <= now() then 'grace' else 'active' end
             from wanted
             returning grant_id, member_id, starts_at, expires_at, status
           )
           insert into grant_events (tenant_id, grant_id, member_id, kind, from_status, to_status,
                                     expires_at, cause, note, created_at)
           select $1, grant_id, member_id, 'granted', null, 'active', expires_at, 'api', 'demo', starts_at
           from granted
           union all
           select $1, grant_id, member_id, 'grace', 'active', 'grace', expires_at, 'job', null, expires_at
           from granted where status = 'grace'"#,
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The demo license plans and seats, set-based, after the tags:
///
/// - *basic* (1 device, a year), *pro* (3 devices, a year), *team* (5 devices,
///   perpetual), and *trial* (14 days, deactivated: nothing new is issued from it).
/// - Every 9th member holds a basic or pro seat (one each, within every quota); every
///   enterprise member (quota 20) holds three team seats. Expiries are spread over the
///   coming year, so some expire within 30 days and a few have expired.
/// - About half of the held seats are activated on one or two devices.
/// - Two seats are suspended and one is revoked; the rest of each plan is free.
/// - One bronze member (quota 1) holds three pro seats from a VIP membership that has
///   since expired: the "over quota" list shows them.
pub async fn seed_licenses(conn: &mut sqlx::PgConnection, tenant_id: Uuid) -> Result<()> {
    sqlx::query!("select setseed(0.23)")
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        r#"insert into license_plans (tenant_id, code, name_zh, name_en, default_max_activations,
                                     default_validity_days, active)
           values ($1, 'basic', '基础版', 'Basic', 1, 365, true),
                  ($1, 'pro', '专业版', 'Pro', 3, 365, true),
                  ($1, 'team', '团队版', 'Team', 5, null, true),
                  ($1, 'trial', '试用版', 'Trial', 1, 14, false)"#,
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    // The over-quota member: the first bronze member holding no tag.
    let over = sqlx::query_scalar!(
        r#"select p.member_id from member_profiles p
           join level_tiers t on t.tenant_id = p.tenant_id and t.tier_id = p.level_tier_id
           where p.tenant_id = $1 and t.code = 'bronze'
             and not exists (select 1 from tag_grants g where g.tenant_id = p.tenant_id and g.member_id = p.member_id)
           order by p.external_id limit 1"#,
        tenant_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    sqlx::query!(
        r#"with numbered as (
             select member_id, substring(external_id from 2)::bigint as n
             from member_profiles where tenant_id = $1 and external_id ~ '^M[0-9]+$'
           ), holders as (
             -- (member, plan, seat number): basic/pro for every 9th member, three team
             -- seats for enterprise members, three pro seats for the over-quota member.
             select member_id, case when n % 2 = 0 then 'basic' else 'pro' end as plan, 1 as seat, n
             from numbered where n % 9 = 4 and member_id is distinct from $2
             union all
             select m.member_id, 'team', s, m.n from numbered m cross join generate_series(1, 3) s
             where m.n % 100 = 3
             union all
             select member_id, 'pro', s, n from numbered cross join generate_series(1, 3) s
             where member_id = $2
           ), seats as (
             select h.member_id, h.plan, h.n, h.seat, row_number() over (order by h.n, h.plan, h.seat) as k
             from holders h
             union all
             -- Free seats: 40 per active plan.
             select null, p.code, null, f, 1000000 + f + 100 * (p.code = 'pro')::int + 200 * (p.code = 'team')::int
             from generate_series(1, 40) f cross join (values ('basic'), ('pro'), ('team')) p(code)
           ), keyed as (
             select s.*, pl.plan_id, pl.default_max_activations as max, pl.default_validity_days as days,
                    (select string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 1 + floor(random() * 32)::int, 1)
                                       || case when c in (5, 10, 15) then '-' else '' end, '' order by c)
                     from generate_series(1, 20) c where s.k > 0) as license_key
             from seats s join license_plans pl on pl.tenant_id = $1 and pl.code = s.plan
           ), issued as (
             insert into licenses (tenant_id, plan_id, license_key, max_activations, expires_at, member_id,
                                   assigned_at, activations, created_at)
             select $1, plan_id, license_key, max,
                    case when days is not null
                         then now() + ((k * 37) % (days + 12) - 10) * interval '1 day' + interval '7 hours' end,
                    member_id, case when member_id is not null then now() - interval '40 days' end,
                    case when member_id is not null and k % 2 = 0 then least(max, 1 + (k / 2) % 2)::int else 0 end,
                    now() - interval '60 days'
             from keyed
             returning license_id, member_id, assigned_at, activations, created_at
           ), assigned as (
             insert into license_assignments (tenant_id, license_id, member_id, assigned_at, method)
             select $1, license_id, member_id, assigned_at, 'api' from issued where member_id is not null
           ), devices as (
             insert into license_activations (tenant_id, license_id, member_id, fingerprint, device_name,
                                              activated_at, last_seen_at)
             select $1, license_id, member_id,
                    upper(substr(md5(license_id::text || d), 1, 16)),
                    (array['MacBook Pro', 'ThinkPad X1', 'iPhone 15', 'Surface Laptop', 'iPad Air'])[1 + (abs(hashtext(license_id::text)) + d) % 5],
                    assigned_at + interval '1 day' * d, now() - interval '1 hour' * (abs(hashtext(license_id::text)) % 200)
             from issued cross join lateral generate_series(1, activations) d
             where activations > 0
           )
           insert into license_events (tenant_id, license_id, member_id, kind, cause, note, created_at)
           select $1, license_id, null, 'issued', 'cli', 'demo', created_at from issued
           union all
           select $1, license_id, member_id, 'assigned', 'api', null, assigned_at from issued where member_id is not null"#,
        tenant_id,
        over
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into member_license_use (tenant_id, member_id, held)
         select $1, member_id, count(*) from licenses where tenant_id = $1 and member_id is not null
         group by member_id",
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    // Two suspended and one revoked seat, among the free ones.
    sqlx::query!(
        r#"with free as (
             select license_id, row_number() over (order by license_key) as r from licenses
             where tenant_id = $1 and member_id is null and plan_id in
                   (select plan_id from license_plans where tenant_id = $1 and code = 'pro')
           )
           update licenses l set
             suspended_at = case when f.r <= 2 then now() - interval '2 days' end,
             suspend_reason = case when f.r <= 2 then 'Invoice overdue (demo)' end,
             revoked_at = case when f.r = 3 then now() - interval '5 days' end,
             revoke_reason = case when f.r = 3 then 'Refunded (demo)' end
           from free f where l.tenant_id = $1 and l.license_id = f.license_id and f.r <= 3"#,
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    // The over-quota member's VIP membership, which gave them room for three seats,
    // ended a week ago.
    if let Some(member_id) = over {
        sqlx::query!(
            r#"with granted as (
                 insert into tag_grants (tenant_id, member_id, tag_id, method, reason, client_id, starts_at,
                                         expires_at, term_days, grace_days, status, ended_at)
                 select $1, $2, tag_id, 'purchase', 'Annual VIP membership (demo)', 'demo-shop',
                        now() - interval '379 days', now() - interval '14 days', 365, 7, 'expired',
                        now() - interval '7 days'
                 from tags where tenant_id = $1 and code = 'vip'
                 returning grant_id, expires_at
               )
               insert into grant_events (tenant_id, grant_id, member_id, kind, from_status, to_status,
                                         expires_at, cause, note, created_at)
               select $1, grant_id, $2, 'granted', null, 'active', expires_at, 'api', 'demo', expires_at - interval '365 days'
               from granted
               union all
               select $1, grant_id, $2, 'expired', 'grace', 'expired', expires_at, 'job', null, expires_at + interval '7 days'
               from granted"#,
            tenant_id,
            member_id
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
