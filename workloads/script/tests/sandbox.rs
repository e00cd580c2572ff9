//! The sandbox against its hostile corpus, its isolation between evaluations, and its limits.

use dyno_script::scripts::{SHIPPED, pricing_input};
use dyno_script::{ErrorKind, Limits, Script, Strategy, evaluate, with_pooled};
use std::path::Path;
use std::time::{Duration, Instant};

fn pricing() -> Script {
    let s = &SHIPPED[1];
    Script::new(s.name, s.source)
}

/// The pooled path still answers a normal evaluation right: the pricing script on input 7, against a
/// fresh sandbox's answer and against figures computed here.
fn assert_healthy(limits: &Limits) {
    let input = pricing_input(7).to_string();
    let pooled = evaluate(Strategy::Pooled, limits, &pricing(), &input).expect("pricing runs");
    let fresh = evaluate(Strategy::Fresh, limits, &pricing(), &input).expect("pricing runs");
    assert_eq!(pooled, fresh);
    let v: serde_json::Value = serde_json::from_str(&pooled.json).unwrap();
    let want_subtotal: u64 = pricing_input(7)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let (qty, price) = (
                i["qty"].as_u64().unwrap(),
                i["price_cents"].as_f64().unwrap(),
            );
            let unit = if qty >= 10 {
                (price * 0.9).round()
            } else if qty >= 5 {
                (price * 0.95).round()
            } else {
                price
            };
            unit as u64 * qty
        })
        .sum();
    assert_eq!(v["subtotal_cents"].as_u64(), Some(want_subtotal), "{v}");
    assert_eq!(v["order"].as_u64(), Some(7));
}

fn rss() -> u64 {
    dyno_core::os::current_rss().expect("RSS readable")
}

#[test]
fn every_hostile_script_ends_in_its_typed_error_and_the_host_keeps_serving() {
    let limits = Limits::default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus is in {}", dir.display());
    assert_healthy(&limits);
    let rss_before = rss();
    let mut seen = std::collections::BTreeSet::new();
    for f in &files {
        let script = Script::read(f).unwrap();
        let want = script
            .source
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// expect: "))
            .unwrap_or_else(|| panic!("{} starts with `// expect: <kind>`", f.display()))
            .trim()
            .to_string();
        let fresh_ok = script
            .source
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("// fresh: ok"));
        for st in [Strategy::Pooled, Strategy::Precompiled, Strategy::Fresh] {
            let t = Instant::now();
            let got = evaluate(st, &limits, &script, "{}");
            let took = t.elapsed();
            if st == Strategy::Fresh && fresh_ok {
                assert!(got.is_ok(), "{} (fresh): {got:?}", f.display());
                continue;
            }
            let e = got.expect_err(&format!("{} must fail ({st:?})", f.display()));
            assert_eq!(e.kind.name(), want, "{} ({st:?}): {e}", f.display());
            assert!(!e.message.is_empty() && !e.message.contains('\n'));
            // Bounded time: the deadline plus the time to unwind and free.
            assert!(
                took < limits.deadline * 20,
                "{} ({st:?}) took {took:?} (deadline {:?})",
                f.display(),
                limits.deadline
            );
            seen.insert(e.kind);
            assert_healthy(&limits);
        }
    }
    assert_eq!(
        seen.len(),
        ErrorKind::ALL.len(),
        "every kind is covered: {seen:?}"
    );
    // Memory bombs were freed: the process grew by less than two sandboxes' memory limit.
    let grown = rss().saturating_sub(rss_before);
    assert!(
        grown < 2 * limits.memory_bytes as u64,
        "RSS grew by {grown} bytes"
    );
}

#[test]
fn a_pooled_context_shows_no_state_of_an_earlier_evaluation() {
    let limits = Limits::default();
    let writer = Script::new(
        "writer",
        r#"
        let topLevel = "secret";
        var topVar = "secret";
        function main(input) {
          const tries = [];
          const attempt = (name, f) => { try { f(); tries.push(name); } catch (e) {} };
          attempt("global", () => { globalThis.leaked = "secret"; });
          attempt("Object.prototype", () => { Object.prototype.polluted = "secret"; });
          attempt("Array.prototype", () => { Array.prototype.first = function () { return "secret"; }; });
          attempt("JSON.stringify", () => { JSON.stringify = () => "secret"; });
          attempt("Math", () => { Math.secret = 1; });
          attempt("RegExp statics", () => { /(secret)/.exec("secret"); });
          attempt("sloppy global", () => Function("leakedSloppy = 'secret'")());
          attempt("Symbol registry", () => { Symbol.for("secret"); });
          return tries;
        }
        "#,
    );
    let reader = Script::new(
        "reader",
        r#"
        function main(input) {
          const found = [];
          if (typeof topLevel !== "undefined") found.push("topLevel");
          if (typeof topVar !== "undefined") found.push("topVar");
          if (typeof leaked !== "undefined") found.push("global");
          if (typeof leakedSloppy !== "undefined") found.push("sloppy global");
          if ({}.polluted !== undefined) found.push("Object.prototype");
          if ([].first !== undefined) found.push("Array.prototype");
          if (JSON.stringify(1) !== "1") found.push("JSON.stringify");
          if (Math.secret !== undefined) found.push("Math");
          if (typeof RegExp.$1 === "string" && RegExp.$1 !== "") found.push("RegExp statics");
          if (typeof RegExp.lastMatch === "string" && RegExp.lastMatch !== "") found.push("RegExp lastMatch");
          return found;
        }
        "#,
    );
    // One thread, one pool: the reader gets the runtime and context the writer returned.
    let w = evaluate(Strategy::Pooled, &limits, &writer, "null").unwrap();
    let r = evaluate(Strategy::Pooled, &limits, &reader, "null").unwrap();
    assert_eq!(
        r.json, "[]",
        "the reader saw {} (the writer managed {})",
        r.json, w.json
    );
    // Every other write threw. These did not, and left nothing the reader can see: a regex match (the
    // legacy statics are removed), a sloppy-mode assignment to the frozen global (ignored silently, as
    // the language says) and a registered symbol (the registry holds no data).
    assert_eq!(
        w.json,
        r#"["RegExp statics","sloppy global","Symbol registry"]"#
    );
    // The same holds for a precompiled writer.
    let w = evaluate(Strategy::Precompiled, &limits, &writer, "null").unwrap();
    let r = evaluate(Strategy::Pooled, &limits, &reader, "null").unwrap();
    assert_eq!(r.json, "[]", "after a precompiled writer ({})", w.json);
}

