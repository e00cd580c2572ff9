//! The `http` workload: the same hyper HTTP/1.1 service on every row, loaded by dyno's own generator.
//!
//! The cell process is the server: the row runs on the server cores ([`Http::split_cores`]), one listener per
//! shard. The load generator is a second process (this binary's `generate` subcommand) pinned to the
//! client cores, so the cell's CPU, RSS and context switches are the server's alone. The generator's
//! latency histogram and counts come back as the repeat's record; the server's own count must equal the
//! responses the generator received.

pub mod check;
pub mod figures;
pub mod generator;
pub mod go;
pub mod hyper_io;
pub mod nginx;
pub mod reference;
pub mod server;

use dyno_core::metrics::{ClientSpec, Declarations, MEASURED_DURATION, Metric, Slo};
use dyno_core::os::{current_rss, raise_nofile};
use dyno_core::params::{ParamSpec, WorkloadSpec, group, ints, words};
use dyno_core::schema::Pairing;
use dyno_core::{
    ClientCtx, ClientServer, CoreSplit, MeasuredProcess, Params, References, RepeatCtx,
    RepeatError, RepeatOutput, Row, Workload,
};
use dyno_load::LoadConfig;
use dyno_net::NetRow;
use figures::*;
use server::{ShardReport, Shared};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

/// File descriptors kept free beyond one per connection (listeners, pipes, the runtime's own).
pub const FD_MARGIN: u64 = 256;

/// How long the server may take to bind on every shard.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Time allowed for the generator process to start before its load begins.
const SPAWN_MARGIN: Duration = Duration::from_millis(100);

/// A request that takes longer than this (or twice its endpoint's intended delay plus a second) is a
/// `timeout` error.
const MIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// The open-loop service-level objective: a rate counts as sustained with p99 within 10 ms and 95% of
/// it achieved (the report's max-sustainable-rate table).
pub const SLO: Slo = Slo {
    p99_ns: 10_000_000,
    achieved_share: 0.95,
};

/// Load generators a cell can use.
pub const GENERATORS: [&str; 2] = ["dyno", "wrk"];

/// Endpoints the workload can load.
pub const ENDPOINTS: [&str; 4] = ["plaintext", "json", "delay", "cpu"];

/// The workload.
pub struct Http;

/// The parameters of one cell.
#[derive(Debug, Clone)]
pub struct HttpParams {
    pub endpoint: String,
    pub delay_ms: u64,
    pub cpu_us: u64,
    pub connections: u64,
    /// Offered requests per second; 0 for a closed loop.
    pub rate: u64,
    /// `dyno` (dyno load) or `wrk`.
    pub generator: String,
}

impl From<&Params> for HttpParams {
    fn from(p: &Params) -> Self {
        HttpParams {
            endpoint: p.word("endpoint").to_string(),
            delay_ms: p.int("delay_ms"),
            cpu_us: p.int("cpu_us"),
            connections: p.int("connections"),
            rate: p.int("rate"),
            generator: p.word("generator").to_string(),
        }
    }
}

impl HttpParams {
    /// The request path for the endpoint.
    pub fn path(&self) -> String {
        match self.endpoint.as_str() {
            "delay" => format!("/delay?ms={}", self.delay_ms),
            "cpu" => format!("/cpu?us={}", self.cpu_us),
            other => format!("/{other}"),
        }
    }

    fn request_timeout(&self) -> Duration {
        let intended = match self.endpoint.as_str() {
            "delay" => Duration::from_millis(self.delay_ms),
            "cpu" => Duration::from_micros(self.cpu_us),
            _ => Duration::ZERO,
        };
        MIN_REQUEST_TIMEOUT.max(intended * 2 + Duration::from_secs(1))
    }
}

fn cells(endpoint: &str, connections: &[u64], rates: &[u64]) -> dyno_core::params::Group {
    group([
        ("generator", words(&["dyno"])),
        ("endpoint", words(&[endpoint])),
        ("delay_ms", ints(&[1])),
        ("cpu_us", ints(&[50])),
        ("connections", ints(connections)),
        ("rate", ints(rates)),
    ])
}

/// Offered rates of the open-loop sweep (requests per second): light load, about half of what one core
/// serves, and near or past its capacity (about 100k req/s closed loop here).
const RATE_SWEEP: [u64; 3] = [10_000, 50_000, 90_000];

