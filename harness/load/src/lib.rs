//! dyno's HTTP/1.1 load generator.
//!
//! One current-thread tokio runtime per client thread (pinned when cores are given), keep-alive connections,
//! every response checked (status 2xx, body read to the end as framed by Content-Length or chunked).
//! The client is lean on purpose, as wrk's is: the request is encoded once, responses are parsed with
//! httparse straight from the connection's buffer. (hyper's client reached 0.78x wrk's rate against nginx
//! on one core; the generator must not be the bottleneck.)
//! - Closed loop (like wrk): each connection sends its next request as soon as the last one is answered.
//! - Open loop (like wrk2): an offered rate spread over the connections, constant or following a
//!   [`Schedule`] (steps, a spike, a ramp; the report then has figures per phase); latency is measured
//!   from each request's *intended* send time, so a server that stalls is charged for the requests it
//!   delayed (coordinated omission corrected). The report says when the generator fell behind its
//!   schedule.
//!
//! Failures are counted by kind (`connect`, `reset`, `timeout`, `status_5xx`, ...) and never as successes.

pub mod schedule;
mod timer;
mod wire;

pub use schedule::Schedule;
use wire::Conn;

use dyno_core::record::new_histogram;
use dyno_core::schema::Percentiles;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Every generator thread's name starts with this, so profiles can tell them from a server's threads.
pub const THREAD_PREFIX: &str = "dyno-load-";

/// What to load and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadConfig {
    pub url: String,
    pub connections: usize,
    pub duration: Duration,
    /// Client threads, each with its own current-thread runtime.
    pub threads: usize,
    /// Pin client thread `i` to `cores[i % len]` when not empty.
    pub cores: Vec<usize>,
    /// Offered requests per second over all connections (open loop); `None` for a closed loop.
    pub rate: Option<f64>,
    /// A changing offered rate (open loop), instead of `rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Requests sent before `warmup` has passed are made (and counted in `responses_total`) but not
    /// measured; the window measures every request sent in it, its latency from its send (closed
    /// loop) or from its intended send time (open loop), which may lie before the window.
    #[serde(default)]
    pub warmup: Duration,
    /// When to start, to line up with another process's measured window; `None`: in 50 ms.
    #[serde(default)]
    pub start_at: Option<std::time::SystemTime>,
    /// Limits on a response's head and body.
    #[serde(default)]
    pub limits: Limits,
}

impl LoadConfig {
    /// The open loop's schedule: `schedule`, or `rate` throughout; `None` for a closed loop.
    pub fn offered(&self) -> Option<Schedule> {
        self.schedule
            .clone()
            .or_else(|| self.rate.map(Schedule::constant))
    }

    /// A closed-loop test of `url` with `connections` on one unpinned thread, for `duration`.
    pub fn closed(url: &str, connections: usize, duration: Duration) -> Self {
        LoadConfig {
            url: url.to_string(),
            connections,
            duration,
            threads: 1,
            cores: vec![],
            rate: None,
            schedule: None,
            timeout: Duration::from_secs(2),
            warmup: Duration::ZERO,
            start_at: None,
            limits: Limits::default(),
        }
    }
}

/// Why a load test could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("bad URL {url:?}: {why}; accepted: http://HOST[:PORT][/PATH]")]
    Url { url: String, why: String },
    #[error("bad setting: {0}")]
    Setting(String),
    #[error("no connection to {addr} succeeded: {why}")]
    Unreachable { addr: String, why: String },
    #[error("cannot start a client thread: {0}")]
    Thread(String),
}

/// The result of a load test, named as in dyno's result contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    pub url: String,
    /// `closed` or `open`.
    pub mode: String,
    pub connections: usize,
    pub threads: usize,
    pub duration_s: f64,
    /// Successful requests (2xx, full body) completed in the window.
    pub requests: u64,
    pub throughput_ops_s: f64,
    pub latency_ns: Percentiles,
    pub errors: BTreeMap<String, u64>,
    /// One message per error kind, e.g. "bad_response": "expected HTTP/1.x (invalid token), got ...".
    #[serde(default)]
    pub error_samples: BTreeMap<String, String>,
    /// Requests per second asked for (open loop only).
    pub offered_rate: Option<f64>,
    /// Requests (successful or not) completed per second.
    pub achieved_rate: f64,
    /// Open loop: the share of measured requests sent more than 1 ms after their intended time; above 1%
    /// the generator (or the server holding connections) could not keep the schedule.
    pub late_share: Option<f64>,
    pub bytes_read: u64,
    /// Complete responses of any status over the whole test, warm-up included: what the server sent.
    pub responses_total: u64,
    /// Requests given up over the whole test, warm-up included, with no complete response read (a
    /// timeout or a broken connection): the server may have answered them. A server's own count lies
    /// between `responses_total` and `responses_total + abandoned_total`.
    #[serde(default)]
    pub abandoned_total: u64,
    /// The latency histogram of successful measured requests (HdrHistogram V2 + deflate, base64).
    pub histogram: String,
    /// Under a changing schedule, each phase's figures (the window cut at the phases' edges).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseReport>,
    /// Successful responses completed in each `dyno_core::steady::INTERVAL_NS` from the start, warm-up
    /// included, to find when the rate settled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<u64>,
}

