//! The console's live sample: what one legacy member would get from a formula and
//! mapping (the values being edited, not necessarily saved), computed with the same
//! pure rules the migration uses ([`super::historical_points`],
//! [`crate::points::levels::level_for`], [`super::Mapping::tag_for`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Part;

/// A level or tag as the sample names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// "This member would get …".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub external_id: String,
    pub user_type: i32,
    /// `None`: a type the tenant's legacy types do not have.
    pub type_name: Option<String>,
    /// Points per formula part, in [`Part::ALL`] order.
    pub parts: Vec<(Part, i64)>,
    pub total: i64,
    /// The tenant's active tier the total falls in (`None`: no tier covers it).
    pub level: Option<Named>,
    /// The tag code the mapping gives the member's type (`None`: no tag).
    pub tag: Option<String>,
    /// The tag's names when the code is in the tenant's catalogue.
    pub tag_names: Option<Named>,
    /// The moment the formula was evaluated at (days since registration and last login
    /// count to it).
    pub as_of: DateTime<Utc>,
}
