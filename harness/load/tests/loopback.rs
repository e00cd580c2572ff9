//! The load generator against loopback servers that behave, fail, reset and stall.

use dyno_load::{LoadConfig, LoadError, run};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Clone, Copy)]
enum Mode {
    Ok,
    Status500,
    /// Close the connection instead of answering every 10th request.
    Reset,
    /// Sleep this long before answering every 100th request.
    Stall(Duration),
    /// Sleep this long before answering every request.
    Slow(Duration),
}

/// A blocking thread-per-connection HTTP/1.1 server; returns its address and request counter.
fn server(mode: Mode) -> (String, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let c = c.clone();
            std::thread::spawn(move || serve(s, mode, &c));
        }
    });
    (addr, count)
}

fn serve(mut s: TcpStream, mode: Mode, count: &AtomicU64) {
    let _ = s.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..i + 4);
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let resp: &[u8] = match mode {
                Mode::Status500 => {
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nerror"
                }
                Mode::Reset if n.is_multiple_of(10) => return,
                Mode::Stall(d) if n.is_multiple_of(100) => {
                    std::thread::sleep(d);
                    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"
                }
                Mode::Slow(d) => {
                    std::thread::sleep(d);
                    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"
                }
                _ => b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!",
            };
            if s.write_all(resp).is_err() {
                return;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn cfg(addr: &str, rate: Option<f64>, secs: f64) -> LoadConfig {
    LoadConfig {
        rate,
        ..LoadConfig::closed(
            &format!("http://{addr}/plaintext"),
            4,
            Duration::from_secs_f64(secs),
        )
    }
}

#[test]
fn generator_counts_equal_server_counts() {
    let (addr, count) = server(Mode::Ok);
    let r = run(&cfg(&addr, None, 0.5)).unwrap();
    assert!(r.requests > 100, "{r:?}");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        r.requests,
        count.load(Ordering::SeqCst),
        "every request the server answered is counted once"
    );
    assert_eq!(
        r.responses_total, r.requests,
        "no warm-up: every request is measured"
    );
    assert_eq!(r.bytes_read, r.requests * 13);
    assert!(r.latency_ns.p50 > 0 && r.latency_ns.p50 <= r.latency_ns.p99);
}

#[test]
fn server_errors_are_counted_never_as_successes() {
    let (addr, count) = server(Mode::Status500);
    let r = run(&cfg(&addr, None, 0.3)).unwrap();
    assert_eq!(r.requests, 0);
    assert_eq!(
        r.errors.get("status_5xx").copied(),
        Some(count.load(Ordering::SeqCst))
    );
}

#[test]
fn resets_are_counted_and_the_generator_reconnects() {
    let (addr, count) = server(Mode::Reset);
    let r = run(&cfg(&addr, None, 0.3)).unwrap();
    let resets = r.errors.get("reset").copied().unwrap_or(0);
    assert!(resets > 0, "{:?}", r.errors);
    assert!(r.requests > 5 * resets, "it reconnected and went on: {r:?}");
    assert_eq!(
        count.load(Ordering::SeqCst),
        r.responses_total + r.abandoned_total,
        "the server counted each request it read; a reset one was given up: {r:?}"
    );
}

#[test]
fn requests_given_up_in_the_warm_up_are_counted_so_the_server_count_still_checks() {
    // Every 100th request stalls 300 ms, past a 50 ms timeout; only the warm-up's are given up
    // without an error of the window, but all are counted as abandoned.
    let (addr, count) = server(Mode::Stall(Duration::from_millis(300)));
    let mut c = cfg(&addr, None, 0.8);
    c.timeout = Duration::from_millis(50);
    c.warmup = Duration::from_millis(400);
    let r = run(&c).unwrap();
    assert!(r.abandoned_total > 0, "{r:?}");
    let timeouts = r.errors.get("timeout").copied().unwrap_or(0);
    assert!(
        r.abandoned_total >= timeouts,
        "the window's timeouts are among the abandoned: {r:?}"
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        r.responses_total + r.abandoned_total,
        "the server counted each request it read, answered or given up: {r:?}"
    );
}

#[test]
fn an_unreachable_target_and_bad_urls_are_clear_errors() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = run(&cfg(&format!("127.0.0.1:{port}"), None, 0.2)).unwrap_err();
    assert!(matches!(e, LoadError::Unreachable { .. }), "{e}");
    let mut c = cfg("127.0.0.1:1", None, 0.2);
    c.url = "https://example.com/".into();
    assert!(run(&c).unwrap_err().to_string().contains("only http://"));
    c.url = "http://127.0.0.1:1/".into();
    c.threads = 8;
    assert!(
        run(&c)
            .unwrap_err()
            .to_string()
            .contains("threads must not exceed connections")
    );
}

