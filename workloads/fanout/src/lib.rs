//! The `fanout` workload: one producer, N consumers, over the channels each ecosystem uses.
//!
//! - `broadcast`: every consumer gets every message (tokio::sync::broadcast, async-broadcast).
//! - `queue`: a worker pool behind one bounded queue, each message to exactly one consumer (async-channel,
//!   flume, kanal); backpressure shows when consumers are slower (`work_ns`).
//!
//! The producer sends as fast as the channel lets it until the measured window closes, stamping each
//! message with its send time; consumers record receive minus send. One operation is one *delivery* of a
//! message sent inside the measured window (a broadcast message counts once per consumer). Every message is
//! accounted for: a lost or duplicated message fails the cell; messages a lagging broadcast receiver is told
//! it missed are counted as `lagged` errors, never as deliveries.

mod channels;
pub mod go;

pub use channels::{
    AsyncBroadcast, AsyncChannel, BroadcastKind, Flume, Kanal, QueueKind, Recv, SendKind,
    TokioBroadcast,
};

use dyno_core::metrics::{Declarations, Question, Side};
use dyno_core::params::{ParamSpec, WorkloadSpec, group, ints, words};
use dyno_core::schema::Pairing;
use dyno_core::{
    Better, InProcess, Metric, Params, Probe, RepeatCtx, RepeatError, RepeatOutput, Row, Shard,
    Window, Workload,
};
use dyno_rows::foreign::GO_ROW;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One message: its sequence number, send time (ns since the window's epoch) and payload.
#[derive(Clone, Debug)]
pub struct Msg {
    pub seq: u64,
    pub sent_ns: u64,
    pub payload: Arc<[u8]>,
}

const BROADCAST_CHANNELS: [&str; 2] = ["tokio-broadcast", "async-broadcast"];
const QUEUE_CHANNELS: [&str; 3] = ["async-channel", "flume", "kanal"];

/// The fan-out workload.
pub struct Fanout;

/// Fan-out parameters, read from a validated [`Params`].
#[derive(Debug, Clone)]
pub struct FanoutParams {
    pub shape: String,
    pub channel: String,
    pub consumers: usize,
    pub queue_bound: usize,
    pub payload_bytes: usize,
    pub work: Duration,
}

impl FanoutParams {
    pub fn from(p: &Params) -> Self {
        FanoutParams {
            shape: p.word("shape").to_string(),
            channel: p.word("channel").to_string(),
            consumers: p.int("consumers") as usize,
            queue_bound: p.int("queue_bound") as usize,
            payload_bytes: p.int("payload_bytes") as usize,
            work: Duration::from_nanos(p.int("work_ns")),
        }
    }
}

/// Messages the producer sent inside the measured window.
pub const SENT_IN_WINDOW: Metric = Metric::figure(
    "messages_sent_in_window",
    "messages",
    Better::Neither,
    "messages the producer sent inside the measured window",
);
/// Messages the producer sent over the whole repeat (warm-up and drain included).
pub const SENT_TOTAL: Metric = Metric::figure(
    "messages_sent_total",
    "messages",
    Better::Neither,
    "messages the producer sent over the whole repeat",
);
/// The producer's send rate in the window.
pub const SEND_RATE: Metric = Metric::figure(
    "send_rate_msgs_s",
    "messages/s",
    Better::Higher,
    "messages sent per second inside the window",
);
/// Messages a lagging tokio broadcast receiver was told it missed.
pub const LAGGED: Metric = Metric::figure(
    "lagged_total",
    "messages",
    Better::Lower,
    "messages a lagging broadcast receiver was told it missed",
);

impl Workload for Fanout {
    fn spec() -> WorkloadSpec {
        let base = |shape: &str, channels: &[&str], consumers: &[u64], work: &[u64]| {
            group([
                ("shape", words(&[shape])),
                ("channel", words(channels)),
                ("consumers", ints(consumers)),
                ("queue_bound", ints(&[1024])),
                ("payload_bytes", ints(&[64])),
                ("work_ns", ints(work)),
            ])
        };
        WorkloadSpec {
            name: "fanout".into(),
            about: "one producer, N consumers: broadcast to all, or a bounded work queue with backpressure".into(),
            params: vec![
                ParamSpec::choice("shape", "broadcast: every consumer gets every message; queue: each message to one consumer", &["broadcast", "queue"]),
                ParamSpec::choice(
                    "channel",
                    "channel implementation (broadcast: tokio-broadcast, async-broadcast; queue: async-channel, flume, kanal)",
                    &["tokio-broadcast", "async-broadcast", "async-channel", "flume", "kanal"],
                ),
                ParamSpec::int("consumers", "consumer tasks", 1, 100_000, "tasks"),
                ParamSpec::int("queue_bound", "channel capacity", 1, 1 << 20, "messages"),
                ParamSpec::int("payload_bytes", "bytes allocated and copied per message", 0, 1 << 20, "bytes"),
                ParamSpec::int("work_ns", "CPU spin per received message", 0, 10_000_000, "ns"),
            ],
            quick: vec![
                base("broadcast", &["async-broadcast"], &[64], &[0]),
                base("queue", &["async-channel"], &[64], &[0]),
            ],
            // The full profile's minimum rounds and profiles must leave room in its 45 minutes for
            // adaptive rounds (the whole profile at 159 cells took 52 minutes here, with none): every
            // channel at 64 consumers and one point of scale, 1024 consumers. Other consumer counts
            // and work per message are one `-p` away (`-p consumers=4,1024 -p work_ns=2000`).
            full: vec![
                base("broadcast", &BROADCAST_CHANNELS, &[64], &[0]),
                base("queue", &QUEUE_CHANNELS, &[64], &[0]),
                base("queue", &["async-channel"], &[1024], &[0]),
            ],
            declared: Declarations {
                ops_unit: "message deliveries".into(),
                metrics: [SENT_IN_WINDOW, SENT_TOTAL, SEND_RATE, LAGGED]
                    .iter()
                    .map(Metric::spec)
                    .collect(),
                questions: dyno_rows::design_questions()
                    .into_iter()
                    .chain(dyno_rows::go_questions())
                    .chain([
                        Question::new(
                            "Which work queue: flume or async-channel?",
                            Side::param("channel", "flume"),
                            Side::param("channel", "async-channel"),
                        ),
                        Question::new(
                            "Which work queue: kanal or async-channel?",
                            Side::param("channel", "kanal"),
                            Side::param("channel", "async-channel"),
                        ),
                        Question::new(
                            "Which broadcast channel: tokio's or async-broadcast?",
                            Side::param("channel", "tokio-broadcast"),
                            Side::param("channel", "async-broadcast"),
                        ),
                    ])
                    .collect(),
                pairing: Pairing::Sliced,
                pairing_why: "the rows' ratios move with the shared machine, which time-slicing \
                              cancels: the full profile's paired row-against-best half-width was \
                              ±18.8% time-sliced against ±113% in blocks, median of 30, the same \
                              11-minute budget, one run after the other"
                    .into(),
                window_s: Some(1.0),
                window_why: "in the reference run 20261207-084129 the noise inside a 2 s window \
                             was 6.5% of a repeat's throughput (1% of the variance), between \
                             processes 37.7% (46%): more, shorter processes buy more than longer \
                             windows"
                    .into(),
                ..Default::default()
            },
        }
    }

    fn unavailable(row: &str, params: &Params) -> Option<String> {
        (row == GO_ROW)
            .then(|| go::unavailable(&FanoutParams::from(params)))
            .flatten()
    }

    fn validate(params: &Params) -> Result<(), String> {
        let (shape, channel) = (params.word("shape"), params.word("channel"));
        let allowed: &[&str] = if shape == "broadcast" {
            &BROADCAST_CHANNELS
        } else {
            &QUEUE_CHANNELS
        };
        if allowed.contains(&channel) {
            Ok(())
        } else {
            Err(format!(
                "channel {channel} does not do shape {shape}; accepted for {shape}: {}",
                allowed.join(", ")
            ))
        }
    }
}

dyno_rows::go_references!(
    Fanout,
    go::GO,
    &[SENT_IN_WINDOW, SENT_TOTAL, SEND_RATE, LAGGED]
);

impl InProcess for Fanout {
    fn run<R: Row>(ctx: &RepeatCtx, params: &Params) -> Result<RepeatOutput, RepeatError> {
        let p = FanoutParams::from(params);
        let report = match p.channel.as_str() {
            "async-channel" => run_queue::<R, AsyncChannel>(ctx, &p),
            "flume" => run_queue::<R, Flume>(ctx, &p),
            "kanal" => run_queue::<R, Kanal>(ctx, &p),
            "tokio-broadcast" => run_broadcast::<R, TokioBroadcast>(ctx, &p),
            "async-broadcast" => run_broadcast::<R, AsyncBroadcast>(ctx, &p),
            other => return Err(RepeatError::Failed(format!("unknown channel {other}"))),
        }?;
        report.check(&p)?;
        Ok(report.metrics(ctx.window.duration()))
    }
}

/// What the producer did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sent {
    /// Messages sent in all (warm-up, window, and the last one).
    pub total: u64,
    /// Messages stamped inside the measured window.
    pub in_window: u64,
}

