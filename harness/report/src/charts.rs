//! SVG charts made with plotters: readable without JavaScript, with titles, units and labelled axes.
//! Each function returns the SVG text; none does IO.

use hdrhistogram::Histogram;
use plotters::prelude::*;

const SIZE: (u32, u32) = (760, 380);
const FONT: &str = "sans-serif";

/// One bar: its label, height, and optional 95% CI `(low, high)`.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub ci: Option<(f64, f64)>,
}

fn draw<F>(f: F) -> String
where
    F: FnOnce(
        DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<(), Box<dyn std::error::Error + '_>>,
{
    draw_sized(SIZE, f)
}

fn draw_sized<F>(size: (u32, u32), f: F) -> String
where
    F: FnOnce(
        DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<(), Box<dyn std::error::Error + '_>>,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        if let Err(e) = f(root) {
            return format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"40\"><text x=\"4\" y=\"20\">chart failed: {}</text></svg>",
                SIZE.0,
                e.to_string().replace('<', "&lt;")
            );
        }
    }
    svg
}

/// A bar chart with optional CI error bars.
pub fn bars(title: &str, y_desc: &str, bars: &[Bar]) -> String {
    draw(|root| {
        root.fill(&WHITE)?;
        let top = bars
            .iter()
            .map(|b| b.ci.map_or(b.value, |c| c.1).max(b.value))
            .fold(0.0, f64::max)
            .max(1e-9)
            * 1.15;
        let n = bars.len() as u32;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(72)
            // A segmented 0..k range has k + 1 segments: one per bar.
            .build_cartesian_2d((0u32..n.saturating_sub(1)).into_segmented(), 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(y_desc)
            .x_desc("runtime row")
            .y_label_formatter(&|v| dyno_core::human::si(*v))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => bars
                    .get(*i as usize)
                    .map(|b| b.label.clone())
                    .unwrap_or_default(),
                SegmentValue::Last => String::new(),
            })
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
            let i = i as u32;
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), b.value),
                ],
                Palette99::pick(i as usize).mix(0.8).filled(),
            );
            r.set_margin(0, 0, 8, 8);
            r
        }))?;
        chart.draw_series(bars.iter().enumerate().filter_map(|(i, b)| {
            b.ci.map(|(lo, hi)| {
                ErrorBar::new_vertical(
                    SegmentValue::CenterOf(i as u32),
                    lo,
                    b.value,
                    hi,
                    BLACK.stroke_width(2),
                    12,
                )
            })
        }))?;
        root.present()?;
        Ok(())
    })
}

