//! `dyno`: the driver. `dyno list` shows workloads, rows and default matrices; `dyno run` plans a matrix,
//! runs every cell in its own process and writes the result files (see DESIGN.md's result contract);
//! `dyno overhead` measures what observing the cells costs them.

mod child;
mod discover;
mod host;
mod overhead;
mod profile;
mod report;
mod run;
mod sampler;
mod summarize;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// A mistake in what the user asked for: reported in one line, exit code 2, nothing written.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

#[derive(Parser)]
#[command(
    name = "dyno",
    version,
    about = "A dynamometer for Rust async runtimes"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List workloads, their parameters and default matrices, and the runtime rows.
    List(CommonArgs),
    /// Run a matrix of cells and write results/runs/<run-id>/.
    Run(Box<RunArgs>),
    /// Turn a run into the mdBook report and build it.
    Report(ReportArgs),
    /// Compare two runs cell by cell (terminal table and a book page).
    Compare(CompareArgs),
    /// Draw a differential flamegraph of two profiled cells (of one run or two).
    Diff(DiffArgs),
    /// Measure what the sampler and the profiler cost a matrix's cells, in interleaved rounds.
    Overhead(Box<overhead::OverheadArgs>),
    /// HTTP/1.1 load against any server: closed loop (like wrk) or open loop at a rate (like wrk2).
    Load(LoadArgs),
}

#[derive(clap::Args, Clone)]
pub struct LoadArgs {
    /// Target, e.g. http://127.0.0.1:8080/plaintext.
    pub url: String,
    /// Keep-alive connections.
    #[arg(short, long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub connections: u64,
    /// Test duration in seconds (e.g. 10, 500ms).
    #[arg(short, long, default_value = "10", value_parser = parse_seconds, allow_hyphen_values = true)]
    pub duration: f64,
    /// Client threads, one current-thread runtime each [default: 1].
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: u64,
    /// Offered rate in requests per second (open loop, latency from intended send times).
    #[arg(short = 'R', long)]
    pub rate: Option<f64>,
    /// Pin client threads to these cores, e.g. 0 or 0-1.
    #[arg(long, value_parser = parse_cores)]
    pub cores: Option<CoreList>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value = "2", value_parser = parse_seconds)]
    pub timeout: f64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Clone)]
pub struct DiffArgs {
    #[command(flatten)]
    pub dirs: BookArgs,
    /// Run holding the baseline cell (id, `reference` or `latest`).
    #[arg(long, default_value = "latest")]
    pub run: String,
    /// Run holding the compared cell [default: the same as --run].
    #[arg(long)]
    pub against_run: Option<String>,
    /// The baseline cell id (e.g. fanout--tokio--channel=...).
    pub before: String,
    /// The compared cell id.
    pub after: String,
    /// Where to write the SVG.
    #[arg(short, long, default_value = "diff.svg")]
    pub output: PathBuf,
}

#[derive(clap::Args, Clone)]
pub struct BookArgs {
    /// Results directory (holds runs/, reference/ and latest).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// The book's root (holds book.toml and src/).
    #[arg(long, default_value = "mdbook")]
    pub book: PathBuf,
}

#[derive(clap::Args, Clone)]
pub struct ReportArgs {
    #[command(flatten)]
    pub dirs: BookArgs,
    /// Run id under results/runs, `reference` for the committed reference run, or `latest`.
    #[arg(long, default_value = "latest")]
    pub run: String,
}

#[derive(clap::Args, Clone)]
pub struct CompareArgs {
    #[command(flatten)]
    pub dirs: BookArgs,
    /// The baseline run (id, `reference` or `latest`).
    pub before: String,
    /// The run compared with it (id, `reference` or `latest`).
    pub after: String,
}

#[derive(clap::Args, Clone)]
pub struct CommonArgs {
    /// Directory holding the workloads' cell binaries [default: the directory of this dyno binary].
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ProfileArg {
    /// Smoke profile: small matrix, short windows, one repeat.
    Quick,
    /// The default matrix, three repeats.
    Full,
}

#[derive(clap::Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Which default matrix to start from.
    #[arg(long, value_enum, default_value = "full")]
    pub profile: ProfileArg,
    /// Only these workloads (comma-separated or repeated).
    #[arg(short, long = "workload", value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// Only these runtime rows (comma-separated or repeated).
    #[arg(short, long = "runtime", value_delimiter = ',')]
    pub runtimes: Vec<String>,
    /// Override a parameter's values: NAME=VALUE[,VALUE...] (repeatable).
    #[arg(short, long = "param")]
    pub params: Vec<String>,
    /// Measured window per repeat, in seconds (e.g. 3, 0.5, 500ms) [quick: 1 s, full: 3 s].
    #[arg(long, value_parser = parse_seconds, allow_hyphen_values = true)]
    pub duration: Option<f64>,
    /// Warm-up before each measured window, in seconds [quick: 0.3 s, full: 1 s].
    #[arg(long, value_parser = parse_seconds_or_zero, allow_hyphen_values = true)]
    pub warmup: Option<f64>,
    /// Measured repeats per cell [quick: 1, full: 3].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub repeat: Option<u64>,
    /// Cores the cells may use, e.g. 0,1 or 0-3 [default: every core this process may use].
    #[arg(long, value_parser = parse_cores)]
    pub cores: Option<CoreList>,
    /// Per-cell timeout in seconds [default: 60 s plus three times the cell's planned time].
    #[arg(long, value_parser = parse_seconds, allow_hyphen_values = true)]
    pub timeout: Option<f64>,
    /// Finish an interrupted run: only its missing cells run, with its original settings.
    #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["workloads", "runtimes", "params", "duration", "warmup", "repeat", "cores", "profile"])]
    pub resume: Option<String>,
    /// Results directory (holds runs/ and latest).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Do not sample CPU and RSS over time (to measure the sampler's own cost).
    #[arg(long, conflicts_with = "resume")]
    pub no_sampler: bool,
    /// Do not run the extra profiled repeat (no flamegraphs).
    #[arg(long, conflicts_with = "resume")]
    pub no_profile: bool,
    /// Profiler for the extra repeat: auto (perf where present, else pprof), perf, pprof.
    #[arg(long, default_value = "auto", conflicts_with_all = ["resume", "no_profile"])]
    pub profiler: dyno_core::schema::ProfilerChoice,
}

