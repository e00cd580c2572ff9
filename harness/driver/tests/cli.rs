//! End-to-end tests of `dyno run` with the real fan-out cell binary: bad input, faulty cells, resume.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The directory holding `dyno` and, once built here, the fan-out and http cell binaries.
fn bin_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dyno = PathBuf::from(env!("CARGO_BIN_EXE_dyno"));
            let dir = dyno.parent().unwrap().to_path_buf();
            let profile = if dir.ends_with("release") {
                vec!["--release"]
            } else {
                vec![]
            };
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(workspace())
                .args([
                    "build",
                    "-q",
                    "-p",
                    "dyno-fanout",
                    "--bin",
                    "dyno-cell-fanout",
                    "-p",
                    "dyno-http",
                    "--bin",
                    "dyno-cell-http",
                ])
                .args(profile)
                .status()
                .unwrap();
            assert!(status.success(), "building the cell binaries failed");
            dir
        })
        .clone()
}

fn dyno(results: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dyno"));
    c.current_dir(workspace())
        .arg("run")
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--results")
        .arg(results)
        .args(args);
    c.env_remove("DYNO_FAULT");
    c
}

/// A small fast matrix: the fan-out workload, one queue parameter set, a short window, no profiled repeat.
fn small(duration: &'static str) -> [&'static str; 15] {
    [
        "--workload",
        "fanout",
        "--profile",
        "quick",
        "-p",
        "shape=queue",
        "-p",
        "channel=async-channel",
        "-p",
        "consumers=4",
        "--duration",
        duration,
        "--warmup",
        "0.05",
        "--no-profile",
    ]
}

fn cells(run_dir: &Path) -> Vec<dyno_core::schema::CellResult> {
    let mut v: Vec<_> = std::fs::read_dir(run_dir.join("cells"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| dyno_core::schema::CellResult::read(&p).unwrap())
        .collect();
    v.sort_by(|a, b| a.cell_id.cmp(&b.cell_id));
    v
}

fn latest(results: &Path) -> PathBuf {
    let id = std::fs::read_to_string(results.join("latest")).unwrap();
    results.join("runs").join(id.trim())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_input_is_one_clear_line_exit_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let cases: &[(&[&str], &str)] = &[
        (&["-w", "nope"], "accepted: fanout"),
        (
            &["-r", "tokyo"],
            "accepted: tokio, tokio-tpc, async-std, smol, glommio, threads",
        ),
        (&["-p", "nope=1"], "accepted: shape (fanout)"),
        (&["-p", "consumers=abc"], "not a whole number"),
        (&["-p", "consumers=0"], "out of range"),
        (&["-p", "shape=circle"], "accepted: broadcast, queue"),
        (
            &["-p", "shape=broadcast", "-p", "channel=flume"],
            "accepted for broadcast",
        ),
        (&["-p", "consumers"], "NAME=VALUE"),
        (&["--duration", "0"], "greater than zero"),
        (&["--duration", "-1"], "duration"),
        (&["--duration", "fast"], "not a duration"),
        (&["--warmup", "-2"], "warmup"),
        (&["--repeat", "abc"], "repeat"),
        (&["--repeat", "0"], "repeat"),
        (&["--cores", "0,0"], "twice"),
        (&["--cores", "9999"], "not available"),
        (&["--resume", "no-such-run"], "no run \"no-such-run\""),
        (&["--bogus"], "--bogus"),
        (
            &["--profile", "quick", "--profiler", "pprof"],
            "accepted: add --flamegraphs",
        ),
        (&["--no-profile", "--flamegraphs"], "--flamegraphs"),
    ];
    for (args, needle) in cases {
        let o = dyno(&results, args).output().unwrap();
        let err = stderr(&o);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?} should be a usage error; stderr: {err}"
        );
        assert!(
            err.contains(needle),
            "{args:?}: {err:?} should mention {needle:?}"
        );
        assert!(
            !results.join("runs").exists() && !results.join("latest").exists(),
            "{args:?} wrote files"
        );
    }
}

