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
                        ns(b.mean_ns as u64),
                        ns(b.low_ns as u64),
                        ns(b.high_ns as u64)
                    );
                }
                s.push('\n');
                if !doc.counts.is_empty() {
                    s.push_str("Instruction counts (gungraun, callgrind), one run of each benchmark function:\n\n| benchmark | instructions | estimated cycles |\n|---|---:|---:|\n");
                    for c in &doc.counts {
                        let _ = writeln!(
                            s,
                            "| {} | {} | {} |",
                            c.id, c.instructions, c.estimated_cycles
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
                    id: "g/f.warm".into(),
                    instructions: 1234,
                    estimated_cycles: 5678,
                }],
                skipped: vec!["instruction counts: valgrind is missing".into()],
            }),
        );
        let part = super::super::Part::new(&run, &w, run.cells.iter().collect());
        let md = fixture::render(&Micro, &part).md;
        assert!(
            md.contains(&format!(
                "| g/single/x | {} | {} – {} |",
                ns(20),
                ns(19),
                ns(21)
            )),
            "{md}"
        );
        assert!(
            md.contains("Not run: instruction counts: valgrind is missing."),
            "{md}"
        );
        assert!(md.contains("`--quick`, commit abc"), "{md}");
    }
}
