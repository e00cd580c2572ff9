//! The workload's micro-benchmarks (`micro/<workload>.json`, imported by `cargo xtask bench --micro`
//! from criterion): each benchmark's mean time per iteration with its 95% interval.

use super::{Out, Part, Section};
use dyno_core::human::ns;
use std::fmt::Write;

/// "Micro-benchmarks": one line per benchmark, and what did not run.
pub struct Micro;

impl Section for Micro {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let w = part.workload;
        let s = &mut out.md;
        match part.run.micro.get(w) {
            None => {}
            Some(Err(e)) => {
                let _ = write!(s, "## Micro-benchmarks\n\n{e}\n\n");
            }
            Some(Ok(doc)) => {
                let _ = write!(
                    s,
                    "## Micro-benchmarks\n\ncriterion{}, commit {}: mean time per iteration and its 95% interval.\n\n| benchmark | mean | 95% interval |\n|---|---:|---:|\n",
                    if doc.quick { " `--quick`" } else { "" },
                    doc.commit.as_deref().unwrap_or("unknown")
                );
                for b in &doc.benches {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} – {} |",
                        b.id,
                        time(b.mean_ns),
                        time(b.low_ns),
                        time(b.high_ns)
                    );
                }
                s.push_str(
                    "\nA criterion interval covers one run of the benchmark only: it says how precisely that run \
                     measured, not how far another run on this shared machine would land. Compare two rows or \
                     contenders by their ratio within one run, not by their intervals across runs.\n\n",
                );
                if !doc.counts.is_empty() {
                    s.push_str("Instruction counts (gungraun, callgrind), deterministic for a given build: per operation where the benchmark says how many operations one run holds (its id ends in `ops_<N>`), else per run of the benchmark function.\n\n| benchmark | instructions | estimated cycles | per |\n|---|---:|---:|---|\n");
                    for c in &doc.counts {
                        let (n, per) = match c.ops {
                            Some(n) => (n as f64, "operation".to_string()),
                            None => (1.0, "run".to_string()),
                        };
                        let _ = writeln!(
                            s,
                            "| {} | {:.1} | {:.1} | {per} |",
                            c.id,
                            c.instructions as f64 / n,
                            c.estimated_cycles as f64 / n
                        );
                    }
                    s.push('\n');
                }
                for why in &doc.skipped {
                    let _ = writeln!(s, "Not run: {why}.\n");
                }
            }
        }
    }
}

/// A time with the precision criterion's figures have: tenths of a nanosecond below a microsecond.
fn time(v_ns: f64) -> String {
    if v_ns < 1e3 {
        format!("{v_ns:.1} ns")
    } else {
        ns(v_ns as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;
    use dyno_core::rundir::{MicroBench, MicroDoc};

    #[test]
    fn each_benchmark_is_a_line_with_its_interval_and_skips_are_said() {
        let mut run = fixture::run();
        let w = fixture::workload(&run).to_string();
        let part = super::super::Part::new(&run, &w, run.cells.iter().collect());
        assert!(
            fixture::render(&Micro, &part).md.is_empty(),
            "no doc, no section"
        );
        run.micro.insert(
            w.clone(),
            Ok(MicroDoc {
                commit: Some("abc".into()),
                quick: true,
                benches: vec![MicroBench {
                    id: "g/single/x".into(),
                    mean_ns: 20.0,
                    low_ns: 19.0,
                    high_ns: 21.0,
                }],
                counts: vec![dyno_core::rundir::MicroCount {
                    id: "g/f.ops_1000".into(),
                    instructions: 12340,
                    estimated_cycles: 56780,
                    ops: Some(1000),
                }],
                skipped: vec!["instruction counts: valgrind is missing".into()],
            }),
        );
        let part = super::super::Part::new(&run, &w, run.cells.iter().collect());
        let md = fixture::render(&Micro, &part).md;
        assert!(
            md.contains("| g/single/x | 20.0 ns | 19.0 ns – 21.0 ns |"),
            "{md}"
        );
        assert!(
            md.contains("| g/f.ops_1000 | 12.3 | 56.8 | operation |"),
            "{md}"
        );
        assert!(
            md.contains("Not run: instruction counts: valgrind is missing."),
            "{md}"
        );
        assert!(md.contains("`--quick`, commit abc"), "{md}");
    }
}
