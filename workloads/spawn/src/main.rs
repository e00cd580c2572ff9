//! `dyno-cell-spawn`: the spawn workload's cell binary, run by the `dyno` driver.

fn main() -> std::process::ExitCode {
    dyno_rows::in_process::<dyno_spawn::Spawn>()
        .with_references()
        .main()
}
