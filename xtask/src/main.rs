//! `cargo xtask`: the project's automation, as a plain Rust binary (rust-analyzer's xtask pattern).
//!
//! - `cargo xtask bench [--quick] [dyno run options...]`: build every cell binary in release and run the
//!   matrix (the default full profile, or the smoke profile with `--quick`), then each measured workload's
//!   `reference` bench if its crate has one (e.g. http: nginx and wrk), then `dyno overhead` (what the
//!   sampler and the profiler cost the cells), then the book.
//! - `cargo xtask validate [--quick] [--run RUN_ID|latest]`: each workload's `validate` bench (its figures
//!   checked against tools that are not dyno's: wrk, a known delay, a known count, a known CPU load) into
//!   `<run>/validation/<workload>.json`; exits 1 if a check failed. `cargo xtask bench` runs it too.
//! - `cargo xtask report [--run RUN_ID|reference|latest]`: generate the mdBook pages from a run and build the
//!   book (in-process, with the mdbook library, inside the `dyno` binary).
//! - `cargo xtask compare RUN_A RUN_B`: per-cell verdicts in the terminal and as a book page.
//! - `cargo xtask new-workload NAME`: scaffold `workloads/NAME`, a workload that runs on every row.

mod micro;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use dyno_core::rundir::{Results, RunDir};
use dyno_core::workspace::Workspace;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// `cargo xtask`: the project's automation.
#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "dyno's automation: bench, validate, report, compare, new-workload"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build every cell binary in release, run the matrix, the reference benches, the validation, the
    /// observer overhead and (full profile) the micro-benchmarks, then build the book.
    Bench(BenchTask),
    /// Run each workload's `validate` bench into a run's `validation/` and rebuild its book.
    Validate(ValidateTask),
    /// Generate the mdBook pages of a run and build the book (`dyno report` options).
    Report(PassOn),
    /// Per-cell verdicts of two runs, in the terminal and as a book page (`dyno compare` arguments).
    Compare(PassOn),
    /// Scaffold `workloads/NAME`, a workload crate that runs on every row.
    NewWorkload(NewWorkloadTask),
    /// Build the workloads' Go programs (`workloads/*/go/`, their Go reference rows) beside the
    /// release cell binaries; `bench` does it before the matrix.
    Go(GoTask),
}

#[derive(Args)]
struct GoTask {
    /// Vet and test every Go module (the rows' protocol package and each workload's) instead of
    /// building: what CI checks.
    #[arg(long)]
    check: bool,
}

#[derive(Args)]
struct BenchTask {
    /// The smoke profile (`--profile quick`).
    #[arg(long)]
    quick: bool,
    /// Only the workloads' micro-benchmarks, attached to the latest run, whose book is rebuilt.
    #[arg(long)]
    micro: bool,
    /// Options passed on to `dyno run` (after xtask's own; see `dyno run --help`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "DYNO_RUN_OPTIONS"
    )]
    run: Vec<String>,
}

#[derive(Args)]
struct ValidateTask {
    /// Shorter checks.
    #[arg(long)]
    quick: bool,
    /// The run whose `validation/` the results go to (a run id, or latest).
    #[arg(long, default_value = "latest")]
    run: String,
}

