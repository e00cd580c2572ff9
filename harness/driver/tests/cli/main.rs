//! End-to-end tests of `dyno` with the real cell binaries, by concern: `errors` (bad input and a bad
//! environment), `lifecycle` (faulty cells, resume, signals), `observers` (profilers, overhead), `http`
//! (`dyno serve`, two hosts), `scheduling` (core sweeps, time-sliced rounds). The shared helpers are here.

mod errors;
mod http;
mod lifecycle;
mod observers;
mod scheduling;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The directory holding `dyno` and, once built here, the fan-out and http cell binaries.
fn bin_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dyno = PathBuf::from(env!("CARGO_BIN_EXE_dyno"));
            let dir = dyno.parent().unwrap().to_path_buf();
            let profile = if dir.ends_with("release") {
                vec!["--release"]
            } else {
                vec![]
            };
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(workspace())
                .args([
                    "build",
                    "-q",
                    "-p",
                    "dyno-fanout",
                    "--bin",
                    "dyno-cell-fanout",
                    "-p",
                    "dyno-http",
                    "--bin",
                    "dyno-cell-http",
                ])
                .args(profile)
                .status()
                .unwrap();
            assert!(status.success(), "building the cell binaries failed");
            dir
        })
        .clone()
}

fn dyno(results: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dyno"));
    c.current_dir(workspace())
        .arg("run")
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--results")
        .arg(results)
        .args(args);
    c.env_remove("DYNO_FAULT");
    c
}

/// A small fast matrix: the fan-out workload, one queue parameter set, a short window, no profiled repeat.
fn small(duration: &'static str) -> [&'static str; 15] {
    [
        "--workload",
        "fanout",
        "--profile",
        "quick",
        "-p",
        "shape=queue",
        "-p",
        "channel=async-channel",
        "-p",
        "consumers=4",
        "--duration",
        duration,
        "--warmup",
        "0.05",
        "--no-profile",
    ]
}

fn cells(run_dir: &Path) -> Vec<dyno_core::schema::CellResult> {
    let mut v: Vec<_> = std::fs::read_dir(run_dir.join("cells"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| dyno_core::schema::CellResult::read(&p).unwrap())
        .collect();
    v.sort_by(|a, b| a.cell_id.cmp(&b.cell_id));
    v
}

fn latest(results: &Path) -> PathBuf {
    let id = std::fs::read_to_string(results.join("latest")).unwrap();
    results.join("runs").join(id.trim())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One http parameter set on tokio: plaintext, with `connections` and `generators` (`-p NAME=VALUE`).
fn http_plaintext<'a>(connections: &'a str, generators: &'a str) -> [&'a str; 12] {
    [
        "-w",
        "http",
        "--profile",
        "quick",
        "-r",
        "tokio",
        "-p",
        "endpoint=plaintext",
        "-p",
        connections,
        "-p",
        generators,
    ]
}
