//! `vera bench --chart`: throughput and batch time against batch size as an SVG, a row per
//! operation and variant, a line per implementation, all axes logarithmic, so that the GPU's
//! crossover with the CPU, and what a small batch costs, read off at a glance.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

/// One measured point: `items_per_s` of `series` at batch size `size`, in panel `panel`.
pub(super) struct Point {
    pub(super) panel: String,
    pub(super) series: String,
    pub(super) size: usize,
    pub(super) items_per_s: f64,
}

/// One line of a panel: its label and (batch size, items/s) points.
type Series<'a> = (&'a str, Vec<(f64, f64)>);

/// Line colours, one per implementation in order of appearance (the "tab10" palette: distinct
/// on white and for the common colour-vision deficiencies); more implementations reuse them.
const COLOURS: [(u8, u8, u8); 10] = [
    (0xd6, 0x27, 0x28),
    (0x1f, 0x77, 0xb4),
    (0x2c, 0xa0, 0x2c),
    (0xff, 0x7f, 0x0e),
    (0x94, 0x67, 0xbd),
    (0x8c, 0x56, 0x4b),
    (0xe3, 0x77, 0xc2),
    (0x7f, 0x7f, 0x7f),
    (0xbc, 0xbd, 0x22),
    (0x17, 0xbe, 0xcf),
];

/// Panel size in pixels.
const PANEL: (u32, u32) = (560, 380);

/// Writes the chart of `points` to `path` (an SVG file), under `title`.
pub(super) fn write(path: &Path, title: &str, points: &[Point]) -> Result<(), String> {
    // Panels in the order they were measured; series likewise within each.
    let mut panels: Vec<(&str, Vec<Series<'_>>)> = Vec::new();
    // A log axis has no place for zero, infinity or NaN (a row timed at zero gives infinity).
    for p in points
        .iter()
        .filter(|p| p.items_per_s.is_finite() && p.items_per_s > 0.0 && p.size > 0)
    {
        let at = match panels.iter().position(|(name, _)| *name == p.panel) {
            Some(i) => i,
            None => {
                panels.push((&p.panel, Vec::new()));
                panels.len() - 1
            }
        };
        let series = &mut panels[at].1;
        let s = match series.iter().position(|(name, _)| *name == p.series) {
            Some(i) => i,
            None => {
                series.push((&p.series, Vec::new()));
                series.len() - 1
            }
        };
        series[s].1.push((p.size as f64, p.items_per_s));
    }
    if panels.is_empty() {
        return Err("no measurements to chart".into());
    }
    // Lines run left to right whatever order the sizes were measured in.
    for (_, series) in &mut panels {
        for (_, pts) in series {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
    }
    // One colour per implementation across all panels.
    let mut colours: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, series) in &panels {
        for (name, _) in series {
            let next = colours.len();
            colours.entry(name).or_insert(next);
        }
    }
    // A row per operation: throughput on the left, the time a batch takes on the right.
    let rows = panels.len();
    let size = (PANEL.0 * 2, PANEL.1 * rows as u32 + 40);
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_err(&e))?;
    let root = root
        .titled(title, ("sans-serif", 20))
        .map_err(|e| draw_err(&e))?;
    let areas = root.split_evenly((rows, 2));
    for (pair, (name, series)) in areas.chunks(2).zip(&panels) {
        let throughput = Measure {
            caption: format!("{name}: throughput"),
            y_desc: "items/s",
            y: |_, items_per_s| items_per_s,
            seconds: false,
        };
        let latency = Measure {
            caption: format!("{name}: batch time"),
            y_desc: "batch time",
            y: |size, items_per_s| size / items_per_s,
            seconds: true,
        };
        draw_panel(&pair[0], &throughput, series, &colours)?;
        draw_panel(&pair[1], &latency, series, &colours)?;
    }
    root.present().map_err(|e| draw_err(&e))
}

fn draw_err(e: &dyn std::fmt::Display) -> String {
    format!("cannot draw the chart: {e}")
}

