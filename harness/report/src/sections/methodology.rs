//! The methodology page: machine, toolchain, revision and settings; each row's fairness facts; what
//! observing cost; the noise flags raised; the downloads.

use super::{Out, Part, Section};
use dyno_core::human::bytes;
use dyno_core::rundir::{Cost, OverheadDoc};
use dyno_core::schema::ProfilerChoice;
use std::fmt::Write;

/// The run's machine, toolchain, commit and per-cell settings, and how cells are measured.
pub struct Settings;

/// How the repeats ran and how precise the cells came out.
fn repeats_line(part: &Part<'_>) -> String {
    let st = &part.run.manifest.settings;
    let Some(seed) = st.order_seed else {
        return format!(
            "{} per cell, back to back in one process (a run from before rounds)",
            st.repeats
        );
    };
    let gaps = pair_gaps(part);
    // Runs that record when repeats started are the runs scheduled in blocks.
    let blocks = !gaps.is_empty();
    let mut line = if !blocks {
        format!(
            "at least {} per cell, one per round, each in its own process; every round runs the cells still \
             taking repeats in a random order (seed {seed}, round r shuffled with seed + r)",
            st.repeats
        )
    } else {
        format!(
            "at least {} per cell, one per round, each in its own process; every round runs the cells still \
             taking repeats in blocks: the rows of one parameter set (the cells a comparison pairs) run next \
             to each other, the blocks in a random order and the cells inside each block in a random order \
             (seed {seed}, round r drawn with seed + r)",
            st.repeats
        )
    };
    if let Some(p) = &st.precision {
        if blocks {
            let _ = write!(
                line,
                "; then further rounds for whole parameter sets until each row's throughput against the set's \
                 fastest row, paired by round, is resolved (its 95% interval excludes 1) or within ±{}%, at \
                 most {} repeats, each round taken by as many sets as {} s of run time hold (first those that \
                 can still get there by the maximum, widest first; then the others, closest first)",
                p.target_half_width * 100.0,
                p.max_repeats,
                p.budget_s
            );
        } else {
            let _ = write!(
                line,
                "; then further rounds until the throughput's 95% interval is within ±{}% of the mean, at most {} \
                 repeats, each round taken by as many of those cells as {} s of run time hold (the closest to the \
                 target first)",
                p.target_half_width * 100.0,
                p.max_repeats,
                p.budget_s
            );
        }
    }
    let hw: Vec<f64> = part
        .cells
        .iter()
        .filter(|c| !open_loop(part.run, c))
        .filter_map(|c| c.precision.as_ref()?.half_width)
        .collect();
    let open: Vec<f64> = part
        .cells
        .iter()
        .filter(|c| open_loop(part.run, c))
        .filter_map(|c| c.precision.as_ref()?.half_width)
        .collect();
    if !hw.is_empty() {
        let mut sorted = hw.clone();
        sorted.sort_by(f64::total_cmp);
        let within = |t: f64| hw.iter().filter(|h| **h <= t).count();
        let _ = write!(
            line,
            ". Outcome: median half-width ±{:.1}%; {} of {} cells within ±5%, {} within ±10%",
            sorted[sorted.len() / 2] * 100.0,
            within(0.05),
            hw.len(),
            within(0.10)
        );
        let modes = part
            .cells
            .iter()
            .filter(|c| c.precision.as_ref().is_some_and(|p| p.modes.is_some()))
            .count();
        if modes > 0 {
            let _ = write!(
                line,
                "; {modes} cell(s) show two modes (see their noise notes)"
            );
        }
    }
    if !open.is_empty() {
        let _ = write!(
            line,
            "; open-loop cells, counted apart (their throughput is the rate the driver offered, so its \
             interval says nothing of the system): {} of {} within ±5%",
            open.iter().filter(|h| **h <= 0.05).count(),
            open.len()
        );
    }
    if !gaps.is_empty() {
        let mut g = gaps;
        g.sort_by(f64::total_cmp);
        let _ = write!(
            line,
            ". Paired repeats (two rows of one parameter set in the same round): median time gap {:.1} s \
             over {} pairs, 90th percentile {:.1} s",
            g[g.len() / 2],
            g.len(),
            g[(g.len() * 9 / 10).min(g.len() - 1)]
        );
    }
    line
}

