//! The sandbox: one QuickJS runtime with its limits and a locked-down context, evaluating scripts into
//! typed outcomes.
//!
//! A script is a file that declares `function main(input)`; an evaluation parses the input JSON, calls
//! `main` and returns its result as JSON. What a script can reach is the language's own intrinsics
//! (frozen), its `input` and a captured `log(...)`: no module loader, file, network, process or timer
//! exists in the context. Limits, each ending an evaluation with a typed [`ErrorKind`]:
//!
//! - **memory**: the runtime's allocation limit (QuickJS's own allocator, whose limit is enforced: the
//!   `rust-alloc`/`allocator` features, under which rquickjs documents the limit as a no-op, are off);
//! - **stack**: QuickJS's stack limit, measured from where the host enters the context, kept far below
//!   the 2 MiB stack of every thread a row evaluates on;
//! - **deadline**: a wall-clock deadline per evaluation, checked by the interrupt handler while bytecode
//!   (and the regex engine) runs, and by the host between the microtasks it runs;
//! - **microtasks**: the host runs pending jobs only while settling the result, at most `max_jobs`;
//! - **output**: the result's JSON length;
//! - **native loops**: the builtins that walk a length in C without an interrupt check refuse sparse
//!   arrays and array-likes longer than the memory limit could hold densely ([guards](crate::guards)), so that
//!   **every evaluation ends within its deadline plus [`OVERRUN_BOUND`] of CPU time**, whatever the
//!   script does (`tests/builtins.rs` calls every builtin on the most hostile receivers to check it).
//!   A guarded fresh sandbox costs about twice an unguarded one to set up (`examples/guard_cost.rs`);
//!   a pooled or precompiled evaluation costs the same within ±3%.
//!
//! The context is reused between evaluations (pooled and precompiled) and stays clean: every intrinsic
//! reachable from the global object is frozen before the first evaluation, the global object too, and
//! each evaluation runs the source through a strict direct `eval` inside a trusted runner (or calls a
//! function compiled once from it), so its declarations live in that evaluation's own scope. A sandbox
//! whose evaluation ended in a timeout, a memory or stack error, or a microtask error is marked dirty and
//! never evaluates again. A single-use sandbox (fresh) is not frozen: nothing it changes outlives it.

use crate::guards::guards_function;
use rquickjs::context::intrinsic;
use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Persistent, Runtime, Value};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The limits of one sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Bytes the runtime may allocate (QuickJS's own accounting).
    pub memory_bytes: usize,
    /// Bytes of native stack the interpreter may use below the point where the host enters it.
    pub stack_bytes: usize,
    /// Wall-clock time one evaluation may take, microtasks included.
    pub deadline: Duration,
    /// Longest accepted result, as JSON bytes.
    pub max_output_bytes: usize,
    /// Most microtasks (promise jobs) the host runs for one evaluation.
    pub max_jobs: u64,
    /// Most `log` lines kept per evaluation (later lines are counted, not kept).
    pub max_log_lines: usize,
}

/// The stack of the threads rows evaluate on (tokio's workers and blocking pool, std's spawned threads,
/// glommio's executors all default to 2 MiB); [`Limits::stack_bytes`] stays a small fraction of it.
pub const THREAD_STACK_BYTES: usize = 2 << 20;

/// How far past its deadline an evaluation may run, in CPU time of the evaluating thread: the longest
/// native step between two interrupt checks that the guards ([guards](crate::guards)) and the limits allow. That
/// step is building a value as large as the memory limit (`join` of a 24 MiB typed array under the
/// default 32 MiB: 120 ms of CPU from its start, 20 ms past the deadline, measured here 2026-12-07 by
/// `tests/builtins.rs`); the bound leaves room for a machine running slower than when it was measured.
pub const OVERRUN_BOUND: Duration = Duration::from_millis(150);

/// Most elements a sort may take: measured here (2026-12-07, QuickJS built with -O3), sorting 2^16
/// numbers with the default comparison (each compared as a string) took 15–16 ms, 2^16 strings 13 ms,
/// a Float64Array of 2^16 5 ms; the time grows as n log n.
pub const MAX_SORTED: usize = 1 << 16;

impl Limits {
    /// Most elements a builtin that walks a length in C may be given: as many as the memory limit
    /// could hold densely ([`VALUE_BYTES`] each), so only sparse arrays and array-likes are refused.
    pub fn max_elements(&self) -> u32 {
        (self.memory_bytes / VALUE_BYTES).min(u32::MAX as usize) as u32
    }

