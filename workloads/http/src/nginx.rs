//! The `nginx` reference row: nginx as one process (`master_process off`, so the process the window
//! measures is the one serving) answering `/plaintext` with a static `return 200`, on the server cores,
//! loaded by the same generator as the runtime rows. Its request count comes from `stub_status`.

use crate::reference::{RefServer, Status};
use crate::{FD_MARGIN, HttpParams};
use dyno_core::schema::RowInfo;
use dyno_core::{CoreSplit, Fairness, RepeatError};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The row id.
pub const ROW: &str = "nginx";

/// The nginx binary, if installed (Debian puts it in /usr/sbin).
pub fn path() -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join("nginx"))
        .find(|p| p.is_file())
}

fn version(bin: &Path) -> String {
    Command::new(bin)
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
        .unwrap_or_else(|e| format!("unknown version ({e})"))
}

/// nginx, one process.
pub struct Nginx;

impl RefServer for Nginx {
    const ROW: &'static str = ROW;
    const STATUS_PATH: &'static str = "/nginx_status";
    const LOG: &'static str = "error.log";

    fn unavailable(p: &HttpParams) -> Option<String> {
        if path().is_none() {
            return Some(
                "nginx is not installed (scripts/install-references.sh installs it)".into(),
            );
        }
        if p.endpoint != "plaintext" {
            return Some(format!(
                "the nginx reference row serves /plaintext only, not /{}",
                p.endpoint
            ));
        }
        None
    }

    fn row_info(split: &CoreSplit) -> RowInfo {
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
                    "static `return 200 \"Hello, World!\"` for /plaintext only; access log off"
                        .into(),
                    "one process whatever the server cores: on more than one server core it uses one"
                        .into(),
                ],
            },
        }
    }

    fn command(
        addr: SocketAddr,
        connections: u64,
        _cores: &[usize],
        dir: &Path,
    ) -> Result<Command, RepeatError> {
        let bin = path().ok_or("nginx is not installed")?;
        let d = dir.display();
        // Connections the generator gave up on (connect timeouts in a connection storm) still wait in
        // the accept queue and take a slot when nginx reaches them; with exactly as many slots as
        // connections, nginx logs "worker_connections are not enough" and resets live ones. A quarter
        // more avoids it.
        let files = connections + connections / 4 + FD_MARGIN;
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_rlimit_nofile {files};\npid {d}/nginx.pid;\n\
             error_log {d}/{log} warn;\nevents {{ worker_connections {files}; }}\n\
             http {{\n  access_log off;\n  keepalive_requests 1000000000;\n  keepalive_timeout 300s;\n  \
             server {{\n    listen {addr} reuseport backlog={backlog};\n    \
             location = /plaintext {{ default_type text/plain; return 200 \"{hello}\"; }}\n    \
             location = {status} {{ stub_status; }}\n  }}\n}}\n",
            log = Self::LOG,
            backlog = dyno_net::BACKLOG,
            hello = crate::server::HELLO,
            status = Self::STATUS_PATH,
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).map_err(|e| format!("cannot write nginx.conf: {e}"))?;
        let mut cmd = Command::new(&bin);
        cmd.arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf_path)
            .stderr(Stdio::null());
        Ok(cmd)
    }

    fn parse_status(body: &str) -> Option<Status> {
        let active = body
            .lines()
            .find_map(|l| l.strip_prefix("Active connections:"))
            .and_then(|v| v.trim().parse().ok())?;
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
            [accepts, _handled, requests] => Some(Status {
                active,
                accepts,
                requests,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stub_status_gives_active_accepts_and_requests() {
        let body = "Active connections: 3 \nserver accepts handled requests\n 17 17 120 \n\
                    Reading: 0 Writing: 1 Waiting: 2 \n";
        let s = Nginx::parse_status(body).unwrap();
        assert_eq!((s.active, s.accepts, s.requests), (3, 17, 120));
        assert!(Nginx::parse_status("Active connections: 3\n").is_none());
    }
}
