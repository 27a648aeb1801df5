//! Server functions of members: search, profiles, a member's ledger and level history.

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{access, db};
use crate::error::AppError;
use model::members::{Member, Page as MemberPage};
use model::points::ledger::EntryPage;
use model::points::levels::LevelChange;

pub const MEMBER_PAGE_SIZE: i64 = 25;
pub const LEDGER_PAGE_SIZE: i64 = 20;

/// Members of the active tenant, searched and keyset-paged (every role).
#[server(endpoint = "list_members")]
pub async fn list_members(
    q: Option<String>,
    level: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    after: Option<String>,
    before: Option<String>,
) -> Result<MemberPage, AppError> {
    let access = access().await?;
    let search = domain::members::Search {
        text: q,
        level_code: level,
        sort: domain::members::Sort::from_query(sort.as_deref(), dir.as_deref()),
        after,
        before,
        page_size: MEMBER_PAGE_SIZE,
    };
    Ok(domain::members::search(&db()?, &access, search).await?)
}

#[server(endpoint = "get_member")]
pub async fn get_member(member_id: Uuid) -> Result<Member, AppError> {
    let access = access().await?;
    Ok(domain::members::get(&db()?, &access, member_id).await?)
}

#[server(endpoint = "member_level_history")]
pub async fn member_level_history(member_id: Uuid) -> Result<Vec<LevelChange>, AppError> {
    let access = access().await?;
    Ok(domain::points::levels::history(&db()?, &access, member_id).await?)
}

/// A member's ledger, newest first, keyset-paged by entry number.
#[server(endpoint = "member_ledger")]
pub async fn member_ledger(member_id: Uuid, before: Option<i64>) -> Result<EntryPage, AppError> {
    let access = access().await?;
    let page =
        domain::points::ledger::entries(&db()?, &access, member_id, before, LEDGER_PAGE_SIZE)
            .await?;
    Ok(page)
}

/// Creates a member in the active tenant (support and tenant admins).
#[server(endpoint = "create_member")]
pub async fn create_member(
    external_id: String,
    display_name: String,
    email: Option<String>,
) -> Result<Member, AppError> {
    let access = access().await?;
    let input = domain::members::MemberInput {
        external_id,
        display_name,
        email,
        ..Default::default()
    };
    Ok(domain::members::create(&db()?, &access, input).await?)
}

/// Edits a member's identity fields if unchanged since `row_version` was read.
#[server(endpoint = "update_member")]
pub async fn update_member(
    member_id: Uuid,
    row_version: i64,
    external_id: String,
    display_name: String,
    email: Option<String>,
) -> Result<Member, AppError> {
    let access = access().await?;
    let edit = domain::members::MemberEdit {
        external_id,
        display_name,
        email,
    };
    Ok(domain::members::update(&db()?, &access, member_id, row_version, edit).await?)
}