    /// Most elements a sort may take: [`MAX_SORTED`], or fewer when the memory limit holds fewer.
    pub fn max_sorted(&self) -> u32 {
        self.max_elements().min(MAX_SORTED as u32)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 32 << 20,
            stack_bytes: THREAD_STACK_BYTES / 8,
            deadline: Duration::from_millis(100),
            max_output_bytes: 1 << 20,
            max_jobs: 10_000,
            max_log_lines: 100,
        }
    }
}

/// How an evaluation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The deadline passed (bytecode, regex or microtasks), or the microtask limit was reached.
    Timeout,
    /// The memory limit was reached.
    Memory,
    /// The stack limit was reached.
    Stack,
    /// The source does not parse, or declares no `main`.
    Syntax,
    /// The script threw (an Error or any other value).
    Exception,
    /// The result's JSON is longer than the limit.
    OutputTooLarge,
}

impl ErrorKind {
    /// Every kind, in the order the CLI documents them.
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::Timeout,
        ErrorKind::Memory,
        ErrorKind::Stack,
        ErrorKind::Syntax,
        ErrorKind::Exception,
        ErrorKind::OutputTooLarge,
    ];

    /// The kind's name, as `script-check` prints it.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Memory => "memory",
            ErrorKind::Stack => "stack",
            ErrorKind::Syntax => "syntax",
            ErrorKind::Exception => "exception",
            ErrorKind::OutputTooLarge => "output-too-large",
        }
    }

    /// Whether a sandbox that ended this way may hold state the next caller must not see.
    fn taints(self) -> bool {
        matches!(
            self,
            ErrorKind::Timeout | ErrorKind::Memory | ErrorKind::Stack
        )
    }
}

/// A failed evaluation: its kind and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    pub kind: ErrorKind,
    pub message: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for ScriptError {}

fn err(kind: ErrorKind, message: impl Into<String>) -> ScriptError {
    ScriptError {
        kind,
        message: message.into(),
    }
}

/// A script: its name (for messages) and source.
#[derive(Debug, Clone)]
pub struct Script {
    pub name: String,
    pub source: Arc<str>,
}

impl Script {
    pub fn new(name: impl Into<String>, source: impl Into<Arc<str>>) -> Self {
        Script {
            name: name.into(),
            source: source.into(),
        }
    }

    /// Read a script file; the error names the path.
    pub fn read(path: &std::path::Path) -> Result<Script, ReadError> {
        let source = std::fs::read_to_string(path).map_err(|source| ReadError {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Script::new(path.display().to_string(), source))
    }
}

/// A script file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read script {path}: {source}")]
pub struct ReadError {
    pub path: String,
    pub source: std::io::Error,
}

/// One evaluation's result: the value `main` returned, as JSON, and what it logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// `JSON.stringify` of the result (`undefined` when it has no JSON form).
    pub json: String,
    pub log: Vec<String>,
}

/// The deadline the interrupt handler checks, shared with the handler closure.
struct Guard {
    epoch: Instant,
    /// Nanoseconds since `epoch` after which the handler interrupts; `u64::MAX` while no evaluation runs.
    deadline_ns: AtomicU64,
    /// The handler interrupted the current evaluation.
    fired: AtomicBool,
}

impl Guard {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
    fn passed(&self) -> bool {
        self.now_ns() > self.deadline_ns.load(Ordering::Relaxed)
    }
}