/// Whether a cell's throughput is fixed by the driver: its workload declares an offered-rate figure
/// and the cell offered one (an open loop).
pub(super) fn open_loop(run: &crate::Run, c: &dyno_core::schema::CellResult) -> bool {
    run.declared(&c.workload)
        .with_role(|r| *r == dyno_core::metrics::Role::OfferedRate)
        .and_then(|m| super::figure_mean(c, &m.name))
        .is_some_and(|rate| rate > 0.0)
}

/// Seconds between the starts of every two repeats that a comparison pairs: the ok cells of one
/// workload and parameter set on different rows, in the same round. Empty for runs that did not
/// record when repeats started.
/// A table row per workload whose cells measured the window it declares instead of the run's, with
/// the measurement that chose it.
fn own_windows(part: &Part<'_>) -> Vec<String> {
    let mut seen = std::collections::BTreeMap::new();
    for c in &part.run.manifest.settings.cells {
        if let Some(d) = c.duration_s {
            seen.entry(c.workload.as_str()).or_insert(d);
        }
    }
    seen.into_iter()
        .map(|(w, d)| {
            let why = part.run.declared(w).window_why;
            format!(
                "| {w}'s window | {d} s, as the workload declares{} |",
                if why.is_empty() {
                    String::new()
                } else {
                    format!(": {why}")
                }
            )
        })
        .collect()
}

fn pair_gaps(part: &Part<'_>) -> Vec<f64> {
    use std::collections::BTreeMap;
    let mut by_set: BTreeMap<String, Vec<&dyno_core::schema::CellResult>> = BTreeMap::new();
    for c in part
        .cells
        .iter()
        .filter(|c| c.status == dyno_core::schema::Status::Ok)
    {
        let key = format!(
            "{} {}",
            c.workload,
            serde_json::to_string(&c.params).unwrap_or_default()
        );
        by_set.entry(key).or_default().push(c);
    }
    let mut gaps = Vec::new();
    for cells in by_set.values() {
        for (i, a) in cells.iter().enumerate() {
            for b in &cells[i + 1..] {
                for ra in &a.repeats {
                    let Some(rb) = b.repeats.iter().find(|rb| rb.round == ra.round) else {
                        continue;
                    };
                    if let (Some(x), Some(y)) = (ra.started_unix_s, rb.started_unix_s) {
                        gaps.push((x - y).abs());
                    }
                }
            }
        }
    }
    gaps
}

