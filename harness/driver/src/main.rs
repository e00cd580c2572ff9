//! `dyno`: the driver. `dyno list` shows workloads, rows and default matrices; `dyno run` plans a matrix,
//! runs every cell in its own process and writes the result files (see DESIGN.md's result contract);
//! `dyno overhead` measures what observing the cells costs them; `dyno NAME` runs a `dyno-NAME` program
//! beside it (the load generator is `dyno load`).

mod child;
mod discover;
mod host;
mod interrupt;
mod overhead;
mod profile;
mod remote;
mod report;
mod rounds;
mod run;
mod sampler;
mod slice;
mod speed;
mod summarize;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
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
    /// Serve a workload's server on a row until Ctrl-C, the same code its cells measure, for your own
    /// load tools.
    Serve(ServeArgs),
    /// Turn a run into the mdBook report and build it.
    Report(ReportArgs),
    /// Compare two runs cell by cell (terminal table and a book page).
    Compare(CompareArgs),
    /// Draw a differential flamegraph of two profiled cells (of one run or two).
    Diff(DiffArgs),
    /// Measure what the sampler and the profiler cost a matrix's cells, in interleaved rounds.
    Overhead(Box<overhead::OverheadArgs>),
    /// Any other subcommand NAME runs the program `dyno-NAME` beside this binary (e.g. `dyno load`, the
    /// HTTP load generator), like git's and cargo's external subcommands.
    #[command(external_subcommand)]
    External(Vec<String>),
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
    /// The baseline cell id (`<workload>--<row>--<params>`, as in the cell file names).
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

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The workload whose server to run (one that has a server, e.g. http).
    #[arg(short, long)]
    workload: String,
    /// The runtime row to serve on.
    #[arg(short, long)]
    row: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Cores the server may use, e.g. 0 or 0-1 [default: every core this process may use].
    #[arg(long, value_parser = dyno_core::cli::parse_cores)]
    cores: Option<dyno_core::cli::CoreList>,
}

/// `dyno serve`: become the workload's cell binary in `serve` mode (exec, so Ctrl-C reaches it).
fn serve(a: &ServeArgs) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let (_, workloads) = discover::workloads(&a.common.bin_dir()?)?;
    let Some(w) = workloads.iter().find(|w| w.name == a.workload) else {
        let names: Vec<&str> = workloads.iter().map(|w| w.name.as_str()).collect();
        return Err(UsageError(format!(
            "unknown workload {:?}; accepted: {}",
            a.workload,
            names.join(", ")
        ))
        .into());
    };
    let cores = a
        .cores
        .clone()
        .map(|c| c.0)
        .unwrap_or_else(dyno_core::os::allowed_cores);
    let cores: Vec<String> = cores.iter().map(|c| c.to_string()).collect();
    let err = std::process::Command::new(&w.bin)
        .arg("serve")
        .args(["--row", &a.row])
        .arg("--addr")
        .arg(std::net::SocketAddr::new(a.host, a.port).to_string())
        .args(["--cores", &cores.join(",")])
        .exec();
    Err(anyhow::anyhow!("cannot run {}: {err}", w.bin.display()))
}

