//! The HTTP/1.1 service, served by hyper over the row's own sockets: one listener per shard
//! (SO_REUSEPORT), one task per connection spawned with the row's own spawn, keep-alive on.

use dyno_net::NetRow;

use dyno_core::row::Shard;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The plaintext body (13 bytes), as in the TechEmpower plaintext test.
pub const HELLO: &str = "Hello, World!";

/// How long the server waits, after the generator has gone, for its connections to close.
pub const DRAIN: Duration = Duration::from_secs(5);

/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(1);

/// State shared by the shards and the controlling thread.
#[derive(Default)]
pub struct Shared {
    /// Set when the server must stop accepting.
    pub stop: AtomicBool,
    /// Connections currently open.
    pub active: AtomicUsize,
}

/// What one shard did.
#[derive(Debug, Default, Clone)]
pub struct ShardReport {
    /// Requests answered (any status).
    pub served: u64,
    pub accepted: u64,
    pub accept_errors: u64,
    /// Connections that ended with a hyper error (not a clean close by the client).
    pub conn_errors: u64,
    /// Connections dropped because the row could not start a task for them (the `threads` row at scale).
    pub spawn_failed: u64,
}

impl ShardReport {
    pub fn merge(&mut self, o: &ShardReport) {
        self.served += o.served;
        self.accepted += o.accepted;
        self.accept_errors += o.accept_errors;
        self.conn_errors += o.conn_errors;
        self.spawn_failed += o.spawn_failed;
    }
}

/// Counters a connection task adds to at its end.
#[derive(Default)]
struct ConnTotals {
    served: AtomicU64,
    conn_errors: AtomicU64,
}

/// One shard: bind, say ready with the shard count (or why not), accept until stopped, then wait for connections to close.
pub async fn serve<R: NetRow>(
    shard: Shard,
    addr: SocketAddr,
    ready: std::sync::mpsc::Sender<Result<usize, String>>,
    stop: async_channel::Receiver<()>,
    shared: Arc<Shared>,
) -> Result<ShardReport, String> {
    let listener = match dyno_net::listener(addr).and_then(R::listen) {
        Ok(l) => l,
        Err(e) => {
            let why = format!("shard {} cannot listen on {addr}: {e}", shard.index);
            let _ = ready.send(Err(why.clone()));
            return Err(why);
        }
    };
    let _ = ready.send(Ok(shard.count));
    let totals = Arc::new(ConnTotals::default());
    let mut report = ShardReport::default();
    loop {
        let next = futures_lite::future::or(async { Some(R::accept(&listener).await) }, async {
            let _ = stop.recv().await;
            None
        })
        .await;
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        match next {
            None => break,
            Some(Err(_)) => {
                report.accept_errors += 1;
                R::sleep(ACCEPT_BACKOFF).await;
            }
            Some(Ok(conn)) => {
                report.accepted += 1;
                shared.active.fetch_add(1, Ordering::AcqRel);
                let totals = totals.clone();
                let guard = Active(shared.clone());
                // Connection tasks run detached; their counts arrive through `totals`. A row that
                // cannot start one (the `threads` row out of threads) panics in spawn: count it.
                let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    R::spawn_detached(connection::<R>(conn, guard, totals))
                }));
                if spawned.is_err() {
                    report.spawn_failed += 1;
                }
            }
        }
    }
    drop(listener);
    let deadline = Instant::now() + DRAIN;
    while shared.active.load(Ordering::Acquire) > 0 {
        if Instant::now() >= deadline {
            return Err(format!(
                "{} connections still open {DRAIN:?} after the load generator finished",
                shared.active.load(Ordering::Acquire)
            ));
        }
        R::sleep(Duration::from_millis(1)).await;
    }
    report.served = totals.served.load(Ordering::Acquire);
    report.conn_errors = totals.conn_errors.load(Ordering::Acquire);
    Ok(report)
}

/// Counts a connection as open for as long as it lives (also if its task is dropped unfinished).
struct Active(Arc<Shared>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serve one keep-alive connection until the client closes it.
async fn connection<R: NetRow>(conn: R::Conn, active: Active, totals: Arc<ConnTotals>) {
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let service = hyper::service::service_fn(move |req| {
        counter.fetch_add(1, Ordering::Relaxed);
        async move { Ok::<_, Infallible>(respond::<R>(req).await) }
    });
    let result = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        // No timer is configured (rows have different timers); the generator closes idle connections.
        .header_read_timeout(None)
        .serve_connection(crate::hyper_io::HyperIo(conn), service)
        .await;
    totals
        .served
        .fetch_add(served.load(Ordering::Relaxed), Ordering::AcqRel);
    if result.is_err() {
        totals.conn_errors.fetch_add(1, Ordering::AcqRel);
    }
    drop(active);
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "text/plain")
        .body(Full::new(body.into()))
        .expect("a static response builds")
}

/// The most CPU one `/cpu?us=N` request may ask for: a second, so that a request cannot hold a worker
/// for longer than a load test's window.
pub const MAX_CPU_US: u64 = 1_000_000;

/// The longest one `/delay?ms=N` request may wait: a minute, as long as any client here waits.
pub const MAX_DELAY_MS: u64 = 60_000;

/// The value of `name` in a query string like `ms=5`: a whole number from 0 to `max`, or the text of
/// a 400 answer naming what is accepted.
fn query_u64(req: &Request<Incoming>, name: &str, max: u64) -> Result<u64, String> {
    let accepted = format!("accepted: ?{name}=N with N from 0 to {max}");
    let q = req.uri().query().unwrap_or("");
    let v = q
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .ok_or_else(|| format!("missing query parameter {name}; {accepted}\n"))?;
    let n: u64 = v
        .parse()
        .map_err(|_| format!("{name}={v} is not a whole number; {accepted}\n"))?;
    if n > max {
        return Err(format!("{name}={n} is out of range; {accepted}\n"));
    }
    Ok(n)
}

/// The endpoints: `/plaintext`, `/json`, `/delay?ms=N` (an async sleep on the row's timer),
/// `/cpu?us=N` (N µs of CPU work on the serving thread).
pub async fn respond<R: NetRow>(req: Request<Incoming>) -> Response<Full<Bytes>> {
    match req.uri().path() {
        "/plaintext" => text(StatusCode::OK, HELLO),
        "/json" => {
            let body = serde_json::to_vec(&serde_json::json!({ "message": HELLO }))
                .expect("a literal serializes");
            let mut r = text(StatusCode::OK, body);
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            r
        }
        "/delay" => match query_u64(&req, "ms", MAX_DELAY_MS) {
            Ok(ms) => {
                R::sleep(Duration::from_millis(ms)).await;
                text(StatusCode::OK, format!("slept {ms} ms\n"))
            }
            Err(e) => text(StatusCode::BAD_REQUEST, e),
        },
        "/cpu" => match query_u64(&req, "us", MAX_CPU_US) {
            Ok(us) => {
                let x = burn_cpu(Duration::from_micros(us));
                text(StatusCode::OK, format!("burned {us} us ({x:x})\n"))
            }
            Err(e) => text(StatusCode::BAD_REQUEST, e),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "unknown path; accepted: /plaintext, /json, /delay?ms=N, /cpu?us=N\n",
        ),
    }
}

/// Real CPU work for `d`: an LCG stepped until the clock says `d` has passed. Returns the state so the
/// work cannot be optimised away.
#[inline(never)]
pub fn burn_cpu(d: Duration) -> u64 {
    let start = Instant::now();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while start.elapsed() < d {
        for _ in 0..64 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
        }
    }
    std::hint::black_box(x)
}
