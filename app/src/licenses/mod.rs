pub mod batch;
pub mod batch_api;
pub mod batch_i18n;
