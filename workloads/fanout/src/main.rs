//! `dyno-cell-fanout`: the fan-out workload's cell binary, run by the `dyno` driver.

fn main() -> std::process::ExitCode {
    dyno_rows::in_process::<dyno_fanout::Fanout>()
        .with_references()
        .main()
}
