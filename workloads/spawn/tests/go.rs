//! The `go` reference row through the row protocol: goroutines spawned and joined, and goroutines held
//! idle then woken, with their figures.

use std::path::Path;

fn run(params: &str) -> Option<dyno_core::protocol::CellOutput> {
    dyno_rows::foreign::go_cell_for_test(
        "spawn_go_row",
        Path::new(env!("CARGO_BIN_EXE_dyno-cell-spawn")),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("go"),
        params,
    )
}

#[test]
fn goroutines_spawn_join_and_wake_with_their_figures() {
    let Some(out) = run(r#"{"mode":"spawn","tasks":64,"body":"yield","spawners":"every"}"#) else {
        return;
    };
    let r = &out.repeats[0];
    assert!(r.ops >= 64 && r.ops % 64 == 0, "{r:?}");
    assert!(r.histogram.is_some());
    let Some(out) = run(r#"{"mode":"idle","tasks":10000,"body":"empty","spawners":"every"}"#)
    else {
        return;
    };
    let r = &out.repeats[0];
    assert_eq!(r.ops, 10_000, "every idle goroutine woke: {r:?}");
    assert_eq!(r.metrics["idle_tasks_held"], 10_000.0);
    assert_eq!(r.metrics["spawn_stopped_at"], 0.0);
    // A goroutine's stack starts at a few KB: well under 64 KB per idle goroutine, and above nothing.
    let per = r.metrics["rss_per_idle_task_bytes"];
    assert!((500.0..65_536.0).contains(&per), "{per}");
    assert!(r.metrics["wake_all_ms"] > 0.0);
}