#[test]
fn every_evaluation_runs_the_top_level_afresh() {
    let limits = Limits::default();
    let counter = Script::new(
        "counter",
        "let n = 0; function main() { n += 1; return n; }",
    );
    for st in [Strategy::Fresh, Strategy::Pooled, Strategy::Precompiled] {
        let got: Vec<String> = (0..3)
            .map(|_| evaluate(st, &limits, &counter, "null").unwrap().json)
            .collect();
        assert_eq!(got, ["1", "1", "1"], "{st:?}");
    }
}

#[test]
fn a_source_that_closes_the_precompiled_wrapper_is_a_syntax_error() {
    let limits = Limits::default();
    // Each would keep state across evaluations, or leak a declaration, if it escaped the function its
    // source is compiled into.
    let escapes = [
        "}); let leaked = 1; (function () {",
        "} ? (() => { let n = 0; return function () { return function main() { return ++n; }; }; })() : function () {",
        "return 1; }, (function () { let n = 0; return () => ++n; })(), function () {",
        "function main() { return 1; } })\n(function () {",
        "/* */ }); var leaked = 1; (function () { //",
    ];
    for src in escapes {
        let s = Script::new("escape", src);
        for st in [Strategy::Pooled, Strategy::Precompiled] {
            let e = evaluate(st, &limits, &s, "null").expect_err(src);
            assert_eq!(e.kind, ErrorKind::Syntax, "{st:?} {src}: {e}");
        }
    }
    let probe = Script::new("probe", "function main() { return typeof leaked; }");
    let out = evaluate(Strategy::Pooled, &limits, &probe, "null").unwrap();
    assert_eq!(out.json, r#""undefined""#);
}

#[test]
fn the_memory_limit_is_enforced_under_the_features_in_use() {
    let bomb = Script::new(
        "bomb",
        "function main() { const a = []; for (;;) a.push(new Array(1024).fill(1)); }",
    );
    for mib in [4usize, 16] {
        let limits = Limits {
            memory_bytes: mib << 20,
            deadline: Duration::from_secs(10),
            ..Limits::default()
        };
        let t = std::time::Instant::now();
        let (e, used) = with_pooled(&limits, |s| {
            let r = s.eval(&bomb, "null");
            assert!(
                s.is_dirty(),
                "a sandbox that hit its memory limit is not reused"
            );
            // Measured on the sandbox that ran the bomb: it holds what it allocated until dropped.
            Ok((r.unwrap_err(), s.memory_used()))
        })
        .unwrap();
        assert_eq!(e.kind, ErrorKind::Memory, "{e}");
        // The runtime stopped at its limit, not at the deadline, and holds no more than it.
        let limit = (mib << 20) as u64;
        assert!(
            used <= limit,
            "{mib} MiB limit: the bomb's runtime holds {used} bytes"
        );
        assert!(
            t.elapsed() < limits.deadline,
            "{mib} MiB: ended at the deadline"
        );
    }
}

#[test]
fn logs_are_captured_and_bounded() {
    let limits = Limits::default();
    let s = Script::new(
        "log",
        "function main(i) { for (let k = 0; k < 1000; k++) log('line ' + k); return i; }",
    );
    let out = evaluate(Strategy::Pooled, &limits, &s, "{\"a\":1}").unwrap();
    assert_eq!(out.json, r#"{"a":1}"#);
    assert_eq!(out.log.len(), limits.max_log_lines);
    assert_eq!(out.log[0], "line 0");
}

#[test]
fn shipped_scripts_answer_every_input_the_same_on_every_strategy() {
    let limits = Limits::default();
    for s in &SHIPPED {
        let script = Script::new(s.name, s.source);
        for i in 0..16 {
            let input = (s.input)(i).to_string();
            let fresh = evaluate(Strategy::Fresh, &limits, &script, &input).unwrap();
            for st in [Strategy::Pooled, Strategy::Precompiled] {
                assert_eq!(
                    evaluate(st, &limits, &script, &input).unwrap(),
                    fresh,
                    "{} input {i}",
                    s.name
                );
            }
        }
    }
}
