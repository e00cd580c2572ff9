//! Statistics over repeats: the mean with a two-sided 95% Student-t confidence interval, and the
//! coefficient of variation used to flag noisy cells.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of every interval dyno reports.
pub const CONFIDENCE: f64 = 0.95;

/// Coefficient of variation above which a cell is flagged noisy.
pub const NOISY_CV: f64 = 0.10;

/// A mean and its 95% confidence interval. With one sample the interval collapses onto the mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub mean: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    /// Sample standard deviation (0 for one sample).
    pub stddev: f64,
    pub n: usize,
}

impl Estimate {
    /// Estimate the mean of `xs`; `None` when `xs` is empty.
    pub fn of(xs: &[f64]) -> Option<Estimate> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Some(Estimate {
                mean,
                ci95_low: mean,
                ci95_high: mean,
                stddev: 0.0,
                n,
            });
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let stddev = var.sqrt();
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
            .expect("n >= 2 gives a valid t distribution")
            .inverse_cdf(1.0 - (1.0 - CONFIDENCE) / 2.0);
        let half = t * stddev / (n as f64).sqrt();
        Some(Estimate {
            mean,
            ci95_low: mean - half,
            ci95_high: mean + half,
            stddev,
            n,
        })
    }

    /// Coefficient of variation (stddev / mean); 0 when the mean is 0.
    pub fn cv(&self) -> f64 {
        if self.mean == 0.0 {
            0.0
        } else {
            self.stddev / self.mean.abs()
        }
    }

    /// Half-width of the 95% interval as a share of the mean; `None` below two samples or at a zero mean.
    pub fn half_width_rel(&self) -> Option<f64> {
        (self.n >= 2 && self.mean != 0.0).then(|| (self.ci95_high - self.mean) / self.mean.abs())
    }

    /// The geometric mean of positive ratios with its 95% interval (Student t on their logarithms);
    /// `None` when no ratio is positive. Ratios paired by round (a over b measured in the same round)
    /// cancel the drift both sides saw.
    pub fn of_ratios(ratios: &[f64]) -> Option<Estimate> {
        let logs: Vec<f64> = ratios
            .iter()
            .filter(|r| **r > 0.0 && r.is_finite())
            .map(|r| r.ln())
            .collect();
        Estimate::of(&logs).map(|e| Estimate {
            mean: e.mean.exp(),
            ci95_low: e.ci95_low.exp(),
            ci95_high: e.ci95_high.exp(),
            stddev: e.stddev,
            n: e.n,
        })
    }

    /// For a ratio (from [`Estimate::of_ratios`]): whether its interval excludes 1, i.e. the two sides
    /// are told apart at 95%. One pair never resolves anything.
    pub fn resolves_ratio(&self) -> bool {
        self.n >= 2 && (self.ci95_low > 1.0 || self.ci95_high < 1.0)
    }

    /// For a ratio (from [`Estimate::of_ratios`], whose `stddev` is that of the log ratios): the
    /// two-sided p-value of "the ratio is 1" (Student t on the log ratios); `None` below two pairs.
    pub fn ratio_p_value(&self) -> Option<f64> {
        if self.n < 2 || self.mean.is_nan() || self.mean <= 0.0 {
            return None;
        }
        let df = (self.n - 1) as f64;
        let se = self.stddev / (self.n as f64).sqrt();
        if se == 0.0 {
            return Some(if self.mean == 1.0 { 1.0 } else { 0.0 });
        }
        let t = (self.mean.ln() / se).abs();
        let dist = StudentsT::new(0.0, 1.0, df).expect("n >= 2 gives a valid t distribution");
        Some((2.0 * (1.0 - dist.cdf(t))).clamp(0.0, 1.0))
    }

    /// Whether two estimates' intervals overlap (no significant difference).
    pub fn overlaps(&self, other: &Estimate) -> bool {
        self.ci95_low <= other.ci95_high && other.ci95_low <= self.ci95_high
    }
}

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom (`df` >= 1).
pub fn t975(df: usize) -> f64 {
    StudentsT::new(0.0, 1.0, df.max(1) as f64)
        .expect("df >= 1 gives a valid t distribution")
        .inverse_cdf(1.0 - (1.0 - CONFIDENCE) / 2.0)
}

