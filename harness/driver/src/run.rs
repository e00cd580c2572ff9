//! `dyno run`: plan (or resume) a run, execute each cell in its own process, write each cell's result as
//! soon as it ends, keep the manifest and `results/latest` current, and print a summary table.

use crate::child;
use crate::discover::{self, WorkloadBin};
use crate::host;
use crate::profile::Backend;
use crate::rounds::{self, RoundRecord};
use crate::summarize::summarize;
use crate::{RunArgs, UsageError};
use anyhow::{Context, Result, bail};
use dyno_core::Params;
use dyno_core::human::{ns, si};
use dyno_core::metrics::Declarations;
use dyno_core::os::Usage;
use dyno_core::params::{Override, Profile};
use dyno_core::row::Fairness;
use dyno_core::rundir::{Results, RunDir};
use dyno_core::schema::{
    Artifacts, CORES_PARAM, CellOutput, CellResult, Manifest, PlannedCell, PrecisionPlan, RowInfo,
    RunSettings, SCHEMA, Status, cell_id,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

/// What a profile runs unless told otherwise.
pub struct Defaults {
    pub warmup_s: f64,
    pub duration_s: f64,
    /// The minimum repeats of every cell.
    pub repeats: usize,
    /// Adaptive rounds beyond the minimum; `None` takes exactly `repeats`.
    pub precision: Option<PrecisionPlan>,
    /// Whether every cell takes the extra profiled repeat (its flamegraph).
    pub flamegraphs: bool,
}

/// The default precision target: ±5% half-width of the 95% interval.
pub const TARGET_HALF_WIDTH: f64 = 0.05;

/// A profile's defaults. Quick is the smoke profile: two short repeats per cell (the fewest that give
/// an interval, an honest but wide one: a Student-t interval of two repeats is 12.7 standard errors
/// wide), no adaptive rounds and no profiled repeat (`--flamegraphs` adds it), so that every workload
/// on every row runs in under three minutes here (measured: three repeats took 3 min 52 s). Full takes
/// three repeats of a 2 s window, then rounds until ±5% or ten repeats, and a profiled repeat, within 45
/// minutes of run time: between-repeat drift of a shared machine, not the noise inside one window, is
/// what limits precision, so rounds buy more than longer windows. A warm-up the data outlasts is
/// extended cell by cell (see [`execute`]).
pub fn profile_defaults(p: Profile) -> Defaults {
    match p {
        Profile::Quick => Defaults {
            // The script workload's setup and idle ticks need about 0.3 s on a loaded machine; the
            // window holds the ten 50 ms intervals a steady-state judgement needs, with one to spare.
            warmup_s: 0.4,
            duration_s: 0.6,
            repeats: 2,
            precision: None,
            flamegraphs: false,
        },
        Profile::Full => Defaults {
            warmup_s: 1.0,
            duration_s: 2.0,
            repeats: 3,
            precision: Some(PrecisionPlan {
                target_half_width: TARGET_HALF_WIDTH,
                max_repeats: 10,
                budget_s: 45.0 * 60.0,
            }),
            flamegraphs: true,
        },
    }
}

/// Slack added to every cell process's timeout (process start, runtime start-up, drain).
const TIMEOUT_SLACK_S: f64 = 60.0;
/// A cell process may take this many times its planned measuring time before it is killed.
const TIMEOUT_FACTOR: f64 = 3.0;

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// A run ready to execute: its directory, manifest (settings, planned cells, declarations), each
/// workload's cell binary, each row's fairness block, and the profiler of the extra repeat.
pub struct Plan {
    run: RunDir,
    manifest: Manifest,
    bins: BTreeMap<String, WorkloadBin>,
    fairness: BTreeMap<String, Fairness>,
    /// The profiler of the extra repeat, when the run profiles.
    profiler: Option<Backend>,
    /// The client host's master connection and copied binaries (`--client-host`), held for the run.
    _session: Option<crate::remote::Session>,
}

impl Plan {
    fn declared(&self, workload: &str) -> Declarations {
        self.manifest
            .workloads
            .get(workload)
            .cloned()
            .unwrap_or_default()
    }
}

/// The profiler a run's settings ask for, on this machine.
fn profiler_of(settings: &RunSettings) -> Result<Option<Backend>> {
    if !settings.profile {
        return Ok(None);
    }
    Backend::resolve(settings.profiler).map(Some).map_err(usage)
}

/// Entry point of `dyno run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let bin_dir = args.common.bin_dir()?;
    let (root, workloads) = discover::workloads(&bin_dir)?;
    let results = Results::new(&args.results);
    let plan = match &args.resume {
        Some(id) => resume(&results, &workloads, id)?,
        None => plan_new(args, &results, &root, &workloads)?,
    };
    crate::interrupt::install().context("cannot handle SIGINT and SIGTERM")?;
    match execute(&plan, &results, &ChildRunner) {
        Ok(_) => Ok(()),
        Err(e) => {
            // Finished cells and kept repeats stay; say how to finish the run.
            let id = &plan.manifest.run_id;
            let resume = format!(
                "finished cells and repeats are kept in {dir}.\nresume with: dyno run --resume {id}{results} \
                 (or cargo xtask bench --resume {id})",
                dir = plan.run.path().display(),
                results = if args.results == Path::new("results") {
                    String::new()
                } else {
                    format!(" --results {}", args.results.display())
                },
            );
            if let Some(i) = e.downcast_ref::<crate::interrupt::Interrupted>() {
                let mut manifest = plan
                    .run
                    .manifest()
                    .unwrap_or_else(|_| plan.manifest.clone());
                manifest.interrupted = Some(i.name().into());
                // The manifest may be what cannot be written (a full disk): the run stops all the same.
                let _ = plan.run.write_manifest(&manifest);
                eprintln!(
                    "\nrun {id} {i}: the running cell was stopped with every process it started; {resume}"
                );
                Err(e)
            } else {
                Err(anyhow::anyhow!("{e:#}\nrun {id} stopped; {resume}"))
            }
        }
    }
}

fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}

