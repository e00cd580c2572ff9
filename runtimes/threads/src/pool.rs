//! The `threads` row's blocking pool: a cached thread pool (Java's `newCachedThreadPool`, the pool a
//! thread-per-connection server hands blocking work to). A job goes to an idle pooled thread when there is
//! one, else a new thread starts; a thread that stays idle for [`IDLE_EXIT`] ends. Threads are reused, so
//! per-thread state (a script sandbox, an allocator cache) survives from one job to the next.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long a pooled thread waits for work before it ends (tokio's blocking pool keeps 10 s too).
pub const IDLE_EXIT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    tx: flume::Sender<Job>,
    rx: flume::Receiver<Job>,
    /// Threads waiting for a job now.
    idle: AtomicUsize,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| {
    let (tx, rx) = flume::unbounded();
    Pool {
        tx,
        rx,
        idle: AtomicUsize::new(0),
    }
});

/// Run `job` on a pooled thread: an idle one, or a new one when none is idle.
pub fn execute(job: impl FnOnce() + Send + 'static) {
    let p = &*POOL;
    // Claim an idle thread; two callers never claim the same one, so no job waits behind another.
    let claimed = p
        .idle
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok();
    p.tx.send(Box::new(job))
        .expect("the pool's receiver lives in a static");
    if !claimed {
        std::thread::Builder::new()
            .name("threads-pool".into())
            .spawn(|| worker(&POOL))
            .expect("cannot start a pool thread");
    }
}

/// Run jobs until none comes for [`IDLE_EXIT`]. A thread counts itself idle only between jobs; the
/// caller that claims it has already decremented the count.
fn worker(p: &'static Pool) {
    loop {
        match p.rx.recv_timeout(IDLE_EXIT) {
            Ok(job) => job(),
            Err(_) => {
                // Leave only if no caller claimed this thread in the meantime.
                if p.idle
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok()
                {
                    return;
                }
                continue;
            }
        }
        p.idle.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::mpsc;

    #[test]
    fn sequential_jobs_reuse_one_thread_and_concurrent_jobs_get_their_own() {
        let mut seen = HashSet::new();
        for _ in 0..20 {
            let (tx, rx) = mpsc::channel();
            execute(move || tx.send(std::thread::current().id()).unwrap());
            seen.insert(rx.recv().unwrap());
            // Let the thread count itself idle before the next job.
            let t = std::time::Instant::now();
            while POOL.idle.load(Ordering::Acquire) == 0 && t.elapsed() < IDLE_EXIT {
                std::thread::yield_now();
            }
        }
        assert!(
            seen.len() <= 2,
            "20 jobs one after another ran on {} threads",
            seen.len()
        );
        // Four jobs that wait for each other must each have a thread, or they would deadlock.
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let (tx, rx) = mpsc::channel();
        for _ in 0..4 {
            let (b, tx) = (barrier.clone(), tx.clone());
            execute(move || {
                b.wait();
                tx.send(()).unwrap();
            });
        }
        for _ in 0..4 {
            rx.recv_timeout(Duration::from_secs(10))
                .expect("every job ran");
        }
    }
}
