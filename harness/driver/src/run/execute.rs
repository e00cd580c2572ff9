//! Executing a plan: the interleaved rounds, each repeat's process, each cell's end, the run's end.
//! What takes a round and what ends is decided in `schedule`; what a process gave is judged in `judge`.

use super::judge::{
    Round, cell_args, cell_warmups, finish_cell, judge, longer_warmup, run_round, unix_now_s,
};
use super::progress::Progress;
use super::runner::CellRunner;
use super::schedule::{self, Clock, State};
use super::summary::{one_line, summary_table};
use super::{Plan, now_rfc3339};
use crate::discover;
use crate::rounds;
use anyhow::Result;
use dyno_core::human::si;
use dyno_core::rundir::Results;
use dyno_core::schema::{CellResult, Pairing, PrecisionPlan, RunSettings, Status, Stopped};
use std::time::{Duration, Instant};

/// Run the matrix in interleaved rounds (see [`crate::rounds`]): every cell without a trusted result
/// takes one repeat per round, in the round's random order, until it has the minimum repeats and then,
/// with a precision plan, until its comparisons are answered, it reaches the maximum repeats or the
/// run's budget is spent. Each cell's result is written once, when it stops; a failed or skipped repeat
/// ends its cell at once. Then the run is marked finished and the summary printed. Returns every cell's
/// result, in planned order.
pub fn execute(plan: &Plan, results: &Results, runner: &dyn CellRunner) -> Result<Vec<CellResult>> {
    let mut s = Scheduler::new(plan, runner);
    s.announce();
    s.warn_floor_up_front();
    let mut take = vec![false; s.state.len()];
    for round in 0..s.max {
        s.round(round, &take)?;
        // Cells done by their own measure end first, their profiles run, so that the budget is judged
        // on the time those took (judged before them, a full run here costed each profile at a
        // repeat's 4.3 s against the 4.85 s measured, and ended 1 min 20 s past its budget).
        let ending = schedule::ending(
            &s.state,
            &s.settings.cells,
            s.precision.as_ref(),
            s.min,
            s.max,
        );
        if round == 0 {
            s.warn_floor_after_first_round();
        }
        s.finish(ending)?;
        take = s.next_round();
        s.end_budget_spent(round, &take)?;
    }
    s.progress.finish();
    s.conclude(results)
}

/// The rounds' state: each planned cell's kept repeats or result, the clock and the progress display.
struct Scheduler<'a> {
    plan: &'a Plan,
    runner: &'a dyn CellRunner,
    settings: &'a RunSettings,
    min: usize,
    max: usize,
    precision: Option<PrecisionPlan>,
    state: Vec<State>,
    clock: Clock,
    progress: Progress,
    /// Repeats the minimum rounds take, counted when the run (or session) starts.
    planned: usize,
}

impl<'a> Scheduler<'a> {
    /// Each planned cell's state: a trusted result is done, else the repeats a killed session kept.
    fn new(plan: &'a Plan, runner: &'a dyn CellRunner) -> Self {
        let settings = &plan.manifest.settings;
        let min = settings.repeats.max(1);
        let precision = settings.precision;
        let max = precision.map_or(min, |p| p.max_repeats.max(min));
        let mut state = Vec::with_capacity(settings.cells.len());
        let mut kept_s = 0.0;
        let mut notes = Vec::new();
        for cell in &settings.cells {
            let trusted = match plan.run.cell(&cell.cell_id) {
                Some(Ok(c)) => Some(c),
                Some(Err(e)) => {
                    notes.push(format!(
                        "not trusting an existing result, running again: {e}"
                    ));
                    None
                }
                None => None,
            };
            state.push(match trusted {
                Some(c) => {
                    notes.push(format!("{} already done ({:?})", cell.cell_id, c.status));
                    State::Done(Box::new(c))
                }
                None => {
                    let (kept, problems) = rounds::load(&plan.run, &cell.cell_id);
                    notes.extend(problems);
                    if !kept.is_empty() {
                        notes.push(format!(
                            "{}: keeping {} finished repeat(s)",
                            cell.cell_id,
                            kept.len()
                        ));
                    }
                    kept_s += kept.iter().map(|r| r.wall_s).sum::<f64>();
                    State::Open(kept)
                }
            });
        }
        let planned = schedule::repeats_to_minimum(&state, min);
        let progress = Progress::new(planned);
        for n in notes {
            progress.line(n);
        }
        Scheduler {
            plan,
            runner,
            settings,
            min,
            max,
            precision,
            state,
            clock: Clock::new(kept_s),
            progress,
            planned,
        }
    }

