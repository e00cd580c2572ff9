//! The schedule and the budget as plain data: which open cells take the next round, which end after a
//! round and why, and what the run's floor costs. No process runs here, so every rule is unit-tested
//! on made-up repeats.

use crate::rounds::{self, RoundRecord};
use dyno_core::schema::{CellResult, PlannedCell, PrecisionPlan, RunSettings, Stopped};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// A planned cell during the rounds: its result is written, or it is still taking repeats (those kept
/// so far, by round).
pub(super) enum State {
    Done(Box<CellResult>),
    Open(Vec<RoundRecord>),
}

impl State {
    /// The repeats an open cell kept; none for a cell that is done.
    pub(super) fn kept(&self) -> &[RoundRecord] {
        match self {
            State::Open(k) => k,
            State::Done(_) => &[],
        }
    }
}

/// Time spent on one kind of process (repeats, or profiled repeats) in this session, and how many.
#[derive(Clone, Copy, Default)]
pub(super) struct Took {
    total_s: f64,
    n: usize,
}

impl Took {
    pub(super) fn add(&mut self, since: Instant) {
        self.add_s(since.elapsed().as_secs_f64());
    }

    pub(super) fn add_s(&mut self, s: f64) {
        self.total_s += s;
        self.n += 1;
    }

    pub(super) fn mean_s(&self) -> Option<f64> {
        (self.n > 0).then(|| self.total_s / self.n as f64)
    }
}

/// The run's clock: time kept from earlier sessions plus this one's, and what its processes took.
/// A process's mean includes what a repeat's own wall time does not (start-up, reruns, the driver,
/// and for a profile the profiler and its flamegraph), so a repeat of a cell is counted at the longer
/// of its mean wall time and this session's mean per repeat, a profiled repeat at the longer of that
/// and the mean per profile: counted at wall time alone, a full run here started a round that ended
/// 8 minutes past its budget.
pub(super) struct Clock {
    pub(super) kept_s: f64,
    pub(super) started: Instant,
    pub(super) repeats: Took,
    pub(super) profiles: Took,
}

impl Clock {
    pub(super) fn new(kept_s: f64) -> Self {
        Clock {
            kept_s,
            started: Instant::now(),
            repeats: Took::default(),
            profiles: Took::default(),
        }
    }

    pub(super) fn spent_s(&self) -> f64 {
        self.kept_s + self.started.elapsed().as_secs_f64()
    }

    /// What one more repeat of a cell with `kept` repeats is counted at.
    pub(super) fn repeat_s(&self, kept: &[RoundRecord]) -> f64 {
        let mean = kept.iter().map(|r| r.wall_s).sum::<f64>() / kept.len().max(1) as f64;
        self.repeats.mean_s().map_or(mean, |m| m.max(mean))
    }

    /// What the profiled repeat of a cell with `kept` repeats is counted at.
    pub(super) fn profile_s(&self, kept: &[RoundRecord]) -> f64 {
        let repeat = self.repeat_s(kept);
        self.profiles.mean_s().map_or(repeat, |m| m.max(repeat))
    }
}

