//! The audit log as it is read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub audit_id: i64,
    pub occurred_at: DateTime<Utc>,
    /// Who acted (an email, or the command line), as recorded.
    #[serde(rename = "actor")]
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Pass as `before` to read the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
}
