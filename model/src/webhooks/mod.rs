//! The tenant's webhook settings, outbox events and the delivery log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which addresses tenants' webhooks may reach: an operator's setting
/// (`TIERDESK_WEBHOOKS_ALLOW_PRIVATE`), passed to the save and to the sender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reach {
    /// Public internet addresses only: a tenant admin cannot make Tierdesk probe the
    /// server's own machine or its networks.
    #[default]
    PublicOnly,
    /// Any address, loopback and private networks included (local consoles, tests, and
    /// deployments whose tenants are trusted).
    PrivateAllowed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: Option<String>,
    /// Shown to tenant admins so their receiver can verify signatures.
    pub secret: Option<String>,
    pub reminder_days: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub event_id: i64,
    pub topic: String,
    pub payload: serde_json::Value,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub delivery_id: i64,
    pub event_id: i64,
    pub topic: String,
    pub attempt: i32,
    pub url: String,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub created_at: DateTime<Utc>,
}
