//! The driver's rounds, resume, budget and judging, run against a fake cell runner.

use super::runner::{CellRunner, Ran};
use super::schedule::minimum_overruns;
use super::summary::summary_table;
use super::*;
use crate::rounds;
use anyhow::bail;
use dyno_core::Params;
use dyno_core::estimate::Estimator;
use dyno_core::os::Usage;
use dyno_core::schema::{CellOutput, PlannedCell, SCHEMA, Status, cell_id};
use dyno_core::schema::{Git, Host, RawRepeat, Toolchain};
use std::cell::RefCell;

use crate::summarize::tests::fairness;

/// A plan of three cells (ok, skipped, timed out) of workload `w` on row `r`, in a temp directory.
fn plan(dir: &Path) -> (Plan, Results) {
    plan_of(dir, &["ok", "skip", "hang"])
}

/// A plan of one cell per kind (see [`Fake`]), one repeat each.
fn plan_of(dir: &Path, kinds: &[&str]) -> (Plan, Results) {
    let results = Results::new(dir);
    let cells: Vec<PlannedCell> = kinds
        .iter()
        .map(|k| {
            let mut params = Params::default();
            params.0.insert("k".into(), (*k).into());
            PlannedCell {
                cell_id: cell_id("w", "r", &params),
                workload: "w".into(),
                runtime: "r".into(),
                params,
                duration_s: None,
            }
        })
        .collect();
    let manifest = Manifest {
        schema: SCHEMA,
        run_id: "t".into(),
        profile: dyno_core::schema::RunProfile::Quick,
        started: now_rfc3339(),
        finished: None,
        interrupted: None,
        git: Git {
            commit: "c".into(),
            dirty: false,
        },
        host: Host {
            cpu_model: "cpu".into(),
            cores: 1,
            memory_bytes: 1,
            kernel: "k".into(),
            os: "os".into(),
        },
        toolchain: Toolchain { rustc: "r".into() },
        cells_planned: cells.len(),
        settings: RunSettings {
            base_profile: Profile::Quick,
            warmup_s: 0.1,
            duration_s: 1.0,
            repeats: 1,
            cores: vec![0],
            cell_timeout_s: 5.0,
            cells,
            sampler: false,
            profile: false,
            profiler: Default::default(),
            rows: vec!["r".into()],
            baseline_row: Some("r".into()),
            order_seed: Some(42),
            precision: None,
            cores_sweep: None,
            pairing: None,
        },
        workloads: [(
            "w".to_string(),
            Declarations {
                ops_unit: "things".into(),
                ..Default::default()
            },
        )]
        .into(),
        client_host: None,
    };
    let run = results.new_run("t");
    run.write_manifest(&manifest).unwrap();
    let plan = Plan {
        run,
        manifest,
        bins: BTreeMap::new(),
        fairness: [("r".to_string(), fairness())].into(),
        profiler: None,
        _session: None,
    };
    (plan, results)
}

/// Answers by the cell's `k` parameter and remembers which cells it ran: `ok` measures 1000 ops
/// every time, `noisy` alternates 1000 and 1500, `wide` 1000 and 3000, `late` measures 1000 ops whose rate settles
/// 0.42 s after the start whatever the warm-up, `step` 0.3 s after its warm-up ends whatever the
/// warm-up (a speed step of the machine, not a warm-up), `skip` cannot run here, anything else times out.
/// With `die_after`, the run is killed (an error) at that many processes.
#[derive(Default)]
struct Fake(RefCell<Vec<String>>, Option<usize>);

