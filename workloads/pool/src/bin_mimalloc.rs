//! `dyno-pool-mimalloc`: the pool workload's cell binary built with mimalloc as its global allocator.

#[global_allocator]
static GLOBAL: dyno_pool::counting::Counting<mimalloc::MiMalloc> =
    dyno_pool::counting::Counting(mimalloc::MiMalloc);

fn main() -> std::process::ExitCode {
    dyno_pool::main_with_allocator("mimalloc")
}
