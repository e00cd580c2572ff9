//! Get/put micro-benchmarks of every contender, shared by one bench binary per global allocator:
//! single-threaded, and contended (two threads doing the same at once, time per operation per thread).
//! An operation is what the workload's `same` pattern does: get a borrowed handle, check the object is
//! empty, fill it (a 4 KiB buffer written and read back every 64th byte), put it back with its reset.
//! The thread-local contender is also timed with the owned handle (an `Arc` clone per get, what the
//! `cross` pattern needs), which shows what one shared reference count costs.

use criterion::{BenchmarkId, Criterion};
use dyno_pool::contenders::{Contender, LockFree, Malloc, OPool, ObjectPool, Slab, ThreadLocal};
use dyno_pool::get_use_put;
use dyno_pool::objects::{Buf, Object};
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

type B = Buf<4096>;

/// One operation with the owned handle: the same work as [`get_use_put`] through `acquire`.
fn owned_use_put<C: Contender<B>>(pool: &Arc<C>, i: u64) -> u64 {
    let mut h = pool.acquire();
    assert!(h.is_empty());
    h.fill(i)
}

fn one<C: Contender<B>>(c: &mut Criterion, allocator: &str, owned_too: bool) {
    let pool = C::new();
    // Warm: one object made, so a pool's get/put is measured, not its first allocation.
    black_box(get_use_put::<B, C>(&*pool, 0).unwrap());
    let mut g = c.benchmark_group(format!("getput-{allocator}"));
    let borrowed: fn(&Arc<C>, u64) -> u64 = |p, i| get_use_put::<B, C>(&**p, i).unwrap();
    let mut ops = vec![("", borrowed)];
    if owned_too {
        ops.push(("-owned", owned_use_put::<C>));
    }
    for (suffix, op) in ops {
        g.bench_function(BenchmarkId::new(format!("single{suffix}"), C::NAME), |b| {
            let mut i = 0u64;
            b.iter(|| {
                i += 1;
                black_box(op(&pool, i))
            })
        });
        g.bench_function(
            BenchmarkId::new(format!("contended-2{suffix}"), C::NAME),
            |b| b.iter_custom(|iters| contended(&pool, iters, op)),
        );
    }
    g.finish();
}

/// Two threads each doing `iters` operations at once; the slower thread's time.
fn contended<C: Contender<B>>(pool: &Arc<C>, iters: u64, op: fn(&Arc<C>, u64) -> u64) -> Duration {
    let start = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (pool, start) = (pool.clone(), start.clone());
            std::thread::spawn(move || {
                black_box(op(&pool, 0));
                start.wait();
                let t = Instant::now();
                for i in 0..iters {
                    black_box(op(&pool, i));
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
    one::<Malloc>(c, allocator, false);
    if allocator == "system" {
        // Pools barely touch the allocator once warm: measured once, under the system allocator.
        one::<ObjectPool<B>>(c, allocator, false);
        one::<LockFree<B>>(c, allocator, false);
        one::<OPool<B>>(c, allocator, false);
        one::<Slab<B>>(c, allocator, false);
        one::<ThreadLocal<B>>(c, allocator, true);
    }
}
