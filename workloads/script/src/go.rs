//! The `go` reference row of script: goroutines evaluating the shipped script in QuickJS through cgo
//! (`workloads/script/go/`), the engine built from the C sources rquickjs-sys ships (the Rust rows'
//! engine), run through the row protocol ([`dyno_rows::foreign`]) with a job file of the workload's own:
//! the script, its inputs and reference outputs, and the Rust sandbox's runners, guards, lockdown and
//! limits, so that both sides run one sandbox and differ in the host language and its scheduler.

use crate::sandbox::{LOCKDOWN, Limits, RUNNERS};
use crate::{FIGURES, IDLE_STAMPS, Placement, RSS_SANDBOXES, ScriptParams, guards, lag, reference};
use dyno_core::{MeasuredProcess, Params, RepeatCtx, RepeatError, RepeatOutput};
use dyno_rows::foreign::GoRow;

/// The Go program.
pub const GO: GoRow = GoRow {
    workload: "script",
    model: "reference: Go goroutines (GMP scheduler) calling QuickJS through cgo",
    notes: &[
        "QuickJS compiled by cgo (-O3) from the C sources of rquickjs-sys, the Rust rows' engine; its \
         sandbox (workloads/script/go/sandbox.c) makes the Rust sandbox's engine calls, with its \
         runners, guards, lockdown and limits, given in the job file",
        "context=pooled and precompiled take a warm sandbox from a free list the goroutines share (a \
         buffered channel), where the Rust rows keep one per thread: a goroutine has no thread of its own",
        "a goroutine inside a cgo call holds an OS thread but gives up its P, so Go runs more \
         evaluating threads than GOMAXPROCS, all confined to the row's cores",
        "lag probe: a locked OS thread sleeps 1 ms (nanosleep) and stamps the time, a goroutine \
         receives it; the stamper sends from Go, so a stamp may wait for a P before it is sent as \
         well as after",
    ],
};

/// Why the Go row does not run the cell of `p`: Go has no blocking pool to offload to.
pub fn unavailable(p: &ScriptParams) -> Option<String> {
    if p.placement == Placement::Offload {
        return Some(
            "the go row runs placement=inline only: a goroutine in a cgo call already gives its P to \
             the others, so Go has no separate blocking pool to offload to"
                .into(),
        );
    }
    GO.unavailable()
}

/// One repeat of the Go program: the job written to a scratch directory, the program run on it.
pub fn run_repeat(
    ctx: &RepeatCtx,
    measured: &MeasuredProcess,
    params: &Params,
) -> Result<RepeatOutput, RepeatError> {
    let p = ScriptParams::from(params)?;
    let limits = Limits::default();
    let (script, inputs, expected) = reference(&p, &limits)?;
    let job = serde_json::json!({
        "source": script.source.as_ref(),
        "runners": RUNNERS,
        "lockdown": LOCKDOWN,
        "guards": guards::GUARDS,
        "limits": {
            "memory_bytes": limits.memory_bytes,
            "stack_bytes": limits.stack_bytes,
            "max_output_bytes": limits.max_output_bytes,
            "deadline_ns": limits.deadline.as_nanos() as u64,
            "max_jobs": limits.max_jobs,
            "max_elements": limits.max_elements() as f64,
            "max_sorted": limits.max_sorted() as f64,
        },
        "inputs": inputs,
        "expected": expected,
        "idle_stamps": IDLE_STAMPS,
        "rss_sandboxes": RSS_SANDBOXES,
        "lag_period_ns": lag::PERIOD.as_nanos() as u64,
        "lag_queue": lag::QUEUE,
    });
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a scratch directory: {e}"))?;
    let path = dir.path().join("job.json");
    std::fs::write(&path, job.to_string())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let args = ["-job".to_string(), path.display().to_string()];
    GO.run_repeat_with(ctx, measured, params, &FIGURES, &args)
}
