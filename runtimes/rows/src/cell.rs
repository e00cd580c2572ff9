//! The cell binary's command line: `describe`, `plan`, `rows` and `cell`. The driver (`dyno`) is its only
//! intended caller; every workload binary gets it from its `main`: [`cell_main`] for an [`InProcess`]
//! workload, or [`client_server`] / [`in_process`] with the workload's other facets, then
//! [`CellBinary::main`].

use crate::self_profile::SelfProfiler;
use crate::{ROWS, RowVisitor, row_infos, visit_row};
use clap::{Parser, Subcommand};
use dyno_core::metrics::ClientSpec;
use dyno_core::metrics::MEASURED_DURATION;
use dyno_core::os::{Usage, confine_process};
use dyno_core::params::WorkloadSpec;
use dyno_core::params::{Override, PlanError, Profile};
use dyno_core::record::{Collector, Window, encode_histogram};
use dyno_core::remote::RemoteClient;
use dyno_core::runtime_metrics;
use dyno_core::schema::RowInfo;
use dyno_core::schema::{CellOutput, RawRepeat, write_atomic};
use dyno_core::{
    ClientCtx, ClientServer, CoreSplit, Fairness, InProcess, MeasuredProcess, Params, References,
    RepeatCtx, RepeatError, RepeatOutput, Row, RowConfig, ServeError, Workload,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Environment variable naming faults to inject, for the harness's own tests:
/// `panic:<row>`, `hang:<row>` or `signal:<row>`, comma-separated.
pub const FAULT_VAR: &str = "DYNO_FAULT";

#[derive(Parser)]
#[command(about = "A dyno workload's cell binary; run it through `dyno`, not by hand")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the workload's spec (parameters, matrices) as JSON.
    Describe,
    /// Print every row's fairness block for the given cores as JSON.
    Rows {
        #[arg(long, value_delimiter = ',', required = true)]
        cores: Vec<usize>,
    },
    /// Expand a profile and overrides into the cells to run (JSON), or explain why not (exit 2).
    Plan {
        #[arg(long)]
        profile: Profile,
        /// NAME=VALUE[,VALUE...]
        #[arg(long = "set")]
        set: Vec<String>,
    },
    /// Serve the workload's server on a row until SIGINT or SIGTERM (`dyno serve`).
    Serve {
        #[arg(long)]
        row: String,
        /// Address to listen on.
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long, value_delimiter = ',', required = true)]
        cores: Vec<usize>,
    },
    /// Run one cell: all its repeats, in this process.
    Cell {
        #[arg(long)]
        row: String,
        #[command(flatten)]
        req: CellRequest,
    },
}

/// The `main` of an [`InProcess`] workload's cell binary without reference rows.
pub fn cell_main<W: InProcess>() -> ExitCode {
    in_process::<W>().main()
}

/// The cell binary of an [`InProcess`] workload: the cell process does all of a repeat's work.
pub fn in_process<W: InProcess>() -> CellBinary<Alone<W>> {
    CellBinary::new()
}

/// The cell binary of a [`ClientServer`] workload: the cell process is the server its client loads.
pub fn client_server<W: ClientServer>() -> CellBinary<Served<W>> {
    CellBinary::new()
}

/// How the cell binary runs a workload's repeats: through the facet it was built with.
pub trait Shape: 'static {
    /// The workload.
    type W: Workload;
    /// The client process, for a workload that has one.
    fn client() -> Option<ClientSpec>;
    /// The cell's cores between the row and the client.
    fn split_cores(cores: &[usize]) -> Result<CoreSplit, String>;
    /// Why the cell cannot run with its client on another host.
    fn remote_unavailable(row: &str, params: &Params) -> Option<String>;
    /// One repeat on row `R`.
    fn run<R: Row>(
        ctx: &RepeatCtx,
        client: &ClientCtx,
        params: &Params,
    ) -> Result<RepeatOutput, RepeatError>;
    /// `dyno serve` on row `R`.
    fn serve<R: Row>(
        addr: std::net::SocketAddr,
        cfg: &RowConfig,
        ready: &dyn Fn(&str),
        stopped: &dyn Fn(),
    ) -> Result<(), ServeError>;
}

/// The [`Shape`] of an [`InProcess`] workload: every core is the row's, no client, no server.
pub struct Alone<W>(std::marker::PhantomData<W>);

