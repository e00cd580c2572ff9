//! The time-series sampler: while a cell process runs, record its CPU use and RSS at about 10 Hz, and the
//! machine's per-core CPU use no faster than sysinfo's minimum CPU refresh interval, then write a CSV.

use dyno_core::schema::TimeseriesSummary;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use sysinfo::{CpuRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, RefreshKind, System};

/// Time between samples of the cell process.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// One sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub t_s: f64,
    /// Cores the process kept busy since the previous sample (CPU-time delta ÷ wall-time delta).
    pub cpu_cores: f64,
    pub rss_bytes: u64,
    /// Per-core machine CPU use in percent, only on samples where sysinfo could refresh it.
    pub machine_cpu_pct: Option<Vec<f32>>,
}

/// A running sampler; [`Sampler::stop`] ends it and returns the series.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Sample>>,
}

impl Sampler {
    /// Start sampling process `pid`.
    pub fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || sample(Pid::from_u32(pid), &flag));
        Sampler { stop, thread }
    }

    /// Stop and return the samples.
    pub fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

fn sample(pid: Pid, stop: &AtomicBool) -> Vec<Sample> {
    let Ok(mut sys) = System::new_with_specifics(
        RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_usage()),
    ) else {
        return vec![];
    };
    let kind = ProcessRefreshKind::nothing().with_cpu().with_memory();
    let start = Instant::now();
    let mut last_cpu_refresh = start;
    let mut prev: Option<(Instant, u64)> = None;
    let mut out = Vec::new();
    let mut next = start;
    while !stop.load(Ordering::Relaxed) {
        sys.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), true, kind);
        let now = Instant::now();
        let Some(p) = sys.process(pid) else { break };
        // CPU time straight from the kernel (/proc/<pid>/stat): sysinfo's accumulated figure lagged far
        // behind for single-threaded processes here.
        let Some(cpu_ms) = proc_cpu_ms(pid.as_u32()) else {
            break;
        };
        let cpu_cores = match prev {
            Some((t, c)) => {
                cpu_ms.saturating_sub(c) as f64 / 1e3 / (now - t).as_secs_f64().max(1e-6)
            }
            None => 0.0,
        };
        let rss = p.memory();
        prev = Some((now, cpu_ms));
        let machine = if now - last_cpu_refresh >= sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
            sys.refresh_cpu_usage();
            last_cpu_refresh = now;
            Some(sys.cpus().iter().map(|c| c.usage()).collect())
        } else {
            None
        };
        if out.is_empty() {
            sys.refresh_cpu_usage();
        }
        out.push(Sample {
            t_s: (now - start).as_secs_f64(),
            cpu_cores,
            rss_bytes: rss,
            machine_cpu_pct: machine,
        });
        next += INTERVAL;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    out
}

/// User + system CPU time of a process in milliseconds, from `/proc/<pid>/stat` (fields 14 and 15, in ticks).
fn proc_cpu_ms(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it start at the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(ticks * 1000 / hz)
}

/// The series as CSV: `t_s,process_cpu_cores,rss_bytes,core0_pct,...` (core columns empty between refreshes).
pub fn csv(samples: &[Sample]) -> String {
    let cores = samples
        .iter()
        .filter_map(|s| s.machine_cpu_pct.as_ref().map(Vec::len))
        .max()
        .unwrap_or(0);
    let mut s = String::from("t_s,process_cpu_cores,rss_bytes");
    for c in 0..cores {
        let _ = write!(s, ",core{c}_pct");
    }
    s.push('\n');
    for x in samples {
        let _ = write!(s, "{:.3},{:.3},{}", x.t_s, x.cpu_cores, x.rss_bytes);
        for c in 0..cores {
            match x.machine_cpu_pct.as_ref().and_then(|v| v.get(c)) {
                Some(v) => {
                    let _ = write!(s, ",{v:.1}");
                }
                None => s.push(','),
            }
        }
        s.push('\n');
    }
    s
}

/// Mean busy cores and highest RSS over the series.
pub fn summarize(samples: &[Sample]) -> TimeseriesSummary {
    let busy: Vec<f64> = samples.iter().skip(1).map(|s| s.cpu_cores).collect();
    TimeseriesSummary {
        samples: samples.len(),
        interval_s: INTERVAL.as_secs_f64(),
        mean_cpu_cores: if busy.is_empty() {
            0.0
        } else {
            busy.iter().sum::<f64>() / busy.len() as f64
        },
        max_rss_bytes: samples.iter().map(|s| s.rss_bytes).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_busy_process_shows_about_one_core_and_its_memory() {
        // perl spins on one core for 1-2 s (no forks: all the CPU time is its own).
        let mut c = Command::new("perl");
        c.args(["-e", "my $t = time + 2; while (time < $t) {}"]);
        let (fin, sampler) =
            crate::child::run_watched(c, Duration::from_secs(30), Sampler::start).unwrap();
        assert!(fin.failure().is_none());
        let series = sampler.stop();
        let sum = summarize(&series);
        assert!(sum.samples >= 5, "{sum:?}");
        assert!(sum.max_rss_bytes > 0);
        assert!(
            sum.mean_cpu_cores > 0.3 && sum.mean_cpu_cores < 1.5,
            "{sum:?}"
        );
        let text = csv(&series);
        assert!(
            text.starts_with("t_s,process_cpu_cores,rss_bytes,core0_pct"),
            "{text}"
        );
        assert_eq!(text.lines().count(), series.len() + 1);
    }
}
