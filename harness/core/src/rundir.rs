//! The results directory and a run's directory: the one place that knows their layout (`runs/<id>/`,
//! `latest`, the committed `reference*` runs, `manifest.json`, `cells/`, artifacts, `references/`,
//! `overhead.json`) and the only reader of manifests and cell files. Every error names its path.

use crate::schema::{CellResult, Manifest, SCHEMA, write_atomic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a run directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// No such run; `accepted` lists the runs there are.
    #[error("no run {name:?} under {}; accepted: {accepted}", .root.display())]
    NoRun {
        name: String,
        root: PathBuf,
        accepted: String,
    },
    // The IO error is part of the message, not a `source`, so a chain printed with `{:#}` says it once.
    #[error("cannot read {}: {err}", .path.display())]
    Read { path: PathBuf, err: std::io::Error },
    #[error("cannot write {}: {err}", .path.display())]
    Write { path: PathBuf, err: std::io::Error },
    #[error("{} is not a dyno {what}: {why}", .path.display())]
    Invalid {
        path: PathBuf,
        what: &'static str,
        why: String,
    },
    /// A document a tool wrote into the run (a reference bench, validation, micro-benchmarks, the
    /// overhead measurement) that does not parse; `rel` is its path in the run.
    #[error("`{}` is unreadable: {why}", .rel.display())]
    Unreadable { rel: PathBuf, why: String },
}

impl RunDirError {
    /// Whether the user named a run that is not there (a usage error) rather than an IO failure.
    pub fn is_usage(&self) -> bool {
        matches!(self, RunDirError::NoRun { .. })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, RunDirError> {
    std::fs::read(path).map_err(|err| RunDirError::Read {
        path: path.to_path_buf(),
        err,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), RunDirError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|err| RunDirError::Write {
            path: dir.to_path_buf(),
            err,
        })?;
    }
    write_atomic(path, bytes).map_err(|err| RunDirError::Write {
        path: path.to_path_buf(),
        err,
    })
}

/// A results directory: `runs/<id>/`, `latest`, and committed runs `reference` and `reference-<name>`.
#[derive(Debug, Clone)]
pub struct Results {
    root: PathBuf,
}

impl Results {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Results { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn runs(&self) -> PathBuf {
        self.root.join("runs")
    }

    /// The run ids under `runs/`, sorted.
    pub fn run_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.runs())
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        ids.sort();
        ids
    }

    /// The committed runs: `reference` and `reference-<name>`.
    pub fn references(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n == "reference" || n.starts_with("reference-"))
            .collect();
        out.sort();
        out
    }

    /// The id `latest` names, if any run has been started.
    pub fn latest(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.root.join("latest")).ok()?;
        Some(text.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// Point `latest` at run `id`.
    pub fn set_latest(&self, id: &str) -> Result<(), RunDirError> {
        write(&self.root.join("latest"), format!("{id}\n").as_bytes())
    }

    /// The directory of a new run `id` (not created yet).
    pub fn new_run(&self, id: &str) -> RunDir {
        RunDir::at(self.runs().join(id))
    }

    /// Whether a run `id` exists under `runs/`.
    pub fn has_run(&self, id: &str) -> bool {
        self.runs().join(id).exists()
    }

    /// The run named `name`: `latest`, a committed `reference`/`reference-<name>` run, or an id under
    /// `runs/`. It must hold a manifest; otherwise the error lists what is accepted.
    pub fn open(&self, name: &str) -> Result<RunDir, RunDirError> {
        let dir = match name {
            n if n == "reference" || n.starts_with("reference-") => Some(self.root.join(n)),
            "latest" => self.latest().map(|id| self.runs().join(id)),
            n if n.contains('/') || n.is_empty() => None,
            n => Some(self.runs().join(n)),
        };
        match dir {
            Some(d) if d.join("manifest.json").exists() => Ok(RunDir::at(d)),
            _ => {
                let mut ids = self.run_ids();
                if self.latest().is_some() {
                    ids.push("latest".into());
                }
                ids.extend(self.references());
                Err(RunDirError::NoRun {
                    name: name.to_string(),
                    root: self.root.clone(),
                    accepted: if ids.is_empty() {
                        "none (no runs yet: run `cargo xtask bench`)".into()
                    } else {
                        ids.join(", ")
                    },
                })
            }
        }
    }
}

