//! The `go` reference row through the row protocol: sync.RWMutex and atomic.Value keep every
//! increment, and the cell folds the program's answer into operations, latency and declared figures.

use std::path::Path;

#[test]
fn the_go_row_keeps_every_increment_behind_each_primitive() {
    for primitive in ["rwlock", "arc-swap", "sharded"] {
        let params = format!(r#"{{"primitive":"{primitive}","read_share":90,"tasks_per_core":4}}"#);
        let Some(out) = dyno_rows::foreign::go_cell_for_test(
            "contention_go_row",
            Path::new(env!("CARGO_BIN_EXE_dyno-cell-contention")),
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("go"),
            &params,
        ) else {
            return;
        };
        assert_eq!(out.skipped, None, "{primitive}");
        let r = &out.repeats[0];
        assert!(r.ops > 10_000, "{primitive}: {r:?}");
        // Whole batches of 64, about one write in ten.
        assert_eq!(r.ops % 64, 0, "{primitive}");
        let writes = r.metrics["writes_in_window"] / r.ops as f64;
        assert!((0.05..0.15).contains(&writes), "{primitive}: {writes}");
        assert!(r.metrics["task_spread"] >= 0.0);
        assert!(r.histogram.is_some(), "{primitive}: latency recorded");
    }
}
