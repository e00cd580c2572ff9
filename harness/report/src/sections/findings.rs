//! The Findings page: each workload's declared questions (`Declarations::questions`) answered in
//! sentences computed from the run. Every comparison is a throughput ratio paired by round with its 95%
//! interval, stated as a difference only where the interval excludes 1, and otherwise as "no difference
//! resolved at ±X%".

use super::{Out, Part, Section};
use crate::paired::{self, Ratio};
use dyno_core::Params;
use dyno_core::metrics::{Question, Side};
use dyno_core::schema::{CellResult, Status};
use std::fmt::Write;

/// Every workload's questions, in the run's workload order.
pub struct Findings;

/// One comparison of a question: where (the row and the other parameters), and the ratio a/b.
pub(super) struct Answer {
    pub(super) context: String,
    pub(super) ratio: Ratio,
    /// The interval excludes 1 and the p-value survives the page's false-discovery control.
    discovery: bool,
}

/// The false discovery rate the Findings page controls across all of a run's comparisons.
pub const FDR: f64 = 0.05;

/// One question of one workload with its comparisons.
struct Asked<'q> {
    workload: String,
    question: &'q Question,
    answers: Vec<Answer>,
}

impl Section for Findings {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let run = part.run;
        let s = &mut out.md;
        let _ = writeln!(s, "# Findings\n");
        let declared: Vec<(String, Vec<Question>)> = run
            .workloads()
            .into_iter()
            .map(|w| {
                let q = run.declared(&w).questions;
                (w, q)
            })
            .collect();
        let mut asked = Vec::new();
        for (w, questions) in &declared {
            let cells: Vec<&CellResult> = run.cells.iter().filter(|c| c.workload == *w).collect();
            let shown = Params::varying(cells.iter().map(|c| &c.params));
            for q in questions {
                let answers = answers(q, &compared(run, q, &cells), &shown);
                if !answers.is_empty() {
                    asked.push(Asked {
                        workload: w.clone(),
                        question: q,
                        answers,
                    });
                }
            }
        }
        let kept = control_false_discoveries(&mut asked);
        let tested = asked
            .iter()
            .flat_map(|a| &a.answers)
            .filter(|x| x.ratio.est.ratio_p_value().is_some())
            .count();
        let _ = writeln!(
            s,
            "Each workload declares the questions its matrix answers. Every answer compares throughput (or the declared \
             figure the question names, e.g. memory per connection), side a over side b, on cells that differ only in what the question asks; the ratio is the geometric mean of the \
             per-round ratios (both sides ran in the same round) with its 95% interval. A difference is stated \
             only where that interval excludes 1 and it survives the false-discovery control across the whole \
             page (Benjamini–Hochberg at {:.0}% over the p-values of the paired t test on log ratios: this run \
             tested {tested} comparisons and kept {kept}); otherwise the sentence says no difference was \
             resolved, and at what precision. A question of throughput leaves out open-loop cells: their \
             throughput is the rate the driver offered (their pages compare their latency).\n",
            FDR * 100.0
        );
        let mut workload = None;
        for a in &asked {
            if workload != Some(&a.workload) {
                let _ = writeln!(s, "## [{w}]({w}.md)\n", w = a.workload);
                workload = Some(&a.workload);
            }
            question(s, a);
        }
        if asked.is_empty() {
            let _ = writeln!(
                s,
                "This run holds no pair of ok cells that a declared question compares.\n"
            );
        }
    }
}

