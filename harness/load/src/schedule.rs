//! Rate schedules of the open loop (`dyno load -R`): a constant rate, steps, a spike or a ramp, as
//! phases the generator walks through. Each connection computes its next intended send from the rate
//! at its last one, and latency still counts from the intended time, so every phase stays
//! coordinated-omission safe. Time is measured from the window's start; the warm-up runs at the first
//! phase's rate and the last phase's final rate holds until the run ends.

use serde::{Deserialize, Serialize};

/// One phase: `rate` requests per second at its start, `to` at its end (a linear ramp; `None`: the
/// rate holds), for `secs` seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<f64>,
    pub secs: f64,
}

impl Phase {
    fn flat(rate: f64, secs: f64) -> Phase {
        Phase {
            rate,
            to: None,
            secs,
        }
    }

    fn end_rate(&self) -> f64 {
        self.to.unwrap_or(self.rate)
    }
}

/// A schedule: its phases in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub phases: Vec<Phase>,
}

/// The forms `-R` accepts, for error messages and `--help`.
pub const FORMS: &str = "RATE (constant, e.g. 50k), steps RATE:DURATION,... (e.g. \
                         10k:5s,50k:5s,90k:5s), spike:BASE:FACTOR:AT:FOR (e.g. spike:5k:10:4s:2s: 5k, \
                         then 50k from 4 s for 2 s, then 5k again), ramp:FROM:TO:DURATION (e.g. \
                         ramp:1k:50k:10s); rates take k and M, durations ms, s and m";

/// A schedule that does not parse: what was given, what is wrong, and the accepted forms.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed rate schedule {given:?}: {why}; accepted: {FORMS}")]
pub struct BadSchedule {
    pub given: String,
    pub why: String,
}

impl Schedule {
    /// `rate` requests per second throughout.
    pub fn constant(rate: f64) -> Schedule {
        Schedule {
            phases: vec![Phase::flat(rate, 0.0)],
        }
    }

    /// Parse one of the [`FORMS`].
    pub fn parse(s: &str) -> Result<Schedule, BadSchedule> {
        let bad = |why: String| BadSchedule {
            given: s.to_string(),
            why,
        };
        let t = s.trim();
        let phases = if let Some(rest) = t.strip_prefix("spike:") {
            let f: Vec<&str> = rest.split(':').collect();
            let [base, factor, at, lasts] = f[..] else {
                return Err(bad("a spike has four fields, BASE:FACTOR:AT:FOR".into()));
            };
            let (base, factor) = (rate(base).map_err(bad)?, number(factor).map_err(bad)?);
            vec![
                Phase::flat(base, secs(at).map_err(bad)?),
                Phase::flat(base * factor, secs(lasts).map_err(bad)?),
                Phase::flat(base, 0.0),
            ]
        } else if let Some(rest) = t.strip_prefix("ramp:") {
            let f: Vec<&str> = rest.split(':').collect();
            let [from, to, lasts] = f[..] else {
                return Err(bad("a ramp has three fields, FROM:TO:DURATION".into()));
            };
            vec![Phase {
                rate: rate(from).map_err(bad)?,
                to: Some(rate(to).map_err(bad)?),
                secs: secs(lasts).map_err(bad)?,
            }]
        } else if t.contains(':') {
            t.split(',')
                .map(|step| {
                    let (r, d) = step
                        .split_once(':')
                        .ok_or_else(|| bad(format!("step {step:?} is not RATE:DURATION")))?;
                    Ok(Phase::flat(rate(r).map_err(bad)?, secs(d).map_err(bad)?))
                })
                .collect::<Result<_, _>>()?
        } else {
            vec![Phase::flat(rate(t).map_err(bad)?, 0.0)]
        };
        Ok(Schedule { phases })
    }

    /// Whether the rate never changes.
    pub fn is_constant(&self) -> bool {
        let first = self.phases[0].rate;
        self.phases
            .iter()
            .all(|p| p.rate == first && p.end_rate() == first)
    }

    /// The offered rate `t` seconds after the window's start (the first phase's before it).
    pub fn rate_at(&self, t: f64) -> f64 {
        let mut from = 0.0;
        for p in &self.phases {
            if t < from + p.secs {
                let into = ((t - from) / p.secs).max(0.0);
                return p.rate + (p.end_rate() - p.rate) * into;
            }
            from += p.secs;
        }
        self.phases.last().map_or(0.0, Phase::end_rate)
    }

    /// Where each phase starts and ends, in seconds from the window's start; the last ends at `end`
    /// (the window's length), and phases past it are left out.
    pub fn spans(&self, end: f64) -> Vec<(f64, f64)> {
        let mut from = 0.0;
        let mut out = Vec::new();
        for (i, p) in self.phases.iter().enumerate() {
            let to = if i + 1 == self.phases.len() {
                end
            } else {
                (from + p.secs).min(end)
            };
            if to > from {
                out.push((from, to));
            }
            from += p.secs;
            if from >= end {
                break;
            }
        }
        out
    }

    /// The phase `t` seconds after the window's start falls in, an index into [`Schedule::spans`]
    /// (the first before the window, the last after it).
    pub fn phase_at(&self, t: f64, spans: &[(f64, f64)]) -> usize {
        spans
            .iter()
            .position(|&(_, to)| t < to)
            .unwrap_or(spans.len().saturating_sub(1))
    }

