//! Judging what a cell's process gave: a repeat to keep, or the cell's end (skipped, failed), and a
//! finished cell's result (summary, interval, estimator, artifacts, its profiled repeat).

use super::Plan;
use super::runner::{CellRunner, Ran};
use crate::discover;
use crate::rounds::{self, RoundRecord};
use crate::summarize::summarize;
use anyhow::{Context, Result};
use dyno_core::estimate::Estimator;
use dyno_core::metrics::Declarations;
use dyno_core::os::Usage;
use dyno_core::rundir::Artifact;
use dyno_core::schema::{
    Artifacts, CellOutput, CellResult, PlannedCell, RunSettings, SCHEMA, Status, Stopped,
};

/// What one repeat of a cell gave: a repeat to keep, or the cell's end (skipped, or failed with the
/// reason and the tail of its stderr).
pub(super) enum Round {
    Kept(Box<RoundRecord>),
    Ended(Box<CellResult>),
}

/// The warm-ups of a cell's kept repeats (each repeat records its own, so a resumed run keeps them).
pub(super) struct Warmups {
    /// The warm-up of the cell's next repeat: the run's, or the longer one an earlier repeat was given.
    pub(super) longest_s: f64,
    /// How many kept repeats ran with a warm-up longer than the run's.
    pub(super) extended: usize,
}

pub(super) fn cell_warmups(settings: &RunSettings, kept: &[RoundRecord]) -> Warmups {
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
pub(super) fn longer_warmup(
    rec: &RoundRecord,
    warmup_s: f64,
    settings: &RunSettings,
) -> Option<(f64, f64)> {
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
/// `--out`; `stretch` times the run's warm-up and window in wall time (a process time-sliced with
/// `stretch - 1` others runs a `stretch`-th of the time).
pub(super) fn cell_args(
    plan: &Plan,
    cell: &PlannedCell,
    warmup_s: f64,
    stretch: usize,
) -> Result<Vec<String>> {
    let s = &plan.manifest.settings;
    let (params, cores) = s.placement(&cell.params);
    let mut args = vec![
        "cell".into(),
        "--row".into(),
        cell.runtime.clone(),
        "--params".into(),
        serde_json::to_string(&params)?,
        "--warmup-s".into(),
        (warmup_s * stretch as f64).to_string(),
        "--duration-s".into(),
        (s.window_s(cell) * stretch as f64).to_string(),
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
pub(super) fn blank_result(
    plan: &Plan,
    cell: &PlannedCell,
    usage: Usage,
    wall_s: f64,
) -> Result<CellResult> {
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
        duration_s: s.window_s(cell),
        timeseries: None,
        profile: None,
        precision: None,
    })
}

/// Run one repeat of a cell with a warm-up of `warmup_s` through `runner` and judge it: a repeat to
/// keep (its figures checked as a summary would check them), or the cell's end: skipped (the cell said
/// it cannot run here) or failed (with the reason and the tail of its stderr).
pub(super) fn run_round(
    plan: &Plan,
    cell: &PlannedCell,
    runner: &dyn CellRunner,
    round: usize,
    warmup_s: f64,
) -> Result<Round> {
    let started_unix_s = unix_now_s();
    let ran = runner.run(plan, cell, &cell_args(plan, cell, warmup_s, 1)?)?;
    judge(plan, cell, round, started_unix_s, ran)
}

/// Now, in Unix seconds.
pub(super) fn unix_now_s() -> Option<f64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs_f64())
}

/// Judge what one repeat's process gave (see [`run_round`]); a time-sliced one becomes a sliced
/// repeat first (`crate::slice::apply`).
pub(super) fn judge(
    plan: &Plan,
    cell: &PlannedCell,
    round: usize,
    started_unix_s: Option<f64>,
    ran: Ran,
) -> Result<Round> {
    let declared = plan.declared(&cell.workload);
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
    let output = match (output, &ran.sliced) {
        (Ok(mut out), Some(sliced)) if out.skipped.is_none() => {
            crate::slice::apply(&mut out, &sliced.log, sliced.processes, &declared).map(|()| out)
        }
        (output, _) => output,
    };
    let out = match output {
        Ok(out) => out,
        Err(why) => return ended(why, Some(ran.stderr_tail), Status::Failed),
    };
    // A sliced process's machine time is shared with the others sliced with it.
    let wall_s = ran.wall_s / ran.sliced.as_ref().map_or(1, |s| s.processes) as f64;
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
        speed: ran.speed,
        output: out,
        usage: ran.usage,
        wall_s,
        other_cpu_cores: ran.other_cpu_cores,
        series: ran.series,
    })))
}

