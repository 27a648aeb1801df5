//! Text from form fields turned into typed values. Numbers and dates arrive as text so
//! that a bad value is refused as an invalid field (422, named in the user's language)
//! rather than as an unreadable request.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::AppError;

fn invalid(field: &'static str, problem: domain::Problem) -> AppError {
    domain::Error::invalid(field, problem).into()
}

/// An optional value: empty (or missing) is `None`.
pub fn optional<T: FromStr>(
    field: &'static str,
    text: Option<&str>,
) -> Result<Option<T>, AppError> {
    match text.map(str::trim).unwrap_or_default() {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|_| invalid(field, domain::Problem::Format)),
    }
}

/// A required value.
pub fn required<T: FromStr>(field: &'static str, text: &str) -> Result<T, AppError> {
    optional(field, Some(text))?.ok_or_else(|| invalid(field, domain::Problem::Required))
}

/// A date (`YYYY-MM-DD`, as a date input sends it), meaning its first instant in UTC.
pub fn optional_date(
    field: &'static str,
    text: Option<&str>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let Some(date) = optional::<NaiveDate>(field, text)? else {
        return Ok(None);
    };
    Ok(date.and_hms_opt(0, 0, 0).map(|at| at.and_utc()))
}
