//! From what a cell process measured to what a cell result says: per-repeat figures, the mean with its
//! 95% CI, merged latency percentiles, and the reasons a figure may be noisy.

use dyno_core::metrics::Declarations;
use dyno_core::os::Usage;
use dyno_core::record::{decode_histogram, encode_histogram, new_histogram};
use dyno_core::schema::{CellOutput, Percentiles, Repeat, Summary};
use dyno_core::stats::{Estimate, NOISY_CV};
use dyno_core::steady::Steady;

/// Share of one core that other processes may use during a cell before it is flagged noisy.
pub const OTHER_CPU_NOISE_CORES: f64 = 0.10;

/// The per-repeat figures, the summary, and the merged histogram (base64) of a finished cell.
pub fn summarize(
    out: &CellOutput,
    process: &Usage,
    other_cpu_cores: Option<f64>,
    declared: &Declarations,
) -> Result<(Vec<Repeat>, Summary, Option<String>), String> {
    if out.repeats.is_empty() {
        return Err("the cell reported no repeats".into());
    }
    let mut merged = new_histogram();
    let mut any_latency = false;
    let mut repeats = Vec::with_capacity(out.repeats.len());
    for (i, r) in out.repeats.iter().enumerate() {
        if r.ops == 0 {
            // Say what the window held instead, e.g. the generator's errors and their first message.
            let errors: Vec<String> = r
                .errors
                .iter()
                .map(|(kind, n)| match r.error_samples.get(kind) {
                    Some(sample) => format!("{n} {kind}: {sample}"),
                    None => format!("{n} {kind}"),
                })
                .collect();
            return Err(format!(
                "repeat {} measured no operations in its window{}",
                i + 1,
                if errors.is_empty() {
                    " and no errors".to_string()
                } else {
                    format!("; errors: {}", errors.join("; "))
                }
            ));
        }
        let latency = match &r.histogram {
            Some(b64) => {
                let h = decode_histogram(b64).map_err(|e| format!("repeat {}: {e}", i + 1))?;
                merged
                    .add(&h)
                    .map_err(|e| format!("repeat {}: histogram does not merge: {e:?}", i + 1))?;
                any_latency = true;
                Some(Percentiles::of(&h))
            }
            None => None,
        };
        let cpu = r.window_usage.cpu_user_s + r.window_usage.cpu_sys_s;
        repeats.push(Repeat {
            throughput_ops_s: r.ops as f64 / r.duration_s,
            ops: r.ops,
            errors: r.errors.values().sum(),
            errors_by_kind: r.errors.clone(),
            error_samples: r.error_samples.clone(),
            steady: r.steady,
            duration_s: r.duration_s,
            cpu_user_s: r.window_usage.cpu_user_s,
            cpu_sys_s: r.window_usage.cpu_sys_s,
            ops_per_cpu_s: if cpu > 0.0 { r.ops as f64 / cpu } else { 0.0 },
            ctx_switches_voluntary: r.window_usage.ctx_switches_voluntary,
            ctx_switches_involuntary: r.window_usage.ctx_switches_involuntary,
            run_delay_s: r.window_usage.run_delay_s,
            latency_ns: latency,
            metrics: r.metrics.clone(),
            round: None,
            started_unix_s: None,
            machine_speed: None,
            sliced: r.sliced,
        });
    }
    let n = repeats.len() as f64;
    let mean = |f: &dyn Fn(&Repeat) -> f64| repeats.iter().map(f).sum::<f64>() / n;
    let tp: Vec<f64> = repeats.iter().map(|r| r.throughput_ops_s).collect();
    let throughput = Estimate::of(&tp).expect("at least one repeat");
    let errors: u64 = repeats.iter().map(|r| r.errors).sum();

    let mut noise = Vec::new();
    if repeats.len() == 1 {
        noise.push("one repeat: the confidence interval is not estimated".to_string());
    } else if throughput.cv() > NOISY_CV {
        noise.push(format!(
            "throughput varies {:.1}% (CV) over {} repeats, above {:.0}%",
            throughput.cv() * 100.0,
            repeats.len(),
            NOISY_CV * 100.0
        ));
    }
    if let Some(other) = other_cpu_cores
        && other > OTHER_CPU_NOISE_CORES
    {
        noise.push(format!(
            "other processes used {:.0}% of a core while the cell ran",
            other * 100.0
        ));
    }
    if errors > 0 {
        noise.push(format!(
            "{errors} failed operations (counted apart from throughput)"
        ));
    }
    if !any_latency {
        noise.push("no latency recorded".into());
    }
    // Steady state, from each repeat's own timeline: settled only after the window opened, or still
    // moving inside it.
    let judged: Vec<&Steady> = repeats.iter().filter_map(|r| r.steady.as_ref()).collect();
    let late: Vec<&&Steady> = judged.iter().filter(|s| !s.settled_in_warmup()).collect();
    if let Some(worst) = late.iter().map(|s| s.settled_after_s).reduce(f64::max) {
        noise.push(format!(
            "throughput settled only {worst:.2} s after the start in {} of {} repeats, past the {} s \
             warm-up (accepted: a longer --warmup)",
            late.len(),
            judged.len(),
            late[0].warmup_s
        ));
    }
    let drifted: Vec<f64> = judged
        .iter()
        .filter(|s| s.drifted())
        .map(|s| s.window_drift)
        .collect();
    if let Some(worst) = drifted.iter().copied().reduce(|a, b| {
        if (a - 1.0).abs() >= (b - 1.0).abs() {
            a
        } else {
            b
        }
    }) {
        noise.push(format!(
            "throughput moved {:+.0}% from the window's first half to its second in {} of {} repeats",
            (worst - 1.0) * 100.0,
            drifted.len(),
            judged.len()
        ));
    }
    // The workload's declared health figures (e.g. a saturated load generator), judged on the worst
    // repeat.
    for m in &declared.metrics {
        let worst = repeats
            .iter()
            .filter_map(|r| r.metrics.get(&m.name).copied())
            .reduce(f64::max);
        if let Some(flag) = worst.and_then(|w| m.health_flag(w)) {
            noise.push(flag);
        }
    }
    // With a client process (a load generator), the OS figure for the cell process includes it once it
    // is reaped; the measured process's own high-water mark is read inside it, at each window's end.
    let peak_rss_bytes = if out.fairness.client_cores.is_empty() {
        process.peak_rss_bytes
    } else {
        out.repeats
            .iter()
            .map(|r| r.window_usage.peak_rss_bytes)
            .max()
            .unwrap_or(0)
    };
    let summary = Summary {
        throughput_ops_s: throughput,
        latency_ns: Percentiles::of(&merged),
        cpu_user_s: mean(&|r| r.cpu_user_s),
        cpu_sys_s: mean(&|r| r.cpu_sys_s),
        ops_per_cpu_s: mean(&|r| r.ops_per_cpu_s),
        peak_rss_bytes,
        ctx_switches_voluntary: mean(&|r| r.ctx_switches_voluntary as f64).round() as u64,
        ctx_switches_involuntary: mean(&|r| r.ctx_switches_involuntary as f64).round() as u64,
        errors,
        noise,
    };
    Ok((
        repeats,
        summary,
        any_latency.then(|| encode_histogram(&merged)),
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use dyno_core::row::Fairness;
    use dyno_core::schema::RawRepeat;
    use std::collections::BTreeMap;

    fn raw(ops: u64, lat: &[u64], errors: u64) -> RawRepeat {
        let mut h = new_histogram();
        for &v in lat {
            h.record(v).unwrap();
        }
        let mut e = BTreeMap::new();
        if errors > 0 {
            e.insert("lagged".to_string(), errors);
        }
        RawRepeat {
            ops,
            errors: e,
            error_samples: Default::default(),
            steady: None,
            duration_s: 2.0,
            window_usage: Usage {
                cpu_user_s: 1.5,
                cpu_sys_s: 0.5,
                ..Usage::default()
            },
            histogram: Some(encode_histogram(&h)),
            metrics: BTreeMap::new(),
            window_monotonic_ns: None,
            sliced: None,
        }
    }

    /// A fairness block for the driver's tests.
    pub(crate) fn fairness() -> Fairness {
        Fairness {
            cores: vec![0],
            client_cores: vec![],
            client_host: None,
            workers: 1,
            io: "epoll".into(),
            model: "m".into(),
            pinned: false,
            notes: vec![],
        }
    }

    fn out(repeats: Vec<RawRepeat>) -> CellOutput {
        CellOutput {
            fairness: fairness(),
            repeats,
            skipped: None,
        }
    }

    #[test]
    fn repeats_become_rates_with_an_interval_and_merged_percentiles() {
        let o = out(vec![
            raw(2000, &[100, 200], 0),
            raw(2200, &[300], 0),
            raw(1800, &[400], 0),
        ]);
        let (reps, s, hist) = summarize(
            &o,
            &Usage {
                peak_rss_bytes: 42,
                ..Usage::default()
            },
            Some(0.0),
            &Declarations::default(),
        )
        .unwrap();
        assert_eq!(reps[0].throughput_ops_s, 1000.0);
        assert_eq!(reps[0].ops_per_cpu_s, 1000.0);
        assert!((s.throughput_ops_s.mean - 1000.0).abs() < 1e-9);
        assert!(s.throughput_ops_s.ci95_low < 1000.0 && s.throughput_ops_s.ci95_high > 1000.0);
        assert_eq!(s.latency_ns.count, 4);
        assert!(s.latency_ns.max >= 400 && s.latency_ns.p50 >= 200);
        assert_eq!(s.peak_rss_bytes, 42);
        assert!(s.noise.is_empty(), "{:?}", s.noise);
        assert!(hist.is_some());
    }

    #[test]
    fn a_warmup_the_data_outlasted_and_a_moving_window_are_flagged() {
        let steady = |settled_after_s, window_drift| {
            Some(Steady {
                settled_after_s,
                warmup_s: 0.5,
                window_drift,
                blocks: 8,
                block_cv: Some(0.01),
            })
        };
        let mut reps = vec![
            raw(2000, &[100], 0),
            raw(2000, &[100], 0),
            raw(2000, &[100], 0),
        ];
        reps[0].steady = steady(0.2, 1.0);
        reps[1].steady = steady(0.9, 1.25);
        let (_, s, _) = summarize(
            &out(reps),
            &Usage::default(),
            None,
            &Declarations::default(),
        )
        .unwrap();
        let all = s.noise.join("; ");
        assert!(
            all.contains(
                "settled only 0.90 s after the start in 1 of 2 repeats, past the 0.5 s warm-up"
            ),
            "{all}"
        );
        assert!(
            all.contains("moved +25% from the window's first half to its second in 1 of 2"),
            "{all}"
        );
    }

    #[test]
    fn noise_and_errors_are_flagged_not_hidden() {
        let o = out(vec![raw(1000, &[1], 5), raw(3000, &[1], 0)]);
        let (_, s, _) =
            summarize(&o, &Usage::default(), Some(0.5), &Declarations::default()).unwrap();
        assert_eq!(s.errors, 5);
        let all = s.noise.join("; ");
        assert!(
            all.contains("CV")
                && all.contains("other processes")
                && all.contains("failed operations"),
            "{all}"
        );
    }

    #[test]
    fn an_empty_repeat_is_a_failure() {
        let none = Declarations::default();
        assert!(summarize(&out(vec![raw(0, &[], 0)]), &Usage::default(), None, &none).is_err());
        assert!(summarize(&out(vec![]), &Usage::default(), None, &none).is_err());
    }

    #[test]
    fn a_declared_health_figure_flags_the_worst_repeat_only_above_its_limit() {
        use dyno_core::metrics::{Better, Metric, Role, SHARE};
        let busy = Metric::figure("client_busy", SHARE, Better::Lower, "")
            .with_role(Role::Health { max: 0.9 })
            .with_flag("the client kept {value} busy");
        let declared = Declarations {
            metrics: vec![busy.spec()],
            ..Default::default()
        };
        let with = |v: f64| {
            let mut r = raw(1000, &[1], 0);
            r.metrics.insert("client_busy".into(), v);
            r
        };
        let o = out(vec![with(0.5), with(0.95)]);
        let (_, s, _) = summarize(&o, &Usage::default(), None, &declared).unwrap();
        assert!(
            s.noise.iter().any(|n| n == "the client kept 95% busy"),
            "{:?}",
            s.noise
        );
        let o = out(vec![with(0.5), with(0.6)]);
        let (_, s, _) = summarize(&o, &Usage::default(), None, &declared).unwrap();
        assert!(
            !s.noise.iter().any(|n| n.contains("client")),
            "{:?}",
            s.noise
        );
    }
}
