//! Workload parameters: their specs, values, default matrices (quick and full), and the expansion of a
//! profile plus command-line overrides into the list of cells to run.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One parameter value: a whole number or a word from a fixed set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Int(u64),
    Str(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(n) => write!(f, "{n}"),
            ParamValue::Str(s) => f.write_str(s),
        }
    }
}

impl From<u64> for ParamValue {
    fn from(n: u64) -> Self {
        ParamValue::Int(n)
    }
}

impl From<&str> for ParamValue {
    fn from(s: &str) -> Self {
        ParamValue::Str(s.to_string())
    }
}

/// The parameters of one cell, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Params(pub BTreeMap<String, ParamValue>);

impl Params {
    /// A whole-number parameter; panics if absent or a word (planning validated the cell against the spec).
    pub fn int(&self, name: &str) -> u64 {
        match self.0.get(name) {
            Some(ParamValue::Int(n)) => *n,
            other => panic!("parameter {name} should be a number, found {other:?}"),
        }
    }

    /// A word parameter; panics if absent or a number (planning validated the cell against the spec).
    pub fn word(&self, name: &str) -> &str {
        match self.0.get(name) {
            Some(ParamValue::Str(s)) => s,
            other => panic!("parameter {name} should be a word, found {other:?}"),
        }
    }

    /// `k=v k=v` for the given names only (e.g. those that vary across a table).
    pub fn label(&self, names: &[String]) -> String {
        self.0
            .iter()
            .filter(|(k, _)| names.contains(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The values of `names` only, in name order, joined by " · ": a short label under a header that
    /// names the parameters once.
    pub fn values(&self, names: &[String]) -> String {
        self.0
            .iter()
            .filter(|(k, _)| names.contains(k))
            .map(|(_, v)| v.to_string())
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The names whose values differ between any of `all` (what a table of them needs to show).
    pub fn varying<'a>(all: impl IntoIterator<Item = &'a Params>) -> Vec<String> {
        let all: Vec<&Params> = all.into_iter().collect();
        let Some(first) = all.first() else {
            return vec![];
        };
        first
            .0
            .keys()
            .filter(|k| all.iter().any(|p| p.0.get(*k) != first.0.get(*k)))
            .cloned()
            .collect()
    }

    /// `k=v,k=v` in name order: the stable, human-readable key of a cell.
    pub fn key(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What values a parameter accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParamKind {
    /// One of a fixed set of words.
    Choice { values: Vec<String> },
    /// A whole number in `min..=max`, in `unit`.
    Int { min: u64, max: u64, unit: String },
}

/// One parameter of a workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    pub help: String,
    #[serde(flatten)]
    pub kind: ParamKind,
}

impl ParamSpec {
    /// A word parameter.
    pub fn choice(name: &str, help: &str, values: &[&str]) -> Self {
        ParamSpec {
            name: name.into(),
            help: help.into(),
            kind: ParamKind::Choice {
                values: values.iter().map(|s| s.to_string()).collect(),
            },
        }
    }

    /// A whole-number parameter.
    pub fn int(name: &str, help: &str, min: u64, max: u64, unit: &str) -> Self {
        ParamSpec {
            name: name.into(),
            help: help.into(),
            kind: ParamKind::Int {
                min,
                max,
                unit: unit.into(),
            },
        }
    }

    /// What the parameter accepts, for error messages and `dyno list`.
    pub fn accepted(&self) -> String {
        match &self.kind {
            ParamKind::Choice { values } => values.join(", "),
            ParamKind::Int { min, max, unit } => format!("a whole number {min}..={max} ({unit})"),
        }
    }

    /// Parse one value given on the command line.
    pub fn parse(&self, raw: &str) -> Result<ParamValue, PlanError> {
        let bad = |why: &'static str| PlanError::BadValue {
            param: self.name.clone(),
            raw: raw.to_string(),
            why,
            accepted: self.accepted(),
        };
        match &self.kind {
            ParamKind::Choice { values } => {
                if values.iter().any(|v| v == raw) {
                    Ok(ParamValue::Str(raw.to_string()))
                } else {
                    Err(bad("is not accepted"))
                }
            }
            ParamKind::Int { min, max, .. } => {
                let n: u64 = raw.parse().map_err(|_| bad("is not a whole number"))?;
                if n < *min || n > *max {
                    return Err(bad("is out of range"));
                }
                Ok(ParamValue::Int(n))
            }
        }
    }

    /// Whether a value (from a matrix) fits this spec.
    fn admits(&self, v: &ParamValue) -> bool {
        match (&self.kind, v) {
            (ParamKind::Choice { values }, ParamValue::Str(s)) => values.contains(s),
            (ParamKind::Int { min, max, .. }, ParamValue::Int(n)) => n >= min && n <= max,
            _ => false,
        }
    }
}

/// A group of a matrix: for every parameter, the values to sweep; the group expands to their product.
pub type Group = BTreeMap<String, Vec<ParamValue>>;

/// Build a [`Group`] from `(name, values)` pairs.
pub fn group<const N: usize>(axes: [(&str, Vec<ParamValue>); N]) -> Group {
    axes.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Word values for [`group`].
pub fn words(ws: &[&str]) -> Vec<ParamValue> {
    ws.iter().map(|w| ParamValue::from(*w)).collect()
}

/// Number values for [`group`].
pub fn ints(ns: &[u64]) -> Vec<ParamValue> {
    ns.iter().map(|n| ParamValue::from(*n)).collect()
}

/// Which default matrix to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// The smoke profile: few cells, short windows, one repeat.
    Quick,
    /// The default matrix.
    Full,
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Quick => "quick",
            Profile::Full => "full",
        })
    }
}

