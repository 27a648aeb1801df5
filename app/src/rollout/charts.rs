//! The rollout dashboard's time charts: minutes (or snapshots) along the bottom, one
//! line per series, gaps where a minute has no value, an optional reference line (the
//! gate), and the values in a unit (counts, hundredths, percent, latency). Built on the
//! shared chart geometry (`crate::charts::scale`), so the server and the browser draw
//! the same markup; drawn on the server, so they show without JavaScript. Like the
//! shared charts: `role="img"` titled by its `<title>`, the legend in HTML, the numbers
//! in a `<details>` table.

use leptos::prelude::*;

use crate::charts::scale::{
    HEIGHT, MARGIN_LEFT, MARGIN_TOP, PLOT_HEIGHT, PLOT_WIDTH, TICKS_MAX, WIDTH, format_count,
    labelled_indexes, value_axis, x_of_point, y_of,
};

/// A series' colour (whole class names, so Tailwind finds them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hue {
    Indigo,
    Amber,
    Emerald,
    Slate,
    Rose,
    Sky,
}

impl Hue {
    /// In order, for series that have no colour of their own.
    pub const ALL: [Hue; 6] = [
        Hue::Indigo,
        Hue::Amber,
        Hue::Emerald,
        Hue::Rose,
        Hue::Sky,
        Hue::Slate,
    ];

    fn stroke(self) -> &'static str {
        match self {
            Hue::Indigo => "stroke-indigo-600",
            Hue::Amber => "stroke-amber-500",
            Hue::Emerald => "stroke-emerald-600",
            Hue::Slate => "stroke-slate-500",
            Hue::Rose => "stroke-rose-600",
            Hue::Sky => "stroke-sky-500",
        }
    }

    fn swatch(self) -> &'static str {
        match self {
            Hue::Indigo => "inline-block h-2.5 w-2.5 rounded-sm bg-indigo-600",
            Hue::Amber => "inline-block h-2.5 w-2.5 rounded-sm bg-amber-500",
            Hue::Emerald => "inline-block h-2.5 w-2.5 rounded-sm bg-emerald-600",
            Hue::Slate => "inline-block h-2.5 w-2.5 rounded-sm bg-slate-500",
            Hue::Rose => "inline-block h-2.5 w-2.5 rounded-sm bg-rose-600",
            Hue::Sky => "inline-block h-2.5 w-2.5 rounded-sm bg-sky-500",
        }
    }
}

/// How a chart's integer values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Whole counts: `1,234`.
    Count,
    /// Hundredths: `12.34`.
    Hundredths,
    /// Hundredths of a percent, on a fixed 0–100 % axis: `95.5 %`.
    Percent,
    /// Microseconds, shown as milliseconds: `12.3 ms`.
    Micros,
}

impl Unit {
    pub fn format(self, value: i64) -> String {
        match self {
            Unit::Count => format_count(value),
            Unit::Hundredths => decimals(value, 100, 2),
            Unit::Percent => format!("{} %", decimals(value, 100, 2)),
            Unit::Micros => format!("{} ms", decimals(value, 1000, 1)),
        }
    }

    /// The axis: a step and a top at or above `max`.
    fn axis(self, max: i64) -> (i64, i64) {
        match self {
            Unit::Percent => (2_500, 10_000),
            _ => value_axis(max),
        }
    }
}

/// `value / scale` with at most `places` decimals, trailing zeros dropped (integer
/// arithmetic, so both renders agree).
pub fn decimals(value: i64, scale: i64, places: u32) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let value = value.unsigned_abs();
    let scale = scale.unsigned_abs().max(1);
    let whole = value / scale;
    let unit = 10_u64.pow(places);
    let fraction = (value % scale) * unit / scale;
    let mut text = format!("{sign}{}", format_count(whole as i64));
    if fraction > 0 {
        let digits = format!("{fraction:0width$}", width = places as usize);
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text
}

/// One line: a value (or none) per label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub name: String,
    pub values: Vec<Option<i64>>,
    pub hue: Hue,
}

/// The words around a chart.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    pub show_numbers: &'static str,
    pub label_heading: &'static str,
    /// The reference line's name in the legend (e.g. "Gate").
    pub reference: &'static str,
}

