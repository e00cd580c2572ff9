//! Criterion get/put benchmarks of the pool contenders under the jemalloc global allocator.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "common/getput.rs"]
mod getput;

fn benches(c: &mut criterion::Criterion) {
    getput::all(c, "jemalloc");
}

criterion::criterion_group!(micro, benches);
criterion::criterion_main!(micro);
