//! The console around the features: the layout (navigation, tenant switcher,
//! invitations, language) and the not-found page.

/// UI text of the shell, and messages shared by every feature.
pub mod i18n;
pub mod layout;
pub mod not_found;
