//! The mapping and formula form as the browser sends it: every coefficient as typed
//! (`formula[registration_per_day]=5`, …) and one select per legacy user type
//! (`mapping[t3]=education`; empty: no tag). The same fields go to the save, to the
//! live sample and, without JavaScript, into the page's query for the preview; numbers
//! stay text until the server reads them, so a bad one is refused naming its field
//! (422) rather than as an unreadable request.

use std::collections::BTreeMap;

use model::migration::{Formula, Mapping};

/// The formula's coefficients in the order the form shows them.
pub const FORMULA_FIELDS: [&str; 9] = [
    "registration_per_day",
    "registration_cap",
    "per_license",
    "recent_days",
    "recent_points",
    "month_days",
    "month_points",
    "older_points",
    "per_currency_unit",
];

/// A coefficient by its field name.
pub fn coefficient(formula: &Formula, field: &str) -> i64 {
    match field {
        "registration_per_day" => formula.registration_per_day,
        "registration_cap" => formula.registration_cap,
        "per_license" => formula.per_license,
        "recent_days" => formula.recent_days,
        "recent_points" => formula.recent_points,
        "month_days" => formula.month_days,
        "month_points" => formula.month_points,
        "older_points" => formula.older_points,
        _ => formula.per_currency_unit,
    }
}

/// The form's values of a formula.
pub fn formula_form(formula: &Formula) -> BTreeMap<String, String> {
    FORMULA_FIELDS
        .iter()
        .map(|field| ((*field).to_owned(), coefficient(formula, field).to_string()))
        .collect()
}

/// The select's name of a user type: `t<id>` (not a bare number, which a form decoder
/// could take for a list index).
pub fn mapping_key(user_type: i32) -> String {
    format!("t{user_type}")
}

/// The form's values of a mapping.
pub fn mapping_form(mapping: &Mapping) -> BTreeMap<String, String> {
    mapping
        .tags
        .iter()
        .map(|(user_type, code)| (mapping_key(*user_type), code.clone()))
        .collect()
}

#[cfg(feature = "ssr")]
mod read {
    use super::*;
    use crate::error::AppError;
    use model::Problem;

    /// The formula as typed: every coefficient present and an integer (its bounds are
    /// the domain's to check).
    pub fn formula(form: &BTreeMap<String, String>) -> Result<Formula, AppError> {
        let value = |field: &'static str| -> Result<i64, AppError> {
            crate::form::required(
                field,
                form.get(field).map(String::as_str).unwrap_or_default(),
            )
        };
        Ok(Formula {
            registration_per_day: value("registration_per_day")?,
            registration_cap: value("registration_cap")?,
            per_license: value("per_license")?,
            recent_days: value("recent_days")?,
            recent_points: value("recent_points")?,
            month_days: value("month_days")?,
            month_points: value("month_points")?,
            older_points: value("older_points")?,
            per_currency_unit: value("per_currency_unit")?,
        })
    }

    /// The mapping as selected: `t<id>` → tag code, empty meaning no tag.
    pub fn mapping(form: Option<&BTreeMap<String, String>>) -> Result<Mapping, AppError> {
        let mut tags = Vec::new();
        for (key, code) in form.into_iter().flatten() {
            let user_type = key
                .strip_prefix('t')
                .and_then(|id| id.parse::<i32>().ok())
                .ok_or_else(|| invalid("user_type", Problem::Format))?;
            if !code.trim().is_empty() {
                tags.push((user_type, code.clone()));
            }
        }
        Ok(Mapping { tags })
    }

    fn invalid(field: &'static str, problem: Problem) -> AppError {
        AppError::from(domain::Error::invalid(field, problem))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_form_reads_back_what_it_shows() {
            let formula = Formula {
                per_license: 70,
                ..Formula::default()
            };
            assert_eq!(super::formula(&formula_form(&formula)), Ok(formula));
            let mapping = Mapping::default();
            assert_eq!(super::mapping(Some(&mapping_form(&mapping))), Ok(mapping));
        }

        #[test]
        fn bad_values_name_their_field() {
            let mut form = formula_form(&Formula::default());
            form.insert("month_points".into(), "lots".into());
            let error = super::formula(&form).unwrap_err();
            assert!(
                matches!(&error, AppError::Invalid { field, .. } if field == "month_points"),
                "{error:?}"
            );
            form.remove("per_license");
            assert!(super::formula(&form).is_err());
            let bad_key = BTreeMap::from([("3".to_owned(), "vip".to_owned())]);
            assert!(super::mapping(Some(&bad_key)).is_err());
            let none = BTreeMap::from([("t3".to_owned(), String::new())]);
            assert_eq!(super::mapping(Some(&none)), Ok(Mapping { tags: vec![] }));
        }
    }
}

#[cfg(feature = "ssr")]
pub use read::{formula, mapping};
