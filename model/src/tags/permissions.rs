//! Effective permissions: `level privileges ∪ privileges of every tag grant in force`,
//! each with the level or grant that confers it; and the quota rule
//! `max_licenses = max(level's, every tag's floor) + sum of the tags' boosts`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const MAX_LICENSES: &str = "max_licenses";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Level,
    Tag,
}

/// The state of a grant at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// Granted with a later start.
    Scheduled,
    Active,
    /// Past expiry, still conferring privileges until the grace period ends.
    Grace,
    Expired,
    Revoked,
}

impl GrantState {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::Scheduled => "scheduled",
            GrantState::Active => "active",
            GrantState::Grace => "grace",
            GrantState::Expired => "expired",
            GrantState::Revoked => "revoked",
        }
    }

    /// Whether a grant in this state still confers (or is about to confer) privileges,
    /// i.e. whether revoking it means anything.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            GrantState::Scheduled | GrantState::Active | GrantState::Grace
        )
    }
}

/// Which level or tag grant confers a privilege.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    /// The tier or the tag.
    pub id: Uuid,
    pub code: String,
    pub name_en: String,
    pub name_zh: String,
    pub grant_id: Option<Uuid>,
    pub state: Option<GrantState>,
    /// For a tag: when it stops conferring privileges (end of grace), if ever.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub key: String,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaPart {
    pub source: Source,
    pub floor: i64,
    pub boost: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub key: String,
    pub value: i64,
    pub parts: Vec<QuotaPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effective {
    pub member_id: Uuid,
    pub level: Option<Source>,
    /// Sorted by key.
    pub permissions: Vec<Permission>,
    pub quotas: Vec<Quota>,
    /// The answer may change at this instant without any write (a grant starts, leaves
    /// its term or its grace period).
    pub valid_until: Option<DateTime<Utc>>,
}

impl Quota {
    /// The quota rule: the largest floor plus the sum of every boost.
    pub fn combine(key: &str, parts: Vec<QuotaPart>) -> Quota {
        let floor = parts.iter().map(|p| p.floor).max().unwrap_or(0);
        let boosts: i64 = parts.iter().map(|p| p.boost).sum();
        Quota {
            key: key.to_owned(),
            value: floor + boosts,
            parts,
        }
    }
}

impl Effective {
    pub fn has(&self, key: &str) -> bool {
        self.permissions.iter().any(|p| p.key == key)
    }

    pub fn quota(&self, key: &str) -> i64 {
        self.quotas
            .iter()
            .find(|q| q.key == key)
            .map_or(0, |q| q.value)
    }
}

/// When a grant with these terms confers privileges, as of `now`, and when that changes.
pub fn grant_state(
    status: &str,
    starts_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    grace_days: i32,
    auto_renew: bool,
    now: DateTime<Utc>,
) -> (GrantState, Option<DateTime<Utc>>) {
    if status == "revoked" {
        return (GrantState::Revoked, None);
    }
    if status == "expired" {
        return (GrantState::Expired, None);
    }
    if now < starts_at {
        return (GrantState::Scheduled, Some(starts_at));
    }
    let Some(expires_at) = expires_at else {
        return (GrantState::Active, None);
    };
    if auto_renew {
        // In force until the job renews it; the job runs long before any grace ends.
        return (GrantState::Active, None);
    }
    let grace_end = expires_at + Duration::days(i64::from(grace_days));
    if now < expires_at {
        (GrantState::Active, Some(expires_at))
    } else if now < grace_end {
        (GrantState::Grace, Some(grace_end))
    } else {
        (GrantState::Expired, None)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub invalidations: u64,
    pub entries: u64,
    /// Whether the node currently answers from its cache (its lease is valid).
    pub serving: bool,
}