/// One phase of a schedule: its span of the window and what was sent and answered in it, by intended
/// send time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// Start and end, in seconds from the window's start.
    pub from_s: f64,
    pub to_s: f64,
    /// The mean rate the schedule offered in it.
    pub offered_rate: f64,
    /// Measured requests intended in it that ended, and those of them that succeeded or failed.
    pub sent: u64,
    pub requests: u64,
    pub errors: u64,
    /// Successful requests per second of the phase.
    pub throughput_ops_s: f64,
    pub latency_ns: Percentiles,
}

/// One phase's tally on one connection; its histogram made at its first success.
#[derive(Default)]
struct PhaseTally {
    sent: u64,
    ok: u64,
    failed: u64,
    hist: Option<Histogram<u64>>,
}

impl PhaseTally {
    fn merge(&mut self, o: PhaseTally) {
        self.sent += o.sent;
        self.ok += o.ok;
        self.failed += o.failed;
        match (&mut self.hist, o.hist) {
            (Some(h), Some(x)) => h.add(&x).expect("auto-resizing histograms merge"),
            (h @ None, x) => *h = x,
            (Some(_), None) => {}
        }
    }
}

struct Target {
    authority: String,
    path: String,
    limits: Limits,
}

fn parse_url(url: &str) -> Result<Target, LoadError> {
    let bad = |why: &str| LoadError::Url {
        url: url.to_string(),
        why: why.to_string(),
    };
    let uri: hyper::Uri = url.parse().map_err(|_| bad("does not parse"))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad("only http:// is supported"));
    }
    let host = uri.host().ok_or_else(|| bad("no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    Ok(Target {
        authority: format!("{host}:{port}"),
        path,
        limits: Limits::default(),
    })
}

/// Per-thread tallies, merged at the end.
struct Tally {
    hist: Histogram<u64>,
    ok: u64,
    done: u64,
    late: u64,
    bytes: u64,
    responses_total: u64,
    abandoned_total: u64,
    errors: BTreeMap<String, u64>,
    /// The first message of each error kind.
    samples: BTreeMap<String, String>,
    connected: bool,
    connect_error: Option<String>,
    /// Successful responses per timeline interval since the start.
    timeline: Vec<u64>,
    /// Per phase of a changing schedule; empty otherwise.
    phases: Vec<PhaseTally>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            hist: new_histogram(),
            ok: 0,
            done: 0,
            late: 0,
            bytes: 0,
            responses_total: 0,
            abandoned_total: 0,
            errors: BTreeMap::new(),
            samples: BTreeMap::new(),
            connected: false,
            connect_error: None,
            timeline: Vec::new(),
            phases: Vec::new(),
        }
    }

    /// A successful response `since` the start, in the timeline.
    fn tick(&mut self, since: Duration) {
        let i = (since.as_nanos() / u128::from(dyno_core::steady::INTERVAL_NS)) as usize;
        if i >= self.timeline.len() {
            self.timeline.resize(i + 1, 0);
        }
        self.timeline[i] += 1;
    }

    /// A measured request of phase `phase` ended: with its latency when it succeeded.
    fn phase_done(&mut self, phase: Option<usize>, latency_ns: Option<u64>) {
        let Some(i) = phase else { return };
        if self.phases.len() <= i {
            self.phases.resize_with(i + 1, PhaseTally::default);
        }
        let p = &mut self.phases[i];
        p.sent += 1;
        match latency_ns {
            Some(v) => {
                p.ok += 1;
                let _ = p.hist.get_or_insert_with(new_histogram).record(v);
            }
            None => p.failed += 1,
        }
    }

    fn error(&mut self, kind: &str, detail: impl FnOnce() -> String) {
        *self.errors.entry(kind.to_string()).or_default() += 1;
        self.samples.entry(kind.to_string()).or_insert_with(detail);
    }

    fn merge(&mut self, o: Tally) {
        self.hist
            .add(&o.hist)
            .expect("auto-resizing histograms merge");
        self.ok += o.ok;
        self.done += o.done;
        self.late += o.late;
        self.bytes += o.bytes;
        self.responses_total += o.responses_total;
        self.abandoned_total += o.abandoned_total;
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in o.samples {
            self.samples.entry(k).or_insert(v);
        }
        if self.timeline.len() < o.timeline.len() {
            self.timeline.resize(o.timeline.len(), 0);
        }
        for (sum, n) in self.timeline.iter_mut().zip(o.timeline) {
            *sum += n;
        }
        self.connected |= o.connected;
        if self.connect_error.is_none() {
            self.connect_error = o.connect_error;
        }
        if self.phases.len() < o.phases.len() {
            self.phases.resize_with(o.phases.len(), PhaseTally::default);
        }
        for (sum, p) in self.phases.iter_mut().zip(o.phases) {
            sum.merge(p);
        }
    }
}

