//! A run's life: faulty cells recorded and the run going on, a killed run resumed, a signal stopping
//! the run and every process it started.

use super::*;

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
    // The runtime rows only: a reference row (the workload's Go program) is skipped or run depending
    // on whether Go and its build are here, which this test is not about.
    let mut child = dyno(&results, &small("0.5"))
        .args(["-r", "tokio,tokio-tpc,async-std,smol,glommio,threads"])
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
