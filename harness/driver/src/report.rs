//! `dyno report`, `dyno compare` and `dyno diff`: find the run(s), generate the book's pages and build it
//! in-process, or draw one differential flamegraph on demand.

use crate::{BookArgs, CompareArgs, DiffArgs, ReportArgs, UsageError};
use anyhow::{Context, Result};
use dyno_core::rundir::Results;
use dyno_report::Run;

/// Run `name` under the results directory (`latest`, `reference`, `reference-<name>` or an id), loaded.
fn load(dirs: &BookArgs, name: &str) -> Result<Run> {
    let dir = Results::new(&dirs.results).open(name).map_err(|e| {
        if e.is_usage() {
            anyhow::Error::from(UsageError(e.to_string()))
        } else {
            e.into()
        }
    })?;
    Run::load(&dir).with_context(|| format!("cannot load run {}", dir.path().display()))
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
    build(&a.dirs, &load(&a.dirs, &a.run)?, None)
}

/// `dyno compare`.
pub fn compare(a: &CompareArgs) -> Result<()> {
    let before = load(&a.dirs, &a.before)?;
    let after = load(&a.dirs, &a.after)?;
    let changes = dyno_report::compare::compare(&before, &after);
    print!("{}", dyno_report::compare::text(&before, &after, &changes));
    build(&a.dirs, &after, Some(&before))
}

/// `dyno diff`: a differential flamegraph of two profiled cells.
pub fn diff(a: &DiffArgs) -> Result<()> {
    let before_run = load(&a.dirs, &a.run)?;
    let after_run = match &a.against_run {
        Some(id) => load(&a.dirs, id)?,
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
