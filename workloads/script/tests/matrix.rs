//! The script workload on every runtime row: every strategy and placement runs its checked evaluations
//! and reports event-loop lag, deep recursion ends in a stack error (never a crash) on the row's
//! workers and on its blocking pool, and the lag probe sees a known 5 ms stall of the loop.

use dyno_core::params::Profile;
use dyno_core::{Collector, InProcess, Params, RepeatCtx, Row, RowConfig, Window, Workload};
use dyno_script::{ErrorKind, LAG_P99, Limits, Script, ScriptWorkload, Strategy, evaluate};
use std::time::Duration;

fn cores() -> RowConfig {
    let cores = dyno_core::os::allowed_cores();
    RowConfig {
        cores: cores.iter().copied().cycle().take(2).collect(),
    }
}

fn every_strategy_and_placement_runs<R: Row>() {
    let base: Params = ScriptWorkload::spec()
        .plan(Profile::Quick, &[], |_| Ok(()))
        .unwrap()
        .remove(0);
    for context in Strategy::NAMES {
        for placement in ["inline", "offload"] {
            let mut p = base.clone();
            p.0.insert("context".into(), context.into());
            p.0.insert("placement".into(), placement.into());
            p.0.insert("tasks_per_core".into(), 2u64.into());
            let collector = Collector::new(true);
            let ctx = RepeatCtx::new(
                cores(),
                // A warm-up long enough for the setup of an unoptimised build.
                Window::starting_in(Duration::from_millis(1500), Duration::from_millis(100)),
                collector.clone(),
            );
            let out = ScriptWorkload::run::<R>(&ctx, &p)
                .unwrap_or_else(|e| panic!("{} {context} {placement}: {e}", R::ID));
            drop(ctx);
            let rec = collector.finish();
            assert!(
                rec.ops > 0,
                "{} {context} {placement}: no evaluation in the window",
                R::ID
            );
            assert!(out.get(&LAG_P99).is_some_and(|v| v >= 0.0));
            assert!(
                out.undeclared(&ScriptWorkload::spec().declared.metrics)
                    .is_empty()
            );
        }
    }
}

fn deep_recursion_is_a_stack_error_on_every_thread<R: Row>() {
    let script = Script::new("deep", include_str!("hostile/deep-recursion.js"));
    let kinds = R::run(&cores(), move |_| {
        let script = script.clone();
        async move {
            let limits = Limits::default();
            let mut kinds = Vec::new();
            for st in [Strategy::Fresh, Strategy::Pooled, Strategy::Precompiled] {
                kinds.push(
                    evaluate(st, &limits, &script, "null")
                        .map(|_| ())
                        .map_err(|e| e.kind),
                );
                let (s, l) = (script.clone(), limits.clone());
                kinds.push(
                    R::spawn_blocking(move || {
                        evaluate(st, &l, &s, "null").map(|_| ()).map_err(|e| e.kind)
                    })
                    .await,
                );
            }
            kinds
        }
    })
    .unwrap();
    for k in kinds.into_iter().flatten() {
        assert_eq!(k, Err(ErrorKind::Stack), "{}", R::ID);
    }
}

dyno_rows::row_matrix_test!(every_strategy_and_placement_runs);
dyno_rows::row_matrix_test!(deep_recursion_is_a_stack_error_on_every_thread);

/// The lag probe sees a known stall: tasks that each hold their worker thread for exactly [`STALL`]
/// (a blocking sleep inside the task, no await), twice as many as the shard's workers so that every
/// worker is held, keep the probe's receiving task waiting. On an event-loop row some stamp then
/// waits most of a stall (the stamper sends every 1 ms, so one lands within 1 ms of a stall's start);
/// on the threads row every task is a thread of its own, the receiver is never held, and its median
/// lag stays below the stall.
fn a_known_stall_shows_as_loop_lag<R: Row>() {
    const STALL: Duration = Duration::from_millis(5);
    const STALLS: usize = 8;
    let workers = cores().workers();
    let out = R::run(&cores(), move |shard| async move {
        // Twice the workers this shard's tasks run on (a thread-per-core shard has one).
        let stallers = 2 * workers / shard.count;
        let w = Window::starting_in(Duration::ZERO, Duration::from_secs(60));
        let probe = R::spawn(dyno_script::lag::lag_probe(w, Some(60)));
        let held: Vec<_> = (0..stallers)
            .map(|_| {
                R::spawn(async {
                    for _ in 0..STALLS {
                        std::thread::sleep(STALL);
                        R::sleep(Duration::from_millis(1)).await;
                    }
                })
            })
            .collect();
        for h in held {
            h.await;
        }
        probe.await
    })
    .unwrap();
    let stall_us = STALL.as_micros() as u64;
    for h in &out {
        let (p50, max) = (h.value_at_quantile(0.5) / 1000, h.max() / 1000);
        eprintln!("{}: lag p50 {p50} µs, max {max} µs", R::ID);
        if R::ID == "threads" {
            assert!(
                p50 < stall_us,
                "threads: the receiver is a thread of its own, yet its median lag is {p50} µs"
            );
        } else {
            assert!(
                max >= stall_us - 1000,
                "{}: every worker was held {stall_us} µs at a time, yet the worst lag is {max} µs",
                R::ID
            );
        }
    }
}

dyno_rows::row_matrix_test!(a_known_stall_shows_as_loop_lag);

/// Hostile scripts beside the lag probe, inline on the loop and offloaded: the loop is never held
/// longer than the sandbox's bound (deadline + [`OVERRUN_BOUND`]), plus [`WAKE`] for the receiving
/// task to be woken and run.
fn a_hostile_script_holds_the_loop_no_longer_than_the_bound<R: Row>() {
    use dyno_script::sandbox::OVERRUN_BOUND;
    const WAKE: Duration = Duration::from_millis(50);
    const HOSTILE: [&str; 3] = [
        "function main() { for (;;) {} }",
        "function main() { return new Array(2 ** 32 - 1).join('').length; }",
        "function main() { return JSON.stringify(new Array(2 ** 32 - 1)).length; }",
    ];
    let limits = Limits::default();
    let bound = limits.deadline + OVERRUN_BOUND + WAKE;
    for offload in [false, true] {
        let out = R::run(&cores(), move |_| async move {
            let w = Window::starting_in(Duration::ZERO, Duration::from_secs(60));
            let probe = R::spawn(dyno_script::lag::lag_probe(w, Some(400)));
            let mut kinds = Vec::new();
            for src in HOSTILE {
                let s = Script::new("hostile", src);
                let l = Limits::default();
                let r = if offload {
                    R::spawn_blocking(move || evaluate(Strategy::Pooled, &l, &s, "null")).await
                } else {
                    evaluate(Strategy::Pooled, &l, &s, "null")
                };
                kinds.push(r.map(|_| ()).map_err(|e| e.kind));
                R::sleep(Duration::from_millis(1)).await;
            }
            (probe.await, kinds)
        })
        .unwrap();
        for (h, kinds) in &out {
            let max = Duration::from_nanos(h.max());
            eprintln!("{} offload={offload}: worst lag {max:?}, {kinds:?}", R::ID);
            assert!(kinds.iter().all(|k| k.is_err()), "{}: {kinds:?}", R::ID);
            assert!(
                max <= bound,
                "{} offload={offload}: the loop was held {max:?}, past the bound {bound:?}",
                R::ID
            );
        }
    }
}

dyno_rows::row_matrix_test!(a_hostile_script_holds_the_loop_no_longer_than_the_bound);
