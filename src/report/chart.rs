//! Benchmark charts of both models against load: time to first token (p50 line, p95 points)
//! and output tokens per second. [`terminal`] draws them with ratatui's chart widget into a
//! buffer that becomes text lines (the result screen, `status`, `--present`); [`svg`] draws the
//! same charts with plotters for the browser report and slides.

use std::collections::BTreeMap;

use plotters::prelude::*;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color as TermColor, Style as TermStyle};
use ratatui::symbols::Marker;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Widget};

use crate::runner::event::BenchmarkPoint;

/// One model's results, ordered by load.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub model: String,
    /// (load, point) with a numeric load.
    pub points: Vec<(f64, BenchmarkPoint)>,
}

/// The leading number of a load (`25`, `2.5 req/s`).
pub fn load_value(load: &str) -> Option<f64> {
    let number: String = load
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse().ok()
}

/// The results grouped by model (in the order first seen), each sorted by load.
pub fn series(points: &[BenchmarkPoint]) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for p in points {
        let Some(load) = load_value(&p.load) else {
            continue;
        };
        match out.iter_mut().find(|s| s.model == p.model) {
            Some(s) => s.points.push((load, p.clone())),
            None => out.push(Series {
                model: p.model.clone(),
                points: vec![(load, p.clone())],
            }),
        }
    }
    for s in &mut out {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

/// What a panel plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Ttft,
    Throughput,
}

impl Metric {
    pub fn title(self) -> &'static str {
        match self {
            Metric::Ttft => "time to first token (ms) vs concurrency",
            Metric::Throughput => "output tokens/s vs concurrency",
        }
    }

    /// (main line, optional second series) of a point.
    fn values(self, p: &BenchmarkPoint) -> (Option<f64>, Option<f64>) {
        match self {
            Metric::Ttft => (p.ttft_p50_ms, p.ttft_p95_ms),
            Metric::Throughput => (p.output_tokens_per_second, None),
        }
    }
}

const TERMINAL_COLORS: [TermColor; 4] = [
    TermColor::Cyan,
    TermColor::Magenta,
    TermColor::Yellow,
    TermColor::Green,
];
/// Without colour the models differ by marker.
const MARKERS: [Marker; 4] = [Marker::Braille, Marker::Dot, Marker::Block, Marker::Bar];
const MARKER_SAMPLES: [&str; 4] = ["⣀⣀", "••", "██", "▄▄"];