fn plan_new(args: &RunArgs, results: &Results, root: &Path, all: &[WorkloadBin]) -> Result<Plan> {
    let allowed = dyno_core::os::allowed_cores();
    let cores = args
        .cores
        .clone()
        .map(|c| c.0)
        .unwrap_or_else(|| allowed.clone());
    if let Some(c) = cores.iter().find(|c| !allowed.contains(c)) {
        return Err(usage(format!(
            "core {c} is not available; accepted: {}",
            discover::join(&allowed)
        )));
    }
    let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
    if all.is_empty() {
        bail!(
            "no workloads found under workloads/ (each is a crate with a dyno-cell-<name> binary)"
        );
    }
    for w in &args.workloads {
        if !names.contains(&w.as_str()) {
            return Err(usage(format!(
                "unknown workload {w:?}; accepted: {}",
                names.join(", ")
            )));
        }
    }
    let selected: Vec<&WorkloadBin> = all
        .iter()
        .filter(|w| args.workloads.is_empty() || args.workloads.contains(&w.name))
        .collect();

    let (rows, per_workload) = all_rows(&selected, &cores)?;
    let row_ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    for r in &args.runtimes {
        if !row_ids.contains(r) {
            return Err(usage(format!(
                "unknown runtime row {r:?}; accepted: {}",
                row_ids.join(", ")
            )));
        }
    }
    let baseline_row = match &args.baseline_row {
        Some(r) if !row_ids.contains(r) => {
            return Err(usage(format!(
                "unknown baseline row {r:?}; accepted: {}",
                row_ids.join(", ")
            )));
        }
        Some(r) => Some(r.clone()),
        None => row_ids.first().cloned(),
    };
    let run_rows: Vec<&String> = row_ids
        .iter()
        .filter(|r| args.runtimes.is_empty() || args.runtimes.contains(r))
        .collect();

    let sweep: Option<Vec<usize>> = match &args.cores_sweep[..] {
        [] => None,
        counts => {
            let mut v: Vec<usize> = counts.iter().map(|&n| n as usize).collect();
            v.sort();
            v.dedup();
            if let Some(n) = v.iter().find(|&&n| n > cores.len()) {
                return Err(usage(format!(
                    "--cores-sweep {n}: the run has {} core(s) ({}); accepted: counts from 1 to {}",
                    cores.len(),
                    discover::join(&cores),
                    cores.len()
                )));
            }
            Some(v)
        }
    };
    let overrides: Vec<Override> = args
        .params
        .iter()
        .map(|s| s.parse::<Override>().map_err(usage))
        .collect::<Result<_>>()?;
    let profile = args.profile.to_string();
    let mut used = vec![false; overrides.len()];
    let mut known_params = Vec::new();
    let mut cells = Vec::new();
    let mut declared = BTreeMap::new();
    for w in &selected {
        let spec = w.describe()?;
        declared.insert(w.name.clone(), spec.declared.clone());
        let mine: Vec<String> = overrides
            .iter()
            .enumerate()
            .filter(|(_, o)| spec.params.iter().any(|p| p.name == o.name))
            .map(|(i, _)| {
                used[i] = true;
                args.params[i].clone()
            })
            .collect();
        known_params.extend(
            spec.params
                .iter()
                .map(|p| format!("{} ({})", p.name, w.name)),
        );
        if sweep.is_some() && spec.params.iter().any(|p| p.name == CORES_PARAM) {
            return Err(usage(format!(
                "workload {} declares a parameter named {CORES_PARAM:?}, which --cores-sweep adds; \
                 accepted: a run without --cores-sweep",
                w.name
            )));
        }
        let planned = w.plan(&profile, &mine)?;
        let swept: Vec<Params> = match &sweep {
            None => planned,
            Some(counts) => planned
                .iter()
                .flat_map(|p| {
                    counts.iter().map(move |n| {
                        let mut p = p.clone();
                        p.0.insert(CORES_PARAM.into(), dyno_core::ParamValue::Int(*n as u64));
                        p
                    })
                })
                .collect(),
        };
        for params in swept {
            for row in run_rows
                .iter()
                .filter(|r| per_workload[&w.name].contains(r))
            {
                cells.push(PlannedCell {
                    cell_id: cell_id(&w.name, row, &params),
                    workload: w.name.clone(),
                    runtime: row.to_string(),
                    params: params.clone(),
                });
            }
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(usage(format!(
            "unknown parameter {:?} for the selected workloads; accepted: {}",
            overrides[i].name,
            known_params.join(", ")
        )));
    }

    let d = profile_defaults(args.profile);
    let profiled = !args.no_profile && (args.flamegraphs || d.flamegraphs);
    if !profiled && !args.no_profile && args.profiler != dyno_core::schema::ProfilerChoice::Auto {
        return Err(usage(format!(
            "--profiler picks the profiler of the profiled repeat, which the {} profile does not take; \
             accepted: add --flamegraphs",
            args.profile
        )));
    }
    let profiler = if profiled {
        Some(Backend::resolve(args.profiler).map_err(usage)?)
    } else {
        None
    };
    let warmup_s = args.warmup.unwrap_or(d.warmup_s);
    let duration_s = args.duration.unwrap_or(d.duration_s);
    let repeats = args.repeat.map(|r| r as usize).unwrap_or(d.repeats);
    let adaptive = args.target.is_some() || args.budget.is_some() || args.max_repeats.is_some();
    let precision = match (d.precision, adaptive) {
        (None, false) => None,
        (base, _) => {
            let max_repeats = args
                .max_repeats
                .map(|m| m as usize)
                .or(base.map(|b| b.max_repeats))
                .unwrap_or(10);
            if max_repeats < repeats {
                return Err(usage(format!(
                    "--max-repeats {max_repeats} is below the minimum repeats ({repeats}); accepted: at least {repeats}"
                )));
            }
            Some(PrecisionPlan {
                target_half_width: args
                    .target
                    .map(|t| t / 100.0)
                    .or(base.map(|b| b.target_half_width))
                    .unwrap_or(TARGET_HALF_WIDTH),
                max_repeats,
                budget_s: args
                    .budget
                    .or(base.map(|b| b.budget_s))
                    .unwrap_or(f64::INFINITY),
            })
        }
    };
    // One process runs one repeat: the timeout bounds one repeat.
    let cell_timeout_s = args
        .timeout
        .unwrap_or(TIMEOUT_SLACK_S + TIMEOUT_FACTOR * (warmup_s + duration_s));
    let custom = args.duration.is_some()
        || args.warmup.is_some()
        || args.repeat.is_some()
        || args.cores.is_some()
        || !args.cores_sweep.is_empty()
        || adaptive
        || !args.params.is_empty();
    let order_seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });

    let started = now_rfc3339();
    let stamp: String = started
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    let mut run_id = format!("{}-{}-{profile}", &stamp[..8], &stamp[8..]);
    let mut n = 1;
    while results.has_run(&run_id) {
        n += 1;
        run_id = format!("{}-{}-{profile}-{n}", &stamp[..8], &stamp[8..]);
    }
    let mut manifest = Manifest {
        schema: SCHEMA,
        run_id: run_id.clone(),
        profile: if custom {
            "custom".into()
        } else {
            profile.clone()
        },
        started,
        finished: None,
        interrupted: None,
        git: host::git(root),
        host: host::host(),
        toolchain: host::toolchain(root),
        cells_planned: cells.len(),
        settings: RunSettings {
            base_profile: args.profile,
            warmup_s,
            duration_s,
            repeats,
            cores: cores.clone(),
            cell_timeout_s,
            cells,
            sampler: !args.no_sampler,
            profile: profiled,
            profiler: args.profiler,
            rows: row_ids,
            baseline_row,
            order_seed: Some(order_seed),
            precision,
            cores_sweep: sweep,
        },
        workloads: declared,
        client_host: None,
    };
    let mut session = None;
    if let Some(dest) = &args.client_host {
        let ssh_options = match &args.ssh_config {
            Some(f) if !f.is_file() => {
                return Err(usage(format!(
                    "--ssh-config {}: no such file; accepted: an ssh config file",
                    f.display()
                )));
            }
            Some(f) => vec!["-F".into(), f.display().to_string()],
            None => vec![],
        };
        let req = crate::remote::Request {
            destination: dest,
            ssh_options,
            cores: args.client_cores.clone().map(|c| c.0),
        };
        let s = remote_setup(&req, &run_id, &selected, &manifest)?;
        // A generator started over ssh begins two round trips after a local one would: the warm-up
        // takes them on, so that a client host works with any warm-up on any pair of machines. The
        // manifest records the warm-up used and the round trip.
        let lead_s = 2.0 * s.client.round_trip_s;
        let settings = &mut manifest.settings;
        settings.warmup_s = ((settings.warmup_s + lead_s) * 1e3).ceil() / 1e3;
        if args.timeout.is_none() {
            settings.cell_timeout_s =
                TIMEOUT_SLACK_S + TIMEOUT_FACTOR * (settings.warmup_s + settings.duration_s);
        }
        println!(
            "warm-up {warmup_s} s plus {:.0} ms for the generator's start over ssh (two round trips to {}): {} s",
            lead_s * 1e3,
            s.client.hostname,
            settings.warmup_s
        );
        manifest.client_host = Some(s.client.clone());
        session = Some(s);
    }
    let run = results.new_run(&run_id);
    run.write_manifest(&manifest)?;
    results.set_latest(&run_id)?;
    Ok(Plan {
        _session: session,
        profiler,
        run,
        fairness: rows.into_iter().map(|r| (r.id, r.fairness)).collect(),
        bins: selected
            .into_iter()
            .map(|w| (w.name.clone(), w.clone()))
            .collect(),
        manifest,
    })
}

fn resume(results: &Results, all: &[WorkloadBin], id: &str) -> Result<Plan> {
    // `latest` and committed reference runs are not resumable: only an id under runs/.
    let run = match results.open(id) {
        Ok(r) if id != "latest" && !id.starts_with("reference") => r,
        Ok(_) | Err(_) => {
            let ids = results.run_ids();
            let accepted = if ids.is_empty() {
                "none (no runs yet)".to_string()
            } else {
                ids.join(", ")
            };
            return Err(usage(format!(
                "no run {id:?} under {}; accepted: {accepted}",
                results.root().join("runs").display()
            )));
        }
    };
    let mut manifest = run.manifest()?;
    let mut bins = BTreeMap::new();
    for c in &manifest.settings.cells {
        if bins.contains_key(&c.workload) {
            continue;
        }
        let w = all.iter().find(|w| w.name == c.workload).with_context(|| {
            format!(
                "run {id} needs workload {}, which is no longer in workloads/",
                c.workload
            )
        })?;
        if !manifest.workloads.contains_key(&w.name) {
            // A run from before declarations were recorded: take today's.
            manifest
                .workloads
                .insert(w.name.clone(), w.describe()?.declared);
        }
        bins.insert(w.name.clone(), w.clone());
    }
    if bins.is_empty() {
        bail!("run {id} plans no cells");
    }
    let (rows, _) = all_rows(&bins.values().collect::<Vec<_>>(), &manifest.settings.cores)?;
    if manifest.settings.rows.is_empty() {
        manifest.settings.rows = rows.iter().map(|r| r.id.clone()).collect();
    }
    let mut session = None;
    if let Some(r) = manifest.client_host.clone() {
        // The remote copies may be gone and the clocks may have drifted: set the host up again.
        let req = crate::remote::Request {
            destination: &r.destination,
            ssh_options: r.ssh_options.clone(),
            cores: Some(r.cores.clone()),
        };
        let bins: Vec<&WorkloadBin> = bins.values().collect();
        let s = remote_setup(&req, id, &bins, &manifest)?;
        manifest.client_host = Some(s.client.clone());
        session = Some(s);
        run.write_manifest(&manifest)?;
    }
    let profiler = profiler_of(&manifest.settings)?;
    Ok(Plan {
        _session: session,
        profiler,
        run,
        fairness: rows.into_iter().map(|r| (r.id, r.fairness)).collect(),
        bins,
        manifest,
    })
}

/// Set up the client host for the workloads of `bins` that declare a client process.
fn remote_setup(
    req: &crate::remote::Request,
    run_id: &str,
    bins: &[&WorkloadBin],
    manifest: &Manifest,
) -> Result<crate::remote::Session> {
    let with_client: Vec<&WorkloadBin> = bins
        .iter()
        .copied()
        .filter(|w| {
            manifest
                .workloads
                .get(&w.name)
                .is_some_and(|d| d.client.is_some())
        })
        .collect();
    crate::remote::setup(req, run_id, &with_client)
        .with_context(|| format!("cannot set up the client host {}", req.destination))
}