impl CellRunner for Fake {
    fn run(&self, _: &Plan, cell: &PlannedCell, args: &[String]) -> Result<Ran> {
        assert!(args.contains(&cell.runtime), "{args:?}");
        if self.1.is_some_and(|n| self.0.borrow().len() >= n) {
            bail!("killed");
        }
        self.0.borrow_mut().push(cell.cell_id.clone());
        let nth = self
            .0
            .borrow()
            .iter()
            .filter(|c| **c == cell.cell_id)
            .count();
        let out = |skipped: Option<&str>, repeats| {
            serde_json::to_vec(&CellOutput {
                fairness: fairness(),
                repeats,
                skipped: skipped.map(str::to_string),
            })
            .unwrap()
        };
        let repeat = RawRepeat {
            ops: match cell.params.word("k") {
                "noisy" if nth % 2 == 0 => 1500,
                "wide" if nth % 2 == 0 => 3000,
                _ => 1000,
            },
            errors: BTreeMap::new(),
            error_samples: BTreeMap::new(),
            steady: matches!(cell.params.word("k"), "late" | "step").then(|| {
                let at = args.iter().position(|a| a == "--warmup-s").unwrap() + 1;
                let warmup_s: f64 = args[at].parse().unwrap();
                dyno_core::steady::Steady {
                    settled_after_s: if cell.params.word("k") == "late" {
                        0.42
                    } else {
                        warmup_s + 0.3
                    },
                    warmup_s,
                    window_drift: 1.0,
                    blocks: 8,
                    block_cv: Some(0.01),
                }
            }),
            duration_s: 1.0,
            window_usage: Usage {
                cpu_user_s: 0.5,
                ..Usage::default()
            },
            histogram: None,
            metrics: BTreeMap::new(),
            window_monotonic_ns: None,
            sliced: None,
        };
        let (failure, output) = match cell.params.word("k") {
            "ok" | "noisy" | "wide" | "late" | "step" => (None, Ok(out(None, vec![repeat]))),
            "skip" => (None, Ok(out(Some("tool not installed"), vec![]))),
            _ => (
                Some("timed out after 5 s and was killed".to_string()),
                Err("the cell wrote no output".to_string()),
            ),
        };
        Ok(Ran {
            usage: Usage::default(),
            wall_s: 1.0,
            failure,
            stderr_tail: "last words".into(),
            output,
            other_cpu_cores: None,
            series: None,
            speed: None,
            sliced: None,
        })
    }
}

#[test]
fn cells_end_ok_skipped_or_failed_and_each_result_is_written() {
    let d = tempfile::tempdir().unwrap();
    let (plan, results) = plan(d.path());
    let fake = Fake::default();
    let done = execute(&plan, &results, &fake).unwrap();
    let status: Vec<Status> = done.iter().map(|c| c.status).collect();
    assert_eq!(status, [Status::Ok, Status::Skipped, Status::Failed]);
    assert_eq!(
        done[0].summary.as_ref().unwrap().throughput_ops_s.mean,
        1000.0
    );
    assert_eq!(done[0].ops_unit, "things");
    assert_eq!(done[1].error.as_deref(), Some("tool not installed"));
    assert_eq!(done[1].stderr_tail, None);
    assert!(done[2].error.as_deref().unwrap().starts_with("timed out"));
    assert_eq!(done[2].stderr_tail.as_deref(), Some("last words"));
    for c in &done {
        assert_eq!(plan.run.cell(&c.cell_id).unwrap().unwrap(), *c);
    }
    assert!(plan.run.manifest().unwrap().finished.is_some());
    assert_eq!(results.latest().as_deref(), Some("t"));
}

#[test]
fn resume_runs_only_missing_or_untrusted_cells() {
    let d = tempfile::tempdir().unwrap();
    let (plan, results) = plan(d.path());
    execute(&plan, &results, &Fake::default()).unwrap();
    let ids: Vec<String> = plan
        .manifest
        .settings
        .cells
        .iter()
        .map(|c| c.cell_id.clone())
        .collect();
    // One result lost, one truncated: only those two run again.
    std::fs::remove_file(plan.run.cell_path(&ids[0])).unwrap();
    std::fs::write(plan.run.cell_path(&ids[2]), "{\"schema\":").unwrap();
    let again = Fake::default();
    let done = execute(&plan, &results, &again).unwrap();
    let mut rerun = again.0.borrow().clone();
    rerun.sort();
    let mut want = vec![ids[0].clone(), ids[2].clone()];
    want.sort();
    assert_eq!(rerun, want);
    assert_eq!(done.len(), 3);
    assert_eq!(done[1].status, Status::Skipped);
}

