//! The `go` reference row of fanout: goroutines and Go channels (`workloads/fanout/go/`, the standard
//! library only), run through the row protocol ([`dyno_rows::foreign`]) with the same parameters,
//! message accounting and figures as the runtime rows.

use crate::FanoutParams;
use dyno_rows::foreign::GoRow;

/// The Go program.
pub const GO: GoRow = GoRow {
    workload: "fanout",
    model: "reference: Go goroutines and channels (GMP scheduler)",
    notes: &[
        "broadcast: a buffered channel per consumer (queue_bound each), so a slow consumer blocks the \
         producer where tokio's broadcast lags; queue: one buffered channel drained by the consumer \
         goroutines",
        "each message's payload is a fresh allocation, as in the runtime rows",
    ],
};

/// The parameter sets the Go row runs in: Go has one channel, so it runs once per shape, in the sets
/// of the runtime-neutral channels, rather than repeating the same figures in every channel's set.
pub const SETS: [&str; 2] = ["async-channel", "async-broadcast"];

/// Why a Go cell cannot run here.
pub fn unavailable(p: &FanoutParams) -> Option<String> {
    if !SETS.contains(&p.channel.as_str()) {
        return Some(format!(
            "the go row uses Go channels and runs once per shape, in the sets of {}, not {}",
            SETS.join(" and "),
            p.channel
        ));
    }
    GO.unavailable()
}