#[derive(clap::Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Which default matrix to start from: quick (smoke, under 3 minutes: small matrix, 0.6 s windows, two
    /// repeats, no flamegraphs) or full (the default matrix: 2 s windows, three to ten repeats until ±5%
    /// within a 45-minute budget, a flamegraph per cell).
    #[arg(long, default_value = "full")]
    pub profile: dyno_core::params::Profile,
    /// Only these workloads (comma-separated or repeated).
    #[arg(short, long = "workload", value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// Only these runtime rows (comma-separated or repeated).
    #[arg(short, long = "runtime", value_delimiter = ',')]
    pub runtimes: Vec<String>,
    /// Override a parameter's values: NAME=VALUE[,VALUE...] (repeatable).
    #[arg(short, long = "param")]
    pub params: Vec<String>,
    /// Measured window per repeat, in seconds (e.g. 3, 0.5, 500ms) [quick: 0.6 s, full: 2 s].
    #[arg(long, value_parser = dyno_core::cli::parse_seconds, allow_hyphen_values = true)]
    pub duration: Option<f64>,
    /// Warm-up before each measured window, in seconds [quick: 0.4 s, full: 1 s].
    #[arg(long, value_parser = dyno_core::cli::parse_seconds_or_zero, allow_hyphen_values = true)]
    pub warmup: Option<f64>,
    /// Minimum measured repeats per cell, one per round [quick: 2, full: 3].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub repeat: Option<u64>,
    /// Precision target: cells take further rounds until the half-width of their throughput's 95%
    /// interval is within this percentage of the mean (e.g. 5 or 5%) [full: 5; quick: no further rounds].
    #[arg(long, value_parser = dyno_core::cli::parse_percent)]
    pub target: Option<f64>,
    /// Most repeats a cell takes [full: 10].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub max_repeats: Option<u64>,
    /// Run time after which no round starts beyond the minimum repeats (e.g. 45m, 600) [full: 45m].
    #[arg(long, value_parser = dyno_core::cli::parse_seconds_or_zero, allow_hyphen_values = true)]
    pub budget: Option<f64>,
    /// Seed of the rounds' random cell order [default: from the clock; recorded in the manifest].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Cores the cells may use, e.g. 0,1 or 0-3 [default: every core this process may use].
    #[arg(long, value_parser = dyno_core::cli::parse_cores)]
    pub cores: Option<dyno_core::cli::CoreList>,
    /// Per-cell timeout in seconds [default: 60 s plus three times the cell's planned time].
    #[arg(long, value_parser = dyno_core::cli::parse_seconds, allow_hyphen_values = true)]
    pub timeout: Option<f64>,
    /// Finish an interrupted run: only its missing repeats run (from the round it was in), with its
    /// original settings.
    #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["workloads", "runtimes", "params", "duration", "warmup", "repeat", "cores", "profile", "target", "max_repeats", "budget", "seed"])]
    pub resume: Option<String>,
    /// Results directory (holds runs/ and latest).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Do not sample CPU and RSS over time (to measure the sampler's own cost).
    #[arg(long, conflicts_with = "resume")]
    pub no_sampler: bool,
    /// Do not run the extra profiled repeat (no flamegraphs) [the quick profile's default].
    #[arg(long, conflicts_with = "resume")]
    pub no_profile: bool,
    /// Run the extra profiled repeat of every cell, for its flamegraph [the full profile's default].
    #[arg(long, conflicts_with_all = ["resume", "no_profile"])]
    pub flamegraphs: bool,
    /// The row the others are compared with (differential flamegraphs) [default: the first row].
    #[arg(long, conflicts_with = "resume")]
    pub baseline_row: Option<String>,
    /// Profiler for the extra repeat: auto (perf where present, else pprof), perf, pprof.
    #[arg(long, default_value = "auto", conflicts_with_all = ["resume", "no_profile"])]
    pub profiler: dyno_core::schema::ProfilerChoice,
    /// Run the whole matrix at each of these core counts (the first N of --cores), e.g. 1,2: the book
    /// draws each row's scaling curve. Each cell's parameters then hold `cores`.
    #[arg(long, value_name = "COUNTS", value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1..=4096), conflicts_with = "resume")]
    pub cores_sweep: Vec<u64>,
    /// How the rows of one parameter set share a round: blocks (each row's process alone, next to the
    /// others) or sliced (their processes at once, taking turns in 100 ms slices, so they share the
    /// same seconds) [default: as each workload declares; a workload with a client process always
    /// runs in blocks].
    #[arg(long, conflicts_with = "resume")]
    pub pairing: Option<dyno_core::schema::Pairing>,
    /// Run the workloads' client processes (load generators) on this host over ssh ([user@]host, or a
    /// Host of the ssh config); the servers then get every core of --cores. Needs key login (BatchMode).
    #[arg(long, value_name = "DESTINATION", conflicts_with = "resume")]
    pub client_host: Option<String>,
    /// Cores of the client host the clients may use [default: every core its login may use].
    #[arg(long, value_parser = dyno_core::cli::parse_cores, requires = "client_host", conflicts_with = "resume")]
    pub client_cores: Option<dyno_core::cli::CoreList>,
    /// An ssh config file for reaching the client host (given to ssh and scp as -F).
    #[arg(
        long,
        value_name = "FILE",
        requires = "client_host",
        conflicts_with = "resume"
    )]
    pub ssh_config: Option<PathBuf>,
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
            spec.name, spec.about, spec.declared.ops_unit
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

/// Run `dyno-<name>` from beside this binary with the remaining arguments; its exit code is ours.
fn external(args: &[String]) -> Result<ExitCode> {
    let name = &args[0];
    let dir = CommonArgs { bin_dir: None }.bin_dir()?;
    let program = dir.join(format!("dyno-{name}"));
    if !program.is_file() {
        return Err(UsageError(format!(
            "unknown subcommand {name:?} (no {} either); accepted: list, run, report, compare, diff, overhead, or a dyno-<name> program beside dyno",
            program.display()
        ))
        .into());
    }
    let status = std::process::Command::new(&program)
        .args(&args[1..])
        .status()
        .with_context(|| format!("cannot run {}", program.display()))?;
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.cmd {
        Cmd::List(a) => list(a),
        Cmd::Run(a) => run::run(a),
        Cmd::Serve(a) => serve(a),
        Cmd::Report(a) => report::report(a),
        Cmd::Compare(a) => report::compare(a),
        Cmd::Diff(a) => report::diff(a),
        Cmd::Overhead(a) => overhead::overhead(a),
        Cmd::External(args) => match external(args) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(i) = e.downcast_ref::<interrupt::Interrupted>() {
                eprintln!("{i}");
                ExitCode::from(i.exit_code())
            } else if let Some(u) = e.downcast_ref::<UsageError>() {
                eprintln!("error: {u}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}
