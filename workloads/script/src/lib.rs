//! The `script` workload: sandboxed JavaScript (QuickJS through rquickjs) evaluated per operation on
//! every row, and the question whether a sandbox starves the event loop.
//!
//! Each operation evaluates one shipped script (`script`: a JSON transform, a pricing rule set, a
//! template render) on the next of a fixed set of inputs, and checks its output against a reference
//! evaluation made before the row started. `context` says where the sandbox comes from ([`Strategy`]),
//! `placement` whether the evaluation runs on the async worker (`inline`) or on the row's blocking pool
//! (`offload`, the row's `spawn_blocking`). Beside the evaluating tasks, every shard runs a lag probe
//! ([`lag`]): a std thread stamps a message every 1 ms and a task on the shard receives it, so the
//! event-loop lag figures say how long the loop was held, on a clock finer than the row's timer. The
//! same probe runs alone before the workers start, giving the row's idle wake-up latency as a baseline.

mod go;
pub mod guards;
pub mod lag;
pub mod sandbox;
pub mod scripts;
pub mod strategy;

pub use sandbox::{ErrorKind, Limits, Output, Sandbox, Script, ScriptError};
pub use strategy::{Strategy, evaluate, with_pooled};

use dyno_core::metrics::{Declarations, Question, Side};
use dyno_core::params::{ParamSpec, WorkloadSpec, group, ints, words};
use dyno_core::record::new_histogram;
use dyno_core::schema::Pairing;
use dyno_core::{
    Better, InProcess, Metric, Params, RepeatCtx, RepeatError, RepeatOutput, Role, Row, Shard,
    Window, Workload,
};
use dyno_rows::foreign::GO_ROW;
use std::sync::Arc;

/// The script workload.
pub struct ScriptWorkload;

/// Where an evaluation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On the async worker that runs the task.
    Inline,
    /// On the row's blocking pool (`Row::spawn_blocking`).
    Offload,
}

/// Script parameters, read from a validated [`Params`].
#[derive(Debug, Clone)]
pub struct ScriptParams {
    pub script: &'static scripts::Shipped,
    pub strategy: Strategy,
    pub placement: Placement,
    pub tasks_per_core: usize,
}

impl ScriptParams {
    pub fn from(p: &Params) -> Result<Self, RepeatError> {
        let unknown =
            |what: &str, name: &str| RepeatError::Failed(format!("unknown {what} {name}"));
        let script = scripts::shipped(p.word("script"))
            .ok_or_else(|| unknown("script", p.word("script")))?;
        let strategy = Strategy::parse(p.word("context"))
            .ok_or_else(|| unknown("context", p.word("context")))?;
        let placement = match p.word("placement") {
            "inline" => Placement::Inline,
            _ => Placement::Offload,
        };
        Ok(ScriptParams {
            script,
            strategy,
            placement,
            tasks_per_core: p.int("tasks_per_core") as usize,
        })
    }
}

/// Inputs per repeat: operations cycle through them, each with its reference output.
pub const INPUTS: u64 = 64;
/// Stamps the lag probe takes alone, before the workers start, for the idle baseline.
pub const IDLE_STAMPS: u32 = 50;
/// Warm sandboxes made (with the script compiled) to measure the resident memory one costs.
pub const RSS_SANDBOXES: usize = 32;

