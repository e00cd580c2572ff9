//! `dyno overhead`: what the sampler and the profiler cost the cells they observe, measured in one
//! interleaved run. Each round runs the same matrix twice, in alternating order:
//! - A, sampler off, with the profiled repeat: the unprofiled mean, and the profiled repeat's throughput;
//! - B, sampler on, no profiled repeat.
//!
//! Per cell and round, the sampler's ratio is B / A and the profiler's is profiled / A (both against the
//! unobserved throughput). Ratios are averaged on a log scale with a 95% Student-t interval, and each is
//! judged against its target only when the interval resolves it.

use crate::{RunArgs, UsageError};
use anyhow::{Context, Result};
use dyno_core::rundir::{CellCost, Cost, OverheadDoc, Results};
use dyno_core::schema::{Manifest, Status, write_atomic};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The sampler may cost at most this share of a cell's throughput.
pub const SAMPLER_TARGET: f64 = 0.01;
/// The profiler (at 99 Hz) may cost at most this share of the profiled repeat's throughput.
pub const PROFILER_TARGET: f64 = 0.03;

#[derive(clap::Args, Clone)]
pub struct OverheadArgs {
    /// The matrix to measure, as for `dyno run` (its --no-sampler and --no-profile are set per pass).
    #[command(flatten)]
    pub run: RunArgs,
    /// Interleaved rounds (each runs the matrix twice).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(2..=100))]
    pub rounds: u64,
    /// Where to write the result (JSON with a markdown rendering).
    #[arg(long)]
    pub out: PathBuf,
}

/// Entry point of `dyno overhead`.
pub fn overhead(args: &OverheadArgs) -> Result<()> {
    if args.run.resume.is_some() {
        return Err(UsageError("--resume is not accepted by `dyno overhead`".into()).into());
    }
    if args.run.no_profile {
        return Err(UsageError(
            "--no-profile is not accepted by `dyno overhead`: it measures the profiler".into(),
        )
        .into());
    }
    let scratch = args
        .run
        .results
        .join(format!(".overhead-{}", std::process::id()));
    let result = measure(args, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let o = result?;
    print!("{}", o.markdown);
    let json = serde_json::to_vec_pretty(&o)?;
    write_atomic(&args.out, &json).with_context(|| format!("cannot write {}", args.out.display()))
}

/// One pass's ok cells by id.
type Pass = BTreeMap<String, Passed>;

/// An ok cell of one pass.
struct Passed {
    workload: String,
    runtime: String,
    /// Throughput of its repeats (the profiled repeat is not among them).
    throughput: f64,
    /// Throughput of its profiled repeat, when one ran without error.
    profiled: Option<f64>,
    /// The profiler that ran (`perf` or `pprof`), or empty.
    tool: String,
}

fn measure(args: &OverheadArgs, scratch: &Path) -> Result<OverheadDoc> {
    let mut sampler: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut profiler: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut cells: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    let mut manifest = None;
    for round in 0..args.rounds {
        let pass = |sampler_on: bool| -> Result<(Pass, Manifest)> {
            eprintln!(
                "overhead round {}/{}: sampler {}, profiled repeat {}",
                round + 1,
                args.rounds,
                if sampler_on { "on" } else { "off" },
                if sampler_on { "off" } else { "on" },
            );
            let mut run = args.run.clone();
            run.results = scratch.to_path_buf();
            run.no_sampler = !sampler_on;
            run.no_profile = sampler_on;
            run.flamegraphs = !sampler_on;
            crate::run::run(&run)?;
            read_pass(scratch)
        };
        // Alternate the order, so neither pass always runs first.
        let (a, b) = if round % 2 == 0 {
            let a = pass(false)?;
            (a, pass(true)?.0)
        } else {
            let b = pass(true)?.0;
            (pass(false)?, b)
        };
        let (a, m) = a;
        manifest.get_or_insert(m);
        for (id, cell) in &a {
            cells.entry(id.clone()).or_insert_with(|| {
                (
                    cell.workload.clone(),
                    cell.runtime.clone(),
                    cell.tool.clone(),
                )
            });
            if let Some(sampled) = b.get(id) {
                sampler
                    .entry(id.clone())
                    .or_default()
                    .push(sampled.throughput / cell.throughput);
            }
            if let Some(p) = cell.profiled {
                profiler
                    .entry(id.clone())
                    .or_default()
                    .push(p / cell.throughput);
            }
        }
    }
    let m = manifest.context("no pass produced a run")?;
    let costs: Vec<CellCost> = cells
        .into_iter()
        .map(|(id, (workload, runtime, tool))| CellCost {
            sampler: Cost::of(sampler.remove(&id).unwrap_or_default(), SAMPLER_TARGET),
            profiler: Cost::of(profiler.remove(&id).unwrap_or_default(), PROFILER_TARGET),
            cell_id: id,
            workload,
            runtime,
            profiler_tool: tool,
        })
        .collect();
    let mut o = OverheadDoc {
        commit: m.git.commit.clone(),
        dirty: m.git.dirty,
        rounds: args.rounds,
        warmup_s: m.settings.warmup_s,
        duration_s: m.settings.duration_s,
        repeats: m.settings.repeats,
        cells: costs,
        markdown: String::new(),
    };
    o.markdown = dyno_report::overhead_markdown(&o);
    Ok(o)
}

/// The ok cells of the latest run under `results`.
fn read_pass(results: &Path) -> Result<(Pass, Manifest)> {
    let run = Results::new(results).open("latest")?;
    let manifest = run.manifest()?;
    let (cells, problems) = run.cells()?;
    if let Some(p) = problems.first() {
        anyhow::bail!("{p}");
    }
    let mut pass = Pass::new();
    for c in cells {
        let Some(s) = c.summary.as_ref().filter(|_| c.status == Status::Ok) else {
            continue;
        };
        let profile = c.profile.as_ref();
        pass.insert(
            c.cell_id.clone(),
            Passed {
                workload: c.workload.clone(),
                runtime: c.runtime.clone(),
                throughput: s.throughput_ops_s.mean,
                profiled: profile
                    .filter(|p| p.error.is_none())
                    .map(|p| p.throughput_ops_s),
                tool: profile.map(|p| p.tool.clone()).unwrap_or_default(),
            },
        );
    }
    Ok((pass, manifest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dyno_core::rundir::Verdict;

    #[test]
    fn verdicts_need_an_interval_on_one_side_of_the_target() {
        assert_eq!(
            Cost::of(vec![0.999, 1.001, 1.0, 0.998], 0.01).verdict,
            Verdict::WithinTarget
        );
        assert_eq!(
            Cost::of(vec![0.90, 0.91, 0.89, 0.90], 0.03).verdict,
            Verdict::OverTarget
        );
        assert_eq!(
            Cost::of(vec![0.8, 1.2, 0.9, 1.1], 0.01).verdict,
            Verdict::NotResolved
        );
        assert_eq!(Cost::of(vec![1.0], 0.01).verdict, Verdict::NotResolved);
        assert_eq!(Cost::of(vec![], 0.01).verdict, Verdict::NoData);
    }

    #[test]
    fn the_ratio_is_a_geometric_mean() {
        let e = Cost::of(vec![0.5, 2.0], 0.01).ratio.unwrap();
        assert!((e.mean - 1.0).abs() < 1e-12, "{e:?}");
    }
}
