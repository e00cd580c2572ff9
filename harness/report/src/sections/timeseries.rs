//! Time series sampled during each cell (every 100 ms): RSS, the cell's CPU, and its client's CPU.

use super::{Out, Part, Section};
use crate::charts;

/// One sampled point.
struct Point {
    t_s: f64,
    cpu_cores: f64,
    rss_mib: f64,
    /// The declared client process's cores busy; 0 where the cell has none.
    client_cpu_cores: f64,
}

/// Each row's sampled series, from the cells' `timeseries_csv` artifacts.
fn series(part: &Part<'_>) -> Vec<(String, Vec<Point>)> {
    let mut out = Vec::new();
    for (r, c) in part.ok_by_row() {
        let Some(csv) = c
            .artifacts
            .timeseries_csv
            .as_deref()
            .and_then(|p| part.run.artifact(p))
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
        // Runs from before the client was sampled apart have no client column.
        let client = col("client_cpu_cores");
        let pts: Vec<Point> = lines
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let num = |i: usize| f.get(i)?.parse::<f64>().ok();
                Some(Point {
                    t_s: num(t)?,
                    cpu_cores: num(cpu)?,
                    rss_mib: num(rss)? / (1024.0 * 1024.0),
                    client_cpu_cores: client.and_then(num).unwrap_or(0.0),
                })
            })
            .collect();
        if !pts.is_empty() {
            out.push((r.clone(), pts));
        }
    }
    out
}

/// One line per row of `y` against time.
fn chart(
    part: &Part<'_>,
    out: &mut Out,
    (kind, alt, y_desc): (&str, &str, &str),
    series: &[(String, Vec<Point>)],
    y: fn(&Point) -> f64,
) {
    let lines: Vec<(String, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(r, pts)| (r.clone(), pts.iter().map(|p| (p.t_s, y(p))).collect()))
        .collect();
    let title = format!("{}: {alt}, {}", part.workload, part.label);
    let svg = charts::lines(
        &title,
        "seconds since the cell started",
        y_desc,
        &lines,
        false,
    );
    out.chart(&format!("{}-{kind}", part.stem), alt, svg);
}

/// The cell process's RSS over time.
pub struct Rss;

impl Section for Rss {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let s = series(part);
        if !s.is_empty() {
            let what = ("rss-over-time", "RSS over time", "RSS (MiB)");
            chart(part, out, what, &s, |p| p.rss_mib);
        }
    }
}

/// The cell process's CPU over time (without its client's threads).
pub struct Cpu;

impl Section for Cpu {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let s = series(part);
        if !s.is_empty() {
            let what = ("cpu-over-time", "CPU over time", "cores busy");
            chart(part, out, what, &s, |p| p.cpu_cores);
        }
    }
}

/// The declared client process's CPU over time, where one was sampled.
pub struct ClientCpu;

impl Section for ClientCpu {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let s = series(part);
        if !s
            .iter()
            .any(|(_, pts)| pts.iter().any(|p| p.client_cpu_cores > 0.0))
        {
            return;
        }
        let client = part.run.declared(part.workload).client.map(|c| c.name);
        let alt = format!(
            "{} CPU over time",
            client.as_deref().unwrap_or("client process")
        );
        let what = ("generator-cpu-over-time", alt.as_str(), "cores busy");
        chart(part, out, what, &s, |p| p.client_cpu_cores);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    #[test]
    fn rss_and_cpu_charts_have_a_line_per_sampled_row() {
        let run = fixture::run();
        let part = fixture::first_set(&run);
        let ran = fixture::rows(&run);
        for (section, kind) in [
            (&Rss as &dyn Section, "rss-over-time"),
            (&Cpu, "cpu-over-time"),
        ] {
            let out = fixture::render(section, &part);
            let svg = fixture::file(&out, &format!("charts/{}-{kind}.svg", part.stem));
            assert!(
                fixture::shows(svg, &ran[0]) && fixture::shows(svg, &ran[1]),
                "{kind}"
            );
        }
    }

    #[test]
    fn the_client_chart_needs_a_sampled_client_and_is_named_after_it() {
        let mut run = fixture::run();
        let none = fixture::render(&ClientCpu, &fixture::first_set(&run));
        assert!(none.md.is_empty() && none.files.is_empty());

        for text in run.artifacts.values_mut() {
            if text.starts_with("t_s,") {
                let mut lines = text.lines();
                let mut csv = format!("{},client_cpu_cores\n", lines.next().unwrap());
                for l in lines {
                    csv.push_str(&format!("{l},0.5\n"));
                }
                *text = csv;
            }
        }
        let anonymous = fixture::render(&ClientCpu, &fixture::first_set(&run));
        assert!(
            anonymous.md.contains("client process CPU over time"),
            "{}",
            anonymous.md
        );

        run.manifest.workloads.insert(
            fixture::workload(&run).to_string(),
            dyno_core::metrics::Declarations {
                client: Some(dyno_core::metrics::ClientSpec {
                    name: "test client".into(),
                    thread_prefix: "tc-".into(),
                }),
                ..Default::default()
            },
        );
        let named = fixture::render(&ClientCpu, &fixture::first_set(&run));
        assert!(
            named.md.contains("![test client CPU over time]"),
            "{}",
            named.md
        );
    }
}
