//! `dyno-cell-spawn`: the spawn workload's cell binary, run by the `dyno` driver.

fn main() -> std::process::ExitCode {
    dyno_rows::cell_main::<dyno_spawn::Spawn>()
}
