pub mod admins;
pub mod approvals;
pub mod audit;
pub mod expiring;
pub mod layout;
pub mod levels;
pub mod member;
/// The member page's tags, effective permissions and grant history.
pub mod member_tags;
pub mod members;
pub mod not_found;
pub mod overview;
pub mod sign_in;
pub mod tags;
pub mod tenants;
pub mod webhooks;
