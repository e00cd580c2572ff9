//! The `pool` workload: tasks acquire an object per operation, use it and release it, from an object
//! pool or straight from the global allocator, on every row.
//!
//! - `contender`: `malloc` (no pool: the binary's global allocator) or a pool ([`contenders`]).
//! - `object`: a 256 B, 4 KiB or 64 KiB buffer, or a request-like struct with owned fields.
//! - `pattern`: `same` (acquire and release on the same task), `cross` (acquire on one task, release on
//!   another, on another thread where the row has several), `burst` (each task takes `burst` objects at
//!   once, releases them, idles; the memory kept afterwards is a figure).
//! - `allocator`: the global allocator, a build-time choice: `system` runs in `dyno-cell-pool`,
//!   `mimalloc` and `jemalloc` in their own binaries (`dyno-pool-mimalloc`, `dyno-pool-jemalloc`), to
//!   which `dyno-cell-pool` hands such a cell; each binary refuses a cell for another allocator, so the
//!   parameter in a result names the binary that ran it.
//!
//! Every binary counts allocations through [`counting::Counting`]: allocations and bytes per operation
//! in the measured window are declared figures. An object handed out non-empty fails the cell.

pub mod contenders;
pub mod counting;
pub mod go;
pub mod objects;

use contenders::{Contender, LockFree, Malloc, OPool, ObjectPool, Slab, ThreadLocal};
use counting::Counts;
use dyno_core::metrics::{Declarations, Question, Side};
use dyno_core::params::{ParamSpec, WorkloadSpec, group, ints, words};
use dyno_core::schema::Pairing;
use dyno_core::{
    Better, InProcess, Metric, Params, Probe, RepeatCtx, RepeatError, RepeatOutput, Role, Row,
    Shard, Window, Workload,
};
use dyno_rows::foreign::GO_ROW;
use objects::{Buf, Object, Request};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The pool workload.
pub struct PoolWorkload;

/// Operations a task runs between two yields to its executor (so timers and other tasks get turns
/// without a yield costing more than the operation it follows).
pub const OPS_PER_YIELD: u64 = 16;
/// Capacity of the `cross` pattern's channel between acquiring and releasing tasks.
pub const CROSS_QUEUE: usize = 64;
/// Idle time after each burst.
pub const BURST_IDLE: Duration = Duration::from_millis(10);

/// The global allocators a binary can be built with.
pub const ALLOCATORS: [&str; 3] = ["system", "mimalloc", "jemalloc"];
/// The objects.
pub const OBJECTS: [&str; 4] = ["buf-256", "buf-4k", "buf-64k", "request"];
/// The patterns.
pub const PATTERNS: [&str; 3] = ["same", "cross", "burst"];

/// Allocations per operation in the window.
pub const ALLOCS_PER_OP: Metric = Metric::figure(
    "allocations_per_op",
    "allocations",
    Better::Lower,
    "global-allocator allocations (and reallocations) per operation in the window, all threads",
);
/// Bytes requested from the allocator per operation.
pub const BYTES_PER_OP: Metric = Metric::figure(
    "bytes_allocated_per_op",
    "bytes",
    Better::Lower,
    "bytes requested from the global allocator per operation in the window, all threads",
);
/// RSS the process keeps after its bursts, above where it started.
pub const RSS_RETAINED: Metric = Metric::figure(
    "rss_retained_after_bursts_bytes",
    "bytes",
    Better::Lower,
    "resident memory after the last burst was released (the pool still alive), minus before the first",
)
.with_role(Role::Memory);

/// Garbage-collection cycles in the window (the Go row; Rust has no collector).
pub const GC_CYCLES: Metric = Metric::figure(
    "gc_cycles_in_window",
    "cycles",
    Better::Lower,
    "garbage-collection cycles that ended inside the window (rows with a garbage collector)",
);
/// Time the world stood still for the collector in the window.
pub const GC_PAUSE_TOTAL: Metric = Metric::figure(
    "gc_pause_in_window_ms",
    "ms",
    Better::Lower,
    "stop-the-world pauses of the garbage collector inside the window, summed",
);
/// The 99th percentile of those pauses.
pub const GC_PAUSE_P99: Metric = Metric::figure(
    "gc_pause_p99_us",
    "µs",
    Better::Lower,
    "99th percentile of the garbage collector's stop-the-world pauses inside the window",
);

