//! A page is a list of sections. Each section turns one part of a run (a group of cells) into markdown
//! and the files that markdown links (charts, flamegraphs); the lists below are the pages' layouts.
//!
//! A new chart is one new [`Section`] and one entry in a layout.

mod bars;
mod comparisons;
mod findings;
mod flames;
mod latency;
pub(crate) mod methodology;
mod micro;
mod overview;
mod precision;
mod references;
mod slo;
pub mod sweeps;
mod table;
mod timeseries;

use crate::{GENERATED, Page, Run};
use dyno_core::schema::{CellResult, Status};
use std::fmt::Write;

/// One unit of a page: markdown for a part of the run, and the files it links.
pub trait Section {
    /// Append this section's markdown for `part` to `out` (nothing when it has nothing to show).
    fn render(&self, part: &Part<'_>, out: &mut Out);
}

/// The cells a section renders, with what they have in common.
pub struct Part<'a> {
    pub run: &'a Run,
    /// Their workload; empty on run-wide pages (overview, methodology).
    pub workload: &'a str,
    /// What the cells share, as shown in headings ("size=64 shape=queue"); empty when nothing varies.
    pub label: String,
    /// The stem of the files this part's sections write; unique within the run's pages.
    pub stem: String,
    /// The cells, in run order.
    pub cells: Vec<&'a CellResult>,
    /// The run's rows in book order.
    pub rows: Vec<String>,
    /// On a sweep: the whole-number parameter that varies across `cells`.
    pub swept: Option<String>,
}

