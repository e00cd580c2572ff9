//! The methodology page's precision diagnostics: the machine's speed over the run (the probe around
//! every repeat) and the estimator each cell's throughput was summarised with, and why.

use super::{Out, Part, Section};
use dyno_core::estimate::Estimator;
use dyno_core::human::si;
use dyno_core::schema::{CellResult, Status};
use std::fmt::Write;

/// A repeat whose slower probe ran below this share of the run's median speed is flagged: the
/// machine was visibly elsewhere while it ran.
pub const SLOW_MACHINE: f64 = 0.8;

/// The machine-speed chart and the repeats it flags.
pub struct MachineSpeed;

/// One probed repeat: its cell, round, start (seconds into the run) and slower probe.
struct Probed<'a> {
    cell: &'a CellResult,
    round: Option<usize>,
    t_s: f64,
    speed: f64,
    /// Throughput over its cell's median throughput.
    relative: f64,
}

fn probed<'a>(part: &Part<'a>) -> Vec<Probed<'a>> {
    let mut out = Vec::new();
    let t0 = part
        .cells
        .iter()
        .flat_map(|c| c.repeats.iter().filter_map(|r| r.started_unix_s))
        .fold(f64::MAX, f64::min);
    for c in part.cells.iter().filter(|c| c.status == Status::Ok) {
        let xs: Vec<f64> = c.repeats.iter().map(|r| r.throughput_ops_s).collect();
        if xs.is_empty() {
            continue;
        }
        let median = dyno_core::estimate::median(&xs);
        for r in &c.repeats {
            let (Some(s), Some(t)) = (r.machine_speed, r.started_unix_s) else {
                continue;
            };
            out.push(Probed {
                cell: c,
                round: r.round,
                t_s: t - t0,
                speed: s.slower(),
                relative: if median > 0.0 {
                    r.throughput_ops_s / median
                } else {
                    1.0
                },
            });
        }
    }
    out.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    out
}

/// Pearson's correlation of two equally long series; `None` below three points or with no spread.
fn correlation(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    if a.len() < 3 {
        return None;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    (va > 0.0 && vb > 0.0).then(|| cov / (va * vb).sqrt())
}

impl Section for MachineSpeed {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let p = probed(part);
        if p.is_empty() {
            return;
        }
        let _ = writeln!(out.md, "\n## Machine speed over the run\n");
        let speeds: Vec<f64> = p.iter().map(|x| x.speed).collect();
        let median = dyno_core::estimate::median(&speeds);
        let end = p.last().map_or(0.0, |x| x.t_s) / 60.0;
        let level = |name: &str, y: f64| (name.to_string(), vec![(0.0, y), (end, y)]);
        out.chart(
            "machine-speed",
            "machine speed over the run",
            crate::charts::lines(
                "Machine speed: the slower probe around each repeat",
                "minutes into the run",
                "loop iterations per µs",
                &[
                    (
                        "probe".into(),
                        p.iter().map(|x| (x.t_s / 60.0, x.speed)).collect(),
                    ),
                    level("run median", median),
                    level(
                        &format!("{:.0}% of median", SLOW_MACHINE * 100.0),
                        SLOW_MACHINE * median,
                    ),
                ],
                false,
            ),
        );
        let mut sorted = speeds.clone();
        sorted.sort_by(f64::total_cmp);
        let pct = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        let slow: Vec<&Probed> = p
            .iter()
            .filter(|x| x.speed < SLOW_MACHINE * median)
            .collect();
        let r = correlation(
            &p.iter().map(|x| x.speed / median).collect::<Vec<_>>(),
            &p.iter().map(|x| x.relative).collect::<Vec<_>>(),
        );
        let _ = writeln!(
            out.md,
            "Just before each repeat's process started and just after it ended, the driver timed a fixed \
             CPU loop for {} ms on core {} and kept the slower of the two. Over {} repeats the median was \
             {} iterations per µs, 5th–95th percentile {}–{} ({:.2}–{:.2}× the median). {} repeat(s) ran \
             with the machine below {:.0}% of its median speed{}. The probe's speed against each repeat's \
             throughput over its cell's median: correlation {}. The probe flags; it corrects no figure.\n",
            dyno_core::schema::MachineSpeed::PROBE_MS,
            p[0].cell.repeats[0].machine_speed.map_or(0, |s| s.core),
            p.len(),
            si(median),
            si(pct(0.05)),
            si(pct(0.95)),
            pct(0.05) / median,
            pct(0.95) / median,
            slow.len(),
            SLOW_MACHINE * 100.0,
            if slow.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    slow.iter()
                        .take(12)
                        .map(|x| format!(
                            "`{}` round {}",
                            x.cell.cell_id,
                            x.round.map_or(0, |r| r + 1)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                        + if slow.len() > 12 { ", …" } else { "" }
                )
            },
            r.map_or("not estimated".to_string(), |r| format!("{r:.2}"))
        );
    }
}

