//! Counters a runtime keeps about itself (e.g. tokio's worker busy time and park count). A row adapter
//! registers a source when it builds a runtime; the cell snapshots every source at the measured window's
//! edges and records each counter's rate over the window as a repeat metric. Rows without such counters
//! register nothing and get no extra metrics.
//!
//! A source adds cumulative counters named after their rate: a counter `x_per_s` that grows by N over a
//! window of T seconds is recorded as `x_per_s = N / T` (busy seconds named `..._cores` become cores).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Adds its runtime's cumulative counters into the map (summing with other sources of the same names).
pub type Source = Box<dyn Fn(&mut BTreeMap<String, f64>) + Send>;

static SOURCES: Mutex<Vec<Source>> = Mutex::new(Vec::new());

fn sources() -> std::sync::MutexGuard<'static, Vec<Source>> {
    SOURCES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Register a runtime's counters (until [`clear`]).
pub fn register(source: Source) {
    sources().push(source);
}

/// Forget every source: each repeat starts its runtimes afresh.
pub fn clear() {
    sources().clear();
}

/// The sum of every registered source's counters now.
pub fn snapshot() -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for s in sources().iter() {
        s(&mut out);
    }
    out
}

/// Each counter's growth between two snapshots per second of `window_s`; counters missing from either
/// snapshot (a runtime registered mid-window) are left out.
pub fn rates(
    start: &BTreeMap<String, f64>,
    end: &BTreeMap<String, f64>,
    window_s: f64,
) -> BTreeMap<String, f64> {
    end.iter()
        .filter_map(|(k, e)| Some((k.clone(), (e - start.get(k)?) / window_s)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_growth_per_second_of_counters_in_both_snapshots() {
        let start = BTreeMap::from([("a_per_s".to_string(), 10.0), ("b_cores".into(), 1.0)]);
        let end = BTreeMap::from([
            ("a_per_s".to_string(), 30.0),
            ("b_cores".into(), 2.5),
            ("late".into(), 5.0),
        ]);
        let r = rates(&start, &end, 2.0);
        assert_eq!(r.get("a_per_s"), Some(&10.0));
        assert_eq!(r.get("b_cores"), Some(&0.75));
        assert!(!r.contains_key("late"));
    }
}
