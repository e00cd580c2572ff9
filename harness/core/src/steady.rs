//! Steady state, found from the data: completed operations per interval over warm-up and window (the
//! recorder's timeline), judged against the measured window's own median rate. A repeat says when its
//! throughput settled and whether that was before the window opened, and whether the rate still moved
//! inside the window (its first half against its second).

use serde::{Deserialize, Serialize};

/// Width of one timeline interval: short enough to see a warm-up of a few hundred milliseconds, long
/// enough that one interval holds many operations at the rates dyno measures.
pub const INTERVAL_NS: u64 = 50_000_000;

/// Intervals whose median (centred on the one judged) is compared with the window's level (250 ms), so
/// one or two slow intervals (a scheduler hiccup of the shared machine) do not count as the warm-up still
/// going on.
pub const SMOOTHING: usize = 5;

/// How far from the window's median rate a smoothed interval may be and still count as settled (±10%):
/// the drift that the 95% intervals of a 2-core shared machine resolve at all.
pub const BAND: f64 = 0.10;

/// A warm-up extended from the data is this multiple of the time the rate took to settle, in whole
/// intervals: the settling point of one repeat is an estimate, and the next repeat may settle a little
/// later.
pub const WARMUP_MARGIN: f64 = 1.5;

/// The warm-up to run a repeat again with, when its rate settled only `settled_after_s` after the start:
/// [`WARMUP_MARGIN`] times that, rounded up to whole [`INTERVAL_NS`] intervals, at most `cap_s` (a warm-up
/// longer than the window it precedes is another workload, judged and flagged rather than chased).
pub fn extended_warmup(settled_after_s: f64, cap_s: f64) -> f64 {
    let interval_s = INTERVAL_NS as f64 / 1e9;
    // Less a nanosecond's worth, so a product that is whole intervals but for rounding (0.4 s x 1.5 is
    // 12.000000000000002 intervals) is not a whole interval longer.
    let intervals = settled_after_s * WARMUP_MARGIN / interval_s;
    let longer = (intervals - 1e-9 / interval_s).ceil() * interval_s;
    // Whole milliseconds, so the recorded warm-up reads as it was asked for.
    (longer.min(cap_s) * 1e3).round() / 1e3
}

/// What a repeat's timeline says about its warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Steady {
    /// Seconds from the start of the warm-up until the smoothed (median) rate stayed within [`BAND`] of the
    /// window's median rate for good (until the window opened).
    pub settled_after_s: f64,
    /// The warm-up that was used.
    pub warmup_s: f64,
    /// Mean rate of the window's second half over its first half (1.0: flat).
    pub window_drift: f64,
    /// The window cut into blocks of [`SMOOTHING`] intervals (250 ms): how many, and the coefficient of
    /// variation of their operation counts (`None` below two blocks). The noise inside one process:
    /// the variance a repeat's throughput owes to it is about `block_cv² / blocks`.
    #[serde(default)]
    pub blocks: usize,
    #[serde(default)]
    pub block_cv: Option<f64>,
}

impl Steady {
    /// Whether the rate settled before the window opened.
    pub fn settled_in_warmup(&self) -> bool {
        self.settled_after_s <= self.warmup_s + 1e-9
    }

    /// Whether the window's two halves differ by more than [`BAND`].
    pub fn drifted(&self) -> bool {
        (self.window_drift - 1.0).abs() > BAND
    }
}

