// Command dyno-pool-go is the pool workload's Go reference row, speaking dyno's row protocol
// (package dyno/row): goroutines acquire a buffer per operation, check it is empty, fill it, read it
// back and release it, from a sync.Pool (contender=thread-local: sync.Pool keeps per-P caches, as the
// thread-local pool keeps per-thread ones) or from plain allocation, which the garbage collector
// reclaims (contender=malloc). Allocations per operation come from runtime/metrics; the GC's cost in
// the window (cycles and total pause from runtime.MemStats, the p99 pause from runtime/metrics' pause
// histogram), read at the window's edges.
package main

import (
	"math"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"dyno/row"
)

type params struct {
	Contender    string `json:"contender"`
	Object       string `json:"object"`
	Pattern      string `json:"pattern"`
	Allocator    string `json:"allocator"`
	TasksPerCore int    `json:"tasks_per_core"`
}

// Operations a goroutine runs between two yields, as the runtime rows' tasks do.
const opsPerYield = 16

type buf struct{ b []byte }

// get and put: where an operation's buffer comes from and goes back to.
type source struct {
	get func() *buf
	put func(*buf)
}

func sourceOf(contender string, size int) source {
	switch contender {
	case "malloc":
		return source{
			get: func() *buf { return &buf{b: make([]byte, 0, size)} },
			put: func(*buf) {},
		}
	case "thread-local":
		p := &sync.Pool{New: func() interface{} { return &buf{b: make([]byte, 0, size)} }}
		return source{
			get: func() *buf { return p.Get().(*buf) },
			put: func(x *buf) { p.Put(x) },
		}
	}
	row.Fail("contender %q has no Go counterpart here; accepted: malloc, thread-local", contender)
	return source{}
}

// One operation: get a buffer, check it is empty, fill it as operation i would, read every 64th
// byte back, clear it and put it back.
func operation(s source, size int, i uint64) uint64 {
	x := s.get()
	if len(x.b) != 0 {
		row.Fail("a buffer came back holding %d bytes", len(x.b))
	}
	// Fill by doubling copies (memmove), as Rust's resize fills with memset, not byte by byte.
	x.b = x.b[:size]
	x.b[0] = byte(i)
	for n := 1; n < size; n *= 2 {
		copy(x.b[n:], x.b[:n])
	}
	sum := uint64(len(x.b))
	for k := 0; k < len(x.b); k += 64 {
		sum += uint64(x.b[k])
	}
	x.b = x.b[:0]
	s.put(x)
	return sum
}

// The window's view of the allocator and the GC: counters at one edge.
type edge struct {
	allocs, bytes uint64
	pauses        *metrics.Float64Histogram
	mem           runtime.MemStats
}

func readEdge() edge {
	s := []metrics.Sample{
		{Name: "/gc/heap/allocs:objects"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/pauses:seconds"},
	}
	metrics.Read(s)
	var e edge
	e.allocs, e.bytes = s[0].Value.Uint64(), s[1].Value.Uint64()
	e.pauses = s[2].Value.Float64Histogram()
	runtime.ReadMemStats(&e.mem)
	return e
}

// The 99th percentile of the GC pauses between two edges, in seconds, from runtime/metrics' pause
// histogram (the upper edge of the bucket that holds it; its lower edge for the last, open bucket).
func pauseP99(a, b *metrics.Float64Histogram) (float64, bool) {
	var total uint64
	delta := make([]uint64, len(b.Counts))
	for i := range b.Counts {
		delta[i] = b.Counts[i] - a.Counts[i]
		total += delta[i]
	}
	if total == 0 {
		return 0, false
	}
	want := (total*99 + 99) / 100
	var seen uint64
	for i, n := range delta {
		seen += n
		if seen >= want {
			if math.IsInf(b.Buckets[i+1], 1) {
				return b.Buckets[i], true
			}
			return b.Buckets[i+1], true
		}
	}
	return b.Buckets[len(b.Buckets)-1], true
}

func main() {
	var p params
	c, cores, out := row.Start(&p)
	sizes := map[string]int{"buf-256": 256, "buf-4k": 4096, "buf-64k": 65536}
	size, ok := sizes[p.Object]
	if !ok || p.Pattern != "same" || p.Allocator != "system" {
		row.Fail("the go row runs object=buf-256|buf-4k|buf-64k, pattern=same, allocator=system; given %s, %s, %s", p.Object, p.Pattern, p.Allocator)
	}
	s := sourceOf(p.Contender, size)
	edges := make(chan edge, 2)
	go func() {
		time.Sleep(time.Duration(c.Start - c.Now()))
		edges <- readEdge()
		time.Sleep(time.Duration(c.End - c.Now()))
		edges <- readEdge()
	}()
	tasks := p.TasksPerCore * cores
	recs := make([]*row.Recorder, tasks)
	sums := make([]uint64, tasks) // what the operations read back, kept from the optimiser
	var wg sync.WaitGroup
	for t := range recs {
		recs[t] = row.NewRecorder()
		wg.Add(1)
		go func(t int, rec *row.Recorder, first uint64) {
			defer wg.Done()
			var sum uint64
			for i := first; ; i++ {
				t0 := c.Now()
				if t0 >= c.End {
					break
				}
				sum += operation(s, size, i)
				t1 := c.Now()
				if c.InWindow(t0) {
					rec.Measured(t1 - t0)
				}
				rec.Completed(t1, 1)
				if i%opsPerYield == 0 {
					runtime.Gosched()
				}
			}
			sums[t] = sum
		}(t, recs[t], uint64(t)<<32)
	}
	wg.Wait()
	start, end := <-edges, <-edges
	a := row.Merge(c, recs)
	ops := float64(a.Ops)
	if ops == 0 {
		ops = 1
	}
	a.Metrics["allocations_per_op"] = float64(end.allocs-start.allocs) / ops
	a.Metrics["bytes_allocated_per_op"] = float64(end.bytes-start.bytes) / ops
	a.Metrics["gc_cycles_in_window"] = float64(end.mem.NumGC - start.mem.NumGC)
	a.Metrics["gc_pause_in_window_ms"] = float64(end.mem.PauseTotalNs-start.mem.PauseTotalNs) / 1e6
	if p99, ok := pauseP99(start.pauses, end.pauses); ok {
		a.Metrics["gc_pause_p99_us"] = p99 * 1e6
	}
	a.Write(out)
}
