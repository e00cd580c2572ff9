//! `compare`: two runs, cell by cell: the change in throughput and a verdict (faster, slower, or no
//! significant change when the 95% intervals overlap).

use crate::Run;
use dyno_core::human::si;
use dyno_core::schema::Status;
use std::fmt::Write;

/// What happened to one cell between two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub cell_id: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// after / before - 1.
    pub change: Option<f64>,
    pub verdict: String,
}

/// Compare `after` against `before`, for every cell id present in either.
pub fn compare(before: &Run, after: &Run) -> Vec<Change> {
    let mut ids: Vec<&str> = before.cells.iter().map(|c| c.cell_id.as_str()).collect();
    for c in &after.cells {
        if !ids.contains(&c.cell_id.as_str()) {
            ids.push(&c.cell_id);
        }
    }
    ids.into_iter()
        .map(|id| {
            let est = |r: &Run| {
                r.cells
                    .iter()
                    .find(|c| c.cell_id == id)
                    .and_then(|c| c.summary.as_ref().filter(|_| c.status == Status::Ok))
                    .map(|s| s.throughput_ops_s)
            };
            let (b, a) = (est(before), est(after));
            let (change, verdict) = match (b, a) {
                (Some(b), Some(a)) => {
                    let ch = a.mean / b.mean - 1.0;
                    let v = if a.overlaps(&b) {
                        "no significant change"
                    } else if a.mean > b.mean {
                        "faster"
                    } else {
                        "slower"
                    };
                    (Some(ch), v.to_string())
                }
                (None, Some(_)) => (None, "not ok or absent before".to_string()),
                (Some(_), None) => (None, "not ok or absent after".to_string()),
                (None, None) => (None, "not ok in either run".to_string()),
            };
            Change {
                cell_id: id.to_string(),
                before: b.map(|e| e.mean),
                after: a.map(|e| e.mean),
                change,
                verdict,
            }
        })
        .collect()
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(si).unwrap_or_else(|| "–".into())
}

fn fmt_change(c: Option<f64>) -> String {
    c.map(|c| format!("{:+.1}%", c * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// The comparison as plain text for a terminal.
pub fn text(before: &Run, after: &Run, changes: &[Change]) -> String {
    let mut s = format!(
        "{} -> {} (throughput, ops/s)\n",
        before.manifest.run_id, after.manifest.run_id
    );
    let w = changes.iter().map(|c| c.cell_id.len()).max().unwrap_or(10);
    for c in changes {
        let _ = writeln!(
            s,
            "{:<w$}  {:>10} -> {:>10}  {:>8}  {}",
            c.cell_id,
            fmt_opt(c.before),
            fmt_opt(c.after),
            fmt_change(c.change),
            c.verdict
        );
    }
    s
}

/// The comparison as a book page.
pub fn markdown(changes: &[Change]) -> String {
    let mut s = String::from(
        "# Comparison with a baseline\n\nThroughput per cell; a change is significant only when the two 95% \
         intervals do not overlap.\n\n| cell | before | after | change | verdict |\n|---|---:|---:|---:|---|\n",
    );
    for c in changes {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            c.cell_id,
            fmt_opt(c.before),
            fmt_opt(c.after),
            fmt_change(c.change),
            c.verdict
        );
    }
    s
}