/// Every figure the workload declares.
pub const FIGURES: [Metric; 6] = [
    ALLOCS_PER_OP,
    BYTES_PER_OP,
    RSS_RETAINED,
    GC_CYCLES,
    GC_PAUSE_TOTAL,
    GC_PAUSE_P99,
];

/// Pool parameters, read from a validated [`Params`].
#[derive(Debug, Clone)]
pub struct PoolParams {
    pub contender: String,
    pub object: String,
    pub pattern: String,
    pub allocator: String,
    pub tasks_per_core: usize,
    pub burst: usize,
}

impl PoolParams {
    pub fn from(p: &Params) -> Self {
        PoolParams {
            contender: p.word("contender").into(),
            object: p.word("object").into(),
            pattern: p.word("pattern").into(),
            allocator: p.word("allocator").into(),
            tasks_per_core: p.int("tasks_per_core") as usize,
            burst: p.int("burst") as usize,
        }
    }
}

impl Workload for PoolWorkload {
    fn spec() -> WorkloadSpec {
        let set =
            |contenders: &[&str], objects: &[&str], patterns: &[&str], allocators: &[&str]| {
                group([
                    ("contender", words(contenders)),
                    ("object", words(objects)),
                    ("pattern", words(patterns)),
                    ("allocator", words(allocators)),
                    ("tasks_per_core", ints(&[4])),
                    ("burst", ints(&[256])),
                ])
            };
        WorkloadSpec {
            name: "pool".into(),
            about:
                "object pools against allocators: acquire, use and release an object per operation"
                    .into(),
            params: vec![
                ParamSpec::choice(
                    "contender",
                    "malloc: no pool (the global allocator); or a pool",
                    &contenders::NAMES,
                ),
                ParamSpec::choice(
                    "object",
                    "a 256 B, 4 KiB or 64 KiB buffer, or a request-like struct (strings, 8 headers, 256 B body)",
                    &OBJECTS,
                ),
                ParamSpec::choice(
                    "pattern",
                    "same: release on the acquiring task; cross: on another task; burst: take `burst` at once, release, idle",
                    &PATTERNS,
                ),
                ParamSpec::choice(
                    "allocator",
                    "global allocator, a build-time choice (one binary each)",
                    &ALLOCATORS,
                ),
                ParamSpec::int(
                    "tasks_per_core",
                    "tasks per core of the row",
                    1,
                    10_000,
                    "tasks",
                ),
                ParamSpec::int(
                    "burst",
                    "objects a task takes at once in the burst pattern",
                    1,
                    1 << 20,
                    "objects",
                ),
            ],
            quick: vec![set(
                &["malloc", "thread-local"],
                &["buf-4k"],
                &["same"],
                &["system"],
            )],
            // Every row multiplies the matrix: the full profile (45 minutes on 2 cores) takes malloc
            // under two allocators and the two pools that differ most (per-thread, lock-free shared).
            // The other contenders, objects, patterns and jemalloc are one `-p` away, and the
            // criterion micro-benchmarks cover every contender and object.
            full: vec![
                set(&["malloc"], &["buf-4k"], &["same"], &["system", "mimalloc"]),
                set(
                    &["thread-local", "lockfree-object-pool"],
                    &["buf-4k"],
                    &["same"],
                    &["system"],
                ),
            ],
            declared: Declarations {
                ops_unit: "acquire-release cycles".into(),
                metrics: FIGURES
                    .iter()
                    .map(Metric::spec)
                    .collect(),
                questions: dyno_rows::design_questions()
                    .into_iter()
                    .chain(dyno_rows::go_questions())
                    .chain(contenders::NAMES[1..].iter().map(|p| {
                        Question::new(
                            &format!("A {p} pool or plain allocation?"),
                            Side::param("contender", p),
                            Side::param("contender", contenders::NAMES[0]),
                        )
                    }))
                    .collect(),
                pairing: Pairing::Blocks,
                pairing_why: "time-slicing did not narrow its comparisons: in the full profile the \
                              paired row-against-best half-width was ±4.5% in blocks against ±6.1% \
                              time-sliced (median of 20; within ±5%: 11 against 9; within ±10%: 12 \
                              against 14), the same 7-minute budget and 132 repeats each, one run \
                              after the other; per-process regimes of the work-stealing rows, which \
                              no pairing cancels, set the spread"
                    .into(),
                window_s: Some(1.0),
                window_why: "in the reference run 20261207-084129 the noise inside a 2 s window \
                             was 1.6% of a repeat's throughput (under 1% of the variance), between \
                             processes 10.1% (15%): more, shorter processes buy more than longer \
                             windows"
                    .into(),
                ..Default::default()
            },
        }
    }

