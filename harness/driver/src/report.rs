//! `dyno report` and `dyno compare`: find the run(s), generate the book's pages and build it in-process.

use crate::{BookArgs, CompareArgs, ReportArgs, UsageError};
use anyhow::{Context, Result};
use dyno_report::Run;
use std::path::PathBuf;

/// The directory of run `id`: `latest`, `reference` or an id under results/runs.
fn run_dir(dirs: &BookArgs, id: &str) -> Result<PathBuf> {
    let runs = dirs.results.join("runs");
    let dir = match id {
        "reference" => dirs.results.join("reference"),
        "latest" => {
            let latest = std::fs::read_to_string(dirs.results.join("latest")).map_err(|_| {
                UsageError(format!(
                    "no {}/latest: run `cargo xtask bench` first, or name a run",
                    dirs.results.display()
                ))
            })?;
            runs.join(latest.trim())
        }
        id => runs.join(id),
    };
    if id.contains('/') || !dir.join("manifest.json").exists() {
        let mut ids: Vec<String> = std::fs::read_dir(&runs)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids.extend(["latest".to_string(), "reference".to_string()]);
        return Err(UsageError(format!(
            "no run {id:?} with a manifest.json; accepted: {}",
            ids.join(", ")
        ))
        .into());
    }
    Ok(dir)
}

fn build(dirs: &BookArgs, run: &Run, baseline: Option<&Run>) -> Result<()> {
    let pages = dyno_report::generate(run, baseline);
    let n = dyno_report::write_pages(&dirs.book.join("src"), &pages)?;
    let index = dyno_report::build_book(&dirs.book)?;
    let index = std::fs::canonicalize(&index).unwrap_or(index);
    println!(
        "report for run {}: {n} generated files; book at {}",
        run.manifest.run_id,
        index.display()
    );
    Ok(())
}

/// `dyno report`.
pub fn report(a: &ReportArgs) -> Result<()> {
    let dir = run_dir(&a.dirs, &a.run)?;
    let run = Run::load(&dir).with_context(|| format!("cannot load run {}", dir.display()))?;
    build(&a.dirs, &run, None)
}

/// `dyno compare`.
pub fn compare(a: &CompareArgs) -> Result<()> {
    let before = Run::load(&run_dir(&a.dirs, &a.before)?)?;
    let after = Run::load(&run_dir(&a.dirs, &a.after)?)?;
    let changes = dyno_report::compare::compare(&before, &after);
    print!("{}", dyno_report::compare::text(&before, &after, &changes));
    build(&a.dirs, &after, Some(&before))
}
