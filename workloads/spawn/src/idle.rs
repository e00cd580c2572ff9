//! `mode=idle`: hold tasks parked on a channel, measure what they cost in memory, then wake them all.

use crate::{HELD, RSS_PER_TASK, SPAWN_ALL, SPAWN_FAILED_AT, WAKE_ALL};
use dyno_core::metrics::MEASURED_DURATION;
use dyno_core::os::current_rss;
use dyno_core::{Probe, RepeatCtx, RepeatError, RepeatOutput, Row, Shard, Window};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// How long a shard waits for the others (or for its tasks to park) before the repeat fails.
const PATIENCE: Duration = Duration::from_secs(120);
/// How often a waiting shard looks again.
const POLL: Duration = Duration::from_millis(1);
/// Spawns between two looks at the process's memory maps.
const MAPS_EVERY: usize = 256;
/// Maps left below `vm.max_map_count` at which spawning stops: an OS thread maps its stack, guard page
/// and signal stack, and a thread that cannot map them aborts the process instead of failing its spawn.
const MAPS_MARGIN: usize = 4096;

/// What the shards share while they spawn, park and measure.
#[derive(Default)]
struct Coord {
    started: AtomicUsize,
    go: AtomicBool,
    /// Set when a spawn failed: every shard stops spawning.
    stop: AtomicBool,
    spawned: AtomicUsize,
    /// Shared with every task, which counts itself in before it parks.
    parked: Arc<AtomicUsize>,
    done: AtomicUsize,
    failed_at: AtomicUsize,
    rss_before: AtomicU64,
    rss_after: AtomicU64,
    spawn_ns: AtomicU64,
}

/// One shard's outcome: tasks woken, and when the last one woke after its channel closed.
struct Woken {
    tasks: u64,
    last_ns: u64,
}

pub fn run<R: Row>(ctx: &RepeatCtx, tasks: usize) -> Result<RepeatOutput, RepeatError> {
    let coord = Arc::new(Coord::default());
    let (w, collector) = (ctx.window, ctx.collector.clone());
    let shared = coord.clone();
    let shards = R::run(&ctx.row, move |shard: Shard| {
        let (coord, mut probe) = (shared.clone(), collector.probe());
        async move { hold_and_wake::<R>(&coord, shard, tasks, w, &mut probe).await }
    })?;
    let woken: Vec<Woken> = shards.into_iter().collect::<Result<_, String>>()?;
    let held = coord.spawned.load(Ordering::Acquire);
    let woke: u64 = woken.iter().map(|s| s.tasks).sum();
    if woke != held as u64 {
        return Err(RepeatError::Failed(format!(
            "{held} idle tasks were spawned but {woke} woke"
        )));
    }
    let grown = coord
        .rss_after
        .load(Ordering::Acquire)
        .saturating_sub(coord.rss_before.load(Ordering::Acquire));
    let wake_ns = woken.iter().map(|s| s.last_ns).max().unwrap_or(0).max(1);
    let mut out = RepeatOutput::new();
    out.set(&RSS_PER_TASK, grown as f64 / held.max(1) as f64);
    out.set(&HELD, held as f64);
    out.set(
        &SPAWN_FAILED_AT,
        coord.failed_at.load(Ordering::Acquire) as f64,
    );
    out.set(
        &SPAWN_ALL,
        coord.spawn_ns.load(Ordering::Acquire) as f64 / 1e6,
    );
    out.set(&WAKE_ALL, wake_ns as f64 / 1e6);
    out.set(&MEASURED_DURATION, wake_ns as f64 / 1e9);
    Ok(out)
}

/// One shard: meet the others, spawn its share parked on its own channel, let shard 0 measure the RSS,
/// then at the window's start close the channel and time every wake-up.
async fn hold_and_wake<R: Row>(
    coord: &Coord,
    shard: Shard,
    tasks: usize,
    w: Window,
    probe: &mut Probe,
) -> Result<Woken, String> {
    coord.started.fetch_add(1, Ordering::AcqRel);
    if shard.index == 0 {
        wait::<R>("every shard to start", || {
            coord.started.load(Ordering::Acquire) == shard.count
        })
        .await?;
        coord
            .rss_before
            .store(current_rss().unwrap_or(0), Ordering::Release);
        coord.go.store(true, Ordering::Release);
    }
    wait::<R>("shard 0 to measure", || coord.go.load(Ordering::Acquire)).await?;
    let t0 = w.now_ns();
    let (tx, rx) = async_channel::bounded::<()>(1);
    let mut handles = Vec::new();
    let max_maps = max_map_count();
    for (k, _) in shard.owned(tasks).enumerate() {
        if k % MAPS_EVERY == 0 && near_map_limit(max_maps) {
            stopped(coord);
        }
        if coord.stop.load(Ordering::Acquire) {
            break;
        }
        let (rx, parked) = (rx.clone(), coord.parked.clone());
        // A row that cannot start another task (the `threads` row out of threads) panics in spawn.
        let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            R::spawn(async move {
                parked.fetch_add(1, Ordering::AcqRel);
                let _ = rx.recv().await;
                w.now_ns()
            })
        }));
        match spawned {
            Ok(h) => {
                handles.push(h);
                coord.spawned.fetch_add(1, Ordering::AcqRel);
            }
            Err(_) => {
                stopped(coord);
                break;
            }
        }
        if handles.len() % 1024 == 0 {
            R::yield_now().await;
        }
    }
    drop(rx);
    coord.done.fetch_add(1, Ordering::AcqRel);
    wait::<R>("every idle task to park", || {
        coord.done.load(Ordering::Acquire) == shard.count
            && coord.parked.load(Ordering::Acquire) == coord.spawned.load(Ordering::Acquire)
    })
    .await?;
    if shard.index == 0 {
        coord
            .rss_after
            .store(current_rss().unwrap_or(0), Ordering::Release);
        coord.spawn_ns.store(w.now_ns() - t0, Ordering::Release);
    }
    let start = w.start();
    let now = std::time::Instant::now();
    if start > now {
        R::sleep(start - now).await;
    }
    let closed = w.now_ns();
    tx.close();
    let mut last_ns = 0;
    let n = handles.len() as u64;
    for h in handles {
        let woke = h.await.saturating_sub(closed);
        probe.record(woke);
        last_ns = last_ns.max(woke);
    }
    Ok(Woken { tasks: n, last_ns })
}

/// Stop every shard's spawning, recording how many tasks were held (the first stop counts).
fn stopped(coord: &Coord) {
    let held = coord.spawned.load(Ordering::Acquire);
    let _ = coord
        .failed_at
        .compare_exchange(0, held, Ordering::AcqRel, Ordering::Acquire);
    coord.stop.store(true, Ordering::Release);
}

/// The kernel's `vm.max_map_count`, where it can be read.
fn max_map_count() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Whether the process has fewer than [`MAPS_MARGIN`] memory maps left under `max`.
fn near_map_limit(max: Option<usize>) -> bool {
    let maps = std::fs::read("/proc/self/maps")
        .ok()
        .map(|b| b.iter().filter(|&&c| c == b'\n').count());
    matches!((max, maps), (Some(max), Some(maps)) if maps + MAPS_MARGIN >= max)
}

/// Poll `done` on the row's timer until it holds, or fail after [`PATIENCE`] naming `what`.
async fn wait<R: Row>(what: &str, done: impl Fn() -> bool) -> Result<(), String> {
    let since = std::time::Instant::now();
    while !done() {
        if since.elapsed() > PATIENCE {
            return Err(format!("waited {} s for {what}", PATIENCE.as_secs()));
        }
        R::sleep(POLL).await;
    }
    Ok(())
}
