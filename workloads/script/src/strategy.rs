//! How an evaluation gets its sandbox: `fresh` (a new runtime and context each time), `pooled` (the
//! thread's warm sandbox, a clean reused context) or `precompiled` (the thread's warm sandbox with the
//! source compiled once into a function that each evaluation runs afresh). Warm sandboxes live in a per-thread pool: a QuickJS runtime is
//! single-threaded, so each worker, shard or blocking thread owns its own and none is shared.

use crate::sandbox::{Limits, Output, Sandbox, Script, ScriptError};
use std::cell::RefCell;

/// Where a sandbox comes from for one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Fresh,
    Pooled,
    Precompiled,
}

impl Strategy {
    /// The `context` parameter's values.
    pub const NAMES: [&'static str; 3] = ["fresh", "pooled", "precompiled"];

    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "fresh" => Some(Strategy::Fresh),
            "pooled" => Some(Strategy::Pooled),
            "precompiled" => Some(Strategy::Precompiled),
            _ => None,
        }
    }
}

thread_local! {
    /// This thread's warm sandboxes and the limits they were made with.
    static POOL: RefCell<Option<(Limits, Vec<Sandbox>)>> = const { RefCell::new(None) };
}

/// Evaluate `script` on `input` with `strategy` on the current thread.
pub fn evaluate(
    strategy: Strategy,
    limits: &Limits,
    script: &Script,
    input: &str,
) -> Result<Output, ScriptError> {
    match strategy {
        Strategy::Fresh => Sandbox::single_use(limits)?.eval(script, input),
        Strategy::Pooled => with_pooled(limits, |s| s.eval(script, input)),
        Strategy::Precompiled => with_pooled(limits, |s| s.eval_compiled(script, input)),
    }
}

/// Run `f` on a sandbox from this thread's pool (made when the pool is empty); the sandbox goes back
/// unless its evaluation left it dirty, in which case it is dropped.
pub fn with_pooled<T>(
    limits: &Limits,
    f: impl FnOnce(&mut Sandbox) -> Result<T, ScriptError>,
) -> Result<T, ScriptError> {
    let taken = POOL.with_borrow_mut(|p| match p {
        Some((l, v)) if l == limits => v.pop(),
        _ => {
            *p = Some((limits.clone(), Vec::new()));
            None
        }
    });
    let mut sandbox = match taken {
        Some(s) => s,
        None => Sandbox::new(limits)?,
    };
    let r = f(&mut sandbox);
    if !sandbox.is_dirty() {
        POOL.with_borrow_mut(|p| {
            if let Some((l, v)) = p
                && l == limits
            {
                v.push(sandbox);
            }
        });
    }
    r
}

/// Sandboxes in this thread's pool now.
pub fn pooled_here() -> usize {
    POOL.with_borrow(|p| p.as_ref().map_or(0, |(_, v)| v.len()))
}
