//! The tag form as the browser posts it, and its conversion into the catalogue's input.

use serde::{Deserialize, Serialize};

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

#[cfg(feature = "ssr")]
mod to_input {
    use super::*;
    use crate::error::AppError;
    use crate::form::optional;
    use model::tags::TagInput;

    /// A number typed into a form field; empty is 0.
    fn number(field: &'static str, text: &str) -> Result<i32, AppError> {
        Ok(optional(field, Some(text))?.unwrap_or(0))
    }

    impl TryFrom<TagForm> for TagInput {
        type Error = AppError;

        fn try_from(form: TagForm) -> Result<Self, AppError> {
            Ok(TagInput {
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

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_bad_number_names_its_field() {
            let form = TagForm {
                grace_days: "seven".into(),
                ..Default::default()
            };
            let error = TagInput::try_from(form).unwrap_err();
            assert_eq!(
                error,
                AppError::Invalid {
                    field: "grace_days".into(),
                    problem: model::Problem::Format
                }
            );
        }
    }
}
