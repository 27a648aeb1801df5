//! Small SVG charts, rendered on the server (they show without JavaScript) and
//! hydrated without mismatches (every coordinate and label comes from the integer
//! arithmetic in [`scale`]).
//!
//! Each chart is an `<svg role="img">` titled by its `<title>`, drawn in a fixed viewBox
//! that the browser scales to the available width, with the legend in HTML (it does not
//! shrink with the drawing) and the numbers as a table in a `<details>` below: the
//! accessible and the exact form, and the fallback on a narrow screen. Callers pass the
//! words (title, headings) in the page's language; the charts know no language.
//! Values are non-negative counts.

pub mod scale;

use leptos::prelude::*;

use scale::{
    HEIGHT, MARGIN_LEFT, MARGIN_TOP, PLOT_HEIGHT, PLOT_WIDTH, TICKS_MAX, WIDTH, fit_text,
    format_count, labelled_indexes, value_axis, x_of_point, y_of,
};

/// The colours a series can take (whole class names, so Tailwind finds them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Indigo,
    Amber,
    Emerald,
    Slate,
}

impl Color {
    fn stroke(self) -> &'static str {
        match self {
            Color::Indigo => "stroke-indigo-600",
            Color::Amber => "stroke-amber-500",
            Color::Emerald => "stroke-emerald-600",
            Color::Slate => "stroke-slate-500",
        }
    }

    fn fill(self) -> &'static str {
        match self {
            Color::Indigo => "fill-indigo-600",
            Color::Amber => "fill-amber-500",
            Color::Emerald => "fill-emerald-600",
            Color::Slate => "fill-slate-500",
        }
    }

    fn swatch(self) -> &'static str {
        match self {
            Color::Indigo => "inline-block h-2.5 w-2.5 rounded-sm bg-indigo-600",
            Color::Amber => "inline-block h-2.5 w-2.5 rounded-sm bg-amber-500",
            Color::Emerald => "inline-block h-2.5 w-2.5 rounded-sm bg-emerald-600",
            Color::Slate => "inline-block h-2.5 w-2.5 rounded-sm bg-slate-500",
        }
    }
}

/// One line of a line chart: a value for each category label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub name: String,
    pub values: Vec<i64>,
    pub color: Color,
}

/// The words around a chart's numbers, in the page's language.
#[derive(Debug, Clone, Copy)]
pub struct TableWords {
    /// The `<details>` summary, e.g. "Show the numbers".
    pub show_numbers: &'static str,
    /// The heading of the label column, e.g. "Day".
    pub label_heading: &'static str,
}

