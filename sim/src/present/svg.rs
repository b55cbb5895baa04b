//! Hand-written SVG plots for reports: empirical CDFs and grouped bar charts.
//!
//! Written by hand rather than with a plotting crate so that the output is small, has no
//! fonts or scripts to fetch, and is byte-identical for the same data on every machine:
//! every coordinate is computed from integers and printed with a fixed number of decimals.

use crate::format::fmt_duration;
use std::fmt::Write;

/// Line and bar colours, one per compared run (colour-blind friendly: Okabe-Ito).
pub const PALETTE: [&str; 4] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7"];

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 372.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 52.0;
const BOTTOM: f64 = 52.0;

/// One sample to plot: a label for the legend and its values (any order).
pub struct Series {
    pub label: String,
    pub values: Vec<u64>,
}

/// Escapes text for SVG, HTML and Markdown tables' inline HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Round tick values from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten,
/// about `target` of them.
pub fn nice_ticks(max: u64, target: u64) -> Vec<u64> {
    let max = max.max(1);
    let step = nice_step(max, target);
    let top = max.div_ceil(step).saturating_mul(step);
    (0..=top / step).map(|i| i * step).collect()
}

/// A step of 1, 2 or 5 times a power of ten that cuts `span` into about `target` parts.
fn nice_step(span: u64, target: u64) -> u64 {
    let raw = span.max(1).div_ceil(target.max(1)).max(1);
    let mut magnitude = 1u64;
    while magnitude.saturating_mul(10) <= raw {
        magnitude *= 10;
    }
    [1, 2, 5, 10].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10 * magnitude)
}

fn header(out: &mut String, title: &str) {
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH:.0}\" height=\"{HEIGHT:.0}\" \
         viewBox=\"0 0 {WIDTH:.0} {HEIGHT:.0}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(out, "<title>{}</title>", escape(title));
    let _ = writeln!(out, "<rect width=\"{WIDTH:.0}\" height=\"{HEIGHT:.0}\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        WIDTH / 2.0,
        escape(title)
    );
}

fn plot_w() -> f64 {
    WIDTH - LEFT - RIGHT
}

fn plot_h() -> f64 {
    HEIGHT - TOP - BOTTOM
}

fn legend(out: &mut String, labels: &[String]) {
    // One row between the title and the plot, where no curve or bar can be.
    let mut x = LEFT;
    for (i, label) in labels.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let _ = writeln!(
            out,
            "<rect x=\"{x:.1}\" y=\"34\" width=\"14\" height=\"4\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"40\">{}</text>",
            x + 20.0,
            escape(label)
        );
        x += 20.0 + 6.5 * label.chars().count() as f64 + 16.0;
    }
}

/// log2 of a positive integer from +, *, / only (no libm), so that plot coordinates are
/// the same on every platform: v = m * 2^e with m in [1, 2), ln m = 2 atanh((m-1)/(m+1)).
pub(crate) fn log2(v: u64) -> f64 {
    assert!(v > 0, "log2 of 0");
    let e = 63 - v.leading_zeros();
    let m = v as f64 / (1u64 << e) as f64;
    let z = (m - 1.0) / (m + 1.0);
    let (z2, mut term, mut sum) = (z * z, z, 0.0);
    for k in 0..24 {
        sum += term / (2 * k + 1) as f64;
        term *= z2;
    }
    f64::from(e) + 2.0 * sum / std::f64::consts::LN_2
}

/// Where values go on the x axis: linear from 0, or log10 between two powers of ten.
enum Scale {
    Linear { lo: u64, hi: u64 },
    Log { lo: u64, hi: u64 },
}

impl Scale {
    /// Log when the positive values span two decades or more (heavy tails: elections that
    /// take one round or ten, windows of milliseconds or seconds), else linear.
    fn fit(values: &[u64]) -> Scale {
        let max = values.iter().copied().max().unwrap_or(0);
        let min_pos = values.iter().copied().filter(|v| *v > 0).min().unwrap_or(0);
        if min_pos == 0 || max / min_pos < 20 {
            // From 0, or from a round value below the smallest when the values sit in a
            // narrow band far from 0 (election times of 200-210 ms).
            let min = values.iter().copied().min().unwrap_or(0);
            let step = nice_step(max - min, 6);
            let lo = if min > max - min { min / step * step } else { 0 };
            // Saturating: values near u64::MAX must give an axis, not an overflow.
            return Scale::Linear { lo, hi: max.div_ceil(step).saturating_mul(step).max(lo.saturating_add(step)) };
        }
        let mut lo = 1u64;
        while lo.saturating_mul(10) <= min_pos {
            lo *= 10;
        }
        let mut hi = lo;
        while hi < max {
            hi = hi.saturating_mul(10);
        }
        Scale::Log { lo, hi }
    }