/// C10K: connections held, and the trickle of requests over them.
const C10K_CONNECTIONS: u64 = 10_000;
const C10K_RATE: u64 = 2_000;

impl Workload for Http {
    fn spec() -> WorkloadSpec {
        WorkloadSpec {
            name: "http".into(),
            about: "hyper HTTP/1.1 server on the row, dyno's load generator in its own process on other cores".into(),
            params: vec![
                ParamSpec::choice(
                    "endpoint",
                    "plaintext: 13-byte body; json: a small JSON object; delay: answer after an async sleep of delay_ms; cpu: cpu_us of CPU work per request",
                    &ENDPOINTS,
                ),
                ParamSpec::int("delay_ms", "sleep per request on the delay endpoint", 0, server::MAX_DELAY_MS, "ms"),
                ParamSpec::int("cpu_us", "CPU work per request on the cpu endpoint", 0, server::MAX_CPU_US, "µs"),
                ParamSpec::int("connections", "keep-alive connections the generator holds", 1, 100_000, "connections"),
                ParamSpec::choice(
                    "generator",
                    "dyno: dyno's load generator (closed or open loop); wrk: wrk, for cross-checking (closed loop only, whole-second windows)",
                    &GENERATORS,
                ),
                ParamSpec::int(
                    "rate",
                    "offered requests per second (open loop, latency from intended send times); 0: closed loop, each connection sends when answered",
                    0,
                    10_000_000,
                    "req/s",
                ),
            ],
            // wrk runs whole seconds, longer than the quick window: the quick matrix cross-checks with
            // the reference bench (`cargo xtask bench --quick`) and `cargo xtask validate` instead.
            quick: vec![cells("plaintext", &[64], &[0])],
            // The full profile's minimum rounds and profiles must leave room in its 45 minutes for
            // adaptive rounds. Connection counts and the json endpoint are one `-p` away (e.g.
            // `-p connections=16,64,256,1024`); wrk against every row is the reference bench's
            // (`cargo xtask bench`) and `cargo xtask validate`'s, and `-p generator=wrk` here.
            full: vec![
                cells("plaintext", &[64], &[0]),
                cells("delay", &[64], &[0]),
                cells("cpu", &[64], &[0]),
                cells("plaintext", &[64], &RATE_SWEEP),
                cells("plaintext", &[C10K_CONNECTIONS], &[C10K_RATE]),
            ],
            declared: Declarations {
                ops_unit: "requests".into(),
                metrics: figures::ALL.iter().map(Metric::spec).collect(),
                // The cell binary declares the client from `ClientServer::client`.
                client: None,
                slo: Some(SLO),
                questions: dyno_rows::design_questions()
                    .into_iter()
                    .chain(dyno_rows::design_questions_of(
                        figures::RSS_PER_CONNECTION.name,
                        "Memory per connection",
                    ))
                    .chain(dyno_rows::go_questions())
                    .chain(dyno_rows::go_questions_of(
                        figures::RSS_PER_CONNECTION.name,
                        "Memory per connection",
                    ))
                    .collect(),
                pairing: Pairing::Blocks,
                pairing_why: "a load generator measures the server from another process in wall \
                              time, so its rows cannot take turns"
                    .into(),
                // Open-loop cells are judged on p99 latency: a 2 s window holds its samples.
                ..Default::default()
            },
        }
    }

    fn validate(params: &Params) -> Result<(), String> {
        let p = HttpParams::from(params);
        if p.generator == "wrk" && p.rate > 0 {
            return Err(format!(
                "generator=wrk runs a closed loop only, but rate={}; accepted with wrk: rate=0",
                p.rate
            ));
        }
        Ok(())
    }

    fn unavailable(row: &str, params: &Params) -> Option<String> {
        let p = HttpParams::from(params);
        if p.generator == "wrk" && generator::wrk_path().is_none() {
            return Some("wrk is not installed (scripts/install-references.sh installs it)".into());
        }
        if let Some(why) = reference::unavailable(row, &p) {
            return why;
        }
        if !dyno_rows::NET_ROWS.contains(&row) {
            return Some(format!(
                "row {row} is registered as an executor only (no network facet), and http serves \
                 over the row's own sockets"
            ));
        }
        None
    }

    fn fairness_notes<R: Row>() -> Vec<String> {
        dyno_rows::network_notes::<R>()
    }
}

