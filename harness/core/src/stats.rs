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

    /// Whether two estimates' intervals overlap (no significant difference).
    pub fn overlaps(&self, other: &Estimate) -> bool {
        self.ci95_low <= other.ci95_high && other.ci95_low <= self.ci95_high
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn overlap_decides_significance() {
        let a = Estimate::of(&[9.0, 10.0, 11.0]).unwrap();
        let b = Estimate::of(&[20.0, 21.0, 22.0]).unwrap();
        let c = Estimate::of(&[11.0, 12.0, 13.0]).unwrap();
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&c));
    }
}