/// The typed result of a workload's reference bench (`references/<workload>.json`): its findings as the
/// report renders them, or why the bench was skipped. Benches add their own figures beside these fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceDoc {
    /// The bench's name.
    #[serde(default)]
    pub benchmark: String,
    /// The commit it ran at.
    #[serde(default)]
    pub commit: Option<String>,
    /// Why it did not run.
    #[serde(default)]
    pub skipped: Option<String>,
    /// Its findings for the book, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Findings as markdown, from benches that predate typed findings (the committed reference run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    /// The bench's own figures.
    #[serde(flatten)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// A workload's validation against outside tools (`validation/<workload>.json`, written by its
/// `validate` bench under `cargo xtask validate`): each check with its target, figures and outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationDoc {
    /// The commit the checks ran at.
    #[serde(default)]
    pub commit: Option<String>,
    /// Whether the short (`--quick`) form ran.
    #[serde(default)]
    pub quick: bool,
    pub checks: Vec<Check>,
}

/// One validation check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What is checked, e.g. "known delay".
    pub name: String,
    /// What passing means, e.g. "p50 of both within 10%".
    pub target: String,
    /// The measured figures, in a sentence (or why the check was skipped).
    pub figures: String,
    pub outcome: Outcome,
}

/// How a validation check came out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    #[default]
    Fail,
    /// A tool it needs is absent; `figures` says which.
    Skipped,
}

impl ValidationDoc {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }

    /// Print each check, write the document to `out` if given (atomically), and give the exit code:
    /// failure if a check failed or the document could not be written. The end of every `validate`
    /// bench's `main`.
    pub fn finish(&self, out: Option<&Path>) -> std::process::ExitCode {
        for c in &self.checks {
            println!("{:?}: {} ({}): {}", c.outcome, c.name, c.target, c.figures);
        }
        if let Some(path) = out {
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .map_err(|e| e.to_string())
                .and_then(|_| serde_json::to_vec_pretty(self).map_err(|e| e.to_string()))
                .and_then(|b| write_atomic(path, &b).map_err(|e| e.to_string()));
            if let Err(e) = written {
                eprintln!("error: cannot write {}: {e}", path.display());
                return std::process::ExitCode::FAILURE;
            }
        }
        match self.passed() {
            true => std::process::ExitCode::SUCCESS,
            false => std::process::ExitCode::FAILURE,
        }
    }
}

/// The artifacts a cell result names (`CellResult::artifacts`), each at `cells/<cell id>.<suffix>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artifact {
    /// The merged latency histogram (HdrHistogram V2, base64).
    Histogram,
    /// The sampler's time series (CSV).
    Timeseries,
    /// The profiled repeat's folded stacks: large and repetitive (deep generic Rust frames), so gzipped.
    FoldedStacks,
    /// The profiled repeat's flamegraph (SVG).
    Flamegraph,
}

/// The suffix of a gzipped artifact.
const GZ: &str = ".gz";

impl Artifact {
    fn suffix(self) -> &'static str {
        match self {
            Artifact::Histogram => "hdr",
            Artifact::Timeseries => "timeseries.csv",
            Artifact::FoldedStacks => "folded.gz",
            Artifact::Flamegraph => "flame.svg",
        }
    }

    fn gzipped(self) -> bool {
        self.suffix().ends_with(GZ)
    }
}

/// Gzip-compress bytes.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("writing to a Vec cannot fail");
    e.finish().expect("finishing a Vec cannot fail")
}

/// A workload's micro-benchmark results (`micro/<workload>.json`, imported by `cargo xtask bench
/// --micro` from criterion's output): one line per benchmark.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MicroDoc {
    /// The commit the benches ran at.
    #[serde(default)]
    pub commit: Option<String>,
    /// Whether criterion ran with `--quick` (fewer samples, wider intervals).
    #[serde(default)]
    pub quick: bool,
    pub benches: Vec<MicroBench>,
    /// Instruction counts (gungraun/callgrind), one per benchmark run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counts: Vec<MicroCount>,
    /// Parts that did not run, and why (e.g. the instruction-count benches without valgrind).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// One criterion benchmark: its id and the mean time per iteration with criterion's 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicroBench {
    /// criterion's full id (`group/function/value`).
    pub id: String,
    pub mean_ns: f64,
    pub low_ns: f64,
    pub high_ns: f64,
}