    /// 0..=1 across the plot; 0 and values below the range go to the left edge.
    fn pos(&self, v: u64) -> f64 {
        match *self {
            Scale::Linear { lo, hi } => (v.saturating_sub(lo)) as f64 / (hi - lo).max(1) as f64,
            Scale::Log { lo, hi } => {
                let (a, b) = (log2(lo), log2(hi));
                ((log2(v.max(lo)) - a) / (b - a)).clamp(0.0, 1.0)
            }
        }
    }

    /// Tick values: round steps, or 1-2-5 per decade (decades only when there are many).
    fn ticks(&self) -> Vec<u64> {
        match *self {
            Scale::Linear { lo, hi } => {
                let step = nice_step(hi - lo, 6);
                std::iter::successors(Some(lo), |t| t.checked_add(step).filter(|n| *n <= hi)).collect()
            }
            Scale::Log { lo, hi } => {
                let decades = (log2(hi) - log2(lo)) / log2(10);
                let mut t = Vec::new();
                let mut d = lo;
                // Checked: a decade past u64::MAX ends the axis (a saturating one never did).
                loop {
                    t.push(d);
                    if decades <= 3.5 && d < hi {
                        t.extend([2, 5].iter().filter_map(|m| d.checked_mul(*m)).filter(|v| *v <= hi));
                    }
                    match d.checked_mul(10) {
                        Some(n) if n <= hi => d = n,
                        _ => break,
                    }
                }
                t
            }
        }
    }

    fn note(&self) -> &'static str {
        match self {
            Scale::Linear { .. } => "",
            Scale::Log { .. } => " (log scale)",
        }
    }
}

/// Overlaid empirical CDFs of durations (microseconds), one step line per series.
pub fn cdf(title: &str, x_label: &str, series: &[Series]) -> String {
    let mut out = String::new();
    header(&mut out, title);
    let all: Vec<u64> = series.iter().flat_map(|s| s.values.iter().copied()).collect();
    let scale = Scale::fit(&all);
    cdf_axes(&mut out, &scale, x_label);
    for (i, s) in series.iter().enumerate() {
        cdf_line(&mut out, &scale, &s.values, PALETTE[i % PALETTE.len()]);
    }
    let labels: Vec<String> = series.iter().map(|s| format!("{} (n={})", s.label, s.values.len())).collect();
    finish(&mut out, &labels);
    out
}

/// A horizontal grid line at `y` across the plot, labelled at its left.
fn grid_y(out: &mut String, y: f64, label: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT:.1}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"#e0e0e0\"/>\
         <text x=\"{2:.1}\" y=\"{3:.1}\" text-anchor=\"end\">{4}</text>",
        y,
        LEFT + plot_w(),
        LEFT - 6.0,
        y + 4.0,
        label
    );
}

/// A vertical grid line at `x` up the plot, labelled below it.
fn grid_x(out: &mut String, x: f64, label: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#e0e0e0\"/>\
         <text x=\"{0:.1}\" y=\"{3:.1}\" text-anchor=\"middle\">{4}</text>",
        x,
        TOP,
        TOP + plot_h(),
        TOP + plot_h() + 16.0,
        label
    );
}

/// Where a value goes across a CDF plot.
fn cdf_x(scale: &Scale, v: u64) -> f64 {
    LEFT + scale.pos(v) * plot_w()
}

/// Where a fraction goes up a CDF plot (1 at the top).
fn cdf_y(f: f64) -> f64 {
    TOP + (1.0 - f) * plot_h()
}

/// A CDF's grid, ticks and axis labels: durations across on `scale`, quartiles up.
fn cdf_axes(out: &mut String, scale: &Scale, x_label: &str) {
    for t in &scale.ticks() {
        grid_x(out, cdf_x(scale, *t), escape(&fmt_duration(*t)));
    }
    for q in [0u64, 25, 50, 75, 100] {
        let f = q as f64 / 100.0;
        grid_y(out, cdf_y(f), format_args!("{:.2}", f));
    }
    frame(out);
    x_axis_label(out, format_args!("{}{}", escape(x_label), scale.note()));
    y_axis_label(out, "fraction at or below");
}

