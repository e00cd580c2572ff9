//! Reference servers beside the runtime rows (nginx, Go's net/http): a process of their own on the
//! server cores, loaded by the same generator as every row, with the server's own counts of requests
//! and connections read from its status page before and after the window.

use crate::server::ShardReport;
use crate::{FD_MARGIN, HttpParams, READY_TIMEOUT, Target, go, load, nginx, record};
use dyno_core::os::{raise_nofile, rss_of};
use dyno_core::schema::RowInfo;
use dyno_core::{ClientCtx, CoreSplit, MeasuredProcess, RepeatCtx, RepeatError, RepeatOutput};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The reference rows, by row id.
pub const ROWS: [&str; 2] = [nginx::ROW, go::ROW];

/// A server outside the runtime rows.
pub trait RefServer {
    /// The row id.
    const ROW: &'static str;
    /// Where it serves its counters.
    const STATUS_PATH: &'static str;
    /// The file in its directory that its errors go to.
    const LOG: &'static str;
    /// Why a cell of this server cannot run here.
    fn unavailable(p: &HttpParams) -> Option<String>;
    /// The row's fairness block for the server cores of `split`.
    fn row_info(split: &CoreSplit) -> RowInfo;
    /// The command serving up to `connections` at once on `addr` (bound with SO_REUSEPORT: the cell
    /// holds the port until it listens) on `cores` (the process is confined to them), its working
    /// files in `dir`.
    fn command(
        addr: SocketAddr,
        connections: u64,
        cores: &[usize],
        dir: &Path,
    ) -> Result<Command, RepeatError>;
    /// Its counters from the body of its status page.
    fn parse_status(body: &str) -> Option<Status>;
}

/// A server's own counters. Each status read is one connection and one request, which it counts too.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    pub active: u64,
    pub accepts: u64,
    pub requests: u64,
}

/// Why reference row `row`'s cell cannot run here; `None` for a runtime row.
pub fn unavailable(row: &str, p: &HttpParams) -> Option<Option<String>> {
    match row {
        nginx::ROW => Some(nginx::Nginx::unavailable(p)),
        go::ROW => Some(go::GoHttp::unavailable(p)),
        _ => None,
    }
}

/// The reference rows' fairness blocks.
pub fn row_infos(split: &CoreSplit) -> Vec<RowInfo> {
    vec![nginx::Nginx::row_info(split), go::GoHttp::row_info(split)]
}

/// One repeat of reference row `row`.
pub fn run(
    row: &str,
    ctx: &RepeatCtx,
    client: &ClientCtx,
    measured: &MeasuredProcess,
    p: &HttpParams,
) -> Result<RepeatOutput, RepeatError> {
    match row {
        nginx::ROW => run_repeat::<nginx::Nginx>(ctx, client, measured, p),
        go::ROW => run_repeat::<go::GoHttp>(ctx, client, measured, p),
        other => Err(RepeatError::Failed(format!(
            "no reference row {other:?}; accepted: {}",
            ROWS.join(", ")
        ))),
    }
}

/// Read `S`'s status page (one connection and one request, both counted by the server itself).
fn status<S: RefServer>(addr: SocketAddr) -> Result<Status, String> {
    let bad = |why: String| format!("cannot read {}'s {}: {why}", S::ROW, S::STATUS_PATH);
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| bad(e.to_string()))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| bad(e.to_string()))?;
    write!(
        s,
        "GET {} HTTP/1.1\r\nHost: dyno\r\nConnection: close\r\n\r\n",
        S::STATUS_PATH
    )
    .map_err(|e| bad(e.to_string()))?;
    let mut text = String::new();
    s.read_to_string(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .ok_or_else(|| bad(text.clone()))?;
    S::parse_status(body).ok_or_else(|| bad(body.to_string()))
}

/// A reference server's process, killed when dropped.
pub struct Server {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Start `S` on `addr` for `connections` keep-alive connections, pinned to `cores` (inherited
    /// affinity when empty), and wait until it listens.
    pub fn start<S: RefServer>(
        addr: SocketAddr,
        connections: u64,
        cores: &[usize],
    ) -> Result<Server, RepeatError> {
        let dir =
            tempfile::tempdir().map_err(|e| format!("cannot make {}'s directory: {e}", S::ROW))?;
        let mut cmd = S::command(addr, connections, cores, dir.path())?;
        cmd.stdin(Stdio::null()).stdout(Stdio::null());
        let cores = cores.to_vec();
        if !cores.is_empty() {
            // SAFETY: only sched_setaffinity runs between fork and exec (no allocation on success).
            unsafe {
                use std::os::unix::process::CommandExt;
                cmd.pre_exec(move || {
                    dyno_core::os::confine_process(&cores).map_err(std::io::Error::other)
                });
            }
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", S::ROW))?;
        let mut n = Server { child, dir };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Ok(n);
            }
            let exited = n.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                let log = std::fs::read_to_string(n.dir.path().join(S::LOG)).unwrap_or_default();
                return Err(RepeatError::Failed(format!(
                    "{} did not start listening on {addr} ({}): {}",
                    S::ROW,
                    exited.map_or("timed out".to_string(), |s| s.to_string()),
                    log.trim().lines().last().unwrap_or("no error log")
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// One repeat on `S`: start it, load it like a runtime row, check its own count, stop it.
fn run_repeat<S: RefServer>(
    ctx: &RepeatCtx,
    client: &ClientCtx,
    measured: &MeasuredProcess,
    p: &HttpParams,
) -> Result<RepeatOutput, RepeatError> {
    raise_nofile(p.connections + FD_MARGIN)?;
    let (reserved, addr) = dyno_net::reserve_port([127, 0, 0, 1].into())
        .map_err(|e| format!("cannot reserve a port on 127.0.0.1: {e}"))?;
    let server = Server::start::<S>(addr, p.connections, &ctx.row.cores)?;
    drop(reserved);
    let pid = server.child.id();
    measured.set(pid);
    let before = status::<S>(addr)?;
    // Status reads after `before` (each one connection and one request to the server).
    let reads = AtomicU64::new(0);
    let open = || {
        reads.fetch_add(1, Ordering::AcqRel);
        // The status connection itself is one of the active ones.
        status::<S>(addr)
            .ok()
            .map(|s| s.active.saturating_sub(1) as usize)
    };
    let rss = || rss_of(pid);
    let target = Target {
        addr,
        rss: &rss,
        open: &open,
    };
    let loaded = load(ctx, client, p, &target);
    reads.fetch_add(1, Ordering::AcqRel);
    let after = status::<S>(addr);
    drop(server);
    let after = after?;
    let extra = reads.load(Ordering::Acquire);
    let served = ShardReport {
        served: after.requests.saturating_sub(before.requests + extra),
        accepted: after.accepts.saturating_sub(before.accepts + extra),
        ..ShardReport::default()
    };
    record(ctx, client, p, loaded?, served)
}
