//! The plan form as the browser posts it, and its conversion into the plan input.

use serde::{Deserialize, Serialize};

/// The plan form as posted (fields named `plan[code]`, …): numbers as typed, so that a
/// bad one is refused as an invalid field (422, named) rather than an unreadable
/// request. The checkbox is present when ticked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanForm {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    #[serde(default)]
    pub default_max_activations: String,
    /// Empty: licenses of the plan do not expire unless issued with an expiry.
    #[serde(default)]
    pub default_validity_days: String,
    pub active: Option<String>,
}

#[cfg(feature = "ssr")]
mod to_input {
    use super::*;
    use crate::error::AppError;
    use crate::form::{optional, required};
    use model::licenses::PlanInput;

    impl TryFrom<PlanForm> for PlanInput {
        type Error = AppError;

        fn try_from(form: PlanForm) -> Result<Self, AppError> {
            Ok(PlanInput {
                default_max_activations: required(
                    "default_max_activations",
                    &form.default_max_activations,
                )?,
                default_validity_days: optional(
                    "default_validity_days",
                    Some(&form.default_validity_days),
                )?,
                code: form.code,
                name_zh: form.name_zh,
                name_en: form.name_en,
                active: form.active.is_some(),
            })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_bad_number_names_its_field() {
            let form = PlanForm {
                default_max_activations: "3".into(),
                default_validity_days: "a year".into(),
                ..Default::default()
            };
            let error = PlanInput::try_from(form).unwrap_err();
            assert_eq!(
                error,
                AppError::Invalid {
                    field: "default_validity_days".into(),
                    problem: model::Problem::Format
                }
            );
        }
    }
}