/// How many cells each estimator summarised, and every cell not summarised by the mean, with why.
pub struct Estimators;

impl Section for Estimators {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let chosen: Vec<(
            &CellResult,
            &dyno_core::schema::Precision,
            &dyno_core::estimate::Chosen,
        )> = part
            .cells
            .iter()
            .filter_map(|c| {
                let p = c.precision.as_ref()?;
                Some((*c, p, p.estimate.as_ref()?))
            })
            .collect();
        if chosen.is_empty() {
            return;
        }
        let medians: Vec<_> = chosen
            .iter()
            .filter(|(_, _, e)| e.estimator == Estimator::Median)
            .collect();
        let _ = writeln!(
            out.md,
            "\n## Estimator per cell\n\nEach cell is judged on its throughput, or, in an open loop (where throughput \
             is the rate offered), on its p99 latency. {} of {} cells are one cluster of repeats, summarised by the mean with a \
             Student-t 95% interval. {} show two modes (a gap between groups of repeats, or from 3 repeats \
             a gap that voluntary context switches per operation confirm) or an outlier, and are summarised by \
             the median with an order-statistics interval, which needs {} repeats; their precision is judged \
             on it.\n",
            chosen.len() - medians.len(),
            chosen.len(),
            medians.len(),
            dyno_core::estimate::MEDIAN_CI_MIN,
        );
        if medians.is_empty() {
            return;
        }
        let _ = writeln!(
            out.md,
            "| cell | figure | repeats | median | 95% interval | why |\n|---|---|---:|---:|---|---|"
        );
        for (c, p, e) in medians {
            let fmt = |v: f64| match p.judged_on {
                Some(_) => dyno_core::human::ns(v as u64),
                None => format!("{}/s", si(v)),
            };
            let _ = writeln!(
                out.md,
                "| `{}` | {} | {} | {} | {} | {} |",
                c.cell_id,
                if p.judged_on.is_some() {
                    "p99 latency"
                } else {
                    "throughput"
                },
                c.repeats.len(),
                fmt(e.value),
                match (e.ci95_low, e.ci95_high) {
                    (Some(lo), Some(hi)) => format!("{}–{}", fmt(lo), fmt(hi)),
                    _ => "none".into(),
                },
                e.why
            );
        }
        out.md.push('\n');
    }
}

/// How each workload's rows were paired in its rounds: in blocks, or time-sliced (and why), with how
/// many repeats ran each way.
pub struct Pairing;

