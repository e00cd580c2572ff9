// Command dyno-fanout-go is the fanout workload's Go reference row, speaking dyno's row protocol
// (package dyno/row): one producer and N consumer goroutines over Go channels, as Go programs fan out.
// `broadcast`: a buffered channel per consumer, every consumer gets every message (a full channel
// blocks the producer: Go channels do not lag). `queue`: one buffered channel that N goroutines drain,
// each message to exactly one. The producer sends as fast as the channels let it until the window
// closes, stamping each message; consumers record receive minus send. One operation is one delivery
// of a message sent inside the window; every message is accounted for, or the repeat fails.
package main

import (
	"sync"
	"time"

	"dyno/row"
)

// The parameters, as the Rust workload declares and validates them.
type params struct {
	Shape        string `json:"shape"`
	Channel      string `json:"channel"`
	Consumers    int    `json:"consumers"`
	QueueBound   int    `json:"queue_bound"`
	PayloadBytes int    `json:"payload_bytes"`
	WorkNs       int64  `json:"work_ns"`
}

// One message: its sequence number, send time (ns since the epoch) and payload.
type msg struct {
	seq    uint64
	sentNs int64
	data   []byte
}

// What one consumer saw; the sums of sequence numbers wrap, so they are compared modulo 2^64.
type seen struct {
	rec                  *row.Recorder
	received, sum, sumSq uint64
	touched              byte
}

func (s *seen) take(c *row.Clock, m msg, work time.Duration) {
	now := c.Now()
	s.received++
	s.sum += m.seq
	s.sumSq += m.seq * m.seq
	s.rec.Completed(now, 1)
	if c.InWindow(m.sentNs) {
		s.rec.Measured(now - m.sentNs)
	}
	if len(m.data) > 0 {
		s.touched ^= m.data[0] // the payload is read, as the runtime rows read it
	}
	spin(work)
}

// The consumer's per-message work: CPU until d has passed, the clock read between batches.
func spin(d time.Duration) {
	if d <= 0 {
		return
	}
	until := time.Now().Add(d)
	x := uint64(0)
	for time.Now().Before(until) {
		for i := uint64(0); i < 64; i++ {
			x += i
		}
	}
	sink = x
}

var sink uint64

func main() {
	var p params
	c, _, out := row.Start(&p)
	consumers := make([]seen, p.Consumers)
	for i := range consumers {
		consumers[i].rec = row.NewRecorder()
	}
	var sent, inWindow uint64
	switch p.Shape {
	case "queue":
		sent, inWindow = queue(c, p, consumers)
		checkQueue(consumers, sent)
	case "broadcast":
		sent, inWindow = broadcast(c, p, consumers)
		checkBroadcast(consumers, sent)
	default:
		row.Fail("shape %q; accepted: queue, broadcast", p.Shape)
	}
	recs := make([]*row.Recorder, len(consumers))
	for i := range consumers {
		recs[i] = consumers[i].rec
	}
	a := row.Merge(c, recs)
	a.Metrics["messages_sent_in_window"] = float64(inWindow)
	a.Metrics["messages_sent_total"] = float64(sent)
	a.Metrics["send_rate_msgs_s"] = float64(inWindow) / c.Seconds()
	a.Metrics["lagged_total"] = 0
	a.Write(out)
}

// The producer: send until the window closes (each payload a fresh allocation, as in the runtime
// rows), then return so the caller closes the channels and the consumers drain.
func produce(c *row.Clock, payloadBytes int, send func(msg)) (total, inWindow uint64) {
	template := make([]byte, payloadBytes)
	for i := range template {
		template[i] = 0xa5
	}
	for {
		now := c.Now()
		data := make([]byte, len(template))
		copy(data, template)
		send(msg{seq: total, sentNs: now, data: data})
		total++
		if c.InWindow(now) {
			inWindow++
		}
		if now >= c.End {
			return
		}
	}
}

func queue(c *row.Clock, p params, all []seen) (uint64, uint64) {
	ch := make(chan msg, p.QueueBound)
	var wg sync.WaitGroup
	for i := range all {
		wg.Add(1)
		go func(s *seen) {
			defer wg.Done()
			for m := range ch {
				s.take(c, m, time.Duration(p.WorkNs))
			}
		}(&all[i])
	}
	total, inWindow := produce(c, p.PayloadBytes, func(m msg) { ch <- m })
	close(ch)
	wg.Wait()
	return total, inWindow
}

func broadcast(c *row.Clock, p params, all []seen) (uint64, uint64) {
	chans := make([]chan msg, len(all))
	var wg sync.WaitGroup
	for i := range all {
		chans[i] = make(chan msg, p.QueueBound)
		wg.Add(1)
		go func(s *seen, ch chan msg) {
			defer wg.Done()
			for m := range ch {
				s.take(c, m, time.Duration(p.WorkNs))
			}
		}(&all[i], chans[i])
	}
	total, inWindow := produce(c, p.PayloadBytes, func(m msg) {
		for _, ch := range chans {
			ch <- m
		}
	})
	for _, ch := range chans {
		close(ch)
	}
	wg.Wait()
	return total, inWindow
}

// Each message delivered exactly once across the queue's consumers.
func checkQueue(all []seen, n uint64) {
	var received, sum, sumSq, wantSum, wantSq uint64
	for _, s := range all {
		received += s.received
		sum += s.sum
		sumSq += s.sumSq
	}
	for i := uint64(0); i < n; i++ {
		wantSum += i
		wantSq += i * i
	}
	if received != n {
		row.Fail("queue delivered %d of %d messages", received, n)
	}
	if sum != wantSum || sumSq != wantSq {
		row.Fail("queue delivered %d messages but not each exactly once (sequence checksum mismatch)", n)
	}
}

// Every message delivered to every consumer.
func checkBroadcast(all []seen, n uint64) {
	for i, s := range all {
		if s.received != n {
			row.Fail("consumer %d received %d of %d messages", i, s.received, n)
		}
	}
}
