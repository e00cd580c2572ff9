//! The load generator against hostile servers: garbage, endless heads and bodies, huge declared lengths,
//! silence, closing mid-response, a slow drip, interim (1xx) and non-2xx answers. Each ends as a typed error with one
//! sample message, memory stays bounded (bodies are counted and discarded), and the test ends on time.

use dyno_load::{LoadConfig, LoadReport, run};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// What the hostile server does after reading a request head.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    Garbage,
    EndlessHeaders,
    EndlessChunked,
    HugeLength,
    Silent,
    CloseMidResponse,
    SlowDrip,
    /// A 103 Early Hints before each final 200: interim responses are discarded, not errors.
    EarlyHints,
    /// 1xx heads that never end in a final response.
    EndlessInterim,
    Status(u16),
}

fn server(mode: Hostile) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            std::thread::spawn(move || serve(s, mode));
        }
    });
    addr
}

fn serve(mut s: TcpStream, mode: Hostile) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..i + 4);
            let big = vec![b'x'; 64 * 1024];
            let r = match mode {
                Hostile::Garbage => s.write_all(b"SSH-2.0-OpenSSH_9.2 not http at all\r\n\r\n"),
                Hostile::EndlessHeaders => {
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
                    loop {
                        if s.write_all(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
                            .is_err()
                        {
                            return;
                        }
                    }
                }
                Hostile::EndlessChunked => {
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                    loop {
                        let head = format!("{:x}\r\n", big.len());
                        if s.write_all(head.as_bytes())
                            .and_then(|_| s.write_all(&big))
                            .and_then(|_| s.write_all(b"\r\n"))
                            .is_err()
                        {
                            return;
                        }
                    }
                }
                Hostile::HugeLength => {
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2000000000\r\n\r\n");
                    loop {
                        if s.write_all(&big).is_err() {
                            return;
                        }
                    }
                }
                Hostile::Silent => {
                    std::thread::sleep(Duration::from_secs(60));
                    return;
                }
                Hostile::CloseMidResponse => {
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
                    return;
                }
                Hostile::SlowDrip => {
                    for b in b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!" {
                        if s.write_all(&[*b]).is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Ok(())
                }
                Hostile::EarlyHints => s.write_all(
                    b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n\
                      HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!",
                ),
                Hostile::EndlessInterim => loop {
                    if s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
                        return;
                    }
                },
                Hostile::Status(code) => s.write_all(
                    format!(
                        "HTTP/1.1 {code} Whatever\r\nContent-Length: 4\r\nLocation: /x\r\n\r\nnope"
                    )
                    .as_bytes(),
                ),
            };
            if r.is_err() {
                return;
            }
            continue;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn rss() -> u64 {
    dyno_core::os::current_rss().unwrap_or(0)
}

/// Load `mode` for `secs` with 4 connections and a 1 s timeout; the report and the RSS growth.
fn against(mode: Hostile, secs: f64) -> (LoadReport, i64) {
    let addr = server(mode);
    let cfg = LoadConfig {
        timeout: Duration::from_secs(1),
        ..LoadConfig::closed(&format!("http://{addr}/"), 4, Duration::from_secs_f64(secs))
    };
    let before = rss();
    let started = Instant::now();
    let r = run(&cfg).unwrap();
    // Ends on time: the window plus at most one request timeout.
    assert!(
        started.elapsed() < Duration::from_secs_f64(secs + 3.0),
        "{mode:?} took {:?}",
        started.elapsed()
    );
    (r, rss() as i64 - before as i64)
}

fn kinds(r: &LoadReport) -> Vec<&str> {
    r.errors.keys().map(String::as_str).collect()
}

/// Every error kind has a sample message.
fn samples_cover(r: &LoadReport) {
    for k in r.errors.keys() {
        assert!(
            r.error_samples.get(k).is_some_and(|s| !s.is_empty()),
            "no sample for {k}: {r:?}"
        );
    }
}

/// Memory may grow by buffers of a few connections, never by what the server sends.
const BOUND: i64 = 32 * 1024 * 1024;

#[test]
fn garbage_is_a_bad_response_showing_what_came() {
    let (r, _) = against(Hostile::Garbage, 0.5);
    assert_eq!(r.requests, 0);
    assert_eq!(kinds(&r), ["bad_response"], "{r:?}");
    let sample = &r.error_samples["bad_response"];
    assert!(
        sample.contains("expected HTTP/1.x") && sample.contains("SSH-2.0"),
        "{sample}"
    );
}

