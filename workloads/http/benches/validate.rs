//! Validation of dyno's load generator against tools that are not dyno's, in one interleaved run on the
//! same cores (`cargo xtask validate` runs it into `<run>/validation/http.json`):
//!
//! - **generator against wrk**: dyno load and wrk, each in its own process on the client core, take turns
//!   against dyno's hyper server (tokio row, 20 µs of CPU per request) on the server core, which either
//!   generator can saturate from one core, so both measure the server; their throughputs are paired by round (target: within
//!   10%) and their requests per generator CPU-second shown side by side.
//! - **generator capacity against wrk**: the same turns against nginx, which outserves either generator:
//!   each then measures its own capacity (target: dyno load's requests per CPU-second at least 90% of
//!   wrk's; faster is not an error of measurement, which is why this is not the check above).
//! - **known delay**: a Python asyncio server that answers after a fixed sleep (`scripts/validate/
//!   delay_server.py`) is loaded at one request spacing by dyno load (open loop) and by an independent
//!   minimal Python client (`scripts/validate/paced_client.py`); target: their p50 within 10%.
//! - **known count**: that server's own request counter against the responses dyno load received, in
//!   open and closed loop; target: equal.
//!
//! `cargo bench -p dyno-http --bench validate [-- --quick --out F]`; a check whose tool is absent is
//! recorded as skipped with the reason. Exits 1 when a check fails.

use dyno_core::estimate::median;
use dyno_core::os::{allowed_cores, confine_process};
use dyno_core::rundir::{Check, Outcome, ValidationDoc};
use dyno_core::stats::Estimate;
use dyno_http::generator::{self, GeneratorOutput, WrkRun};
use dyno_load::LoadConfig;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Throughput of the two generators against one server: the most their paired ratio may differ from 1.
const GENERATOR_TOLERANCE: f64 = 0.10;
/// Median latency of dyno load and the independent client under a known delay: the most their ratio may
/// differ from 1.
const DELAY_TOLERANCE: f64 = 0.10;
/// The known server's delay: long against loopback and Python overheads (tens of µs), short enough
/// for many requests per second.
const DELAY_MS: u64 = 20;
/// Offered rate and connections of the known-delay check: each connection sends every
/// `CONNECTIONS / RATE` = 80 ms, so requests never queue behind the 20 ms delay.
const DELAY_RATE: f64 = 200.0;
const DELAY_CONNECTIONS: usize = 16;
/// Connections of the generator-against-wrk check (the http workload's default).
const WRK_CONNECTIONS: usize = 64;

struct Opts {
    quick: bool,
    out: Option<PathBuf>,
}

impl Opts {
    fn parse() -> Opts {
        let args = dyno_core::bench::BenchArgs::from_env().unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2)
        });
        Opts {
            quick: args.quick,
            out: args.out,
        }
    }
    /// (rounds, seconds per measurement): short turns, many of them, so a change of the shared
    /// machine's speed lands inside few rounds (one such switch in a 3 s turn made one round's ratio
    /// 1.57 while the others were within 7%); wrk runs whole seconds.
    fn rounds(&self) -> (usize, u64) {
        if self.quick { (5, 1) } else { (12, 1) }
    }
}

fn main() -> std::process::ExitCode {
    let o = Opts::parse();
    let cores = allowed_cores();
    let checks = if cores.len() < 2 {
        let why = format!("needs 2 cores (server and client apart), have {cores:?}");
        [
            "generator against wrk",
            "generator capacity against wrk",
            "known delay",
            "known count",
        ]
        .into_iter()
        .map(|n| skipped(n, "", &why))
        .collect()
    } else {
        // The generator runs as `dyno-cell-http generate`, beside this bench's directory.
        if std::env::var_os(generator::PROGRAM_VAR).is_none() {
            let cell = dyno_core::bench::sibling_binary("dyno-cell-http").unwrap_or_else(|e| {
                eprintln!("error: {e}");
                std::process::exit(1)
            });
            // SAFETY: set before any thread of this process starts.
            unsafe { std::env::set_var(generator::PROGRAM_VAR, cell) };
        }
        let (server, client) = (cores[0], cores[1]);
        let mut checks = vec![
            generator_against_wrk(&o, server, client),
            generator_capacity_against_wrk(&o, server, client),
        ];
        checks.extend(known_delay_and_count(&o, server, client));
        checks
    };
    let doc = ValidationDoc {
        commit: dyno_core::bench::commit(),
        quick: o.quick,
        checks,
    };
    doc.finish(o.out.as_deref())
}

