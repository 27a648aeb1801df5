//! The license lifecycle job: records each expiry as it passes and sends a reminder
//! before a held license expires (the tenant's reminder lead time, as for grants),
//! each once per expiry date: `expiry_recorded_for` / `reminded_for` hold the expiry
//! they were done for, so extending a license re-arms both.
//!
//! Safe with several processes: each step claims due licenses with
//! `FOR NO KEY UPDATE SKIP LOCKED` and marks them in the same statement; the batch's
//! events and outbox rows are written in the same transaction. Usability never depends
//! on this job (it is decided from the dates when asked).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::Result;
use model::licenses::LifecycleRun;

/// One pass of both steps, at most `limit` licenses each.
pub async fn run_lifecycle(db: &PgPool, now: DateTime<Utc>, limit: i64) -> Result<LifecycleRun> {
    let mut tx = db.begin().await?;
    let expired = sqlx::query_scalar!(
        r#"with due as (
             select tenant_id, license_id from licenses
             where expires_at <= $1 and revoked_at is null
               and expiry_recorded_for is distinct from expires_at
             order by expires_at limit $2
             for no key update skip locked
           ), marked as (
             update licenses l set expiry_recorded_for = l.expires_at
             from due where l.tenant_id = due.tenant_id and l.license_id = due.license_id
             returning l.tenant_id, l.license_id, l.license_key, l.member_id, l.expires_at
           ), events as (
             insert into license_events (tenant_id, license_id, member_id, kind, cause, note)
             select tenant_id, license_id, member_id, 'expired', 'job', expires_at::text from marked
           ), outbox as (
             insert into outbox_events (tenant_id, topic, payload, status)
             select m.tenant_id, 'license.expired',
                    jsonb_build_object('license_id', m.license_id, 'license_key', m.license_key,
                                       'member_id', m.member_id, 'external_id', p.external_id,
                                       'expires_at', m.expires_at),
                    case when s.webhook_url is not null then 'pending' else 'skipped' end
             from marked m
             left join member_profiles p on p.tenant_id = m.tenant_id and p.member_id = m.member_id
             left join tenant_settings s on s.tenant_id = m.tenant_id
           )
           select count(*) as "count!" from marked"#,
        now,
        limit
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut tx = db.begin().await?;
    let reminded = sqlx::query_scalar!(
        r#"with due as (
             select l.tenant_id, l.license_id from licenses l
             left join tenant_settings s on s.tenant_id = l.tenant_id
             -- The constant bound lets the scan use the expiry index (lead times are
             -- at most 365 days).
             where l.expires_at > $1 and l.expires_at <= $1 + interval '366 days'
               and l.expires_at <= $1 + make_interval(days => coalesce(s.reminder_days, $3))
               and l.revoked_at is null and l.suspended_at is null and l.member_id is not null
               and l.reminded_for is distinct from l.expires_at
             order by l.expires_at limit $2
             for no key update of l skip locked
           ), marked as (
             update licenses l set reminded_for = l.expires_at
             from due where l.tenant_id = due.tenant_id and l.license_id = due.license_id
             returning l.tenant_id, l.license_id, l.license_key, l.member_id, l.expires_at
           ), events as (
             insert into license_events (tenant_id, license_id, member_id, kind, cause, note)
             select tenant_id, license_id, member_id, 'reminder', 'job', expires_at::text from marked
           ), outbox as (
             insert into outbox_events (tenant_id, topic, payload, status)
             select m.tenant_id, 'license.expiring',
                    jsonb_build_object('license_id', m.license_id, 'license_key', m.license_key,
                                       'member_id', m.member_id, 'external_id', p.external_id,
                                       'expires_at', m.expires_at),
                    case when s.webhook_url is not null then 'pending' else 'skipped' end
             from marked m
             left join member_profiles p on p.tenant_id = m.tenant_id and p.member_id = m.member_id
             left join tenant_settings s on s.tenant_id = m.tenant_id
           )
           select count(*) as "count!" from marked"#,
        now,
        limit,
        crate::webhooks::REMINDER_DAYS_DEFAULT
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(LifecycleRun {
        expired: expired as u64,
        reminded: reminded as u64,
    })
}
