//! The `spawn` workload: what a task costs on each row.
//!
//! - `mode=spawn`: every shard (or shard 0 alone, `spawners=one`) spawns `tasks` tasks with the row's
//!   spawn, awaits them all, and again, until the window closes. An operation is a task spawned and
//!   joined; its latency is the time from the spawn call to the task's first poll (the scheduling delay).
//!   `body=yield` makes every task yield once before it ends.
//! - `mode=idle`: the shards spawn `tasks` tasks in the warm-up, each parked on a channel; the process's
//!   RSS before and after gives the memory per idle task. At the window's start each shard closes its
//!   channel, waking all its tasks at once: an operation is a task woken, its latency the time from the
//!   close to its wake-up, and the repeat's duration the time until the last one woke. A spawn that fails,
//!   or the process nearing `vm.max_map_count` (an OS thread that cannot map its stacks aborts the process
//!   rather than failing its spawn), stops the spawning; where it stopped is a figure.

pub mod go;
mod idle;

use dyno_core::metrics::{Declarations, MEASURED_DURATION, Question, Side};
use dyno_core::params::{ParamSpec, WorkloadSpec, group, ints, words};
use dyno_core::{
    Better, InProcess, Metric, Params, RepeatCtx, RepeatError, RepeatOutput, Row, Shard, Window,
    Workload,
};
use dyno_rows::foreign::GO_ROW;

/// The `spawn` workload.
pub struct Spawn;

/// One cell's parameters.
#[derive(Debug, Clone)]
pub struct SpawnParams {
    /// `spawn` or `idle`.
    pub mode: String,
    /// Tasks per batch (`spawn`), or idle tasks held in all (`idle`).
    pub tasks: usize,
    /// `empty` or `yield` (spawn mode).
    pub body: String,
    /// `one` (shard 0 spawns) or `every` shard.
    pub spawners: String,
}

impl From<&Params> for SpawnParams {
    fn from(p: &Params) -> Self {
        SpawnParams {
            mode: p.word("mode").to_string(),
            tasks: p.int("tasks") as usize,
            body: p.word("body").to_string(),
            spawners: p.word("spawners").to_string(),
        }
    }
}

/// Resident memory per idle task.
pub const RSS_PER_TASK: Metric = Metric::figure(
    "rss_per_idle_task_bytes",
    "bytes",
    Better::Lower,
    "resident memory the process gained per idle task, parked on a channel",
);
/// Idle tasks the row held.
pub const HELD: Metric = Metric::figure(
    "idle_tasks_held",
    "tasks",
    Better::Neither,
    "idle tasks spawned and parked (fewer than asked when a spawn failed)",
);
/// Where spawning stopped short, if it did.
pub const SPAWN_FAILED_AT: Metric = Metric::figure(
    "spawn_stopped_at",
    "tasks",
    Better::Neither,
    "tasks held when a spawn failed or the process neared vm.max_map_count (0: neither): the row's \
     ceiling on this machine",
);
/// How long spawning the idle tasks took.
pub const SPAWN_ALL: Metric = Metric::figure(
    "spawn_all_ms",
    "ms",
    Better::Lower,
    "milliseconds to spawn every idle task and see it parked",
);
/// How long until the last idle task woke.
pub const WAKE_ALL: Metric = Metric::figure(
    "wake_all_ms",
    "ms",
    Better::Lower,
    "milliseconds from closing the channels until the last idle task woke",
);

