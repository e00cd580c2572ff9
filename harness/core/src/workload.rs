//! The workload trait: one implementation, instantiated for every runtime row.

use crate::params::{Params, WorkloadSpec};
use crate::record::{Collector, Window};
use crate::row::{Row, RowConfig};
use std::collections::BTreeMap;

/// What one measured repeat gets from the harness.
pub struct RepeatCtx {
    /// The cores the row runs on.
    pub row: RowConfig,
    /// Cores for a client process the workload starts (a load generator); empty when it has none.
    pub client_cores: Vec<usize>,
    /// Warm-up then measured window; operations started outside the window are not recorded.
    pub window: Window,
    /// Where the workload's probes record.
    pub collector: Collector,
}

/// The cell's cores as a workload divides them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSplit {
    /// Cores the row (the measured process's runtime) runs on.
    pub row: Vec<usize>,
    /// Cores of the workload's client process.
    pub client: Vec<usize>,
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

    /// Split the cell's cores between the row and a client process the workload starts (a load generator
    /// on other cores than the server). Default: all to the row. `Err` when the cores cannot be split.
    fn split_cores(cores: &[usize]) -> Result<CoreSplit, String> {
        Ok(CoreSplit {
            row: cores.to_vec(),
            client: vec![],
        })
    }

    /// Run one repeat on row `R`: warm up, run through the measured window, stop by itself, and check its
    /// own accounting. `Err` fails the cell with that one-line reason (e.g. a lost message).
    fn run<R: Row>(ctx: &RepeatCtx, params: &Params) -> Result<RepeatOutput, String>;
}
