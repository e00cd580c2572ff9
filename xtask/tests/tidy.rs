//! Tidy checks of the house's written invariants (ARCHITECTURE.md), modelled on rust-analyzer's
//! xtask tidy tests: the crate graph goes one way, dyno-core has no network stack, the harness names no
//! workload, reference tool or workload figure, and every module has a `//!` line. Each failure names the
//! file and line.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn metadata() -> Value {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_path_buf()
}

/// A workspace package's layer, from where it lives: a package may depend only on lower layers.
fn layer(dir: &Path) -> (u8, &'static str) {
    let rel = dir.strip_prefix(root()).expect("a workspace member");
    let s = rel.to_string_lossy();
    match s.as_ref() {
        "harness/core" => (0, "dyno-core"),
        "harness/net" | "harness/load" => (1, "harness facets (net, load)"),
        "runtimes/rows" => (3, "the row registry"),
        _ if s.starts_with("runtimes/") => (2, "runtime adapters"),
        _ if s.starts_with("workloads/") => (4, "workloads"),
        "harness/report" => (5, "the report"),
        "harness/driver" => (6, "the driver"),
        "xtask" => (7, "xtask"),
        other => panic!("{other}: a workspace member with no layer; add it to tidy.rs's layers"),
    }
}

/// Each workspace package by name: its directory and the workspace packages it depends on (every kind).
fn members(meta: &Value) -> BTreeMap<String, (PathBuf, Vec<String>)> {
    let ids: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let packages: Vec<&Value> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| ids.contains(p["id"].as_str().unwrap()))
        .collect();
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    packages
        .iter()
        .map(|p| {
            let dir = Path::new(p["manifest_path"].as_str().unwrap())
                .parent()
                .unwrap()
                .to_path_buf();
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|d| d["name"].as_str())
                .filter(|d| names.contains(d))
                .map(str::to_string)
                .collect();
            (p["name"].as_str().unwrap().to_string(), (dir, deps))
        })
        .collect()
}