#[test]
fn endless_headers_end_as_head_too_large_in_bounded_memory() {
    let (r, grew) = against(Hostile::EndlessHeaders, 1.0);
    assert!(kinds(&r).iter().all(|k| *k == "head_too_large"), "{r:?}");
    assert!(r.errors["head_too_large"] > 0);
    samples_cover(&r);
    assert!(grew < BOUND, "RSS grew {grew} bytes");
}

#[test]
fn an_endless_chunked_body_ends_as_body_too_large_in_bounded_memory() {
    let addr = server(Hostile::EndlessChunked);
    // The default limit (64 MiB): bodies far larger than any buffer.
    let cfg = LoadConfig {
        timeout: Duration::from_secs(5),
        ..LoadConfig::closed(&format!("http://{addr}/"), 4, Duration::from_secs(1))
    };
    let before = rss();
    let r = run(&cfg).unwrap();
    let grew = rss() as i64 - before as i64;
    assert_eq!(kinds(&r), ["body_too_large"], "{r:?}");
    assert!(r.error_samples["body_too_large"].contains("--max-body"));
    assert!(grew < BOUND, "RSS grew {grew} bytes");
}

#[test]
fn a_huge_declared_length_is_refused_before_reading_it() {
    let (r, grew) = against(Hostile::HugeLength, 0.5);
    assert_eq!(kinds(&r), ["body_too_large"], "{r:?}");
    assert!(r.error_samples["body_too_large"].contains("2000000000"));
    assert!(grew < BOUND, "RSS grew {grew} bytes");
}

#[test]
fn silence_is_a_timeout() {
    let (r, _) = against(Hostile::Silent, 0.5);
    assert_eq!(r.requests, 0);
    assert_eq!(kinds(&r), ["timeout"], "{r:?}");
    samples_cover(&r);
}

/// Every request against `mode` failed as `kind`, with a sample message containing `sample`.
fn fails_only_as(mode: Hostile, secs: f64, kind: &str, sample: &str) {
    let (r, _) = against(mode, secs);
    assert_eq!(r.requests, 0, "{mode:?}: {r:?}");
    assert_eq!(kinds(&r), [kind], "{mode:?}: {r:?}");
    assert!(r.error_samples[kind].contains(sample), "{mode:?}: {r:?}");
}

#[test]
fn closing_mid_response_is_a_reset() {
    fails_only_as(Hostile::CloseMidResponse, 0.5, "reset", "closed");
}

#[test]
fn a_slow_drip_times_out() {
    // 51 bytes at one per 100 ms take 5 s; the timeout is 1 s.
    let (r, _) = against(Hostile::SlowDrip, 0.5);
    assert_eq!(r.requests, 0);
    assert_eq!(kinds(&r), ["timeout"], "{r:?}");
}

#[test]
fn interim_responses_are_discarded_and_the_final_one_counts() {
    let (r, _) = against(Hostile::EarlyHints, 0.3);
    assert!(r.requests > 0, "{r:?}");
    assert!(r.errors.is_empty(), "{r:?}");
}

#[test]
fn endless_interim_responses_and_an_unasked_upgrade_are_bad_responses() {
    fails_only_as(
        Hostile::EndlessInterim,
        0.3,
        "bad_response",
        "interim (1xx)",
    );
    fails_only_as(Hostile::Status(101), 0.3, "bad_response", "101 Switching");
}

#[test]
fn non_2xx_answers_are_errors_by_class() {
    for (code, kind) in [
        (301, "status_3xx"),
        (404, "status_4xx"),
        (503, "status_5xx"),
    ] {
        fails_only_as(Hostile::Status(code), 0.3, kind, &code.to_string());
    }
}

#[test]
fn the_cli_says_in_one_line_when_every_request_failed() {
    let addr = server(Hostile::Garbage);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_dyno-load"))
        .args([&format!("http://{addr}/"), "-d", "0.3", "-c", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("every request failed") && err.contains("bad_response"),
        "{err}"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("error bad_response:") && out.contains("e.g. expected HTTP/1.x"),
        "{out}"
    );
}