/// Freezes every object reachable from the global object (own properties, accessors and prototypes),
/// the intrinsics only reachable through syntax (generator, async and iterator prototypes), then the
/// global object. Removes the legacy RegExp statics (`RegExp.$1`, `lastMatch`, ...) first where the
/// engine has them: they would carry the last match of one evaluation into the next. The Go row's
/// sandbox runs this same source.
pub const LOCKDOWN: &str = r#"
(function () {
  "use strict";
  for (const k of ["$1","$2","$3","$4","$5","$6","$7","$8","$9","input","$_","lastMatch","$&","lastParen","$+","leftContext","$`","rightContext","$'"]) {
    try { delete RegExp[k]; } catch (e) {}
  }
  const seeds = [
    globalThis,
    Object.getPrototypeOf(function* () {}),
    Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(async function* () {}),
    Object.getPrototypeOf([][Symbol.iterator]()),
    Object.getPrototypeOf(new Map()[Symbol.iterator]()),
    Object.getPrototypeOf(new Set()[Symbol.iterator]()),
    Object.getPrototypeOf(""[Symbol.iterator]()),
    Object.getPrototypeOf("a".matchAll(/a/g)),
    Object.getPrototypeOf(Uint8Array),
    (function () { return arguments; })(),
  ];
  const seen = new Set();
  const todo = seeds.slice();
  while (todo.length > 0) {
    const o = todo.pop();
    if (o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o)) continue;
    seen.add(o);
    for (const k of Reflect.ownKeys(o)) {
      const d = Reflect.getOwnPropertyDescriptor(o, k);
      if (d === undefined) continue;
      if ("value" in d) todo.push(d.value); else { todo.push(d.get); todo.push(d.set); }
    }
    todo.push(Object.getPrototypeOf(o));
  }
  for (const o of seen) Object.freeze(o);
  return seen.size;
})()
"#;

/// Bytes of one JavaScript value in an array's storage (QuickJS's `JSValue` on 64-bit targets): the
/// memory limit admits at most `memory_bytes / VALUE_BYTES` dense elements.
pub const VALUE_BYTES: usize = 16;

/// The trusted runners, made before the lockdown and kept out of the script's reach:
///
/// - `compile(source)`: a strict direct `eval` of the source, so the script's declarations live in this
///   call's scope and vanish with it; returns the script's `main`.
/// - `precompile(source)`: compiles the source once into a function whose body is the source; each call of
///   that function runs the script's top level afresh and returns its `main`. The source is checked first
///   to parse alone as a strict script ([`Sandbox::parses_alone`]), so it cannot close the function it is
///   wrapped in and leave declarations outside it.
///
/// The Go row's sandbox runs these same runners.
pub const RUNNERS: &str = r#"
(function () {
  "use strict";
  const compile = function compile(__dyno_source) {
    return eval(__dyno_source + "\n;typeof main === 'function' ? main : undefined");
  };
  const precompile = function precompile(__dyno_source) {
    return eval("(function () {\n" + __dyno_source + "\n;return typeof main === 'function' ? main : undefined;\n})");
  };
  return [compile, precompile];
})()
"#;

/// One QuickJS runtime and its context, with limits, evaluating scripts one at a time.
pub struct Sandbox {
    // Values held in the runtime are dropped before it (fields drop in declaration order).
    compile: Persistent<Function<'static>>,
    precompile: Persistent<Function<'static>>,
    /// The source compiled by `precompile` and the function it gave.
    compiled: Option<(Arc<str>, Persistent<Function<'static>>)>,
    ctx: Context,
    rt: Runtime,
    guard: Arc<Guard>,
    log: Rc<RefCell<(Vec<String>, usize)>>,
    limits: Limits,
    dirty: bool,
    single_use: bool,
}

impl Sandbox {
    /// A runtime with `limits`, its context locked down, to evaluate any number of times.
    pub fn new(limits: &Limits) -> Result<Sandbox, ScriptError> {
        Sandbox::build(limits, true, true)
    }

    /// A sandbox without the builtin guards ([guards](crate::guards)): a script can hold it past its deadline.
    /// Only for measuring what the guards cost (`examples/guard_cost.rs`).
    #[doc(hidden)]
    pub fn unguarded(limits: &Limits, reused: bool) -> Result<Sandbox, ScriptError> {
        Sandbox::build(limits, reused, false)
    }

    /// A runtime with `limits` for one evaluation: its context is not locked down (nothing can outlive
    /// the evaluation), and it refuses a second one.
    pub fn single_use(limits: &Limits) -> Result<Sandbox, ScriptError> {
        Sandbox::build(limits, false, true)
    }

