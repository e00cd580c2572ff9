//! What a run prints: one line per finished cell and the workload × row summary table.

use dyno_core::Params;
use dyno_core::human::{ns, per_cpu_second, si};
use dyno_core::metrics::Declarations;
use dyno_core::schema::{CellResult, Status};
use std::collections::BTreeMap;

pub(super) fn one_line(c: &CellResult, unit: &str) -> String {
    match (&c.status, &c.summary) {
        (Status::Ok, Some(s)) => format!(
            "{} ok: {}/s {} (p99 {}), {}",
            c.cell_id,
            si(s.throughput_ops_s.mean),
            if unit.is_empty() { "ops" } else { unit },
            ns(s.latency_ns.p99),
            match per_cpu_second(s.ops_per_cpu_s, s.cpu_user_s + s.cpu_sys_s) {
                v if s.cpu_user_s + s.cpu_sys_s > 0.0 => format!("{v} per CPU-second"),
                none => format!("{none} in the window"),
            }
        ),
        _ => format!(
            "{} {:?}: {}",
            c.cell_id,
            c.status,
            c.error.as_deref().unwrap_or("")
        ),
    }
}

/// Workload × row: throughput (in each workload's declared unit) with the half-width of its 95% CI, or
/// why the cell is not ok. Rows in `rows`' order, then any others.
pub(super) fn summary_table(
    cells: &[CellResult],
    rows: &[String],
    declared: &BTreeMap<String, Declarations>,
) -> String {
    let mut keys: Vec<(String, String, String)> = Vec::new();
    for c in cells {
        let shown = Params::varying(
            cells
                .iter()
                .filter(|o| o.workload == c.workload)
                .map(|o| &o.params),
        );
        let k = (
            c.workload.clone(),
            c.params.key(),
            format!(
                "{} ({}) {}",
                c.workload,
                declared
                    .get(&c.workload)
                    .map(|d| d.ops_unit.as_str())
                    .filter(|u| !u.is_empty())
                    .unwrap_or("ops"),
                c.params.label(&shown)
            ),
        );
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut present: Vec<&String> = rows
        .iter()
        .filter(|r| cells.iter().any(|c| &c.runtime == *r))
        .collect();
    for c in cells {
        if !present.contains(&&c.runtime) {
            present.push(&c.runtime);
        }
    }
    let lw = keys.iter().map(|k| k.2.len()).max().unwrap_or(0).max(24);
    let width = 14;
    let mut out = format!("\n{:<lw$}", "per second ± 95% CI");
    for r in &present {
        out.push_str(&format!(" {r:>width$}"));
    }
    out.push('\n');
    for (w, key, label) in keys {
        out.push_str(&format!("{label:<lw$}"));
        for r in &present {
            let c = cells
                .iter()
                .find(|c| c.workload == w && c.params.key() == key && &c.runtime == *r);
            let text = match c {
                None => "-".to_string(),
                Some(c) => match (&c.status, &c.summary) {
                    (Status::Ok, Some(s)) => {
                        let t = &s.throughput_ops_s;
                        match t.half_width_rel() {
                            Some(h) => format!("{} ±{:.0}%", si(t.mean), h * 100.0),
                            // One repeat has no interval.
                            None => format!("{} (n={})", si(t.mean), t.n),
                        }
                    }
                    (st, _) => format!("{st:?}").to_lowercase(),
                },
            };
            out.push_str(&format!(" {text:>width$}"));
        }
        out.push('\n');
    }
    out
}