/// What one consumer saw. For a queue, `sum` and `sum_sq` of sequence numbers let the merge prove that
/// the consumers together received each message exactly once.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    pub received: u64,
    pub sum: u128,
    pub sum_sq: u128,
    /// Broadcast only: messages the channel reported lost to lag.
    pub lagged: u64,
    /// Broadcast only: sequence gaps the channel did not report, and repeats.
    pub lost: u64,
    pub duplicated: u64,
}

impl Seen {
    fn add(&mut self, seq: u64) {
        self.received += 1;
        self.sum += seq as u128;
        self.sum_sq += (seq as u128) * (seq as u128);
    }
}

/// One repeat's accounting.
#[derive(Debug, Default)]
pub struct Report {
    pub sent: Sent,
    pub consumers: Vec<Seen>,
    pub broadcast: bool,
}

impl Report {
    /// Every message accounted for, or the one-line reason it is not.
    pub fn check(&self, p: &FanoutParams) -> Result<(), RepeatError> {
        let n = self.sent.total;
        if self.consumers.len() != p.consumers {
            return Err(RepeatError::Failed(format!(
                "{} of {} consumers reported",
                self.consumers.len(),
                p.consumers
            )));
        }
        if self.broadcast {
            for (i, c) in self.consumers.iter().enumerate() {
                if c.lost > 0 || c.duplicated > 0 || c.received + c.lagged != n {
                    return Err(RepeatError::Failed(format!(
                        "consumer {i} accounted for {} of {n} messages ({} received, {} reported lagged, {} lost unreported, {} duplicated)",
                        c.received + c.lagged,
                        c.received,
                        c.lagged,
                        c.lost,
                        c.duplicated
                    )));
                }
            }
            return Ok(());
        }
        let received: u64 = self.consumers.iter().map(|c| c.received).sum();
        let sum: u128 = self.consumers.iter().map(|c| c.sum).sum();
        let sum_sq: u128 = self.consumers.iter().map(|c| c.sum_sq).sum();
        let n128 = n as u128;
        let want_sum = n128 * n128.saturating_sub(1) / 2;
        let want_sq = if n == 0 {
            0
        } else {
            (n128 - 1) * n128 * (2 * n128 - 1) / 6
        };
        if received != n {
            let verb = if received < n { "lost" } else { "duplicated" };
            return Err(RepeatError::Failed(format!(
                "queue delivered {received} of {n} messages ({} {verb})",
                received.abs_diff(n)
            )));
        }
        if sum != want_sum || sum_sq != want_sq {
            return Err(RepeatError::Failed(format!(
                "queue delivered {n} messages but not each exactly once (sequence checksum mismatch)"
            )));
        }
        Ok(())
    }