fn number(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> [f64; 2] {
    let max = values.fold(0.0_f64, f64::max);
    [0.0, if max > 0.0 { max * 1.1 } else { 1.0 }]
}

type Points = Vec<(f64, f64)>;

/// One panel as text lines (`width` × `height`, title included).
fn panel(all: &[Series], metric: Metric, width: u16, height: u16, color: bool) -> Vec<String> {
    let data: Vec<(Points, Points)> = all
        .iter()
        .map(|s| {
            let main = s
                .points
                .iter()
                .filter_map(|(x, p)| metric.values(p).0.map(|y| (*x, y)))
                .collect();
            let second = s
                .points
                .iter()
                .filter_map(|(x, p)| metric.values(p).1.map(|y| (*x, y)))
                .collect();
            (main, second)
        })
        .collect();
    let xs = bounds(all.iter().flat_map(|s| s.points.iter().map(|(x, _)| *x)));
    let ys = bounds(
        data.iter()
            .flat_map(|(a, b)| a.iter().chain(b.iter()).map(|(_, y)| *y)),
    );
    let mut datasets = Vec::new();
    for (i, (main, second)) in data.iter().enumerate() {
        let style = if color {
            TermStyle::default().fg(TERMINAL_COLORS[i % TERMINAL_COLORS.len()])
        } else {
            TermStyle::default()
        };
        let marker = if color {
            Marker::Braille
        } else {
            MARKERS[i % MARKERS.len()]
        };
        datasets.push(
            Dataset::default()
                .data(main)
                .marker(marker)
                .graph_type(GraphType::Line)
                .style(style),
        );
        if !second.is_empty() {
            datasets.push(
                Dataset::default()
                    .data(second)
                    .marker(marker)
                    .graph_type(GraphType::Scatter)
                    .style(style),
            );
        }
    }
    let chart = Chart::new(datasets)
        .x_axis(Axis::default().bounds(xs).labels([
            number(xs[0]),
            number(xs[1] / 1.1 / 2.0),
            number(xs[1] / 1.1),
        ]))
        .y_axis(Axis::default().bounds(ys).labels([
            number(ys[0]),
            number(ys[1] / 2.0),
            number(ys[1]),
        ]))
        .hidden_legend_constraints((
            ratatui::layout::Constraint::Length(0),
            ratatui::layout::Constraint::Length(0),
        ));
    let area = Rect::new(0, 0, width, height.saturating_sub(1));
    let mut buffer = Buffer::empty(area);
    chart.render(area, &mut buffer);
    let mut lines = vec![super::layout::abbreviate(
        metric.title(),
        usize::from(width),
    )];
    lines.extend(buffer_lines(&buffer, color));
    lines
}

/// A rendered buffer as text, one line per row (ANSI colours when `color`).
pub fn buffer_lines(buffer: &Buffer, color: bool) -> Vec<String> {
    let area = buffer.area;
    (area.top()..area.bottom())
        .map(|y| {
            let mut line = String::new();
            for x in area.left()..area.right() {
                let cell = &buffer[(x, y)];
                let symbol = cell.symbol();
                match (color, console_color(cell.fg)) {
                    (true, Some(c)) if symbol.trim() != "" => line.push_str(
                        &console::Style::new()
                            .fg(c)
                            .force_styling(true)
                            .apply_to(symbol)
                            .to_string(),
                    ),
                    _ => line.push_str(symbol),
                }
            }
            line.trim_end().to_owned()
        })
        .collect()
}

fn console_color(c: TermColor) -> Option<console::Color> {
    Some(match c {
        TermColor::Cyan => console::Color::Cyan,
        TermColor::Magenta => console::Color::Magenta,
        TermColor::Yellow => console::Color::Yellow,
        TermColor::Green => console::Color::Green,
        TermColor::Red => console::Color::Red,
        TermColor::Blue => console::Color::Blue,
        _ => return None,
    })
}

/// The legend: one entry per model, and what the TTFT marks mean.
fn legend(all: &[Series], width: usize, color: bool) -> Vec<String> {
    let entries: Vec<String> = all
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let sample = if color {
                console::Style::new()
                    .fg(console_color(TERMINAL_COLORS[i % TERMINAL_COLORS.len()])
                        .unwrap_or(console::Color::White))
                    .force_styling(true)
                    .apply_to("⣀⣀")
                    .to_string()
            } else {
                MARKER_SAMPLES[i % MARKER_SAMPLES.len()].to_owned()
            };
            format!("{sample} {}", s.model)
        })
        .collect();
    let mut lines = Vec::new();
    let mut line = String::from("  ");
    for e in entries {
        if console::measure_text_width(&line) + console::measure_text_width(&e) + 3 > width
            && line.trim() != ""
        {
            lines.push(std::mem::replace(&mut line, String::from("  ")));
        }
        if line.trim() != "" {
            line.push_str("   ");
        }
        line.push_str(&e);
    }
    lines.push(line);
    lines.push("  TTFT: line = p50, points = p95".to_owned());
    lines
}

/// Both charts as text for a terminal of `width` columns: side by side from 80 columns,
/// stacked below; empty without numeric results.
pub fn terminal(points: &[BenchmarkPoint], width: usize, color: bool) -> Vec<String> {
    let all = series(points);
    if all.is_empty() {
        return Vec::new();
    }
    let width = width.clamp(super::layout::MIN_WIDTH, 200);
    let height: u16 = 11;
    let mut lines = vec!["GuideLLM benchmark".to_owned()];
    if width >= 80 {
        let half = u16::try_from((width - 3) / 2).unwrap_or(40);
        let left = panel(&all, Metric::Ttft, half, height, color);
        let right = panel(&all, Metric::Throughput, half, height, color);
        for (l, r) in left.iter().zip(right.iter()) {
            let pad = usize::from(half).saturating_sub(console::measure_text_width(l));
            lines.push(
                format!("{l}{}   {r}", " ".repeat(pad))
                    .trim_end()
                    .to_owned(),
            );
        }
    } else {
        let w = u16::try_from(width).unwrap_or(80);
        lines.extend(panel(&all, Metric::Ttft, w, height, color));
        lines.extend(panel(&all, Metric::Throughput, w, height, color));
    }
    lines.extend(legend(&all, width, color));
    lines
}

/// Colours of the SVG series (colour-blind friendly pair first).
const SVG_COLORS: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
];

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the benchmark chart: {0}")]
pub struct ChartError(String);

fn drawing<E: std::error::Error>(e: E) -> ChartError {
    ChartError(e.to_string())
}

