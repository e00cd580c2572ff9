//! A parameter set's tables: every row's headline figures, and the workload's own declared figures.

use super::{Out, Part, Section, figure_mean, reason};
use dyno_core::human::{bytes, ns, per_cpu_second, si};
use dyno_core::schema::Status;
use std::fmt::Write;

/// A cell's throughput and its 95% interval as its chosen estimator gives them: the mean, or the
/// median (so marked) where the repeats show modes or an outlier, whose interval needs 6 repeats.
fn throughput(
    c: &dyno_core::schema::CellResult,
    m: &dyno_core::schema::Summary,
) -> (String, String) {
    let median = c
        .precision
        .as_ref()
        .filter(|p| p.judged_on.is_none())
        .and_then(|p| p.estimate.as_ref())
        .filter(|e| e.estimator == dyno_core::estimate::Estimator::Median);
    match median {
        Some(e) => (
            format!("{} (median)", si(e.value)),
            match (e.ci95_low, e.ci95_high) {
                (Some(lo), Some(hi)) => format!("{}–{}", si(lo), si(hi)),
                _ => format!("none ({} repeats)", c.repeats.len()),
            },
        ),
        None => {
            let t = m.throughput_ops_s;
            (
                si(t.mean),
                format!("{}–{}", si(t.ci95_low), si(t.ci95_high)),
            )
        }
    }
}

/// The parameter set's heading and one line per row: throughput with its interval, latency percentiles,
/// CPU, memory, context switches, errors and noise flags; a row that did not run says why.
pub struct Summary;

impl Section for Summary {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let s = &mut out.md;
        let _ = writeln!(s, "## {}\n", part.label);
        let _ = writeln!(
            s,
            "| row | throughput (ops/s) | 95% CI | p50 | p99 | p99.9 | max | CPU user / sys (s) | ops per CPU-s | peak RSS | ctx switches vol / invol | errors | noise |"
        );
        let _ = writeln!(
            s,
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for (r, c) in part.by_row() {
            match (&c.summary, c.status) {
                (Some(m), Status::Ok) => {
                    let (value, interval) = throughput(c, m);
                    let l = m.latency_ns;
                    let _ = writeln!(
                        s,
                        "| {r} | {value} | {interval} | {} | {} | {} | {} | {:.2} / {:.2} | {} | {} | {} / {} | {} | {} |",
                        ns(l.p50),
                        ns(l.p99),
                        ns(l.p999),
                        ns(l.max),
                        m.cpu_user_s,
                        m.cpu_sys_s,
                        per_cpu_second(m.ops_per_cpu_s, m.cpu_user_s + m.cpu_sys_s),
                        bytes(m.peak_rss_bytes),
                        m.ctx_switches_voluntary,
                        m.ctx_switches_involuntary,
                        m.errors,
                        m.noise.join("; ")
                    );
                }
                _ => {
                    let _ = writeln!(s, "| {r} | {} | | | | | | | | | | | |", reason(c));
                }
            }
        }
        s.push('\n');
        // What the errors were: one message per kind and row, as the workload kept them.
        let mut listed = false;
        for (r, c) in part.by_row() {
            let mut kinds: std::collections::BTreeMap<&str, (u64, Option<&str>)> =
                Default::default();
            for rep in &c.repeats {
                for (k, n) in &rep.errors_by_kind {
                    let e = kinds.entry(k).or_default();
                    e.0 += n;
                    e.1 = e.1.or(rep.error_samples.get(k).map(String::as_str));
                }
            }
            for (k, (n, sample)) in kinds {
                listed = true;
                let _ = writeln!(
                    s,
                    "- {r}: {n} `{k}` error(s){}",
                    sample.map_or(String::new(), |m| format!(", e.g. \"{m}\""))
                );
            }
        }
        if listed {
            s.push('\n');
        }
    }
}

/// The workload's own figures (mean over repeats), one line per figure, folded away.
pub struct Figures;

impl Section for Figures {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let mut names: Vec<&String> = part
            .cells
            .iter()
            .flat_map(|c| c.repeats.iter().flat_map(|r| r.metrics.keys()))
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return;
        }
        let shown: Vec<&String> = part
            .rows
            .iter()
            .filter(|r| {
                part.cells
                    .iter()
                    .any(|c| &c.runtime == *r && !c.repeats.is_empty())
            })
            .collect();
        let s = &mut out.md;
        s.push_str(
            "<details><summary>Workload figures (mean over repeats)</summary>\n\n| figure |",
        );
        for r in &shown {
            let _ = write!(s, " {r} |");
        }
        s.push_str("\n|---|");
        s.push_str(&"---:|".repeat(shown.len()));
        s.push('\n');
        let declared = part.run.declared(part.workload);
        for n in names {
            let _ = write!(s, "| {} |", label(n, declared.metric(n)));
            for r in &shown {
                let v = part
                    .cells
                    .iter()
                    .find(|c| &c.runtime == *r)
                    .and_then(|c| figure_mean(c, n));
                let _ = write!(s, " {} |", v.map_or(String::new(), figure));
            }
            s.push('\n');
        }
        s.push_str("\n</details>\n\n");
    }
}

