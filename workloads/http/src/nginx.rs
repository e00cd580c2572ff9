//! The `nginx` reference row: nginx as one process (`master_process off`, so the process the window
//! measures is the one serving) answering `/plaintext` with a static `return 200`, on the server cores,
//! loaded by the same generator as the runtime rows. Its request count comes from `stub_status`.

use crate::server::ShardReport;
use crate::{FD_MARGIN, HttpParams, READY_TIMEOUT, Target, load, record};
use dyno_core::os::{raise_nofile, rss_of};
use dyno_core::schema::RowInfo;
use dyno_core::{
    ClientCtx, CoreSplit, Fairness, MeasuredProcess, RepeatCtx, RepeatError, RepeatOutput,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The row id.
pub const ROW: &str = "nginx";

/// Where nginx serves its counters.
const STATUS_PATH: &str = "/nginx_status";

/// The nginx binary, if installed (Debian puts it in /usr/sbin).
pub fn path() -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| std::path::Path::new(d).join("nginx"))
        .find(|p| p.is_file())
}

fn version(bin: &std::path::Path) -> String {
    Command::new(bin)
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_else(|e| format!("unknown version ({e})"))
}

/// The row's fairness block for the server cores of `split`.
pub fn row_info(split: &CoreSplit) -> RowInfo {
    let version = path().map_or("not installed".to_string(), |b| version(&b));
    RowInfo {
        id: ROW.into(),
        fairness: Fairness {
            cores: split.row.clone(),
            client_cores: split.client.clone(),
            client_host: None,
            workers: 1,
            io: "epoll".into(),
            model: "reference: nginx event loop (C), one process".into(),
            pinned: split.row.len() == 1,
            notes: vec![
                format!(
                    "{version}; master_process off: one process that serves (worker_processes does not apply)"
                ),
                "static `return 200 \"Hello, World!\"` for /plaintext only; access log off".into(),
                "one process whatever the server cores: on more than one server core it uses one"
                    .into(),
            ],
        },
    }
}

/// Why an nginx cell cannot run here.
pub fn unavailable(p: &HttpParams) -> Option<String> {
    if path().is_none() {
        return Some("nginx is not installed (scripts/install-references.sh installs it)".into());
    }
    if p.endpoint != "plaintext" {
        return Some(format!(
            "the nginx reference row serves /plaintext only, not /{}",
            p.endpoint
        ));
    }
    None
}

/// nginx's counters from `stub_status`.
#[derive(Debug, Clone, Copy)]
struct Status {
    active: u64,
    accepts: u64,
    requests: u64,
}

/// Read `stub_status` (one connection and one request, both counted by nginx itself).
fn status(addr: SocketAddr) -> Result<Status, String> {
    let bad = |why: String| format!("cannot read nginx's {STATUS_PATH}: {why}");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| bad(e.to_string()))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| bad(e.to_string()))?;
    write!(
        s,
        "GET {STATUS_PATH} HTTP/1.1\r\nHost: dyno\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| bad(e.to_string()))?;
    let mut text = String::new();
    s.read_to_string(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .ok_or_else(|| bad(text.clone()))?;
    let active = body
        .lines()
        .find_map(|l| l.strip_prefix("Active connections:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| bad(body.to_string()))?;
    let counts: Vec<u64> = body
        .lines()
        .skip_while(|l| !l.starts_with("server accepts"))
        .nth(1)
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    match counts[..] {
        [accepts, _handled, requests] => Ok(Status {
            active,
            accepts,
            requests,
        }),
        _ => Err(bad(body.to_string())),
    }
}

/// nginx running as one process; killed when dropped.
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// Start nginx on `addr` for `connections` keep-alive connections, pinned to `cores` (inherited
    /// affinity when empty), and wait until it listens.
    pub fn start(
        addr: SocketAddr,
        connections: u64,
        cores: &[usize],
    ) -> Result<Nginx, RepeatError> {
        let bin = path().ok_or("nginx is not installed")?;
        let dir = tempfile::tempdir().map_err(|e| format!("cannot make nginx's directory: {e}"))?;
        let d = dir.path().display();
        // Connections the generator gave up on (connect timeouts in a connection storm) still wait in the
        // accept queue and take a slot when nginx reaches them; with exactly as many slots as connections,
        // nginx logs "worker_connections are not enough" and resets live ones. A quarter more avoids it.
        let files = connections + connections / 4 + FD_MARGIN;
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_rlimit_nofile {files};\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\nevents {{ worker_connections {files}; }}\n\
             http {{\n  access_log off;\n  keepalive_requests 1000000000;\n  keepalive_timeout 300s;\n  \
             server {{\n    listen {addr} reuseport backlog={backlog};\n    \
             location = /plaintext {{ default_type text/plain; return 200 \"{hello}\"; }}\n    \
             location = {STATUS_PATH} {{ stub_status; }}\n  }}\n}}\n",
            backlog = dyno_net::BACKLOG,
            hello = crate::server::HELLO,
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).map_err(|e| format!("cannot write nginx.conf: {e}"))?;
        let mut cmd = Command::new(&bin);
        cmd.arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
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
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut n = Nginx { child, dir };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Ok(n);
            }
            let exited = n.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                let log =
                    std::fs::read_to_string(n.dir.path().join("error.log")).unwrap_or_default();
                return Err(RepeatError::Failed(format!(
                    "nginx did not start listening on {addr} ({}): {}",
                    exited.map_or("timed out".to_string(), |s| s.to_string()),
                    log.trim().lines().last().unwrap_or("no error log")
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// One repeat on nginx: start it, load it like a runtime row, check its own count, stop it.
pub fn run_repeat(
    ctx: &RepeatCtx,
    client: &ClientCtx,
    measured: &MeasuredProcess,
    p: &HttpParams,
) -> Result<RepeatOutput, RepeatError> {
    raise_nofile(p.connections + FD_MARGIN)?;
    let (reserved, addr) = dyno_net::reserve_port([127, 0, 0, 1].into())
        .map_err(|e| format!("cannot reserve a port on 127.0.0.1: {e}"))?;
    let nginx = Nginx::start(addr, p.connections, &ctx.row.cores)?;
    drop(reserved);
    let pid = nginx.child.id();
    measured.set(pid);
    let before = status(addr)?;
    // Status reads after `before` (each one connection and one request to nginx).
    let reads = AtomicU64::new(0);
    let open = || {
        reads.fetch_add(1, Ordering::AcqRel);
        // The status connection itself is one of the active ones.
        status(addr)
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
    let after = status(addr);
    drop(nginx);
    let after = after?;
    let extra = reads.load(Ordering::Acquire);
    let served = ShardReport {
        served: after.requests.saturating_sub(before.requests + extra),
        accepted: after.accepts.saturating_sub(before.accepts + extra),
        ..ShardReport::default()
    };
    record(ctx, client, p, loaded?, served)
}
