//! The workload traits: a core every workload implements once for every runtime row, and opt-in facets
//! for what only some workloads have (a client process measuring a server, reference rows).

use crate::metrics::ClientSpec;
use crate::params::{Params, WorkloadSpec};
use crate::record::{Collector, Window};
use crate::row::{Row, RowConfig};
use crate::schema::RowInfo;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// What every measured repeat gets from the harness.
pub struct RepeatCtx {
    /// The cores the row runs on.
    pub row: RowConfig,
    /// Warm-up then measured window; operations started outside the window are not recorded.
    pub window: Window,
    /// Where the workload's probes record.
    pub collector: Collector,
}

impl RepeatCtx {
    /// A repeat's context.
    pub fn new(row: RowConfig, window: Window, collector: Collector) -> Self {
        RepeatCtx {
            row,
            window,
            collector,
        }
    }
}

/// Where a [`ClientServer`] workload's client process runs.
#[derive(Debug, Clone, Default)]
pub struct ClientCtx {
    /// The client's cores: on this host, or on `remote`'s host when set.
    pub cores: Vec<usize>,
    /// The host the client runs on when it is not this one (`dyno run --client-host`); a server then
    /// listens on its `server_ip`.
    pub remote: Option<crate::remote::RemoteClient>,
}

/// The process whose CPU, peak RSS and context switches a repeat's window measures: the cell process
/// itself until a reference row names the program it started (e.g. nginx), before the window opens.
/// It also says when the window's end has been read, so that a program the row started can be kept
/// running until then (a process that exits first cannot be read).
#[derive(Debug, Clone, Default)]
pub struct MeasuredProcess {
    pid: Arc<AtomicU32>,
    read: Arc<std::sync::atomic::AtomicBool>,
}

impl MeasuredProcess {
    /// Measure process `pid` instead of the cell process.
    pub fn set(&self, pid: u32) {
        self.pid.store(pid, Ordering::Release);
    }

    /// The measured process's pid, or `None` for the cell process itself.
    pub fn pid(&self) -> Option<u32> {
        match self.pid.load(Ordering::Acquire) {
            0 => None,
            pid => Some(pid),
        }
    }

    /// The window's end has been read (or its reading failed): the measured process may go.
    pub fn mark_read(&self) {
        self.read.store(true, Ordering::Release);
    }

    /// Whether [`MeasuredProcess::mark_read`] has been called.
    pub fn is_read(&self) -> bool {
        self.read.load(Ordering::Acquire)
    }
}

/// The cell's cores as a [`ClientServer`] workload divides them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSplit {
    /// Cores the row (the measured process's runtime) runs on.
    pub row: Vec<usize>,
    /// Cores of the workload's client process.
    pub client: Vec<usize>,
}

/// What a repeat returns beyond what its probes recorded: its declared figures (e.g. messages sent).
pub type RepeatOutput = crate::metrics::Figures;

/// What every workload has: written once against [`Row`], run by the harness on every row. A repeat
/// runs through one facet: [`InProcess`] (the cell process does and measures all the work) or
/// [`ClientServer`] (the cell process is a server that the workload's client process loads).
pub trait Workload: 'static {
    /// Name, parameters, default matrices and declared figures.
    fn spec() -> WorkloadSpec;

    /// Reject parameter combinations that make no sense together (the spec already checked each value).
    fn validate(_params: &Params) -> Result<(), String> {
        Ok(())
    }

    /// Why this cell cannot run on this machine (a tool it needs is not installed, the row lacks a facet
    /// the workload needs): the cell is then recorded as skipped with this reason.
    fn unavailable(_row: &str, _params: &Params) -> Option<String> {
        None
    }

    /// Notes this workload adds to row `R`'s fairness block (e.g. what the row does on the network, for a
    /// network workload). Default: none.
    fn fairness_notes<R: Row>() -> Vec<String> {
        vec![]
    }
}