/// Run a load test.
pub fn run(cfg: &LoadConfig) -> Result<LoadReport, LoadError> {
    let target = std::sync::Arc::new(Target {
        limits: cfg.limits,
        ..parse_url(&cfg.url)?
    });
    if cfg.connections == 0 || cfg.threads == 0 {
        return Err(LoadError::Setting(
            "connections and threads must be at least 1".into(),
        ));
    }
    if cfg.threads > cfg.connections {
        return Err(LoadError::Setting(format!(
            "{} threads for {} connections: threads must not exceed connections",
            cfg.threads, cfg.connections
        )));
    }
    if let Some(r) = cfg.rate
        && !(r.is_finite() && r > 0.0)
    {
        return Err(LoadError::Setting(format!(
            "rate {r} must be a positive number of requests per second"
        )));
    }
    if cfg.rate.is_some() && cfg.schedule.is_some() {
        return Err(LoadError::Setting(
            "a rate and a schedule: give one (a schedule of one rate is that rate)".into(),
        ));
    }
    // The window lies where it was asked to, in absolute time, to line up with the server's: a
    // generator that starts late (a slow ssh start, a busy machine) loses warm-up, not window, and
    // past the window's start it measures the rest of the window.
    let now = Instant::now();
    let at = match cfg.start_at {
        Some(at) => match at.duration_since(std::time::SystemTime::now()) {
            Ok(ahead) => now + ahead,
            Err(behind) => now.checked_sub(behind.duration()).unwrap_or(now),
        },
        None => now + Duration::from_millis(50),
    };
    let start = at.max(now);
    let end = at + cfg.warmup + cfg.duration;
    let measure_from = (at + cfg.warmup).max(start);
    if measure_from >= end {
        return Err(LoadError::Setting(format!(
            "started {} ms after the window it was to measure had ended",
            now.saturating_duration_since(end).as_millis()
        )));
    }
    let secs = (end - measure_from).as_secs_f64();
    let offered = cfg.offered().map(|s| {
        let spans = if s.is_constant() {
            vec![]
        } else {
            s.spans(secs)
        };
        std::sync::Arc::new(Open {
            schedule: s,
            spans,
            measure_from,
            connections: cfg.connections,
        })
    });
    let mut handles = Vec::new();
    for t in 0..cfg.threads {
        let conns: Vec<usize> = (t..cfg.connections).step_by(cfg.threads).collect();
        let target = target.clone();
        let core = (!cfg.cores.is_empty()).then(|| cfg.cores[t % cfg.cores.len()]);
        let timeout = cfg.timeout;
        let offered = offered.clone();
        let h = std::thread::Builder::new()
            .name(format!("{THREAD_PREFIX}{t}"))
            .spawn(move || {
                if let Some(c) = core {
                    let _ = dyno_core::os::pin_thread(c);
                }
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async move {
                    let precise = timer::PreciseTimer::new().expect("a timerfd");
                    tokio::task::spawn_local(precise.clone().drive());
                    let tasks: Vec<_> = conns
                        .into_iter()
                        .map(|i| {
                            let target = target.clone();
                            tokio::task::spawn_local(connection(
                                target,
                                (measure_from, start),
                                end,
                                offered.clone().map(|o| (o, i)),
                                timeout,
                                precise.clone(),
                            ))
                        })
                        .collect();
                    let mut tally = Tally::new();
                    for t in tasks {
                        if let Ok(x) = t.await {
                            tally.merge(x);
                        }
                    }
                    tally
                })
            })
            .map_err(|e| LoadError::Thread(e.to_string()))?;
        handles.push(h);
    }
    let mut tally = Tally::new();
    for h in handles {
        tally.merge(
            h.join()
                .map_err(|_| LoadError::Thread("a client thread panicked".into()))?,
        );
    }
    if !tally.connected {
        return Err(LoadError::Unreachable {
            addr: target.authority.clone(),
            why: tally.connect_error.unwrap_or_else(|| "unknown".into()),
        });
    }
    let phases = offered
        .as_ref()
        .map(|o| o.report(std::mem::take(&mut tally.phases)))
        .unwrap_or_default();
    let offered_rate = offered.as_ref().map(|o| o.schedule.mean_rate(0.0, secs));
    Ok(LoadReport {
        url: cfg.url.clone(),
        mode: if offered.is_some() { "open" } else { "closed" }.into(),
        connections: cfg.connections,
        threads: cfg.threads,
        duration_s: secs,
        requests: tally.ok,
        throughput_ops_s: tally.ok as f64 / secs,
        latency_ns: Percentiles::of(&tally.hist),
        errors: tally.errors,
        error_samples: tally.samples,
        offered_rate,
        achieved_rate: tally.done as f64 / secs,
        late_share: offered_rate.map(|_| {
            if tally.done == 0 {
                0.0
            } else {
                tally.late as f64 / tally.done as f64
            }
        }),
        bytes_read: tally.bytes,
        responses_total: tally.responses_total,
        abandoned_total: tally.abandoned_total,
        histogram: dyno_core::record::encode_histogram(&tally.hist),
        timeline: tally.timeline,
        phases,
    })
}

