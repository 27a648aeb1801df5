//! Cohorts of a gray rollout: strata and the per-stratum bucket thresholds of a stage.
//!
//! Plain Unleash bucketing takes the same share of everyone, so a 5 % stage of a
//! tenant where most members are active is mostly active members. Seed 000's rollout
//! plan instead wants every stage to be a mix of 50 % active, 30 % long-standing and
//! 20 % new members, so that the early stages show how each kind of member fares. The
//! mix is reached without giving up Unleash's buckets: each stratum gets its own bucket
//! threshold, chosen from a histogram of members per stratum and bucket, and a member
//! is in the stage iff their bucket is at most their stratum's threshold. Thresholds
//! only grow from stage to stage, so widening a rollout never removes anyone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Checked, Invalid, Problem};

/// Upper bound of [`Strata`]'s day counts (ten years): a typo of a few zeros is
/// refused rather than silently making everyone long-standing or nobody.
pub const DAYS_MAX: i64 = 3650;

/// The kind of member a stratified rollout balances: recently active, long-standing
/// (registered long ago, not recently active) or new (neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stratum {
    Active,
    LongStanding,
    New,
}

impl Stratum {
    /// Every stratum, in the order of [`Strata::mix`], [`Histogram::counts`] and
    /// every per-stratum array of this module.
    pub const ALL: [Stratum; 3] = [Stratum::Active, Stratum::LongStanding, Stratum::New];

    /// The stratum's position in [`Stratum::ALL`] (and so in per-stratum arrays).
    pub fn index(self) -> usize {
        match self {
            Stratum::Active => 0,
            Stratum::LongStanding => 1,
            Stratum::New => 2,
        }
    }

    /// The stable name (stored and sent as is; the same as its serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            Stratum::Active => "active",
            Stratum::LongStanding => "long_standing",
            Stratum::New => "new",
        }
    }

    /// The stratum named by [`Stratum::as_str`]; anything else is refused.
    pub fn parse(value: &str) -> Checked<Stratum> {
        match value {
            "active" => Ok(Stratum::Active),
            "long_standing" => Ok(Stratum::LongStanding),
            "new" => Ok(Stratum::New),
            _ => Err(Invalid::new("stratum", Problem::Format)),
        }
    }
}

/// The strata's definitions and the mix a stratified stage aims for; editable per
/// rollout. The defaults are seed 000's: active within 30 days, long-standing after a
/// year, and a 50/30/20 mix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strata {
    /// A member who logged in at most this many days ago is [`Stratum::Active`].
    pub active_days: i64,
    /// Otherwise, a member registered at least this many days ago is
    /// [`Stratum::LongStanding`]; everyone else is [`Stratum::New`].
    pub long_standing_days: i64,
    /// Percent of a stage per stratum, in [`Stratum::ALL`] order; sums to 100.
    pub mix: [u8; 3],
}

impl Default for Strata {
    fn default() -> Self {
        Strata {
            active_days: 30,
            long_standing_days: 365,
            mix: [50, 30, 20],
        }
    }
}

impl Strata {
    /// Both day counts within 1..=[`DAYS_MAX`] and a mix summing to 100 %.
    ///
    /// `long_standing_days` need not exceed `active_days`: the two measure different
    /// dates (last login, registration), so any pair is meaningful.
    pub fn validate(&self) -> Checked<()> {
        for (field, value) in [
            ("active_days", self.active_days),
            ("long_standing_days", self.long_standing_days),
        ] {
            if value < 1 {
                return Err(Invalid::new(field, Problem::Format));
            }
            if value > DAYS_MAX {
                return Err(Invalid::new(field, Problem::TooLarge { max: DAYS_MAX }));
            }
        }
        if self.mix.iter().map(|&share| u32::from(share)).sum::<u32>() != 100 {
            return Err(Invalid::new("mix", Problem::Format));
        }
        Ok(())
    }