/// A line chart over time. `id` is unique on the page; `reference` draws a dashed line
/// at that value.
#[component]
pub fn TimeChart(
    id: &'static str,
    title: String,
    labels: Vec<String>,
    lines: Vec<Line>,
    unit: Unit,
    words: Words,
    #[prop(optional)] reference: Option<i64>,
) -> impl IntoView {
    let max = lines
        .iter()
        .flat_map(|line| line.values.iter().flatten().copied())
        .chain(reference)
        .max()
        .unwrap_or(0);
    let (step, top) = unit.axis(max);
    let count = labels.len();
    let drawn = lines
        .iter()
        .map(|line| {
            let segments = segments(&line.values, count, top);
            let dots = line
                .values
                .iter()
                .enumerate()
                .filter_map(|(index, value)| {
                    value.map(|value| {
                        view! {
                            <circle cx=x_of_point(index, count).to_string() cy=y_of(value, top).to_string()
                                r="2" class=format!("{} fill-white", line.hue.stroke()) stroke-width="1.5" data-point="" />
                        }
                    })
                })
                .collect_view();
            let polylines = segments
                .into_iter()
                .map(|points| {
                    view! {
                        <polyline points=points fill="none" class=line.hue.stroke() stroke-width="2" stroke-linejoin="round" />
                    }
                })
                .collect_view();
            view! { <g data-series=line.name.clone()>{polylines}{dots}</g> }
        })
        .collect_view();
    let reference_line = reference.map(|value| {
        let y = y_of(value, top).to_string();
        view! {
            <line x1=MARGIN_LEFT.to_string() x2=(MARGIN_LEFT + PLOT_WIDTH).to_string() y1=y.clone() y2=y
                class="stroke-red-500" stroke-width="1.5" stroke-dasharray="4 3" data-testid=format!("{id}-reference") />
        }
    });
    let category_labels = labelled_indexes(count)
        .into_iter()
        .map(|index| {
            let anchor = if index == 0 && count > 1 {
                "start"
            } else if index + 1 == count && count > 1 {
                "end"
            } else {
                "middle"
            };
            view! {
                <text x=x_of_point(index, count).to_string() y=(MARGIN_TOP + PLOT_HEIGHT + 18).to_string()
                    text-anchor=anchor class="fill-slate-500" font-size="11">{labels[index].clone()}</text>
            }
        })
        .collect_view();
    let ticks = (0..=TICKS_MAX)
        .map(|tick| tick * step)
        .take_while(|value| *value <= top)
        .map(|value| {
            let y = y_of(value, top);
            view! {
                <line x1=MARGIN_LEFT.to_string() x2=(MARGIN_LEFT + PLOT_WIDTH).to_string() y1=y.to_string() y2=y.to_string()
                    class="stroke-slate-200" stroke-width="1" />
                <text x=(MARGIN_LEFT - 6).to_string() y=(y + 4).to_string() text-anchor="end" class="fill-slate-500" font-size="11">
                    {unit.format(value)}
                </text>
            }
        })
        .collect_view();
    let legend = lines
        .iter()
        .map(|line| (line.name.clone(), line.hue.swatch(), false))
        .chain(reference.map(|_| (words.reference.to_owned(), "inline-block h-0.5 w-3 bg-red-500", true)))
        .map(|(name, swatch, _)| {
            view! { <li class="flex items-center gap-1.5"><span class=swatch aria-hidden="true"></span>{name}</li> }
        })
        .collect_view();
    let headings = lines
        .iter()
        .map(|line| view! { <th scope="col" class="px-2 py-1 text-right">{line.name.clone()}</th> })
        .collect_view();
    let rows = (0..count)
        .map(|index| {
            let cells = lines
                .iter()
                .map(|line| {
                    let value = line.values.get(index).copied().flatten();
                    view! { <td class="px-2 py-1 text-right tabular-nums">{value.map_or_else(|| "—".to_owned(), |v| unit.format(v))}</td> }
                })
                .collect_view();
            view! {
                <tr class="border-t border-slate-100">
                    <th scope="row" class="px-2 py-1 text-left font-normal">{labels[index].clone()}</th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    let caption = title.clone();
    let points: usize = lines
        .iter()
        .map(|l| l.values.iter().flatten().count())
        .sum();
    view! {
        <figure class="w-full min-w-0" data-testid=id data-points=points.to_string()>
            <figcaption class="mb-1 text-sm font-medium text-slate-700">{title.clone()}</figcaption>
            <ul class="mb-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600">{legend}</ul>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby=labelled_by class="h-auto w-full max-w-2xl">
                <title id=title_id>{title}</title>
                <g aria-hidden="true">{ticks}</g>
                {reference_line}
                {drawn}
                {category_labels}
            </svg>
            <details class="mt-2 text-sm">
                <summary class="cursor-pointer text-slate-600">{words.show_numbers}</summary>
                <div class="mt-2 max-h-80 overflow-auto">
                    <table class="min-w-full text-sm">
                        <caption class="sr-only">{caption}</caption>
                        <thead class="text-slate-500"><tr>
                            <th scope="col" class="px-2 py-1 text-left">{words.label_heading}</th>
                            {headings}
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
}

/// The polylines of a series: runs of consecutive values (a gap breaks the line).
fn segments(values: &[Option<i64>], count: usize, top: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match value {
            Some(value) => current.push(format!(
                "{},{}",
                x_of_point(index, count),
                y_of(*value, top)
            )),
            None => {
                if current.len() > 1 {
                    out.push(current.join(" "));
                }
                current.clear();
            }
        }
    }
    if current.len() > 1 {
        out.push(current.join(" "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_as_people_write_them() {
        assert_eq!(Unit::Percent.format(9_550), "95.5 %");
        assert_eq!(Unit::Percent.format(10_000), "100 %");
        assert_eq!(Unit::Micros.format(12_345), "12.3 ms");
        assert_eq!(Unit::Hundredths.format(2_005), "20.05");
        assert_eq!(Unit::Count.format(1_234), "1,234");
        assert_eq!(decimals(-150, 100, 2), "-1.5");
    }

    #[test]
    fn gaps_break_the_line() {
        let lines = segments(
            &[Some(1), Some(2), None, Some(3), None, Some(4), Some(5)],
            7,
            10,
        );
        assert_eq!(lines.len(), 2);
    }
}
