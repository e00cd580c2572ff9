//! Property tests of every input the user or a file gives dyno: the CLI's durations, percentages, core
//! lists and parameter overrides, and the result files the report reads (truncated, corrupted, foreign,
//! another schema). None may panic, and every rejection is one line.

use dyno_core::cli::{parse_cores, parse_percent, parse_seconds, parse_seconds_or_zero};
use dyno_core::params::{Override, ParamSpec};
use dyno_core::rundir::Results;
use dyno_core::schema::{CellResult, Manifest};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn one_line(e: &str) -> Result<(), TestCaseError> {
    prop_assert!(!e.is_empty(), "an empty error");
    prop_assert!(
        !e.contains('\n'),
        "a rejection of more than one line: {e:?}"
    );
    Ok(())
}

/// Strings near the accepted syntax: digits, units, separators, signs, and some noise.
fn near_syntax() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9.,:=a-z%+-]{0,12}",
        "-?[0-9]{1,25}(\\.[0-9]{0,5})?(ms|s|m|h|%|us|µs)?",
        "[0-9]{1,6}(-[0-9]{1,6})?(,[0-9]{1,6}(-[0-9]{1,6})?){0,4}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn durations_percentages_and_core_lists_never_panic(s in near_syntax()) {
        match parse_seconds(&s) {
            Ok(v) => prop_assert!(v.is_finite() && v > 0.0, "{s:?} gave {v}"),
            Err(e) => one_line(&e.to_string())?,
        }
        match parse_seconds_or_zero(&s) {
            Ok(v) => prop_assert!(v.is_finite() && v >= 0.0, "{s:?} gave {v}"),
            Err(e) => one_line(&e.to_string())?,
        }
        match parse_percent(&s) {
            Ok(v) => prop_assert!(v.is_finite() && v > 0.0, "{s:?} gave {v}"),
            Err(e) => one_line(&e.to_string())?,
        }
        match parse_cores(&s) {
            Ok(c) => {
                let mut sorted = c.0.clone();
                sorted.dedup();
                prop_assert_eq!(sorted.len(), c.0.len(), "{:?} repeats a core", s);
            }
            Err(e) => one_line(&e.to_string())?,
        }
    }

    #[test]
    fn parameter_overrides_and_values_never_panic(s in near_syntax()) {
        if let Err(e) = s.parse::<Override>() {
            one_line(&e.to_string())?;
        }
        let int = ParamSpec::int("n", "a number", 1, 1000, "things");
        let choice = ParamSpec::choice("shape", "a shape", &["broadcast", "queue"]);
        for spec in [&int, &choice] {
            if let Err(e) = spec.parse(&s) {
                let e = e.to_string();
                one_line(&e)?;
                prop_assert!(e.contains(&spec.accepted()) || e.contains("accepted"), "{e}");
            }
        }
    }
}

/// A committed cell result and manifest, the base the corruptions start from.
fn reference() -> (PathBuf, Vec<u8>, Vec<u8>) {
    let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/reference");
    let cell = std::fs::read_dir(run.join("cells"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a committed cell result");
    let bytes = std::fs::read(&cell).unwrap();
    let manifest = std::fs::read(run.join("manifest.json")).unwrap();
    (cell, bytes, manifest)
}

/// What a corruption does to a file's bytes.
#[derive(Debug, Clone)]
enum Corrupt {
    Truncate(usize),
    Flip(usize, u8),
    Splice(usize, String),
    Schema(u32),
    Foreign(String),
}

fn corruption() -> impl Strategy<Value = Corrupt> {
    prop_oneof![
        any::<usize>().prop_map(Corrupt::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Corrupt::Flip(i, b)),
        (any::<usize>(), "[\\[\\]{}\",:0-9a-z-]{1,8}").prop_map(|(i, s)| Corrupt::Splice(i, s)),
        (0u32..5).prop_map(Corrupt::Schema),
        "\\PC{0,60}".prop_map(Corrupt::Foreign),
    ]
}

fn apply(c: &Corrupt, base: &[u8]) -> Vec<u8> {
    match c {
        Corrupt::Truncate(i) => base[..i % base.len()].to_vec(),
        Corrupt::Flip(i, b) => {
            let mut v = base.to_vec();
            let i = i % v.len();
            v[i] ^= b | 1;
            v
        }
        Corrupt::Splice(i, s) => {
            let mut v = base.to_vec();
            let i = i % v.len();
            v.splice(i..i, s.bytes());
            v
        }
        Corrupt::Schema(n) => {
            let mut j: serde_json::Value = serde_json::from_slice(base).unwrap();
            j["schema"] = (*n).into();
            serde_json::to_vec(&j).unwrap()
        }
        Corrupt::Foreign(s) => s.as_bytes().to_vec(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn corrupted_result_files_are_refused_in_one_line(c in corruption()) {
        let (cell, base, manifest) = reference();
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("runs/r");
        std::fs::create_dir_all(run.join("cells")).unwrap();
        let path = run.join("cells").join(cell.file_name().unwrap());
        std::fs::write(&path, apply(&c, &base)).unwrap();
        match CellResult::read(&path) {
            // A corruption that kept the file a valid result (e.g. a flipped byte inside a string).
            Ok(r) => prop_assert_eq!(r.schema, dyno_core::schema::SCHEMA),
            Err(e) => one_line(&e.to_string())?,
        }
        // The manifest, through the run directory the report opens.
        std::fs::write(run.join("manifest.json"), apply(&c, &manifest)).unwrap();
        let dir = Results::new(tmp.path()).open("r").unwrap();
        match dir.manifest() {
            Ok(m) => {
                let _: &Manifest = &m;
            }
            Err(e) => one_line(&e.to_string())?,
        }
        // Listing the cells never panics: a bad file is a problem named in one line, not a crash.
        if let Ok((_, problems)) = dir.cells() {
            for p in &problems {
                one_line(p)?;
            }
        }
    }
}
