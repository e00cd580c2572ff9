//! Criterion get/put benchmarks inside every row's executor (criterion's `AsyncExecutor`, implemented
//! with each row's `BlockOn`), for plain allocation and the two fastest pools, system allocator.

use criterion::async_executor::AsyncExecutor;
use criterion::{BenchmarkId, Criterion};
use dyno_core::Row;
use dyno_core::row::BlockOn;
use dyno_pool::contenders::{Contender, LockFree, Malloc, ThreadLocal};
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
    drop(pool.acquire());
    c.benchmark_group("getput-rows")
        .bench_function(BenchmarkId::new(R::ID, C::NAME), |b| {
            b.to_async(ex).iter(|| async {
                let mut h = pool.acquire();
                black_box(&mut *h);
                drop(h);
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
