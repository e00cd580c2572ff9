//! The load generator as a process of its own: the cell binary's `generate CONFIG` subcommand runs
//! dyno-load pinned to the client cores and prints its report; [`run`] starts it and reads the report back.

use dyno_core::RepeatError;
use dyno_core::os::{Usage, confine_process};
use dyno_core::remote::RemoteClient;
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

/// Run the generator process with `cfg`, here or on `remote` (its copy of this binary, over ssh); kill
/// it and fail if it has not finished by `deadline`.
pub fn run(
    cfg: &LoadConfig,
    deadline: Instant,
    remote: Option<&RemoteClient>,
) -> Result<GeneratorOutput, RepeatError> {
    let program: std::path::PathBuf = match std::env::var_os(PROGRAM_VAR) {
        Some(p) => p.into(),
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find this executable to start the generator: {e}"))?,
    };
    let json = serde_json::to_string(cfg).expect("a config serializes");
    let (mut cmd, shown) = match remote {
        Some(r) => {
            let name = program
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or("this executable has no file name")?;
            let limit = deadline.saturating_duration_since(Instant::now());
            let cmd = r.command(name, &[SUBCOMMAND.into(), json], limit);
            (cmd, format!("{name} on {} (ssh)", r.destination))
        }
        None => {
            let mut cmd = Command::new(&program);
            cmd.arg(SUBCOMMAND).arg(json);
            (cmd, program.display().to_string())
        }
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the load generator {shown}: {e}"))?;
    // The report is a few KiB, well under a pipe's buffer, so polling the exit does not deadlock.
    let status = wait_until(&mut child, deadline, "the load generator")?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot read the generator's output: {e}"))?;
    if !status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(RepeatError::Failed(format!(
            "the load generator failed ({status}): {}",
            err.trim().lines().last().unwrap_or("no message")
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| RepeatError::Failed(format!("the load generator printed no report: {e}")))
}

/// wrk's Lua `done` hook: one JSON line with its counts and its whole latency histogram (microsecond
/// values and counts, through `#latency` and `latency(i)`), so dyno records wrk's own samples exactly.
const WRK_DONE: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"duration_us":%d,"requests":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"latency_us":[',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
  for i = 1, #latency do
    local v, c = latency(i)
    io.write(string.format('%s[%d,%d]', i > 1 and "," or "", v, c))
  end
  io.write("]}\n")
end
"#;

/// What the `done` hook prints.
#[derive(Deserialize)]
struct WrkDone {
    duration_us: u64,
    requests: u64,
    bytes: u64,
    connect: u64,
    read: u64,
    write: u64,
    status: u64,
    timeout: u64,
    latency_us: Vec<(u64, u64)>,
}

/// The wrk binary, if installed.
pub fn wrk_path() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join("wrk"))
        .find(|p| p.is_file())
}

/// wrk as the load generator (closed loop only): started when the window opens, for the window's length
/// in whole seconds, pinned to the client cores.
pub struct WrkRun<'a> {
    pub url: &'a str,
    pub connections: usize,
    pub threads: usize,
    pub cores: &'a [usize],
    pub timeout: Duration,
    pub start: Instant,
    pub duration: Duration,
}

impl WrkRun<'_> {
    /// Run wrk and convert its report to dyno's (its latency histogram in nanoseconds, µs resolution).
    pub fn run(&self, deadline: Instant) -> Result<GeneratorOutput, RepeatError> {
        let wrk = wrk_path().ok_or("wrk is not installed (scripts/install-references.sh)")?;
        let secs = self.duration.as_secs_f64();
        if secs.fract() != 0.0 {
            return Err(RepeatError::Failed(format!(
                "wrk runs whole seconds; the window is {secs} s (use --duration N)"
            )));
        }
        let mut script = tempfile::Builder::new()
            .suffix(".lua")
            .tempfile()
            .map_err(|e| format!("cannot write wrk's script: {e}"))?;
        std::io::Write::write_all(&mut script, WRK_DONE.as_bytes())
            .map_err(|e| format!("cannot write wrk's script: {e}"))?;
        let mut cmd = Command::new(&wrk);
        cmd.arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", secs as u64))
            .arg(format!("--timeout={}s", self.timeout.as_secs().max(1)))
            .arg("-s")
            .arg(script.path())
            .arg(self.url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let cores = self.cores.to_vec();
        if !cores.is_empty() {
            // SAFETY: only sched_setaffinity runs between fork and exec (no allocation on success).
            unsafe {
                use std::os::unix::process::CommandExt;
                cmd.pre_exec(move || confine_process(&cores).map_err(std::io::Error::other));
            }
        }
        std::thread::sleep(self.start.saturating_duration_since(Instant::now()));
        let before = Usage::of_children();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", wrk.display()))?;
        // The histogram can outgrow a pipe's buffer: read while wrk runs.
        let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_string(&mut text);
                }
                text
            })
        };
        let out = drain(child.stdout.take().map(|r| Box::new(r) as _));
        let err = drain(child.stderr.take().map(|r| Box::new(r) as _));
        let status = wait_until(&mut child, deadline, "wrk")?;
        let cpu = Usage::of_children().since(&before);
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        if !status.success() {
            return Err(RepeatError::Failed(format!(
                "wrk failed ({status}): {}",
                stderr.trim()
            )));
        }
        let done: WrkDone = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| format!("wrk printed no report: {}", stdout.trim()))?;
        Ok(GeneratorOutput {
            report: done.into_report(self),
            cpu_s: cpu.cpu_user_s + cpu.cpu_sys_s,
        })
    }
}

impl WrkDone {
    fn into_report(self, run: &WrkRun) -> LoadReport {
        let mut hist = dyno_core::record::new_histogram();
        for (us, n) in &self.latency_us {
            let _ = hist.record_n((us * 1000).max(1), *n);
        }
        let ok = self.requests.saturating_sub(self.status);
        let secs = (self.duration_us as f64 / 1e6).max(f64::MIN_POSITIVE);
        let errors: std::collections::BTreeMap<String, u64> = [
            ("connect", self.connect),
            ("read", self.read),
            ("write", self.write),
            ("status_non2xx", self.status),
            ("timeout", self.timeout),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.to_string(), n))
        .collect();
        LoadReport {
            url: run.url.to_string(),
            mode: "closed".into(),
            connections: run.connections,
            threads: run.threads,
            duration_s: secs,
            requests: ok,
            throughput_ops_s: ok as f64 / secs,
            latency_ns: dyno_core::schema::Percentiles::of(&hist),
            // wrk reports counts only.
            error_samples: errors
                .iter()
                .map(|(k, n)| {
                    (
                        k.clone(),
                        format!("wrk counted {n} {k} errors (it gives no message)"),
                    )
                })
                .collect(),
            errors,
            offered_rate: None,
            achieved_rate: self.requests as f64 / secs,
            late_share: None,
            bytes_read: self.bytes,
            responses_total: self.requests,
            // wrk gives no count of what it gave up; its own check allows one per connection.
            abandoned_total: 0,
            histogram: dyno_core::record::encode_histogram(&hist),
            // wrk reports totals only: its warm-up is not judged.
            timeline: vec![],
            phases: vec![],
        }
    }
}

/// Wait for `child` to exit, killing it at `deadline`.
fn wait_until(
    child: &mut std::process::Child,
    deadline: Instant,
    what: &str,
) -> Result<std::process::ExitStatus, String> {
    loop {
        if let Some(s) = child
            .try_wait()
            .map_err(|e| format!("cannot wait for {what}: {e}"))?
        {
            return Ok(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not finish in time; killed"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