/// The cell process is the server; dyno's load generator (or wrk) is the client on the other cores.
impl ClientServer for Http {
    fn client() -> ClientSpec {
        ClientSpec {
            name: "load generator".into(),
            thread_prefix: dyno_load::THREAD_PREFIX.into(),
        }
    }

    fn split_cores(cores: &[usize]) -> Result<CoreSplit, String> {
        if cores.len() < 2 {
            return Err(format!(
                "the http workload needs at least 2 cores, to run the server and the load generator \
                 apart; given {cores:?}"
            ));
        }
        // The server gets the larger half; the generator the rest.
        let at = cores.len().div_ceil(2);
        Ok(CoreSplit {
            row: cores[..at].to_vec(),
            client: cores[at..].to_vec(),
        })
    }

    fn remote_unavailable(row: &str, params: &Params) -> Option<String> {
        if reference::ROWS.contains(&row) {
            return Some(format!(
                "the {row} reference row listens on 127.0.0.1 only; it runs without --client-host"
            ));
        }
        (HttpParams::from(params).generator == "wrk").then(|| {
            "generator=wrk runs on this host only; with --client-host the generator is dyno's"
                .into()
        })
    }

    fn run<R: Row>(
        ctx: &RepeatCtx,
        client: &ClientCtx,
        params: &Params,
    ) -> Result<RepeatOutput, RepeatError> {
        struct Repeat<'a>(&'a RepeatCtx, &'a ClientCtx, HttpParams);
        impl dyno_rows::NetRowVisitor for Repeat<'_> {
            type Out = Result<RepeatOutput, RepeatError>;
            fn visit<N: NetRow>(self) -> Self::Out {
                run_repeat::<N>(self.0, self.1, &self.2)
            }
        }
        dyno_rows::as_net_row::<R, _>(Repeat(ctx, client, HttpParams::from(params)))?
    }

    fn serve<R: Row>(
        addr: std::net::SocketAddr,
        cfg: &dyno_core::RowConfig,
        ready: &dyn Fn(&str),
        stopped: &dyn Fn(),
    ) -> Result<(), dyno_core::ServeError> {
        struct Serve<'a>(
            std::net::SocketAddr,
            &'a dyno_core::RowConfig,
            &'a dyn Fn(&str),
            &'a dyn Fn(),
        );
        impl dyno_rows::NetRowVisitor for Serve<'_> {
            type Out = Result<(), RepeatError>;
            fn visit<N: NetRow>(self) -> Self::Out {
                let server = Server::start_at::<N>(self.1, self.0)?;
                let a = server.addr;
                (self.2)(&format!(
                    "serving the http workload on row {} at http://{a}/ ({} shard(s), cores {:?}): \
                     /plaintext, /json, /delay?ms=N, /cpu?us=N",
                    N::ID,
                    server.shards,
                    self.1.cores
                ));
                (self.3)();
                let report = server.stop()?;
                println!(
                    "stopped after {} requests on {} connections",
                    report.served, report.accepted
                );
                Ok(())
            }
        }
        Ok(dyno_rows::as_net_row::<R, _>(Serve(
            addr, cfg, ready, stopped,
        ))??)
    }
}

/// nginx and Go's net/http serve the same endpoints beside the rows, loaded the same way.
impl References for Http {
    fn reference_rows(cores: &[usize]) -> Vec<dyno_core::schema::RowInfo> {
        match Self::split_cores(cores) {
            Ok(split) => reference::row_infos(&split),
            Err(_) => vec![],
        }
    }

    fn run_reference(
        row: &str,
        ctx: &RepeatCtx,
        client: Option<&ClientCtx>,
        measured: &MeasuredProcess,
        params: &Params,
    ) -> Result<RepeatOutput, RepeatError> {
        let client = client.ok_or("the http workload's reference rows need its client")?;
        reference::run(row, ctx, client, measured, &HttpParams::from(params))
    }
}

/// The server under load: where it listens, and how to read its memory and open connections.
pub struct Target<'a> {
    pub addr: std::net::SocketAddr,
    pub rss: &'a (dyn Fn() -> Option<u64> + Sync),
    pub open: &'a (dyn Fn() -> Option<usize> + Sync),
}

/// What the generator measured in one repeat, and the server's memory around it.
pub struct Measured {
    pub out: generator::GeneratorOutput,
    /// Seconds the generator's CPU time is spread over (for its busy share).
    pub run_s: f64,
    pub rss_idle: Option<u64>,
    /// Halfway through the window: RSS and open connections.
    pub rss_loaded: Option<u64>,
    pub open: Option<usize>,
    /// When the generator's load (and its timeline) began, from the window's epoch.
    pub timeline_offset: Duration,
}

