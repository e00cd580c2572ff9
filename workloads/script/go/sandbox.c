// The Go row's sandbox over QuickJS, step for step the Rust rows' (workloads/script/src/sandbox.rs):
// the same intrinsics, runners, guards and lockdown, limits, microtask settling and error typing, so that
// the two rows differ in the host language and its scheduler, not in what an evaluation does.
#include "sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quickjs.h"

struct dyno_sandbox {
	JSRuntime *rt;
	JSContext *ctx;
	JSValue compile;
	JSValue precompile;
	// The function `precompile` made of a source, and that source (the same pointer is the same script).
	const char *compiled_src;
	JSValue compiled;
	dyno_limits limits;
	// CLOCK_MONOTONIC ns after which the interrupt handler stops the evaluation; UINT64_MAX between them.
	uint64_t deadline;
	int fired;
	int dirty;
	int single_use;
};

// Characters kept of an error message, as the Rust rows keep.
#define MAX_MESSAGE 200

static char *runners_src, *lockdown_src;
static uint8_t *guards_bytecode;
static size_t guards_len;

uint64_t dyno_monotonic_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t dyno_sleep_then_stamp(uint64_t ns)
{
	struct timespec t = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	while (nanosleep(&t, &t) != 0) {
	}
	return dyno_monotonic_ns();
}