/// The open loop's plan, shared by a run's connections: the schedule, its phases' spans of the window
/// (none for a constant rate), where the window starts and over how many connections the rate is spread.
struct Open {
    schedule: Schedule,
    spans: Vec<(f64, f64)>,
    measure_from: Instant,
    connections: usize,
}

impl Open {
    /// Seconds from the window's start to `t` (negative before it).
    fn since_start(&self, t: Instant) -> f64 {
        match t.checked_duration_since(self.measure_from) {
            Some(d) => d.as_secs_f64(),
            None => -self.measure_from.duration_since(t).as_secs_f64(),
        }
    }

    /// The wait between two sends of one connection sending at `t`: each connection carries an equal
    /// share of the rate then.
    fn interval_at(&self, t: Instant) -> Duration {
        let rate = self.schedule.rate_at(self.since_start(t));
        Duration::from_secs_f64(self.connections as f64 / rate)
    }

    /// The phase of a request intended at `t`, where the schedule changes.
    fn phase_of(&self, t: Instant) -> Option<usize> {
        (!self.spans.is_empty()).then(|| self.schedule.phase_at(self.since_start(t), &self.spans))
    }

    /// The phases' figures from their tallies.
    fn report(&self, tallies: Vec<PhaseTally>) -> Vec<PhaseReport> {
        let mut tallies = tallies.into_iter();
        self.spans
            .iter()
            .map(|&(from, to)| {
                let t = tallies.next().unwrap_or_default();
                let len = to - from;
                PhaseReport {
                    from_s: from,
                    to_s: to,
                    offered_rate: self.schedule.mean_rate(from, to),
                    sent: t.sent,
                    requests: t.ok,
                    errors: t.failed,
                    throughput_ops_s: t.ok as f64 / len,
                    latency_ns: t.hist.as_ref().map(Percentiles::of).unwrap_or_default(),
                }
            })
            .collect()
    }
}

/// How late a send may be before it counts as the generator falling behind. Sends wait on a precise
/// timer (a timerfd: tens of microseconds late on an idle generator, against up to a millisecond for
/// tokio's timer); whatever lag remains is part of the measured latency, as in wrk2.
const LATE: Duration = Duration::from_millis(1);

/// Limits on what one response may hold; past them the response ends as `head_too_large` or
/// `body_too_large` and its connection is closed. Body bytes are counted and discarded as they arrive,
/// so memory stays at a read buffer per connection whatever the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Bytes of status line and headers.
    pub max_head_bytes: usize,
    /// Bytes of body (declared or received).
    pub max_body_bytes: u64,
}

/// Default head limit: 64 KiB, far above any sane response head (nginx's default is 8 KiB).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Default body limit: 64 MiB, far above the benchmark's bodies, far below what would matter if it were
/// buffered (it is not).
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: MAX_HEAD_BYTES,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }
}