/// The cells that take the next adaptive round, given `left_s` of budget. Whole comparison blocks take
/// a round (a comparison needs both of its cells in it) while the budget holds them, once the
/// profiled repeat of every open cell (`profile`) is counted: first the blocks whose widest
/// comparison can still reach the target by `max` repeats, widest first (the closest would reach it
/// anyway, or not matter), then the others, closest to the target first. A round the budget cannot
/// hold for every block is taken by part of them rather than by none.
pub(super) fn next_round(
    state: &[State],
    cells: &[PlannedCell],
    p: &PrecisionPlan,
    max: usize,
    profile: bool,
    left_s: f64,
    clock: &Clock,
) -> Vec<bool> {
    let mut take = vec![false; state.len()];
    let mut left = left_s;
    let mut blocks: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, s) in state.iter().enumerate() {
        let State::Open(k) = s else { continue };
        if k.is_empty() {
            continue;
        }
        if profile {
            left -= clock.profile_s(k);
        }
        blocks
            .entry(rounds::block_of(&cells[i]))
            .or_default()
            .push(i);
    }
    let mut open: Vec<(bool, f64, f64, Vec<usize>)> = blocks
        .into_values()
        .map(|members| {
            let ks: Vec<&[RoundRecord]> = members.iter().map(|&i| state[i].kept()).collect();
            let gap = rounds::block_gap(&ks, p.target_half_width).unwrap_or(0.0);
            let n = ks.iter().map(|k| k.len()).min().unwrap_or(0);
            let reachable = rounds::projected_half_width(gap, n, max) <= p.target_half_width;
            let cost = ks.iter().map(|k| clock.repeat_s(k)).sum();
            (reachable, gap, cost, members)
        })
        .collect();
    open.sort_by(|a, b| match (a.0, b.0) {
        (true, true) => b.1.total_cmp(&a.1),
        (false, false) => a.1.total_cmp(&b.1),
        _ => b.0.cmp(&a.0),
    });
    for (_, _, cost, members) in open {
        if cost <= left {
            left -= cost;
            for i in members {
                take[i] = true;
            }
        }
    }
    take
}

/// The open cells that end after a round, by their own measure, and why: the minimum repeats (no
/// precision plan), their block's comparisons answered (and whether their own interval reached the
/// target too), or the maximum repeats.
pub(super) fn ending(
    state: &[State],
    cells: &[PlannedCell],
    precision: Option<&PrecisionPlan>,
    min: usize,
    max: usize,
) -> Vec<(usize, Stopped)> {
    let answered = answered_blocks(state, cells, precision, min, max);
    let mut out = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let State::Open(kept) = &state[i] else {
            continue;
        };
        let stopped = match precision {
            _ if kept.len() < min => continue,
            None => Stopped::MinimumRepeats,
            Some(p) if answered.contains(&rounds::block_of(cell)) => {
                if rounds::reached(kept, p) {
                    Stopped::TargetReached
                } else {
                    Stopped::ComparisonsAnswered
                }
            }
            Some(_) if kept.len() >= max => Stopped::MaxRepeats,
            Some(_) => continue,
        };
        out.push((i, stopped));
    }
    out
}

/// The comparison blocks whose every comparison is answered (`rounds::block_gap`), judged on their
/// open cells that have at least `min` repeats; none without a precision target. A block with a cell
/// whose repeats show two behaviours is not answered until that cell has the repeats its estimator
/// needs for an interval (when `max` allows them): a regime seen in a few processes needs more
/// processes, not fewer.
fn answered_blocks(
    state: &[State],
    cells: &[PlannedCell],
    precision: Option<&PrecisionPlan>,
    min: usize,
    max: usize,
) -> BTreeSet<String> {
    let Some(p) = precision else {
        return BTreeSet::new();
    };
    let mut blocks: BTreeMap<String, Vec<&[RoundRecord]>> = BTreeMap::new();
    let mut short: BTreeSet<String> = BTreeSet::new();
    for (s, cell) in state.iter().zip(cells) {
        let State::Open(k) = s else { continue };
        let key = rounds::block_of(cell);
        if k.len() < min || needs_processes(k, max) {
            short.insert(key.clone());
        }
        blocks.entry(key).or_default().push(k);
    }
    blocks
        .into_iter()
        .filter(|(key, ks)| {
            !short.contains(key) && rounds::block_gap(ks, p.target_half_width).is_none()
        })
        .map(|(key, _)| key)
        .collect()
}

/// Whether these kept repeats call for the median ([`dyno_core::estimate::choose`]) but are too few
/// for its interval, and `max` allows enough.
fn needs_processes(kept: &[RoundRecord], max: usize) -> bool {
    let need = dyno_core::estimate::MEDIAN_CI_MIN;
    max >= need
        && kept.len() < need
        && rounds::chosen(kept)
            .is_some_and(|c| c.estimator == dyno_core::estimate::Estimator::Median)
}

