//! The runtime-row abstraction: what a workload may ask of a runtime, implemented once per row.
//!
//! A row runs a *shard body* once per shard: thread-per-core rows (tokio-tpc, glommio) have one shard per
//! assigned core, each on its own pinned thread with its own executor; work-stealing rows (tokio, async-std,
//! smol) and the blocking row (threads) have a single shard whose spawned tasks spread over all workers.
//! Inside a shard, tasks are spawned with the row's own primitive ([`Row::spawn`]). Spawned futures must be
//! `Send`, because work-stealing rows move them between threads; thread-per-core rows that hold thread-bound
//! values wrap them in a checked `SendWrapper` and say so in their [`Fairness`] notes. A row is an executor
//! only: its sockets are a separate facet (`dyno_net::NetRow`) that only network workloads use.

use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// The cores a row may use for one cell (the process is confined to them before the row starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowConfig {
    /// Logical CPU ids, in the order shards/workers are placed on them. Never empty.
    pub cores: Vec<usize>,
}

impl RowConfig {
    /// Number of workers a row starts: one per assigned core.
    pub fn workers(&self) -> usize {
        self.cores.len()
    }
}

/// Which shard a body runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index of this shard.
    pub index: usize,
    /// How many shards run the body.
    pub count: usize,
}

impl Shard {
    /// Items `0..n` this shard owns when work is dealt round-robin over the shards.
    pub fn owned(self, n: usize) -> impl Iterator<Item = usize> {
        (self.index..n).step_by(self.count)
    }
}

/// What favours or handicaps a row, recorded in every cell result and shown in the book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fairness {
    /// Cores the measured process runs on.
    pub cores: Vec<usize>,
    /// Cores of a separate load-generating process (empty when there is none).
    #[serde(default)]
    pub client_cores: Vec<usize>,
    /// The host those client cores belong to when it is not this one (`RemoteClient::describe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_host: Option<String>,
    /// Worker threads the row starts.
    pub workers: usize,
    /// I/O backend: "epoll", "io_uring" or "blocking".
    pub io: String,
    /// Scheduling model in a few words.
    pub model: String,
    /// Whether each worker thread is pinned to one core (otherwise workers float over `cores`).
    pub pinned: bool,
    /// Anything else on the hot path: compat layers, wrappers, upstream status.
    pub notes: Vec<String>,
}

/// Why a row could not run a body.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    /// The runtime could not be started on this machine (e.g. io_uring or memlock limits).
    #[error("row {row} cannot start: {reason}")]
    Start { row: &'static str, reason: String },
    /// A shard's thread panicked.
    #[error("row {row}: shard {shard} panicked: {message}")]
    ShardPanicked {
        row: &'static str,
        shard: usize,
        message: String,
    },
}

/// A row's executor on the calling thread, driving one future at a time to completion: for harnesses
/// that block on futures themselves (criterion's `AsyncExecutor`). The future should not spawn: tasks
/// belong to [`Row::run`]'s shards.
pub trait BlockOn {
    fn block_on<F: Future>(&self, fut: F) -> F::Output;
}

/// A runtime row. All functions are associated (no `self`): inside a shard, the row's context is ambient,
/// as it is for `tokio::spawn` or `glommio::spawn_local`.
pub trait Row: Sized + 'static {
    /// Stable id used in file names, CLI filters and the book (e.g. `tokio-tpc`).
    const ID: &'static str;

    /// Handle to a spawned task; awaiting it yields the task's output (a panic in the task propagates).
    type Task<T: Send + 'static>: Future<Output = T> + Send + 'static;

    /// Where [`Row::spawn_blocking`] runs a closure (which threads, how many, pinned or not), for the
    /// fairness notes of workloads that offload work.
    const BLOCKING_POOL: &'static str;

    /// The row's own async locks, in words: which they are, and which of the contention workload's
    /// primitives measures them (or why the row has none that its shards can share).
    const ASYNC_LOCKS: &'static str;

    /// The row's executor for [`BlockOn`], on the calling thread.
    type Executor: BlockOn;

    /// Make the row's executor on the calling thread.
    fn executor() -> Result<Self::Executor, RowError>;

    /// What this row does for the given cores, for the result's fairness block.
    fn fairness(cfg: &RowConfig) -> Fairness;

    /// Start the runtime on `cfg.cores`, run `body` once per shard to completion, stop the runtime and
    /// return the shards' outputs in shard order.
    fn run<F, Fut>(cfg: &RowConfig, body: F) -> Result<Vec<Fut::Output>, RowError>
    where
        F: Fn(Shard) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static;

    /// Spawn a task with the row's own spawn, on the current shard.
    fn spawn<F>(fut: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawn a task that runs to its end on its own (no handle: dropping a handle cancels the task on
    /// some runtimes, smol's and glommio's, and detaches it on others).
    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Run blocking or CPU-heavy code off the event loop, on the row's blocking pool where it has one.
    fn spawn_blocking<F, T>(f: F) -> Self::Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;

    /// The row's own timer.
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send;

    /// Let other tasks of this shard run before continuing.
    fn yield_now() -> impl Future<Output = ()> + Send;
}

/// Run one shard per core on its own thread named `<row>-<i>`, pinned to that core, each running
/// `per_core(shard, core)`; join them all and return their outputs in shard order. Shared by the
/// thread-per-core rows.
pub fn run_pinned_shards<T, F>(
    row: &'static str,
    cores: &[usize],
    per_core: F,
) -> Result<Vec<T>, RowError>
where
    T: Send + 'static,
    F: Fn(Shard, usize) -> Result<T, RowError> + Send + Sync + 'static,
{
    let per_core = std::sync::Arc::new(per_core);
    let count = cores.len();
    let handles: Vec<_> = cores
        .iter()
        .enumerate()
        .map(|(index, &core)| {
            let per_core = per_core.clone();
            std::thread::Builder::new()
                .name(format!("{row}-{index}"))
                .spawn(move || per_core(Shard { index, count }, core))
                .map_err(|e| RowError::Start {
                    row,
                    reason: format!("cannot start shard thread: {e}"),
                })
        })
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(count);
    for (shard, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(r) => out.push(r?),
            Err(p) => {
                return Err(RowError::ShardPanicked {
                    row,
                    shard,
                    message: panic_message(&*p),
                });
            }
        }
    }
    Ok(out)
}

/// Turn a panic payload into one line.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_deal_items_round_robin_without_overlap() {
        let a: Vec<_> = Shard { index: 0, count: 3 }.owned(8).collect();
        let b: Vec<_> = Shard { index: 1, count: 3 }.owned(8).collect();
        let c: Vec<_> = Shard { index: 2, count: 3 }.owned(8).collect();
        assert_eq!(a, vec![0, 3, 6]);
        assert_eq!(b, vec![1, 4, 7]);
        assert_eq!(c, vec![2, 5]);
    }

    #[test]
    fn panic_message_reads_both_payload_kinds() {
        let e = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(panic_message(&*e), "boom 1");
        let e = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(&*e), "static");
    }
}
