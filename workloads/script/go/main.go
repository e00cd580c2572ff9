// Command dyno-script-go is the script workload's Go reference row, speaking dyno's row protocol
// (package dyno/row): goroutines evaluate the shipped script in QuickJS through cgo, built from the
// same C sources as the Rust rows' engine (rquickjs-sys's), with the same runners, guards, lockdown
// and limits (sandbox.c; their JavaScript, the script, its inputs and the reference outputs come from
// the job file the cell writes), from a fresh sandbox per evaluation, a pooled one or a pooled one
// with the script compiled once. A lag probe (a locked thread that sleeps 1 ms with nanosleep and
// stamps the time, a goroutine that receives the stamp) measures how late a goroutine runs while the
// others evaluate, and alone before them for the idle baseline.
package main

/*
#cgo CFLAGS: -O3 -D_GNU_SOURCE
#cgo LDFLAGS: -lm -lpthread
#include <stdlib.h>
#include "sandbox.h"
*/
import "C"

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"dyno/row"
)

type params struct {
	Script       string `json:"script"`
	Context      string `json:"context"`
	Placement    string `json:"placement"`
	TasksPerCore int    `json:"tasks_per_core"`
}

// The sandbox's limits, as the Rust rows' Limits.
type limits struct {
	MemoryBytes    uint64  `json:"memory_bytes"`
	StackBytes     uint64  `json:"stack_bytes"`
	MaxOutputBytes uint64  `json:"max_output_bytes"`
	DeadlineNs     uint64  `json:"deadline_ns"`
	MaxJobs        uint64  `json:"max_jobs"`
	MaxElements    float64 `json:"max_elements"`
	MaxSorted      float64 `json:"max_sorted"`
}

// What the cell gives beside the protocol's arguments (workloads/script/src/go.rs writes it).
type job struct {
	Source       string   `json:"source"`
	Runners      string   `json:"runners"`
	Lockdown     string   `json:"lockdown"`
	Guards       string   `json:"guards"`
	Limits       limits   `json:"limits"`
	Inputs       []string `json:"inputs"`
	Expected     []string `json:"expected"`
	IdleStamps   int      `json:"idle_stamps"`
	RssSandboxes int      `json:"rss_sandboxes"`
	LagPeriodNs  uint64   `json:"lag_period_ns"`
	LagQueue     int      `json:"lag_queue"`
}

// An evaluation's outcome by its DYNO_* code: the Rust rows' error kinds.
var kinds = [...]string{"ok", "timeout", "memory", "stack", "syntax", "exception", "output-too-large"}

// engine is what every evaluation shares, its strings in C memory made once.
type engine struct {
	script   string
	limits   C.dyno_limits
	source   *C.char
	inputs   []*C.char
	lens     []C.size_t
	expected []string
	fresh    bool
	compiled C.int
	// Warm sandboxes free for any goroutine: a goroutine has no thread of its own to keep one on.
	pool chan *C.dyno_sandbox
}

func readJob(path string) *job {
	body, err := os.ReadFile(path)
	var j job
	if err == nil {
		err = json.Unmarshal(body, &j)
	}
	if err != nil || len(j.Inputs) == 0 || len(j.Inputs) != len(j.Expected) {
		row.Fail("-job %q is not a readable job with inputs and as many reference outputs: %v", path, err)
	}
	return &j
}

func newEngine(p *params, j *job, tasks int) *engine {
	var cerr *C.char
	runners, lockdown, guards := C.CString(j.Runners), C.CString(j.Lockdown), C.CString(j.Guards)
	if C.dyno_setup(runners, lockdown, guards, &cerr) != 0 {
		row.Fail("cannot set up the engine: %s", C.GoString(cerr))
	}
	C.free(unsafe.Pointer(runners))
	C.free(unsafe.Pointer(lockdown))
	C.free(unsafe.Pointer(guards))
	l := j.Limits
	e := &engine{
		script: p.Script,
		limits: C.dyno_limits{
			memory_bytes:     C.size_t(l.MemoryBytes),
			stack_bytes:      C.size_t(l.StackBytes),
			max_output_bytes: C.size_t(l.MaxOutputBytes),
			deadline_ns:      C.uint64_t(l.DeadlineNs),
			max_jobs:         C.uint64_t(l.MaxJobs),
			max_elements:     C.double(l.MaxElements),
			max_sorted:       C.double(l.MaxSorted),
		},
		source:   C.CString(j.Source),
		expected: j.Expected,
		fresh:    p.Context == "fresh",
		pool:     make(chan *C.dyno_sandbox, tasks),
	}
	if p.Context == "precompiled" {
		e.compiled = 1
	}
	for _, in := range j.Inputs {
		e.inputs = append(e.inputs, C.CString(in))
		e.lens = append(e.lens, C.size_t(len(in)))
	}
	return e
}

func (e *engine) sandbox(reused bool) *C.dyno_sandbox {
	var cerr *C.char
	r := C.int(0)
	if reused {
		r = 1
	}
	s := C.dyno_new(&e.limits, r, &cerr)
	if s == nil {
		row.Fail("cannot set up a sandbox: %s", C.GoString(cerr))
	}
	return s
}

// run evaluates input k on sandbox s, compiled once or not, and returns the outcome's kind and text.
func (e *engine) run(s *C.dyno_sandbox, k int, compiled C.int) (int, string) {
	var out *C.char
	kind := C.dyno_eval(s, e.source, compiled, e.inputs[k], e.lens[k], &out)
	text := C.GoString(out)
	C.free(unsafe.Pointer(out))
	return int(kind), text
}

