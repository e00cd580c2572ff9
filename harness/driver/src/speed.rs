//! The machine-speed probe: a fixed CPU loop timed on one core of the run just before each repeat's
//! process starts and just after it ends. The shared machine's speed changes within seconds while
//! /proc/stat shows nothing, so the probe is a diagnostic: it charts speed over the run and flags
//! repeats that ran while the machine was far off its usual speed; it corrects no figure (measured
//! here, a probe around a repeat correlated only 0.24 with the repeat's throughput).

use dyno_core::schema::MachineSpeed;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long one probe runs ([`MachineSpeed::PROBE_MS`]).
pub const PROBE: Duration = Duration::from_millis(MachineSpeed::PROBE_MS);

/// Iterations between two looks at the clock (about 25 µs here): the clock is not the work.
const CHUNK: u64 = 1 << 12;

/// Loop iterations per microsecond on `core` over [`PROBE`]; `None` when no thread could be pinned
/// there.
pub fn probe(core: usize) -> Option<f64> {
    std::thread::spawn(move || {
        dyno_core::os::pin_thread(core).ok()?;
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut n = 0u64;
        let t0 = Instant::now();
        while t0.elapsed() < PROBE {
            for _ in 0..CHUNK {
                // xorshift64: a dependency chain of shifts and xors, no memory traffic.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x = black_box(x);
            }
            n += CHUNK;
        }
        Some(n as f64 / t0.elapsed().as_secs_f64() / 1e6)
    })
    .join()
    .ok()?
}

/// Probe before a repeat; finish with [`Around::after`] once its process has ended.
pub struct Around {
    core: usize,
    before: Option<f64>,
}

impl Around {
    pub fn before(core: usize) -> Around {
        Around {
            core,
            before: probe(core),
        }
    }

    pub fn after(self) -> Option<MachineSpeed> {
        Some(MachineSpeed {
            core: self.core,
            before_per_us: self.before?,
            after_per_us: probe(self.core)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_counts_work_on_the_core_it_was_given() {
        let core = dyno_core::os::allowed_cores()[0];
        let s = Around::before(core)
            .after()
            .expect("a probe on an allowed core");
        assert_eq!(s.core, core);
        assert!(s.before_per_us > 0.0 && s.after_per_us > 0.0, "{s:?}");
        let allowed = dyno_core::os::allowed_cores();
        if let Some(other) = (0..1024).find(|c| !allowed.contains(c)) {
            assert_eq!(probe(other), None, "core {other} is not this process's");
        }
        assert_eq!(probe(usize::MAX / 2), None, "no such core");
    }
}
