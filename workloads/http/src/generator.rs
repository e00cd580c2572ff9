//! The load generator as a process of its own: the cell binary's `generate CONFIG` subcommand runs
//! dyno-load pinned to the client cores and prints its report; [`run`] starts it and reads the report back.

use dyno_core::os::{Usage, confine_process};
use dyno_load::{LoadConfig, LoadReport};
use serde::{Deserialize, Serialize};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// The subcommand of `dyno-cell-http` that runs the generator.
pub const SUBCOMMAND: &str = "generate";

/// Environment variable naming the program to run as `PROGRAM generate CONFIG` (default: this executable).
/// Tests set it to the cell binary, since their own executable is the test harness.
pub const PROGRAM_VAR: &str = "DYNO_HTTP_GENERATOR";

/// What the generator process prints: the load report and the CPU it spent.
#[derive(Debug, Serialize, Deserialize)]
pub struct GeneratorOutput {
    pub report: LoadReport,
    /// User + system CPU seconds of the generator process over the whole test.
    pub cpu_s: f64,
}

/// `generate CONFIG_JSON`: run the load and print a [`GeneratorOutput`] as JSON.
pub fn main(args: &[String]) -> ExitCode {
    let [json] = args else {
        eprintln!("usage: {SUBCOMMAND} CONFIG_JSON (a dyno_load::LoadConfig)");
        return ExitCode::from(2);
    };
    let cfg: LoadConfig = match serde_json::from_str(json) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: the generator config is not a LoadConfig: {e}");
            return ExitCode::from(2);
        }
    };
    name_this_thread();
    if !cfg.cores.is_empty()
        && let Err(e) = confine_process(&cfg.cores)
    {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let before = Usage::of_self();
    match dyno_load::run(&cfg) {
        Ok(report) => {
            let u = Usage::of_self().since(&before);
            let out = GeneratorOutput {
                report,
                cpu_s: u.cpu_user_s + u.cpu_sys_s,
            };
            println!(
                "{}",
                serde_json::to_string(&out).expect("a report serializes")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Name the generator's main thread like its client threads (`dyno-load-main`), so a profile of the cell
/// can leave the generator out.
fn name_this_thread() {
    let name = std::ffi::CString::new(format!("{}main", dyno_load::THREAD_PREFIX))
        .expect("no NUL in the name");
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes (longer is truncated).
    unsafe {
        libc::prctl(libc::PR_SET_NAME, name.as_ptr());
    }
}

/// Run the generator process with `cfg`; kill it and fail if it has not finished by `deadline`.
pub fn run(cfg: &LoadConfig, deadline: Instant) -> Result<GeneratorOutput, String> {
    let program = match std::env::var_os(PROGRAM_VAR) {
        Some(p) => p.into(),
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find this executable to start the generator: {e}"))?,
    };
    let json = serde_json::to_string(cfg).expect("a config serializes");
    let mut child = Command::new(&program)
        .arg(SUBCOMMAND)
        .arg(json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the load generator {}: {e}", program.display()))?;
    // The report is a few KiB, well under a pipe's buffer, so polling the exit does not deadlock.
    let status = loop {
        if let Some(s) = child
            .try_wait()
            .map_err(|e| format!("cannot wait for the generator: {e}"))?
        {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the load generator did not finish in time; killed".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot read the generator's output: {e}"))?;
    if !status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "the load generator failed ({status}): {}",
            err.trim().lines().last().unwrap_or("no message")
        ));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("the load generator printed no report: {e}"))
}