/// Benjamini–Hochberg over every comparison of the page: a comparison whose interval excludes 1 but
/// whose p-value is not among the discoveries is marked unresolved. Returns the discoveries kept.
fn control_false_discoveries(asked: &mut [Asked<'_>]) -> usize {
    let p: Vec<Option<f64>> = asked
        .iter()
        .flat_map(|a| &a.answers)
        .map(|x| x.ratio.est.ratio_p_value())
        .collect();
    let keep = dyno_core::stats::benjamini_hochberg(&p, FDR);
    for (i, x) in asked
        .iter_mut()
        .flat_map(|a| a.answers.iter_mut())
        .enumerate()
    {
        // An unpaired ratio (a run without rounds) has no p-value and keeps its interval's verdict.
        x.discovery = x.ratio.resolved() && (p[i].is_none() || keep[i]);
    }
    keep.iter().filter(|k| **k).count()
}

/// One question's heading, count line and a sentence per comparison.
fn question(s: &mut String, asked: &Asked<'_>) {
    let (q, answers) = (asked.question, &asked.answers);
    let (a, b) = (q.a.label(), q.b.label());
    let ahead = answers
        .iter()
        .filter(|x| x.discovery && x.ratio.est.mean > 1.0)
        .count();
    let behind = answers
        .iter()
        .filter(|x| x.discovery && x.ratio.est.mean < 1.0)
        .count();
    let words = Words::of(q.figure.as_deref());
    let _ = writeln!(
        s,
        "### {}\n\n{a} against {b} on {} comparison(s){}: {a} {} in {ahead}, {} in {behind}, \
         no difference resolved in {}.\n",
        q.ask,
        answers.len(),
        q.figure
            .as_ref()
            .map(|f| format!(" of `{f}`"))
            .unwrap_or_default(),
        words.more,
        words.less,
        answers.len() - ahead - behind
    );
    if !q.a.best_of.is_empty() {
        let _ = writeln!(
            s,
            "The best row of each parameter set is whichever of {} has the highest throughput estimate \
             in this run; chosen from the same repeats it is compared on, its ratio leans its way.\n",
            q.a.best_of.join(", ")
        );
    }
    for x in answers {
        let _ = writeln!(
            s,
            "- {}: {}",
            x.context,
            sentence(&a, &b, &x.ratio, x.discovery, &words)
        );
    }
    s.push('\n');
}

/// How a comparison reads: throughput is ahead or behind, any other figure higher or lower.
struct Words {
    more: &'static str,
    less: &'static str,
    more_than: &'static str,
    less_than: &'static str,
}

impl Words {
    fn of(figure: Option<&str>) -> Words {
        match figure {
            None => Words {
                more: "ahead",
                less: "behind",
                more_than: "ahead of",
                less_than: "behind",
            },
            Some(_) => Words {
                more: "higher",
                less: "lower",
                more_than: "higher than",
                less_than: "lower than",
            },
        }
    }
}

/// The sentence for one comparison.
fn sentence(a: &str, b: &str, r: &Ratio, discovery: bool, words: &Words) -> String {
    let how = if r.paired {
        format!("{} rounds", r.est.n)
    } else {
        "unpaired: a run without rounds".into()
    };
    if r.resolved() && !discovery {
        format!(
            "no difference resolved after the false-discovery control ({}, {how}: the interval excludes 1, \
             the p-value {:.3} does not survive Benjamini–Hochberg at {:.0}%)",
            r.text(),
            r.est.ratio_p_value().unwrap_or(1.0),
            FDR * 100.0
        )
    } else if discovery {
        let pct = (r.est.mean - 1.0) * 100.0;
        format!(
            "{a} {} {b} by {:.0}%: {} ({how})",
            if pct > 0.0 {
                words.more_than
            } else {
                words.less_than
            },
            pct.abs(),
            r.text()
        )
    } else if r.half_width_pct() <= WIDE_PCT {
        format!(
            "no difference resolved at ±{:.0}% ({}, {how})",
            r.half_width_pct(),
            r.text()
        )
    } else {
        // A percentage in the thousands reads as a figure; the interval itself says more.
        format!(
            "no difference resolved, the interval wider than ±{WIDE_PCT:.0}% ({}, {how})",
            r.text()
        )
    }
}

/// Past this half-width (the ratio's interval spans more than a factor of two either way) a
/// comparison's precision is not stated as a percentage.
const WIDE_PCT: f64 = 100.0;

/// The cells question `q` may compare: for throughput, the closed-loop ones (an open loop's throughput
/// is the rate the driver offered, the same on every row).
pub(super) fn compared<'c>(
    run: &crate::Run,
    q: &Question,
    cells: &[&'c CellResult],
) -> Vec<&'c CellResult> {
    cells
        .iter()
        .copied()
        .filter(|c| q.figure.is_some() || !super::methodology::open_loop(run, c))
        .collect()
}

