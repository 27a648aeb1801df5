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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub member_id: Uuid,
    pub external_id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub registered_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub total_points: i64,
    pub available_points: i64,
    pub level_code: Option<String>,
    pub level_name_zh: Option<String>,
    pub level_name_en: Option<String>,
    pub row_version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPage {
    pub members: Vec<Member>,
    pub next_after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub seq: i64,
    pub kind: String,
    pub category: String,
    pub points: i64,
    pub available_after: i64,
    pub total_after: i64,
    pub reason: Option<String>,
    pub operator: Option<String>,
    pub manual: bool,
    pub reverses_seq: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    pub next_before: Option<i64>,
    /// Entries (by seq) that have been reversed already.
    pub reversed: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelChange {
    pub from_code: Option<String>,
    pub to_code: Option<String>,
    pub cause: String,
    pub total_points: i64,
    pub created_at: DateTime<Utc>,
}

/// A level tier, as shown and as edited (`tier_id` is `None` for a new tier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub tier_id: Option<Uuid>,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub sort_order: i32,
    pub min_points: i64,
    pub max_points: Option<i64>,
    pub active: bool,
    pub permissions: Vec<String>,
    pub max_licenses: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierCount {
    pub code: String,
    pub before: i64,
    pub after: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierPreview {
    pub moved_up: i64,
    pub moved_down: i64,
    pub unchanged: i64,
    pub per_tier: Vec<TierCount>,
}

/// The result of a manual adjustment: posted at once, or waiting for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Adjustment {
    Posted {
        seq: i64,
        available_after: i64,
        level_changed: bool,
    },
    PendingApproval {
        request_id: Uuid,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentRequest {
    pub request_id: Uuid,
    pub member_id: Uuid,
    pub member_external_id: String,
    pub member_name: String,
    pub points: i64,
    pub reason: String,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub adjustment_approval_threshold: Option<i64>,
}

#[cfg(feature = "ssr")]
mod from_domain_points {
    use super::*;

    impl From<domain::members::Member> for Member {
        fn from(m: domain::members::Member) -> Self {
            Member {
                member_id: m.member_id,
                external_id: m.external_id,
                display_name: m.display_name,
                email: m.email,
                registered_at: m.registered_at,
                last_login_at: m.last_login_at,
                total_points: m.total_points,
                available_points: m.available_points,
                level_code: m.level_code,
                level_name_zh: m.level_name_zh,
                level_name_en: m.level_name_en,
                row_version: m.row_version,
            }
        }
    }

    impl From<domain::levels::Tier> for Tier {
        fn from(t: domain::levels::Tier) -> Self {
            Tier {
                tier_id: Some(t.tier_id),
                code: t.code,
                name_zh: t.name_zh,
                name_en: t.name_en,
                sort_order: t.sort_order,
                min_points: t.min_points,
                max_points: t.max_points,
                active: t.active,
                permissions: t.permissions,
                max_licenses: t.max_licenses,
            }
        }
    }

    impl From<Tier> for domain::levels::TierInput {
        fn from(t: Tier) -> Self {
            domain::levels::TierInput {
                tier_id: t.tier_id,
                code: t.code,
                name_zh: t.name_zh,
                name_en: t.name_en,
                sort_order: t.sort_order,
                min_points: t.min_points,
                max_points: t.max_points,
                active: t.active,
                permissions: t.permissions,
                max_licenses: t.max_licenses,
            }
        }
    }

    impl From<domain::levels::Preview> for TierPreview {
        fn from(p: domain::levels::Preview) -> Self {
            TierPreview {
                moved_up: p.moved_up,
                moved_down: p.moved_down,
                unchanged: p.unchanged,
                per_tier: p
                    .per_tier
                    .into_iter()
                    .map(|c| TierCount {
                        code: c.code,
                        before: c.before,
                        after: c.after,
                    })
                    .collect(),
            }
        }
    }

    impl From<domain::levels::LevelChange> for LevelChange {
        fn from(c: domain::levels::LevelChange) -> Self {
            LevelChange {
                from_code: c.from_code,
                to_code: c.to_code,
                cause: c.cause,
                total_points: c.total_points,
                created_at: c.created_at,
            }
        }
    }

    impl From<domain::points::approvals::Request> for AdjustmentRequest {
        fn from(r: domain::points::approvals::Request) -> Self {
            AdjustmentRequest {
                request_id: r.request_id,
                member_id: r.member_id,
                member_external_id: r.member_external_id,
                member_name: r.member_name,
                points: r.points,
                reason: r.reason,
                requested_by: r.requested_by,
                created_at: r.created_at,
            }
        }
    }
}
