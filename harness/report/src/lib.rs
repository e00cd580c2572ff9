//! dyno's report: a results run in, an mdBook out.
//!
//! [`generate`] is pure: it turns a [`Run`] (and optionally a baseline run to compare against) into
//! [`Page`]s (markdown, SVG charts made with plotters, CSV and Bencher Metric Format exports) and does no IO,
//! like hyperfine's exporters. Each page is a list of sections (`sections`), each a small unit that renders
//! one part of the run (a parameter set, a sweep, a workload, the whole run). [`write_pages`] puts them under `mdbook/src/generated/` (plus the generated
//! `SUMMARY.md`), and [`build_book`] builds the book in-process with the mdbook library.

mod charts;
pub mod compare;
mod export;
pub mod flame;
mod pages;
pub mod paired;
mod sections;

pub use sections::methodology::overhead_markdown;

use anyhow::{Context, Result};
use dyno_core::metrics::Declarations;
use dyno_core::rundir::{MicroDoc, OverheadDoc, ReferenceDoc, RunDir, ValidationDoc};
use dyno_core::schema::{CellResult, Manifest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where generated pages live inside the book's `src/` (hand-written chapters sit beside it).
pub const GENERATED: &str = "generated";

/// A loaded results run: everything the pages need, read once, so [`generate`] does no IO.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Cells in planned order (then any unplanned ones by id).
    pub cells: Vec<CellResult>,
    /// Cell files that could not be trusted, with why; shown in the book, never silently dropped.
    pub problems: Vec<String>,
    /// The cells' artifacts (histograms, time series, folded stacks) by path relative to the run,
    /// decompressed; an artifact that could not be read is absent.
    pub artifacts: BTreeMap<String, String>,
    /// Each workload's reference bench result, where the run has one (an unreadable document as the
    /// sentence the page shows in its place; so for the documents below).
    pub references: BTreeMap<String, Result<ReferenceDoc, String>>,
    /// Each workload's micro-benchmark results, where the run has them.
    pub micro: BTreeMap<String, Result<MicroDoc, String>>,
    /// What observing the cells cost them, where the run measured it.
    pub overhead: Option<Result<OverheadDoc, String>>,
    /// Each workload's validation against outside tools (`cargo xtask validate`), where the run has it.
    pub validation: BTreeMap<String, Result<ValidationDoc, String>>,
}

impl Run {
    /// Load a run: its manifest (schema checked), every cell file, and every artifact, reference bench
    /// and overhead measurement the pages show.
    pub fn load(dir: &RunDir) -> Result<Run> {
        let manifest = dir.manifest()?;
        let (mut cells, mut problems) = dir.cells()?;
        let order = |c: &CellResult| {
            manifest
                .settings
                .cells
                .iter()
                .position(|p| p.cell_id == c.cell_id)
                .unwrap_or(usize::MAX)
        };
        cells.sort_by(|a, b| order(a).cmp(&order(b)).then(a.cell_id.cmp(&b.cell_id)));
        for planned in &manifest.settings.cells {
            if !cells.iter().any(|c| c.cell_id == planned.cell_id) {
                problems.push(format!(
                    "cell {} was planned but has no result (run not finished?)",
                    planned.cell_id
                ));
            }
        }
        let mut artifacts = BTreeMap::new();
        for c in &cells {
            let a = &c.artifacts;
            for rel in [&a.histogram, &a.timeseries_csv, &a.folded_stacks]
                .into_iter()
                .flatten()
            {
                if let Some(text) = dir.artifact(rel) {
                    artifacts.insert(rel.clone(), text);
                }
            }
        }
        let (mut references, mut micro) = (BTreeMap::new(), BTreeMap::new());
        let mut seen = std::collections::BTreeSet::new();
        for c in &cells {
            let w = &c.workload;
            if !seen.insert(w) {
                continue;
            }
            if let Some(r) = dir.reference(w) {
                references.insert(w.clone(), shown(r));
            }
            if let Some(m) = dir.micro(w) {
                micro.insert(w.clone(), shown(m));
            }
        }
        Ok(Run {
            dir: dir.path().to_path_buf(),
            micro,
            overhead: dir.overhead().map(shown),
            validation: dir
                .validations()
                .into_iter()
                .map(|(w, v)| (w, shown(v)))
                .collect(),
            manifest,
            cells,
            problems,
            artifacts,
            references,
        })
    }

