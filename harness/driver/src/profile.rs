//! The extra profiled repeat of a cell: the cell binary runs once more under `perf record` (external
//! sampling at [`FREQUENCY_HZ`], DWARF call graphs, starting after the warm-up), then `perf script` and
//! inferno turn the samples into folded stacks and a flamegraph SVG. Measured repeats are never profiled.
//! External sampling sends no signal into the cell, so io_uring waits (glommio) are not interrupted, and
//! kernel stacks are kept. Where perf is absent or fails, the cell says why and has no flamegraph.

use crate::child;
use dyno_core::schema::{CellOutput, ProfileInfo};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Sampling frequency (an odd rate avoids lock-step with periodic work).
pub const FREQUENCY_HZ: u32 = 99;

/// What profiling produced.
pub struct Profiled {
    pub info: ProfileInfo,
    pub folded: Option<String>,
    pub svg: Option<String>,
}

fn find_perf() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("perf"))
        .find(|p| p.is_file())
}

fn failed(why: String) -> Profiled {
    Profiled {
        info: ProfileInfo {
            tool: "perf".into(),
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

/// Run `cell_args` (a `cell` invocation of `bin` without `--repeats`/`--out`) once under perf.
pub fn profile(
    bin: &Path,
    cell_args: &[String],
    warmup_s: f64,
    scratch: &Path,
    timeout: Duration,
    unprofiled_mean: f64,
    title: &str,
) -> Profiled {
    let Some(perf) = find_perf() else {
        return failed(
            "perf not found (Debian package linux-perf): no flamegraph for this cell".into(),
        );
    };
    let data = scratch.with_extension("perf.data");
    let out = scratch.with_extension("profiled.out");
    let mut cmd = Command::new(&perf);
    cmd.args([
        "record",
        "-q",
        "-F",
        &FREQUENCY_HZ.to_string(),
        "--call-graph",
        "dwarf",
    ])
    .args(["-D", &((warmup_s * 1e3).round() as u64).max(1).to_string()])
    .arg("-o")
    .arg(&data)
    .arg("--")
    .arg(bin)
    .args(cell_args)
    .args(["--repeats", "1", "--out"])
    .arg(&out);
    let result = run_profiled(cmd, &perf, &data, &out, timeout, unprofiled_mean, title);
    let _ = std::fs::remove_file(&data);
    let _ = std::fs::remove_file(&out);
    result.unwrap_or_else(failed)
}

fn run_profiled(
    cmd: Command,
    perf: &Path,
    data: &Path,
    out: &Path,
    timeout: Duration,
    unprofiled_mean: f64,
    title: &str,
) -> Result<Profiled, String> {
    let fin = child::run(cmd, timeout).map_err(|e| format!("cannot start perf: {e}"))?;
    if let Some(why) = fin.failure() {
        return Err(format!("the profiled repeat failed under perf: {why}"));
    }
    let output: CellOutput = std::fs::read(out)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| format!("the profiled repeat wrote no usable output: {e}"))?;
    let rep = output
        .repeats
        .first()
        .ok_or("the profiled repeat reported nothing")?;
    let throughput = rep.ops as f64 / rep.duration_s;
    let cpu_s = rep.window_usage.cpu_user_s + rep.window_usage.cpu_sys_s;

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
    let (kept, client_samples_excluded) =
        exclude_threads(&script.stdout, dyno_load::THREAD_PREFIX.as_bytes());
    let folded = fold(&kept)?;
    let samples = script_samples(&kept);
    if samples == 0 {
        return Err("perf recorded no samples".into());
    }
    let svg = dyno_report::flame::flamegraph(&folded, title)?;
    Ok(Profiled {
        info: ProfileInfo {
            tool: "perf".into(),
            frequency_hz: FREQUENCY_HZ,
            samples,
            coverage: if cpu_s > 0.0 {
                samples as f64 / (cpu_s * FREQUENCY_HZ as f64)
            } else {
                0.0
            },
            throughput_ops_s: throughput,
            throughput_vs_unprofiled: if unprofiled_mean > 0.0 {
                throughput / unprofiled_mean
            } else {
                0.0
            },
            error: None,
            client_samples_excluded,
        },
        folded: Some(folded),
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

/// Leave out the samples of threads whose name starts with `prefix` (a load generator's, which runs as a
/// child of the cell and so is recorded too); returns the rest and how many were left out.
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
    fn generator_threads_are_left_out() {
        let script = b"dyno-load-0 7/8 1.0: 1 cpu-clock:\n\t55 send+0x1 (/bin/x)\n\ntokio-rt-worker 7/9 1.1: 1 cpu-clock:\n\t66 serve+0x2 (/bin/x)\n\n";
        let (kept, dropped) = exclude_threads(script, b"dyno-load-");
        assert_eq!(dropped, 1);
        assert_eq!(script_samples(&kept), 1);
        let folded = fold(&kept).unwrap();
        assert!(
            folded.contains("serve") && !folded.contains("send"),
            "{folded}"
        );
    }

    #[test]
    fn folded_stacks_count_and_draw() {
        let script = b"cell 12/13 1.0: 10101010 cpu-clock:\n\t55 work+0x1 (/bin/x)\n\t66 main+0x2 (/bin/x)\n\ncell 12/13 1.1: 10101010 cpu-clock:\n\t55 work+0x1 (/bin/x)\n\n";
        assert_eq!(script_samples(script), 2);
        let folded = fold(b"cell 12/13 1.0: 10101010 cpu-clock:\n\t55 work+0x1 (/bin/x)\n\t66 main+0x2 (/bin/x)\n\n").unwrap();
        assert!(folded.contains("main;work"), "{folded}");
    }
}
