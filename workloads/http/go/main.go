// Command dyno-http-go is the http workload's Go reference row: net/http serving the endpoints and
// bodies of the Rust rows (/plaintext, /json, /delay?ms=N, /cpu?us=N), a goroutine per connection
// as net/http does, loaded and measured by dyno's generator like every other row. Its own counters
// are at /dyno_status, which the cell reads before and after a repeat.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

const hello = "Hello, World!"

// Counters the cell reads at /dyno_status, as nginx's stub_status counts them: every request (status
// reads too), connections accepted and open (the status connection itself is one of them).
type counters struct {
	requests atomic.Int64
	accepts  atomic.Int64
	active   atomic.Int64
}

// Limits of the endpoints' parameters, given by the cell so that every row answers the same range.
type limits struct {
	maxCPUMicros  uint64
	maxDelayMilli uint64
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on (SO_REUSEPORT, so the cell can hold the port until it listens)")
	maxCPU := flag.Uint64("max-cpu-us", 1_000_000, "largest accepted /cpu?us=N")
	maxDelay := flag.Uint64("max-delay-ms", 60_000, "largest accepted /delay?ms=N")
	version := flag.Bool("version", false, "print the Go version this program was built with and exit")
	flag.Parse()
	if *version {
		fmt.Println(runtime.Version())
		return
	}
	var c counters
	lim := limits{maxCPUMicros: *maxCPU, maxDelayMilli: *maxDelay}
	ln, err := listen(*addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot listen on %s: %v\n", *addr, err)
		os.Exit(1)
	}
	srv := &http.Server{
		Handler: counted(&c, routes(&c, lim)),
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				c.accepts.Add(1)
				c.active.Add(1)
			case http.StateClosed, http.StateHijacked:
				c.active.Add(-1)
			}
		},
	}
	fmt.Fprintf(os.Stderr, "dyno-http-go %s GOMAXPROCS=%d GOGC=%q listening on %s\n",
		runtime.Version(), runtime.GOMAXPROCS(0), os.Getenv("GOGC"), ln.Addr())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		os.Exit(1)
	}
}

// SO_REUSEPORT on Linux, which the standard library's syscall package does not name.
const soReusePort = 0xf

// A listener with SO_REUSEPORT: the cell reserves the port with a bound socket of its own and lets
// go of it once this process listens.
func listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, raw syscall.RawConn) error {
		var serr error
		err := raw.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}

// Every request counted before it is served.
func counted(c *counters, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		next.ServeHTTP(w, r)
	})
}

func routes(c *counters, lim limits) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/plaintext", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(hello))
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, _ *http.Request) {
		body, _ := json.Marshal(struct {
			Message string `json:"message"`
		}{hello})
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	mux.HandleFunc("/delay", func(w http.ResponseWriter, r *http.Request) {
		ms, err := query(r, "ms", lim.maxDelayMilli)
		if err != nil {
			text(w, http.StatusBadRequest, err.Error())
			return
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		text(w, http.StatusOK, fmt.Sprintf("slept %d ms\n", ms))
	})
	mux.HandleFunc("/cpu", func(w http.ResponseWriter, r *http.Request) {
		us, err := query(r, "us", lim.maxCPUMicros)
		if err != nil {
			text(w, http.StatusBadRequest, err.Error())
			return
		}
		x := burnCPU(time.Duration(us) * time.Microsecond)
		text(w, http.StatusOK, fmt.Sprintf("burned %d us (%x)\n", us, x))
	})
	mux.HandleFunc("/dyno_status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int64{
			"requests": c.requests.Load(),
			"accepts":  c.accepts.Load(),
			"active":   c.active.Load(),
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusNotFound, "unknown path; accepted: /plaintext, /json, /delay?ms=N, /cpu?us=N\n")
	})
	return mux
}

func text(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// The whole number `name` of the query, at most `max`, or an error naming what is accepted.
func query(r *http.Request, name string, max uint64) (uint64, error) {
	v, ok := r.URL.Query()[name]
	if !ok || len(v) == 0 {
		return 0, fmt.Errorf("missing query parameter %s; accepted: ?%s=N with N from 0 to %d\n", name, name, max)
	}
	n, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%s is not a whole number; accepted: ?%s=N with N from 0 to %d\n", name, v[0], name, max)
	}
	if n > max {
		return 0, fmt.Errorf("%s=%d is out of range; accepted: ?%s=N with N from 0 to %d\n", name, n, name, max)
	}
	return n, nil
}

// Real CPU work for d, as the Rust rows do it: an LCG stepped until the clock says d has passed.
func burnCPU(d time.Duration) uint64 {
	start := time.Now()
	x := uint64(0x9E3779B97F4A7C15)
	for time.Since(start) < d {
		for i := 0; i < 64; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}
