//! The `go` reference row of spawn: goroutines started and joined, and goroutines held idle on a
//! channel (`workloads/spawn/go/`), run through the row protocol ([`dyno_rows::foreign`]) with the
//! same modes, parameters and figures.

use dyno_rows::foreign::GoRow;

/// The Go program.
pub const GO: GoRow = GoRow {
    workload: "spawn",
    model: "reference: Go goroutines (GMP scheduler)",
    notes: &[
        "spawn: spawners=every starts one spawning goroutine per core (GOMAXPROCS of them), \
         spawners=one a single one; a task is a goroutine joined through a sync.WaitGroup",
        "idle: the goroutines block on one channel, started from one goroutine; Go grows no thread \
         per goroutine, so spawning never stops short (spawn_stopped_at is 0)",
    ],
};