fn skipped(name: &str, target: &str, why: &str) -> Check {
    Check {
        name: name.into(),
        target: target.into(),
        figures: format!("skipped: {why}"),
        outcome: Outcome::Skipped,
    }
}

fn judged(name: &str, target: &str, figures: String, pass: bool) -> Check {
    Check {
        name: name.into(),
        target: target.into(),
        figures,
        outcome: if pass { Outcome::Pass } else { Outcome::Fail },
    }
}

/// The generator's requests and its CPU-seconds.
fn per_cpu(runs: &[GeneratorOutput]) -> f64 {
    let requests: u64 = runs.iter().map(|r| r.report.requests).sum();
    let cpu: f64 = runs.iter().map(|r| r.cpu_s).sum();
    requests as f64 / cpu.max(f64::MIN_POSITIVE)
}

/// The server-bound server of the generator check: dyno's hyper server on the tokio row, one core,
/// answering `/cpu?us=BOUND_CPU_US`. On plaintext it serves as much as either generator sends from one
/// core (both ran at one CPU-second per second against it here); 20 µs of CPU per request caps it near
/// a third of that, so both generators measure the server.
const BOUND_ROW: &str = "tokio";
const BOUND_CPU_US: u64 = 20;

/// dyno load's and wrk's runs against one server, taking turns round by round.
struct Turns {
    ours: Vec<GeneratorOutput>,
    theirs: Vec<GeneratorOutput>,
}

impl Turns {
    /// `rounds` turns of each generator (one thread on `client`, [`WRK_CONNECTIONS`] connections,
    /// closed loop), alternating which goes first so drift does not favour one.
    fn take(o: &Opts, url: &str, client: usize, what: &str) -> Result<Turns, String> {
        let (rounds, secs) = o.rounds();
        let duration = Duration::from_secs(secs);
        let deadline = || Instant::now() + duration + Duration::from_secs(30);
        let dyno = || {
            let mut cfg = LoadConfig::closed(url, WRK_CONNECTIONS, duration);
            cfg.cores = vec![client];
            generator::run(&cfg, deadline(), None)
        };
        let wrk_run = || {
            WrkRun {
                url,
                connections: WRK_CONNECTIONS,
                threads: 1,
                cores: &[client],
                timeout: Duration::from_secs(2),
                start: Instant::now(),
                duration,
            }
            .run(deadline())
        };
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let (a, b) = if round % 2 == 0 {
                let a = dyno();
                (a, wrk_run())
            } else {
                let b = wrk_run();
                (dyno(), b)
            };
            let (a, b) = (
                a.map_err(|e| format!("round {}: {e}", round + 1))?,
                b.map_err(|e| format!("round {}: {e}", round + 1))?,
            );
            eprintln!(
                "{what} round {}: dyno load {:.0} req/s, wrk {:.0} req/s",
                round + 1,
                a.report.throughput_ops_s,
                b.report.throughput_ops_s
            );
            ours.push(a);
            theirs.push(b);
        }
        Ok(Turns { ours, theirs })
    }

    /// dyno load's throughput over wrk's, round by round.
    fn ratios(&self) -> Vec<f64> {
        self.ours
            .iter()
            .zip(&self.theirs)
            .map(|(a, b)| a.report.throughput_ops_s / b.report.throughput_ops_s)
            .collect()
    }

    fn errors(&self) -> u64 {
        self.ours
            .iter()
            .chain(&self.theirs)
            .map(|g| g.report.errors.values().sum::<u64>())
            .sum()
    }

    /// The figures both checks print: the paired ratio (median round, geometric mean and its
    /// interval), throughputs, requests per generator CPU-second and the share of its core each
    /// generator used.
    fn figures(&self, o: &Opts) -> Result<String, String> {
        let (rounds, secs) = o.rounds();
        let ratios = self.ratios();
        let r =
            Estimate::of_ratios(&ratios).ok_or_else(|| format!("no usable ratio: {ratios:?}"))?;
        let mean = |v: &[GeneratorOutput]| {
            v.iter().map(|g| g.report.throughput_ops_s).sum::<f64>() / v.len() as f64
        };
        let busy = |v: &[GeneratorOutput]| {
            v.iter().map(|g| g.cpu_s).sum::<f64>() / (v.len() as u64 * secs) as f64
        };
        let off = ratios
            .iter()
            .filter(|x| (*x - 1.0).abs() > GENERATOR_TOLERANCE)
            .count();
        Ok(format!(
            "dyno load / wrk: median round {:.3}, geometric mean {:.3} [{:.3}, {:.3}] over {rounds} rounds \
             of {secs} s ({off} round(s) beyond ±{:.0}%; dyno load {:.0} req/s, wrk {:.0} req/s, {} \
             errors); requests per generator CPU-second: dyno load {:.0}, wrk {:.0}; generator CPU per \
             second of window: dyno load {:.2}, wrk {:.2}",
            median(&ratios),
            r.mean,
            r.ci95_low,
            r.ci95_high,
            GENERATOR_TOLERANCE * 100.0,
            mean(&self.ours),
            mean(&self.theirs),
            self.errors(),
            per_cpu(&self.ours),
            per_cpu(&self.theirs),
            busy(&self.ours),
            busy(&self.theirs),
        ))
    }
}

