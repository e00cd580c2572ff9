//! The `go` reference row: Go's net/http (`workloads/http/go/`, the standard library only) serving the
//! same endpoints and bodies as the runtime rows, a goroutine per connection, GOMAXPROCS the server
//! cores, loaded by the same generator. Its counts come from its own `/dyno_status`.

use crate::HttpParams;
use crate::reference::{RefServer, Status};
use crate::server::{MAX_CPU_US, MAX_DELAY_MS};
use dyno_core::golang;
use dyno_core::schema::RowInfo;
use dyno_core::{CoreSplit, Fairness, RepeatError};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

/// The row id.
pub const ROW: &str = dyno_rows::foreign::GO_ROW;

/// The workload whose Go module this row runs.
const WORKLOAD: &str = "http";

/// The built server, if any.
fn binary() -> Option<std::path::PathBuf> {
    golang::built(&golang::binary_name(WORKLOAD))
}

/// Go's net/http server.
pub struct GoHttp;

impl RefServer for GoHttp {
    const ROW: &'static str = ROW;
    const STATUS_PATH: &'static str = "/dyno_status";
    const LOG: &'static str = "stderr.log";

    fn unavailable(_: &HttpParams) -> Option<String> {
        golang::unavailable(&golang::binary_name(WORKLOAD))
    }

    fn row_info(split: &CoreSplit) -> RowInfo {
        let procs = split.row.len();
        let mut notes = golang::fairness_notes(binary().as_deref(), procs);
        notes.push(
            "the same endpoints, bodies and parameter ranges as the runtime rows; the response \
             headers are net/http's own (it adds Date)"
                .into(),
        );
        RowInfo {
            id: ROW.into(),
            fairness: Fairness {
                cores: split.row.clone(),
                client_cores: split.client.clone(),
                client_host: None,
                workers: procs,
                io: "epoll (Go's netpoller)".into(),
                model: "reference: Go net/http, a goroutine per connection (GMP scheduler)".into(),
                pinned: false,
                notes,
            },
        }
    }

    fn command(
        addr: SocketAddr,
        _connections: u64,
        cores: &[usize],
        dir: &Path,
    ) -> Result<Command, RepeatError> {
        let bin = binary().ok_or_else(|| {
            RepeatError::Failed(
                golang::unavailable(&golang::binary_name(WORKLOAD)).unwrap_or_default(),
            )
        })?;
        let log = std::fs::File::create(dir.join(Self::LOG))
            .map_err(|e| format!("cannot make the go server's log: {e}"))?;
        let procs = match cores.len() {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut cmd = Command::new(bin);
        cmd.arg("-addr")
            .arg(addr.to_string())
            .arg("-max-cpu-us")
            .arg(MAX_CPU_US.to_string())
            .arg("-max-delay-ms")
            .arg(MAX_DELAY_MS.to_string())
            .env("GOMAXPROCS", procs.to_string())
            .stderr(log);
        for k in golang::ENV_REMOVED {
            cmd.env_remove(k);
        }
        Ok(cmd)
    }

    fn parse_status(body: &str) -> Option<Status> {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        let n = |k: &str| v.get(k)?.as_u64();
        Some(Status {
            active: n("active")?,
            accepts: n("accepts")?,
            requests: n("requests")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_status_page_gives_active_accepts_and_requests() {
        let s = GoHttp::parse_status(r#"{"accepts":17,"active":3,"requests":120}"#).unwrap();
        assert_eq!((s.active, s.accepts, s.requests), (3, 17, 120));
        assert!(GoHttp::parse_status(r#"{"active":3}"#).is_none());
    }
}
