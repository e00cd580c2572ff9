//! The markdown pages: overview matrix, one page per workload, methodology, and the book's SUMMARY.md.

use crate::charts::{self, Bar};
use crate::{GENERATED, Page, Run};
use dyno_core::Params;
use dyno_core::human::{bytes, ns, si};
use dyno_core::metrics::Role;
use dyno_core::params::ParamValue;
use dyno_core::record::decode_histogram;
use dyno_core::schema::{CellResult, ProfilerChoice, Status};
use std::fmt::Write;

/// Cells of one workload grouped by parameter set, in run order, with the label of each set.
fn param_sets<'a>(run: &'a Run, workload: &str) -> Vec<(String, Vec<&'a CellResult>)> {
    let cells: Vec<&CellResult> = run
        .cells
        .iter()
        .filter(|c| c.workload == workload)
        .collect();
    let shown = Params::varying(cells.iter().map(|c| &c.params));
    let mut sets: Vec<(String, String, Vec<&CellResult>)> = Vec::new();
    for c in cells {
        let key = c.params.key();
        match sets.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, v)) => v.push(c),
            None => {
                let label = c.params.label(&shown);
                let label = if label.is_empty() {
                    "default parameters".to_string()
                } else {
                    label
                };
                sets.push((key, label, vec![c]))
            }
        }
    }
    sets.into_iter().map(|(_, l, v)| (l, v)).collect()
}

