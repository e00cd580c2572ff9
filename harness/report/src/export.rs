//! Machine-readable exports next to the book: a CSV of every cell's summary, and Bencher Metric Format JSON.

use crate::{GENERATED, Page, Run};
use dyno_core::schema::Status;
use serde_json::{Map, Value, json};

pub fn exports(run: &Run) -> Vec<Page> {
    vec![
        Page {
            path: format!("{GENERATED}/exports/summary.csv"),
            bytes: csv(run),
        },
        Page::text(format!("{GENERATED}/exports/bencher.json"), bmf(run)),
    ]
}

fn csv(run: &Run) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "cell_id",
        "workload",
        "runtime",
        "params",
        "status",
        "error",
        "throughput_ops_s",
        "ci95_low",
        "ci95_high",
        "p50_ns",
        "p90_ns",
        "p99_ns",
        "p999_ns",
        "max_ns",
        "cpu_user_s",
        "cpu_sys_s",
        "ops_per_cpu_s",
        "peak_rss_bytes",
        "ctx_switches_voluntary",
        "ctx_switches_involuntary",
        "errors",
        "noise",
    ];
    w.write_record(header)
        .expect("writing to a Vec cannot fail");
    for c in &run.cells {
        let mut rec = vec![
            c.cell_id.clone(),
            c.workload.clone(),
            c.runtime.clone(),
            c.params.key(),
            format!("{:?}", c.status).to_lowercase(),
            c.error.clone().unwrap_or_default(),
        ];
        match (&c.summary, c.status) {
            (Some(s), Status::Ok) => rec.extend([
                s.throughput_ops_s.mean.to_string(),
                s.throughput_ops_s.ci95_low.to_string(),
                s.throughput_ops_s.ci95_high.to_string(),
                s.latency_ns.p50.to_string(),
                s.latency_ns.p90.to_string(),
                s.latency_ns.p99.to_string(),
                s.latency_ns.p999.to_string(),
                s.latency_ns.max.to_string(),
                s.cpu_user_s.to_string(),
                s.cpu_sys_s.to_string(),
                s.ops_per_cpu_s.to_string(),
                s.peak_rss_bytes.to_string(),
                s.ctx_switches_voluntary.to_string(),
                s.ctx_switches_involuntary.to_string(),
                s.errors.to_string(),
                s.noise.join("; "),
            ]),
            _ => rec.extend(std::iter::repeat_n(String::new(), header.len() - rec.len())),
        }
        w.write_record(&rec).expect("writing to a Vec cannot fail");
    }
    w.into_inner().expect("flushing a Vec cannot fail")
}

/// Bencher Metric Format: `{ benchmark: { measure: { value, lower_value?, upper_value? } } }`, ok cells only.
fn bmf(run: &Run) -> String {
    let mut root = Map::new();
    for c in &run.cells {
        let (Some(s), Status::Ok) = (&c.summary, c.status) else {
            continue;
        };
        let t = s.throughput_ops_s;
        root.insert(
            c.cell_id.clone(),
            json!({
                "throughput": { "value": t.mean, "lower_value": t.ci95_low, "upper_value": t.ci95_high },
                "latency_p99_ns": { "value": s.latency_ns.p99 },
                "ops_per_cpu_s": { "value": s.ops_per_cpu_s },
                "peak_rss_bytes": { "value": s.peak_rss_bytes },
            }),
        );
    }
    serde_json::to_string_pretty(&Value::Object(root)).expect("JSON values serialize")
}