    fn metrics(&self, window: Duration) -> RepeatOutput {
        let mut m = RepeatOutput::new();
        m.set(&SENT_IN_WINDOW, self.sent.in_window as f64);
        m.set(&SENT_TOTAL, self.sent.total as f64);
        m.set(
            &SEND_RATE,
            self.sent.in_window as f64 / window.as_secs_f64(),
        );
        m.set(
            &LAGGED,
            self.consumers.iter().map(|c| c.lagged).sum::<u64>() as f64,
        );
        m
    }
}

/// Spin on the CPU for `d` (the consumer's per-message work). Never inlined, so profiles name it.
/// The time goes to arithmetic in batches of about [`SPIN_BATCH`], with the clock read between batches:
/// a loop that only read the clock would sit in the vDSO, where the pprof fallback drops every sample.
#[inline(never)]
pub fn work(d: Duration) {
    if d.is_zero() {
        return;
    }
    let until = Instant::now() + d;
    let per_batch = spins_per_batch();
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        let left = (until - now).min(SPIN_BATCH);
        spin((per_batch as u128 * left.as_nanos() / SPIN_BATCH.as_nanos()).max(1) as u64);
    }
}

/// How much arithmetic [`work`] does between two clock reads.
pub const SPIN_BATCH: Duration = Duration::from_micros(1);

