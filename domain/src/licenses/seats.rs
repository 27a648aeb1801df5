//! Seats: a license assigned to a member, within the member's `max_licenses` quota (the
//! quota rule of effective permissions, computed in PostgreSQL by `license_quota`).
//!
//! Race freedom: the license row is locked first (a free one of a plan is picked with
//! `SKIP LOCKED`), then one upsert raises the member's `member_license_use.held` only
//! while it is below the quota computed in the same statement. Two assignments racing
//! for a member's last unit of quota queue on that row and the second finds it full;
//! two members racing for the last free license queue on the license row and the
//! second finds it held.
//!
//! **Quota going down** (a downgrade, a tag expiring or revoked): nothing is taken
//! away. The member keeps every seat they hold, cannot receive another while
//! `held >= quota`, and is listed by [`over_quota`] until someone releases seats
//! ([`unassign`]) or the quota rises again.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Row, cause, payload, record_event};
use crate::error::ResultExt;
use crate::tags::permissions::{self, MAX_LICENSES};
use crate::{Access, Conflict, Error, Result, Role, access::audit};
pub use model::licenses::{AssignInput, Assigned, Assignment, MemberLicenses, OverQuota};
use model::licenses::{Code, LicenseState, PAGE_MAX, state};
use model::points::ledger::required_reason;

