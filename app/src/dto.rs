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
    /// Until the invitation is accepted, the name the inviting admin typed.
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    /// Invited, not accepted yet: the membership grants nothing.
    pub invited: bool,
    pub added_at: DateTime<Utc>,
}

/// An open invitation of the signed-in account into a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub tenant_name: String,
    pub role: Role,
    pub invited_at: DateTime<Utc>,
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

    impl From<domain::access::tenants::Tenant> for Tenant {
        fn from(t: domain::access::tenants::Tenant) -> Self {
            Tenant {
                tenant_id: t.tenant_id,
                slug: t.slug,
                name: t.name,
                created_at: t.created_at,
            }
        }
    }

    impl From<domain::access::tenants::Membership> for TenantChoice {
        fn from(m: domain::access::tenants::Membership) -> Self {
            TenantChoice {
                tenant_id: m.tenant_id,
                slug: m.slug,
                name: m.name,
                role: m.role.into(),
            }
        }
    }

    impl From<domain::access::admins::Member> for Admin {
        fn from(m: domain::access::admins::Member) -> Self {
            Admin {
                admin_id: m.admin_id,
                email: m.email,
                display_name: m.display_name,
                role: m.role.into(),
                disabled: m.disabled,
                invited: m.invited,
                added_at: m.added_at,
            }
        }
    }

    impl From<domain::access::admins::Invitation> for Invitation {
        fn from(i: domain::access::admins::Invitation) -> Self {
            Invitation {
                tenant_id: i.tenant_id,
                tenant_slug: i.tenant_slug,
                tenant_name: i.tenant_name,
                role: i.role.into(),
                invited_at: i.invited_at,
            }
        }
    }

    impl From<domain::access::audit::Page> for AuditPage {
        fn from(page: domain::access::audit::Page) -> Self {
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

/// Progress of storing members' levels after a tier save (see `domain::points::levels`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RelevelProgress {
    pub running: bool,
    pub pass: i32,
    pub members_total: i64,
    pub members_done: i64,
    pub expected_moves: i64,
    pub moved: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
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
        /// pending, approved or rejected (a retry of an earlier submission).
        status: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentRequest {
    pub request_id: Uuid,
    pub member_id: Uuid,
    pub member_external_id: String,
    pub member_name: String,
    /// The member's available points now.
    pub member_available: i64,
    pub points: i64,
    pub reason: String,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
}

impl AdjustmentRequest {
    /// Whether approving now could post it (same rule as `domain::points::approvals`).
    pub fn applicable(&self) -> bool {
        self.member_available.saturating_add(self.points) >= 0
    }
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

    impl From<domain::points::levels::Tier> for Tier {
        fn from(t: domain::points::levels::Tier) -> Self {
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

    impl From<Tier> for domain::points::levels::TierInput {
        fn from(t: Tier) -> Self {
            domain::points::levels::TierInput {
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

    impl From<domain::points::levels::Preview> for TierPreview {
        fn from(p: domain::points::levels::Preview) -> Self {
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

    impl From<domain::points::levels::LevelChange> for LevelChange {
        fn from(c: domain::points::levels::LevelChange) -> Self {
            LevelChange {
                from_code: c.from_code,
                to_code: c.to_code,
                cause: c.cause,
                total_points: c.total_points,
                created_at: c.created_at,
            }
        }
    }

    impl From<domain::points::levels::RelevelProgress> for RelevelProgress {
        fn from(p: domain::points::levels::RelevelProgress) -> Self {
            RelevelProgress {
                running: p.running,
                pass: p.pass,
                members_total: p.members_total,
                members_done: p.members_done,
                expected_moves: p.expected_moves,
                moved: p.moved,
                started_at: p.started_at,
                finished_at: p.finished_at,
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
                member_available: r.member_available,
                points: r.points,
                reason: r.reason,
                requested_by: r.requested_by,
                created_at: r.created_at,
            }
        }
    }
}

/// The tag categories, as in `domain::tags::CATEGORIES` (the browser build cannot use
/// `domain`; a test keeps the two lists equal).
pub const TAG_CATEGORIES: [&str; 6] = [
    "payment",
    "business",
    "education",
    "partner",
    "internal",
    "other",
];

/// A tag category's name in the UI language (the code itself if unknown).
pub fn category_label(category: &str, t: &crate::i18n::Texts) -> String {
    match category {
        "payment" => t.category_payment,
        "business" => t.category_business,
        "education" => t.category_education,
        "partner" => t.category_partner,
        "internal" => t.category_internal,
        "other" => t.category_other,
        other => other,
    }
    .to_owned()
}

/// A tag of the catalogue with its privileges, grant terms and current holders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub tag_id: Uuid,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub category: String,
    pub permissions: Vec<String>,
    pub max_licenses: i32,
    pub max_licenses_boost: i32,
    pub default_term_days: Option<i32>,
    pub grace_days: i32,
    pub auto_renew: bool,
    /// "expiry" or "now".
    pub renew_from: String,
    pub active: bool,
    pub row_version: i64,
    pub holders: i64,
}

/// The tag form as posted (fields named `tag[code]`, …): text as typed, so that a bad
/// number is a clear "invalid field" rather than an unreadable request. Checkboxes are
/// present when ticked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagForm {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub category: String,
    /// Permission keys separated by commas, spaces or new lines.
    #[serde(default)]
    pub permissions: String,
    #[serde(default)]
    pub max_licenses: String,
    #[serde(default)]
    pub max_licenses_boost: String,
    /// Empty: grants do not expire unless given an expiry.
    #[serde(default)]
    pub default_term_days: String,
    #[serde(default)]
    pub grace_days: String,
    pub auto_renew: Option<String>,
    #[serde(default)]
    pub renew_from: String,
    pub active: Option<String>,
}

/// Where a grant is in its life at this moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    Scheduled,
    Active,
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

    pub fn label(self, t: &crate::i18n::Texts) -> &'static str {
        match self {
            GrantState::Scheduled => t.state_scheduled,
            GrantState::Active => t.state_active,
            GrantState::Grace => t.state_grace,
            GrantState::Expired => t.state_expired,
            GrantState::Revoked => t.state_revoked,
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

/// A tag held by a member (or held before).
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
    pub granted_by: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub term_days: Option<i32>,
    pub grace_days: i32,
    pub auto_renew: bool,
    pub state: GrantState,
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

/// One transition of a grant, with its cause.
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
    pub actor: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A grant in force whose expiry is near.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringGrant {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Level,
    Tag,
}

/// The level or tag grant that confers a privilege.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
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

/// One source's contribution to a quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaPart {
    pub source: Source,
    pub floor: i64,
    pub boost: i64,
}

/// A quota: `value = max(every floor) + sum(every boost)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub key: String,
    pub value: i64,
    pub parts: Vec<QuotaPart>,
}

/// A member's effective permissions and quotas, each with its sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effective {
    pub member_id: Uuid,
    pub level: Option<Source>,
    pub permissions: Vec<Permission>,
    pub quotas: Vec<Quota>,
}

/// The tenant's webhook settings (tenant admins only: they include the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: Option<String>,
    pub secret: Option<String>,
    pub reminder_days: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub event_id: i64,
    pub topic: String,
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
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub created_at: DateTime<Utc>,
}

#[cfg(feature = "ssr")]
mod from_domain_tags {
    use super::*;
    use crate::api::form::optional;
    use crate::error::AppError;

    /// A number typed into a form field; empty is 0.
    fn number(field: &'static str, text: &str) -> Result<i32, AppError> {
        Ok(optional(field, Some(text))?.unwrap_or(0))
    }

    impl TryFrom<TagForm> for domain::tags::TagInput {
        type Error = AppError;

        fn try_from(form: TagForm) -> Result<Self, AppError> {
            Ok(domain::tags::TagInput {
                max_licenses: number("max_licenses", &form.max_licenses)?,
                max_licenses_boost: number("max_licenses_boost", &form.max_licenses_boost)?,
                default_term_days: optional("default_term_days", Some(&form.default_term_days))?,
                grace_days: number("grace_days", &form.grace_days)?,
                permissions: form
                    .permissions
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
                code: form.code,
                name_zh: form.name_zh,
                name_en: form.name_en,
                category: form.category,
                auto_renew: form.auto_renew.is_some(),
                renew_from: form.renew_from,
                active: form.active.is_some(),
            })
        }
    }

    impl From<domain::tags::Tag> for Tag {
        fn from(t: domain::tags::Tag) -> Self {
            Tag {
                tag_id: t.tag_id,
                code: t.code,
                name_zh: t.name_zh,
                name_en: t.name_en,
                category: t.category,
                permissions: t.permissions,
                max_licenses: t.max_licenses,
                max_licenses_boost: t.max_licenses_boost,
                default_term_days: t.default_term_days,
                grace_days: t.grace_days,
                auto_renew: t.auto_renew,
                renew_from: t.renew_from.as_str().into(),
                active: t.active,
                row_version: t.row_version,
                holders: t.holders,
            }
        }
    }

    impl From<domain::tags::permissions::GrantState> for GrantState {
        fn from(state: domain::tags::permissions::GrantState) -> Self {
            use domain::tags::permissions::GrantState as S;
            match state {
                S::Scheduled => GrantState::Scheduled,
                S::Active => GrantState::Active,
                S::Grace => GrantState::Grace,
                S::Expired => GrantState::Expired,
                S::Revoked => GrantState::Revoked,
            }
        }
    }

    impl From<domain::tags::grants::Grant> for Grant {
        fn from(g: domain::tags::grants::Grant) -> Self {
            Grant {
                grant_id: g.grant_id,
                member_id: g.member_id,
                tag_id: g.tag_id,
                tag_code: g.tag_code,
                tag_name_en: g.tag_name_en,
                tag_name_zh: g.tag_name_zh,
                method: g.method,
                reason: g.reason,
                granted_by: g.granted_by_email,
                starts_at: g.starts_at,
                expires_at: g.expires_at,
                term_days: g.term_days,
                grace_days: g.grace_days,
                auto_renew: g.auto_renew,
                state: g.state.into(),
                grace_until: g.grace_until,
                revoked_at: g.revoked_at,
                revoke_reason: g.revoke_reason,
                created_at: g.created_at,
            }
        }
    }

    impl From<domain::tags::grants::GrantEvent> for GrantEvent {
        fn from(e: domain::tags::grants::GrantEvent) -> Self {
            GrantEvent {
                event_id: e.event_id,
                grant_id: e.grant_id,
                tag_code: e.tag_code,
                kind: e.kind,
                from_status: e.from_status,
                to_status: e.to_status,
                expires_at: e.expires_at,
                cause: e.cause,
                actor: e.actor_email,
                note: e.note,
                created_at: e.created_at,
            }
        }
    }

    impl From<domain::tags::grants::Expiring> for ExpiringGrant {
        fn from(e: domain::tags::grants::Expiring) -> Self {
            ExpiringGrant {
                grant_id: e.grant_id,
                member_id: e.member_id,
                external_id: e.external_id,
                display_name: e.display_name,
                tag_code: e.tag_code,
                tag_name_en: e.tag_name_en,
                tag_name_zh: e.tag_name_zh,
                expires_at: e.expires_at,
                auto_renew: e.auto_renew,
                state: e.state.into(),
                reminded: e.reminded,
            }
        }
    }

    impl From<domain::tags::permissions::Source> for Source {
        fn from(s: domain::tags::permissions::Source) -> Self {
            Source {
                kind: match s.kind {
                    domain::tags::permissions::SourceKind::Level => SourceKind::Level,
                    domain::tags::permissions::SourceKind::Tag => SourceKind::Tag,
                },
                code: s.code,
                name_en: s.name_en,
                name_zh: s.name_zh,
                grant_id: s.grant_id,
                state: s.state.map(GrantState::from),
                until: s.until,
            }
        }
    }

    impl From<domain::tags::permissions::Effective> for Effective {
        fn from(e: domain::tags::permissions::Effective) -> Self {
            Effective {
                member_id: e.member_id,
                level: e.level.map(Source::from),
                permissions: e
                    .permissions
                    .into_iter()
                    .map(|p| Permission {
                        key: p.key,
                        sources: p.sources.into_iter().map(Source::from).collect(),
                    })
                    .collect(),
                quotas: e
                    .quotas
                    .into_iter()
                    .map(|q| Quota {
                        key: q.key,
                        value: q.value,
                        parts: q
                            .parts
                            .into_iter()
                            .map(|p| QuotaPart {
                                source: p.source.into(),
                                floor: p.floor,
                                boost: p.boost,
                            })
                            .collect(),
                    })
                    .collect(),
            }
        }
    }

    impl From<domain::webhooks::Webhook> for Webhook {
        fn from(w: domain::webhooks::Webhook) -> Self {
            Webhook {
                url: w.url,
                secret: w.secret,
                reminder_days: w.reminder_days,
            }
        }
    }

    impl From<domain::webhooks::OutboxEvent> for OutboxEvent {
        fn from(e: domain::webhooks::OutboxEvent) -> Self {
            OutboxEvent {
                event_id: e.event_id,
                topic: e.topic,
                status: e.status,
                attempts: e.attempts,
                next_attempt_at: e.next_attempt_at,
                last_error: e.last_error,
                delivered_at: e.delivered_at,
                created_at: e.created_at,
            }
        }
    }

    impl From<domain::webhooks::DeliveryAttempt> for DeliveryAttempt {
        fn from(d: domain::webhooks::DeliveryAttempt) -> Self {
            DeliveryAttempt {
                delivery_id: d.delivery_id,
                event_id: d.event_id,
                topic: d.topic,
                attempt: d.attempt,
                status_code: d.status_code,
                error: d.error,
                duration_ms: d.duration_ms,
                created_at: d.created_at,
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn categories_match_the_domain() {
            assert_eq!(TAG_CATEGORIES, domain::tags::CATEGORIES);
        }

        #[test]
        fn a_bad_number_names_its_field() {
            let form = TagForm {
                grace_days: "seven".into(),
                ..Default::default()
            };
            let error = domain::tags::TagInput::try_from(form).unwrap_err();
            assert_eq!(
                error,
                AppError::Invalid {
                    field: "grace_days".into(),
                    problem: crate::error::Problem::Format
                }
            );
        }
    }
}
