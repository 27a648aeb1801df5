//! Four-eyes approval requests.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const PENDING_LIST_MAX: i64 = 200;
/// Decided requests listed at most (the newest).
pub const DECIDED_LIST_MAX: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub request_id: Uuid,
    pub member_id: Uuid,
    pub member_external_id: String,
    pub member_name: String,
    /// The member's available points when the request was read.
    pub member_available: i64,
    pub points: i64,
    pub reason: String,
    /// The requester's email.
    pub requested_by: String,
    /// pending, approved, rejected or withdrawn (by the requester).
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// The deciding admin's email (none for a withdrawal).
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl Request {
    pub fn is_pending(&self) -> bool {
        self.status == "pending"
    }

    /// Whether approving now could post it: a deduction needs that many available points.
    pub fn applicable(&self) -> bool {
        self.member_available.saturating_add(self.points) >= 0
    }
}