    fn build(limits: &Limits, reused: bool, guarded: bool) -> Result<Sandbox, ScriptError> {
        let setup =
            |e: rquickjs::Error| err(ErrorKind::Memory, format!("cannot set up the sandbox: {e}"));
        let rt = Runtime::new().map_err(setup)?;
        rt.set_memory_limit(limits.memory_bytes);
        rt.set_max_stack_size(limits.stack_bytes);
        let guard = Arc::new(Guard {
            epoch: Instant::now(),
            deadline_ns: AtomicU64::new(u64::MAX),
            fired: AtomicBool::new(false),
        });
        let g = guard.clone();
        rt.set_interrupt_handler(Some(Box::new(move || {
            let passed = g.passed();
            if passed {
                g.fired.store(true, Ordering::Relaxed);
            }
            passed
        })));
        let ctx = Context::custom::<(
            intrinsic::Date,
            intrinsic::Eval,
            intrinsic::RegExpCompiler,
            intrinsic::RegExp,
            intrinsic::Json,
            intrinsic::MapSet,
            intrinsic::TypedArrays,
            intrinsic::Promise,
        )>(&rt)
        .map_err(setup)?;
        let log: Rc<RefCell<(Vec<String>, usize)>> = Rc::default();
        let max_lines = limits.max_log_lines;
        let (compile, precompile) = ctx.with(|ctx| -> Result<_, ScriptError> {
            let sink = log.clone();
            let log_fn = Function::new(ctx.clone(), move |line: rquickjs::Coerced<String>| {
                let mut l = sink.borrow_mut();
                l.1 += 1;
                if l.0.len() < max_lines {
                    l.0.push(clip(&line.0, MAX_LOG_LINE_CHARS));
                }
            })
            .map_err(setup)?;
            ctx.globals().set("log", log_fn).map_err(setup)?;
            let runners: Vec<Function> = ctx
                .eval(RUNNERS)
                .catch(&ctx)
                .map_err(|e| err(ErrorKind::Exception, format!("sandbox runners: {e}")))?;
            let [compile, precompile]: [Function; 2] = runners
                .try_into()
                .map_err(|_| err(ErrorKind::Exception, "sandbox runners: not two functions"))?;
            if guarded {
                let guards: Function = guards_function(&ctx)
                    .and_then(|v| v.get())
                    .catch(&ctx)
                    .map_err(|e| err(ErrorKind::Exception, format!("sandbox guards: {e}")))?;
                // As f64: a u32 above i32::MAX would reach JavaScript negative.
                let _: u32 = guards
                    .call((limits.max_elements() as f64, limits.max_sorted() as f64))
                    .catch(&ctx)
                    .map_err(|e| err(ErrorKind::Exception, format!("sandbox guards: {e}")))?;
            }
            if reused {
                let _: u32 = ctx
                    .eval(LOCKDOWN)
                    .catch(&ctx)
                    .map_err(|e| err(ErrorKind::Exception, format!("sandbox lockdown: {e}")))?;
            }
            Ok((
                Persistent::save(&ctx, compile),
                Persistent::save(&ctx, precompile),
            ))
        })?;
        Ok(Sandbox {
            compile,
            precompile,
            compiled: None,
            ctx,
            rt,
            guard,
            log,
            limits: limits.clone(),
            dirty: false,
            single_use: !reused,
        })
    }

    /// Whether an earlier evaluation may have left state behind (this sandbox must be dropped).
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Bytes QuickJS has allocated for this runtime.
    pub fn memory_used(&self) -> u64 {
        self.rt.memory_usage().malloc_size.max(0) as u64
    }

    /// Evaluate `script` on `input` (JSON): parse and compile the source, call `main`.
    pub fn eval(&mut self, script: &Script, input: &str) -> Result<Output, ScriptError> {
        self.run(script, input, false)
    }

    /// Evaluate with `script` compiled once per sandbox into a function of its source: later calls with
    /// the same source skip parsing and compiling, and each still runs the script's top level afresh.
    pub fn eval_compiled(&mut self, script: &Script, input: &str) -> Result<Output, ScriptError> {
        self.run(script, input, true)
    }

    fn run(&mut self, script: &Script, input: &str, keep: bool) -> Result<Output, ScriptError> {
        assert!(!self.dirty, "a dirty sandbox evaluated again");
        self.arm();
        let context = self.ctx.clone();
        let r = context.with(|ctx| self.eval_in(&ctx, script, input, keep));
        let r = r.and_then(|json| {
            if json.len() > self.limits.max_output_bytes {
                Err(err(
                    ErrorKind::OutputTooLarge,
                    format!(
                        "result is {} bytes of JSON, limit {}",
                        json.len(),
                        self.limits.max_output_bytes
                    ),
                ))
            } else {
                Ok(json)
            }
        });
        self.guard.deadline_ns.store(u64::MAX, Ordering::Relaxed);
        if self.single_use || matches!(&r, Err(e) if e.kind.taints()) {
            self.dirty = true;
        }
        let log = std::mem::take(&mut self.log.borrow_mut().0);
        r.map(|json| Output { json, log })
    }