impl std::str::FromStr for Profile {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, PlanError> {
        match s {
            "quick" => Ok(Profile::Quick),
            "full" => Ok(Profile::Full),
            _ => Err(PlanError::BadProfile(s.to_string())),
        }
    }
}

/// Why a matrix could not be planned; each names what was wrong and what is accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A value given for a parameter that the parameter does not accept.
    #[error("parameter {param}: {raw:?} {why}; accepted: {accepted}")]
    BadValue {
        param: String,
        raw: String,
        why: &'static str,
        accepted: String,
    },
    /// An override that is not `NAME=VALUE[,VALUE...]`.
    #[error("parameter override {0:?} must look like NAME=VALUE[,VALUE...]")]
    BadOverride(String),
    #[error("{0:?} is not a profile; accepted: quick, full")]
    BadProfile(String),
    #[error("unknown parameter {name:?} for workload {workload}; accepted: {accepted}")]
    UnknownParam {
        name: String,
        workload: String,
        accepted: String,
    },
    /// The workload's own matrix is inconsistent with its parameters: a bug in the workload.
    #[error("workload {workload}: {why}")]
    BadMatrix { workload: String, why: String },
    /// The workload's `validate` rejected a cell of the matrix.
    #[error("workload {workload} cell {cell}: {why}")]
    Rejected {
        workload: String,
        cell: String,
        why: String,
    },
}

impl From<PlanError> for String {
    fn from(e: PlanError) -> String {
        e.to_string()
    }
}

/// A workload's self-description: what `dyno list` prints and what planning works from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSpec {
    pub name: String,
    pub about: String,
    pub params: Vec<ParamSpec>,
    pub quick: Vec<Group>,
    pub full: Vec<Group>,
    /// Its unit of work, its figures, its client process and its SLO.
    #[serde(flatten)]
    pub declared: crate::metrics::Declarations,
}

/// `name=v1,v2` from the command line: replace that parameter's values in every group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub name: String,
    pub values: Vec<String>,
}

impl std::str::FromStr for Override {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, PlanError> {
        let bad = || PlanError::BadOverride(s.to_string());
        let (name, values) = s.split_once('=').ok_or_else(bad)?;
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if name.trim().is_empty() || values.iter().any(|v| v.is_empty()) {
            return Err(bad());
        }
        Ok(Override {
            name: name.trim().to_string(),
            values,
        })
    }
}