/// One repeat: start the server on the row, run the generator through the window, stop, check, record.
pub fn run_repeat<R: NetRow>(
    ctx: &RepeatCtx,
    client: &ClientCtx,
    p: &HttpParams,
) -> Result<RepeatOutput, RepeatError> {
    raise_nofile(p.connections + FD_MARGIN)?;
    // With the generator on another host, listen on the address that host reaches this one at.
    let at = match &client.remote {
        Some(r) => std::net::SocketAddr::new(r.server_ip, 0),
        None => ([127, 0, 0, 1], 0).into(),
    };
    let running = Server::start_at::<R>(&ctx.row, at)?;
    let shared = running.shared.clone();
    let target = Target {
        addr: running.addr,
        rss: &current_rss,
        open: &|| Some(shared.active.load(Ordering::Acquire)),
    };
    let measured = load(ctx, client, p, &target);
    let served = running.stop();
    record(ctx, client, p, measured?, served?)
}

/// Run the cell's generator (dyno's, or wrk) against `target` through the measured window.
pub fn load(
    ctx: &RepeatCtx,
    client: &ClientCtx,
    p: &HttpParams,
    target: &Target,
) -> Result<Measured, RepeatError> {
    let rss_idle = (target.rss)();
    let window = ctx.window;
    // A remote generator also waits for ssh: twice the round trip measured at set-up.
    let margin = SPAWN_MARGIN
        + client.remote.as_ref().map_or(Duration::ZERO, |r| {
            Duration::from_secs_f64(2.0 * r.round_trip_s)
        });
    let load_start = Instant::now() + margin;
    if window.start() < load_start {
        return Err(RepeatError::Failed(format!(
            "the warm-up is too short for the http workload: the generator needs {} ms to start{}; \
             accepted: a longer --warmup",
            margin.as_millis(),
            if client.remote.is_some() {
                " over ssh"
            } else {
                ""
            }
        )));
    }
    let timeout = p.request_timeout();
    let url = format!("http://{}{}", target.addr, p.path());
    let threads = client.cores.len().clamp(1, p.connections as usize);
    let deadline = window.end() + timeout + Duration::from_secs(5);
    std::thread::scope(|s| {
        // Memory while every connection is open: halfway through the measured window.
        let sampler = s.spawn(|| {
            let mid = window.start() + window.duration() / 2;
            std::thread::sleep(mid.saturating_duration_since(Instant::now()));
            ((target.rss)(), (target.open)())
        });
        let (out, run_s) = match p.generator.as_str() {
            "wrk" => {
                let w = generator::WrkRun {
                    url: &url,
                    connections: p.connections as usize,
                    threads,
                    cores: &client.cores,
                    timeout,
                    start: window.start(),
                    duration: window.duration(),
                };
                let out = w.run(deadline);
                // wrk's CPU is spread over its own period.
                let secs = out.as_ref().map_or(0.0, |o| o.report.duration_s);
                (out, secs)
            }
            _ => {
                let cfg = LoadConfig {
                    url: url.clone(),
                    connections: p.connections as usize,
                    duration: window.duration(),
                    threads,
                    cores: client.cores.clone(),
                    rate: (p.rate > 0).then_some(p.rate as f64),
                    schedule: None,
                    timeout,
                    warmup: window.start() - load_start,
                    start_at: Some(on_client_clock(
                        SystemTime::now() + (load_start - Instant::now()),
                        client.remote.as_ref(),
                    )),
                    limits: dyno_load::Limits::default(),
                };
                (
                    generator::run(&cfg, deadline, client.remote.as_ref()),
                    (window.end() - load_start).as_secs_f64(),
                )
            }
        };
        let (rss_loaded, open) = sampler.join().expect("the RSS sampler does not panic");
        Ok(Measured {
            out: out?,
            run_s,
            rss_idle,
            rss_loaded,
            open,
            timeline_offset: load_start.saturating_duration_since(window.start() - window.warmup()),
        })
    })
}

/// `at` (a time of this host's clock) on the clock of the host the client runs on.
fn on_client_clock(at: SystemTime, remote: Option<&dyno_core::remote::RemoteClient>) -> SystemTime {
    match remote.map(|r| r.clock_offset_s) {
        Some(off) if off >= 0.0 => at + Duration::from_secs_f64(off),
        Some(off) => at - Duration::from_secs_f64(-off),
        None => at,
    }
}