/// Whether `c` is on side `side` (for a `best_of` side: on one of its rows).
fn on(c: &CellResult, side: &Side) -> bool {
    side.row.as_ref().is_none_or(|r| *r == c.runtime)
        && (side.best_of.is_empty() || side.best_of.contains(&c.runtime))
        && side
            .params
            .iter()
            .all(|(k, v)| c.params.0.get(k).is_some_and(|x| x.to_string() == *v))
}

/// The cells of side `side`: those on it, or for a `best_of` side the ok cell with the highest
/// throughput estimate of each parameter set.
fn side_cells<'c>(side: &Side, cells: &[&'c CellResult]) -> Vec<&'c CellResult> {
    let on_side = cells.iter().copied().filter(|c| on(c, side));
    if side.best_of.is_empty() {
        return on_side.collect();
    }
    let estimate = |c: &CellResult| c.summary.as_ref().map(|s| s.throughput_ops_s.mean);
    let mut best: Vec<&CellResult> = Vec::new();
    for c in on_side.filter(|c| c.status == Status::Ok && estimate(c).is_some()) {
        match best.iter_mut().find(|b| b.params == c.params) {
            Some(b) if estimate(c) > estimate(b) => *b = c,
            Some(_) => {}
            None => best.push(c),
        }
    }
    best
}

