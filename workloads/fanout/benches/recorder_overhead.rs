//! The recorder's own cost: fan-out throughput with latency recording on (clock read at receive + per-thread
//! HdrHistogram) against off (operations counted only), interleaved in one run on the same cores.
//!
//! `cargo bench -p dyno-fanout --bench recorder_overhead [-- ROUNDS WINDOW_S]`

use dyno_core::estimate::median;
use dyno_core::params::Profile;
use dyno_core::{Collector, Params, RepeatCtx, Row, RowConfig, Window, Workload};
use dyno_fanout::{AsyncChannel, Fanout, FanoutParams, run_queue};
use dyno_rows::{Tokio, TokioTpc};
use std::time::Duration;

fn throughput<R: Row>(p: &FanoutParams, latency: bool, window: Duration) -> f64 {
    let ctx = RepeatCtx::new(
        RowConfig {
            cores: dyno_core::os::allowed_cores(),
        },
        Window::starting_in(Duration::from_millis(300), window),
        Collector::new(latency),
    );
    let report = run_queue::<R, AsyncChannel>(&ctx, p).expect("fan-out runs");
    report.check(p).expect("every message accounted for");
    ctx.collector.clone().finish().ops as f64 / window.as_secs_f64()
}

fn compare<R: Row>(p: &FanoutParams, rounds: usize, window: Duration) {
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        // Alternate the order so drift over time does not favour one side.
        if i % 2 == 0 {
            on.push(throughput::<R>(p, true, window));
            off.push(throughput::<R>(p, false, window));
        } else {
            off.push(throughput::<R>(p, false, window));
            on.push(throughput::<R>(p, true, window));
        }
    }
    let ratios: Vec<f64> = on.iter().zip(&off).map(|(a, b)| a / b).collect();
    let (mon, moff) = (median(&on), median(&off));
    println!(
        "{:<10} recording on {:>12.0} deliveries/s, off {:>12.0} deliveries/s, on/off {:.4} (median of per-round ratios {:.4}; overhead {:+.2}%)",
        R::ID,
        mon,
        moff,
        mon / moff,
        median(&ratios),
        (1.0 - median(&ratios)) * 100.0
    );
}

/// Direct cost of recording one operation (clock read + probe) against counting it, in ns per operation.
fn per_op_cost() {
    const N: u64 = 20_000_000;
    let w = Window::starting_in(Duration::ZERO, Duration::from_secs(3600));
    let time = |latency: bool| {
        let c = Collector::new(latency);
        let mut p = c.probe();
        let t = std::time::Instant::now();
        for i in 0..N {
            let sent = std::hint::black_box(i);
            if latency {
                p.record(w.now_ns().wrapping_sub(sent) & 0xffff);
            } else {
                p.count(1);
            }
        }
        let ns = t.elapsed().as_nanos() as f64 / N as f64;
        drop(p);
        assert_eq!(c.finish().ops, N);
        ns
    };
    let (on, off) = (time(true), time(false));
    println!(
        "per operation: record (clock + histogram) {on:.1} ns, count only {off:.1} ns, recorder cost {:.1} ns",
        on - off
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rounds: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(10);
    let window = Duration::from_secs_f64(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1.0));
    per_op_cost();
    for work_ns in [0u64, 2000] {
        let mut params: Params = Fanout::spec()
            .plan(Profile::Quick, &[], Fanout::validate)
            .unwrap()
            .remove(1);
        params.0.insert("consumers".into(), 64u64.into());
        params.0.insert("work_ns".into(), work_ns.into());
        let p = FanoutParams::from(&params);
        println!(
            "fan-out queue, async-channel, 64 consumers, work_ns={work_ns}, {rounds} rounds of {window:?} per side"
        );
        compare::<Tokio>(&p, rounds, window);
        compare::<TokioTpc>(&p, rounds, window);
    }
}