/// A line chart of one or more series over the same categories (e.g. days). `id` must
/// be unique on the page (it ties the drawing to its title).
#[component]
pub fn LineChart(
    id: &'static str,
    title: String,
    labels: Vec<String>,
    series: Vec<Series>,
    words: TableWords,
) -> impl IntoView {
    let max = series
        .iter()
        .flat_map(|line| line.values.iter().copied())
        .max()
        .unwrap_or(0);
    let (step, top) = value_axis(max);
    let count = labels.len();
    let lines = series
        .iter()
        .map(|line| {
            let points = line
                .values
                .iter()
                .enumerate()
                .map(|(index, value)| format!("{},{}", x_of_point(index, count), y_of(*value, top)))
                .collect::<Vec<_>>()
                .join(" ");
            view! {
                <polyline
                    points=points
                    fill="none"
                    class=line.color.stroke()
                    stroke-width="2"
                    stroke-linejoin="round"
                />
            }
        })
        .collect_view();
    let category_labels = labelled_indexes(count)
        .into_iter()
        .map(|index| {
            let anchor = if index == 0 {
                "start"
            } else if index + 1 == count {
                "end"
            } else {
                "middle"
            };
            view! {
                <text
                    x=x_of_point(index, count).to_string()
                    y=(MARGIN_TOP + PLOT_HEIGHT + 18).to_string()
                    text-anchor=anchor
                    class="fill-slate-500"
                    font-size="11"
                >
                    {labels[index].clone()}
                </text>
            }
        })
        .collect_view();
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    let rows = (0..count)
        .map(|index| {
            let cells = series
                .iter()
                .map(|line| {
                    let value = line.values.get(index).copied().unwrap_or(0);
                    view! { <td class="px-2 py-1 text-right tabular-nums">{format_count(value)}</td> }
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
    let headings = series
        .iter()
        .map(|line| view! { <th scope="col" class="px-2 py-1 text-right">{line.name.clone()}</th> })
        .collect_view();
    view! {
        <figure class="w-full" data-testid=id>
            <Legend series=series.iter().map(|line| (line.name.clone(), line.color)).collect() />
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-labelledby=labelled_by
                class="h-auto w-full max-w-2xl"
            >
                <title id=title_id>{title.clone()}</title>
                <ValueAxis step top />
                {lines}
                {category_labels}
            </svg>
            <NumbersTable words caption=title headings rows />
        </figure>
    }
}

/// A bar chart: one bar per (label, value), the value written above its bar.
#[component]
pub fn BarChart(
    id: &'static str,
    title: String,
    bars: Vec<(String, i64)>,
    value_heading: &'static str,
    words: TableWords,
    #[prop(default = Color::Indigo)] color: Color,
) -> impl IntoView {
    let max = bars.iter().map(|(_, value)| *value).max().unwrap_or(0);
    let (step, top) = value_axis(max);
    let count = bars.len().max(1) as i64;
    let slot = PLOT_WIDTH / count;
    let bar_width = (slot * 6 / 10).max(2);
    let drawn = bars
        .iter()
        .enumerate()
        .map(|(index, (label, value))| {
            let x = MARGIN_LEFT + index as i64 * slot + (slot - bar_width) / 2;
            let y = y_of(*value, top);
            let center = MARGIN_LEFT + index as i64 * slot + slot / 2;
            view! {
                <g>
                    <rect
                        x=x.to_string()
                        y=y.to_string()
                        width=bar_width.to_string()
                        height=(MARGIN_TOP + PLOT_HEIGHT - y).to_string()
                        class=color.fill()
                        rx="2"
                    />
                    <text
                        x=center.to_string()
                        y=(y - 4).to_string()
                        text-anchor="middle"
                        class="fill-slate-700"
                        font-size="11"
                    >
                        {format_count(*value)}
                    </text>
                    <text
                        x=center.to_string()
                        y=(MARGIN_TOP + PLOT_HEIGHT + 18).to_string()
                        text-anchor="middle"
                        class="fill-slate-500"
                        font-size="11"
                    >
                        {fit_text(label, slot)}
                    </text>
                </g>
            }
        })
        .collect_view();
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    let rows = bars
        .iter()
        .map(|(label, value)| {
            view! {
                <tr class="border-t border-slate-100">
                    <th scope="row" class="px-2 py-1 text-left font-normal">{label.clone()}</th>
                    <td class="px-2 py-1 text-right tabular-nums">{format_count(*value)}</td>
                </tr>
            }
        })
        .collect_view();
    let headings = view! { <th scope="col" class="px-2 py-1 text-right">{value_heading}</th> };
    view! {
        <figure class="w-full" data-testid=id>
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-labelledby=labelled_by
                class="h-auto w-full max-w-2xl"
            >
                <title id=title_id>{title.clone()}</title>
                <ValueAxis step top />
                {drawn}
            </svg>
            <NumbersTable words caption=title headings rows />
        </figure>
    }
}

/// Gridlines and their labels from 0 to `top` every `step`.
#[component]
fn ValueAxis(step: i64, top: i64) -> impl IntoView {
    let lines = (0..=TICKS_MAX)
        .map(|tick| tick * step)
        .take_while(|value| *value <= top)
        .map(|value| {
            let y = y_of(value, top);
            view! {
                <line
                    x1=MARGIN_LEFT.to_string()
                    x2=(MARGIN_LEFT + PLOT_WIDTH).to_string()
                    y1=y.to_string()
                    y2=y.to_string()
                    class="stroke-slate-200"
                    stroke-width="1"
                />
                <text
                    x=(MARGIN_LEFT - 6).to_string()
                    y=(y + 4).to_string()
                    text-anchor="end"
                    class="fill-slate-500"
                    font-size="11"
                >
                    {format_count(value)}
                </text>
            }
        })
        .collect_view();
    view! { <g aria-hidden="true">{lines}</g> }
}

/// The series' names and colours, as HTML above the drawing (it keeps its size when
/// the drawing shrinks).
#[component]
fn Legend(series: Vec<(String, Color)>) -> impl IntoView {
    let items = series
        .into_iter()
        .map(|(name, color)| {
            view! {
                <li class="flex items-center gap-1.5">
                    <span class=color.swatch() aria-hidden="true"></span>
                    {name}
                </li>
            }
        })
        .collect_view();
    view! { <ul class="mb-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600">{items}</ul> }
}

/// The chart's numbers as a table, folded away below the drawing.
#[component]
fn NumbersTable(
    words: TableWords,
    caption: String,
    headings: impl IntoView + 'static,
    rows: impl IntoView + 'static,
) -> impl IntoView {
    view! {
        <details class="mt-2 text-sm">
            <summary class="cursor-pointer text-slate-600">{words.show_numbers}</summary>
            <div class="mt-2 max-h-80 overflow-auto">
                <table class="min-w-full text-sm">
                    <caption class="sr-only">{caption}</caption>
                    <thead class="text-slate-500">
                        <tr>
                            <th scope="col" class="px-2 py-1 text-left">{words.label_heading}</th>
                            {headings}
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </details>
    }
}
