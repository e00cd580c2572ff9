//! Latency percentile curves, one per row, from the merged HDR histograms of the cells' repeats.

use super::{Out, Part, Section};
use crate::charts;
use dyno_core::record::decode_histogram;

/// Each row's latency distribution (percentile against latency), where its histogram was recorded.
pub struct Percentiles;

impl Section for Percentiles {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let lat: Vec<_> = part
            .ok_by_row()
            .filter(|(_, c)| c.summary.is_some())
            .filter_map(|(r, c)| {
                let text = part.run.artifact(c.artifacts.histogram.as_deref()?)?;
                Some((r.clone(), decode_histogram(&text).ok()?))
            })
            .collect();
        if !lat.is_empty() {
            let title = format!("{}: latency, {}", part.workload, part.label);
            out.chart(
                &format!("{}-latency", part.stem),
                "latency percentiles",
                charts::latency_curves(&title, &lat),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    #[test]
    fn a_curve_per_row_with_a_histogram() {
        let run = fixture::run();
        let part = fixture::first_set(&run);
        let ran = fixture::rows(&run);
        let out = fixture::render(&Percentiles, &part);
        let path = format!("charts/{}-latency.svg", part.stem);
        assert_eq!(out.md, format!("![latency percentiles]({path})\n\n"));
        let svg = fixture::file(&out, &path);
        assert!(
            fixture::shows(svg, &ran[0]) && fixture::shows(svg, &ran[1]),
            "{svg}"
        );
    }

    #[test]
    fn no_chart_without_histograms() {
        let mut run = fixture::run();
        run.artifacts.retain(|k, _| !k.ends_with(".hdr"));
        let part = fixture::first_set(&run);
        assert!(fixture::render(&Percentiles, &part).files.is_empty());
    }
}
