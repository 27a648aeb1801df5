//! Grants of tags to members, their events, and grants nearing expiry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::permissions::GrantState;

pub const EXPIRING_DAYS_MAX: i64 = 366;

pub const LIST_MAX: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Manual,
    Migration,
    Purchase,
    Api,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Manual => "manual",
            Method::Migration => "migration",
            Method::Purchase => "purchase",
            Method::Api => "api",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub grant_id: Uuid,
    pub member_id: Uuid,
    pub tag_id: Uuid,
    pub tag_code: String,
    pub tag_name_en: String,
    pub tag_name_zh: String,
    pub method: String,
    pub reason: String,
    #[serde(rename = "granted_by")]
    pub granted_by_email: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub term_days: Option<i32>,
    pub grace_days: i32,
    pub auto_renew: bool,
    /// The stored status (moved by the job).
    pub status: String,
    /// The state now, from the dates (what permissions use).
    pub state: GrantState,
    /// End of the grace period, when there is an expiry.
    pub grace_until: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Grant {
    /// Renewing extends the term, so it needs one (and an expiry to extend).
    pub fn renewable(&self) -> bool {
        matches!(self.state, GrantState::Active | GrantState::Grace)
            && self.term_days.is_some()
            && self.expires_at.is_some()
    }
}

/// A request to grant a tag.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GrantInput {
    pub member_id: Uuid,
    pub tag_id: Uuid,
    pub reason: String,
    /// Defaults to now.
    pub starts_at: Option<DateTime<Utc>>,
    /// Defaults to `starts_at + term`; with neither, the grant does not expire.
    pub expires_at: Option<DateTime<Utc>>,
    /// Defaults to the tag's term.
    pub term_days: Option<i32>,
    /// Defaults to the tag's rule.
    pub auto_renew: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantEvent {
    pub event_id: i64,
    pub grant_id: Uuid,
    pub tag_code: String,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub cause: String,
    #[serde(rename = "actor")]
    pub actor_email: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiring {
    pub grant_id: Uuid,
    pub member_id: Uuid,
    pub external_id: String,
    pub display_name: String,
    pub tag_code: String,
    pub tag_name_en: String,
    pub tag_name_zh: String,
    pub expires_at: DateTime<Utc>,
    pub auto_renew: bool,
    pub state: GrantState,
    pub reminded: bool,
}

/// What one lifecycle run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRun {
    pub renewed: u64,
    pub graced: u64,
    pub expired: u64,
    pub reminded: u64,
}

impl LifecycleRun {
    pub fn total(&self) -> u64 {
        self.renewed + self.graced + self.expired + self.reminded
    }
}
