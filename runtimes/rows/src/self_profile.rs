//! The in-process profiler the driver falls back to where `perf` is absent: pprof-rs (SIGPROF at a
//! fixed frequency) over the measured window of the profiled repeat, written as folded stacks.
//!
//! Samples whose program counter lies in libc, libgcc, libpthread or the vDSO are dropped (unwinding
//! there from a signal handler can deadlock), so time spent in syscalls is under-represented; the driver
//! records the coverage (samples kept per CPU-second and hertz) next to the flamegraph.

/// Shared objects in which a sample is dropped rather than unwound.
pub const BLOCKLIST: [&str; 4] = ["libc", "libgcc", "pthread", "vdso"];

/// Sampling this process until [`SelfProfiler::finish`].
pub struct SelfProfiler(pprof::ProfilerGuard<'static>);

impl SelfProfiler {
    /// Start sampling every thread of this process at `frequency_hz` (of CPU time).
    pub fn start(frequency_hz: u32) -> Result<Self, String> {
        let hz =
            i32::try_from(frequency_hz).map_err(|_| format!("{frequency_hz} Hz is too high"))?;
        pprof::ProfilerGuardBuilder::default()
            .frequency(hz)
            .blocklist(&BLOCKLIST)
            .build()
            .map(Self)
            .map_err(|e| format!("cannot start pprof: {e}"))
    }

    /// Start and stop once, before any window: pprof's first start loads the unwinder's symbol cache,
    /// which takes seconds in a debug build and would otherwise eat into the profiled window.
    pub fn prepare(frequency_hz: u32) -> Result<(), String> {
        // Stopping discards what was sampled, so the window starts from nothing.
        Self::start(frequency_hz).map(drop)
    }

    /// Stop sampling, then symbolize: folded stacks, one `thread;outermost;...;leaf count` per line.
    pub fn finish(self) -> Result<String, String> {
        let unresolved = self
            .0
            .report()
            .build_unresolved()
            .map_err(|e| format!("cannot read pprof's samples: {e}"))?;
        // Stop the timer before symbolizing, so symbolization is not sampled.
        drop(self);
        let mut lines: Vec<String> = unresolved
            .data
            .into_iter()
            .map(|(frames, count)| folded_line(&pprof::Frames::from(frames), count))
            .collect();
        lines.sort();
        Ok(lines.concat())
    }
}

/// One folded line; pprof keeps frames leaf first, and an inlined frame's symbols innermost first.
/// The leaf end of each stack is the profiler's own unwinder (`pprof::backtrace`, `backtrace::`),
/// which is cut off so the sampled function is the leaf.
fn folded_line(frames: &pprof::Frames, count: isize) -> String {
    let mut line = frames.thread_name_or_id().replace(';', ":");
    let names = frames
        .frames
        .iter()
        .rev()
        .flat_map(|f| f.iter().rev())
        .map(|s| s.name())
        .take_while(|n| !is_unwinder(n));
    for name in names {
        line.push(';');
        line.push_str(&name.replace(';', ":"));
    }
    line.push_str(&format!(" {count}\n"));
    line
}

fn is_unwinder(frame: &str) -> bool {
    frame.contains("pprof::backtrace") || frame.starts_with("backtrace::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn spin_hot_loop(until: std::time::Instant) -> u64 {
        let mut x = 1u64;
        while std::time::Instant::now() < until {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        x
    }

    #[test]
    fn folded_stacks_name_the_hot_function() {
        let profiler = SelfProfiler::start(499).unwrap();
        spin_hot_loop(std::time::Instant::now() + std::time::Duration::from_millis(400));
        let folded = profiler.finish().unwrap();
        let samples: u64 = folded
            .lines()
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
            .sum();
        assert!(samples > 0, "no samples: {folded}");
        assert!(folded.contains("spin_hot_loop"), "{folded}");
        assert!(
            folded.lines().all(|l| !l.split(';').any(is_unwinder)),
            "the unwinder is cut off: {folded}"
        );
    }
}
