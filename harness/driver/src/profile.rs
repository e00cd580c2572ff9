//! The extra profiled repeat of a cell, by one of two backends. Measured repeats are never profiled.
//! - `perf` (preferred): the cell binary runs once more under `perf record` (external sampling at
//!   [`FREQUENCY_HZ`], DWARF call graphs, starting after the warm-up); `perf script` and inferno turn the
//!   samples into folded stacks. No signal enters the cell, so io_uring waits (glommio) are untouched,
//!   kernel stacks are kept, and a reference row's server (another process) is profiled too.
//! - `pprof` (where perf is absent): the cell profiles its own measured window with pprof-rs (SIGPROF),
//!   dropping samples in libc/libgcc/pthread/vdso, so syscall time is under-represented; its coverage
//!   says how much. It cannot see another process, so reference rows get no flamegraph from it.
//!
//! Either way the folded stacks become a flamegraph SVG through inferno, and a cell that cannot be
//! profiled says why and has no flamegraph.

use crate::child;
use dyno_core::schema::{CellOutput, ProfileInfo, ProfilerChoice};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Sampling frequency (an odd rate avoids lock-step with periodic work).
pub const FREQUENCY_HZ: u32 = 99;

/// The profiler a run uses, resolved from the user's choice on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Perf(PathBuf),
    Pprof,
}

impl Backend {
    /// `auto` takes perf where it is on PATH and pprof otherwise; `perf` without perf is a usage error.
    pub fn resolve(choice: ProfilerChoice) -> Result<Backend, String> {
        Self::resolve_with(choice, find_perf())
    }

    fn resolve_with(choice: ProfilerChoice, perf: Option<PathBuf>) -> Result<Backend, String> {
        match (choice, perf) {
            (ProfilerChoice::Pprof, _) | (ProfilerChoice::Auto, None) => Ok(Backend::Pprof),
            (_, Some(perf)) => Ok(Backend::Perf(perf)),
            (ProfilerChoice::Perf, None) => Err("--profiler perf: perf is not on PATH; accepted: \
                 auto (perf where present, else pprof), pprof, or install the Debian package linux-perf \
                 (scripts/install-references.sh)"
                .into()),
        }
    }

    pub fn tool(&self) -> &'static str {
        match self {
            Backend::Perf(_) => "perf",
            Backend::Pprof => "pprof",
        }
    }
}

fn find_perf() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("perf"))
        .find(|p| p.is_file())
}

/// What profiling produced.
pub struct Profiled {
    pub info: ProfileInfo,
    pub folded: Option<String>,
    pub svg: Option<String>,
}

fn failed(tool: &str, why: String) -> Profiled {
    Profiled {
        info: ProfileInfo {
            tool: tool.into(),
            frequency_hz: FREQUENCY_HZ,
            samples: 0,
            coverage: 0.0,
            throughput_ops_s: 0.0,
            throughput_vs_unprofiled: 0.0,
            error: Some(why),
            client_samples_excluded: 0,
        },
        folded: None,
        svg: None,
    }
}

/// The profiled run of a cell, and what it needs.
pub struct Request<'a> {
    pub bin: &'a Path,
    /// A `cell` invocation of `bin` without `--repeats`/`--out`.
    pub cell_args: &'a [String],
    pub warmup_s: f64,
    /// Path prefix for scratch files (removed afterwards).
    pub scratch: &'a Path,
    pub timeout: Duration,
    pub unprofiled_mean: f64,
    pub title: &'a str,
    /// Thread-name prefix of the cell's client process (a load generator), whose samples are left out.
    pub client_prefix: Option<&'a str>,
}

/// Run the cell once more under `backend`.
pub fn profile(backend: &Backend, req: &Request) -> Profiled {
    let out = req.scratch.with_extension("profiled.out");
    let data = req.scratch.with_extension(match backend {
        Backend::Perf(_) => "perf.data",
        Backend::Pprof => "pprof.folded",
    });
    let result = match backend {
        Backend::Perf(perf) => {
            let mut cmd = Command::new(perf);
            cmd.args(["record", "-q", "-F", &FREQUENCY_HZ.to_string()])
                .args(["--call-graph", "dwarf"])
                .args([
                    "-D",
                    &((req.warmup_s * 1e3).round() as u64).max(1).to_string(),
                ])
                .arg("-o")
                .arg(&data)
                .arg("--")
                .arg(req.bin)
                .args(req.cell_args)
                .args(["--repeats", "1", "--out"])
                .arg(&out);
            run_profiled(cmd, backend.tool(), &out, req)
                .and_then(|rep| perf_stacks(perf, &data, req.client_prefix).map(|s| (rep, s)))
        }
        Backend::Pprof => {
            let mut cmd = Command::new(req.bin);
            cmd.args(req.cell_args)
                .args(["--repeats", "1", "--out"])
                .arg(&out)
                .arg("--pprof-out")
                .arg(&data)
                .args(["--pprof-hz", &FREQUENCY_HZ.to_string()]);
            run_profiled(cmd, backend.tool(), &out, req)
                .and_then(|rep| pprof_stacks(&data).map(|s| (rep, s)))
        }
    };
    let _ = std::fs::remove_file(&data);
    let _ = std::fs::remove_file(&out);
    result
        .and_then(|(rep, stacks)| finish(backend.tool(), rep, stacks, req))
        .unwrap_or_else(|why| failed(backend.tool(), why))
}