#[test]
fn open_loop_charges_stalls_to_the_requests_they_delay() {
    let stall = Duration::from_millis(200);
    let (addr, _) = server(Mode::Stall(stall));
    // 1,000 req/s over 4 connections: a 200 ms stall delays ~50 scheduled requests on its connection.
    let open = run(&cfg(&addr, Some(1000.0), 1.5)).unwrap();
    let (addr, _) = server(Mode::Stall(stall));
    let closed = run(&cfg(&addr, None, 1.5)).unwrap();
    let ms = |ns: u64| ns as f64 / 1e6;
    // Closed loop sees each stall once (its max), but a stall is only ~1% of its samples.
    assert!(
        ms(closed.latency_ns.max) >= 190.0,
        "closed max {}",
        ms(closed.latency_ns.max)
    );
    // Open loop measures from the intended send time: the queue behind each stall shows in p99.
    assert!(
        ms(open.latency_ns.p99) >= 50.0,
        "open p99 {} ms: coordinated omission not corrected",
        ms(open.latency_ns.p99)
    );
    assert!(open.latency_ns.p99 > 10 * closed.latency_ns.p50);
    assert_eq!(open.offered_rate, Some(1000.0));
    assert!(open.late_share.unwrap() > 0.0);
}

#[test]
fn an_overloaded_open_loop_measures_the_backlog_in_its_window() {
    // 4 connections to a server taking 10 ms per request serve 400 req/s; 4,000 are offered, so the
    // generator runs ever further behind its schedule. The window (after a warm-up as long) sends
    // requests intended in the warm-up: they are measured, with the backlog's latency.
    let (addr, _) = server(Mode::Slow(Duration::from_millis(10)));
    let c = LoadConfig {
        warmup: Duration::from_millis(500),
        ..cfg(&addr, Some(4000.0), 0.5)
    };
    let r = run(&c).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // About 200 in the window; the bound only says the window is not empty.
    assert!(r.requests > 20, "{r:?}");
    // The first request the window sent was intended in the first tenth of the warm-up: its
    // latency is at least 400 ms.
    assert!(r.latency_ns.max >= 400_000_000, "{:?}", r.latency_ns);
    assert!(r.late_share.unwrap() > 0.9, "{r:?}");
    assert!(r.achieved_rate < 4000.0 / 2.0, "{r:?}");
}

#[test]
fn a_late_start_loses_warm_up_not_window_and_keeps_the_window_where_it_was_asked() {
    let (addr, _) = server(Mode::Ok);
    let late = |by: f64| LoadConfig {
        warmup: Duration::from_millis(300),
        start_at: Some(std::time::SystemTime::now() - Duration::from_secs_f64(by)),
        ..cfg(&addr, None, 0.5)
    };
    // 0.2 s late: 0.1 s of warm-up is left, and the whole 0.5 s window.
    let t = std::time::Instant::now();
    let r = run(&late(0.2)).unwrap();
    assert_eq!(r.duration_s, 0.5, "{r:?}");
    assert!(
        t.elapsed() < Duration::from_millis(750),
        "{:?}",
        t.elapsed()
    );
    assert!(r.requests > 0 && r.responses_total > r.requests, "{r:?}");
    // 0.5 s late: 0.2 s into the window, which ends where it was asked to.
    let r = run(&late(0.5)).unwrap();
    assert!((r.duration_s - 0.3).abs() < 0.05, "{r:?}");
    // Past the window's end: an error, not an empty window.
    match run(&late(1.0)) {
        Err(LoadError::Setting(why)) => assert!(why.contains("after the window"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_step_schedule_offers_each_phase_s_rate_and_reports_each_phase() {
    let (addr, count) = server(Mode::Ok);
    let c = LoadConfig {
        schedule: Some(dyno_load::Schedule::parse("200:400ms,1k:400ms").unwrap()),
        ..cfg(&addr, None, 0.8)
    };
    let r = run(&c).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.mode, "open");
    assert_eq!(r.phases.len(), 2, "{:?}", r.phases);
    let (low, high) = (&r.phases[0], &r.phases[1]);
    let near = |a: f64, b: f64| (a - b).abs() < 1e-6 * b.max(1.0);
    assert!(
        near(low.from_s, 0.0) && near(low.to_s, 0.4) && near(high.to_s, 0.8),
        "{:?}",
        r.phases
    );
    assert!(
        near(low.offered_rate, 200.0) && near(high.offered_rate, 1000.0),
        "{:?}",
        r.phases
    );
    // 80 and 400 requests intended; the generator keeps the schedule within a few sends of each edge.
    assert!((60..=100).contains(&low.sent), "{low:?}");
    assert!((340..=440).contains(&high.sent), "{high:?}");
    assert_eq!(low.requests + high.requests, r.requests);
    assert_eq!(r.requests, count.load(Ordering::SeqCst));
    assert!(
        high.latency_ns.count == high.requests && high.latency_ns.p50 > 0,
        "{high:?}"
    );
    let mean = r.offered_rate.unwrap();
    assert!((mean - 600.0).abs() < 1.0, "{mean}");
}

#[test]
fn a_rate_and_a_schedule_together_are_refused() {
    let c = LoadConfig {
        schedule: Some(dyno_load::Schedule::parse("spike:1k:10:1s:1s").unwrap()),
        ..cfg("127.0.0.1:1", Some(100.0), 0.5)
    };
    match run(&c) {
        Err(LoadError::Setting(why)) => assert!(why.contains("give one"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_malformed_schedule_is_a_usage_error_naming_the_accepted_forms() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_dyno-load"))
        .args(["-R", "10k:5s,fast", "-d", "1", "http://127.0.0.1:1/"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("10k:5s,fast") && err.contains("spike:BASE:FACTOR:AT:FOR"),
        "{err}"
    );
}
