//! The workload trait: one implementation, instantiated for every runtime row.

use crate::params::{Params, WorkloadSpec};
use crate::record::{Collector, Window};
use crate::row::{Row, RowConfig};
use crate::schema::RowInfo;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

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
    /// The process whose CPU, peak RSS and context switches the window measures, when it is not the cell
    /// itself (0): a reference server the workload started (e.g. nginx). Set it before the window opens.
    pub measured_pid: Arc<AtomicU32>,
    /// The host the client process runs on, when it is not this one; `client_cores` are then its cores
    /// and a server listens on `server_ip`.
    pub remote: Option<crate::remote::RemoteClient>,
}

impl RepeatCtx {
    /// A repeat's context; the window measures the cell process itself until a workload says otherwise.
    pub fn new(
        row: RowConfig,
        client_cores: Vec<usize>,
        window: Window,
        collector: Collector,
    ) -> Self {
        RepeatCtx {
            row,
            client_cores,
            window,
            collector,
            measured_pid: Arc::new(AtomicU32::new(0)),
            remote: None,
        }
    }
}

/// The cell's cores as a workload divides them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSplit {
    /// Cores the row (the measured process's runtime) runs on.
    pub row: Vec<usize>,
    /// Cores of the workload's client process.
    pub client: Vec<usize>,
}

/// What a repeat returns beyond what its probes recorded: its declared figures (e.g. messages sent).
pub type RepeatOutput = crate::metrics::Figures;

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

    /// Rows this workload runs beside the runtime rows that are not Rust runtimes (reference servers such
    /// as nginx), with their fairness blocks for the cell's cores. Run by [`Workload::run_reference`].
    fn reference_rows(_cores: &[usize]) -> Vec<RowInfo> {
        vec![]
    }

    /// Run one repeat of reference row `row` (one of [`Workload::reference_rows`]).
    fn run_reference(
        row: &str,
        _ctx: &RepeatCtx,
        _params: &Params,
    ) -> Result<RepeatOutput, String> {
        Err(format!("this workload has no reference row {row:?}"))
    }

    /// Why this cell cannot run on this machine (a tool it needs is not installed, or the reference row
    /// does not do these parameters): the cell is then recorded as skipped with this reason.
    fn unavailable(_row: &str, _params: &Params) -> Option<String> {
        None
    }

    /// Why this cell cannot run with its client on another host (`dyno run --client-host`), e.g. a
    /// reference tool installed on this host only: the cell is then recorded as skipped with this reason.
    /// Asked only of a workload that declares a client. Default: it can.
    fn remote_unavailable(_row: &str, _params: &Params) -> Option<String> {
        None
    }

    /// Notes this workload adds to row `R`'s fairness block (e.g. what the row does on the network, for a
    /// network workload). Default: none.
    fn fairness_notes<R: Row>() -> Vec<String> {
        vec![]
    }

    /// Run one repeat on row `R`: warm up, run through the measured window, stop by itself, and check its
    /// own accounting. `Err` fails the cell with that one-line reason (e.g. a lost message).
    fn run<R: Row>(ctx: &RepeatCtx, params: &Params) -> Result<RepeatOutput, String>;

    /// Serve this workload's server on row `R` at `addr` with `cfg`'s cores, the same code its cells
    /// measure, until `stopped` returns (`dyno serve`: a user's own load tools against it). `ready`
    /// receives what to tell the user once it listens. Default: the workload has no server.
    fn serve<R: Row>(
        _addr: std::net::SocketAddr,
        _cfg: &crate::RowConfig,
        _ready: &dyn Fn(&str),
        _stopped: &dyn Fn(),
    ) -> Result<(), ServeError> {
        Err(ServeError::NoServer(Self::spec().name))
    }
}

/// Why `dyno serve` served nothing.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The workload has no server: a usage error.
    #[error("workload {0} has no server to serve; only a workload with a server (e.g. http) does")]
    NoServer(String),
    /// The server could not start or failed while serving.
    #[error("{0}")]
    Failed(String),
}

impl From<String> for ServeError {
    fn from(why: String) -> Self {
        ServeError::Failed(why)
    }
}
