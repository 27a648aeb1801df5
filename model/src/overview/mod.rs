//! The overview: the product manager's page of a tenant's figures.
//!
//! One [`Overview`] answers the page: members, points issued and spent per day over a
//! range, points outstanding, the level distribution and its change, tags held and
//! expiring, pending approvals, recent ledger activity. The range is one of
//! [`RANGE_DAYS`]; days are UTC days.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::points::ledger::EntryKind;
use crate::{Invalid, Problem};

/// The chart ranges the page offers, in days (the first is the default).
pub const RANGE_DAYS: [u32; 2] = [30, 90];
/// Days counted as "this week" (new members) and "soon" (expiring grants).
pub const WEEK_DAYS: i64 = 7;
/// The window of the level distribution's change, in days.
pub const LEVEL_CHANGE_DAYS: i64 = 30;
/// Ledger entries listed as recent activity.
pub const RECENT_ENTRIES_MAX: i64 = 8;

/// The tenant's figures at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// The last day of the range (today, UTC).
    pub today: NaiveDate,
    pub days: u32,
    pub members_total: i64,
    /// Members registered in the last seven days.
    pub members_new_7d: i64,
    /// One entry per day of the range, oldest first, days without entries included.
    pub points: Vec<DayPoints>,
    /// Points members can still spend: the sum of every entry ever, which is the sum of
    /// the members' available points (the ledger invariant).
    pub outstanding: i64,
    /// Active tiers in order, then members without a level (if any).
    pub levels: Vec<LevelCount>,
    /// Grants in force now (active or in grace).
    pub tags_held: i64,
    /// Grants in force that end within seven days.
    pub expiring_7d: i64,
    pub pending_approvals: i64,
    /// The newest ledger entries, newest first.
    pub recent: Vec<Activity>,
}

/// Points moved on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayPoints {
    pub day: NaiveDate,
    /// Sum of positive entries.
    pub issued: i64,
    /// Magnitude of spend entries.
    pub spent: i64,
    /// Magnitude of other deductions (expiry, negative adjustments, reversals).
    pub deducted: i64,
}

/// Members at one level now, and the net change over the last 30 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelCount {
    /// `None` for members without a level.
    pub tier_id: Option<Uuid>,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub members: i64,
    /// Members who arrived at this level minus members who left it, last 30 days.
    pub change_30d: i64,
}

/// One recent ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub member_id: Uuid,
    pub display_name: String,
    pub kind: EntryKind,
    pub points: i64,
    pub created_at: DateTime<Utc>,
}

impl Overview {
    /// Total points issued over the range.
    pub fn issued_in_range(&self) -> i64 {
        self.points.iter().map(|day| day.issued).sum()
    }

    /// Total points spent over the range.
    pub fn spent_in_range(&self) -> i64 {
        self.points.iter().map(|day| day.spent).sum()
    }

    /// Total other deductions over the range.
    pub fn deducted_in_range(&self) -> i64 {
        self.points.iter().map(|day| day.deducted).sum()
    }
}

/// The range asked for, if the page offers it.
pub fn checked_days(days: u32) -> Result<u32, Invalid> {
    if RANGE_DAYS.contains(&days) {
        Ok(days)
    } else {
        Err(Invalid {
            field: "days",
            problem: Problem::Format,
        })
    }
}

/// One entry per day from `today - days + 1` to `today`, taking each day's figures
/// from `known` (any order; days outside the range are ignored) and zero otherwise.
pub fn fill_days(today: NaiveDate, days: u32, known: &[DayPoints]) -> Vec<DayPoints> {
    (0..days)
        .rev()
        .map(|back| {
            let day = today - chrono::Days::new(u64::from(back));
            known
                .iter()
                .find(|point| point.day == day)
                .copied()
                .unwrap_or(DayPoints {
                    day,
                    issued: 0,
                    spent: 0,
                    deducted: 0,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_outside_the_offer_are_refused() {
        assert_eq!(checked_days(30), Ok(30));
        assert_eq!(checked_days(90), Ok(90));
        assert!(checked_days(0).is_err());
        assert!(checked_days(365).is_err());
    }

    #[test]
    fn days_are_filled_oldest_first() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let known = [DayPoints {
            day: NaiveDate::from_ymd_opt(2026, 2, 28).unwrap(),
            issued: 5,
            spent: 2,
            deducted: 0,
        }];
        let filled = fill_days(today, 3, &known);
        assert_eq!(filled.len(), 3);
        assert_eq!(filled[0].day, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        assert_eq!(filled[0].issued, 5);
        assert_eq!(filled[2].day, today);
        assert_eq!(filled[2].issued, 0);
    }
}