impl Section for Settings {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let m = &part.run.manifest;
        let st = &m.settings;
        let s = &mut out.md;
        let _ = writeln!(s, "# Methodology\n");
        let _ = writeln!(s, "| | |\n|---|---|");
        let _ = writeln!(s, "| run | `{}` ({} profile) |", m.run_id, m.profile);
        let _ = writeln!(
            s,
            "| started / finished | {} / {} |",
            m.started,
            m.finished.as_deref().unwrap_or("not finished")
        );
        let _ = writeln!(
            s,
            "| commit | `{}`{} |",
            m.git.commit,
            if m.git.dirty {
                " (uncommitted changes)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "| machine | {}, {} logical cores, {} RAM |",
            m.host.cpu_model,
            m.host.cores,
            bytes(m.host.memory_bytes)
        );
        let _ = writeln!(s, "| kernel / OS | {} / {} |", m.host.kernel, m.host.os);
        let _ = writeln!(s, "| rustc | {} |", m.toolchain.rustc);
        let extended: Vec<f64> = part
            .cells
            .iter()
            .filter(|c| c.warmup_s > st.warmup_s)
            .map(|c| c.warmup_s)
            .collect();
        let _ = writeln!(
            s,
            "| per repeat | warm-up {} s{}, then a {} s measured window; timeout {} s |",
            st.warmup_s,
            match extended.iter().copied().reduce(f64::max) {
                Some(longest) => format!(
                    " (extended from their data for {} cell(s), to at most {longest} s)",
                    extended.len()
                ),
                None => String::new(),
            },
            st.duration_s,
            st.cell_timeout_s
        );
        for line in own_windows(part) {
            let _ = writeln!(s, "{line}");
        }
        let _ = writeln!(s, "| repeats | {} |", repeats_line(part));
        let _ = writeln!(s, "| cores | {:?} |", st.cores);
        if let Some(counts) = &st.cores_sweep {
            let _ = writeln!(
                s,
                "| core sweep | {counts:?}: the matrix ran at each count, each cell on the first that many of the \
                 cores above (parameter `{}`; the scaling curves are the sweeps against it) |",
                dyno_core::schema::CORES_PARAM
            );
        }
        if let Some(r) = &m.client_host {
            let _ = writeln!(
                s,
                "| client host | load generators on `{}` over ssh (`{}`): {}, {} logical cores, {} RAM, {} / {}; \
                 on cores {:?}; servers listen on {}; its clock {:+.1} ms from this host's; ssh round trip {:.1} ms |",
                r.hostname,
                r.destination,
                r.host.cpu_model,
                r.host.cores,
                bytes(r.host.memory_bytes),
                r.host.kernel,
                r.host.os,
                r.cores,
                r.server_ip,
                r.clock_offset_s * 1e3,
                r.round_trip_s * 1e3
            );
        }
        let _ = writeln!(
            s,
            "| observability | time series every 100 ms: {}; one extra profiled repeat per cell ({}, 99 Hz): {} |\n",
            if st.sampler { "on" } else { "off" },
            match st.profiler {
                ProfilerChoice::Auto => "perf where installed, else pprof",
                ProfilerChoice::Perf => "perf",
                ProfilerChoice::Pprof => "pprof",
            },
            if st.profile { "on" } else { "off" }
        );
        let _ = writeln!(
            s,
            "Every cell runs in its own process confined to the cores above. Warm-up is not measured; each repeat \
             restarts the runtime. Each repeat also counts its completions per {} ms over warm-up and window: a \
             repeat whose rate settled (within ±{}% of the window's median) only after the window opened runs \
             again, once, with a warm-up of {}× the time it took (at most warm-up plus window), and the \
             cell's later repeats keep it; a repeat that still settled late, or whose window halves differ by \
             more than {}%, is flagged in the noise column. Throughput is the mean over repeats with a Student-t 95% interval, or the median where the repeats \
             show two modes or an outlier (see the estimator per cell below). CPU time and \
             context switches cover the measured window only; peak RSS is the cell process's high-water mark. \
             What each figure means is in [Metrics](../metrics.md).\n",
            dyno_core::steady::INTERVAL_NS / 1_000_000,
            dyno_core::steady::BAND * 100.0,
            dyno_core::steady::WARMUP_MARGIN,
            dyno_core::steady::BAND * 100.0,
        );
    }
}

/// Each row's model, workers, cores, pinning, I/O backend and notes, as its first cell recorded them.
pub struct Fairness;

impl Section for Fairness {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let s = &mut out.md;
        let _ = writeln!(s, "## Rows and fairness\n");
        let _ = writeln!(
            s,
            "| row | model | workers | cores | client | pinned | I/O | notes |\n|---|---|---:|---|---|---|---|---|"
        );
        for r in &part.rows {
            if let Some(c) = part.cells.iter().find(|c| &c.runtime == r) {
                let f = &c.fairness;
                let client = match (&f.client_host, f.client_cores.is_empty()) {
                    (Some(h), _) => format!("{:?} on {h}", f.client_cores),
                    (None, false) => format!("{:?}", f.client_cores),
                    (None, true) => "none".into(),
                };
                let _ = writeln!(
                    s,
                    "| {r} | {} | {} | {:?} | {client} | {} | {} | {} |",
                    f.model,
                    f.workers,
                    f.cores,
                    if f.pinned { "yes" } else { "no" },
                    f.io,
                    f.notes.join("; ")
                );
            }
        }
    }
}

