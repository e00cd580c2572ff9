//! `dyno-load` (run as `dyno load`): HTTP/1.1 load against any server, closed loop (like wrk) or open loop
//! at a rate (like wrk2), printing throughput, latency percentiles and errors.

use clap::Parser;
use dyno_core::cli::{CoreList, parse_cores, parse_seconds};
use dyno_core::human::{ns, si};
use std::process::ExitCode;
use std::time::Duration;

/// HTTP/1.1 load against any server: closed loop (like wrk) or open loop at a rate (like wrk2).
#[derive(Parser)]
#[command(name = "dyno load", version)]
struct LoadArgs {
    /// Target, e.g. http://127.0.0.1:8080/plaintext.
    url: String,
    /// Keep-alive connections.
    #[arg(short, long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    connections: u64,
    /// Test duration in seconds (e.g. 10, 500ms).
    #[arg(short, long, default_value = "10", value_parser = parse_seconds, allow_hyphen_values = true)]
    duration: f64,
    /// Client threads, one current-thread runtime each.
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: u64,
    /// Offered rate in requests per second (open loop, latency from intended send times), constant or
    /// a schedule: steps `10k:5s,50k:5s`, a spike `spike:5k:10:4s:2s` (5k, ×10 from 4 s for 2 s, 5k
    /// again), a ramp `ramp:1k:50k:10s`. A schedule's figures are also given per phase.
    #[arg(short = 'R', long, value_parser = dyno_load::Schedule::parse)]
    rate: Option<dyno_load::Schedule>,
    /// Pin client threads to these cores, e.g. 0 or 0-1.
    #[arg(long, value_parser = parse_cores)]
    cores: Option<CoreList>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value = "2", value_parser = parse_seconds)]
    timeout: f64,
    /// Most bytes of a response's status line and headers; past it the response is a `head_too_large`
    /// error.
    #[arg(long, default_value_t = dyno_load::MAX_HEAD_BYTES as u64, value_parser = clap::value_parser!(u64).range(64..=1 << 30))]
    max_head: u64,
    /// Most bytes of a response's body (declared or received; bodies are counted and discarded, never
    /// buffered); past it the response is a `body_too_large` error.
    #[arg(long, default_value_t = dyno_load::MAX_BODY_BYTES, value_parser = clap::value_parser!(u64).range(0..))]
    max_body: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Why a load run failed: what the user asked for (exit code 2), or the run itself (exit code 1).
enum Failure {
    Usage(String),
    Run(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Run(e.into())
    }
}

fn load(a: &LoadArgs) -> Result<(), Failure> {
    let cfg = dyno_load::LoadConfig {
        url: a.url.clone(),
        connections: a.connections as usize,
        duration: Duration::from_secs_f64(a.duration),
        threads: a.threads as usize,
        cores: a.cores.clone().map(|c| c.0).unwrap_or_default(),
        rate: None,
        schedule: a.rate.clone(),
        timeout: Duration::from_secs_f64(a.timeout),
        warmup: Duration::ZERO,
        start_at: None,
        limits: dyno_load::Limits {
            max_head_bytes: a.max_head as usize,
            max_body_bytes: a.max_body,
        },
    };
    let r = dyno_load::run(&cfg).map_err(|e| match e {
        dyno_load::LoadError::Url { .. } | dyno_load::LoadError::Setting(_) => {
            Failure::Usage(e.to_string())
        }
        e => Failure::Run(e.into()),
    })?;
    let failed: u64 = r.errors.values().sum();
    let all_failed = r.requests == 0 && failed > 0;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return if all_failed {
            Err(Failure::Run(anyhow::anyhow!(every_request_failed(&r))))
        } else {
            Ok(())
        };
    }
    let l = r.latency_ns;
    println!(
        "{} ({} loop): {} connections, {} thread(s), {:.1} s",
        r.url, r.mode, r.connections, r.threads, r.duration_s
    );
    println!(
        "  {} requests, {} req/s; latency p50 {} p90 {} p99 {} p99.9 {} max {}",
        r.requests,
        si(r.throughput_ops_s),
        ns(l.p50),
        ns(l.p90),
        ns(l.p99),
        ns(l.p999),
        ns(l.max)
    );
    if let Some(off) = r.offered_rate {
        println!(
            "  offered {} req/s, achieved {} req/s, {:.1}% of sends late",
            si(off),
            si(r.achieved_rate),
            r.late_share.unwrap_or(0.0) * 100.0
        );
    }
    for p in &r.phases {
        println!(
            "  phase {:.1}-{:.1} s: offered {} req/s, {} req/s ok, {} errors; p50 {} p99 {}",
            p.from_s,
            p.to_s,
            si(p.offered_rate),
            si(p.throughput_ops_s),
            p.errors,
            ns(p.latency_ns.p50),
            ns(p.latency_ns.p99)
        );
    }
    for (kind, n) in &r.errors {
        match r.error_samples.get(kind) {
            Some(sample) => println!("  error {kind}: {n} (e.g. {sample})"),
            None => println!("  error {kind}: {n}"),
        }
    }
    if all_failed {
        return Err(Failure::Run(anyhow::anyhow!(every_request_failed(&r))));
    }
    Ok(())
}

/// One line for a run in which no request succeeded: how many failed, and the commonest failure.
fn every_request_failed(r: &dyno_load::LoadReport) -> String {
    let failed: u64 = r.errors.values().sum();
    let (kind, n) = r
        .errors
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(k, n)| (k.as_str(), *n))
        .unwrap_or(("none", 0));
    let sample = r.error_samples.get(kind).map(String::as_str).unwrap_or("");
    format!("every request failed ({failed}); most were {kind} ({n}): {sample}")
}

fn main() -> ExitCode {
    match load(&LoadArgs::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(u)) => {
            eprintln!("error: {u}");
            ExitCode::from(2)
        }
        Err(Failure::Run(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
