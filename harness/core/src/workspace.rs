//! The Cargo workspace as `cargo metadata` describes it: its root, its target directory, and its workload
//! crates (packages under `workloads/` with a `dyno-cell-<name>` binary). The driver and xtask both read
//! it here, so a workload is found the same way by both.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Prefix of every workload's cell binary.
pub const CELL_PREFIX: &str = "dyno-cell-";

/// Why the workspace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("cannot run `{cargo} metadata` in {dir}: {source}")]
    Spawn {
        cargo: String,
        dir: String,
        source: std::io::Error,
    },
    #[error("`cargo metadata` failed in {dir} (run it from the dyno workspace): {stderr}")]
    Failed { dir: String, stderr: String },
    #[error("cannot read `cargo metadata` output: {0}")]
    Parse(#[from] serde_json::Error),
}

/// The workspace: where it is, where it builds, what it holds.
#[derive(Debug, Clone, Deserialize)]
pub struct Workspace {
    #[serde(rename = "workspace_root")]
    pub root: PathBuf,
    pub target_directory: PathBuf,
    packages: Vec<Package>,
}

#[derive(Debug, Clone, Deserialize)]
struct Package {
    name: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
}

#[derive(Debug, Clone, Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

/// A workload crate: a package under `workloads/` with a `dyno-cell-<name>` binary.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadCrate {
    /// The workload's name (its binary's name without the prefix).
    pub name: String,
    /// Its package's name, for `cargo -p`.
    pub package: String,
    /// Its cell binary's name.
    pub bin: String,
    /// Its bench targets' names (`reference` is the reference-tools bench `cargo xtask bench` runs).
    pub benches: Vec<String>,
}

impl Workspace {
    /// Read the workspace around `dir` (the current directory when `None`) with `$CARGO metadata`.
    pub fn read(dir: Option<&Path>) -> Result<Workspace, WorkspaceError> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let shown = dir.map_or_else(
            || "the current directory".into(),
            |d| d.display().to_string(),
        );
        let mut c = Command::new(&cargo);
        c.args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ]);
        if let Some(d) = dir {
            c.current_dir(d);
        }
        let out = c.output().map_err(|source| WorkspaceError::Spawn {
            cargo,
            dir: shown.clone(),
            source,
        })?;
        if !out.status.success() {
            return Err(WorkspaceError::Failed {
                dir: shown,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(Self::parse(&out.stdout)?)
    }

    /// A workspace from `cargo metadata --format-version 1` output.
    pub fn parse(json: &[u8]) -> Result<Workspace, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// The workload crates, by name.
    pub fn workloads(&self) -> Vec<WorkloadCrate> {
        let dir = self.root.join("workloads");
        let mut found: Vec<WorkloadCrate> = Vec::new();
        for p in self
            .packages
            .iter()
            .filter(|p| p.manifest_path.starts_with(&dir))
        {
            let of_kind = |kind: &'static str| {
                p.targets
                    .iter()
                    .filter(move |t| t.kind.iter().any(|k| k == kind))
                    .map(|t| t.name.clone())
            };
            let benches: Vec<String> = of_kind("bench").collect();
            for bin in of_kind("bin") {
                if let Some(name) = bin.strip_prefix(CELL_PREFIX) {
                    found.push(WorkloadCrate {
                        name: name.to_string(),
                        package: p.name.clone(),
                        bin: bin.clone(),
                        benches: benches.clone(),
                    });
                }
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_are_cell_binaries_under_workloads() {
        let json = serde_json::json!({
            "workspace_root": "/w",
            "target_directory": "/w/target",
            "packages": [
                { "name": "dyno-zeta", "manifest_path": "/w/workloads/zeta/Cargo.toml", "targets": [
                    { "name": "dyno-zeta", "kind": ["lib"] },
                    { "name": "dyno-cell-zeta", "kind": ["bin"] },
                    { "name": "reference", "kind": ["bench"] } ] },
                { "name": "dyno-alpha", "manifest_path": "/w/workloads/alpha/Cargo.toml", "targets": [
                    { "name": "dyno-cell-alpha", "kind": ["bin"] },
                    { "name": "helper", "kind": ["bin"] } ] },
                { "name": "dyno", "manifest_path": "/w/harness/driver/Cargo.toml", "targets": [
                    { "name": "dyno-cell-outside", "kind": ["bin"] } ] }
            ]
        });
        let ws = Workspace::parse(json.to_string().as_bytes()).unwrap();
        assert_eq!(ws.target_directory, Path::new("/w/target"));
        let w = ws.workloads();
        assert_eq!(
            w.iter()
                .map(|w| (w.name.as_str(), w.package.as_str()))
                .collect::<Vec<_>>(),
            [("alpha", "dyno-alpha"), ("zeta", "dyno-zeta")]
        );
        assert_eq!(w[1].bin, "dyno-cell-zeta");
        assert_eq!(w[1].benches, ["reference"]);
        assert!(w[0].benches.is_empty());
    }

    #[test]
    fn this_workspace_reads() {
        let ws = Workspace::read(Some(Path::new(env!("CARGO_MANIFEST_DIR")))).unwrap();
        assert!(ws.root.join("Cargo.toml").is_file());
        assert!(!ws.workloads().is_empty());
    }

    #[test]
    fn outside_a_workspace_the_error_names_the_directory() {
        let e = Workspace::read(Some(Path::new("/")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("in /"), "{e}");
    }
}