#[test]
fn the_crate_graph_goes_one_way() {
    let members = members(&metadata());
    let mut wrong = Vec::new();
    for (name, (dir, deps)) in &members {
        let (mine, what) = layer(dir);
        for d in deps {
            let (theirs, their_what) = layer(&members[d].0);
            if theirs >= mine {
                wrong.push(format!(
                    "{name} ({what}) depends on {d} ({their_what}), which is not below it"
                ));
            }
        }
    }
    // The driver and the report talk to workloads through cell binaries and the manifest only.
    for harness in ["dyno", "dyno-report"] {
        for d in &members[harness].1 {
            if d != "dyno-core" && d != "dyno-report" {
                wrong.push(format!(
                    "{harness} depends on {d}: the driver and the report depend on dyno-core (and the \
                     driver on dyno-report) only"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The packages `name` pulls in for building (its dev-dependencies left out), by name.
fn pulled_in(meta: &Value, name: &str) -> BTreeSet<String> {
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let root = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|id| names[id] == name)
        .unwrap_or_else(|| panic!("{name} is a workspace member"));
    let mut todo = vec![root];
    let mut seen = BTreeSet::new();
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        for d in nodes[id]["deps"].as_array().unwrap() {
            let built = d["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].as_str() != Some("dev"));
            if built {
                todo.push(d["pkg"].as_str().unwrap());
            }
        }
    }
    seen.iter().map(|id| names[id].to_string()).collect()
}

#[test]
fn dyno_core_has_no_network_stack_and_no_row_has_an_http_library() {
    let meta = metadata();
    let net: Vec<String> = pulled_in(&meta, "dyno-core")
        .into_iter()
        .filter(|n| ["hyper", "hyper-util", "tokio", "mio"].contains(&n.as_str()))
        .collect();
    assert!(net.is_empty(), "dyno-core pulls in {net:?}");
    // A row offers its sockets through `dyno_net::Conn`; the http workload adapts them to hyper.
    let members = members(&meta);
    let rows = members
        .iter()
        .filter(|(name, (dir, _))| *name == "dyno-net" || matches!(layer(dir).0, 2 | 3))
        .map(|(name, _)| name);
    for row in rows {
        let http: Vec<String> = pulled_in(&meta, row)
            .into_iter()
            .filter(|n| n.starts_with("hyper"))
            .collect();
        assert!(http.is_empty(), "{row} pulls in {http:?}");
    }
}

/// Quoted words in the harness that are not workload names: (file, the line's text).
const NOT_A_WORKLOAD: &[(&str, &str)] = &[(
    "harness/driver/src/profile.rs",
    r#".args(["script", "--no-inline", "-i"])"#,
)];

/// The files of `dirs` (relative to the root) with extension `rs`, walked in a stable order.
fn rust_files(dirs: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = dirs.iter().map(|d| root().join(d)).collect();
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
                todo.push(path);
            } else if path.extension().and_then(|x| x.to_str()) == Some("rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Each line of the driver's and the report's code outside unit tests (which may name a fixture's
/// workload), with its file.
fn harness_lines() -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for path in rust_files(&["harness/driver/src", "harness/report/src"]) {
        if path.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let file = rel(&path);
        out.extend(
            code.lines()
                .enumerate()
                .map(|(i, l)| (file.clone(), i + 1, l.trim().to_string())),
        );
    }
    out
}

fn report(what: &str, found: Vec<String>) {
    assert!(found.is_empty(), "{what}:\n{}", found.join("\n"));
}

#[test]
fn the_harness_names_no_workload() {
    let workloads: Vec<String> = std::fs::read_dir(root().join("workloads"))
        .unwrap()
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(workloads.len() >= 4, "{workloads:?}");
    let mut found = Vec::new();
    for (file, n, line) in harness_lines() {
        for w in &workloads {
            let named = line.contains(&format!("\"{w}\"")) || line.contains(&format!("\"{w}--"));
            let allowed = NOT_A_WORKLOAD.iter().any(|(f, l)| *f == file && line == *l);
            if named && !allowed {
                found.push(format!("{file}:{n}: {line}"));
            }
        }
    }
    report("the harness names a workload", found);
}

/// The tools of reference rows (scripts/install-references.sh installs them), as words.
const REFERENCE_TOOLS: &[&str] = &["nginx", "wrk", "golang"];

#[test]
fn the_harness_names_no_reference_tool() {
    let mut found = Vec::new();
    // Comments may say what a workload does; doc comments (`///`: help texts) may not.
    let code = harness_lines()
        .into_iter()
        .filter(|(_, _, l)| l.starts_with("///") || !l.starts_with("//"));
    for (file, n, line) in code {
        let words: Vec<String> = line
            .to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .map(String::from)
            .collect();
        if REFERENCE_TOOLS.iter().any(|t| words.iter().any(|w| w == t)) {
            found.push(format!("{file}:{n}: {line}"));
        }
    }
    report(
        "the harness names a reference tool (a workload's reference row says it)",
        found,
    );
}

/// The names of the figures the workloads declare (`const X: Metric = <constructor>("name", ...)`).
fn workload_metric_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for path in rust_files(&["workloads"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        for decl in text.split(": Metric =").skip(1) {
            let head = &decl[..decl.find(';').unwrap_or(decl.len())];
            if let Some(name) = head.split('"').nth(1) {
                names.insert(name.to_string());
            }
        }
    }
    names
}

#[test]
fn the_harness_names_no_workload_metric() {
    let names = workload_metric_names();
    assert!(
        names.contains("server_requests") && names.len() >= 10,
        "the metric declarations were not found: {names:?}"
    );
    let mut found = Vec::new();
    for (file, n, line) in harness_lines() {
        if let Some(m) = names.iter().find(|m| line.contains(&format!("\"{m}\""))) {
            found.push(format!("{file}:{n}: {line} ({m})"));
        }
    }
    report(
        "the harness names a workload's figure (read figures through their declared roles)",
        found,
    );
}

#[test]
fn every_module_says_what_it_holds() {
    let mut found = Vec::new();
    for path in rust_files(&[
        "harness",
        "runtimes",
        "workloads",
        "xtask/src",
        "xtask/tests",
    ]) {
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if !first.starts_with("//!") {
            found.push(format!("{}:1: {first}", rel(&path)));
        }
    }
    report("a module without a `//!` line saying what it holds", found);
}
