//! The http workload's declared figures: what each repeat reports beside the generator's record.

use dyno_core::metrics::{Better, Metric, Role, SHARE};

const fn count(name: &'static str, better: Better, help: &'static str) -> Metric {
    Metric::figure(name, "count", better, help)
}

pub const SERVER_REQUESTS: Metric = count(
    "server_requests",
    Better::Neither,
    "requests the server answered",
);
pub const GENERATOR_RESPONSES: Metric = count(
    "generator_responses",
    Better::Neither,
    "responses the load generator received",
);
pub const CONNECTIONS_ACCEPTED: Metric = count(
    "connections_accepted",
    Better::Neither,
    "connections the server accepted",
);
pub const ACCEPT_ERRORS: Metric = count("accept_errors", Better::Lower, "accepts that failed");
pub const CONNECTION_ERRORS: Metric = count(
    "connection_errors",
    Better::Lower,
    "connections that ended in an error",
);
pub const SPAWN_FAILED: Metric = count(
    "spawn_failed",
    Better::Lower,
    "connections the server could not spawn a task for",
);
pub const ACHIEVED_RATE: Metric = Metric::figure(
    "achieved_rate",
    "req/s",
    Better::Higher,
    "responses per second the generator received",
)
.with_role(Role::AchievedRate);
pub const OFFERED_RATE: Metric = Metric::figure(
    "offered_rate",
    "req/s",
    Better::Neither,
    "requests per second the open-loop generator offered",
)
.with_role(Role::OfferedRate);
pub const LATE_SHARE: Metric = Metric::figure(
    "late_share",
    SHARE,
    Better::Lower,
    "share of open-loop sends more than 1 ms behind schedule",
);
pub const GENERATOR_CPU: Metric = Metric::figure(
    "generator_cpu_s",
    "s",
    Better::Neither,
    "CPU seconds the load generator used",
);
/// Share of the client cores the generator kept busy over its run (1.0: saturated).
pub const GENERATOR_BUSY: Metric = Metric::figure(
    "generator_busy",
    SHARE,
    Better::Lower,
    "share of its cores the load generator kept busy",
)
.with_role(Role::Health { max: 0.90 })
.with_flag("the load generator kept {value} of its cores busy: the figure may be its limit");
pub const RSS_IDLE: Metric = Metric::figure(
    "rss_idle_bytes",
    "bytes",
    Better::Lower,
    "server RSS before the load",
)
.with_role(Role::Memory);
pub const RSS_LOADED: Metric = Metric::figure(
    "rss_loaded_bytes",
    "bytes",
    Better::Lower,
    "server RSS halfway through the window",
)
.with_role(Role::Memory);
pub const OPEN_CONNECTIONS: Metric = count(
    "open_connections",
    Better::Neither,
    "connections open halfway through the window",
);
pub const RSS_PER_CONNECTION: Metric = Metric::figure(
    "rss_per_connection_bytes",
    "bytes",
    Better::Lower,
    "(loaded RSS - idle RSS) / open connections",
)
.with_role(Role::Memory);

/// Every figure, in the order the spec declares them.
pub const ALL: [Metric; 15] = [
    SERVER_REQUESTS,
    GENERATOR_RESPONSES,
    CONNECTIONS_ACCEPTED,
    ACCEPT_ERRORS,
    CONNECTION_ERRORS,
    SPAWN_FAILED,
    ACHIEVED_RATE,
    OFFERED_RATE,
    LATE_SHARE,
    GENERATOR_CPU,
    GENERATOR_BUSY,
    RSS_IDLE,
    RSS_LOADED,
    OPEN_CONNECTIONS,
    RSS_PER_CONNECTION,
];