#[test]
fn faulty_cells_are_recorded_failed_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let o = dyno(&results, &small("0.2"))
        .args(["-r", "tokio,smol,threads,glommio", "--timeout", "3"])
        .env("DYNO_FAULT", "panic:tokio,hang:smol,signal:threads")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let run = latest(&results);
    let by_row = |row: &str| cells(&run).into_iter().find(|c| c.runtime == row).unwrap();
    use dyno_core::schema::Status;
    let panicked = by_row("tokio");
    assert_eq!(panicked.status, Status::Failed);
    assert!(
        panicked
            .error
            .as_deref()
            .unwrap()
            .contains("panicked: injected fault"),
        "{:?}",
        panicked.error
    );
    assert!(
        panicked
            .stderr_tail
            .as_deref()
            .unwrap()
            .contains("injected fault")
    );
    let hung = by_row("smol");
    assert_eq!(hung.status, Status::Failed);
    assert!(
        hung.error
            .as_deref()
            .unwrap()
            .contains("timed out after 3 s"),
        "{:?}",
        hung.error
    );
    let killed = by_row("threads");
    assert_eq!(killed.status, Status::Failed);
    assert!(
        killed.error.as_deref().unwrap().contains("SIGKILL"),
        "{:?}",
        killed.error
    );
    let fine = by_row("glommio");
    assert_eq!(fine.status, Status::Ok, "{:?}", fine.error);
    let s = fine.summary.unwrap();
    assert!(s.throughput_ops_s.mean > 0.0 && s.latency_ns.count > 0 && s.peak_rss_bytes > 0);
    assert!(s.cpu_user_s + s.cpu_sys_s > 0.0);
    assert!(run.join(fine.artifacts.histogram.unwrap()).exists());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["cells_planned"], 4);
    assert!(manifest["finished"].is_string());
}

