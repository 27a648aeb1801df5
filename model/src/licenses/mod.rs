//! Licenses: plans (templates), licenses (seats with a key), assignments to members
//! within their quota, activations on devices, validation codes, batch assignment and
//! the utilisation report.
//!
//! A license's state is decided from its flags and dates at the moment of the question
//! ([`state`]), never from a status a job last wrote.

/// Batch assignment from a CSV file: outcomes, the line parser, the batch and its rows.
pub mod batch;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Checked, Invalid, Problem};
use crate::input;
use crate::tags::permissions::Quota;

pub const PLAN_NAME_LENGTH_MAX: usize = 100;
pub const ACTIVATIONS_MAX: i32 = 10_000;
pub const VALIDITY_DAYS_MAX: i32 = 36_500;
/// Seats issued by one request.
pub const ISSUE_MAX: i32 = 10_000;
pub const PLANS_MAX: i64 = 500;
pub const PAGE_MAX: i64 = 200;
pub const FINGERPRINT_LENGTH_MAX: usize = 200;
pub const DEVICE_NAME_LENGTH_MAX: usize = 200;
/// "Expiring soon" in the report.
pub const EXPIRING_REPORT_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub plan_id: Uuid,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub default_max_activations: i32,
    /// None: perpetual.
    pub default_validity_days: Option<i32>,
    pub active: bool,
    pub row_version: i64,
    pub issued: i64,
    /// Usable seats with no holder.
    pub free: i64,
}

/// A plan as submitted; [`clean_plan`] answers the same type normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInput {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub default_max_activations: i32,
    pub default_validity_days: Option<i32>,
    pub active: bool,
}

fn plan_name(field: &'static str, value: &str) -> Checked<String> {
    let name = input::name(field, value)?;
    if name.chars().count() > PLAN_NAME_LENGTH_MAX {
        return Err(Invalid::new(
            field,
            Problem::TooLong {
                max: PLAN_NAME_LENGTH_MAX,
            },
        ));
    }
    Ok(name)
}

/// Checks a maximum number of activations (1 to [`ACTIVATIONS_MAX`]).
pub fn max_activations(field: &'static str, value: i32) -> Checked<i32> {
    if value < 1 {
        return Err(Invalid::new(field, Problem::Format));
    }
    if value > ACTIVATIONS_MAX {
        return Err(Invalid::new(
            field,
            Problem::TooLarge {
                max: i64::from(ACTIVATIONS_MAX),
            },
        ));
    }
    Ok(value)
}

/// Cleans and checks a plan: a catalogue code, names, activations and validity in bounds.
pub fn clean_plan(input: &PlanInput) -> Checked<PlanInput> {
    if let Some(days) = input.default_validity_days {
        if days < 1 {
            return Err(Invalid::new("default_validity_days", Problem::Format));
        }
        if days > VALIDITY_DAYS_MAX {
            return Err(Invalid::new(
                "default_validity_days",
                Problem::TooLarge {
                    max: i64::from(VALIDITY_DAYS_MAX),
                },
            ));
        }
    }
    Ok(PlanInput {
        code: input::code(&input.code)?,
        name_zh: plan_name("name_zh", &input.name_zh)?,
        name_en: plan_name("name_en", &input.name_en)?,
        default_max_activations: max_activations(
            "default_max_activations",
            input.default_max_activations,
        )?,
        default_validity_days: input.default_validity_days,
        active: input.active,
    })
}

/// Issue `count` seats of a plan; limits default to the plan's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueInput {
    pub plan_id: Uuid,
    pub count: i32,
    pub max_activations: Option<i32>,
    /// Defaults to now + the plan's validity (none for a perpetual plan).
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub count: i64,
    /// The first keys issued (at most 20), for the confirmation.
    pub first_keys: Vec<String>,
}

/// A license's state at an instant, from its flags and dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseState {
    /// Usable, no holder.
    Free,
    /// Usable, held by a member.
    Assigned,
    Suspended,
    Expired,
    Revoked,
}

