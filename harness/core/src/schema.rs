//! The result contract (DESIGN.md): `manifest.json` per run and one `cells/<cell-id>.json` per cell.
//! Field names here are the contract: add fields freely, rename or drop only with a new [`SCHEMA`]. The
//! private protocol between the driver and a cell process is [`crate::protocol`], re-exported here.

pub use crate::protocol::{
    CellOutput, Pairing, RawRepeat, RowInfo, SLICE_MS, Sliced, paired_rounds,
};

use crate::os::Usage;
use crate::params::{Params, Profile};
use crate::row::Fairness;
use crate::stats::Estimate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Version of the result files.
pub const SCHEMA: u32 = 1;

/// `results/runs/<run-id>/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: u32,
    pub run_id: String,
    /// The profile as run: `settings.base_profile`, or `custom` when durations, repeats or cores were
    /// overridden.
    pub profile: RunProfile,
    pub started: String,
    pub finished: Option<String>,
    /// The signal that interrupted the run (SIGINT, SIGTERM), until `--resume` finishes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    pub git: Git,
    pub host: Host,
    pub toolchain: Toolchain,
    pub cells_planned: usize,
    /// The settings every cell of the run used.
    pub settings: RunSettings,
    /// What each workload of the run declares (unit of work, figures, client, SLO), by workload name:
    /// the report reads figures through these.
    #[serde(default)]
    pub workloads: BTreeMap<String, crate::metrics::Declarations>,
    /// The host the workloads' client processes (load generators) ran on, over SSH (`--client-host`);
    /// `None`: on this host, on cores of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_host: Option<crate::remote::RemoteClient>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Git {
    pub commit: String,
    pub dirty: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub cpu_model: String,
    pub cores: usize,
    pub memory_bytes: u64,
    pub kernel: String,
    pub os: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Toolchain {
    pub rustc: String,
}

/// Durations, repeats and placement shared by the cells of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub base_profile: Profile,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub repeats: usize,
    pub cores: Vec<usize>,
    pub cell_timeout_s: f64,
    /// The planned cells, in order: what `--resume` finishes.
    pub cells: Vec<PlannedCell>,
    /// Whether the driver sampled CPU and RSS over time.
    #[serde(default)]
    pub sampler: bool,
    /// Whether each ok cell got an extra profiled repeat (flamegraph).
    #[serde(default)]
    pub profile: bool,
    /// Which profiler the run asked for (each cell's `profile.tool` says which one ran).
    #[serde(default)]
    pub profiler: ProfilerChoice,
    /// Every row the run's workloads offered, in the registry's order (the book's row order).
    #[serde(default)]
    pub rows: Vec<String>,
    /// The row the others are compared with (differential flamegraphs): `--baseline-row`, by default
    /// the registry's first row.
    #[serde(default)]
    pub baseline_row: Option<String>,
    /// Seed of each round's random cell order (round `r` shuffles with `order_seed + r`); `None` in
    /// runs from before rounds, whose repeats ran back to back.
    #[serde(default)]
    pub order_seed: Option<u64>,
    /// The adaptive part of the rounds: `repeats` is the minimum, this decides the rest; `None` takes
    /// exactly `repeats`.
    #[serde(default)]
    pub precision: Option<PrecisionPlan>,
    /// Core counts the matrix ran at (`--cores-sweep`): each cell's parameters then hold
    /// [`CORES_PARAM`], and it ran on the first that many of `cores`; `None`: every cell on all `cores`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores_sweep: Option<Vec<usize>>,
    /// `--pairing`: how every workload's rows were paired; `None`: as each workload declares
    /// (`Declarations::pairing`). A workload with a client process always runs in blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing: Option<Pairing>,
}

/// The parameter a core sweep adds to each cell: how many of the run's cores the cell ran on. The driver
/// owns it; a workload may not declare a parameter of this name.
pub const CORES_PARAM: &str = "cores";

impl RunSettings {
    /// A cell's measured window in seconds: its own where planned with one, else the run's.
    pub fn window_s(&self, cell: &PlannedCell) -> f64 {
        cell.duration_s.unwrap_or(self.duration_s)
    }