#[derive(Args)]
struct PassOn {
    /// Arguments passed on to the `dyno` subcommand.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Args)]
struct NewWorkloadTask {
    /// The workload's name: lowercase letters, digits and single hyphens (e.g. `yield-loop`).
    name: String,
}

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Bench(t) => bench(&t),
        Task::Validate(t) => validate(&t),
        Task::Report(p) => build_dyno().and_then(|d| dyno(&d, "report", &p.args)),
        Task::Compare(p) => build_dyno().and_then(|d| dyno(&d, "compare", &p.args)),
        Task::NewWorkload(t) => workspace_root()
            .and_then(|root| new_workload(&root, &t.name))
            .map(|_| ExitCode::SUCCESS),
        Task::Go(t) if t.check => check_go().map(|_| ExitCode::SUCCESS),
        Task::Go(_) => build_go().map(|_| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<Usage>() {
                Some(_) => ExitCode::from(2),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// A usage mistake: exit code 2.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// The workspace this xtask acts on: the one around the current directory, found at run time (a build
/// shared by two checkouts, e.g. git worktrees or a CI cache, must not act on the tree it was built in).
fn workspace_root() -> Result<PathBuf> {
    static ROOT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let cwd = std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?;
        let out = Command::new(cargo_program())
            .args(["locate-project", "--workspace", "--message-format", "plain"])
            .current_dir(&cwd)
            .output()
            .map_err(|e| format!("cannot run cargo locate-project: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "no Cargo workspace around {}: {}",
                cwd.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let manifest = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        manifest
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| format!("{} has no directory", manifest.display()))
    })
    .clone()
    .map_err(anyhow::Error::msg)
}

fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn cargo() -> Result<Command> {
    let mut c = Command::new(cargo_program());
    c.current_dir(workspace_root()?);
    Ok(c)
}

/// The workspace as `cargo metadata` describes it.
fn workspace() -> Result<Workspace> {
    Ok(Workspace::read(Some(&workspace_root()?))?)
}

/// Workloads whose crate has a `reference` bench, with their package names.
fn reference_benches() -> Result<Vec<(String, String)>> {
    Ok(workspace()?
        .workloads()
        .into_iter()
        .filter(|w| w.benches.iter().any(|b| b == "reference"))
        .map(|w| (w.name, w.package))
        .collect())
}

/// Run each measured workload's `reference` bench (reference tools such as nginx and wrk, measured in one
/// interleaved run) into `<run>/references/<workload>.json`. A failing reference bench is reported and
/// skipped: the run itself stands.
fn run_references(run: &str, quick: bool) -> Result<()> {
    let (dir, measured) = measured_workloads(run)?;
    for (w, package) in reference_benches()? {
        if !measured.contains(&w) {
            continue;
        }
        eprintln!(
            "reference bench of {w} (a part whose tools are absent is skipped with a note)..."
        );
        let out = dir.reference_path(&w);
        let mut c = cargo()?;
        c.args([
            "bench",
            "-p",
            &package,
            "--bench",
            "reference",
            "--",
            "--out",
        ])
        .arg(&out);
        if quick {
            c.arg("--quick");
        }
        match c.status() {
            Ok(s) if s.success() => {}
            Ok(s) => eprintln!("warning: the reference bench of {w} failed ({s}); the run stands"),
            Err(e) => eprintln!("warning: cannot run the reference bench of {w}: {e}"),
        }
    }
    Ok(())
}

/// `cargo xtask validate [--quick] [--run RUN]`: build, run every `validate` bench into the run, rebuild
/// its book; exit code 1 if a check failed.
fn validate(t: &ValidateTask) -> Result<ExitCode> {
    let (quick, run) = (t.quick, t.run.as_str());
    let dyno_bin = build_dyno()?;
    let failed = run_validation(run, quick)?;
    dyno(&dyno_bin, "report", &["--run", run])?;
    if failed.is_empty() {
        eprintln!("validation passed");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("validation failed: {}", failed.join("; "));
        Ok(ExitCode::FAILURE)
    }
}

/// Run each workload's `validate` bench into `<run>/validation/<workload>.json` (every workload with
/// one, measured in the run or not: validation checks the tools, not the run's cells). Returns the
/// checks that failed, as "workload: check".
fn run_validation(run: &str, quick: bool) -> Result<Vec<String>> {
    let dir = Results::new(workspace_root()?.join("results")).open(run)?;
    let mut failed = Vec::new();
    let benches: Vec<(String, String)> = workspace()?
        .workloads()
        .into_iter()
        .filter(|w| w.benches.iter().any(|b| b == "validate"))
        .map(|w| (w.name, w.package))
        .collect();
    for (w, package) in benches {
        eprintln!("validation of {w} (a check whose tool is absent is skipped with a note)...");
        let out = dir.validation_path(&w);
        let mut c = cargo()?;
        c.args([
            "bench", "-p", &package, "--bench", "validate", "--", "--out",
        ])
        .arg(&out);
        if quick {
            c.arg("--quick");
        }
        let status = c.status().context("cannot run cargo bench")?;
        match dir.validation(&w) {
            Some(Ok(doc)) => failed.extend(
                doc.checks
                    .iter()
                    .filter(|c| c.outcome == dyno_core::rundir::Outcome::Fail)
                    .map(|c| format!("{w}: {}", c.name)),
            ),
            Some(Err(e)) => failed.push(format!("{w}: {e}")),
            None => failed.push(format!("{w}: the validate bench wrote nothing ({status})")),
        }
    }
    Ok(failed)
}

/// A run's directory (`latest` resolved) and the workloads it measured, in name order.
fn measured_workloads(run: &str) -> Result<(RunDir, Vec<String>)> {
    let dir = Results::new(workspace_root()?.join("results")).open(run)?;
    let (cells, _) = dir.cells()?;
    let mut measured: Vec<String> = cells.into_iter().map(|c| c.workload).collect();
    measured.sort();
    measured.dedup();
    Ok((dir, measured))
}

/// Rounds and window of the observer-overhead measurement: (quick, full).
const OVERHEAD_ROUNDS: (&str, &str) = ("3", "8");
const OVERHEAD_WINDOW_S: (&str, &str) = ("1", "2");

/// Measure what the sampler and the profiler cost the measured workloads' quick cells on tokio, in one
/// interleaved run, into `<run>/overhead.json` (shown on the book's methodology page). A failure is
/// reported and skipped: the run itself stands.
fn run_overhead(dyno_bin: &Path, run: &str, quick: bool) -> Result<()> {
    let (dir, measured) = measured_workloads(run)?;
    let pick = |(q, f): (&'static str, &'static str)| if quick { q } else { f };
    eprintln!("measuring the sampler's and the profiler's overhead (dyno overhead)...");
    let out = dir.overhead_path();
    let args = [
        "--profile",
        "quick",
        "-w",
        &measured.join(","),
        "-r",
        "tokio",
        "--rounds",
        pick(OVERHEAD_ROUNDS),
        "--duration",
        pick(OVERHEAD_WINDOW_S),
        "--out",
        out.to_str().context("non-UTF-8 run directory")?,
    ];
    match dyno(dyno_bin, "overhead", &args) {
        Ok(c) if c == ExitCode::SUCCESS => {}
        Ok(_) => eprintln!("warning: the overhead measurement failed; the run stands"),
        Err(e) => eprintln!("warning: cannot measure the overhead: {e:#}"),
    }
    Ok(())
}

fn target_dir() -> Result<PathBuf> {
    Ok(workspace()?.target_directory)
}

/// Build the driver and every workload's cell binary in release; return the path of `dyno`.
fn build_dyno() -> Result<PathBuf> {
    eprintln!("building the driver and every workload's cell binary (release)...");
    let status = cargo()?
        .args([
            "build",
            "--release",
            "--workspace",
            "--bins",
            "--exclude",
            "xtask",
        ])
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("the release build failed");
    }
    Ok(target_dir()?.join("release").join("dyno"))
}

/// Build every workload's Go module (`workloads/<w>/go/go.mod`) to `dyno-<w>-go` beside the release
/// cell binaries, where its Go rows find it; without Go, say that those rows will be skipped.
fn build_go() -> Result<()> {
    let modules = go_modules()?;
    if modules.is_empty() {
        return Ok(());
    }
    if dyno_core::golang::go_tool().is_none() {
        eprintln!(
            "note: Go is not installed, so the Go rows are skipped ({})",
            dyno_core::golang::INSTALL
        );
        return Ok(());
    }
    let out = target_dir()?.join("release");
    for (workload, dir) in modules {
        eprintln!("building {} (Go)...", dir.display());
        let bin = out.join(dyno_core::golang::binary_name(&workload));
        dyno_core::golang::build(&dir, &bin).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// Vet and test the rows' Go package and every workload's Go module ([`dyno_core::golang::check`]).
fn check_go() -> Result<()> {
    let mut dirs = vec![workspace_root()?.join("runtimes/rows/go")];
    dirs.extend(go_modules()?.into_iter().map(|(_, dir)| dir));
    for dir in dirs {
        eprintln!("checking {} (go vet, go test)...", dir.display());
        dyno_core::golang::check(&dir).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// Every workload's Go module: its name and folder (`workloads/<w>/go/`), by name.
fn go_modules() -> Result<Vec<(String, PathBuf)>> {
    let root = workspace_root()?;
    let mut modules: Vec<(String, PathBuf)> = std::fs::read_dir(root.join("workloads"))?
        .filter_map(|e| e.ok())
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                e.path().join("go"),
            )
        })
        .filter(|(_, dir)| dir.join("go.mod").is_file())
        .collect();
    modules.sort();
    Ok(modules)
}

/// Run `dyno SUBCOMMAND ARGS...` from the workspace root, passing its exit code on.
fn dyno(dyno: &Path, sub: &str, args: &[impl AsRef<std::ffi::OsStr>]) -> Result<ExitCode> {
    let status = Command::new(dyno)
        .current_dir(workspace_root()?)
        .arg(sub)
        .args(args)
        .status()
        .with_context(|| format!("cannot run {}", dyno.display()))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(status.code().unwrap_or(1).clamp(1, 255) as u8)
    })
}