// evaluate runs input k with the cell's strategy and checks its output against the reference, or
// fails the repeat.
func (e *engine) evaluate(k int) {
	var s *C.dyno_sandbox
	if e.fresh {
		s = e.sandbox(false)
	} else {
		select {
		case s = <-e.pool:
		default:
			s = e.sandbox(true)
		}
	}
	kind, text := e.run(s, k, e.compiled)
	if e.fresh || C.dyno_is_dirty(s) != 0 {
		C.dyno_free(s)
	} else {
		e.pool <- s
	}
	if kind != 0 {
		row.Fail("%s on input %d: %s: %s", e.script, k, kinds[kind], text)
	}
	if text != e.expected[k] {
		row.Fail("%s on input %d returned %s instead of the reference %s", e.script, k, text, e.expected[k])
	}
}

func rss() uint64 {
	statm, err := os.ReadFile("/proc/self/statm")
	f := strings.Fields(string(statm))
	if err != nil || len(f) < 2 {
		row.Fail("cannot read this process's RSS: %v", err)
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// sandboxMemory is the resident memory and QuickJS's own allocation per warm sandbox (script
// compiled), as RSS with n of them against none.
func sandboxMemory(e *engine, n int) (float64, float64) {
	before := rss()
	kept := make([]*C.dyno_sandbox, n)
	var qjs int64
	for i := range kept {
		kept[i] = e.sandbox(true)
		if kind, text := e.run(kept[i], 0, 1); kind != 0 {
			row.Fail("%s on input 0: %s: %s", e.script, kinds[kind], text)
		}
		qjs += int64(C.dyno_memory_used(kept[i]))
	}
	after := rss()
	for _, s := range kept {
		C.dyno_free(s)
	}
	grown := 0.0
	if after > before {
		grown = float64(after - before)
	}
	return grown / float64(n), float64(qjs) / float64(n)
}

// lagProbe receives stamps from a locked thread that sleeps a period (nanosleep, not Go's timers) and
// stamps the time: count of them, or (count 0) until the window ends, keeping those made in it. It
// returns each kept stamp's lag, in ns. A full queue means the receiver is held: the stamp is skipped.
func lagProbe(c *row.Clock, j *job, count int) []int64 {
	stamps := make(chan int64, j.LagQueue)
	go func() {
		runtime.LockOSThread()
		for n := 0; ; n++ {
			t := c.FromMonotonic(uint64(C.dyno_sleep_then_stamp(C.uint64_t(j.LagPeriodNs))))
			if (count > 0 && n >= count) || (count == 0 && t >= c.End) {
				close(stamps)
				return
			}
			select {
			case stamps <- t:
			default:
			}
		}
	}()
	var lags []int64
	for t := range stamps {
		if count > 0 || c.InWindow(t) {
			lags = append(lags, c.Now()-t)
		}
	}
	return lags
}

// quantileUs is the q-quantile of lags (sorted), in µs.
func quantileUs(lags []int64, q float64) float64 {
	i := int(q*float64(len(lags))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(lags) {
		i = len(lags) - 1
	}
	return float64(lags[i]) / 1e3
}

func sorted(lags []int64) []int64 {
	sort.Slice(lags, func(a, b int) bool { return lags[a] < lags[b] })
	return lags
}

func main() {
	jobPath := flag.String("job", "", "the cell's job (JSON): script, inputs, reference outputs, sandbox sources and limits")
	var p params
	c, cores, out := row.Start(&p)
	j := readJob(*jobPath)
	if p.Placement != "inline" {
		row.Fail("the go row runs placement=inline only: a goroutine in a cgo call already leaves its P to the others, so there is no separate blocking pool to offload to; given placement=%s", p.Placement)
	}
	if p.Context != "fresh" && p.Context != "pooled" && p.Context != "precompiled" {
		row.Fail("context %q: accepted fresh, pooled, precompiled", p.Context)
	}
	tasks := p.TasksPerCore * cores
	e := newEngine(&p, j, tasks)
	rssPer, qjsPer := sandboxMemory(e, j.RssSandboxes)
	idle := sorted(lagProbe(c, j, j.IdleStamps))
	if c.Now() >= c.Start {
		row.Fail("setup and the %d idle lag stamps took longer than the warm-up: the window opened before the evaluating goroutines started; give a longer warm-up", j.IdleStamps)
	}
	busyLags := make(chan []int64, 1)
	go func() { busyLags <- lagProbe(c, j, 0) }()
	recs := make([]*row.Recorder, tasks)
	var wg sync.WaitGroup
	for t := range recs {
		recs[t] = row.NewRecorder()
		wg.Add(1)
		go func(rec *row.Recorder, first int) {
			defer wg.Done()
			for i := first; ; i++ {
				t0 := c.Now()
				if t0 >= c.End {
					return
				}
				e.evaluate(i % len(j.Inputs))
				t1 := c.Now()
				if c.InWindow(t0) {
					rec.Measured(t1 - t0)
				}
				rec.Completed(t1, 1)
				runtime.Gosched()
			}
		}(recs[t], t)
	}
	wg.Wait()
	busy := sorted(<-busyLags)
	if len(busy) == 0 || len(idle) == 0 {
		row.Fail("the lag probe received no stamp in the window")
	}
	a := row.Merge(c, recs)
	a.Metrics["loop_lag_p50_us"] = quantileUs(busy, 0.5)
	a.Metrics["loop_lag_p99_us"] = quantileUs(busy, 0.99)
	a.Metrics["loop_lag_max_us"] = float64(busy[len(busy)-1]) / 1e3
	a.Metrics["loop_lag_idle_p99_us"] = quantileUs(idle, 0.99)
	a.Metrics["lag_samples_in_window"] = float64(len(busy))
	a.Metrics["rss_per_pooled_runtime_bytes"] = rssPer
	a.Metrics["quickjs_bytes_per_runtime"] = qjsPer
	a.Write(out)
}
