//! Finding workloads: every workspace package under `workloads/` with a `dyno-cell-<name>` binary target
//! (read from `cargo metadata`), whose built binary sits in the bin directory. Nothing outside
//! `workloads/` names a workload.

use crate::UsageError;
use anyhow::{Context, Result, bail};
use dyno_core::Params;
use dyno_core::params::WorkloadSpec;
use dyno_core::schema::RowInfo;
use dyno_core::workspace::Workspace;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use dyno_core::workspace::CELL_PREFIX;

/// A workload found in the workspace.
#[derive(Debug, Clone)]
pub struct WorkloadBin {
    pub name: String,
    pub package: String,
    pub bin: PathBuf,
}

/// The workspace root and its workloads (sorted by name), with binaries expected in `bin_dir`.
pub fn workloads(bin_dir: &Path) -> Result<(PathBuf, Vec<WorkloadBin>)> {
    let ws = Workspace::read(None).context("cannot find the workloads")?;
    let found = ws
        .workloads()
        .into_iter()
        .map(|w| WorkloadBin {
            bin: bin_dir.join(&w.bin),
            name: w.name,
            package: w.package,
        })
        .collect();
    Ok((ws.root, found))
}

impl WorkloadBin {
    fn call(&self, args: &[&str]) -> Result<Vec<u8>> {
        if !self.bin.exists() {
            bail!(
                "workload {}: its cell binary {} is not built; run `cargo xtask bench` (which builds it) \
                 or `cargo build --release -p {}`",
                self.name,
                self.bin.display(),
                self.package
            );
        }
        let out = Command::new(&self.bin)
            .args(args)
            .output()
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        if out.status.code() == Some(2) {
            let msg = String::from_utf8_lossy(&out.stderr);
            let msg = msg.trim().strip_prefix("error: ").unwrap_or(msg.trim());
            return Err(UsageError(msg.to_string()).into());
        }
        if !out.status.success() {
            bail!(
                "{} {}: {}",
                self.bin.display(),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out.stdout)
    }

    /// The workload's spec.
    pub fn describe(&self) -> Result<WorkloadSpec> {
        let spec: WorkloadSpec = serde_json::from_slice(&self.call(&["describe"])?)
            .with_context(|| format!("workload {}: unreadable spec", self.name))?;
        if spec.name != self.name {
            bail!(
                "binary {}{} describes workload {:?}",
                CELL_PREFIX,
                self.name,
                spec.name
            );
        }
        Ok(spec)
    }

    /// Every row, with its fairness block for `cores`.
    pub fn rows(&self, cores: &[usize]) -> Result<Vec<RowInfo>> {
        let cores = join(cores);
        serde_json::from_slice(&self.call(&["rows", "--cores", &cores])?)
            .context("unreadable row list")
    }

    /// The cells of a profile with overrides; a bad override is a [`UsageError`].
    pub fn plan(&self, profile: &str, sets: &[String]) -> Result<Vec<Params>> {
        let mut args = vec!["plan", "--profile", profile];
        for s in sets {
            args.extend(["--set", s.as_str()]);
        }
        serde_json::from_slice(&self.call(&args)?).context("unreadable plan")
    }
}

/// `0,1,2`.
pub fn join(cores: &[usize]) -> String {
    cores
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