impl Section for Pairing {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let mut workloads: Vec<&str> = part.cells.iter().map(|c| c.workload.as_str()).collect();
        workloads.sort();
        workloads.dedup();
        let mut rows = Vec::new();
        for w in workloads {
            let repeats: Vec<&dyno_core::schema::Repeat> = part
                .cells
                .iter()
                .filter(|c| c.workload == w)
                .flat_map(|c| &c.repeats)
                .collect();
            let sliced: Vec<usize> = repeats
                .iter()
                .filter_map(|r| Some(r.sliced?.processes))
                .collect();
            rows.push((w, repeats.len(), sliced));
        }
        if rows.iter().all(|(_, _, s)| s.is_empty()) {
            return;
        }
        let overridden = part.run.manifest.settings.pairing;
        let _ = writeln!(
            out.md,
            "\n## How rows are paired\n\nIn blocks, the rows of a parameter set run one after the other \
             in a round, seconds apart. Time-sliced, a cell's first round runs alone (it gives the latency, \
             the figures measured in wall time and the settling judgement), and in later rounds the rows' \
             processes run at once on the same cores, the driver continuing one and stopping the others in \
             {} ms turns, in a new random order each cycle: every two of them share the same seconds of the \
             machine, and a comparison pairs those rounds. A sliced repeat's throughput is its operations \
             over the time it ran inside its window; it keeps no latency histogram and no figure measured \
             in wall time.{}\n\n\
             | workload | pairing | repeats sliced | processes per sliced round | why |\n\
             |---|---|---:|---:|---|",
            dyno_core::schema::SLICE_MS,
            match overridden {
                Some(p) => format!(
                    " This run set every workload's pairing with `--pairing {}`.",
                    p.name()
                ),
                None => String::new(),
            }
        );
        for (w, n, sliced) in rows {
            let declared = part.run.declared(w);
            let how = if sliced.is_empty() {
                "blocks"
            } else {
                "time-sliced"
            };
            let mut k = sliced.clone();
            k.sort_unstable();
            let _ = writeln!(
                out.md,
                "| {w} | {how} | {} of {n} | {} | {} |",
                sliced.len(),
                k.get(k.len() / 2).map_or("–".into(), |m| m.to_string()),
                if declared.pairing_why.is_empty() {
                    "not stated".to_string()
                } else {
                    declared.pairing_why.clone()
                }
            );
        }
        out.md.push('\n');
    }
}

/// Where each workload's throughput variance comes from, in log space (shares of the variance of a
/// cell's log throughput across its repeats, averaged over the workload's closed-loop cells):
/// - inside one process: the window's 250 ms blocks, `block_cv² / blocks` per repeat;
/// - between rounds: what the rows of one parameter set share round by round (the mean covariance of
///   their log throughputs over the rounds they share), which a paired comparison cancels;
/// - between processes: the rest, which only more processes average out.
pub struct VarianceSplit;

/// One workload's variance components (log-throughput variances).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Split {
    pub cells: usize,
    /// Cells whose repeats recorded their window's blocks (runs before blocks were recorded have none).
    pub with_blocks: usize,
    pub total: f64,
    pub within: f64,
    pub round: f64,
}

impl Split {
    pub(super) fn between_process(&self) -> f64 {
        (self.total - self.within - self.round.max(0.0)).max(0.0)
    }
}

/// Sample variance; `None` below two values.
fn var(xs: &[f64]) -> Option<f64> {
    dyno_core::stats::Estimate::of(xs)
        .filter(|e| e.n >= 2)
        .map(|e| e.stddev.powi(2))
}

/// Log throughput by round.
fn by_round(c: &CellResult) -> std::collections::BTreeMap<usize, f64> {
    c.repeats
        .iter()
        .filter(|r| r.throughput_ops_s > 0.0)
        .filter_map(|r| Some((r.round?, r.throughput_ops_s.ln())))
        .collect()
}

