//! `dyno report`, `dyno compare` and `dyno diff`: find the run(s), generate the book's pages and build it
//! in-process, or draw one differential flamegraph on demand.

use crate::{BookArgs, CompareArgs, DiffArgs, ReportArgs, UsageError};
use anyhow::{Context, Result};
use dyno_report::Run;
use std::path::PathBuf;

/// The directory of run `id`: `latest`, a committed `reference` or `reference-<name>` run under results/,
/// or an id under results/runs.
fn run_dir(dirs: &BookArgs, id: &str) -> Result<PathBuf> {
    let runs = dirs.results.join("runs");
    let dir = match id {
        id if id == "reference" || id.starts_with("reference-") => dirs.results.join(id),
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
        let mut ids = crate::run::run_ids(&runs);
        ids.push("latest".to_string());
        ids.extend(references(&dirs.results));
        return Err(UsageError(format!(
            "no run {id:?} with a manifest.json; accepted: {}",
            ids.join(", ")
        ))
        .into());
    }
    Ok(dir)
}

/// The committed reference runs: `results/reference` and `results/reference-<name>`.
fn references(results: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(results)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n == "reference" || n.starts_with("reference-"))
        .collect();
    out.sort();
    out
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

/// `dyno diff`: a differential flamegraph of two profiled cells.
pub fn diff(a: &DiffArgs) -> Result<()> {
    let before_run = Run::load(&run_dir(&a.dirs, &a.run)?)?;
    let after_run = match &a.against_run {
        Some(id) => Run::load(&run_dir(&a.dirs, id)?)?,
        None => before_run.clone(),
    };
    let folded = |run: &Run, id: &str| -> Result<String> {
        let cell = run.cells.iter().find(|c| c.cell_id == id).ok_or_else(|| {
            let ids: Vec<&str> = run.cells.iter().map(|c| c.cell_id.as_str()).collect();
            UsageError(format!(
                "no cell {id:?} in run {}; accepted: {}",
                run.manifest.run_id,
                ids.join(", ")
            ))
        })?;
        let path = cell.artifacts.folded_stacks.as_deref().ok_or_else(|| {
            UsageError(format!(
                "cell {id} has no profile ({})",
                cell.profile
                    .as_ref()
                    .and_then(|p| p.error.clone())
                    .unwrap_or_else(|| "profiling was off".into())
            ))
        })?;
        run.artifact(path)
            .with_context(|| format!("cannot read {path} of run {}", run.manifest.run_id))
    };
    let (before, after) = (
        folded(&before_run, &a.before)?,
        folded(&after_run, &a.after)?,
    );
    let title = format!("{} against {}", a.after, a.before);
    let svg =
        dyno_report::flame::differential(&before, &after, &title).map_err(anyhow::Error::msg)?;
    std::fs::write(&a.output, svg)
        .with_context(|| format!("cannot write {}", a.output.display()))?;
    println!(
        "differential flamegraph: {} (red: more of the samples in {}, blue: fewer)",
        a.output.display(),
        a.after
    );
    Ok(())
}
