//! Sweeps: throughput and p99 latency against a whole-number parameter that varies while the others
//! stay fixed, one line per row.

use super::{Out, Part, Section, slug};
use crate::Run;
use crate::charts;
use dyno_core::Params;
use dyno_core::params::ParamValue;
use dyno_core::schema::{CellResult, Status, Summary};
use std::fmt::Write;

/// The sweeps among a workload's cells that ran to the end: for each whole-number parameter that varies,
/// the groups of cells equal in every other parameter that hold at least two of its values.
pub fn parts<'a>(run: &'a Run, workload: &'a str) -> Vec<Part<'a>> {
    let cells: Vec<&CellResult> = run
        .cells
        .iter()
        .filter(|c| c.workload == workload && c.status == Status::Ok)
        .collect();
    let varying = Params::varying(cells.iter().map(|c| &c.params));
    let mut parts = Vec::new();
    for p in &varying {
        let is_int = cells
            .iter()
            .all(|c| matches!(c.params.0.get(p), Some(ParamValue::Int(_))));
        if !is_int {
            continue;
        }
        // Group by every other parameter.
        let mut groups: Vec<(Params, Vec<&CellResult>)> = Vec::new();
        for c in &cells {
            let mut rest = c.params.clone();
            rest.0.remove(p);
            match groups.iter_mut().find(|(k, _)| *k == rest) {
                Some((_, v)) => v.push(c),
                None => groups.push((rest, vec![c])),
            }
        }
        let others: Vec<String> = varying.iter().filter(|v| *v != p).cloned().collect();
        for (j, (rest, group)) in groups.into_iter().enumerate() {
            let mut xs: Vec<u64> = group.iter().filter_map(|c| int(c, p)).collect();
            xs.sort();
            xs.dedup();
            if xs.len() < 2 {
                continue;
            }
            let mut part = Part::new(run, workload, group);
            part.label = rest.label(&others);
            part.stem = format!("{}-sweep-{}-{j}", slug(workload), slug(p));
            part.swept = Some(p.clone());
            parts.push(part);
        }
    }
    parts
}

/// A cell's value of the whole-number parameter `p`.
fn int(c: &CellResult, p: &str) -> Option<u64> {
    match c.params.0.get(p) {
        Some(ParamValue::Int(n)) => Some(*n),
        _ => None,
    }
}

/// The sweep's title for a figure: "<workload>: <what> vs <param>, <what stays fixed>".
fn title(part: &Part<'_>, what: &str, p: &str) -> String {
    format!(
        "{}: {what} vs {p}{}",
        part.workload,
        if part.label.is_empty() {
            String::new()
        } else {
            format!(", {}", part.label)
        }
    )
}

/// One line per row: `y` of each cell against the swept parameter, in increasing order.
fn series(
    part: &Part<'_>,
    p: &str,
    y: impl Fn(&Summary) -> Option<f64>,
) -> Vec<(String, Vec<(f64, f64)>)> {
    part.rows
        .iter()
        .filter_map(|r| {
            let mut pts: Vec<(f64, f64)> = part
                .cells
                .iter()
                .filter(|c| &c.runtime == r)
                .filter_map(|c| Some((int(c, p)? as f64, y(c.summary.as_ref()?)?)))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (!pts.is_empty()).then(|| (r.clone(), pts))
        })
        .collect()
}

/// Throughput against the swept parameter, under the sweep's heading.
pub struct Throughput;

impl Section for Throughput {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let Some(p) = &part.swept else { return };
        let title = title(part, "throughput", p);
        let s = series(part, p, |m| Some(m.throughput_ops_s.mean));
        let _ = writeln!(out.md, "### {title}\n");
        out.chart(&part.stem, &title, charts::sweep(&title, p, "ops/s", &s));
    }
}

/// p99 latency against the swept parameter, where the cells recorded latencies.
pub struct P99;

impl Section for P99 {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let Some(p) = &part.swept else { return };
        let s = series(part, p, |m| {
            (m.latency_ns.p99 > 0).then(|| m.latency_ns.p99 as f64 / 1e6)
        });
        if !s.is_empty() {
            let title = title(part, "p99 latency", p);
            let svg = charts::sweep(&title, p, "p99 latency (ms)", &s);
            out.chart(&format!("{}-p99", part.stem), &title, svg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    /// The fixture varies one whole-number parameter (two values) and one other parameter (two values).
    #[test]
    fn the_fixture_has_one_sweep_per_value_of_the_other_parameter() {
        let run = fixture::run();
        let parts = fixture::sweeps(&run);
        assert_eq!(parts.len(), 2);
        let swept = parts[0].swept.clone().expect("swept");
        let labels: Vec<&str> = parts.iter().map(|p| p.label.as_str()).collect();
        assert!(
            labels[0] != labels[1] && !labels[0].contains(&swept),
            "{labels:?}"
        );
        // The failed row's cells are not part of a sweep.
        for p in &parts {
            assert_eq!(p.swept.as_ref(), Some(&swept));
            assert_eq!(p.cells.len(), 4, "2 rows that ran × 2 values");
            assert!(p.cells.iter().all(|c| c.status == Status::Ok));
        }
    }

    #[test]
    fn throughput_and_p99_charts_plot_each_row_in_parameter_order() {
        let run = fixture::run();
        let part = &fixture::sweeps(&run)[0];
        let p = part.swept.clone().unwrap();
        let s = series(part, &p, |m| Some(m.throughput_ops_s.mean));
        let [first, second, _] = fixture::rows(&run);
        assert_eq!(
            s.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>(),
            [first, second]
        );
        let mut xs: Vec<f64> = part
            .cells
            .iter()
            .map(|c| int(c, &p).unwrap() as f64)
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        for (_, pts) in &s {
            assert_eq!(pts.iter().map(|p| p.0).collect::<Vec<_>>(), xs);
        }
        let mut out = Out::default();
        out.sections(&[&Throughput, &P99], part);
        let title = format!("{}: throughput vs {p}, {}", part.workload, part.label);
        let head = format!("### {title}\n\n![{title}](charts/{}.svg)", part.stem);
        assert!(out.md.starts_with(&head), "{}", out.md);
        fixture::file(&out, &format!("charts/{}.svg", part.stem));
        fixture::file(&out, &format!("charts/{}-p99.svg", part.stem));
    }

    #[test]
    fn a_parameter_with_one_value_per_group_is_no_sweep() {
        let mut run = fixture::run();
        let p = fixture::sweeps(&run)[0].swept.clone().unwrap();
        let first = int(&run.cells[0], &p);
        run.cells.retain(|c| int(c, &p) == first);
        assert!(fixture::sweeps(&run).is_empty());
    }
}