/// The split of `cells` (one workload's closed-loop ok cells with three repeats or more).
pub(super) fn split(cells: &[&CellResult]) -> Split {
    use std::collections::BTreeMap;
    let (mut total, mut within, mut n, mut with_blocks) = (0.0, 0.0, 0usize, 0usize);
    let mut sets: BTreeMap<String, Vec<&CellResult>> = BTreeMap::new();
    for c in cells {
        let logs: Vec<f64> = by_round(c).into_values().collect();
        let Some(v) = var(&logs).filter(|_| logs.len() >= 3) else {
            continue;
        };
        let w: Vec<f64> = c
            .repeats
            .iter()
            .filter_map(|r| {
                let s = r.steady?;
                Some(s.block_cv?.powi(2) / s.blocks.max(1) as f64)
            })
            .collect();
        total += v;
        within += w.iter().sum::<f64>() / w.len().max(1) as f64;
        with_blocks += usize::from(!w.is_empty());
        n += 1;
        sets.entry(serde_json::to_string(&c.params).unwrap_or_default())
            .or_default()
            .push(c);
    }
    let mut covs = Vec::new();
    for set in sets.values() {
        for (i, a) in set.iter().enumerate() {
            for b in &set[i + 1..] {
                let (ra, rb) = (by_round(a), by_round(b));
                let shared: Vec<(f64, f64)> = ra
                    .iter()
                    .filter_map(|(k, x)| Some((*x, *rb.get(k)?)))
                    .collect();
                if shared.len() < 3 {
                    continue;
                }
                let m = shared.len() as f64;
                let (ma, mb) = (
                    shared.iter().map(|p| p.0).sum::<f64>() / m,
                    shared.iter().map(|p| p.1).sum::<f64>() / m,
                );
                let cov = shared.iter().map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (m - 1.0);
                covs.push(cov);
            }
        }
    }
    if n == 0 {
        return Split::default();
    }
    Split {
        cells: n,
        with_blocks,
        total: total / n as f64,
        within: within / n as f64,
        round: covs.iter().sum::<f64>() / covs.len().max(1) as f64,
    }
}

impl Section for VarianceSplit {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let mut workloads: Vec<&str> = part.cells.iter().map(|c| c.workload.as_str()).collect();
        workloads.dedup();
        workloads.sort();
        workloads.dedup();
        let mut rows = Vec::new();
        for w in workloads {
            let cells: Vec<&CellResult> = part
                .cells
                .iter()
                .copied()
                .filter(|c| c.workload == w && c.status == Status::Ok)
                .filter(|c| !super::methodology::open_loop(part.run, c))
                .collect();
            let s = split(&cells);
            if s.cells > 0 && s.total > 0.0 {
                rows.push((w, s));
            }
        }
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(
            out.md,
            "\n## Where the variance comes from\n\nEach closed-loop cell's log throughput over its repeats \
             (three or more), its variance split three ways and averaged over the workload's cells: inside \
             one process (from the 250 ms blocks of each window), between rounds (what the rows of one \
             parameter set share round by round: a paired comparison cancels it), and between processes \
             (the rest: a new process of the same cell lands in another regime; only more processes \
             average it out, a longer window does not). As a standard deviation, % of throughput.\n\n\
             | workload | cells | total | inside a process | between rounds (shared) | between processes |\n\
             |---|---:|---:|---:|---:|---:|"
        );
        let sd = |v: f64| format!("{:.1}%", v.max(0.0).sqrt() * 100.0);
        let share = |v: f64, t: f64| format!("{:.0}%", (v.max(0.0) / t * 100.0).min(100.0));
        for (w, s) in &rows {
            let within = if s.with_blocks == 0 {
                "not recorded".to_string()
            } else {
                format!("{} ({})", sd(s.within), share(s.within, s.total))
            };
            let _ = writeln!(
                out.md,
                "| {w} | {} | {} | {within} | {} ({}) | {} ({}) |",
                s.cells,
                sd(s.total),
                sd(s.round),
                share(s.round, s.total),
                sd(s.between_process()),
                share(s.between_process(), s.total),
            );
        }
        out.md.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_finds_shared_drift_and_process_regimes() {
        let mut run = super::super::fixture::run();
        // Two rows of one set: the same drift each round (±10%), plus a process regime on one.
        let drift = [1.0, 1.1, 0.9, 1.05, 0.95, 1.12];
        let regime = [1.3, 1.0, 1.0, 1.0, 1.0, 1.0];
        let w = super::super::fixture::workload(&run).to_string();
        let rows = super::super::fixture::rows(&run);
        let first = run.cells[0].params.clone();
        let mut cells: Vec<CellResult> = Vec::new();
        for (k, row) in rows[..2].iter().enumerate() {
            let mut c = run
                .cells
                .iter()
                .find(|c| &c.runtime == row && c.params == first)
                .unwrap()
                .clone();
            let template = c.repeats[0].clone();
            c.repeats = (0..6)
                .map(|r| {
                    let mut x = template.clone();
                    x.round = Some(r);
                    x.throughput_ops_s = 1e6 * drift[r] * if k == 1 { regime[r] } else { 1.0 };
                    x.steady = None;
                    x
                })
                .collect();
            cells.push(c);
        }
        run.cells = cells;
        let refs: Vec<&CellResult> = run.cells.iter().collect();
        let s = split(&refs);
        assert_eq!(s.cells, 2);
        assert_eq!(s.within, 0.0, "no blocks recorded");
        let d: Vec<f64> = drift.iter().map(|x: &f64| x.ln()).collect();
        assert!(
            (s.round - var(&d).unwrap()).abs() < 0.2 * var(&d).unwrap(),
            "{s:?}"
        );
        assert!(s.between_process() > 0.0, "{s:?}");
        let part = Part::new(&run, &w, run.cells.iter().collect());
        let out = super::super::fixture::render(&VarianceSplit, &part);
        assert!(out.md.contains("| between processes |"), "{}", out.md);
    }