/// Every pair of cells the question compares: each cell on side a with the cell on side b that has
/// its other parameters (and its row, when b names none).
pub(super) fn answers(q: &Question, cells: &[&CellResult], shown: &[String]) -> Vec<Answer> {
    let asked: Vec<&String> = q.a.params.keys().chain(q.b.params.keys()).collect();
    let mut out = Vec::new();
    for a in side_cells(&q.a, cells) {
        let b = cells.iter().find(|b| {
            on(b, &q.b)
                && b.runtime == q.b.row.as_deref().unwrap_or(&a.runtime)
                && b.params
                    .0
                    .iter()
                    .all(|(k, v)| asked.contains(&k) || a.params.0.get(k) == Some(v))
                && a.params.0.len() == b.params.0.len()
        });
        let Some(ratio) = b.and_then(|b| paired::figure(a, b, q.figure.as_deref())) else {
            continue;
        };
        let others: Vec<String> = shown
            .iter()
            .filter(|k| !asked.contains(k))
            .cloned()
            .collect();
        let label = a.params.label(&others);
        let context = match (&q.a.row, label.is_empty()) {
            _ if !q.a.best_of.is_empty() && label.is_empty() => {
                format!("default parameters, the best row {}", a.runtime)
            }
            _ if !q.a.best_of.is_empty() => format!("{label}, the best row {}", a.runtime),
            (Some(_), true) => "default parameters".to_string(),
            (Some(_), false) => label,
            (None, true) => format!("on {}", a.runtime),
            (None, false) => format!("on {}, {label}", a.runtime),
        };
        let discovery = ratio.resolved();
        out.push(Answer {
            context,
            ratio,
            discovery,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    /// The fixture run with its workload asking one question of its first two rows.
    fn asking(q: impl Fn(&str, &str) -> Question) -> (crate::Run, String, String) {
        let mut run = fixture::run();
        let [a, b, _] = fixture::rows(&run);
        let w = fixture::workload(&run).to_string();
        run.manifest.workloads.entry(w).or_default().questions = vec![q(&a, &b)];
        (run, a, b)
    }

    #[test]
    fn row_questions_compare_each_parameter_set_and_say_when_nothing_is_resolved() {
        let (mut run, a, b) = asking(|a, b| Question::new("a or b?", Side::row(a), Side::row(b)));
        // Put both rows' repeats in rounds, a 50% ahead in every round of the first parameter set.
        let first = run
            .cells
            .iter()
            .find(|c| c.runtime == a)
            .unwrap()
            .params
            .clone();
        for c in run.cells.iter_mut() {
            for (i, r) in c.repeats.iter_mut().enumerate() {
                r.round = Some(i);
                if c.params == first {
                    r.throughput_ops_s = if c.runtime == a {
                        150.0 + i as f64
                    } else {
                        100.0 + i as f64
                    };
                }
            }
        }
        let part = Part::new(&run, "", run.cells.iter().collect());
        let md = fixture::render(&Findings, &part).md;
        assert!(md.contains("### a or b?"), "{md}");
        let sets = run
            .cells
            .iter()
            .filter(|c| c.runtime == a && c.status == Status::Ok)
            .filter(|c| {
                run.cells
                    .iter()
                    .any(|o| o.runtime == b && o.params == c.params && o.status == Status::Ok)
            })
            .count();
        assert!(md.contains(&format!("on {sets} comparison(s)")), "{md}");
        assert!(md.contains(&format!("{a} ahead of {b} by 50%")), "{md}");
        // Every comparison is either a resolved difference or says it resolved none, with its precision.
        let lines: Vec<&str> = md.lines().filter(|l| l.starts_with("- ")).collect();
        assert_eq!(lines.len(), sets, "{md}");
        assert!(
            lines
                .iter()
                .all(|l| l.contains(" by ") || l.contains("no difference resolved")),
            "{md}"
        );
    }

    #[test]
    fn a_best_of_side_takes_the_row_with_the_highest_estimate_in_each_parameter_set() {
        let run = fixture::run();
        let [a, b, failed] = fixture::rows(&run);
        let cells: Vec<&CellResult> = run.cells.iter().collect();
        let shown = Params::varying(cells.iter().map(|c| &c.params));
        // A row whose cells all failed is never the best.
        let q = Question::new("best?", Side::best_of(&[&a, &failed]), Side::row(&b));
        let got = answers(&q, &cells, &shown);
        assert!(!got.is_empty());
        for x in &got {
            assert!(
                x.context.ends_with(&format!("the best row {a}")),
                "{}",
                x.context
            );
        }
        assert_eq!(q.a.label(), "the best row");
        let estimate = |c: &CellResult| c.summary.as_ref().unwrap().throughput_ops_s.mean;
        let both = Side::best_of(&[&a, &b]);
        let best = side_cells(&both, &cells);
        assert!(best.iter().any(|c| c.runtime == a) || best.iter().any(|c| c.runtime == b));
        for c in &best {
            let mut rivals = cells
                .iter()
                .filter(|o| on(o, &both) && o.params == c.params && o.status == Status::Ok);
            assert!(rivals.all(|o| estimate(o) <= estimate(c)), "{}", c.cell_id);
        }
    }

    #[test]
    fn throughput_questions_leave_out_open_loop_cells_and_figure_questions_keep_them() {
        let (mut run, a, b) = asking(|a, b| Question::new("a or b?", Side::row(a), Side::row(b)));
        let w = fixture::workload(&run).to_string();
        let offered =
            dyno_core::Metric::figure("offered", "requests/s", dyno_core::Better::Neither, "")
                .with_role(dyno_core::metrics::Role::OfferedRate);
        run.manifest
            .workloads
            .get_mut(&w)
            .unwrap()
            .metrics
            .push(offered.spec());
        let open = run.cells[0].cell_id.clone();
        for r in run.cells[0].repeats.iter_mut() {
            r.metrics.insert("offered".into(), 1000.0);
        }
        let cells: Vec<&CellResult> = run.cells.iter().collect();
        let q = Question::new("a or b?", Side::row(&a), Side::row(&b));
        let kept = compared(&run, &q, &cells);
        assert_eq!(kept.len(), cells.len() - 1);
        assert!(kept.iter().all(|c| c.cell_id != open));
        assert_eq!(
            compared(&run, &q.clone().on("mem"), &cells).len(),
            cells.len()
        );
    }

    #[test]
    fn figure_questions_compare_the_declared_figure_paired_by_round() {
        let (mut run, a, b) =
            asking(|a, b| Question::new("memory?", Side::row(a), Side::row(b)).on("mem"));
        let w = fixture::workload(&run).to_string();
        // Row a holds half the memory of row b in every round; throughput says nothing about it.
        for c in run.cells.iter_mut() {
            for (i, r) in c.repeats.iter_mut().enumerate() {
                r.round = Some(i);
                let base = 1000.0 + 10.0 * i as f64;
                r.metrics
                    .insert("mem".into(), if c.runtime == a { base / 2.0 } else { base });
            }
        }
        let part = Part::new(&run, "", run.cells.iter().collect());
        let md = fixture::render(&Findings, &part).md;
        assert!(md.contains("comparison(s) of `mem`"), "{md}");
        assert!(md.contains(&format!("{a} lower than {b} by 50%")), "{md}");
        assert!(md.contains(&format!("{a} higher in 0, lower in ")), "{md}");
        // A figure the cells do not have answers nothing.
        run.manifest.workloads.get_mut(&w).unwrap().questions =
            vec![Question::new("absent?", Side::row(&a), Side::row(&b)).on("nope")];
        let part = Part::new(&run, "", run.cells.iter().collect());
        let md = fixture::render(&Findings, &part).md;
        assert!(!md.contains("absent?"), "{md}");
    }

    #[test]
    fn parameter_questions_pair_cells_on_the_same_row() {
        let run = fixture::run();
        let cells: Vec<&CellResult> = run.cells.iter().collect();
        let shown = Params::varying(cells.iter().map(|c| &c.params));
        // A parameter and two of its values that two ok cells on one row differ in alone.
        let (name, values) = shown
            .iter()
            .find_map(|k| {
                cells
                    .iter()
                    .filter(|c| c.status == Status::Ok)
                    .find_map(|a| {
                        let b = cells.iter().find(|b| {
                            b.status == Status::Ok
                                && b.runtime == a.runtime
                                && b.params.0[k] != a.params.0[k]
                                && b.params
                                    .0
                                    .iter()
                                    .all(|(n, v)| n == k || a.params.0.get(n) == Some(v))
                        })?;
                        Some((
                            k.clone(),
                            [a.params.0[k].to_string(), b.params.0[k].to_string()],
                        ))
                    })
            })
            .expect("two cells that differ in one parameter");
        let q = Question::new(
            "x or y?",
            Side::param(&name, &values[0]),
            Side::param(&name, &values[1]),
        );
        let got = answers(&q, &cells, &shown);
        assert!(!got.is_empty());
        for x in &got {
            assert!(x.context.starts_with("on "), "{}", x.context);
            assert!(!x.context.contains(&format!("{name}=")), "{}", x.context);
        }
        // A question about values no cell has answers nothing.
        let none = Question::new(
            "?",
            Side::param(&name, "nope"),
            Side::param(&name, &values[0]),
        );
        assert!(answers(&none, &cells, &shown).is_empty());
    }

    #[test]
    fn an_unresolved_comparison_states_its_precision_unless_the_interval_is_too_wide_for_one() {
        let words = Words::of(None);
        let ratio = |low: f64, high: f64| Ratio {
            est: dyno_core::stats::Estimate {
                mean: 1.0,
                ci95_low: low,
                ci95_high: high,
                stddev: 0.1,
                n: 2,
            },
            paired: true,
        };
        let narrow = sentence("a", "b", &ratio(0.93, 1.07), false, &words);
        assert!(
            narrow.starts_with("no difference resolved at ±7% (1.00× [0.93–1.07], 2 rounds)"),
            "{narrow}"
        );
        let wide = sentence("a", "b", &ratio(0.01, 80.0), false, &words);
        assert!(
            wide.starts_with(
                "no difference resolved, the interval wider than ±100% (1.00× [0.01–80.00]"
            ),
            "{wide}"
        );
    }
}
