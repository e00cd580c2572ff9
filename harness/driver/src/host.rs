//! Facts about the machine, the toolchain and the source revision, for the run manifest.

use dyno_core::schema::{Git, Host, Toolchain};
use std::path::Path;
use std::process::Command;

fn output(cmd: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit checked out at `root` and whether tracked files differ from it.
pub fn git(root: &Path) -> Git {
    let commit = output("git", &["rev-parse", "HEAD"], root).unwrap_or_else(|| "unknown".into());
    let dirty = output(
        "git",
        &["status", "--porcelain", "--untracked-files=no"],
        root,
    )
    .map(|s| !s.is_empty())
    .unwrap_or(true);
    Git { commit, dirty }
}

/// CPU model, logical cores, memory, kernel and OS.
pub fn host() -> Host {
    use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
    let sys = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    )
    .ok();
    let cpus = sys.as_ref().map(|s| s.cpus()).unwrap_or_default();
    Host {
        cpu_model: cpus
            .first()
            .map(|c| c.brand().trim().to_string())
            .unwrap_or_else(|| "unknown".into()),
        cores: cpus.len().max(dyno_core::os::allowed_cores().len()),
        memory_bytes: sys.as_ref().map(|s| s.total_memory()).unwrap_or(0),
        kernel: System::kernel_version().unwrap_or_else(|_| "unknown".into()),
        os: System::long_os_version().unwrap_or_else(|_| "unknown".into()),
    }
}

/// The Rust compiler on PATH (the one cargo builds the cells with).
pub fn toolchain(root: &Path) -> Toolchain {
    Toolchain {
        rustc: output("rustc", &["-V"], root).unwrap_or_else(|| "unknown".into()),
    }
}

/// CPU time used by every process on the machine so far, in seconds (from /proc/stat), for noise checks.
pub fn machine_busy_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let f: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy = f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7).unwrap_or(&0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(busy as f64 / hz)
}