/// The rows each workload runs, by workload name.
type RowsOf = BTreeMap<String, Vec<String>>;

/// Every row of the given workloads in order (the runtime rows, then reference rows, e.g. a reference server, that
/// only some workloads have), and which rows each workload runs.
fn all_rows(workloads: &[&WorkloadBin], cores: &[usize]) -> Result<(Vec<RowInfo>, RowsOf)> {
    let mut rows: Vec<RowInfo> = Vec::new();
    let mut per = BTreeMap::new();
    for w in workloads {
        let mine = w.rows(cores)?;
        per.insert(w.name.clone(), mine.iter().map(|r| r.id.clone()).collect());
        for r in mine {
            if !rows.iter().any(|x| x.id == r.id) {
                rows.push(r);
            }
        }
    }
    Ok((rows, per))
}

/// Reports progress as a bar on a terminal, as plain lines otherwise. The total grows when adaptive
/// rounds add repeats.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: std::cell::Cell<usize>,
    pos: std::cell::Cell<usize>,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "[{elapsed_precise}] {bar:30} repeat {pos}/{len} ETA {eta} {msg}",
                )
                .expect("static template"),
            );
            b
        });
        Progress {
            bar,
            total: total.into(),
            pos: 0.into(),
        }
    }

    fn grow(&self, more: usize) {
        self.total.set(self.total.get() + more);
        if let Some(b) = &self.bar {
            b.set_length(self.total.get() as u64);
        }
    }

    fn start(&self, what: &str) {
        match &self.bar {
            Some(b) => b.set_message(what.to_string()),
            None => println!("[{}/{}] {what} ...", self.pos.get() + 1, self.total.get()),
        }
    }

    fn line(&self, line: String) {
        match &self.bar {
            Some(b) => b.println(line),
            None => println!("{line}"),
        }
    }

    fn done(&self, line: String) {
        self.pos.set(self.pos.get() + 1);
        let line = format!("[{}/{}] {line}", self.pos.get(), self.total.get());
        match &self.bar {
            Some(b) => {
                b.println(line);
                b.inc(1);
            }
            None => println!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// What running one cell's process gave, before the driver judges it.
pub struct Ran {
    /// OS accounting and wall time of the cell process, from wait4.
    pub usage: Usage,
    pub wall_s: f64,
    /// Why the process failed (non-zero exit, signal, timeout), or `None`.
    pub failure: Option<String>,
    pub stderr_tail: String,
    /// The cell's output file, or why it could not be read.
    pub output: Result<Vec<u8>, String>,
    /// CPU other processes used meanwhile, in cores.
    pub other_cpu_cores: Option<f64>,
    /// The sampler's series, when the run samples.
    pub series: Option<Vec<crate::sampler::Sample>>,
}

/// Runs one planned cell's process: the seam between planning/resume/judging (tested with a fake) and
/// the real child process.
pub trait CellRunner {
    /// Run `cell` with `args` (a `cell` invocation of its workload's binary, without `--out`).
    fn run(&self, plan: &Plan, cell: &PlannedCell, args: &[String]) -> Result<Ran>;

    /// The extra, profiled repeat of an ok cell (the real runner's; none by default).
    fn profile(
        &self,
        _plan: &Plan,
        _cell: &PlannedCell,
        _args: &[String],
        _warmup_s: f64,
        _mean: f64,
    ) -> Option<crate::profile::Profiled> {
        None
    }
}

/// The real runner: a child process per cell, bounded by the cell timeout, reaped with wait4.
pub struct ChildRunner;

impl CellRunner for ChildRunner {
    fn run(&self, plan: &Plan, cell: &PlannedCell, args: &[String]) -> Result<Ran> {
        let s = &plan.manifest.settings;
        let bin = &plan.bins[&cell.workload];
        let out_path = plan.run.join(&format!("cells/.{}.out", cell.cell_id));
        let _ = std::fs::remove_file(&out_path);
        let mut cmd = Command::new(&bin.bin);
        cmd.args(args)
            // One repeat per process: the rounds interleave repeats of different cells.
            .args(["--repeats", "1"])
            .arg("--out")
            .arg(&out_path);
        let client_prefix = plan
            .declared(&cell.workload)
            .client
            .map(|c| c.thread_prefix);
        let busy_before = host::machine_busy_cpu_s();
        let (fin, sampler) = child::run_watched(cmd, timeout(plan), |pid| {
            s.sampler
                .then(|| crate::sampler::Sampler::start(pid, client_prefix))
        })
        .with_context(|| format!("cannot start {}", bin.bin.display()))?;
        let series = sampler.map(crate::sampler::Sampler::stop);
        let busy_after = host::machine_busy_cpu_s();
        let own_cpu = fin.usage.cpu_user_s + fin.usage.cpu_sys_s;
        let output =
            std::fs::read(&out_path).map_err(|e| format!("the cell wrote no output ({e})"));
        let _ = std::fs::remove_file(&out_path);
        Ok(Ran {
            other_cpu_cores: busy_before
                .zip(busy_after)
                .map(|(a, b)| ((b - a - own_cpu) / fin.wall.as_secs_f64()).max(0.0)),
            failure: fin.failure(),
            usage: fin.usage,
            wall_s: fin.wall.as_secs_f64(),
            stderr_tail: fin.stderr_tail,
            output,
            series,
        })
    }

    fn profile(
        &self,
        plan: &Plan,
        cell: &PlannedCell,
        args: &[String],
        warmup_s: f64,
        mean: f64,
    ) -> Option<crate::profile::Profiled> {
        let backend = plan.profiler.as_ref()?;
        let title = format!(
            "{} on {} ({})",
            cell.workload,
            cell.runtime,
            cell.params.key()
        );
        let prefix = plan
            .declared(&cell.workload)
            .client
            .map(|c| c.thread_prefix);
        Some(crate::profile::profile(
            backend,
            &crate::profile::Request {
                bin: &plan.bins[&cell.workload].bin,
                cell_args: args,
                warmup_s,
                scratch: &plan.run.join(&format!("cells/.{}", cell.cell_id)),
                timeout: timeout(plan),
                unprofiled_mean: mean,
                title: &title,
                client_prefix: prefix.as_deref(),
            },
        ))
    }
}

fn timeout(plan: &Plan) -> Duration {
    Duration::from_secs_f64(plan.manifest.settings.cell_timeout_s)
}

/// A planned cell during the rounds: its result is written, or it is still taking repeats (those kept
/// so far, by round).
enum State {
    Done(Box<CellResult>),
    Open(Vec<RoundRecord>),
}

/// Run the matrix in interleaved rounds (see [`crate::rounds`]): every cell without a trusted result
/// takes one repeat per round, in the round's random order, until it has the minimum repeats and then,
/// with a precision plan, until it reaches the target, the maximum repeats or the run's budget is
/// spent. Each cell's result is written once, when it stops; a failed or skipped repeat ends its cell
/// at once. Then the run is marked finished and the summary printed. Returns every cell's result, in
/// planned order.
pub fn execute(plan: &Plan, results: &Results, runner: &dyn CellRunner) -> Result<Vec<CellResult>> {
    let settings = &plan.manifest.settings;
    let min = settings.repeats.max(1);
    let precision = settings.precision;
    let max = precision.map_or(min, |p| p.max_repeats.max(min));
    let seed = settings.order_seed.unwrap_or(0);
    let cores = match &plan.manifest.client_host {
        Some(r) => format!(
            "cores {}, clients on {} cores {}",
            discover::join(&settings.cores),
            r.hostname,
            discover::join(&r.cores)
        ),
        None => format!("cores {}", discover::join(&settings.cores)),
    };
    println!(
        "run {}: {} cells, warm-up {} s, window {} s, {} into {}",
        plan.manifest.run_id,
        settings.cells.len(),
        settings.warmup_s,
        settings.duration_s,
        match precision {
            Some(p) => format!(
                "{min} to {max} repeats in rounds (until ±{}% at 95%, budget {}), order seed {seed}, {cores},",
                p.target_half_width * 100.0,
                humantime::format_duration(Duration::from_secs(p.budget_s as u64)),
            ),
            None => format!("{min} repeat(s) in rounds, order seed {seed}, {cores},"),
        },
        plan.run.path().display()
    );
    let mut state = Vec::with_capacity(settings.cells.len());
    let mut kept_s = 0.0;
    let mut notes = Vec::new();
    for cell in &settings.cells {
        let trusted = match plan.run.cell(&cell.cell_id) {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                notes.push(format!(
                    "not trusting an existing result, running again: {e}"
                ));
                None
            }
            None => None,
        };
        state.push(match trusted {
            Some(c) => {
                notes.push(format!("{} already done ({:?})", cell.cell_id, c.status));
                State::Done(Box::new(c))
            }
            None => {
                let (kept, problems) = rounds::load(&plan.run, &cell.cell_id);
                notes.extend(problems);
                if !kept.is_empty() {
                    notes.push(format!(
                        "{}: keeping {} finished repeat(s)",
                        cell.cell_id,
                        kept.len()
                    ));
                }
                kept_s += kept.iter().map(|r| r.wall_s).sum::<f64>();
                State::Open(kept)
            }
        });
    }
    let planned = repeats_to_minimum(&state, min);
    let progress = Progress::new(planned);
    for n in notes {
        progress.line(n);
    }
    let started = std::time::Instant::now();
    let spent = || kept_s + started.elapsed().as_secs_f64();
    // What this session's repeats (a warm-up rerun counted in its repeat) and profiled repeats took,
    // in seconds and in number: their mean includes what a repeat's own wall time does not (start-up,
    // reruns, the driver, and for a profile the profiler and its flamegraph).
    let (repeats_took, profiles_took) = (
        std::cell::Cell::new((0.0f64, 0usize)),
        std::cell::Cell::new((0.0f64, 0usize)),
    );
    let took = |c: &std::cell::Cell<(f64, usize)>, since: std::time::Instant| {
        let (s, n) = c.get();
        c.set((s + since.elapsed().as_secs_f64(), n + 1));
    };
    let mean_took = |c: &std::cell::Cell<(f64, usize)>| {
        let (s, n) = c.get();
        (n > 0).then(|| s / n as f64)
    };
    // One more repeat of a cell with `kept` repeats is counted at the longer of its mean wall time
    // and this session's mean time per repeat, a profiled repeat at the longer of that and the mean
    // time per profile, so a run does not start repeats it cannot finish within the budget (counted
    // at the repeats' wall time alone, a full run here started a round that ended 8 minutes past its
    // budget; at the mean time per process, with its profiles counted as repeats, 1 minute past).
    let profile = usize::from(settings.profile);
    let repeat_s = |kept: &[RoundRecord]| {
        let mean = kept.iter().map(|r| r.wall_s).sum::<f64>() / kept.len().max(1) as f64;
        mean_took(&repeats_took).map_or(mean, |m| m.max(mean))
    };
    let profile_s = |kept: &[RoundRecord]| {
        let repeat = repeat_s(kept);
        mean_took(&profiles_took).map_or(repeat, |m| m.max(repeat))
    };
    // The cells that take the next adaptive round: of the open cells, those closest to the precision
    // target first, as many as the budget holds once the profiled repeat of every open cell is
    // counted. A round the budget cannot hold for every cell is taken by part of them rather than by
    // none: the budget goes where a repeat is likeliest to reach the target (all or none, a run
    // either overran its budget by a whole round or left the budget short of a round unused).
    let next_round = |state: &[State]| {
        let mut take = vec![false; state.len()];
        let Some(p) = &precision else {
            return take;
        };
        let mut left = p.budget_s - spent();
        let mut blocks: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, s) in state.iter().enumerate() {
            let State::Open(k) = s else { continue };
            if k.is_empty() {
                continue;
            }
            left -= profile_s(k) * profile as f64;
            blocks
                .entry(rounds::block_of(&settings.cells[i]))
                .or_default()
                .push(i);
        }
        let kept = |i: usize| match &state[i] {
            State::Open(k) => k.as_slice(),
            State::Done(_) => &[],
        };
        // Whole blocks take a round (a comparison needs both of its cells in it), while the budget
        // holds them: first those whose widest comparison could still reach the target by the
        // maximum repeats, widest first (the closest would reach it anyway, or not matter), then the
        // others, closest to the target first (the likeliest to become useful).
        let mut open: Vec<(bool, f64, f64, Vec<usize>)> = blocks
            .into_values()
            .map(|cells| {
                let ks: Vec<&[RoundRecord]> = cells.iter().map(|&i| kept(i)).collect();
                let gap = rounds::block_gap(&ks, p.target_half_width).unwrap_or(0.0);
                let n = ks.iter().map(|k| k.len()).min().unwrap_or(0);
                let reachable = rounds::projected_half_width(gap, n, max) <= p.target_half_width;
                let cost = cells.iter().map(|&i| repeat_s(kept(i))).sum();
                (reachable, gap, cost, cells)
            })
            .collect();
        open.sort_by(|a, b| match (a.0, b.0) {
            (true, true) => b.1.total_cmp(&a.1),
            (false, false) => a.1.total_cmp(&b.1),
            _ => b.0.cmp(&a.0),
        });
        for (_, _, cost, cells) in open {
            if cost <= left {
                left -= cost;
                for i in cells {
                    take[i] = true;
                }
            }
        }
        take
    };
    // The minimum rounds and the profiled repeats are not bounded by the budget (they are the run's
    // floor): say, before the first round and again with the first round's timing, when they alone
    // leave the budget no room for adaptive rounds.
    if let Some(p) = &precision {
        let profiles = profile * open_cells(&state);
        let floor_s = (planned + profiles) as f64 * (settings.warmup_s + settings.duration_s);
        if let Some(w) = minimum_overruns(
            p,
            spent(),
            floor_s,
            &format!(
                "{planned} repeats and {profiles} profiled repeats of at least warm-up plus window each"
            ),
        ) {
            progress.line(w);
        }
    }
    // End these cells: the result of each (its profiled repeat run) written, its rounds cleared.
    let finish = |state: &mut [State], mut ending: Vec<(usize, &str)>| -> Result<()> {
        ending.sort_unstable();
        for (i, stopped) in ending {
            let cell = &settings.cells[i];
            let State::Open(kept) = &state[i] else {
                continue;
            };
            let t0 = std::time::Instant::now();
            let result = finish_cell(plan, cell, kept, runner, stopped)?;
            if result.profile.is_some() {
                took(&profiles_took, t0);
            }
            crate::interrupt::check()?;
            plan.run.write_cell(&result)?;
            rounds::clear(&plan.run, &cell.cell_id);
            progress.line(one_line(&result, &plan.declared(&cell.workload).ops_unit));
            state[i] = State::Done(Box::new(result));
        }
        Ok(())
    };
    let mut take = vec![false; state.len()];
    for round in 0..max {
        let takers: Vec<usize> = (0..state.len())
            .filter(|&i| match &state[i] {
                State::Open(k) => k.len() == round && (round < min || take[i]),
                State::Done(_) => false,
            })
            .collect();
        if round >= min {
            progress.grow(takers.len());
        }
        let blocks: Vec<String> = takers
            .iter()
            .map(|&i| rounds::block_of(&settings.cells[i]))
            .collect();
        for j in rounds::order(seed, round, &blocks) {
            let i = takers[j];
            let cell = &settings.cells[i];
            crate::interrupt::check()?;
            progress.start(&format!("round {} {}", round + 1, cell.cell_id));
            let State::Open(kept) = &state[i] else {
                unreachable!("only open cells take rounds")
            };
            let warmups = cell_warmups(settings, kept);
            let warmup_s = warmups.longest_s;
            let t0 = std::time::Instant::now();
            let mut outcome = run_round(plan, cell, runner, round, warmup_s)?;
            // A cell killed by Ctrl-C is not a result.
            crate::interrupt::check()?;
            // A repeat that measured part of its warm-up is not kept: it runs again, once, with the
            // warm-up its own data asked for, which the cell's later rounds keep. Once per cell: after
            // that a late repeat is kept and flagged in the cell's noise (a speed step of the shared
            // machine looks like a late warm-up, and chasing each one cost minutes of every full run).
            if let Some((settled_s, longer_s)) = match &outcome {
                Round::Kept(rec) if warmups.extended == 0 => longer_warmup(rec, warmup_s, settings),
                Round::Kept(_) | Round::Ended(_) => None,
            } {
                progress.line(format!(
                    "round {} {}: throughput settled only {settled_s:.2} s after the start, past \
                     the {warmup_s} s warm-up; running it again with {longer_s} s",
                    round + 1,
                    cell.cell_id
                ));
                outcome = run_round(plan, cell, runner, round, longer_s)?;
                crate::interrupt::check()?;
            }
            took(&repeats_took, t0);
            match outcome {
                Round::Kept(rec) => {
                    rounds::save(&plan.run, &cell.cell_id, &rec)?;
                    let State::Open(kept) = &mut state[i] else {
                        unreachable!("only open cells take rounds")
                    };
                    kept.push(*rec);
                    progress.done(format!(
                        "round {} {}: {}/s",
                        round + 1,
                        cell.cell_id,
                        si(*rounds::throughputs(kept).last().unwrap_or(&0.0))
                    ));
                }
                Round::Ended(result) => {
                    plan.run.write_cell(&result)?;
                    rounds::clear(&plan.run, &cell.cell_id);
                    progress.done(one_line(&result, &plan.declared(&cell.workload).ops_unit));
                    state[i] = State::Done(result);
                }
            }
        }
        // Cells that take no further round end here, with their result written: first those done
        // by their own measure, then (once the budget has been judged on the cells still open, with
        // the time the first ones' profiles took) the rest if another round would not fit.
        let answered = answered_blocks(&state, &settings.cells, precision.as_ref(), min);
        let mut ending: Vec<(usize, &str)> = Vec::new();
        for (i, cell) in settings.cells.iter().enumerate() {
            let State::Open(kept) = &state[i] else {
                continue;
            };
            let stopped = if kept.len() < min {
                continue;
            } else if precision.is_none() {
                "minimum repeats"
            } else if answered.contains(&rounds::block_of(cell)) {
                let own =
                    precision.is_some_and(|p| rounds::reached(&rounds::throughputs(kept), &p));
                if own {
                    "target reached"
                } else {
                    "comparisons answered"
                }
            } else if kept.len() >= max {
                "max repeats"
            } else {
                continue;
            };
            ending.push((i, stopped));
        }
        if let (Some(p), true) = (&precision, round == 0 && min > 1) {
            // The floor left, each process at what the budget check counts it.
            let floor_s: f64 = state
                .iter()
                .filter_map(|s| match s {
                    State::Open(k) if !k.is_empty() => Some(
                        repeat_s(k) * min.saturating_sub(k.len()) as f64
                            + profile_s(k) * profile as f64,
                    ),
                    _ => None,
                })
                .sum();
            let left = repeats_to_minimum(&state, min);
            let profiles = profile * open_cells(&state);
            let per_repeat = mean_took(&repeats_took).unwrap_or(0.0);
            if let Some(w) = minimum_overruns(
                p,
                spent(),
                floor_s,
                &format!(
                    "{left} more repeats and {profiles} profiled repeats, each at the longer of its \
                     cell's mean repeat and this session's {per_repeat:.1} s per repeat"
                ),
            ) {
                progress.line(w);
            }
        }
        // The cells done by their own measure end first, their profiles run, so that the budget is
        // judged on the time those took (judged before them, a full run here costed each profile at
        // a repeat's 4.3 s against the 4.85 s measured, and ended 1 min 20 s past its budget).
        finish(&mut state, ending)?;
        take = next_round(&state);
        let spent_out: Vec<(usize, &str)> = (0..state.len())
            .filter(|&i| matches!(&state[i], State::Open(k) if k.len() >= min) && !take[i])
            .map(|i| (i, "budget spent"))
            .collect();
        let (taking, out) = (take.iter().filter(|t| **t).count(), spent_out.len());
        if let (Some(p), true) = (&precision, taking > 0 && out > 0) {
            progress.line(format!(
                "round {}: the budget holds {taking} of the {} cells whose comparisons are not yet \
                 answered at ±{}% (whole parameter sets, those that can still reach it and are widest \
                 first); the other {out} stop here",
                round + 2,
                taking + out,
                p.target_half_width * 100.0
            ));
        }
        finish(&mut state, spent_out)?;
    }
    progress.finish();
    let done: Vec<CellResult> = state
        .into_iter()
        .map(|s| match s {
            State::Done(c) => *c,
            State::Open(_) => unreachable!("every cell ends by the last round"),
        })
        .collect();
    let mut manifest = plan.manifest.clone();
    manifest.finished = Some(now_rfc3339());
    manifest.interrupted = None;
    plan.run.write_manifest(&manifest)?;
    results.set_latest(&manifest.run_id)?;
    print!(
        "{}",
        summary_table(&done, &settings.rows, &manifest.workloads)
    );
    let failed = done.iter().filter(|c| c.status != Status::Ok).count();
    let short = done
        .iter()
        .filter(|c| {
            c.precision
                .as_ref()
                .is_some_and(|p| p.target_half_width.is_some() && !p.reached)
        })
        .count();
    println!(
        "run {} finished in {}: {} ok, {failed} not ok{}; results in {}",
        manifest.run_id,
        humantime::format_duration(Duration::from_secs(started.elapsed().as_secs())),
        done.len() - failed,
        if precision.is_some() {
            format!(", {short} short of the precision target")
        } else {
            String::new()
        },
        plan.run.path().display()
    );
    Ok(done)
}