impl LicenseState {
    pub const ALL: [LicenseState; 5] = [
        LicenseState::Free,
        LicenseState::Assigned,
        LicenseState::Suspended,
        LicenseState::Expired,
        LicenseState::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LicenseState::Free => "free",
            LicenseState::Assigned => "assigned",
            LicenseState::Suspended => "suspended",
            LicenseState::Expired => "expired",
            LicenseState::Revoked => "revoked",
        }
    }

    pub fn parse(value: &str) -> Checked<Self> {
        LicenseState::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or(Invalid::new("state", Problem::Format))
    }

    /// Whether a license in this state can be assigned, activated and validated.
    pub fn usable(self) -> bool {
        matches!(self, LicenseState::Free | LicenseState::Assigned)
    }
}

/// The state of a license now: revoked, then suspended, then expired (at `expires_at`
/// itself it is expired), then assigned or free.
pub fn state(
    revoked: bool,
    suspended: bool,
    expires_at: Option<DateTime<Utc>>,
    held: bool,
    now: DateTime<Utc>,
) -> LicenseState {
    if revoked {
        LicenseState::Revoked
    } else if suspended {
        LicenseState::Suspended
    } else if expires_at.is_some_and(|e| e <= now) {
        LicenseState::Expired
    } else if held {
        LicenseState::Assigned
    } else {
        LicenseState::Free
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct License {
    pub license_id: Uuid,
    pub plan_id: Uuid,
    pub plan_code: String,
    pub license_key: String,
    pub max_activations: i32,
    pub expires_at: Option<DateTime<Utc>>,
    pub member_id: Option<Uuid>,
    pub member_external_id: Option<String>,
    pub member_name: Option<String>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub activations: i32,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspend_reason: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
    pub last_validated_at: Option<DateTime<Utc>>,
    pub state: LicenseState,
    pub row_version: i64,
    pub created_at: DateTime<Utc>,
}

/// Which licenses a list shows. Keyset-paged by license key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseFilter {
    pub plan_id: Option<Uuid>,
    pub state: Option<LicenseState>,
    /// A member by external id (exact).
    pub member: Option<String>,
    /// The start of a key, in any case, with or without dashes.
    pub key_prefix: Option<String>,
    /// The last key of the previous page.
    pub after: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicensePage {
    pub licenses: Vec<License>,
    /// The key to continue after, when there are more.
    pub next: Option<String>,
}

/// Crockford's base32 alphabet (no I, L, O, U).
pub const KEY_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const KEY_GROUPS: usize = 4;
pub const KEY_GROUP_LENGTH: usize = 5;

/// Formats 100 random bits as a key: `K7Q2M-9TXRD-4HWVB-N3CEZ`.
pub fn format_key(random: u128) -> String {
    let mut key = String::with_capacity(KEY_GROUPS * (KEY_GROUP_LENGTH + 1));
    for i in 0..KEY_GROUPS * KEY_GROUP_LENGTH {
        if i > 0 && i % KEY_GROUP_LENGTH == 0 {
            key.push('-');
        }
        let digit = (random >> (5 * i)) & 31;
        key.push(KEY_ALPHABET[digit as usize] as char);
    }
    key
}

/// Normalises a typed key or key prefix: upper case, Crockford's reading of look-alikes
/// (O → 0, I and L → 1), spaces dropped, dashes re-inserted every five characters.
/// Answers `None` for anything that cannot be part of a key.
pub fn normalise_key(value: &str) -> Option<String> {
    let mut digits = String::new();
    for c in value.trim().chars() {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            '-' | ' ' => continue,
            c => c,
        };
        if !KEY_ALPHABET.contains(&(c as u8)) || !c.is_ascii() {
            return None;
        }
        digits.push(c);
    }
    if digits.len() > KEY_GROUPS * KEY_GROUP_LENGTH {
        return None;
    }
    let mut key = String::with_capacity(digits.len() + KEY_GROUPS);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % KEY_GROUP_LENGTH == 0 {
            key.push('-');
        }
        key.push(c);
    }
    Some(key)
}

