//! Bar charts across rows: throughput with its 95% interval, ops per CPU-second, peak RSS.

use super::{Out, Part, Section};
use crate::charts::{self, Bar};
use dyno_core::schema::Summary;

/// One bar per row that ran to the end, from its summary.
fn bars(part: &Part<'_>, value: impl Fn(&Summary) -> (f64, Option<(f64, f64)>)) -> Vec<Bar> {
    part.ok_by_row()
        .filter_map(|(r, c)| {
            let (value, ci) = value(c.summary.as_ref()?);
            Some(Bar {
                label: r.clone(),
                value,
                ci,
            })
        })
        .collect()
}

/// Mean throughput per row with its 95% interval.
pub struct Throughput;

impl Section for Throughput {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let b = bars(part, |m| {
            let t = m.throughput_ops_s;
            (t.mean, Some((t.ci95_low, t.ci95_high)))
        });
        if !b.is_empty() {
            let title = format!("{}: throughput, {}", part.workload, part.label);
            let svg = charts::bars(&title, "ops/s (95% CI)", &b);
            out.chart(&format!("{}-throughput", part.stem), "throughput", svg);
        }
    }
}

/// Operations per CPU-second per row.
pub struct Efficiency;

impl Section for Efficiency {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let b = bars(part, |m| (m.ops_per_cpu_s, None));
        if !b.is_empty() {
            let title = format!("{}: CPU efficiency, {}", part.workload, part.label);
            let svg = charts::bars(&title, "ops per CPU-second", &b);
            out.chart(
                &format!("{}-efficiency", part.stem),
                "ops per CPU-second",
                svg,
            );
        }
    }
}

/// Peak RSS per row, in MiB.
pub struct Memory;

impl Section for Memory {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let b = bars(part, |m| {
            (m.peak_rss_bytes as f64 / (1024.0 * 1024.0), None)
        });
        if !b.is_empty() {
            let title = format!("{}: peak RSS, {}", part.workload, part.label);
            let svg = charts::bars(&title, "MiB", &b);
            out.chart(&format!("{}-memory", part.stem), "peak RSS", svg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    #[test]
    fn one_chart_each_with_a_bar_per_row_that_ran() {
        let run = fixture::run();
        let part = fixture::first_set(&run);
        let ran = fixture::rows(&run);
        for (section, kind, alt) in [
            (&Throughput as &dyn Section, "throughput", "throughput"),
            (&Efficiency, "efficiency", "ops per CPU-second"),
            (&Memory, "memory", "peak RSS"),
        ] {
            let out = fixture::render(section, &part);
            let path = format!("charts/{}-{kind}.svg", part.stem);
            assert_eq!(out.md, format!("![{alt}]({path})\n\n"));
            let svg = fixture::file(&out, &path);
            assert!(svg.starts_with("<svg"), "{svg}");
            assert!(
                fixture::shows(svg, &ran[0]) && fixture::shows(svg, &ran[1]),
                "{kind}"
            );
            // The failed row has no bar.
            assert!(!fixture::shows(svg, &ran[2]), "{kind}");
        }
    }

    #[test]
    fn no_chart_when_no_row_ran() {
        let run = fixture::run();
        let mut part = fixture::first_set(&run);
        let [_, _, failed] = fixture::rows(&run);
        part.cells.retain(|c| c.runtime == failed);
        for section in [&Throughput as &dyn Section, &Efficiency, &Memory] {
            let out = fixture::render(section, &part);
            assert!(out.md.is_empty() && out.files.is_empty());
        }
    }
}
