//! The pool workload on every row: each pattern runs with allocation counts, and under contention no
//! contender hands one object to two tasks at once or hands out another user's data.

use dyno_core::params::Profile;
use dyno_core::{Collector, InProcess, Params, RepeatCtx, Row, RowConfig, Window, Workload};
use dyno_pool::contenders::{Contender, LockFree, Malloc, OPool, ObjectPool, Slab, ThreadLocal};
use dyno_pool::objects::{Buf, Object, Request};
use dyno_pool::{ALLOCS_PER_OP, PoolWorkload, RSS_RETAINED};
use std::time::Duration;

#[global_allocator]
static GLOBAL: dyno_pool::counting::Counting<std::alloc::System> =
    dyno_pool::counting::Counting(std::alloc::System);

/// Allocation counts are process-wide: the tests of this file run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn cores() -> RowConfig {
    let cores = dyno_core::os::allowed_cores();
    RowConfig {
        cores: cores.iter().copied().cycle().take(2).collect(),
    }
}

fn run<R: Row>(contender: &str, pattern: &str) -> (dyno_core::RepeatOutput, u64) {
    dyno_pool::counting::set_allocator("system");
    let mut p: Params = PoolWorkload::spec()
        .plan(Profile::Quick, &[], |_| Ok(()))
        .unwrap()
        .remove(0);
    p.0.insert("contender".into(), contender.into());
    p.0.insert("pattern".into(), pattern.into());
    p.0.insert("burst".into(), 64u64.into());
    let collector = Collector::new(true);
    let ctx = RepeatCtx::new(
        cores(),
        Window::starting_in(Duration::from_millis(30), Duration::from_millis(100)),
        collector.clone(),
    );
    let out = PoolWorkload::run::<R>(&ctx, &p)
        .unwrap_or_else(|e| panic!("{} {contender} {pattern}: {e}", R::ID));
    drop(ctx);
    (out, collector.finish().ops)
}

fn every_pattern_runs_and_counts_allocations<R: Row>() {
    let _one_at_a_time = serial();
    // Plain allocation of a 4 KiB buffer: at least one allocation per operation.
    let (out, ops) = run::<R>("malloc", "same");
    assert!(ops > 0);
    let per_op = out.get(&ALLOCS_PER_OP).unwrap();
    assert!(
        per_op >= 1.0,
        "{}: malloc made {per_op} allocations per operation",
        R::ID
    );
    // A warm pool: well under one allocation per operation.
    let (out, _) = run::<R>("lockfree-object-pool", "same");
    let per_op = out.get(&ALLOCS_PER_OP).unwrap();
    assert!(
        per_op < 0.5,
        "{}: the pool made {per_op} allocations per operation",
        R::ID
    );
    let (_, ops) = run::<R>("thread-local", "cross");
    assert!(ops > 0, "{}: cross released nothing", R::ID);
    let (out, ops) = run::<R>("opool", "burst");
    assert!(ops > 0);
    assert!(out.get(&RSS_RETAINED).is_some());
}

/// Many tasks on the row acquire, write their own id into the object, yield, and check the id is still
/// theirs before releasing: an object handed to two tasks at once shows up as a foreign id.
fn stress<R: Row, T: Object, C: Contender<T>>(stamp: fn(&mut T, u64), read: fn(&T) -> u64) {
    let pool = C::new();
    let out = R::run(&cores(), move |shard| {
        let pool = pool.clone();
        async move {
            let tasks: Vec<_> = shard
                .owned(32)
                .map(|id| {
                    let pool = pool.clone();
                    R::spawn(async move {
                        for _ in 0..200 {
                            let mut h = pool.acquire();
                            if !h.is_empty() {
                                return Err(format!("{}: acquired a non-empty object", C::NAME));
                            }
                            stamp(&mut h, id as u64);
                            R::yield_now().await;
                            if read(&h) != id as u64 {
                                return Err(format!(
                                    "{}: task {id}'s object was handed to task {} too",
                                    C::NAME,
                                    read(&h)
                                ));
                            }
                            drop(h);
                        }
                        Ok(())
                    })
                })
                .collect();
            let mut r = Ok(());
            for t in tasks {
                r = r.and(t.await);
            }
            r
        }
    })
    .unwrap();
    for r in out {
        r.unwrap_or_else(|e| panic!("{}: {e}", R::ID));
    }
}

fn stamp_buf(b: &mut Buf<256>, id: u64) {
    b.0.extend_from_slice(&id.to_le_bytes());
}
fn read_buf(b: &Buf<256>) -> u64 {
    u64::from_le_bytes(b.0[..8].try_into().unwrap())
}

fn no_object_goes_to_two_tasks<R: Row>() {
    let _one_at_a_time = serial();
    stress::<R, Buf<256>, ObjectPool<Buf<256>>>(stamp_buf, read_buf);
    stress::<R, Buf<256>, LockFree<Buf<256>>>(stamp_buf, read_buf);
    stress::<R, Buf<256>, OPool<Buf<256>>>(stamp_buf, read_buf);
    stress::<R, Buf<256>, Slab<Buf<256>>>(stamp_buf, read_buf);
    stress::<R, Buf<256>, ThreadLocal<Buf<256>>>(stamp_buf, read_buf);
    stress::<R, Buf<256>, Malloc>(stamp_buf, read_buf);
}

dyno_rows::row_matrix_test!(every_pattern_runs_and_counts_allocations);
dyno_rows::row_matrix_test!(no_object_goes_to_two_tasks);

/// A secret written by one user is gone for the next, for every contender and object.
#[test]
fn a_released_object_comes_back_empty() {
    let _one_at_a_time = serial();
    fn check<T: Object, C: Contender<T>>() {
        let pool = C::new();
        for round in 0..3 {
            let mut h = pool.acquire();
            assert!(h.is_empty(), "{} round {round}: handed out dirty", C::NAME);
            h.fill(0x5ec7e7);
        }
        // Two out at once, released in the other order, then both again.
        let (mut a, mut b) = (pool.acquire(), pool.acquire());
        a.fill(1);
        b.fill(2);
        drop(b);
        drop(a);
        let (a, b) = (pool.acquire(), pool.acquire());
        assert!(a.is_empty() && b.is_empty(), "{}", C::NAME);
    }
    fn all<T: Object>() {
        check::<T, Malloc>();
        check::<T, ObjectPool<T>>();
        check::<T, LockFree<T>>();
        check::<T, OPool<T>>();
        check::<T, Slab<T>>();
        check::<T, ThreadLocal<T>>();
    }
    all::<Buf<256>>();
    all::<Buf<4096>>();
    all::<Buf<65536>>();
    all::<Request>();
}