/// Judge `timeline` (operations completed in each [`INTERVAL_NS`] from the warm-up's start) for a window
/// of `[start_ns, end_ns)`. `None` when the window holds too few intervals or no operations to judge.
pub fn assess(timeline: &[u64], start_ns: u64, end_ns: u64) -> Option<Steady> {
    let first = start_ns.div_ceil(INTERVAL_NS) as usize;
    let last = (end_ns / INTERVAL_NS) as usize; // exclusive: only whole intervals inside the window
    if last > timeline.len() || last < first + 2 * SMOOTHING {
        return None;
    }
    let window = &timeline[first..last];
    let mut sorted = window.to_vec();
    sorted.sort_unstable();
    let level = sorted[sorted.len() / 2] as f64;
    if level <= 0.0 {
        return None;
    }
    // Centred on the interval, so a step in the rate is placed where it happened.
    let within = |i: usize| {
        let from = i.saturating_sub(SMOOTHING / 2);
        let to = (i + SMOOTHING / 2).min(timeline.len() - 1);
        let mut xs = timeline[from..=to].to_vec();
        xs.sort_unstable();
        let median = xs[xs.len() / 2] as f64;
        (median / level - 1.0).abs() <= BAND
    };
    // The last interval before the window whose smoothed rate was out of band ends the warm-up.
    let settled = (0..first.min(timeline.len()))
        .rev()
        .find(|&i| !within(i))
        .map_or(0, |i| i + 1);
    // Still moving at the window's start: the first smoothed interval inside it that is in band.
    let settled = if settled == first {
        (first..last).find(|&i| within(i)).unwrap_or(last)
    } else {
        settled
    };
    let half = window.len() / 2;
    let mean = |xs: &[u64]| xs.iter().sum::<u64>() as f64 / xs.len() as f64;
    let (a, b) = (mean(&window[..half]), mean(&window[half..]));
    let blocks: Vec<f64> = window
        .chunks_exact(SMOOTHING)
        .map(|c| c.iter().sum::<u64>() as f64)
        .collect();
    Some(Steady {
        settled_after_s: (settled as u64 * INTERVAL_NS) as f64 / 1e9,
        warmup_s: start_ns as f64 / 1e9,
        window_drift: if a > 0.0 { b / a } else { f64::INFINITY },
        blocks: blocks.len(),
        block_cv: crate::stats::Estimate::of(&blocks)
            .filter(|e| e.n >= 2)
            .map(|e| e.cv()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    /// `n` intervals at `rate` each.
    fn flat(n: usize, rate: u64) -> Vec<u64> {
        vec![rate; n]
    }

    #[test]
    fn a_flat_rate_settles_at_once() {
        let t = flat(60, 1000);
        let s = assess(&t, S, 3 * S).unwrap();
        assert_eq!(s.settled_after_s, 0.0);
        assert!(s.settled_in_warmup() && !s.drifted());
        assert_eq!(s.window_drift, 1.0);
        // 2 s window: eight blocks of 250 ms, all alike.
        assert_eq!((s.blocks, s.block_cv), (8, Some(0.0)));
    }

    #[test]
    fn the_blocks_of_the_window_measure_the_noise_inside_one_process() {
        // Alternating 250 ms blocks of 900 and 1100 per interval: CV of eight blocks 0.1069.
        let mut t = flat(20, 1000);
        for b in 0..8 {
            t.extend(flat(5, if b % 2 == 0 { 900 } else { 1100 }));
        }
        let s = assess(&t, S, 3 * S).unwrap();
        assert_eq!(s.blocks, 8);
        let cv = s.block_cv.unwrap();
        assert!((cv - 0.1069).abs() < 1e-3, "{cv}");
    }

    #[test]
    fn a_ramp_settles_where_the_rate_reaches_the_window_level() {
        // 0.5 s of ramp (10 intervals from 10% to 100%), then flat; warm-up 1 s, window 2 s.
        let mut t: Vec<u64> = (1..=10).map(|i| i * 100).collect();
        t.extend(flat(50, 1000));
        let s = assess(&t, S, 3 * S).unwrap();
        assert!(s.settled_in_warmup(), "{s:?}");
        assert!(
            s.settled_after_s >= 0.35 && s.settled_after_s <= 0.5,
            "settled where the ramp enters ±10% (its 9th interval, 900 of 1000, from 0.4 s): {s:?}"
        );
    }

    #[test]
    fn a_warmup_shorter_than_the_ramp_is_seen() {
        // The ramp lasts 1.5 s; warm-up 0.5 s.
        let mut t: Vec<u64> = (1..=30).map(|i| i * 33).collect();
        t.extend(flat(40, 1000));
        let s = assess(&t, S / 2, 3 * S).unwrap();
        assert!(!s.settled_in_warmup(), "{s:?}");
        assert!(s.settled_after_s > 1.0, "{s:?}");
        assert!(
            s.drifted(),
            "the window's first half is still ramping: {s:?}"
        );
    }

    #[test]
    fn a_step_is_placed_where_it_happened() {
        // Nothing for 0.3 s (set-up), then the full rate.
        let mut t = flat(6, 0);
        t.extend(flat(54, 1000));
        let s = assess(&t, S, 3 * S).unwrap();
        assert!((s.settled_after_s - 0.3).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn one_slow_interval_is_not_a_warmup() {
        let mut t = flat(60, 1000);
        t[15] = 500;
        let s = assess(&t, S, 3 * S).unwrap();
        assert_eq!(s.settled_after_s, 0.0, "{s:?}");
    }

    #[test]
    fn too_short_or_empty_is_not_judged() {
        assert_eq!(assess(&flat(10, 1000), S / 10, S / 5), None);
        assert_eq!(assess(&flat(60, 0), S, 3 * S), None);
        assert_eq!(
            assess(&flat(20, 1000), S, 3 * S),
            None,
            "a timeline that stops early"
        );
    }

    #[test]
    fn an_extended_warm_up_has_its_margin_in_whole_intervals_up_to_the_cap() {
        assert_eq!(extended_warmup(0.42, 10.0), 0.65);
        assert_eq!(extended_warmup(1.2, 10.0), 1.8);
        assert_eq!(
            extended_warmup(0.4, 10.0),
            0.6,
            "whole intervals but for rounding"
        );
        assert_eq!(extended_warmup(0.42, 0.3), 0.3);
    }
}
