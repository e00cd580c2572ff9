//! Criterion get/put benchmarks inside every row's executor (criterion's `AsyncExecutor`, implemented
//! with each row's `BlockOn`), for plain allocation and the two fastest pools, system allocator. An
//! operation is the workload's: get a borrowed handle, check, fill a 4 KiB buffer, put it back.

use criterion::async_executor::AsyncExecutor;
use criterion::{BenchmarkId, Criterion};
use dyno_core::Row;
use dyno_core::row::BlockOn;
use dyno_pool::contenders::{Contender, LockFree, Malloc, ThreadLocal};
use dyno_pool::get_use_put;
use dyno_pool::objects::Buf;
use dyno_rows::{ROWS, RowVisitor, visit_row};
use std::future::Future;
use std::hint::black_box;

type B = Buf<4096>;

/// A row's executor as criterion's.
struct RowExecutor<E>(E);

impl<E: BlockOn> AsyncExecutor for &RowExecutor<E> {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.0.block_on(future)
    }
}

fn one<R: Row, C: Contender<B>>(c: &mut Criterion, ex: &RowExecutor<R::Executor>) {
    let pool = C::new();
    black_box(get_use_put::<B, C>(&*pool, 0).unwrap());
    c.benchmark_group("getput-rows")
        .bench_function(BenchmarkId::new(R::ID, C::NAME), |b| {
            let mut i = 0u64;
            b.to_async(ex).iter(|| {
                i += 1;
                let sum = get_use_put::<B, C>(&*pool, i).unwrap();
                async move { black_box(sum) }
            })
        });
}

struct Bench<'a>(&'a mut Criterion);

impl RowVisitor for Bench<'_> {
    type Out = ();
    fn visit<R: Row>(self) {
        let ex = RowExecutor(R::executor().unwrap_or_else(|e| panic!("{}: {e}", R::ID)));
        one::<R, Malloc>(self.0, &ex);
        one::<R, LockFree<B>>(self.0, &ex);
        one::<R, ThreadLocal<B>>(self.0, &ex);
    }
}

fn benches(c: &mut Criterion) {
    for id in ROWS {
        visit_row(id, Bench(c));
    }
}

criterion::criterion_group!(micro, benches);
criterion::criterion_main!(micro);
