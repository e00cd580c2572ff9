//! The seam between the scheduler and the cell processes: `CellRunner`, and `ChildRunner`, which
//! starts the real child process (bounded by the cell timeout, reaped with wait4, sampled).

use super::{Plan, timeout};
use crate::{child, host};
use anyhow::{Context, Result};
use dyno_core::os::Usage;
use dyno_core::schema::PlannedCell;
use std::process::Command;
use std::time::Duration;

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
    /// When it ran time-sliced with others: how many, and when it ran.
    pub sliced: Option<SlicedRun>,
}

/// A process's share of a sliced run (`crate::slice`).
pub struct SlicedRun {
    pub processes: usize,
    pub log: crate::slice::Log,
}

/// Runs one planned cell's process: the seam between planning/resume/judging (tested with a fake) and
/// the real child process.
pub trait CellRunner {
    /// Run `cell` with `args` (a `cell` invocation of its workload's binary, without `--out`).
    fn run(&self, plan: &Plan, cell: &PlannedCell, args: &[String]) -> Result<Ran>;

    /// Run these cells' processes at once, time-sliced (`crate::slice`), each order of turns drawn
    /// from `seed`. By default (a runner that cannot slice) one after the other, unsliced.
    fn run_sliced(
        &self,
        plan: &Plan,
        jobs: &[(&PlannedCell, Vec<String>)],
        _seed: u64,
    ) -> Result<Vec<Ran>> {
        jobs.iter()
            .map(|(cell, args)| self.run(plan, cell, args))
            .collect()
    }

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

/// One cell process as the real runner starts it: its command, where it writes, what samples it.
struct Job<'a> {
    plan: &'a Plan,
    cell: &'a PlannedCell,
    args: &'a [String],
}

impl Job<'_> {
    fn out_path(&self) -> std::path::PathBuf {
        self.plan.run.cell_output_path(&self.cell.cell_id)
    }

    /// Run the process to its end (or `timeout`), calling `on_start` with its pid, and read its output.
    fn run(&self, timeout: Duration, on_start: impl FnOnce(i32)) -> Result<(Ran, f64)> {
        let plan = self.plan;
        let bin = &plan.bins[&self.cell.workload];
        let out_path = self.out_path();
        let _ = std::fs::remove_file(&out_path);
        let mut cmd = Command::new(&bin.bin);
        cmd.args(self.args)
            // One repeat per process: the rounds interleave repeats of different cells.
            .args(["--repeats", "1"])
            .arg("--out")
            .arg(&out_path);
        let client_prefix = plan
            .declared(&self.cell.workload)
            .client
            .map(|c| c.thread_prefix);
        let sample = plan.manifest.settings.sampler;
        let (fin, sampler) = child::run_watched(cmd, timeout, |pid| {
            on_start(pid as i32);
            sample.then(|| crate::sampler::Sampler::start(pid, client_prefix))
        })
        .with_context(|| format!("cannot start {}", bin.bin.display()))?;
        let series = sampler.map(crate::sampler::Sampler::stop);
        let own_cpu = fin.usage.cpu_user_s + fin.usage.cpu_sys_s;
        let output =
            std::fs::read(&out_path).map_err(|e| format!("the cell wrote no output ({e})"));
        let _ = std::fs::remove_file(&out_path);
        let ran = Ran {
            other_cpu_cores: None,
            failure: fin.failure(),
            usage: fin.usage,
            wall_s: fin.wall.as_secs_f64(),
            stderr_tail: fin.stderr_tail,
            output,
            series,
            speed: None,
            sliced: None,
        };
        Ok((ran, own_cpu))
    }
}

/// What the machine did around some cell processes: the speed probe and the CPU all processes used.
struct Around {
    probe: crate::speed::Around,
    busy_before: Option<f64>,
    started: std::time::Instant,
}

impl Around {
    fn before(plan: &Plan) -> Around {
        Around {
            // On the run's first core: the cell's cores differ by workload, the machine's speed
            // does not.
            probe: crate::speed::Around::before(plan.manifest.settings.cores[0]),
            busy_before: host::machine_busy_cpu_s(),
            started: std::time::Instant::now(),
        }
    }

    /// Fill in the probe and the CPU of processes other than `own_cpu_s` (the cells' own, summed).
    fn after(self, rans: &mut [Ran], own_cpu_s: f64) {
        let wall = self.started.elapsed().as_secs_f64();
        let busy_after = host::machine_busy_cpu_s();
        let speed = self.probe.after();
        let other = self
            .busy_before
            .zip(busy_after)
            .map(|(a, b)| ((b - a - own_cpu_s) / wall).max(0.0));
        for r in rans {
            r.speed = speed;
            r.other_cpu_cores = other;
        }
    }
}

impl CellRunner for ChildRunner {
    fn run(&self, plan: &Plan, cell: &PlannedCell, args: &[String]) -> Result<Ran> {
        let around = Around::before(plan);
        let (ran, own_cpu) = Job { plan, cell, args }.run(timeout(plan), |_| ())?;
        let mut rans = [ran];
        around.after(&mut rans, own_cpu);
        let [ran] = rans;
        Ok(ran)
    }

    fn run_sliced(
        &self,
        plan: &Plan,
        jobs: &[(&PlannedCell, Vec<String>)],
        seed: u64,
    ) -> Result<Vec<Ran>> {
        let k = jobs.len();
        let rotation = crate::slice::Rotation::new(k, seed);
        let around = Around::before(plan);
        // Each process runs a k-th of the time: its timeout stretches with its window.
        let timeout = timeout(plan) * k as u32;
        let done: Vec<Result<(Ran, f64)>> = std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .enumerate()
                .map(|(i, (cell, args))| {
                    let rotation = &rotation;
                    s.spawn(move || {
                        let job = Job { plan, cell, args };
                        let ran = job.run(timeout, |pid| rotation.register(i, pid));
                        rotation.finished(i);
                        ran
                    })
                })
                .collect();
            rotation.run();
            handles
                .into_iter()
                .map(|h| h.join().expect("a cell's runner thread panicked"))
                .collect()
        });
        let mut own_cpu = 0.0;
        let mut rans = Vec::with_capacity(k);
        for (i, r) in done.into_iter().enumerate() {
            let (mut ran, cpu) = r?;
            own_cpu += cpu;
            ran.sliced = Some(SlicedRun {
                processes: k,
                log: rotation.log(i),
            });
            rans.push(ran);
        }
        around.after(&mut rans, own_cpu);
        Ok(rans)
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
                scratch: &plan.run.profile_scratch(&cell.cell_id),
                timeout: timeout(plan),
                unprofiled_mean: mean,
                title: &title,
                client_prefix: prefix.as_deref(),
            },
        ))
    }
}
