//! The arithmetic of the charts, pure and in integers: the server and the browser
//! compute the same coordinates and the same text, so hydration finds the markup it
//! expects (no floating point formatting, no measuring in the browser).

/// The drawing's own units (the SVG viewBox); the browser scales it to the width
/// available. 400 wide keeps 11-unit text at about 10 px on a 390 px phone.
pub const WIDTH: i64 = 400;
pub const HEIGHT: i64 = 220;
/// Room for the value axis's labels (numbers with separators) on the left.
pub const MARGIN_LEFT: i64 = 64;
pub const MARGIN_RIGHT: i64 = 12;
pub const MARGIN_TOP: i64 = 16;
/// Room for the category labels below the plot.
pub const MARGIN_BOTTOM: i64 = 28;
pub const PLOT_WIDTH: i64 = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
pub const PLOT_HEIGHT: i64 = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
/// Gridlines of the value axis at most (zero included: `TICKS_MAX + 1` lines).
pub const TICKS_MAX: i64 = 4;
/// Labels along the category axis of a line chart at most.
pub const CATEGORY_LABELS_MAX: usize = 5;
/// Text width budget: an ASCII character counts 1, a wide (CJK) one 2, in units of
/// about 6 viewBox units at the charts' font size.
pub const TEXT_UNIT_WIDTH: i64 = 6;

/// `1234567` → `"1,234,567"`; negative numbers keep their sign.
pub fn format_count(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A change with its sign: `+12`, `-3`, `0`.
pub fn format_change(value: i64) -> String {
    if value > 0 {
        format!("+{}", format_count(value))
    } else {
        format_count(value)
    }
}

/// The value axis: a round step (1, 2 or 5 × 10ⁿ) and the top of the axis, a multiple
/// of the step at or above `max`, with at most [`TICKS_MAX`] steps. An empty or
/// all-zero chart gets the axis 0…4.
pub fn value_axis(max: i64) -> (i64, i64) {
    let max = max.max(0);
    if max == 0 {
        return (1, TICKS_MAX);
    }
    let raw = ceil_div(max, TICKS_MAX);
    let mut magnitude = 1_i64;
    while magnitude.saturating_mul(10) <= raw {
        magnitude = magnitude.saturating_mul(10);
    }
    let step = [1, 2, 5, 10]
        .iter()
        .map(|factor| magnitude.saturating_mul(*factor))
        .find(|step| *step >= raw)
        .unwrap_or(raw);
    (step, ceil_div(max, step).saturating_mul(step))
}

/// `value / divisor` rounded up, for positive numbers (without overflow at the top).
fn ceil_div(value: i64, divisor: i64) -> i64 {
    value / divisor + i64::from(value % divisor != 0)
}

/// The vertical position of `value` on an axis from 0 to `top` (negative values sit on
/// the zero line; the charts show non-negative figures).
pub fn y_of(value: i64, top: i64) -> i64 {
    let value = i128::from(value.clamp(0, top));
    let offset = value * i128::from(PLOT_HEIGHT) / i128::from(top.max(1));
    MARGIN_TOP + PLOT_HEIGHT - offset as i64
}

/// The horizontal position of point `index` of `count`, spread over the plot's width.
pub fn x_of_point(index: usize, count: usize) -> i64 {
    if count <= 1 {
        return MARGIN_LEFT + PLOT_WIDTH / 2;
    }
    MARGIN_LEFT + index as i64 * PLOT_WIDTH / (count as i64 - 1)
}

/// The indexes that get a label on a line chart's category axis: the first, the last
/// and evenly spaced ones between, at most [`CATEGORY_LABELS_MAX`].
pub fn labelled_indexes(count: usize) -> Vec<usize> {
    if count == 0 {
        return Vec::new();
    }
    let slots = CATEGORY_LABELS_MAX.min(count);
    if slots == 1 {
        return vec![0];
    }
    let mut indexes: Vec<usize> = (0..slots)
        .map(|slot| slot * (count - 1) / (slots - 1))
        .collect();
    indexes.dedup();
    indexes
}

/// The width of a text in [`TEXT_UNIT_WIDTH`] units (wide characters count two).
pub fn text_units(text: &str) -> i64 {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// `text` cut to fit `width` viewBox units, with an ellipsis when cut.
pub fn fit_text(text: &str, width: i64) -> String {
    let budget = width / TEXT_UNIT_WIDTH;
    if text_units(text) <= budget {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 1; // the ellipsis
    for c in text.chars() {
        let units = if c.is_ascii() { 1 } else { 2 };
        if used + units > budget {
            break;
        }
        used += units;
        out.push(c);
    }
    let mut out = out.trim_end().to_owned();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(-1_234_567), "-1,234,567");
        assert_eq!(format_count(i64::MIN), "-9,223,372,036,854,775,808");
        assert_eq!(format_change(12), "+12");
        assert_eq!(format_change(-3), "-3");
        assert_eq!(format_change(0), "0");
    }

    #[test]
    fn axes_are_round_and_cover_the_maximum() {
        assert_eq!(value_axis(0), (1, 4));
        assert_eq!(value_axis(3), (1, 3));
        assert_eq!(value_axis(7), (2, 8));
        assert_eq!(value_axis(100), (50, 100));
        assert_eq!(value_axis(1234), (500, 1500));
        assert_eq!(value_axis(9_999_999), (5_000_000, 10_000_000));
        for max in [1, 9, 11, 99, 101, 4001, 123_456_789, i64::MAX / 2] {
            let (step, top) = value_axis(max);
            assert!(top >= max && top / step <= TICKS_MAX, "{max}: {step} {top}");
        }
    }

    #[test]
    fn positions_stay_inside_the_plot() {
        assert_eq!(y_of(0, 100), MARGIN_TOP + PLOT_HEIGHT);
        assert_eq!(y_of(100, 100), MARGIN_TOP);
        assert_eq!(y_of(-5, 100), MARGIN_TOP + PLOT_HEIGHT);
        assert_eq!(y_of(i64::MAX, i64::MAX), MARGIN_TOP);
        assert_eq!(x_of_point(0, 30), MARGIN_LEFT);
        assert_eq!(x_of_point(29, 30), MARGIN_LEFT + PLOT_WIDTH);
        assert_eq!(labelled_indexes(30), vec![0, 7, 14, 21, 29]);
        assert_eq!(labelled_indexes(2), vec![0, 1]);
        assert_eq!(labelled_indexes(0), Vec::<usize>::new());
    }

    #[test]
    fn long_labels_are_cut_to_their_room() {
        assert_eq!(fit_text("Gold", 60), "Gold");
        assert_eq!(fit_text("Platinum member", 60), "Platinum…");
        assert_eq!(fit_text("钻石会员等级", 60), "钻石会员…");
    }
}