    /// Workload names in first-appearance order.
    pub fn workloads(&self) -> Vec<String> {
        let mut w: Vec<String> = Vec::new();
        for c in &self.cells {
            if !w.contains(&c.workload) {
                w.push(c.workload.clone());
            }
        }
        w
    }

    /// Row ids in the book's order: the run's registry order (manifest), then any others in
    /// first-appearance order (runs from before the manifest recorded it: the planned order).
    pub fn rows(&self) -> Vec<String> {
        let mut r: Vec<String> = self
            .manifest
            .settings
            .rows
            .iter()
            .filter(|id| self.cells.iter().any(|c| &c.runtime == *id))
            .cloned()
            .collect();
        for c in &self.cells {
            if !r.contains(&c.runtime) {
                r.push(c.runtime.clone());
            }
        }
        r
    }

    /// The row the others are compared with: the run's `baseline_row`, else its first row.
    pub fn baseline_row(&self) -> Option<String> {
        self.manifest
            .settings
            .baseline_row
            .clone()
            .or_else(|| self.rows().into_iter().next())
    }

    /// What workload `w` declares (empty for a run from before declarations were recorded).
    pub fn declared(&self, w: &str) -> Declarations {
        self.manifest.workloads.get(w).cloned().unwrap_or_default()
    }

    /// An artifact of this run read at load (e.g. a histogram), by its path relative to the run.
    pub fn artifact(&self, rel: &str) -> Option<String> {
        self.artifacts.get(rel).cloned()
    }
}

/// A document of the run, or the sentence the book shows where it cannot be read.
fn shown<T>(doc: Result<T, dyno_core::rundir::RunDirError>) -> Result<T, String> {
    doc.map_err(|e| e.to_string())
}

/// One generated file: its path relative to the book's `src/`, and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub path: String,
    pub bytes: Vec<u8>,
}

impl Page {
    fn text(path: impl Into<String>, s: String) -> Page {
        Page {
            path: path.into(),
            bytes: s.into_bytes(),
        }
    }
}

/// Every page, chart and export for `run`, compared with `baseline` when given. Pure: the run was read
/// when it was loaded.
pub fn generate(run: &Run, baseline: Option<&Run>) -> Vec<Page> {
    let mut out = Vec::new();
    let workloads = run.workloads();
    out.extend(pages::overview(run));
    out.extend(pages::findings(run));
    for w in &workloads {
        out.extend(pages::workload(run, w));
    }
    out.extend(pages::methodology(run));
    if let Some(b) = baseline {
        out.push(Page::text(
            format!("{GENERATED}/compare.md"),
            compare::markdown(&compare::compare(b, run)),
        ));
    }
    out.extend(export::exports(run));
    out.push(pages::summary(&workloads, baseline.is_some()));
    out
}

/// Write pages under `src_dir`, replacing the previous generated directory. Returns the files written.
pub fn write_pages(src_dir: &Path, pages: &[Page]) -> Result<usize> {
    let gen_dir = src_dir.join(GENERATED);
    if gen_dir.exists() {
        std::fs::remove_dir_all(&gen_dir)
            .with_context(|| format!("cannot clear {}", gen_dir.display()))?;
    }
    for p in pages {
        let path = src_dir.join(&p.path);
        std::fs::create_dir_all(path.parent().expect("pages live in a directory"))?;
        std::fs::write(&path, &p.bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(pages.len())
}

/// Build the book at `book_root` (holding book.toml) in-process; returns the path of its index.html.
pub fn build_book(book_root: &Path) -> Result<PathBuf> {
    let book = mdbook_driver::MDBook::load(book_root)
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .with_context(|| format!("cannot load the book at {}", book_root.display()))?;
    book.build()
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .context("the book did not build")?;
    Ok(book.build_dir_for("html").join("index.html"))
}