    /// The member's stratum as of `now`. Days are whole elapsed 24-hour periods,
    /// `(now - at).num_days()`, as the legacy migration's formula counts a last login:
    /// [`Stratum::Active`] if the last login is at most `active_days` ago (a login in
    /// the future counts as now), else [`Stratum::LongStanding`] if registered at
    /// least `long_standing_days` ago, else [`Stratum::New`] (never logged in
    /// included).
    pub fn stratum(
        &self,
        registered_at: DateTime<Utc>,
        last_login_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Stratum {
        if last_login_at.is_some_and(|at| (now - at).num_days() <= self.active_days) {
            return Stratum::Active;
        }
        if (now - registered_at).num_days() >= self.long_standing_days {
            Stratum::LongStanding
        } else {
            Stratum::New
        }
    }
}

/// Members per stratum per bucket: `counts[s][b - 1]` for stratum index `s`
/// ([`Stratum::ALL`] order) and bucket `b` in 1..=100. It is all [`thresholds`] needs
/// to know of a population (a few kilobytes whatever the tenant's size), so the
/// database can aggregate it in one pass and the console can recompute stages in the
/// browser.
///
/// Serialized as `{"counts": [[…100 numbers…], […], […]]}`; other shapes are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HistogramWire", into = "HistogramWire")]
pub struct Histogram {
    pub counts: [[u64; 100]; 3],
}

/// [`Histogram`]'s serde form (serde has no impls for arrays of 100).
#[derive(Serialize, Deserialize)]
struct HistogramWire {
    counts: Vec<Vec<u64>>,
}

impl From<Histogram> for HistogramWire {
    fn from(histogram: Histogram) -> Self {
        HistogramWire {
            counts: histogram.counts.iter().map(|row| row.to_vec()).collect(),
        }
    }
}

impl TryFrom<HistogramWire> for Histogram {
    type Error = String;

    fn try_from(wire: HistogramWire) -> Result<Self, Self::Error> {
        if wire.counts.len() != 3 {
            return Err(format!(
                "a histogram has 3 strata, not {}",
                wire.counts.len()
            ));
        }
        let mut histogram = Histogram::default();
        for (row, counts) in histogram.counts.iter_mut().zip(&wire.counts) {
            *row = counts
                .as_slice()
                .try_into()
                .map_err(|_| format!("a stratum has 100 buckets, not {}", counts.len()))?;
        }
        Ok(histogram)
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: [[0; 100]; 3],
        }
    }
}

impl Histogram {
    /// Counts one member of `stratum` in `bucket` (1..=100, as
    /// [`bucket`](super::bucket::bucket) answers; a value outside is clamped into that
    /// range, so every member added is counted).
    pub fn add(&mut self, stratum: Stratum, bucket: u8) {
        let b = usize::from(bucket.clamp(1, 100)) - 1;
        self.counts[stratum.index()][b] += 1;
    }

    /// Members in the histogram.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Members of one stratum.
    pub fn stratum_total(&self, stratum: Stratum) -> u64 {
        self.counts[stratum.index()].iter().sum()
    }

    /// Members per stratum in a stage of these thresholds: those whose bucket is at
    /// most their stratum's threshold (above 100 counts as 100).
    pub fn selected(&self, thresholds: &[u8; 3]) -> [u64; 3] {
        std::array::from_fn(|s| {
            let t = usize::from(thresholds[s].min(100));
            self.counts[s][..t].iter().sum()
        })
    }
}

