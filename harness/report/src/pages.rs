//! The pages and their layout: overview, one page per workload (its parameter sets, its sweeps, then
//! workload-wide sections), methodology, and the book's SUMMARY.md. What each part shows is in
//! [`crate::sections`].

use crate::sections::{self, Out, Part, slug};
use crate::{GENERATED, Page, Run};
use dyno_core::Params;
use dyno_core::schema::CellResult;
use std::fmt::Write;

/// A workload's cells grouped by parameter set, in run order, each labelled with the parameters that
/// vary across the workload.
pub fn parameter_sets<'a>(run: &'a Run, workload: &'a str) -> Vec<Part<'a>> {
    let cells: Vec<&CellResult> = run
        .cells
        .iter()
        .filter(|c| c.workload == workload)
        .collect();
    let shown = Params::varying(cells.iter().map(|c| &c.params));
    let mut sets: Vec<(String, Vec<&CellResult>)> = Vec::new();
    for c in cells {
        let key = c.params.key();
        match sets.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(c),
            None => sets.push((key, vec![c])),
        }
    }
    sets.into_iter()
        .enumerate()
        .map(|(i, (_, cells))| {
            let label = cells[0].params.label(&shown);
            let mut part = Part::new(run, workload, cells);
            part.label = if label.is_empty() {
                "default parameters".to_string()
            } else {
                label
            };
            part.stem = format!("{}-{i}", slug(workload));
            part
        })
        .collect()
}

/// A run-wide part: every cell.
fn whole(run: &Run) -> Part<'_> {
    Part::new(run, "", run.cells.iter().collect())
}

/// A page made of `out`'s markdown at `path`, followed by the files its sections wrote.
fn page(path: String, out: Out) -> Vec<Page> {
    let mut pages = vec![Page::text(path, out.md)];
    pages.extend(out.files);
    pages
}

/// `overview.md`.
pub fn overview(run: &Run) -> Vec<Page> {
    let mut out = Out::default();
    out.sections(sections::OVERVIEW, &whole(run));
    page(format!("{GENERATED}/overview.md"), out)
}

/// `<workload>.md` and its charts.
pub fn workload(run: &Run, w: &str) -> Vec<Page> {
    let mut out = Out::default();
    let _ = writeln!(out.md, "# {w}\n");
    if let Some(c) = run.cells.iter().find(|c| c.workload == w) {
        let _ = writeln!(
            out.md,
            "One operation is one of: {}. Latency percentiles merge every repeat's samples.\n",
            c.ops_unit
        );
    }
    let all = Part::new(
        run,
        w,
        run.cells.iter().filter(|c| c.workload == w).collect(),
    );
    out.sections(sections::WORKLOAD_HEAD, &all);
    for set in parameter_sets(run, w) {
        out.sections(sections::PARAMETER_SET, &set);
    }
    for (i, sweep) in sections::sweeps::parts(run, w).iter().enumerate() {
        if i == 0 {
            out.md.push_str("## Sweeps\n\n");
        }
        out.sections(sections::SWEEP, sweep);
    }
    out.sections(sections::WORKLOAD, &all);
    page(format!("{GENERATED}/{w}.md"), out)
}

/// `findings.md`.
pub fn findings(run: &Run) -> Vec<Page> {
    let mut out = Out::default();
    out.sections(sections::FINDINGS, &whole(run));
    page(format!("{GENERATED}/findings.md"), out)
}

/// `methodology.md`.
pub fn methodology(run: &Run) -> Vec<Page> {
    let mut out = Out::default();
    out.sections(sections::METHODOLOGY, &whole(run));
    page(format!("{GENERATED}/methodology.md"), out)
}

/// The book's `SUMMARY.md`: hand-written chapters around the generated pages.
pub fn summary(workloads: &[String], compare: bool) -> Page {
    let mut s = String::from("# Summary\n\n[Introduction](introduction.md)\n\n# Results\n\n");
    let _ = writeln!(s, "- [Overview]({GENERATED}/overview.md)");
    for w in workloads {
        let _ = writeln!(s, "  - [{w}]({GENERATED}/{w}.md)");
    }
    let _ = writeln!(s, "- [Findings]({GENERATED}/findings.md)");
    let _ = writeln!(s, "- [Methodology]({GENERATED}/methodology.md)");
    if compare {
        let _ = writeln!(s, "- [Comparison with a baseline]({GENERATED}/compare.md)");
    }
    s.push_str("\n# Guide\n\n- [Metrics](metrics.md)\n- [Reproduce](reproduce.md)\n- [Adding a workload](adding-a-workload.md)\n- [Rows in other languages](other-languages.md)\n");
    Page::text("SUMMARY.md", s)
}
