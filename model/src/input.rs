//! Normalisation and validation of user input. Each function returns the cleaned value
//! or an [`Invalid`] naming the field, and the database constraints check the
//! same rules again (pair assertions).

use crate::error::{Checked, Invalid, Problem};

pub const NAME_LENGTH_MAX: usize = 200;
pub const EMAIL_LENGTH_MAX: usize = 254;
pub const PASSWORD_LENGTH_MIN: usize = 10;
pub const PASSWORD_LENGTH_MAX: usize = 256;
pub const SLUG_LENGTH_MAX: usize = 63;

/// Refuses text PostgreSQL cannot store or that no person types: NUL and the other
/// control characters (tab and line breaks are allowed). Every text field passes here.
pub fn plain_text(field: &'static str, value: &str) -> Checked<()> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(Invalid::new(field, Problem::Format));
    }
    Ok(())
}

/// Trims a display name and checks its length.
pub fn name(field: &'static str, value: &str) -> Checked<String> {
    plain_text(field, value)?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new(field, Problem::Required));
    }
    if trimmed.chars().count() > NAME_LENGTH_MAX {
        return Err(Invalid::new(
            field,
            Problem::TooLong {
                max: NAME_LENGTH_MAX,
            },
        ));
    }
    Ok(trimmed.to_owned())
}

/// Lower-cases and trims an email address; requires one `@` with text on both sides.
pub fn email(value: &str) -> Checked<String> {
    plain_text("email", value)?;
    let email = value.trim().to_lowercase();
    if email.is_empty() {
        return Err(Invalid::new("email", Problem::Required));
    }
    if email.len() > EMAIL_LENGTH_MAX {
        return Err(Invalid::new(
            "email",
            Problem::TooLong {
                max: EMAIL_LENGTH_MAX,
            },
        ));
    }
    let well_formed = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !well_formed {
        return Err(Invalid::new("email", Problem::Format));
    }
    Ok(email)
}

/// Checks a new password's length; the content is the user's business.
pub fn new_password(value: &str) -> Checked<&str> {
    let length = value.chars().count();
    if length == 0 {
        return Err(Invalid::new("password", Problem::Required));
    }
    if length < PASSWORD_LENGTH_MIN {
        return Err(Invalid::new(
            "password",
            Problem::TooShort {
                min: PASSWORD_LENGTH_MIN,
            },
        ));
    }
    if length > PASSWORD_LENGTH_MAX {
        return Err(Invalid::new(
            "password",
            Problem::TooLong {
                max: PASSWORD_LENGTH_MAX,
            },
        ));
    }
    Ok(value)
}

/// A tenant slug: lower-case letters, digits and inner dashes.
pub fn slug(value: &str) -> Checked<String> {
    let slug = value.trim().to_lowercase();
    if slug.is_empty() {
        return Err(Invalid::new("slug", Problem::Required));
    }
    if slug.len() > SLUG_LENGTH_MAX {
        return Err(Invalid::new(
            "slug",
            Problem::TooLong {
                max: SLUG_LENGTH_MAX,
            },
        ));
    }
    let allowed = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !allowed || slug.starts_with('-') || slug.ends_with('-') {
        return Err(Invalid::new("slug", Problem::Format));
    }
    Ok(slug)
}

pub const CODE_LENGTH_MAX: usize = 40;
pub const PERMISSIONS_MAX: usize = 50;
pub const PERMISSION_LENGTH_MAX: usize = 64;

/// A catalogue code (tier, tag): lower-case letters, digits, `_` and `-`, starting with a
/// letter or digit, at most 40 characters.
pub fn code(value: &str) -> Checked<String> {
    let code = value.trim().to_lowercase();
    let code_ok = !code.is_empty()
        && code.len() <= CODE_LENGTH_MAX
        && !code.starts_with(['_', '-'])
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !code_ok {
        return Err(Invalid::new("code", Problem::Format));
    }
    Ok(code)
}

/// A set of permission keys: trimmed, lower-cased, sorted, without duplicates; each
/// made of letters, digits and `_-.:`.
pub fn permissions(values: &[String]) -> Checked<Vec<String>> {
    let mut permissions: Vec<String> = values
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    permissions.sort();
    permissions.dedup();
    if permissions.len() > PERMISSIONS_MAX {
        return Err(Invalid::new(
            "permissions",
            Problem::TooLong {
                max: PERMISSIONS_MAX,
            },
        ));
    }
    let permission_ok = |p: &String| {
        p.len() <= PERMISSION_LENGTH_MAX
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
    };
    if !permissions.iter().all(permission_ok) {
        return Err(Invalid::new("permissions", Problem::Format));
    }
    Ok(permissions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(email("  Ann@Example.COM ").unwrap(), "ann@example.com");
        assert!(matches!(
            email(""),
            Err(Invalid {
                problem: Problem::Required,
                ..
            })
        ));
        for bad in ["ann", "@x", "ann@", "a b@x.y", "a@b@c"] {
            assert!(
                matches!(
                    email(bad),
                    Err(Invalid {
                        problem: Problem::Format,
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn slug_rules() {
        assert_eq!(slug(" Acme-2 ").unwrap(), "acme-2");
        for bad in ["-a", "a-", "a_b", "ä"] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_length() {
        assert!(new_password("short").is_err());
        assert!(new_password("long enough!").is_ok());
    }
}