/// Check the server's count against the generator's, record the generator's measurements, and return
/// the repeat's figures.
pub fn record(
    ctx: &RepeatCtx,
    client: &ClientCtx,
    p: &HttpParams,
    m: Measured,
    served: ShardReport,
) -> Result<RepeatOutput, RepeatError> {
    let report = &m.out.report;
    if report.errors.is_empty() {
        if p.generator == "wrk" {
            // wrk stops with requests in flight and does not count their responses.
            let unread = served.served.checked_sub(report.responses_total);
            if !matches!(unread, Some(n) if n <= p.connections) {
                return Err(RepeatError::Failed(format!(
                    "the server answered {} requests but wrk counted {} (at most one in flight per connection may go uncounted)",
                    served.served, report.responses_total
                )));
            }
        } else if served.served < report.responses_total
            || served.served > report.responses_total + report.abandoned_total
        {
            // Requests given up (timed out, or their connection broken) in the warm-up are not
            // errors of the window, but the server may have answered them.
            return Err(RepeatError::Failed(format!(
                "the server answered {} requests but the generator received {} responses and gave up \
                 {} requests without one",
                served.served, report.responses_total, report.abandoned_total
            )));
        }
    }
    let hist = dyno_core::record::decode_histogram(&report.histogram).map_err(|e| e.to_string())?;
    ctx.collector
        .record_external(report.requests, &hist, &report.errors);
    ctx.collector.record_error_samples(&report.error_samples);
    ctx.collector
        .record_external_timeline(m.timeline_offset, &report.timeline);

    let mut out = RepeatOutput::new();
    let mut put = |m: &Metric, v: f64| out.set(m, v);
    put(&SERVER_REQUESTS, served.served as f64);
    put(&GENERATOR_RESPONSES, report.responses_total as f64);
    put(&CONNECTIONS_ACCEPTED, served.accepted as f64);
    put(&ACCEPT_ERRORS, served.accept_errors as f64);
    put(&CONNECTION_ERRORS, served.conn_errors as f64);
    put(&SPAWN_FAILED, served.spawn_failed as f64);
    put(&ACHIEVED_RATE, report.achieved_rate);
    if let Some(off) = report.offered_rate {
        put(&OFFERED_RATE, off);
        put(&LATE_SHARE, report.late_share.unwrap_or(0.0));
    }
    if p.generator == "wrk" {
        // wrk counts over its own period (its -d plus start-up and its 100 ms stop check).
        put(&MEASURED_DURATION, report.duration_s);
    } else if report.duration_s < ctx.window.duration().as_secs_f64() - 1e-6 {
        // dyno load started after the window opened (a slow start over ssh) and measured the rest
        // of it: its count is over that part.
        put(&MEASURED_DURATION, report.duration_s);
    }
    put(&GENERATOR_CPU, m.out.cpu_s);
    // Share of the client cores the generator kept busy over its run (1.0: saturated).
    put(
        &GENERATOR_BUSY,
        m.out.cpu_s / (m.run_s * client.cores.len().max(1) as f64),
    );
    if let Some(idle) = m.rss_idle {
        put(&RSS_IDLE, idle as f64);
        if let (Some(rss), Some(open)) = (m.rss_loaded, m.open) {
            put(&RSS_LOADED, rss as f64);
            put(&OPEN_CONNECTIONS, open as f64);
            if open > 0 {
                put(
                    &RSS_PER_CONNECTION,
                    rss.saturating_sub(idle) as f64 / open as f64,
                );
            }
        }
    }
    Ok(out)
}

/// Wait until every shard has bound; returns the shard count.
fn await_ready(
    rx: &std::sync::mpsc::Receiver<Result<usize, String>>,
    timeout: Duration,
) -> Result<usize, String> {
    let deadline = Instant::now() + timeout;
    let mut ready = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(count)) => {
                ready += 1;
                if ready == count {
                    return Ok(count);
                }
            }
            Ok(Err(why)) => return Err(why),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "the server did not become ready within {timeout:?}"
                ));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err("the server stopped before it became ready".into());
            }
        }
    }
}

/// A server running on a row, on its own thread.
pub struct Server {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: std::net::SocketAddr,
    /// Shards listening (one per core on thread-per-core rows).
    pub shards: usize,
    shared: Arc<Shared>,
    stop: async_channel::Sender<()>,
    thread: ServerThread,
}