/// Change a license's own limits (tenant admins), optimistically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseEdit {
    pub license_id: Uuid,
    pub max_activations: i32,
    /// None: perpetual.
    pub expires_at: Option<DateTime<Utc>>,
    pub row_version: i64,
}

/// Suspend, reinstate or revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Suspend,
    Reinstate,
    Revoke,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Suspend => "suspend",
            Action::Reinstate => "reinstate",
            Action::Revoke => "revoke",
        }
    }
}

/// Give a member a seat: a given license, or any free one of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignInput {
    pub member_id: Uuid,
    pub plan_id: Option<Uuid>,
    pub license_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assigned {
    pub license_id: Uuid,
    pub license_key: String,
    pub held: i64,
    pub quota: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub assignment_id: Uuid,
    pub license_id: Uuid,
    pub license_key: String,
    pub plan_code: String,
    pub member_id: Uuid,
    pub external_id: String,
    pub method: String,
    pub assigned_at: DateTime<Utc>,
    pub assigned_by: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    /// "unassigned", "transferred" or "revoked".
    pub end_kind: Option<String>,
    pub end_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    pub activation_id: Uuid,
    pub license_id: Uuid,
    pub member_id: Uuid,
    pub fingerprint: String,
    pub device_name: Option<String>,
    pub activated_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// "deactivated", "unassigned", "transferred" or "revoked".
    pub deactivate_reason: Option<String>,
}

/// Activate a license on a device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivateInput {
    pub license_id: Uuid,
    pub fingerprint: String,
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activated {
    pub activation_id: Uuid,
    /// False when the device was active already (the same answer, nothing added).
    pub created: bool,
    pub activations: i32,
    pub max_activations: i32,
}

/// Checks a device fingerprint (visible text, 1 to 200 characters) and a device name.
pub fn fingerprint(value: &str) -> Checked<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Invalid::new("fingerprint", Problem::Required));
    }
    // Visible text only: unlike free text, a tab or line break inside an identifier
    // is never meant and would make two devices look alike in the console.
    if value.chars().any(char::is_control) {
        return Err(Invalid::new("fingerprint", Problem::Format));
    }
    if value.chars().count() > FINGERPRINT_LENGTH_MAX {
        return Err(Invalid::new(
            "fingerprint",
            Problem::TooLong {
                max: FINGERPRINT_LENGTH_MAX,
            },
        ));
    }
    Ok(value.to_owned())
}

pub fn device_name(value: Option<&str>) -> Checked<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    input::plain_text("device_name", value)?;
    if value.chars().count() > DEVICE_NAME_LENGTH_MAX {
        return Err(Invalid::new(
            "device_name",
            Problem::TooLong {
                max: DEVICE_NAME_LENGTH_MAX,
            },
        ));
    }
    Ok(Some(value.to_owned()))
}

/// A validation's answer: stable, machine-readable codes (the REST API's too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    Valid,
    NotFound,
    Expired,
    Suspended,
    Revoked,
    NotAssigned,
    /// More live activations than the license allows (its limit was lowered).
    TooManyActivations,
    FingerprintNotActivated,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Valid => "valid",
            Code::NotFound => "not_found",
            Code::Expired => "expired",
            Code::Suspended => "suspended",
            Code::Revoked => "revoked",
            Code::NotAssigned => "not_assigned",
            Code::TooManyActivations => "too_many_activations",
            Code::FingerprintNotActivated => "fingerprint_not_activated",
        }
    }

    /// The refusal code of a license in a state that is not usable.
    pub fn of_state(state: LicenseState) -> Option<Code> {
        match state {
            LicenseState::Revoked => Some(Code::Revoked),
            LicenseState::Suspended => Some(Code::Suspended),
            LicenseState::Expired => Some(Code::Expired),
            LicenseState::Free => Some(Code::NotAssigned),
            LicenseState::Assigned => None,
        }
    }
}

/// Validate a license key, optionally for one device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateInput {
    pub license_key: String,
    pub fingerprint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub valid: bool,
    pub code: Code,
    pub license_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    pub activations: Option<i32>,
    pub max_activations: Option<i32>,
    pub checked_at: DateTime<Utc>,
}