#[test]
fn repeats_run_in_rounds_of_every_cell_in_a_seeded_order() {
    let d = tempfile::tempdir().unwrap();
    let kinds = ["ok", "noisy", "ok2", "ok3", "ok4", "ok5"]
        .map(|k| if k.starts_with("ok") { "ok" } else { k });
    // Distinct cells need distinct params: tell them apart by a second parameter.
    let (mut plan, results) = plan_of(d.path(), &kinds);
    for (i, c) in plan.manifest.settings.cells.iter_mut().enumerate() {
        c.params.0.insert("i".into(), (i as u64).into());
        c.cell_id = cell_id("w", "r", &c.params);
    }
    plan.manifest.settings.repeats = 3;
    let fake = Fake::default();
    let done = execute(&plan, &results, &fake).unwrap();
    let ran = fake.0.borrow();
    let n = kinds.len();
    assert_eq!(ran.len(), 3 * n);
    // Each round holds every cell once, before the next round starts.
    let mut orders = Vec::new();
    for round in ran.chunks(n) {
        let mut ids: Vec<&String> = round.iter().collect();
        orders.push(ids.clone());
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "{ran:?}");
    }
    // The order is the seed's: reproducible, and not the same every round.
    assert_ne!(orders[0], orders[1]);
    let ids: Vec<&String> = plan
        .manifest
        .settings
        .cells
        .iter()
        .map(|c| &c.cell_id)
        .collect();
    let blocks: Vec<String> = plan
        .manifest
        .settings
        .cells
        .iter()
        .map(rounds::block_of)
        .collect();
    for (r, order) in orders.iter().enumerate() {
        let expect: Vec<&String> = rounds::order(42, r, &blocks)
            .into_iter()
            .map(|i| ids[i])
            .collect();
        assert_eq!(*order, expect);
    }
    for c in &done {
        let rounds: Vec<Option<usize>> = c.repeats.iter().map(|r| r.round).collect();
        assert_eq!(rounds, [Some(0), Some(1), Some(2)], "{}", c.cell_id);
        let p = c.precision.as_ref().unwrap();
        assert_eq!((p.repeats, p.stopped.words()), (3, "minimum repeats"));
    }
    // The kept repeats are gone once the results hold them.
    assert!(
        !plan
            .run
            .join("cells/.rounds")
            .read_dir()
            .unwrap()
            .any(|_| true)
    );
}

#[test]
fn a_floor_beyond_the_budget_is_a_warning_naming_the_way_out() {
    let p = PrecisionPlan {
        target_half_width: 0.05,
        max_repeats: 10,
        budget_s: 45.0 * 60.0,
    };
    // 159 cells: 3 × 159 repeats and 159 profiles at 4.5 s each is 48 minutes.
    let w = minimum_overruns(&p, 0.0, 4.0 * 159.0 * 4.5, "636 repeats").unwrap();
    assert!(w.contains("about 47m 42s more (636 repeats)"), "{w}");
    assert!(w.contains("45m budget (45m of it left)"), "{w}");
    assert!(w.contains("--no-profile or a larger --budget"), "{w}");
    // What fits says nothing, also after time spent.
    assert_eq!(minimum_overruns(&p, 600.0, 1500.0, ""), None);
    assert!(minimum_overruns(&p, 1300.0, 1500.0, "").is_some());
}

