//! Server functions of points: adjustments and reversals, four-eyes approvals, the
//! approval threshold, level tiers (preview, save, re-level progress).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{access, db};
use crate::error::AppError;
use model::points::approvals::Request;
use model::points::ledger::Adjustment;
use model::points::levels::{Preview, RelevelProgress, Tier, TierInput};
use model::points::settings::Settings;

/// A manual adjustment with a mandatory reason (support and tenant admins). The form's
/// idempotency key makes a double submission post once.
#[server(endpoint = "adjust_points")]
pub async fn adjust_points(
    member_id: Uuid,
    points: i64,
    reason: String,
    idempotency_key: Option<String>,
) -> Result<Adjustment, AppError> {
    use domain::points::ledger::Change;
    let access = access().await?;
    let change = Change {
        member_id,
        points,
        category: "manual".into(),
        reason: Some(reason),
        idempotency_key,
        ..Default::default()
    };
    let adjusted = domain::points::ledger::adjust(&db()?, &access, change).await?;
    if matches!(
        adjusted,
        domain::points::ledger::Adjusted::PendingApproval(_)
    ) {
        crate::error::from_domain::outcome("adjust_points_pending");
    }
    Ok(Adjustment::from(&adjusted))
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
pub async fn pending_adjustments() -> Result<Vec<Request>, AppError> {
    let access = access().await?;
    Ok(domain::points::approvals::pending(&db()?, &access).await?)
}

/// Recently decided requests with who decided and when (support and tenant admins).
#[server(endpoint = "decided_adjustments")]
pub async fn decided_adjustments() -> Result<Vec<Request>, AppError> {
    let access = access().await?;
    Ok(domain::points::approvals::decided(&db()?, &access).await?)
}

/// A member's pending requests (the member page).
#[server(endpoint = "member_pending_adjustments")]
pub async fn member_pending_adjustments(member_id: Uuid) -> Result<Vec<Request>, AppError> {
    let access = access().await?;
    Ok(domain::points::approvals::pending_for_member(&db()?, &access, member_id).await?)
}

/// How many requests wait (the menu's badge; support and tenant admins).
#[server(endpoint = "pending_adjustment_count")]
pub async fn pending_adjustment_count() -> Result<i64, AppError> {
    let access = access().await?;
    Ok(domain::points::approvals::pending_count(&db()?, &access).await?)
}

/// Withdraws the caller's own pending request.
#[server(endpoint = "withdraw_adjustment")]
pub async fn withdraw_adjustment(request_id: Uuid) -> Result<Request, AppError> {
    let access = access().await?;
    Ok(domain::points::approvals::withdraw(&db()?, &access, request_id).await?)
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
    Ok(domain::points::settings::current(&db()?, &access).await?)
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
    Ok(domain::points::settings::set_approval_threshold(&db()?, &access, threshold).await?)
}

#[server(endpoint = "list_tiers")]
pub async fn list_tiers() -> Result<Vec<Tier>, AppError> {
    let access = access().await?;
    Ok(domain::points::levels::list(&db()?, &access).await?)
}

/// What saving this complete set of tiers would do (tenant admins). JSON input: the
/// tier editor is an interactive table.
#[server(endpoint = "preview_tiers", input = Json)]
pub async fn preview_tiers(tiers: Vec<TierInput>) -> Result<Preview, AppError> {
    let access = access().await?;
    Ok(domain::points::levels::preview(&db()?, &access, &tiers).await?)
}

/// Saves the complete set of tiers (tenant admins); members' stored levels follow in
/// the background (`relevel_progress`).
#[server(endpoint = "save_tiers", input = Json)]
pub async fn save_tiers(tiers: Vec<TierInput>) -> Result<Preview, AppError> {
    let access = access().await?;
    Ok(domain::points::levels::save(&db()?, &access, &tiers)
        .await?
        .1)
}

/// Saves the tiers a plain (no-JavaScript) preview showed: the rows as JSON in one
/// form field, exactly as previewed. Back on the Levels page afterwards, saying so.
#[server(endpoint = "apply_tiers")]
pub async fn apply_tiers(tiers: String) -> Result<Preview, AppError> {
    let rows: Vec<TierInput> = serde_json::from_str(&tiers)
        .map_err(|_| domain::Error::invalid("tiers", domain::Problem::Format))?;
    let access = access().await?;
    let applied = domain::points::levels::save(&db()?, &access, &rows)
        .await?
        .1;
    if crate::context::plain_form_referer().is_some() {
        leptos_axum::redirect("/levels?done=save_tiers_form");
    }
    Ok(applied)
}

/// How far storing members' levels after the last tier save has got.
#[server(endpoint = "relevel_progress")]
pub async fn get_relevel_progress() -> Result<RelevelProgress, AppError> {
    let access = access().await?;
    Ok(domain::points::levels::relevel_progress(&db()?, &access).await?)
}