/// One series' step line (nothing for no values): up by 1/n at each value, with one
/// vertex per pixel column at most, so a large sample stays a small file.
fn cdf_line(out: &mut String, scale: &Scale, values: &[u64], colour: &str) {
    let mut v = values.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return;
    }
    let n = v.len() as f64;
    // The last (highest) fraction at each x.
    let mut points: Vec<(String, f64)> = Vec::new();
    for (k, value) in v.iter().enumerate() {
        let px = format!("{:.1}", cdf_x(scale, *value));
        let f = (k + 1) as f64 / n;
        match points.last_mut() {
            Some(last) if last.0 == px => last.1 = f,
            _ => points.push((px, f)),
        }
    }
    let mut d = format!("M{:.1},{:.1}", cdf_x(scale, v[0]), cdf_y(0.0));
    for (px, f) in &points {
        let _ = write!(d, " H{px} V{:.1}", cdf_y(*f));
    }
    let _ = write!(d, " H{:.1}", LEFT + plot_w());
    let _ = writeln!(out, "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>");
}

/// A grouped bar chart of counts: one group per category, one bar per series.
/// `groups[i]` holds the series' counts for `categories[i]`.
pub fn bars(
    title: &str,
    y_label: &str,
    categories: &[String],
    series_labels: &[String],
    groups: &[Vec<u64>],
) -> String {
    let mut out = String::new();
    header(&mut out, title);
    let max = groups.iter().flatten().copied().max().unwrap_or(0);
    let ticks = nice_ticks(max, 5);
    let y_max = *ticks.last().expect("at least one tick") as f64;
    let y = |v: u64| TOP + (1.0 - v as f64 / y_max) * plot_h();
    for t in &ticks {
        grid_y(&mut out, y(*t), t);
    }
    let slot = plot_w() / categories.len().max(1) as f64;
    let bar_w = (slot * 0.8 / series_labels.len().max(1) as f64).min(60.0);
    for (ci, cat) in categories.iter().enumerate() {
        let group_w = bar_w * series_labels.len() as f64;
        let x0 = LEFT + slot * ci as f64 + (slot - group_w) / 2.0;
        for (si, v) in groups.get(ci).into_iter().flatten().enumerate() {
            let colour = PALETTE[si % PALETTE.len()];
            let bx = x0 + bar_w * si as f64;
            let _ = writeln!(
                out,
                "<rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}: {v}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{v}</text>",
                y(*v),
                bar_w - 2.0,
                TOP + plot_h() - y(*v),
                escape(&series_labels[si]),
                bx + (bar_w - 2.0) / 2.0,
                y(*v) - 3.0
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
            LEFT + slot * ci as f64 + slot / 2.0,
            TOP + plot_h() + 16.0,
            escape(cat)
        );
    }
    frame(&mut out);
    y_axis_label(&mut out, escape(y_label));
    finish(&mut out, series_labels);
    out
}

/// Counts growing over a count (distinct states over seeds): one polyline per series of
/// `(x, y)` points in x order, both axes linear from 0.
pub fn growth(title: &str, x_label: &str, y_label: &str, labels: &[String], series: &[Vec<(u64, u64)>]) -> String {
    let mut out = String::new();
    header(&mut out, title);
    let x_max = series.iter().flatten().map(|p| p.0).max().unwrap_or(0);
    let y_max = series.iter().flatten().map(|p| p.1).max().unwrap_or(0);
    let (xt, yt) = (nice_ticks(x_max, 6), nice_ticks(y_max, 5));
    let (xm, ym) = (*xt.last().expect("a tick") as f64, *yt.last().expect("a tick") as f64);
    let x = |v: u64| LEFT + v as f64 / xm * plot_w();
    let y = |v: u64| TOP + (1.0 - v as f64 / ym) * plot_h();
    for t in &yt {
        grid_y(&mut out, y(*t), t);
    }
    for t in &xt {
        grid_x(&mut out, x(*t), t);
    }
    for (i, points) in series.iter().enumerate() {
        // One vertex per pixel column at most: a million seeds stay a small file.
        let mut d = String::new();
        let mut last_px = String::new();
        for (k, (px, py)) in points.iter().enumerate() {
            let col = format!("{:.0}", x(*px));
            if col == last_px && k + 1 < points.len() {
                continue;
            }
            last_px = col;
            let _ = write!(d, "{}{:.1},{:.1}", if d.is_empty() { "M" } else { " L" }, x(*px), y(*py));
        }
        if !d.is_empty() {
            let colour = PALETTE[i % PALETTE.len()];
            let _ = writeln!(out, "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>");
        }
    }
    frame(&mut out);
    x_axis_label(&mut out, escape(x_label));
    y_axis_label(&mut out, escape(y_label));
    finish(&mut out, labels);
    out
}

/// The x axis' label (already escaped), centred under the plot.
fn x_axis_label(out: &mut String, label: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
        LEFT + plot_w() / 2.0,
        HEIGHT - 10.0
    );
}