    /// The run's first line: cells, windows, repeats, seed, cores, where the results go.
    fn announce(&self) {
        let (settings, seed) = (self.settings, self.settings.order_seed.unwrap_or(0));
        let cores = match &self.plan.manifest.client_host {
            Some(r) => format!(
                "cores {}, clients on {} cores {}",
                discover::join(&settings.cores),
                r.hostname,
                discover::join(&r.cores)
            ),
            None => format!("cores {}", discover::join(&settings.cores)),
        };
        let (min, max) = (self.min, self.max);
        println!(
            "run {}: {} cells, warm-up {} s, window {} s{}, {} into {}",
            self.plan.manifest.run_id,
            settings.cells.len(),
            settings.warmup_s,
            settings.duration_s,
            own_windows(settings),
            match self.precision {
                Some(p) => format!(
                    "{min} to {max} repeats in rounds (until ±{}% at 95%, budget {}), order seed {seed}, {cores},",
                    p.target_half_width * 100.0,
                    humantime::format_duration(Duration::from_secs(p.budget_s as u64)),
                ),
                None => format!("{min} repeat(s) in rounds, order seed {seed}, {cores},"),
            },
            self.plan.run.path().display()
        );
    }

    /// The minimum rounds and the profiled repeats are not bounded by the budget (they are the run's
    /// floor): say before the first round when they alone leave no room for adaptive rounds.
    fn warn_floor_up_front(&self) {
        let Some(p) = &self.precision else { return };
        let profiles = usize::from(self.settings.profile) * schedule::open_cells(&self.state);
        let floor_s = schedule::floor_up_front_s(&self.state, self.settings, self.min);
        let what = format!(
            "{} repeats and {profiles} profiled repeats of at least warm-up plus window each",
            self.planned
        );
        if let Some(w) = schedule::minimum_overruns(p, self.clock.spent_s(), floor_s, &what) {
            self.progress.line(w);
        }
    }

    /// The same warning with the first round's timing, when more rounds are still to come.
    fn warn_floor_after_first_round(&self) {
        let Some(p) = &self.precision else { return };
        if self.min <= 1 {
            return;
        }
        let profile = self.settings.profile;
        let floor_s = schedule::floor_left_s(&self.state, self.min, profile, &self.clock);
        let what = format!(
            "{} more repeats and {} profiled repeats, each at the longer of its cell's mean repeat \
             and this session's {:.1} s per repeat",
            schedule::repeats_to_minimum(&self.state, self.min),
            usize::from(profile) * schedule::open_cells(&self.state),
            self.clock.repeats.mean_s().unwrap_or(0.0)
        );
        if let Some(w) = schedule::minimum_overruns(p, self.clock.spent_s(), floor_s, &what) {
            self.progress.line(w);
        }
    }

    /// One round: every open cell with `round` repeats that takes it (all of them below the minimum,
    /// else those `take` marks), in the round's seeded order of comparison blocks.
    fn round(&mut self, round: usize, take: &[bool]) -> Result<()> {
        let takers: Vec<usize> = (0..self.state.len())
            .filter(|&i| match &self.state[i] {
                State::Open(k) => k.len() == round && (round < self.min || take[i]),
                State::Done(_) => false,
            })
            .collect();
        if round >= self.min {
            self.progress.grow(takers.len());
        }
        let blocks: Vec<String> = takers
            .iter()
            .map(|&i| rounds::block_of(&self.settings.cells[i]))
            .collect();
        let seed = self.settings.order_seed.unwrap_or(0);
        let order = rounds::order(seed, round, &blocks);
        // A cell's first round runs alone: it gives the figures a sliced repeat cannot (latency, those
        // measured in wall time, the settling judgement and its longer warm-up).
        let sliced = |j: usize| {
            round > 0
                && self.plan.pairing(&self.settings.cells[takers[j]].workload) == Pairing::Sliced
        };
        for run in rounds::runs(&order, &blocks, sliced) {
            match run[..] {
                [j] => self.repeat(takers[j], round)?,
                _ => self.sliced(run.iter().map(|&j| takers[j]).collect(), round)?,
            }
        }
        Ok(())
    }