/// Throughput and CPU-seconds of the profiled repeat.
struct ProfiledRepeat {
    throughput: f64,
    cpu_s: f64,
}

/// Folded stacks, the samples they hold, and the client samples left out of them.
struct Stacks {
    folded: String,
    samples: u64,
    excluded: u64,
}

fn run_profiled(
    cmd: Command,
    tool: &str,
    out: &Path,
    req: &Request,
) -> Result<ProfiledRepeat, String> {
    let fin = child::run(cmd, req.timeout).map_err(|e| format!("cannot start {tool}: {e}"))?;
    if let Some(why) = fin.failure() {
        return Err(format!("the profiled repeat failed under {tool}: {why}"));
    }
    let output: CellOutput = std::fs::read(out)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| {
            format!(
                "the profiled repeat wrote no usable output at {}: {e}",
                out.display()
            )
        })?;
    let rep = output
        .repeats
        .first()
        .ok_or("the profiled repeat reported nothing")?;
    Ok(ProfiledRepeat {
        throughput: rep.ops as f64 / rep.duration_s,
        cpu_s: rep.window_usage.cpu_user_s + rep.window_usage.cpu_sys_s,
    })
}

fn perf_stacks(perf: &Path, data: &Path, client_prefix: Option<&str>) -> Result<Stacks, String> {
    let script = Command::new(perf)
        // --no-inline: resolving inlined frames through addr2line took ~5 s per profile here; without it,
        // `perf script` takes ~0.3 s and the stacks keep every real (non-inlined) frame.
        .args(["script", "--no-inline", "-i"])
        .arg(data)
        .env("DEBUGINFOD_URLS", "")
        .output()
        .map_err(|e| format!("cannot run perf script: {e}"))?;
    if !script.status.success() {
        return Err(format!(
            "perf script failed: {}",
            String::from_utf8_lossy(&script.stderr).trim()
        ));
    }
    let (kept, excluded) = match client_prefix {
        Some(prefix) => exclude_threads(&script.stdout, prefix.as_bytes()),
        None => (script.stdout, 0),
    };
    Ok(Stacks {
        folded: fold(&kept)?,
        samples: script_samples(&kept),
        excluded,
    })
}

fn pprof_stacks(folded: &Path) -> Result<Stacks, String> {
    let folded = match std::fs::read_to_string(folded) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(
                "pprof samples the cell process only, and this row's server is another \
                 process: no flamegraph without perf (Debian package linux-perf)"
                    .into(),
            );
        }
        Err(e) => return Err(format!("cannot read pprof's stacks: {e}")),
    };
    Ok(Stacks {
        samples: folded_samples(&folded)?,
        folded,
        // The load generator is another process, which pprof never sees.
        excluded: 0,
    })
}

/// The samples in folded stacks: the sum of each line's trailing count.
pub fn folded_samples(folded: &str) -> Result<u64, String> {
    folded
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.rsplit_once(' ')
                .and_then(|(_, n)| n.parse::<u64>().ok())
                .ok_or_else(|| format!("not a folded stack line: {l:?}"))
        })
        .sum()
}

