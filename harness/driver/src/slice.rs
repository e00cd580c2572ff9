//! Time-sliced pairs: the processes of one parameter set's rows run at once on the same cores, and the
//! driver lets one run while the others are stopped (SIGCONT/SIGSTOP to each process group), in slices
//! of [`SLICE`] taken in a new random order every cycle. Every pair of them then shares the same
//! seconds of the machine, whose speed drifts within seconds and over minutes: measured here, two
//! identical CPU-bound processes alternated in 100 ms slices gave a ratio of 1.003 ±1.3% in 20 s, and
//! five back-to-back 2 s pairs in the same 20 s ±4.4%. A process's throughput is its operations over
//! the time it ran inside its window ([`Log::within`]), against the window edges it reports on the
//! machine's monotonic clock.

use dyno_core::metrics::{Declarations, measured_in_wall_time};
use dyno_core::os::monotonic_ns;
use dyno_core::schema::{CellOutput, Sliced};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// One turn ([`dyno_core::schema::SLICE_MS`]).
pub const SLICE: Duration = Duration::from_millis(dyno_core::schema::SLICE_MS);

/// When one process ran: its slices as `[continued, stopped)` on the monotonic clock, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Log(pub Vec<[u64; 2]>);

impl Log {
    /// Seconds this process ran inside `[start, end)` and how many of its slices fell in it.
    pub fn within(&self, [start, end]: [u64; 2]) -> (f64, usize) {
        self.0
            .iter()
            .filter(|[a, b]| *a < end && *b > start)
            .fold((0.0, 0), |(s, n), [a, b]| {
                let ns = (*b).min(end) - (*a).max(start);
                (s + ns as f64 / 1e9, n + 1)
            })
    }
}

/// The processes of one sliced block, registered as they start, each with its log.
pub struct Rotation {
    state: Mutex<Vec<Slot>>,
    changed: Condvar,
    seed: u64,
}

#[derive(Default)]
struct Slot {
    pgid: Option<i32>,
    done: bool,
    log: Log,
}