impl<W: InProcess> Shape for Alone<W> {
    type W = W;
    fn client() -> Option<ClientSpec> {
        None
    }
    fn split_cores(cores: &[usize]) -> Result<CoreSplit, String> {
        Ok(CoreSplit {
            row: cores.to_vec(),
            client: vec![],
        })
    }
    fn remote_unavailable(_: &str, _: &Params) -> Option<String> {
        None
    }
    fn run<R: Row>(
        ctx: &RepeatCtx,
        _: &ClientCtx,
        params: &Params,
    ) -> Result<RepeatOutput, RepeatError> {
        W::run::<R>(ctx, params)
    }
    fn serve<R: Row>(
        _: std::net::SocketAddr,
        _: &RowConfig,
        _: &dyn Fn(&str),
        _: &dyn Fn(),
    ) -> Result<(), ServeError> {
        Err(ServeError::NoServer(W::spec().name))
    }
}

/// The [`Shape`] of a [`ClientServer`] workload.
pub struct Served<W>(std::marker::PhantomData<W>);

impl<W: ClientServer> Shape for Served<W> {
    type W = W;
    fn client() -> Option<ClientSpec> {
        Some(W::client())
    }
    fn split_cores(cores: &[usize]) -> Result<CoreSplit, String> {
        W::split_cores(cores)
    }
    fn remote_unavailable(row: &str, params: &Params) -> Option<String> {
        W::remote_unavailable(row, params)
    }
    fn run<R: Row>(
        ctx: &RepeatCtx,
        client: &ClientCtx,
        params: &Params,
    ) -> Result<RepeatOutput, RepeatError> {
        W::run::<R>(ctx, client, params)
    }
    fn serve<R: Row>(
        addr: std::net::SocketAddr,
        cfg: &RowConfig,
        ready: &dyn Fn(&str),
        stopped: &dyn Fn(),
    ) -> Result<(), ServeError> {
        W::serve::<R>(addr, cfg, ready, stopped)
    }
}

type RunReference = fn(
    &str,
    &RepeatCtx,
    Option<&ClientCtx>,
    &MeasuredProcess,
    &Params,
) -> Result<RepeatOutput, RepeatError>;

/// A workload's [`References`] facet, when its binary was built with one.
#[derive(Clone, Copy)]
struct ReferenceFacet {
    rows: fn(&[usize]) -> Vec<RowInfo>,
    run: RunReference,
}

/// A workload's cell binary: built from its facets, then [`CellBinary::main`].
pub struct CellBinary<S> {
    references: Option<ReferenceFacet>,
    shape: std::marker::PhantomData<S>,
}

impl<S: Shape> CellBinary<S>
where
    S::W: References,
{
    /// Add the workload's reference rows (rows that are not Rust runtimes) beside the registry's.
    pub fn with_references(mut self) -> Self {
        self.references = Some(ReferenceFacet {
            rows: <S::W as References>::reference_rows,
            run: <S::W as References>::run_reference,
        });
        self
    }
}

impl<S: Shape> CellBinary<S> {
    fn new() -> Self {
        CellBinary {
            references: None,
            shape: std::marker::PhantomData,
        }
    }

    fn reference_rows(&self, cores: &[usize]) -> Vec<RowInfo> {
        self.references.map_or(vec![], |r| (r.rows)(cores))
    }

    /// The spec the driver reads: the workload's, with the client its facet declares.
    fn spec() -> WorkloadSpec {
        let mut spec = S::W::spec();
        spec.declared.client = S::client();
        spec
    }

    /// The cell binary's `main`: `describe`, `rows`, `plan`, `serve` or `cell`.
    pub fn main(self) -> ExitCode {
        match Cli::parse().cmd {
            Cmd::Describe => print_json(&Self::spec()),
            Cmd::Rows { cores } => {
                let mut rows = row_infos::<S::W>(&RowConfig {
                    cores: cores.clone(),
                });
                rows.extend(self.reference_rows(&cores));
                print_json(&rows)
            }
            Cmd::Plan { profile, set } => {
                let overrides: Result<Vec<Override>, PlanError> =
                    set.iter().map(|s| s.parse()).collect();
                match overrides.and_then(|o| Self::spec().plan(profile, &o, S::W::validate)) {
                    Ok(cells) => print_json(&cells),
                    Err(e) => {
                        eprintln!("error: {e}");
                        ExitCode::from(2)
                    }
                }
            }
            Cmd::Serve { row, addr, cores } => serve::<S>(&row, addr, RowConfig { cores }),
            Cmd::Cell { row, req } => self.cell(&row, req),
        }
    }

