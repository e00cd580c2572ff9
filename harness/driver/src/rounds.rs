//! Interleaved rounds: each round runs one repeat of every cell still taking repeats, in a random
//! order drawn from the run's seed, so the machine's drift lands on every row alike. A finished repeat
//! is kept on disk at once (`cells/.rounds/<cell-id>/<round>.json`) so a killed run resumes at the
//! round it was in; a cell's result file is written once, when it stops taking rounds.

use crate::sampler::Sample;
use anyhow::{Context, Result};
use dyno_core::estimate::Chosen;
use dyno_core::os::Usage;
use dyno_core::rundir::RunDir;
use dyno_core::schema::{
    CellOutput, MachineSpeed, Precision, PrecisionPlan, Stopped, write_atomic,
};
use dyno_core::stats::Estimate;
use serde::{Deserialize, Serialize};

/// One ok repeat of one cell: what its process gave, kept until the cell's result is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    pub round: usize,
    /// When the repeat's process started (Unix seconds); `None` in records of older runs.
    #[serde(default)]
    pub started_unix_s: Option<f64>,
    /// The machine-speed probe around the repeat's process (`crate::speed`); `None` in records of
    /// older runs or where no probe could run.
    #[serde(default)]
    pub speed: Option<MachineSpeed>,
    pub output: CellOutput,
    pub usage: Usage,
    pub wall_s: f64,
    pub other_cpu_cores: Option<f64>,
    pub series: Option<Vec<Sample>>,
}

