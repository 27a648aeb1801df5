//! Level tiers and the level function (pure: the same rules run in the server's
//! statements and, for instant feedback, in the browser).
//!
//! A member's level is a pure function of `total_points` and the tenant's active tiers
//! ([`level_for`]); active tiers must cover 0..∞ without overlap or gap ([`validate`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Checked, Invalid, Problem};
use crate::input;

pub const TIERS_MAX: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub tier_id: Uuid,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub sort_order: i32,
    pub min_points: i64,
    pub max_points: Option<i64>,
    pub active: bool,
    pub permissions: Vec<String>,
    pub max_licenses: i32,
}

/// A tier as an admin submits it: `tier_id` is `None` for a new tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierInput {
    pub tier_id: Option<Uuid>,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub sort_order: i32,
    pub min_points: i64,
    pub max_points: Option<i64>,
    pub active: bool,
    pub permissions: Vec<String>,
    pub max_licenses: i32,
}

impl From<&Tier> for TierInput {
    /// The input that saves a tier unchanged (the starting point of an edit).
    fn from(t: &Tier) -> Self {
        TierInput {
            tier_id: Some(t.tier_id),
            code: t.code.clone(),
            name_zh: t.name_zh.clone(),
            name_en: t.name_en.clone(),
            sort_order: t.sort_order,
            min_points: t.min_points,
            max_points: t.max_points,
            active: t.active,
            permissions: t.permissions.clone(),
            max_licenses: t.max_licenses,
        }
    }
}

/// Why a set of tiers is not acceptable; each names the tiers involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TierProblem {
    DuplicateCode {
        code: String,
    },
    DuplicateOrder {
        first: String,
        second: String,
    },
    Overlap {
        first: String,
        second: String,
    },
    Gap {
        after: String,
        from: i64,
        to: i64,
    },
    DoesNotStartAtZero {
        first: String,
        min_points: i64,
    },
    OpenEndedNotLast {
        code: String,
    },
    NoOpenEndedTier,
    /// Every existing tier must be in the new set (deactivate a tier to retire it).
    MissingTier {
        code: String,
    },
}

/// The level for `total_points`: the active tier whose range holds it.
pub fn level_for(tiers: &[Tier], total_points: i64) -> Option<&Tier> {
    tiers
        .iter()
        .filter(|tier| tier.active && tier.min_points <= total_points)
        .filter(|tier| tier.max_points.is_none_or(|max| total_points <= max))
        .min_by_key(|tier| tier.sort_order)
}

/// Checks a whole set of tiers: unique codes and orders; active ranges sorted by
/// `min_points` start at 0, touch without overlap or gap, and end open-ended.
pub fn validate(tiers: &[Tier]) -> Result<(), TierProblem> {
    let mut codes = BTreeMap::new();
    let mut orders: BTreeMap<i32, &str> = BTreeMap::new();
    for tier in tiers {
        if codes.insert(tier.code.as_str(), ()).is_some() {
            return Err(TierProblem::DuplicateCode {
                code: tier.code.clone(),
            });
        }
        if let Some(first) = orders.insert(tier.sort_order, &tier.code) {
            return Err(TierProblem::DuplicateOrder {
                first: first.into(),
                second: tier.code.clone(),
            });
        }
    }
    let mut active: Vec<&Tier> = tiers.iter().filter(|tier| tier.active).collect();
    if active.is_empty() {
        return Ok(());
    }
    active.sort_by_key(|tier| (tier.min_points, tier.sort_order));
    if active[0].min_points != 0 {
        return Err(TierProblem::DoesNotStartAtZero {
            first: active[0].code.clone(),
            min_points: active[0].min_points,
        });
    }
    for pair in active.windows(2) {
        let (lower, upper) = (pair[0], pair[1]);
        let Some(lower_max) = lower.max_points else {
            return Err(TierProblem::OpenEndedNotLast {
                code: lower.code.clone(),
            });
        };
        if upper.min_points <= lower_max {
            return Err(TierProblem::Overlap {
                first: lower.code.clone(),
                second: upper.code.clone(),
            });
        }
        if upper.min_points > lower_max + 1 {
            return Err(TierProblem::Gap {
                after: lower.code.clone(),
                from: lower_max + 1,
                to: upper.min_points - 1,
            });
        }
    }
    if active.last().is_some_and(|top| top.max_points.is_some()) {
        return Err(TierProblem::NoOpenEndedTier);
    }
    Ok(())
}