static char *copy(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		abort();
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

static char *copy_str(const char *s) { return copy(s, strlen(s)); }

// `s` on one line, at most MAX_MESSAGE bytes.
static char *one_line(const char *s)
{
	size_t n = strlen(s);
	char *d = copy(s, n > MAX_MESSAGE ? MAX_MESSAGE : n);
	for (char *p = d; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return d;
}

static int interrupt(JSRuntime *rt, void *opaque)
{
	dyno_sandbox *s = opaque;
	(void)rt;
	if (dyno_monotonic_ns() > s->deadline) {
		s->fired = 1;
		return 1;
	}
	return 0;
}

// `log(line)`: the line coerced to a string, as the Rust rows' log does; no line is kept (the shipped
// scripts log none).
static JSValue js_log(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
	(void)this_val;
	if (argc > 0) {
		const char *line = JS_ToCString(ctx, argv[0]);
		if (!line)
			return JS_EXCEPTION;
		JS_FreeCString(ctx, line);
	}
	return JS_UNDEFINED;
}

// Property `name` of `o` as a string ("" when absent or not convertible).
static char *prop_string(JSContext *ctx, JSValueConst o, const char *name)
{
	JSValue v = JS_GetPropertyStr(ctx, o, name);
	const char *c = JS_IsUndefined(v) || JS_IsException(v) ? NULL : JS_ToCString(ctx, v);
	char *r = copy_str(c ? c : "");
	if (c)
		JS_FreeCString(ctx, c);
	else
		JS_FreeValue(ctx, JS_GetException(ctx));
	JS_FreeValue(ctx, v);
	return r;
}

static int near_memory_limit(const dyno_sandbox *s)
{
	JSMemoryUsage u;
	JS_ComputeMemoryUsage(s->rt, &u);
	return (double)u.malloc_size > (double)s->limits.memory_bytes * 0.9;
}

// Type the pending exception: the deadline, then the engine's memory and stack errors by their message,
// then syntax errors, then anything thrown. *out: the message.
static int classify(dyno_sandbox *s, char **out)
{
	JSContext *ctx = s->ctx;
	JSValue x = JS_GetException(ctx);
	char msg[512];
	int kind = DYNO_EXCEPTION;
	if (s->fired) {
		snprintf(msg, sizeof msg, "interrupted after the deadline of %llu ms",
			 (unsigned long long)(s->limits.deadline_ns / 1000000u));
		kind = DYNO_TIMEOUT;
	} else if (JS_IsError(x)) {
		char *name = prop_string(ctx, x, "name"), *message = prop_string(ctx, x, "message");
		snprintf(msg, sizeof msg, "%s: %s", name, message);
		if (strstr(message, "out of memory") || strstr(message, "string too long") ||
		    strstr(message, "invalid array length") ||
		    strstr(message, "over the sandbox's element limit"))
			kind = DYNO_MEMORY;
		else if (strstr(message, "stack overflow") || strstr(message, "Maximum call stack size"))
			kind = DYNO_STACK;
		else if (strcmp(name, "SyntaxError") == 0)
			kind = DYNO_SYNTAX;
		free(name);
		free(message);
	} else if ((JS_IsNull(x) || JS_IsUndefined(x)) && near_memory_limit(s)) {
		snprintf(msg, sizeof msg, "out of memory (no error object could be made)");
		kind = DYNO_MEMORY;
	} else {
		const char *c = JS_ToCString(ctx, x);
		snprintf(msg, sizeof msg, "threw a non-Error value: %s", c ? c : "a value with no string form");
		if (c)
			JS_FreeCString(ctx, c);
		else
			JS_FreeValue(ctx, JS_GetException(ctx));
	}
	JS_FreeValue(ctx, x);
	*out = one_line(msg);
	return kind;
}

int dyno_setup(const char *runners, const char *lockdown, const char *guards, char **err)
{
	runners_src = copy_str(runners);
	lockdown_src = copy_str(lockdown);
	// The guards are compiled once per process and read from bytecode by every sandbox, as the Rust
	// rows do (parsing them per fresh sandbox would cost more than the rest of its setup).
	JSRuntime *rt = JS_NewRuntime();
	JSContext *ctx = rt ? JS_NewContext(rt) : NULL;
	if (!ctx) {
		*err = copy_str("cannot make a runtime to compile the guards");
		return -1;
	}
	int rc = 0;
	JSValue f = JS_Eval(ctx, guards, strlen(guards), "guards",
			    JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
	uint8_t *b = JS_IsException(f) ? NULL : JS_WriteObject(ctx, &guards_len, f, JS_WRITE_OBJ_BYTECODE);
	if (!b) {
		*err = copy_str("the guards do not compile");
		rc = -1;
	} else {
		guards_bytecode = (uint8_t *)copy((const char *)b, guards_len);
		js_free(ctx, b);
	}
	JS_FreeValue(ctx, f);
	JS_FreeContext(ctx);
	JS_FreeRuntime(rt);
	return rc;
}

void dyno_free(dyno_sandbox *s)
{
	if (s->ctx) {
		JS_FreeValue(s->ctx, s->compile);
		JS_FreeValue(s->ctx, s->precompile);
		JS_FreeValue(s->ctx, s->compiled);
		JS_FreeContext(s->ctx);
	}
	if (s->rt)
		JS_FreeRuntime(s->rt);
	free(s);
}

// Set-up step `what` failed with the pending exception: free the sandbox, say why.
static dyno_sandbox *failed(dyno_sandbox *s, const char *what, char **err)
{
	char *m, msg[512];
	classify(s, &m);
	snprintf(msg, sizeof msg, "%s: %s", what, m);
	free(m);
	*err = copy_str(msg);
	dyno_free(s);
	return NULL;
}

dyno_sandbox *dyno_new(const dyno_limits *limits, int reused, char **err)
{
	dyno_sandbox *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->limits = *limits;
	s->deadline = UINT64_MAX;
	s->single_use = !reused;
	s->compile = s->precompile = s->compiled = JS_UNDEFINED;
	s->rt = JS_NewRuntime();
	if (s->rt) {
		JS_SetMemoryLimit(s->rt, limits->memory_bytes);
		JS_SetMaxStackSize(s->rt, limits->stack_bytes);
		JS_SetInterruptHandler(s->rt, interrupt, s);
		s->ctx = JS_NewContextRaw(s->rt);
	}
	if (!s->ctx) {
		*err = copy_str("cannot set up the sandbox: no runtime or context");
		dyno_free(s);
		return NULL;
	}
	JSContext *ctx = s->ctx;
	JS_AddIntrinsicBaseObjects(ctx);
	JS_AddIntrinsicDate(ctx);
	JS_AddIntrinsicEval(ctx);
	JS_AddIntrinsicRegExpCompiler(ctx);
	JS_AddIntrinsicRegExp(ctx);
	JS_AddIntrinsicJSON(ctx);
	JS_AddIntrinsicMapSet(ctx);
	JS_AddIntrinsicTypedArrays(ctx);
	JS_AddIntrinsicPromise(ctx);
	JSValue global = JS_GetGlobalObject(ctx);
	JS_SetPropertyStr(ctx, global, "log", JS_NewCFunction(ctx, js_log, "log", 1));
	JS_FreeValue(ctx, global);
	JSValue runners = JS_Eval(ctx, runners_src, strlen(runners_src), "runners", JS_EVAL_TYPE_GLOBAL);
	if (JS_IsException(runners))
		return failed(s, "sandbox runners", err);
	s->compile = JS_GetPropertyUint32(ctx, runners, 0);
	s->precompile = JS_GetPropertyUint32(ctx, runners, 1);
	JS_FreeValue(ctx, runners);
	JSValue g = JS_ReadObject(ctx, guards_bytecode, guards_len, JS_READ_OBJ_BYTECODE);
	JSValue install = JS_IsException(g) ? g : JS_EvalFunction(ctx, g);
	if (JS_IsException(install))
		return failed(s, "sandbox guards", err);
	JSValue args[2] = {JS_NewFloat64(ctx, limits->max_elements),
			   JS_NewFloat64(ctx, limits->max_sorted)};
	JSValue n = JS_Call(ctx, install, JS_UNDEFINED, 2, args);
	JS_FreeValue(ctx, install);
	if (JS_IsException(n))
		return failed(s, "sandbox guards", err);
	JS_FreeValue(ctx, n);
	if (reused) {
		JSValue v = JS_Eval(ctx, lockdown_src, strlen(lockdown_src), "lockdown", JS_EVAL_TYPE_GLOBAL);
		if (JS_IsException(v))
			return failed(s, "sandbox lockdown", err);
		JS_FreeValue(ctx, v);
	}
	return s;
}

int dyno_is_dirty(const dyno_sandbox *s) { return s->dirty; }

int64_t dyno_memory_used(const dyno_sandbox *s)
{
	JSMemoryUsage u;
	JS_ComputeMemoryUsage(s->rt, &u);
	return u.malloc_size;
}

// Whether `src` parses on its own as a strict script (compiled, not run): then it cannot close the
// function the precompile runner wraps it in.
static int parses_alone(dyno_sandbox *s, const char *src, char **out)
{
	size_t n = strlen(src);
	char *text = malloc(n + 4);
	if (!text)
		abort();
	memcpy(text, src, n);
	memcpy(text + n, "\n;0", 4);
	JSValue v = JS_Eval(s->ctx, text, n + 3, "script",
			    JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_STRICT | JS_EVAL_FLAG_COMPILE_ONLY);
	free(text);
	if (JS_IsException(v))
		return classify(s, out);
	JS_FreeValue(s->ctx, v);
	return DYNO_OK;
}

// A timeout while settling *v (freed): the sandbox is dirty.
static int timeout(dyno_sandbox *s, JSValue *v, const char *what, char **out)
{
	JS_FreeValue(s->ctx, *v);
	*v = JS_UNDEFINED;
	s->dirty = 1;
	*out = copy_str(what);
	return DYNO_TIMEOUT;
}

// Run microtasks until *v (when it is a promise) settles and no job is left, within the deadline and
// the job limit; *v becomes the promise's value (and is freed when it does not settle).
static int settle(dyno_sandbox *s, JSValue *v, char **out)
{
	JSContext *ctx = s->ctx;
	for (uint64_t jobs = 0;; jobs++) {
		if (jobs >= s->limits.max_jobs)
			return timeout(s, v, "more microtasks than the limit", out);
		if (dyno_monotonic_ns() > s->deadline)
			return timeout(s, v, "deadline passed while running microtasks", out);
		JSContext *job_ctx;
		int r = JS_ExecutePendingJob(s->rt, &job_ctx);
		if (r == 0)
			break;
		if (r < 0)
			JS_FreeValue(job_ctx, JS_GetException(job_ctx));
	}
	if (s->fired)
		return timeout(s, v, "deadline passed in a microtask", out);
	if (!JS_IsPromise(*v))
		return DYNO_OK;
	JSPromiseStateEnum state = JS_PromiseState(ctx, *v);
	JSValue r = state == JS_PROMISE_PENDING ? JS_UNDEFINED : JS_PromiseResult(ctx, *v);
	JS_FreeValue(ctx, *v);
	*v = JS_UNDEFINED;
	if (state == JS_PROMISE_PENDING) {
		*out = copy_str("main returned a promise that never settles");
		return DYNO_EXCEPTION;
	}
	if (state == JS_PROMISE_REJECTED) {
		JS_Throw(ctx, r);
		return classify(s, out);
	}
	*v = r;
	return DYNO_OK;
}

// The script's `main`: from the compile runner, or from the function the precompile runner made once.
static JSValue main_of(dyno_sandbox *s, const char *src, int precompiled, int *kind, char **out)
{
	JSContext *ctx = s->ctx;
	*kind = DYNO_OK;
	if (!precompiled) {
		JSValue text = JS_NewString(ctx, src);
		JSValue m = JS_Call(ctx, s->compile, JS_UNDEFINED, 1, &text);
		JS_FreeValue(ctx, text);
		return m;
	}
	if (s->compiled_src != src) {
		if ((*kind = parses_alone(s, src, out)) != DYNO_OK)
			return JS_UNDEFINED;
		JSValue text = JS_NewString(ctx, src);
		JSValue wrapper = JS_Call(ctx, s->precompile, JS_UNDEFINED, 1, &text);
		JS_FreeValue(ctx, text);
		if (JS_IsException(wrapper))
			return wrapper;
		JS_FreeValue(ctx, s->compiled);
		s->compiled = wrapper;
		s->compiled_src = src;
	}
	return JS_Call(ctx, s->compiled, JS_UNDEFINED, 0, NULL);
}

static int eval_in(dyno_sandbox *s, const char *src, int precompiled, const char *input, size_t input_len,
		   char **out)
{
	JSContext *ctx = s->ctx;
	int kind;
	JSValue main = main_of(s, src, precompiled, &kind, out);
	if (kind != DYNO_OK)
		return kind;
	if (JS_IsException(main))
		return classify(s, out);
	if (!JS_IsFunction(ctx, main)) {
		JS_FreeValue(ctx, main);
		*out = copy_str("SyntaxError: the script declares no function main(input)");
		return DYNO_SYNTAX;
	}
	JSValue in = JS_ParseJSON(ctx, input, input_len, "input");
	if (JS_IsException(in)) {
		JS_FreeValue(ctx, main);
		char *m, msg[512];
		classify(s, &m);
		snprintf(msg, sizeof msg, "the input is not JSON: %s", m);
		free(m);
		*out = copy_str(msg);
		return DYNO_EXCEPTION;
	}
	JSValue result = JS_Call(ctx, main, JS_UNDEFINED, 1, &in);
	JS_FreeValue(ctx, in);
	JS_FreeValue(ctx, main);
	if (JS_IsException(result))
		return classify(s, out);
	if ((kind = settle(s, &result, out)) != DYNO_OK)
		return kind;
	JSValue json = JS_JSONStringify(ctx, result, JS_UNDEFINED, JS_UNDEFINED);
	JS_FreeValue(ctx, result);
	if (JS_IsException(json))
		return classify(s, out);
	if (JS_IsUndefined(json)) {
		*out = copy_str("undefined");
		return DYNO_OK;
	}
	size_t n;
	const char *c = JS_ToCStringLen(ctx, &n, json);
	JS_FreeValue(ctx, json);
	if (!c)
		return classify(s, out);
	*out = copy(c, n);
	JS_FreeCString(ctx, c);
	return DYNO_OK;
}

int dyno_eval(dyno_sandbox *s, const char *src, int precompiled, const char *input, size_t input_len,
	      char **out)
{
	// A goroutine may run on another thread than the last evaluation did: the stack limit is measured
	// from here.
	JS_UpdateStackTop(s->rt);
	s->fired = 0;
	s->deadline = dyno_monotonic_ns() + s->limits.deadline_ns;
	int kind = eval_in(s, src, precompiled, input, input_len, out);
	if (kind == DYNO_OK && strlen(*out) > s->limits.max_output_bytes) {
		char msg[128];
		snprintf(msg, sizeof msg, "result is %zu bytes of JSON, limit %zu", strlen(*out),
			 s->limits.max_output_bytes);
		free(*out);
		*out = copy_str(msg);
		kind = DYNO_OUTPUT_TOO_LARGE;
	}
	s->deadline = UINT64_MAX;
	if (s->single_use || kind == DYNO_TIMEOUT || kind == DYNO_MEMORY || kind == DYNO_STACK)
		s->dirty = 1;
	return kind;
}
