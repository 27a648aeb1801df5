use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::context::{access, db};
use crate::dto::{RelevelProgress, Tier, TierPreview};
use crate::error::AppError;

#[server(endpoint = "list_tiers")]
pub async fn list_tiers() -> Result<Vec<Tier>, AppError> {
    let access = access().await?;
    Ok(domain::points::levels::list(&db()?, &access)
        .await?
        .into_iter()
        .map(Tier::from)
        .collect())
}

/// What saving this complete set of tiers would do (tenant admins). JSON input: the
/// tier editor is an interactive table.
#[server(endpoint = "preview_tiers", input = Json)]
pub async fn preview_tiers(tiers: Vec<Tier>) -> Result<TierPreview, AppError> {
    let access = access().await?;
    let inputs: Vec<domain::points::levels::TierInput> =
        tiers.into_iter().map(Into::into).collect();
    Ok(domain::points::levels::preview(&db()?, &access, &inputs)
        .await?
        .into())
}

/// Saves the complete set of tiers (tenant admins); members' stored levels follow in
/// the background (`relevel_progress`).
#[server(endpoint = "save_tiers", input = Json)]
pub async fn save_tiers(tiers: Vec<Tier>) -> Result<TierPreview, AppError> {
    let access = access().await?;
    let inputs: Vec<domain::points::levels::TierInput> =
        tiers.into_iter().map(Into::into).collect();
    Ok(domain::points::levels::save(&db()?, &access, &inputs)
        .await?
        .1
        .into())
}

/// How far storing members' levels after the last tier save has got.
#[server(endpoint = "relevel_progress")]
pub async fn get_relevel_progress() -> Result<RelevelProgress, AppError> {
    let access = access().await?;
    Ok(domain::points::levels::relevel_progress(&db()?, &access)
        .await?
        .into())
}
