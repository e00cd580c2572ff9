// Command dyno-spawn-go is the spawn workload's Go reference row, speaking dyno's row protocol
// (package dyno/row): what a goroutine costs.
//
//   - mode=spawn: each spawner goroutine (one per core with spawners=every, one with spawners=one)
//     starts `tasks` goroutines, waits for them all, and again, until the window closes. An operation
//     is a goroutine started and joined; its latency the time from the `go` statement to its first
//     instruction. body=yield makes every goroutine yield once (runtime.Gosched) before it ends.
//   - mode=idle: `tasks` goroutines are started in the warm-up, each blocked on one channel; the
//     process's resident memory before and after gives the memory per idle goroutine. At the window's
//     start the channel is closed, waking them all: an operation is a goroutine woken, its latency the
//     time from the close to its wake-up, and the repeat's duration the time until the last one woke.
package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dyno/row"
)

type params struct {
	Mode     string `json:"mode"`
	Tasks    int    `json:"tasks"`
	Body     string `json:"body"`
	Spawners string `json:"spawners"`
}

func main() {
	var p params
	c, cores, out := row.Start(&p)
	var a *row.Answer
	switch p.Mode {
	case "spawn":
		a = spawnJoin(c, p, cores)
	case "idle":
		a = idle(c, p.Tasks)
	default:
		row.Fail("mode %q; accepted: spawn, idle", p.Mode)
	}
	a.Write(out)
}

// Spawn-and-join batches on the spawners until the window closes.
func spawnJoin(c *row.Clock, p params, cores int) *row.Answer {
	spawners := cores
	if p.Spawners == "one" {
		spawners = 1
	}
	recs := make([]*row.Recorder, spawners)
	var wg sync.WaitGroup
	for s := range recs {
		recs[s] = row.NewRecorder()
		wg.Add(1)
		go func(rec *row.Recorder) {
			defer wg.Done()
			batches(c, rec, p.Tasks, p.Body == "yield")
		}(recs[s])
	}
	wg.Wait()
	return row.Merge(c, recs)
}

func batches(c *row.Clock, rec *row.Recorder, batch int, yields bool) {
	spawned := make([]int64, batch)
	started := make([]int64, batch)
	var wg sync.WaitGroup
	for {
		t0 := c.Now()
		if t0 >= c.End {
			return
		}
		wg.Add(batch)
		for i := 0; i < batch; i++ {
			spawned[i] = c.Now()
			go func(i int) {
				started[i] = c.Now()
				if yields {
					runtime.Gosched()
				}
				wg.Done()
			}(i)
		}
		wg.Wait()
		if c.InWindow(t0) {
			for i := range spawned {
				rec.Measured(started[i] - spawned[i])
			}
		}
		rec.Completed(c.Now(), uint64(batch))
	}
}

// Resident memory of this process in bytes (/proc/self/statm).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		row.Fail("cannot read /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		row.Fail("unexpected /proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		row.Fail("unexpected /proc/self/statm: %q", b)
	}
	return pages * uint64(os.Getpagesize())
}

// Hold `tasks` goroutines blocked on one channel, measure their memory, then wake them all at the
// window's start.
func idle(c *row.Clock, tasks int) *row.Answer {
	before := rss()
	t0 := c.Now()
	gate := make(chan struct{})
	woke := make([]int64, tasks)
	var parked atomic.Int64
	var done sync.WaitGroup
	done.Add(tasks)
	for i := 0; i < tasks; i++ {
		go func(i int) {
			parked.Add(1)
			<-gate
			woke[i] = c.Now()
			done.Done()
		}(i)
	}
	for parked.Load() < int64(tasks) {
		time.Sleep(time.Millisecond)
	}
	// Blocked goroutines: every one counted itself in; give the last ones time to reach the channel.
	runtime.Gosched()
	after := rss()
	spawnNs := c.Now() - t0
	if wait := c.Start - c.Now(); wait > 0 {
		time.Sleep(time.Duration(wait))
	}
	closed := c.Now()
	close(gate)
	done.Wait()
	rec := row.NewRecorder()
	var last int64
	for _, t := range woke {
		rec.Measured(t - closed)
		rec.Completed(t, 1)
		if t-closed > last {
			last = t - closed
		}
	}
	if last < 1 {
		last = 1
	}
	a := row.Merge(c, []*row.Recorder{rec})
	grown := float64(0)
	if after > before {
		grown = float64(after - before)
	}
	a.Metrics["rss_per_idle_task_bytes"] = grown / float64(tasks)
	a.Metrics["idle_tasks_held"] = float64(tasks)
	a.Metrics["spawn_stopped_at"] = 0
	a.Metrics["spawn_all_ms"] = float64(spawnNs) / 1e6
	a.Metrics["wake_all_ms"] = float64(last) / 1e6
	a.Metrics["measured_duration_s"] = float64(last) / 1e9
	return a
}