/// The y axis' label (already escaped), turned along the plot's left side.
fn y_axis_label(out: &mut String, label: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "<text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{label}</text>",
        TOP + plot_h() / 2.0
    );
}

/// The legend, and the end of the document.
fn finish(out: &mut String, labels: &[String]) {
    legend(out, labels);
    out.push_str("</svg>\n");
}

/// The plot area's border.
fn frame(out: &mut String) {
    let _ = writeln!(
        out,
        "<rect x=\"{LEFT:.1}\" y=\"{TOP:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#606060\"/>",
        plot_w(),
        plot_h()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(nice_ticks(0, 5), vec![0, 1]);
        assert_eq!(nice_ticks(9, 5), vec![0, 2, 4, 6, 8, 10]);
        assert_eq!(nice_ticks(1_234_000, 6), vec![0, 500_000, 1_000_000, 1_500_000]);
        let t = nice_ticks(73, 6);
        assert!(*t.last().unwrap() >= 73 && t.len() <= 8, "{t:?}");
    }

    #[test]
    fn log2_needs_no_libm_and_is_accurate() {
        for v in [1u64, 2, 3, 10, 1000, 123_456_789, u64::MAX] {
            assert!((log2(v) - (v as f64).log2()).abs() < 1e-9, "{v}");
        }
    }

    #[test]
    fn heavy_tails_get_a_log_axis() {
        assert!(matches!(Scale::fit(&[0, 5000]), Scale::Linear { lo: 0, hi: 5000 }));
        let narrow = Scale::fit(&[203_000, 209_000]);
        assert!(matches!(narrow, Scale::Linear { lo: 203_000, hi: 209_000 }));
        assert_eq!(narrow.ticks(), vec![203_000, 204_000, 205_000, 206_000, 207_000, 208_000, 209_000]);
        let s = Scale::fit(&[0, 3_000, 40_000_000]);
        assert!(matches!(s, Scale::Log { lo: 1000, hi: 100_000_000 }));
        assert_eq!(s.pos(0), 0.0);
        assert!((s.pos(100_000) - 0.4).abs() < 1e-9);
        assert_eq!(s.ticks(), vec![1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]);
    }

    #[test]
    fn values_near_the_top_of_u64_give_a_finite_axis() {
        for values in [vec![1, u64::MAX], vec![u64::MAX], vec![u64::MAX - 1, u64::MAX], vec![0, u64::MAX]] {
            let scale = Scale::fit(&values);
            let ticks = scale.ticks();
            assert!(!ticks.is_empty() && ticks.len() < 40, "{values:?}: {ticks:?}");
            assert!(cdf("t", "x", &[Series { label: "a".into(), values }]).ends_with("</svg>\n"));
        }
        assert!(nice_ticks(u64::MAX, 5).len() < 10);
    }

    #[test]
    fn a_cdf_is_deterministic_and_escapes_labels() {
        let s = [Series { label: "a<b".into(), values: vec![3, 1, 2, 2_000_000] }];
        let one = cdf("t & u", "x", &s);
        assert_eq!(one, cdf("t & u", "x", &s));
        assert!(one.contains("a&lt;b (n=4)") && one.contains("t &amp; u"));
        assert!(one.starts_with("<svg ") && one.ends_with("</svg>\n"));
    }

    #[test]
    fn growth_draws_one_path_per_series_and_thins_columns() {
        let a: Vec<(u64, u64)> = (1..=100_000).map(|i| (i, i / 1000)).collect();
        let svg = growth("g", "seeds", "states", &["a".into(), "b".into()], &[a, vec![(1, 3), (2, 4)]]);
        assert_eq!(svg.matches("<path ").count(), 2);
        assert!(svg.len() < 40_000, "{} bytes", svg.len());
        assert_eq!(
            svg,
            growth(
                "g",
                "seeds",
                "states",
                &["a".into(), "b".into()],
                &[(1..=100_000).map(|i| (i, i / 1000)).collect(), vec![(1, 3), (2, 4)]]
            )
        );
    }

    #[test]
    fn bars_draw_one_rect_per_count() {
        let svg = bars("v", "seeds", &["A".into(), "B".into()], &["x".into(), "y".into()], &[vec![1, 2], vec![0, 5]]);
        assert_eq!(svg.matches("<rect x=").count(), 4 + 1 + 2, "bars, frame and legend keys");
    }
}
