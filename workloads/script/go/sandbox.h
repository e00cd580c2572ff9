// The sandbox of the script workload's Go row, in C over QuickJS: the Rust rows' sandbox
// (workloads/script/src/sandbox.rs) rebuilt on the same engine calls, with the same JavaScript runners,
// lockdown and guards (the Rust side passes their sources in the job file), limits and typed outcomes.
#ifndef DYNO_SANDBOX_H
#define DYNO_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

typedef struct dyno_sandbox dyno_sandbox;

typedef struct {
	size_t memory_bytes;
	size_t stack_bytes;
	size_t max_output_bytes;
	uint64_t deadline_ns;
	uint64_t max_jobs;
	double max_elements;
	double max_sorted;
} dyno_limits;

// How an evaluation ended: the Rust sandbox's ErrorKind, 0 for success.
enum {
	DYNO_OK = 0,
	DYNO_TIMEOUT,
	DYNO_MEMORY,
	DYNO_STACK,
	DYNO_SYNTAX,
	DYNO_EXCEPTION,
	DYNO_OUTPUT_TOO_LARGE,
};

// Once per process: keep the runners' and the lockdown's sources and compile the guards to bytecode.
// Returns 0, or -1 with *err (malloc'd) saying why.
int dyno_setup(const char *runners, const char *lockdown, const char *guards, char **err);

// A runtime with `limits` and its context: locked down to evaluate many times (`reused`), or for one
// evaluation. NULL with *err (malloc'd) when it cannot be made.
dyno_sandbox *dyno_new(const dyno_limits *limits, int reused, char **err);

// Evaluate `src` (NUL-terminated; `precompiled`: compiled once per sandbox into a function) on `input`
// (JSON). Returns a DYNO_* kind; *out (malloc'd) holds the result's JSON, or the error's message.
int dyno_eval(dyno_sandbox *s, const char *src, int precompiled, const char *input, size_t input_len,
	      char **out);

// Whether an earlier evaluation may have left state behind (the sandbox must be freed).
int dyno_is_dirty(const dyno_sandbox *s);

// Bytes QuickJS has allocated for this runtime.
int64_t dyno_memory_used(const dyno_sandbox *s);

void dyno_free(dyno_sandbox *s);

// CLOCK_MONOTONIC now, in ns.
uint64_t dyno_monotonic_ns(void);

// Sleep `ns` with nanosleep (not Go's timers), then read CLOCK_MONOTONIC: the lag probe's stamp.
uint64_t dyno_sleep_then_stamp(uint64_t ns);

#endif
