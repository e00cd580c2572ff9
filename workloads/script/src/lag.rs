//! Event-loop lag, measured with a clock finer than any row's timer: a std thread sleeps [`PERIOD`]
//! (nanosleep, not the row's timer), stamps the time and sends the stamp to a task on the row's
//! executor; the lag is the receive time minus the stamp. A loop busy with a script receives late by
//! however long the script holds it; an idle loop receives after its wake-up latency. A row's timer
//! (tokio's has 1 ms granularity) never enters the figure.

use dyno_core::Window;
use dyno_core::record::{new_histogram, record_value};
use hdrhistogram::Histogram;
use std::time::Duration;

/// How often the stamping thread sends a stamp.
pub const PERIOD: Duration = Duration::from_millis(1);

/// Stamps that may wait unreceived; past it the stamper skips a stamp (the earliest waiting stamps
/// already show how long the loop has been held). The Go row's probe queues as many.
pub const QUEUE: usize = 256;

/// Receive stamps on the calling task: `count` of them, or (with `None`) until the window closes,
/// recording the lag of stamps made inside it.
pub async fn lag_probe(w: Window, count: Option<u32>) -> Histogram<u64> {
    let (tx, rx) = async_channel::bounded::<u64>(QUEUE);
    let stamper = move || {
        let mut n = 0u32;
        loop {
            std::thread::sleep(PERIOD);
            let t = w.now_ns();
            if count.map_or(w.is_over(t), |c| n >= c) {
                return;
            }
            // A full queue means the loop has not received for QUEUE periods: skip this stamp.
            let _ = tx.try_send(t);
            n += 1;
        }
    };
    // The thread ends by itself when its count or the window is done; dropping the sender then ends
    // the receiving loop below.
    std::thread::Builder::new()
        .name("script-lag".into())
        .spawn(stamper)
        .expect("cannot start the lag stamping thread");
    let mut h = new_histogram();
    while let Ok(stamp) = rx.recv().await {
        if count.is_some() || w.contains(stamp) {
            record_value(&mut h, w.now_ns().saturating_sub(stamp));
        }
    }
    h
}