/// A figure's name, with its declared unit and which way is better.
fn label(name: &str, spec: Option<&dyno_core::metrics::MetricSpec>) -> String {
    use dyno_core::metrics::Better;
    let Some(m) = spec else {
        return name.to_string();
    };
    let better = match m.better {
        Better::Higher => ", higher is better",
        Better::Lower => ", lower is better",
        Better::Neither => "",
    };
    format!("{name} ({}{better})", m.unit)
}

/// A figure: small whole numbers as they are, others with SI prefixes.
fn figure(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e4 {
        format!("{v:.0}")
    } else {
        si(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    #[test]
    fn every_row_has_a_line_and_a_failed_row_says_why() {
        let run = fixture::run();
        let part = fixture::first_set(&run);
        let md = fixture::render(&Summary, &part).md;
        assert!(md.starts_with(&format!("## {}\n", part.label)), "{md}");
        let lines: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
        // The header, then each row in the run's row order.
        assert_eq!(lines.len(), 4, "{md}");
        for (line, row) in lines[1..].iter().zip(fixture::rows(&run)) {
            assert!(line.starts_with(&format!("| {row} |")), "{line}");
            assert_eq!(line.matches('|').count(), 14, "13 columns: {line}");
        }
        assert!(
            lines[3].contains("failed: panicked: injected fault"),
            "{md}"
        );
    }

    #[test]
    fn errors_are_listed_by_kind_with_their_sample() {
        let mut run = fixture::run();
        let [first, ..] = fixture::rows(&run);
        let cell = run
            .cells
            .iter_mut()
            .find(|c| c.runtime == first)
            .expect("a cell");
        for (i, r) in cell.repeats.iter_mut().enumerate() {
            r.errors_by_kind.insert("timeout".into(), 2);
            if i == 1 {
                r.error_samples
                    .insert("timeout".into(), "no response within 2s".into());
            }
        }
        let n = 2 * cell.repeats.len();
        let part = fixture::first_set(&run);
        let md = fixture::render(&Summary, &part).md;
        assert!(
            md.contains(&format!(
                "- {first}: {n} `timeout` error(s), e.g. \"no response within 2s\"\n"
            )),
            "{md}"
        );
    }

    #[test]
    fn figures_are_means_over_repeats_in_row_order() {
        let mut run = fixture::run();
        // Give the first row's first cell two repeats of a known figure.
        let [first, second, _] = fixture::rows(&run);
        let cell = run
            .cells
            .iter_mut()
            .find(|c| c.runtime == first)
            .expect("a cell");
        for (r, v) in cell.repeats.iter_mut().zip([10.0, 20.0]) {
            r.metrics.insert("test_figure".into(), v);
        }
        let part = fixture::first_set(&run);
        let md = fixture::render(&Figures, &part).md;
        let line = md
            .lines()
            .find(|l| l.starts_with("| test_figure |"))
            .unwrap_or_else(|| panic!("{md}"));
        assert_eq!(line, "| test_figure | 15 |  |", "{md}");
        assert!(
            md.contains(&format!("| figure | {first} | {second} |")),
            "{md}"
        );
    }

    #[test]
    fn declared_figures_carry_their_unit_and_direction() {
        let mut run = fixture::run();
        let part = fixture::first_set(&run);
        let workload = part.workload.to_string();
        let m = dyno_core::Metric::figure(
            "test_declared",
            "widgets",
            dyno_core::Better::Lower,
            "a figure declared by the test",
        )
        .spec();
        run.manifest
            .workloads
            .entry(workload.clone())
            .or_default()
            .metrics
            .push(m.clone());
        for c in run.cells.iter_mut().filter(|c| c.workload == workload) {
            for r in c.repeats.iter_mut() {
                r.metrics.insert(m.name.clone(), 3.0);
            }
        }
        let part = fixture::first_set(&run);
        let md = fixture::render(&Figures, &part).md;
        let want = "| test_declared (widgets, lower is better) | 3 |";
        assert!(md.lines().any(|l| l.starts_with(want)), "{want} in {md}");
    }

    #[test]
    fn figures_print_whole_numbers_plainly() {
        assert_eq!(figure(15.0), "15");
        assert_eq!(figure(1.5), si(1.5));
        assert_eq!(figure(120_000.0), si(120_000.0));
    }
}
