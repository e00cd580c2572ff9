//! The scaffold as a newcomer uses it: `cargo xtask new-workload` in a scratch copy of the workspace,
//! then the generated crate's own tests, then a quick run of it on every row through `dyno run`.
//! It builds the workspace again in a target directory of its own (a nested cargo cannot share the
//! outer one's lock), which takes minutes: `.ci/run` runs it with `--ignored`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const NAME: &str = "yield-loop";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_path_buf()
}

/// Run a command in `dir` with the scratch target directory; panic with its output if it fails.
fn run(dir: &Path, target: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

/// Copy the workspace's sources (tracked and untracked, not ignored; no results) into `to`.
fn copy_sources(from: &Path, to: &Path) {
    let out = Command::new("git")
        .args(["ls-files", "-co", "--exclude-standard", "-z"])
        .current_dir(from)
        .output()
        .expect("git lists the workspace's files");
    assert!(out.status.success());
    for rel in out.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).expect("UTF-8 paths"));
        if rel.starts_with("results") || !from.join(rel).is_file() {
            continue;
        }
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(rel), &dest).unwrap();
    }
}

#[test]
#[ignore = "builds a scratch copy of the workspace (minutes); .ci/run runs it with --ignored"]
fn a_new_workload_compiles_passes_its_tests_and_runs_on_every_row() {
    let root = root();
    let scratch = std::env::temp_dir().join(format!("dyno-scaffold-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    copy_sources(&root, &scratch);
    let target = root.join("target/scaffold");
    let cargo = env!("CARGO");
    run(
        &scratch,
        &target,
        cargo,
        &["run", "-q", "-p", "xtask", "--", "new-workload", NAME],
    );
    let tests = run(
        &scratch,
        &target,
        cargo,
        &["test", "-p", &format!("dyno-{NAME}")],
    );
    assert!(tests.contains("test result: ok"), "{tests}");
    run(
        &scratch,
        &target,
        cargo,
        &[
            "build",
            "-p",
            "dyno",
            "-p",
            &format!("dyno-{NAME}"),
            "--bins",
        ],
    );
    let dyno = target.join("debug/dyno");
    let results = scratch.join("results");
    run(
        &scratch,
        &target,
        dyno.to_str().unwrap(),
        &[
            "run",
            "--profile",
            "quick",
            "-w",
            NAME,
            "--results",
            results.to_str().unwrap(),
        ],
    );
    let runs: Vec<PathBuf> = std::fs::read_dir(results.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let [run_dir] = &runs[..] else {
        panic!("one run expected, found {runs:?}")
    };
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).unwrap()).unwrap();
    let rows: Vec<&str> = manifest["settings"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(rows.len() >= 6, "every registered row: {rows:?}");
    let mut ok_rows = Vec::new();
    for e in std::fs::read_dir(run_dir.join("cells")).unwrap().flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let cell: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            cell["status"],
            "ok",
            "{}: {}",
            path.display(),
            cell["error"]
        );
        ok_rows.push(cell["runtime"].as_str().unwrap().to_string());
    }
    for row in rows {
        assert!(
            ok_rows.iter().any(|r| r == row),
            "no ok cell on row {row}: {ok_rows:?}"
        );
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}
