//! The same fan-out body on every runtime row, with exact message accounting asserted.

use dyno_core::params::Profile;
use dyno_core::{Collector, Params, RepeatCtx, Row, RowConfig, Window, Workload};
use dyno_fanout::{
    AsyncBroadcast, AsyncChannel, Fanout, FanoutParams, Flume, Kanal, Report, TokioBroadcast,
    run_broadcast, run_queue,
};
use std::time::Duration;

fn new_ctx() -> RepeatCtx {
    let cores = dyno_core::os::allowed_cores();
    // Two shards' worth of cores (the same core twice on a 1-core machine).
    RepeatCtx::new(
        RowConfig {
            cores: cores.iter().copied().cycle().take(2).collect(),
        },
        Window::starting_in(Duration::from_millis(20), Duration::from_millis(80)),
        Collector::new(true),
    )
}

fn params(shape: &str, channel: &str) -> FanoutParams {
    let mut p: Params = Fanout::spec()
        .plan(Profile::Quick, &[], |_| Ok(()))
        .unwrap()
        .remove(0);
    p.0.insert("shape".into(), shape.into());
    p.0.insert("channel".into(), channel.into());
    p.0.insert("consumers".into(), 7u64.into());
    p.0.insert("queue_bound".into(), 16u64.into());
    Fanout::validate(&p).unwrap();
    FanoutParams::from(&p)
}

fn assert_queue_exact(r: &Report, c: Collector) {
    let received: u64 = r.consumers.iter().map(|c| c.received).sum();
    assert!(r.sent.total > 0);
    assert_eq!(
        received, r.sent.total,
        "every queued message is delivered exactly once"
    );
    assert_eq!(r.consumers.len(), 7);
    let rec = c.finish();
    assert_eq!(
        rec.ops, r.sent.in_window,
        "deliveries recorded = messages sent in the window"
    );
    assert_eq!(rec.latency.unwrap().len(), rec.ops);
}

fn queue_counts_every_message<R: Row>() {
    let p = params("queue", "async-channel");
    for run in [
        run_queue::<R, AsyncChannel>,
        run_queue::<R, Flume>,
        run_queue::<R, Kanal>,
    ] {
        let ctx = new_ctx();
        let r = run(&ctx, &p).unwrap();
        r.check(&p).unwrap();
        assert_queue_exact(&r, ctx.collector.clone());
    }
}

fn broadcast_counts_every_message<R: Row>() {
    let p = params("broadcast", "async-broadcast");
    let ctx = new_ctx();
    let r = run_broadcast::<R, AsyncBroadcast>(&ctx, &p).unwrap();
    r.check(&p).unwrap();
    for c in &r.consumers {
        assert_eq!(
            c.received, r.sent.total,
            "async-broadcast waits for the slowest receiver: nothing lags"
        );
        assert_eq!(c.lagged, 0);
    }
    assert_eq!(ctx.collector.clone().finish().ops, r.sent.in_window * 7);

    // tokio's broadcast drops for laggards, but says how many: accounted, never silently lost.
    let p = params("broadcast", "tokio-broadcast");
    let ctx = new_ctx();
    let r = run_broadcast::<R, TokioBroadcast>(&ctx, &p).unwrap();
    r.check(&p).unwrap();
    for c in &r.consumers {
        assert_eq!(c.received + c.lagged, r.sent.total);
    }
}

dyno_rows::row_matrix_test!(queue_counts_every_message);
dyno_rows::row_matrix_test!(broadcast_counts_every_message);
