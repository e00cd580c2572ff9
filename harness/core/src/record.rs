//! The recorder: latency histograms and operation counters written on the hot path without a global lock.
//!
//! A [`Collector`] belongs to one measured repeat. Each task records through its own [`Probe`], which buffers
//! latency samples and, every [`BATCH`] samples, moves them into the histogram of the *thread* it runs on
//! (one HdrHistogram per thread, behind a lock only that thread takes until the final merge). Counters are
//! plain integers in the probe, added to the collector once when the probe is dropped. After every probe is
//! gone, [`Collector::finish`] merges the per-thread histograms. The [`Window`] decides what is measured:
//! operations that started during warm-up or after the window are not recorded.

use hdrhistogram::Histogram;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Samples a probe buffers before moving them into its thread's histogram.
pub const BATCH: usize = 64;

/// Significant digits of every latency histogram (0.1% value resolution).
pub const SIGFIGS: u8 = 3;

/// The measured window of one repeat: `[warmup, warmup + duration)` after the epoch.
///
/// Timestamps come from `quanta` (the TSC where the kernel trusts it, calibrated against the monotonic
/// clock): about 16 ns a read here against about 50 ns for `std::time::Instant`, which matters because
/// every recorded operation reads the clock. The window's edges are also kept as `std` instants for
/// threads that sleep until them.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    epoch: quanta::Instant,
    std_epoch: Instant,
    /// The epoch on the machine's monotonic clock ([`crate::os::monotonic_ns`]).
    mono_epoch_ns: u64,
    start_ns: u64,
    end_ns: u64,
}

impl Window {
    /// A window starting `warmup` from now and lasting `duration`.
    pub fn starting_in(warmup: Duration, duration: Duration) -> Self {
        let start_ns = warmup.as_nanos() as u64;
        Window {
            epoch: quanta::Instant::now(),
            std_epoch: Instant::now(),
            mono_epoch_ns: crate::os::monotonic_ns(),
            start_ns,
            end_ns: start_ns + duration.as_nanos() as u64,
        }
    }

    /// Nanoseconds since the epoch: the timestamp operations carry.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        (quanta::Instant::now() - self.epoch).as_nanos() as u64
    }

    /// Whether an operation that started at `t_ns` is measured.
    #[inline]
    pub fn contains(&self, t_ns: u64) -> bool {
        t_ns >= self.start_ns && t_ns < self.end_ns
    }

    /// Whether the window has closed at `t_ns`.
    #[inline]
    pub fn is_over(&self, t_ns: u64) -> bool {
        t_ns >= self.end_ns
    }

    /// The warm-up: from the window's creation to its opening.
    pub fn warmup(&self) -> Duration {
        Duration::from_nanos(self.start_ns)
    }

    /// When the measured window opens.
    pub fn start(&self) -> Instant {
        self.std_epoch + Duration::from_nanos(self.start_ns)
    }

    /// The instant the measured window closes.
    pub fn end(&self) -> Instant {
        self.std_epoch + Duration::from_nanos(self.end_ns)
    }

    /// The window's edges on the machine's monotonic clock: what a driver that stopped and continued
    /// the process compares its own log of running time with.
    pub fn monotonic_ns(&self) -> [u64; 2] {
        [
            self.mono_epoch_ns + self.start_ns,
            self.mono_epoch_ns + self.end_ns,
        ]
    }

    /// Length of the measured window.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.end_ns - self.start_ns)
    }
}

type Slot = Arc<Mutex<Histogram<u64>>>;

