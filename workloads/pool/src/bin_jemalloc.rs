//! `dyno-pool-jemalloc`: the pool workload's cell binary built with jemalloc (tikv-jemallocator) as its
//! global allocator.

#[global_allocator]
static GLOBAL: dyno_pool::counting::Counting<tikv_jemallocator::Jemalloc> =
    dyno_pool::counting::Counting(tikv_jemallocator::Jemalloc);

fn main() -> std::process::ExitCode {
    dyno_pool::main_with_allocator("jemalloc")
}