    fn arm(&mut self) {
        let l = &mut *self.log.borrow_mut();
        l.0.clear();
        l.1 = 0;
        self.guard.fired.store(false, Ordering::Relaxed);
        let deadline = self.guard.now_ns() + self.limits.deadline.as_nanos() as u64;
        self.guard.deadline_ns.store(deadline, Ordering::Relaxed);
    }

    fn eval_in<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        script: &Script,
        input: &str,
        keep: bool,
    ) -> Result<String, ScriptError> {
        let main: Value = if keep {
            let wrapper = match &self.compiled {
                Some((src, f)) if Arc::ptr_eq(src, &script.source) => {
                    f.clone().restore(ctx).map_err(|e| self.classify(ctx, e))?
                }
                _ => {
                    self.parses_alone(ctx, &script.source)?;
                    let precompile = self
                        .precompile
                        .clone()
                        .restore(ctx)
                        .map_err(|e| self.classify(ctx, e))?;
                    let wrapper: Function = precompile
                        .call((script.source.as_ref(),))
                        .map_err(|e| self.classify(ctx, e))?;
                    self.compiled = Some((
                        script.source.clone(),
                        Persistent::save(ctx, wrapper.clone()),
                    ));
                    wrapper
                }
            };
            wrapper.call(()).map_err(|e| self.classify(ctx, e))?
        } else {
            let compile = self
                .compile
                .clone()
                .restore(ctx)
                .map_err(|e| self.classify(ctx, e))?;
            compile
                .call((script.source.as_ref(),))
                .map_err(|e| self.classify(ctx, e))?
        };
        let main = main.into_function().ok_or_else(|| {
            err(
                ErrorKind::Syntax,
                "SyntaxError: the script declares no function main(input)",
            )
        })?;
        let input = ctx.json_parse(input).map_err(|e| {
            err(
                ErrorKind::Exception,
                format!("the input is not JSON: {}", self.describe(ctx, e)),
            )
        })?;
        let out: Value = main.call((input,)).map_err(|e| self.classify(ctx, e))?;
        let out = self.settle(ctx, out)?;
        let json = ctx.json_stringify(out).map_err(|e| self.classify(ctx, e))?;
        Ok(match json {
            Some(s) => s.to_string().map_err(|e| self.classify(ctx, e))?,
            None => "undefined".to_string(),
        })
    }

    /// Run microtasks until `v` (when it is a promise) settles and no job is left, within the deadline
    /// and the job limit.
    fn settle<'js>(&mut self, ctx: &Ctx<'js>, v: Value<'js>) -> Result<Value<'js>, ScriptError> {
        let mut jobs = 0u64;
        let promise = v.as_promise().cloned();
        loop {
            if jobs >= self.limits.max_jobs {
                self.dirty = true;
                return Err(err(
                    ErrorKind::Timeout,
                    format!("more than {} microtasks", self.limits.max_jobs),
                ));
            }
            if self.guard.passed() {
                self.dirty = true;
                return Err(err(
                    ErrorKind::Timeout,
                    format!(
                        "deadline of {:?} passed while running microtasks",
                        self.limits.deadline
                    ),
                ));
            }
            if !ctx.execute_pending_job() {
                break;
            }
            jobs += 1;
        }
        if self.guard.fired.load(Ordering::Relaxed) {
            self.dirty = true;
            return Err(err(
                ErrorKind::Timeout,
                format!(
                    "deadline of {:?} passed in a microtask",
                    self.limits.deadline
                ),
            ));
        }
        let Some(p) = promise else { return Ok(v) };
        match p.result::<Value>() {
            None => Err(err(
                ErrorKind::Exception,
                "main returned a promise that never settles",
            )),
            Some(r) => r.map_err(|e| self.classify(ctx, e)),
        }
    }

