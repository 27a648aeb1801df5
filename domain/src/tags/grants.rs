//! Tag grants: a member holds a tag from `starts_at`, optionally until `expires_at`,
//! then for `grace_days` more (state *grace*), then it is *expired*; auto-renewing
//! grants renew instead; a revocation ends a grant at once. Every transition is a
//! `grant_events` row with its cause and an outbox event for the tenant's webhook.
//!
//! The lifecycle job ([`run_lifecycle`]) is safe with several server processes: each
//! each step claims due grants with `FOR UPDATE SKIP LOCKED` and moves them in one
//! statement that re-checks their state, so no transition or reminder happens twice;
//! one shared statement then records the batch's events and outbox rows in the same
//! transaction.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::ResultExt;
use crate::tags::permissions::{self, grant_state};
use crate::{Access, Conflict, Error, Problem, Result, Role, access::audit};
use model::points::ledger::required_reason;
pub use model::tags::grants::{
    EXPIRING_DAYS_MAX, Expiring, Grant, GrantEvent, GrantInput, LIST_MAX, LifecycleRun, Method,
};

/// Who caused a transition (recorded on `grant_events.cause`).
fn cause(access: &Access) -> &'static str {
    if access.principal.admin_id.is_some() {
        "console"
    } else {
        "api"
    }
}

/// Writes an outbox event on the caller's transaction; it is delivered only if the
/// tenant has a webhook configured at the time.
pub(crate) async fn enqueue(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    topic: &str,
    payload: serde_json::Value,
) -> Result<()> {
    sqlx::query!(
        "insert into outbox_events (tenant_id, topic, payload, status)
         select $1, $2, $3,
                case when exists (select 1 from tenant_settings
                                  where tenant_id = $1 and webhook_url is not null)
                     then 'pending' else 'skipped' end",
        tenant_id,
        topic,
        payload
    )
    .execute(conn)
    .await?;
    Ok(())
}

struct Locked {
    member_id: Uuid,
    tag_code: String,
    external_id: String,
    status: String,
    starts_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    term_days: Option<i32>,
    renew_from: String,
}

async fn lock_grant(conn: &mut PgConnection, tenant_id: Uuid, grant_id: Uuid) -> Result<Locked> {
    sqlx::query_as!(
        Locked,
        r#"select g.member_id, t.code as tag_code, p.external_id, g.status, g.starts_at,
                  g.expires_at, g.term_days, g.renew_from
           from tag_grants g
           join tags t on t.tenant_id = g.tenant_id and t.tag_id = g.tag_id
           join member_profiles p on p.tenant_id = g.tenant_id and p.member_id = g.member_id
           where g.tenant_id = $1 and g.grant_id = $2
           for update of g"#,
        tenant_id,
        grant_id
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::not_found("grant"))
}

#[expect(clippy::too_many_arguments, reason = "one row of the event table")]
async fn record_event(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    grant_id: Uuid,
    member_id: Uuid,
    kind: &str,
    from_status: Option<&str>,
    to_status: &str,
    expires_at: Option<DateTime<Utc>>,
    cause: &str,
    actor: Option<Uuid>,
    note: Option<&str>,
) -> Result<()> {
    sqlx::query!(
        "insert into grant_events (tenant_id, grant_id, member_id, kind, from_status, to_status,
                                   expires_at, cause, actor_id, note)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        tenant_id,
        grant_id,
        member_id,
        kind,
        from_status,
        to_status,
        expires_at,
        cause,
        actor,
        note
    )
    .execute(conn)
    .await?;
    Ok(())
}

fn payload(
    grant_id: Uuid,
    member_id: Uuid,
    external_id: &str,
    tag_code: &str,
    status: &str,
    expires_at: Option<DateTime<Utc>>,
) -> serde_json::Value {
    json!({
        "grant_id": grant_id, "member_id": member_id, "external_id": external_id,
        "tag": tag_code, "status": status, "expires_at": expires_at,
    })
}

