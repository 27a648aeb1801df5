//! Four-eyes approval of large manual adjustments: the adjustment waits as a request
//! until a tenant admin other than the requester approves (posting it) or rejects it.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::ledger::{self, EntryKind, Origin, Posted, Posting};
use crate::{Access, Conflict, Error, Result, Role, access::audit};
pub use model::points::approvals::{DECIDED_LIST_MAX, PENDING_LIST_MAX, Request};

/// Files a request (called by `ledger::adjust` above the threshold); audited. The
/// request carries the adjustment's idempotency key: concurrent copies of one
/// submission file one request, and every copy gets it back. A deduction larger than
/// the member's available points is refused here, like a direct adjustment, instead
/// of waiting in the queue for an approval that could not apply it.
pub(crate) async fn request(
    db: &PgPool,
    access: &Access,
    posting: &Posting,
    hash: &str,
) -> Result<Request> {
    let requested_by = access.principal.admin_id;
    let requested_by_key = access.principal.api_key_id;
    if requested_by.is_none() && requested_by_key.is_none() {
        return Err(Error::Forbidden);
    }
    let reason = posting.reason.clone().unwrap_or_default();
    let points = posting.available_delta;
    let mut tx = db.begin().await?;
    let filed = sqlx::query!(
        r#"with member as (
             select available_points from member_profiles where tenant_id = $1 and member_id = $2
           ), filed as (
             insert into adjustment_requests
               (tenant_id, member_id, points, reason, requested_by, idempotency_key, request_hash,
                requested_by_key, requested_by_label)
             select $1, $2, $3, $4, $5, $6, $7, $8, case when $8::uuid is null then null else $9 end
             from member
             where member.available_points + $3 >= 0
             on conflict (tenant_id, idempotency_key) do nothing
             returning request_id
           )
           select (select available_points from member) as available,
                  (select request_id from filed) as request_id"#,
        access.tenant_id,
        posting.member_id,
        points,
        reason,
        requested_by,
        posting.idempotency_key,
        hash,
        requested_by_key,
        access.principal.label
    )
    .fetch_one(&mut *tx)
    .await?;
    let Some(available) = filed.available else {
        return Err(Error::not_found("member"));
    };
    let Some(request_id) = filed.request_id else {
        tx.rollback().await?;
        // Another copy of the same submission filed it first (the insert waited for it).
        if let Some(key) = &posting.idempotency_key
            && let Some(request) = by_key(db, access, key, hash).await?
        {
            return Ok(request);
        }
        return Err(Error::InsufficientPoints {
            available,
            requested: points.saturating_neg(),
        });
    };
    let event = audit::Event {
        action: "points.adjust_requested",
        target_type: "member",
        target_id: posting.member_id.to_string(),
        before: None,
        after: Some(json!({ "request_id": request_id, "points": points, "reason": reason })),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    find(db, access.tenant_id, request_id).await
}

/// The request filed under an idempotency key, if any; a different request under the
/// same key is a conflict.
pub(crate) async fn by_key(
    db: &PgPool,
    access: &Access,
    key: &str,
    hash: &str,
) -> Result<Option<Request>> {
    let found = sqlx::query!(
        "select request_id, request_hash from adjustment_requests
         where tenant_id = $1 and idempotency_key = $2",
        access.tenant_id,
        key
    )
    .fetch_optional(db)
    .await?;
    let Some(found) = found else { return Ok(None) };
    if found.request_hash.as_deref() != Some(hash) {
        return Err(Error::Conflict(Conflict::IdempotencyKeyReused));
    }
    find(db, access.tenant_id, found.request_id).await.map(Some)
}

/// One request of the tenant, whatever its status.
async fn find(db: &PgPool, tenant_id: Uuid, request_id: Uuid) -> Result<Request> {
    sqlx::query_as!(
        Request,
        r#"select r.request_id, r.member_id, p.external_id as member_external_id, p.display_name as member_name,
                  p.available_points as member_available,
                  r.points, r.reason, coalesce(a.email, r.requested_by_label) as "requested_by!", r.status, r.created_at,
                  d.email as "decided_by?", r.decided_at
           from adjustment_requests r
           join member_profiles p on p.tenant_id = r.tenant_id and p.member_id = r.member_id
           left join admins a on a.admin_id = r.requested_by
           left join admins d on d.admin_id = r.decided_by
           where r.tenant_id = $1 and r.request_id = $2"#,
        tenant_id,
        request_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::not_found("request"))
}

