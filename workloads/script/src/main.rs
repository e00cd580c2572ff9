//! `dyno-cell-script`: the script workload's cell binary, run by the `dyno` driver.

fn main() -> std::process::ExitCode {
    dyno_rows::in_process::<dyno_script::ScriptWorkload>()
        .with_references()
        .main()
}
