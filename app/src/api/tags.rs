use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{access, db};
use crate::dto::{Tag, TagForm};
use crate::error::AppError;

/// The tenant's tag catalogue with current holders (every role).
#[server(endpoint = "list_tags")]
pub async fn list_tags() -> Result<Vec<Tag>, AppError> {
    let access = access().await?;
    Ok(domain::tags::list(&db()?, &access)
        .await?
        .into_iter()
        .map(Tag::from)
        .collect())
}

/// Adds a tag to the catalogue (tenant admins). Form fields are `tag[code]`, ….
#[server(endpoint = "create_tag")]
pub async fn create_tag(tag: TagForm) -> Result<Uuid, AppError> {
    let access = access().await?;
    let input = domain::tags::TagInput::try_from(tag)?;
    Ok(domain::tags::create(&db()?, &access, input).await?)
}

/// Changes a tag if unchanged since `row_version` was read (tenant admins); the new
/// privileges apply to every holder at once.
#[server(endpoint = "update_tag")]
pub async fn update_tag(tag_id: Uuid, row_version: i64, tag: TagForm) -> Result<(), AppError> {
    let access = access().await?;
    let input = domain::tags::TagInput::try_from(tag)?;
    Ok(domain::tags::update(&db()?, &access, tag_id, row_version, input).await?)
}
