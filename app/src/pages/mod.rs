pub mod admins;
pub mod audit;
pub mod layout;
pub mod not_found;
pub mod overview;
pub mod sign_in;
pub mod tenants;
