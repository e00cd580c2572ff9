//! Tests that cannot run on this machine: a visible skip line where they are run by hand, a failure
//! under CI, which installs what every test needs, so that CI never passes a test that checked nothing.

/// Whether this is CI (`CI=true` or `CI=1`, as .ci/run and the usual CI services set it).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Say that `test` cannot run here, and why; under CI, fail it instead. Call it, then return.
///
/// # Panics
/// Under CI, always: a test CI skips would pass without checking.
pub fn skip(test: &str, why: &str) {
    assert!(
        !under_ci(),
        "{test} cannot run here: {why}; under CI=true it must run (.ci/run installs what it needs)"
    );
    eprintln!("SKIPPED {test}: {why}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipping_fails_under_ci_and_is_said_otherwise() {
        // The environment is process-wide: test both answers in a child process each.
        let exe = std::env::current_exe().unwrap();
        for (ci, fails) in [("true", true), ("0", false)] {
            let out = std::process::Command::new(&exe)
                .args(["--exact", "skip::tests::probe", "--nocapture"])
                .env("CI", ci)
                .env("DYNO_SKIP_PROBE", "1")
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(!out.status.success(), fails, "CI={ci}: {err}");
            if fails {
                assert!(err.contains("under CI=true it must run"), "{err}");
            } else {
                assert!(err.contains("SKIPPED probe: a reason"), "{err}");
            }
        }
    }

    /// Run by the test above in a child process.
    #[test]
    fn probe() {
        if std::env::var_os("DYNO_SKIP_PROBE").is_some() {
            skip("probe", "a reason");
        }
    }
}