impl WorkloadSpec {
    fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Expand a profile's matrix with overrides into distinct cells (in matrix order), each checked
    /// against the spec and by `validate`. Every error names what was wrong and what is accepted.
    pub fn plan(
        &self,
        profile: Profile,
        overrides: &[Override],
        validate: impl Fn(&Params) -> Result<(), String>,
    ) -> Result<Vec<Params>, PlanError> {
        let bug = |why: String| PlanError::BadMatrix {
            workload: self.name.clone(),
            why,
        };
        let mut parsed: Vec<(String, Vec<ParamValue>)> = Vec::new();
        for o in overrides {
            let spec = self.param(&o.name).ok_or_else(|| {
                let names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                PlanError::UnknownParam {
                    name: o.name.clone(),
                    workload: self.name.clone(),
                    accepted: names.join(", "),
                }
            })?;
            let values = o
                .values
                .iter()
                .map(|v| spec.parse(v))
                .collect::<Result<Vec<_>, _>>()?;
            parsed.push((o.name.clone(), values));
        }
        let groups = match profile {
            Profile::Quick => &self.quick,
            Profile::Full => &self.full,
        };
        let mut cells: Vec<Params> = Vec::new();
        for g in groups {
            let mut g = g.clone();
            for (name, values) in &parsed {
                g.insert(name.clone(), values.clone());
            }
            for p in &self.params {
                if !g.contains_key(&p.name) {
                    return Err(bug(format!(
                        "its matrix does not give parameter {} (a bug in the workload)",
                        p.name
                    )));
                }
            }
            for cell in product(&g) {
                if !cells.contains(&cell) {
                    cells.push(cell);
                }
            }
        }
        for cell in &cells {
            for (name, v) in &cell.0 {
                let spec = self
                    .param(name)
                    .ok_or_else(|| bug(format!("matrix names unknown parameter {name}")))?;
                if !spec.admits(v) {
                    return Err(bug(format!(
                        "parameter {name}={v} is not accepted; accepted: {}",
                        spec.accepted()
                    )));
                }
            }
            validate(cell).map_err(|why| PlanError::Rejected {
                workload: self.name.clone(),
                cell: cell.key(),
                why,
            })?;
        }
        Ok(cells)
    }
}

fn product(g: &Group) -> Vec<Params> {
    let mut out = vec![Params::default()];
    for (name, values) in g {
        out = out
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut p = p.clone();
                    p.0.insert(name.clone(), v.clone());
                    p
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_shown_parameters_or_show_their_values_only() {
        let mut p = Params::default();
        p.0.insert("shape".into(), ParamValue::Str("queue".into()));
        p.0.insert("n".into(), ParamValue::Int(64));
        p.0.insert("fixed".into(), ParamValue::Int(1));
        let shown = vec!["shape".to_string(), "n".to_string()];
        assert_eq!(p.label(&shown), "n=64 shape=queue");
        assert_eq!(p.values(&shown), "64 · queue");
        assert_eq!(p.values(&[]), "");
    }

    fn spec() -> WorkloadSpec {
        WorkloadSpec {
            name: "w".into(),
            about: "test".into(),
            declared: crate::metrics::Declarations {
                ops_unit: "ops".into(),
                ..Default::default()
            },
            params: vec![
                ParamSpec::choice("shape", "", &["a", "b"]),
                ParamSpec::int("n", "", 1, 100, "items"),
            ],
            quick: vec![group([("shape", vec!["a".into()]), ("n", vec![4.into()])])],
            full: vec![
                group([
                    ("shape", vec!["a".into(), "b".into()]),
                    ("n", vec![4.into(), 64.into()]),
                ]),
                group([("shape", vec!["a".into()]), ("n", vec![4.into()])]),
            ],
        }
    }

    fn ok(_: &Params) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn full_profile_expands_groups_without_duplicates() {
        let cells = spec().plan(Profile::Full, &[], ok).unwrap();
        assert_eq!(cells.len(), 4);
        assert_eq!(cells[0].key(), "n=4,shape=a");
    }

    #[test]
    fn overrides_replace_axes() {
        let o: Override = "n=7,9".parse().unwrap();
        let cells = spec().plan(Profile::Quick, &[o], ok).unwrap();
        let keys: Vec<_> = cells.iter().map(Params::key).collect();
        assert_eq!(keys, vec!["n=7,shape=a", "n=9,shape=a"]);
    }

    #[test]
    fn bad_overrides_name_what_is_accepted() {
        let s = spec();
        let e = s
            .plan(Profile::Quick, &["nope=1".parse().unwrap()], ok)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown parameter") && e.contains("shape, n"),
            "{e}"
        );
        let e = s
            .plan(Profile::Quick, &["n=abc".parse().unwrap()], ok)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not a whole number") && e.contains("1..=100"),
            "{e}"
        );
        let e = s
            .plan(Profile::Quick, &["n=0".parse().unwrap()], ok)
            .unwrap_err()
            .to_string();
        assert!(e.contains("out of range"), "{e}");
        let e = s
            .plan(Profile::Quick, &["shape=c".parse().unwrap()], ok)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a, b"), "{e}");
        assert!("novalue".parse::<Override>().is_err());
        assert!("n=".parse::<Override>().is_err());
        assert!("n=1,".parse::<Override>().is_err());
    }

    #[test]
    fn validate_rejects_inconsistent_cells() {
        let e = spec()
            .plan(Profile::Full, &[], |p| {
                if p.word("shape") == "b" {
                    Err("no b".into())
                } else {
                    Ok(())
                }
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("no b"), "{e}");
    }
}
