//! Access: who acts in which tenant with which role (the checks every operation starts
//! with), sign-in, admin accounts, tenants and the audit log.

/// Admin accounts and their per-tenant memberships (add, change role, disable, invite).
pub mod admins;
/// The append-only audit log of administrative changes.
pub mod audit;
/// Sign-in: password verification, throttling of failures, loading a session's access.
pub mod auth;
/// argon2id password hashing, off the async runtime.
pub mod password;
/// Tenants: creation by platform administrators and listing.
pub mod tenants;

use uuid::Uuid;

pub use model::access::{Role, SessionInfo};

use crate::{Error, Result};

/// Who is acting: a signed-in admin account, or the operator at the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `None` for the command line.
    pub admin_id: Option<Uuid>,
    /// The API key a tenant backend calls with (`None` for admins and the command line).
    pub api_key_id: Option<Uuid>,
    /// The email of the admin (or "cli"), kept in audit rows.
    pub label: String,
    pub is_platform_admin: bool,
}

impl Principal {
    /// The operator at the command line, who has shell access to the server and so is
    /// trusted like a platform administrator.
    pub fn cli() -> Self {
        Principal {
            admin_id: None,
            api_key_id: None,
            label: "cli".into(),
            is_platform_admin: true,
        }
    }

    pub fn require_platform_admin(&self) -> Result<()> {
        if self.is_platform_admin {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// A principal acting in one tenant with one role. Every tenant-scoped operation takes
/// this, and every query it runs is scoped by `tenant_id` from here, never from input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub principal: Principal,
    pub tenant_id: Uuid,
    pub role: Role,
    /// The HTTP request id, copied into audit rows so that logs and audit join up.
    pub request_id: Option<String>,
}

impl Access {
    /// Refuses unless the role is at least `minimum`.
    pub fn require(&self, minimum: Role) -> Result<()> {
        if self.role >= minimum {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}
