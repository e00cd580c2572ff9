//! The row protocol for processes that are not Rust runtimes (a Go program, say): what a foreign row's
//! process is given for one repeat, what it writes back, and how its answer becomes the repeat's
//! operations, latency, timeline, errors and declared figures, as a runtime row's would. The driver,
//! the sampler and the profiler see the process like any other (it is a child of the cell process, in
//! its process group, confined to the row's cores).
//!
//! **Given**, as arguments: `-params JSON` (the cell's parameters, already validated by the workload),
//! `-cores N` (how many cores its process is confined to: its worker count), `-window-start-ns T0
//! -window-end-ns T1` (the measured window's edges on the machine's monotonic clock, CLOCK_MONOTONIC:
//! it warms up from its start until T0 and measures only operations it starts inside `[T0, T1)`), and
//! `-out FILE`.
//!
//! **Returned**: it writes one JSON object, [`ForeignRepeat`], to FILE once its work has drained and
//! not before T1, then reads its standard input to its end and exits 0: the cell reads the process's
//! CPU and memory at the window's end and closes that input only then, so the process is still there
//! to be read however late the reading comes. A non-zero exit fails the repeat with the last line of
//! its stderr (its own checks, e.g. a message lost, say why there).

use dyno_core::golang;
use dyno_core::record::{new_histogram, record_value_n};
use dyno_core::schema::RowInfo;
use dyno_core::{Fairness, MeasuredProcess, Metric, Params, RepeatCtx, RepeatError, RepeatOutput};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a foreign process may take after its window closes (drain, checks, writing its answer).
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// What a foreign row's process writes for one repeat.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignRepeat {
    /// Operations started inside the window and completed (successes only).
    pub ops: u64,
    /// Failed operations by kind, never counted in `ops`.
    #[serde(default)]
    pub errors: BTreeMap<String, u64>,
    /// One message per error kind, where it kept one.
    #[serde(default)]
    pub error_samples: BTreeMap<String, String>,
    /// Operations completed per 50 ms ([`dyno_core::steady::INTERVAL_NS`]), measured or not, the first
    /// interval starting at `timeline_start_ns`: the settling judgement reads it.
    #[serde(default)]
    pub timeline: Vec<u64>,
    /// Start of the timeline's first interval on CLOCK_MONOTONIC.
    #[serde(default)]
    pub timeline_start_ns: u64,
    /// Latency of the measured operations as buckets `[upper bound in ns, count]`, each counted at its
    /// upper bound: a bucket list keeps the row free of an HDR library; the cell folds it into one
    /// HdrHistogram. Empty when the workload records no latency.
    #[serde(default)]
    pub latency_ns: Vec<(u64, u64)>,
    /// Values of the workload's declared figures, by name.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
}

/// A foreign program and what it needs beyond the protocol's arguments.
pub struct Program<'a> {
    pub path: &'a Path,
    /// Environment variables to set (e.g. GOMAXPROCS); the rest is inherited.
    pub env: &'a [(&'a str, String)],
    /// Environment variables to remove, so that the run does not depend on the caller's shell.
    pub env_remove: &'a [&'a str],
    /// Arguments of the workload's own, after the protocol's (e.g. `-job FILE`).
    pub args: &'a [String],
}

/// Run one repeat of `program` in the window of `ctx`, name its process as the one the window
/// measures, and fold its answer into the repeat: operations, latency and errors into the collector,
/// the declared figures (`declared`) into the returned figures.
pub fn run_repeat(
    program: &Program<'_>,
    ctx: &RepeatCtx,
    measured: &MeasuredProcess,
    params: &Params,
    declared: &[Metric],
) -> Result<RepeatOutput, RepeatError> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a scratch directory: {e}"))?;
    let (out, err) = (dir.path().join("repeat.json"), dir.path().join("stderr"));
    let [t0, t1] = ctx.window.monotonic_ns();
    let stderr =
        std::fs::File::create(&err).map_err(|e| format!("cannot make a stderr file: {e}"))?;
    let mut cmd = Command::new(program.path);
    cmd.arg("-params")
        .arg(serde_json::to_string(params).map_err(|e| e.to_string())?)
        .arg("-cores")
        .arg(ctx.row.cores.len().max(1).to_string())
        .arg("-window-start-ns")
        .arg(t0.to_string())
        .arg("-window-end-ns")
        .arg(t1.to_string())
        .arg("-out")
        .arg(&out)
        .args(program.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(stderr);
    for (k, v) in program.env {
        cmd.env(k, v);
    }
    for k in program.env_remove {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.path.display()))?;
    measured.set(child.id());
    // Closed once the window's end has been read: the program waits for it before it exits.
    let mut hold = child.stdin.take();
    let deadline = ctx.window.end() + DRAIN_LIMIT;
    let status = loop {
        if hold.is_some() && measured.is_read() {
            drop(hold.take());
        }
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RepeatError::Failed(format!(
                "{} did not finish within {DRAIN_LIMIT:?} after its window",
                program.path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let said = std::fs::read_to_string(&err).unwrap_or_default();
    if !status.success() {
        return Err(RepeatError::Failed(format!(
            "{} failed ({status}): {}",
            program.path.display(),
            said.trim().lines().last().unwrap_or("no message on stderr")
        )));
    }
    let text = std::fs::read_to_string(&out)
        .map_err(|e| format!("{} wrote no answer: {e}", program.path.display()))?;
    let answer: ForeignRepeat = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}'s answer is not the row protocol's repeat: {e}",
            program.path.display()
        )
    })?;
    fold(ctx, answer, declared)
}

