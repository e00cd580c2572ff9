//! The `go` reference row through the row protocol: QuickJS through cgo evaluates the shipped script
//! in every context with the Rust sandbox's outputs (the program checks each against the reference),
//! and reports the lag and memory figures; offloading is skipped with the reason.

use std::path::Path;

fn params(context: &str, placement: &str) -> String {
    format!(
        r#"{{"script":"pricing","context":"{context}","placement":"{placement}","tasks_per_core":2}}"#
    )
}

#[test]
fn go_evaluates_the_shipped_script_in_every_context_as_the_rust_sandbox_does() {
    for context in ["fresh", "pooled", "precompiled"] {
        let Some(out) = dyno_rows::foreign::go_cell_for_test(
            "script_go_row",
            Path::new(env!("CARGO_BIN_EXE_dyno-cell-script")),
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("go"),
            &params(context, "inline"),
        ) else {
            return;
        };
        assert_eq!(out.skipped, None, "{context}");
        let r = &out.repeats[0];
        assert!(r.ops > 50, "{context}: {r:?}");
        assert!(r.histogram.is_some(), "{context}: latency recorded");
        let m = &r.metrics;
        assert!(m["lag_samples_in_window"] > 0.0, "{context}: {m:?}");
        assert!(m["loop_lag_p99_us"] >= m["loop_lag_p50_us"], "{m:?}");
        assert!(m["loop_lag_idle_p99_us"] > 0.0, "{m:?}");
        // A warm QuickJS runtime with the script compiled holds tens of KiB of its own.
        assert!(m["quickjs_bytes_per_runtime"] > 10_000.0, "{m:?}");
        assert!(m.contains_key("rss_per_pooled_runtime_bytes"), "{m:?}");
        assert!(
            out.fairness
                .notes
                .iter()
                .any(|n| n.contains("rquickjs-sys")),
            "{:?}",
            out.fairness.notes
        );
    }
}

#[test]
fn the_go_row_skips_offloading_with_the_reason() {
    let why = dyno_rows::foreign::skipped_for_test(
        Path::new(env!("CARGO_BIN_EXE_dyno-cell-script")),
        "go",
        &params("pooled", "offload"),
    );
    assert!(why.contains("placement=inline only"), "{why}");
}