/// Benjamini–Hochberg at false discovery rate `q`: which of `p_values` are discoveries (the `k` smallest,
/// `k` the largest rank with `p_(k) <= k q / m`); `None` entries are not tested and never discoveries.
pub fn benjamini_hochberg(p_values: &[Option<f64>], q: f64) -> Vec<bool> {
    let mut tested: Vec<(usize, f64)> = p_values
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p)))
        .collect();
    tested.sort_by(|a, b| a.1.total_cmp(&b.1));
    let m = tested.len() as f64;
    let k = tested
        .iter()
        .enumerate()
        .rev()
        .find(|(rank, (_, p))| *p <= (*rank as f64 + 1.0) * q / m)
        .map_or(0, |(rank, _)| rank + 1);
    let mut out = vec![false; p_values.len()];
    for (i, _) in &tested[..k] {
        out[*i] = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benjamini_hochberg_keeps_the_step_up_set() {
        // m = 5 tested, q = 0.05: thresholds 0.01, 0.02, 0.03, 0.04, 0.05. The third p (0.03) passes
        // its threshold, so the two below it are kept with it even though 0.021 > 0.02.
        let p = [
            Some(0.001),
            Some(0.021),
            Some(0.03),
            Some(0.2),
            None,
            Some(0.9),
        ];
        assert_eq!(
            benjamini_hochberg(&p, 0.05),
            vec![true, true, true, false, false, false]
        );
        // Nothing passes: nothing kept, whatever the single p-values say against 0.05 alone.
        let p = [Some(0.02), Some(0.04), Some(0.06)];
        assert_eq!(benjamini_hochberg(&p, 0.05), vec![false, false, false]);
        assert!(benjamini_hochberg(&[], 0.05).is_empty());
    }

    #[test]
    fn a_ratio_whose_interval_excludes_one_has_a_p_value_below_five_percent() {
        let e = Estimate::of_ratios(&[1.10, 1.12, 1.09, 1.11]).unwrap();
        assert!(e.resolves_ratio());
        assert!(e.ratio_p_value().unwrap() < 0.05);
        let e = Estimate::of_ratios(&[0.9, 1.1, 1.0, 1.05]).unwrap();
        assert!(!e.resolves_ratio());
        assert!(e.ratio_p_value().unwrap() > 0.05);
        assert_eq!(Estimate::of_ratios(&[1.2]).unwrap().ratio_p_value(), None);
    }

    #[test]
    fn single_sample_has_a_degenerate_interval() {
        let e = Estimate::of(&[5.0]).unwrap();
        assert_eq!((e.mean, e.ci95_low, e.ci95_high), (5.0, 5.0, 5.0));
        assert!(Estimate::of(&[]).is_none());
    }

    #[test]
    fn three_samples_use_student_t() {
        // mean 10, sd 1, t(0.975, 2) = 4.3027 => half-width 4.3027 / sqrt(3) = 2.4841
        let e = Estimate::of(&[9.0, 10.0, 11.0]).unwrap();
        assert!((e.mean - 10.0).abs() < 1e-12);
        assert!((e.ci95_high - 12.4841).abs() < 1e-3, "{e:?}");
        assert!((e.ci95_low - 7.5159).abs() < 1e-3, "{e:?}");
        assert!((e.cv() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn ratios_are_paired_geometric_means() {
        // ln 2 and ln 0.5 cancel: the geometric mean of 2 and 0.5 is 1, not resolved.
        let e = Estimate::of_ratios(&[2.0, 0.5]).unwrap();
        assert!((e.mean - 1.0).abs() < 1e-12, "{e:?}");
        assert!(!e.resolves_ratio());
        let tight = Estimate::of_ratios(&[1.20, 1.21, 1.19, 1.20]).unwrap();
        assert!(
            (tight.mean - 1.2).abs() < 0.01 && tight.resolves_ratio(),
            "{tight:?}"
        );
        assert!(!Estimate::of_ratios(&[1.5]).unwrap().resolves_ratio());
        assert!(Estimate::of_ratios(&[0.0, -1.0, f64::NAN]).is_none());
        let h = Estimate::of(&[9.0, 10.0, 11.0])
            .unwrap()
            .half_width_rel()
            .unwrap();
        assert!((h - 0.24841).abs() < 1e-4, "{h}");
        assert_eq!(Estimate::of(&[3.0]).unwrap().half_width_rel(), None);
    }

    #[test]
    fn overlap_decides_significance() {
        let a = Estimate::of(&[9.0, 10.0, 11.0]).unwrap();
        let b = Estimate::of(&[20.0, 21.0, 22.0]).unwrap();
        let c = Estimate::of(&[11.0, 12.0, 13.0]).unwrap();
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&c));
    }
}
