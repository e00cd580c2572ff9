//! The `contention` workload: tasks on every core share one counter through a synchronisation
//! primitive (std, parking_lot, async-lock and tokio::sync locks, an atomic, arc-swap, a sharded counter), each
//! operation a read with probability `read_share`% and otherwise an increment. Throughput is operations
//! per second; every 64th operation is timed alone for the latency histogram; the spread of per-task
//! operation counts says how fairly the primitive shares the counter. Every increment is accounted for:
//! the counter's final value must equal the writes the tasks counted.

pub mod go;
mod shared;

pub use shared::{PRIMITIVES, Shared};

use dyno_core::metrics::{Declarations, Question, Side};
use dyno_core::params::{ParamSpec, WorkloadSpec, group, ints, words};
use dyno_core::{
    Better, InProcess, Metric, Params, RepeatCtx, RepeatError, RepeatOutput, Row, Shard, Window,
    Workload,
};
use dyno_rows::foreign::GO_ROW;
use std::sync::Arc;

/// Operations per batch: a task yields to its row between batches, and times one operation of each.
pub const BATCH: u64 = 64;

/// The `contention` workload.
pub struct Contention;

/// One cell's parameters.
#[derive(Debug, Clone)]
pub struct ContentionParams {
    pub primitive: String,
    /// Percent of operations that read (the rest increment).
    pub read_share: u64,
    pub tasks_per_core: usize,
}

impl From<&Params> for ContentionParams {
    fn from(p: &Params) -> Self {
        ContentionParams {
            primitive: p.word("primitive").to_string(),
            read_share: p.int("read_share"),
            tasks_per_core: p.int("tasks_per_core") as usize,
        }
    }
}

/// Increments made in the window.
pub const WRITES: Metric = Metric::figure(
    "writes_in_window",
    "operations",
    Better::Neither,
    "increments the tasks made inside the measured window",
);
/// How unevenly the tasks got the counter.
pub const TASK_SPREAD: Metric = Metric::figure(
    "task_spread",
    "ratio",
    Better::Lower,
    "(most − fewest) / mean operations per task in the window: 0 when every task got the same share",
);

impl Workload for Contention {
    fn spec() -> WorkloadSpec {
        let set = |primitives: &[&str], reads: &[u64], tasks: &[u64]| {
            group([
                ("primitive", words(primitives)),
                ("read_share", ints(reads)),
                ("tasks_per_core", ints(tasks)),
            ])
        };
        WorkloadSpec {
            name: "contention".into(),
            about:
                "tasks on every core reading and incrementing one shared counter through a lock, \
                    an atomic or a sharded counter"
                    .into(),
            params: vec![
                ParamSpec::choice(
                    "primitive",
                    "mutex, rwlock: std::sync; pl-mutex, pl-rwlock: parking_lot; async-mutex, \
                     async-rwlock: async-lock (awaited; async-std's and smol's own); tokio-mutex, \
                     tokio-rwlock: tokio::sync (awaited; tokio's own, runs on every row); atomic: \
                     AtomicU64; arc-swap: ArcSwap (reads load, writes rcu); sharded: a cache-padded \
                     atomic per task (reads sum them all)",
                    &PRIMITIVES,
                ),
                ParamSpec::int(
                    "read_share",
                    "percent of operations that only read",
                    0,
                    100,
                    "%",
                ),
                ParamSpec::int(
                    "tasks_per_core",
                    "tasks per core of the row",
                    1,
                    1024,
                    "tasks",
                ),
            ],
            quick: vec![set(&["mutex", "rwlock"], &[90], &[2])],
            // The full profile's minimum rounds must leave room in its budget for the other workloads:
            // with 7 primitives per row, spawn's 6 cells and this workload's took 40% of the measured
            // time of run 20261207-182804-full and no cell got a round beyond the minimum. So 4 cells
            // per row: the primitives Go has too (std's Mutex and RwLock, an atomic, arc-swap as Go's
            // atomic.Value) at 90% reads with 4 tasks per core. parking_lot's and async-lock's locks,
            // the rows' own async locks, the sharded counter, other read shares and task counts are
            // one `-p` away (`-p primitive=pl-rwlock,async-rwlock,tokio-rwlock,sharded -p
            // read_share=100,50,10`).
            full: vec![set(&["mutex", "rwlock", "atomic", "arc-swap"], &[90], &[4])],
            declared: Declarations {
                ops_unit: "operations".into(),
                metrics: [WRITES, TASK_SPREAD].iter().map(Metric::spec).collect(),
                questions: vec![
                    Question::new(
                        "RwLock or Mutex (std) at 90% reads?",
                        Side::param("primitive", "rwlock"),
                        Side::param("primitive", "mutex"),
                    ),
                    Question::new(
                        "parking_lot's RwLock or std's?",
                        Side::param("primitive", "pl-rwlock"),
                        Side::param("primitive", "rwlock"),
                    ),
                    Question::new(
                        "An atomic or a Mutex?",
                        Side::param("primitive", "atomic"),
                        Side::param("primitive", "mutex"),
                    ),
                    Question::new(
                        "ArcSwap or an RwLock (std)?",
                        Side::param("primitive", "arc-swap"),
                        Side::param("primitive", "rwlock"),
                    ),
                    Question::new(
                        "An async RwLock (async-lock) or std's?",
                        Side::param("primitive", "async-rwlock"),
                        Side::param("primitive", "rwlock"),
                    ),
                    Question::new(
                        "tokio's async RwLock or std's?",
                        Side::param("primitive", "tokio-rwlock"),
                        Side::param("primitive", "rwlock"),
                    ),
                    Question::new(
                        "tokio's async RwLock or async-lock's?",
                        Side::param("primitive", "tokio-rwlock"),
                        Side::param("primitive", "async-rwlock"),
                    ),
                ]
                .into_iter()
                .chain(dyno_rows::design_questions())
                .chain(dyno_rows::go_questions())
                .collect(),
                ..Default::default()
            },
        }
    }