    /// The parameters the cell binary gets and the cores the cell runs on: a swept core count is taken
    /// out of the parameters and becomes the first that many of the run's cores.
    pub fn placement(&self, params: &Params) -> (Params, Vec<usize>) {
        let mut p = params.clone();
        match (&self.cores_sweep, p.0.remove(CORES_PARAM)) {
            (Some(_), Some(crate::params::ParamValue::Int(n))) => {
                let n = (n as usize).min(self.cores.len());
                (p, self.cores[..n].to_vec())
            }
            _ => (params.clone(), self.cores.clone()),
        }
    }
}

/// When a cell stops taking rounds beyond its minimum repeats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrecisionPlan {
    /// Target half-width of the throughput's 95% interval, as a share of its mean (0.05 = ±5%).
    pub target_half_width: f64,
    /// No cell takes more repeats than this.
    pub max_repeats: usize,
    /// Seconds of cell processes the whole run may spend; once spent, no new round starts beyond the
    /// minimum repeats.
    pub budget_s: f64,
}

/// How precise a cell's throughput came out, and why it stopped taking rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Precision {
    pub repeats: usize,
    /// Half-width of the throughput's 95% interval as a share of its estimate (`estimate`: the mean,
    /// or the median where the repeats show modes or an outlier); `None` with one repeat, or where
    /// the estimator gives no interval with so few repeats.
    pub half_width: Option<f64>,
    /// The target, when the run had one.
    pub target_half_width: Option<f64>,
    /// Whether `half_width` is within the target.
    pub reached: bool,
    /// Why it stopped taking rounds.
    pub stopped: Stopped,
    /// When the repeats fall in two separate groups (two behaviours rather than noise around one), the
    /// groups: e.g. "2 repeats near 1.2M/s, 3 near 410k/s".
    #[serde(default)]
    pub modes: Option<String>,
    /// The estimator the repeats called for, its value and interval, and why
    /// ([`crate::estimate::choose`]); `half_width` and `reached` are judged on it. `None` in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<crate::estimate::Chosen>,
    /// The figure the precision is judged on when it is not throughput: an open-loop cell's
    /// throughput is the rate the driver offered, so it is judged on its p99 latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged_on: Option<String>,
}

/// The profile a run ran (the result files hold `quick`, `full` or `custom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunProfile {
    Quick,
    Full,
    /// A profile with durations, repeats or cores overridden.
    Custom,
}

impl From<Profile> for RunProfile {
    fn from(p: Profile) -> Self {
        match p {
            Profile::Quick => RunProfile::Quick,
            Profile::Full => RunProfile::Full,
        }
    }
}

impl std::fmt::Display for RunProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunProfile::Quick => "quick",
            RunProfile::Full => "full",
            RunProfile::Custom => "custom",
        })
    }
}

/// Why a cell stopped taking rounds (the result files hold the words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Stopped {
    /// No precision target: the cell ran the minimum repeats.
    #[serde(rename = "minimum repeats")]
    MinimumRepeats,
    /// Its interval is within the target.
    #[serde(rename = "target reached")]
    TargetReached,
    /// Every comparison of its parameter set is resolved, though its own interval is not within the target.
    #[serde(rename = "comparisons answered")]
    ComparisonsAnswered,
    /// It ran the most repeats the run allows.
    #[serde(rename = "max repeats")]
    MaxRepeats,
    /// The run's budget was spent.
    #[serde(rename = "budget spent")]
    BudgetSpent,
}

impl Stopped {
    /// The words the result files hold.
    pub fn words(self) -> &'static str {
        match self {
            Stopped::MinimumRepeats => "minimum repeats",
            Stopped::TargetReached => "target reached",
            Stopped::ComparisonsAnswered => "comparisons answered",
            Stopped::MaxRepeats => "max repeats",
            Stopped::BudgetSpent => "budget spent",
        }
    }
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.words())
    }
}

/// The profiler a run asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfilerChoice {
    /// perf where it is on PATH, pprof otherwise.
    #[default]
    Auto,
    /// External sampling with `perf record` (kernel stacks, other processes too).
    Perf,
    /// In-process sampling with pprof-rs (the cell process only; syscall time under-represented).
    Pprof,
}

