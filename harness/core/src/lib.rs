//! dyno-core: the pieces every other crate shares and that know no runtime and do no IO policy.
//!
//! - [`row`]: the runtime-row abstraction ([`Row`]) that adapters implement and workloads are written against.
//! - [`workload`]: the [`Workload`] trait a workload crate implements once for every row, and its facets
//!   ([`InProcess`], [`ClientServer`], [`References`]).
//! - [`record`]: the per-thread latency/ops recorder with a measurement window (warm-up excluded).
//! - [`metrics`]: declared workload figures (unit, better, role), client processes and SLOs.
//! - [`params`]: parameter specs, values and default matrices, and the expansion of overrides into cells.
//! - [`schema`]: the result contract (manifest, cell results).
//! - [`protocol`]: the driver <-> cell protocol (cell output, raw and time-sliced repeats, pairing).
//! - [`rundir`]: the results directory and a run's directory, the only reader of their files.
//! - [`remote`]: a client process on another host, started over SSH.
//! - [`steady`]: when a repeat's throughput settled, from the recorder's timeline.
//! - [`stats`]: mean and Student-t confidence intervals over repeats.
//! - [`os`]: CPU affinity and `getrusage` helpers.
//! - [`runtime_metrics`]: counters a runtime keeps about itself, registered by row adapters.
//! - [`cli`]: durations and core lists as every dyno binary parses them.
//! - [`human`]: numbers formatted for people (rates, latencies, bytes).
//! - [`bench`]: what the workloads' bench mains share (flags, commit, sibling binaries).
//! - [`golang`]: the workloads' Go programs (Go reference rows): finding Go, building offline, their binaries.

pub mod bench;
pub mod cli;
pub mod estimate;
pub mod golang;
pub mod human;
pub mod metrics;
pub mod os;
pub mod params;
pub mod protocol;
pub mod record;
pub mod remote;
pub mod row;
pub mod rundir;
pub mod runtime_metrics;
pub mod schema;
pub mod skip;
pub mod stats;
pub mod steady;
pub mod workload;
pub mod workspace;

pub use metrics::{Better, Figures, Metric, Role};
pub use params::{ParamValue, Params};
pub use record::{Collector, Probe, Window};
pub use row::{Fairness, Row, RowConfig, RowError, Shard};
pub use workload::{
    ClientCtx, ClientServer, CoreSplit, InProcess, MeasuredProcess, References, RepeatCtx,
    RepeatError, RepeatOutput, ServeError, Workload,
};
