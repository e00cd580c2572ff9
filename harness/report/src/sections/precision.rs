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
        let chosen: Vec<(&CellResult, &dyno_core::estimate::Chosen)> = part
            .cells
            .iter()
            .filter_map(|c| Some((*c, c.precision.as_ref()?.estimate.as_ref()?)))
            .collect();
        if chosen.is_empty() {
            return;
        }
        let medians: Vec<_> = chosen
            .iter()
            .filter(|(_, e)| e.estimator == Estimator::Median)
            .collect();
        let _ = writeln!(
            out.md,
            "\n## Estimator per cell\n\n{} of {} cells are one cluster of repeats, summarised by the mean with a \
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
            "| cell | repeats | median | 95% interval | why |\n|---|---:|---:|---|---|"
        );
        for (c, e) in medians {
            let _ = writeln!(
                out.md,
                "| `{}` | {} | {} | {} | {} |",
                c.cell_id,
                c.repeats.len(),
                si(e.value),
                match (e.ci95_low, e.ci95_high) {
                    (Some(lo), Some(hi)) => format!("{}–{}", si(lo), si(hi)),
                    _ => "none".into(),
                },
                e.why
            );
        }
        out.md.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