    fn cell(&self, row: &str, req: CellRequest) -> ExitCode {
        let references = self.reference_rows(&req.cores);
        let outcome = match (references.iter().find(|r| r.id == row), self.references) {
            (Some(info), Some(facet)) => {
                let fairness = info.fairness.clone();
                Some(run_cell::<S>(
                    row,
                    |_| fairness.clone(),
                    req,
                    |ctx, client, measured, params| {
                        let client = S::client().map(|_| client);
                        (facet.run)(row, ctx, client, measured, params)
                    },
                ))
            }
            _ => visit_row(row, RunCell::<S>(req, std::marker::PhantomData)),
        };
        match outcome {
            None => {
                let mut ids: Vec<String> = ROWS.iter().map(|r| r.to_string()).collect();
                ids.extend(references.into_iter().map(|r| r.id));
                eprintln!("error: unknown row {row:?}; accepted: {}", ids.join(", "));
                ExitCode::from(2)
            }
            Some(Ok(())) => ExitCode::SUCCESS,
            Some(Err(e)) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }
}

/// `serve`: the workload's server on `row` until SIGINT or SIGTERM.
fn serve<S: Shape>(row: &str, addr: std::net::SocketAddr, cfg: RowConfig) -> ExitCode {
    let serving = Serve::<S> {
        addr,
        cfg: &cfg,
        shape: std::marker::PhantomData,
    };
    match visit_row(row, serving) {
        None => {
            let ids: Vec<String> = ROWS.iter().map(|r| r.to_string()).collect();
            eprintln!("error: unknown row {row:?}; accepted: {}", ids.join(", "));
            ExitCode::from(2)
        }
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("error: {e}");
            match e {
                ServeError::NoServer(_) => ExitCode::from(2),
                ServeError::Os(_) | ServeError::Failed(_) => ExitCode::FAILURE,
            }
        }
    }
}

/// `serve` on the row the registry finds: until SIGINT or SIGTERM.
struct Serve<'a, S> {
    addr: std::net::SocketAddr,
    cfg: &'a RowConfig,
    shape: std::marker::PhantomData<S>,
}

impl<S: Shape> RowVisitor for Serve<'_, S> {
    type Out = Result<(), ServeError>;
    fn visit<R: Row>(self) -> Self::Out {
        confine_process(&self.cfg.cores)?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, stop.clone())
                .map_err(|e| format!("cannot handle signal {sig}: {e}"))?;
        }
        let ready = |what: &str| {
            println!("{what}");
            println!("Ctrl-C (or SIGTERM) stops it.");
        };
        let stopped = || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        S::serve::<R>(self.addr, self.cfg, &ready, &stopped)
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> ExitCode {
    println!("{}", serde_json::to_string(v).expect("specs serialize"));
    ExitCode::SUCCESS
}

/// What `cell` runs: parameters, timing, repeats and cores, and where the output goes.
#[derive(clap::Args)]
struct CellRequest {
    /// The cell's parameters as JSON.
    #[arg(long)]
    params: String,
    #[arg(long)]
    warmup_s: f64,
    #[arg(long)]
    duration_s: f64,
    #[arg(long)]
    repeats: usize,
    #[arg(long, value_delimiter = ',', required = true)]
    cores: Vec<usize>,
    /// Where to write the cell output (JSON, atomically).
    #[arg(long)]
    out: PathBuf,
    /// Profile each measured window in-process with pprof-rs and write folded stacks here (the driver's
    /// fallback where perf is absent). Nothing is written when the measured process is not this one.
    #[arg(long, requires = "pprof_hz")]
    pprof_out: Option<PathBuf>,
    /// Sampling frequency for --pprof-out.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pprof_hz: Option<u32>,
    /// The host the workload's client runs on, as JSON (a `dyno_core::remote::RemoteClient`); the row
    /// then gets every core of `--cores`.
    #[arg(long)]
    remote_client: Option<String>,
}

struct RunCell<S>(CellRequest, std::marker::PhantomData<S>);

impl<S: Shape> RowVisitor for RunCell<S> {
    type Out = Result<(), String>;
    fn visit<R: Row>(self) -> Result<(), String> {
        run_cell::<S>(
            R::ID,
            crate::fairness::<S::W, R>,
            self.0,
            |ctx, client, _, params| S::run::<R>(ctx, client, params),
        )
    }
}

