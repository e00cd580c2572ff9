//! Declared workload figures: every figure a workload reports beside its operations is declared in its
//! spec with a unit, which way is better and a role. The driver's noise flags, its summary and every
//! report section read these declarations, never a figure's name.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Higher,
    Lower,
    /// A count or a setting: neither way is better.
    Neither,
}

/// What a figure is to the harness.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Role {
    /// A figure shown in the workload's table.
    Figure,
    /// The rate offered to the system under test (an open loop): the x of the sustainable-rate analysis.
    OfferedRate,
    /// The rate the system achieved at that offer.
    AchievedRate,
    /// A memory figure, in bytes.
    Memory,
    /// The health of the measuring setup (e.g. a saturated load generator): a repeat above `max` makes
    /// the driver flag the cell with the metric's `flag`.
    Health { max: f64 },
}

/// A figure as a workload declares it, in a constant (`pub const X: Metric = Metric { .. }`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: &'static str,
    pub better: Better,
    pub role: Role,
    pub help: &'static str,
    /// For a [`Role::Health`] figure: the noise flag, with `{value}` replaced by the worst repeat's value.
    pub flag: &'static str,
}

impl Metric {
    /// A plain figure.
    pub const fn figure(
        name: &'static str,
        unit: &'static str,
        better: Better,
        help: &'static str,
    ) -> Metric {
        Metric {
            name,
            unit,
            better,
            role: Role::Figure,
            help,
            flag: "",
        }
    }

    /// The same figure with another role.
    pub const fn with_role(self, role: Role) -> Metric {
        Metric { role, ..self }
    }

    /// The same figure with a noise flag (for a [`Role::Health`] figure).
    pub const fn with_flag(self, flag: &'static str) -> Metric {
        Metric { flag, ..self }
    }

    /// The declaration as stored in the spec and the manifest.
    pub fn spec(&self) -> MetricSpec {
        MetricSpec {
            name: self.name.into(),
            unit: self.unit.into(),
            better: self.better,
            role: self.role,
            help: self.help.into(),
            flag: self.flag.into(),
        }
    }
}

/// A declared figure, as stored in a workload's spec and in the run's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSpec {
    pub name: String,
    pub unit: String,
    pub better: Better,
    pub role: Role,
    pub help: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub flag: String,
}

/// Unit of a figure that is a share (0..1): shown as a percentage.
pub const SHARE: &str = "share";

impl MetricSpec {
    /// `value` in this figure's unit, for people.
    pub fn show(&self, value: f64) -> String {
        match self.unit.as_str() {
            SHARE => format!("{:.0}%", value * 100.0),
            "bytes" => crate::human::bytes(value.max(0.0) as u64),
            _ => crate::human::si(value),
        }
    }

    /// The noise flag for a repeat's value, when this is a health figure above its limit.
    pub fn health_flag(&self, worst: f64) -> Option<String> {
        match self.role {
            Role::Health { max } if worst > max => {
                Some(self.flag.replace("{value}", &self.show(worst)))
            }
            _ => None,
        }
    }
}

/// The repeat metric a workload sets when its operations were counted over another period than the
/// window (an external tool with its own clock, e.g. wrk, or a load generator that started late and
/// measured the rest of the window): the repeat's throughput divides by it.
pub const MEASURED_DURATION: Metric = Metric::figure(
    "measured_duration_s",
    "s",
    Better::Neither,
    "the period the operations were counted over, when a tool with its own clock counted them or a \
     load generator that started late counted over the rest of the window",
);

/// What one repeat reports beyond what its probes recorded: declared figures by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures(BTreeMap<String, f64>);

impl Figures {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set a declared figure.
    pub fn set(&mut self, m: &Metric, v: f64) {
        self.0.insert(m.name.to_string(), v);
    }

    /// A figure, if set.
    pub fn get(&self, m: &Metric) -> Option<f64> {
        self.0.get(m.name).copied()
    }

    /// The names of the figures set that `declared` does not declare (the harness's own aside).
    pub fn undeclared(&self, declared: &[MetricSpec]) -> Vec<String> {
        self.0
            .keys()
            .filter(|k| *k != MEASURED_DURATION.name && !declared.iter().any(|d| &d.name == *k))
            .cloned()
            .collect()
    }

    /// The figures by name, as the result files store them.
    pub fn into_map(self) -> BTreeMap<String, f64> {
        self.0
    }
}

/// A client process a workload starts beside the measured one (e.g. a load generator), as the driver's
/// sampler and profiler must know it: they find its threads by name and keep them apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSpec {
    /// What it is, for people ("load generator").
    pub name: String,
    /// The prefix of its threads' names.
    pub thread_prefix: String,
}

/// A service-level objective for open-loop cells: the report finds each row's highest offered rate
/// that met it (any workload that declares an [`Role::OfferedRate`] and an [`Role::AchievedRate`] figure).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// The p99 latency a sustained rate may reach, in ns.
    pub p99_ns: u64,
    /// The share of the offered rate that must be achieved.
    pub achieved_share: f64,
}