/// What the sampler and the profiler cost the cells (`overhead.json`, written by `dyno overhead` in
/// `cargo xtask bench`), if the run measured it.
pub struct Overhead;

impl Section for Overhead {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        match &part.run.overhead {
            None => {}
            Some(Ok(o)) => {
                let _ = write!(
                    out.md,
                    "\n## What observing costs\n\n{}\n",
                    overhead_markdown(o)
                );
            }
            Some(Err(e)) => {
                let _ = write!(out.md, "\n## What observing costs\n\n{e}\n");
            }
        }
    }
}

/// The overhead measurement as markdown: how it was measured, then per cell each observer's ratio
/// with its interval and verdict.
pub fn overhead_markdown(o: &OverheadDoc) -> String {
    let pct = |r: f64| format!("{:+.1}%", (r - 1.0) * 100.0);
    let cost = |c: &Cost| match &c.ratio {
        Some(e) => format!(
            "{} [{}, {}] n={}: {}",
            pct(e.mean),
            pct(e.ci95_low),
            pct(e.ci95_high),
            e.n,
            c.verdict
        ),
        None => c.verdict.to_string(),
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "Throughput with the observer against without it, per cell: geometric mean of {} interleaved rounds \
         with its 95% interval (warm-up {} s, {} repeat(s) of {} s; commit {}{}).",
        o.rounds,
        o.warmup_s,
        o.repeats,
        o.duration_s,
        &o.commit[..o.commit.len().min(12)],
        if o.dirty { ", dirty" } else { "" },
    );
    if let Some(c) = o.cells.first() {
        let _ = write!(
            s,
            " Targets: sampler within {:.0}%, profiler within {:.0}%.",
            c.sampler.target * 100.0,
            c.profiler.target * 100.0
        );
    }
    s.push_str(
        " A verdict is given only when the interval lies wholly on one side of the target; otherwise \
         the noise of this machine hides it and the verdict is `not resolved`.\n\n",
    );
    s.push_str("| cell | sampler on / off | profiled / unprofiled |\n|---|---|---|\n");
    for c in &o.cells {
        let tool = match c.profiler_tool.as_str() {
            "" => "no profile",
            t => t,
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} ({tool}) |",
            c.cell_id,
            cost(&c.sampler),
            cost(&c.profiler)
        );
    }
    s
}

/// The figures checked against tools that are not dyno's (`validation/*.json`, written by each
/// workload's `validate` bench under `cargo xtask validate`), or how to check them.
pub struct Validation;

impl Section for Validation {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let docs = &part.run.validation;
        out.md.push_str("\n## Validation against outside tools\n\n");
        if docs.is_empty() {
            out.md.push_str(
                "This run was not validated. `cargo xtask validate` checks dyno's figures against tools \
                 that are not dyno's (an outside load generator, a server with a known delay, its own \
                 request count, a cell with a known CPU load) and adds the outcome here.\n",
            );
            return;
        }
        let _ = writeln!(out.md, "| workload | check | target | outcome | figures |");
        let _ = writeln!(out.md, "|---|---|---|---|---|");
        for (w, doc) in docs {
            match doc {
                Ok(d) => {
                    for c in &d.checks {
                        let outcome = match c.outcome {
                            dyno_core::rundir::Outcome::Pass => "**pass**",
                            dyno_core::rundir::Outcome::Fail => "**FAIL**",
                            dyno_core::rundir::Outcome::Skipped => "skipped",
                        };
                        let _ = writeln!(
                            out.md,
                            "| {w} | {} | {} | {outcome} | {} |",
                            c.name, c.target, c.figures
                        );
                    }
                }
                Err(e) => {
                    let _ = writeln!(out.md, "| {w} | | | unreadable | {e} |");
                }
            }
        }
        let commits: Vec<String> = docs
            .values()
            .filter_map(|d| d.as_ref().ok())
            .map(|d| {
                format!(
                    "{}{}",
                    d.commit.as_deref().unwrap_or("unknown"),
                    if d.quick { " (quick)" } else { "" }
                )
            })
            .collect();
        let _ = writeln!(out.md, "\nChecked at commit {}.", commits.join(", "));
    }
}