/// Event-loop lag, median.
pub const LAG_P50: Metric = Metric::figure(
    "loop_lag_p50_us",
    "µs",
    Better::Lower,
    "how long a message stamped every 1 ms by a std thread waits before a task on the shard receives it, while scripts run (median)",
);
/// Event-loop lag, 99th percentile.
pub const LAG_P99: Metric = Metric::figure(
    "loop_lag_p99_us",
    "µs",
    Better::Lower,
    "the same event-loop lag while scripts run (p99)",
);
/// Event-loop lag, worst.
pub const LAG_MAX: Metric = Metric::figure(
    "loop_lag_max_us",
    "µs",
    Better::Lower,
    "the same event-loop lag while scripts run (worst)",
);
/// Event-loop lag with no script running (the row's wake-up latency).
pub const LAG_IDLE_P99: Metric = Metric::figure(
    "loop_lag_idle_p99_us",
    "µs",
    Better::Neither,
    "the same probe before any script runs (p99): the row's own wake-up latency, the baseline",
);
/// Resident memory one warm sandbox adds.
pub const RSS_PER_SANDBOX: Metric = Metric::figure(
    "rss_per_pooled_runtime_bytes",
    "bytes",
    Better::Lower,
    "resident memory one warm pooled runtime with its context and the compiled script adds (RSS with 32 against none)",
)
.with_role(Role::Memory);
/// QuickJS's own allocation for one warm sandbox.
pub const QJS_PER_SANDBOX: Metric = Metric::figure(
    "quickjs_bytes_per_runtime",
    "bytes",
    Better::Lower,
    "bytes QuickJS reports allocated by one warm runtime with the compiled script",
)
.with_role(Role::Memory);
/// Lag samples recorded in the window.
pub const LAG_SAMPLES: Metric = Metric::figure(
    "lag_samples_in_window",
    "stamps",
    Better::Neither,
    "stamps received in the measured window over all shards",
);

/// Every figure the workload declares.
pub const FIGURES: [Metric; 7] = [
    LAG_P50,
    LAG_P99,
    LAG_MAX,
    LAG_IDLE_P99,
    LAG_SAMPLES,
    RSS_PER_SANDBOX,
    QJS_PER_SANDBOX,
];

impl Workload for ScriptWorkload {
    fn spec() -> WorkloadSpec {
        let base = |contexts: &[&str], placements: &[&str]| {
            group([
                ("script", words(&["pricing"])),
                ("context", words(contexts)),
                ("placement", words(placements)),
                ("tasks_per_core", ints(&[4])),
            ])
        };
        let names: Vec<&str> = scripts::SHIPPED.iter().map(|s| s.name).collect();
        WorkloadSpec {
            name: "script".into(),
            about: "sandboxed JavaScript (QuickJS via rquickjs) per operation: fresh, pooled or precompiled sandboxes, inline or offloaded, with a 1 ms lag probe measuring event-loop starvation".into(),
            params: vec![
                ParamSpec::choice("script", "shipped script: a JSON transform, pricing rules, a template render", &names),
                ParamSpec::choice(
                    "context",
                    "fresh: new runtime and context per evaluation; pooled: the thread's warm runtime, its frozen context reused; precompiled: the same with the source compiled once into a function, run afresh per evaluation",
                    &Strategy::NAMES,
                ),
                ParamSpec::choice("placement", "inline: on the async worker; offload: on the row's spawn_blocking pool", &["inline", "offload"]),
                ParamSpec::int("tasks_per_core", "evaluating tasks per core of the row, each one evaluation at a time", 1, 10_000, "tasks"),
            ],
            // The quick profile keeps to its 3 minutes with the placement question alone; fresh
            // against pooled is the full profile's.
            quick: vec![base(&["pooled"], &["inline", "offload"])],
            // The full profile (45 minutes on 2 cores) takes the shipped pricing script; the other
            // scripts and placements are one `-p` away.
            full: vec![
                base(&["fresh", "pooled", "precompiled"], &["inline"]),
                base(&["pooled"], &["offload"]),
            ],
            declared: Declarations {
                ops_unit: "evaluations".into(),
                metrics: FIGURES.iter().map(Metric::spec).collect(),
                questions: dyno_rows::design_questions()
                    .into_iter()
                    .chain(dyno_rows::go_questions())
                    .chain([
                        Question::new(
                            "What does a fresh sandbox per evaluation cost against a pooled one?",
                            Side::param("context", "fresh"),
                            Side::param("context", "pooled"),
                        ),
                        Question::new(
                            "What does compiling once buy over a pooled sandbox?",
                            Side::param("context", "precompiled"),
                            Side::param("context", "pooled"),
                        ),
                        Question::new(
                            "Evaluate on the async workers or offload to the blocking pool?",
                            Side::param("placement", "inline"),
                            Side::param("placement", "offload"),
                        ),
                    ])
                    .collect(),
                pairing: Pairing::BlocksOnly,
                pairing_why: "a sandbox's deadline runs on wall time, so an evaluation stopped for \
                              the other rows' turns times out (tried: every time-sliced cell failed \
                              so); in blocks the rows' per-round ratios already vary about 4% (SD of \
                              the log ratio against the best row, median of 15, 5 rounds)"
                    .into(),
                window_s: Some(1.0),
                window_why: "in the reference run 20261207-084129 the noise inside a 2 s window \
                             was 0.6% of a repeat's throughput (3% of the variance), between \
                             processes 2.4% (40%): more, shorter processes buy more than longer \
                             windows"
                    .into(),
                ..Default::default()
            },
        }
    }