    /// Whether `source` parses on its own as a strict script (compiled, not run): then it is a balanced
    /// list of statements that cannot close a function it is wrapped in.
    fn parses_alone(&self, ctx: &Ctx<'_>, source: &str) -> Result<(), ScriptError> {
        use rquickjs::qjs;
        let text = std::ffi::CString::new(format!("{source}\n;0"))
            .map_err(|_| err(ErrorKind::Syntax, "the source contains a NUL byte"))?;
        let flags =
            qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_STRICT | qjs::JS_EVAL_FLAG_COMPILE_ONLY;
        // SAFETY: the context is live for `ctx`'s lifetime; `text` is NUL-terminated as QuickJS's parser
        // requires and outlives the call; the returned value is either the exception marker or a
        // compiled function that `Value::from_raw` takes ownership of and frees on drop.
        unsafe {
            let v = qjs::JS_Eval(
                ctx.as_raw().as_ptr(),
                text.as_ptr(),
                text.as_bytes().len() as _,
                c"script".as_ptr(),
                flags as _,
            );
            if qjs::JS_IsException(v) {
                return Err(self.classify(ctx, rquickjs::Error::Exception));
            }
            drop(Value::from_raw(ctx.clone(), v));
        }
        Ok(())
    }

    /// Type a QuickJS error: the deadline, then the engine's memory and stack errors by their message,
    /// then syntax errors, then anything thrown.
    fn classify<'js>(&self, ctx: &Ctx<'js>, e: rquickjs::Error) -> ScriptError {
        let caught = CaughtError::from_error(ctx, e);
        if self.guard.fired.load(Ordering::Relaxed) {
            return err(
                ErrorKind::Timeout,
                format!(
                    "interrupted after the deadline of {:?}",
                    self.limits.deadline
                ),
            );
        }
        match caught {
            CaughtError::Exception(x) => {
                let name: String = x.get("name").unwrap_or_default();
                let message = x.message().unwrap_or_default();
                let line = one_line(&format!("{name}: {message}"));
                // The engine's size limits ("string too long", "invalid array length") and the
                // guards' element limit (tied to the memory limit) stop the same
                // bombs as the memory limit, earlier.
                if message.contains("out of memory")
                    || message.contains("string too long")
                    || message.contains("invalid array length")
                    || message.contains("over the sandbox's element limit")
                {
                    err(ErrorKind::Memory, line)
                } else if message.contains("stack overflow")
                    || message.contains("Maximum call stack size")
                {
                    err(ErrorKind::Stack, line)
                } else if name == "SyntaxError" {
                    err(ErrorKind::Syntax, line)
                } else {
                    err(ErrorKind::Exception, line)
                }
            }
            CaughtError::Value(v) => {
                if (v.is_null() || v.is_undefined()) && self.near_memory_limit(ctx) {
                    return err(
                        ErrorKind::Memory,
                        "out of memory (no error object could be made)",
                    );
                }
                let shown = v
                    .get::<rquickjs::Coerced<String>>()
                    .map(|c| c.0)
                    .unwrap_or_else(|_| format!("a {}", v.type_name()));
                err(
                    ErrorKind::Exception,
                    format!("threw a non-Error value: {}", one_line(&shown)),
                )
            }
            CaughtError::Error(e) => {
                if self.near_memory_limit(ctx) {
                    err(ErrorKind::Memory, one_line(&e.to_string()))
                } else {
                    err(ErrorKind::Exception, one_line(&e.to_string()))
                }
            }
        }
    }

    fn describe<'js>(&self, ctx: &Ctx<'js>, e: rquickjs::Error) -> String {
        self.classify(ctx, e).message
    }

    /// Whether the runtime is within 10% of its memory limit, asked from inside `Context::with` (where
    /// `Runtime::memory_usage` would re-enter the runtime's lock).
    fn near_memory_limit(&self, ctx: &Ctx<'_>) -> bool {
        let mut u = std::mem::MaybeUninit::<rquickjs::qjs::JSMemoryUsage>::zeroed();
        // SAFETY: the context pointer is live for the duration of `ctx`, and JS_ComputeMemoryUsage only
        // fills the struct it is given.
        let used = unsafe {
            let rt = rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr());
            rquickjs::qjs::JS_ComputeMemoryUsage(rt, u.as_mut_ptr());
            u.assume_init().malloc_size
        };
        used as f64 > self.limits.memory_bytes as f64 * 0.9
    }
}

/// Characters kept of one `log` line.
pub const MAX_LOG_LINE_CHARS: usize = 1024;
/// Characters kept of an error message.
pub const MAX_MESSAGE_CHARS: usize = 200;

/// `s` on one line, at most [`MAX_MESSAGE_CHARS`] characters.
fn one_line(s: &str) -> String {
    clip(&s.replace(['\n', '\r'], " "), MAX_MESSAGE_CHARS)
}

/// At most `n` characters of `s`, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