/// The comparison blocks whose every comparison is answered (`rounds::block_gap`), judged on their
/// open cells that have at least `min` repeats; none without a precision target.
fn answered_blocks(
    state: &[State],
    cells: &[PlannedCell],
    precision: Option<&PrecisionPlan>,
    min: usize,
) -> BTreeSet<String> {
    let Some(p) = precision else {
        return BTreeSet::new();
    };
    let mut blocks: BTreeMap<String, Vec<&[RoundRecord]>> = BTreeMap::new();
    let mut short: BTreeSet<String> = BTreeSet::new();
    for (s, cell) in state.iter().zip(cells) {
        let State::Open(k) = s else { continue };
        let key = rounds::block_of(cell);
        if k.len() < min {
            short.insert(key.clone());
        }
        blocks.entry(key).or_default().push(k);
    }
    blocks
        .into_iter()
        .filter(|(key, ks)| {
            !short.contains(key) && rounds::block_gap(ks, p.target_half_width).is_none()
        })
        .map(|(key, _)| key)
        .collect()
}

/// Repeats the open cells still take to reach the minimum of `min` each.
fn repeats_to_minimum(state: &[State], min: usize) -> usize {
    state
        .iter()
        .map(|s| match s {
            State::Open(k) => min.saturating_sub(k.len()),
            State::Done(_) => 0,
        })
        .sum()
}