fn bench(t: &BenchTask) -> Result<ExitCode> {
    let (quick, micro) = (t.quick, t.micro);
    let mut rest: Vec<&String> = t.run.iter().collect();
    if quick && rest.iter().any(|a| a.starts_with("--profile")) {
        return Err(Usage("--quick and --profile exclude each other".into()).into());
    }
    let profile = ["--profile".to_string(), "quick".to_string()];
    if quick {
        rest.splice(0..0, profile.iter());
    }
    let dyno_bin = build_dyno()?;
    if rest.iter().any(|a| *a == "-h" || *a == "--help") {
        // Help of the options passed on: no run, so no reference bench, overhead or report either.
        return dyno(&dyno_bin, "run", &["--help"]);
    }
    if micro {
        // Only the micro-benchmarks, attached to the latest run, whose book is rebuilt.
        if rest.len() > usize::from(quick) * 2 {
            return Err(Usage(
                "--micro takes no `dyno run` options; it attaches to the latest run".into(),
            )
            .into());
        }
        run_micro("latest", quick)?;
        return dyno(&dyno_bin, "report", &["--run", "latest"]);
    }
    build_go()?;
    let code = dyno(&dyno_bin, "run", &rest)?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    // --resume finishes the run it names; every other run is results/latest.
    let run = match rest.iter().position(|a| *a == "--resume") {
        Some(i) => rest.get(i + 1).map(|s| s.as_str()).unwrap_or("latest"),
        None => "latest",
    };
    run_references(run, quick)?;
    if let Err(e) = run_validation(run, quick) {
        eprintln!("warning: validation: {e:#}; the run stands");
    }
    run_overhead(&dyno_bin, run, quick)?;
    if !quick {
        run_micro(run, quick)?;
    }
    dyno(&dyno_bin, "report", &["--run", run])
}