/// One instruction-count benchmark (gungraun, under callgrind): its id and counts for one run of the
/// benchmark function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicroCount {
    /// `group/function.id`.
    pub id: String,
    pub instructions: u64,
    /// callgrind's estimate from instructions and cache hits (L1, LL, RAM).
    pub estimated_cycles: u64,
    /// Operations one run of the benchmark function holds, from an id ending in `ops_<N>` (the bench's
    /// way of saying it, e.g. `#[bench::ops_1000(...)]`): the report divides by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
}

/// One finding of a reference bench: a paragraph, or a table whose first column names what was measured
/// and whose other columns are figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// A paragraph (inline markdown: emphasis and code).
    Text { text: String },
    /// A table; every row has one cell per column.
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

impl Finding {
    /// A paragraph.
    pub fn text(text: impl Into<String>) -> Finding {
        Finding::Text { text: text.into() }
    }
}

/// What observing the cells costs them (`overhead.json`, written by `dyno overhead`): per cell, the
/// sampler's and the profiler's throughput ratios over interleaved rounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OverheadDoc {
    pub commit: String,
    pub dirty: bool,
    /// Interleaved rounds (each runs the matrix with and without the observers).
    pub rounds: u64,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub repeats: usize,
    pub cells: Vec<CellCost>,
    /// The report's rendering, kept in the file for readers outside dyno.
    #[serde(default)]
    pub markdown: String,
}

/// One cell's observer costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellCost {
    pub cell_id: String,
    pub workload: String,
    pub runtime: String,
    pub sampler: Cost,
    pub profiler: Cost,
    /// Which profiler ran (`perf` or `pprof`); empty when none did.
    pub profiler_tool: String,
}

/// One observer's cost on one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Observed throughput over unobserved, per round.
    pub ratios: Vec<f64>,
    /// Geometric mean of the ratios with its 95% interval.
    pub ratio: Option<crate::stats::Estimate>,
    /// The share of throughput the observer may cost.
    pub target: f64,
    /// What the interval says of the target.
    pub verdict: Verdict,
}

impl Cost {
    /// The cost of `ratios` judged against `target`: a verdict only where the interval resolves it.
    pub fn of(ratios: Vec<f64>, target: f64) -> Cost {
        let ratio = crate::stats::Estimate::of_ratios(&ratios);
        let verdict = match ratio {
            Some(e) if e.n >= 2 && e.ci95_low >= 1.0 - target => Verdict::WithinTarget,
            Some(e) if e.n >= 2 && e.ci95_high < 1.0 - target => Verdict::OverTarget,
            Some(_) => Verdict::NotResolved,
            None => Verdict::NoData,
        };
        Cost {
            ratios,
            ratio,
            target,
            verdict,
        }
    }
}

/// What an observer's cost interval says of its target (the file holds the words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The whole interval is within the target.
    #[serde(rename = "within target")]
    WithinTarget,
    /// The whole interval is beyond the target.
    #[serde(rename = "over target")]
    OverTarget,
    /// The interval straddles the target: the machine's noise hides the answer.
    #[serde(rename = "not resolved")]
    NotResolved,
    /// No round measured the cell with and without the observer.
    #[serde(rename = "no data")]
    NoData,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::WithinTarget => "within target",
            Verdict::OverTarget => "over target",
            Verdict::NotResolved => "not resolved",
            Verdict::NoData => "no data",
        })
    }
}

/// One run's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDir {
    dir: PathBuf,
}

impl RunDir {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        RunDir { dir: dir.into() }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where the driver keeps cell `cell_id`'s finished repeats (one JSON file per round) until the cell
    /// ends: what `--resume` continues from.
    pub fn rounds_dir(&self, cell_id: &str) -> PathBuf {
        self.dir.join(format!("cells/.rounds/{cell_id}"))
    }

    /// Where a cell process of `cell_id` writes its output for the driver to read.
    pub fn cell_output_path(&self, cell_id: &str) -> PathBuf {
        self.dir.join(format!("cells/.{cell_id}.out"))
    }

