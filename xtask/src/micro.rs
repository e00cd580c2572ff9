//! The micro-benchmark import of `cargo xtask bench --micro`: criterion's estimates and gungraun's
//! instruction counts, read from their own output into a run's `micro/<workload>.json`.

use dyno_core::rundir::{MicroBench, MicroCount};
use std::path::{Path, PathBuf};

/// The counts in gungraun's `--output-format=json` output (one JSON object per line; other lines
/// are ignored). A line that is a benchmark but lacks a count is an error naming the benchmark.
pub fn gungraun_counts(stdout: &str) -> Result<Vec<MicroCount>, String> {
    let mut out = Vec::new();
    for line in stdout.lines().filter(|l| l.trim_start().starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("gungraun printed a line that is not JSON ({e}): {line}"))?;
        let (Some(group), Some(function)) = (v["group"].as_str(), v["function_name"].as_str())
        else {
            continue;
        };
        let id = match v["id"].as_str() {
            Some(i) => format!("{group}/{function}.{i}"),
            None => format!("{group}/{function}"),
        };
        let metric = |name: &str| {
            v["profiles"][0]["data"]["parts"][0]["metrics"][name]["values"]["new"]
                .as_u64()
                .ok_or_else(|| format!("gungraun's result for {id} has no {name}"))
        };
        out.push(MicroCount {
            instructions: metric("Ir")?,
            estimated_cycles: metric("EstimatedCycles")?,
            ops: ops_in(&id),
            id,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Every benchmark under a criterion output directory (`CRITERION_HOME`): each
/// `<...>/new/benchmark.json` with its `estimates.json`, sorted by id. Errors name the file.
pub fn criterion_benches(home: &Path) -> Result<Vec<MicroBench>, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "new") {
                    out.push(p);
                } else {
                    walk(&p, out);
                }
            }
        }
    }
    let mut dirs = Vec::new();
    walk(home, &mut dirs);
    let read = |p: PathBuf| -> Result<serde_json::Value, String> {
        let b = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        serde_json::from_slice(&b)
            .map_err(|e| format!("{} is not criterion's JSON: {e}", p.display()))
    };
    let mut out = Vec::new();
    for d in dirs {
        let (b, e) = (d.join("benchmark.json"), d.join("estimates.json"));
        if !b.exists() || !e.exists() {
            continue;
        }
        let (bj, ej) = (read(b.clone())?, read(e.clone())?);
        let id = bj["full_id"]
            .as_str()
            .ok_or_else(|| format!("{} has no full_id", b.display()))?
            .to_string();
        let mean = &ej["mean"];
        let num = |v: &serde_json::Value, what: &str| {
            v.as_f64()
                .ok_or_else(|| format!("{} has no {what}", e.display()))
        };
        out.push(MicroBench {
            id,
            mean_ns: num(&mean["point_estimate"], "mean")?,
            low_ns: num(&mean["confidence_interval"]["lower_bound"], "lower bound")?,
            high_ns: num(&mean["confidence_interval"]["upper_bound"], "upper bound")?,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// `N` of an id that ends in `ops_<N>`.
fn ops_in(id: &str) -> Option<u64> {
    let (_, n) = id.rsplit_once("ops_")?;
    n.parse().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gungraun_json_lines_give_instructions_and_cycles() {
        let line = r#"{"group":"getput","function_name":"malloc","id":"ops_1000","profiles":[{"data":{"parts":[{"metrics":{"Ir":{"values":{"new":505024,"old":null}},"EstimatedCycles":{"values":{"new":706175}}}}]}}]}"#;
        let c = gungraun_counts(&format!("noise\n{line}\n")).unwrap();
        assert_eq!(
            c,
            vec![MicroCount {
                id: "getput/malloc.ops_1000".into(),
                instructions: 505024,
                estimated_cycles: 706175,
                ops: Some(1000),
            }]
        );
        assert_eq!(ops_in("g/f.warm"), None);
        assert_eq!(ops_in("g/f.ops_0"), None);
        let e = gungraun_counts(r#"{"group":"g","function_name":"f","profiles":[]}"#).unwrap_err();
        assert!(e.contains("g/f") && e.contains("Ir"), "{e}");
    }

    #[test]
    fn criterion_output_is_read_with_its_interval_and_a_bad_file_is_named() {
        let d = tempfile::tempdir().unwrap();
        let new = d.path().join("getput-system/single/malloc/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"getput-system","function_id":"single","value_str":"malloc","full_id":"getput-system/single/malloc"}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":19.5,"upper_bound":21.0},"point_estimate":20.1,"standard_error":0.3}}"#,
        )
        .unwrap();
        // criterion's other directories (base, change, report) are not read.
        std::fs::create_dir_all(d.path().join("getput-system/single/malloc/base")).unwrap();
        let b = criterion_benches(d.path()).unwrap();
        assert_eq!(
            b,
            vec![MicroBench {
                id: "getput-system/single/malloc".into(),
                mean_ns: 20.1,
                low_ns: 19.5,
                high_ns: 21.0
            }]
        );
        std::fs::write(new.join("estimates.json"), "{").unwrap();
        let e = criterion_benches(d.path()).unwrap_err();
        assert!(e.contains("estimates.json"), "{e}");
    }
}
