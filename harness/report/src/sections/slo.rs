//! Max sustainable throughput: on a sweep of open-loop cells, each row's highest offered rate that met
//! the workload's declared SLO. Any workload that declares an SLO, an offered-rate and an achieved-rate
//! figure gets it.

use super::{Out, Part, Section, figure_mean, reason};
use dyno_core::human::{ns, si};
use dyno_core::metrics::Role;
use dyno_core::schema::{CellResult, Status};
use std::fmt::Write;

/// The table of each row's max sustainable rate and the first rate that failed.
pub struct Sustainable;

impl Section for Sustainable {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let d = part.run.declared(part.workload);
        let (Some(slo), Some(offered_m), Some(achieved_m)) = (
            d.slo,
            d.with_role(|r| *r == Role::OfferedRate),
            d.with_role(|r| *r == Role::AchievedRate),
        ) else {
            return;
        };
        let (offered_n, achieved_n) = (offered_m.name.as_str(), achieved_m.name.as_str());
        if !part
            .cells
            .iter()
            .any(|c| figure_mean(c, offered_n).is_some())
        {
            return;
        }
        let s = &mut out.md;
        let _ = write!(
            s,
            "**Max sustainable throughput** (highest offered rate with p99 ≤ {}, ≥ {:.0}% of it achieved, no errors):\n\n| row | max sustainable ({}) | p99 there | first rate that failed |\n|---|---:|---:|---|\n",
            ns(slo.p99_ns),
            slo.achieved_share * 100.0,
            offered_m.unit
        );
        for r in &part.rows {
            let mut cells: Vec<(f64, &CellResult)> = part
                .cells
                .iter()
                .filter(|c| &c.runtime == r)
                .filter_map(|c| figure_mean(c, offered_n).map(|o| (o, *c)))
                .collect();
            if cells.is_empty() {
                continue;
            }
            cells.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut best: Option<(f64, u64)> = None;
            let mut failed = None;
            for (offered, c) in cells {
                let achieved = figure_mean(c, achieved_n).unwrap_or(0.0);
                let ok = match (&c.summary, c.status) {
                    (Some(m), Status::Ok) => {
                        m.errors == 0
                            && m.latency_ns.p99 <= slo.p99_ns
                            && achieved >= slo.achieved_share * offered
                    }
                    _ => false,
                };
                if failed.is_some() {
                    break;
                }
                if ok {
                    best = Some((offered, c.summary.as_ref().map_or(0, |m| m.latency_ns.p99)));
                } else {
                    failed = Some(match &c.summary {
                        Some(m) => format!(
                            "{} (p99 {}, achieved {})",
                            si(offered),
                            ns(m.latency_ns.p99),
                            si(achieved)
                        ),
                        None => format!("{} ({})", si(offered), reason(c)),
                    });
                }
            }
            let _ = writeln!(
                s,
                "| {r} | {} | {} | {} |",
                best.map_or("none".into(), |b| si(b.0)),
                best.map_or(String::new(), |b| ns(b.1)),
                failed.unwrap_or_else(|| "none (all sustained)".into())
            );
        }
        s.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;
    use dyno_core::metrics::{Better, Declarations, Metric, Slo};
    use dyno_core::params::ParamValue;

    const SENT: Metric = Metric::figure("sent_per_s", "msg/s", Better::Higher, "offered")
        .with_role(Role::OfferedRate);
    const DONE: Metric = Metric::figure("done_per_s", "msg/s", Better::Higher, "achieved")
        .with_role(Role::AchievedRate);

    /// The fixture's first sweep recast as an open-loop sweep: the rate offered is 1000 × the swept
    /// parameter (4 and 64); the first row sustains every rate, the second misses the p99 at 64 000.
    fn open_loop(slo: Option<Slo>) -> crate::Run {
        let mut run = fixture::run();
        let swept = fixture::sweeps(&run)[0].swept.clone().expect("a sweep");
        let [_, second, _] = fixture::rows(&run);
        run.manifest.workloads.insert(
            fixture::workload(&run).to_string(),
            Declarations {
                ops_unit: "ops".into(),
                metrics: vec![SENT.spec(), DONE.spec()],
                client: None,
                slo,
                ..Default::default()
            },
        );
        for c in &mut run.cells {
            let Some(ParamValue::Int(n)) = c.params.0.get(&swept).cloned() else {
                continue;
            };
            let offered = 1000.0 * n as f64;
            for r in &mut c.repeats {
                r.metrics.insert("sent_per_s".into(), offered);
                r.metrics.insert("done_per_s".into(), offered * 0.99);
            }
            if let Some(m) = &mut c.summary {
                m.errors = 0;
                m.latency_ns.p99 = if c.runtime == second && n == 64 {
                    50_000_000
                } else {
                    1_000_000
                };
            }
        }
        run
    }

    const SLO: Slo = Slo {
        p99_ns: 10_000_000,
        achieved_share: 0.95,
    };

    #[test]
    fn each_row_gets_its_highest_rate_within_the_slo_and_the_first_that_failed() {
        let run = open_loop(Some(SLO));
        let [first, second, _] = fixture::rows(&run);
        let part = &fixture::sweeps(&run)[0];
        let md = fixture::render(&Sustainable, part).md;
        let head = format!("p99 ≤ {}, ≥ 95% of it achieved", ns(10_000_000));
        assert!(md.contains(&head), "{md}");
        assert!(md.contains("| row | max sustainable (msg/s) |"), "{md}");
        let line = |row: &str| {
            md.lines()
                .find(|l| l.starts_with(&format!("| {row} |")))
                .unwrap_or_else(|| panic!("no {row} in {md}"))
                .to_string()
        };
        assert_eq!(
            line(&first),
            format!(
                "| {first} | {} | {} | none (all sustained) |",
                si(64_000.0),
                ns(1_000_000)
            )
        );
        assert_eq!(
            line(&second),
            format!(
                "| {second} | {} | {} | {} (p99 {}, achieved {}) |",
                si(4_000.0),
                ns(1_000_000),
                si(64_000.0),
                ns(50_000_000),
                si(64_000.0 * 0.99)
            )
        );
    }

    #[test]
    fn too_little_achieved_fails_a_rate() {
        let mut run = open_loop(Some(SLO));
        let [first, ..] = fixture::rows(&run);
        for c in run.cells.iter_mut().filter(|c| c.runtime == first) {
            for r in &mut c.repeats {
                let sent = r.metrics["sent_per_s"];
                r.metrics.insert("done_per_s".into(), sent * 0.5);
            }
        }
        let part = &fixture::sweeps(&run)[0];
        let md = fixture::render(&Sustainable, part).md;
        let line = format!("| {first} | none |  | {} (p99", si(4_000.0));
        assert!(md.contains(&line), "{md}");
    }

    #[test]
    fn nothing_without_a_declared_slo_or_rates() {
        let run = open_loop(None);
        let part = &fixture::sweeps(&run)[0];
        assert!(fixture::render(&Sustainable, part).md.is_empty());
        let plain = fixture::run();
        let part = &fixture::sweeps(&plain)[0];
        assert!(fixture::render(&Sustainable, part).md.is_empty());
    }
}