#[test]
fn a_killed_run_resumes_without_redoing_finished_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let mut child = dyno(&results, &small("0.5"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until at least two cells have finished, then kill the driver outright.
    let deadline = Instant::now() + Duration::from_secs(120);
    let run = loop {
        assert!(Instant::now() < deadline, "no cells finished in time");
        if let Ok(id) = std::fs::read_to_string(results.join("latest")) {
            let run = results.join("runs").join(id.trim());
            let n = std::fs::read_dir(run.join("cells"))
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                        .count()
                })
                .unwrap_or(0);
            if n >= 2 {
                break run;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let before: Vec<_> = cells(&run);
    assert!(
        before.len() >= 2 && before.len() < 6,
        "{} cells done before the kill",
        before.len()
    );
    let stamps: Vec<_> = before
        .iter()
        .map(|c| {
            std::fs::metadata(run.join("cells").join(format!("{}.json", c.cell_id)))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();

    let id = run.file_name().unwrap().to_str().unwrap().to_string();
    let o = dyno(&results, &["--resume", &id]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let after = cells(&run);
    assert_eq!(after.len(), 6, "every row's cell exists after the resume");
    assert!(
        after
            .iter()
            .all(|c| c.status == dyno_core::schema::Status::Ok)
    );
    for (c, t) in before.iter().zip(stamps) {
        let path = run.join("cells").join(format!("{}.json", c.cell_id));
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            t,
            "{} was redone",
            c.cell_id
        );
        assert_eq!(&dyno_core::schema::CellResult::read(&path).unwrap(), c);
    }
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches("already done").count(), before.len(), "{out}");
}

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

/// Pids of live processes whose environment holds `mark` (every process a run starts inherits it).
fn marked(mark: &str) -> Vec<u32> {
    let needle = format!("DYNO_TEST_MARK={mark}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            });
            alive
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|e| e.split(|b| *b == 0).any(|v| v == needle.as_bytes()))
        })
        .collect()
}

/// SIGINT and SIGTERM stop `dyno run` on every kind of cell: the running cell and every process it
/// started (load generator, wrk, nginx) are gone within a second of the driver, the manifest says the run
/// was interrupted, the resume command is printed, the exit code is 128 + the signal, and the run resumes.
#[test]
fn a_signal_stops_the_run_and_every_process_it_started() {
    let tmp = tempfile::tempdir().unwrap();
    let has = |tool: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            || Path::new(&format!("/usr/sbin/{tool}")).is_file()
    };
    let mut cases: Vec<(&str, Vec<&str>, i32, usize)> = vec![
        (
            "fanout",
            vec![
                "-w",
                "fanout",
                "-r",
                "tokio",
                "-p",
                "shape=queue",
                "-p",
                "channel=async-channel",
                "-p",
                "consumers=4",
            ],
            libc::SIGINT,
            1,
        ),
        (
            "http, dyno load",
            vec!["-w", "http", "-r", "tokio", "-p", "generator=dyno"],
            libc::SIGTERM,
            2,
        ),
    ];
    for (tool, case) in [
        (
            "wrk",
            (
                "http, wrk",
                vec!["-w", "http", "-r", "tokio", "-p", "generator=wrk"],
                libc::SIGINT,
                2,
            ),
        ),
        (
            "nginx",
            (
                "nginx row",
                vec!["-w", "http", "-r", "nginx", "-p", "generator=dyno"],
                libc::SIGINT,
                2,
            ),
        ),
    ] {
        if has(tool) {
            cases.push(case);
        } else {
            dyno_core::skip::skip(
                &format!("a_signal_stops_the_run ({})", case.0),
                &format!("{tool} is not installed (scripts/install-references.sh)"),
            );
        }
    }
    for (i, (what, args, signal, at_least)) in cases.into_iter().enumerate() {
        let results = tmp.path().join(format!("results-{i}"));
        let mark = format!("{}-{i}", std::process::id());
        let child = dyno(&results, &args)
            .args([
                "--profile",
                "quick",
                "--no-profile",
                "--duration",
                "4",
                "--warmup",
                "0.5",
                "--repeat",
                "1",
            ])
            .env("DYNO_TEST_MARK", &mark)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let driver = child.id();
        // Wait until the cell (and its generator or server) runs.
        let until = Instant::now() + Duration::from_secs(60);
        while marked(&mark).into_iter().filter(|p| *p != driver).count() < at_least {
            assert!(Instant::now() < until, "{what}: the cell never started");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(700));
        let started: Vec<u32> = marked(&mark);
        unsafe { libc::kill(driver as i32, signal) };
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(128 + signal), "{what}: {err}");
        let gone_by = Instant::now() + Duration::from_secs(1);
        while !marked(&mark).is_empty() && Instant::now() < gone_by {
            std::thread::sleep(Duration::from_millis(20));
        }
        let left = marked(&mark);
        assert!(
            left.is_empty(),
            "{what}: processes {left:?} of {started:?} outlived the driver"
        );
        assert!(
            err.contains("resume with: dyno run --resume"),
            "{what}: {err}"
        );
        let run = latest(&results);
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
        let name = if signal == libc::SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        assert_eq!(m["interrupted"], name, "{what}");
        assert!(m["finished"].is_null(), "{what}");
        assert!(cells(&run).is_empty(), "{what}: a killed cell was recorded");
        if i == 0 {
            // The interrupted run resumes and finishes.
            let id = run.file_name().unwrap().to_str().unwrap().to_string();
            let o = Command::new(env!("CARGO_BIN_EXE_dyno"))
                .current_dir(workspace())
                .args(["run", "--bin-dir"])
                .arg(bin_dir())
                .arg("--results")
                .arg(&results)
                .args(["--resume", &id])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
            assert!(
                m.get("interrupted").is_none() && m["finished"].is_string(),
                "{m}"
            );
            assert_eq!(cells(&run).len(), 1);
        }
    }
}

