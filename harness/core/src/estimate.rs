//! Which estimator summarises a cell's throughput, chosen from the shape of its repeats: the mean with a
//! Student-t interval for one normal-ish cluster; the median with a distribution-free interval (order
//! statistics) when the repeats fall in two modes or one is an outlier, because a mean ± t then
//! describes neither behaviour (a reference run gave one cell a t interval of −565k to 18.8M ops/s).

use crate::human::si;
use crate::stats::Estimate;
use serde::{Deserialize, Serialize};

/// The smallest relative gap between two groups of repeats that counts as two modes.
pub const MODE_GAP: f64 = 0.10;

/// How much a regime signal (e.g. voluntary context switches per operation) must differ between two
/// groups of repeats, median against median, to corroborate a split the throughputs alone cannot
/// establish (a group of one repeat).
pub const SIGNAL_RATIO: f64 = 2.0;

/// A repeat further than this many scaled median absolute deviations from the median is an outlier
/// (3.5 is Iglewicz and Hoaglin's cut-off for the modified z-score).
pub const OUTLIER_MADS: f64 = 3.5;

/// The fewest repeats that give a distribution-free 95% interval for the median: with 6, the
/// smallest and largest repeat cover it with probability 1 − 2/2⁶ = 96.9%.
pub const MEDIAN_CI_MIN: usize = 6;

/// The estimator a figure was summarised with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// The mean with a Student-t 95% interval.
    Mean,
    /// The median with an order-statistics 95% interval (none below [`MEDIAN_CI_MIN`] repeats).
    Median,
}

impl std::fmt::Display for Estimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Estimator::Mean => "mean",
            Estimator::Median => "median",
        })
    }
}

/// A figure summarised by the estimator its repeats called for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chosen {
    pub estimator: Estimator,
    pub value: f64,
    /// The 95% interval, where the estimator gives one with these repeats.
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    /// Why this estimator, in words.
    pub why: String,
    /// The two modes, in words, when the repeats show them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modes: Option<String>,
}

impl Chosen {
    /// How far the interval reaches from the value either way, as a share of it; `None` without one.
    pub fn half_width_rel(&self) -> Option<f64> {
        let (lo, hi) = (self.ci95_low?, self.ci95_high?);
        (self.value != 0.0).then(|| ((hi - self.value).max(self.value - lo)) / self.value.abs())
    }
}

/// Choose the estimator for throughputs `xs`, given each repeat's regime signal (`signal[i]` beside
/// `xs[i]`, or empty). `None` for no repeats.
pub fn choose(xs: &[f64], signal: &[f64]) -> Option<Chosen> {
    let mean = Estimate::of(xs)?;
    let n = xs.len();
    let modes = modes(xs, signal);
    let outlier = outlier(xs);
    if modes.is_none() && outlier.is_none() {
        return Some(Chosen {
            estimator: Estimator::Mean,
            value: mean.mean,
            ci95_low: (n >= 2).then_some(mean.ci95_low),
            ci95_high: (n >= 2).then_some(mean.ci95_high),
            why: if n >= 2 {
                "one cluster: mean with a Student-t interval".into()
            } else {
                "one repeat: mean, no interval".into()
            },
            modes: None,
        });
    }
    let ci = median_ci95(xs);
    let shape = match (&modes, outlier) {
        (Some(m), _) => m.clone(),
        (None, Some(x)) => format!(
            "one repeat ({}) beyond {OUTLIER_MADS} median absolute deviations",
            si(x)
        ),
        (None, None) => unreachable!("handled above"),
    };
    let interval = match ci {
        Some(_) => "an order-statistics interval".to_string(),
        None => format!("no distribution-free interval below {MEDIAN_CI_MIN} repeats (it has {n})"),
    };
    Some(Chosen {
        estimator: Estimator::Median,
        value: median(xs),
        ci95_low: ci.map(|c| c.0),
        ci95_high: ci.map(|c| c.1),
        why: format!("{shape}: median, {interval}"),
        modes,
    })
}

