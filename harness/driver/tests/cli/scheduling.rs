//! How cells are placed and paired: a core sweep, and a time-sliced round.

use super::*;

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
                r.duration_s > 0.05 * s.window_wall_s && r.duration_s < 0.95 * s.window_wall_s,
                "ran {} s of a {} s window",
                r.duration_s,
                s.window_wall_s
            );
            assert!(r.latency_ns.is_none());
            assert!(r.throughput_ops_s > 0.0);
        }
    }
}
