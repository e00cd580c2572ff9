//! The private protocol between the driver and a cell process: what a cell writes for the driver
//! (`CellOutput`, one `RawRepeat` per repeat), what a time-sliced repeat records, how rows of one
//! parameter set are paired in a round, and a row as a cell binary lists it.

use crate::os::Usage;
use crate::row::Fairness;
use crate::schema::NotAChoice;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a cell process writes for the driver (the driver adds OS accounting and statistics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellOutput {
    pub fairness: Fairness,
    pub repeats: Vec<RawRepeat>,
    /// Why the cell did not run here (no repeats then): it is recorded as skipped, not failed.
    #[serde(default)]
    pub skipped: Option<String>,
}

/// One repeat as measured inside the cell process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawRepeat {
    pub ops: u64,
    pub errors: BTreeMap<String, u64>,
    /// One message per error kind, where the workload kept one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_samples: BTreeMap<String, String>,
    /// When throughput settled, from the recorder's timeline; `None` where it was not judged (a
    /// workload measured by another process, or a window too short).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steady: Option<crate::steady::Steady>,
    pub duration_s: f64,
    /// Usage of the cell process over the measured window.
    pub window_usage: Usage,
    /// Latency histogram (HdrHistogram V2+DEFLATE, base64), when latency was recorded.
    pub histogram: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    /// The window's edges on the machine's monotonic clock (`dyno_core::os::monotonic_ns`); `None`
    /// from cell binaries built before sliced pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_monotonic_ns: Option<[u64; 2]>,
    /// Set by the driver, not the cell: the repeat ran time-sliced with the other rows of its
    /// parameter set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliced: Option<Sliced>,
}

/// A repeat that ran time-sliced: its process and the other rows' processes of one parameter set ran
/// on the same cores at once, the driver continuing one and stopping the others (SIGCONT/SIGSTOP to
/// its process group) in short slices in a random order each cycle, so every pair of them shares the
/// same seconds of the machine. Its throughput is its operations over the time it ran inside its
/// window; its latency histogram and the figures measured in wall time are not kept (a stopped
/// operation's latency includes the other processes' slices), so those come from unsliced repeats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sliced {
    /// Processes sliced together (the rows of the parameter set that ran in the round).
    pub processes: usize,
    /// Length of one slice.
    pub slice_ms: f64,
    /// Wall time of the window (the process was given `processes` times the run's window).
    pub window_wall_s: f64,
    /// How many of its slices fell (at least partly) in its window.
    pub slices_in_window: usize,
}

/// The length of one turn of a time-sliced round, in milliseconds: long enough that refilling caches
/// after a switch costs well under 1% of it and the signals' latency (microseconds) is noise, short
/// enough for ten turns a second.
pub const SLICE_MS: u64 = 100;

/// The repeats of two cells a comparison pairs, given each repeat's round and whether it ran
/// time-sliced: the rounds both ran time-sliced, where they share two or more (the first round of a
/// sliced workload runs alone, a different design with a wider spread); else every round both ran.
pub fn paired_rounds<'a, T>(
    a: &'a [T],
    b: &'a [T],
    key: impl Fn(&T) -> Option<(usize, bool)>,
) -> Vec<(&'a T, &'a T)> {
    let all: Vec<(&T, &T, bool)> = a
        .iter()
        .filter_map(|ra| {
            let (round, sliced_a) = key(ra)?;
            let rb = b
                .iter()
                .find(|rb| key(rb).is_some_and(|(r, _)| r == round))?;
            Some((ra, rb, sliced_a && key(rb).is_some_and(|(_, s)| s)))
        })
        .collect();
    let sliced = all.iter().filter(|p| p.2).count() >= 2;
    all.into_iter()
        .filter(|p| p.2 || !sliced)
        .map(|(x, y, _)| (x, y))
        .collect()
}

/// How a workload's rows of one parameter set are paired in a round (declared per workload, recorded
/// per repeat in [`Sliced`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pairing {
    /// Each row's process runs alone, next to the others in the round (seconds apart).
    #[default]
    Blocks,
    /// The rows' processes run at once, time-sliced ([`Sliced`]).
    Sliced,
    /// Blocks, even under `--pairing sliced`: something in the workload runs on wall time and breaks
    /// when its process is stopped (a script's deadline). Declared only.
    BlocksOnly,
}

#[cfg(test)]
mod pairing_tests {
    #[test]
    fn sliced_rounds_pair_alone_once_there_are_two() {
        let key = |r: &(usize, bool)| Some(*r);
        let a = [(0, false), (1, true), (2, true)];
        let b = [(0, false), (1, true), (2, true), (3, true)];
        type R = (usize, bool);
        let rounds = |p: Vec<(&R, &R)>| -> Vec<usize> { p.iter().map(|(x, _)| x.0).collect() };
        assert_eq!(rounds(super::paired_rounds(&a, &b, key)), [1, 2]);
        let one = [(0, false), (1, true)];
        assert_eq!(rounds(super::paired_rounds(&one, &b, key)), [0, 1]);
        let blocks = [(0, false), (1, false)];
        assert_eq!(rounds(super::paired_rounds(&blocks, &b, key)), [0, 1]);
    }
}

impl Pairing {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Pairing::Blocks => "blocks",
            Pairing::Sliced => "sliced",
            Pairing::BlocksOnly => "blocks-only",
        }
    }
}

impl std::str::FromStr for Pairing {
    type Err = NotAChoice;
    fn from_str(s: &str) -> Result<Self, NotAChoice> {
        match s {
            "blocks" => Ok(Self::Blocks),
            "sliced" => Ok(Self::Sliced),
            _ => Err(NotAChoice {
                what: "pairing",
                given: s.into(),
                accepted: "blocks, sliced",
            }),
        }
    }
}

/// A row as a workload binary reports it (`<cell-binary> rows`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowInfo {
    pub id: String,
    pub fairness: Fairness,
}
