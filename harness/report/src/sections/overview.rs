//! The overview page: what ran, then a workload × row matrix of throughput, each row as a ratio to the
//! parameter set's best, and every result that is missing or untrusted.

use super::{Out, Part, Section, reason};
use dyno_core::human::si;
use dyno_core::schema::Status;
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
            "Each table shows throughput (mean over repeats). The best row of each parameter set is in bold with a ★; \
             the others are its fraction of the best, with the 95% confidence interval of that ratio. \
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
            let _ = write!(s, "| parameters |");
            for r in &part.rows {
                let _ = write!(s, " {r} |");
            }
            let _ = write!(s, "\n|---|");
            for _ in &part.rows {
                let _ = write!(s, "---:|");
            }
            s.push('\n');
            for set in crate::pages::parameter_sets(run, &w) {
                let best = set
                    .cells
                    .iter()
                    .filter_map(|c| c.summary.as_ref().filter(|_| c.status == Status::Ok))
                    .map(|s| s.throughput_ops_s)
                    .max_by(|a, b| a.mean.total_cmp(&b.mean));
                let _ = write!(s, "| {} |", set.label);
                for r in &part.rows {
                    let text = match set.cells.iter().find(|c| &c.runtime == r) {
                        None => "–".to_string(),
                        Some(c) => match (&c.summary, best) {
                            (Some(t), Some(b)) if c.status == Status::Ok => {
                                let t = t.throughput_ops_s;
                                if t.mean == b.mean {
                                    format!("**{}** ★", si(t.mean))
                                } else {
                                    format!(
                                        "{:.2}× [{:.2}–{:.2}]",
                                        t.mean / b.mean,
                                        // A throughput cannot be negative, whatever a wide t interval says.
                                        t.ci95_low.max(0.0) / b.ci95_high.max(f64::MIN_POSITIVE),
                                        t.ci95_high / b.ci95_low.max(f64::MIN_POSITIVE)
                                    )
                                }
                            }
                            _ => reason(c),
                        },
                    };
                    let _ = write!(s, " {text} |");
                }
                s.push('\n');
            }
            s.push('\n');
        }
    }
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