/// Cells still taking repeats.
fn open_cells(state: &[State]) -> usize {
    state.iter().filter(|s| matches!(s, State::Open(_))).count()
}

/// A warning when the run's floor (its minimum rounds and profiled repeats, `floor_s` more after
/// `spent_s`, as `what` explains) leaves the budget no room for adaptive rounds.
fn minimum_overruns(p: &PrecisionPlan, spent_s: f64, floor_s: f64, what: &str) -> Option<String> {
    let fmt = |s: f64| humantime::format_duration(Duration::from_secs(s.max(0.0) as u64));
    (spent_s + floor_s > p.budget_s).then(|| {
        format!(
            "warning: the minimum repeats and the profiles alone take about {} more ({what}), beyond \
             the {} budget ({} of it left): no cell will take an adaptive round and few will reach \
             ±{}%; fewer cells (-w, -r, -p), --no-profile or a larger --budget leave room for them",
            fmt(floor_s),
            fmt(p.budget_s),
            fmt(p.budget_s - spent_s),
            p.target_half_width * 100.0
        )
    })
}

fn one_line(c: &CellResult, unit: &str) -> String {
    match (&c.status, &c.summary) {
        (Status::Ok, Some(s)) => format!(
            "{} ok: {}/s {} (p99 {}), {:.0} per CPU-second",
            c.cell_id,
            si(s.throughput_ops_s.mean),
            if unit.is_empty() { "ops" } else { unit },
            ns(s.latency_ns.p99),
            s.ops_per_cpu_s
        ),
        _ => format!(
            "{} {:?}: {}",
            c.cell_id,
            c.status,
            c.error.as_deref().unwrap_or("")
        ),
    }
}

/// What one repeat of a cell gave: a repeat to keep, or the cell's end (skipped, or failed with the
/// reason and the tail of its stderr).
enum Round {
    Kept(Box<RoundRecord>),
    Ended(Box<CellResult>),
}

/// The warm-ups of a cell's kept repeats (each repeat records its own, so a resumed run keeps them).
struct Warmups {
    /// The warm-up of the cell's next repeat: the run's, or the longer one an earlier repeat was given.
    longest_s: f64,
    /// How many kept repeats ran with a warm-up longer than the run's.
    extended: usize,
}

fn cell_warmups(settings: &RunSettings, kept: &[RoundRecord]) -> Warmups {
    kept.iter()
        .flat_map(|r| &r.output.repeats)
        .filter_map(|r| r.steady.map(|s| s.warmup_s))
        .fold(
            Warmups {
                longest_s: settings.warmup_s,
                extended: 0,
            },
            |w, x| Warmups {
                longest_s: w.longest_s.max(x),
                extended: w.extended + usize::from(x > settings.warmup_s),
            },
        )
}

/// When a kept repeat's throughput settled only after its warm-up of `warmup_s`: the time it took and
/// the longer warm-up to run it again with ([`dyno_core::steady::extended_warmup`], at most the run's
/// warm-up plus its window). `None` when it settled in time, could not be judged, or the warm-up is
/// already as long as allowed.
fn longer_warmup(rec: &RoundRecord, warmup_s: f64, settings: &RunSettings) -> Option<(f64, f64)> {
    let settled_s = rec
        .output
        .repeats
        .iter()
        .filter_map(|r| r.steady)
        .filter(|s| !s.settled_in_warmup())
        .map(|s| s.settled_after_s)
        .reduce(f64::max)?;
    let longer =
        dyno_core::steady::extended_warmup(settled_s, settings.warmup_s + settings.duration_s);
    (longer > warmup_s + 1e-9).then_some((settled_s, longer))
}

/// The `cell` invocation of a cell's binary with a warm-up of `warmup_s`, without `--repeats` and
/// `--out`.
fn cell_args(plan: &Plan, cell: &PlannedCell, warmup_s: f64) -> Result<Vec<String>> {
    let s = &plan.manifest.settings;
    let (params, cores) = s.placement(&cell.params);
    let mut args = vec![
        "cell".into(),
        "--row".into(),
        cell.runtime.clone(),
        "--params".into(),
        serde_json::to_string(&params)?,
        "--warmup-s".into(),
        warmup_s.to_string(),
        "--duration-s".into(),
        s.duration_s.to_string(),
        "--cores".into(),
        discover::join(&cores),
    ];
    if let Some(r) = &plan.manifest.client_host {
        args.push("--remote-client".into());
        args.push(serde_json::to_string(r)?);
    }
    Ok(args)
}