/// How a cell runs one repeat: its context, its client, the process its window measures, its parameters.
trait RunRepeat:
    Fn(&RepeatCtx, &ClientCtx, &MeasuredProcess, &Params) -> Result<RepeatOutput, RepeatError>
{
}

impl<F> RunRepeat for F where
    F: Fn(&RepeatCtx, &ClientCtx, &MeasuredProcess, &Params) -> Result<RepeatOutput, RepeatError>
{
}

/// Run one cell of `row` (a runtime row or a reference row): check the request, confine the process,
/// run every repeat (or record why the cell cannot run here), write the output atomically.
fn run_cell<S: Shape>(
    row: &str,
    fairness_for: impl Fn(&RowConfig) -> Fairness,
    req: CellRequest,
    run: impl RunRepeat,
) -> Result<(), String> {
    let params: Params = serde_json::from_str(&req.params)
        .map_err(|e| format!("--params is not a parameter object: {e}"))?;
    S::W::validate(&params)?;
    let positive = req.duration_s.is_finite() && req.duration_s > 0.0;
    let non_negative = req.warmup_s.is_finite() && req.warmup_s >= 0.0;
    if !positive || !non_negative || req.repeats == 0 {
        return Err("duration must be > 0, warm-up >= 0 and repeats >= 1".into());
    }
    let declared = S::W::spec().declared.metrics;
    let run = |ctx: &RepeatCtx, client: &ClientCtx, measured: &MeasuredProcess, params: &Params| {
        let figures = run(ctx, client, measured, params)?;
        match figures.undeclared(&declared)[..] {
            [] => Ok(figures),
            ref names => Err(RepeatError::Failed(format!(
                "the workload reported figures its spec does not declare: {} (declare them in spec().declared.metrics)",
                names.join(", ")
            ))),
        }
    };
    let remote: Option<RemoteClient> = match &req.remote_client {
        // Only a workload with a client process has anything to run elsewhere.
        Some(json) if S::client().is_some() => Some(
            serde_json::from_str(json)
                .map_err(|e| format!("--remote-client is not a RemoteClient: {e}"))?,
        ),
        _ => None,
    };
    let split = match &remote {
        Some(r) => Ok(CoreSplit {
            row: req.cores.clone(),
            client: r.cores.clone(),
        }),
        None => S::split_cores(&req.cores),
    };
    // Cores the workload cannot divide (one core for a server and its load generator, say in a core
    // sweep) make the cell skipped with the reason, like a missing tool: no fault of the row.
    let (split, unsplittable) = match split {
        Ok(s) => (s, None),
        Err(e) => (
            CoreSplit {
                row: req.cores.clone(),
                client: vec![],
            },
            Some(e),
        ),
    };
    // The row's threads inherit this; a local client process pins itself to its own cores.
    confine_process(&split.row)?;
    inject_fault(row);
    let cfg = RowConfig {
        cores: split.row.clone(),
    };
    let mut fairness = fairness_for(&cfg);
    fairness.client_cores = split.client.clone();
    fairness.client_host = remote.as_ref().map(RemoteClient::describe);
    let skipped = unsplittable
        .or_else(|| S::W::unavailable(row, &params))
        .or_else(|| {
            remote
                .as_ref()
                .and_then(|_| S::remote_unavailable(row, &params))
        });
    let mut repeats = Vec::with_capacity(req.repeats);
    if skipped.is_none() {
        if let Some(hz) = req.pprof_hz {
            SelfProfiler::prepare(hz)?;
        }
        for _ in 0..req.repeats {
            repeats.push(measure_repeat(
                &split,
                remote.as_ref(),
                &params,
                req.warmup_s,
                req.duration_s,
                req.pprof_out.as_deref().zip(req.pprof_hz),
                &run,
            )?);
        }
    }
    let out = CellOutput {
        fairness,
        repeats,
        skipped,
    };
    let json = serde_json::to_vec(&out).map_err(|e| e.to_string())?;
    write_atomic(&req.out, &json).map_err(|e| format!("cannot write {}: {e}", req.out.display()))
}

