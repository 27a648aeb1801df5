use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{access, db};
use crate::dto::{Adjustment, AdjustmentRequest, Settings};
use crate::error::AppError;

/// A manual adjustment with a mandatory reason (support and tenant admins). The form's
/// idempotency key makes a double submission post once.
#[server(endpoint = "adjust_points")]
pub async fn adjust_points(
    member_id: Uuid,
    points: i64,
    reason: String,
    idempotency_key: Option<String>,
) -> Result<Adjustment, AppError> {
    use domain::points::ledger::{Adjusted, Change};
    let access = access().await?;
    let change = Change {
        member_id,
        points,
        category: "manual".into(),
        reason: Some(reason),
        idempotency_key,
        ..Default::default()
    };
    Ok(
        match domain::points::ledger::adjust(&db()?, &access, change).await? {
            Adjusted::Posted(posted) => Adjustment::Posted {
                seq: posted.entry.seq,
                available_after: posted.entry.available_after,
                level_changed: posted.level_change.is_some(),
            },
            Adjusted::PendingApproval(request) => Adjustment::PendingApproval {
                request_id: request.request_id,
                status: request.status,
            },
        },
    )
}

/// Reverses one ledger entry with a new, opposite entry (support and tenant admins).
#[server(endpoint = "reverse_entry")]
pub async fn reverse_entry(
    member_id: Uuid,
    seq: i64,
    reason: String,
    idempotency_key: Option<String>,
) -> Result<i64, AppError> {
    let access = access().await?;
    let posted =
        domain::points::ledger::reverse(&db()?, &access, member_id, seq, &reason, idempotency_key)
            .await?;
    Ok(posted.entry.seq)
}

#[server(endpoint = "pending_adjustments")]
pub async fn pending_adjustments() -> Result<Vec<AdjustmentRequest>, AppError> {
    let access = access().await?;
    let requests = domain::points::approvals::pending(&db()?, &access).await?;
    Ok(requests.into_iter().map(AdjustmentRequest::from).collect())
}

#[server(endpoint = "approve_adjustment")]
pub async fn approve_adjustment(request_id: Uuid) -> Result<i64, AppError> {
    let access = access().await?;
    Ok(
        domain::points::approvals::approve(&db()?, &access, request_id)
            .await?
            .entry
            .seq,
    )
}

#[server(endpoint = "reject_adjustment")]
pub async fn reject_adjustment(request_id: Uuid) -> Result<(), AppError> {
    let access = access().await?;
    Ok(domain::points::approvals::reject(&db()?, &access, request_id).await?)
}

#[server(endpoint = "get_settings")]
pub async fn get_settings() -> Result<Settings, AppError> {
    let access = access().await?;
    let settings = domain::points::settings::current(&db()?, &access).await?;
    Ok(Settings {
        adjustment_approval_threshold: settings.adjustment_approval_threshold,
    })
}

/// Sets the four-eyes threshold; an empty value turns approval off (tenant admins).
#[server(endpoint = "set_approval_threshold")]
pub async fn set_approval_threshold(threshold: String) -> Result<Settings, AppError> {
    let access = access().await?;
    let threshold = match threshold.trim() {
        "" => None,
        text => Some(text.parse::<i64>().map_err(|_| {
            AppError::from(domain::Error::invalid(
                "adjustment_approval_threshold",
                domain::Problem::Format,
            ))
        })?),
    };
    let settings =
        domain::points::settings::set_approval_threshold(&db()?, &access, threshold).await?;
    Ok(Settings {
        adjustment_approval_threshold: settings.adjustment_approval_threshold,
    })
}