    fn unavailable(row: &str, params: &Params) -> Option<String> {
        if row != GO_ROW {
            return None;
        }
        match ScriptParams::from(params) {
            Ok(p) => go::unavailable(&p),
            Err(e) => Some(e.to_string()),
        }
    }

    fn fairness_notes<R: Row>() -> Vec<String> {
        let l = Limits::default();
        vec![
            format!(
                "sandbox limits: memory {} MiB, stack {} KiB, deadline {:?}, {} microtasks, output {} KiB",
                l.memory_bytes >> 20,
                l.stack_bytes >> 10,
                l.deadline,
                l.max_jobs,
                l.max_output_bytes >> 10
            ),
            format!("offload placement: {}", R::BLOCKING_POOL),
            "one QuickJS runtime per thread that evaluates (worker, shard or blocking thread), never shared".into(),
        ]
    }
}

impl InProcess for ScriptWorkload {
    fn run<R: Row>(ctx: &RepeatCtx, params: &Params) -> Result<RepeatOutput, RepeatError> {
        let p = ScriptParams::from(params)?;
        let limits = Limits::default();
        let (script, inputs, expected) = reference(&p, &limits)?;
        let (rss_per, qjs_per) = sandbox_memory(&limits, &script, &inputs[0])?;
        let job = Arc::new(Job {
            p: p.clone(),
            limits,
            script,
            inputs,
            expected,
        });
        let (w, collector) = (ctx.window, ctx.collector.clone());
        let tasks = p.tasks_per_core * ctx.row.workers();
        let shards = R::run(&ctx.row, move |shard: Shard| {
            let job = job.clone();
            let collector = collector.clone();
            async move {
                let idle = R::spawn(lag::lag_probe(w, Some(IDLE_STAMPS))).await;
                let now = w.now_ns();
                if w.contains(now) || w.is_over(now) {
                    return (idle, new_histogram(), Some(late_start(&w)));
                }
                let ticks = R::spawn(lag::lag_probe(w, None));
                let workers: Vec<_> = shard
                    .owned(tasks)
                    .map(|i| {
                        let mut probe = collector.probe();
                        let job = job.clone();
                        R::spawn(async move { worker::<R>(&job, w, &mut probe, i as u64).await })
                    })
                    .collect();
                let mut failed = None;
                for t in workers {
                    if let Err(e) = t.await {
                        failed.get_or_insert(e);
                    }
                }
                (idle, ticks.await, failed)
            }
        })?;
        let (mut idle, mut busy) = (new_histogram(), new_histogram());
        for (i, b, failed) in shards {
            if let Some(e) = failed {
                return Err(RepeatError::Failed(e));
            }
            idle.add(&i).map_err(|e| e.to_string())?;
            busy.add(&b).map_err(|e| e.to_string())?;
        }
        if busy.is_empty() {
            return Err("the lag probe received no stamp in the window".into());
        }
        let us = |ns: u64| ns as f64 / 1e3;
        let mut m = RepeatOutput::new();
        m.set(&LAG_P50, us(busy.value_at_quantile(0.5)));
        m.set(&LAG_P99, us(busy.value_at_quantile(0.99)));
        m.set(&LAG_MAX, us(busy.max()));
        m.set(&LAG_IDLE_P99, us(idle.value_at_quantile(0.99)));
        m.set(&LAG_SAMPLES, busy.len() as f64);
        m.set(&RSS_PER_SANDBOX, rss_per);
        m.set(&QJS_PER_SANDBOX, qjs_per);
        Ok(m)
    }
}