    fn unavailable(row: &str, params: &Params) -> Option<String> {
        (row == GO_ROW)
            .then(|| go::unavailable(&PoolParams::from(params)))
            .flatten()
    }

    fn fairness_notes<R: Row>() -> Vec<String> {
        vec![
            format!("pools' growth: {}; {}; {}; {}; {}",
                <ObjectPool<Buf<1>> as Contender<Buf<1>>>::GROWTH,
                <LockFree<Buf<1>> as Contender<Buf<1>>>::GROWTH,
                <OPool<Buf<1>> as Contender<Buf<1>>>::GROWTH,
                <Slab<Buf<1>> as Contender<Buf<1>>>::GROWTH,
                <ThreadLocal<Buf<1>> as Contender<Buf<1>>>::GROWTH),
            "every binary's global allocator is wrapped in a counter (two relaxed atomic adds per allocation, per-thread slots)".into(),
            "same and burst patterns take handles that borrow the pool (no reference count touched per get/put); cross takes handles that own a reference to the pool (an Arc clone per get), since they move to another task; burst makes the list that holds a burst's handles once per burst (1/burst allocations per operation on every contender)".into(),
            format!("what a get/put does: {}; {}; {}; {}; {}; {}",
                <Malloc as Contender<Buf<1>>>::GET_PUT,
                <ObjectPool<Buf<1>> as Contender<Buf<1>>>::GET_PUT,
                <LockFree<Buf<1>> as Contender<Buf<1>>>::GET_PUT,
                <OPool<Buf<1>> as Contender<Buf<1>>>::GET_PUT,
                <Slab<Buf<1>> as Contender<Buf<1>>>::GET_PUT,
                <ThreadLocal<Buf<1>> as Contender<Buf<1>>>::GET_PUT),
        ]
    }
}

dyno_rows::go_references!(PoolWorkload, go::GO, &FIGURES);

impl InProcess for PoolWorkload {
    fn run<R: Row>(ctx: &RepeatCtx, params: &Params) -> Result<RepeatOutput, RepeatError> {
        let p = PoolParams::from(params);
        match counting::allocator() {
            Some(a) if a == p.allocator => {}
            other => {
                return Err(RepeatError::Failed(format!(
                    "this binary's global allocator is {}, the cell asks for {}",
                    other.unwrap_or("not declared"),
                    p.allocator
                )));
            }
        }
        match p.object.as_str() {
            "buf-256" => by_contender::<R, Buf<256>>(ctx, &p),
            "buf-4k" => by_contender::<R, Buf<4096>>(ctx, &p),
            "buf-64k" => by_contender::<R, Buf<65536>>(ctx, &p),
            "request" => by_contender::<R, Request>(ctx, &p),
            other => Err(RepeatError::Failed(format!("unknown object {other}"))),
        }
    }
}

fn by_contender<R: Row, T: Object>(
    ctx: &RepeatCtx,
    p: &PoolParams,
) -> Result<RepeatOutput, RepeatError> {
    match p.contender.as_str() {
        "malloc" => run_with::<R, T, Malloc>(ctx, p),
        "object-pool" => run_with::<R, T, ObjectPool<T>>(ctx, p),
        "lockfree-object-pool" => run_with::<R, T, LockFree<T>>(ctx, p),
        "opool" => run_with::<R, T, OPool<T>>(ctx, p),
        "sharded-slab" => run_with::<R, T, Slab<T>>(ctx, p),
        "thread-local" => run_with::<R, T, ThreadLocal<T>>(ctx, p),
        other => Err(RepeatError::Failed(format!("unknown contender {other}"))),
    }
}

/// What a repeat's tasks report: operations they recorded in the window.
type TaskResult = Result<u64, RepeatError>;