/// The median of `xs` (not empty).
pub fn median(xs: &[f64]) -> f64 {
    let v = sorted(xs);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The distribution-free 95% interval of the median: the k-th smallest and k-th largest repeat, for
/// the largest k whose interval still covers the median with probability ≥ 95% (binomial with p ½).
/// `None` below [`MEDIAN_CI_MIN`] repeats.
pub fn median_ci95(xs: &[f64]) -> Option<(f64, f64)> {
    let n = xs.len();
    if n < MEDIAN_CI_MIN {
        return None;
    }
    // P(B <= j) for B ~ Binomial(n, 1/2), accumulated in log space so large n does not overflow.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0f64;
    let mut below = 0.0; // P(B <= k - 1)
    let mut k = 0;
    for j in 0..n / 2 {
        if j > 0 {
            ln_choose += ((n - j + 1) as f64).ln() - (j as f64).ln();
        }
        let next = below + (ln_choose + ln_half_n).exp();
        if 2.0 * next > 1.0 - crate::stats::CONFIDENCE {
            break;
        }
        below = next;
        k = j + 1;
    }
    let v = sorted(xs);
    let k = k.max(1);
    Some((v[k - 1], v[n - k]))
}

/// Two behaviours rather than one noisy one. The sorted repeats split at their widest gap, which must
/// exceed [`MODE_GAP`] of the lower group's mean, and either both groups hold two repeats or more and
/// the gap exceeds twice the wider group's own spread, or (from 3 repeats) the regime signal
/// separates the same groups: every repeat of one group above every repeat of the other, medians
/// [`SIGNAL_RATIO`] apart. Returns the groups in words.
pub fn modes(xs: &[f64], signal: &[f64]) -> Option<String> {
    let n = xs.len();
    if n < 3 {
        return None;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let v: Vec<f64> = idx.iter().map(|&i| xs[i]).collect();
    let (split, gap) = (1..n)
        .map(|i| (i, v[i] - v[i - 1]))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let (lo, hi) = v.split_at(split);
    let spread = |g: &[f64]| g[g.len() - 1] - g[0];
    let mean = |g: &[f64]| g.iter().sum::<f64>() / g.len() as f64;
    if gap <= MODE_GAP * mean(lo) {
        return None;
    }
    let by_gap = lo.len() >= 2 && hi.len() >= 2 && gap > 2.0 * spread(lo).max(spread(hi));
    let by_signal = signal.len() == n && {
        let group = |r: &[usize]| -> Vec<f64> { r.iter().map(|&i| signal[i]).collect() };
        let (slo, shi) = (group(&idx[..split]), group(&idx[split..]));
        separated(&slo, &shi)
    };
    (by_gap || by_signal).then(|| {
        format!(
            "two modes: {} repeats near {}, {} near {}{}",
            hi.len(),
            si(mean(hi)),
            lo.len(),
            si(mean(lo)),
            if by_signal && !by_gap {
                " (the split shows in voluntary context switches per operation too)"
            } else {
                ""
            }
        )
    })
}

/// Whether two groups of a signal do not overlap and their medians are [`SIGNAL_RATIO`] apart.
fn separated(a: &[f64], b: &[f64]) -> bool {
    let (ma, mb) = (median(a), median(b));
    let (lo, hi) = if ma <= mb { (a, b) } else { (b, a) };
    let max_lo = lo.iter().copied().fold(f64::MIN, f64::max);
    let min_hi = hi.iter().copied().fold(f64::MAX, f64::min);
    max_lo < min_hi && ma.min(mb) > 0.0 && ma.max(mb) / ma.min(mb) >= SIGNAL_RATIO
}

/// The repeat furthest from the median when it lies beyond [`OUTLIER_MADS`] scaled median absolute
/// deviations (from 5 repeats; fewer cannot tell an outlier from the spread).
pub fn outlier(xs: &[f64]) -> Option<f64> {
    if xs.len() < 5 {
        return None;
    }
    let m = median(xs);
    let dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    // 1.4826 scales the MAD to a normal distribution's standard deviation.
    let mad = 1.4826 * median(&dev);
    let (i, d) = dev.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    (mad > 0.0 && *d > OUTLIER_MADS * mad).then_some(xs[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cluster_is_summarised_by_the_mean_and_its_t_interval() {
        let c = choose(&[100.0, 104.0, 98.0, 101.0], &[]).unwrap();
        assert_eq!(c.estimator, Estimator::Mean);
        assert!((c.value - 100.75).abs() < 1e-9);
        assert!(c.half_width_rel().unwrap() < 0.05);
    }

    #[test]
    fn modes_from_three_repeats_need_the_regime_signal_to_agree() {
        let xs = [3.6e6, 9.1e6, 8.8e6];
        // Throughputs alone: a group of one cannot be told from noise.
        assert_eq!(modes(&xs, &[]), None);
        // Voluntary context switches per op: the slow repeat switched 8 times as often.
        let m = modes(&xs, &[0.008, 0.001, 0.0012]).expect("corroborated");
        assert!(
            m.contains("2 repeats near 8.95M") && m.contains("1 near 3.6M"),
            "{m}"
        );
        // A signal that does not separate the groups corroborates nothing.
        assert_eq!(modes(&xs, &[0.004, 0.008, 0.001]), None);
        let c = choose(&xs, &[0.008, 0.001, 0.0012]).unwrap();
        assert_eq!((c.estimator, c.value), (Estimator::Median, 8.8e6));
        assert_eq!(c.half_width_rel(), None, "no interval from 3 repeats");
        assert!(c.why.contains("below 6 repeats"), "{}", c.why);
    }

    #[test]
    fn two_separate_groups_are_modes_and_noise_is_not() {
        let m = modes(&[100.0, 102.0, 300.0, 305.0, 101.0], &[]).unwrap();
        assert!(
            m.contains("2 repeats near 302") && m.contains("3 near 101"),
            "{m}"
        );
        assert_eq!(modes(&[100.0, 120.0, 140.0, 160.0, 180.0], &[]), None);
        assert_eq!(modes(&[100.0, 100.0, 105.0, 105.0], &[]), None);
    }

    #[test]
    fn the_median_interval_is_the_order_statistics_that_cover_95_percent() {
        assert_eq!(median_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]), None);
        let six: Vec<f64> = (1..=6).map(f64::from).collect();
        assert_eq!(median_ci95(&six), Some((1.0, 6.0)));
        // n = 10: [x2, x9] covers 97.9%; [x3, x8] only 89.1%.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(median_ci95(&ten), Some((2.0, 9.0)));
        // n = 20: [x6, x15] (95.9%).
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(median_ci95(&twenty), Some((6.0, 15.0)));
    }

    #[test]
    fn one_far_repeat_is_an_outlier_and_moves_the_estimate_to_the_median() {
        let xs = [100.0, 101.0, 99.0, 102.0, 100.0, 160.0];
        assert_eq!(outlier(&xs), Some(160.0));
        let c = choose(&xs, &[]).unwrap();
        assert_eq!(c.estimator, Estimator::Median);
        assert_eq!((c.ci95_low, c.ci95_high), (Some(99.0), Some(160.0)));
        assert_eq!(outlier(&[100.0, 101.0, 99.0, 102.0, 100.0]), None);
    }
}
