//! The points ledger's entries and the rules for a change's fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Checked, Invalid, Problem};
use crate::input;

pub const CATEGORY_LENGTH_MAX: usize = 64;

pub const REASON_LENGTH_MAX: usize = 500;

pub const IDEMPOTENCY_KEY_LENGTH_MAX: usize = 128;

pub const PAGE_SIZE_MAX: i64 = 200;

/// Larger single changes are refused as typos rather than stored.
pub const POINTS_PER_ENTRY_MAX: i64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Earn,
    Spend,
    Adjust,
    Expire,
    Migration,
    Reversal,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Spend => "spend",
            EntryKind::Adjust => "adjust",
            EntryKind::Expire => "expire",
            EntryKind::Migration => "migration",
            EntryKind::Reversal => "reversal",
        }
    }

    pub fn parse(value: &str) -> Checked<Self> {
        Ok(match value {
            "earn" => EntryKind::Earn,
            "spend" => EntryKind::Spend,
            "adjust" => EntryKind::Adjust,
            "expire" => EntryKind::Expire,
            "migration" => EntryKind::Migration,
            "reversal" => EntryKind::Reversal,
            _ => return Err(Invalid::new("kind", Problem::Format)),
        })
    }
}

/// Who caused an entry, as recorded on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    Admin(Uuid),
    Client(String),
    System,
}

/// A request to earn, spend or adjust points.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub member_id: Uuid,
    /// Positive for earn and spend; signed for adjustments.
    pub points: i64,
    pub category: String,
    pub subcategory: Option<String>,
    pub reason: Option<String>,
    pub source_type: Option<String>,
    pub source_ref: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub member_id: Uuid,
    pub seq: i64,
    pub kind: EntryKind,
    pub category: String,
    pub subcategory: Option<String>,
    pub points: i64,
    pub available_before: i64,
    pub available_after: i64,
    pub total_before: i64,
    pub total_after: i64,
    pub reason: Option<String>,
    pub source_type: Option<String>,
    pub source_ref: Option<String>,
    pub operator_admin_id: Option<Uuid>,
    pub client_id: Option<String>,
    pub manual: bool,
    pub idempotency_key: Option<String>,
    pub reverses_seq: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// Filled by listings only: the operator's email and whether a reversal exists.
    #[serde(rename = "operator")]
    pub operator_email: Option<String>,
    pub reversed: bool,
}

/// The result of a change: the entry, whether it is a replay of an earlier identical
/// request, and the level move it caused (from, to) if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub entry: Entry,
    pub replayed: bool,
    pub level_change: Option<(Option<Uuid>, Option<Uuid>)>,
}

/// What a manual adjustment led to: an entry, or a request awaiting a second admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Adjusted {
    Posted(Posted),
    PendingApproval(super::approvals::Request),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryPage {
    pub entries: Vec<Entry>,
    /// Pass as `before_seq` for the next (older) page.
    pub next_before: Option<i64>,
}

/// A reason that must be given: trimmed, plain text, at most 500 characters.
pub fn required_reason(reason: Option<&str>) -> Checked<String> {
    let reason = reason.map(str::trim).unwrap_or_default();
    input::plain_text("reason", reason)?;
    if reason.is_empty() {
        return Err(Invalid::new("reason", Problem::Required));
    }
    if reason.chars().count() > REASON_LENGTH_MAX {
        return Err(Invalid::new(
            "reason",
            Problem::TooLong {
                max: REASON_LENGTH_MAX,
            },
        ));
    }
    Ok(reason.to_owned())
}

/// A change's size: positive and at most [`POINTS_PER_ENTRY_MAX`].
pub fn checked_magnitude(points: i64) -> Checked<i64> {
    if points <= 0 {
        return Err(Invalid::new("points", Problem::Format));
    }
    if points > POINTS_PER_ENTRY_MAX {
        return Err(Invalid::new(
            "points",
            Problem::TooLarge {
                max: POINTS_PER_ENTRY_MAX,
            },
        ));
    }
    Ok(points)
}

/// An idempotency key: trimmed (empty is none), plain text, at most 128 bytes.
pub fn checked_key(key: Option<String>) -> Checked<Option<String>> {
    let key = key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty());
    if let Some(key) = &key {
        input::plain_text("idempotency_key", key)?;
    }
    if key
        .as_ref()
        .is_some_and(|k| k.len() > IDEMPOTENCY_KEY_LENGTH_MAX)
    {
        return Err(Invalid::new(
            "idempotency_key",
            Problem::TooLong {
                max: IDEMPOTENCY_KEY_LENGTH_MAX,
            },
        ));
    }
    Ok(key)
}

/// The answer to a manual adjustment as a client sees it: posted at once (the entry's
/// number, the balance after it, whether the level moved), or waiting for a second
/// admin (the request and its status; a retry of a decided one says how it was decided).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Adjustment {
    Posted {
        seq: i64,
        available_after: i64,
        level_changed: bool,
    },
    PendingApproval {
        request_id: Uuid,
        /// pending, approved or rejected.
        status: String,
    },
}

impl From<&Adjusted> for Adjustment {
    fn from(adjusted: &Adjusted) -> Self {
        match adjusted {
            Adjusted::Posted(posted) => Adjustment::Posted {
                seq: posted.entry.seq,
                available_after: posted.entry.available_after,
                level_changed: posted.level_change.is_some(),
            },
            Adjusted::PendingApproval(request) => Adjustment::PendingApproval {
                request_id: request.request_id,
                status: request.status.clone(),
            },
        }
    }
}
