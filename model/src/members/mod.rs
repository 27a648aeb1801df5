//! Members: a global identity with an independent profile per tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Checked, Invalid, Problem};
use crate::input;

pub const PAGE_SIZE_MAX: i64 = 100;

pub const EXTERNAL_ID_LENGTH_MAX: usize = 128;

pub const SEARCH_LENGTH_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub member_id: Uuid,
    pub external_id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub legacy_user_type: Option<i32>,
    pub total_points: i64,
    pub available_points: i64,
    pub level_code: Option<String>,
    pub level_name_zh: Option<String>,
    pub level_name_en: Option<String>,
    pub level_updated_at: Option<DateTime<Utc>>,
    pub row_version: i64,
}

/// Everything about a member a tenant backend asks for at once: the profile with
/// points and level, effective permissions and quotas with their sources, tag grants,
/// and licenses within the quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub member: Member,
    pub effective: crate::tags::permissions::Effective,
    pub grants: Vec<crate::tags::grants::Grant>,
    /// The licenses the member holds (their devices and history are on the member's
    /// licenses page).
    pub licenses: Vec<crate::licenses::License>,
    /// Seats held against the `max_licenses` quota.
    pub licenses_held: i64,
}

/// The editable fields of a profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInput {
    pub external_id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub registered_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub legacy_user_type: Option<i32>,
}

/// The fields support staff edit on a profile; dates and the legacy user type come from
/// the tenant's systems (import, API) and are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEdit {
    pub external_id: String,
    pub display_name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Search {
    /// Part of the external id, the name or the email (case-insensitive): a prefix for
    /// one or two characters, any part from three on.
    pub text: Option<String>,
    /// Only members at this level (tier code).
    pub level_code: Option<String>,
    /// The order of the list; by external id when `None`.
    pub sort: Option<Sort>,
    /// Keyset: members after this cursor (the next page; see [`Page::next_after`]).
    pub after: Option<String>,
    /// Keyset: members before this cursor (the previous page).
    pub before: Option<String>,
    pub page_size: i64,
}

/// The column a member list is ordered by, and the direction. Every order ends with the
/// external id, so it is total and pages by keyset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    pub column: SortColumn,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortColumn {
    ExternalId,
    DisplayName,
    RegisteredAt,
    TotalPoints,
}

impl SortColumn {
    pub const ALL: [SortColumn; 4] = [
        SortColumn::ExternalId,
        SortColumn::DisplayName,
        SortColumn::RegisteredAt,
        SortColumn::TotalPoints,
    ];

    /// The name in URLs (`?sort=total_points`).
    pub fn code(self) -> &'static str {
        match self {
            SortColumn::ExternalId => "external_id",
            SortColumn::DisplayName => "display_name",
            SortColumn::RegisteredAt => "registered_at",
            SortColumn::TotalPoints => "total_points",
        }
    }

    pub fn parse(code: &str) -> Option<SortColumn> {
        SortColumn::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The direction a click on the column's heading starts with: points and dates
    /// from the highest and newest, text from A.
    pub fn starts_descending(self) -> bool {
        matches!(self, SortColumn::RegisteredAt | SortColumn::TotalPoints)
    }
}

impl Sort {
    /// `?sort=<column>&dir=<asc|desc>` as the list's links carry it; an unknown column
    /// is the default order, an unknown direction the column's own.
    pub fn from_query(sort: Option<&str>, dir: Option<&str>) -> Option<Sort> {
        let column = SortColumn::parse(sort?)?;
        let descending = match dir {
            Some("asc") => false,
            Some("desc") => true,
            _ => column.starts_descending(),
        };
        Some(Sort { column, descending })
    }

    pub fn dir_code(self) -> &'static str {
        if self.descending { "desc" } else { "asc" }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page {
    pub members: Vec<Member>,
    /// Pass as `after` for the next page (with the same search and sort): the last
    /// member's external id, or in another order the sort value and the id as a JSON
    /// pair.
    pub next_after: Option<String>,
    /// Pass as `before` for the previous page.
    pub prev_before: Option<String>,
    /// Members matching the search, counted up to [`COUNT_MAX`] (then "more than").
    pub total: i64,
}

/// Matching members are counted exactly up to this many; a larger count is shown as
/// "more than" (an exact count of a million rows would cost more than the page).
pub const COUNT_MAX: i64 = 10_000;

/// A profile's identity fields, cleaned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clean {
    pub external_id: String,
    pub display_name: String,
    pub email: Option<String>,
}

/// Trims and checks a profile's identity fields: an external id (required, at most
/// 128 characters), a display name, an optional email.
pub fn clean(input: &MemberInput) -> Checked<Clean> {
    input::plain_text("external_id", &input.external_id)?;
    let external_id = input.external_id.trim().to_owned();
    if external_id.is_empty() {
        return Err(Invalid::new("external_id", Problem::Required));
    }
    if external_id.chars().count() > EXTERNAL_ID_LENGTH_MAX {
        return Err(Invalid::new(
            "external_id",
            Problem::TooLong {
                max: EXTERNAL_ID_LENGTH_MAX,
            },
        ));
    }
    let email = match input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(email) => Some(input::email(email)?),
        None => None,
    };
    Ok(Clean {
        external_id,
        display_name: input::name("display_name", &input.display_name)?,
        email,
    })
}