thread_local! {
    /// This thread's histogram for each live collector, keyed by collector id.
    static SLOTS: RefCell<Vec<(u64, Slot)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

struct Inner {
    id: u64,
    latency: bool,
    slots: Mutex<Vec<Slot>>,
    ops: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    error_samples: Mutex<BTreeMap<String, String>>,
    /// Operations completed per [`crate::steady::INTERVAL_NS`] since the window's epoch, warm-up included.
    timeline: Mutex<Vec<u64>>,
}

/// Gathers what the probes of one repeat recorded.
#[derive(Clone)]
pub struct Collector {
    inner: Arc<Inner>,
}

/// The merged record of one repeat.
#[derive(Debug)]
pub struct Recorded {
    /// Measured operations (successes only).
    pub ops: u64,
    /// Failed operations by kind; never counted in `ops`.
    pub errors: BTreeMap<String, u64>,
    /// One message per error kind, where the measurer kept one (e.g. a load generator's first).
    pub error_samples: BTreeMap<String, String>,
    /// Operations completed per [`crate::steady::INTERVAL_NS`] from the warm-up's start, measured or
    /// not (empty when the workload measures elsewhere, e.g. through a load generator).
    pub timeline: Vec<u64>,
    /// Latency of measured operations in nanoseconds; `None` when latency recording was off.
    pub latency: Option<Histogram<u64>>,
}

impl Collector {
    /// A collector; with `latency` false, probes count operations but keep no histogram (used to measure
    /// the recorder's own cost).
    pub fn new(latency: bool) -> Self {
        Collector {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                latency,
                slots: Mutex::new(Vec::new()),
                ops: AtomicU64::new(0),
                errors: Mutex::new(BTreeMap::new()),
                error_samples: Mutex::new(BTreeMap::new()),
                timeline: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Whether latency samples are kept.
    pub fn records_latency(&self) -> bool {
        self.inner.latency
    }

    /// A probe for one task.
    pub fn probe(&self) -> Probe {
        Probe {
            inner: self.inner.clone(),
            buf: Vec::new(),
            ops: 0,
            errors: Vec::new(),
            timeline: Vec::new(),
        }
    }

    /// Add what a measurer outside this process recorded (e.g. a load generator): successful operations,
    /// their latency histogram and failures by kind.
    pub fn record_external(
        &self,
        ops: u64,
        latency: &Histogram<u64>,
        errors: &BTreeMap<String, u64>,
    ) {
        self.inner.ops.fetch_add(ops, Ordering::Relaxed);
        if self.inner.latency {
            let mut h = new_histogram();
            h.add(latency)
                .expect("auto-resizing histograms always merge");
            self.inner
                .slots
                .lock()
                .unwrap()
                .push(Arc::new(Mutex::new(h)));
        }
        let mut mine = self.inner.errors.lock().unwrap();
        for (k, n) in errors {
            *mine.entry(k.clone()).or_default() += n;
        }
    }

    /// Add a timeline another process kept (a load generator), whose first interval began `offset` after
    /// the window's epoch (rounded to whole intervals).
    pub fn record_external_timeline(&self, offset: Duration, timeline: &[u64]) {
        let iv = u128::from(crate::steady::INTERVAL_NS);
        let shift = ((offset.as_nanos() + iv / 2) / iv) as usize;
        let mut t = self.inner.timeline.lock().unwrap();
        if t.len() < shift + timeline.len() {
            t.resize(shift + timeline.len(), 0);
        }
        for (i, n) in timeline.iter().enumerate() {
            t[shift + i] += n;
        }
    }

    /// Keep one sample message per error kind (the first given for each), to show beside the counts.
    pub fn record_error_samples(&self, samples: &BTreeMap<String, String>) {
        let mut mine = self.inner.error_samples.lock().unwrap();
        for (k, msg) in samples {
            mine.entry(k.clone()).or_insert_with(|| msg.clone());
        }
    }

    /// Merge everything recorded. Call after every probe has been dropped (their tasks have finished).
    pub fn finish(self) -> Recorded {
        let slots = std::mem::take(&mut *self.inner.slots.lock().unwrap());
        let latency = self.inner.latency.then(|| {
            let mut merged = new_histogram();
            for slot in &slots {
                merged
                    .add(&*slot.lock().unwrap())
                    .expect("auto-resizing histograms always merge");
            }
            merged
        });
        let errors = self.inner.errors.lock().unwrap().clone();
        Recorded {
            ops: self.inner.ops.load(Ordering::Relaxed),
            errors,
            error_samples: self.inner.error_samples.lock().unwrap().clone(),
            timeline: std::mem::take(&mut *self.inner.timeline.lock().unwrap()),
            latency,
        }
    }
}

/// A fresh latency histogram with dyno's precision, growing to any recorded value.
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new(SIGFIGS).expect("SIGFIGS is a valid precision");
    h.auto(true);
    h
}

/// Record `v` (at least 1) into a histogram of [`new_histogram`]: auto-resizing histograms grow to any
/// value with `record`, while `saturating_record` would clamp to the current (tiny) range instead.
pub fn record_value(h: &mut Histogram<u64>, v: u64) {
    if h.record(v.max(1)).is_err() {
        h.saturating_record(v.max(1));
    }
}

/// Record `v` nanoseconds `n` times (a bucket of latencies another process counted), as
/// [`record_value`] records one.
pub fn record_value_n(h: &mut Histogram<u64>, v: u64, n: u64) {
    if h.record_n(v.max(1), n).is_err() {
        h.saturating_record_n(v.max(1), n);
    }
}

/// One task's recording handle. Not shared: each task owns one, so recording takes no lock.
pub struct Probe {
    inner: Arc<Inner>,
    buf: Vec<u64>,
    ops: u64,
    errors: Vec<(&'static str, u64)>,
    /// Completions per timeline interval, added to the collector's when the probe is dropped.
    timeline: Vec<u32>,
}

impl Probe {
    /// Whether latency samples are kept (callers can skip reading the clock when not).
    #[inline]
    pub fn records_latency(&self) -> bool {
        self.inner.latency
    }

    /// An operation that started at `t0_ns` (window time) and ends now: counted in the timeline (warm-up
    /// included, for [`crate::steady`]), and recorded, with its latency where latency is kept, if it
    /// started inside the window. Returns 1 if it was recorded, else 0.
    #[inline]
    pub fn record_since(&mut self, w: &Window, t0_ns: u64) -> u64 {
        let now = w.now_ns();
        self.tick(w, now);
        if !w.contains(t0_ns) {
            return 0;
        }
        if self.inner.latency {
            self.record(now.saturating_sub(t0_ns));
        } else {
            self.count(1);
        }
        1
    }

    /// One completion at `now_ns` in the timeline; nothing after the window's last interval.
    #[inline]
    fn tick(&mut self, w: &Window, now_ns: u64) {
        let i = (now_ns / crate::steady::INTERVAL_NS) as usize;
        if i >= self.timeline.len() {
            if now_ns >= w.end_ns + crate::steady::INTERVAL_NS {
                return;
            }
            self.timeline.resize(i + 1, 0);
        }
        self.timeline[i] += 1;
    }

    /// One measured operation that took `latency_ns`.
    #[inline]
    pub fn record(&mut self, latency_ns: u64) {
        self.ops += 1;
        if self.inner.latency {
            if self.buf.capacity() == 0 {
                self.buf.reserve_exact(BATCH);
            }
            self.buf.push(latency_ns);
            if self.buf.len() == BATCH {
                self.flush_samples();
            }
        }
    }

    /// Measured operations without a latency sample.
    #[inline]
    pub fn count(&mut self, ops: u64) {
        self.ops += ops;
    }

    /// `n` failed operations of `kind` (never counted as successes).
    pub fn error(&mut self, kind: &'static str, n: u64) {
        match self.errors.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, c)) => *c += n,
            None => self.errors.push((kind, n)),
        }
    }

    fn flush_samples(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let slot = SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            if let Some((_, s)) = slots.iter().find(|(id, _)| *id == self.inner.id) {
                return s.clone();
            }
            // Forget slots of collectors that have finished (only this thread still holds them).
            slots.retain(|(_, s)| Arc::strong_count(s) > 1);
            let s: Slot = Arc::new(Mutex::new(new_histogram()));
            self.inner.slots.lock().unwrap().push(s.clone());
            slots.push((self.inner.id, s.clone()));
            s
        });
        let mut h = slot.lock().unwrap();
        for &v in &self.buf {
            record_value(&mut h, v);
        }
        self.buf.clear();
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.flush_samples();
        self.inner.ops.fetch_add(self.ops, Ordering::Relaxed);
        if !self.timeline.is_empty() {
            let mut t = self.inner.timeline.lock().unwrap();
            if t.len() < self.timeline.len() {
                t.resize(self.timeline.len(), 0);
            }
            for (sum, n) in t.iter_mut().zip(&self.timeline) {
                *sum += u64::from(*n);
            }
        }
        if !self.errors.is_empty() {
            let mut errors = self.inner.errors.lock().unwrap();
            for (k, n) in self.errors.drain(..) {
                *errors.entry(k.to_string()).or_default() += n;
            }
        }
    }
}