/// A tmpfs of `size` (read-only with `ro`) mounted at a new directory under `tmp`, unmounted on drop;
/// `None` (with the reason) where this process may not mount.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(tmp: &Path, name: &str, opts: &str) -> Result<Tmpfs, String> {
        let dir = tmp.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(&dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if o.status.success() {
            Ok(Tmpfs(dir))
        } else {
            Err(format!(
                "cannot mount a tmpfs (needs root): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A results directory that cannot be written, a disk that fills mid-run, and a tool a parameter names
/// that is not installed: one clear line naming what and where, a non-zero exit (or a skipped cell),
/// earlier results intact and no temporary files left behind.
#[test]
fn a_bad_environment_is_one_clear_line_and_keeps_earlier_results() {
    let tmp = tempfile::tempdir().unwrap();
    let (ro, tiny) = match (
        Tmpfs::mount(tmp.path(), "ro", "ro,size=1m"),
        Tmpfs::mount(tmp.path(), "small", "size=48k"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            dyno_core::skip::skip("a_bad_environment (read-only and full disks)", &e);
            return;
        }
    };
    // Read-only: nothing runs.
    let o = dyno(&ro.0.join("results"), &small("0.2")).output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write") && err.contains("Read-only file system"),
        "{err}"
    );
    assert_eq!(
        err.matches("Read-only file system").count(),
        1,
        "said once: {err}"
    );

    // Full: the run stops at the first write that does not fit, says how to resume, and every cell
    // file it left is whole.
    let results = tiny.0.join("results");
    let mut args = small("0.2").to_vec();
    args.extend(["-p", "consumers=1,2,3,4,5,6,7,8", "-r", "tokio,smol"]);
    let o = dyno(&results, &args).output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("resume with: dyno run --resume"), "{err}");
    let run = latest(&results);
    for e in std::fs::read_dir(run.join("cells")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.contains(".tmp"), "a temporary file was left: {name}");
    }
    // `cells` parses every result file: none is partial.
    let _ = cells(&run);

    // A tool a parameter names, missing: the cell is skipped saying which and how to install it.
    let results = tmp.path().join("results");
    let o = dyno(
        &results,
        &[
            "-w",
            "http",
            "-r",
            "tokio",
            "-p",
            "generator=wrk",
            "--profile",
            "quick",
            "--no-profile",
        ],
    )
    .env("PATH", "/nonexistent")
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let c = cells(&latest(&results));
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].status, dyno_core::schema::Status::Skipped);
    let why = c[0].error.as_deref().unwrap_or("");
    assert!(
        why.contains("wrk is not installed") && why.contains("install-references.sh"),
        "{why}"
    );
}