impl<'a> Part<'a> {
    /// A part of `run` holding `cells`.
    pub fn new(run: &'a Run, workload: &'a str, cells: Vec<&'a CellResult>) -> Part<'a> {
        Part {
            run,
            workload,
            label: String::new(),
            stem: slug(workload),
            cells,
            rows: run.rows(),
            swept: None,
        }
    }

    /// Each row's cell, in book order (rows without one are left out).
    pub fn by_row(&self) -> impl Iterator<Item = (&String, &'a CellResult)> + '_ {
        self.rows
            .iter()
            .filter_map(|r| Some((r, *self.cells.iter().find(|c| &c.runtime == r)?)))
    }

    /// Each row's cell that ran to the end, in book order.
    pub fn ok_by_row(&self) -> impl Iterator<Item = (&String, &'a CellResult)> + '_ {
        self.rows.iter().filter_map(|r| {
            let c = self
                .cells
                .iter()
                .find(|c| &c.runtime == r && c.status == Status::Ok)?;
            Some((r, *c))
        })
    }
}

/// What sections write: the page's markdown and the files it links.
#[derive(Default)]
pub struct Out {
    pub md: String,
    pub files: Vec<Page>,
}

impl Out {
    /// Add a generated file at `path` (relative to the generated pages).
    pub fn file(&mut self, path: &str, text: String) {
        self.files
            .push(Page::text(format!("{GENERATED}/{path}"), text));
    }

    /// Show an SVG chart as an image: `charts/<name>.svg`, with `alt` as its text.
    pub fn chart(&mut self, name: &str, alt: &str, svg: String) {
        let path = format!("charts/{name}.svg");
        let _ = writeln!(self.md, "![{alt}]({path})\n");
        self.file(&path, svg);
    }

    /// Render `sections` for `part`, in order.
    pub fn sections(&mut self, sections: &[&dyn Section], part: &Part<'_>) {
        for s in sections {
            s.render(part, self);
        }
    }
}

/// `overview.md`, for the whole run.
pub const OVERVIEW: &[&dyn Section] =
    &[&overview::Headline, &overview::Matrix, &overview::Problems];

/// `findings.md`, for the whole run.
pub const FINDINGS: &[&dyn Section] = &[&findings::Findings];

/// Each parameter set of a workload page, in page order.
pub const PARAMETER_SET: &[&dyn Section] = &[
    &table::Summary,
    &table::Figures,
    &bars::Throughput,
    &latency::Percentiles,
    &bars::Efficiency,
    &bars::Memory,
    &timeseries::Rss,
    &timeseries::Cpu,
    &timeseries::ClientCpu,
    &flames::Flamegraphs,
];

/// Each sweep of a workload page: cells that differ only in one whole-number parameter.
pub const SWEEP: &[&dyn Section] = &[&sweeps::Throughput, &sweeps::P99, &slo::Sustainable];

/// The head of a workload page: its declared comparisons.
pub const WORKLOAD_HEAD: &[&dyn Section] = &[&comparisons::Declared];

/// The end of a workload page.
pub const WORKLOAD: &[&dyn Section] = &[&references::References, &micro::Micro];

/// `methodology.md`, for the whole run.
pub const METHODOLOGY: &[&dyn Section] = &[
    &methodology::Settings,
    &precision::MachineSpeed,
    &precision::Estimators,
    &precision::Pairing,
    &precision::VarianceSplit,
    &methodology::Fairness,
    &methodology::Overhead,
    &methodology::Validation,
    &methodology::Noise,
    &methodology::Downloads,
];

/// Why a cell has no figures: its status and recorded error.
pub fn reason(c: &CellResult) -> String {
    let status = format!("{:?}", c.status).to_lowercase();
    format!(
        "{status}: {}",
        c.error
            .as_deref()
            .unwrap_or("no reason recorded")
            .replace('|', "\\|")
    )
}

/// A name usable in a file name: lower-case ASCII letters and digits, everything else `-`.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Mean of a workload figure over a cell's repeats.
pub fn figure_mean(c: &CellResult, name: &str) -> Option<f64> {
    let v: Vec<f64> = c
        .repeats
        .iter()
        .filter_map(|r| r.metrics.get(name).copied())
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
pub(crate) mod fixture {
    //! The report's fixture run (tests/fixtures/run, a real run: three rows, two that ran and one failed by an injected fault,
    //! four parameter sets, two repeats) and helpers to render one section of it.

    use super::{Out, Part, Section};
    use crate::Run;
    use dyno_core::rundir::RunDir;
    use std::path::Path;

    pub fn run() -> Run {
        Run::load(&RunDir::at(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run"),
        ))
        .expect("the fixture run loads")
    }

    /// The fixture's workload (its only one).
    pub fn workload(run: &Run) -> &str {
        &run.cells[0].workload
    }

    /// The fixture's rows in book order: two that ran, then one whose cells all failed.
    pub fn rows(run: &Run) -> [String; 3] {
        let rows = run.rows();
        let failed = |r: &String| {
            run.cells
                .iter()
                .filter(|c| &c.runtime == r)
                .all(|c| c.status != dyno_core::schema::Status::Ok)
        };
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(!failed(&rows[0]) && !failed(&rows[1]) && failed(&rows[2]));
        [rows[0].clone(), rows[1].clone(), rows[2].clone()]
    }

    /// The fixture's first parameter set, as the workload page renders it.
    pub fn first_set(run: &Run) -> Part<'_> {
        crate::pages::parameter_sets(run, workload(run))
            .into_iter()
            .next()
            .expect("a parameter set")
    }

    /// The fixture's sweeps, as the workload page renders them.
    pub fn sweeps(run: &Run) -> Vec<Part<'_>> {
        super::sweeps::parts(run, workload(run))
    }

    pub fn render(section: &dyn Section, part: &Part<'_>) -> Out {
        let mut out = Out::default();
        section.render(part, &mut out);
        out
    }

    /// Whether an SVG chart shows `label` as a text of its own (plotters writes one per line).
    pub fn shows(svg: &str, label: &str) -> bool {
        svg.contains(&format!(">\n{label}\n</text>")) || svg.contains(&format!(">{label}</text>"))
    }

    /// The text of the generated file at `path` (relative to the generated pages).
    pub fn file<'o>(out: &'o Out, path: &str) -> &'o str {
        let p = out
            .files
            .iter()
            .find(|p| p.path == format!("{}/{path}", crate::GENERATED))
            .unwrap_or_else(|| {
                panic!(
                    "no {path} among {:?}",
                    out.files.iter().map(|p| &p.path).collect::<Vec<_>>()
                )
            });
        std::str::from_utf8(&p.bytes).expect("text")
    }
}