/// A member's licenses as the member page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLicenses {
    /// The member's `max_licenses` with where it comes from.
    pub quota: Quota,
    pub held: i64,
    pub licenses: Vec<License>,
    /// Activations of the licenses held, live first.
    pub activations: Vec<Activation>,
    /// Assignments, live and ended, newest first (at most 100).
    pub history: Vec<Assignment>,
}

/// A member holding more seats than the quota now allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverQuota {
    pub member_id: Uuid,
    pub external_id: String,
    pub display_name: String,
    pub held: i64,
    pub quota: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReport {
    pub plan_id: Uuid,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub issued: i64,
    pub assigned: i64,
    /// Licenses with at least one live activation.
    pub activated: i64,
    pub free: i64,
    /// Usable licenses whose expiry is within [`EXPIRING_REPORT_DAYS`].
    pub expiring: i64,
    pub suspended: i64,
    pub expired: i64,
    pub revoked: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub plans: Vec<PlanReport>,
    pub over_quota: i64,
    pub at: DateTime<Utc>,
}

/// What one run of the license lifecycle job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRun {
    pub expired: u64,
    pub reminded: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseEvent {
    pub event_id: i64,
    pub license_id: Uuid,
    pub member_id: Option<Uuid>,
    pub kind: String,
    pub cause: String,
    pub actor: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One license with its history, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseDetail {
    pub license: License,
    pub activations: Vec<Activation>,
    pub assignments: Vec<Assignment>,
    pub events: Vec<LicenseEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_grouped_crockford_and_prefixes_normalise() {
        let key = format_key(u128::MAX);
        assert_eq!(key, "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ");
        assert_eq!(format_key(0), "00000-00000-00000-00000");
        assert_eq!(normalise_key("k7q2m9t").as_deref(), Some("K7Q2M-9T"));
        assert_eq!(normalise_key("o1l-i").as_deref(), Some("0111"));
        assert_eq!(normalise_key("K7Q2M-"), Some("K7Q2M".into()));
        assert_eq!(normalise_key("U"), None);
        assert_eq!(normalise_key("é"), None);
        assert_eq!(normalise_key(&"A".repeat(21)), None);
    }

    #[test]
    fn fingerprints_are_visible_text() {
        assert_eq!(fingerprint(" laptop-1 ").unwrap(), "laptop-1");
        for bad in ["a\tb", "a\nb", "a\u{1b}[31m", "a\u{7f}"] {
            assert_eq!(
                fingerprint(bad).unwrap_err().field,
                "fingerprint",
                "{bad:?}"
            );
        }
        assert!(fingerprint(&"f".repeat(FINGERPRINT_LENGTH_MAX + 1)).is_err());
    }

    #[test]
    fn state_is_decided_by_flags_then_dates() {
        let now = Utc::now();
        let past = Some(now - chrono::Duration::seconds(1));
        assert_eq!(state(true, true, past, true, now), LicenseState::Revoked);
        assert_eq!(state(false, true, past, true, now), LicenseState::Suspended);
        assert_eq!(state(false, false, past, true, now), LicenseState::Expired);
        assert_eq!(
            state(false, false, Some(now), true, now),
            LicenseState::Expired
        );
        assert_eq!(state(false, false, None, true, now), LicenseState::Assigned);
        assert_eq!(state(false, false, None, false, now), LicenseState::Free);
    }

    #[test]
    fn plans_are_checked() {
        let mut plan = PlanInput {
            code: " Pro ".into(),
            name_zh: "专业版".into(),
            name_en: "Pro".into(),
            default_max_activations: 3,
            default_validity_days: Some(365),
            active: true,
        };
        assert_eq!(clean_plan(&plan).unwrap().code, "pro");
        plan.default_max_activations = 0;
        assert_eq!(
            clean_plan(&plan).unwrap_err().field,
            "default_max_activations"
        );
        plan.default_max_activations = 1;
        plan.default_validity_days = Some(-1);
        assert_eq!(
            clean_plan(&plan).unwrap_err().field,
            "default_validity_days"
        );
    }
}