#[test]
fn adaptive_rounds_stop_each_cell_at_its_target_or_at_the_maximum() {
    let d = tempfile::tempdir().unwrap();
    let (mut plan, results) = plan_of(d.path(), &["ok", "noisy"]);
    plan.manifest.settings.repeats = 2;
    plan.manifest.settings.precision = Some(PrecisionPlan {
        target_half_width: 0.05,
        max_repeats: 5,
        budget_s: f64::INFINITY,
    });
    let fake = Fake::default();
    let done = execute(&plan, &results, &fake).unwrap();
    let p: Vec<_> = done.iter().map(|c| c.precision.clone().unwrap()).collect();
    assert_eq!(
        (p[0].repeats, p[0].stopped.words(), p[0].reached),
        (2, "target reached", true)
    );
    assert_eq!(
        (p[1].repeats, p[1].stopped.words(), p[1].reached),
        (5, "max repeats", false)
    );
    // 1000 and 1500 alternating are two modes: the median summarises them, with no interval from
    // five repeats, so the target cannot be reached.
    let e = p[1].estimate.as_ref().unwrap();
    assert_eq!((e.estimator, e.value), (Estimator::Median, 1000.0));
    assert_eq!(p[1].half_width, None);
    assert!(
        p[1].modes.as_ref().unwrap().contains("3 near 1k"),
        "{:?}",
        p[1].modes
    );
    assert_eq!(fake.0.borrow().len(), 7);

    // A spent budget stops every cell at the minimum; so does a budget not yet spent but shorter
    // than another round (the fake's repeats take 1 s each).
    for budget_s in [0.0, 0.9] {
        let d = tempfile::tempdir().unwrap();
        let (mut plan, results) = plan_of(d.path(), &["noisy"]);
        plan.manifest.settings.repeats = 2;
        plan.manifest.settings.precision = Some(PrecisionPlan {
            target_half_width: 0.05,
            max_repeats: 5,
            budget_s,
        });
        let done = execute(&plan, &results, &Fake::default()).unwrap();
        let p = done[0].precision.as_ref().unwrap();
        assert_eq!(
            (p.repeats, p.stopped.words()),
            (2, "budget spent"),
            "{budget_s}"
        );
    }

    // A budget that holds one more repeat of one of two cells (not of both) gives it to the cell
    // closer to the target, round after round, and stops the other.
    let d = tempfile::tempdir().unwrap();
    let (mut plan, results) = plan_of(d.path(), &["wide", "noisy"]);
    plan.manifest.settings.repeats = 2;
    plan.manifest.settings.precision = Some(PrecisionPlan {
        target_half_width: 0.05,
        max_repeats: 5,
        budget_s: 1.5,
    });
    let done = execute(&plan, &results, &Fake::default()).unwrap();
    let p: Vec<_> = done
        .iter()
        .map(|c| {
            let p = c.precision.as_ref().unwrap();
            (p.repeats, p.stopped.words().to_string())
        })
        .collect();
    assert_eq!(
        p,
        [
            (2, "budget spent".to_string()),
            (5, "max repeats".to_string())
        ]
    );
}

#[test]
fn a_repeat_that_measured_its_warm_up_runs_again_with_the_warm_up_its_data_asked_for() {
    let d = tempfile::tempdir().unwrap();
    let (mut plan, results) = plan_of(d.path(), &["late", "ok"]);
    plan.manifest.settings.repeats = 3;
    let fake = Fake::default();
    let done = execute(&plan, &results, &fake).unwrap();
    let late = &done[0];
    // Settled at 0.42 s of a 0.1 s warm-up: run again with 1.5 x 0.42 s in whole 50 ms intervals,
    // which the later rounds keep; 4 processes for 3 repeats. The steady cell is untouched.
    let runs = |id: &str| fake.0.borrow().iter().filter(|c| *c == id).count();
    assert_eq!(runs(&late.cell_id), 4);
    assert_eq!(runs(&done[1].cell_id), 3);
    let warmups: Vec<f64> = late
        .repeats
        .iter()
        .map(|r| r.steady.unwrap().warmup_s)
        .collect();
    assert_eq!(warmups, [0.65, 0.65, 0.65]);
    assert_eq!((late.warmup_s, done[1].warmup_s), (0.65, 0.1));
    let noise = &late.summary.as_ref().unwrap().noise;
    assert!(
        noise
            .iter()
            .any(|n| n.contains("warm-up extended from the run's 0.1 s to 0.65 s")),
        "{noise:?}"
    );
    assert!(
        !noise.iter().any(|n| n.contains("settled only")),
        "{noise:?}"
    );
    // The extension is capped at the run's warm-up plus its window; a repeat that still settles
    // late then is kept and flagged.
    let d = tempfile::tempdir().unwrap();
    let (mut plan, results) = plan_of(d.path(), &["late"]);
    plan.manifest.settings.duration_s = 0.2;
    plan.manifest.settings.repeats = 2;
    let fake = Fake::default();
    let done = execute(&plan, &results, &fake).unwrap();
    assert_eq!(fake.0.borrow().len(), 3);
    assert_eq!(done[0].warmup_s, 0.3);
    let noise = &done[0].summary.as_ref().unwrap().noise;
    assert!(
        noise.iter().any(|n| n.contains("settled only 0.42 s")),
        "{noise:?}"
    );
    // A cell's warm-up is extended once: a cell that settles late whatever its warm-up is not
    // chased round after round but kept and flagged (4 processes for 3 repeats, not 6).
    let d = tempfile::tempdir().unwrap();
    let (mut plan, results) = plan_of(d.path(), &["step"]);
    plan.manifest.settings.repeats = 3;
    let fake = Fake::default();
    let done = execute(&plan, &results, &fake).unwrap();
    assert_eq!(fake.0.borrow().len(), 4);
    assert_eq!(done[0].warmup_s, 0.6);
    let noise = &done[0].summary.as_ref().unwrap().noise;
    assert!(
        noise
            .iter()
            .any(|n| n.contains("settled only 0.90 s after the start in 3 of 3 repeats")),
        "{noise:?}"
    );
}