/// A cell's result before its figures: status failed until judged otherwise.
fn blank_result(plan: &Plan, cell: &PlannedCell, usage: Usage, wall_s: f64) -> Result<CellResult> {
    let s = &plan.manifest.settings;
    Ok(CellResult {
        schema: SCHEMA,
        cell_id: cell.cell_id.clone(),
        workload: cell.workload.clone(),
        runtime: cell.runtime.clone(),
        params: cell.params.clone(),
        status: Status::Failed,
        error: None,
        fairness: plan
            .fairness
            .get(&cell.runtime)
            .cloned()
            .with_context(|| format!("row {} has no fairness block", cell.runtime))?,
        repeats: vec![],
        summary: None,
        artifacts: Artifacts::default(),
        ops_unit: plan.declared(&cell.workload).ops_unit,
        process: Some(usage),
        wall_s,
        stderr_tail: None,
        warmup_s: s.warmup_s,
        duration_s: s.duration_s,
        timeseries: None,
        profile: None,
        precision: None,
    })
}

/// Run one repeat of a cell with a warm-up of `warmup_s` through `runner` and judge it: a repeat to
/// keep (its figures checked as a summary would check them), or the cell's end: skipped (the cell said
/// it cannot run here) or failed (with the reason and the tail of its stderr).
fn run_round(
    plan: &Plan,
    cell: &PlannedCell,
    runner: &dyn CellRunner,
    round: usize,
    warmup_s: f64,
) -> Result<Round> {
    let declared = plan.declared(&cell.workload);
    let started_unix_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs_f64());
    let ran = runner.run(plan, cell, &cell_args(plan, cell, warmup_s)?)?;
    let ended = |error: String, tail: Option<String>, status: Status| -> Result<Round> {
        let mut r = blank_result(plan, cell, ran.usage, ran.wall_s)?;
        r.status = status;
        r.error = Some(if round > 0 && status == Status::Failed {
            format!("round {}: {error}", round + 1)
        } else {
            error
        });
        r.stderr_tail = tail;
        Ok(Round::Ended(Box::new(r)))
    };
    let output = match ran.failure {
        Some(why) => Err(why),
        None => ran.output.and_then(|b| {
            serde_json::from_slice::<CellOutput>(&b)
                .map_err(|e| format!("unreadable cell output: {e}"))
        }),
    };
    let out = match output {
        Ok(out) => out,
        Err(why) => return ended(why, Some(ran.stderr_tail), Status::Failed),
    };
    if let Some(why) = &out.skipped {
        // The cell's own fairness block: the cores it was given, which a core sweep varies.
        return ended(why.clone(), None, Status::Skipped).map(|r| match r {
            Round::Ended(mut c) => {
                c.fairness = out.fairness.clone();
                Round::Ended(c)
            }
            kept => kept,
        });
    }
    if let Err(why) = summarize(&out, &ran.usage, ran.other_cpu_cores, &declared) {
        return ended(why, Some(ran.stderr_tail), Status::Failed);
    }
    Ok(Round::Kept(Box::new(RoundRecord {
        round,
        started_unix_s,
        output: out,
        usage: ran.usage,
        wall_s: ran.wall_s,
        other_cpu_cores: ran.other_cpu_cores,
        series: ran.series,
    })))
}

/// The result of a cell that stopped taking rounds with `kept` repeats: summary with its interval,
/// each repeat's round, the merged histogram, the first round's time series, the extra profiled
/// repeat, and its precision.
fn finish_cell(
    plan: &Plan,
    cell: &PlannedCell,
    kept: &[RoundRecord],
    runner: &dyn CellRunner,
    stopped: &str,
) -> Result<CellResult> {
    let declared = plan.declared(&cell.workload);
    let m = rounds::merge(kept).context("a cell ended with no repeat")?;
    let mut result = blank_result(plan, cell, m.usage, m.wall_s)?;
    let (mut repeats, summary, hist) =
        match summarize(&m.output, &m.usage, m.other_cpu_cores, &declared) {
            Ok(x) => x,
            Err(why) => {
                result.error = Some(why);
                return Ok(result);
            }
        };
    for ((r, round), started) in repeats.iter_mut().zip(&m.rounds).zip(&m.started) {
        r.round = Some(*round);
        r.started_unix_s = *started;
    }
    if let Some(h) = hist {
        let rel = format!("cells/{}.hdr", cell.cell_id);
        plan.run.write_artifact(&rel, h.as_bytes())?;
        result.artifacts.histogram = Some(rel);
    }
    if let Some(series) = &m.series {
        let rel = format!("cells/{}.timeseries.csv", cell.cell_id);
        plan.run
            .write_artifact(&rel, crate::sampler::csv(series).as_bytes())?;
        result.artifacts.timeseries_csv = Some(rel);
        result.timeseries = Some(crate::sampler::summarize(series));
    }
    let warmups = cell_warmups(&plan.manifest.settings, kept);
    let warmup_s = warmups.longest_s;
    let args = cell_args(plan, cell, warmup_s)?;
    if let Some(p) = runner.profile(plan, cell, &args, warmup_s, summary.throughput_ops_s.mean) {
        if let (Some(folded), Some(svg)) = (&p.folded, &p.svg) {
            // Folded stacks of deep generic Rust frames are large and repetitive: stored gzipped.
            let folded_rel = format!("cells/{}.folded.gz", cell.cell_id);
            let svg_rel = format!("cells/{}.flame.svg", cell.cell_id);
            plan.run
                .write_artifact(&folded_rel, &gzip(folded.as_bytes()))?;
            plan.run.write_artifact(&svg_rel, svg.as_bytes())?;
            result.artifacts.folded_stacks = Some(folded_rel);
            result.artifacts.flamegraph_svg = Some(svg_rel);
        }
        result.profile = Some(p.info);
    }
    let xs: Vec<f64> = repeats.iter().map(|r| r.throughput_ops_s).collect();
    let mut summary = summary;
    let precision = rounds::precision(&xs, plan.manifest.settings.precision.as_ref(), stopped);
    if let Some(m) = &precision.modes {
        summary.noise.push(format!(
            "{m}: two behaviours, not one noisy figure; the mean describes neither"
        ));
    }
    if warmups.extended > 0 {
        summary.noise.push(format!(
            "warm-up extended from the run's {} s to {warmup_s} s, where a repeat's throughput \
             settled later ({} of {} repeats ran with a longer warm-up)",
            plan.manifest.settings.warmup_s,
            warmups.extended,
            repeats.len()
        ));
    }
    result.warmup_s = warmup_s;
    result.precision = Some(precision);
    result.status = Status::Ok;
    result.fairness = m.output.fairness;
    result.repeats = repeats;
    result.summary = Some(summary);
    Ok(result)
}