/// Prefix of a workload's criterion micro-benchmark targets (`benches/micro*.rs`).
const MICRO_PREFIX: &str = "micro";
/// Prefix of a workload's instruction-count benchmark targets (`benches/instructions*.rs`, gungraun).
const INSTRUCTIONS_PREFIX: &str = "instructions";
/// The gungraun runner version the benches' library is pinned to (installed on first use).
const GUNGRAUN_VERSION: &str = "0.20.0";

/// The `PATH` under which the instruction-count benches find the pinned gungraun runner, or why they
/// cannot run here. Needs valgrind; takes a `gungraun-runner` of the pinned version from `PATH`, else
/// from the target directory, else installs it there once (`cargo install`, a minute or two).
fn instructions_path() -> Result<std::ffi::OsString, String> {
    let version = |prog: &std::ffi::OsStr| {
        Command::new(prog)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if version("valgrind".as_ref()).is_none() {
        return Err(
            "instruction counts: valgrind is not installed (apt-get install valgrind)".into(),
        );
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let pinned = |v: Option<String>| v.is_some_and(|v| v.contains(GUNGRAUN_VERSION));
    if pinned(version("gungraun-runner".as_ref())) {
        return Ok(path);
    }
    let root = target_dir()
        .map_err(|e| format!("instruction counts: {e:#}"))?
        .join("gungraun-runner");
    let bin = root.join("bin");
    let runner = bin.join("gungraun-runner");
    if !pinned(version(runner.as_os_str())) {
        eprintln!(
            "installing gungraun-runner {GUNGRAUN_VERSION} into {} (once; it compiles for a minute or two)...",
            root.display()
        );
        let status = cargo()
            .map_err(|e| format!("instruction counts: {e:#}"))?
            .args(["install", "gungraun-runner", "--locked", "--quiet"])
            .args(["--version", GUNGRAUN_VERSION, "--root"])
            .arg(&root)
            .status();
        match status {
            Ok(s) if s.success() && pinned(version(runner.as_os_str())) => {}
            Ok(s) => {
                return Err(format!(
                    "instruction counts: installing gungraun-runner {GUNGRAUN_VERSION} failed ({s})"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "instruction counts: cannot run cargo install gungraun-runner: {e}"
                ));
            }
        }
    }
    let mut dirs = vec![bin];
    dirs.extend(std::env::split_paths(&path));
    std::env::join_paths(dirs).map_err(|e| format!("instruction counts: {e}"))
}

/// Run each measured workload's criterion micro-benchmarks (bench targets named `micro*`) and import
/// their estimates into `<run>/micro/<workload>.json`. A bench that fails is named in the file and the
/// run stands.
fn run_micro(run: &str, quick: bool) -> Result<()> {
    let (dir, measured) = measured_workloads(run)?;
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(workspace_root()?)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    for w in workspace()?.workloads() {
        let benches: Vec<&String> = w
            .benches
            .iter()
            .filter(|b| b.starts_with(MICRO_PREFIX))
            .collect();
        let has_counts = w.benches.iter().any(|b| b.starts_with(INSTRUCTIONS_PREFIX));
        if (benches.is_empty() && !has_counts) || !measured.contains(&w.name) {
            continue;
        }
        let home = target_dir()?.join("dyno-micro").join(&w.name);
        if home.exists() {
            std::fs::remove_dir_all(&home)
                .with_context(|| format!("cannot clear {}", home.display()))?;
        }
        let mut skipped = Vec::new();
        for b in benches {
            eprintln!(
                "micro-benchmarks of {}: {b}{}...",
                w.name,
                if quick { " (--quick)" } else { "" }
            );
            let mut c = cargo()?;
            c.args(["bench", "-p", &w.package, "--bench", b, "--"])
                .env("CRITERION_HOME", &home);
            if quick {
                c.arg("--quick");
            }
            match c.status() {
                Ok(s) if s.success() => {}
                Ok(s) => skipped.push(format!("`{b}` failed ({s})")),
                Err(e) => skipped.push(format!("`{b}` could not start ({e})")),
            }
        }
        let mut counts = Vec::new();
        for b in w
            .benches
            .iter()
            .filter(|b| b.starts_with(INSTRUCTIONS_PREFIX))
        {
            let path = match instructions_path() {
                Ok(p) => p,
                Err(why) => {
                    eprintln!("note: {why}; skipped");
                    skipped.push(why);
                    continue;
                }
            };
            eprintln!("instruction counts of {}: {b}...", w.name);
            let out = cargo()?
                .args([
                    "bench",
                    "-p",
                    &w.package,
                    "--bench",
                    b,
                    "--",
                    "--output-format=json",
                ])
                .env("PATH", path)
                .stderr(std::process::Stdio::inherit())
                .output()
                .with_context(|| format!("cannot run the {b} bench"))?;
            if !out.status.success() {
                skipped.push(format!("`{b}` failed ({})", out.status));
                continue;
            }
            counts.extend(
                micro::gungraun_counts(&String::from_utf8_lossy(&out.stdout))
                    .map_err(anyhow::Error::msg)?,
            );
        }
        let benches = micro::criterion_benches(&home).map_err(anyhow::Error::msg)?;
        let doc = dyno_core::rundir::MicroDoc {
            commit: commit.clone(),
            quick,
            benches,
            counts,
            skipped,
        };
        dir.write_micro(&w.name, &doc)?;
        eprintln!(
            "micro-benchmarks of {}: {} timings and {} instruction counts imported into {}",
            w.name,
            doc.benches.len(),
            doc.counts.len(),
            dir.micro_path(&w.name).display()
        );
    }
    Ok(())
}

/// `my-thing` -> (`my_thing`, `MyThing`).
fn names(name: &str) -> Result<(String, String)> {
    let ok = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if !ok {
        return Err(Usage(format!(
            "workload name {name:?} is not accepted; accepted: lowercase letters, digits and single dashes, starting with a letter"
        ))
        .into());
    }
    let ident = name.replace('-', "_");
    let ty = name
        .split('-')
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    Ok((ident, ty))
}

fn render(template: &str, name: &str, ident: &str, ty: &str) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{ident}}", ident)
        .replace("{{Type}}", ty)
}