#[inline(always)]
fn spin(n: u64) {
    let mut x = 0u64;
    for i in 0..n {
        x = std::hint::black_box(x.wrapping_add(i));
    }
}

/// Spins per [`SPIN_BATCH`] on this machine, calibrated once (the fastest of a few tries, so a
/// preempted try does not count).
fn spins_per_batch() -> u64 {
    static CALIBRATED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *CALIBRATED.get_or_init(|| {
        const TRY: u64 = 100_000;
        let fastest = (0..5)
            .map(|_| {
                let t = Instant::now();
                spin(TRY);
                t.elapsed()
            })
            .min()
            .unwrap_or(SPIN_BATCH)
            .max(Duration::from_nanos(1));
        (TRY as u128 * SPIN_BATCH.as_nanos() / fastest.as_nanos()).max(1) as u64
    })
}

/// Record one received message: latency if it was sent in the window.
#[inline]
fn record(probe: &mut Probe, w: &Window, m: &Msg) {
    probe.record_since(w, m.sent_ns);
    std::hint::black_box(m.payload.first());
}

/// The producer: send until the window closes, then drop the sender so consumers drain and stop.
async fn produce<R: Row, K: SendKind>(tx: K::Tx, w: Window, payload_bytes: usize) -> Sent {
    let template = vec![0xa5u8; payload_bytes];
    let mut sent = Sent::default();
    loop {
        let now = w.now_ns();
        let m = Msg {
            seq: sent.total,
            sent_ns: now,
            payload: Arc::from(&template[..]),
        };
        if K::send(&tx, m).await.is_err() {
            break;
        }
        sent.total += 1;
        sent.in_window += w.contains(now) as u64;
        if !K::SEND_WAITS {
            R::yield_now().await;
        }
        if w.is_over(now) {
            break;
        }
    }
    sent
}

