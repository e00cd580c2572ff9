//! What the builtin guards cost per evaluation: each shipped script on each strategy, guarded against
//! unguarded sandboxes alternating in 100 ms slices (so the machine's drift lands on both alike),
//! evaluations per second and their ratio. `cargo run --release -p dyno-script --example guard_cost`.

use dyno_script::scripts::SHIPPED;
use dyno_script::{Limits, Sandbox, Script};
use std::time::{Duration, Instant};

const SLICE: Duration = Duration::from_millis(100);
const SLICES: usize = 20;

/// Evaluations in one slice: `fresh` makes a sandbox per evaluation, the others reuse `warm`.
fn slice(strategy: &str, guarded: bool, warm: &mut Sandbox, script: &Script, input: &str) -> u64 {
    let limits = Limits::default();
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < SLICE {
        let r = match strategy {
            "fresh" if guarded => {
                Sandbox::single_use(&limits).and_then(|mut s| s.eval(script, input))
            }
            "fresh" => Sandbox::unguarded(&limits, false).and_then(|mut s| s.eval(script, input)),
            "pooled" => warm.eval(script, input),
            _ => warm.eval_compiled(script, input),
        };
        r.expect("a shipped script evaluates");
        n += 1;
    }
    n
}

fn main() {
    let limits = Limits::default();
    println!(
        "script      strategy     guarded/s  unguarded/s  ratio (median [quartiles] of {SLICES} slice pairs)"
    );
    for shipped in &SHIPPED {
        let script = Script::new(shipped.name, shipped.source);
        let input = (shipped.input)(3).to_string();
        for strategy in ["fresh", "pooled", "precompiled"] {
            let mut guarded = Sandbox::new(&limits).unwrap();
            let mut unguarded = Sandbox::unguarded(&limits, true).unwrap();
            let (mut g, mut u, mut ratios) = (0, 0, Vec::new());
            for i in 0..SLICES {
                // Alternate which goes first, so neither always follows the other.
                let (a, b) = if i % 2 == 0 {
                    let a = slice(strategy, true, &mut guarded, &script, &input);
                    (a, slice(strategy, false, &mut unguarded, &script, &input))
                } else {
                    let b = slice(strategy, false, &mut unguarded, &script, &input);
                    (slice(strategy, true, &mut guarded, &script, &input), b)
                };
                g += a;
                u += b;
                ratios.push(a as f64 / b as f64);
            }
            ratios.sort_by(f64::total_cmp);
            let secs = SLICE.as_secs_f64() * SLICES as f64;
            println!(
                "{:<11} {:<12} {:>9.0} {:>12.0}  {:.3} [{:.3}, {:.3}]",
                shipped.name,
                strategy,
                g as f64 / secs,
                u as f64 / secs,
                ratios[SLICES / 2],
                ratios[SLICES / 4],
                ratios[SLICES * 3 / 4]
            );
        }
    }
}