/// Workload × row: throughput (in each workload's declared unit) with the half-width of its 95% CI, or
/// why the cell is not ok. Rows in `rows`' order, then any others.
pub fn summary_table(
    cells: &[CellResult],
    rows: &[String],
    declared: &BTreeMap<String, Declarations>,
) -> String {
    let mut keys: Vec<(String, String, String)> = Vec::new();
    for c in cells {
        let shown = Params::varying(
            cells
                .iter()
                .filter(|o| o.workload == c.workload)
                .map(|o| &o.params),
        );
        let k = (
            c.workload.clone(),
            c.params.key(),
            format!(
                "{} ({}) {}",
                c.workload,
                declared
                    .get(&c.workload)
                    .map(|d| d.ops_unit.as_str())
                    .filter(|u| !u.is_empty())
                    .unwrap_or("ops"),
                c.params.label(&shown)
            ),
        );
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut present: Vec<&String> = rows
        .iter()
        .filter(|r| cells.iter().any(|c| &c.runtime == *r))
        .collect();
    for c in cells {
        if !present.contains(&&c.runtime) {
            present.push(&c.runtime);
        }
    }
    let lw = keys.iter().map(|k| k.2.len()).max().unwrap_or(0).max(24);
    let width = 14;
    let mut out = format!("\n{:<lw$}", "per second ± 95% CI");
    for r in &present {
        out.push_str(&format!(" {r:>width$}"));
    }
    out.push('\n');
    for (w, key, label) in keys {
        out.push_str(&format!("{label:<lw$}"));
        for r in &present {
            let c = cells
                .iter()
                .find(|c| c.workload == w && c.params.key() == key && &c.runtime == *r);
            let text = match c {
                None => "-".to_string(),
                Some(c) => match (&c.status, &c.summary) {
                    (Status::Ok, Some(s)) => {
                        let t = &s.throughput_ops_s;
                        match t.half_width_rel() {
                            Some(h) => format!("{} ±{:.0}%", si(t.mean), h * 100.0),
                            // One repeat has no interval.
                            None => format!("{} (n={})", si(t.mean), t.n),
                        }
                    }
                    (st, _) => format!("{st:?}").to_lowercase(),
                },
            };
            out.push_str(&format!(" {text:>width$}"));
        }
        out.push('\n');
    }
    out
}

/// Gzip-compress bytes.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("writing to a Vec cannot fail");
    e.finish().expect("finishing a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use dyno_core::schema::{Git, Host, RawRepeat, Toolchain};
    use std::cell::RefCell;

    fn fairness() -> Fairness {
        Fairness {
            cores: vec![0],
            client_cores: vec![],
            client_host: None,
            workers: 1,
            io: "epoll".into(),
            model: "m".into(),
            pinned: false,
            notes: vec![],
        }
    }

    /// A plan of three cells (ok, skipped, timed out) of workload `w` on row `r`, in a temp directory.
    fn plan(dir: &Path) -> (Plan, Results) {
        plan_of(dir, &["ok", "skip", "hang"])
    }

    /// A plan of one cell per kind (see [`Fake`]), one repeat each.
    fn plan_of(dir: &Path, kinds: &[&str]) -> (Plan, Results) {
        let results = Results::new(dir);
        let cells: Vec<PlannedCell> = kinds
            .iter()
            .map(|k| {
                let mut params = Params::default();
                params.0.insert("k".into(), (*k).into());
                PlannedCell {
                    cell_id: cell_id("w", "r", &params),
                    workload: "w".into(),
                    runtime: "r".into(),
                    params,
                }
            })
            .collect();
        let manifest = Manifest {
            schema: SCHEMA,
            run_id: "t".into(),
            profile: "quick".into(),
            started: now_rfc3339(),
            finished: None,
            interrupted: None,
            git: Git {
                commit: "c".into(),
                dirty: false,
            },
            host: Host {
                cpu_model: "cpu".into(),
                cores: 1,
                memory_bytes: 1,
                kernel: "k".into(),
                os: "os".into(),
            },
            toolchain: Toolchain { rustc: "r".into() },
            cells_planned: cells.len(),
            settings: RunSettings {
                base_profile: Profile::Quick,
                warmup_s: 0.1,
                duration_s: 1.0,
                repeats: 1,
                cores: vec![0],
                cell_timeout_s: 5.0,
                cells,
                sampler: false,
                profile: false,
                profiler: Default::default(),
                rows: vec!["r".into()],
                baseline_row: Some("r".into()),
                order_seed: Some(42),
                precision: None,
                cores_sweep: None,
            },
            workloads: [(
                "w".to_string(),
                Declarations {
                    ops_unit: "things".into(),
                    ..Default::default()
                },
            )]
            .into(),
            client_host: None,
        };
        let run = results.new_run("t");
        run.write_manifest(&manifest).unwrap();
        let plan = Plan {
            run,
            manifest,
            bins: BTreeMap::new(),
            fairness: [("r".to_string(), fairness())].into(),
            profiler: None,
            _session: None,
        };
        (plan, results)
    }

    /// Answers by the cell's `k` parameter and remembers which cells it ran: `ok` measures 1000 ops
    /// every time, `noisy` alternates 1000 and 1500, `wide` 1000 and 3000, `late` measures 1000 ops whose rate settles
    /// 0.42 s after the start whatever the warm-up, `step` 0.3 s after its warm-up ends whatever the
    /// warm-up (a speed step of the machine, not a warm-up), `skip` cannot run here, anything else times out.
    /// With `die_after`, the run is killed (an error) at that many processes.
    #[derive(Default)]
    struct Fake(RefCell<Vec<String>>, Option<usize>);

    impl CellRunner for Fake {
        fn run(&self, _: &Plan, cell: &PlannedCell, args: &[String]) -> Result<Ran> {
            assert!(args.contains(&cell.runtime), "{args:?}");
            if self.1.is_some_and(|n| self.0.borrow().len() >= n) {
                bail!("killed");
            }
            self.0.borrow_mut().push(cell.cell_id.clone());
            let nth = self
                .0
                .borrow()
                .iter()
                .filter(|c| **c == cell.cell_id)
                .count();
            let out = |skipped: Option<&str>, repeats| {
                serde_json::to_vec(&CellOutput {
                    fairness: fairness(),
                    repeats,
                    skipped: skipped.map(str::to_string),
                })
                .unwrap()
            };
            let repeat = RawRepeat {
                ops: match cell.params.word("k") {
                    "noisy" if nth % 2 == 0 => 1500,
                    "wide" if nth % 2 == 0 => 3000,
                    _ => 1000,
                },
                errors: BTreeMap::new(),
                error_samples: BTreeMap::new(),
                steady: matches!(cell.params.word("k"), "late" | "step").then(|| {
                    let at = args.iter().position(|a| a == "--warmup-s").unwrap() + 1;
                    let warmup_s: f64 = args[at].parse().unwrap();
                    dyno_core::steady::Steady {
                        settled_after_s: if cell.params.word("k") == "late" {
                            0.42
                        } else {
                            warmup_s + 0.3
                        },
                        warmup_s,
                        window_drift: 1.0,
                    }
                }),
                duration_s: 1.0,
                window_usage: Usage {
                    cpu_user_s: 0.5,
                    ..Usage::default()
                },
                histogram: None,
                metrics: BTreeMap::new(),
            };
            let (failure, output) = match cell.params.word("k") {
                "ok" | "noisy" | "wide" | "late" | "step" => (None, Ok(out(None, vec![repeat]))),
                "skip" => (None, Ok(out(Some("tool not installed"), vec![]))),
                _ => (
                    Some("timed out after 5 s and was killed".to_string()),
                    Err("the cell wrote no output".to_string()),
                ),
            };
            Ok(Ran {
                usage: Usage::default(),
                wall_s: 1.0,
                failure,
                stderr_tail: "last words".into(),
                output,
                other_cpu_cores: None,
                series: None,
            })
        }
    }

    #[test]
    fn cells_end_ok_skipped_or_failed_and_each_result_is_written() {
        let d = tempfile::tempdir().unwrap();
        let (plan, results) = plan(d.path());
        let fake = Fake::default();
        let done = execute(&plan, &results, &fake).unwrap();
        let status: Vec<Status> = done.iter().map(|c| c.status).collect();
        assert_eq!(status, [Status::Ok, Status::Skipped, Status::Failed]);
        assert_eq!(
            done[0].summary.as_ref().unwrap().throughput_ops_s.mean,
            1000.0
        );
        assert_eq!(done[0].ops_unit, "things");
        assert_eq!(done[1].error.as_deref(), Some("tool not installed"));
        assert_eq!(done[1].stderr_tail, None);
        assert!(done[2].error.as_deref().unwrap().starts_with("timed out"));
        assert_eq!(done[2].stderr_tail.as_deref(), Some("last words"));
        for c in &done {
            assert_eq!(plan.run.cell(&c.cell_id).unwrap().unwrap(), *c);
        }
        assert!(plan.run.manifest().unwrap().finished.is_some());
        assert_eq!(results.latest().as_deref(), Some("t"));
    }

    #[test]
    fn resume_runs_only_missing_or_untrusted_cells() {
        let d = tempfile::tempdir().unwrap();
        let (plan, results) = plan(d.path());
        execute(&plan, &results, &Fake::default()).unwrap();
        let ids: Vec<String> = plan
            .manifest
            .settings
            .cells
            .iter()
            .map(|c| c.cell_id.clone())
            .collect();
        // One result lost, one truncated: only those two run again.
        std::fs::remove_file(plan.run.cell_path(&ids[0])).unwrap();
        std::fs::write(plan.run.cell_path(&ids[2]), "{\"schema\":").unwrap();
        let again = Fake::default();
        let done = execute(&plan, &results, &again).unwrap();
        let mut rerun = again.0.borrow().clone();
        rerun.sort();
        let mut want = vec![ids[0].clone(), ids[2].clone()];
        want.sort();
        assert_eq!(rerun, want);
        assert_eq!(done.len(), 3);
        assert_eq!(done[1].status, Status::Skipped);
    }

    #[test]
    fn repeats_run_in_rounds_of_every_cell_in_a_seeded_order() {
        let d = tempfile::tempdir().unwrap();
        let kinds = ["ok", "noisy", "ok2", "ok3", "ok4", "ok5"]
            .map(|k| if k.starts_with("ok") { "ok" } else { k });
        // Distinct cells need distinct params: tell them apart by a second parameter.
        let (mut plan, results) = plan_of(d.path(), &kinds);
        for (i, c) in plan.manifest.settings.cells.iter_mut().enumerate() {
            c.params.0.insert("i".into(), (i as u64).into());
            c.cell_id = cell_id("w", "r", &c.params);
        }
        plan.manifest.settings.repeats = 3;
        let fake = Fake::default();
        let done = execute(&plan, &results, &fake).unwrap();
        let ran = fake.0.borrow();
        let n = kinds.len();
        assert_eq!(ran.len(), 3 * n);
        // Each round holds every cell once, before the next round starts.
        let mut orders = Vec::new();
        for round in ran.chunks(n) {
            let mut ids: Vec<&String> = round.iter().collect();
            orders.push(ids.clone());
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), n, "{ran:?}");
        }
        // The order is the seed's: reproducible, and not the same every round.
        assert_ne!(orders[0], orders[1]);
        let ids: Vec<&String> = plan
            .manifest
            .settings
            .cells
            .iter()
            .map(|c| &c.cell_id)
            .collect();
        let blocks: Vec<String> = plan
            .manifest
            .settings
            .cells
            .iter()
            .map(rounds::block_of)
            .collect();
        for (r, order) in orders.iter().enumerate() {
            let expect: Vec<&String> = rounds::order(42, r, &blocks)
                .into_iter()
                .map(|i| ids[i])
                .collect();
            assert_eq!(*order, expect);
        }
        for c in &done {
            let rounds: Vec<Option<usize>> = c.repeats.iter().map(|r| r.round).collect();
            assert_eq!(rounds, [Some(0), Some(1), Some(2)], "{}", c.cell_id);
            let p = c.precision.as_ref().unwrap();
            assert_eq!((p.repeats, p.stopped.as_str()), (3, "minimum repeats"));
        }
        // The kept repeats are gone once the results hold them.
        assert!(
            !plan
                .run
                .join("cells/.rounds")
                .read_dir()
                .unwrap()
                .any(|_| true)
        );
    }

    #[test]
    fn a_floor_beyond_the_budget_is_a_warning_naming_the_way_out() {
        let p = PrecisionPlan {
            target_half_width: 0.05,
            max_repeats: 10,
            budget_s: 45.0 * 60.0,
        };
        // 159 cells: 3 × 159 repeats and 159 profiles at 4.5 s each is 48 minutes.
        let w = minimum_overruns(&p, 0.0, 4.0 * 159.0 * 4.5, "636 repeats").unwrap();
        assert!(w.contains("about 47m 42s more (636 repeats)"), "{w}");
        assert!(w.contains("45m budget (45m of it left)"), "{w}");
        assert!(w.contains("--no-profile or a larger --budget"), "{w}");
        // What fits says nothing, also after time spent.
        assert_eq!(minimum_overruns(&p, 600.0, 1500.0, ""), None);
        assert!(minimum_overruns(&p, 1300.0, 1500.0, "").is_some());
    }

    #[test]
    fn adaptive_rounds_stop_each_cell_at_its_target_or_at_the_maximum() {
        let d = tempfile::tempdir().unwrap();
        let (mut plan, results) = plan_of(d.path(), &["ok", "noisy"]);
        plan.manifest.settings.repeats = 2;
        plan.manifest.settings.precision = Some(PrecisionPlan {
            target_half_width: 0.05,
            max_repeats: 5,
            budget_s: f64::INFINITY,
        });
        let fake = Fake::default();
        let done = execute(&plan, &results, &fake).unwrap();
        let p: Vec<_> = done.iter().map(|c| c.precision.clone().unwrap()).collect();
        assert_eq!(
            (p[0].repeats, p[0].stopped.as_str(), p[0].reached),
            (2, "target reached", true)
        );
        assert_eq!(
            (p[1].repeats, p[1].stopped.as_str(), p[1].reached),
            (5, "max repeats", false)
        );
        assert!(p[1].half_width.unwrap() > 0.05);
        assert_eq!(fake.0.borrow().len(), 7);

        // A spent budget stops every cell at the minimum; so does a budget not yet spent but shorter
        // than another round (the fake's repeats take 1 s each).
        for budget_s in [0.0, 0.9] {
            let d = tempfile::tempdir().unwrap();
            let (mut plan, results) = plan_of(d.path(), &["noisy"]);
            plan.manifest.settings.repeats = 2;
            plan.manifest.settings.precision = Some(PrecisionPlan {
                target_half_width: 0.05,
                max_repeats: 5,
                budget_s,
            });
            let done = execute(&plan, &results, &Fake::default()).unwrap();
            let p = done[0].precision.as_ref().unwrap();
            assert_eq!(
                (p.repeats, p.stopped.as_str()),
                (2, "budget spent"),
                "{budget_s}"
            );
        }

        // A budget that holds one more repeat of one of two cells (not of both) gives it to the cell
        // closer to the target, round after round, and stops the other.
        let d = tempfile::tempdir().unwrap();
        let (mut plan, results) = plan_of(d.path(), &["wide", "noisy"]);
        plan.manifest.settings.repeats = 2;
        plan.manifest.settings.precision = Some(PrecisionPlan {
            target_half_width: 0.05,
            max_repeats: 5,
            budget_s: 1.5,
        });
        let done = execute(&plan, &results, &Fake::default()).unwrap();
        let p: Vec<_> = done
            .iter()
            .map(|c| {
                let p = c.precision.as_ref().unwrap();
                (p.repeats, p.stopped.clone())
            })
            .collect();
        assert_eq!(
            p,
            [
                (2, "budget spent".to_string()),
                (5, "max repeats".to_string())
            ]
        );
    }

    #[test]
    fn a_repeat_that_measured_its_warm_up_runs_again_with_the_warm_up_its_data_asked_for() {
        let d = tempfile::tempdir().unwrap();
        let (mut plan, results) = plan_of(d.path(), &["late", "ok"]);
        plan.manifest.settings.repeats = 3;
        let fake = Fake::default();
        let done = execute(&plan, &results, &fake).unwrap();
        let late = &done[0];
        // Settled at 0.42 s of a 0.1 s warm-up: run again with 1.5 x 0.42 s in whole 50 ms intervals,
        // which the later rounds keep; 4 processes for 3 repeats. The steady cell is untouched.
        let runs = |id: &str| fake.0.borrow().iter().filter(|c| *c == id).count();
        assert_eq!(runs(&late.cell_id), 4);
        assert_eq!(runs(&done[1].cell_id), 3);
        let warmups: Vec<f64> = late
            .repeats
            .iter()
            .map(|r| r.steady.unwrap().warmup_s)
            .collect();
        assert_eq!(warmups, [0.65, 0.65, 0.65]);
        assert_eq!((late.warmup_s, done[1].warmup_s), (0.65, 0.1));
        let noise = &late.summary.as_ref().unwrap().noise;
        assert!(
            noise
                .iter()
                .any(|n| n.contains("warm-up extended from the run's 0.1 s to 0.65 s")),
            "{noise:?}"
        );
        assert!(
            !noise.iter().any(|n| n.contains("settled only")),
            "{noise:?}"
        );
        // The extension is capped at the run's warm-up plus its window; a repeat that still settles
        // late then is kept and flagged.
        let d = tempfile::tempdir().unwrap();
        let (mut plan, results) = plan_of(d.path(), &["late"]);
        plan.manifest.settings.duration_s = 0.2;
        plan.manifest.settings.repeats = 2;
        let fake = Fake::default();
        let done = execute(&plan, &results, &fake).unwrap();
        assert_eq!(fake.0.borrow().len(), 3);
        assert_eq!(done[0].warmup_s, 0.3);
        let noise = &done[0].summary.as_ref().unwrap().noise;
        assert!(
            noise.iter().any(|n| n.contains("settled only 0.42 s")),
            "{noise:?}"
        );
        // A cell's warm-up is extended once: a cell that settles late whatever its warm-up is not
        // chased round after round but kept and flagged (4 processes for 3 repeats, not 6).
        let d = tempfile::tempdir().unwrap();
        let (mut plan, results) = plan_of(d.path(), &["step"]);
        plan.manifest.settings.repeats = 3;
        let fake = Fake::default();
        let done = execute(&plan, &results, &fake).unwrap();
        assert_eq!(fake.0.borrow().len(), 4);
        assert_eq!(done[0].warmup_s, 0.6);
        let noise = &done[0].summary.as_ref().unwrap().noise;
        assert!(
            noise
                .iter()
                .any(|n| n.contains("settled only 0.90 s after the start in 3 of 3 repeats")),
            "{noise:?}"
        );
    }

    #[test]
    fn a_killed_run_resumes_at_the_round_it_was_in_keeping_finished_repeats() {
        let d = tempfile::tempdir().unwrap();
        let (mut plan, results) = plan_of(d.path(), &["ok", "noisy"]);
        plan.manifest.settings.repeats = 3;
        // Killed in the second round, after 3 processes: round 1 complete, one repeat of round 2.
        let killed = Fake(RefCell::default(), Some(3));
        assert!(execute(&plan, &results, &killed).is_err());
        let again = Fake::default();
        let done = execute(&plan, &results, &again).unwrap();
        // 6 repeats in all, 3 of them already kept.
        assert_eq!(again.0.borrow().len(), 3, "{:?}", again.0.borrow());
        for c in &done {
            let rounds: Vec<Option<usize>> = c.repeats.iter().map(|r| r.round).collect();
            assert_eq!(rounds, [Some(0), Some(1), Some(2)], "{}", c.cell_id);
        }
        // A kept repeat that was cut short is not trusted: it runs again.
        let d = tempfile::tempdir().unwrap();
        let (mut plan, results) = plan_of(d.path(), &["ok"]);
        plan.manifest.settings.repeats = 2;
        assert!(execute(&plan, &results, &Fake(RefCell::default(), Some(1))).is_err());
        let id = plan.manifest.settings.cells[0].cell_id.clone();
        std::fs::write(
            plan.run.join(&format!("cells/.rounds/{id}/0.json")),
            "{\"round\":",
        )
        .unwrap();
        let again = Fake::default();
        let done = execute(&plan, &results, &again).unwrap();
        assert_eq!(again.0.borrow().len(), 2);
        assert_eq!(done[0].repeats.len(), 2);
    }

    #[test]
    fn the_summary_table_uses_each_workload_unit_and_the_run_row_order() {
        let d = tempfile::tempdir().unwrap();
        let (plan, results) = plan(d.path());
        let done = execute(&plan, &results, &Fake::default()).unwrap();
        let t = summary_table(&done, &["r".into()], &plan.manifest.workloads);
        assert!(t.contains("w (things) k=ok"), "{t}");
        assert!(t.contains("skipped") && t.contains("failed"), "{t}");
    }
}
