//! The http cell binary end to end: reference rows (nginx, Go) and the wrk generator run where installed and
//! are recorded as skipped, with the reason, where not; bad combinations are usage errors.

use dyno_core::schema::CellOutput;
use dyno_core::skip::skip;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dyno-cell-http");

fn cores() -> Option<String> {
    let c = dyno_core::os::allowed_cores();
    (c.len() >= 2).then(|| format!("{},{}", c[0], c[1]))
}

fn params(generator: &str) -> String {
    format!(
        r#"{{"connections":8,"cpu_us":50,"delay_ms":1,"endpoint":"plaintext","generator":"{generator}","rate":0}}"#
    )
}

/// Run one cell; returns its output.
fn cell(row: &str, generator: &str, path_env: Option<&str>) -> CellOutput {
    let cores = cores().expect("2 cores");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.json");
    let mut c = Command::new(BIN);
    c.args(["cell", "--row", row, "--params", &params(generator)])
        .args(["--warmup-s", "0.3", "--duration-s", "1", "--repeats", "1"])
        .args(["--cores", &cores, "--out"])
        .arg(&out);
    if let Some(p) = path_env {
        c.env("PATH", p);
    }
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{row}/{generator}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

/// A reference row's repeat: it served, its own count (its status page) equals what the generator
/// received, and the window measured its process, which did the serving.
fn served_and_counted(out: &CellOutput, model: &str) {
    assert_eq!(out.skipped, None);
    let r = &out.repeats[0];
    assert!(r.ops > 100, "{r:?}");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        r.metrics["server_requests"], r.metrics["generator_responses"],
        "{:?}",
        r.metrics
    );
    assert!(
        r.window_usage.cpu_user_s + r.window_usage.cpu_sys_s > 0.1,
        "{r:?}"
    );
    assert!(out.fairness.model.contains(model), "{}", out.fairness.model);
}

fn installed(tool: &str) -> bool {
    ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| std::path::Path::new(d).join(tool).is_file())
}

#[test]
fn nginx_runs_as_a_reference_row_or_is_skipped_with_the_reason() {
    if cores().is_none() {
        return skip(
            "nginx_runs_as_a_reference_row",
            "needs 2 cores (server and generator apart)",
        );
    }
    let out = cell("nginx", "dyno", None);
    if installed("nginx") {
        served_and_counted(&out, "nginx");
    } else {
        let why = out.skipped.expect("skipped without nginx");
        assert!(why.contains("nginx is not installed"), "{why}");
    }
}

#[test]
fn go_runs_as_a_reference_row_or_is_skipped_with_the_reason() {
    if cores().is_none() {
        return skip(
            "go_runs_as_a_reference_row",
            "needs 2 cores (server and generator apart)",
        );
    }
    let beside = std::path::Path::new(BIN)
        .parent()
        .unwrap()
        .join(dyno_core::golang::binary_name("http"));
    if dyno_core::golang::go_tool().is_none() {
        // Without Go (and no binary built before), the cell says why and how to install it.
        if !beside.is_file() {
            let why = cell("go", "dyno", None)
                .skipped
                .expect("skipped without Go");
            assert!(why.contains("golang-go"), "{why}");
        }
        return skip(
            "go_runs_as_a_reference_row",
            &format!("Go is not installed ({})", dyno_core::golang::INSTALL),
        );
    }
    let module = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("go");
    dyno_core::golang::build(&module, &beside).unwrap();
    let out = cell("go", "dyno", None);
    served_and_counted(&out, "Go net/http");
    assert!(
        out.fairness
            .notes
            .iter()
            .any(|n| n.contains("GOMAXPROCS=1")),
        "{:?}",
        out.fairness.notes
    );
}

#[test]
fn wrk_cross_checks_a_row_or_is_skipped_with_the_reason() {
    if cores().is_none() {
        return skip(
            "wrk_cross_checks_a_row",
            "needs 2 cores (server and generator apart)",
        );
    }
    let out = cell("tokio", "wrk", None);
    if installed("wrk") {
        assert_eq!(out.skipped, None);
        let r = &out.repeats[0];
        assert!(r.ops > 100, "{r:?}");
        assert!(r.histogram.is_some(), "wrk's latency histogram is recorded");
        // wrk leaves at most one request per connection uncounted when it stops.
        let (served, seen) = (
            r.metrics["server_requests"],
            r.metrics["generator_responses"],
        );
        assert!(served >= seen && served - seen <= 8.0, "{:?}", r.metrics);
        assert!(r.duration_s >= 1.0, "wrk's own period: {}", r.duration_s);
    }
    // Without wrk on the PATH the cell is skipped, not failed.
    let out = cell("tokio", "wrk", Some("/nonexistent"));
    let why = out.skipped.expect("skipped without wrk");
    assert!(why.contains("wrk is not installed"), "{why}");
    assert!(out.repeats.is_empty());
}

#[test]
fn wrk_with_an_offered_rate_is_a_usage_error() {
    let o = Command::new(BIN)
        .args([
            "plan",
            "--profile",
            "quick",
            "--set",
            "generator=wrk",
            "--set",
            "rate=1000",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("accepted with wrk: rate=0"), "{err}");
}
