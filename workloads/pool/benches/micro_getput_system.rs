//! Criterion get/put benchmarks of the pool contenders under the system global allocator.

#[global_allocator]
static GLOBAL: std::alloc::System = std::alloc::System;

#[path = "common/getput.rs"]
mod getput;

fn benches(c: &mut criterion::Criterion) {
    getput::all(c, "system");
}

criterion::criterion_group!(micro, benches);
criterion::criterion_main!(micro);