/// The facet of a workload whose cell process does all the work of a repeat and measures itself.
pub trait InProcess: Workload {
    /// Run one repeat on row `R`: warm up, run through the measured window, stop by itself, and check its
    /// own accounting. `Err` fails the cell with that one-line reason (e.g. a lost message).
    fn run<R: Row>(ctx: &RepeatCtx, params: &Params) -> Result<RepeatOutput, RepeatError>;
}

/// The facet of a workload whose cell process is a server, measured by a client process the workload
/// starts on other cores (or another host).
pub trait ClientServer: Workload {
    /// The client process, as the driver's sampler and profiler must know it.
    fn client() -> ClientSpec;

    /// Split the cell's cores between the row (the server) and the client. `Err` when the cores cannot
    /// be split: the cell is then skipped with the reason.
    fn split_cores(cores: &[usize]) -> Result<CoreSplit, String>;

    /// Why this cell cannot run with its client on another host (`dyno run --client-host`), e.g. a tool
    /// installed on this host only: the cell is then recorded as skipped with this reason. Default: it can.
    fn remote_unavailable(_row: &str, _params: &Params) -> Option<String> {
        None
    }

    /// Run one repeat on row `R`: serve on `ctx.row`'s cores, load the server from `client`, stop by
    /// itself and check the accounting of both sides.
    fn run<R: Row>(
        ctx: &RepeatCtx,
        client: &ClientCtx,
        params: &Params,
    ) -> Result<RepeatOutput, RepeatError>;

    /// Serve this workload's server on row `R` at `addr` with `cfg`'s cores, the same code its cells
    /// measure, until `stopped` returns (`dyno serve`: a user's own load tools against it). `ready`
    /// receives what to tell the user once it listens.
    fn serve<R: Row>(
        addr: std::net::SocketAddr,
        cfg: &RowConfig,
        ready: &dyn Fn(&str),
        stopped: &dyn Fn(),
    ) -> Result<(), ServeError>;
}

/// The facet of a workload with rows that are not Rust runtimes (a reference server such as nginx),
/// run beside the runtime rows on the same cells.
pub trait References: Workload {
    /// The reference rows with their fairness blocks for the cell's cores.
    fn reference_rows(cores: &[usize]) -> Vec<RowInfo>;

    /// Run one repeat of reference row `row` (one of [`References::reference_rows`]). `client` is where
    /// the client runs for a [`ClientServer`] workload; `measured` takes the pid of the program the row
    /// starts.
    fn run_reference(
        row: &str,
        ctx: &RepeatCtx,
        client: Option<&ClientCtx>,
        measured: &MeasuredProcess,
        params: &Params,
    ) -> Result<RepeatOutput, RepeatError>;
}

/// Why a repeat failed: the cell is recorded failed with this as its one-line reason.
#[derive(Debug, thiserror::Error)]
pub enum RepeatError {
    /// The row could not run the workload's body (its runtime did not start, a shard panicked).
    #[error(transparent)]
    Row(#[from] crate::row::RowError),
    /// The OS refused the cores or limits the repeat needs.
    #[error(transparent)]
    Os(#[from] crate::os::OsError),
    /// The workload's own checks or set-up failed: a lost message, counts that disagree, a tool that
    /// did not start.
    #[error("{0}")]
    Failed(String),
}

impl From<String> for RepeatError {
    fn from(why: String) -> Self {
        RepeatError::Failed(why)
    }
}

impl From<&str> for RepeatError {
    fn from(why: &str) -> Self {
        RepeatError::Failed(why.into())
    }
}

/// Why `dyno serve` served nothing.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The workload has no server: a usage error.
    #[error("workload {0} has no server to serve; only a workload with a server (e.g. http) does")]
    NoServer(String),
    /// The OS refused the cores or limits the server needs.
    #[error(transparent)]
    Os(#[from] crate::os::OsError),
    /// The server could not start or failed while serving.
    #[error("{0}")]
    Failed(String),
}

impl From<RepeatError> for ServeError {
    fn from(e: RepeatError) -> Self {
        match e {
            RepeatError::Os(e) => ServeError::Os(e),
            other => ServeError::Failed(other.to_string()),
        }
    }
}

impl From<String> for ServeError {
    fn from(why: String) -> Self {
        ServeError::Failed(why)
    }
}