/// Both charts as one SVG document (1200×460), with a legend naming every model.
pub fn svg(points: &[BenchmarkPoint]) -> Result<String, ChartError> {
    let all = series(points);
    if all.is_empty() {
        return Err(ChartError(
            "no benchmark results with a numeric load".into(),
        ));
    }
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (1200, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let (left, right) = root.split_horizontally(600);
        for (area, metric) in [(left, Metric::Ttft), (right, Metric::Throughput)] {
            draw_panel(&area, &all, metric)?;
        }
        root.present().map_err(drawing)?;
    }
    Ok(text)
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    all: &[Series],
    metric: Metric,
) -> Result<(), ChartError>
where
    DB::ErrorType: 'static,
{
    let xs = bounds(all.iter().flat_map(|s| s.points.iter().map(|(x, _)| *x)));
    let ys = bounds(all.iter().flat_map(|s| {
        s.points.iter().flat_map(move |(_, p)| {
            let (a, b) = metric.values(p);
            a.into_iter().chain(b)
        })
    }));
    let mut chart = ChartBuilder::on(area)
        .caption(metric.title(), ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(xs[0]..xs[1], ys[0]..ys[1])
        .map_err(drawing)?;
    let y_desc = match metric {
        Metric::Ttft => "ms",
        Metric::Throughput => "tokens/s",
    };
    chart
        .configure_mesh()
        .x_desc("concurrent requests")
        .y_desc(y_desc)
        .draw()
        .map_err(drawing)?;
    for (i, s) in all.iter().enumerate() {
        let color = SVG_COLORS[i % SVG_COLORS.len()];
        let main: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter_map(|(x, p)| metric.values(p).0.map(|y| (*x, y)))
            .collect();
        let label = match metric {
            Metric::Ttft => format!("{} p50", s.model),
            Metric::Throughput => s.model.clone(),
        };
        chart
            .draw_series(LineSeries::new(main.clone(), color.stroke_width(3)))
            .map_err(drawing)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        chart
            .draw_series(main.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(drawing)?;
        let second: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter_map(|(x, p)| metric.values(p).1.map(|y| (*x, y)))
            .collect();
        if !second.is_empty() {
            chart
                .draw_series(LineSeries::new(second, color.mix(0.5).stroke_width(2)))
                .map_err(drawing)?
                .label(format!("{} p95", s.model))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.mix(0.5).stroke_width(2))
                });
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(drawing)?;
    Ok(())
}

/// The model names a chart plots (the browser test checks the page names both).
pub fn models(points: &[BenchmarkPoint]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for s in series(points) {
        out.insert(s.model, s.points.len());
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Vec<BenchmarkPoint> {
        let mut out = Vec::new();
        for (model, base, tps) in [
            ("mistral-24b-quantized", 80.0, 400.0),
            ("mistral-24b", 120.0, 300.0),
        ] {
            for (i, load) in [1, 5, 10, 25].into_iter().enumerate() {
                let f = (i + 1) as f64;
                out.push(BenchmarkPoint {
                    model: model.into(),
                    load: load.to_string(),
                    ttft_p50_ms: Some(base * f),
                    ttft_p95_ms: Some(base * f * 1.8),
                    itl_p50_ms: Some(20.0),
                    itl_p95_ms: Some(30.0),
                    output_tokens_per_second: Some(tps * f),
                    requests_per_second: Some(f),
                });
            }
        }
        out
    }

    #[test]
    fn series_group_by_model_and_sort_by_load() {
        let mut points = sample();
        points.reverse();
        let s = series(&points);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].model, "mistral-24b");
        let loads: Vec<f64> = s[0].points.iter().map(|(x, _)| *x).collect();
        assert_eq!(loads, [1.0, 5.0, 10.0, 25.0]);
        assert_eq!(load_value("2.5 req/s"), Some(2.5));
        assert_eq!(load_value("?"), None);
    }

    #[test]
    fn terminal_charts_fit_the_width_and_name_both_models() {
        for width in [80, 160, 60] {
            let lines = terminal(&sample(), width, false);
            assert!(lines.len() > 10);
            for l in &lines {
                assert!(console::measure_text_width(l) <= width, "{width}: {l}");
            }
            let text = lines.join("\n");
            assert!(text.contains("mistral-24b-quantized"), "{text}");
            assert!(text.contains("•• mistral-24b"), "{text}");
            assert!(text.contains("time to first token"), "{text}");
            assert!(text.contains("output tokens/s"), "{text}");
            // Something was plotted: braille or dot marks.
            assert!(
                text.contains('•') && text.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
            );
        }
        assert!(terminal(&[], 80, false).is_empty());
    }

    #[test]
    fn the_svg_has_both_models_series() {
        let svg = svg(&sample()).unwrap_or_default();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.contains("mistral-24b-quantized p50"));
        assert!(svg.contains("mistral-24b p95"));
        assert!(svg.contains("<polyline"));
        assert!(super::svg(&[]).is_err());
    }
}
