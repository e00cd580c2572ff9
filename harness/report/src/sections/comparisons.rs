//! The head of a workload page: each question the workload declares, drawn as its paired ratios with
//! their 95% intervals (one line per comparison), so the page opens with the answers it exists for.

use super::{Out, Part, Section, slug};
use crate::charts::{RatioBar, ratios};
use dyno_core::Params;
use std::fmt::Write;

/// One chart per declared question of the part's workload.
pub struct Declared;

impl Section for Declared {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let questions = part.run.declared(part.workload).questions;
        let shown = Params::varying(part.cells.iter().map(|c| &c.params));
        let mut drawn = 0;
        for (i, q) in questions.iter().enumerate() {
            let cells = super::findings::compared(part.run, q, &part.cells);
            let answers = super::findings::answers(q, &cells, &shown);
            if answers.is_empty() {
                continue;
            }
            if drawn == 0 {
                let _ = writeln!(
                    out.md,
                    "## The comparisons\n\nEach question this workload asks, as side a over side b paired by \
                     round: the dot is the geometric mean of the per-round ratios, the whisker its 95% interval \
                     (log axis; 1× is no difference). Dark: the interval excludes 1. The [Findings](findings.md) \
                     page states which of these survive its false-discovery control.\n"
                );
            }
            drawn += 1;
            let what = q.figure.as_deref().unwrap_or("throughput");
            let items: Vec<RatioBar> = answers
                .iter()
                .map(|a| RatioBar {
                    label: a.context.clone(),
                    ratio: a.ratio.est.mean,
                    ci: (a.ratio.est.ci95_low, a.ratio.est.ci95_high),
                    resolved: a.ratio.resolved(),
                })
                .collect();
            let title = format!("{} ({} / {})", q.ask, q.a.label(), q.b.label());
            out.chart(
                &format!("{}-question-{i}", slug(part.workload)),
                &title,
                ratios(&title, &format!("{what}, a / b"), &items),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;
    use dyno_core::metrics::{Question, Side};

    #[test]
    fn a_workload_page_opens_with_a_chart_per_declared_question() {
        let mut run = fixture::run();
        let [a, b, _] = fixture::rows(&run);
        let w = fixture::workload(&run).to_string();
        run.manifest
            .workloads
            .entry(w.clone())
            .or_default()
            .questions = vec![Question {
            ask: "Which row?".into(),
            a: Side::row(&a),
            b: Side::row(&b),
            figure: None,
        }];
        let part = Part::new(
            &run,
            &w,
            run.cells.iter().filter(|c| c.workload == w).collect(),
        );
        let out = fixture::render(&Declared, &part);
        assert!(out.md.contains("## The comparisons"), "{}", out.md);
        let svg = fixture::file(&out, &format!("charts/{}-question-0.svg", slug(&w)));
        assert!(
            fixture::shows(svg, "default parameters") || svg.contains("consumers"),
            "{svg}"
        );
        assert!(!svg.contains("chart failed"), "{svg}");
    }
}