/// Every cell whose repeats raised a noise flag, with the flags.
pub struct Noise;

impl Section for Noise {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let s = &mut out.md;
        let _ = writeln!(s, "\n## Noise flags\n");
        let noisy: Vec<_> = part
            .cells
            .iter()
            .filter_map(|c| {
                c.summary
                    .as_ref()
                    .filter(|m| !m.noise.is_empty())
                    .map(|m| (c, m))
            })
            .collect();
        if noisy.is_empty() {
            let _ = writeln!(s, "No cell was flagged.");
        }
        for (c, m) in noisy {
            let _ = writeln!(s, "- `{}`: {}", c.cell_id, m.noise.join("; "));
        }
    }
}

/// Links to the exports.
pub struct Downloads;

impl Section for Downloads {
    fn render(&self, _: &Part<'_>, out: &mut Out) {
        let _ = writeln!(
            out.md,
            "\n## Downloads\n\n- [summary.csv](exports/summary.csv)\n- [bencher.json](exports/bencher.json) (Bencher Metric Format)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    fn all(run: &crate::Run) -> Part<'_> {
        Part::new(run, "", run.cells.iter().collect())
    }

    #[test]
    fn the_repeats_line_says_how_repeats_ran_and_how_precise_cells_came_out() {
        let mut run = fixture::run();
        assert!(repeats_line(&all(&run)).contains("from before rounds"));
        run.manifest.settings.order_seed = Some(7);
        run.manifest.settings.precision = Some(dyno_core::schema::PrecisionPlan {
            target_half_width: 0.05,
            max_repeats: 10,
            budget_s: 2700.0,
        });
        for (i, c) in run.cells.iter_mut().enumerate() {
            c.precision = Some(dyno_core::schema::Precision {
                repeats: 3,
                // Half-widths 1%, 3.5%, 6%, 8.5%, 11%, ...: two within ±5%, four within ±10%.
                half_width: Some(0.01 + 0.025 * i as f64),
                target_half_width: Some(0.05),
                reached: i < 2,
                stopped: dyno_core::schema::Stopped::TargetReached,
                modes: (i == 0).then(|| "two modes".into()),
                estimate: None,
                judged_on: None,
            });
        }
        let n = run.cells.len();
        let line = repeats_line(&all(&run));
        assert!(
            line.contains("seed 7") && line.contains("±5% of the mean"),
            "{line}"
        );
        assert!(
            line.contains(&format!("2 of {n} cells within ±5%")),
            "{line}"
        );
        assert!(
            line.contains("4 within ±10%") && line.contains("1 cell(s) show two modes"),
            "{line}"
        );
    }

    #[test]
    fn paired_repeats_state_their_time_gap_and_blocks_once_starts_are_recorded() {
        let mut run = fixture::run();
        run.manifest.settings.order_seed = Some(7);
        assert!(!repeats_line(&all(&run)).contains("time gap"));
        // Every repeat starts 3 s after the previous one, cell by cell: the two ok rows of a set in
        // one round are then 3 s times their distance in the list apart.
        let mut t = 1000.0;
        for c in run.cells.iter_mut() {
            for r in c.repeats.iter_mut() {
                r.started_unix_s = Some(t);
                t += 3.0;
            }
        }
        let gaps = pair_gaps(&all(&run));
        assert!(
            !gaps.is_empty() && gaps.iter().all(|g| *g > 0.0 && *g % 3.0 == 0.0),
            "{gaps:?}"
        );
        let line = repeats_line(&all(&run));
        assert!(
            line.contains("in blocks") && line.contains("median time gap"),
            "{line}"
        );
        assert!(
            line.contains(&format!("over {} pairs", gaps.len())),
            "{line}"
        );
    }

    #[test]
    fn fairness_has_a_line_per_row_in_the_runs_order() {
        let mut run = fixture::run();
        let mut order = fixture::rows(&run).to_vec();
        order.reverse();
        run.manifest.settings.rows = order.clone();
        let md = fixture::render(&Fairness, &all(&run)).md;
        let rows: Vec<&str> = md
            .lines()
            .skip(4)
            .map(|l| l.split(" | ").next().unwrap().trim_start_matches("| "))
            .collect();
        assert_eq!(rows, order, "{md}");
    }

    #[test]
    fn noise_flags_name_their_cells() {
        let mut run = fixture::run();
        for m in run.cells.iter_mut().filter_map(|c| c.summary.as_mut()) {
            m.noise.clear();
        }
        assert!(
            fixture::render(&Noise, &all(&run))
                .md
                .contains("No cell was flagged.")
        );
        let c = run.cells.iter_mut().find(|c| c.summary.is_some()).unwrap();
        c.summary.as_mut().unwrap().noise = vec!["test flag".into()];
        let id = c.cell_id.clone();
        let md = fixture::render(&Noise, &all(&run)).md;
        assert!(md.contains(&format!("- `{id}`: test flag")), "{md}");
        assert!(!md.contains("No cell was flagged."));
    }

    #[test]
    fn validation_shows_each_check_or_how_to_validate() {
        let mut run = fixture::run();
        let md = fixture::render(&Validation, &all(&run)).md;
        assert!(
            md.contains("not validated") && md.contains("cargo xtask validate"),
            "{md}"
        );
        run.validation.insert(
            "w".into(),
            Ok(dyno_core::rundir::ValidationDoc {
                commit: Some("abc1234".into()),
                quick: false,
                checks: vec![dyno_core::rundir::Check {
                    name: "known delay".into(),
                    target: "p50 within 10%".into(),
                    figures: "ratio 0.99".into(),
                    outcome: dyno_core::rundir::Outcome::Fail,
                }],
            }),
        );
        run.validation
            .insert("v".into(), Err("`validation/v.json` is unreadable".into()));
        let md = fixture::render(&Validation, &all(&run)).md;
        assert!(
            md.contains("| w | known delay | p50 within 10% | **FAIL** | ratio 0.99 |"),
            "{md}"
        );
        assert!(md.contains("| v | | | unreadable |"), "{md}");
        assert!(md.contains("commit abc1234"), "{md}");
    }

    #[test]
    fn overhead_shows_the_measurement_or_why_it_is_unreadable() {
        let mut run = fixture::run();
        assert!(fixture::render(&Overhead, &all(&run)).md.is_empty());
        let cell = |verdict_ratios: Vec<f64>| dyno_core::rundir::CellCost {
            cell_id: "w--tokio--x=1".into(),
            workload: "w".into(),
            runtime: "tokio".into(),
            sampler: Cost::of(verdict_ratios.clone(), 0.01),
            profiler: Cost::of(vec![], 0.03),
            profiler_tool: String::new(),
        };
        run.overhead = Some(Ok(OverheadDoc {
            commit: "abc1234".into(),
            rounds: 4,
            cells: vec![cell(vec![0.999, 1.001, 1.0, 0.998])],
            ..Default::default()
        }));
        let md = fixture::render(&Overhead, &all(&run)).md;
        assert!(md.starts_with("\n## What observing costs\n\n"), "{md}");
        assert!(
            md.contains("Targets: sampler within 1%, profiler within 3%"),
            "{md}"
        );
        assert!(
            md.contains(
                "| w--tokio--x=1 | -0.1% [-0.3%, +0.2%] n=4: within target | no data (no profile) |"
            ),
            "{md}"
        );
        run.overhead = Some(Err("`overhead.json` is unreadable".into()));
        assert!(
            fixture::render(&Overhead, &all(&run))
                .md
                .contains("is unreadable")
        );
    }
}
