//! The REST API's keys: what tenant admins see and send in the console, and the pure
//! rules of the secret's format.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Checked, Invalid, Problem};
use crate::input;

/// Every secret starts with this, so secret scanners can recognise a leaked key.
pub const SECRET_PREFIX: &str = "tdk_";
/// Random bytes in a secret (hex-encoded: 48 characters).
pub const SECRET_RANDOM_BYTES: usize = 24;
/// Characters of the random part shown in the console and named in audit rows.
pub const DISPLAY_PREFIX_CHARS: usize = 8;
pub const NAME_LENGTH_MAX: usize = 100;
/// The longest grace a rotated key may keep working (30 days).
pub const GRACE_HOURS_MAX: i32 = 720;
pub const RATE_MAX: i32 = 100_000;

/// What a key may do: read-only keys read; read-write keys also change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    pub fn parse(value: &str) -> Checked<Scope> {
        match value {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            _ => Err(Invalid::new("scope", Problem::Format)),
        }
    }
}

/// A key as the console lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub key_id: Uuid,
    pub name: String,
    pub scope: Scope,
    /// `tdk_…` and the first characters of the random part.
    pub prefix: String,
    pub rate_per_second: Option<i32>,
    pub burst: Option<i32>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Set by a rotation: the end of the old key's grace.
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub rotated_from: Option<Uuid>,
    /// Where it stands, as the server read it (the browser has no clock to ask).
    pub state: KeyState,
}

/// Where a key stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    Active,
    /// Rotated: works until its grace ends.
    Grace,
    Expired,
    Revoked,
}

impl ApiKey {
    pub fn state_at(&self, now: DateTime<Utc>) -> KeyState {
        if self.revoked_at.is_some() {
            KeyState::Revoked
        } else if let Some(until) = self.expires_at {
            if now < until {
                KeyState::Grace
            } else {
                KeyState::Expired
            }
        } else {
            KeyState::Active
        }
    }
}

/// A new key (or its limits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub name: String,
    pub scope: Scope,
    pub rate_per_second: Option<i32>,
    pub burst: Option<i32>,
}

impl NewKey {
    /// The cleaned request, or the field that breaks a rule.
    pub fn checked(self) -> Checked<NewKey> {
        let name = input::name("name", &self.name)?;
        if name.chars().count() > NAME_LENGTH_MAX {
            return Err(Invalid::new(
                "name",
                Problem::TooLong {
                    max: NAME_LENGTH_MAX,
                },
            ));
        }
        checked_limits(self.rate_per_second, self.burst)?;
        Ok(NewKey { name, ..self })
    }
}

/// Checks a rate limit override: each value, when given, 1 to [`RATE_MAX`].
pub fn checked_limits(rate_per_second: Option<i32>, burst: Option<i32>) -> Checked<()> {
    for (field, value) in [("rate_per_second", rate_per_second), ("burst", burst)] {
        if let Some(value) = value {
            if value < 1 {
                return Err(Invalid::new(field, Problem::Format));
            }
            if value > RATE_MAX {
                return Err(Invalid::new(
                    field,
                    Problem::TooLarge {
                        max: i64::from(RATE_MAX),
                    },
                ));
            }
        }
    }
    Ok(())
}

/// A key just created (or created by a rotation), with its secret: shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub key: ApiKey,
    pub secret: String,
}

/// Checks a rotation's grace (hours the old key keeps working).
pub fn checked_grace_hours(hours: i32) -> Checked<i32> {
    if hours < 0 {
        return Err(Invalid::new("grace_hours", Problem::Format));
    }
    if hours > GRACE_HOURS_MAX {
        return Err(Invalid::new(
            "grace_hours",
            Problem::TooLarge {
                max: i64::from(GRACE_HOURS_MAX),
            },
        ));
    }
    Ok(hours)
}

/// The secret's parts: `tdk_<tenant id as 32 hex>_<random hex>`. `None` for anything
/// else (the caller answers 401 without a database round trip).
pub fn parse_secret(secret: &str) -> Option<(Uuid, &str)> {
    let rest = secret.strip_prefix(SECRET_PREFIX)?;
    let (tenant, random) = rest.split_once('_')?;
    if tenant.len() != 32
        || random.len() != SECRET_RANDOM_BYTES * 2
        || !random
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return None;
    }
    let tenant_id = Uuid::try_parse(tenant).ok()?;
    Some((tenant_id, random))
}

/// The secret for a tenant and random bytes (hex, lower case).
pub fn format_secret(tenant_id: Uuid, random: &[u8]) -> String {
    let mut secret = format!("{SECRET_PREFIX}{}_", tenant_id.simple());
    for byte in random {
        secret.push_str(&format!("{byte:02x}"));
    }
    secret
}

/// What the console shows of a secret: the prefix and the first random characters.
pub fn display_prefix(random_hex: &str) -> String {
    format!(
        "{SECRET_PREFIX}{}",
        &random_hex[..DISPLAY_PREFIX_CHARS.min(random_hex.len())]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_reject_anything_else() {
        let tenant = Uuid::new_v4();
        let secret = format_secret(tenant, &[0xab; SECRET_RANDOM_BYTES]);
        let (parsed, random) = parse_secret(&secret).expect("parses");
        assert_eq!(parsed, tenant);
        assert_eq!(random.len(), 48);
        assert_eq!(display_prefix(random), "tdk_abababab");
        for bad in [
            "",
            "tdk_",
            "Bearer x",
            &secret.to_uppercase(),
            &secret[..secret.len() - 1],
            &format!("{secret}0"),
            &secret.replace("tdk_", "tdx_"),
        ] {
            assert_eq!(parse_secret(bad), None, "{bad}");
        }
    }

    #[test]
    fn new_keys_are_checked() {
        let key = NewKey {
            name: "  backend ".into(),
            scope: Scope::Write,
            rate_per_second: Some(50),
            burst: None,
        };
        assert_eq!(key.clone().checked().unwrap().name, "backend");
        let zero = NewKey {
            rate_per_second: Some(0),
            ..key.clone()
        };
        assert_eq!(zero.checked().unwrap_err().field, "rate_per_second");
        let blank = NewKey {
            name: " ".into(),
            ..key
        };
        assert_eq!(blank.checked().unwrap_err().field, "name");
        assert!(checked_grace_hours(721).is_err());
        assert_eq!(checked_grace_hours(24), Ok(24));
    }
}