/// What a panel plots against batch size.
struct Measure {
    caption: String,
    y_desc: &'static str,
    /// The value from (batch size, items/s).
    y: fn(f64, f64) -> f64,
    /// The values are seconds (labelled in µs, ms or s).
    seconds: bool,
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    measure: &Measure,
    series: &[Series<'_>],
    colours: &BTreeMap<&str, usize>,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| draw_err(e);
    let lines: Vec<Series<'_>> = series
        .iter()
        .map(|(label, pts)| {
            let pts = pts.iter().map(|&(x, v)| (x, (measure.y)(x, v))).collect();
            (*label, pts)
        })
        .collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, 0f64, f64::MAX, 0f64);
    for &(x, y) in lines.iter().flat_map(|(_, pts)| pts.iter()) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    // Some room around the points, a range even for a single size, and room above them for
    // the legend.
    let (x0, x1) = (x0 / 2.0, x1 * 2.0);
    let (y0, y1) = (y0 / 3.0, y1 * 4.0 * (lines.len() as f64 + 1.0));
    let mut chart = ChartBuilder::on(area)
        .caption(&measure.caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
        .map_err(|e| err(&e))?;
    let in_seconds = measure.seconds;
    chart
        .configure_mesh()
        .x_desc("batch size")
        .y_desc(measure.y_desc)
        .x_labels(8)
        .y_labels(6)
        .light_line_style(RGBColor(242, 242, 242))
        .x_label_formatter(&|x| si(*x))
        .y_label_formatter(&|y| if in_seconds { seconds(*y) } else { si(*y) })
        .draw()
        .map_err(|e| err(&e))?;
    for (label, pts) in &lines {
        let (r, g, b) = COLOURS[colours[label] % COLOURS.len()];
        let colour = RGBColor(r, g, b).to_rgba();
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(*label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(|e| err(&e))
}

/// 25 µs, 1.5 ms, 2 s: time axis labels.
fn seconds(x: f64) -> String {
    match x {
        x if x >= 1.0 => format!("{} s", trim(x)),
        x if x >= 1e-3 => format!("{} ms", trim(x * 1e3)),
        x => format!("{} µs", trim(x * 1e6)),
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// 1.5 k, 2 M, …: axis labels.
fn si(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.3}G", x / 1e9),
        x if x >= 1e6 => format!("{:.3}M", x / 1e6),
        x if x >= 1e3 => format!("{:.3}k", x / 1e3),
        x => format!("{x:.3}"),
    }
    .replace(".000", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_a_panel_per_group_and_a_line_per_series() {
        let mut points = Vec::new();
        for (panel, scale) in [("sha256", 1.0), ("ed25519 zip215", 0.01)] {
            for (series, k) in [("vera cpu (2 threads)", 1.0), ("gpu", 3.0)] {
                for size in [64usize, 1024, 65536] {
                    points.push(Point {
                        panel: panel.into(),
                        series: series.into(),
                        size,
                        items_per_s: scale * k * size as f64,
                    });
                }
            }
        }
        let path = std::env::temp_dir().join(format!("vera-chart-{}.svg", std::process::id()));
        write(&path, "vera bench", &points).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        for text in [
            "vera bench",
            "sha256: throughput",
            "ed25519 zip215: batch time",
            "vera cpu (2 threads)",
            "gpu",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        // A marker per point and panel: two operations × two panels × two series × three sizes.
        assert_eq!(svg.matches("<circle").count(), 24);
        assert_eq!(si(65536.0), "65.536k");
        assert_eq!(si(2e6), "2M");
        assert!(write(&path, "empty", &[]).is_err());
        // Unplottable values are left out rather than breaking the axes; sizes are sorted.
        let odd = [f64::INFINITY, f64::NAN, 0.0, 5.0, 7.0].map(|items_per_s| Point {
            panel: "odd".into(),
            series: "s".into(),
            size: if items_per_s == 5.0 { 4096 } else { 64 },
            items_per_s,
        });
        write(&path, "odd", &odd).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert_eq!(seconds(2.5e-5), "25 µs");
        assert_eq!(seconds(0.0015), "1.5 ms");
    }
}