fn new_workload(root: &Path, name: &str) -> Result<()> {
    let (ident, ty) = names(name)?;
    let dir = root.join("workloads").join(name);
    if dir.exists() {
        return Err(Usage(format!(
            "{} already exists; pick another name",
            dir.display()
        ))
        .into());
    }
    let files = [
        ("Cargo.toml", include_str!("../templates/Cargo.toml.tmpl")),
        ("src/lib.rs", include_str!("../templates/lib.rs.tmpl")),
        ("src/main.rs", include_str!("../templates/main.rs.tmpl")),
        (
            "tests/matrix.rs",
            include_str!("../templates/matrix.rs.tmpl"),
        ),
    ];
    for (path, template) in files {
        let p = dir.join(path);
        let parent = p.parent().expect("files have a parent");
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        std::fs::write(&p, render(template, name, &ident, &ty))
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    println!(
        "created {}; run it on every row with: cargo xtask bench --quick --workload {name}",
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_takes_its_own_options_first_and_passes_the_rest_to_dyno_run() {
        let parse = |args: &[&str]| match Cli::try_parse_from(["cargo xtask"].iter().chain(args)) {
            Ok(Cli {
                task: Task::Bench(t),
            }) => (t.quick, t.micro, t.run),
            Ok(_) => panic!("not bench"),
            Err(e) => panic!("{e}"),
        };
        let (quick, micro, run) = parse(&["bench", "--quick", "-w", "fanout", "--budget", "1m"]);
        assert!(quick && !micro);
        assert_eq!(run, ["-w", "fanout", "--budget", "1m"]);
        let (quick, _, run) = parse(&["bench", "--cores-sweep", "1,2"]);
        assert!(!quick);
        assert_eq!(run, ["--cores-sweep", "1,2"]);
        assert!(Cli::try_parse_from(["cargo xtask", "validate", "--run"]).is_err());
        assert!(Cli::try_parse_from(["cargo xtask", "new-workload"]).is_err());
    }

    #[test]
    fn names_are_checked_and_converted() {
        assert_eq!(names("echo").unwrap(), ("echo".into(), "Echo".into()));
        assert_eq!(
            names("tls-echo2").unwrap(),
            ("tls_echo2".into(), "TlsEcho2".into())
        );
        for bad in ["", "Echo", "1x", "a--b", "a-", "a_b", "a b"] {
            assert!(names(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scaffold_writes_a_consistent_crate_and_refuses_to_overwrite() {
        let root = tempfile_dir();
        new_workload(&root, "yield-loop").unwrap();
        let dir = root.join("workloads/yield-loop");
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            cargo.contains("name = \"dyno-yield-loop\"")
                && cargo.contains("name = \"dyno-cell-yield-loop\"")
        );
        let main = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
        assert!(main.contains("dyno_yield_loop::YieldLoop"));
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("pub struct YieldLoop;") && lib.contains("name: \"yield-loop\""));
        assert!(!lib.contains("{{"));
        assert!(new_workload(&root, "yield-loop").is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