/// Repeats the open cells still take to reach the minimum of `min` each.
pub(super) fn repeats_to_minimum(state: &[State], min: usize) -> usize {
    state
        .iter()
        .map(|s| match s {
            State::Open(k) => min.saturating_sub(k.len()),
            State::Done(_) => 0,
        })
        .sum()
}

/// Cells still taking repeats.
pub(super) fn open_cells(state: &[State]) -> usize {
    state.iter().filter(|s| matches!(s, State::Open(_))).count()
}

/// What the floor costs before any timing is known: each open cell's repeats up to `min` and its
/// profiled repeat, each at least its warm-up plus its window.
pub(super) fn floor_up_front_s(state: &[State], settings: &RunSettings, min: usize) -> f64 {
    state
        .iter()
        .zip(&settings.cells)
        .filter_map(|(s, cell)| match s {
            State::Open(k) => Some(
                (min.saturating_sub(k.len()) + usize::from(settings.profile)) as f64
                    * (settings.warmup_s + settings.window_s(cell)),
            ),
            State::Done(_) => None,
        })
        .sum()
}

/// What the floor left after the first round costs: each open cell's repeats up to `min` and its
/// profiled repeat, each process at what the budget counts it.
pub(super) fn floor_left_s(state: &[State], min: usize, profile: bool, clock: &Clock) -> f64 {
    state
        .iter()
        .filter_map(|s| match s {
            State::Open(k) if !k.is_empty() => Some(
                clock.repeat_s(k) * min.saturating_sub(k.len()) as f64
                    + if profile { clock.profile_s(k) } else { 0.0 },
            ),
            _ => None,
        })
        .sum()
}

