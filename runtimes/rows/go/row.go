// Package row is the Go side of dyno's row protocol (runtimes/rows/src/foreign.rs): the arguments a
// foreign row's process is given, the window on its clock, latency buckets and completion timelines
// kept per goroutine, and the answer it writes.
package row

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// The protocol's timeline interval: 50 ms.
const intervalNs = 50_000_000

// Latency buckets: 64 per power of two (under 1.6% wide), each counted at its upper bound.
const subBits = 6
const buckets = 64 << subBits

func bucket(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1
	return (e+1)<<subBits + int(v>>uint(e)) - 1<<subBits
}

func upper(b int) uint64 {
	if b < 1<<subBits {
		return uint64(b)
	}
	e := b>>subBits - 1
	m := uint64(b&(1<<subBits-1)) + 1<<subBits
	return (m+1)<<uint(e) - 1
}

// monotonicNs reads CLOCK_MONOTONIC, the clock of the window's edges (the standard library does not
// expose it as a number).
func monotonicNs() uint64 {
	var ts syscall.Timespec
	const clockMonotonic = 1
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return uint64(ts.Sec)*1_000_000_000 + uint64(ts.Nsec)
}

// Clock is the process's epoch and the measured window as offsets from it, in nanoseconds.
type Clock struct {
	epoch      time.Time
	epochMono  uint64
	Start, End int64
}

// Now is the time since the epoch in nanoseconds (Go's monotonic clock).
func (c *Clock) Now() int64 { return int64(time.Since(c.epoch)) }

// FromMonotonic converts a CLOCK_MONOTONIC reading in ns (e.g. one taken in C) to time since the
// epoch, as Now reads it.
func (c *Clock) FromMonotonic(ns uint64) int64 { return int64(ns) - int64(c.epochMono) }

// InWindow says whether time t (since the epoch) lies in the measured window.
func (c *Clock) InWindow(t int64) bool { return t >= c.Start && t < c.End }

// Seconds is the window's length.
func (c *Clock) Seconds() float64 { return float64(c.End-c.Start) / 1e9 }

// Start parses the protocol's arguments into params (JSON), sets GOMAXPROCS to the cores given and
// returns the clock, the cores and where the answer goes. A usage error exits 2.
func Start(params interface{}) (*Clock, int, string) {
	raw := flag.String("params", "", "the cell's parameters (JSON)")
	cores := flag.Int("cores", 1, "cores this process is confined to (GOMAXPROCS)")
	t0 := flag.Uint64("window-start-ns", 0, "window start, CLOCK_MONOTONIC ns")
	t1 := flag.Uint64("window-end-ns", 0, "window end, CLOCK_MONOTONIC ns")
	out := flag.String("out", "", "where to write the answer (JSON)")
	flag.Parse()
	err := json.Unmarshal([]byte(*raw), params)
	if err != nil || *out == "" || *t1 <= *t0 || *cores < 1 {
		fmt.Fprintf(os.Stderr, "usage: -params JSON -cores N -window-start-ns T0 -window-end-ns T1 -out FILE (T1 > T0, N >= 1); %v\n", err)
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*cores)
	c := &Clock{epoch: time.Now(), epochMono: monotonicNs()}
	c.Start = int64(*t0) - int64(c.epochMono)
	c.End = int64(*t1) - int64(c.epochMono)
	return c, *cores, *out
}

// Recorder is one goroutine's record: measured operations, their latency and every completion's time.
type Recorder struct {
	Ops      uint64
	latency  []uint64
	timeline []uint64
}

// NewRecorder makes an empty record.
func NewRecorder() *Recorder { return &Recorder{latency: make([]uint64, buckets)} }

// Measured counts one operation started in the window, with its latency.
func (r *Recorder) Measured(latencyNs int64) {
	r.Ops++
	if latencyNs < 0 {
		latencyNs = 0
	}
	r.latency[bucket(uint64(latencyNs))]++
}

// Counted counts n operations started in the window whose latency was not timed.
func (r *Recorder) Counted(n uint64) { r.Ops += n }

// Completed adds n completions at time t (since the epoch), measured or not, to the timeline.
func (r *Recorder) Completed(t int64, n uint64) {
	if t < 0 {
		return
	}
	i := int(t / intervalNs)
	for len(r.timeline) <= i {
		r.timeline = append(r.timeline, 0)
	}
	r.timeline[i] += n
}

// Answer is the protocol's answer for one repeat.
type Answer struct {
	Ops             uint64             `json:"ops"`
	Errors          map[string]uint64  `json:"errors"`
	ErrorSamples    map[string]string  `json:"error_samples"`
	Timeline        []uint64           `json:"timeline"`
	TimelineStartNs uint64             `json:"timeline_start_ns"`
	LatencyNs       [][2]uint64        `json:"latency_ns"`
	Metrics         map[string]float64 `json:"metrics"`
	clock           *Clock
}

// Merge folds the goroutines' records into one answer, its figures still to fill.
func Merge(c *Clock, rs []*Recorder) *Answer {
	a := &Answer{
		clock:           c,
		Errors:          map[string]uint64{},
		ErrorSamples:    map[string]string{},
		TimelineStartNs: c.epochMono,
		LatencyNs:       [][2]uint64{},
		Metrics:         map[string]float64{},
	}
	lat := make([]uint64, buckets)
	for _, r := range rs {
		a.Ops += r.Ops
		for i, n := range r.latency {
			lat[i] += n
		}
		for len(a.Timeline) < len(r.timeline) {
			a.Timeline = append(a.Timeline, 0)
		}
		for i, n := range r.timeline {
			a.Timeline[i] += n
		}
	}
	for b, n := range lat {
		if n > 0 {
			a.LatencyNs = append(a.LatencyNs, [2]uint64{upper(b), n})
		}
	}
	return a
}

// Write writes the answer to path, or fails the repeat, once the window has ended, then waits for its
// standard input to close: the cell reads the process's CPU and memory at the window's end and closes
// that input only then, so the process must still be there (a repeat whose work ended early, e.g.
// waking idle goroutines, waits too).
func (a *Answer) Write(path string) {
	if wait := a.clock.End - a.clock.Now(); wait > 0 {
		time.Sleep(time.Duration(wait))
	}
	body, err := json.Marshal(a)
	if err == nil {
		err = os.WriteFile(path, body, 0o644)
	}
	if err != nil {
		Fail("cannot write the answer to %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// Fail ends the repeat as failed, saying why on stderr (the cell reports its last line).
func Fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
