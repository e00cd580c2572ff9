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
    /// Client threads, one current-thread runtime each [default: 1].
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: u64,
    /// Offered rate in requests per second (open loop, latency from intended send times).
    #[arg(short = 'R', long)]
    rate: Option<f64>,
    /// Pin client threads to these cores, e.g. 0 or 0-1.
    #[arg(long, value_parser = parse_cores)]
    cores: Option<CoreList>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value = "2", value_parser = parse_seconds)]
    timeout: f64,
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
        rate: a.rate,
        timeout: Duration::from_secs_f64(a.timeout),
        warmup: Duration::ZERO,
        start_at: None,
    };
    let r = dyno_load::run(&cfg).map_err(|e| match e {
        dyno_load::LoadError::Url { .. } | dyno_load::LoadError::Setting(_) => {
            Failure::Usage(e.to_string())
        }
        e => Failure::Run(e.into()),
    })?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
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
    if !r.errors.is_empty() {
        println!("  errors: {:?}", r.errors);
    }
    Ok(())
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
