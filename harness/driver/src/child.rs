//! Running one cell process: spawn it, bound it by a timeout, reap it with `wait4` for the kernel's
//! accounting (CPU, peak RSS, context switches), and keep the tail of its stderr.

use dyno_core::os::Usage;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Bytes of stderr kept from a cell.
pub const STDERR_TAIL_BYTES: usize = 4096;

/// How a cell process ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    TimedOut(Duration),
}

/// A finished cell process.
#[derive(Debug, Clone)]
pub struct Finished {
    pub exit: Exit,
    pub usage: Usage,
    pub wall: Duration,
    pub stderr_tail: String,
}

impl Finished {
    /// One line saying why the process failed, or `None` if it exited 0.
    pub fn failure(&self) -> Option<String> {
        let from_stderr = || {
            let lines: Vec<&str> = self.stderr_tail.lines().collect();
            if let Some(i) = lines.iter().rposition(|l| l.contains(" panicked at ")) {
                let msg = lines.get(i + 1).copied().unwrap_or("").trim();
                return Some(format!("panicked: {msg}"));
            }
            lines
                .iter()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .map(str::to_string)
        };
        match self.exit {
            Exit::Code(0) => None,
            Exit::Code(c) => {
                Some(from_stderr().unwrap_or_else(|| format!("exited with status {c}")))
            }
            Exit::Signal(s) => Some(format!("killed by signal {s} ({})", signal_name(s))),
            Exit::TimedOut(t) => Some(format!(
                "timed out after {:.0} s and was killed",
                t.as_secs_f64()
            )),
        }
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

/// Run `cmd` to completion or until `timeout`, then kill its process group. The child dies with the driver
/// (PR_SET_PDEATHSIG), so a killed run leaves no orphan cells.
pub fn run(cmd: Command, timeout: Duration) -> std::io::Result<Finished> {
    run_watched(cmd, timeout, |_| ()).map(|(f, ())| f)
}

/// [`run`], calling `on_start(pid)` once the process has started and returning what it returned (e.g. a
/// sampler watching the process).
pub fn run_watched<S>(
    mut cmd: Command,
    timeout: Duration,
    on_start: impl FnOnce(u32) -> S,
) -> std::io::Result<(Finished, S)> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // Its own process group, so a timeout kills anything it started too (and frees its stderr pipe).
    cmd.process_group(0);
    // SAFETY: prctl is async-signal-safe and touches only the child between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    // Ctrl-C or SIGTERM from now on kills this process group.
    let running = match crate::interrupt::Running::new(pid) {
        Ok(r) => r,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    let watcher = on_start(child.id());
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&buf[..n]);
            if tail.len() > 2 * STDERR_TAIL_BYTES {
                tail.drain(..tail.len() - STDERR_TAIL_BYTES);
            }
        }
        let start = tail.len().saturating_sub(STDERR_TAIL_BYTES);
        String::from_utf8_lossy(&tail[start..]).into_owned()
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY: rusage is plain data that wait4 fills.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let r = loop {
            // SAFETY: waiting for our own child.
            let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
            if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
            {
                continue;
            }
            break r;
        };
        let _ = tx.send((r, status, Usage::from_rusage(&ru)));
    });
    let mut timed_out = None;
    let (r, status, usage) = match rx.recv_timeout(timeout) {
        Ok(v) => v,
        Err(_) => {
            // SAFETY: the child has not been reaped yet (the reaper has not reported), so its pid and
            // process group are still ours.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
            timed_out = Some(timeout);
            rx.recv().expect("the reaper always reports")
        }
    };
    drop(running);
    if crate::interrupt::requested().is_some() {
        // The group was killed: let its last members go before the run reports and exits.
        crate::interrupt::wait_group_gone(pid, Duration::from_secs(1));
    }
    let wall = started.elapsed();
    let stderr_tail = reader.join().unwrap_or_default();
    if r == -1 {
        return Err(std::io::Error::other("wait4 failed on a cell process"));
    }
    let exit = if let Some(t) = timed_out {
        Exit::TimedOut(t)
    } else if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    };
    Ok((
        Finished {
            exit,
            usage,
            wall,
            stderr_tail,
        },
        watcher,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout_ms: u64) -> Finished {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        run(c, Duration::from_millis(timeout_ms)).unwrap()
    }

    #[test]
    fn exit_codes_signals_and_timeouts_are_told_apart() {
        let ok = sh("echo hi >&2; exit 0", 5000);
        assert_eq!(ok.exit, Exit::Code(0));
        assert!(ok.failure().is_none());
        assert!(ok.stderr_tail.contains("hi"));

        let err = sh("echo 'error: the thing broke' >&2; exit 3", 5000);
        assert_eq!(err.failure().unwrap(), "the thing broke");

        let killed = sh("kill -9 $$", 5000);
        assert_eq!(killed.exit, Exit::Signal(9));
        assert!(killed.failure().unwrap().contains("SIGKILL"));

        let hung = sh("sleep 30", 300);
        assert!(matches!(hung.exit, Exit::TimedOut(_)));
        assert!(hung.wall < Duration::from_secs(10));
        assert!(hung.failure().unwrap().contains("timed out"));
    }

    #[test]
    fn panics_are_reported_with_their_message() {
        let p = sh(
            "printf \"thread 'main' (7) panicked at src/x.rs:1:1:\\nboom\\nnote: run with RUST_BACKTRACE\\n\" >&2; exit 101",
            5000,
        );
        assert_eq!(p.failure().unwrap(), "panicked: boom");
    }

    #[test]
    fn usage_comes_from_the_kernel() {
        let busy = sh("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done", 20000);
        assert!(busy.usage.cpu_user_s + busy.usage.cpu_sys_s > 0.0);
        assert!(busy.usage.peak_rss_bytes > 0);
    }
}
