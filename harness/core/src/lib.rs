//! dyno-core: the pieces every other crate shares and that know no runtime and do no IO policy.
//!
//! - [`row`]: the runtime-row abstraction ([`Row`]) that adapters implement and workloads are written against.
//! - [`workload`]: the [`Workload`] trait a workload crate implements once for every row.
//! - [`record`]: the per-thread latency/ops recorder with a measurement window (warm-up excluded).
//! - [`params`]: parameter specs, values and default matrices, and the expansion of overrides into cells.
//! - [`schema`]: the result contract (manifest, cell results) and the driver <-> cell protocol.
//! - [`stats`]: mean and Student-t confidence intervals over repeats.
//! - [`os`]: CPU affinity and `getrusage` helpers.
//! - [`runtime_metrics`]: counters a runtime keeps about itself, registered by row adapters.
//! - [`human`]: numbers formatted for people (rates, latencies, bytes).

pub mod human;
pub mod os;
pub mod params;
pub mod record;
pub mod row;
pub mod runtime_metrics;
pub mod schema;
pub mod stats;
pub mod workload;

pub use params::{ParamValue, Params};
pub use record::{Collector, Probe, Window};
pub use row::{Fairness, Row, RowConfig, RowError, Shard};
pub use workload::{CoreSplit, RepeatCtx, RepeatOutput, Workload};