/// Grants a tag to a member (support and tenant admins; reason required). A member holds
/// a tag at most once at a time: granting a held tag is a conflict (renew it instead).
pub async fn grant(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    method: Method,
    input: GrantInput,
) -> Result<Uuid> {
    access.require(Role::Support)?;
    let reason = required_reason(Some(&input.reason))?;
    let mut tx = db.begin().await?;
    let tag = sqlx::query!(
        "select code, default_term_days, grace_days, auto_renew, renew_from, active
         from tags where tenant_id = $1 and tag_id = $2",
        access.tenant_id,
        input.tag_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("tag"))?;
    if !tag.active {
        return Err(Error::Conflict(Conflict::TagInactive));
    }
    let external_id = sqlx::query_scalar!(
        "select external_id from member_profiles where tenant_id = $1 and member_id = $2",
        access.tenant_id,
        input.member_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("member"))?;
    let term_days = input.term_days.or(tag.default_term_days);
    if term_days.is_some_and(|d| !(1..=crate::tags::TERM_DAYS_MAX).contains(&d)) {
        return Err(Error::invalid("term_days", Problem::Format));
    }
    let starts_at = input.starts_at.unwrap_or(now);
    let expires_at = input
        .expires_at
        .or_else(|| term_days.map(|d| starts_at + Duration::days(i64::from(d))));
    let latest = now + Duration::days(i64::from(crate::tags::TERM_DAYS_MAX));
    if expires_at.is_some_and(|e| e <= starts_at || e <= now || e > latest) || starts_at > latest {
        return Err(Error::invalid("expires_at", Problem::Format));
    }
    let auto_renew = input.auto_renew.unwrap_or(tag.auto_renew);
    if auto_renew && (term_days.is_none() || expires_at.is_none()) {
        return Err(Error::invalid("term_days", Problem::Required));
    }
    let grant_id = sqlx::query_scalar!(
        "insert into tag_grants (tenant_id, member_id, tag_id, method, reason, granted_by, client_id,
                                 starts_at, expires_at, term_days, grace_days, auto_renew, renew_from)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         returning grant_id",
        access.tenant_id,
        input.member_id,
        input.tag_id,
        method.as_str(),
        reason,
        access.principal.admin_id,
        access
            .principal
            .admin_id
            .is_none()
            .then(|| access.principal.label.clone()),
        starts_at,
        expires_at,
        term_days,
        tag.grace_days,
        auto_renew,
        tag.renew_from
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint("tag_grants_live_key", || {
        Error::Conflict(Conflict::TagAlreadyHeld)
    })?;
    record_event(
        &mut tx,
        access.tenant_id,
        grant_id,
        input.member_id,
        "granted",
        None,
        "active",
        expires_at,
        cause(access),
        access.principal.admin_id,
        Some(&reason),
    )
    .await?;
    enqueue(
        &mut tx,
        access.tenant_id,
        "tag.granted",
        payload(
            grant_id,
            input.member_id,
            &external_id,
            &tag.code,
            "active",
            expires_at,
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "tag.grant",
            target_type: "member",
            target_id: input.member_id.to_string(),
            before: None,
            after: Some(json!({
                "grant_id": grant_id, "tag": tag.code, "method": method.as_str(), "reason": reason,
                "starts_at": starts_at, "expires_at": expires_at, "auto_renew": auto_renew,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    permissions::settle(db, access.tenant_id).await?;
    Ok(grant_id)
}

/// The member's grant of the tag in force (active or in grace), by the tag's code.
pub async fn held(db: &PgPool, access: &Access, member_id: Uuid, tag_code: &str) -> Result<Uuid> {
    access.require(Role::Viewer)?;
    if model::input::plain_text("tag", tag_code).is_err() {
        return Err(Error::not_found("grant"));
    }
    sqlx::query_scalar!(
        "select g.grant_id from tag_grants g
         join tags t on t.tenant_id = g.tenant_id and t.tag_id = g.tag_id
         where g.tenant_id = $1 and g.member_id = $2 and t.code = $3
           and g.status in ('active', 'grace')
         order by g.starts_at desc limit 1",
        access.tenant_id,
        member_id,
        tag_code.trim()
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("grant"))
}

/// Extends a grant by its term: from its expiry, or from now if it has already expired
/// or the tag renews from now. A revoked grant cannot be renewed (grant again).
pub async fn renew(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    grant_id: Uuid,
    reason: &str,
) -> Result<DateTime<Utc>> {
    access.require(Role::Support)?;
    let reason = required_reason(Some(reason))?;
    let mut tx = db.begin().await?;
    let grant = lock_grant(&mut tx, access.tenant_id, grant_id).await?;
    if grant.status == "revoked" {
        return Err(Error::Conflict(Conflict::GrantEnded));
    }
    let (Some(term_days), Some(expires_at)) = (grant.term_days, grant.expires_at) else {
        return Err(Error::invalid("term_days", Problem::Required));
    };
    let from = if grant.renew_from == "now" || expires_at <= now {
        now.max(grant.starts_at)
    } else {
        expires_at
    };
    let new_expiry = from + Duration::days(i64::from(term_days));
    sqlx::query!(
        "update tag_grants set expires_at = $3, status = 'active', ended_at = null,
                               row_version = row_version + 1, updated_at = now()
         where tenant_id = $1 and grant_id = $2",
        access.tenant_id,
        grant_id,
        new_expiry
    )
    .execute(&mut *tx)
    .await
    .on_constraint("tag_grants_live_key", || {
        Error::Conflict(Conflict::TagAlreadyHeld)
    })?;
    record_event(
        &mut tx,
        access.tenant_id,
        grant_id,
        grant.member_id,
        "renewed",
        Some(&grant.status),
        "active",
        Some(new_expiry),
        cause(access),
        access.principal.admin_id,
        Some(&reason),
    )
    .await?;
    enqueue(
        &mut tx,
        access.tenant_id,
        "tag.renewed",
        payload(
            grant_id,
            grant.member_id,
            &grant.external_id,
            &grant.tag_code,
            "active",
            Some(new_expiry),
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "tag.renew",
            target_type: "member",
            target_id: grant.member_id.to_string(),
            before: Some(json!({ "grant_id": grant_id, "status": grant.status, "expires_at": expires_at })),
            after: Some(json!({ "grant_id": grant_id, "status": "active", "expires_at": new_expiry, "reason": reason })),
        },
    )
    .await?;
    tx.commit().await?;
    permissions::settle(db, access.tenant_id).await?;
    Ok(new_expiry)
}

/// Ends a grant at once (support and tenant admins; reason required). When this
/// returns, no server process answers with the revoked privileges any more.
pub async fn revoke(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    grant_id: Uuid,
    reason: &str,
) -> Result<()> {
    access.require(Role::Support)?;
    let reason = required_reason(Some(reason))?;
    let mut tx = db.begin().await?;
    let grant = lock_grant(&mut tx, access.tenant_id, grant_id).await?;
    if matches!(grant.status.as_str(), "revoked" | "expired") {
        tx.rollback().await?;
        // A retry of a revocation whose first call was abandoned before it settled:
        // still guarantee that no cache answers with the old privileges.
        permissions::settle(db, access.tenant_id).await?;
        return Err(Error::Conflict(Conflict::GrantEnded));
    }
    sqlx::query!(
        "update tag_grants set status = 'revoked', revoked_at = $3, revoked_by = $4, revoke_reason = $5,
                               ended_at = $3, auto_renew = false, row_version = row_version + 1,
                               updated_at = now()
         where tenant_id = $1 and grant_id = $2",
        access.tenant_id,
        grant_id,
        now,
        access.principal.admin_id,
        reason
    )
    .execute(&mut *tx)
    .await?;
    record_event(
        &mut tx,
        access.tenant_id,
        grant_id,
        grant.member_id,
        "revoked",
        Some(&grant.status),
        "revoked",
        grant.expires_at,
        cause(access),
        access.principal.admin_id,
        Some(&reason),
    )
    .await?;
    enqueue(
        &mut tx,
        access.tenant_id,
        "tag.revoked",
        payload(
            grant_id,
            grant.member_id,
            &grant.external_id,
            &grant.tag_code,
            "revoked",
            grant.expires_at,
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "tag.revoke",
            target_type: "member",
            target_id: grant.member_id.to_string(),
            before: Some(
                json!({ "grant_id": grant_id, "tag": grant.tag_code, "status": grant.status }),
            ),
            after: Some(json!({ "grant_id": grant_id, "status": "revoked", "reason": reason })),
        },
    )
    .await?;
    tx.commit().await?;
    permissions::settle(db, access.tenant_id).await
}

/// A member's grants, current first, then ended ones (newest first).
pub async fn for_member(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    member_id: Uuid,
) -> Result<Vec<Grant>> {
    access.require(Role::Viewer)?;
    crate::members::get(db, access, member_id).await?;
    of_member(db, access.tenant_id, now, member_id).await
}

/// [`for_member`] of a member known to exist in the tenant (the caller checked).
pub(crate) async fn of_member(
    db: &PgPool,
    tenant_id: Uuid,
    now: DateTime<Utc>,
    member_id: Uuid,
) -> Result<Vec<Grant>> {
    let rows = sqlx::query!(
        r#"select g.grant_id, g.member_id, g.tag_id, t.code, t.name_en, t.name_zh, g.method, g.reason,
                  a.email as "granted_by_email?", g.starts_at, g.expires_at, g.term_days, g.grace_days,
                  g.auto_renew, g.status, g.revoked_at, g.revoke_reason, g.created_at
           from tag_grants g
           join tags t on t.tenant_id = g.tenant_id and t.tag_id = g.tag_id
           left join admins a on a.admin_id = g.granted_by
           where g.tenant_id = $1 and g.member_id = $2
           order by (g.status in ('active', 'grace')) desc, g.created_at desc
           limit $3"#,
        tenant_id,
        member_id,
        LIST_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (state, _) = grant_state(
                &r.status,
                r.starts_at,
                r.expires_at,
                r.grace_days,
                r.auto_renew,
                now,
            );
            Grant {
                grant_id: r.grant_id,
                member_id: r.member_id,
                tag_id: r.tag_id,
                tag_code: r.code,
                tag_name_en: r.name_en,
                tag_name_zh: r.name_zh,
                method: r.method,
                reason: r.reason,
                granted_by_email: r.granted_by_email,
                starts_at: r.starts_at,
                expires_at: r.expires_at,
                term_days: r.term_days,
                grace_days: r.grace_days,
                auto_renew: r.auto_renew,
                grace_until: r
                    .expires_at
                    .map(|e| e + Duration::days(i64::from(r.grace_days))),
                status: r.status,
                state,
                revoked_at: r.revoked_at,
                revoke_reason: r.revoke_reason,
                created_at: r.created_at,
            }
        })
        .collect())
}

/// Every transition of a member's grants, newest first.
pub async fn history(db: &PgPool, access: &Access, member_id: Uuid) -> Result<Vec<GrantEvent>> {
    access.require(Role::Viewer)?;
    crate::members::get(db, access, member_id).await?;
    let rows = sqlx::query_as!(
        GrantEvent,
        r#"select e.event_id, e.grant_id, t.code as tag_code, e.kind, e.from_status, e.to_status,
                  e.expires_at, e.cause, a.email as "actor_email?", e.note, e.created_at
           from grant_events e
           join tag_grants g on g.tenant_id = e.tenant_id and g.grant_id = e.grant_id
           join tags t on t.tenant_id = g.tenant_id and t.tag_id = g.tag_id
           left join admins a on a.admin_id = e.actor_id
           where e.tenant_id = $1 and e.member_id = $2
           order by e.event_id desc limit $3"#,
        access.tenant_id,
        member_id,
        LIST_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// Grants in force whose expiry falls within the next `days` days, soonest first.
pub async fn expiring(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    days: i64,
) -> Result<Vec<Expiring>> {
    access.require(Role::Viewer)?;
    if !(1..=EXPIRING_DAYS_MAX).contains(&days) {
        return Err(Error::invalid("days", Problem::Format));
    }
    let until = now + Duration::days(days);
    let rows = sqlx::query!(
        r#"select g.grant_id, g.member_id, p.external_id, p.display_name, t.code, t.name_en, t.name_zh,
                  g.expires_at as "expires_at!", g.auto_renew, g.status, g.starts_at, g.grace_days,
                  (g.reminded_for is not distinct from g.expires_at) as "reminded!"
           from tag_grants g
           join tags t on t.tenant_id = g.tenant_id and t.tag_id = g.tag_id
           join member_profiles p on p.tenant_id = g.tenant_id and p.member_id = g.member_id
           where g.tenant_id = $1 and g.status in ('active', 'grace')
             and g.expires_at is not null and g.expires_at <= $3
             and g.expires_at + make_interval(days => g.grace_days) > $2
           order by g.expires_at, g.grant_id
           limit $4"#,
        access.tenant_id,
        now,
        until,
        LIST_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Expiring {
            state: grant_state(
                &r.status,
                r.starts_at,
                Some(r.expires_at),
                r.grace_days,
                r.auto_renew,
                now,
            )
            .0,
            grant_id: r.grant_id,
            member_id: r.member_id,
            external_id: r.external_id,
            display_name: r.display_name,
            tag_code: r.code,
            tag_name_en: r.name_en,
            tag_name_zh: r.name_zh,
            expires_at: r.expires_at,
            auto_renew: r.auto_renew,
            reminded: r.reminded,
        })
        .collect())
}

/// Moves due grants of every tenant through their lifecycle as of `now`, at most
/// `limit` per step: renew auto-renewing grants, move expired ones into grace or to
/// expired, and issue reminders `reminder_days` before expiry (once per expiry).
pub async fn run_lifecycle(db: &PgPool, now: DateTime<Utc>, limit: i64) -> Result<LifecycleRun> {
    let mut run = LifecycleRun::default();
    let mut tenants: Vec<Uuid> = Vec::new();
    for step in [Step::Renew, Step::Grace, Step::Expire, Step::Remind] {
        let moved = step.apply(db, now, limit).await?;
        let count = moved.len() as u64;
        match step {
            Step::Renew => run.renewed = count,
            Step::Grace => run.graced = count,
            Step::Expire => run.expired = count,
            Step::Remind => run.reminded = count,
        }
        if step != Step::Remind {
            tenants.extend(moved);
        }
    }
    tenants.sort();
    tenants.dedup();
    for tenant_id in tenants {
        permissions::settle(db, tenant_id).await?;
    }
    Ok(run)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Renew,
    Grace,
    Expire,
    Remind,
}

/// A grant one step moved, with what its event and outbox row need.
struct Moved {
    tenant_id: Uuid,
    grant_id: Uuid,
    member_id: Uuid,
    from_status: String,
    expires_at: Option<DateTime<Utc>>,
    grace_days: i32,
    tag: String,
    external_id: String,
}

impl Step {
    /// (event kind, status after, outbox topic)
    fn outcome(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Step::Renew => ("renewed", "active", "tag.renewed"),
            Step::Grace => ("grace", "grace", "tag.grace"),
            Step::Expire => ("expired", "expired", "tag.expired"),
            Step::Remind => ("reminder", "active", "tag.expiring"),
        }
    }

    /// One transaction: claim due grants (skipping those another worker holds) and move
    /// them in one statement that re-checks their state, then record their events and
    /// outbox rows. Returns the tenants touched.
    async fn apply(self, db: &PgPool, now: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>> {
        let mut tx = db.begin().await?;
        let moved = self.claim_and_move(&mut tx, now, limit).await?;
        record_job_transitions(&mut tx, self, &moved).await?;
        tx.commit().await?;
        Ok(moved.into_iter().map(|m| m.tenant_id).collect())
    }

    async fn claim_and_move(
        self,
        conn: &mut PgConnection,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Moved>> {
        Ok(match self {
            Step::Renew => {
                sqlx::query_as!(
                    Moved,
                    r#"with due as (
                         select tenant_id, grant_id, status from tag_grants
                         where status in ('active', 'grace') and auto_renew and expires_at <= $1
                         order by expires_at limit $2 for update skip locked
                       )
                       update tag_grants g
                       set expires_at = case when g.renew_from = 'now' then $1 else g.expires_at end
                                        + make_interval(days => g.term_days),
                           status = 'active', row_version = g.row_version + 1, updated_at = now()
                       from due where g.tenant_id = due.tenant_id and g.grant_id = due.grant_id
                       returning g.tenant_id, g.grant_id, g.member_id, due.status as from_status,
                                 g.expires_at, g.grace_days,
                                 (select code from tags t where t.tenant_id = g.tenant_id and t.tag_id = g.tag_id) as "tag!",
                                 (select external_id from member_profiles p
                                  where p.tenant_id = g.tenant_id and p.member_id = g.member_id) as "external_id!""#,
                    now,
                    limit
                )
                .fetch_all(conn)
                .await?
            }
            Step::Grace => {
                sqlx::query_as!(
                    Moved,
                    r#"with due as (
                         select tenant_id, grant_id, status from tag_grants
                         where status = 'active' and not auto_renew and grace_days > 0 and expires_at <= $1
                           and expires_at + make_interval(days => grace_days) > $1
                         order by expires_at limit $2 for update skip locked
                       )
                       update tag_grants g set status = 'grace', row_version = g.row_version + 1, updated_at = now()
                       from due where g.tenant_id = due.tenant_id and g.grant_id = due.grant_id
                       returning g.tenant_id, g.grant_id, g.member_id, due.status as from_status,
                                 g.expires_at, g.grace_days,
                                 (select code from tags t where t.tenant_id = g.tenant_id and t.tag_id = g.tag_id) as "tag!",
                                 (select external_id from member_profiles p
                                  where p.tenant_id = g.tenant_id and p.member_id = g.member_id) as "external_id!""#,
                    now,
                    limit
                )
                .fetch_all(conn)
                .await?
            }
            Step::Expire => {
                sqlx::query_as!(
                    Moved,
                    r#"with due as (
                         select tenant_id, grant_id, status from tag_grants
                         where status in ('active', 'grace') and not auto_renew and expires_at is not null
                           and expires_at + make_interval(days => grace_days) <= $1
                         order by expires_at limit $2 for update skip locked
                       )
                       update tag_grants g set status = 'expired', ended_at = $1,
                                               row_version = g.row_version + 1, updated_at = now()
                       from due where g.tenant_id = due.tenant_id and g.grant_id = due.grant_id
                       returning g.tenant_id, g.grant_id, g.member_id, due.status as from_status,
                                 g.expires_at, g.grace_days,
                                 (select code from tags t where t.tenant_id = g.tenant_id and t.tag_id = g.tag_id) as "tag!",
                                 (select external_id from member_profiles p
                                  where p.tenant_id = g.tenant_id and p.member_id = g.member_id) as "external_id!""#,
                    now,
                    limit
                )
                .fetch_all(conn)
                .await?
            }
            Step::Remind => {
                sqlx::query_as!(
                    Moved,
                    r#"with due as (
                         select g.tenant_id, g.grant_id, g.status from tag_grants g
                         left join tenant_settings s on s.tenant_id = g.tenant_id
                         where g.status = 'active' and not g.auto_renew and g.expires_at > $1
                           and g.expires_at <= $1 + make_interval(days => coalesce(s.reminder_days, $3))
                           and g.reminded_for is distinct from g.expires_at
                         order by g.expires_at limit $2 for update of g skip locked
                       )
                       update tag_grants g set reminded_for = g.expires_at, updated_at = now()
                       from due where g.tenant_id = due.tenant_id and g.grant_id = due.grant_id
                       returning g.tenant_id, g.grant_id, g.member_id, due.status as from_status,
                                 g.expires_at, g.grace_days,
                                 (select code from tags t where t.tenant_id = g.tenant_id and t.tag_id = g.tag_id) as "tag!",
                                 (select external_id from member_profiles p
                                  where p.tenant_id = g.tenant_id and p.member_id = g.member_id) as "external_id!""#,
                    now,
                    limit,
                    crate::webhooks::REMINDER_DAYS_DEFAULT
                )
                .fetch_all(conn)
                .await?
            }
        })
    }
}

/// The `grant_events` rows (cause `job`) and outbox rows of one step's moves, in one
/// statement for the whole batch.
async fn record_job_transitions(
    conn: &mut PgConnection,
    step: Step,
    moved: &[Moved],
) -> Result<()> {
    if moved.is_empty() {
        return Ok(());
    }
    let (kind, to_status, topic) = step.outcome();
    let column = |f: fn(&Moved) -> Uuid| moved.iter().map(f).collect::<Vec<_>>();
    let tenants = column(|m| m.tenant_id);
    let grants = column(|m| m.grant_id);
    let members = column(|m| m.member_id);
    let from: Vec<String> = moved.iter().map(|m| m.from_status.clone()).collect();
    let expires: Vec<Option<DateTime<Utc>>> = moved.iter().map(|m| m.expires_at).collect();
    let grace: Vec<i32> = moved.iter().map(|m| m.grace_days).collect();
    let tags: Vec<String> = moved.iter().map(|m| m.tag.clone()).collect();
    let external: Vec<String> = moved.iter().map(|m| m.external_id.clone()).collect();
    sqlx::query!(
        r#"with moved as (
             select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[],
                                  $6::int[], $7::text[], $8::text[])
               as m(tenant_id, grant_id, member_id, from_status, expires_at, grace_days, tag, external_id)
           ), events as (
             insert into grant_events (tenant_id, grant_id, member_id, kind, from_status, to_status, expires_at, cause)
             select tenant_id, grant_id, member_id, $9, from_status, $10, expires_at, 'job' from moved
           )
           insert into outbox_events (tenant_id, topic, payload, status)
           select m.tenant_id, $11,
                  jsonb_build_object('grant_id', m.grant_id, 'member_id', m.member_id,
                                     'external_id', m.external_id, 'tag', m.tag, 'status', $10::text,
                                     'expires_at', m.expires_at,
                                     'grace_until', m.expires_at + make_interval(days => m.grace_days)),
                  case when s.webhook_url is not null then 'pending' else 'skipped' end
           from moved m left join tenant_settings s on s.tenant_id = m.tenant_id"#,
        &tenants,
        &grants,
        &members,
        &from,
        &expires as &[Option<DateTime<Utc>>],
        &grace,
        &tags,
        &external,
        kind,
        to_status,
        topic
    )
    .execute(conn)
    .await?;
    Ok(())
}
