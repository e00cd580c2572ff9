//! Ratios between two cells, paired by round: in each round both cells ran one repeat close together
//! in time (or at once, time-sliced: then only those rounds pair, `schema::paired_rounds`), so the
//! ratio of those two repeats cancels the drift both saw; the ratio's 95% interval
//! comes from those per-round ratios (geometric mean, Student t on their logarithms). Runs from before
//! rounds fall back to the ratio of the two means with a conservative interval from the two intervals.

use dyno_core::schema::{CellResult, Status};
use dyno_core::stats::Estimate;

/// `a` over `b` with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    pub est: Estimate,
    /// Paired by round (else from two independent intervals).
    pub paired: bool,
}

impl Ratio {
    /// Whether the interval excludes 1: the two sides are told apart.
    pub fn resolved(&self) -> bool {
        self.est.resolves_ratio()
    }

    /// How far the interval reaches from the ratio, in percent (the precision of "no difference").
    pub fn half_width_pct(&self) -> f64 {
        let e = &self.est;
        let m = e.mean.max(f64::MIN_POSITIVE);
        ((e.ci95_high / m - 1.0).max(1.0 - e.ci95_low / m)) * 100.0
    }

    /// `1.23× [1.10–1.37]`.
    pub fn text(&self) -> String {
        let hi = if self.est.ci95_high.is_finite() {
            format!("{:.2}", self.est.ci95_high)
        } else {
            "∞".into()
        };
        format!("{:.2}× [{:.2}–{hi}]", self.est.mean, self.est.ci95_low)
    }
}

/// Throughput of `a` over `b`, both ok cells; `None` when either is not ok or they share no round in
/// a run that has rounds.
pub fn throughput(a: &CellResult, b: &CellResult) -> Option<Ratio> {
    figure(a, b, None)
}

/// Declared figure `name` (throughput when `None`) of `a` over `b`, paired by round; `None` when either
/// cell is not ok, lacks the figure, or they share no round. A figure has no unpaired fallback: only
/// throughput has a summary interval to fall back on.
pub fn figure(a: &CellResult, b: &CellResult, name: Option<&str>) -> Option<Ratio> {
    if a.status != Status::Ok || b.status != Status::Ok {
        return None;
    }
    let value = |r: &dyno_core::schema::Repeat| match name {
        None => Some(r.throughput_ops_s),
        Some(n) => r.metrics.get(n).copied(),
    };
    let rounds =
        |c: &CellResult| c.repeats.iter().all(|r| r.round.is_some()) && !c.repeats.is_empty();
    if rounds(a) && rounds(b) {
        let key = |r: &dyno_core::schema::Repeat| Some((r.round?, r.sliced.is_some()));
        let ratios: Vec<f64> = dyno_core::schema::paired_rounds(&a.repeats, &b.repeats, key)
            .into_iter()
            .filter_map(|(ra, rb)| Some(value(ra)? / value(rb)?))
            .collect();
        return Estimate::of_ratios(&ratios).map(|est| Ratio { est, paired: true });
    }
    if name.is_some() {
        return None;
    }
    let (ta, tb) = (
        a.summary.as_ref()?.throughput_ops_s,
        b.summary.as_ref()?.throughput_ops_s,
    );
    let pos = |x: f64| x.max(f64::MIN_POSITIVE);
    Some(Ratio {
        est: Estimate {
            mean: ta.mean / pos(tb.mean),
            // A throughput cannot be negative, whatever a wide t interval says.
            ci95_low: ta.ci95_low.max(0.0) / pos(tb.ci95_high),
            ci95_high: ta.ci95_high / pos(tb.ci95_low),
            stddev: 0.0,
            n: ta.n.min(tb.n),
        },
        paired: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    /// Two ok cells of the fixture with their repeats' throughputs set, one per round.
    fn cells(a: &[f64], b: &[f64], rounds: bool) -> (CellResult, CellResult) {
        let run = fixture::run();
        let ok: Vec<&CellResult> = run
            .cells
            .iter()
            .filter(|c| c.status == Status::Ok)
            .collect();
        let set = |c: &CellResult, xs: &[f64]| {
            let mut c = c.clone();
            let r0 = c.repeats[0].clone();
            c.repeats = xs
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let mut r = r0.clone();
                    r.throughput_ops_s = *x;
                    r.round = rounds.then_some(i);
                    r
                })
                .collect();
            c.summary.as_mut().unwrap().throughput_ops_s = Estimate::of(xs).unwrap();
            c
        };
        (set(ok[0], a), set(ok[1], b))
    }

    #[test]
    fn drift_both_sides_saw_cancels_when_paired_by_round() {
        // The machine halves its speed in the middle rounds; a is 10% ahead in every round.
        let b = [100.0, 50.0, 50.0, 100.0, 80.0];
        let a: Vec<f64> = b.iter().map(|x| x * 1.1).collect();
        let (ca, cb) = cells(&a, &b, true);
        let r = throughput(&ca, &cb).unwrap();
        assert!(r.paired && r.resolved(), "{r:?}");
        assert!((r.est.mean - 1.1).abs() < 1e-9, "{r:?}");
        // The same figures without rounds: two wide intervals that overlap, nothing resolved.
        let (ca, cb) = cells(&a, &b, false);
        let r = throughput(&ca, &cb).unwrap();
        assert!(!r.paired && !r.resolved(), "{r:?}");
        assert!(r.half_width_pct() > 10.0);
    }

    #[test]
    fn a_ratio_needs_two_rounds_and_both_cells_ok() {
        let (ca, cb) = cells(&[110.0], &[100.0], true);
        assert!(!throughput(&ca, &cb).unwrap().resolved());
        let (ca, mut cb) = cells(&[110.0, 111.0], &[100.0, 100.0], true);
        assert!(throughput(&ca, &cb).unwrap().resolved());
        cb.status = Status::Failed;
        assert_eq!(throughput(&ca, &cb), None);
    }
}
