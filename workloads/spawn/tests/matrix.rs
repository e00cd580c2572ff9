//! The spawn workload on every runtime row, on all the allowed cores: spawn-and-join records tasks with
//! their scheduling delay, and every idle task is held, measured and woken.

use dyno_core::params::{Override, Profile};
use dyno_core::{Collector, InProcess, Params, RepeatCtx, Row, RowConfig, Window, Workload};
use dyno_spawn::{HELD, RSS_PER_TASK, SPAWN_FAILED_AT, Spawn, WAKE_ALL};
use std::time::Duration;

/// The cell with these values, the rest as in the spec's quick spawn group.
fn cell(set: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    for (k, v) in [
        ("mode", "spawn"),
        ("tasks", "64"),
        ("body", "empty"),
        ("spawners", "every"),
    ] {
        let v = set.iter().find(|(s, _)| *s == k).map_or(v, |(_, v)| *v);
        let spec = Spawn::spec()
            .params
            .into_iter()
            .find(|s| s.name == k)
            .unwrap();
        p.0.insert(k.into(), spec.parse(v).unwrap());
    }
    Spawn::validate(&p).unwrap();
    p
}

fn ctx() -> RepeatCtx {
    RepeatCtx::new(
        RowConfig {
            cores: dyno_core::os::allowed_cores(),
        },
        Window::starting_in(Duration::from_millis(100), Duration::from_millis(60)),
        Collector::new(true),
    )
}

fn spawned_tasks_are_joined_and_idle_ones_held_and_woken<R: Row>() {
    let c = ctx();
    Spawn::run::<R>(&c, &cell(&[("body", "yield")])).unwrap_or_else(|e| panic!("{}: {e}", R::ID));
    let rec = c.collector.clone().finish();
    assert!(rec.ops > 0, "{}: no task spawned and joined", R::ID);

    let c = ctx();
    let out = Spawn::run::<R>(&c, &cell(&[("mode", "idle"), ("tasks", "2000")]))
        .unwrap_or_else(|e| panic!("{}: {e}", R::ID));
    let rec = c.collector.clone().finish();
    let f = |m| out.get(m).unwrap();
    assert_eq!(f(&HELD), 2000.0, "{}: {out:?}", R::ID);
    assert_eq!(f(&SPAWN_FAILED_AT), 0.0, "{}", R::ID);
    assert_eq!(rec.ops, 2000, "{}: every held task wakes once", R::ID);
    assert!(
        f(&WAKE_ALL) > 0.0 && f(&RSS_PER_TASK).is_finite(),
        "{out:?}"
    );
}

dyno_rows::row_matrix_test!(spawned_tasks_are_joined_and_idle_ones_held_and_woken);

#[test]
fn idle_mode_takes_no_body_or_single_spawner() {
    let overrides: Vec<Override> = ["mode=idle", "body=yield"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let e = Spawn::spec()
        .plan(Profile::Quick, &overrides, Spawn::validate)
        .unwrap_err()
        .to_string();
    assert!(e.contains("body=empty spawners=every"), "{e}");
}
