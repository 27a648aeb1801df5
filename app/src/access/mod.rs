//! Access: sign-in, tenants (platform administrators), admins and invitations, the
//! audit log.

/// Admins of the active tenant, invitations, roles.
pub mod admins;
/// Server functions of this feature.
pub mod api;
/// The tenant's audit log.
pub mod audit;
/// UI text of this feature.
pub mod i18n;
/// The sign-in page.
pub mod sign_in;
/// Tenants (platform administrators).
pub mod tenants;

use model::access::Role;

/// A role's name in the UI language.
pub fn role_label(role: Role, t: &crate::i18n::Texts) -> &'static str {
    match role {
        Role::Viewer => t.access.role_viewer,
        Role::Support => t.access.role_support,
        Role::TenantAdmin => t.access.role_tenant_admin,
    }
}
