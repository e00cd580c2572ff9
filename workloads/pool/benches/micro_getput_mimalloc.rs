//! Criterion get/put benchmarks of the pool contenders under the mimalloc global allocator.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/getput.rs"]
mod getput;

fn benches(c: &mut criterion::Criterion) {
    getput::all(c, "mimalloc");
}

criterion::criterion_group!(micro, benches);
criterion::criterion_main!(micro);
