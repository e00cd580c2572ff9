//! `dyno-cell-contention`: the contention workload's cell binary, run by the `dyno` driver.

fn main() -> std::process::ExitCode {
    dyno_rows::in_process::<dyno_contention::Contention>()
        .with_references()
        .main()
}
