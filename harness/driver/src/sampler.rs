//! The time-series sampler: while a cell process runs, record the CPU use and RSS of it and the processes it
//! started (a reference server) and, apart, of its client process (a load generator: the processes its workload's `ClientSpec` names), at
//! about 10 Hz, and the machine's per-core CPU use no faster than sysinfo's minimum CPU refresh interval;
//! then write a CSV.

use dyno_core::os;
use dyno_core::schema::TimeseriesSummary;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use sysinfo::{CpuRefreshKind, RefreshKind, System};

/// Time between samples of the cell process.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// One sample.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    pub t_s: f64,
    /// Cores the process kept busy since the previous sample (CPU-time delta ÷ wall-time delta).
    pub cpu_cores: f64,
    pub rss_bytes: u64,
    /// Per-core machine CPU use in percent, only on samples where sysinfo could refresh it.
    pub machine_cpu_pct: Option<Vec<f32>>,
    /// The client process (a load generator started by the cell), sampled apart: cores busy and RSS.
    pub client_cpu_cores: f64,
    pub client_rss_bytes: u64,
}

/// CPU milliseconds by process id.
type CpuMs = BTreeMap<u32, u64>;

/// CPU milliseconds of each process in `pids`.
fn cpu_of(pids: &[u32]) -> CpuMs {
    pids.iter()
        .filter_map(|&p| os::proc_cpu_ms(p).map(|(u, s)| (p, u + s)))
        .collect()
}

/// Cores busy between two readings of [`cpu_of`], over processes present in both (one that started or
/// ended in between counts from the next sample on).
fn cores_busy(before: &CpuMs, now: &CpuMs, secs: f64) -> f64 {
    let ms: u64 = now
        .iter()
        .filter_map(|(p, c)| before.get(p).map(|b| c.saturating_sub(*b)))
        .sum();
    ms as f64 / 1e3 / secs.max(1e-6)
}

/// A running sampler; [`Sampler::stop`] ends it and returns the series.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Sample>>,
}

impl Sampler {
    /// Start sampling process `pid`, its client process (threads named `client_prefix`) apart.
    pub fn start(pid: u32, client_prefix: Option<String>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || sample(pid, client_prefix, &flag));
        Sampler { stop, thread }
    }

    /// Stop and return the samples.
    pub fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

fn sample(pid: u32, client_prefix: Option<String>, stop: &AtomicBool) -> Vec<Sample> {
    let Ok(mut sys) = System::new_with_specifics(
        RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_usage()),
    ) else {
        return vec![];
    };
    let start = Instant::now();
    let mut last_cpu_refresh = start;
    // When, and the CPU milliseconds of the measured processes and of the client ones.
    let mut prev: Option<(Instant, CpuMs, CpuMs)> = None;
    let mut out = Vec::new();
    let mut next = start;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        // The measured processes: the cell and what it started (a reference server), not a
        // load generator. CPU time straight from the kernel (/proc/<pid>/stat): sysinfo's accumulated
        // figure lagged far behind for single-threaded processes here.
        let (tree, clients) = os::split_process_tree(pid, client_prefix.as_deref());
        let cpu = cpu_of(&tree);
        if !cpu.contains_key(&pid) {
            break;
        }
        let client_cpu = cpu_of(&clients);
        let (cpu_cores, client_cpu_cores) = match &prev {
            Some((t, before, client_before)) => {
                let secs = (now - *t).as_secs_f64();
                (
                    cores_busy(before, &cpu, secs),
                    cores_busy(client_before, &client_cpu, secs),
                )
            }
            None => (0.0, 0.0),
        };
        let rss: u64 = tree.iter().filter_map(|&p| os::rss_of(p)).sum();
        let client_rss_bytes: u64 = clients.iter().filter_map(|&p| os::rss_of(p)).sum();
        prev = Some((now, cpu, client_cpu));
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
            client_cpu_cores,
            client_rss_bytes,
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
    s.push_str(",client_cpu_cores,client_rss_bytes\n");
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
        let _ = writeln!(s, ",{:.3},{}", x.client_cpu_cores, x.client_rss_bytes);
    }
    s
}

/// Mean busy cores and highest RSS over the series.
pub fn summarize(samples: &[Sample]) -> TimeseriesSummary {
    let busy: Vec<f64> = samples.iter().skip(1).map(|s| s.cpu_cores).collect();
    let client: Vec<f64> = samples.iter().skip(1).map(|s| s.client_cpu_cores).collect();
    TimeseriesSummary {
        mean_client_cpu_cores: if client.is_empty() {
            0.0
        } else {
            client.iter().sum::<f64>() / client.len() as f64
        },
        max_client_rss_bytes: samples
            .iter()
            .map(|s| s.client_rss_bytes)
            .max()
            .unwrap_or(0),
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
            crate::child::run_watched(c, Duration::from_secs(30), |pid| Sampler::start(pid, None))
                .unwrap();
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
        assert!(
            text.lines()
                .next()
                .unwrap()
                .ends_with(",client_cpu_cores,client_rss_bytes")
        );
        // perl starts no load generator.
        assert_eq!(
            (sum.mean_client_cpu_cores, sum.max_client_rss_bytes),
            (0.0, 0)
        );
    }
}