/// A warning when the run's floor (its minimum rounds and profiled repeats, `floor_s` more after
/// `spent_s`, as `what` explains) leaves the budget no room for adaptive rounds.
pub(super) fn minimum_overruns(
    p: &PrecisionPlan,
    spent_s: f64,
    floor_s: f64,
    what: &str,
) -> Option<String> {
    let fmt = |s: f64| humantime::format_duration(Duration::from_secs(s.max(0.0) as u64));
    (spent_s + floor_s > p.budget_s).then(|| {
        format!(
            "warning: the minimum repeats and the profiles alone take about {} more ({what}), beyond \
             the {} budget ({} of it left): no cell will take an adaptive round and few will reach \
             ±{}%; fewer cells (-w, -r, -p), --no-profile or a larger --budget leave room for them",
            fmt(floor_s),
            fmt(p.budget_s),
            fmt(p.budget_s - spent_s),
            p.target_half_width * 100.0
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounds::tests::kept;
    use dyno_core::Params;

    /// Cells of workload `w` in parameter sets `set` on row `row`.
    fn cell(set: &str, row: &str) -> PlannedCell {
        let mut params = Params::default();
        params.0.insert("set".into(), set.into());
        PlannedCell {
            cell_id: format!("{set}-{row}"),
            workload: "w".into(),
            runtime: row.into(),
            params,
            duration_s: None,
        }
    }

    fn plan(budget_s: f64) -> PrecisionPlan {
        PrecisionPlan {
            target_half_width: 0.05,
            max_repeats: 10,
            budget_s,
        }
    }

    #[test]
    fn the_next_round_goes_to_whole_sets_that_can_still_be_answered_widest_first() {
        let cells = [
            cell("a", "x"),
            cell("a", "y"),
            cell("b", "x"),
            cell("b", "y"),
            cell("c", "x"),
            cell("c", "y"),
        ];
        // a: paired noise of a few percent, reachable by ten pairs; b: wider but reachable; c: rows
        // that swap places round to round, out of reach.
        let state = vec![
            State::Open(kept(&[1000.0, 800.0, 900.0])),
            State::Open(kept(&[1030.0, 790.0, 920.0])),
            State::Open(kept(&[1000.0, 800.0, 900.0])),
            State::Open(kept(&[1060.0, 770.0, 940.0])),
            State::Open(kept(&[1000.0, 400.0, 900.0])),
            State::Open(kept(&[500.0, 800.0, 450.0])),
        ];
        let clock = Clock::new(0.0);
        // Each repeat counts 1 s (its wall time): room for one set of two.
        let take = next_round(&state, &cells, &plan(1e9), 10, false, 2.5, &clock);
        assert_eq!(
            take,
            [false, false, true, true, false, false],
            "b, the widest reachable"
        );
        let take = next_round(&state, &cells, &plan(1e9), 10, false, 4.5, &clock);
        assert_eq!(take, [true, true, true, true, false, false]);
        // With room for all, the unreachable set takes the round too.
        let take = next_round(&state, &cells, &plan(1e9), 10, false, 100.0, &clock);
        assert!(take.iter().all(|t| *t));
        // The profiled repeat of every open cell is counted first: 6 s leaves none.
        let take = next_round(&state, &cells, &plan(1e9), 10, true, 6.5, &clock);
        assert!(take.iter().all(|t| !*t), "{take:?}");
    }

    #[test]
    fn cells_end_at_the_minimum_when_answered_or_at_the_maximum() {
        let cells = [
            cell("a", "x"),
            cell("a", "y"),
            cell("b", "x"),
            cell("b", "y"),
        ];
        let state = vec![
            // a: y is 10% behind x in every round: resolved, so answered.
            State::Open(kept(&[1000.0, 500.0, 800.0])),
            State::Open(kept(&[900.0, 450.0, 720.0])),
            // b: noisy and unresolved.
            State::Open(kept(&[1000.0, 400.0, 900.0])),
            State::Open(kept(&[500.0, 800.0, 450.0])),
        ];
        assert_eq!(
            ending(&state, &cells, None, 3, 3),
            [
                (0, Stopped::MinimumRepeats),
                (1, Stopped::MinimumRepeats),
                (2, Stopped::MinimumRepeats),
                (3, Stopped::MinimumRepeats)
            ]
        );
        let p = plan(1e9);
        assert_eq!(
            ending(&state, &cells, Some(&p), 3, 10),
            [
                (0, Stopped::ComparisonsAnswered),
                (1, Stopped::ComparisonsAnswered)
            ]
        );
        assert_eq!(
            ending(&state, &cells, Some(&p), 4, 10),
            [],
            "below the minimum"
        );
        // Two modes on one row (3 repeats, the slow one switching 8 times as often per operation):
        // the set takes rounds until that cell has the 6 repeats a median interval needs, unless the
        // maximum cannot give them.
        let mut modal = kept(&[1000.0, 400.0, 1000.0]);
        for (r, vcsw) in modal.iter_mut().zip([100, 320, 100]) {
            r.output.repeats[0].window_usage.ctx_switches_voluntary = vcsw;
        }
        let two = vec![
            State::Open(modal),
            State::Open(kept(&[900.0, 360.0, 900.0])),
        ];
        assert_eq!(ending(&two, &cells[..2], Some(&p), 3, 10), []);
        assert_eq!(ending(&two, &cells[..2], Some(&p), 3, 5).len(), 2);
        assert_eq!(
            ending(&state, &cells, Some(&p), 3, 3).len(),
            4,
            "at the maximum"
        );
        assert_eq!(
            ending(&state, &cells, Some(&p), 3, 3)[3],
            (3, Stopped::MaxRepeats)
        );
    }

    #[test]
    fn the_floor_counts_each_open_cell_to_the_minimum_and_its_profile() {
        let state = vec![
            State::Open(kept(&[1000.0])),
            State::Open(kept(&[1000.0, 900.0])),
            State::Open(vec![]),
        ];
        let clock = Clock::new(0.0);
        assert_eq!(repeats_to_minimum(&state, 3), 2 + 1 + 3);
        assert_eq!(open_cells(&state), 3);
        // Kept repeats of 1 s: two more and one more, plus a profile each of the two started.
        assert_eq!(floor_left_s(&state, 3, false, &clock), 3.0);
        assert_eq!(floor_left_s(&state, 3, true, &clock), 5.0);
        let p = plan(10.0);
        assert!(minimum_overruns(&p, 6.0, 5.0, "x").is_some());
        assert!(minimum_overruns(&p, 4.0, 5.0, "x").is_none());
    }
}
