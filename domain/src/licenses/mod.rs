//! Licenses: plans (templates), licenses issued from them (seats with a random key),
//! suspension, reinstatement and revocation, the list with its filters, the report.
//! Seats (assignments within the quota) are in [`seats`], devices (activations and
//! validation) in [`devices`], the expiry job in [`lifecycle`].
//!
//! A license's state is decided from its flags and dates when asked
//! ([`model::licenses::state`]); the job only records expiries and reminders for
//! history and webhooks.
//!
//! Lock order within licenses (a refinement of the rule in docs/ARCHITECTURE.md): a
//! plan row (edits) · a license row (`FOR NO KEY UPDATE`; every write to a license, its
//! holder or its devices takes it first) · `member_license_use` rows (two: in
//! `member_id` order) · `license_activations` rows · append-only inserts (assignments,
//! events, audit, outbox).

/// Batch assignment from a CSV file: upload with preview, resumable idempotent apply.
pub mod batch;
/// The license invariants (`tierdesk check licenses`).
pub mod check;
/// Activations on devices, deactivation and validation codes.
pub mod devices;
/// CSV exports of licenses and assignments, streamed from the database.
pub mod export;
/// The expiry job: expiry transitions and reminders (safe with several processes).
pub mod lifecycle;
/// Assignments to members within their quota: assign, unassign, transfer, over quota.
pub mod seats;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::ResultExt;
use crate::{Access, Conflict, Error, Problem, Result, Role, access::audit};
pub use model::licenses::{
    Action, ActivateInput, Activated, Activation, AssignInput, Assigned, Assignment, Code,
    EXPIRING_REPORT_DAYS, IssueInput, Issued, License, LicenseDetail, LicenseEdit, LicenseEvent,
    LicenseFilter, LicensePage, LicenseState, MemberLicenses, OverQuota, PAGE_MAX, PLANS_MAX, Plan,
    PlanInput, PlanReport, Report, ValidateInput, Validation, clean_plan, max_activations,
    normalise_key, state,
};
use model::points::ledger::required_reason;

/// Who caused a change (recorded on `license_events.cause`).
pub(crate) fn cause(access: &Access) -> &'static str {
    if access.principal.admin_id.is_some() {
        "console"
    } else if access.principal.label == "cli" {
        "cli"
    } else {
        "api"
    }
}