/// The result of a cell that stopped taking rounds with `kept` repeats: summary with its interval,
/// each repeat's round, the merged histogram, the first round's time series, the extra profiled
/// repeat, and its precision.
pub(super) fn finish_cell(
    plan: &Plan,
    cell: &PlannedCell,
    kept: &[RoundRecord],
    runner: &dyn CellRunner,
    stopped: Stopped,
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
    for (r, o) in repeats.iter_mut().zip(&m.origins) {
        r.round = Some(o.round);
        r.started_unix_s = o.started_unix_s;
        r.machine_speed = o.speed;
    }
    let id = &cell.cell_id;
    if let Some(h) = hist {
        result.artifacts.histogram = Some(plan.run.write_artifact(id, Artifact::Histogram, &h)?);
    }
    if let Some(series) = &m.series {
        let csv = crate::sampler::csv(series);
        result.artifacts.timeseries_csv =
            Some(plan.run.write_artifact(id, Artifact::Timeseries, &csv)?);
        result.timeseries = Some(crate::sampler::summarize(series));
    }
    let warmups = cell_warmups(&plan.manifest.settings, kept);
    let warmup_s = warmups.longest_s;
    let args = cell_args(plan, cell, warmup_s, 1)?;
    if let Some(p) = runner.profile(plan, cell, &args, warmup_s, summary.throughput_ops_s.mean) {
        if let (Some(folded), Some(svg)) = (&p.folded, &p.svg) {
            result.artifacts.folded_stacks = Some(plan.run.write_artifact(
                id,
                Artifact::FoldedStacks,
                folded,
            )?);
            result.artifacts.flamegraph_svg =
                Some(plan.run.write_artifact(id, Artifact::Flamegraph, svg)?);
        }
        result.profile = Some(p.info);
    }
    let mut summary = summary;
    let (xs, judged_on) = judged_figure(&declared, &repeats);
    let precision = rounds::precision(
        &xs,
        &rounds::regime_signal(kept),
        judged_on,
        plan.manifest.settings.precision.as_ref(),
        stopped,
    );
    if let Some(e) = precision
        .estimate
        .as_ref()
        .filter(|e| e.estimator != Estimator::Mean)
    {
        let (what, value) = match &precision.judged_on {
            Some(_) => ("p99 latency", dyno_core::human::ns(e.value as u64)),
            None => ("throughput", format!("{}/s", dyno_core::human::si(e.value))),
        };
        summary.noise.push(format!(
            "{what}: {}: the mean describes neither behaviour; summarised by the median {value}",
            e.why
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

/// Each repeat's figure a cell's precision is judged on, and its name when not throughput: an
/// open-loop cell (its workload declares an offered rate and the cell offered one) has the offered
/// rate for throughput, so it is judged on each repeat's p99 latency.
pub(super) fn judged_figure(
    declared: &Declarations,
    repeats: &[dyno_core::schema::Repeat],
) -> (Vec<f64>, Option<String>) {
    let offered = declared
        .with_role(|r| *r == dyno_core::metrics::Role::OfferedRate)
        .map(|m| m.name.clone());
    let open = offered.is_some_and(|name| {
        repeats
            .iter()
            .any(|r| r.metrics.get(&name).is_some_and(|v| *v > 0.0))
    });
    let p99: Option<Vec<f64>> = repeats
        .iter()
        .map(|r| r.latency_ns.map(|l| l.p99 as f64))
        .collect();
    match (open, p99) {
        (true, Some(xs)) => (
            xs,
            Some("p99 latency (an open loop: its throughput is the offered rate)".into()),
        ),
        _ => (repeats.iter().map(|r| r.throughput_ops_s).collect(), None),
    }
}
