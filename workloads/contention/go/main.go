// Command dyno-contention-go is the contention workload's Go reference row, speaking dyno's row
// protocol (package dyno/row): goroutines on every core sharing one counter through
// sync.Mutex, sync.RWMutex, an atomic, atomic.Value (Go's copy-on-write value, as arc-swap is Rust's)
// or a sharded counter, each operation a read with probability read_share% and otherwise an
// increment; every 64th operation is timed alone. Every increment is accounted for.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"dyno/row"
)

type params struct {
	Primitive    string `json:"primitive"`
	ReadShare    uint64 `json:"read_share"`
	TasksPerCore int    `json:"tasks_per_core"`
}

// Operations per batch: a goroutine yields between batches and times one operation of each.
const batch = 64

// One counter behind one primitive.
type shared interface {
	op(write bool, task int) uint64
	value() uint64
}

type mutexCounter struct {
	mu sync.Mutex
	n  uint64
}

func (c *mutexCounter) op(write bool, _ int) uint64 {
	c.mu.Lock()
	if write {
		c.n++
	}
	v := c.n
	c.mu.Unlock()
	return v
}
func (c *mutexCounter) value() uint64 { return c.n }

type rwCounter struct {
	mu sync.RWMutex
	n  uint64
}

func (c *rwCounter) op(write bool, _ int) uint64 {
	if write {
		c.mu.Lock()
		c.n++
		v := c.n
		c.mu.Unlock()
		return v
	}
	c.mu.RLock()
	v := c.n
	c.mu.RUnlock()
	return v
}
func (c *rwCounter) value() uint64 { return c.n }

type atomicCounter struct{ n atomic.Uint64 }

func (c *atomicCounter) op(write bool, _ int) uint64 {
	if write {
		return c.n.Add(1)
	}
	return c.n.Load()
}
func (c *atomicCounter) value() uint64 { return c.n.Load() }

// atomic.Value holding an immutable *uint64: reads load it, writes swap in a new one (compare and
// swap, retried), as arc-swap's rcu does.
type valueCounter struct{ v atomic.Value }

func (c *valueCounter) op(write bool, _ int) uint64 {
	for {
		old := c.v.Load().(*uint64)
		if !write {
			return *old
		}
		next := *old + 1
		if c.v.CompareAndSwap(old, &next) {
			return next
		}
	}
}
func (c *valueCounter) value() uint64 { return *c.v.Load().(*uint64) }

// One cache-line-padded slot per goroutine: a write adds to its own, a read sums them all.
type slot struct {
	n atomic.Uint64
	_ [56]byte
}
type shardedCounter struct{ slots []slot }

func (c *shardedCounter) op(write bool, task int) uint64 {
	if write {
		return c.slots[task%len(c.slots)].n.Add(1)
	}
	var sum uint64
	for i := range c.slots {
		sum += c.slots[i].n.Load()
	}
	return sum
}
func (c *shardedCounter) value() uint64 {
	var sum uint64
	for i := range c.slots {
		sum += c.slots[i].n.Load()
	}
	return sum
}

// The primitives this row has, by the workload's parameter names.
func newShared(primitive string, tasks int) (shared, error) {
	switch primitive {
	case "mutex":
		return &mutexCounter{}, nil
	case "rwlock":
		return &rwCounter{}, nil
	case "atomic":
		return &atomicCounter{}, nil
	case "arc-swap":
		c := &valueCounter{}
		zero := uint64(0)
		c.v.Store(&zero)
		return c, nil
	case "sharded":
		return &shardedCounter{slots: make([]slot, tasks)}, nil
	}
	return nil, fmt.Errorf("primitive %q has no Go counterpart here; accepted: mutex, rwlock, atomic, arc-swap, sharded", primitive)
}

// Whether operation i of a goroutine reads: the Rust rows' fixed pseudo-random pattern.
func reads(i, share uint64) bool {
	return (i*0x9E3779B97F4A7C15)>>40%100 < share
}

// What one goroutine did.
type counts struct {
	rec                                   *row.Recorder
	inWindow, writesInWindow, writesTotal uint64
	sink                                  uint64
}

func task(c *row.Clock, s shared, index int, share uint64) *counts {
	n := &counts{rec: row.NewRecorder()}
	i := uint64(index) << 32
	for {
		t0 := c.Now()
		if t0 >= c.End {
			return n
		}
		counted := c.InWindow(t0)
		var writes uint64
		for k := 0; k < batch; k++ {
			write := !reads(i, share)
			i++
			if k == 0 && counted {
				t := time.Now()
				n.sink += s.op(write, index)
				n.rec.Measured(int64(time.Since(t)))
			} else {
				n.sink += s.op(write, index)
			}
			if write {
				writes++
			}
		}
		n.writesTotal += writes
		if counted {
			n.rec.Counted(batch - 1)
			n.inWindow += batch
			n.writesInWindow += writes
		}
		n.rec.Completed(c.Now(), batch)
		runtime.Gosched()
	}
}

func main() {
	var p params
	c, cores, out := row.Start(&p)
	tasks := p.TasksPerCore * cores
	s, err := newShared(p.Primitive, tasks)
	if err != nil {
		row.Fail("%v", err)
	}
	all := make([]*counts, tasks)
	var wg sync.WaitGroup
	for i := range all {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			all[i] = task(c, s, i, p.ReadShare)
		}(i)
	}
	wg.Wait()
	recs := make([]*row.Recorder, len(all))
	var writes, writesInWindow, sumOps uint64
	minOps, maxOps := ^uint64(0), uint64(0)
	for i, n := range all {
		recs[i] = n.rec
		writes += n.writesTotal
		writesInWindow += n.writesInWindow
		sumOps += n.inWindow
		if n.inWindow < minOps {
			minOps = n.inWindow
		}
		if n.inWindow > maxOps {
			maxOps = n.inWindow
		}
	}
	if v := s.value(); v != writes {
		row.Fail("the counter holds %d but the goroutines made %d increments (%s)", v, writes, p.Primitive)
	}
	spread := 0.0
	if mean := float64(sumOps) / float64(len(all)); mean > 0 {
		spread = float64(maxOps-minOps) / mean
	}
	a := row.Merge(c, recs)
	a.Metrics["writes_in_window"] = float64(writesInWindow)
	a.Metrics["task_spread"] = spread
	a.Write(out)
}
