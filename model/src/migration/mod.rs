//! The legacy migration's pure rules: the historical-points formula (seed 000's
//! `calculate_historical_points`, every coefficient editable) and the user-type → tag
//! mapping. The server computes with them; the console's "this member would get …"
//! sample uses the same functions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Checked, Invalid, Problem};

/// The stored reports of legacy imports.
pub mod imports;
/// Routing, checkpoints, reports and runs.
pub mod run;
/// The console's live sample of the formula and mapping.
pub mod sample;

/// Upper bound of every coefficient and threshold (a typo of a few zeros is refused
/// rather than migrated).
pub const COEFFICIENT_MAX: i64 = 1_000_000;
/// Points one formula part can give a member at most: payments of absurd size are
/// capped here (and reported), never overflowed.
pub const PART_POINTS_MAX: i64 = 1_000_000_000;

/// The historical-points formula. Defaults are seed 000's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Formula {
    /// Points per day since registration…
    pub registration_per_day: i64,
    /// …capped at this.
    pub registration_cap: i64,
    /// Points per license assignment the member had.
    pub per_license: i64,
    /// Activity: last login at most `recent_days` ago.
    pub recent_days: i64,
    pub recent_points: i64,
    /// Activity: at most `month_days` ago.
    pub month_days: i64,
    pub month_points: i64,
    /// Activity: longer ago (a member who never logged in gets nothing).
    pub older_points: i64,
    /// Points per currency unit paid (fractions of a point are dropped).
    pub per_currency_unit: i64,
}

impl Default for Formula {
    fn default() -> Self {
        Formula {
            registration_per_day: 5,
            registration_cap: 500,
            per_license: 50,
            recent_days: 7,
            recent_points: 200,
            month_days: 30,
            month_points: 100,
            older_points: 50,
            per_currency_unit: 5,
        }
    }
}

impl Formula {
    /// Every coefficient within 0..=[`COEFFICIENT_MAX`], and the activity windows in
    /// order (recent before month).
    pub fn validate(&self) -> Checked<()> {
        let fields = [
            ("registration_per_day", self.registration_per_day),
            ("registration_cap", self.registration_cap),
            ("per_license", self.per_license),
            ("recent_days", self.recent_days),
            ("recent_points", self.recent_points),
            ("month_days", self.month_days),
            ("month_points", self.month_points),
            ("older_points", self.older_points),
            ("per_currency_unit", self.per_currency_unit),
        ];
        for (field, value) in fields {
            if value < 0 {
                return Err(Invalid::new(field, Problem::Format));
            }
            if value > COEFFICIENT_MAX {
                return Err(Invalid::new(
                    field,
                    Problem::TooLarge {
                        max: COEFFICIENT_MAX,
                    },
                ));
            }
        }
        if self.month_days < self.recent_days {
            return Err(Invalid::new("month_days", Problem::Format));
        }
        Ok(())
    }
}

/// A part of the historical points: each becomes its own `migration` ledger entry
/// with the part as its category, so a member's ledger explains the opening balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Registration,
    LicenseActivity,
    Activity,
    Payment,
}

impl Part {
    pub const ALL: [Part; 4] = [
        Part::Registration,
        Part::LicenseActivity,
        Part::Activity,
        Part::Payment,
    ];

    /// The ledger category of the part's entry.
    pub fn category(self) -> &'static str {
        match self {
            Part::Registration => "registration",
            Part::LicenseActivity => "license_activity",
            Part::Activity => "activity",
            Part::Payment => "payment",
        }
    }
}

/// A legacy member as the formula reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyInputs {
    pub registered_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub license_count: i64,
    /// In hundredths of the currency unit (the CSV's decimal, exactly).
    pub payment_total_cents: i64,
}

/// The points of each part (zero parts included, in [`Part::ALL`] order) as of `now`.
///
/// Edge cases, decided here once: a registration or last login in the future counts
/// as today (0 days ago); negative license counts and payments count as 0 (a refund
/// larger than the payments does not take points away); every part is capped at
/// [`PART_POINTS_MAX`]; days are whole UTC days (calendar dates for registration, as
/// the seed does, and elapsed 24-hour periods for the last login).
pub fn historical_points(
    formula: &Formula,
    member: &LegacyInputs,
    now: DateTime<Utc>,
) -> [(Part, i64); 4] {
    let cap = |value: i128| value.clamp(0, i128::from(PART_POINTS_MAX)) as i64;
    let registered_days = (now.date_naive() - member.registered_at.date_naive())
        .num_days()
        .max(0);
    let registration = cap(i128::from(registered_days) * i128::from(formula.registration_per_day))
        .min(formula.registration_cap);
    let licenses = cap(i128::from(member.license_count.max(0)) * i128::from(formula.per_license));
    let activity = match member.last_login_at {
        None => 0,
        Some(at) => {
            let days = (now - at).num_days().max(0);
            if days <= formula.recent_days {
                formula.recent_points
            } else if days <= formula.month_days {
                formula.month_points
            } else {
                formula.older_points
            }
        }
    };
    let payment = cap(i128::from(member.payment_total_cents.max(0))
        * i128::from(formula.per_currency_unit)
        / 100);
    [
        (Part::Registration, registration),
        (Part::LicenseActivity, licenses),
        (Part::Activity, activity),
        (Part::Payment, payment),
    ]
}