type ServerThread =
    std::thread::JoinHandle<Result<Vec<Result<ShardReport, String>>, dyno_core::RowError>>;

impl Server {
    /// Start the service on row `R` with `cfg`'s cores on a free port of 127.0.0.1 and wait until every
    /// shard listens.
    pub fn start<R: NetRow>(cfg: &dyno_core::RowConfig) -> Result<Server, RepeatError> {
        Self::start_at::<R>(cfg, ([127, 0, 0, 1], 0).into())
    }

    /// [`Server::start`] at `at` (port 0: a free one).
    pub fn start_at<R: NetRow>(
        cfg: &dyno_core::RowConfig,
        at: std::net::SocketAddr,
    ) -> Result<Server, RepeatError> {
        let (reserved, addr) = dyno_net::reserve(at).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                format!("cannot listen on {at}: the port is taken by another process ({e})")
            } else {
                format!("cannot listen on {at}: {e}")
            }
        })?;
        let shared = Arc::new(Shared::default());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = async_channel::bounded::<()>(1);
        let cfg = cfg.clone();
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("http-server".into())
                .spawn(move || {
                    R::run(&cfg, move |shard| {
                        let ready = ready_tx.clone();
                        let (stop, shared) = (stop_rx.clone(), shared.clone());
                        server::serve::<R>(shard, addr, ready, stop, shared)
                    })
                })
                .map_err(|e| format!("cannot start the server thread: {e}"))?
        };
        let ready = await_ready(&ready_rx, READY_TIMEOUT);
        drop(reserved);
        let mut server = Server {
            addr,
            shards: 1,
            shared,
            stop,
            thread,
        };
        match ready {
            Ok(shards) => {
                server.shards = shards;
                // The ready line (stderr, so it lands in a failed cell's stderr tail).
                eprintln!("dyno-http: {} ready on {addr}, {shards} shard(s)", R::ID);
                Ok(server)
            }
            Err(why) => Err(match server.stop() {
                // A row that could not start says why better than the timeout does.
                Err(e) if e.to_string().contains("cannot start") => e,
                _ => RepeatError::Failed(why),
            }),
        }
    }

    /// Stop accepting, wait for open connections to close, and return what every shard did. A blocking
    /// accept (the `threads` row) only returns on a connection, so one wake-up connection per shard
    /// follows the signal.
    pub fn stop(self) -> Result<ShardReport, RepeatError> {
        self.shared.stop.store(true, Ordering::Release);
        drop(self.stop);
        for _ in 0..self.shards {
            let _ = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(100));
        }
        let shards = self
            .thread
            .join()
            .map_err(|p| {
                format!(
                    "the server thread panicked: {}",
                    dyno_core::row::panic_message(&*p)
                )
            })?
            .map_err(|e| e.to_string())?;
        let mut total = ShardReport::default();
        for s in shards {
            total.merge(&s?);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_needs_every_shard_and_says_why_not() {
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(Ok(2)).unwrap();
        tx.send(Ok(2)).unwrap();
        assert_eq!(await_ready(&rx, Duration::from_millis(50)), Ok(2));

        // One of two shards ready, the other silent: a timeout that says so.
        tx.send(Ok(2)).unwrap();
        let e = await_ready(&rx, Duration::from_millis(50)).unwrap_err();
        assert!(e.contains("did not become ready within"), "{e}");

        tx.send(Err("shard 1 cannot listen on 127.0.0.1:1: denied".into()))
            .unwrap();
        let e = await_ready(&rx, Duration::from_millis(50)).unwrap_err();
        assert!(e.contains("cannot listen"), "{e}");

        drop(tx);
        let e = await_ready(&rx, Duration::from_millis(50)).unwrap_err();
        assert!(e.contains("stopped before it became ready"), "{e}");
    }

    #[test]
    fn cores_split_server_first_and_need_two() {
        let s = Http::split_cores(&[0, 1]).unwrap();
        assert_eq!((s.row, s.client), (vec![0], vec![1]));
        let s = Http::split_cores(&[0, 1, 2, 3, 4]).unwrap();
        assert_eq!((s.row, s.client), (vec![0, 1, 2], vec![3, 4]));
        let e = Http::split_cores(&[3]).unwrap_err();
        assert!(e.contains("at least 2 cores"), "{e}");
    }
}