#[expect(clippy::too_many_arguments, reason = "one row of the event table")]
pub(crate) async fn record_event(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    license_id: Uuid,
    member_id: Option<Uuid>,
    kind: &str,
    cause: &str,
    actor: Option<Uuid>,
    note: Option<&str>,
) -> Result<()> {
    sqlx::query!(
        "insert into license_events (tenant_id, license_id, member_id, kind, cause, actor_id, note)
         values ($1, $2, $3, $4, $5, $6, $7)",
        tenant_id,
        license_id,
        member_id,
        kind,
        cause,
        actor,
        note
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The outbox payload of a license event.
pub(crate) fn payload(
    license_id: Uuid,
    license_key: &str,
    member_id: Option<Uuid>,
    external_id: Option<&str>,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut value = json!({
        "license_id": license_id, "license_key": license_key,
        "member_id": member_id, "external_id": external_id,
    });
    if let (Some(target), serde_json::Value::Object(extra)) = (value.as_object_mut(), extra) {
        target.extend(extra);
    }
    value
}

fn plan_snapshot(plan: &PlanInput) -> serde_json::Value {
    json!({
        "code": plan.code, "name_zh": plan.name_zh, "name_en": plan.name_en,
        "default_max_activations": plan.default_max_activations,
        "default_validity_days": plan.default_validity_days, "active": plan.active,
    })
}

/// The tenant's plans with their issued and free seats.
pub async fn plans(db: &PgPool, access: &Access, now: DateTime<Utc>) -> Result<Vec<Plan>> {
    access.require(Role::Viewer)?;
    let rows = sqlx::query!(
        r#"select p.plan_id, p.code, p.name_zh, p.name_en, p.default_max_activations,
                  p.default_validity_days, p.active, p.row_version,
                  (select count(*) from licenses l where l.tenant_id = p.tenant_id and l.plan_id = p.plan_id) as "issued!",
                  (select count(*) from licenses l
                   where l.tenant_id = p.tenant_id and l.plan_id = p.plan_id and l.member_id is null
                     and l.revoked_at is null and l.suspended_at is null
                     and (l.expires_at is null or l.expires_at > $2)) as "free!"
           from license_plans p where p.tenant_id = $1
           order by p.active desc, p.code limit $3"#,
        access.tenant_id,
        now,
        PLANS_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Plan {
            plan_id: r.plan_id,
            code: r.code,
            name_zh: r.name_zh,
            name_en: r.name_en,
            default_max_activations: r.default_max_activations,
            default_validity_days: r.default_validity_days,
            active: r.active,
            row_version: r.row_version,
            issued: r.issued,
            free: r.free,
        })
        .collect())
}

/// Creates a plan (tenant admins).
pub async fn create_plan(db: &PgPool, access: &Access, input: PlanInput) -> Result<Uuid> {
    access.require(Role::TenantAdmin)?;
    let plan = clean_plan(&input)?;
    let mut tx = db.begin().await?;
    let plan_id = sqlx::query_scalar!(
        "insert into license_plans (tenant_id, code, name_zh, name_en, default_max_activations,
                                    default_validity_days, active)
         values ($1, $2, $3, $4, $5, $6, $7) returning plan_id",
        access.tenant_id,
        plan.code,
        plan.name_zh,
        plan.name_en,
        plan.default_max_activations,
        plan.default_validity_days,
        plan.active
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint("license_plans_code_key", || {
        Error::Conflict(Conflict::LicensePlanCodeTaken)
    })?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "license_plan.create",
            target_type: "license_plan",
            target_id: plan_id.to_string(),
            before: None,
            after: Some(plan_snapshot(&plan)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(plan_id)
}

/// Edits a plan (tenant admins), if nobody changed it since `row_version`. Licenses
/// already issued keep their own limits.
pub async fn update_plan(
    db: &PgPool,
    access: &Access,
    plan_id: Uuid,
    row_version: i64,
    input: PlanInput,
) -> Result<()> {
    access.require(Role::TenantAdmin)?;
    let plan = clean_plan(&input)?;
    let mut tx = db.begin().await?;
    let before = sqlx::query!(
        "select code, name_zh, name_en, default_max_activations, default_validity_days, active, row_version
         from license_plans where tenant_id = $1 and plan_id = $2 for no key update",
        access.tenant_id,
        plan_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("license_plan"))?;
    if before.row_version != row_version {
        return Err(Error::Conflict(Conflict::StaleVersion));
    }
    sqlx::query!(
        "update license_plans set code = $3, name_zh = $4, name_en = $5, default_max_activations = $6,
                default_validity_days = $7, active = $8, row_version = row_version + 1, updated_at = now()
         where tenant_id = $1 and plan_id = $2",
        access.tenant_id,
        plan_id,
        plan.code,
        plan.name_zh,
        plan.name_en,
        plan.default_max_activations,
        plan.default_validity_days,
        plan.active
    )
    .execute(&mut *tx)
    .await
    .on_constraint("license_plans_code_key", || {
        Error::Conflict(Conflict::LicensePlanCodeTaken)
    })?;
    let before = PlanInput {
        code: before.code,
        name_zh: before.name_zh,
        name_en: before.name_en,
        default_max_activations: before.default_max_activations,
        default_validity_days: before.default_validity_days,
        active: before.active,
    };
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "license_plan.update",
            target_type: "license_plan",
            target_id: plan_id.to_string(),
            before: Some(plan_snapshot(&before)),
            after: Some(plan_snapshot(&plan)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A new random key (100 bits).
pub fn new_key() -> String {
    let random: u128 = rand::thread_rng().r#gen();
    model::licenses::format_key(random)
}

/// The latest expiry a license can be given.
fn latest_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::days(i64::from(model::licenses::VALIDITY_DAYS_MAX))
}

/// Issues `count` seats of an active plan (tenant admins), with the plan's limits
/// unless given: one statement inserts them with their `issued` events.
pub async fn issue(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    input: IssueInput,
) -> Result<Issued> {
    access.require(Role::TenantAdmin)?;
    if input.count < 1 {
        return Err(Error::invalid("count", Problem::Format));
    }
    if input.count > model::licenses::ISSUE_MAX {
        return Err(Error::invalid(
            "count",
            Problem::TooLarge {
                max: i64::from(model::licenses::ISSUE_MAX),
            },
        ));
    }
    let mut tx = db.begin().await?;
    let plan = sqlx::query!(
        "select code, default_max_activations, default_validity_days, active
         from license_plans where tenant_id = $1 and plan_id = $2",
        access.tenant_id,
        input.plan_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("license_plan"))?;
    if !plan.active {
        return Err(Error::Conflict(Conflict::LicensePlanInactive));
    }
    let max = match input.max_activations {
        Some(max) => max_activations("max_activations", max)?,
        None => plan.default_max_activations,
    };
    let expires_at = input.expires_at.or_else(|| {
        plan.default_validity_days
            .map(|d| now + Duration::days(i64::from(d)))
    });
    if expires_at.is_some_and(|e| e <= now || e > latest_expiry(now)) {
        return Err(Error::invalid("expires_at", Problem::Format));
    }
    let keys: Vec<String> = (0..input.count).map(|_| new_key()).collect();
    let cause = cause(access);
    let count = sqlx::query_scalar!(
        r#"with issued as (
             insert into licenses (tenant_id, plan_id, license_key, max_activations, expires_at)
             select $1, $2, k, $4, $5 from unnest($3::text[]) k
             returning license_id
           ), events as (
             insert into license_events (tenant_id, license_id, kind, cause, actor_id)
             select $1, license_id, 'issued', $6, $7 from issued
           )
           select count(*) as "count!" from issued"#,
        access.tenant_id,
        input.plan_id,
        &keys,
        max,
        expires_at,
        cause,
        access.principal.admin_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let first_keys: Vec<String> = keys.iter().take(20).cloned().collect();
    crate::tags::grants::enqueue(
        &mut tx,
        access.tenant_id,
        "license.issued",
        json!({ "plan": plan.code, "count": count, "max_activations": max, "expires_at": expires_at }),
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "license.issue",
            target_type: "license_plan",
            target_id: input.plan_id.to_string(),
            before: None,
            after: Some(json!({
                "plan": plan.code, "count": count, "max_activations": max,
                "expires_at": expires_at, "first_keys": first_keys,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Issued { count, first_keys })
}

/// One row of a license list: the columns every license query selects.
pub(crate) struct Row {
    pub license_id: Uuid,
    pub plan_id: Uuid,
    pub plan_code: String,
    pub license_key: String,
    pub max_activations: i32,
    pub expires_at: Option<DateTime<Utc>>,
    pub member_id: Option<Uuid>,
    pub member_external_id: Option<String>,
    pub member_name: Option<String>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub activations: i32,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspend_reason: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    pub last_validated_at: Option<DateTime<Utc>>,
    pub row_version: i64,
    pub created_at: DateTime<Utc>,
}

impl Row {
    pub(crate) fn license(self, now: DateTime<Utc>) -> License {
        License {
            state: state(
                self.revoked_at.is_some(),
                self.suspended_at.is_some(),
                self.expires_at,
                self.member_id.is_some(),
                now,
            ),
            license_id: self.license_id,
            plan_id: self.plan_id,
            plan_code: self.plan_code,
            license_key: self.license_key,
            max_activations: self.max_activations,
            expires_at: self.expires_at,
            member_id: self.member_id,
            member_external_id: self.member_external_id,
            member_name: self.member_name,
            assigned_at: self.assigned_at,
            activations: self.activations,
            suspended_at: self.suspended_at,
            suspend_reason: self.suspend_reason,
            revoked_at: self.revoked_at,
            revoke_reason: self.revoke_reason,
            last_validated_at: self.last_validated_at,
            row_version: self.row_version,
            created_at: self.created_at,
        }
    }
}

/// Licenses by key, filtered by plan, state, holder (external id) and key prefix,
/// keyset-paged after a key. Each filter reads an index in key order.
pub async fn list(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    filter: &LicenseFilter,
) -> Result<LicensePage> {
    access.require(Role::Viewer)?;
    let limit = filter.limit.unwrap_or(50).clamp(1, PAGE_MAX);
    let prefix = match filter.key_prefix.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(typed) => {
            Some(normalise_key(typed).ok_or(Error::invalid("key_prefix", Problem::Format))?)
        }
    };
    let after = match filter.after.as_deref() {
        None | Some("") => None,
        Some(key) => Some(normalise_key(key).ok_or(Error::invalid("after", Problem::Format))?),
    };
    let member_id = match filter.member.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(external_id) => Some(
            sqlx::query_scalar!(
                "select member_id from member_profiles where tenant_id = $1 and external_id = $2",
                access.tenant_id,
                external_id
            )
            .fetch_optional(db)
            .await?
            // An unknown member holds nothing: an empty page, not an error.
            .unwrap_or_else(Uuid::nil),
        ),
    };
    let state = filter.state.map(LicenseState::as_str);
    let rows = sqlx::query_as!(
        Row,
        r#"select l.license_id, l.plan_id, p.code as plan_code, l.license_key, l.max_activations,
                  l.expires_at, l.member_id, m.external_id as "member_external_id?",
                  m.display_name as "member_name?", l.assigned_at, l.activations, l.suspended_at,
                  l.suspend_reason, l.revoked_at, l.revoke_reason, l.last_validated_at,
                  l.row_version, l.created_at
           from licenses l
           join license_plans p on p.tenant_id = l.tenant_id and p.plan_id = l.plan_id
           left join member_profiles m on m.tenant_id = l.tenant_id and m.member_id = l.member_id
           where l.tenant_id = $1
             and ($2::uuid is null or l.plan_id = $2)
             and ($3::uuid is null or l.member_id = $3)
             and ($4::text is null or l.license_key like $4 || '%')
             and ($5::text is null or l.license_key > $5)
             and case $6::text
                   when 'revoked' then l.revoked_at is not null
                   when 'suspended' then l.revoked_at is null and l.suspended_at is not null
                   when 'expired' then l.revoked_at is null and l.suspended_at is null
                                       and l.expires_at is not null and l.expires_at <= $7
                   when 'assigned' then l.revoked_at is null and l.suspended_at is null
                                        and (l.expires_at is null or l.expires_at > $7)
                                        and l.member_id is not null
                   when 'free' then l.revoked_at is null and l.suspended_at is null
                                    and (l.expires_at is null or l.expires_at > $7)
                                    and l.member_id is null
                   else true end
           order by l.license_key
           limit $8"#,
        access.tenant_id,
        filter.plan_id,
        member_id,
        prefix,
        after,
        state,
        now,
        limit + 1
    )
    .fetch_all(db)
    .await?;
    let mut licenses: Vec<License> = rows.into_iter().map(|r| r.license(now)).collect();
    let next = if licenses.len() as i64 > limit {
        licenses.truncate(limit as usize);
        licenses.last().map(|l| l.license_key.clone())
    } else {
        None
    };
    Ok(LicensePage { licenses, next })
}

/// Usable licenses whose expiry falls within `days`, soonest first.
pub async fn expiring(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    days: i64,
) -> Result<Vec<License>> {
    access.require(Role::Viewer)?;
    if !(1..=model::tags::grants::EXPIRING_DAYS_MAX).contains(&days) {
        return Err(Error::invalid("days", Problem::Format));
    }
    let rows = sqlx::query_as!(
        Row,
        r#"select l.license_id, l.plan_id, p.code as plan_code, l.license_key, l.max_activations,
                  l.expires_at, l.member_id, m.external_id as "member_external_id?",
                  m.display_name as "member_name?", l.assigned_at, l.activations, l.suspended_at,
                  l.suspend_reason, l.revoked_at, l.revoke_reason, l.last_validated_at,
                  l.row_version, l.created_at
           from licenses l
           join license_plans p on p.tenant_id = l.tenant_id and p.plan_id = l.plan_id
           left join member_profiles m on m.tenant_id = l.tenant_id and m.member_id = l.member_id
           where l.tenant_id = $1 and l.expires_at > $2 and l.expires_at <= $2 + make_interval(days => $3)
             and l.revoked_at is null and l.suspended_at is null
           order by l.expires_at, l.license_key
           limit $4"#,
        access.tenant_id,
        now,
        days as i32,
        PAGE_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.license(now)).collect())
}

/// One license with its activations, assignments and events.
pub async fn detail(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    license_id: Uuid,
) -> Result<LicenseDetail> {
    access.require(Role::Viewer)?;
    let license = sqlx::query_as!(
        Row,
        r#"select l.license_id, l.plan_id, p.code as plan_code, l.license_key, l.max_activations,
                  l.expires_at, l.member_id, m.external_id as "member_external_id?",
                  m.display_name as "member_name?", l.assigned_at, l.activations, l.suspended_at,
                  l.suspend_reason, l.revoked_at, l.revoke_reason, l.last_validated_at,
                  l.row_version, l.created_at
           from licenses l
           join license_plans p on p.tenant_id = l.tenant_id and p.plan_id = l.plan_id
           left join member_profiles m on m.tenant_id = l.tenant_id and m.member_id = l.member_id
           where l.tenant_id = $1 and l.license_id = $2"#,
        access.tenant_id,
        license_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("license"))?
    .license(now);
    let activations = devices::for_licenses(db, access.tenant_id, &[license_id]).await?;
    let assignments = seats::history(db, access.tenant_id, None, Some(license_id)).await?;
    let events = sqlx::query!(
        r#"select e.event_id, e.license_id, e.member_id, e.kind, e.cause, a.email as "actor?",
                  e.note, e.created_at
           from license_events e left join admins a on a.admin_id = e.actor_id
           where e.tenant_id = $1 and e.license_id = $2
           order by e.event_id desc limit 200"#,
        access.tenant_id,
        license_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| LicenseEvent {
        event_id: r.event_id,
        license_id: r.license_id,
        member_id: r.member_id,
        kind: r.kind,
        cause: r.cause,
        actor: r.actor,
        note: r.note,
        created_at: r.created_at,
    })
    .collect();
    Ok(LicenseDetail {
        license,
        activations,
        assignments,
        events,
    })
}

/// Changes a license's own activation limit and expiry (tenant admins), if nobody
/// changed it since `row_version`. Lowering the limit below the live activations keeps
/// them (nothing is taken silently): validation then answers `too_many_activations`
/// until devices are deactivated.
pub async fn edit(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    input: LicenseEdit,
) -> Result<()> {
    access.require(Role::TenantAdmin)?;
    let max = max_activations("max_activations", input.max_activations)?;
    if input
        .expires_at
        .is_some_and(|e| e > latest_expiry(now) || e.timestamp() < 0)
    {
        return Err(Error::invalid("expires_at", Problem::Format));
    }
    let mut tx = db.begin().await?;
    let before = sqlx::query!(
        "select license_key, max_activations, expires_at, member_id, revoked_at, row_version
         from licenses where tenant_id = $1 and license_id = $2 for no key update",
        access.tenant_id,
        input.license_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("license"))?;
    if before.row_version != input.row_version {
        return Err(Error::Conflict(Conflict::StaleVersion));
    }
    if before.revoked_at.is_some() {
        return Err(Error::Conflict(Conflict::LicenseRevoked));
    }
    sqlx::query!(
        "update licenses set max_activations = $3, expires_at = $4, row_version = row_version + 1,
                             updated_at = now()
         where tenant_id = $1 and license_id = $2",
        access.tenant_id,
        input.license_id,
        max,
        input.expires_at
    )
    .execute(&mut *tx)
    .await?;
    let expiry = |at: Option<DateTime<Utc>>| {
        at.map_or_else(
            || "never".to_owned(),
            |at| at.format("%Y-%m-%d %H:%M UTC").to_string(),
        )
    };
    let note = format!(
        "max_activations {} → {max}; expires {} → {}",
        before.max_activations,
        expiry(before.expires_at),
        expiry(input.expires_at)
    );
    record_event(
        &mut tx,
        access.tenant_id,
        input.license_id,
        before.member_id,
        "edited",
        cause(access),
        access.principal.admin_id,
        Some(&note),
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "license.edit",
            target_type: "license",
            target_id: input.license_id.to_string(),
            before: Some(json!({
                "license_key": before.license_key, "max_activations": before.max_activations,
                "expires_at": before.expires_at,
            })),
            after: Some(json!({ "max_activations": max, "expires_at": input.expires_at })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Suspends (usable again after reinstatement), reinstates, or revokes (for good) a
/// license (tenant admins; reason required). Revoking ends its assignment, which frees
/// the holder's quota, and its activations.
pub async fn act(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    license_id: Uuid,
    action: Action,
    reason: &str,
) -> Result<()> {
    access.require(Role::TenantAdmin)?;
    let reason = required_reason(Some(reason))?;
    let mut tx = db.begin().await?;
    let license = sqlx::query!(
        r#"select l.license_key, l.member_id, l.suspended_at, l.revoked_at, m.external_id as "external_id?"
           from licenses l
           left join member_profiles m on m.tenant_id = l.tenant_id and m.member_id = l.member_id
           where l.tenant_id = $1 and l.license_id = $2 for no key update of l"#,
        access.tenant_id,
        license_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found("license"))?;
    if license.revoked_at.is_some() {
        return Err(Error::Conflict(Conflict::LicenseRevoked));
    }
    let (kind, topic) = match action {
        Action::Suspend => {
            if license.suspended_at.is_some() {
                return Err(Error::Conflict(Conflict::LicenseUnusable(Code::Suspended)));
            }
            sqlx::query!(
                "update licenses set suspended_at = $3, suspend_reason = $4, row_version = row_version + 1,
                                     updated_at = now()
                 where tenant_id = $1 and license_id = $2",
                access.tenant_id,
                license_id,
                now,
                reason
            )
            .execute(&mut *tx)
            .await?;
            ("suspended", "license.suspended")
        }
        Action::Reinstate => {
            if license.suspended_at.is_none() {
                return Err(Error::Conflict(Conflict::StaleVersion));
            }
            sqlx::query!(
                "update licenses set suspended_at = null, suspend_reason = null, row_version = row_version + 1,
                                     updated_at = now()
                 where tenant_id = $1 and license_id = $2",
                access.tenant_id,
                license_id
            )
            .execute(&mut *tx)
            .await?;
            ("reinstated", "license.reinstated")
        }
        Action::Revoke => {
            if let Some(member_id) = license.member_id {
                seats::end_holding(
                    &mut tx, access, now, license_id, member_id, "revoked", &reason,
                )
                .await?;
                seats::release_seat(&mut tx, access.tenant_id, member_id).await?;
            }
            sqlx::query!(
                "update licenses set revoked_at = $3, revoke_reason = $4, member_id = null, assigned_at = null,
                                     row_version = row_version + 1, updated_at = now()
                 where tenant_id = $1 and license_id = $2",
                access.tenant_id,
                license_id,
                now,
                reason
            )
            .execute(&mut *tx)
            .await?;
            ("revoked", "license.revoked")
        }
    };
    record_event(
        &mut tx,
        access.tenant_id,
        license_id,
        license.member_id,
        kind,
        cause(access),
        access.principal.admin_id,
        Some(&reason),
    )
    .await?;
    crate::tags::grants::enqueue(
        &mut tx,
        access.tenant_id,
        topic,
        payload(
            license_id,
            &license.license_key,
            license.member_id,
            license.external_id.as_deref(),
            json!({ "reason": reason }),
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: match action {
                Action::Suspend => "license.suspend",
                Action::Reinstate => "license.reinstate",
                Action::Revoke => "license.revoke",
            },
            target_type: "license",
            target_id: license_id.to_string(),
            before: Some(json!({
                "license_key": license.license_key, "member_id": license.member_id,
                "suspended": license.suspended_at.is_some(),
            })),
            after: Some(json!({ "action": action.as_str(), "reason": reason })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Per plan: issued, assigned, activated, free, expiring within 30 days, suspended,
/// expired, revoked; and the number of members over quota.
pub async fn report(db: &PgPool, access: &Access, now: DateTime<Utc>) -> Result<Report> {
    access.require(Role::Viewer)?;
    let plans = sqlx::query!(
        r#"select p.plan_id, p.code, p.name_zh, p.name_en,
                  count(l.license_id) as "issued!",
                  count(l.license_id) filter (where l.revoked_at is null and l.suspended_at is null
                                   and (l.expires_at is null or l.expires_at > $2)
                                   and l.member_id is not null) as "assigned!",
                  count(l.license_id) filter (where l.revoked_at is null and l.activations > 0) as "activated!",
                  count(l.license_id) filter (where l.revoked_at is null and l.suspended_at is null
                                   and (l.expires_at is null or l.expires_at > $2)
                                   and l.member_id is null) as "free!",
                  count(l.license_id) filter (where l.revoked_at is null and l.suspended_at is null
                                   and l.expires_at > $2
                                   and l.expires_at <= $2 + make_interval(days => $3)) as "expiring!",
                  count(l.license_id) filter (where l.revoked_at is null and l.suspended_at is not null) as "suspended!",
                  count(l.license_id) filter (where l.revoked_at is null and l.suspended_at is null
                                   and l.expires_at <= $2) as "expired!",
                  count(l.license_id) filter (where l.revoked_at is not null) as "revoked!"
           from license_plans p
           left join licenses l on l.tenant_id = p.tenant_id and l.plan_id = p.plan_id
           where p.tenant_id = $1
           group by p.plan_id, p.code, p.name_zh, p.name_en
           order by p.code"#,
        access.tenant_id,
        now,
        EXPIRING_REPORT_DAYS as i32
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| PlanReport {
        plan_id: r.plan_id,
        code: r.code,
        name_zh: r.name_zh,
        name_en: r.name_en,
        issued: r.issued,
        assigned: r.assigned,
        activated: r.activated,
        free: r.free,
        expiring: r.expiring,
        suspended: r.suspended,
        expired: r.expired,
        revoked: r.revoked,
    })
    .collect();
    let over_quota = seats::over_quota_count(db, access.tenant_id, now).await?;
    Ok(Report {
        plans,
        over_quota,
        at: now,
    })
}
