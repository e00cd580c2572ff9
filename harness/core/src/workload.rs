//! The workload trait: one implementation, instantiated for every runtime row.

use crate::params::{Params, WorkloadSpec};
use crate::record::{Collector, Window};
use crate::row::{Row, RowConfig};
use std::collections::BTreeMap;

/// What one measured repeat gets from the harness.
pub struct RepeatCtx {
    /// The cores the row runs on.
    pub row: RowConfig,
    /// Warm-up then measured window; operations started outside the window are not recorded.
    pub window: Window,
    /// Where the workload's probes record.
    pub collector: Collector,
}

/// What a repeat returns beyond what its probes recorded: workload-specific figures (e.g. messages sent).
pub type RepeatOutput = BTreeMap<String, f64>;

/// A workload: written once against [`Row`], run by the harness on every row.
pub trait Workload: 'static {
    /// Name, parameters and default matrices.
    fn spec() -> WorkloadSpec;

    /// Reject parameter combinations that make no sense together (the spec already checked each value).
    fn validate(_params: &Params) -> Result<(), String> {
        Ok(())
    }

    /// Run one repeat on row `R`: warm up, run through the measured window, stop by itself, and check its
    /// own accounting. `Err` fails the cell with that one-line reason (e.g. a lost message).
    fn run<R: Row>(ctx: &RepeatCtx, params: &Params) -> Result<RepeatOutput, String>;
}