/// A word given for a choice (a profiler, a pairing) that is not one of its words.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{given:?} is not a {what}; accepted: {accepted}")]
pub struct NotAChoice {
    pub what: &'static str,
    pub given: String,
    pub accepted: &'static str,
}

impl std::str::FromStr for ProfilerChoice {
    type Err = NotAChoice;
    fn from_str(s: &str) -> Result<Self, NotAChoice> {
        match s {
            "auto" => Ok(Self::Auto),
            "perf" => Ok(Self::Perf),
            "pprof" => Ok(Self::Pprof),
            _ => Err(NotAChoice {
                what: "profiler",
                given: s.into(),
                accepted: "auto, perf, pprof",
            }),
        }
    }
}

/// One planned cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCell {
    pub cell_id: String,
    pub workload: String,
    pub runtime: String,
    pub params: Params,
    /// This cell's measured window in seconds, where its workload declares one for the profile
    /// (`Declarations::window_s`); `None`: the run's `duration_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
}

/// Outcome of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Failed,
    Skipped,
}

/// Latency percentiles in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
    /// Number of latency samples.
    pub count: u64,
}

impl Percentiles {
    /// Read the percentiles off a histogram.
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> Percentiles {
        Percentiles {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
            count: h.len(),
        }
    }
}

/// One measured repeat, as stored in a cell result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeat {
    pub throughput_ops_s: f64,
    pub ops: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// One message per error kind, where the workload kept one (e.g. the load generator's first).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_samples: BTreeMap<String, String>,
    /// When throughput settled (`steady::assess` over the recorder's timeline); `None` where it was
    /// not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steady: Option<crate::steady::Steady>,
    pub duration_s: f64,
    /// CPU and context switches of the cell process during the measured window only.
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
    pub ops_per_cpu_s: f64,
    pub ctx_switches_voluntary: u64,
    pub ctx_switches_involuntary: u64,
    /// Seconds the cell's threads were runnable but waiting for a CPU in the window (schedstat run
    /// delay): what other processes on its cores took.
    #[serde(default)]
    pub run_delay_s: f64,
    pub latency_ns: Option<Percentiles>,
    /// Workload-specific figures.
    pub metrics: BTreeMap<String, f64>,
    /// The round this repeat ran in (rows compared in one round are paired); `None` in older runs.
    #[serde(default)]
    pub round: Option<usize>,
    /// When this repeat's process started (Unix seconds): the time gap of two paired repeats is the
    /// difference. `None` in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_s: Option<f64>,
    /// The machine-speed probe just before this repeat's process started and just after it ended.
    /// `None` in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_speed: Option<MachineSpeed>,
    /// How the repeat ran time-sliced with the other rows of its parameter set; `None`: alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliced: Option<Sliced>,
}

/// A machine-speed probe around one repeat: iterations per microsecond of a fixed CPU loop on one of
/// the run's cores, comparable within a run (the driver's `speed` module).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MachineSpeed {
    pub core: usize,
    pub before_per_us: f64,
    pub after_per_us: f64,
}

impl MachineSpeed {
    /// How long one probe runs: five scheduler ticks of 4 ms, short enough that two probes per
    /// repeat cost under 1% of a full run's time.
    pub const PROBE_MS: u64 = 20;

    /// The slower of the two probes: a repeat is as disturbed as its worst edge shows.
    pub fn slower(&self) -> f64 {
        self.before_per_us.min(self.after_per_us)
    }
}

/// Summary over the repeats of a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub throughput_ops_s: Estimate,
    /// Percentiles of all repeats' latency samples merged.
    pub latency_ns: Percentiles,
    /// Means over repeats, measured window only.
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
    pub ops_per_cpu_s: f64,
    /// High-water mark of the measured process (OS accounting via wait4; for a workload with a client
    /// process, the cell's own RUSAGE_SELF mark at each window's end, so the client is not counted).
    pub peak_rss_bytes: u64,
    /// Means over repeats, measured window only.
    pub ctx_switches_voluntary: u64,
    pub ctx_switches_involuntary: u64,
    /// Total errors over all repeats.
    pub errors: u64,
    /// Reasons this cell's figures may be noisy.
    pub noise: Vec<String>,
}