/// A license locked for an assignment.
pub(crate) struct Locked {
    pub license_id: Uuid,
    pub license_key: String,
    pub member_id: Option<Uuid>,
    pub plan_active: bool,
    pub revoked: bool,
    pub suspended: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Locked {
    fn state(&self, now: DateTime<Utc>) -> LicenseState {
        state(
            self.revoked,
            self.suspended,
            self.expires_at,
            self.member_id.is_some(),
            now,
        )
    }
}

pub(crate) async fn lock_license(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    license_id: Uuid,
) -> Result<Locked> {
    sqlx::query_as!(
        Locked,
        r#"select l.license_id, l.license_key, l.member_id, p.active as plan_active,
                  l.revoked_at is not null as "revoked!", l.suspended_at is not null as "suspended!",
                  l.expires_at
           from licenses l join license_plans p on p.tenant_id = l.tenant_id and p.plan_id = l.plan_id
           where l.tenant_id = $1 and l.license_id = $2
           for no key update of l"#,
        tenant_id,
        license_id
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::not_found("license"))
}

/// Locks a free, usable license of an active plan (longest validity first, perpetual
/// ones before all), skipping those another transaction holds.
pub(crate) async fn pick_free(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    plan_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Locked> {
    let active = sqlx::query_scalar!(
        "select active from license_plans where tenant_id = $1 and plan_id = $2",
        tenant_id,
        plan_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found("license_plan"))?;
    if !active {
        return Err(Error::Conflict(Conflict::LicensePlanInactive));
    }
    sqlx::query_as!(
        Locked,
        r#"select l.license_id, l.license_key, l.member_id, true as "plan_active!",
                  false as "revoked!", false as "suspended!", l.expires_at
           from licenses l
           where l.tenant_id = $1 and l.plan_id = $2 and l.member_id is null
             and l.revoked_at is null and l.suspended_at is null
             and (l.expires_at is null or l.expires_at > $3)
           order by l.expires_at desc nulls first, l.license_key
           limit 1
           for no key update skip locked"#,
        tenant_id,
        plan_id,
        now
    )
    .fetch_optional(conn)
    .await?
    .ok_or(Error::Conflict(Conflict::NoFreeLicense))
}

/// The member's seats held and quota now (for refusals and pre-checks; not a gate).
pub(crate) async fn use_and_quota(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"select coalesce((select held from member_license_use where tenant_id = $1 and member_id = $2), 0)::bigint as "held!",
                  license_quota($1, $2, $3) as "quota!""#,
        tenant_id,
        member_id,
        now
    )
    .fetch_one(conn)
    .await?;
    Ok((row.held, row.quota))
}

/// The gate: raises the member's seats by one if, in this very statement, they are
/// below the quota (computed once, in the statement). Answers the seats now held and
/// the quota, or the refusal.
async fn take_seat(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    member_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(i64, i64)> {
    let taken = sqlx::query!(
        r#"with q as (select license_quota($1, $2, $3) as quota)
           insert into member_license_use as u (tenant_id, member_id, held)
           select $1, $2, 1 from q where q.quota >= 1
           on conflict (tenant_id, member_id) do update set held = u.held + 1
             where u.held < (select quota from q)
           returning held, (select quota from q) as "quota!""#,
        tenant_id,
        member_id,
        now
    )
    .fetch_optional(&mut *conn)
    .await
    .on_constraint("member_license_use_member_fkey", || {
        Error::not_found("member")
    })?;
    match taken {
        Some(taken) => Ok((i64::from(taken.held), taken.quota)),
        None => {
            let (held, quota) = use_and_quota(conn, tenant_id, member_id, now).await?;
            Err(Error::Conflict(Conflict::LicenseQuotaReached {
                held,
                quota,
            }))
        }
    }
}

pub(crate) async fn release_seat(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    member_id: Uuid,
) -> Result<()> {
    sqlx::query!(
        "update member_license_use set held = held - 1 where tenant_id = $1 and member_id = $2",
        tenant_id,
        member_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn external_id(conn: &mut PgConnection, tenant_id: Uuid, member_id: Uuid) -> Result<String> {
    sqlx::query_scalar!(
        "select external_id from member_profiles where tenant_id = $1 and member_id = $2",
        tenant_id,
        member_id
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::not_found("member"))
}

/// Why a locked license cannot be given to `member_id`, if it cannot.
fn refusal(license: &Locked, member_id: Uuid, now: DateTime<Utc>) -> Option<Error> {
    match license.state(now) {
        LicenseState::Free if !license.plan_active => {
            Some(Error::Conflict(Conflict::LicensePlanInactive))
        }
        LicenseState::Free => None,
        LicenseState::Assigned if license.member_id == Some(member_id) => {
            Some(Error::Conflict(Conflict::SameHolder))
        }
        LicenseState::Assigned => Some(Error::Conflict(Conflict::LicenseHeld)),
        other => Some(Error::Conflict(Conflict::LicenseUnusable(
            Code::of_state(other).unwrap_or(Code::NotAssigned),
        ))),
    }
}

/// Gives a locked free license to a member within their quota, on the caller's
/// transaction: the gate, the holder, the assignment row, its event, outbox and audit.
pub(crate) async fn assign_locked(
    conn: &mut PgConnection,
    access: &Access,
    now: DateTime<Utc>,
    license: &Locked,
    member_id: Uuid,
    method: &str,
    batch_id: Option<Uuid>,
) -> Result<Assigned> {
    if let Some(refused) = refusal(license, member_id, now) {
        return Err(refused);
    }
    let external_id = external_id(conn, access.tenant_id, member_id).await?;
    let (held, quota) = take_seat(conn, access.tenant_id, member_id, now).await?;
    sqlx::query!(
        "update licenses set member_id = $3, assigned_at = $4, row_version = row_version + 1, updated_at = now()
         where tenant_id = $1 and license_id = $2",
        access.tenant_id,
        license.license_id,
        member_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into license_assignments (tenant_id, license_id, member_id, assigned_at, assigned_by,
                                          client_id, method, batch_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        access.tenant_id,
        license.license_id,
        member_id,
        now,
        access.principal.admin_id,
        access
            .principal
            .admin_id
            .is_none()
            .then(|| access.principal.label.clone()),
        method,
        batch_id
    )
    .execute(&mut *conn)
    .await
    .on_constraint("license_assignments_live_key", || {
        Error::Conflict(Conflict::LicenseHeld)
    })?;
    let event_cause = if batch_id.is_some() {
        "batch"
    } else {
        cause(access)
    };
    record_event(
        conn,
        access.tenant_id,
        license.license_id,
        Some(member_id),
        "assigned",
        event_cause,
        access.principal.admin_id,
        None,
    )
    .await?;
    crate::tags::grants::enqueue(
        conn,
        access.tenant_id,
        "license.assigned",
        payload(
            license.license_id,
            &license.license_key,
            Some(member_id),
            Some(&external_id),
            json!({ "batch_id": batch_id }),
        ),
    )
    .await?;
    audit::record(
        conn,
        access,
        audit::Event {
            action: "license.assign",
            target_type: "member",
            target_id: member_id.to_string(),
            before: None,
            after: Some(json!({
                "license_id": license.license_id, "license_key": license.license_key,
                "method": method, "batch_id": batch_id, "held": held,
            })),
        },
    )
    .await?;
    Ok(Assigned {
        license_id: license.license_id,
        license_key: license.license_key.clone(),
        held,
        quota,
    })
}

/// Gives a member a seat (support and tenant admins): the license named, or a free one
/// of the plan named. Refused when the member's seats reach their quota, the license is
/// held or unusable, or the plan has no free license; a refusal changes nothing.
pub async fn assign(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    input: AssignInput,
) -> Result<Assigned> {
    access.require(Role::Support)?;
    let mut tx = db.begin().await?;
    let license = match (input.license_id, input.plan_id) {
        (Some(license_id), _) => lock_license(&mut tx, access.tenant_id, license_id).await?,
        (None, Some(plan_id)) => {
            // A member at their quota is refused before a free license is locked, so a
            // refused request does not hide a seat from a concurrent one.
            external_id(&mut tx, access.tenant_id, input.member_id).await?;
            let (held, quota) =
                use_and_quota(&mut tx, access.tenant_id, input.member_id, now).await?;
            if held >= quota {
                return Err(Error::Conflict(Conflict::LicenseQuotaReached {
                    held,
                    quota,
                }));
            }
            pick_free(&mut tx, access.tenant_id, plan_id, now).await?
        }
        (None, None) => {
            return Err(Error::invalid("plan_id", model::Problem::Required));
        }
    };
    let assigned = assign_locked(
        &mut tx,
        access,
        now,
        &license,
        input.member_id,
        cause(access),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(assigned)
}

/// Ends the holder's live assignment and every live activation of the license (kept as
/// history), on the caller's transaction, which holds the license row. The caller
/// releases the seat and clears or changes the holder.
pub(crate) async fn end_holding(
    conn: &mut PgConnection,
    access: &Access,
    now: DateTime<Utc>,
    license_id: Uuid,
    member_id: Uuid,
    kind: &str,
    reason: &str,
) -> Result<()> {
    sqlx::query!(
        "update license_activations set deactivated_at = $3, deactivated_by = $4, deactivate_reason = $5
         where tenant_id = $1 and license_id = $2 and deactivated_at is null",
        access.tenant_id,
        license_id,
        now,
        access.principal.admin_id,
        kind
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update licenses set activations = 0 where tenant_id = $1 and license_id = $2",
        access.tenant_id,
        license_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update license_assignments set ended_at = $4, ended_by = $5, end_kind = $6, end_reason = $7
         where tenant_id = $1 and license_id = $2 and member_id = $3 and ended_at is null",
        access.tenant_id,
        license_id,
        member_id,
        now,
        access.principal.admin_id,
        kind,
        reason
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes a seat back from its holder (support and tenant admins; reason required): the
/// assignment ends, its devices are deactivated, the member's quota is freed.
pub async fn unassign(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    license_id: Uuid,
    reason: &str,
) -> Result<()> {
    unassign_held(db, access, now, license_id, None, reason).await
}

/// [`unassign`], refused ([`Conflict::StaleVersion`]) unless the license is still held
/// by `holder` when given: what the person saw when they decided, so two people taking
/// or moving one seat at once cannot undo each other unnoticed.
pub async fn unassign_held(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    license_id: Uuid,
    holder: Option<Uuid>,
    reason: &str,
) -> Result<()> {
    access.require(Role::Support)?;
    let reason = required_reason(Some(reason))?;
    let mut tx = db.begin().await?;
    let license = lock_license(&mut tx, access.tenant_id, license_id).await?;
    if holder.is_some_and(|holder| license.member_id != Some(holder)) {
        return Err(Error::Conflict(Conflict::StaleVersion));
    }
    unassign_locked(&mut tx, access, now, &license, &reason).await?;
    tx.commit().await?;
    Ok(())
}

/// Unassigns a license the caller's transaction holds locked.
async fn unassign_locked(
    tx: &mut PgConnection,
    access: &Access,
    now: DateTime<Utc>,
    license: &Locked,
    reason: &str,
) -> Result<()> {
    let license_id = license.license_id;
    let Some(member_id) = license.member_id else {
        return Err(Error::Conflict(Conflict::LicenseUnusable(
            Code::NotAssigned,
        )));
    };
    let external_id = external_id(&mut *tx, access.tenant_id, member_id).await?;
    end_holding(
        &mut *tx,
        access,
        now,
        license_id,
        member_id,
        "unassigned",
        reason,
    )
    .await?;
    release_seat(&mut *tx, access.tenant_id, member_id).await?;
    sqlx::query!(
        "update licenses set member_id = null, assigned_at = null, row_version = row_version + 1,
                             updated_at = now()
         where tenant_id = $1 and license_id = $2",
        access.tenant_id,
        license_id
    )
    .execute(&mut *tx)
    .await?;
    record_event(
        &mut *tx,
        access.tenant_id,
        license_id,
        Some(member_id),
        "unassigned",
        cause(access),
        access.principal.admin_id,
        Some(reason),
    )
    .await?;
    crate::tags::grants::enqueue(
        &mut *tx,
        access.tenant_id,
        "license.unassigned",
        payload(
            license_id,
            &license.license_key,
            Some(member_id),
            Some(&external_id),
            json!({ "reason": reason }),
        ),
    )
    .await?;
    audit::record(
        &mut *tx,
        access,
        audit::Event {
            action: "license.unassign",
            target_type: "member",
            target_id: member_id.to_string(),
            before: Some(json!({ "license_id": license_id, "license_key": license.license_key })),
            after: Some(json!({ "reason": reason })),
        },
    )
    .await?;
    Ok(())
}

/// Moves a held, usable seat to another member within that member's quota (support and
/// tenant admins; reason required). The old holder's devices are deactivated; the
/// license keeps its whole activation and assignment history.
pub async fn transfer(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    license_id: Uuid,
    to_member_id: Uuid,
    reason: &str,
) -> Result<Assigned> {
    transfer_held(db, access, now, license_id, None, to_member_id, reason).await
}

/// [`transfer`], refused ([`Conflict::StaleVersion`]) unless the license is still held
/// by `holder` when given (see [`unassign_held`]).
pub async fn transfer_held(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    license_id: Uuid,
    holder: Option<Uuid>,
    to_member_id: Uuid,
    reason: &str,
) -> Result<Assigned> {
    access.require(Role::Support)?;
    let reason = required_reason(Some(reason))?;
    let mut tx = db.begin().await?;
    let license = lock_license(&mut tx, access.tenant_id, license_id).await?;
    if holder.is_some_and(|holder| license.member_id != Some(holder)) {
        return Err(Error::Conflict(Conflict::StaleVersion));
    }
    let from = match (license.state(now), license.member_id) {
        (LicenseState::Assigned, Some(from)) => from,
        (other, _) => {
            return Err(Error::Conflict(Conflict::LicenseUnusable(
                Code::of_state(other).unwrap_or(Code::NotAssigned),
            )));
        }
    };
    if from == to_member_id {
        return Err(Error::Conflict(Conflict::SameHolder));
    }
    let from_external = external_id(&mut tx, access.tenant_id, from).await?;
    let to_external = external_id(&mut tx, access.tenant_id, to_member_id).await?;
    // Seat rows in member_id order.
    let (held, quota) = if from < to_member_id {
        release_seat(&mut tx, access.tenant_id, from).await?;
        take_seat(&mut tx, access.tenant_id, to_member_id, now).await?
    } else {
        let taken = take_seat(&mut tx, access.tenant_id, to_member_id, now).await?;
        release_seat(&mut tx, access.tenant_id, from).await?;
        taken
    };
    end_holding(
        &mut tx,
        access,
        now,
        license_id,
        from,
        "transferred",
        &reason,
    )
    .await?;
    sqlx::query!(
        "update licenses set member_id = $3, assigned_at = $4, row_version = row_version + 1, updated_at = now()
         where tenant_id = $1 and license_id = $2",
        access.tenant_id,
        license_id,
        to_member_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into license_assignments (tenant_id, license_id, member_id, assigned_at, assigned_by,
                                          client_id, method)
         values ($1, $2, $3, $4, $5, $6, $7)",
        access.tenant_id,
        license_id,
        to_member_id,
        now,
        access.principal.admin_id,
        access
            .principal
            .admin_id
            .is_none()
            .then(|| access.principal.label.clone()),
        cause(access)
    )
    .execute(&mut *tx)
    .await?;
    let note = format!("{from_external} → {to_external}: {reason}");
    record_event(
        &mut tx,
        access.tenant_id,
        license_id,
        Some(to_member_id),
        "transferred",
        cause(access),
        access.principal.admin_id,
        Some(&note),
    )
    .await?;
    crate::tags::grants::enqueue(
        &mut tx,
        access.tenant_id,
        "license.transferred",
        payload(
            license_id,
            &license.license_key,
            Some(to_member_id),
            Some(&to_external),
            json!({ "from_member_id": from, "from_external_id": from_external, "reason": reason }),
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "license.transfer",
            target_type: "license",
            target_id: license_id.to_string(),
            before: Some(json!({ "member_id": from, "external_id": from_external })),
            after: Some(json!({
                "member_id": to_member_id, "external_id": to_external, "reason": reason,
                "license_key": license.license_key,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Assigned {
        license_id,
        license_key: license.license_key,
        held,
        quota,
    })
}

/// Assignments of a member or of a license, newest first (at most 100).
pub(crate) async fn history(
    db: &PgPool,
    tenant_id: Uuid,
    member_id: Option<Uuid>,
    license_id: Option<Uuid>,
) -> Result<Vec<Assignment>> {
    Ok(sqlx::query!(
        r#"select s.assignment_id, s.license_id, l.license_key, p.code as plan_code, s.member_id,
                  m.external_id, s.method, s.assigned_at, a.email as "assigned_by?", s.ended_at,
                  s.end_kind, s.end_reason
           from license_assignments s
           join licenses l on l.tenant_id = s.tenant_id and l.license_id = s.license_id
           join license_plans p on p.tenant_id = l.tenant_id and p.plan_id = l.plan_id
           join member_profiles m on m.tenant_id = s.tenant_id and m.member_id = s.member_id
           left join admins a on a.admin_id = s.assigned_by
           where s.tenant_id = $1 and ($2::uuid is null or s.member_id = $2)
             and ($3::uuid is null or s.license_id = $3)
           order by s.assigned_at desc, s.assignment_id
           limit 100"#,
        tenant_id,
        member_id,
        license_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| Assignment {
        assignment_id: r.assignment_id,
        license_id: r.license_id,
        license_key: r.license_key,
        plan_code: r.plan_code,
        member_id: r.member_id,
        external_id: r.external_id,
        method: r.method,
        assigned_at: r.assigned_at,
        assigned_by: r.assigned_by,
        ended_at: r.ended_at,
        end_kind: r.end_kind,
        end_reason: r.end_reason,
    })
    .collect())
}

/// A member's seats: quota used and its limit with where it comes from, the licenses
/// held with their devices, and the assignment history.
pub async fn member_licenses(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    member_id: Uuid,
) -> Result<MemberLicenses> {
    access.require(Role::Viewer)?;
    let effective = permissions::compute(db, access.tenant_id, member_id, now).await?;
    let quota = effective
        .quotas
        .into_iter()
        .find(|q| q.key == MAX_LICENSES)
        .unwrap_or_else(|| model::tags::permissions::Quota::combine(MAX_LICENSES, Vec::new()));
    let (licenses, held) = held(db, access.tenant_id, now, member_id).await?;
    let ids: Vec<Uuid> = licenses.iter().map(|l| l.license_id).collect();
    let activations = super::devices::for_licenses(db, access.tenant_id, &ids).await?;
    Ok(MemberLicenses {
        quota,
        held,
        licenses,
        activations,
        history: history(db, access.tenant_id, Some(member_id), None).await?,
    })
}

/// The licenses a member holds (at most [`PAGE_MAX`]) and the seats counted against
/// their quota: what the member summary shows.
pub(crate) async fn held(
    db: &PgPool,
    tenant_id: Uuid,
    now: DateTime<Utc>,
    member_id: Uuid,
) -> Result<(Vec<model::licenses::License>, i64)> {
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
           where l.tenant_id = $1 and l.member_id = $2
           order by l.license_key
           limit $3"#,
        tenant_id,
        member_id,
        PAGE_MAX
    )
    .fetch_all(db)
    .await?;
    let licenses: Vec<model::licenses::License> =
        rows.into_iter().map(|r| r.license(now)).collect();
    let held = sqlx::query_scalar!(
        "select held from member_license_use where tenant_id = $1 and member_id = $2",
        tenant_id,
        member_id
    )
    .fetch_optional(db)
    .await?
    .map_or(0, i64::from);
    Ok((licenses, held))
}

/// Members holding more seats than their quota now allows, by external id, keyset-paged
/// after one.
pub async fn over_quota(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<OverQuota>> {
    access.require(Role::Viewer)?;
    let rows = sqlx::query!(
        r#"select o.member_id as "member_id!", p.external_id, p.display_name, o.held as "held!",
                  o.quota as "quota!"
           from license_over_quota($1, $2) o
           join member_profiles p on p.tenant_id = $1 and p.member_id = o.member_id
           where ($3::text is null or p.external_id > $3)
           order by p.external_id
           limit $4"#,
        access.tenant_id,
        now,
        after,
        limit.clamp(1, PAGE_MAX)
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OverQuota {
            member_id: r.member_id,
            external_id: r.external_id,
            display_name: r.display_name,
            held: r.held,
            quota: r.quota,
        })
        .collect())
}

pub(crate) async fn over_quota_count(
    db: &PgPool,
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar!(
        r#"select count(*) as "count!" from license_over_quota($1, $2)"#,
        tenant_id,
        now
    )
    .fetch_one(db)
    .await?)
}

/// Gives a member the license with this key (support and tenant admins): [`assign`] for
/// a key as a customer reads it out (any case, with or without dashes). A key of another
/// tenant is simply not found.
pub async fn assign_key(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    member_id: Uuid,
    license_key: &str,
) -> Result<Assigned> {
    access.require(Role::Support)?;
    let license_id = license_id_of(db, access, license_key).await?;
    let input = AssignInput {
        member_id,
        plan_id: None,
        license_id: Some(license_id),
    };
    assign(db, access, now, input).await
}

/// The id of the license with this key (as typed: any case, with or without dashes) in
/// the caller's tenant (how the REST API, which names licenses by key, reaches the
/// functions that take ids). A key of another tenant is not found.
pub async fn license_id_of(db: &PgPool, access: &Access, license_key: &str) -> Result<Uuid> {
    access.require(Role::Viewer)?;
    let key = full_key(license_key)?;
    sqlx::query_scalar!(
        "select license_id from licenses where tenant_id = $1 and license_key = $2",
        access.tenant_id,
        key
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("license"))
}

/// The id of the plan with this code in the caller's tenant.
pub async fn plan_id_of(db: &PgPool, access: &Access, code: &str) -> Result<Uuid> {
    access.require(Role::Viewer)?;
    if model::input::plain_text("plan", code).is_err() {
        return Err(Error::not_found("plan"));
    }
    sqlx::query_scalar!(
        "select plan_id from license_plans where tenant_id = $1 and code = $2",
        access.tenant_id,
        code.trim()
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("plan"))
}

/// A complete key, normalised; a prefix or anything else is an invalid `license_key`.
fn full_key(typed: &str) -> Result<String> {
    use model::licenses::{KEY_GROUP_LENGTH, KEY_GROUPS, normalise_key};
    if typed.trim().is_empty() {
        return Err(Error::invalid("license_key", model::Problem::Required));
    }
    normalise_key(typed)
        .filter(|key| key.len() == KEY_GROUPS * (KEY_GROUP_LENGTH + 1) - 1)
        .ok_or(Error::invalid("license_key", model::Problem::Format))
}

/// Moves a seat to the member with this external id (support and tenant admins; reason
/// required): [`transfer`] for the id a support person has at hand. The id is looked up
/// in the caller's tenant only.
pub async fn transfer_to_external(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    license_id: Uuid,
    holder: Option<Uuid>,
    to_external_id: &str,
    reason: &str,
) -> Result<Assigned> {
    access.require(Role::Support)?;
    let external_id = to_external_id.trim();
    if external_id.is_empty() {
        return Err(Error::invalid("to_external_id", model::Problem::Required));
    }
    // Text no input can store (NUL, control characters) names no member.
    if model::input::plain_text("to_external_id", external_id).is_err() {
        return Err(Error::not_found("member"));
    }
    let to_member_id = sqlx::query_scalar!(
        "select member_id from member_profiles where tenant_id = $1 and external_id = $2",
        access.tenant_id,
        external_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("member"))?;
    transfer_held(db, access, now, license_id, holder, to_member_id, reason).await
}

/// Releases one seat of a member over quota (support and tenant admins; reason
/// required): the seat assigned most recently, preferring one with no live device (the
/// least disruption), is unassigned as by [`unassign`]. Answers its key. Refused when
/// the member holds no more seats than the quota allows, decided under the lock of the
/// member's seat row, so releases racing on one member stop at the quota.
pub async fn release_one(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    member_id: Uuid,
    reason: &str,
) -> Result<String> {
    access.require(Role::Support)?;
    let reason = required_reason(Some(reason))?;
    let mut tx = db.begin().await?;
    external_id(&mut tx, access.tenant_id, member_id).await?;
    // The member's seat row first: releases of one member queue here and each sees the
    // seats the previous one left. (The license is then picked with SKIP LOCKED, which
    // never waits, so taking the seat row before it cannot deadlock.)
    let seat = sqlx::query!(
        r#"select held::bigint as "held!", license_quota($1, $2, $3) as "quota!"
           from member_license_use where tenant_id = $1 and member_id = $2
           for no key update"#,
        access.tenant_id,
        member_id,
        now
    )
    .fetch_optional(&mut *tx)
    .await?;
    let (held, quota) = seat.map_or((0, 0), |s| (s.held, s.quota));
    if held <= quota {
        return Err(Error::Conflict(Conflict::NotOverQuota { held, quota }));
    }
    let license = sqlx::query_as!(
        Locked,
        r#"select l.license_id, l.license_key, l.member_id, p.active as plan_active,
                  l.revoked_at is not null as "revoked!", l.suspended_at is not null as "suspended!",
                  l.expires_at
           from licenses l join license_plans p on p.tenant_id = l.tenant_id and p.plan_id = l.plan_id
           where l.tenant_id = $1 and l.member_id = $2
           order by l.activations > 0, l.assigned_at desc, l.license_key
           limit 1
           for no key update of l skip locked"#,
        access.tenant_id,
        member_id
    )
    .fetch_optional(&mut *tx)
    .await?
    // Every seat of theirs is being changed by someone else right now.
    .ok_or(Error::Conflict(Conflict::StaleVersion))?;
    unassign_locked(&mut tx, access, now, &license, &reason).await?;
    tx.commit().await?;
    Ok(license.license_key)
}