impl Workload for Spawn {
    fn spec() -> WorkloadSpec {
        let spawn = |body: &[&str], spawners: &[&str]| {
            group([
                ("mode", words(&["spawn"])),
                ("tasks", ints(&[64])),
                ("body", words(body)),
                ("spawners", words(spawners)),
            ])
        };
        let idle = |tasks: &[u64]| {
            group([
                ("mode", words(&["idle"])),
                ("tasks", ints(tasks)),
                ("body", words(&["empty"])),
                ("spawners", words(&["every"])),
            ])
        };
        WorkloadSpec {
            name: "spawn".into(),
            about:
                "what a task costs: spawn and join throughput, and memory and wake-up of idle tasks"
                    .into(),
            params: vec![
                ParamSpec::choice(
                    "mode",
                    "spawn: spawn and join batches of tasks; idle: hold tasks parked, then wake them all",
                    &["spawn", "idle"],
                ),
                ParamSpec::int(
                    "tasks",
                    "tasks per batch (spawn), or idle tasks held (idle)",
                    1,
                    10_000_000,
                    "tasks",
                ),
                ParamSpec::choice(
                    "body",
                    "spawn mode: empty, or yield once",
                    &["empty", "yield"],
                ),
                ParamSpec::choice(
                    "spawners",
                    "one: shard 0 spawns; every: every shard spawns",
                    &["one", "every"],
                ),
            ],
            quick: vec![spawn(&["empty"], &["every"]), idle(&[1000])],
            // Idle tasks to 100k (1M is one `-p tasks=1000000 -p mode=idle` away: the `threads` row
            // stops at its ceiling, a few tens of thousands of threads here, long before).
            // Four cells per row, so that the full profile's budget leaves rounds for comparisons (with
            // six, spawn and contention took 40% of the measured time of run 20261207-182804-full and
            // no cell got a round beyond the minimum): `body=yield` and 1k idle tasks are one `-p` away.
            full: vec![
                spawn(&["empty"], &["every", "one"]),
                idle(&[10_000, 100_000]),
            ],
            declared: Declarations {
                ops_unit: "tasks".into(),
                metrics: [
                    RSS_PER_TASK,
                    HELD,
                    SPAWN_FAILED_AT,
                    SPAWN_ALL,
                    WAKE_ALL,
                    MEASURED_DURATION,
                ]
                .iter()
                .map(Metric::spec)
                .collect(),
                questions: dyno_rows::design_questions()
                    .into_iter()
                    .chain(dyno_rows::design_questions_of(
                        RSS_PER_TASK.name,
                        "Memory per idle task",
                    ))
                    .chain(dyno_rows::go_questions())
                    .chain(dyno_rows::go_questions_of(
                        RSS_PER_TASK.name,
                        "Memory per idle task",
                    ))
                    .chain([Question::new(
                        "Spawn from every core or from one?",
                        Side::param("spawners", "every"),
                        Side::param("spawners", "one"),
                    )])
                    .collect(),
                ..Default::default()
            },
        }
    }

    fn unavailable(row: &str, _params: &Params) -> Option<String> {
        (row == GO_ROW).then(|| go::GO.unavailable()).flatten()
    }

    fn validate(params: &Params) -> Result<(), String> {
        let p = SpawnParams::from(params);
        if p.mode == "idle" && (p.body != "empty" || p.spawners != "every") {
            return Err(format!(
                "mode=idle parks every task on a channel from every shard; accepted with it: \
                 body=empty spawners=every (given body={} spawners={})",
                p.body, p.spawners
            ));
        }
        Ok(())
    }
}

dyno_rows::go_references!(
    Spawn,
    go::GO,
    &[
        RSS_PER_TASK,
        HELD,
        SPAWN_FAILED_AT,
        SPAWN_ALL,
        WAKE_ALL,
        MEASURED_DURATION
    ]
);

/// The whole repeat runs in the cell process, every task spawned with the row's own spawn.
impl InProcess for Spawn {
    fn run<R: Row>(ctx: &RepeatCtx, params: &Params) -> Result<RepeatOutput, RepeatError> {
        let p = SpawnParams::from(params);
        match p.mode.as_str() {
            "idle" => idle::run::<R>(ctx, p.tasks),
            _ => spawn_join::<R>(ctx, &p),
        }
    }
}

/// Spawn-and-join batches on the spawning shards until the window closes.
fn spawn_join<R: Row>(ctx: &RepeatCtx, p: &SpawnParams) -> Result<RepeatOutput, RepeatError> {
    let (w, collector) = (ctx.window, ctx.collector.clone());
    let (batch, yields, one) = (p.tasks, p.body == "yield", p.spawners == "one");
    R::run(&ctx.row, move |shard: Shard| {
        let mut probe = collector.probe();
        async move {
            if one && shard.index != 0 {
                return;
            }
            batches::<R>(w, &mut probe, batch, yields).await;
        }
    })?;
    Ok(RepeatOutput::new())
}

async fn batches<R: Row>(w: Window, probe: &mut dyno_core::Probe, batch: usize, yields: bool) {
    let mut handles = Vec::with_capacity(batch);
    let mut spawned = Vec::with_capacity(batch);
    loop {
        let t0 = w.now_ns();
        if w.is_over(t0) {
            return;
        }
        for _ in 0..batch {
            spawned.push(w.now_ns());
            handles.push(R::spawn(async move {
                let started = w.now_ns();
                if yields {
                    R::yield_now().await;
                }
                started
            }));
        }
        for (h, at) in handles.drain(..).zip(spawned.drain(..)) {
            let started = h.await;
            if w.contains(t0) {
                probe.record(started.saturating_sub(at));
            }
        }
    }
}
