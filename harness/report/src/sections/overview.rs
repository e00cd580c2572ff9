//! The overview page: what ran, then a workload × row matrix of throughput, each row as a ratio to the
//! parameter set's best (paired by round), the best starred only when its lead is resolved, and every
//! result that is missing or untrusted.

use super::{Out, Part, Section, reason};
use crate::paired;
use dyno_core::Params;
use dyno_core::human::si;
use dyno_core::schema::{CellResult, Status};
use std::fmt::Write;

/// The run in one sentence and how to read the tables.
pub struct Headline;

impl Section for Headline {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let (run, s) = (part.run, &mut out.md);
        let m = &run.manifest;
        let ok = run.cells.iter().filter(|c| c.status == Status::Ok).count();
        let _ = writeln!(s, "# Overview\n");
        let _ = writeln!(
            s,
            "Run `{}` ({} profile) started {}, commit `{}`{}, on {} ({} cores). {} cells: {ok} ok, {} not ok.\n",
            m.run_id,
            m.profile,
            m.started,
            &m.git.commit[..m.git.commit.len().min(12)],
            if m.git.dirty {
                " with uncommitted changes"
            } else {
                ""
            },
            m.host.cpu_model,
            m.host.cores,
            run.cells.len(),
            run.cells.len() - ok
        );
        let _ = writeln!(
            s,
            "Each table shows throughput (mean over repeats). The best row of each parameter set is in bold, with a ★ \
             only where its lead over the runner-up is resolved: the 95% interval of their ratio, paired by round, \
             excludes 1 (an unresolved lead is marked =). The others are their ratio to the best, ± the half-width of \
             that ratio's 95% interval; a row that did not run says so, with the reason under the table. [Findings](findings.md) answers the design questions in sentences. \
             See [Methodology](methodology.md) for how it was measured and what each row runs on.\n"
        );
    }
}

/// One table per workload: a line per parameter set, a column per row.
pub struct Matrix;

impl Section for Matrix {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let (run, s) = (part.run, &mut out.md);
        for w in run.workloads() {
            let unit = run
                .cells
                .iter()
                .find(|c| c.workload == w)
                .map(|c| c.ops_unit.clone())
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "## [{w}]({w}.md): {unit} per second (higher is better)\n"
            );
            // The parameters are named once in the header; each line shows their values only.
            let shown = Params::varying(
                run.cells
                    .iter()
                    .filter(|c| c.workload == w)
                    .map(|c| &c.params),
            );
            let _ = write!(
                s,
                "| {} |",
                if shown.is_empty() {
                    "parameters".to_string()
                } else {
                    shown.join(" · ")
                }
            );
            // Only the rows this workload has (a reference row such as nginx serves one workload).
            let rows: Vec<&String> = part
                .rows
                .iter()
                .filter(|r| {
                    run.cells
                        .iter()
                        .any(|c| c.workload == w && &c.runtime == *r)
                })
                .collect();
            for r in &rows {
                let _ = write!(s, " {r} |");
            }
            let _ = write!(s, "\n|---|");
            for _ in &rows {
                let _ = write!(s, "---:|");
            }
            s.push('\n');
            // Why a row did not run, once per row and reason, with the parameter sets it hit.
            let mut reasons: Vec<(String, String, Vec<String>)> = Vec::new();
            let sets = crate::pages::parameter_sets(run, &w).len();
            for set in crate::pages::parameter_sets(run, &w) {
                let mut ok: Vec<&CellResult> = set
                    .cells
                    .iter()
                    .copied()
                    .filter(|c| c.status == Status::Ok && c.summary.is_some())
                    .collect();
                ok.sort_by(|a, b| mean(b).total_cmp(&mean(a)));
                let best = ok.first().copied();
                // The best row earns its ★ only when its lead over the runner-up is resolved.
                let lead = best
                    .zip(ok.get(1))
                    .and_then(|(b, r)| paired::throughput(b, r));
                let values = set.cells[0].params.values(&shown);
                let _ = write!(
                    s,
                    "| {} |",
                    if values.is_empty() {
                        &set.label
                    } else {
                        &values
                    }
                );
                for r in &rows {
                    let text = match set.cells.iter().find(|c| &c.runtime == *r) {
                        None => "–".to_string(),
                        Some(c) => match best {
                            Some(b) if c.status == Status::Ok && c.summary.is_some() => {
                                if std::ptr::eq(*c, b) {
                                    match lead {
                                        Some(l) if l.resolved() => format!("**{}** ★", si(mean(c))),
                                        Some(_) => format!("**{}** =", si(mean(c))),
                                        None => format!("**{}**", si(mean(c))),
                                    }
                                } else {
                                    paired::throughput(c, b)
                                        .map(|r| compact(&r))
                                        .unwrap_or_else(|| "–".into())
                                }
                            }
                            _ => {
                                let why = reason(c);
                                match reasons.iter_mut().find(|(x, y, _)| x == *r && *y == why) {
                                    Some((_, _, labels)) => labels.push(set.label.clone()),
                                    None => {
                                        reasons.push(((*r).clone(), why, vec![set.label.clone()]))
                                    }
                                }
                                format!("{:?}", c.status).to_lowercase()
                            }
                        },
                    };
                    let _ = write!(s, " {text} |");
                }
                s.push('\n');
            }
            s.push('\n');
            for (r, why, labels) in reasons {
                let on = if labels.len() == sets && sets > 1 {
                    "every parameter set".to_string()
                } else {
                    labels.join("; ")
                };
                let _ = writeln!(s, "- {r} ({on}): {why}");
            }
            s.push('\n');
        }
    }
}

/// A ratio to the best in a few characters, so a table of every row fits the page: `0.87× ±8%`.
fn compact(r: &paired::Ratio) -> String {
    let h = r.half_width_pct();
    if h > 100.0 {
        format!("{:.2}× ±>100%", r.est.mean)
    } else {
        format!("{:.2}× ±{h:.0}%", r.est.mean)
    }
}

/// A cell's mean throughput (0 without a summary).
fn mean(c: &CellResult) -> f64 {
    c.summary.as_ref().map_or(0.0, |s| s.throughput_ops_s.mean)
}

/// Cell files that could not be trusted and planned cells without a result, never silently dropped.
pub struct Problems;

impl Section for Problems {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        if part.run.problems.is_empty() {
            return;
        }
        let _ = writeln!(out.md, "## Missing or untrusted results\n");
        for p in &part.run.problems {
            let _ = writeln!(out.md, "- {}", p.replace('|', "\\|"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    #[test]
    fn problems_are_listed_and_absent_when_there_are_none() {
        let mut run = fixture::run();
        let part = Part::new(&run, "", run.cells.iter().collect());
        assert!(fixture::render(&Problems, &part).md.is_empty());
        run.problems
            .push("cell x was planned but has no result | why".into());
        let part = Part::new(&run, "", run.cells.iter().collect());
        assert_eq!(
            fixture::render(&Problems, &part).md,
            "## Missing or untrusted results\n\n- cell x was planned but has no result \\| why\n"
        );
    }
}