/// One repeat: warm-up, measured window (CPU and context switches of the measured process read by a
/// watcher thread at its edges, and the in-process profiler running between them when asked), then the
/// workload's own drain and checks.
fn measure_repeat(
    split: &CoreSplit,
    remote: Option<&RemoteClient>,
    params: &Params,
    warmup_s: f64,
    duration_s: f64,
    pprof: Option<(&std::path::Path, u32)>,
    run: &impl RunRepeat,
) -> Result<RawRepeat, String> {
    let window = Window::starting_in(
        Duration::from_secs_f64(warmup_s),
        Duration::from_secs_f64(duration_s),
    );
    let collector = Collector::new(true);
    let ctx = RepeatCtx::new(
        RowConfig {
            cores: split.row.clone(),
        },
        window,
        collector.clone(),
    );
    let client = ClientCtx {
        cores: split.client.clone(),
        remote: remote.cloned(),
    };
    let measured = MeasuredProcess::default();
    let watched = measured.clone();
    let done = measured.clone();
    let pprof = pprof.map(|(path, hz)| (path.to_path_buf(), hz));
    dyno_core::runtime_metrics::clear();
    let watcher = std::thread::Builder::new()
        .name("dyno-window".into())
        .spawn(move || {
            let read = watch_window(window, &watched, pprof);
            done.mark_read();
            read
        })
        .map_err(|e| format!("cannot start the window watcher: {e}"))?;

    let figures = run(&ctx, &client, &measured, params).map_err(|e| e.to_string())?;
    drop(ctx);
    let duration_s = figures
        .get(&MEASURED_DURATION)
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or(window.duration().as_secs_f64());
    let mut metrics = figures.into_map();
    let (window_usage, runtime_rates) = watcher
        .join()
        .map_err(|_| "the window watcher panicked".to_string())?
        .map_err(|e| format!("the measured process: {e}"))?;
    for (name, rate) in runtime_rates {
        metrics.entry(name).or_insert(rate);
    }
    let rec = collector.finish();
    let start_ns = window.warmup().as_nanos() as u64;
    let steady = dyno_core::steady::assess(
        &rec.timeline,
        start_ns,
        start_ns + window.duration().as_nanos() as u64,
    );
    Ok(RawRepeat {
        ops: rec.ops,
        errors: rec.errors,
        error_samples: rec.error_samples,
        steady,
        duration_s,
        window_usage,
        histogram: rec.latency.as_ref().map(encode_histogram),
        metrics,
        window_monotonic_ns: Some(window.monotonic_ns()),
        sliced: None,
    })
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

fn inject_fault(row: &str) {
    let Ok(spec) = std::env::var(FAULT_VAR) else {
        return;
    };
    for f in spec.split(',') {
        match f.split_once(':') {
            Some(("panic", r)) if r == row => panic!("injected fault: panic in row {row}"),
            Some(("hang", r)) if r == row => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
            Some(("signal", r)) if r == row => {
                // SAFETY: raising a signal at ourselves; SIGKILL ends the process.
                unsafe {
                    libc::raise(libc::SIGKILL);
                }
            }
            _ => {}
        }
    }
}

/// The window watcher's reading: CPU and context switches of the measured process (and the runtime's
/// counter rates) between the window's edges, with the in-process profiler between them when asked.
fn watch_window(
    window: Window,
    watched: &MeasuredProcess,
    pprof: Option<(std::path::PathBuf, u32)>,
) -> Result<(Usage, std::collections::BTreeMap<String, f64>), String> {
    sleep_until(window.start());
    let pid = watched.pid();
    let usage = || match pid {
        None => Ok(Usage::of_self()),
        Some(pid) => Usage::of_pid(pid),
    };
    let start = usage()?;
    let counters = runtime_metrics::snapshot();
    // pprof samples this process only: a reference row's server is another program.
    let profiler = match &pprof {
        Some((_, hz)) if pid.is_none() => Some(SelfProfiler::start(*hz)?),
        _ => None,
    };
    if profiler.is_some() && Instant::now() >= window.end() {
        return Err("pprof started only after the measured window had ended".into());
    }
    sleep_until(window.end());
    let used = usage()?.since(&start);
    let rates = runtime_metrics::rates(
        &counters,
        &runtime_metrics::snapshot(),
        window.duration().as_secs_f64(),
    );
    if let (Some(profiler), Some((path, _))) = (profiler, &pprof) {
        let folded = profiler.finish()?;
        write_atomic(path, folded.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok((used, rates))
}
