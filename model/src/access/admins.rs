//! Admin accounts as a tenant sees them, and invitations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Role;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub admin_id: Uuid,
    pub email: String,
    /// The account's name once the invitation is accepted; until then the name the
    /// inviting admin typed.
    pub display_name: String,
    pub role: Role,
    /// Disabled in this tenant or (once accepted) everywhere.
    pub disabled: bool,
    /// Invited but not accepted yet: grants nothing.
    pub invited: bool,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewMember {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Required whatever the email (so that the answer never depends on whether an
    /// account exists); used only when the email has no account yet.
    pub password: Option<String>,
}

/// An invitation waiting for the signed-in account's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub tenant_name: String,
    pub role: Role,
    pub invited_at: DateTime<Utc>,
}