/// Run a body on every shard: shard `i` spawns the consumers it owns (round-robin), shard 0 also the
/// producer; the shards' results are merged into one report.
fn run_sharded<R, C, P, CF, PF>(
    ctx: &RepeatCtx,
    consumers: usize,
    make_consumer: C,
    producer: P,
) -> Result<Report, RepeatError>
where
    R: Row,
    C: Fn(usize) -> CF + Send + Sync + 'static,
    CF: std::future::Future<Output = Seen> + Send + 'static,
    P: FnOnce() -> PF + Send + 'static,
    PF: std::future::Future<Output = Sent> + Send + 'static,
{
    let producer = Arc::new(Mutex::new(Some(producer)));
    let make_consumer = Arc::new(make_consumer);
    let shards = R::run(&ctx.row, move |shard: Shard| {
        let producer = if shard.index == 0 {
            producer.lock().unwrap().take()
        } else {
            None
        };
        let make_consumer = make_consumer.clone();
        async move {
            let tasks: Vec<_> = shard
                .owned(consumers)
                .map(|i| (i, R::spawn(make_consumer(i))))
                .collect();
            let sent = match producer {
                Some(p) => Some(R::spawn(p()).await),
                None => None,
            };
            let mut seen = Vec::with_capacity(tasks.len());
            for (i, t) in tasks {
                seen.push((i, t.await));
            }
            (sent, seen)
        }
    })?;
    let mut report = Report::default();
    let mut all: Vec<(usize, Seen)> = Vec::new();
    for (sent, seen) in shards {
        if let Some(s) = sent {
            report.sent = s;
        }
        all.extend(seen);
    }
    all.sort_by_key(|(i, _)| *i);
    report.consumers = all.into_iter().map(|(_, s)| s).collect();
    Ok(report)
}

/// The queue shape over channel `Q`.
pub fn run_queue<R: Row, Q: QueueKind>(
    ctx: &RepeatCtx,
    p: &FanoutParams,
) -> Result<Report, RepeatError> {
    let (tx, rx) = Q::bounded(p.queue_bound);
    let (w, collector, work_d, payload) =
        (ctx.window, ctx.collector.clone(), p.work, p.payload_bytes);
    run_sharded::<R, _, _, _, _>(
        ctx,
        p.consumers,
        move |_| {
            let rx = rx.clone();
            let mut probe = collector.probe();
            async move {
                let mut seen = Seen::default();
                while let Some(m) = Q::recv(&rx).await {
                    seen.add(m.seq);
                    record(&mut probe, &w, &m);
                    work(work_d);
                }
                seen
            }
        },
        move || produce::<R, Q>(tx, w, payload),
    )
}