/// Files written next to a cell result, relative to the run directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Artifacts {
    pub flamegraph_svg: Option<String>,
    pub folded_stacks: Option<String>,
    pub timeseries_csv: Option<String>,
    /// The merged latency histogram (HdrHistogram V2+DEFLATE, base64).
    pub histogram: Option<String>,
}

/// `results/runs/<run-id>/cells/<cell-id>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    pub schema: u32,
    pub cell_id: String,
    pub workload: String,
    pub runtime: String,
    pub params: Params,
    pub status: Status,
    pub error: Option<String>,
    pub fairness: Fairness,
    pub repeats: Vec<Repeat>,
    pub summary: Option<Summary>,
    pub artifacts: Artifacts,
    /// What one operation is.
    pub ops_unit: String,
    /// OS accounting of the whole cell process (setup, warm-up and all repeats), from wait4.
    pub process: Option<Usage>,
    /// Wall time of the cell process.
    pub wall_s: f64,
    /// Last lines of the cell's stderr when it failed.
    pub stderr_tail: Option<String>,
    /// The warm-up of the cell's repeats: the run's, or the longer one a repeat's data asked for (each
    /// repeat's own is in its `steady`).
    pub warmup_s: f64,
    pub duration_s: f64,
    /// What the driver's sampler saw of the cell process (CPU and RSS over time).
    #[serde(default)]
    pub timeseries: Option<TimeseriesSummary>,
    /// The extra, profiled repeat (never one of the measured repeats).
    #[serde(default)]
    pub profile: Option<ProfileInfo>,
    /// Repeats taken and whether the precision target was reached; `None` in older runs.
    #[serde(default)]
    pub precision: Option<Precision>,
}

/// Summary of the sampled time series of a cell process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeseriesSummary {
    pub samples: usize,
    pub interval_s: f64,
    /// Mean cores the cell process kept busy over the whole cell (setup, warm-up, repeats).
    pub mean_cpu_cores: f64,
    /// Highest sampled RSS (the kernel's high-water mark is `summary.peak_rss_bytes`).
    pub max_rss_bytes: u64,
    /// The same for the cell's client process (a load generator), sampled apart; 0 when it has none.
    #[serde(default)]
    pub mean_client_cpu_cores: f64,
    #[serde(default)]
    pub max_client_rss_bytes: u64,
}

/// How the extra profiled repeat went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// The profiler that ran: `perf` (external sampling) or `pprof` (in-process, SIGPROF).
    pub tool: String,
    pub frequency_hz: u32,
    /// Stack samples kept.
    pub samples: u64,
    /// Samples kept ÷ (CPU-seconds of the profiled window × frequency): how much of the CPU time the profile saw.
    pub coverage: f64,
    /// Throughput of the profiled repeat, and its ratio to the mean of the unprofiled repeats.
    pub throughput_ops_s: f64,
    pub throughput_vs_unprofiled: f64,
    /// Why the cell has no profile, when it has none.
    pub error: Option<String>,
    /// Samples of a client process's threads (a load generator), left out of the stacks.
    #[serde(default)]
    pub client_samples_excluded: u64,
}

