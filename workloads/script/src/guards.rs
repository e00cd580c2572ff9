//! The builtin guards: wrappers, installed in every sandbox before its lockdown, that bound the builtins
//! whose loops over a length run in C without an interrupt check, and the bytecode they are read from.

use rquickjs::{Ctx, Value};

/// Guards the builtins whose loops over a length run in C without an interrupt check. QuickJS polls its
/// interrupt handler between bytecodes and on every function call, so a builtin that calls back into
/// JavaScript (`map`, `forEach`, `reduce`, a sort comparator, an iterator) or polls itself (`indexOf`,
/// `includes`, `lastIndexOf`) stops at the deadline; the others walk a length without calling anything.
/// On a sparse array or an array-like (`new Array(2**32 - 1)`, `{length: 2**53 - 1}`) they walk
/// billions of absent elements without allocating, so neither the deadline nor the memory limit stops
/// them. Found by `tests/builtins.rs`, which calls every method on such receivers:
///
/// - Array methods that walk `this` (and `concat` its spreadable arguments) refuse more than
///   `maxElements` (a sort more than `maxSorted`); `toString` and every string conversion of an array go
///   through the guarded `join`;
/// - `String.prototype.replaceAll` refuses a receiver longer than `maxElements` (it loops over
///   occurrences in C);
/// - typed arrays built from an array-like (not an iterable, buffer or typed array) refuse one longer than
///   `maxElements`: the constructors, `from` and `set`;
/// - `JSON.stringify` runs with a function replacer (the script's, or an identity one), so the engine
///   calls a function, and polls, per value; an array replacer (a property list) becomes the equivalent
///   function, keys in the list's order.
///
/// The originals live only in the wrappers' closures, and the wrappers are installed before the lockdown
/// freezes the prototypes, so a script can neither restore nor reach them. A wrapper reads `length`
/// once more than the builtin does (a getter runs twice). The Go row's sandbox installs these same guards.
pub const GUARDS: &str = r#"
(function (maxElements, maxSorted) {
  "use strict";
  const apply = Reflect.apply, construct = Reflect.construct, getOwn = Reflect.getOwnPropertyDescriptor;
  const define = Reflect.defineProperty, isArray = Array.isArray, spreadable = Symbol.isConcatSpreadable;
  const iterator = Symbol.iterator, isView = ArrayBuffer.isView, hasOwn = Object.hasOwn;
  const Obj = Object, RangeErr = RangeError, trunc = Math.trunc, toNumber = Number, toStr = String;
  const AB = ArrayBuffer, SAB = typeof SharedArrayBuffer === "function" ? SharedArrayBuffer : AB;
  const ta = Object.getPrototypeOf(Uint8Array);
  function refuse(where, n, cap) {
    throw new RangeErr(where + " on " + n + " elements: over the sandbox's element limit of " + cap);
  }
  function check(o, where, cap) {
    if (o === null || o === undefined) return;
    const n = trunc(toNumber(Obj(o).length));
    if (n > cap) refuse(where, n, cap);
  }
  function checkArrayLike(o, where) {
    if (o === null || typeof o !== "object" || isView(o) || o instanceof AB || o instanceof SAB) return;
    if (typeof o[iterator] === "function") return;
    check(o, where, maxElements);
  }
  function replace(target, name, where, make) {
    const d = getOwn(target, name);
    if (d === undefined || typeof d.value !== "function") return 0;
    const wrapper = make(d.value);
    define(wrapper, "length", { value: d.value.length });
    define(target, name, { value: wrapper, writable: d.writable, enumerable: d.enumerable, configurable: d.configurable });
    return 1;
  }
  function methods(proto, protoName, names, cap, argsToo) {
    let n = 0;
    for (const name of names) {
      const where = protoName + ".prototype." + name;
      n += replace(proto, name, where, (original) => ({ [name]() {
        check(this, where, cap);
        if (argsToo) {
          for (let i = 0; i < arguments.length; i++) {
            const a = arguments[i];
            if (a !== null && typeof a === "object" && (isArray(a) || a[spreadable])) check(a, where, cap);
          }
        }
        return apply(original, this, arguments);
      } })[name]);
    }
    return n;
  }
  let n = methods(Array.prototype, "Array", ["concat"], maxElements, true)
    + methods(Array.prototype, "Array", ["copyWithin", "fill", "flat", "flatMap", "join", "reverse", "shift", "slice", "splice", "toLocaleString", "toReversed", "toSpliced", "unshift", "with"], maxElements, false)
    + methods(Array.prototype, "Array", ["sort", "toSorted"], maxSorted, false)
    + methods(ta.prototype, "TypedArray", ["sort", "toSorted"], maxSorted, false)
    + methods(String.prototype, "String", ["replaceAll"], maxElements, false);
  n += replace(ta.prototype, "set", "TypedArray.prototype.set", (original) => ({ set(source) {
    checkArrayLike(source, "TypedArray.prototype.set");
    return apply(original, this, arguments);
  } }).set);
  n += replace(ta, "from", "TypedArray.from", (original) => ({ from(source) {
    checkArrayLike(source, "TypedArray.from");
    return apply(original, this, arguments);
  } }).from);
  for (const name of ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array", "Float16Array", "Float32Array", "Float64Array"]) {
    const C = globalThis[name];
    if (typeof C !== "function") continue;
    const guarded = { [name]: function (source) {
      if (new.target === undefined) return apply(C, this, arguments);
      checkArrayLike(source, name);
      return construct(C, arguments, new.target === guarded ? C : new.target);
    } }[name];
    Object.setPrototypeOf(guarded, Object.getPrototypeOf(C));
    for (const k of Reflect.ownKeys(C)) {
      if (k !== "name" && k !== "length") define(guarded, k, getOwn(C, k));
    }
    define(guarded, "length", getOwn(C, "length"));
    define(C.prototype, "constructor", { value: guarded, writable: true, enumerable: false, configurable: true });
    define(globalThis, name, { value: guarded, writable: true, enumerable: false, configurable: true });
    n++;
  }
  n += replace(JSON, "stringify", "JSON.stringify", (original) => ({ stringify(value, replacer, space) {
    return apply(original, JSON, [value, pollingReplacer(replacer), space]);
  } }).stringify);
  function identity(key, value) { return value; }
  function pollingReplacer(replacer) {
    if (typeof replacer === "function") return replacer;
    if (!isArray(replacer)) return identity;
    const keys = [];
    for (const e of replacer) {
      const k = typeof e === "string" || typeof e === "number" || e instanceof String || e instanceof Number ? toStr(e) : undefined;
      if (k !== undefined && !keys.includes(k)) keys.push(k);
    }
    return function (key, value) {
      if (value === null || typeof value !== "object" || isArray(value)) return value;
      const picked = {};
      for (const k of keys) if (k in value) picked[k] = value[k];
      return picked;
    };
  }
  return n;
})
"#;

