//! `dyno-cell-pool`: the pool workload's cell binary with the system allocator; a cell asking for
//! another allocator is handed to that allocator's binary (`dyno-pool-mimalloc`, `dyno-pool-jemalloc`).

#[global_allocator]
static GLOBAL: dyno_pool::counting::Counting<std::alloc::System> =
    dyno_pool::counting::Counting(std::alloc::System);

fn main() -> std::process::ExitCode {
    dyno_pool::main_with_allocator("system")
}
