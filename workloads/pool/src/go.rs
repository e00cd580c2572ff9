//! The `go` reference row of pool: sync.Pool against plain allocation reclaimed by Go's garbage
//! collector (`workloads/pool/go/`), run through the row protocol ([`dyno_rows::foreign`]) with the
//! same buffers and operation, its allocations per operation and the GC's cost as declared figures.

use crate::PoolParams;
use dyno_rows::foreign::GoRow;

/// The Go program.
pub const GO: GoRow = GoRow {
    workload: "pool",
    model: "reference: Go goroutines (GMP scheduler), sync.Pool or the garbage-collected heap",
    notes: &[
        "contender=thread-local is sync.Pool (per-P caches, which every GC cycle may empty); \
         contender=malloc is a fresh buffer per operation, reclaimed by the garbage collector",
        "allocations and bytes per operation from runtime/metrics (/gc/heap/allocs); GC cycles and \
         total pause in the window from runtime.MemStats (each read stops the world once), the p99 \
         pause from runtime/metrics' pause histogram (a bucket's edge), read at the window's edges",
    ],
};

/// The cells the Go row runs: Go has one pool (sync.Pool) and one allocator (its own heap).
pub fn unavailable(p: &PoolParams) -> Option<String> {
    let runs = ["malloc", "thread-local"].contains(&p.contender.as_str())
        && p.object.starts_with("buf-")
        && p.pattern == "same"
        && p.allocator == "system";
    if !runs {
        return Some(format!(
            "the go row runs contender=malloc (Go's heap) and thread-local (sync.Pool) with the \
             buffers, pattern=same, allocator=system (Go brings its own); not contender={} \
             object={} pattern={} allocator={}",
            p.contender, p.object, p.pattern, p.allocator
        ));
    }
    GO.unavailable()
}
