//! Tidy checks of the house's written invariants (ARCHITECTURE.md), modelled on rust-analyzer's
//! xtask tidy tests: the crate graph goes one way, dyno-core has no network stack, and the harness
//! names no workload.

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

#[test]
fn the_harness_names_no_workload() {
    let root = root();
    let workloads: Vec<String> = std::fs::read_dir(root.join("workloads"))
        .unwrap()
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(workloads.len() >= 4, "{workloads:?}");
    let mut found = Vec::new();
    for dir in ["harness/driver/src", "harness/report/src"] {
        let mut todo = vec![root.join(dir)];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let path = e.path();
                if path.is_dir() {
                    todo.push(path);
                    continue;
                }
                let test_file = path.file_name().is_some_and(|n| n == "tests.rs");
                if path.extension().and_then(|x| x.to_str()) != Some("rs") || test_file {
                    continue;
                }
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).unwrap();
                // Unit tests may name a fixture's workload.
                let code = text.split("#[cfg(test)]").next().unwrap();
                for line in code.lines() {
                    for w in &workloads {
                        let named = line.contains(&format!("\"{w}\""))
                            || line.contains(&format!("\"{w}--"));
                        let allowed = NOT_A_WORKLOAD
                            .iter()
                            .any(|(f, l)| *f == rel && line.trim() == *l);
                        if named && !allowed {
                            found.push(format!("{rel}: {}", line.trim()));
                        }
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the harness names a workload:\n{}",
        found.join("\n")
    );
}
