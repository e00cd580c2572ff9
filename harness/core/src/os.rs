//! Operating-system helpers: confining a process to cores, pinning a thread, and reading `getrusage`.

use serde::{Deserialize, Serialize};

/// What the OS refused.
#[derive(Debug, thiserror::Error)]
pub enum OsError {
    /// A core beyond what an affinity mask can hold.
    #[error("core {core} is beyond the cores an affinity mask holds (numbered below {limit})")]
    CoreOutOfRange { core: usize, limit: usize },
    /// sched_setaffinity or core_affinity failed.
    #[error("cannot confine {what} to cores {cores:?}: {source}")]
    Affinity {
        what: &'static str,
        cores: Vec<usize>,
        source: std::io::Error,
    },
    /// More open files are needed than the hard limit allows.
    #[error(
        "{want} open files needed but the hard limit is {hard} (soft {soft}); raise it with \
         `ulimit -Hn` as root or in /etc/security/limits.conf"
    )]
    NofileHardLimit { want: u64, hard: u64, soft: u64 },
    /// getrlimit or setrlimit failed.
    #[error("cannot {action} RLIMIT_NOFILE: {source}")]
    Nofile {
        action: String,
        source: std::io::Error,
    },
    /// The process to measure has ended.
    #[error("process {0} is gone")]
    Gone(u32),
    /// A file under /proc could not be read.
    #[error("cannot read {path}: {source}")]
    Proc {
        path: String,
        source: std::io::Error,
    },
}

impl From<OsError> for String {
    fn from(e: OsError) -> String {
        e.to_string()
    }
}

