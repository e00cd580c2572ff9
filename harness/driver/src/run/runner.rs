//! The seam between the scheduler and the cell processes: `CellRunner`, and `ChildRunner`, which
//! starts the real child process (bounded by the cell timeout, reaped with wait4, sampled).

use super::{Plan, timeout};
use crate::{child, host};
use anyhow::{Context, Result};
use dyno_core::os::Usage;
use dyno_core::schema::PlannedCell;
use std::process::Command;

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
    /// The machine-speed probe around the process.
    pub speed: Option<dyno_core::schema::MachineSpeed>,
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
        // On the run's first core: the cell's cores differ by workload, the machine's speed does not.
        let probe = crate::speed::Around::before(s.cores[0]);
        let busy_before = host::machine_busy_cpu_s();
        let (fin, sampler) = child::run_watched(cmd, timeout(plan), |pid| {
            s.sampler
                .then(|| crate::sampler::Sampler::start(pid, client_prefix))
        })
        .with_context(|| format!("cannot start {}", bin.bin.display()))?;
        let series = sampler.map(crate::sampler::Sampler::stop);
        let busy_after = host::machine_busy_cpu_s();
        let speed = probe.after();
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
            speed,
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