/// HDR-style latency percentile curves: x is the percentile on a log scale of 1/(1-q), y the latency (log).
pub fn latency_curves(title: &str, series: &[(String, Histogram<u64>)]) -> String {
    draw(|root| {
        root.fill(&WHITE)?;
        let count = series
            .iter()
            .map(|(_, h)| h.len())
            .max()
            .unwrap_or(1)
            .max(10);
        let max_x = (count as f64).log10().clamp(1.0, 5.0);
        let lo = series
            .iter()
            .map(|(_, h)| h.min().max(1))
            .min()
            .unwrap_or(1) as f64
            / 1e3;
        let hi = series
            .iter()
            .map(|(_, h)| h.max().max(2))
            .max()
            .unwrap_or(2) as f64
            / 1e3;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(72)
            .build_cartesian_2d(0f64..max_x, (lo * 0.8..hi * 1.25).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency (µs, log scale)")
            .x_labels(max_x as usize + 1)
            .x_label_formatter(&|x| {
                let p = 100.0 * (1.0 - 10f64.powf(-x));
                format!(
                    "{}%",
                    format!("{p:.3}")
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                )
            })
            .draw()?;
        const STEPS: usize = 200;
        for (i, (name, h)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let pts: Vec<(f64, f64)> = (0..=STEPS)
                .map(|s| {
                    let x = s as f64 * max_x / STEPS as f64;
                    let q = 1.0 - 10f64.powf(-x);
                    (x, h.value_at_quantile(q).max(1) as f64 / 1e3)
                })
                .collect();
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })
}

/// A sweep: one line per row, y against a parameter x (log scale when x spans more than a decade).
pub fn sweep(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> String {
    lines(title, x_desc, y_desc, series, true)
}

/// Label a log10 axis position with its value at whole decades only.
fn decade_label(v: f64) -> String {
    if (v - v.round()).abs() < 0.01 {
        dyno_core::human::si(10f64.powf(v.round()))
    } else {
        String::new()
    }
}

/// One line per series of `(x, y)` points; x on a log scale when `log_x` (drawn as log10(x) on a linear
/// axis, labelled with the original values), with a dot on every point when there are few.
pub fn lines(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(String, Vec<(f64, f64)>)],
    log_x: bool,
) -> String {
    let fx = |x: f64| if log_x { x.max(1e-9).log10() } else { x };
    let series: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(n, p)| (n.clone(), p.iter().map(|&(x, y)| (fx(x), y)).collect()))
        .collect();
    draw(|root| {
        root.fill(&WHITE)?;
        let xs = || series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
        let (xmin, xmax) = (xs().fold(f64::MAX, f64::min), xs().fold(f64::MIN, f64::max));
        let (xmin, xmax) = if log_x {
            let pad = ((xmax - xmin) * 0.1).max(0.1);
            (xmin - pad, xmax + pad)
        } else {
            (0.0, xmax.max(1e-9))
        };
        let ymax = series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
            .fold(0.0, f64::max)
            .max(1e-9)
            * 1.15;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(72)
            .build_cartesian_2d(xmin..xmax, 0f64..ymax)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .y_label_formatter(&|v| dyno_core::human::si(*v))
            .x_label_formatter(&|v| {
                if log_x {
                    decade_label(*v)
                } else {
                    format!("{v:.1}")
                }
            })
            .draw()?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            if pts.len() <= 20 {
                chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })
}

/// One paired ratio: its label, the ratio and its 95% interval, and whether the interval excludes 1.
pub struct RatioBar {
    pub label: String,
    pub ratio: f64,
    pub ci: (f64, f64),
    pub resolved: bool,
}

/// Paired ratios as a forest plot: one line per comparison, the ratio as a dot and its 95% interval
/// as a whisker on a log axis, a vertical line at 1 (no difference). Resolved comparisons are drawn
/// dark, the others pale. Its height grows with the comparisons, so every label stays readable.
pub fn ratios(title: &str, x_desc: &str, items: &[RatioBar]) -> String {
    // Intervals wider than a factor of 16 either way are clipped to the axis: the chart would
    // otherwise be all whisker.
    const CLIP: f64 = 4.0;
    let height = 90 + 26 * items.len().max(1) as u32;
    draw_sized((SIZE.0, height), |root| {
        root.fill(&WHITE)?;
        let l = |x: f64| x.max(f64::MIN_POSITIVE).log2().clamp(-CLIP, CLIP);
        let reach = items
            .iter()
            .flat_map(|b| [l(b.ci.0).abs(), l(b.ci.1).abs(), l(b.ratio).abs()])
            .fold(0.25f64, f64::max)
            * 1.1;
        let n = items.len().max(1) as u32;
        let label_width = items
            .iter()
            .map(|b| b.label.len())
            .max()
            .unwrap_or(0)
            .min(48) as u32
            * 7
            + 16;
        // Row k from the top sits on segment n - 1 - k.
        let at = |k: usize| SegmentValue::CenterOf(n - 1 - k as u32);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 16))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(label_width)
            .build_cartesian_2d(-reach..reach, (0u32..n - 1).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(x_desc)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => items
                    .get((n - 1 - i) as usize)
                    .map(|b| b.label.clone())
                    .unwrap_or_default(),
                SegmentValue::Last => String::new(),
            })
            .x_label_formatter(&|x| format!("{:.2}×", 2f64.powf(*x)))
            .draw()?;
        chart.draw_series(LineSeries::new(
            [(0.0, SegmentValue::Exact(0)), (0.0, SegmentValue::Last)],
            BLACK.stroke_width(1),
        ))?;
        for (k, b) in items.iter().enumerate() {
            let color = if b.resolved {
                RGBColor(31, 90, 160).to_rgba()
            } else {
                RGBColor(150, 150, 150).to_rgba()
            };
            chart.draw_series(std::iter::once(ErrorBar::new_horizontal(
                at(k),
                l(b.ci.0),
                l(b.ratio),
                l(b.ci.1),
                color.stroke_width(2),
                8,
            )))?;
            chart.draw_series(std::iter::once(Circle::new(
                (l(b.ratio), at(k)),
                4,
                color.filled(),
            )))?;
        }
        root.present()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_titles_and_axis_labels() {
        let b = bars(
            "Throughput",
            "ops/s",
            &[
                Bar {
                    label: "row-a".into(),
                    value: 10.0,
                    ci: Some((9.0, 11.0)),
                },
                Bar {
                    label: "glommio".into(),
                    value: 12.0,
                    ci: None,
                },
            ],
        );
        assert!(
            b.starts_with("<svg")
                && b.contains("Throughput")
                && b.contains("ops/s")
                && b.contains("glommio")
        );
        let mut h = dyno_core::record::new_histogram();
        for v in 1..10_000u64 {
            h.record(v * 100).unwrap();
        }
        let l = latency_curves("Latency", &[("row-a".into(), h)]);
        assert!(
            l.contains("percentile")
                && l.contains("99%")
                && (l.contains("<path") || l.contains("<polyline")),
            "{l}"
        );
        let s = sweep(
            "Sweep",
            "consumers",
            "ops/s",
            &[("row-a".into(), vec![(4.0, 1.0), (64.0, 2.0), (1024.0, 1.5)])],
        );
        assert!(
            s.contains("consumers") && !s.contains("chart failed"),
            "{s}"
        );
        let r = ratios(
            "fresh / pooled",
            "ratio",
            &[
                RatioBar {
                    label: "on tokio".into(),
                    ratio: 0.5,
                    ci: (0.45, 0.55),
                    resolved: true,
                },
                RatioBar {
                    label: "on glommio".into(),
                    ratio: 1.02,
                    ci: (0.9, 1.2),
                    resolved: false,
                },
            ],
        );
        assert!(
            r.contains("on tokio") && r.contains("on glommio") && !r.contains("chart failed"),
            "{r}"
        );
    }
}