    /// One round of a parameter set's rows (`cells`), their processes time-sliced together
    /// (`crate::slice`), the order of turns drawn from the round's seed and the block's first cell. No
    /// warm-up is run again here: settling cannot be judged from a timeline with other processes'
    /// turns in it (a cell's unsliced repeats judge it; sliced ones use the longest warm-up kept).
    fn sliced(&mut self, cells: Vec<usize>, round: usize) -> Result<()> {
        let (plan, runner) = (self.plan, self.runner);
        crate::interrupt::check()?;
        let k = cells.len();
        let first = &self.settings.cells[cells[0]];
        self.progress.start(&format!(
            "round {} {} ({}), {k} rows time-sliced",
            round + 1,
            first.workload,
            first.params.key()
        ));
        let jobs = cells
            .iter()
            .map(|&i| {
                let cell = &self.settings.cells[i];
                let warmup_s = cell_warmups(self.settings, self.state[i].kept()).longest_s;
                Ok((cell, cell_args(plan, cell, warmup_s, k)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let seed = (self
            .settings
            .order_seed
            .unwrap_or(0)
            .wrapping_add(round as u64))
            ^ (cells[0] as u64).rotate_left(32);
        let (t0, started) = (Instant::now(), unix_now_s());
        let rans = runner.run_sliced(plan, &jobs, seed)?;
        crate::interrupt::check()?;
        let each_s = t0.elapsed().as_secs_f64() / k as f64;
        for (&i, ran) in cells.iter().zip(rans) {
            let outcome = judge(plan, &self.settings.cells[i], round, started, ran)?;
            self.clock.repeats.add_s(each_s);
            self.keep(i, round, outcome)?;
        }
        Ok(())
    }

    /// One repeat of cell `i`. A repeat that measured part of its warm-up is not kept: it runs again,
    /// once, with the warm-up its own data asked for, which the cell's later rounds keep. Once per
    /// cell: after that a late repeat is kept and flagged in the cell's noise (a speed step of the
    /// shared machine looks like a late warm-up, and chasing each one cost minutes of every full run).
    fn repeat(&mut self, i: usize, round: usize) -> Result<()> {
        let (plan, runner) = (self.plan, self.runner);
        let cell = &self.settings.cells[i];
        crate::interrupt::check()?;
        self.progress
            .start(&format!("round {} {}", round + 1, cell.cell_id));
        let warmups = cell_warmups(self.settings, self.state[i].kept());
        let warmup_s = warmups.longest_s;
        let t0 = Instant::now();
        let mut outcome = run_round(plan, cell, runner, round, warmup_s)?;
        // A cell killed by Ctrl-C is not a result.
        crate::interrupt::check()?;
        if let Some((settled_s, longer_s)) = match &outcome {
            Round::Kept(rec) if warmups.extended == 0 => {
                longer_warmup(rec, warmup_s, self.settings)
            }
            Round::Kept(_) | Round::Ended(_) => None,
        } {
            self.progress.line(format!(
                "round {} {}: throughput settled only {settled_s:.2} s after the start, past the \
                 {warmup_s} s warm-up; running it again with {longer_s} s",
                round + 1,
                cell.cell_id
            ));
            outcome = run_round(plan, cell, runner, round, longer_s)?;
            crate::interrupt::check()?;
        }
        self.clock.repeats.add(t0);
        self.keep(i, round, outcome)
    }

    /// What one repeat of cell `i` gave: kept on disk and in its state, or the cell's end written.
    fn keep(&mut self, i: usize, round: usize, outcome: Round) -> Result<()> {
        let plan = self.plan;
        let cell = &self.settings.cells[i];
        match outcome {
            Round::Kept(rec) => {
                rounds::save(&plan.run, &cell.cell_id, &rec)?;
                let State::Open(kept) = &mut self.state[i] else {
                    unreachable!("only open cells take rounds")
                };
                kept.push(*rec);
                self.progress.done(format!(
                    "round {} {}: {}/s",
                    round + 1,
                    cell.cell_id,
                    si(*rounds::throughputs(kept).last().unwrap_or(&0.0))
                ));
            }
            Round::Ended(result) => {
                plan.run.write_cell(&result)?;
                rounds::clear(&plan.run, &cell.cell_id);
                self.progress
                    .done(one_line(&result, &plan.declared(&cell.workload).ops_unit));
                self.state[i] = State::Done(result);
            }
        }
        Ok(())
    }

    /// The cells that take the next adaptive round (none without a precision plan).
    fn next_round(&self) -> Vec<bool> {
        let Some(p) = &self.precision else {
            return vec![false; self.state.len()];
        };
        schedule::next_round(
            &self.state,
            &self.settings.cells,
            p,
            self.max,
            self.settings.profile,
            p.budget_s - self.clock.spent_s(),
            &self.clock,
        )
    }

    /// End the open cells past their minimum that the budget left out of the next round.
    fn end_budget_spent(&mut self, round: usize, take: &[bool]) -> Result<()> {
        let out: Vec<(usize, Stopped)> = (0..self.state.len())
            .filter(|&i| {
                matches!(&self.state[i], State::Open(k) if k.len() >= self.min) && !take[i]
            })
            .map(|i| (i, Stopped::BudgetSpent))
            .collect();
        let taking = take.iter().filter(|t| **t).count();
        if let (Some(p), true) = (&self.precision, taking > 0 && !out.is_empty()) {
            self.progress.line(format!(
                "round {}: the budget holds {taking} of the {} cells whose comparisons are not yet \
                 answered at ±{}% (whole parameter sets, those that can still reach it and are widest \
                 first); the other {} stop here",
                round + 2,
                taking + out.len(),
                p.target_half_width * 100.0,
                out.len()
            ));
        }
        self.finish(out)
    }

    /// End these cells: the result of each (its profiled repeat run) written, its rounds cleared.
    fn finish(&mut self, mut ending: Vec<(usize, Stopped)>) -> Result<()> {
        ending.sort_unstable();
        for (i, stopped) in ending {
            let cell = &self.settings.cells[i];
            let State::Open(kept) = &self.state[i] else {
                continue;
            };
            let t0 = Instant::now();
            let result = finish_cell(self.plan, cell, kept, self.runner, stopped)?;
            if result.profile.is_some() {
                self.clock.profiles.add(t0);
            }
            crate::interrupt::check()?;
            self.plan.run.write_cell(&result)?;
            rounds::clear(&self.plan.run, &cell.cell_id);
            let unit = self.plan.declared(&cell.workload).ops_unit;
            self.progress.line(one_line(&result, &unit));
            self.state[i] = State::Done(Box::new(result));
        }
        Ok(())
    }

    /// Mark the run finished, point `latest` at it, print the summary table and the run's last line.
    fn conclude(self, results: &Results) -> Result<Vec<CellResult>> {
        let done: Vec<CellResult> = self
            .state
            .into_iter()
            .map(|s| match s {
                State::Done(c) => *c,
                State::Open(_) => unreachable!("every cell ends by the last round"),
            })
            .collect();
        let mut manifest = self.plan.manifest.clone();
        manifest.finished = Some(now_rfc3339());
        manifest.interrupted = None;
        self.plan.run.write_manifest(&manifest)?;
        results.set_latest(&manifest.run_id)?;
        print!(
            "{}",
            summary_table(&done, &self.settings.rows, &manifest.workloads)
        );
        let failed = done.iter().filter(|c| c.status != Status::Ok).count();
        let short = done
            .iter()
            .filter(|c| {
                c.precision
                    .as_ref()
                    .is_some_and(|p| p.target_half_width.is_some() && !p.reached)
            })
            .count();
        println!(
            "run {} finished in {}: {} ok, {failed} not ok{}; results in {}",
            manifest.run_id,
            humantime::format_duration(Duration::from_secs(self.clock.started.elapsed().as_secs())),
            done.len() - failed,
            if self.precision.is_some() {
                format!(", {short} short of the precision target")
            } else {
                String::new()
            },
            self.plan.run.path().display()
        );
        Ok(done)
    }
}

/// The workloads whose cells measure their own declared window, e.g. " (fanout 1 s, pool 1 s)".
fn own_windows(settings: &RunSettings) -> String {
    let mut own: Vec<(String, f64)> = settings
        .cells
        .iter()
        .filter_map(|c| c.duration_s.map(|d| (c.workload.clone(), d)))
        .collect();
    own.dedup_by(|a, b| a.0 == b.0);
    if own.is_empty() {
        return String::new();
    }
    let named: Vec<String> = own.iter().map(|(w, d)| format!("{w} {d} s")).collect();
    format!(" ({})", named.join(", "))
}