/// One keep-alive connection: requests until `end`, reconnecting after a failure.
async fn connection(
    target: std::sync::Arc<Target>,
    window: (Instant, Instant),
    end: Instant,
    open: Option<(std::sync::Arc<Open>, usize)>,
    timeout: Duration,
    precise: timer::PreciseTimer,
) -> Tally {
    let (measure_from, start) = (window.0, window.1);
    let mut tally = Tally::new();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
        target.path, target.authority
    )
    .into_bytes();
    // Connect before the start, so a test of many connections does not measure the connection storm.
    let mut conn = match tokio::time::timeout(timeout, Conn::open(&target)).await {
        Ok(Ok(c)) => {
            tally.connected = true;
            Some(c)
        }
        _ => None,
    };
    // Open loop: the connections' first sends staggered evenly over one interval.
    let mut intended = start
        + open.as_ref().map_or(Duration::ZERO, |(o, i)| {
            o.interval_at(start)
                .mul_f64(*i as f64 / o.connections as f64)
        });
    tokio::time::sleep_until(start.into()).await;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if conn.is_none() {
            match tokio::time::timeout(timeout, Conn::open(&target)).await {
                Ok(Ok(c)) => {
                    tally.connected = true;
                    conn = Some(c);
                }
                Ok(Err(e)) => {
                    tally.error("connect", || {
                        format!("cannot connect to {}: {e}", target.authority)
                    });
                    tally.connect_error.get_or_insert(e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                Err(_) => {
                    tally.error("connect_timeout", || {
                        format!("no connection to {} within {timeout:?}", target.authority)
                    });
                    continue;
                }
            }
        }
        // Open loop: wait for the intended send time; latency counts from it even if we are late.
        let (t0, sent) = match &open {
            Some((o, _)) => {
                if intended > Instant::now() {
                    precise.sleep_until(intended).await;
                }
                if intended >= end {
                    break;
                }
                let t = intended;
                intended += o.interval_at(t);
                (t, Instant::now())
            }
            None => {
                let now = Instant::now();
                (now, now)
            }
        };
        let c = conn.as_mut().expect("connected above");
        let outcome = tokio::time::timeout(timeout, c.exchange(&request)).await;
        let done = Instant::now();
        // By the actual send, not the intended one: an overloaded open loop runs behind its
        // schedule, and what the window sends are then requests intended in the warm-up, their
        // latency the backlog's. Counting by intended send measured none of them (a repeat of
        // async-std at 90k req/s measured nothing), though the window served at full speed.
        let measured = sent >= measure_from && sent < end;
        if measured {
            tally.done += 1;
            tally.late += u64::from(sent.duration_since(t0) > LATE);
        }
        let phase = match (&open, measured) {
            (Some((o, _)), true) => o.phase_of(t0),
            _ => None,
        };
        match outcome {
            Ok(Ok(resp)) => {
                tally.responses_total += 1;
                if resp.close {
                    conn = None;
                }
                if (200..300).contains(&resp.status) && done < end {
                    tally.tick(done - start);
                }
                if measured {
                    tally.bytes += resp.body_len;
                    if (200..300).contains(&resp.status) {
                        tally.ok += 1;
                        let latency = (done - t0).as_nanos().max(1) as u64;
                        let _ = tally.hist.record(latency);
                        tally.phase_done(phase, Some(latency));
                    } else {
                        tally.phase_done(phase, None);
                        tally.error(&format!("status_{}xx", resp.status / 100), || {
                            format!("HTTP status {}", resp.status)
                        });
                    }
                }
            }
            Ok(Err(f)) => {
                tally.abandoned_total += 1;
                if measured {
                    tally.error(f.kind, || f.detail);
                    tally.phase_done(phase, None);
                }
                conn = None;
            }
            Err(_) => {
                tally.abandoned_total += 1;
                if measured {
                    tally.error("timeout", || {
                        format!("no complete response within {timeout:?} (--timeout)")
                    });
                    tally.phase_done(phase, None);
                }
                conn = None;
            }
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(parse_url("http://127.0.0.1:8080/plaintext").is_ok());
        let t = parse_url("http://localhost/").unwrap();
        assert_eq!(t.authority, "localhost:80");
        for bad in ["https://x/", "127.0.0.1:80", "http:///x", "not a url"] {
            let e = parse_url(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"))
                .to_string();
            assert!(e.contains("accepted: http://HOST"), "{e}");
        }
    }
}