/// Serialize a histogram in the standard HdrHistogram V2+DEFLATE format, base64-encoded.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    use base64::Engine;
    use hdrhistogram::serialization::Serializer;
    let mut bytes = Vec::new();
    hdrhistogram::serialization::V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("serializing into a Vec cannot fail");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Why a stored histogram could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    #[error("histogram is not base64: {0}")]
    NotBase64(#[from] base64::DecodeError),
    #[error("histogram does not decode: {0:?}")]
    Decode(hdrhistogram::serialization::DeserializeError),
}

/// Read back a histogram written by [`encode_histogram`].
pub fn decode_histogram(s: &str) -> Result<Histogram<u64>, HistogramError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(s.trim())?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(HistogramError::Decode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_value_grows_the_histogram_instead_of_clamping() {
        let mut h = new_histogram();
        record_value(&mut h, 2);
        record_value(&mut h, 5_000_000);
        record_value(&mut h, 0);
        assert_eq!(h.len(), 3);
        assert_eq!(h.min(), 1, "zero is recorded as 1 ns");
        let max = h.max() as f64;
        assert!((max / 5e6 - 1.0).abs() < 1e-3, "max {max}, recorded 5 ms");
    }

    #[test]
    fn the_timeline_counts_warmup_completions_the_window_does_not_measure() {
        let c = Collector::new(true);
        let w = Window::starting_in(Duration::from_secs(10), Duration::from_secs(1));
        let mut p = c.probe();
        for _ in 0..100 {
            assert_eq!(p.record_since(&w, w.now_ns()), 0, "warm-up is not measured");
        }
        drop(p);
        let rec = c.finish();
        assert_eq!(rec.ops, 0);
        assert_eq!(rec.timeline.iter().sum::<u64>(), 100, "{:?}", rec.timeline);
        let c = Collector::new(false);
        c.record_external_timeline(Duration::from_millis(120), &[5, 6]);
        assert_eq!(
            c.finish().timeline,
            vec![0, 0, 5, 6],
            "shifted by whole intervals"
        );
    }

    #[test]
    fn probes_on_many_threads_merge_exactly() {
        let c = Collector::new(true);
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let mut p = c.probe();
                s.spawn(move || {
                    for i in 0..1000 {
                        p.record(1000 * (t + 1) + i % 7);
                    }
                    p.error("lagged", 2);
                });
            }
        });
        let r = c.finish();
        assert_eq!(r.ops, 4000);
        assert_eq!(r.errors.get("lagged"), Some(&8));
        let h = r.latency.unwrap();
        assert_eq!(h.len(), 4000);
        assert!(
            h.equivalent(h.min(), 1000) && h.equivalent(h.max(), 4006),
            "{} {}",
            h.min(),
            h.max()
        );
    }

    #[test]
    fn counting_only_collector_keeps_no_histogram() {
        let c = Collector::new(false);
        let mut p = c.probe();
        p.record(5);
        p.count(9);
        drop(p);
        let r = c.finish();
        assert_eq!(r.ops, 10);
        assert!(r.latency.is_none());
    }

    #[test]
    fn histogram_round_trips_through_text() {
        let mut h = new_histogram();
        for v in [1u64, 10, 100, 1_000_000, 5_000_000_000] {
            h.record(v).unwrap();
        }
        let back = decode_histogram(&encode_histogram(&h)).unwrap();
        assert_eq!(back.len(), 5);
        assert_eq!(back.max(), h.max());
        assert!(decode_histogram("not base64!").is_err());
        assert!(decode_histogram("aGVsbG8=").is_err());
    }

    #[test]
    fn window_excludes_warmup_and_after() {
        let w = Window::starting_in(Duration::from_millis(10), Duration::from_millis(20));
        assert!(!w.contains(5_000_000));
        assert!(w.contains(10_000_000));
        assert!(w.contains(29_999_999));
        assert!(!w.contains(30_000_000));
        assert!(w.is_over(30_000_000));
        assert_eq!(w.duration(), Duration::from_millis(20));
    }
}