/// Keep a finished repeat (atomically).
pub fn save(run: &RunDir, cell_id: &str, r: &RoundRecord) -> Result<()> {
    let d = run.rounds_dir(cell_id);
    std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
    let path = d.join(format!("{}.json", r.round));
    write_atomic(&path, &serde_json::to_vec(r)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The kept repeats of a cell, by round, and a line for each file that could not be trusted (it is
/// ignored: that round runs again).
pub fn load(run: &RunDir, cell_id: &str) -> (Vec<RoundRecord>, Vec<String>) {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let Ok(entries) = std::fs::read_dir(run.rounds_dir(cell_id)) else {
        return (records, problems);
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<RoundRecord>(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => records.push(r),
            Err(why) => problems.push(format!(
                "not trusting {}, running that repeat again: {why}",
                path.display()
            )),
        }
    }
    records.sort_by_key(|r| r.round);
    // Rounds are taken in order: keep the unbroken prefix 0, 1, 2, ...
    let unbroken = records
        .iter()
        .enumerate()
        .take_while(|(i, r)| r.round == *i)
        .count();
    if unbroken < records.len() {
        problems.push(format!(
            "{cell_id}: kept repeats skip a round; keeping rounds 0..{unbroken} and running the rest again"
        ));
        records.truncate(unbroken);
    }
    (records, problems)
}

/// Drop a cell's kept repeats once its result file holds them.
pub fn clear(run: &RunDir, cell_id: &str) {
    let _ = std::fs::remove_dir_all(run.rounds_dir(cell_id));
}

/// The order of round `round` over cells in comparison blocks (`blocks`: one key per cell; the cells
/// of a key are the ones compared with each other, a parameter set across its rows): the blocks in a
/// shuffled order, each block's cells together in a shuffled order, both drawn from `seed + round`, so
/// a run's orders can be re-derived from its manifest. Paired repeats then run seconds apart, one
/// block's processes, instead of a whole round apart: the machine's speed drifts within minutes.
pub fn order(seed: u64, round: usize, blocks: &[String]) -> Vec<usize> {
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_add(round as u64));
    let mut keys: Vec<&String> = blocks.iter().collect();
    keys.sort();
    keys.dedup();
    rng.shuffle(&mut keys);
    let mut out = Vec::with_capacity(blocks.len());
    for k in keys {
        let mut cells: Vec<usize> = (0..blocks.len()).filter(|&i| &blocks[i] == k).collect();
        rng.shuffle(&mut cells);
        out.extend(cells);
    }
    out
}

/// A round's `order` cut into what runs together: each block whose cells `sliced` says run
/// time-sliced (and that has two or more) as one run, every other cell alone.
pub fn runs(order: &[usize], blocks: &[String], sliced: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for &j in order {
        match out.last_mut() {
            Some(run) if sliced(j) && sliced(run[0]) && blocks[run[0]] == blocks[j] => run.push(j),
            _ => out.push(vec![j]),
        }
    }
    out
}

/// The comparison block of a cell: its workload and parameters, the row left out.
pub fn block_of(cell: &dyno_core::schema::PlannedCell) -> String {
    format!(
        "{} {}",
        cell.workload,
        serde_json::to_string(&cell.params).unwrap_or_default()
    )
}

/// The kept repeats as one output, with the round of each raw repeat, and the processes' accounting
/// combined: CPU and context switches summed, the highest peak RSS, wall time summed, other processes'
/// CPU averaged. The time series is the first round's process (one process's life, not a splice).
pub struct Merged {
    pub output: CellOutput,
    /// Where each raw repeat came from: its round, when its process started, the speed probe.
    pub origins: Vec<Origin>,
    pub usage: Usage,
    pub wall_s: f64,
    pub other_cpu_cores: Option<f64>,
    pub series: Option<Vec<Sample>>,
}

/// Where a raw repeat came from.
pub struct Origin {
    pub round: usize,
    pub started_unix_s: Option<f64>,
    pub speed: Option<MachineSpeed>,
}

pub fn merge(records: &[RoundRecord]) -> Option<Merged> {
    let last = records.last()?;
    let mut repeats = Vec::new();
    let mut origins = Vec::new();
    let mut usage = Usage::default();
    for r in records {
        for raw in &r.output.repeats {
            repeats.push(raw.clone());
            origins.push(Origin {
                round: r.round,
                started_unix_s: r.started_unix_s,
                speed: r.speed,
            });
        }
        usage.cpu_user_s += r.usage.cpu_user_s;
        usage.cpu_sys_s += r.usage.cpu_sys_s;
        usage.ctx_switches_voluntary += r.usage.ctx_switches_voluntary;
        usage.ctx_switches_involuntary += r.usage.ctx_switches_involuntary;
        usage.peak_rss_bytes = usage.peak_rss_bytes.max(r.usage.peak_rss_bytes);
    }
    let others: Vec<f64> = records.iter().filter_map(|r| r.other_cpu_cores).collect();
    Some(Merged {
        output: CellOutput {
            fairness: last.output.fairness.clone(),
            repeats,
            skipped: None,
        },
        origins,
        usage,
        wall_s: records.iter().map(|r| r.wall_s).sum(),
        other_cpu_cores: (!others.is_empty())
            .then(|| others.iter().sum::<f64>() / others.len() as f64),
        series: records[0].series.clone(),
    })
}

/// Throughput of each kept repeat (ops over window).
pub fn throughputs(records: &[RoundRecord]) -> Vec<f64> {
    records
        .iter()
        .flat_map(|r| r.output.repeats.iter())
        .map(|raw| raw.ops as f64 / raw.duration_s.max(f64::MIN_POSITIVE))
        .collect()
}

/// The relative half-width of the 95% interval of these throughputs, where there is one.
pub fn half_width(xs: &[f64]) -> Option<f64> {
    Estimate::of(xs).and_then(|e| e.half_width_rel())
}

/// Each kept repeat's regime signal beside its throughput: voluntary context switches per operation
/// in the window (slow fan-out repeats switched 5–10× as often as fast ones in a reference run).
pub fn regime_signal(records: &[RoundRecord]) -> Vec<f64> {
    records
        .iter()
        .flat_map(|r| r.output.repeats.iter())
        .map(|raw| raw.window_usage.ctx_switches_voluntary as f64 / raw.ops.max(1) as f64)
        .collect()
}

/// The estimator these kept repeats call for ([`dyno_core::estimate::choose`]).
pub fn chosen(records: &[RoundRecord]) -> Option<Chosen> {
    dyno_core::estimate::choose(&throughputs(records), &regime_signal(records))
}

/// Whether a cell with these kept repeats has reached the precision target, on its chosen estimate.
pub fn reached(records: &[RoundRecord], plan: &PrecisionPlan) -> bool {
    chosen(records)
        .and_then(|c| c.half_width_rel())
        .is_some_and(|h| h <= plan.target_half_width)
}

/// Throughput of `a` over `b`, paired by round: the geometric mean of the per-round ratios with its
/// 95% interval; `None` below two shared rounds.
fn paired(a: &[RoundRecord], b: &[RoundRecord]) -> Option<Estimate> {
    let key = |r: &RoundRecord| {
        let sliced = r.output.repeats.iter().any(|raw| raw.sliced.is_some());
        Some((r.round, sliced))
    };
    let ratios: Vec<f64> = dyno_core::schema::paired_rounds(a, b, key)
        .into_iter()
        .filter_map(|(ra, rb)| {
            let (ta, tb) = (
                throughputs(std::slice::from_ref(ra)),
                throughputs(std::slice::from_ref(rb)),
            );
            Some(ta.first()? / tb.first()?)
        })
        .collect();
    Estimate::of_ratios(&ratios).filter(|e| e.n >= 2)
}

/// The relative half-width of a ratio's 95% interval: how far it reaches from the ratio either way.
fn ratio_half_width(e: &Estimate) -> f64 {
    (e.ci95_high / e.mean - 1.0).max(1.0 - e.ci95_low / e.mean)
}

/// How far a comparison block (the open cells of one parameter set, each with its kept repeats) is
/// from being answered: every cell is compared with the block's fastest, paired by round, and a
/// comparison is answered when its interval excludes 1 (resolved) or is within `target` (no
/// difference, at that precision). `None` when every comparison is answered; else the widest
/// half-width left. A block of one cell is judged on its own interval.
pub fn block_gap(kept: &[&[RoundRecord]], target: f64) -> Option<f64> {
    let mean = |k: &[RoundRecord]| {
        let xs = throughputs(k);
        xs.iter().sum::<f64>() / xs.len().max(1) as f64
    };
    let best = kept
        .iter()
        .copied()
        .max_by(|a, b| mean(a).total_cmp(&mean(b)))?;
    if kept.len() == 1 {
        let h = half_width(&throughputs(best)).unwrap_or(f64::INFINITY);
        return (h > target).then_some(h);
    }
    let mut widest: Option<f64> = None;
    for k in kept.iter().filter(|k| !std::ptr::eq(**k, best)) {
        let h = match paired(k, best) {
            Some(e) if e.resolves_ratio() => continue,
            Some(e) => ratio_half_width(&e),
            None => f64::INFINITY,
        };
        if h > target {
            widest = Some(widest.map_or(h, |w: f64| w.max(h)));
        }
    }
    widest
}

/// The half-width a comparison now `h` wide after `n` pairs would have after `max` pairs, if its
/// spread stays as it is: the t quantile and the square root of the pairs both shrink it.
pub fn projected_half_width(h: f64, n: usize, max: usize) -> f64 {
    if n < 2 || max <= n {
        return h;
    }
    let t = |pairs: usize| dyno_core::stats::t975(pairs - 1);
    h * t(max) / t(n) * (n as f64 / max as f64).sqrt()
}

/// What the result says about a cell's precision once it stops taking rounds, on the estimator its
/// repeats call for: over `xs`, each repeat's figure the cell is judged on (its throughput, or what
/// `judged_on` names), with `signal` each repeat's regime signal ([`regime_signal`]).
pub fn precision(
    xs: &[f64],
    signal: &[f64],
    judged_on: Option<String>,
    plan: Option<&PrecisionPlan>,
    stopped: Stopped,
) -> Precision {
    let chosen = dyno_core::estimate::choose(xs, signal);
    let half_width = chosen.as_ref().and_then(|c| c.half_width_rel());
    Precision {
        repeats: xs.len(),
        half_width,
        target_half_width: plan.map(|p| p.target_half_width),
        reached: plan.is_some_and(|p| half_width.is_some_and(|h| h <= p.target_half_width)),
        stopped,
        modes: chosen.as_ref().and_then(|c| c.modes.clone()),
        estimate: chosen,
        judged_on,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn sliced_blocks_run_together_and_everything_else_alone() {
        let blocks: Vec<String> = ["a", "a", "b", "b", "c"].map(String::from).into();
        let order = [1, 0, 3, 2, 4];
        // Block "b" is not sliced; "c" has one cell.
        let sliced = |j: usize| blocks[j] != "b";
        assert_eq!(
            runs(&order, &blocks, sliced),
            vec![vec![1, 0], vec![3], vec![2], vec![4]]
        );
        assert_eq!(runs(&order, &blocks, |_| false).len(), 5);
    }

    #[test]
    fn orders_are_reproducible_permutations_that_change_between_rounds() {
        let one_each: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let a = order(7, 0, &one_each);
        assert_eq!(a, order(7, 0, &one_each));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        assert_ne!(a, order(7, 1, &one_each));
        assert_ne!(a, order(8, 0, &one_each));
    }

    /// Kept repeats of one cell with these throughputs (ops per 1 s window), one per round.
    pub(crate) fn kept(xs: &[f64]) -> Vec<RoundRecord> {
        xs.iter()
            .enumerate()
            .map(|(round, x)| {
                let raw: dyno_core::schema::RawRepeat = serde_json::from_value(serde_json::json!({
                    "ops": *x as u64, "errors": {}, "duration_s": 1.0,
                    "window_usage": Usage::default(), "histogram": null, "metrics": {}
                }))
                .unwrap();
                RoundRecord {
                    round,
                    started_unix_s: None,
                    speed: None,
                    output: CellOutput {
                        fairness: dyno_core::row::Fairness {
                            cores: vec![],
                            client_cores: vec![],
                            client_host: None,
                            workers: 1,
                            io: "epoll".into(),
                            model: "test".into(),
                            pinned: false,
                            notes: vec![],
                        },
                        repeats: vec![raw],
                        skipped: None,
                    },
                    usage: Usage::default(),
                    wall_s: 1.0,
                    other_cpu_cores: None,
                    series: None,
                }
            })
            .collect()
    }

    #[test]
    fn a_block_is_answered_when_each_paired_comparison_is_resolved_or_within_target() {
        // Both rows drift together: a is 10% behind b in every round. Paired, that is resolved.
        let b = kept(&[1000.0, 500.0, 800.0]);
        let a = kept(&[900.0, 450.0, 720.0]);
        assert_eq!(block_gap(&[&a, &b], 0.05), None);
        // The same two rows with no difference but paired noise of a few percent: open, and narrower
        // than the unpaired spread of either row.
        let c = kept(&[1000.0, 520.0, 790.0]);
        let gap = block_gap(&[&c, &b], 0.01).expect("not within ±1%");
        assert!(gap < half_width(&throughputs(&b)).unwrap(), "{gap}");
        assert_eq!(block_gap(&[&c, &b], 0.5), None, "within ±50%");
        // One cell alone is judged on its own interval.
        assert!(block_gap(&[&b], 0.05).is_some());
        // Projection: more pairs narrow an interval by the t quantile and the square root.
        let p = projected_half_width(0.2, 3, 10);
        assert!(p < 0.2 * (3.0f64 / 10.0).sqrt() && p > 0.0, "{p}");
    }

    #[test]
    fn the_cells_of_a_block_run_next_to_each_other_in_an_order_that_changes() {
        // Five parameter sets of four rows each, listed row by row as a plan lists them.
        let blocks: Vec<String> = (0..20).map(|i| format!("set{}", i % 5)).collect();
        let mut inside = Vec::new();
        for round in 0..4 {
            let o = order(3, round, &blocks);
            let mut sorted = o.clone();
            sorted.sort();
            assert_eq!(sorted, (0..20).collect::<Vec<_>>());
            for chunk in o.chunks(4) {
                assert!(
                    chunk.iter().all(|&i| blocks[i] == blocks[chunk[0]]),
                    "round {round}: a block is split: {o:?}"
                );
            }
            inside.push(o[..4].to_vec());
        }
        // The blocks' order and the order inside them are drawn anew each round.
        assert!(inside.windows(2).any(|w| w[0] != w[1]), "{inside:?}");
    }

    #[test]
    fn precision_says_whether_the_target_was_reached() {
        let plan = PrecisionPlan {
            target_half_width: 0.05,
            max_repeats: 10,
            budget_s: 60.0,
        };
        let p = precision(
            &[100.0, 101.0, 99.0, 100.0],
            &[],
            None,
            Some(&plan),
            Stopped::TargetReached,
        );
        assert!(p.reached && p.half_width.unwrap() < 0.05, "{p:?}");
        let p = precision(
            &[100.0, 150.0, 70.0],
            &[],
            None,
            Some(&plan),
            Stopped::BudgetSpent,
        );
        assert!(!p.reached && p.half_width.unwrap() > 0.05, "{p:?}");
        let one = precision(&[100.0], &[], None, None, Stopped::MinimumRepeats);
        assert_eq!((one.half_width, one.reached), (None, false));
    }
}