fn reason(c: &CellResult) -> String {
    let status = format!("{:?}", c.status).to_lowercase();
    format!(
        "{status}: {}",
        c.error
            .as_deref()
            .unwrap_or("no reason recorded")
            .replace('|', "\\|")
    )
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// `overview.md`: workload × row, headline throughput, best marked, others as a ratio to the best.
pub fn overview(run: &Run) -> Page {
    let m = &run.manifest;
    let mut s = String::new();
    let ok = run.cells.iter().filter(|c| c.status == Status::Ok).count();
    let _ = writeln!(s, "# Overview\n");
    let _ = writeln!(
        s,
        "Run `{}` ({} profile) started {}, commit `{}`{}, on {} ({} cores). {} cells: {ok} ok, {} not ok.\n",
        m.run_id,
        m.profile,
        m.started,
        short(&m.git.commit),
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
    let rows = run.rows();
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
        for r in &rows {
            let _ = write!(s, " {r} |");
        }
        let _ = write!(s, "\n|---|");
        for _ in &rows {
            let _ = write!(s, "---:|");
        }
        s.push('\n');
        for (label, cells) in param_sets(run, &w) {
            let best = cells
                .iter()
                .filter_map(|c| c.summary.as_ref().filter(|_| c.status == Status::Ok))
                .map(|s| s.throughput_ops_s)
                .max_by(|a, b| a.mean.total_cmp(&b.mean));
            let _ = write!(s, "| {label} |");
            for r in &rows {
                let text = match cells.iter().find(|c| &c.runtime == r) {
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
    if !run.problems.is_empty() {
        let _ = writeln!(s, "## Missing or untrusted results\n");
        for p in &run.problems {
            let _ = writeln!(s, "- {}", p.replace('|', "\\|"));
        }
    }
    Page::text(format!("{GENERATED}/overview.md"), s)
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// `<workload>.md` and its charts.
pub fn workload(run: &Run, w: &str) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut s = String::new();
    let first = run.cells.iter().find(|c| c.workload == w);
    let _ = writeln!(s, "# {w}\n");
    if let Some(c) = first {
        let _ = writeln!(
            s,
            "One operation is one of: {}. Latency percentiles merge every repeat's samples.\n",
            c.ops_unit
        );
    }
    let rows = run.rows();
    for (i, (label, cells)) in param_sets(run, w).into_iter().enumerate() {
        let _ = writeln!(s, "## {label}\n");
        let _ = writeln!(
            s,
            "| row | throughput (ops/s) | 95% CI | p50 | p99 | p99.9 | max | CPU user / sys (s) | ops per CPU-s | peak RSS | ctx switches vol / invol | errors | noise |"
        );
        let _ = writeln!(
            s,
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        let mut tput = Vec::new();
        let mut eff = Vec::new();
        let mut rss = Vec::new();
        let mut lat = Vec::new();
        for r in &rows {
            let Some(c) = cells.iter().find(|c| &c.runtime == r) else {
                continue;
            };
            match (&c.summary, c.status) {
                (Some(m), Status::Ok) => {
                    let t = m.throughput_ops_s;
                    let l = m.latency_ns;
                    let _ = writeln!(
                        s,
                        "| {r} | {} | {}–{} | {} | {} | {} | {} | {:.2} / {:.2} | {} | {} | {} / {} | {} | {} |",
                        si(t.mean),
                        si(t.ci95_low),
                        si(t.ci95_high),
                        ns(l.p50),
                        ns(l.p99),
                        ns(l.p999),
                        ns(l.max),
                        m.cpu_user_s,
                        m.cpu_sys_s,
                        si(m.ops_per_cpu_s),
                        bytes(m.peak_rss_bytes),
                        m.ctx_switches_voluntary,
                        m.ctx_switches_involuntary,
                        m.errors,
                        m.noise.join("; ")
                    );
                    tput.push(Bar {
                        label: r.clone(),
                        value: t.mean,
                        ci: Some((t.ci95_low, t.ci95_high)),
                    });
                    eff.push(Bar {
                        label: r.clone(),
                        value: m.ops_per_cpu_s,
                        ci: None,
                    });
                    rss.push(Bar {
                        label: r.clone(),
                        value: m.peak_rss_bytes as f64 / (1024.0 * 1024.0),
                        ci: None,
                    });
                    let hist = c
                        .artifacts
                        .histogram
                        .as_deref()
                        .and_then(|p| run.artifact(p));
                    if let Some(Ok(h)) = hist.map(|h| decode_histogram(&h)) {
                        lat.push((r.clone(), h));
                    }
                }
                _ => {
                    let _ = writeln!(s, "| {r} | {} | | | | | | | | | | | |", reason(c));
                }
            }
        }
        s.push('\n');
        s.push_str(&workload_metrics(&rows, &cells));
        let base = format!("{}-{i}", slug(w));
        let mut chart = |kind: &str, alt: &str, svg: String| {
            let path = format!("charts/{base}-{kind}.svg");
            let _ = writeln!(s, "![{alt}]({path})\n");
            pages.push(Page::text(format!("{GENERATED}/{path}"), svg));
        };
        if !tput.is_empty() {
            chart(
                "throughput",
                "throughput",
                charts::bars(
                    &format!("{w}: throughput, {label}"),
                    "ops/s (95% CI)",
                    &tput,
                ),
            );
        }
        if !lat.is_empty() {
            chart(
                "latency",
                "latency percentiles",
                charts::latency_curves(&format!("{w}: latency, {label}"), &lat),
            );
        }
        if !eff.is_empty() {
            chart(
                "efficiency",
                "ops per CPU-second",
                charts::bars(
                    &format!("{w}: CPU efficiency, {label}"),
                    "ops per CPU-second",
                    &eff,
                ),
            );
            chart(
                "memory",
                "peak RSS",
                charts::bars(&format!("{w}: peak RSS, {label}"), "MiB", &rss),
            );
        }
        let series = timeseries(run, &rows, &cells);
        if !series.is_empty() {
            let pick = |f: fn(&Point) -> f64| -> Vec<(String, Vec<(f64, f64)>)> {
                series
                    .iter()
                    .map(|(r, pts)| (r.clone(), pts.iter().map(|p| (p.0, f(p))).collect()))
                    .collect()
            };
            let (rss, cpu, client) = (pick(|p| p.2), pick(|p| p.1), pick(|p| p.3));
            let x = "seconds since the cell started";
            chart(
                "rss-over-time",
                "RSS over time",
                charts::lines(
                    &format!("{w}: RSS over time, {label}"),
                    x,
                    "RSS (MiB)",
                    &rss,
                    false,
                ),
            );
            chart(
                "cpu-over-time",
                "CPU over time",
                charts::lines(
                    &format!("{w}: CPU over time, {label}"),
                    x,
                    "cores busy",
                    &cpu,
                    false,
                ),
            );
            let client_name = run.declared(w).client.map(|c| c.name);
            if series.iter().any(|(_, pts)| pts.iter().any(|p| p.3 > 0.0)) {
                let who = client_name.as_deref().unwrap_or("client process");
                chart(
                    "generator-cpu-over-time",
                    &format!("{who} CPU over time"),
                    charts::lines(
                        &format!("{w}: {who} CPU over time, {label}"),
                        x,
                        "cores busy",
                        &client,
                        false,
                    ),
                );
            }
        }
        s.push_str(&flamegraphs(run, &rows, &cells, &base, &mut pages));
    }
    s.push_str(&sweeps(run, w, &mut pages));
    s.push_str(&references(run, w));
    pages.insert(0, Page::text(format!("{GENERATED}/{w}.md"), s));
    pages
}

/// One sampled point: (seconds, cores busy, RSS MiB, the load generator's cores busy or 0).
type Point = (f64, f64, f64, f64);

/// Each row's sampled series.
fn timeseries(run: &Run, rows: &[String], cells: &[&CellResult]) -> Vec<(String, Vec<Point>)> {
    let mut out = Vec::new();
    for r in rows {
        let Some(c) = cells
            .iter()
            .find(|c| &c.runtime == r && c.status == Status::Ok)
        else {
            continue;
        };
        let Some(csv) = c
            .artifacts
            .timeseries_csv
            .as_deref()
            .and_then(|p| run.artifact(p))
        else {
            continue;
        };
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (Some(t), Some(cpu), Some(rss)) =
            (col("t_s"), col("process_cpu_cores"), col("rss_bytes"))
        else {
            continue;
        };
        // Runs from before the generator was sampled apart have no client column.
        let client = col("client_cpu_cores");
        let pts: Vec<Point> = lines
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let num = |i: usize| f.get(i)?.parse::<f64>().ok();
                let client_cpu = client.and_then(num).unwrap_or(0.0);
                Some((
                    num(t)?,
                    num(cpu)?,
                    num(rss)? / (1024.0 * 1024.0),
                    client_cpu,
                ))
            })
            .collect();
        if !pts.is_empty() {
            out.push((r.clone(), pts));
        }
    }
    out
}

/// Flamegraphs per row and differential flamegraphs of each row against the run's baseline row, from
/// folded stacks.
fn flamegraphs(
    run: &Run,
    rows: &[String],
    cells: &[&CellResult],
    base: &str,
    pages: &mut Vec<Page>,
) -> String {
    let mut s = String::new();
    let folded: Vec<(&String, String, &CellResult)> = rows
        .iter()
        .filter_map(|r| {
            let c = cells
                .iter()
                .find(|c| &c.runtime == r && c.status == Status::Ok)?;
            let f = c
                .artifacts
                .folded_stacks
                .as_deref()
                .and_then(|p| run.artifact(p))?;
            Some((r, f, *c))
        })
        .collect();
    let unprofiled: Vec<String> = cells
        .iter()
        .filter(|c| c.status == Status::Ok && c.artifacts.folded_stacks.is_none())
        .map(|c| {
            let why = c
                .profile
                .as_ref()
                .and_then(|p| p.error.clone())
                .unwrap_or_else(|| "profiling was off for this run".into());
            format!("{}: {why}", c.runtime)
        })
        .collect();
    if folded.is_empty() {
        let _ = writeln!(
            s,
            "No flamegraph was recorded for these cells ({}).\n",
            unprofiled.join("; ")
        );
        return s;
    }
    let pprof = folded
        .iter()
        .any(|(_, _, c)| c.profile.as_ref().is_some_and(|p| p.tool == "pprof"));
    let how = if pprof {
        "in-process with pprof-rs at 99 Hz over the measured window (perf was not installed: samples \
         in libc, libgcc, pthread and the vDSO are dropped, so syscall time is missing; the coverage \
         says how much of the CPU time the flamegraph shows)"
    } else {
        "with `perf` at 99 Hz after the warm-up (kernel frames included; inlined functions appear as \
         part of their caller)"
    };
    let _ = writeln!(
        s,
        "### Flamegraphs\n\nOne extra, unmeasured repeat per cell profiled {how}. Click to zoom; Ctrl-F \
         searches.\n"
    );
    for (r, f, c) in &folded {
        let path = format!("flames/{base}-{r}.svg");
        let cov = c
            .profile
            .as_ref()
            .map(|p| {
                format!(
                    " — {} samples, coverage {:.0}%",
                    p.samples,
                    p.coverage * 100.0
                )
            })
            .unwrap_or_default();
        let tool = c.profile.as_ref().map_or("perf", |p| p.tool.as_str());
        let title = format!("{} on {r}", c.workload);
        match crate::flame::flamegraph(f, &title, crate::flame::count_name(tool)) {
            Ok(svg) => {
                let _ = writeln!(
                    s,
                    "#### {r}{cov}\n\n<object data=\"{path}\" type=\"image/svg+xml\" width=\"100%\"></object>\n"
                );
                pages.push(Page::text(format!("{GENERATED}/{path}"), svg));
            }
            Err(e) => {
                let _ = writeln!(s, "#### {r}\n\nflamegraph failed: {e}\n");
            }
        }
    }
    for u in &unprofiled {
        let _ = writeln!(s, "- not profiled: {u}");
    }
    let baseline = run.baseline_row().unwrap_or_default();
    if let Some((_, base_folded, _)) = folded.iter().find(|(r, _, _)| **r == baseline) {
        let others: Vec<_> = folded.iter().filter(|(r, _, _)| **r != baseline).collect();
        if !others.is_empty() {
            let _ = writeln!(
                s,
                "### Differential flamegraphs against {baseline}\n\nShape is the row's profile; red frames take a larger share \
                 of the samples than on {baseline}, blue a smaller one (inferno's differential, normalized).\n"
            );
        }
        for (r, f, _) in others {
            let path = format!("flames/{base}-{r}-vs-{baseline}.svg");
            match crate::flame::differential(base_folded, f, &format!("{r} against {baseline}")) {
                Ok(svg) => {
                    let _ = writeln!(
                        s,
                        "#### {r} against {baseline}\n\n<object data=\"{path}\" type=\"image/svg+xml\" width=\"100%\"></object>\n"
                    );
                    pages.push(Page::text(format!("{GENERATED}/{path}"), svg));
                }
                Err(e) => {
                    let _ = writeln!(
                        s,
                        "#### {r} against {baseline}\n\ndifferential flamegraph failed: {e}\n"
                    );
                }
            }
        }
    }
    s
}

/// Throughput against each whole-number parameter that varies while the others stay fixed.
fn sweeps(run: &Run, w: &str, pages: &mut Vec<Page>) -> String {
    let cells: Vec<&CellResult> = run
        .cells
        .iter()
        .filter(|c| c.workload == w && c.status == Status::Ok)
        .collect();
    let varying = Params::varying(cells.iter().map(|c| &c.params));
    let mut s = String::new();
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
            let mut xs: Vec<u64> = group
                .iter()
                .filter_map(|c| match c.params.0.get(p) {
                    Some(ParamValue::Int(n)) => Some(*n),
                    _ => None,
                })
                .collect();
            xs.sort();
            xs.dedup();
            if xs.len() < 2 {
                continue;
            }
            if s.is_empty() {
                s.push_str("## Sweeps\n\n");
            }
            let mut series = Vec::new();
            for r in run.rows() {
                let mut pts: Vec<(f64, f64)> = group
                    .iter()
                    .filter(|c| c.runtime == r)
                    .filter_map(|c| match (c.params.0.get(p), &c.summary) {
                        (Some(ParamValue::Int(n)), Some(m)) => {
                            Some((*n as f64, m.throughput_ops_s.mean))
                        }
                        _ => None,
                    })
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                if !pts.is_empty() {
                    series.push((r, pts));
                }
            }
            let label = rest.label(&others);
            let title = format!(
                "{w}: throughput vs {p}{}",
                if label.is_empty() {
                    String::new()
                } else {
                    format!(", {label}")
                }
            );
            let path = format!("charts/{}-sweep-{}-{j}.svg", slug(w), slug(p));
            let _ = writeln!(s, "### {title}\n\n![{title}]({path})\n");
            pages.push(Page::text(
                format!("{GENERATED}/{path}"),
                charts::sweep(&title, p, "ops/s", &series),
            ));
            let p99: Vec<(String, Vec<(f64, f64)>)> = run
                .rows()
                .into_iter()
                .filter_map(|r| {
                    let mut pts: Vec<(f64, f64)> = group
                        .iter()
                        .filter(|c| c.runtime == r)
                        .filter_map(|c| match (c.params.0.get(p), &c.summary) {
                            (Some(ParamValue::Int(n)), Some(m)) if m.latency_ns.p99 > 0 => {
                                Some((*n as f64, m.latency_ns.p99 as f64 / 1e6))
                            }
                            _ => None,
                        })
                        .collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    (!pts.is_empty()).then_some((r, pts))
                })
                .collect();
            if !p99.is_empty() {
                let t = title.replacen("throughput", "p99 latency", 1);
                let path = format!("charts/{}-sweep-{}-{j}-p99.svg", slug(w), slug(p));
                let _ = writeln!(s, "![{t}]({path})\n");
                pages.push(Page::text(
                    format!("{GENERATED}/{path}"),
                    charts::sweep(&t, p, "p99 latency (ms)", &p99),
                ));
            }
            s.push_str(&sustainable(run, w, &group));
        }
    }
    s
}

/// The workload's reference bench, if the run has one (`references/<workload>.json`, written by
/// `cargo xtask bench`): its own markdown, or why it was skipped.
fn references(run: &Run, w: &str) -> String {
    match run.references.get(w) {
        None => String::new(),
        Some(Err(e)) => format!("## Reference tools\n\n{e}\n\n"),
        Some(Ok(doc)) => match (&doc.skipped, &doc.markdown) {
            (Some(why), _) => format!("## Reference tools\n\nSkipped: {why}.\n\n"),
            (None, Some(md)) => format!(
                "## Reference tools\n\nFrom `references/{w}.json` (commit {}).\n\n{md}\n",
                doc.commit.as_deref().unwrap_or("unknown")
            ),
            (None, None) => String::new(),
        },
    }
}

/// Mean of a workload metric over a cell's repeats.
fn metric(c: &CellResult, name: &str) -> Option<f64> {
    let v: Vec<f64> = c
        .repeats
        .iter()
        .filter_map(|r| r.metrics.get(name).copied())
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// For open-loop cells of a workload that declares an SLO and its offered and achieved rates: each row's
/// highest offered rate that was sustained (p99 within the SLO, its share of the offered rate achieved,
/// no errors).
fn sustainable(run: &Run, w: &str, group: &[&CellResult]) -> String {
    let d = run.declared(w);
    let (Some(slo), Some(offered_m), Some(achieved_m)) = (
        d.slo,
        d.with_role(|r| *r == Role::OfferedRate),
        d.with_role(|r| *r == Role::AchievedRate),
    ) else {
        return String::new();
    };
    let (offered_n, achieved_n) = (offered_m.name.as_str(), achieved_m.name.as_str());
    if !group.iter().any(|c| metric(c, offered_n).is_some()) {
        return String::new();
    }
    let mut s = format!(
        "**Max sustainable throughput** (highest offered rate with p99 ≤ {}, ≥ {:.0}% of it achieved, no errors):\n\n| row | max sustainable ({}) | p99 there | first rate that failed |\n|---|---:|---:|---|\n",
        ns(slo.p99_ns),
        slo.achieved_share * 100.0,
        offered_m.unit
    );
    for r in run.rows() {
        let mut cells: Vec<(f64, &CellResult)> = group
            .iter()
            .filter(|c| c.runtime == r)
            .filter_map(|c| metric(c, offered_n).map(|o| (o, *c)))
            .collect();
        if cells.is_empty() {
            continue;
        }
        cells.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut best: Option<(f64, u64)> = None;
        let mut failed = None;
        for (offered, c) in cells {
            let ok = match (&c.summary, c.status) {
                (Some(m), Status::Ok) => {
                    m.errors == 0
                        && m.latency_ns.p99 <= slo.p99_ns
                        && metric(c, achieved_n).unwrap_or(0.0) >= slo.achieved_share * offered
                }
                _ => false,
            };
            if ok && failed.is_none() {
                best = Some((offered, c.summary.as_ref().map_or(0, |m| m.latency_ns.p99)));
            } else if failed.is_none() {
                failed = Some(match &c.summary {
                    Some(m) => format!(
                        "{} (p99 {}, achieved {})",
                        si(offered),
                        ns(m.latency_ns.p99),
                        si(metric(c, achieved_n).unwrap_or(0.0))
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
    s
}

/// The workload's own figures (repeat metrics, mean over repeats), one line per figure.
fn workload_metrics(rows: &[String], cells: &[&CellResult]) -> String {
    let mut names: Vec<&String> = cells
        .iter()
        .flat_map(|c| c.repeats.iter().flat_map(|r| r.metrics.keys()))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return String::new();
    }
    let shown: Vec<&String> = rows
        .iter()
        .filter(|r| {
            cells
                .iter()
                .any(|c| &c.runtime == *r && !c.repeats.is_empty())
        })
        .collect();
    let mut s = String::from(
        "<details><summary>Workload figures (mean over repeats)</summary>\n\n| figure |",
    );
    for r in &shown {
        let _ = write!(s, " {r} |");
    }
    s.push_str("\n|---|");
    s.push_str(&"---:|".repeat(shown.len()));
    s.push('\n');
    for n in names {
        let _ = write!(s, "| {n} |");
        for r in &shown {
            let v = cells
                .iter()
                .find(|c| &c.runtime == *r)
                .and_then(|c| metric(c, n));
            let _ = write!(s, " {} |", v.map_or(String::new(), figure));
        }
        s.push('\n');
    }
    s.push_str("\n</details>\n\n");
    s
}

/// A figure: small whole numbers as they are, others with SI prefixes.
fn figure(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e4 {
        format!("{v:.0}")
    } else {
        si(v)
    }
}

/// `methodology.md`: machine, toolchain, revision, settings, fairness per row, noise flags.
pub fn methodology(run: &Run) -> Page {
    let m = &run.manifest;
    let st = &m.settings;
    let mut s = String::new();
    let _ = writeln!(s, "# Methodology\n");
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| run | `{}` ({} profile) |", m.run_id, m.profile);
    let _ = writeln!(
        s,
        "| started / finished | {} / {} |",
        m.started,
        m.finished.as_deref().unwrap_or("not finished")
    );
    let _ = writeln!(
        s,
        "| commit | `{}`{} |",
        m.git.commit,
        if m.git.dirty {
            " (uncommitted changes)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "| machine | {}, {} logical cores, {} RAM |",
        m.host.cpu_model,
        m.host.cores,
        bytes(m.host.memory_bytes)
    );
    let _ = writeln!(s, "| kernel / OS | {} / {} |", m.host.kernel, m.host.os);
    let _ = writeln!(s, "| rustc | {} |", m.toolchain.rustc);
    let _ = writeln!(
        s,
        "| per cell | warm-up {} s, then {} repeat(s) of a {} s measured window; timeout {} s |",
        st.warmup_s, st.repeats, st.duration_s, st.cell_timeout_s
    );
    let _ = writeln!(s, "| cores | {:?} |", st.cores);
    let _ = writeln!(
        s,
        "| observability | time series every 100 ms: {}; one extra profiled repeat per cell ({}, 99 Hz): {} |\n",
        if st.sampler { "on" } else { "off" },
        match st.profiler {
            ProfilerChoice::Auto => "perf where installed, else pprof",
            ProfilerChoice::Perf => "perf",
            ProfilerChoice::Pprof => "pprof",
        },
        if st.profile { "on" } else { "off" }
    );
    let _ = writeln!(
        s,
        "Every cell runs in its own process confined to the cores above. Warm-up is not measured; each repeat \
         restarts the runtime. Throughput is the mean over repeats with a Student-t 95% interval. CPU time and \
         context switches cover the measured window only; peak RSS is the cell process's high-water mark. \
         What each figure means is in [Metrics](../metrics.md).\n"
    );
    let _ = writeln!(s, "## Rows and fairness\n");
    let _ = writeln!(
        s,
        "| row | model | workers | cores | pinned | I/O | notes |\n|---|---|---:|---|---|---|---|"
    );
    for r in run.rows() {
        if let Some(c) = run.cells.iter().find(|c| c.runtime == r) {
            let f = &c.fairness;
            let _ = writeln!(
                s,
                "| {r} | {} | {} | {:?} | {} | {} | {} |",
                f.model,
                f.workers,
                f.cores,
                if f.pinned { "yes" } else { "no" },
                f.io,
                f.notes.join("; ")
            );
        }
    }
    s.push_str(&observer_overhead(run));
    let _ = writeln!(s, "\n## Noise flags\n");
    let noisy: Vec<_> = run
        .cells
        .iter()
        .filter_map(|c| {
            c.summary
                .as_ref()
                .filter(|m| !m.noise.is_empty())
                .map(|m| (c, m))
        })
        .collect();
    if noisy.is_empty() {
        let _ = writeln!(s, "No cell was flagged.");
    } else {
        for (c, m) in noisy {
            let _ = writeln!(s, "- `{}`: {}", c.cell_id, m.noise.join("; "));
        }
    }
    let _ = writeln!(
        s,
        "\n## Downloads\n\n- [summary.csv](exports/summary.csv)\n- [bencher.json](exports/bencher.json) (Bencher Metric Format)"
    );
    Page::text(format!("{GENERATED}/methodology.md"), s)
}

/// What the sampler and the profiler cost the cells (`overhead.json`, written by `dyno overhead` in
/// `cargo xtask bench`), if the run has it.
fn observer_overhead(run: &Run) -> String {
    match &run.overhead {
        None => String::new(),
        Some(Ok(o)) => format!("\n## What observing costs\n\n{}\n", o.markdown),
        Some(Err(e)) => format!("\n## What observing costs\n\n{e}\n"),
    }
}

/// The book's `SUMMARY.md`: hand-written chapters around the generated pages.
pub fn summary(workloads: &[String], compare: bool) -> Page {
    let mut s = String::from("# Summary\n\n[Introduction](introduction.md)\n\n# Results\n\n");
    let _ = writeln!(s, "- [Overview]({GENERATED}/overview.md)");
    for w in workloads {
        let _ = writeln!(s, "  - [{w}]({GENERATED}/{w}.md)");
    }
    let _ = writeln!(s, "- [Methodology]({GENERATED}/methodology.md)");
    if compare {
        let _ = writeln!(s, "- [Comparison with a baseline]({GENERATED}/compare.md)");
    }
    s.push_str("\n# Guide\n\n- [Metrics](metrics.md)\n- [Reproduce](reproduce.md)\n- [Adding a workload](adding-a-workload.md)\n");
    Page::text("SUMMARY.md", s)
}
