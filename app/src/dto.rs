//! Data shared by the server and the browser (compiled to WASM, so no sqlx here).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

    pub fn label(self, t: &crate::i18n::Texts) -> &'static str {
        match self {
            Role::Viewer => t.role_viewer,
            Role::Support => t.role_support,
            Role::TenantAdmin => t.role_tenant_admin,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantChoice {
    pub tenant_id: Uuid,
    pub slug: String,
    pub name: String,
    pub role: Role,
}

/// Who is signed in and where: drives the layout, navigation and tenant switcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub email: String,
    pub display_name: String,
    pub is_platform_admin: bool,
    /// `None` only for a platform administrator before any tenant exists.
    pub active: Option<TenantChoice>,
    pub tenants: Vec<TenantChoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub tenant_id: Uuid,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admin {
    pub admin_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub audit_id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_before: Option<i64>,
}

/// Formats a timestamp the same way on the server and in the browser (hydration must
/// render identical text).
pub fn format_time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(feature = "ssr")]
mod from_domain {
    use super::*;

    impl From<domain::Role> for Role {
        fn from(role: domain::Role) -> Self {
            match role {
                domain::Role::Viewer => Role::Viewer,
                domain::Role::Support => Role::Support,
                domain::Role::TenantAdmin => Role::TenantAdmin,
            }
        }
    }

    impl From<Role> for domain::Role {
        fn from(role: Role) -> Self {
            match role {
                Role::Viewer => domain::Role::Viewer,
                Role::Support => domain::Role::Support,
                Role::TenantAdmin => domain::Role::TenantAdmin,
            }
        }
    }

    impl From<domain::tenants::Tenant> for Tenant {
        fn from(t: domain::tenants::Tenant) -> Self {
            Tenant {
                tenant_id: t.tenant_id,
                slug: t.slug,
                name: t.name,
                created_at: t.created_at,
            }
        }
    }

    impl From<domain::tenants::Membership> for TenantChoice {
        fn from(m: domain::tenants::Membership) -> Self {
            TenantChoice {
                tenant_id: m.tenant_id,
                slug: m.slug,
                name: m.name,
                role: m.role.into(),
            }
        }
    }

    impl From<domain::admins::Member> for Admin {
        fn from(m: domain::admins::Member) -> Self {
            Admin {
                admin_id: m.admin_id,
                email: m.email,
                display_name: m.display_name,
                role: m.role.into(),
                disabled: m.disabled,
                added_at: m.added_at,
            }
        }
    }

    impl From<domain::audit::Page> for AuditPage {
        fn from(page: domain::audit::Page) -> Self {
            let entries = page
                .entries
                .into_iter()
                .map(|e| AuditEntry {
                    audit_id: e.audit_id,
                    occurred_at: e.occurred_at,
                    actor: e.actor_label,
                    action: e.action,
                    target_type: e.target_type,
                    target_id: e.target_id,
                    before: e.before,
                    after: e.after,
                    request_id: e.request_id,
                })
                .collect();
            AuditPage {
                entries,
                next_before: page.next_before,
            }
        }
    }
}
