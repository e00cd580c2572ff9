//! The `go` reference row through the row protocol: Go channels deliver every message of both shapes,
//! and the cell folds the program's answer into operations, latency, timeline and declared figures.

use std::path::Path;

fn run(params: &str) -> Option<dyno_core::protocol::CellOutput> {
    dyno_rows::foreign::go_cell_for_test(
        "fanout_go_row",
        Path::new(env!("CARGO_BIN_EXE_dyno-cell-fanout")),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("go"),
        params,
    )
}

#[test]
fn the_go_row_delivers_every_message_of_both_shapes() {
    for (shape, channel) in [("queue", "async-channel"), ("broadcast", "async-broadcast")] {
        let params = format!(
            r#"{{"shape":"{shape}","channel":"{channel}","consumers":8,"queue_bound":64,"payload_bytes":64,"work_ns":0}}"#
        );
        let Some(out) = run(&params) else { return };
        assert_eq!(out.skipped, None, "{shape}");
        let r = &out.repeats[0];
        let sent = r.metrics["messages_sent_in_window"];
        assert!(r.ops > 1000 && sent > 100.0, "{shape}: {r:?}");
        // Queue: each message once; broadcast: once per consumer (8), up to the window's edges.
        let per = if shape == "queue" { 1.0 } else { 8.0 };
        let ratio = r.ops as f64 / (sent * per);
        assert!(
            (0.9..=1.0 + 1e-9).contains(&ratio),
            "{shape}: {} of {sent}",
            r.ops
        );
        assert!(r.histogram.is_some(), "{shape}: latency recorded");
        assert!(
            r.window_usage.cpu_user_s + r.window_usage.cpu_sys_s > 0.05,
            "{r:?}"
        );
        assert_eq!(
            out.fairness.model,
            "reference: Go goroutines and channels (GMP scheduler)"
        );
    }
}

#[test]
fn the_go_row_is_skipped_in_the_sets_of_other_channels() {
    let why = dyno_rows::foreign::skipped_for_test(
        Path::new(env!("CARGO_BIN_EXE_dyno-cell-fanout")),
        "go",
        r#"{"shape":"queue","channel":"flume","consumers":8,"queue_bound":64,"payload_bytes":64,"work_ns":0}"#,
    );
    assert!(
        why.contains("async-channel and async-broadcast, not flume"),
        "{why}"
    );
}