/// Per-stratum bucket thresholds of a stage: a member of stratum `s` is in the stage
/// iff their bucket is at most `thresholds[s]` (so a stage is still a set of Unleash
/// shares, one per stratum).
///
/// - `percent` (0..=100; above counts as 100) is the stage's share of all members.
///   100 % is everyone: `[100, 100, 100]`.
/// - Not `stratified`: every stratum gets `percent`, exactly Unleash's gradual
///   rollout (`min_members` is not applied).
/// - `stratified`: the stage aims for `N = max(⌈percent × total / 100⌉,
///   min(min_members, total))` members, `round(mix[s] × N / 100)` of them from stratum
///   `s` (seed 000's 50/30/20 by default), each stratum's threshold being the lowest
///   bucket that reaches its want. A stratum too small for its want gets threshold 100
///   and its shortfall goes to the strata that can still supply members, in
///   proportion to their mix (a stratum with a mix of 0 takes none: the mix is the
///   operator's choice), until none is left or nobody can take it.
/// - `previous` is the rollout's thresholds so far: the answer is never below it in
///   any stratum, so widening a stage never removes anyone.
/// - Stratified stages then take at least `min(min_members, total)` members (a
///   floor so that a 5 % stage of a small tenant is still worth looking at): the
///   threshold of the stratum furthest below its want (lowest selected/want ratio;
///   ties in [`Stratum::ALL`] order) is raised one bucket at a time until the floor is
///   reached.
///
/// For a fixed histogram, passing each stage's answer as the next stage's `previous`
/// gives thresholds that never decrease as `percent` grows.
pub fn thresholds(
    h: &Histogram,
    percent: u8,
    stratified: Option<&Strata>,
    min_members: u64,
    previous: [u8; 3],
) -> [u8; 3] {
    let percent = percent.min(100);
    let previous = previous.map(|t| t.min(100));
    if percent == 100 {
        return [100; 3];
    }
    let Some(strata) = stratified else {
        return previous.map(|t| t.max(percent));
    };

    let total = h.total();
    let floor = min_members.min(total);
    let target = u64::try_from((u128::from(percent) * u128::from(total)).div_ceil(100))
        .unwrap_or(u64::MAX)
        .max(floor);
    let sizes = Stratum::ALL.map(|s| h.stratum_total(s));
    let mix = strata.mix.map(u64::from);

    let mut want: [u64; 3] =
        std::array::from_fn(|s| share(target, mix[s], 100, 50).unwrap_or(u64::MAX));
    let mut short = [false; 3];
    loop {
        let mut excess = 0u64;
        for s in 0..3 {
            if want[s] > sizes[s] {
                excess += want[s] - sizes[s];
                want[s] = sizes[s];
                short[s] = true;
            }
        }
        let open: Vec<usize> = (0..3)
            .filter(|&s| want[s] < sizes[s] && mix[s] > 0)
            .collect();
        let weight: u64 = open.iter().map(|&s| mix[s]).sum();
        if excess == 0 || weight == 0 {
            break;
        }
        for (s, extra) in apportion(excess, &open, &mix, weight) {
            want[s] += extra;
        }
    }

    let mut result: [u8; 3] = std::array::from_fn(|s| {
        if short[s] {
            return 100;
        }
        let mut reached = 0u64;
        let mut t = 0u8;
        while reached < want[s] && t < 100 {
            reached += h.counts[s][usize::from(t)];
            t += 1;
        }
        t
    });
    for s in 0..3 {
        result[s] = result[s].max(previous[s]);
    }

    loop {
        let selected = h.selected(&result);
        if selected.iter().sum::<u64>() >= floor {
            break;
        }
        // Below the floor, so some stratum has members above its threshold.
        let Some(lowest) = (0..3)
            .filter(|&s| result[s] < 100 && selected[s] < sizes[s])
            .min_by(|&a, &b| ratio_order((selected[a], want[a]), (selected[b], want[b])))
        else {
            break;
        };
        result[lowest] += 1;
    }
    result
}

/// `round(value × numerator / denominator)` (with `half` = denominator / 2 rounding
/// halves up), or `None` past `u64`.
fn share(value: u64, numerator: u64, denominator: u64, half: u64) -> Option<u64> {
    let exact =
        (u128::from(value) * u128::from(numerator) + u128::from(half)) / u128::from(denominator);
    u64::try_from(exact).ok()
}

/// Splits `amount` among the strata of `open` in proportion to their mix, whole
/// members by the largest remainder (ties in [`Stratum::ALL`] order), so the parts
/// sum to `amount` exactly.
fn apportion(amount: u64, open: &[usize], mix: &[u64; 3], weight: u64) -> Vec<(usize, u64)> {
    let mut parts: Vec<(usize, u64, u128)> = open
        .iter()
        .map(|&s| {
            let exact = u128::from(amount) * u128::from(mix[s]);
            let whole = exact / u128::from(weight);
            (
                s,
                u64::try_from(whole).unwrap_or(u64::MAX),
                exact % u128::from(weight),
            )
        })
        .collect();
    let given: u64 = parts.iter().map(|&(_, whole, _)| whole).sum();
    let mut left = amount - given;
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| {
        parts[b]
            .2
            .cmp(&parts[a].2)
            .then(parts[a].0.cmp(&parts[b].0))
    });
    for i in order {
        if left == 0 {
            break;
        }
        parts[i].1 += 1;
        left -= 1;
    }
    parts.into_iter().map(|(s, part, _)| (s, part)).collect()
}

