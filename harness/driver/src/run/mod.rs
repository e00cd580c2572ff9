//! `dyno run`: plan (or resume) a run, execute each cell in its own process, write each cell's result as
//! soon as it ends, keep the manifest and `results/latest` current, and print a summary table.
//!
//! Its rooms: `plan` (a new run's plan and its validation, or a resumed one), `schedule` (which cells
//! take a round and which end, and the budget: plain data), `runner` (the seam that runs a cell's
//! process), `judge` (what a process gave, and a finished cell's result), `execute` (the rounds),
//! `progress` and `summary` (what the run prints).

mod execute;
mod judge;
mod plan;
mod progress;
mod runner;
mod schedule;
mod summary;
#[cfg(test)]
mod tests;

use execute::execute;
use runner::ChildRunner;

use crate::discover::{self, WorkloadBin};
use crate::profile::Backend;
use crate::{RunArgs, UsageError};
use anyhow::{Context, Result};
use dyno_core::metrics::Declarations;
use dyno_core::params::Profile;
use dyno_core::row::Fairness;
use dyno_core::rundir::{Results, RunDir};
use dyno_core::schema::{Manifest, Pairing, PrecisionPlan, RunSettings};
use std::collections::BTreeMap;
use std::path::Path;
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

    /// How this workload's rows are paired in a round: `--pairing`, else as it declares; in blocks a
    /// workload with a client process (a load generator measuring in wall time from outside) and one
    /// that declares blocks only.
    fn pairing(&self, workload: &str) -> Pairing {
        let d = self.declared(workload);
        if d.client.is_some() || d.pairing == Pairing::BlocksOnly {
            return Pairing::Blocks;
        }
        self.manifest.settings.pairing.unwrap_or(d.pairing)
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
        Some(id) => plan::resume(&results, &workloads, id)?,
        None => plan::new(args, &results, &root, &workloads)?,
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

fn timeout(plan: &Plan) -> Duration {
    Duration::from_secs_f64(plan.manifest.settings.cell_timeout_s)
}
