//! Instruction counts (gungraun, callgrind) of 1000 operations on a warm pool of each contender, under
//! the system allocator: deterministic figures beside criterion's times. An operation is the
//! workload's: get a borrowed handle, check it is empty, fill a 4 KiB buffer, put it back.

use dyno_pool::contenders::{Contender, LockFree, Malloc, OPool, ObjectPool, Slab, ThreadLocal};
use dyno_pool::get_use_put;
use dyno_pool::objects::Buf;
use gungraun::{library_benchmark, library_benchmark_group, main};
use std::hint::black_box;
use std::sync::Arc;

type B = Buf<4096>;

/// Operations per benchmark run; each bench's id says it (`ops_1000`), and the report divides by it.
const PAIRS: usize = 1000;

fn warm<C: Contender<B>>() -> Arc<C> {
    let pool = C::new();
    black_box(get_use_put::<B, C>(&*pool, 0).unwrap());
    pool
}

fn pairs<C: Contender<B>>(pool: Arc<C>) -> Arc<C> {
    for i in 0..PAIRS as u64 {
        black_box(get_use_put::<B, C>(&*pool, i).unwrap());
    }
    pool
}

#[library_benchmark]
#[bench::ops_1000(setup = warm::<Malloc>)]
fn malloc(pool: Arc<Malloc>) -> Arc<Malloc> {
    pairs(pool)
}

#[library_benchmark]
#[bench::ops_1000(setup = warm::<ObjectPool<B>>)]
fn object_pool(pool: Arc<ObjectPool<B>>) -> Arc<ObjectPool<B>> {
    pairs(pool)
}

#[library_benchmark]
#[bench::ops_1000(setup = warm::<LockFree<B>>)]
fn lockfree_object_pool(pool: Arc<LockFree<B>>) -> Arc<LockFree<B>> {
    pairs(pool)
}

#[library_benchmark]
#[bench::ops_1000(setup = warm::<OPool<B>>)]
fn opool(pool: Arc<OPool<B>>) -> Arc<OPool<B>> {
    pairs(pool)
}

#[library_benchmark]
#[bench::ops_1000(setup = warm::<Slab<B>>)]
fn sharded_slab(pool: Arc<Slab<B>>) -> Arc<Slab<B>> {
    pairs(pool)
}

#[library_benchmark]
#[bench::ops_1000(setup = warm::<ThreadLocal<B>>)]
fn thread_local(pool: Arc<ThreadLocal<B>>) -> Arc<ThreadLocal<B>> {
    pairs(pool)
}

library_benchmark_group!(
    name = getput;
    benchmarks = malloc, object_pool, lockfree_object_pool, opool, sharded_slab, thread_local
);

main!(library_benchmark_groups = getput);