/// The broadcast shape over channel `B`.
pub fn run_broadcast<R: Row, B: BroadcastKind>(
    ctx: &RepeatCtx,
    p: &FanoutParams,
) -> Result<Report, RepeatError> {
    let (tx, rxs) = B::channel(p.queue_bound, p.consumers);
    let rxs: Vec<Mutex<Option<B::Rx>>> = rxs.into_iter().map(|r| Mutex::new(Some(r))).collect();
    let (w, collector, work_d, payload) =
        (ctx.window, ctx.collector.clone(), p.work, p.payload_bytes);
    let mut report = run_sharded::<R, _, _, _, _>(
        ctx,
        p.consumers,
        move |i| {
            let mut rx = rxs[i]
                .lock()
                .unwrap()
                .take()
                .expect("each receiver is taken once");
            let mut probe = collector.probe();
            async move {
                let mut seen = Seen::default();
                let mut next = 0u64;
                loop {
                    match B::recv(&mut rx).await {
                        Recv::Msg(m) => {
                            if m.seq < next {
                                seen.duplicated += 1;
                                continue;
                            }
                            seen.lost += m.seq - next;
                            next = m.seq + 1;
                            seen.add(m.seq);
                            record(&mut probe, &w, &m);
                            work(work_d);
                        }
                        Recv::Lagged(n) => {
                            seen.lagged += n;
                            next += n;
                            if w.contains(w.now_ns()) {
                                probe.error("lagged", n);
                            }
                        }
                        Recv::Closed => break,
                    }
                }
                seen
            }
        },
        move || produce::<R, B>(tx, w, payload),
    )?;
    report.broadcast = true;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_lasts_at_least_what_was_asked() {
        for us in [1, 2, 50, 200] {
            let d = Duration::from_micros(us);
            let t = Instant::now();
            work(d);
            assert!(
                t.elapsed() >= d,
                "work({d:?}) returned after {:?}",
                t.elapsed()
            );
        }
    }

    fn p(consumers: usize) -> FanoutParams {
        FanoutParams {
            shape: "queue".into(),
            channel: "flume".into(),
            consumers,
            queue_bound: 4,
            payload_bytes: 0,
            work: Duration::ZERO,
        }
    }

    fn seen(seqs: &[u64]) -> Seen {
        let mut s = Seen::default();
        for &q in seqs {
            s.add(q);
        }
        s
    }

    #[test]
    fn queue_accounting_catches_loss_duplication_and_swaps() {
        let sent = Sent {
            total: 6,
            in_window: 6,
        };
        let ok = Report {
            sent,
            consumers: vec![seen(&[0, 2, 4]), seen(&[1, 3, 5])],
            broadcast: false,
        };
        ok.check(&p(2)).unwrap();
        let lost = Report {
            sent,
            consumers: vec![seen(&[0, 2, 4]), seen(&[1, 3])],
            broadcast: false,
        };
        assert!(
            lost.check(&p(2))
                .unwrap_err()
                .to_string()
                .contains("1 lost")
        );
        let dup = Report {
            sent,
            consumers: vec![seen(&[0, 2, 4, 4]), seen(&[1, 3, 5])],
            broadcast: false,
        };
        assert!(
            dup.check(&p(2))
                .unwrap_err()
                .to_string()
                .contains("duplicated")
        );
        // Same count, one message twice and another never: the checksum catches it.
        let swap = Report {
            sent,
            consumers: vec![seen(&[0, 2, 2]), seen(&[1, 3, 5])],
            broadcast: false,
        };
        assert!(
            swap.check(&p(2))
                .unwrap_err()
                .to_string()
                .contains("exactly once")
        );
        let missing = Report {
            sent,
            consumers: vec![seen(&[0, 1, 2, 3, 4, 5])],
            broadcast: false,
        };
        assert!(
            missing
                .check(&p(2))
                .unwrap_err()
                .to_string()
                .contains("1 of 2 consumers")
        );
    }

    #[test]
    fn broadcast_accounting_allows_reported_lag_only() {
        let sent = Sent {
            total: 4,
            in_window: 4,
        };
        let mut lagged = seen(&[0, 3]);
        lagged.lagged = 2;
        let r = Report {
            sent,
            consumers: vec![seen(&[0, 1, 2, 3]), lagged],
            broadcast: true,
        };
        r.check(&p(2)).unwrap();
        let mut gap = seen(&[0, 3]);
        gap.lost = 2;
        let r = Report {
            sent,
            consumers: vec![seen(&[0, 1, 2, 3]), gap],
            broadcast: true,
        };
        assert!(
            r.check(&p(2))
                .unwrap_err()
                .to_string()
                .contains("2 lost unreported")
        );
    }

    #[test]
    fn channels_must_fit_the_shape() {
        let mut ps = Fanout::spec()
            .plan(dyno_core::params::Profile::Full, &[], Fanout::validate)
            .unwrap();
        // broadcast: 2 channels; queue: 3 channels and 1 more consumer count.
        assert_eq!(ps.len(), 2 + 3 + 1);
        let p = &mut ps[0];
        p.0.insert("shape".into(), "queue".into());
        p.0.insert("channel".into(), "tokio-broadcast".into());
        assert!(
            Fanout::validate(p)
                .unwrap_err()
                .to_string()
                .contains("accepted for queue: async-channel, flume, kanal")
        );
    }
}