/// The total of [`historical_points`].
pub fn historical_total(formula: &Formula, member: &LegacyInputs, now: DateTime<Utc>) -> i64 {
    historical_points(formula, member, now)
        .iter()
        .map(|(_, points)| points)
        .sum()
}

/// Which tag a legacy user type becomes (types not listed get none). Defaults are
/// seed 000's: 1 → vip, 2 → enterprise, 3 → education.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// (legacy user type id, tag code), sorted by type, each type once.
    pub tags: Vec<(i32, String)>,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            tags: vec![
                (1, "vip".into()),
                (2, "enterprise".into()),
                (3, "education".into()),
            ],
        }
    }
}

impl Mapping {
    /// The tag code a user type maps to.
    pub fn tag_for(&self, user_type: i32) -> Option<&str> {
        self.tags
            .iter()
            .find(|(t, _)| *t == user_type)
            .map(|(_, code)| code.as_str())
    }

    /// Sorted by type, each type once, each tag a catalogue code.
    pub fn clean(&self) -> Checked<Mapping> {
        let mut tags = Vec::with_capacity(self.tags.len());
        for (user_type, code) in &self.tags {
            tags.push((*user_type, crate::input::code(code)?));
        }
        tags.sort();
        if tags.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(Invalid::new("user_type", Problem::Format));
        }
        Ok(Mapping { tags })
    }
}

/// A tenant's mapping and formula as saved: version 0 is the seed's defaults, never
/// saved; every save is the next version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub version: i32,
    pub formula: Formula,
    pub mapping: Mapping,
    pub saved_at: Option<DateTime<Utc>>,
    pub saved_by: Option<String>,
}

/// Parses a decimal amount of money (`1234.5`, `-3`, `0.07`; at most two decimals, no
/// exponent or thousands separators) into hundredths.
pub fn parse_cents(field: &'static str, value: &str) -> Checked<i64> {
    let value = value.trim();
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() <= 2
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(Invalid::new(field, Problem::Format));
    }
    let too_large = || {
        Invalid::new(
            field,
            Problem::TooLarge {
                max: i64::MAX / 100,
            },
        )
    };
    let whole: i64 = whole.parse().map_err(|_| too_large())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    let cents = whole
        .checked_mul(100)
        .and_then(|c| c.checked_add(fraction))
        .ok_or_else(too_large)?;
    Ok(if negative { -cents } else { cents })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
    }

    fn member(
        days_registered: i64,
        login_days: Option<i64>,
        licenses: i64,
        cents: i64,
    ) -> LegacyInputs {
        LegacyInputs {
            registered_at: now() - Duration::days(days_registered),
            last_login_at: login_days.map(|d| now() - Duration::days(d)),
            license_count: licenses,
            payment_total_cents: cents,
        }
    }

    #[test]
    fn the_seed_formula() {
        let f = Formula::default();
        // 30 days × 5 = 150; 2 licenses = 100; login 3 days ago = 200; ¥99.99 × 5 = 499.
        let parts = historical_points(&f, &member(30, Some(3), 2, 9_999), now());
        assert_eq!(
            parts,
            [
                (Part::Registration, 150),
                (Part::LicenseActivity, 100),
                (Part::Activity, 200),
                (Part::Payment, 499),
            ]
        );
        assert_eq!(
            historical_total(&f, &member(30, Some(3), 2, 9_999), now()),
            949
        );
        // The registration part is capped at 500; activity by window.
        assert_eq!(
            historical_points(&f, &member(5000, Some(7), 0, 0), now())[0].1,
            500
        );
        assert_eq!(
            historical_points(&f, &member(1, Some(7), 0, 0), now())[2].1,
            200
        );
        assert_eq!(
            historical_points(&f, &member(1, Some(8), 0, 0), now())[2].1,
            100
        );
        assert_eq!(
            historical_points(&f, &member(1, Some(30), 0, 0), now())[2].1,
            100
        );
        assert_eq!(
            historical_points(&f, &member(1, Some(31), 0, 0), now())[2].1,
            50
        );
        assert_eq!(historical_points(&f, &member(1, None, 0, 0), now())[2].1, 0);
    }

    #[test]
    fn dirty_inputs_are_clamped_not_overflowed() {
        let f = Formula::default();
        // Registered and logged in "tomorrow": 0 days.
        let future = member(-1, Some(-1), -3, -500);
        assert_eq!(
            historical_points(&f, &future, now()),
            [
                (Part::Registration, 0),
                (Part::LicenseActivity, 0),
                (Part::Activity, 200),
                (Part::Payment, 0),
            ]
        );
        let huge = member(10, None, i64::MAX, i64::MAX);
        let parts = historical_points(&f, &huge, now());
        assert_eq!(parts[1].1, PART_POINTS_MAX);
        assert_eq!(parts[3].1, PART_POINTS_MAX);
    }

    #[test]
    fn the_seed_mapping() {
        let mapping = Mapping::default();
        assert_eq!(mapping.tag_for(2), Some("enterprise"));
        assert_eq!(mapping.tag_for(4), None);
        let twice = Mapping {
            tags: vec![(1, "vip".into()), (1, "edu".into())],
        };
        assert!(twice.clean().is_err());
        let messy = Mapping {
            tags: vec![(3, " EDU ".into()), (1, "vip".into())],
        };
        assert_eq!(
            messy.clean().unwrap().tags,
            vec![(1, "vip".to_owned()), (3, "edu".to_owned())]
        );
    }

    #[test]
    fn formulas_and_amounts_are_checked() {
        assert!(Formula::default().validate().is_ok());
        let negative = Formula {
            per_license: -1,
            ..Formula::default()
        };
        assert_eq!(negative.validate().unwrap_err().field, "per_license");
        let windows = Formula {
            recent_days: 40,
            ..Formula::default()
        };
        assert_eq!(windows.validate().unwrap_err().field, "month_days");
        assert_eq!(parse_cents("p", "1234.5"), Ok(123_450));
        assert_eq!(parse_cents("p", "0.07"), Ok(7));
        assert_eq!(parse_cents("p", "-3"), Ok(-300));
        assert_eq!(parse_cents("p", " 12 "), Ok(1200));
        for bad in [
            "",
            "1.234",
            "1e5",
            "1,000",
            "abc",
            ".5",
            "--1",
            "99999999999999999999",
        ] {
            assert!(parse_cents("p", bad).is_err(), "{bad}");
        }
    }
}

