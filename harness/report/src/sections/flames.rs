//! Flamegraphs per row from the profiled repeat's folded stacks, and differential flamegraphs of each
//! row against the run's baseline row.

use super::{Out, Part, Section};
use crate::flame;
use dyno_core::schema::{CellResult, Status};
use std::fmt::Write;

/// The parameter set's flamegraphs, or why there are none.
pub struct Flamegraphs;

impl Section for Flamegraphs {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let folded: Vec<(&String, String, &CellResult)> = part
            .ok_by_row()
            .filter_map(|(r, c)| {
                let f = c
                    .artifacts
                    .folded_stacks
                    .as_deref()
                    .and_then(|p| part.run.artifact(p))?;
                Some((r, f, c))
            })
            .collect();
        let unprofiled: Vec<String> = part
            .cells
            .iter()
            .filter(|c| c.status == Status::Ok && c.artifacts.folded_stacks.is_none())
            .map(|c| {
                let why = c
                    .profile
                    .as_ref()
                    .and_then(|p| p.error.clone())
                    .unwrap_or_else(|| "profiling was off for this run".into());
                format!("{}: {why}", c.runtime)
            })
            .collect();
        if folded.is_empty() {
            let _ = writeln!(
                out.md,
                "No flamegraph was recorded for these cells ({}).\n",
                unprofiled.join("; ")
            );
            return;
        }
        let pprof = folded
            .iter()
            .any(|(_, _, c)| c.profile.as_ref().is_some_and(|p| p.tool == "pprof"));
        let how = if pprof {
            "in-process with pprof-rs at 99 Hz over the measured window (perf was not installed: samples \
             in libc, libgcc, pthread and the vDSO are dropped, so syscall time is missing; the coverage \
             says how much of the CPU time the flamegraph shows)"
        } else {
            "with `perf` at 99 Hz after the warm-up (kernel frames included; inlined functions appear as \
             part of their caller)"
        };
        let _ = writeln!(
            out.md,
            "### Flamegraphs\n\nOne extra, unmeasured repeat per cell profiled {how}. Click to zoom; Ctrl-F \
             searches.\n"
        );
        for (r, f, c) in &folded {
            let path = format!("flames/{}-{r}.svg", part.stem);
            let cov = c
                .profile
                .as_ref()
                .map(|p| {
                    format!(
                        " — {} samples, coverage {:.0}%",
                        p.samples,
                        p.coverage * 100.0
                    )
                })
                .unwrap_or_default();
            let tool = c.profile.as_ref().map_or("perf", |p| p.tool.as_str());
            let title = format!("{} on {r}", c.workload);
            match flame::flamegraph(f, &title, flame::count_name(tool)) {
                Ok(svg) => embed(out, &format!("{r}{cov}"), &path, svg),
                Err(e) => {
                    let _ = writeln!(out.md, "#### {r}\n\nflamegraph failed: {e}\n");
                }
            }
        }
        for u in &unprofiled {
            let _ = writeln!(out.md, "- not profiled: {u}");
        }
        let baseline = part.run.baseline_row().unwrap_or_default();
        let Some((_, base_folded, _)) = folded.iter().find(|(r, _, _)| **r == baseline) else {
            return;
        };
        let others: Vec<_> = folded.iter().filter(|(r, _, _)| **r != baseline).collect();
        if !others.is_empty() {
            let _ = writeln!(
                out.md,
                "### Differential flamegraphs against {baseline}\n\nShape is the row's profile; red frames take a larger share \
                 of the samples than on {baseline}, blue a smaller one (inferno's differential, normalized).\n"
            );
        }
        for (r, f, _) in others {
            let path = format!("flames/{}-{r}-vs-{baseline}.svg", part.stem);
            let heading = format!("{r} against {baseline}");
            match flame::differential(base_folded, f, &heading) {
                Ok(svg) => embed(out, &heading, &path, svg),
                Err(e) => {
                    let _ = writeln!(
                        out.md,
                        "#### {heading}\n\ndifferential flamegraph failed: {e}\n"
                    );
                }
            }
        }
    }
}

/// An interactive SVG (zoom and search need an `<object>`, not an `<img>`) under a heading.
fn embed(out: &mut Out, heading: &str, path: &str, svg: String) {
    let _ = writeln!(
        out.md,
        "#### {heading}\n\n<object data=\"{path}\" type=\"image/svg+xml\" width=\"100%\"></object>\n"
    );
    out.file(path, svg);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    #[test]
    fn a_flamegraph_per_profiled_row_and_a_differential_against_the_baseline_row() {
        let run = fixture::run();
        let part = fixture::first_set(&run);
        let out = fixture::render(&Flamegraphs, &part);
        let stem = &part.stem;
        // The baseline is the run's first row.
        let [base, other, _] = fixture::rows(&run);
        for path in [
            format!("flames/{stem}-{base}.svg"),
            format!("flames/{stem}-{other}.svg"),
            format!("flames/{stem}-{other}-vs-{base}.svg"),
        ] {
            assert!(fixture::file(&out, &path).contains("<svg"), "{path}");
            assert!(out.md.contains(&format!("data=\"{path}\"")), "{}", out.md);
        }
        assert_eq!(out.files.len(), 3);
    }

    #[test]
    fn the_baseline_row_comes_from_the_run() {
        let mut run = fixture::run();
        let [first, second, _] = fixture::rows(&run);
        run.manifest.settings.baseline_row = Some(second.clone());
        let part = fixture::first_set(&run);
        let out = fixture::render(&Flamegraphs, &part);
        fixture::file(
            &out,
            &format!("flames/{}-{first}-vs-{second}.svg", part.stem),
        );
        assert!(
            out.md
                .contains(&format!("### Differential flamegraphs against {second}"))
        );
        assert!(!out.md.contains(&format!("-vs-{first}")), "{}", out.md);
    }

    #[test]
    fn unprofiled_cells_say_why() {
        let mut run = fixture::run();
        for c in &mut run.cells {
            c.artifacts.folded_stacks = None;
            c.profile = None;
        }
        let out = fixture::render(&Flamegraphs, &fixture::first_set(&run));
        assert!(out.files.is_empty());
        let [first, ..] = fixture::rows(&run);
        let why = format!("No flamegraph was recorded for these cells ({first}: profiling was off");
        assert!(out.md.starts_with(&why), "{}", out.md);
    }
}