/// The row id of a workload's Go program.
pub const GO_ROW: &str = "go";

/// A workload's Go program (its module `workloads/<workload>/go/`, built by xtask to
/// `dyno-<workload>-go`) as the reference row [`GO_ROW`], speaking this protocol.
pub struct GoRow {
    pub workload: &'static str,
    /// The scheduling model in a few words, for the fairness block.
    pub model: &'static str,
    /// What the program does differently from the runtime rows, for the fairness block.
    pub notes: &'static [&'static str],
}

impl GoRow {
    fn binary(&self) -> Option<PathBuf> {
        golang::built(&golang::binary_name(self.workload))
    }

    /// Why the row cannot run here: Go missing, or the program not built.
    pub fn unavailable(&self) -> Option<String> {
        golang::unavailable(&golang::binary_name(self.workload))
    }

    /// The row's fairness block on `cores`.
    pub fn row_info(&self, cores: &[usize]) -> RowInfo {
        let procs = cores.len().max(1);
        let mut notes = golang::fairness_notes(self.binary().as_deref(), procs);
        notes.extend(self.notes.iter().map(|n| n.to_string()));
        RowInfo {
            id: GO_ROW.into(),
            fairness: Fairness {
                cores: cores.to_vec(),
                client_cores: vec![],
                client_host: None,
                workers: procs,
                io: "none".into(),
                model: self.model.into(),
                pinned: false,
                notes,
            },
        }
    }

    /// One repeat of the program in the window of `ctx`; `declared`: the workload's figures.
    pub fn run_repeat(
        &self,
        ctx: &RepeatCtx,
        measured: &MeasuredProcess,
        params: &Params,
        declared: &[Metric],
    ) -> Result<RepeatOutput, RepeatError> {
        self.run_repeat_with(ctx, measured, params, declared, &[])
    }

    /// [`GoRow::run_repeat`] with arguments of the workload's own after the protocol's.
    pub fn run_repeat_with(
        &self,
        ctx: &RepeatCtx,
        measured: &MeasuredProcess,
        params: &Params,
        declared: &[Metric],
        args: &[String],
    ) -> Result<RepeatOutput, RepeatError> {
        let path = self
            .binary()
            .ok_or_else(|| RepeatError::Failed(self.unavailable().unwrap_or_default()))?;
        let program = Program {
            path: &path,
            env: &[("GOMAXPROCS", ctx.row.cores.len().max(1).to_string())],
            env_remove: &golang::ENV_REMOVED,
            args,
        };
        run_repeat(&program, ctx, measured, params, declared)
    }
}

