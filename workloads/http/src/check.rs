//! The latency check: does the generator report what the server really took? At low load (closed loop, one
//! connection), the p50 latency of `/delay?ms=N` should be the row's real sleep of N ms plus the unloaded
//! round trip (the p50 of `/plaintext` under the same load). The row's real sleep is measured on the row
//! itself, since timers round up (tokio's to the next millisecond).

use crate::Server;
use dyno_core::{RepeatError, RowConfig};
use dyno_load::LoadConfig;
use dyno_net::NetRow;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Sleeps timed on the row to find its real sleep.
const SLEEP_SAMPLES: usize = 200;

/// The figures of one latency check, in nanoseconds.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyCheck {
    pub row: &'static str,
    pub delay_ms: u64,
    /// Median of the row's own `sleep(delay_ms)`, timed on the row.
    pub sleep_p50_ns: u64,
    /// p50 of `/plaintext`, one connection, closed loop.
    pub round_trip_p50_ns: u64,
    /// p50 of `/delay?ms=N`, one connection, closed loop.
    pub delay_p50_ns: u64,
    /// `delay_p50 / (sleep_p50 + round_trip_p50) - 1`.
    pub relative_error: f64,
}

/// The median of `sleep(d)` as the row runs it.
fn row_sleep_p50<R: NetRow>(cfg: &RowConfig, d: Duration) -> Result<u64, RepeatError> {
    let out = R::run(cfg, move |_| async move {
        let mut v = Vec::with_capacity(SLEEP_SAMPLES);
        for _ in 0..SLEEP_SAMPLES {
            let t = Instant::now();
            R::sleep(d).await;
            v.push(t.elapsed().as_nanos() as u64);
        }
        v.sort_unstable();
        v[v.len() / 2]
    })?;
    Ok(out[0])
}

/// Run the check on row `R`: server on `server_core`, generator (in this process) on `client_core`,
/// each load for `secs`.
pub fn latency_check<R: NetRow>(
    server_core: usize,
    client_core: usize,
    delay_ms: u64,
    secs: f64,
) -> Result<LatencyCheck, RepeatError> {
    let cfg = RowConfig {
        cores: vec![server_core],
    };
    let sleep_p50_ns = row_sleep_p50::<R>(&cfg, Duration::from_millis(delay_ms))?;
    let server = Server::start::<R>(&cfg)?;
    let p50 = |path: &str| -> Result<u64, RepeatError> {
        let mut c = LoadConfig::closed(
            &format!("http://{}{path}", server.addr),
            1,
            Duration::from_secs_f64(secs),
        );
        c.cores = vec![client_core];
        let r = dyno_load::run(&c).map_err(|e| e.to_string())?;
        if !r.errors.is_empty() || r.requests == 0 {
            return Err(RepeatError::Failed(format!(
                "{path}: {} requests, errors {:?}",
                r.requests, r.errors
            )));
        }
        Ok(r.latency_ns.p50)
    };
    let round_trip_p50_ns = p50("/plaintext");
    let delay_p50_ns = p50(&format!("/delay?ms={delay_ms}"));
    server.stop()?;
    let (round_trip_p50_ns, delay_p50_ns) = (round_trip_p50_ns?, delay_p50_ns?);
    let expected = (sleep_p50_ns + round_trip_p50_ns) as f64;
    Ok(LatencyCheck {
        row: R::ID,
        delay_ms,
        sleep_p50_ns,
        round_trip_p50_ns,
        delay_p50_ns,
        relative_error: delay_p50_ns as f64 / expected - 1.0,
    })
}