/// One submitted tier, cleaned (a new tier gets its id here); the set is checked by
/// [`validate`].
pub fn clean(input: &TierInput) -> Checked<Tier> {
    let code = input::code(&input.code)?;
    if input.sort_order < 0 {
        return Err(Invalid::new("sort_order", Problem::Format));
    }
    if input.min_points < 0 {
        return Err(Invalid::new("min_points", Problem::Format));
    }
    if input.max_points.is_some_and(|max| max < input.min_points) {
        return Err(Invalid::new("max_points", Problem::Format));
    }
    if input.max_licenses < 0 {
        return Err(Invalid::new("max_licenses", Problem::Format));
    }
    let permissions = input::permissions(&input.permissions)?;
    Ok(Tier {
        tier_id: input.tier_id.unwrap_or_else(Uuid::new_v4),
        code,
        name_zh: input::name("name_zh", &input.name_zh)?,
        name_en: input::name("name_en", &input.name_en)?,
        sort_order: input.sort_order,
        min_points: input.min_points,
        max_points: input.max_points,
        active: input.active,
        permissions,
        max_licenses: input.max_licenses,
    })
}

/// How many members a tier change moves, computed over the whole tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Preview {
    pub moved_up: i64,
    pub moved_down: i64,
    pub unchanged: i64,
    /// Per tier code (plus "" for members without a level): members now and after.
    pub per_tier: Vec<TierCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierCount {
    pub code: String,
    pub before: i64,
    pub after: i64,
}

/// Progress of storing members' levels after the last tier save.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RelevelProgress {
    pub running: bool,
    /// 1: every member; 2: members changed around the save.
    pub pass: i32,
    pub members_total: i64,
    pub members_done: i64,
    /// Members the save was expected to move, and moved so far.
    pub expected_moves: i64,
    pub moved: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A member's level history, newest first (bounded).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LevelChange {
    pub from_code: Option<String>,
    pub to_code: Option<String>,
    pub cause: String,
    pub ledger_seq: Option<i64>,
    pub total_points: i64,
    pub created_at: DateTime<Utc>,
}

/// Default tiers for a new tenant or the demo: bronze 0–999, silver 1000–2999, gold
/// 3000–9999, platinum 10000–29999, diamond 30000+.
pub fn default_tiers() -> Vec<TierInput> {
    let tier = |code: &str,
                zh: &str,
                en: &str,
                order: i32,
                min: i64,
                max: Option<i64>,
                perms: &[&str],
                licenses| {
        TierInput {
            tier_id: None,
            code: code.into(),
            name_zh: zh.into(),
            name_en: en.into(),
            sort_order: order,
            min_points: min,
            max_points: max,
            active: true,
            permissions: perms.iter().map(|p| (*p).to_owned()).collect(),
            max_licenses: licenses,
        }
    };
    vec![
        tier(
            "bronze",
            "青铜",
            "Bronze",
            1,
            0,
            Some(999),
            &["license_request"],
            1,
        ),
        tier(
            "silver",
            "白银",
            "Silver",
            2,
            1000,
            Some(2999),
            &["license_request"],
            5,
        ),
        tier(
            "gold",
            "黄金",
            "Gold",
            3,
            3000,
            Some(9999),
            &["license_request", "api_access"],
            10,
        ),
        tier(
            "platinum",
            "铂金",
            "Platinum",
            4,
            10000,
            Some(29999),
            &["license_request", "api_access", "batch_operations"],
            20,
        ),
        tier(
            "diamond",
            "钻石",
            "Diamond",
            5,
            30000,
            None,
            &[
                "license_request",
                "api_access",
                "batch_operations",
                "priority_support",
            ],
            50,
        ),
    ]
}