/// Confine the calling process's current and future threads to `cores` (sched_setaffinity).
pub fn confine_process(cores: &[usize]) -> Result<(), OsError> {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write within it; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for &c in cores {
            if c >= libc::CPU_SETSIZE as usize {
                return Err(OsError::CoreOutOfRange {
                    core: c,
                    limit: libc::CPU_SETSIZE as usize,
                });
            }
            libc::CPU_SET(c, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(OsError::Affinity {
                what: "the process",
                cores: cores.to_vec(),
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

/// The logical CPUs this process may run on, in ascending order.
pub fn allowed_cores() -> Vec<usize> {
    // SAFETY: as above; sched_getaffinity writes into the set we own.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            let n = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            return (0..n).collect();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Raise this process's soft limit on open files to at least `want` (up to the hard limit), for servers
/// and generators holding many connections. Returns the soft limit now in force; `Err` names both limits
/// when `want` is above the hard limit.
pub fn raise_nofile(want: u64) -> Result<u64, OsError> {
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(OsError::Nofile {
                action: "read".into(),
                source: std::io::Error::last_os_error(),
            });
        }
        if lim.rlim_cur >= want {
            return Ok(lim.rlim_cur);
        }
        if lim.rlim_max < want {
            return Err(OsError::NofileHardLimit {
                want,
                hard: lim.rlim_max,
                soft: lim.rlim_cur,
            });
        }
        lim.rlim_cur = want;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            return Err(OsError::Nofile {
                action: format!("raise to {want}"),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(want)
    }
}

/// Resident set size of this process now, in bytes.
pub fn current_rss() -> Option<u64> {
    rss_of(std::process::id())
}

/// User and system CPU time of a process in milliseconds, from `/proc/<pid>/stat` (fields 14 and 15).
pub fn proc_cpu_ms(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; the fields after it start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let (u, s) = (
        f.get(11)?.parse::<u64>().ok()?,
        f.get(12)?.parse::<u64>().ok()?,
    );
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some((u * 1000 / hz, s * 1000 / hz))
}

/// Resident set size of a process now, in bytes (from /proc/<pid>/statm).
pub fn rss_of(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(1) as u64)
}

/// `pid` and its descendants (through /proc/<pid>/task/*/children), leaving out every process whose
/// name starts with `exclude` and that process's descendants.
pub fn process_tree(pid: u32, exclude: Option<&str>) -> Vec<u32> {
    split_process_tree(pid, exclude).0
}

/// `pid`'s process tree split in two: the processes kept (as [`process_tree`]) and the processes whose
/// name starts with `exclude` (a client such as a load generator; their own descendants are not listed).
pub fn split_process_tree(pid: u32, exclude: Option<&str>) -> (Vec<u32>, Vec<u32>) {
    let mut out = Vec::new();
    let mut excluded = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        if p != pid && exclude.is_some_and(|e| comm.starts_with(e)) {
            excluded.push(p);
            continue;
        }
        out.push(p);
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for t in tasks.flatten() {
                let children =
                    std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
                todo.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
    }
    (out, excluded)
}

/// The system's monotonic clock (CLOCK_MONOTONIC) in nanoseconds: one clock for every process on the
/// machine, so the driver and a cell process can say when something happened in the same terms.
pub fn monotonic_ns() -> u64 {
    // SAFETY: clock_gettime fills the timespec it is given.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Pin the calling thread to one core.
pub fn pin_thread(core: usize) -> Result<(), OsError> {
    // core_affinity indexes a fixed cpu_set_t and panics beyond it.
    if core >= libc::CPU_SETSIZE as usize {
        return Err(OsError::CoreOutOfRange {
            core,
            limit: libc::CPU_SETSIZE as usize,
        });
    }
    if core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        Ok(())
    } else {
        Err(OsError::Affinity {
            what: "a thread",
            cores: vec![core],
            source: std::io::Error::last_os_error(),
        })
    }
}

/// CPU time, peak RSS and context switches from the OS accounting of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
    /// Peak resident set size in bytes (the kernel's high-water mark).
    pub peak_rss_bytes: u64,
    pub ctx_switches_voluntary: u64,
    pub ctx_switches_involuntary: u64,
    /// Seconds its live threads spent runnable but waiting for a CPU (the kernel's schedstat run delay):
    /// what other processes on the same cores took from it. 0 where the kernel keeps no schedstat or for
    /// accounting that has none (`getrusage`).
    #[serde(default)]
    pub run_delay_s: f64,
}

/// The run delay of every live thread of `/proc/<pid>` (`self` for this process), in seconds.
fn run_delay_s(pid: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    let ns: u64 = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    ns as f64 / 1e9
}

impl Usage {
    /// Convert the kernel's `rusage`.
    pub fn from_rusage(r: &libc::rusage) -> Usage {
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Usage {
            cpu_user_s: secs(r.ru_utime),
            cpu_sys_s: secs(r.ru_stime),
            // Linux reports ru_maxrss in KiB.
            peak_rss_bytes: r.ru_maxrss as u64 * 1024,
            ctx_switches_voluntary: r.ru_nvcsw as u64,
            ctx_switches_involuntary: r.ru_nivcsw as u64,
            run_delay_s: 0.0,
        }
    }

    /// Another process's usage so far, from /proc: CPU of all its threads, its peak RSS (VmHWM) and the
    /// context switches of its main thread (the whole process for a single-threaded server like nginx).
    pub fn of_pid(pid: u32) -> Result<Usage, OsError> {
        let ms = proc_cpu_ms(pid).ok_or(OsError::Gone(pid))?;
        let path = format!("/proc/{pid}/status");
        let status =
            std::fs::read_to_string(&path).map_err(|source| OsError::Proc { path, source })?;
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        Ok(Usage {
            cpu_user_s: ms.0 as f64 / 1e3,
            cpu_sys_s: ms.1 as f64 / 1e3,
            peak_rss_bytes: field("VmHWM:") * 1024,
            ctx_switches_voluntary: field("voluntary_ctxt_switches:"),
            ctx_switches_involuntary: field("nonvoluntary_ctxt_switches:"),
            run_delay_s: run_delay_s(&pid.to_string()),
        })
    }

    /// Usage of this process's children that have ended and been waited for.
    pub fn of_children() -> Usage {
        // SAFETY: getrusage fills the struct we own.
        unsafe {
            let mut r: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_CHILDREN, &mut r);
            Usage::from_rusage(&r)
        }
    }

    /// This process's usage so far (all threads, live and exited; the run delay of live threads).
    pub fn of_self() -> Usage {
        // SAFETY: getrusage fills the struct we own.
        let mut u = unsafe {
            let mut r: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut r);
            Usage::from_rusage(&r)
        };
        u.run_delay_s = run_delay_s("self");
        u
    }

    /// Usage accrued between `earlier` and `self` (peak RSS is the later high-water mark).
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            cpu_user_s: (self.cpu_user_s - earlier.cpu_user_s).max(0.0),
            cpu_sys_s: (self.cpu_sys_s - earlier.cpu_sys_s).max(0.0),
            peak_rss_bytes: self.peak_rss_bytes,
            ctx_switches_voluntary: self
                .ctx_switches_voluntary
                .saturating_sub(earlier.ctx_switches_voluntary),
            ctx_switches_involuntary: self
                .ctx_switches_involuntary
                .saturating_sub(earlier.ctx_switches_involuntary),
            run_delay_s: (self.run_delay_s - earlier.run_delay_s).max(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_threads_on_one_core_wait_for_it() {
        let core = allowed_cores()[0];
        let pin = move || pin_thread(core).unwrap();
        let spin = |ms: u128| {
            let t = std::time::Instant::now();
            let mut x = 0u64;
            while t.elapsed().as_millis() < ms {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        };
        pin();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let other = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                pin();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    spin(1);
                }
            })
        };
        let before = Usage::of_self();
        spin(300);
        let waited = Usage::of_self().since(&before).run_delay_s;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        other.join().unwrap();
        // Two always-runnable threads share one core for 300 ms: together they wait about that long.
        assert!(waited > 0.05, "run delay {waited} s");
    }

    #[test]
    fn own_usage_grows_with_work() {
        let a = Usage::of_self();
        let mut x = 0u64;
        let t = std::time::Instant::now();
        while t.elapsed().as_millis() < 30 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let d = Usage::of_self().since(&a);
        assert!(d.cpu_user_s + d.cpu_sys_s > 0.0, "{d:?}");
        assert!(d.peak_rss_bytes > 0);
    }

    #[test]
    fn process_tree_follows_children_but_not_excluded_ones() {
        let dir = tempfile::tempdir().unwrap();
        // A copy of `sleep` whose process name carries the excluded prefix.
        let renamed = dir.path().join("dyno-load-test");
        std::fs::copy("/bin/sleep", &renamed).unwrap();
        let mut kept = std::process::Command::new("/bin/sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let mut left_out = std::process::Command::new(&renamed)
            .arg("5")
            .spawn()
            .unwrap();
        // Let the exec finish so /proc/<pid>/comm holds the new name.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let tree = process_tree(std::process::id(), Some("dyno-load-"));
        let (_, excluded) = split_process_tree(std::process::id(), Some("dyno-load-"));
        let _ = (kept.kill(), left_out.kill(), kept.wait(), left_out.wait());
        assert!(excluded.contains(&left_out.id()), "{excluded:?}");
        assert!(tree.contains(&std::process::id()));
        assert!(tree.contains(&kept.id()), "{tree:?}");
        assert!(!tree.contains(&left_out.id()), "{tree:?}");
    }

    #[test]
    fn another_process_usage_and_rss_are_read_from_proc() {
        let me = std::process::id();
        let u = Usage::of_pid(me).unwrap();
        assert!(u.peak_rss_bytes > 0 && u.ctx_switches_voluntary + u.ctx_switches_involuntary > 0);
        assert!(rss_of(me).unwrap() > 0);
        assert!(Usage::of_pid(u32::MAX).is_err());
    }

    #[test]
    fn allowed_cores_is_not_empty() {
        assert!(!allowed_cores().is_empty());
    }
}