/// The script of `p`, its [`INPUTS`] inputs and their reference outputs: each evaluated in a fresh
/// sandbox before the row starts.
fn reference(
    p: &ScriptParams,
    limits: &Limits,
) -> Result<(Script, Vec<String>, Vec<String>), String> {
    let script = Script::new(p.script.name, p.script.source);
    let inputs: Vec<String> = (0..INPUTS)
        .map(|i| (p.script.input)(i).to_string())
        .collect();
    let expected = inputs
        .iter()
        .map(|i| {
            evaluate(Strategy::Fresh, limits, &script, i)
                .map(|o| o.json)
                .map_err(|e| format!("reference evaluation of {}: {e}", script.name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((script, inputs, expected))
}

/// Go beside the rows: the same engine through cgo ([`go`]).
impl dyno_core::References for ScriptWorkload {
    fn reference_rows(cores: &[usize]) -> Vec<dyno_core::schema::RowInfo> {
        vec![go::GO.row_info(cores)]
    }

    fn run_reference(
        row: &str,
        ctx: &RepeatCtx,
        _client: Option<&dyno_core::ClientCtx>,
        measured: &dyno_core::MeasuredProcess,
        params: &Params,
    ) -> Result<RepeatOutput, RepeatError> {
        if row != GO_ROW {
            return Err(RepeatError::Failed(format!(
                "no reference row {row:?}; accepted: {GO_ROW}"
            )));
        }
        go::run_repeat(ctx, measured, params)
    }
}

/// What every evaluating task shares.
struct Job {
    p: ScriptParams,
    limits: Limits,
    script: Script,
    inputs: Vec<String>,
    expected: Vec<String>,
}

/// Evaluate until the window closes, each operation on the next input, its output checked; latency of
/// operations started in the window recorded.
async fn worker<R: Row>(
    job: &Arc<Job>,
    w: Window,
    probe: &mut dyno_core::Probe,
    first: u64,
) -> Result<(), String> {
    let n = job.inputs.len() as u64;
    let mut i = first;
    loop {
        let t0 = w.now_ns();
        if w.is_over(t0) {
            return Ok(());
        }
        let k = (i % n) as usize;
        i += 1;
        let out = match job.p.placement {
            Placement::Inline => evaluate(job.p.strategy, &job.limits, &job.script, &job.inputs[k]),
            Placement::Offload => {
                let job = job.clone();
                R::spawn_blocking(move || {
                    evaluate(job.p.strategy, &job.limits, &job.script, &job.inputs[k])
                })
                .await
            }
        }
        .map_err(|e| format!("{} on input {k}: {e}", job.script.name))?;
        if out.json != job.expected[k] {
            return Err(format!(
                "{} on input {k} returned {} instead of the reference {}",
                job.script.name, out.json, job.expected[k]
            ));
        }
        probe.record_since(&w, t0);
        if job.p.placement == Placement::Inline {
            R::yield_now().await;
        }
    }
}

/// The error when setup (reference outputs, the memory measurement, the idle stamps) outlasted the
/// warm-up, so the window opened before the evaluating tasks started.
fn late_start(w: &Window) -> String {
    format!(
        "setup and the {IDLE_STAMPS} idle lag stamps took longer than the warm-up ({:?}): the window opened before the evaluating tasks started; give a longer warm-up",
        w.warmup()
    )
}

/// Resident memory and QuickJS's own allocation per warm sandbox (script compiled), measured on this
/// thread as RSS with [`RSS_SANDBOXES`] of them against none.
fn sandbox_memory(limits: &Limits, script: &Script, input: &str) -> Result<(f64, f64), String> {
    let before = dyno_core::os::current_rss().ok_or("cannot read this process's RSS")?;
    let mut kept = Vec::with_capacity(RSS_SANDBOXES);
    let mut qjs = 0u64;
    for _ in 0..RSS_SANDBOXES {
        let mut s = Sandbox::new(limits).map_err(|e| e.to_string())?;
        s.eval_compiled(script, input).map_err(|e| e.to_string())?;
        qjs += s.memory_used();
        kept.push(s);
    }
    let after = dyno_core::os::current_rss().ok_or("cannot read this process's RSS")?;
    drop(kept);
    let n = RSS_SANDBOXES as f64;
    Ok((after.saturating_sub(before) as f64 / n, qjs as f64 / n))
}
