//! Access: roles, the signed-in session as the console shows it, tenants, admin
//! accounts and the audit log.

use serde::{Deserialize, Serialize};

use crate::error::{Checked, Invalid, Problem};

/// Admin accounts and their per-tenant memberships.
pub mod admins;
/// The audit log's entries.
pub mod audit;
/// Tenants and the memberships that open them.
pub mod tenants;

/// A role inside one tenant. The order matters: each role may do everything the roles
/// before it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Support,
    TenantAdmin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::TenantAdmin, Role::Support, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Support => "support",
            Role::TenantAdmin => "tenant_admin",
        }
    }

    pub fn parse(value: &str) -> Checked<Role> {
        match value {
            "viewer" => Ok(Role::Viewer),
            "support" => Ok(Role::Support),
            "tenant_admin" => Ok(Role::TenantAdmin),
            _ => Err(Invalid::new("role", Problem::Format)),
        }
    }
}

/// Who is signed in and where: drives the console's layout, navigation and tenant
/// switcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub email: String,
    pub display_name: String,
    pub is_platform_admin: bool,
    /// `None` only for a platform administrator before any tenant exists.
    pub active: Option<tenants::Membership>,
    pub tenants: Vec<tenants::Membership>,
}