    /// The scratch directory of cell `cell_id`'s profiled repeat (the profiler's raw output).
    pub fn profile_scratch(&self, cell_id: &str) -> PathBuf {
        self.dir.join(format!("cells/.{cell_id}"))
    }

    /// Where a file of the run lives, by its path relative to the run directory.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn manifest_path(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    /// The manifest, checked against this dyno's schema.
    pub fn manifest(&self) -> Result<Manifest, RunDirError> {
        let path = self.manifest_path();
        let m: Manifest =
            serde_json::from_slice(&read(&path)?).map_err(|e| RunDirError::Invalid {
                path: path.clone(),
                what: "manifest",
                why: e.to_string(),
            })?;
        if m.schema != SCHEMA {
            return Err(RunDirError::Invalid {
                path,
                what: "manifest",
                why: format!("schema {} (this dyno reads {SCHEMA})", m.schema),
            });
        }
        Ok(m)
    }

    /// Write the manifest (atomically; creates the run and its `cells/` directory).
    pub fn write_manifest(&self, m: &Manifest) -> Result<(), RunDirError> {
        let cells = self.dir.join("cells");
        std::fs::create_dir_all(&cells).map_err(|err| RunDirError::Write { path: cells, err })?;
        let json = serde_json::to_vec_pretty(m).expect("a manifest serializes");
        write(&self.manifest_path(), &json)
    }

    /// Where cell `id`'s result lives.
    pub fn cell_path(&self, id: &str) -> PathBuf {
        self.dir.join("cells").join(format!("{id}.json"))
    }

    /// Cell `id`'s result: `None` when it has none yet, `Err` (naming the file) when it cannot be trusted.
    pub fn cell(&self, id: &str) -> Option<Result<CellResult, RunDirError>> {
        let path = self.cell_path(id);
        path.exists().then(|| CellResult::read(&path))
    }

    /// Write a cell's result, atomically.
    pub fn write_cell(&self, c: &CellResult) -> Result<(), RunDirError> {
        let json = serde_json::to_vec_pretty(c).expect("a cell result serializes");
        write(&self.cell_path(&c.cell_id), &json)
    }

    /// Every cell result file, sorted by file name, and the files that could not be trusted (with why).
    pub fn cells(&self) -> Result<(Vec<CellResult>, Vec<String>), RunDirError> {
        let dir = self.dir.join("cells");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|err| RunDirError::Read {
                path: dir.clone(),
                err,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let (mut cells, mut problems) = (Vec::new(), Vec::new());
        for p in paths {
            match CellResult::read(&p) {
                Ok(c) => cells.push(c),
                Err(e) => problems.push(e.to_string()),
            }
        }
        Ok((cells, problems))
    }

    /// Write cell `cell_id`'s artifact of `kind` atomically, compressed where the kind is stored
    /// compressed; its path relative to the run directory, as the cell result records it.
    pub fn write_artifact(
        &self,
        cell_id: &str,
        kind: Artifact,
        text: &str,
    ) -> Result<String, RunDirError> {
        let rel = format!("cells/{cell_id}.{}", kind.suffix());
        let bytes = match kind.gzipped() {
            true => gzip(text.as_bytes()),
            false => text.as_bytes().to_vec(),
        };
        write(&self.dir.join(&rel), &bytes)?;
        Ok(rel)
    }

    /// An artifact's text by the path a cell result records (decompressed), if it is there and readable.
    pub fn artifact(&self, rel: &str) -> Option<String> {
        let bytes = std::fs::read(self.dir.join(rel)).ok()?;
        if rel.ends_with(GZ) {
            use std::io::Read;
            let mut s = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut s)
                .ok()?;
            Some(s)
        } else {
            String::from_utf8(bytes).ok()
        }
    }

    /// Where workload `w`'s reference bench result lives.
    pub fn reference_path(&self, w: &str) -> PathBuf {
        self.dir.join("references").join(format!("{w}.json"))
    }

    /// Workload `w`'s reference bench result, if the run has one.
    pub fn reference(&self, w: &str) -> Option<Result<ReferenceDoc, RunDirError>> {
        self.optional_doc(&self.reference_path(w))
    }