    #[test]
    fn correlation_is_pearsons() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert!((correlation(&a, &[2.0, 4.0, 6.0, 8.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((correlation(&a, &[8.0, 6.0, 4.0, 2.0]).unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(correlation(&a, &[1.0, 1.0, 1.0, 1.0]), None);
        assert_eq!(correlation(&a[..2], &a[..2]), None);
    }

    #[test]
    fn the_speed_section_charts_probes_and_flags_slow_repeats() {
        let mut run = super::super::fixture::run();
        let mut t = 1.8e9;
        let mut k = 0;
        for c in run.cells.iter_mut() {
            for r in c.repeats.iter_mut() {
                k += 1;
                t += 2.0;
                r.started_unix_s = Some(t);
                let s = if k == 3 { 400.0 } else { 700.0 + k as f64 };
                r.machine_speed = Some(dyno_core::schema::MachineSpeed {
                    core: 0,
                    before_per_us: s,
                    after_per_us: s + 5.0,
                });
            }
        }
        let w = super::super::fixture::workload(&run).to_string();
        let part = Part::new(&run, &w, run.cells.iter().collect());
        let out = super::super::fixture::render(&MachineSpeed, &part);
        assert!(
            out.md
                .contains("1 repeat(s) ran with the machine below 80%"),
            "{}",
            out.md
        );
        let svg = super::super::fixture::file(&out, "charts/machine-speed.svg");
        assert!(svg.contains("minutes into the run"), "{svg}");
    }

    #[test]
    fn the_pairing_table_counts_sliced_repeats_and_gives_the_declared_why() {
        let mut run = super::super::fixture::run();
        let w = super::super::fixture::workload(&run).to_string();
        let part = Part::new(&run, &w, run.cells.iter().collect());
        // A run with no sliced repeat has nothing to say here.
        assert!(super::super::fixture::render(&Pairing, &part).md.is_empty());
        for c in run.cells.iter_mut() {
            for r in c.repeats.iter_mut().filter(|r| r.round != Some(0)) {
                r.sliced = Some(dyno_core::schema::Sliced {
                    processes: 3,
                    slice_ms: 100.0,
                    window_wall_s: 6.0,
                    slices_in_window: 20,
                });
            }
        }
        let d = run.manifest.workloads.entry(w.clone()).or_default();
        d.pairing = dyno_core::schema::Pairing::Sliced;
        d.pairing_why = "measured narrower".into();
        let part = Part::new(&run, &w, run.cells.iter().collect());
        let md = super::super::fixture::render(&Pairing, &part).md;
        let sliced = run
            .cells
            .iter()
            .flat_map(|c| &c.repeats)
            .filter(|r| r.sliced.is_some())
            .count();
        let all: usize = run.cells.iter().map(|c| c.repeats.len()).sum();
        assert!(sliced > 0, "the fixture has repeats past round 0");
        let row = format!("| {w} | time-sliced | {sliced} of {all} | 3 | measured narrower |");
        assert!(md.contains(&row), "{row}\n{md}");
    }
}