/// [`GUARDS`] compiled once per process to QuickJS bytecode: a fresh sandbox reads it instead of
/// parsing the source (measured here: 140 µs of parsing and compiling per sandbox otherwise, more than
/// the rest of a fresh sandbox's setup).
static GUARDS_BYTECODE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// The guards' installer function, in `ctx`: [`GUARDS`] evaluated from its cached bytecode.
pub(crate) fn guards_function<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    use rquickjs::qjs;
    let raw = ctx.as_raw().as_ptr();
    let bytes = match GUARDS_BYTECODE.get() {
        Some(b) => b,
        None => {
            let text = std::ffi::CString::new(GUARDS).expect("no NUL in the guards");
            // SAFETY: `raw` is the live context of `ctx`; the source is NUL-terminated and outlives
            // the call; the compiled value is owned by the `Value` that frees it; the buffer
            // JS_WriteObject returns is copied, then freed with the context's allocator.
            let bytes = unsafe {
                let f = qjs::JS_Eval(
                    raw,
                    text.as_ptr(),
                    text.as_bytes().len() as _,
                    c"guards".as_ptr(),
                    (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as _,
                );
                if qjs::JS_IsException(f) {
                    return Err(rquickjs::Error::Exception);
                }
                let f = Value::from_raw(ctx.clone(), f);
                let mut len = 0;
                let p =
                    qjs::JS_WriteObject(raw, &mut len, f.as_raw(), qjs::JS_WRITE_OBJ_BYTECODE as _);
                if p.is_null() {
                    return Err(rquickjs::Error::Exception);
                }
                let bytes = std::slice::from_raw_parts(p, len as usize).to_vec();
                qjs::js_free(raw, p.cast());
                bytes
            };
            GUARDS_BYTECODE.get_or_init(|| bytes)
        }
    };
    // SAFETY: the bytes were written by JS_WriteObject of this same engine in this process;
    // JS_EvalFunction takes ownership of the function object it is given; the result is owned by
    // the returned `Value`.
    unsafe {
        let f = qjs::JS_ReadObject(
            raw,
            bytes.as_ptr(),
            bytes.len() as _,
            qjs::JS_READ_OBJ_BYTECODE as _,
        );
        if qjs::JS_IsException(f) {
            return Err(rquickjs::Error::Exception);
        }
        let v = qjs::JS_EvalFunction(raw, f);
        if qjs::JS_IsException(v) {
            return Err(rquickjs::Error::Exception);
        }
        Ok(Value::from_raw(ctx.clone(), v))
    }
}
