//! Tags: the catalogue (what each tag confers and the terms its grants get), grants and
//! their states, and effective permissions with the quota rule.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Checked, Invalid, Problem};
use crate::input;

/// Grants of tags to members, their events, and grants nearing expiry.
pub mod grants;
/// Effective permissions and quotas, with the level or grant conferring each.
pub mod permissions;

pub const CATEGORIES: [&str; 6] = [
    "payment",
    "business",
    "education",
    "partner",
    "internal",
    "other",
];

pub const TAG_NAME_LENGTH_MAX: usize = 100;

pub const TERM_DAYS_MAX: i32 = 36_500;

pub const GRACE_DAYS_MAX: i32 = 3_650;

pub const QUOTA_MAX: i32 = 1_000_000;

pub const TAGS_MAX: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewFrom {
    /// The new term starts where the old one ends (no days lost or gained).
    Expiry,
    /// The new term starts at renewal.
    Now,
}

impl RenewFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            RenewFrom::Expiry => "expiry",
            RenewFrom::Now => "now",
        }
    }

    pub fn parse(value: &str) -> Checked<Self> {
        match value {
            "expiry" => Ok(RenewFrom::Expiry),
            "now" => Ok(RenewFrom::Now),
            _ => Err(Invalid::new("renew_from", Problem::Format)),
        }
    }
}

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
    pub renew_from: RenewFrom,
    pub active: bool,
    pub row_version: i64,
    /// Members holding the tag now (active or in grace).
    pub holders: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagInput {
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
}

/// A tag as submitted, cleaned and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clean {
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
    pub renew_from: RenewFrom,
    pub active: bool,
}

fn tag_name(field: &'static str, value: &str) -> Checked<String> {
    let name = input::name(field, value)?;
    if name.chars().count() > TAG_NAME_LENGTH_MAX {
        return Err(Invalid::new(
            field,
            Problem::TooLong {
                max: TAG_NAME_LENGTH_MAX,
            },
        ));
    }
    Ok(name)
}

/// Cleans and checks a submitted tag: a catalogue code, names, a known category,
/// permission keys, quotas and terms within bounds, a term for auto-renewal.
pub fn clean(input: &TagInput) -> Checked<Clean> {
    let category = input.category.trim().to_lowercase();
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(Invalid::new("category", Problem::Format));
    }
    if !(0..=QUOTA_MAX).contains(&input.max_licenses) {
        return Err(Invalid::new("max_licenses", Problem::Format));
    }
    if !(0..=QUOTA_MAX).contains(&input.max_licenses_boost) {
        return Err(Invalid::new("max_licenses_boost", Problem::Format));
    }
    if input
        .default_term_days
        .is_some_and(|d| !(1..=TERM_DAYS_MAX).contains(&d))
    {
        return Err(Invalid::new("default_term_days", Problem::Format));
    }
    if !(0..=GRACE_DAYS_MAX).contains(&input.grace_days) {
        return Err(Invalid::new("grace_days", Problem::Format));
    }
    if input.auto_renew && input.default_term_days.is_none() {
        // Renewing needs a term to renew by.
        return Err(Invalid::new("default_term_days", Problem::Required));
    }
    Ok(Clean {
        code: input::code(&input.code)?,
        name_zh: tag_name("name_zh", &input.name_zh)?,
        name_en: tag_name("name_en", &input.name_en)?,
        category,
        permissions: input::permissions(&input.permissions)?,
        max_licenses: input.max_licenses,
        max_licenses_boost: input.max_licenses_boost,
        default_term_days: input.default_term_days,
        grace_days: input.grace_days,
        auto_renew: input.auto_renew,
        renew_from: RenewFrom::parse(input.renew_from.trim())?,
        active: input.active,
    })
}