impl CellResult {
    /// Read and check a cell file: it must parse, carry this schema and match its file name.
    /// A truncated, foreign or mismatched file is an error, never trusted.
    pub fn read(path: &Path) -> Result<CellResult, crate::rundir::RunDirError> {
        use crate::rundir::RunDirError;
        let invalid = |why: String| RunDirError::Invalid {
            path: path.to_path_buf(),
            what: "cell result",
            why,
        };
        let text = std::fs::read_to_string(path).map_err(|err| RunDirError::Read {
            path: path.to_path_buf(),
            err,
        })?;
        let cell: CellResult = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if cell.schema != SCHEMA {
            return Err(invalid(format!(
                "schema {} (this dyno reads {SCHEMA})",
                cell.schema
            )));
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem != cell.cell_id {
            return Err(invalid(format!(
                "holds cell {:?}, not {stem:?}",
                cell.cell_id
            )));
        }
        Ok(cell)
    }
}

/// A cell id: `<workload>--<row>--<k=v,...>` with characters unsafe in file names replaced.
pub fn cell_id(workload: &str, row: &str, params: &Params) -> String {
    let raw = format!("{workload}--{row}--{}", params.key());
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_=,.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Write `bytes` to `path` atomically: a temp file in the same directory, fsync, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    if renamed.is_err() {
        // A full disk or a vanished directory leaves no temporary file behind.
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamValue;

    #[test]
    fn a_swept_core_count_becomes_the_cells_cores() {
        let mut settings: RunSettings = serde_json::from_value(serde_json::json!({
            "base_profile": "quick", "warmup_s": 0.1, "duration_s": 0.1, "repeats": 1,
            "cores": [4, 5, 6], "cell_timeout_s": 9.0, "cells": []
        }))
        .unwrap();
        let mut p = Params::default();
        p.0.insert("n".into(), ParamValue::Int(7));
        p.0.insert(CORES_PARAM.into(), ParamValue::Int(2));
        // Not a sweep: the parameter is the workload's own and the cell gets every core.
        assert_eq!(settings.placement(&p), (p.clone(), vec![4, 5, 6]));
        settings.cores_sweep = Some(vec![1, 2]);
        let (q, cores) = settings.placement(&p);
        assert_eq!(cores, vec![4, 5]);
        assert_eq!(q.0.get(CORES_PARAM), None);
        assert_eq!(q.0.get("n"), Some(&ParamValue::Int(7)));
    }

    fn sample() -> CellResult {
        let mut params = Params::default();
        params.0.insert("consumers".into(), ParamValue::Int(64));
        params
            .0
            .insert("shape".into(), ParamValue::Str("queue".into()));
        CellResult {
            schema: SCHEMA,
            cell_id: cell_id("fanout", "tokio", &params),
            workload: "fanout".into(),
            runtime: "tokio".into(),
            params,
            status: Status::Ok,
            error: None,
            fairness: Fairness {
                cores: vec![0, 1],
                client_cores: vec![],
                client_host: None,
                workers: 2,
                io: "epoll".into(),
                model: "work-stealing".into(),
                pinned: false,
                notes: vec![],
            },
            repeats: vec![],
            summary: None,
            artifacts: Artifacts::default(),
            ops_unit: "deliveries".into(),
            process: Some(Usage::default()),
            wall_s: 1.5,
            stderr_tail: None,
            warmup_s: 0.5,
            duration_s: 1.0,
            timeseries: None,
            profile: None,
            precision: None,
        }
    }

    #[test]
    fn cell_ids_are_file_safe_and_stable() {
        let c = sample();
        assert_eq!(c.cell_id, "fanout--tokio--consumers=64,shape=queue");
        let mut p = Params::default();
        p.0.insert("x".into(), ParamValue::Str("a/b c".into()));
        assert_eq!(cell_id("w", "r", &p), "w--r--x=a_b_c");
    }

    #[test]
    fn cell_results_round_trip_and_bad_files_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let c = sample();
        let path = dir.path().join(format!("{}.json", c.cell_id));
        write_atomic(&path, serde_json::to_string_pretty(&c).unwrap().as_bytes()).unwrap();
        assert_eq!(CellResult::read(&path).unwrap(), c);

        // Truncated.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(
            CellResult::read(&path)
                .unwrap_err()
                .to_string()
                .contains("not a dyno cell result")
        );
        // Foreign JSON.
        std::fs::write(&path, r#"{"hello": "world"}"#).unwrap();
        assert!(CellResult::read(&path).is_err());
        // Another schema.
        let mut v = serde_json::to_value(&c).unwrap();
        v["schema"] = 99.into();
        std::fs::write(&path, v.to_string()).unwrap();
        assert!(
            CellResult::read(&path)
                .unwrap_err()
                .to_string()
                .contains("schema 99")
        );
        // Right shape, wrong file.
        let other = dir.path().join("fanout--smol--x=1.json");
        std::fs::write(&other, serde_json::to_string(&c).unwrap()).unwrap();
        assert!(
            CellResult::read(&other)
                .unwrap_err()
                .to_string()
                .contains("holds cell")
        );
    }
}
