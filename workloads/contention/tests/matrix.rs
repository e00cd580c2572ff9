//! The contention workload on every runtime row: every primitive on every row, on all the allowed
//! cores (two tasks per core), with its increments accounted for and each task getting operations.

use dyno_contention::{Contention, PRIMITIVES, TASK_SPREAD, WRITES};
use dyno_core::params::{Override, Profile};
use dyno_core::{Collector, InProcess, RepeatCtx, Row, RowConfig, Window, Workload};
use std::time::Duration;

fn every_primitive_counts_every_increment<R: Row>() {
    let set = |s: &str| s.parse::<Override>().unwrap();
    let overrides = [
        set(&format!("primitive={}", PRIMITIVES.join(","))),
        set("read_share=50"),
    ];
    let cells = Contention::spec()
        .plan(Profile::Quick, &overrides, |_| Ok(()))
        .unwrap();
    assert_eq!(cells.len(), PRIMITIVES.len());
    for params in &cells {
        let ctx = RepeatCtx::new(
            RowConfig {
                cores: dyno_core::os::allowed_cores(),
            },
            Window::starting_in(Duration::from_millis(10), Duration::from_millis(40)),
            Collector::new(true),
        );
        // `run` fails when the counter disagrees with the increments the tasks counted.
        let out = Contention::run::<R>(&ctx, params)
            .unwrap_or_else(|e| panic!("{} {}: {e}", R::ID, params.key()));
        let rec = ctx.collector.clone().finish();
        let what = format!("{} {}", R::ID, params.key());
        assert!(rec.ops > 0, "{what}: no operation recorded");
        assert!(out.get(&WRITES).unwrap() > 0.0, "{what}: no increment");
        assert!(out.get(&TASK_SPREAD).unwrap().is_finite(), "{what}");
    }
}

dyno_rows::row_matrix_test!(every_primitive_counts_every_increment);
