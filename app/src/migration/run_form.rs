//! The run console's form fields as posted: a selection of members (everyone, a share,
//! or a pasted list of external ids) and the validation's "fix" checkbox. Text arrives
//! as text so that a bad value is a 422 naming the field, not an unreadable request.

use model::migration::run::Selection;

use crate::error::AppError;

fn invalid(field: &'static str, problem: domain::Problem) -> AppError {
    domain::Error::invalid(field, problem).into()
}

/// `selection` is `all`, `share` (with `share`, 1–100) or `members` (with `members`: external
/// ids separated by line breaks, spaces, commas or semicolons, as pasted from a
/// spreadsheet column or a list). The domain checks the share's range, the list's size
/// (at most [`model::migration::run::SELECTION_MAX`] ids), control characters and
/// emptiness, so the CLI and the console refuse the same things.
pub fn selection(
    kind: &str,
    share: Option<&str>,
    members: Option<&str>,
) -> Result<Selection, AppError> {
    match kind.trim() {
        "all" => Ok(Selection::All),
        "share" => Ok(Selection::Share(crate::form::required(
            "share",
            share.unwrap_or_default(),
        )?)),
        "members" => Ok(Selection::Members(split_ids(members.unwrap_or_default()))),
        _ => Err(invalid("selection", domain::Problem::Format)),
    }
}

/// The pasted external ids, in their order (duplicates are the domain's to drop).
pub fn split_ids(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A checkbox: checked sends `on` (or `true`), unchecked sends nothing.
pub fn checkbox(field: &'static str, value: Option<&str>) -> Result<bool, AppError> {
    match value.map(str::trim).unwrap_or_default() {
        "" | "false" | "off" => Ok(false),
        "on" | "true" => Ok(true),
        _ => Err(invalid(field, domain::Problem::Format)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_as_posted() {
        assert_eq!(selection("all", None, None).unwrap(), Selection::All);
        assert_eq!(
            selection("share", Some(" 25 "), None).unwrap(),
            Selection::Share(25)
        );
        assert_eq!(
            selection("members", None, Some("A1\r\nA2, A3;A4\tA5\n\n")).unwrap(),
            Selection::Members(vec![
                "A1".into(),
                "A2".into(),
                "A3".into(),
                "A4".into(),
                "A5".into()
            ])
        );
        assert!(matches!(
            selection("share", Some("x"), None),
            Err(AppError::Invalid { field, .. }) if field == "share"
        ));
        assert!(matches!(
            selection("share", None, None),
            Err(AppError::Invalid { field, .. }) if field == "share"
        ));
        assert!(matches!(
            selection("some", None, None),
            Err(AppError::Invalid { field, .. }) if field == "selection"
        ));
        assert!(checkbox("fix", Some("on")).unwrap());
        assert!(!checkbox("fix", None).unwrap());
        assert!(checkbox("fix", Some("maybe")).is_err());
    }
}