fn parse_seconds_or_zero(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| {
        format!("{s:?} is not a duration; accepted: seconds like 3, 0.5, 2s or 500ms")
    })?;
    let v = v * scale;
    if !v.is_finite() || v < 0.0 {
        return Err(format!(
            "{s:?} is not a duration; accepted: a non-negative number of seconds"
        ));
    }
    Ok(v)
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v = parse_seconds_or_zero(s)?;
    if v <= 0.0 {
        return Err(format!("{s:?} must be greater than zero"));
    }
    Ok(v)
}

/// A list of logical CPU ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreList(pub Vec<usize>);

fn parse_cores(s: &str) -> Result<CoreList, String> {
    let bad = || {
        format!(
            "{s:?} is not a core list; accepted: comma-separated ids or ranges, e.g. 0,1 or 0-3"
        )
    };
    let mut cores = Vec::new();
    for part in s.split(',') {
        match part.trim().split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b {
                    return Err(bad());
                }
                cores.extend(a..=b);
            }
            None => cores.push(part.trim().parse().map_err(|_| bad())?),
        }
    }
    let mut seen = cores.clone();
    seen.sort();
    seen.dedup();
    if seen.len() != cores.len() {
        return Err(format!("{s:?} names a core twice"));
    }
    Ok(CoreList(cores))
}

impl CommonArgs {
    /// Where the cell binaries are.
    pub fn bin_dir(&self) -> Result<PathBuf> {
        match &self.bin_dir {
            Some(d) => Ok(d.clone()),
            None => Ok(std::env::current_exe()
                .context("cannot locate the dyno binary")?
                .parent()
                .context("the dyno binary has no directory")?
                .to_path_buf()),
        }
    }
}

fn list(args: &CommonArgs) -> Result<()> {
    let (_, workloads) = discover::workloads(&args.bin_dir()?)?;
    let cores = dyno_core::os::allowed_cores();
    let mut rows_printed = false;
    for w in &workloads {
        let spec = w.describe()?;
        if !rows_printed {
            println!("rows (on cores {}):", discover::join(&cores));
            for r in w.rows(&cores)? {
                println!("  {:<10} {} [{}]", r.id, r.fairness.model, r.fairness.io);
            }
            rows_printed = true;
        }
        println!(
            "\nworkload {}: {} (one op = one of {})",
            spec.name, spec.about, spec.ops_unit
        );
        for p in &spec.params {
            println!(
                "  --param {}=...  {} (accepted: {})",
                p.name,
                p.help,
                p.accepted()
            );
        }
        for (profile, groups) in [("quick", &spec.quick), ("full", &spec.full)] {
            let cells = w.plan(profile, &[])?;
            println!(
                "  {profile} matrix: {} parameter sets per row, from {} group(s)",
                cells.len(),
                groups.len()
            );
        }
    }
    if workloads.is_empty() {
        println!("no workloads found under workloads/");
    }
    Ok(())
}

fn load(a: &LoadArgs) -> Result<()> {
    let cfg = dyno_load::LoadConfig {
        url: a.url.clone(),
        connections: a.connections as usize,
        duration: std::time::Duration::from_secs_f64(a.duration),
        threads: a.threads as usize,
        cores: a.cores.clone().map(|c| c.0).unwrap_or_default(),
        rate: a.rate,
        timeout: std::time::Duration::from_secs_f64(a.timeout),
        warmup: std::time::Duration::ZERO,
        start_at: None,
    };
    let r = dyno_load::run(&cfg).map_err(|e| match e {
        dyno_load::LoadError::Url { .. } | dyno_load::LoadError::Setting(_) => {
            UsageError(e.to_string()).into()
        }
        e => anyhow::Error::from(e),
    })?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    use dyno_core::human::{ns, si};
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
    let cli = Cli::parse();
    let result = match &cli.cmd {
        Cmd::List(a) => list(a),
        Cmd::Run(a) => run::run(a),
        Cmd::Report(a) => report::report(a),
        Cmd::Compare(a) => report::compare(a),
        Cmd::Diff(a) => report::diff(a),
        Cmd::Load(a) => load(a),
        Cmd::Overhead(a) => overhead::overhead(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(u) = e.downcast_ref::<UsageError>() {
                eprintln!("error: {u}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_reject_nonsense() {
        assert_eq!(parse_seconds("3").unwrap(), 3.0);
        assert_eq!(parse_seconds("500ms").unwrap(), 0.5);
        assert_eq!(parse_seconds("2s").unwrap(), 2.0);
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("abc").is_err());
        assert!(parse_seconds("nan").is_err());
        assert_eq!(parse_seconds_or_zero("0").unwrap(), 0.0);
    }

    #[test]
    fn core_lists_parse_ranges_and_reject_duplicates() {
        assert_eq!(parse_cores("0,1").unwrap().0, vec![0, 1]);
        assert_eq!(parse_cores("0-3").unwrap().0, vec![0, 1, 2, 3]);
        assert!(parse_cores("1,1").is_err());
        assert!(parse_cores("3-1").is_err());
        assert!(parse_cores("x").is_err());
        assert!(parse_cores("").is_err());
    }
}