    /// The mean rate offered between `a` and `b` seconds (`b` > `a`); a constant rate exactly.
    pub fn mean_rate(&self, a: f64, b: f64) -> f64 {
        if self.is_constant() {
            return self.phases[0].rate;
        }
        self.offered(a, b) / (b - a)
    }

    /// Requests offered between `a` and `b` seconds (the rate's integral, by 1 ms steps).
    pub fn offered(&self, a: f64, b: f64) -> f64 {
        let step = 1e-3;
        let n = ((b - a) / step).ceil().max(0.0) as usize;
        (0..n)
            .map(|i| {
                let t0 = a + i as f64 * step;
                let t1 = (t0 + step).min(b);
                self.rate_at((t0 + t1) / 2.0) * (t1 - t0)
            })
            .sum()
    }
}

/// A rate: a positive number with an optional `k` or `M`.
fn rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix(['k', 'K']) {
        Some(n) => (n, 1e3),
        None => match t.strip_suffix('M') {
            Some(n) => (n, 1e6),
            None => (t, 1.0),
        },
    };
    let v = num.parse::<f64>().map(|v| v * scale).unwrap_or(f64::NAN);
    if !(v.is_finite() && v > 0.0) {
        return Err(format!(
            "{s:?} is not a positive rate in requests per second"
        ));
    }
    Ok(v)
}

/// A positive factor.
fn number(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive factor")),
    }
}

/// A positive duration.
fn secs(s: &str) -> Result<f64, String> {
    dyno_core::cli::parse_seconds(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_form_parses_into_its_phases() {
        assert_eq!(Schedule::parse("50k").unwrap(), Schedule::constant(50e3));
        assert!(Schedule::parse("50k").unwrap().is_constant());
        let steps = Schedule::parse("10k:5s,50k:500ms,1.5M:1m").unwrap();
        let got: Vec<(f64, f64)> = steps.phases.iter().map(|p| (p.rate, p.secs)).collect();
        assert_eq!(got, [(10e3, 5.0), (50e3, 0.5), (1.5e6, 60.0)]);
        let spike = Schedule::parse("spike:5k:10:4s:2s").unwrap();
        assert_eq!(spike.rate_at(1.0), 5e3);
        assert_eq!(spike.rate_at(4.5), 50e3);
        assert_eq!(spike.rate_at(6.5), 5e3);
        assert!(!spike.is_constant());
        let ramp = Schedule::parse("ramp:1k:3k:10s").unwrap();
        assert_eq!(
            ramp.rate_at(-1.0),
            1e3,
            "the warm-up runs at the first rate"
        );
        assert_eq!(ramp.rate_at(5.0), 2e3);
        assert_eq!(ramp.rate_at(30.0), 3e3, "the last rate holds");
    }

    #[test]
    fn a_malformed_schedule_says_what_is_wrong_and_lists_the_forms() {
        for (given, why) in [
            ("", "not a positive rate"),
            ("-5", "not a positive rate"),
            ("fast", "not a positive rate"),
            ("10k:5s,50k", "not RATE:DURATION"),
            ("10k:soon", "soon"),
            ("spike:5k:10:4s", "four fields"),
            ("spike:5k:0:4s:2s", "not a positive factor"),
            ("ramp:1k:5s", "three fields"),
            ("0:5s", "not a positive rate"),
        ] {
            let e = Schedule::parse(given).unwrap_err().to_string();
            assert!(e.contains(why), "{given:?}: {e}");
            assert!(e.contains("accepted: RATE (constant"), "{e}");
        }
    }

    #[test]
    fn spans_cut_the_window_into_phases_and_find_a_time_s_phase() {
        let s = Schedule::parse("10k:2s,90k:2s,10k:2s").unwrap();
        assert_eq!(s.spans(6.0), [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]);
        // A window shorter than the schedule drops the phases past it; a longer one stretches the last.
        assert_eq!(s.spans(3.0), [(0.0, 2.0), (2.0, 3.0)]);
        assert_eq!(s.spans(9.0).last(), Some(&(4.0, 9.0)));
        let spans = s.spans(6.0);
        assert_eq!(s.phase_at(-0.5, &spans), 0);
        assert_eq!(s.phase_at(2.5, &spans), 1);
        assert_eq!(s.phase_at(7.0, &spans), 2);
    }

    proptest! {
        #[test]
        fn steps_offer_each_phase_s_rate_times_its_length(
            steps in proptest::collection::vec((1u32..100_000, 1u32..5_000), 1..6),
        ) {
            let text: Vec<String> = steps.iter().map(|(r, ms)| format!("{r}:{ms}ms")).collect();
            let s = Schedule::parse(&text.join(",")).unwrap();
            let total: f64 = steps.iter().map(|&(r, ms)| r as f64 * ms as f64 / 1e3).sum();
            let span: f64 = steps.iter().map(|&(_, ms)| ms as f64 / 1e3).sum();
            let got = s.offered(0.0, span);
            prop_assert!((got - total).abs() <= total * 1e-6 + 1e-6, "{} against {}", got, total);
            for (i, &(from, to)) in s.spans(span).iter().enumerate() {
                prop_assert_eq!(s.rate_at((from + to) / 2.0), steps[i].0 as f64);
            }
        }
    }
}