/// `dyno serve` runs the http workload's server on a row until SIGINT, for any client: requests on a
/// keep-alive connection (and wrk, where installed) are answered; a taken port and a workload without a
/// server are one clear line each.
#[test]
fn serve_answers_any_client_until_ctrl_c() {
    let _ = bin_dir();
    let serve = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dyno"));
        c.current_dir(workspace())
            .arg("serve")
            .arg("--bin-dir")
            .arg(bin_dir())
            .args(args);
        c
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut child = serve(&["-w", "http", "-r", "tokio", "--port", &port])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert!(
        line.contains(&format!("http://127.0.0.1:{port}/")),
        "{line}"
    );

    // Ten requests on one keep-alive connection.
    let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    for _ in 0..10 {
        std::io::Write::write_all(&mut s, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = [0u8; 512];
        let n = std::io::Read::read(&mut s, &mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(
            text.starts_with("HTTP/1.1 200") && text.ends_with("Hello, World!"),
            "{text}"
        );
    }
    drop(s);
    if Path::new("/usr/bin/wrk").is_file() {
        let o = Command::new("/usr/bin/wrk")
            .args([
                "-t1",
                "-c8",
                "-d1s",
                &format!("http://127.0.0.1:{port}/plaintext"),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("Requests/sec") && !text.contains("Non-2xx"),
            "{text}"
        );
    }

    // The port is taken now: a second server says so.
    let o = serve(&["-w", "http", "-r", "smol", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("the port is taken"), "{}", stderr(&o));
    let o = serve(&["-w", "fanout", "-r", "tokio"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no server"), "{}", stderr(&o));

    // SIGINT stops it cleanly.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(rest.contains("stopped after"), "{rest}");
}

/// One http parameter set on tokio: plaintext, with `connections` and `generators` (`-p NAME=VALUE`).
fn http_plaintext<'a>(connections: &'a str, generators: &'a str) -> [&'a str; 12] {
    [
        "-w",
        "http",
        "--profile",
        "quick",
        "-r",
        "tokio",
        "-p",
        "endpoint=plaintext",
        "-p",
        connections,
        "-p",
        generators,
    ]
}

/// `scripts/two-hosts.sh` with a namespace, subnet and state directory of this test's own; `down` on drop.
struct TwoHosts {
    env: Vec<(&'static str, String)>,
    ns: String,
    net: String,
    dir: PathBuf,
}

impl TwoHosts {
    /// Why two hosts cannot be set up here, if they cannot.
    fn missing() -> Option<String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Some("not root (network namespaces and an sshd need it)".into());
        }
        for (tool, pkg) in [
            ("ip", "iproute2"),
            ("sshd", "openssh-server"),
            ("ssh", "openssh-client"),
        ] {
            let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
                .iter()
                .any(|d| Path::new(d).join(tool).is_file());
            if !found {
                return Some(format!("{tool} is not installed ({pkg})"));
            }
        }
        None
    }

    fn script(&self, cmd: &str) -> Output {
        Command::new("bash")
            .arg(workspace().join("scripts/two-hosts.sh"))
            .arg(cmd)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    fn up(state: &Path) -> TwoHosts {
        let id = std::process::id();
        let ns = format!("dt{}", id % 1_000_000);
        let net = format!("10.79.{}", id % 250);
        let dir = state.join("two-hosts");
        let h = TwoHosts {
            env: vec![
                ("DYNO_NETNS", ns.clone()),
                ("DYNO_NET", net.clone()),
                ("DYNO_TWO_HOSTS_DIR", dir.display().to_string()),
            ],
            ns,
            net,
            dir,
        };
        let o = h.script("up");
        assert!(o.status.success(), "two-hosts.sh up: {}", stderr(&o));
        h
    }
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        let o = self.script("down");
        if !std::thread::panicking() {
            assert!(o.status.success(), "two-hosts.sh down: {}", stderr(&o));
        }
    }
}

/// Two hosts in one machine (a network namespace with its own sshd, `scripts/two-hosts.sh`): the http
/// cell's load generator runs on the client host over ssh, the server listens on the address that host
/// reaches, the manifest and the fairness block name the client host, the server answered exactly what
/// the remote generator counted, cells that cannot run remotely are skipped with the reason, and the
/// copied binaries are gone when the run ends.
#[test]
fn an_http_run_across_two_hosts_loads_from_the_client_host() {
    if let Some(why) = TwoHosts::missing() {
        dyno_core::skip::skip("two hosts (network namespace + sshd)", &why);
        return;
    }
    let allowed = dyno_core::os::allowed_cores();
    if allowed.len() < 2 {
        dyno_core::skip::skip("two hosts", "fewer than 2 cores to pin the two hosts apart");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let hosts = TwoHosts::up(tmp.path());
    let results = tmp.path().join("results");
    let (server, client) = (allowed[0].to_string(), allowed[1].to_string());
    let config = hosts.dir.join("ssh_config").display().to_string();
    let o = dyno(
        &results,
        &[
            &http_plaintext("connections=16", "generator=dyno,wrk")[..],
            &[
                "--duration",
                "1",
                // The quick profile's warm-up: shorter than a generator's start over ssh, which the
                // driver adds to it.
                "--warmup",
                "0.4",
                "--repeat",
                "1",
                "--cores",
                &server,
                "--client-host",
                &hosts.ns,
                "--client-cores",
                &client,
                "--ssh-config",
                &config,
            ],
        ]
        .concat(),
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let run = latest(&results);
    let m: dyno_core::schema::Manifest =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let r = m.client_host.expect("the manifest names the client host");
    assert_eq!(r.hostname, hosts.ns, "the namespace's own host name");
    assert_eq!(r.server_ip.to_string(), format!("{}.1", hosts.net));
    assert_eq!(r.cores, vec![allowed[1]]);
    assert!(
        r.round_trip_s > 0.0 && r.clock_offset_s.abs() < 0.1,
        "{r:?}"
    );
    let lead = m.settings.warmup_s - 0.4;
    assert!(
        (lead - 2.0 * r.round_trip_s).abs() < 1e-3,
        "the warm-up takes on two ssh round trips: {} s against {r:?}",
        m.settings.warmup_s
    );
    let cells = cells(&run);
    assert_eq!(cells.len(), 2);
    for c in &cells {
        let remote = c.params.0.get("generator").map(|g| g.to_string()) == Some("dyno".into());
        if !remote {
            assert_eq!(
                c.status,
                dyno_core::schema::Status::Skipped,
                "{:?}",
                c.error
            );
            continue;
        }
        assert_eq!(c.status, dyno_core::schema::Status::Ok, "{:?}", c.error);
        assert_eq!(c.fairness.client_cores, vec![allowed[1]]);
        assert_eq!(
            c.fairness.cores,
            vec![allowed[0]],
            "the server has every --cores core"
        );
        assert!(
            c.fairness
                .client_host
                .as_deref()
                .is_some_and(|h| h.contains(&hosts.ns)),
            "{:?}",
            c.fairness
        );
        let fig = |k: &str| c.repeats[0].metrics[k];
        assert!(fig("server_requests") > 0.0);
        assert_eq!(fig("server_requests"), fig("generator_responses"));
        assert!(
            fig("generator_cpu_s") > 0.0,
            "the remote generator reported its CPU"
        );
    }
    // The run removed its copies from the client host.
    let left = Command::new("ssh")
        .args(["-F", &config, "-n", &hosts.ns, "--"])
        .arg(format!("test -e .cache/dyno/{}", m.run_id))
        .status()
        .unwrap();
    assert_eq!(left.code(), Some(1), "the copied binaries are removed");
}

/// `--cores-sweep`: the matrix at each core count, each cell on the first that many cores with the count
/// in its parameters; a count beyond the run's cores is a usage error; a workload that cannot divide the
/// cores it gets (http on one core) is skipped with the reason, its fairness block naming its one core.
#[test]
fn a_core_sweep_runs_each_cell_on_each_count_of_cores() {
    let allowed = dyno_core::os::allowed_cores();
    if allowed.len() < 2 {
        dyno_core::skip::skip("core sweep", "fewer than 2 cores");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let two = format!("{},{}", allowed[0], allowed[1]);
    let o = dyno(
        &results,
        &[&small("0.2")[..], &["--cores", &two, "--cores-sweep", "3"]].concat(),
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--cores-sweep 3: the run has 2 core(s)"),
        "{}",
        stderr(&o)
    );

    let mut args = small("0.2").to_vec();
    args.extend(["-r", "tokio", "--cores", &two, "--cores-sweep", "2,1"]);
    let o = dyno(&results, &args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let run = latest(&results);
    let swept = cells(&run);
    assert_eq!(swept.len(), 2);
    for c in &swept {
        assert_eq!(c.status, dyno_core::schema::Status::Ok, "{:?}", c.error);
        let n = match c.params.0.get("cores") {
            Some(dyno_core::ParamValue::Int(n)) => *n as usize,
            other => panic!("no core count in {:?}: {other:?}", c.params),
        };
        assert_eq!(c.fairness.cores, allowed[..n].to_vec());
        assert_eq!(c.fairness.workers, n);
    }

    let o = dyno(
        &results,
        &[
            &http_plaintext("connections=4", "generator=dyno")[..],
            &[
                "--duration",
                "0.3",
                "--warmup",
                "0.3",
                "--repeat",
                "1",
                "--cores",
                &two,
                "--cores-sweep",
                "1",
            ],
        ]
        .concat(),
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let c = &cells(&latest(&results))[0];
    assert_eq!(c.status, dyno_core::schema::Status::Skipped);
    assert!(
        c.error.as_deref().unwrap().contains("at least 2 cores"),
        "{:?}",
        c.error
    );
    assert_eq!(c.fairness.cores, vec![allowed[0]]);
}

#[test]
fn a_sliced_round_runs_the_rows_together_and_measures_each_on_its_own_turns() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let mut args = small("0.5").to_vec();
    args.extend([
        "-r",
        "tokio,threads",
        "--repeat",
        "3",
        "--pairing",
        "sliced",
    ]);
    let o = dyno(&results, &args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("2 rows time-sliced"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let run = latest(&results);
    for c in cells(&run) {
        assert_eq!(c.status, dyno_core::schema::Status::Ok, "{:?}", c.error);
        let (alone, sliced): (Vec<_>, Vec<_>) = c.repeats.iter().partition(|r| r.sliced.is_none());
        // The first round alone, with its latency; the others sliced, without.
        assert_eq!(alone.len(), 1, "{}", c.cell_id);
        assert_eq!(alone[0].round, Some(0));
        assert!(alone[0].latency_ns.is_some());
        assert_eq!(sliced.len(), 2, "{}", c.cell_id);
        for r in sliced {
            let s = r.sliced.unwrap();
            assert_eq!(s.processes, 2);
            assert!(s.slices_in_window >= 2, "{s:?}");
            // Each process ran about half of its stretched window; its measured time is what it ran.
            assert!(
                r.duration_s > 0.1 * s.window_wall_s && r.duration_s < 0.9 * s.window_wall_s,
                "ran {} s of a {} s window",
                r.duration_s,
                s.window_wall_s
            );
            assert!(r.latency_ns.is_none());
            assert!(r.throughput_ops_s > 0.0);
        }
    }
}