/// Orders strata by selected/want, lowest first; a want of 0 is an infinite ratio
/// (such a stratum is raised last).
fn ratio_order(a: (u64, u64), b: (u64, u64)) -> std::cmp::Ordering {
    match (a.1, b.1) {
        (0, 0) => std::cmp::Ordering::Equal,
        (0, _) => std::cmp::Ordering::Greater,
        (_, 0) => std::cmp::Ordering::Less,
        (want_a, want_b) => {
            (u128::from(a.0) * u128::from(want_b)).cmp(&(u128::from(b.0) * u128::from(want_a)))
        }
    }
}

/// Each stratum's share of a stage, in percent (what the console shows next to the
/// mix aimed for); all zeros for an empty stage.
pub fn realised_mix(selected: [u64; 3]) -> [f64; 3] {
    let total: u64 = selected.iter().sum();
    if total == 0 {
        return [0.0; 3];
    }
    selected.map(|n| n as f64 * 100.0 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::bucket::bucket;
    use chrono::{Duration, TimeZone};

    /// A synthetic population: `sizes[s]` members of each stratum, bucketed by
    /// Unleash's rule on keys `"<stratum>-<i>"`.
    fn population(sizes: [u64; 3]) -> Histogram {
        let mut h = Histogram::default();
        for (s, &n) in Stratum::ALL.iter().zip(&sizes) {
            for i in 0..n {
                h.add(*s, bucket("rollout", &format!("{}-{i}", s.as_str())));
            }
        }
        h
    }

    fn sum(selected: [u64; 3]) -> u64 {
        selected.iter().sum()
    }

    #[test]
    fn stratum_names_round_trip() {
        for s in Stratum::ALL {
            assert_eq!(Stratum::parse(s.as_str()), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
            assert_eq!(Stratum::ALL[s.index()], s);
        }
        assert_eq!(
            Stratum::parse("Active"),
            Err(Invalid::new("stratum", Problem::Format))
        );
    }

    #[test]
    fn strata_validate() {
        assert_eq!(Strata::default().validate(), Ok(()));
        let with = |change: fn(&mut Strata)| {
            let mut strata = Strata::default();
            change(&mut strata);
            strata.validate()
        };
        assert_eq!(
            with(|s| s.active_days = 0),
            Err(Invalid::new("active_days", Problem::Format))
        );
        assert_eq!(
            with(|s| s.long_standing_days = DAYS_MAX + 1),
            Err(Invalid::new(
                "long_standing_days",
                Problem::TooLarge { max: DAYS_MAX }
            ))
        );
        assert_eq!(with(|s| s.long_standing_days = DAYS_MAX), Ok(()));
        // Not required to be in order.
        assert_eq!(
            with(|s| {
                s.active_days = 400;
                s.long_standing_days = 10;
            }),
            Ok(())
        );
        assert_eq!(
            with(|s| s.mix = [50, 30, 30]),
            Err(Invalid::new("mix", Problem::Format))
        );
        assert_eq!(
            with(|s| s.mix = [200, 200, 112]),
            Err(Invalid::new("mix", Problem::Format))
        );
        assert_eq!(with(|s| s.mix = [100, 0, 0]), Ok(()));
    }

    #[test]
    fn strata_classify() {
        let strata = Strata::default();
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
        let old = now - Duration::days(400);
        let young = now - Duration::days(100);
        // Active: within 30 whole days, boundary included, future included.
        assert_eq!(
            strata.stratum(young, Some(now - Duration::days(30)), now),
            Stratum::Active
        );
        assert_eq!(
            strata.stratum(
                old,
                Some(now - Duration::days(31) + Duration::hours(1)),
                now
            ),
            Stratum::Active
        );
        assert_eq!(
            strata.stratum(young, Some(now + Duration::days(2)), now),
            Stratum::Active
        );
        // Not active: long-standing from 365 days, else new.
        assert_eq!(
            strata.stratum(old, Some(now - Duration::days(31)), now),
            Stratum::LongStanding
        );
        assert_eq!(
            strata.stratum(now - Duration::days(365), None, now),
            Stratum::LongStanding
        );
        assert_eq!(
            strata.stratum(now - Duration::days(365) + Duration::minutes(1), None, now),
            Stratum::New
        );
        assert_eq!(strata.stratum(young, None, now), Stratum::New);
    }

    #[test]
    fn histogram_counts_and_selects() {
        let mut h = Histogram::default();
        h.add(Stratum::Active, 1);
        h.add(Stratum::Active, 100);
        h.add(Stratum::New, 50);
        h.add(Stratum::New, 0); // clamped to 1
        assert_eq!(h.total(), 4);
        assert_eq!(h.stratum_total(Stratum::Active), 2);
        assert_eq!(h.stratum_total(Stratum::LongStanding), 0);
        assert_eq!(h.selected(&[1, 100, 49]), [1, 0, 1]);
        assert_eq!(h.selected(&[100, 0, 50]), [2, 0, 2]);
        assert_eq!(h.selected(&[0, 0, 0]), [0, 0, 0]);
    }

    #[test]
    fn histogram_serde() {
        let h = population([30, 20, 10]);
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.starts_with("{\"counts\":[["));
        assert_eq!(serde_json::from_str::<Histogram>(&json).unwrap(), h);
        assert!(serde_json::from_str::<Histogram>("{\"counts\":[[1,2],[],[]]}").is_err());
        assert!(serde_json::from_str::<Histogram>("{\"counts\":[]}").is_err());
        let strata = Strata::default();
        let json = serde_json::to_string(&strata).unwrap();
        assert_eq!(serde_json::from_str::<Strata>(&json).unwrap(), strata);
    }

    #[test]
    fn hundred_percent_is_everyone() {
        let h = population([70, 20, 10]);
        for stratified in [None, Some(&Strata::default())] {
            assert_eq!(thresholds(&h, 100, stratified, 0, [0; 3]), [100; 3]);
            assert_eq!(thresholds(&h, 150, stratified, 0, [0; 3]), [100; 3]);
        }
    }

    #[test]
    fn not_stratified_is_the_percent() {
        let h = population([700, 200, 100]);
        for percent in 0..=100 {
            assert_eq!(
                thresholds(&h, percent, None, 1_000, [0; 3]),
                [percent; 3],
                "{percent}"
            );
        }
        assert_eq!(thresholds(&h, 10, None, 0, [30, 0, 5]), [30, 10, 10]);
    }

    #[test]
    fn stratified_mix_on_unequal_strata() {
        let h = population([7_000, 2_000, 1_000]);
        let t = thresholds(&h, 20, Some(&Strata::default()), 0, [0; 3]);
        let selected = h.selected(&t);
        // About 1000/600/400 of 2000: each at least its want, at most one bucket more.
        let want = [1_000, 600, 400];
        for s in 0..3 {
            assert!(selected[s] >= want[s], "{selected:?} {t:?}");
            let next = h.counts[s][usize::from(t[s]) - 1];
            assert!(selected[s] - next < want[s], "{selected:?} {t:?}");
        }
        let mix = realised_mix(selected);
        for (realised, aimed) in mix.iter().zip([50.0, 30.0, 20.0]) {
            assert!((realised - aimed).abs() < 2.5, "{mix:?}");
        }
        // Far from Unleash's flat 20 %, which would be 70/20/10.
        assert!(t[0] < 20 && t[1] > 20 && t[2] > 20, "{t:?}");
    }

    #[test]
    fn monotone_in_percent() {
        for sizes in [
            [7_000, 2_000, 1_000],
            [50, 3_000, 400],
            [0, 900, 100],
            [15, 0, 0],
        ] {
            let h = population(sizes);
            let total = h.total();
            for min_members in [0, 10, 250] {
                let strata = Strata::default();
                let mut previous = [0u8; 3];
                let mut previous_selected = 0;
                for percent in 1..=100u8 {
                    let t = thresholds(&h, percent, Some(&strata), min_members, previous);
                    for s in 0..3 {
                        assert!(
                            t[s] >= previous[s],
                            "{sizes:?} {percent}: {previous:?} → {t:?}"
                        );
                    }
                    let selected = sum(h.selected(&t));
                    assert!(selected >= previous_selected);
                    assert!(selected >= min_members.min(total));
                    // The stage's share is reached up to the rounding of the wants.
                    let aimed = (u64::from(percent) * total).div_ceil(100);
                    assert!(
                        selected + 2 >= aimed,
                        "{sizes:?} {percent}: {selected} < {aimed}"
                    );
                    previous = t;
                    previous_selected = selected;
                }
                assert_eq!(previous, [100; 3]);
                assert_eq!(previous_selected, total);
            }
        }
    }

    #[test]
    fn tiny_population_gets_the_floor() {
        let h = population([9, 4, 2]);
        assert_eq!(h.total(), 15);
        let t = thresholds(&h, 5, Some(&Strata::default()), 10, [0; 3]);
        let selected = h.selected(&t);
        assert!(sum(selected) >= 10, "{selected:?} {t:?}");
        // Each stratum contributes (the wants are 5/3/2).
        assert!(selected.iter().all(|&n| n > 0), "{selected:?}");
        // A floor above the population is everyone.
        let t = thresholds(&h, 5, Some(&Strata::default()), 1_000, [0; 3]);
        assert_eq!(sum(h.selected(&t)), 15);
    }

    #[test]
    fn empty_stratum_shortfall_goes_to_the_others() {
        let h = population([8_000, 2_000, 0]);
        let t = thresholds(&h, 20, Some(&Strata::default()), 0, [0; 3]);
        let selected = h.selected(&t);
        // New members are wanted but there are none: threshold 100 (anyone who becomes
        // new later is in), and their 400 go 250/150 to the others.
        assert_eq!(t[2], 100);
        assert_eq!(selected[2], 0);
        assert!(selected[0] >= 1_250 && selected[0] < 1_400, "{selected:?}");
        assert!(selected[1] >= 750 && selected[1] < 850, "{selected:?}");
        // A population of one stratum only.
        let h = population([0, 0, 500]);
        let t = thresholds(&h, 10, Some(&Strata::default()), 0, [0; 3]);
        assert_eq!(&t[..2], &[100, 100]);
        let selected = h.selected(&t);
        assert!(selected[2] >= 50 && selected[2] < 65, "{selected:?} {t:?}");
    }

    #[test]
    fn zero_mix_takes_no_shortfall() {
        let h = population([100, 5_000, 1_000]);
        let strata = Strata {
            mix: [100, 0, 0],
            ..Strata::default()
        };
        let t = thresholds(&h, 10, Some(&strata), 0, [0; 3]);
        assert_eq!(t, [100, 0, 0]);
        assert_eq!(h.selected(&t), [100, 0, 0]);
    }

    #[test]
    fn zero_percent_is_nobody_unless_the_floor() {
        let h = population([700, 200, 100]);
        let strata = Strata::default();
        assert_eq!(thresholds(&h, 0, Some(&strata), 0, [0; 3]), [0; 3]);
        assert_eq!(thresholds(&h, 0, None, 50, [0; 3]), [0; 3]);
        let t = thresholds(&h, 0, Some(&strata), 50, [0; 3]);
        let selected = h.selected(&t);
        assert!(sum(selected) >= 50 && sum(selected) < 80, "{selected:?}");
        assert!(selected[0] > selected[2], "{selected:?}");
        // An empty population: nothing to select, any threshold.
        let t = thresholds(&Histogram::default(), 0, Some(&strata), 50, [0; 3]);
        assert_eq!(t, [0; 3]);
    }

    #[test]
    fn previous_is_kept() {
        let h = population([700, 200, 100]);
        let t = thresholds(&h, 5, Some(&Strata::default()), 0, [60, 0, 90]);
        assert_eq!((t[0], t[2]), (60, 90));
        assert!(t[1] > 0);
    }

    #[test]
    fn realised_mix_in_percent() {
        assert_eq!(realised_mix([0, 0, 0]), [0.0; 3]);
        assert_eq!(realised_mix([50, 30, 20]), [50.0, 30.0, 20.0]);
        assert_eq!(realised_mix([1, 0, 3]), [25.0, 0.0, 75.0]);
    }
}