fn signal(pgid: i32, sig: i32) {
    // SAFETY: the group is a cell process's own; a group that has just ended gives ESRCH, ignored.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

impl Rotation {
    /// A rotation for `n` processes, its cycles' orders drawn from `seed`.
    pub fn new(n: usize, seed: u64) -> Rotation {
        Rotation {
            state: Mutex::new((0..n).map(|_| Slot::default()).collect()),
            changed: Condvar::new(),
            seed,
        }
    }

    /// Process `i` started as group `pgid`: it is stopped until its turn.
    pub fn register(&self, i: usize, pgid: i32) {
        signal(pgid, libc::SIGSTOP);
        self.state.lock().unwrap()[i].pgid = Some(pgid);
        self.changed.notify_all();
    }

    /// Process `i` has ended (reaped, or never started): no more turns.
    pub fn finished(&self, i: usize) {
        self.state.lock().unwrap()[i].done = true;
        self.changed.notify_all();
    }

    /// Take turns until every process has finished: each cycle continues every live process once,
    /// for one slice, in a shuffled order.
    pub fn run(&self) {
        let mut rng = fastrand::Rng::with_seed(self.seed);
        loop {
            let mut live: Vec<usize> = {
                let slots = self.state.lock().unwrap();
                if slots.iter().all(|s| s.done) {
                    return;
                }
                (0..slots.len())
                    .filter(|&i| slots[i].pgid.is_some() && !slots[i].done)
                    .collect()
            };
            if live.is_empty() {
                // Nobody has started yet: wait for a registration.
                let slots = self.state.lock().unwrap();
                let _ = self.changed.wait_timeout(slots, SLICE / 10).unwrap();
                continue;
            }
            rng.shuffle(&mut live);
            for i in live {
                self.turn(i);
            }
        }
    }

    /// One slice of process `i`, cut short when it ends.
    fn turn(&self, i: usize) {
        let slots = self.state.lock().unwrap();
        let Some(pgid) = slots[i].pgid.filter(|_| !slots[i].done) else {
            return;
        };
        let from = monotonic_ns();
        signal(pgid, libc::SIGCONT);
        let (mut slots, _) = self
            .changed
            .wait_timeout_while(slots, SLICE, |s| !s[i].done)
            .unwrap();
        if !slots[i].done {
            signal(pgid, libc::SIGSTOP);
        }
        slots[i].log.0.push([from, monotonic_ns()]);
    }

    /// The log of process `i`.
    pub fn log(&self, i: usize) -> Log {
        self.state.lock().unwrap()[i].log.clone()
    }
}

/// Turn what a sliced process reported into a sliced repeat: its throughput over the time it ran in
/// its window, no latency histogram, no settling judgement and no figure measured in wall time (each
/// counts the other processes' slices), and how it was sliced.
pub fn apply(
    out: &mut CellOutput,
    log: &Log,
    processes: usize,
    declared: &Declarations,
) -> Result<(), String> {
    for r in &mut out.repeats {
        let edges = r.window_monotonic_ns.ok_or(
            "the cell binary reports no window edges on the monotonic clock, which a time-sliced \
             repeat needs (rebuild it: cargo build --release)",
        )?;
        let (running_s, slices) = log.within(edges);
        if slices == 0 || running_s <= 0.0 {
            return Err("the process never ran inside its window while sliced".into());
        }
        r.sliced = Some(Sliced {
            processes,
            slice_ms: SLICE.as_secs_f64() * 1e3,
            window_wall_s: (edges[1] - edges[0]) as f64 / 1e9,
            slices_in_window: slices,
        });
        r.duration_s = running_s;
        r.histogram = None;
        r.steady = None;
        r.metrics.retain(|name, _| {
            declared
                .metric(name)
                .is_some_and(|m| !measured_in_wall_time(&m.unit))
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_time_in_a_window_counts_only_the_slices_inside_it() {
        let log = Log(vec![[0, 100], [300, 400], [600, 700], [900, 1000]]);
        let (s, n) = log.within([350, 650]);
        assert!((s - 100e-9).abs() < 1e-15, "{s}");
        assert_eq!(n, 2);
        assert_eq!(log.within([100, 300]), (0.0, 0));
        let (all, n) = log.within([0, 1000]);
        assert!((all - 400e-9).abs() < 1e-15);
        assert_eq!(n, 4);
    }

    #[test]
    fn processes_take_turns_and_never_run_at_once() {
        // Three real processes under one rotation: their logs do not overlap and each got turns.
        let mut children: Vec<std::process::Child> = (0..3)
            .map(|_| {
                use std::os::unix::process::CommandExt;
                std::process::Command::new("sh")
                    .args(["-c", "i=0; while [ $i -lt 40000 ]; do i=$((i+1)); done"])
                    .process_group(0)
                    .spawn()
                    .unwrap()
            })
            .collect();
        let rotation = Rotation::new(3, 7);
        std::thread::scope(|s| {
            for (i, c) in children.iter_mut().enumerate() {
                let rotation = &rotation;
                rotation.register(i, c.id() as i32);
                s.spawn(move || {
                    c.wait().unwrap();
                    rotation.finished(i);
                });
            }
            rotation.run();
        });
        let mut all: Vec<[u64; 2]> = (0..3).flat_map(|i| rotation.log(i).0).collect();
        for i in 0..3 {
            assert!(!rotation.log(i).0.is_empty(), "process {i} never ran");
        }
        all.sort();
        for w in all.windows(2) {
            assert!(w[0][1] <= w[1][0], "slices overlap: {w:?}");
        }
    }

    #[test]
    fn a_sliced_repeat_keeps_counts_and_drops_wall_time_figures() {
        use dyno_core::metrics::{Better, Metric};
        let declared = Declarations {
            metrics: vec![
                Metric::figure("lag_us", "µs", Better::Lower, "").spec(),
                Metric::figure("allocs", "allocations", Better::Lower, "").spec(),
            ],
            ..Default::default()
        };
        let raw = dyno_core::schema::RawRepeat {
            ops: 1000,
            errors: Default::default(),
            error_samples: Default::default(),
            steady: None,
            duration_s: 3.0,
            window_usage: Default::default(),
            histogram: Some("x".into()),
            metrics: [("lag_us".to_string(), 5.0), ("allocs".to_string(), 1.0)].into(),
            window_monotonic_ns: Some([1_000_000_000, 4_000_000_000]),
            sliced: None,
        };
        let mut out = CellOutput {
            fairness: crate::summarize::tests::fairness(),
            repeats: vec![raw.clone()],
            skipped: None,
        };
        let log = Log(vec![
            [500_000_000, 1_500_000_000],
            [3_000_000_000, 3_500_000_000],
        ]);
        apply(&mut out, &log, 3, &declared).unwrap();
        let r = &out.repeats[0];
        assert!((r.duration_s - 1.0).abs() < 1e-9, "{}", r.duration_s);
        assert!(r.histogram.is_none());
        assert_eq!(r.metrics.keys().collect::<Vec<_>>(), ["allocs"]);
        let s = r.sliced.unwrap();
        assert_eq!((s.processes, s.slices_in_window), (3, 2));

        let mut old = CellOutput {
            repeats: vec![dyno_core::schema::RawRepeat {
                window_monotonic_ns: None,
                ..raw
            }],
            ..out
        };
        assert!(apply(&mut old, &log, 3, &declared).is_err());
    }
}
