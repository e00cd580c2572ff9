//! What observes a cell: the profilers (perf, pprof) on a CPU-burning cell and `dyno overhead`.

use super::*;

fn perf_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("perf").is_file()))
}

/// One consumer spinning 200 µs per message on one core, on tokio-tpc and glommio, under `profiler`:
/// the series agrees with rusage and never exceeds that core, and `dyno_fanout::work` in the profile. Returns the results dir.
fn burn_one_core(tmp: &Path, profiler: &str) -> PathBuf {
    // Both profilers' runs pin to the same core: one at a time, or each sees half a core.
    static ONE_CORE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _core = ONE_CORE.lock().unwrap_or_else(|e| e.into_inner());
    let results = tmp.join("results");
    let core = dyno_core::os::allowed_cores()[0].to_string();
    let o = dyno(
        &results,
        &[
            "--workload",
            "fanout",
            "--profile",
            "quick",
            "-r",
            "tokio-tpc,glommio",
            "-p",
            "shape=queue",
            "-p",
            "channel=async-channel",
            "-p",
            "consumers=1",
            "-p",
            "work_ns=200000",
            "--cores",
            &core,
            "--duration",
            "1",
            "--warmup",
            "0.2",
            "--flamegraphs",
            "--profiler",
            profiler,
        ],
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let run = latest(&results);
    for c in cells(&run) {
        assert_eq!(c.status, dyno_core::schema::Status::Ok, "{:?}", c.error);
        let ts = c.timeseries.as_ref().expect("sampled");
        // The sampler agrees with the kernel's own account of the measured window (rusage). Other
        // tests share the machine, so the core may be less than fully ours: the bound is on agreement,
        // and on never seeing more than the one core the cell is pinned to.
        let r = &c.repeats[0];
        let rusage_cores = (r.cpu_user_s + r.cpu_sys_s) / r.duration_s;
        assert!(
            rusage_cores > 0.2,
            "{}: the spin did not run: {r:?}",
            c.runtime
        );
        let agreement = ts.mean_cpu_cores / rusage_cores;
        assert!(
            ts.mean_cpu_cores < 1.3 && (0.6..1.5).contains(&agreement),
            "{}: sampled {ts:?} against rusage {rusage_cores:.2} cores",
            c.runtime
        );
        let csv = std::fs::read_to_string(run.join(c.artifacts.timeseries_csv.as_ref().unwrap()))
            .unwrap();
        assert!(csv.lines().count() > 8, "{csv}");
        // tokio's own counters reach the repeat's metrics; glommio offers none.
        let parks = c.repeats[0].metrics.get("tokio_parks_per_s");
        match c.runtime.as_str() {
            "tokio-tpc" => assert!(parks.is_some_and(|p| *p >= 0.0), "{:?}", c.repeats[0]),
            _ => assert_eq!(parks, None, "{}", c.runtime),
        }
        let p = c.profile.as_ref().expect("a profile block");
        assert_eq!(p.error, None, "{}: profiled repeat failed", c.runtime);
        assert_eq!(p.tool, profiler);
        assert!(p.coverage > 0.5, "{}: coverage {}", c.runtime, p.coverage);
        let gz = std::fs::read(run.join(c.artifacts.folded_stacks.as_ref().unwrap())).unwrap();
        let mut folded = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut folded)
            .unwrap();
        assert!(
            folded.contains("dyno_fanout::work"),
            "{}: hot function missing from the profile",
            c.runtime
        );
        let svg = std::fs::read_to_string(run.join(c.artifacts.flamegraph_svg.as_ref().unwrap()))
            .unwrap();
        assert!(svg.contains("dyno_fanout::work"));
    }
    results
}

/// pprof-rs's SIGPROF must not break glommio's io_uring waits: the glommio cell completes and is profiled.
#[test]
fn a_cpu_burning_cell_under_pprof_shows_its_hot_function_even_on_glommio() {
    let tmp = tempfile::tempdir().unwrap();
    burn_one_core(tmp.path(), "pprof");
}

#[test]
fn a_cpu_burning_cell_shows_one_busy_core_and_its_hot_function_even_on_glommio() {
    let tmp = tempfile::tempdir().unwrap();
    if !perf_installed() {
        dyno_core::skip::skip(
            "a_cpu_burning_cell_shows_one_busy_core_and_its_hot_function (perf)",
            "perf is not installed (Debian package linux-perf); pprof is tested apart",
        );
        let o = dyno(
            &tmp.path().join("results"),
            &["--workload", "fanout", "--profiler", "perf"],
        )
        .output()
        .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("perf is not on PATH"), "{}", stderr(&o));
        return;
    }
    let results = burn_one_core(tmp.path(), "perf");
    let run = latest(&results);
    // A differential flamegraph on demand, and a clear usage error for a cell that does not exist.
    let ids: Vec<String> = cells(&run).into_iter().map(|c| c.cell_id).collect();
    let out = tmp.path().join("diff.svg");
    let diff = |before: &str, after: &str| {
        Command::new(env!("CARGO_BIN_EXE_dyno"))
            .current_dir(workspace())
            .arg("diff")
            .arg("--results")
            .arg(&results)
            .args([before, after, "-o"])
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = diff(&ids[0], &ids[1]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("dyno_fanout::work")
    );
    let o = diff(&ids[0], "fanout--nope");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no cell \"fanout--nope\""));
}

fn overhead(results: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dyno"))
        .current_dir(workspace())
        .arg("overhead")
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--results")
        .arg(results)
        .arg("--out")
        .arg(out)
        .args(&small("0.2")[..14])
        .args(["-r", "tokio", "--profiler", "pprof"])
        .args(extra)
        .env_remove("DYNO_FAULT")
        .output()
        .unwrap()
}

/// `dyno overhead` runs the matrix with and without each observer in alternating rounds and writes one
/// ratio per round and observer; bad input is exit 2 and writes nothing.
#[test]
fn overhead_measures_each_observer_in_every_round() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let out = tmp.path().join("overhead.json");
    for bad in [
        &["--rounds", "1"][..],
        &["--no-profile"],
        &["--resume", "x"],
    ] {
        let o = overhead(&results, &out, bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(!out.exists(), "{bad:?} wrote a result");
    }
    let o = overhead(&results, &out, &["--rounds", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{v}");
    let c = &cells[0];
    assert_eq!(c["runtime"], "tokio");
    assert_eq!(c["profiler_tool"], "pprof");
    for observer in ["sampler", "profiler"] {
        let ratios = c[observer]["ratios"].as_array().unwrap();
        assert_eq!(ratios.len(), 2, "{observer}: {v}");
        assert!(ratios.iter().all(|r| r.as_f64().unwrap() > 0.0), "{v}");
    }
    assert!(v["markdown"].as_str().unwrap().contains("| cell |"));
    // The scratch runs are removed; nothing but the result is left behind.
    let left: Vec<_> = std::fs::read_dir(&results)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}
