//! Validation of the harness's CPU accounting against a known load (`cargo xtask validate` runs it into
//! `<run>/validation/fanout.json`):
//!
//! - **known CPU**: a fan-out cell with one consumer spinning 200 µs per message, confined to one core on
//!   the tokio-tpc row, keeps that core busy for the whole window; run through `dyno run` (the cell
//!   binary, its window accounting and the driver), it must report one CPU-second per second the core
//!   was its to use (the window less the time other processes held the core: the kernel's run delay of
//!   its threads) within 5%. A machine that lent the core to others therefore does not fail the check,
//!   and the share they took is shown.
//!
//! `cargo bench -p dyno-fanout --bench validate [-- --quick --out F]`. Exits 1 when the check fails.

use dyno_core::os::allowed_cores;
use dyno_core::rundir::{Check, Outcome, Results, ValidationDoc};
use std::process::Command;

/// The most the reported CPU-seconds per second of window may differ from one.
const CPU_TOLERANCE: f64 = 0.05;
/// CPU spin per message: long against a channel operation (well under a microsecond), so the core is
/// busy with the consumer's work, never idle waiting for the producer.
const WORK_NS: &str = "200000";

fn main() -> std::process::ExitCode {
    let args = dyno_core::bench::BenchArgs::from_env().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    let (quick, out) = (args.quick, args.out);
    let check = known_cpu(quick).unwrap_or_else(|e| Check {
        name: NAME.into(),
        target: target(),
        figures: e,
        outcome: Outcome::Fail,
    });
    let doc = ValidationDoc {
        commit: dyno_core::bench::commit(),
        quick,
        checks: vec![check],
    };
    doc.finish(out.as_deref())
}

const NAME: &str = "known CPU";

fn target() -> String {
    format!(
        "a cell burning one core reports one CPU-second per second the core was its within {:.0}%",
        CPU_TOLERANCE * 100.0
    )
}

fn known_cpu(quick: bool) -> Result<Check, String> {
    let dyno = dyno_core::bench::sibling_binary("dyno").map_err(|e| e.to_string())?;
    let core = allowed_cores()[0].to_string();
    let (repeats, secs) = if quick { ("2", "1") } else { ("3", "2") };
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let results = tmp.path().join("results");
    let out = Command::new(&dyno)
        .arg("run")
        .arg("--results")
        .arg(&results)
        .args([
            "--workload",
            "fanout",
            "--profile",
            "quick",
            "-r",
            "tokio-tpc",
            "-p",
            "shape=queue",
            "-p",
            "channel=async-channel",
            "-p",
            "consumers=1",
            "-p",
            &format!("work_ns={WORK_NS}"),
            "--cores",
            &core,
            "--repeat",
            repeats,
            "--duration",
            secs,
            "--warmup",
            "0.5",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", dyno.display()))?;
    if !out.status.success() {
        return Err(format!(
            "dyno run failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let run = Results::new(&results)
        .open("latest")
        .map_err(|e| e.to_string())?;
    let (cells, problems) = run.cells().map_err(|e| e.to_string())?;
    let [cell] = &cells[..] else {
        return Err(format!(
            "expected one cell, got {}: {problems:?}",
            cells.len()
        ));
    };
    // CPU-seconds per second the core was the cell's: the window less its threads' run delay.
    let per_s: Vec<f64> = cell
        .repeats
        .iter()
        .map(|r| (r.cpu_user_s + r.cpu_sys_s) / (r.duration_s - r.run_delay_s).max(1e-9))
        .collect();
    let taken: Vec<f64> = cell
        .repeats
        .iter()
        .map(|r| r.run_delay_s / r.duration_s)
        .collect();
    if per_s.is_empty() {
        return Err(format!("the cell has no repeats: {:?}", cell.error));
    }
    let worst = per_s.iter().copied().fold(per_s[0], |w, x| {
        if (x - 1.0).abs() > (w - 1.0).abs() {
            x
        } else {
            w
        }
    });
    let sampled = cell
        .timeseries
        .as_ref()
        .map(|t| format!("{:.3}", t.mean_cpu_cores))
        .unwrap_or_else(|| "none".into());
    let list = |xs: &[f64]| {
        xs.iter()
            .map(|x| format!("{x:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let figures = format!(
        "CPU-seconds per second the core was the cell's, per repeat: {} (furthest from 1: {worst:.3}); \
         share of the window other processes held the core (run delay): {}; the sampler's mean over the \
         whole process life (start-up included): {sampled} cores; tokio-tpc on core {core}, one consumer \
         spinning {} µs per message",
        list(&per_s),
        list(&taken),
        WORK_NS.parse::<u64>().unwrap_or(0) / 1000,
    );
    Ok(Check {
        name: NAME.into(),
        target: target(),
        figures,
        outcome: if (worst - 1.0).abs() <= CPU_TOLERANCE {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
    })
}