/// The legacy model's data, as imported.
pub mod legacy {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};

    /// A legacy user type: the permission keys it grants and its license quota.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct UserType {
        pub type_id: i32,
        pub name: String,
        pub permissions: Vec<String>,
        pub max_licenses: i32,
    }

    /// A legacy member as the legacy system had it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Member {
        pub external_id: String,
        pub user_type: i32,
        pub registered_at: DateTime<Utc>,
        pub last_login_at: Option<DateTime<Utc>>,
        pub license_count: i32,
        pub payment_total_cents: i64,
    }

    impl Member {
        /// What the formula reads.
        pub fn inputs(&self) -> super::LegacyInputs {
            super::LegacyInputs {
                registered_at: self.registered_at,
                last_login_at: self.last_login_at,
                license_count: i64::from(self.license_count),
                payment_total_cents: self.payment_total_cents,
            }
        }
    }

    /// A permission question answered the legacy way: from the member's user type.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Answer {
        pub external_id: String,
        pub user_type: i32,
        /// False when the member's type is not in the tenant's types (no permissions,
        /// quota 0: what the legacy system did with such members is unknown, so the
        /// dry run lists them).
        pub type_known: bool,
        pub permissions: Vec<String>,
        pub max_licenses: i64,
    }

    impl Answer {
        pub fn has(&self, key: &str) -> bool {
            self.permissions.iter().any(|p| p == key)
        }
    }

    /// Members per user type.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct TypeCount {
        pub type_id: i32,
        /// None: a type the members name but the tenant's types do not have.
        pub name: Option<String>,
        pub members: i64,
    }

    /// A row an import could not take, and why.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct BadRow {
        /// The line the record starts on (1 is the header).
        pub line: u64,
        /// The column, or `record` when the line itself could not be read.
        pub field: String,
        /// A stable code: `required`, `format`, `too_long`, `too_large`, `encoding`,
        /// `unclosed_quote`, `text_after_quote`, `columns`, `duplicate`.
        pub problem: String,
    }

    /// What an import did.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ImportReport {
        /// Data rows read (the header excluded).
        pub rows: u64,
        pub inserted: u64,
        /// Rows that changed an existing row (its `updated_at` moved).
        pub updated: u64,
        /// Rows equal to what was there.
        pub unchanged: u64,
        pub bad_total: u64,
        /// The first [`BAD_ROWS_LISTED`] bad rows.
        pub bad: Vec<BadRow>,
    }

    /// Bad rows listed in a report (all are counted).
    pub const BAD_ROWS_LISTED: usize = 1000;

    /// The tenant's legacy data at a glance.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Summary {
        pub types: Vec<UserType>,
        pub members: i64,
        pub per_type: Vec<TypeCount>,
        pub last_change: Option<DateTime<Utc>>,
    }
}