/// Pending requests of the tenant, oldest first (support and tenant admins). Each
/// carries the member's available points now: a deduction larger than that cannot be
/// approved until the balance allows it (`Request::applicable`).
pub async fn pending(db: &PgPool, access: &Access) -> Result<Vec<Request>> {
    access.require(Role::Support)?;
    let requests = sqlx::query_as!(
        Request,
        r#"select r.request_id, r.member_id, p.external_id as member_external_id, p.display_name as member_name,
                  p.available_points as member_available,
                  r.points, r.reason, coalesce(a.email, r.requested_by_label) as "requested_by!", r.status, r.created_at,
                  d.email as "decided_by?", r.decided_at
           from adjustment_requests r
           join member_profiles p on p.tenant_id = r.tenant_id and p.member_id = r.member_id
           left join admins a on a.admin_id = r.requested_by
           left join admins d on d.admin_id = r.decided_by
           where r.tenant_id = $1 and r.status = 'pending'
           order by r.created_at
           limit $2"#,
        access.tenant_id,
        PENDING_LIST_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(requests)
}

/// Recently decided requests of the tenant (approved, rejected or withdrawn), newest
/// first, with who decided and when (support and tenant admins).
pub async fn decided(db: &PgPool, access: &Access) -> Result<Vec<Request>> {
    access.require(Role::Support)?;
    let requests = sqlx::query_as!(
        Request,
        r#"select r.request_id, r.member_id, p.external_id as member_external_id, p.display_name as member_name,
                  p.available_points as member_available,
                  r.points, r.reason, coalesce(a.email, r.requested_by_label) as "requested_by!", r.status, r.created_at,
                  d.email as "decided_by?", r.decided_at
           from adjustment_requests r
           join member_profiles p on p.tenant_id = r.tenant_id and p.member_id = r.member_id
           left join admins a on a.admin_id = r.requested_by
           left join admins d on d.admin_id = r.decided_by
           where r.tenant_id = $1 and r.status <> 'pending'
           order by r.decided_at desc
           limit $2"#,
        access.tenant_id,
        DECIDED_LIST_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(requests)
}

/// A member's pending requests, oldest first (every role may look: the member page
/// shows them).
pub async fn pending_for_member(
    db: &PgPool,
    access: &Access,
    member_id: Uuid,
) -> Result<Vec<Request>> {
    access.require(Role::Viewer)?;
    crate::members::ensure_exists(db, access, member_id).await?;
    let requests = sqlx::query_as!(
        Request,
        r#"select r.request_id, r.member_id, p.external_id as member_external_id, p.display_name as member_name,
                  p.available_points as member_available,
                  r.points, r.reason, coalesce(a.email, r.requested_by_label) as "requested_by!", r.status, r.created_at,
                  null::text as "decided_by?", r.decided_at
           from adjustment_requests r
           join member_profiles p on p.tenant_id = r.tenant_id and p.member_id = r.member_id
           left join admins a on a.admin_id = r.requested_by
           where r.tenant_id = $1 and r.member_id = $2 and r.status = 'pending'
           order by r.created_at
           limit $3"#,
        access.tenant_id,
        member_id,
        PENDING_LIST_MAX
    )
    .fetch_all(db)
    .await?;
    Ok(requests)
}

/// How many requests wait for a decision (support and tenant admins; the menu shows it).
pub async fn pending_count(db: &PgPool, access: &Access) -> Result<i64> {
    access.require(Role::Support)?;
    Ok(sqlx::query_scalar!(
        r#"select count(*) as "count!" from adjustment_requests
           where tenant_id = $1 and status = 'pending'"#,
        access.tenant_id
    )
    .fetch_one(db)
    .await?)
}

/// Withdraws the caller's own pending request; nothing is posted. Only the requester
/// may withdraw (others reject). Withdrawing again answers the withdrawn request, so a
/// retried click is harmless.
pub async fn withdraw(db: &PgPool, access: &Access, request_id: Uuid) -> Result<Request> {
    access.require(Role::Support)?;
    let me = access.principal.admin_id.ok_or(Error::Forbidden)?;
    let mut tx = db.begin().await?;
    // The request row is the coordination row (lock order step 1).
    let row = sqlx::query!(
        "select requested_by, status from adjustment_requests
         where tenant_id = $1 and request_id = $2 for update",
        access.tenant_id,
        request_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::not_found("request"))?;
    if row.requested_by != Some(me) {
        return Err(Error::Forbidden);
    }
    match row.status.as_str() {
        "pending" => {}
        "withdrawn" => {
            tx.rollback().await?;
            return find(db, access.tenant_id, request_id).await;
        }
        _ => return Err(Error::Conflict(Conflict::AlreadyDecided)),
    }
    sqlx::query!(
        "update adjustment_requests set status = 'withdrawn', decided_at = now()
         where tenant_id = $1 and request_id = $2",
        access.tenant_id,
        request_id
    )
    .execute(&mut *tx)
    .await?;
    let event = audit::Event {
        action: "points.adjust_withdrawn",
        target_type: "adjustment_request",
        target_id: request_id.to_string(),
        before: Some(json!({ "status": "pending" })),
        after: Some(json!({ "status": "withdrawn" })),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    find(db, access.tenant_id, request_id).await
}

/// Approves a pending request: posts the adjustment (as the requester's entry, approved
/// by this admin) and closes the request, in one transaction.
pub async fn approve(db: &PgPool, access: &Access, request_id: Uuid) -> Result<Posted> {
    access.require(Role::TenantAdmin)?;
    let approver = access.principal.admin_id.ok_or(Error::Forbidden)?;
    let mut tx = db.begin().await?;
    let request = lock_pending(&mut tx, access.tenant_id, request_id, approver).await?;
    let posting = Posting {
        kind: EntryKind::Adjust,
        member_id: request.member_id,
        available_delta: request.points,
        total_delta: request.points,
        category: "manual".into(),
        subcategory: Some("approved".into()),
        reason: Some(request.reason.clone()),
        source_type: Some("adjustment_request".into()),
        source_ref: Some(request_id.to_string()),
        origin: match (request.requested_by, request.requested_by_key) {
            (Some(admin_id), _) => Origin::Admin(admin_id),
            (None, Some(key_id)) => Origin::Client(key_id.to_string()),
            (None, None) => Origin::System,
        },
        manual: true,
        // No key: the request row (locked, then decided) makes approval happen once,
        // and a key here would be one a client could take first.
        idempotency_key: None,
        reverses_seq: None,
        external_id: None,
    };
    let hash = format!("approval:{request_id}");
    let posted = ledger::apply(&mut tx, access.tenant_id, &posting, &hash).await?;
    let Some(posted) = posted else {
        tx.rollback().await?;
        let available = sqlx::query_scalar!(
            "select available_points from member_profiles where tenant_id = $1 and member_id = $2",
            access.tenant_id,
            request.member_id
        )
        .fetch_one(db)
        .await?;
        return Err(Error::InsufficientPoints {
            available,
            requested: request.points.saturating_neg(),
        });
    };
    decide(
        &mut tx,
        access,
        request_id,
        approver,
        "approved",
        Some(posted.entry.seq),
    )
    .await?;
    tx.commit().await?;
    if posted.level_change.is_some() {
        crate::tags::permissions::settle(db, access.tenant_id).await?;
    }
    Ok(posted)
}

/// Rejects a pending request; nothing is posted.
pub async fn reject(db: &PgPool, access: &Access, request_id: Uuid) -> Result<()> {
    access.require(Role::TenantAdmin)?;
    let approver = access.principal.admin_id.ok_or(Error::Forbidden)?;
    let mut tx = db.begin().await?;
    lock_pending(&mut tx, access.tenant_id, request_id, approver).await?;
    decide(&mut tx, access, request_id, approver, "rejected", None).await?;
    tx.commit().await?;
    Ok(())
}

struct Pending {
    member_id: Uuid,
    points: i64,
    reason: String,
    requested_by: Option<Uuid>,
    requested_by_key: Option<Uuid>,
}

async fn lock_pending(
    conn: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    request_id: Uuid,
    approver: Uuid,
) -> Result<Pending> {
    let row = sqlx::query!(
        "select member_id, points, reason, requested_by, requested_by_key, status from adjustment_requests
         where tenant_id = $1 and request_id = $2 for update",
        tenant_id,
        request_id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(Error::not_found("request"))?;
    if row.status != "pending" {
        return Err(Error::Conflict(Conflict::AlreadyDecided));
    }
    if row.requested_by == Some(approver) {
        return Err(Error::Conflict(Conflict::OwnRequest));
    }
    Ok(Pending {
        member_id: row.member_id,
        points: row.points,
        reason: row.reason,
        requested_by: row.requested_by,
        requested_by_key: row.requested_by_key,
    })
}

async fn decide(
    conn: &mut sqlx::PgConnection,
    access: &Access,
    request_id: Uuid,
    approver: Uuid,
    status: &'static str,
    ledger_seq: Option<i64>,
) -> Result<()> {
    sqlx::query!(
        "update adjustment_requests set status = $3, decided_by = $4, decided_at = now(), ledger_seq = $5
         where tenant_id = $1 and request_id = $2",
        access.tenant_id,
        request_id,
        status,
        approver,
        ledger_seq
    )
    .execute(&mut *conn)
    .await?;
    let event = audit::Event {
        action: if status == "approved" {
            "points.adjust_approved"
        } else {
            "points.adjust_rejected"
        },
        target_type: "adjustment_request",
        target_id: request_id.to_string(),
        before: Some(json!({ "status": "pending" })),
        after: Some(json!({ "status": status, "ledger_seq": ledger_seq })),
    };
    audit::record(conn, access, event).await
}