    /// A JSON document of this run that may be absent (`None`), or why it cannot be read.
    fn optional_doc<T: serde::de::DeserializeOwned>(
        &self,
        path: &Path,
    ) -> Option<Result<T, RunDirError>> {
        let bytes = std::fs::read(path).ok()?;
        let rel = path.strip_prefix(&self.dir).unwrap_or(path);
        Some(
            serde_json::from_slice(&bytes).map_err(|e| RunDirError::Unreadable {
                rel: rel.to_path_buf(),
                why: e.to_string(),
            }),
        )
    }

    /// Where workload `w`'s micro-benchmark results live.
    pub fn micro_path(&self, w: &str) -> PathBuf {
        self.dir.join("micro").join(format!("{w}.json"))
    }

    /// Write workload `w`'s micro-benchmark results (atomically: never a partial file).
    pub fn write_micro(&self, w: &str, doc: &MicroDoc) -> Result<(), RunDirError> {
        let bytes = serde_json::to_vec_pretty(doc).expect("a MicroDoc serializes");
        write(&self.micro_path(w), &bytes)
    }

    /// Workload `w`'s micro-benchmark results, if the run has them.
    pub fn micro(&self, w: &str) -> Option<Result<MicroDoc, RunDirError>> {
        self.optional_doc(&self.micro_path(w))
    }

    /// Where workload `w`'s validation result lives.
    pub fn validation_path(&self, w: &str) -> PathBuf {
        self.dir.join("validation").join(format!("{w}.json"))
    }

    /// Workload `w`'s validation result, if the run has one.
    pub fn validation(&self, w: &str) -> Option<Result<ValidationDoc, RunDirError>> {
        self.optional_doc(&self.validation_path(w))
    }

    /// Every validation result of the run (`validation/*.json`), by workload.
    pub fn validations(&self) -> BTreeMap<String, Result<ValidationDoc, RunDirError>> {
        std::fs::read_dir(self.dir.join("validation"))
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                let w = name.strip_suffix(".json")?.to_string();
                let doc = self.validation(&w)?;
                Some((w, doc))
            })
            .collect()
    }

    /// Where the observer-overhead measurement lives.
    pub fn overhead_path(&self) -> PathBuf {
        self.dir.join("overhead.json")
    }

    /// The observer-overhead measurement, if the run has one.
    pub fn overhead(&self) -> Option<Result<OverheadDoc, RunDirError>> {
        self.optional_doc(&self.overhead_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_run_lists_what_is_accepted_and_a_path_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let r = Results::new(d.path());
        let e = r.open("nope").unwrap_err();
        assert!(e.is_usage());
        assert!(e.to_string().contains("none (no runs yet"), "{e}");
        std::fs::create_dir_all(d.path().join("runs/a")).unwrap();
        std::fs::write(d.path().join("runs/a/manifest.json"), "{}").unwrap();
        r.set_latest("a").unwrap();
        assert_eq!(r.open("latest").unwrap().path(), d.path().join("runs/a"));
        let e = r.open("../runs/a").unwrap_err().to_string();
        assert!(e.contains("accepted: a, latest"), "{e}");
    }

    #[test]
    fn a_manifest_of_another_schema_or_shape_is_refused_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let run = RunDir::at(d.path());
        let e = run.manifest().unwrap_err().to_string();
        assert!(e.contains("manifest.json"), "{e}");
        std::fs::write(d.path().join("manifest.json"), "{\"schema\": 1}").unwrap();
        let e = run.manifest().unwrap_err().to_string();
        assert!(e.contains("is not a dyno manifest"), "{e}");
    }

    #[test]
    fn reference_docs_keep_their_own_data() {
        let d = tempfile::tempdir().unwrap();
        let run = RunDir::at(d.path());
        assert!(run.reference("w").is_none());
        std::fs::create_dir_all(d.path().join("references")).unwrap();
        std::fs::write(
            run.reference_path("w"),
            r#"{"benchmark":"b","markdown":"md","ratio":1.5}"#,
        )
        .unwrap();
        let doc = run.reference("w").unwrap().unwrap();
        assert_eq!(doc.markdown.as_deref(), Some("md"));
        assert_eq!(doc.data["ratio"], 1.5);
        std::fs::write(run.reference_path("w"), "[").unwrap();
        assert!(run.reference("w").unwrap().is_err());
    }
}