/// What a workload declares for the harness and the report: its unit of work, figures, client and SLO.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Declarations {
    /// What one operation is, e.g. "message deliveries".
    pub ops_unit: String,
    #[serde(default)]
    pub metrics: Vec<MetricSpec>,
    /// The client process of a `ClientServer` workload: the cell binary fills it from the facet, so a
    /// workload's own spec leaves it `None`.
    #[serde(default)]
    pub client: Option<ClientSpec>,
    #[serde(default)]
    pub slo: Option<Slo>,
    /// What the run can answer, on the book's Findings page.
    #[serde(default)]
    pub questions: Vec<Question>,
    /// How the rows of one parameter set are paired in a round, chosen from measurements of both
    /// ways on this machine, and why (the methodology page shows both).
    #[serde(default)]
    pub pairing: crate::schema::Pairing,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pairing_why: String,
    /// The full profile's measured window for this workload in seconds, where the split of its
    /// repeats' variance calls for another than the profile's (`--duration` overrides it); `None`:
    /// the profile's window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Why this window: the measured variance split that chose it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub window_why: String,
}

/// A question a run answers by comparing two sides of the matrix, paired by round: e.g. a row against
/// another on every parameter set, or one parameter value against another on every row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// The question in words, e.g. "Thread per core or work stealing?".
    pub ask: String,
    pub a: Side,
    pub b: Side,
    /// The declared figure compared (a [`Metric`] name); `None`: throughput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<String>,
}

/// One side of a [`Question`]: cells on a row (any row when `None`: each is compared with the other
/// side's cell on the same row) with these parameter values; every other parameter equal on both sides.
/// With `best_of`, the side is, in each parameter set, whichever of those rows has the highest
/// throughput estimate in the run (chosen from the same repeats it is compared on, so its ratio leans its way:
/// the report says so).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Side {
    #[serde(default)]
    pub row: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub best_of: Vec<String>,
}

impl Side {
    /// The cells on row `row`.
    pub fn row(row: &str) -> Side {
        Side {
            row: Some(row.to_string()),
            ..Side::default()
        }
    }

    /// In each parameter set, the one of `rows` with the highest throughput estimate.
    pub fn best_of(rows: &[&str]) -> Side {
        Side {
            best_of: rows.iter().map(|r| r.to_string()).collect(),
            ..Side::default()
        }
    }

    /// The cells whose parameter `name` is `value`, on any row.
    pub fn param(name: &str, value: &str) -> Side {
        Side {
            params: [(name.to_string(), value.to_string())].into(),
            ..Side::default()
        }
    }

    /// How the side reads in a sentence: its row and values, e.g. "tokio-tpc" or "channel=flume".
    pub fn label(&self) -> String {
        if !self.best_of.is_empty() {
            return "the best row".into();
        }
        let mut parts: Vec<String> = self.row.iter().cloned().collect();
        parts.extend(self.params.iter().map(|(k, v)| format!("{k}={v}")));
        parts.join(" ")
    }
}

impl Question {
    /// `a` against `b`, asked as `ask`.
    pub fn new(ask: &str, a: Side, b: Side) -> Question {
        Question {
            ask: ask.to_string(),
            a,
            b,
            figure: None,
        }
    }

    /// The same question asked of declared figure `figure` instead of throughput.
    pub fn on(mut self, figure: &str) -> Question {
        self.figure = Some(figure.to_string());
        self
    }
}

/// Whether a figure in `unit` is measured in wall time (a duration, or a rate per second): such a
/// figure of a time-sliced repeat counts the other processes' slices too, so it is not kept.
pub fn measured_in_wall_time(unit: &str) -> bool {
    matches!(unit, "ns" | "µs" | "us" | "ms" | "s") || unit.ends_with("/s")
}

impl Declarations {
    /// The declared figure of this name.
    pub fn metric(&self, name: &str) -> Option<&MetricSpec> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The first declared figure with this role.
    pub fn with_role(&self, pred: impl Fn(&Role) -> bool) -> Option<&MetricSpec> {
        self.metrics.iter().find(|m| pred(&m.role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSY: Metric = Metric::figure("busy", SHARE, Better::Lower, "busy share")
        .with_role(Role::Health { max: 0.9 })
        .with_flag("the client kept {value} of its cores busy");

    #[test]
    fn a_health_figure_flags_only_above_its_limit() {
        let s = BUSY.spec();
        assert_eq!(s.health_flag(0.5), None);
        assert_eq!(
            s.health_flag(0.95).as_deref(),
            Some("the client kept 95% of its cores busy")
        );
        let plain = Metric::figure("n", "count", Better::Neither, "").spec();
        assert_eq!(plain.health_flag(1e9), None);
    }

    #[test]
    fn durations_and_rates_are_wall_time_figures_and_counts_are_not() {
        for unit in ["ns", "µs", "ms", "s", "messages/s"] {
            assert!(measured_in_wall_time(unit), "{unit}");
        }
        for unit in ["bytes", "allocations", "messages", SHARE, "stamps"] {
            assert!(!measured_in_wall_time(unit), "{unit}");
        }
    }

    #[test]
    fn undeclared_figures_are_named_and_the_harness_own_is_allowed() {
        let mut f = Figures::new();
        f.set(&BUSY, 0.1);
        f.set(&MEASURED_DURATION, 1.0);
        f.set(&Metric::figure("stray", "count", Better::Neither, ""), 1.0);
        assert_eq!(f.undeclared(&[BUSY.spec()]), vec!["stray".to_string()]);
        assert_eq!(f.get(&BUSY), Some(0.1));
    }
}