/// dyno's server (`dyno-cell-http serve`) on one row and core; killed when dropped.
struct RowServer(Child);

impl RowServer {
    fn start(row: &str, addr: std::net::SocketAddr, core: usize) -> Result<RowServer, String> {
        let bin = std::env::var_os(generator::PROGRAM_VAR).expect("set in main");
        let mut child = Command::new(bin)
            .args(["serve", "--row", row, "--addr", &addr.to_string()])
            .args(["--cores", &core.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start dyno's server on {row}: {e}"))?;
        // It prints a line once it listens.
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        let read = std::io::BufReader::new(stdout).read_line(&mut line);
        if read.is_err() || line.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("dyno's server on {row} did not start ({read:?})"));
        }
        Ok(RowServer(child))
    }
}

impl Drop for RowServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The two generators against dyno's own server on one core, which either of them can saturate from one
/// core of its own: both then measure the server, and their throughputs must agree.
fn generator_against_wrk(o: &Opts, server: usize, client: usize) -> Check {
    const NAME: &str = "generator against wrk";
    let target = format!(
        "dyno load's throughput within {:.0}% of wrk's against a server either can saturate (dyno's \
         hyper server, {BOUND_ROW} row, {BOUND_CPU_US} µs of CPU per request), paired by round",
        GENERATOR_TOLERANCE * 100.0
    );
    if generator::wrk_path().is_none() {
        return skipped(
            NAME,
            &target,
            "wrk is not installed (scripts/install-references.sh installs it)",
        );
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _server = match RowServer::start(BOUND_ROW, addr, server) {
        Ok(s) => s,
        Err(e) => return judged(NAME, &target, e, false),
    };
    let url = format!("http://{addr}/cpu?us={BOUND_CPU_US}");
    let (turns, figures) = match Turns::take(o, &url, client, "server-bound")
        .and_then(|t| t.figures(o).map(|f| (t, f)))
    {
        Ok(x) => x,
        Err(e) => return judged(NAME, &target, e, false),
    };
    // Judged on the median round: robust to the round in which the machine changed speed between the
    // two turns (the mean and its interval are shown too).
    let med = median(&turns.ratios());
    let pass = (med - 1.0).abs() <= GENERATOR_TOLERANCE && turns.errors() == 0;
    let figures = format!(
        "{figures}; dyno's server ({BOUND_ROW}) on core {server}, generators one thread on core \
         {client}, {WRK_CONNECTIONS} connections"
    );
    judged(NAME, &target, figures, pass)
}

/// The two generators against nginx, which outserves either from one core: each then measures its own
/// capacity, and dyno load must not be the weaker instrument (it bounds what any row can be shown to do).
fn generator_capacity_against_wrk(o: &Opts, server: usize, client: usize) -> Check {
    const NAME: &str = "generator capacity against wrk";
    let target = format!(
        "dyno load's requests per CPU-second at least {:.0}% of wrk's, both saturating their core against \
         nginx",
        (1.0 - GENERATOR_TOLERANCE) * 100.0
    );
    let (Some(_), Some(_)) = (generator::wrk_path(), dyno_http::nginx::path()) else {
        return skipped(
            NAME,
            &target,
            "nginx or wrk is not installed (scripts/install-references.sh installs them)",
        );
    };
    let port = free_port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let _nginx = match dyno_http::reference::Server::start::<dyno_http::nginx::Nginx>(
        addr,
        WRK_CONNECTIONS as u64,
        &[server],
    ) {
        Ok(n) => n,
        Err(e) => return judged(NAME, &target, format!("nginx did not start: {e}"), false),
    };
    let url = format!("http://127.0.0.1:{port}/plaintext");
    let (turns, figures) =
        match Turns::take(o, &url, client, "nginx").and_then(|t| t.figures(o).map(|f| (t, f))) {
            Ok(x) => x,
            Err(e) => return judged(NAME, &target, e, false),
        };
    let capacity = per_cpu(&turns.ours) / per_cpu(&turns.theirs);
    let pass = capacity >= 1.0 - GENERATOR_TOLERANCE && turns.errors() == 0;
    let figures = format!(
        "capacity dyno load / wrk {capacity:.3}; {figures}; nginx on core {server}, generators one \
         thread on core {client}, {WRK_CONNECTIONS} connections"
    );
    judged(NAME, &target, figures, pass)
}

/// A port free at the time of asking.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// The Python delay server, killed on drop.
struct DelayServer {
    child: Child,
    port: u16,
}

impl DelayServer {
    fn start(script: &Path, core: usize) -> Result<DelayServer, String> {
        let port = free_port();
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .arg(port.to_string())
            .arg(DELAY_MS.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // SAFETY: only sched_setaffinity runs between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || confine_process(&[core]).map_err(std::io::Error::other));
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start python3 {}: {e}", script.display()))?;
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("the delay server did not start: {e}"))?;
        if line.trim() != "listening" {
            let _ = child.kill();
            return Err(format!("the delay server did not start (printed {line:?})"));
        }
        Ok(DelayServer { child, port })
    }

    /// GET `path` on a fresh connection; the body.
    fn get(&self, path: &str) -> Result<String, String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|e| format!("cannot reach the delay server: {e}"))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .map_err(|e| e.to_string())?;
        let mut text = String::new();
        s.read_to_string(&mut text).map_err(|e| e.to_string())?;
        text.split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .ok_or_else(|| format!("the delay server answered {text:?}"))
    }

    fn count(&self) -> Result<u64, String> {
        let body = self.get("/count")?;
        body.trim()
            .parse()
            .map_err(|_| format!("the delay server's count is {body:?}"))
    }
}