fn finish(
    tool: &str,
    rep: ProfiledRepeat,
    stacks: Stacks,
    req: &Request,
) -> Result<Profiled, String> {
    if stacks.samples == 0 {
        return Err(match tool {
            "pprof" => "pprof kept no samples: it drops those that land in libc, libgcc, pthread \
                 or the vDSO, where this cell spends its CPU time (syscalls); perf sees them"
                .into(),
            _ => format!("{tool} recorded no samples"),
        });
    }
    let svg = dyno_report::flame::flamegraph(
        &stacks.folded,
        req.title,
        dyno_report::flame::count_name(tool),
    )?;
    Ok(Profiled {
        info: ProfileInfo {
            tool: tool.into(),
            frequency_hz: FREQUENCY_HZ,
            samples: stacks.samples,
            coverage: if rep.cpu_s > 0.0 {
                stacks.samples as f64 / (rep.cpu_s * FREQUENCY_HZ as f64)
            } else {
                0.0
            },
            throughput_ops_s: rep.throughput,
            throughput_vs_unprofiled: if req.unprofiled_mean > 0.0 {
                rep.throughput / req.unprofiled_mean
            } else {
                0.0
            },
            error: None,
            client_samples_excluded: stacks.excluded,
        },
        folded: Some(stacks.folded),
        svg: Some(svg),
    })
}

/// `perf script` output to folded stacks (inferno's collapse-perf).
pub fn fold(perf_script: &[u8]) -> Result<String, String> {
    use inferno::collapse::Collapse;
    let mut folded = Vec::new();
    inferno::collapse::perf::Folder::default()
        .collapse(perf_script, &mut folded)
        .map_err(|e| format!("cannot fold perf stacks: {e}"))?;
    String::from_utf8(folded).map_err(|e| e.to_string())
}

/// Leave out the samples of threads whose name starts with `prefix` (the cell's client process, e.g. a
/// load generator, which runs as a child of the cell and so is recorded too); returns the rest and how many were left out.
pub fn exclude_threads(perf_script: &[u8], prefix: &[u8]) -> (Vec<u8>, u64) {
    let mut kept = Vec::with_capacity(perf_script.len());
    let mut dropped = 0;
    let mut skipping = false;
    for line in perf_script.split_inclusive(|b| *b == b'\n') {
        let header = !line.is_empty() && !line[0].is_ascii_whitespace() && line[0] != b'#';
        if header {
            skipping = line.starts_with(prefix);
            dropped += skipping as u64;
        }
        if !skipping {
            kept.extend_from_slice(line);
        }
    }
    (kept, dropped)
}

/// Samples in `perf script` output: each starts with an unindented header line, its frames are indented.
/// (Folded counts are perf's sample periods, not sample counts.)
pub fn script_samples(perf_script: &[u8]) -> u64 {
    perf_script
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty() && !l[0].is_ascii_whitespace() && l[0] != b'#')
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_threads_are_left_out() {
        let script = b"client-0 7/8 1.0: 1 cpu-clock:\n\t55 send+0x1 (/bin/x)\n\ntokio-rt-worker 7/9 1.1: 1 cpu-clock:\n\t66 serve+0x2 (/bin/x)\n\n";
        let (kept, dropped) = exclude_threads(script, b"client-");
        assert_eq!(dropped, 1);
        assert_eq!(script_samples(&kept), 1);
        let folded = fold(&kept).unwrap();
        assert!(
            folded.contains("serve") && !folded.contains("send"),
            "{folded}"
        );
    }

    #[test]
    fn folded_samples_sum_counts_and_reject_junk() {
        assert_eq!(folded_samples("t;main;work 3\nt;main 2\n"), Ok(5));
        assert_eq!(folded_samples(""), Ok(0));
        assert!(folded_samples("t;main;work three\n").is_err());
    }

    #[test]
    fn perf_required_but_absent_is_refused() {
        use ProfilerChoice::*;
        let perf = Some(PathBuf::from("/usr/bin/perf"));
        assert!(
            Backend::resolve_with(Perf, None)
                .unwrap_err()
                .contains("accepted")
        );
        assert_eq!(Backend::resolve_with(Auto, None), Ok(Backend::Pprof));
        assert_eq!(
            Backend::resolve_with(Auto, perf.clone()),
            Ok(Backend::Perf(perf.clone().unwrap()))
        );
        assert_eq!(Backend::resolve_with(Pprof, perf), Ok(Backend::Pprof));
    }

    #[test]
    fn folded_stacks_count_and_draw() {
        let script = b"cell 12/13 1.0: 10101010 cpu-clock:\n\t55 work+0x1 (/bin/x)\n\t66 main+0x2 (/bin/x)\n\ncell 12/13 1.1: 10101010 cpu-clock:\n\t55 work+0x1 (/bin/x)\n\n";
        assert_eq!(script_samples(script), 2);
        let folded = fold(b"cell 12/13 1.0: 10101010 cpu-clock:\n\t55 work+0x1 (/bin/x)\n\t66 main+0x2 (/bin/x)\n\n").unwrap();
        assert!(folded.contains("main;work"), "{folded}");
    }
}