/// For a workload's tests: build its Go module `module` beside its cell binary `cell_bin`, run one
/// short repeat of the `go` row with `params` (JSON) and return the cell's output; `None`, after
/// [`dyno_core::skip::skip`] said why (a failure under CI), where Go is not installed.
pub fn go_cell_for_test(
    test: &str,
    cell_bin: &Path,
    module: &Path,
    params: &str,
) -> Option<dyno_core::protocol::CellOutput> {
    if golang::go_tool().is_none() {
        dyno_core::skip::skip(test, &format!("Go is not installed ({})", golang::INSTALL));
        return None;
    }
    let dir = cell_bin
        .parent()
        .expect("a cell binary lies in a directory");
    let workload = module
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .expect("the module lies in workloads/<workload>/go");
    golang::build(module, &dir.join(golang::binary_name(workload))).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.json");
    let cores = dyno_core::os::allowed_cores();
    let o = Command::new(cell_bin)
        .args(["cell", "--row", GO_ROW, "--params", params])
        .args(["--warmup-s", "0.3", "--duration-s", "0.5", "--repeats", "1"])
        .args(["--cores", &cores[0].to_string(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap())
}

/// For a workload's tests: run one short repeat of row `row` of the cell binary `cell_bin` with
/// `params` (JSON) where that row does not run them, and return why it was skipped.
pub fn skipped_for_test(cell_bin: &Path, row: &str, params: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.json");
    let core = dyno_core::os::allowed_cores()[0].to_string();
    let o = Command::new(cell_bin)
        .args(["cell", "--row", row, "--params", params])
        .args(["--warmup-s", "0.1", "--duration-s", "0.2", "--repeats", "1"])
        .args(["--cores", &core, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out: dyno_core::protocol::CellOutput =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    out.skipped.expect("the cell is skipped")
}

impl GoRow {
    /// [`dyno_core::References::run_reference`] for a workload whose only reference row is this one.
    pub fn run_reference(
        &self,
        row: &str,
        ctx: &RepeatCtx,
        measured: &MeasuredProcess,
        params: &Params,
        declared: &[Metric],
    ) -> Result<RepeatOutput, RepeatError> {
        if row != GO_ROW {
            return Err(RepeatError::Failed(format!(
                "no reference row {row:?}; accepted: {GO_ROW}"
            )));
        }
        self.run_repeat(ctx, measured, params, declared)
    }
}

/// The [`dyno_core::References`] facet of a workload whose reference row is its Go program:
/// `go_references!(Workload, GO_ROW_CONST, &DECLARED_FIGURES)`.
#[macro_export]
macro_rules! go_references {
    ($workload:ty, $go:expr, $declared:expr) => {
        /// Go beside the rows, through the row protocol ([`dyno_rows::foreign`]).
        impl ::dyno_core::References for $workload {
            fn reference_rows(cores: &[usize]) -> Vec<::dyno_core::schema::RowInfo> {
                vec![$go.row_info(cores)]
            }

            fn run_reference(
                row: &str,
                ctx: &::dyno_core::RepeatCtx,
                _client: Option<&::dyno_core::ClientCtx>,
                measured: &::dyno_core::MeasuredProcess,
                params: &::dyno_core::Params,
            ) -> Result<::dyno_core::RepeatOutput, ::dyno_core::RepeatError> {
                $go.run_reference(row, ctx, measured, params, $declared)
            }
        }
    };
}

/// Fold a foreign repeat into the collector of `ctx`; its figures, each a declared one.
pub fn fold(
    ctx: &RepeatCtx,
    answer: ForeignRepeat,
    declared: &[Metric],
) -> Result<RepeatOutput, RepeatError> {
    let mut h = new_histogram();
    for &(upper, n) in &answer.latency_ns {
        record_value_n(&mut h, upper, n);
    }
    ctx.collector
        .record_external(answer.ops, &h, &answer.errors);
    ctx.collector.record_error_samples(&answer.error_samples);
    let epoch_ns = ctx.window.monotonic_ns()[0] - ctx.window.warmup().as_nanos() as u64;
    let offset = Duration::from_nanos(answer.timeline_start_ns.saturating_sub(epoch_ns));
    ctx.collector
        .record_external_timeline(offset, &answer.timeline);
    let mut figures = RepeatOutput::new();
    for (name, v) in &answer.metrics {
        let m = declared.iter().find(|m| m.name == name.as_str()).ok_or_else(|| {
            let names: Vec<&str> = declared.iter().map(|m| m.name).collect();
            RepeatError::Failed(format!(
                "the foreign row reported figure {name:?}, which the workload does not declare; \
                 declared: {}",
                names.join(", ")
            ))
        })?;
        figures.set(m, *v);
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dyno_core::{Better, Collector, RowConfig, Window};

    const SENT: Metric = Metric::figure("sent", "messages", Better::Neither, "messages sent");

    #[test]
    fn an_answer_folds_into_ops_latency_errors_timeline_and_declared_figures() {
        let window = Window::starting_in(Duration::from_millis(100), Duration::from_millis(200));
        let ctx = RepeatCtx::new(RowConfig { cores: vec![0] }, window, Collector::new(true));
        let start = ctx.window.monotonic_ns()[0] - 100_000_000;
        let answer: ForeignRepeat = serde_json::from_str(&format!(
            r#"{{"ops": 30, "errors": {{"lost": 2}}, "timeline": [10, 10, 10],
                "timeline_start_ns": {start}, "latency_ns": [[1000, 20], [5000, 10]],
                "metrics": {{"sent": 32}}}}"#
        ))
        .unwrap();
        let figures = fold(&ctx, answer, &[SENT]).unwrap();
        assert_eq!(figures.get(&SENT), Some(32.0));
        let r = ctx.collector.finish();
        assert_eq!((r.ops, r.errors["lost"]), (30, 2));
        let h = r.latency.unwrap();
        assert_eq!(h.len(), 30);
        assert!(
            h.value_at_quantile(0.5) <= 1001,
            "{}",
            h.value_at_quantile(0.5)
        );
        assert_eq!(r.timeline[..3], [10, 10, 10]);
    }

    #[test]
    fn an_undeclared_figure_or_an_unknown_field_is_refused() {
        let window = Window::starting_in(Duration::ZERO, Duration::from_millis(10));
        let ctx = RepeatCtx::new(RowConfig { cores: vec![0] }, window, Collector::new(false));
        let answer: ForeignRepeat =
            serde_json::from_str(r#"{"ops": 1, "metrics": {"speed": 1}}"#).unwrap();
        let e = fold(&ctx, answer, &[SENT]).unwrap_err().to_string();
        assert!(
            e.contains("\"speed\"") && e.contains("declared: sent"),
            "{e}"
        );
        assert!(serde_json::from_str::<ForeignRepeat>(r#"{"ops": 1, "opps": 2}"#).is_err());
    }
}