    fn unavailable(row: &str, params: &Params) -> Option<String> {
        (row == GO_ROW)
            .then(|| go::unavailable(&ContentionParams::from(params)))
            .flatten()
    }

    fn fairness_notes<R: Row>() -> Vec<String> {
        vec![format!("the row's own async locks: {}", R::ASYNC_LOCKS)]
    }
}

dyno_rows::go_references!(Contention, go::GO, &[WRITES, TASK_SPREAD]);

/// The whole repeat runs in the cell process: every shard spawns its tasks with the row's spawn.
impl InProcess for Contention {
    fn run<R: Row>(ctx: &RepeatCtx, params: &Params) -> Result<RepeatOutput, RepeatError> {
        let p = ContentionParams::from(params);
        let tasks = p.tasks_per_core * ctx.row.workers();
        let shared = Arc::new(Shared::new(&p.primitive, tasks)?);
        let (w, collector) = (ctx.window, ctx.collector.clone());
        let state = shared.clone();
        let read_share = p.read_share;
        let shards = R::run(&ctx.row, move |shard: Shard| {
            let (state, collector) = (state.clone(), collector.clone());
            async move {
                let handles: Vec<_> = shard
                    .owned(tasks)
                    .map(|i| {
                        let state = state.clone();
                        let probe = collector.probe();
                        R::spawn(task::<R>(state, probe, w, i, read_share))
                    })
                    .collect();
                let mut counts = Vec::with_capacity(handles.len());
                for h in handles {
                    counts.push(h.await);
                }
                counts
            }
        })?;
        let counts: Vec<Counts> = shards.into_iter().flatten().collect();
        let writes: u64 = counts.iter().map(|c| c.writes_total).sum();
        let value = shared.value();
        if value != writes {
            return Err(RepeatError::Failed(format!(
                "the counter holds {value} but the tasks made {writes} increments ({})",
                p.primitive
            )));
        }
        let mut out = RepeatOutput::new();
        out.set(
            &WRITES,
            counts.iter().map(|c| c.writes_in_window).sum::<u64>() as f64,
        );
        out.set(&TASK_SPREAD, spread(&counts));
        Ok(out)
    }
}

/// What one task did.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    /// Operations started inside the window.
    in_window: u64,
    writes_in_window: u64,
    /// Increments over the whole repeat (the counter's accounting).
    writes_total: u64,
}

/// Whether operation `i` of a task reads: a fixed pseudo-random pattern with `read_share`% reads.
fn reads(i: u64, read_share: u64) -> bool {
    (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 100 < read_share
}

/// One task: batches of operations until the window closes, one timed operation per batch, a yield to
/// the row between batches.
async fn task<R: Row>(
    state: Arc<Shared>,
    mut probe: dyno_core::Probe,
    w: Window,
    index: usize,
    read_share: u64,
) -> Counts {
    let mut c = Counts::default();
    let mut i = (index as u64) << 32;
    loop {
        let t0 = w.now_ns();
        if w.is_over(t0) {
            return c;
        }
        let counted = w.contains(t0);
        let mut writes = 0;
        for k in 0..BATCH {
            let write = !reads(i, read_share);
            i += 1;
            if k == 0 && counted {
                let t = w.now_ns();
                state.op(write, index).await;
                probe.record(w.now_ns() - t);
            } else {
                state.op(write, index).await;
            }
            writes += u64::from(write);
        }
        c.writes_total += writes;
        if counted {
            probe.count(BATCH - 1);
            c.in_window += BATCH;
            c.writes_in_window += writes;
        }
        R::yield_now().await;
    }
}

/// `(most − fewest) / mean` of the tasks' operations in the window.
fn spread(counts: &[Counts]) -> f64 {
    let ops: Vec<u64> = counts.iter().map(|c| c.in_window).collect();
    let (Some(&max), Some(&min)) = (ops.iter().max(), ops.iter().min()) else {
        return 0.0;
    };
    let mean = ops.iter().sum::<u64>() as f64 / ops.len() as f64;
    if mean == 0.0 {
        return 0.0;
    }
    (max - min) as f64 / mean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_pattern_has_the_asked_share() {
        for share in [0, 10, 50, 90, 100] {
            let n = 100_000u64;
            let r = (0..n).filter(|&i| reads(i, share)).count() as f64 / n as f64;
            assert!((r * 100.0 - share as f64).abs() < 1.0, "{share}: {r}");
        }
    }

    #[test]
    fn spread_is_zero_for_equal_tasks_and_grows_with_unfairness() {
        let c = |n| Counts {
            in_window: n,
            ..Default::default()
        };
        assert_eq!(spread(&[c(10), c(10)]), 0.0);
        assert!((spread(&[c(5), c(15)]) - 1.0).abs() < 1e-12);
        assert_eq!(spread(&[]), 0.0);
    }
}
