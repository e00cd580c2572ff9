//! Go programs of the workloads (their Go reference rows): where Go is, how a workload's Go module
//! (`workloads/<w>/go/`) is built offline with the standard library only, and where its binary lies.

use std::path::{Path, PathBuf};
use std::process::Command;

/// How to install Go where it is missing.
pub const INSTALL: &str = "scripts/install-references.sh installs golang-go";

/// The `go` tool: on PATH, or where Debian and the Go tarball put it.
pub fn go_tool() -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/lib/go/bin", "/usr/local/go/bin"])
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join("go"))
        .find(|p| p.is_file())
}

/// The binary a workload's Go module builds to: `dyno-<workload>-go`.
pub fn binary_name(workload: &str) -> String {
    format!("dyno-{workload}-go")
}

/// The built binary `name` beside this process's executable, or one directory up (a test or bench
/// binary runs from `target/<profile>/deps`).
pub fn built(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Why a Go row cannot run here: Go missing, or its binary not built.
pub fn unavailable(name: &str) -> Option<String> {
    if built(name).is_some() {
        return None;
    }
    Some(match go_tool() {
        None => format!("Go is not installed ({INSTALL})"),
        Some(_) => format!(
            "the Go program {name} is not built beside the cell binary (`cargo xtask bench` builds \
             it before the matrix; `cargo xtask go` alone)"
        ),
    })
}

/// A `go` command in `module`, offline: no module proxy, no toolchain download, the standard library
/// only, and the include path of the C sources its `cgo-include` file names ([`cgo_include`]).
fn go_command(module: &Path) -> Result<(PathBuf, Command), String> {
    let go = go_tool().ok_or_else(|| format!("Go is not installed ({INSTALL})"))?;
    let mut cmd = Command::new(&go);
    if let Some(flags) = cgo_include(module)? {
        cmd.env("CGO_CFLAGS", flags);
    }
    cmd.current_dir(module)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local");
    // Go keeps its build cache under $HOME (or $XDG_CACHE_HOME) and refuses to build without one.
    let no_cache_home = ["GOCACHE", "XDG_CACHE_HOME", "HOME"]
        .iter()
        .all(|v| std::env::var_os(v).is_none());
    if no_cache_home {
        cmd.env("GOCACHE", std::env::temp_dir().join("dyno-go-build"));
    }
    Ok((go, cmd))
}

/// Run `go ARGS` in `module` as [`go_command`] sets it up; its stderr is the error when it fails.
fn run_go(module: &Path, args: &[&std::ffi::OsStr]) -> Result<PathBuf, String> {
    let (go, mut cmd) = go_command(module)?;
    let o = cmd
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", go.display()))?;
    if !o.status.success() {
        let what: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
        return Err(format!(
            "go {} in {} failed: {}{}",
            what.join(" "),
            module.display(),
            String::from_utf8_lossy(&o.stdout).trim(),
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(go)
}

/// Vet the Go module in `module` and run its tests (what CI checks of every Go module).
pub fn check(module: &Path) -> Result<(), String> {
    run_go(module, &["vet".as_ref(), "./...".as_ref()])?;
    run_go(
        module,
        &["test".as_ref(), "-count=1".as_ref(), "./...".as_ref()],
    )
    .map(|_| ())
}

/// Build the Go module in `module` to `out` with `go build`, offline ([`go_command`]).
pub fn build(module: &Path, out: &Path) -> Result<(), String> {
    let go = run_go(
        module,
        &[
            "build".as_ref(),
            "-trimpath".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            ".".as_ref(),
        ],
    )?;
    // `go version BINARY` ends with the version the binary was built with.
    let v = Command::new(&go)
        .arg("version")
        .arg(out)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", go.display()))?;
    let text = String::from_utf8_lossy(&v.stdout);
    let version = text.split_whitespace().last().unwrap_or("unknown");
    std::fs::write(version_file(out), format!("{version}\n"))
        .map_err(|e| format!("cannot write {}: {e}", version_file(out).display()))
}

/// The include flags (`-I<folder>` each) for a module whose cgo code compiles C sources of a crate
/// the workspace already depends on (the script row's QuickJS, from rquickjs-sys): each line
/// `<crate> <folder>` of the module's `cgo-include` file (`#` starts a comment), the crate found with
/// `cargo metadata` among the sources cargo has fetched. `None`: the module has no such file.
pub fn cgo_include(module: &Path) -> Result<Option<String>, String> {
    let Ok(list) = std::fs::read_to_string(module.join("cgo-include")) else {
        return Ok(None);
    };
    let wanted: Vec<(&str, &str)> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.split_once(' ').ok_or_else(|| {
                format!(
                    "{}/cgo-include: {l:?} is not \"<crate> <folder>\"",
                    module.display()
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let o = Command::new(&cargo)
        .current_dir(module)
        .args(["metadata", "--format-version", "1", "--offline"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&o.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let mut flags = Vec::new();
    for (krate, folder) in wanted {
        let manifest = packages
            .iter()
            .find(|p| p["name"] == krate)
            .and_then(|p| p["manifest_path"].as_str())
            .ok_or_else(|| {
                format!(
                    "{}/cgo-include names crate {krate}, which the workspace does not depend on",
                    module.display()
                )
            })?;
        let dir = Path::new(manifest)
            .parent()
            .map(|d| d.join(folder.trim()))
            .filter(|d| d.is_dir())
            .ok_or_else(|| format!("crate {krate} has no folder {folder} beside {manifest}"))?;
        flags.push(format!("-I{}", dir.display()));
    }
    Ok(Some(flags.join(" ")))
}

/// The file beside a built Go program that holds the Go version it was built with.
fn version_file(binary: &Path) -> PathBuf {
    let mut name = binary.as_os_str().to_owned();
    name.push(".version");
    PathBuf::from(name)
}

/// The Go version a binary was built with (e.g. "go1.19.8"), as [`build`] recorded it beside the
/// binary: read from a small file, so that a cell process does not start `go` to describe its rows.
pub fn version_of(binary: &Path) -> String {
    std::fs::read_to_string(version_file(binary))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|_| "unknown Go version (no version file beside the binary)".into())
}

/// What a Go row's fairness block says of Go: the version the binary was built with, GOMAXPROCS and
/// the garbage collector's settings (as Go ships them: the rows start it with GOGC, GOMEMLIMIT and
/// GODEBUG removed from the environment).
pub fn fairness_notes(binary: Option<&Path>, procs: usize) -> Vec<String> {
    let version = binary.map_or("not built".to_string(), version_of);
    vec![
        format!(
            "{version}, the standard library only; GOMAXPROCS={procs} (the row's cores), the process \
             confined to them, its threads not pinned"
        ),
        "GOGC unset (100, the default), no GOMEMLIMIT: the garbage collector as Go ships it".into(),
    ]
}

/// The variables a Go row removes from its program's environment, so that its run does not depend on
/// the caller's shell.
pub const ENV_REMOVED: [&str; 3] = ["GOGC", "GOMEMLIMIT", "GODEBUG"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_says_what_to_do() {
        let why = unavailable("dyno-no-such-workload-go").unwrap();
        assert!(
            why.contains("golang-go") || why.contains("cargo xtask go"),
            "{why}"
        );
    }
}