fn run_with<R: Row, T: Object, C: Contender<T>>(
    ctx: &RepeatCtx,
    p: &PoolParams,
) -> Result<RepeatOutput, RepeatError> {
    let pool = C::new();
    let keep = pool.clone();
    let (w, collector) = (ctx.window, ctx.collector.clone());
    let tasks = p.tasks_per_core * ctx.row.workers();
    let (pattern, burst) = (p.pattern.clone(), p.burst);
    let counts: Arc<Mutex<Vec<Counts>>> = Arc::default();
    let counts_w = counts.clone();
    if p.pattern == "cross" && tasks < 2 {
        return Err(RepeatError::Failed(format!(
            "the cross pattern needs at least 2 tasks (one acquiring, one releasing); this cell has {tasks}"
        )));
    }
    let (tx, rx) = async_channel::bounded::<(u64, C::Handle)>(CROSS_QUEUE);
    // The last acquiring task to stop closes the channel, so the releasing tasks drain it and stop.
    let acquirers = Arc::new(std::sync::atomic::AtomicUsize::new(tasks.div_ceil(2)));
    let rss_before = dyno_core::os::current_rss().unwrap_or(0);
    let watcher = std::thread::Builder::new()
        .name("pool-counts".into())
        .spawn(move || watch(w, counts_w))
        .map_err(|e| format!("cannot start the allocation-count thread: {e}"))?;
    let shards = R::run(&ctx.row, move |shard: Shard| {
        let (pool, collector) = (pool.clone(), collector.clone());
        let (tx, rx, acquirers) = (tx.clone(), rx.clone(), acquirers.clone());
        let pattern = pattern.clone();
        async move {
            let handles: Vec<_> = shard
                .owned(tasks)
                .map(|i| {
                    let (pool, rx, tx) = (pool.clone(), rx.clone(), tx.clone());
                    let acquirers = acquirers.clone();
                    let mut probe = collector.probe();
                    let pattern = pattern.clone();
                    R::spawn(async move {
                        match pattern.as_str() {
                            "same" => same::<R, T, C>(&pool, w, &mut probe, i as u64).await,
                            "burst" => bursts::<R, T, C>(&pool, w, &mut probe, burst).await,
                            // Even tasks acquire, odd tasks release.
                            _ if i % 2 == 0 => {
                                let r = acquire_and_send::<T, C>(&pool, w, &tx, i as u64).await;
                                if acquirers.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1
                                {
                                    tx.close();
                                }
                                r
                            }
                            _ => release_received::<T, C>(w, rx, &mut probe).await,
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut out = Vec::with_capacity(handles.len());
            for h in handles {
                out.push(h.await);
            }
            out
        }
    })?;
    let rss_after = dyno_core::os::current_rss().unwrap_or(0);
    drop(keep);
    watcher
        .join()
        .map_err(|_| "the allocation-count thread panicked".to_string())?;
    let mut ops = 0u64;
    for r in shards.into_iter().flatten() {
        ops += r?;
    }
    let counts = counts.lock().unwrap().clone();
    let [start, end] = counts[..] else {
        return Err("the window's allocation counts were not taken".into());
    };
    let used = end.since(start);
    let ops = ops.max(1) as f64;
    let mut m = RepeatOutput::new();
    m.set(&ALLOCS_PER_OP, used.allocs as f64 / ops);
    m.set(&BYTES_PER_OP, used.bytes as f64 / ops);
    if p.pattern == "burst" {
        m.set(&RSS_RETAINED, rss_after.saturating_sub(rss_before) as f64);
    }
    Ok(m)
}

/// Take the allocation counts when the window opens and when it closes, on a thread of its own (not
/// a task of the row, whose timers may fire late beside busy tasks).
fn watch(w: Window, counts: Arc<Mutex<Vec<Counts>>>) {
    for edge in [w.start(), w.end()] {
        std::thread::sleep(edge.saturating_duration_since(std::time::Instant::now()));
        counts.lock().unwrap().push(Counts::now());
    }
}

/// Check an acquired object is empty, or say which contender broke the rule.
fn check_empty<T: Object, C: Contender<T>>(o: &T) -> Result<(), RepeatError> {
    if o.is_empty() {
        Ok(())
    } else {
        Err(RepeatError::Failed(format!(
            "{} handed out an object still holding its last user's data",
            C::NAME
        )))
    }
}

/// Acquire, use and release on this task until the window closes.
async fn same<R: Row, T: Object, C: Contender<T>>(
    pool: &Arc<C>,
    w: Window,
    probe: &mut Probe,
    first: u64,
) -> TaskResult {
    let (mut sum, mut ops) = (0u64, 0u64);
    let mut i = first;
    loop {
        let t0 = w.now_ns();
        if w.is_over(t0) {
            std::hint::black_box(sum);
            return Ok(ops);
        }
        sum = sum.wrapping_add(get_use_put::<T, C>(pool, i)?);
        ops += probe.record_since(&w, t0);
        i += 1;
        if i.is_multiple_of(OPS_PER_YIELD) {
            R::yield_now().await;
        }
    }
}

/// One operation: get an object (a borrowed handle), check it is empty, fill it, put it back. Not
/// async, so the borrowed handle (which need not be `Send`) never lives in a task across an await.
pub fn get_use_put<T: Object, C: Contender<T>>(pool: &C, i: u64) -> Result<u64, RepeatError> {
    let mut h = pool.get();
    check_empty::<T, C>(&h)?;
    Ok(h.fill(i))
}

/// Acquire and use objects and send them (with their acquire time) to the releasing tasks.
async fn acquire_and_send<T: Object, C: Contender<T>>(
    pool: &Arc<C>,
    w: Window,
    tx: &async_channel::Sender<(u64, C::Handle)>,
    first: u64,
) -> TaskResult {
    let mut i = first;
    loop {
        let t0 = w.now_ns();
        if w.is_over(t0) {
            return Ok(0);
        }
        let mut h = pool.acquire();
        check_empty::<T, C>(&h)?;
        h.fill(i);
        if tx.send((t0, h)).await.is_err() {
            return Err("every releasing task stopped early".into());
        }
        i += 1;
    }
}

/// Release what the acquiring tasks send until they have all stopped; the operation's latency is from
/// acquire to release.
async fn release_received<T: Object, C: Contender<T>>(
    w: Window,
    rx: async_channel::Receiver<(u64, C::Handle)>,
    probe: &mut Probe,
) -> TaskResult {
    let mut ops = 0u64;
    while let Ok((t0, h)) = rx.recv().await {
        std::hint::black_box(h.is_empty());
        drop(h);
        ops += probe.record_since(&w, t0);
    }
    Ok(ops)
}

/// Take `burst` objects at once, use them, release them all, idle; until the window closes.
async fn bursts<R: Row, T: Object, C: Contender<T>>(
    pool: &Arc<C>,
    w: Window,
    probe: &mut Probe,
    burst: usize,
) -> TaskResult {
    let (mut sum, mut ops) = (0u64, 0u64);
    loop {
        let t0 = w.now_ns();
        if w.is_over(t0) {
            std::hint::black_box(sum);
            return Ok(ops);
        }
        sum = sum.wrapping_add(one_burst::<T, C>(pool, burst)?);
        for _ in 0..burst {
            ops += probe.record_since(&w, t0);
        }
        R::sleep(BURST_IDLE).await;
    }
}

/// One burst: `burst` borrowed handles held at once, then all released. The list that holds them is
/// made per burst (one allocation per burst, counted like any other), because a borrowed handle need
/// not be `Send` (sharded-slab's is not) and so cannot stay in the task across its idle sleep.
fn one_burst<T: Object, C: Contender<T>>(pool: &C, burst: usize) -> Result<u64, RepeatError> {
    let mut held = Vec::with_capacity(burst);
    let mut sum = 0u64;
    for i in 0..burst {
        let mut h = pool.get();
        check_empty::<T, C>(&h)?;
        sum = sum.wrapping_add(h.fill(i as u64));
        held.push(h);
    }
    Ok(sum)
}

/// The `main` of each pool binary: hand a cell for another allocator to that allocator's binary
/// (beside this one), run everything else here.
pub fn main_with_allocator(name: &'static str) -> ExitCode {
    counting::set_allocator(name);
    if let Some(want) = wanted_allocator()
        && want != name
        && name == "system"
    {
        return exec_sibling(&want);
    }
    dyno_rows::in_process::<PoolWorkload>()
        .with_references()
        .main()
}

/// The `allocator` of the cell this process was asked to run (`cell ... --params JSON`), if any.
fn wanted_allocator() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some("cell") {
        return None;
    }
    let i = args.iter().position(|a| a == "--params")?;
    let v: serde_json::Value = serde_json::from_str(args.get(i + 1)?).ok()?;
    v.get("allocator")?.as_str().map(str::to_string)
}

/// Replace this process with `dyno-pool-<allocator>` beside it, same arguments (same pid, so the
/// driver's accounting of the cell process holds).
fn exec_sibling(allocator: &str) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let me = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot find this binary's path to run dyno-pool-{allocator}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sibling = me.with_file_name(format!("dyno-pool-{allocator}"));
    let err = std::process::Command::new(&sibling)
        .args(std::env::args_os().skip(1))
        .exec();
    eprintln!(
        "error: cannot run {} for allocator {allocator}: {err} (build it with `cargo build --release -p dyno-pool`)",
        sibling.display()
    );
    ExitCode::FAILURE
}
