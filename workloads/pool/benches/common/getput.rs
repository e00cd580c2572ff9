//! Get/put micro-benchmarks of every contender, shared by one bench binary per global allocator:
//! single-threaded, and contended (two threads doing the same at once, time per get/put per thread).

use criterion::{BenchmarkId, Criterion};
use dyno_pool::contenders::{Contender, LockFree, Malloc, OPool, ObjectPool, Slab, ThreadLocal};
use dyno_pool::objects::Buf;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

type B = Buf<4096>;

fn one<C: Contender<B>>(c: &mut Criterion, allocator: &str) {
    let pool = C::new();
    // Warm: one object made, so a pool's get/put is measured, not its first allocation.
    drop(pool.acquire());
    let mut g = c.benchmark_group(format!("getput-{allocator}"));
    g.bench_function(BenchmarkId::new("single", C::NAME), |b| {
        b.iter(|| {
            let mut h = pool.acquire();
            black_box(&mut *h);
            drop(h);
        })
    });
    g.bench_function(BenchmarkId::new("contended-2", C::NAME), |b| {
        b.iter_custom(|iters| contended(&pool, iters))
    });
    g.finish();
}

/// Two threads each doing `iters` get/puts at once; the slower thread's time.
fn contended<C: Contender<B>>(pool: &Arc<C>, iters: u64) -> Duration {
    let start = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (pool, start) = (pool.clone(), start.clone());
            std::thread::spawn(move || {
                drop(pool.acquire());
                start.wait();
                let t = Instant::now();
                for _ in 0..iters {
                    let mut h = pool.acquire();
                    black_box(&mut *h);
                    drop(h);
                }
                t.elapsed()
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("bench thread"))
        .max()
        .unwrap_or_default()
}

/// Every contender, under this binary's allocator.
pub fn all(c: &mut Criterion, allocator: &str) {
    one::<Malloc>(c, allocator);
    if allocator == "system" {
        // Pools barely touch the allocator once warm: measured once, under the system allocator.
        one::<ObjectPool<B>>(c, allocator);
        one::<LockFree<B>>(c, allocator);
        one::<OPool<B>>(c, allocator);
        one::<Slab<B>>(c, allocator);
        one::<ThreadLocal<B>>(c, allocator);
    }
}