impl Drop for DelayServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The paced Python client's report.
#[derive(serde::Deserialize)]
struct Paced {
    requests: u64,
    errors: u64,
    #[serde(default)]
    p50_ns: u64,
}

fn paced_client(script: &Path, port: u16, secs: u64, core: usize) -> Result<Paced, String> {
    let mut cmd = Command::new("python3");
    cmd.arg(script).args([
        "127.0.0.1".to_string(),
        port.to_string(),
        "/delay".into(),
        DELAY_RATE.to_string(),
        secs.to_string(),
        DELAY_CONNECTIONS.to_string(),
    ]);
    // SAFETY: only sched_setaffinity runs between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || confine_process(&[core]).map_err(std::io::Error::other));
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run python3 {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "the paced client failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "the paced client printed {:?}: {e}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The scripts under `scripts/validate/` of the workspace this bench runs in (found at run time: a
/// binary built in another checkout that shares the target directory must not use that checkout's).
fn script(name: &str) -> PathBuf {
    match dyno_core::workspace::Workspace::read(None) {
        Ok(ws) => ws.root.join("scripts/validate").join(name),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1)
        }
    }
}

fn known_delay_and_count(o: &Opts, server: usize, client: usize) -> Vec<Check> {
    const DELAY: &str = "known delay";
    const COUNT: &str = "known count";
    let delay_target = format!(
        "p50 of dyno load (open loop) and of an independent Python client at the same spacing within {:.0}% \
         of each other, against a Python server answering after {DELAY_MS} ms",
        DELAY_TOLERANCE * 100.0
    );
    let count_target = "the server's own request count equals the responses dyno load received (open and closed loop)";
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !python {
        let why = "python3 is not installed (the known server and client are Python scripts)";
        return vec![
            skipped(DELAY, &delay_target, why),
            skipped(COUNT, count_target, why),
        ];
    }
    let server = match DelayServer::start(&script("delay_server.py"), server) {
        Ok(s) => s,
        Err(e) => {
            return vec![
                judged(DELAY, &delay_target, e.clone(), false),
                judged(COUNT, count_target, e, false),
            ];
        }
    };
    let (rounds, secs) = o.rounds();
    let duration = Duration::from_secs(secs);
    let url = format!("http://127.0.0.1:{}/delay", server.port);
    let mut ratios = Vec::new();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut counts: Vec<(String, u64, u64)> = Vec::new();
    let mut failure = None;
    // One dyno load run; its responses are counted against the server's counter.
    let dyno = |rate: Option<f64>, counts: &mut Vec<(String, u64, u64)>| {
        server.get("/reset")?;
        let mut cfg = LoadConfig::closed(&url, DELAY_CONNECTIONS, duration);
        cfg.rate = rate;
        cfg.cores = vec![client];
        let g = generator::run(
            &cfg,
            Instant::now() + duration + Duration::from_secs(30),
            None,
        )
        .map_err(|e| e.to_string())?;
        let served = server.count()?;
        counts.push((g.report.mode.clone(), served, g.report.responses_total));
        Ok::<_, String>(g.report)
    };
    for round in 0..rounds {
        let step = (|| {
            let paced = || paced_client(&script("paced_client.py"), server.port, secs, client);
            let (a, b) = if round % 2 == 0 {
                let a = dyno(Some(DELAY_RATE), &mut counts)?;
                (a, paced()?)
            } else {
                let b = paced()?;
                (dyno(Some(DELAY_RATE), &mut counts)?, b)
            };
            if b.errors > 0 || b.requests == 0 {
                return Err(format!(
                    "the paced client had {} errors in {} requests",
                    b.errors, b.requests
                ));
            }
            eprintln!(
                "round {}: p50 dyno load {:.2} ms, paced client {:.2} ms",
                round + 1,
                a.latency_ns.p50 as f64 / 1e6,
                b.p50_ns as f64 / 1e6
            );
            ratios.push(a.latency_ns.p50 as f64 / b.p50_ns as f64);
            ours.push(a.latency_ns.p50 as f64 / 1e6);
            theirs.push(b.p50_ns as f64 / 1e6);
            // Closed loop too: every connection has a request in flight when the test ends.
            dyno(None, &mut counts)?;
            Ok(())
        })();
        if let Err(e) = step {
            failure = Some(format!("round {}: {e}", round + 1));
            break;
        }
    }
    if let Some(e) = failure {
        return vec![
            judged(DELAY, &delay_target, e.clone(), false),
            judged(COUNT, count_target, e, false),
        ];
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let med = median(&ratios);
    let delay = match Estimate::of_ratios(&ratios) {
        Some(r) => judged(
            DELAY,
            &delay_target,
            format!(
                "p50 dyno load / paced client: median round {med:.3}, geometric mean {:.3} [{:.3}, {:.3}] over \
                 {rounds} rounds of {secs} s \
                 (dyno load {:.2} ms, paced client {:.2} ms, known delay {DELAY_MS} ms; {DELAY_RATE} req/s \
                 over {DELAY_CONNECTIONS} connections; server on core {}, clients on core {client})",
                r.mean,
                r.ci95_low,
                r.ci95_high,
                mean(&ours),
                mean(&theirs),
                server_core_of(&server),
            ),
            (med - 1.0).abs() <= DELAY_TOLERANCE,
        ),
        None => judged(
            DELAY,
            &delay_target,
            format!("no usable ratio: {ratios:?}"),
            false,
        ),
    };
    let off: Vec<String> = counts
        .iter()
        .filter(|(_, served, got)| served != got)
        .map(|(mode, served, got)| format!("{mode} loop: server {served}, dyno load {got}"))
        .collect();
    let total: u64 = counts.iter().map(|c| c.1).sum();
    let count = judged(
        COUNT,
        count_target,
        if off.is_empty() {
            format!(
                "equal in all {} runs ({total} requests counted by the server)",
                counts.len()
            )
        } else {
            format!(
                "{} of {} runs differ: {}",
                off.len(),
                counts.len(),
                off.join("; ")
            )
        },
        off.is_empty(),
    );
    vec![delay, count]
}

/// The core the delay server was pinned to, for the figures (read back from the kernel).
fn server_core_of(s: &DelayServer) -> String {
    std::fs::read_to_string(format!("/proc/{}/status", s.child.id()))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}
