//! The `go` reference row of contention: goroutines sharing one counter through sync.Mutex,
//! sync.RWMutex, an atomic, atomic.Value and a sharded counter (`workloads/contention/go/`), run
//! through the row protocol ([`dyno_rows::foreign`]) with the same read pattern, batches and checks.

use crate::ContentionParams;
use dyno_rows::foreign::GoRow;

/// The Go program.
pub const GO: GoRow = GoRow {
    workload: "contention",
    model: "reference: Go goroutines (GMP scheduler), sync and sync/atomic",
    notes: &[
        "mutex: sync.Mutex; rwlock: sync.RWMutex; atomic: atomic.Uint64; arc-swap: atomic.Value \
         (reads load, writes compare-and-swap a new value, retried); sharded: a padded atomic per \
         goroutine",
        "a goroutine yields (runtime.Gosched) between batches, as the runtime rows' tasks yield",
        "an operation's latency is timed with time.Now (the runtime rows use the TSC through quanta)",
    ],
};

/// The primitives Go has; parking_lot's, async-lock's and tokio's locks have no Go counterpart.
pub const PRIMITIVES: [&str; 5] = ["mutex", "rwlock", "atomic", "arc-swap", "sharded"];

/// Why a Go cell cannot run here.
pub fn unavailable(p: &ContentionParams) -> Option<String> {
    if !PRIMITIVES.contains(&p.primitive.as_str()) {
        return Some(format!(
            "Go has no {}: the go row runs {}",
            p.primitive,
            PRIMITIVES.join(", ")
        ));
    }
    GO.unavailable()
}
