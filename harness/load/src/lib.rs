//! dyno's HTTP/1.1 load generator.
//!
//! One current-thread tokio runtime per client thread (pinned when cores are given), keep-alive connections
//! driven by hyper's HTTP/1 client, every response checked (status 2xx, body read to the end).
//! - Closed loop (like wrk): each connection sends its next request as soon as the last one is answered.
//! - Open loop (like wrk2): a constant offered rate spread over the connections; latency is measured from each
//!   request's *intended* send time, so a server that stalls is charged for the requests it delayed
//!   (coordinated omission corrected). The report says when the generator fell behind its schedule.
//!
//! Failures are counted by kind (`connect`, `reset`, `timeout`, `status_5xx`, ...) and never as successes.

use dyno_core::record::new_histogram;
use dyno_core::schema::Percentiles;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What to load and how.
#[derive(Debug, Clone)]
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
    /// Per-request timeout.
    pub timeout: Duration,
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
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub url: String,
    pub mode: &'static str,
    pub connections: usize,
    pub threads: usize,
    pub duration_s: f64,
    /// Successful requests (2xx, full body) completed in the window.
    pub requests: u64,
    pub throughput_ops_s: f64,
    pub latency_ns: Percentiles,
    pub errors: BTreeMap<String, u64>,
    /// Requests per second asked for (open loop only).
    pub offered_rate: Option<f64>,
    /// Requests (successful or not) completed per second.
    pub achieved_rate: f64,
    /// Open loop: the share of requests sent more than 1 ms after their intended time; above 1% the
    /// generator (or the server holding connections) could not keep the schedule.
    pub late_share: Option<f64>,
    pub bytes_read: u64,
}

struct Target {
    authority: String,
    path: String,
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
    })
}

/// Per-thread tallies, merged at the end.
struct Tally {
    hist: Histogram<u64>,
    ok: u64,
    done: u64,
    late: u64,
    bytes: u64,
    errors: BTreeMap<String, u64>,
    connected: bool,
    connect_error: Option<String>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            hist: new_histogram(),
            ok: 0,
            done: 0,
            late: 0,
            bytes: 0,
            errors: BTreeMap::new(),
            connected: false,
            connect_error: None,
        }
    }

    fn error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }

    fn merge(&mut self, o: Tally) {
        self.hist
            .add(&o.hist)
            .expect("auto-resizing histograms merge");
        self.ok += o.ok;
        self.done += o.done;
        self.late += o.late;
        self.bytes += o.bytes;
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.connected |= o.connected;
        if self.connect_error.is_none() {
            self.connect_error = o.connect_error;
        }
    }
}

/// Run a load test.
pub fn run(cfg: &LoadConfig) -> Result<LoadReport, LoadError> {
    let target = std::sync::Arc::new(parse_url(&cfg.url)?);
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
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + cfg.duration;
    let per_conn_interval = cfg
        .rate
        .map(|r| Duration::from_secs_f64(cfg.connections as f64 / r));
    let mut handles = Vec::new();
    for t in 0..cfg.threads {
        let conns: Vec<usize> = (t..cfg.connections).step_by(cfg.threads).collect();
        let target = target.clone();
        let core = (!cfg.cores.is_empty()).then(|| cfg.cores[t % cfg.cores.len()]);
        let timeout = cfg.timeout;
        let n_conns = cfg.connections;
        let h = std::thread::Builder::new()
            .name(format!("dyno-load-{t}"))
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
                    let tasks: Vec<_> = conns
                        .into_iter()
                        .map(|i| {
                            let target = target.clone();
                            // Stagger open-loop connections evenly over one interval.
                            let offset =
                                per_conn_interval.map(|iv| iv.mul_f64(i as f64 / n_conns as f64));
                            tokio::task::spawn_local(connection(
                                target,
                                start,
                                end,
                                per_conn_interval,
                                offset,
                                timeout,
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
    let secs = cfg.duration.as_secs_f64();
    Ok(LoadReport {
        url: cfg.url.clone(),
        mode: if cfg.rate.is_some() { "open" } else { "closed" },
        connections: cfg.connections,
        threads: cfg.threads,
        duration_s: secs,
        requests: tally.ok,
        throughput_ops_s: tally.ok as f64 / secs,
        latency_ns: Percentiles::of(&tally.hist),
        errors: tally.errors,
        offered_rate: cfg.rate,
        achieved_rate: tally.done as f64 / secs,
        late_share: cfg.rate.map(|_| {
            if tally.done == 0 {
                0.0
            } else {
                tally.late as f64 / tally.done as f64
            }
        }),
        bytes_read: tally.bytes,
    })
}

/// How late a send may be before it counts as the generator falling behind.
const LATE: Duration = Duration::from_millis(1);

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(target: &Target) -> Result<Sender, String> {
    let stream = tokio::net::TcpStream::connect(&target.authority)
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn error_kind(e: &hyper::Error) -> &'static str {
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        "reset"
    } else if e.is_parse() {
        "bad_response"
    } else {
        "io"
    }
}

/// One keep-alive connection: requests until `end`, reconnecting after a failure.
async fn connection(
    target: std::sync::Arc<Target>,
    start: Instant,
    end: Instant,
    interval: Option<Duration>,
    offset: Option<Duration>,
    timeout: Duration,
) -> Tally {
    let mut tally = Tally::new();
    let mut sender: Option<Sender> = None;
    let mut intended = start + offset.unwrap_or_default();
    tokio::time::sleep_until(start.into()).await;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if sender.is_none() {
            match tokio::time::timeout(timeout, connect(&target)).await {
                Ok(Ok(s)) => {
                    tally.connected = true;
                    sender = Some(s);
                }
                Ok(Err(e)) => {
                    tally.error("connect".into());
                    tally.connect_error.get_or_insert(e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                Err(_) => {
                    tally.error("connect_timeout".into());
                    continue;
                }
            }
        }
        // Open loop: wait for the intended send time; latency counts from it even if we are late.
        let t0 = match interval {
            Some(iv) => {
                if intended > Instant::now() {
                    tokio::time::sleep_until(intended.into()).await;
                }
                if intended >= end {
                    break;
                }
                let t = intended;
                if Instant::now().duration_since(t) > LATE {
                    tally.late += 1;
                }
                intended += iv;
                t
            }
            None => Instant::now(),
        };
        let s = sender.as_mut().expect("connected above");
        let req = hyper::Request::get(target.path.as_str())
            .header(hyper::header::HOST, target.authority.as_str())
            .body(Empty::<Bytes>::new())
            .expect("a GET request builds");
        let outcome = tokio::time::timeout(timeout, async {
            let resp = s
                .send_request(req)
                .await
                .map_err(|e| error_kind(&e).to_string())?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| error_kind(&e).to_string())?;
            Ok::<_, String>((status, body.to_bytes().len()))
        })
        .await;
        let done = Instant::now();
        let counted = t0 < end;
        match outcome {
            Ok(Ok((status, len))) => {
                if counted {
                    tally.done += 1;
                    tally.bytes += len as u64;
                    if status.is_success() {
                        tally.ok += 1;
                        let _ = tally.hist.record((done - t0).as_nanos().max(1) as u64);
                    } else {
                        tally.error(format!("status_{}xx", status.as_u16() / 100));
                    }
                }
            }
            Ok(Err(kind)) => {
                if counted {
                    tally.done += 1;
                    tally.error(kind);
                }
                sender = None;
            }
            Err(_) => {
                if counted {
                    tally.done += 1;
                    tally.error("timeout".into());
                }
                sender = None;
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
