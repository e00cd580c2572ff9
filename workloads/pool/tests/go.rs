//! The `go` reference row through the row protocol: sync.Pool hands back empty buffers and saves the
//! allocations that plain allocation makes, and the GC's cost comes back as declared figures.

use std::path::Path;

fn run(contender: &str) -> Option<dyno_core::protocol::CellOutput> {
    let params = format!(
        r#"{{"contender":"{contender}","object":"buf-4k","pattern":"same","allocator":"system","tasks_per_core":2,"burst":256}}"#
    );
    dyno_rows::foreign::go_cell_for_test(
        "pool_go_row",
        Path::new(env!("CARGO_BIN_EXE_dyno-cell-pool")),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("go"),
        &params,
    )
}

#[test]
fn sync_pool_saves_the_allocations_that_plain_allocation_makes() {
    let Some(malloc) = run("malloc") else { return };
    let Some(pooled) = run("thread-local") else {
        return;
    };
    let (m, p) = (&malloc.repeats[0], &pooled.repeats[0]);
    assert!(m.ops > 10_000 && p.ops > 10_000, "{m:?} {p:?}");
    // A fresh 4 KiB buffer (and its header) per operation, against nearly none from the pool.
    assert!(
        m.metrics["bytes_allocated_per_op"] >= 4096.0,
        "{:?}",
        m.metrics
    );
    assert!(p.metrics["allocations_per_op"] < 0.1, "{:?}", p.metrics);
    // Allocating 4 KiB per operation makes the collector run inside a half-second window.
    assert!(m.metrics["gc_cycles_in_window"] >= 1.0, "{:?}", m.metrics);
    assert!(m.metrics.contains_key("gc_pause_in_window_ms"));
    assert!(m.histogram.is_some() && p.histogram.is_some());
}