#[test]
fn a_killed_run_resumes_at_the_round_it_was_in_keeping_finished_repeats() {
    let d = tempfile::tempdir().unwrap();
    let (mut plan, results) = plan_of(d.path(), &["ok", "noisy"]);
    plan.manifest.settings.repeats = 3;
    // Killed in the second round, after 3 processes: round 1 complete, one repeat of round 2.
    let killed = Fake(RefCell::default(), Some(3));
    assert!(execute(&plan, &results, &killed).is_err());
    let again = Fake::default();
    let done = execute(&plan, &results, &again).unwrap();
    // 6 repeats in all, 3 of them already kept.
    assert_eq!(again.0.borrow().len(), 3, "{:?}", again.0.borrow());
    for c in &done {
        let rounds: Vec<Option<usize>> = c.repeats.iter().map(|r| r.round).collect();
        assert_eq!(rounds, [Some(0), Some(1), Some(2)], "{}", c.cell_id);
    }
    // A kept repeat that was cut short is not trusted: it runs again.
    let d = tempfile::tempdir().unwrap();
    let (mut plan, results) = plan_of(d.path(), &["ok"]);
    plan.manifest.settings.repeats = 2;
    assert!(execute(&plan, &results, &Fake(RefCell::default(), Some(1))).is_err());
    let id = plan.manifest.settings.cells[0].cell_id.clone();
    std::fs::write(plan.run.rounds_dir(&id).join("0.json"), "{\"round\":").unwrap();
    let again = Fake::default();
    let done = execute(&plan, &results, &again).unwrap();
    assert_eq!(again.0.borrow().len(), 2);
    assert_eq!(done[0].repeats.len(), 2);
}

#[test]
fn the_summary_table_uses_each_workload_unit_and_the_run_row_order() {
    let d = tempfile::tempdir().unwrap();
    let (plan, results) = plan(d.path());
    let done = execute(&plan, &results, &Fake::default()).unwrap();
    let t = summary_table(&done, &["r".into()], &plan.manifest.workloads);
    assert!(t.contains("w (things) k=ok"), "{t}");
    assert!(t.contains("skipped") && t.contains("failed"), "{t}");
}

#[test]
fn a_cell_with_a_declared_window_measures_it_and_the_floor_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut plan, _) = plan_of(dir.path(), &["ok", "noisy"]);
    plan.manifest.settings.cells[0].duration_s = Some(0.25);
    let window = |args: Vec<String>| {
        let i = args.iter().position(|a| a == "--duration-s").unwrap();
        args[i + 1].clone()
    };
    let cells = plan.manifest.settings.cells.clone();
    let own = super::judge::cell_args(&plan, &cells[0], 0.1, 1).unwrap();
    let run_s = super::judge::cell_args(&plan, &cells[1], 0.1, 1).unwrap();
    // Time-sliced with two others, a process runs a third of the time: its window stretches.
    let sliced = super::judge::cell_args(&plan, &cells[0], 0.1, 3).unwrap();
    assert_eq!(
        (window(own), window(run_s), window(sliced)),
        ("0.25".into(), "1".into(), "0.75".into())
    );
    // Two repeats each to the minimum, no profile: 2 × (0.1 + 0.25) + 2 × (0.1 + 1.0).
    let state = vec![schedule::State::Open(vec![]), schedule::State::Open(vec![])];
    let floor = schedule::floor_up_front_s(&state, &plan.manifest.settings, 2);
    assert!((floor - 2.9).abs() < 1e-9, "{floor}");
}
