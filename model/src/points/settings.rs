//! Per-tenant points settings.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Manual adjustments larger than this (in absolute points) need a second tenant
    /// admin's approval; `None` turns four-eyes approval off.
    pub adjustment_approval_threshold: Option<i64>,
}
