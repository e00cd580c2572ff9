//! A precise timer for open-loop sends: tokio's timer has a 1 ms granularity, which would put up to a
//! millisecond of the generator's own lateness into every open-loop latency. Each client thread has one
//! `timerfd` (nanosecond resolution, driven by the thread's own reactor through `AsyncFd`) armed for the
//! earliest pending deadline; tasks sleep on it through a small heap of deadlines and wakers.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;

/// Sleeps longer than this start on tokio's timer and switch to the precise timer for the rest.
const COARSE_MARGIN: Duration = Duration::from_millis(2);

struct Inner {
    /// Pending deadlines with a sequence number (to find their waker) in deadline order.
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    wakers: std::collections::HashMap<u64, Waker>,
    next_id: u64,
    /// The deadline the timerfd is armed for.
    armed: Option<Instant>,
}

/// The precise timer of one current-thread runtime. Clone it into the thread's tasks.
#[derive(Clone)]
pub struct PreciseTimer {
    fd: Rc<AsyncFd<OwnedFd>>,
    inner: Rc<RefCell<Inner>>,
}

fn arm(fd: &OwnedFd, after: Duration) {
    // A zero it_value disarms a timerfd; one nanosecond fires at once.
    let after = after.max(Duration::from_nanos(1));
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: after.as_secs() as libc::time_t,
            tv_nsec: after.subsec_nanos() as libc::c_long,
        },
    };
    // SAFETY: a valid timerfd and a spec we own.
    unsafe {
        libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut());
    }
}

impl PreciseTimer {
    /// A timer for the current thread's tokio runtime; spawn [`PreciseTimer::drive`] on a `LocalSet`.
    pub fn new() -> std::io::Result<PreciseTimer> {
        // SAFETY: timerfd_create returns a new fd we own, or -1.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the OwnedFd is valid and open, and the AsyncFd owns it until it is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }?;
        Ok(PreciseTimer {
            fd: Rc::new(fd),
            inner: Rc::new(RefCell::new(Inner {
                heap: BinaryHeap::new(),
                wakers: Default::default(),
                next_id: 0,
                armed: None,
            })),
        })
    }

    /// Wake every task whose deadline has passed, re-arm for the next; runs until the runtime stops.
    pub async fn drive(self) {
        loop {
            let Ok(mut guard) = self.fd.readable().await else {
                return;
            };
            let mut expirations = [0u8; 8];
            // SAFETY: reading the 8-byte expiration count into a buffer we own.
            let n = unsafe {
                libc::read(
                    self.fd.get_ref().as_raw_fd(),
                    expirations.as_mut_ptr().cast(),
                    8,
                )
            };
            if n < 0 {
                guard.clear_ready();
            }
            let now = Instant::now();
            let mut inner = self.inner.borrow_mut();
            inner.armed = None;
            while let Some(Reverse((t, id))) = inner.heap.peek().copied() {
                if t > now {
                    inner.armed = Some(t);
                    arm(self.fd.get_ref(), t - now);
                    break;
                }
                inner.heap.pop();
                if let Some(w) = inner.wakers.remove(&id) {
                    w.wake();
                }
            }
        }
    }

    /// Sleep until `deadline`: tokio's timer for all but the last [`COARSE_MARGIN`], this timer for the rest.
    pub async fn sleep_until(&self, deadline: Instant) {
        if let Some(coarse) = deadline.checked_sub(COARSE_MARGIN)
            && coarse > Instant::now()
        {
            tokio::time::sleep_until(coarse.into()).await;
        }
        Sleep {
            timer: self,
            deadline,
            id: None,
        }
        .await
    }
}

struct Sleep<'a> {
    timer: &'a PreciseTimer,
    deadline: Instant,
    id: Option<u64>,
}

impl Future for Sleep<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = Instant::now();
        let mut inner = self.timer.inner.borrow_mut();
        if now >= self.deadline {
            if let Some(id) = self.id {
                inner.wakers.remove(&id);
            }
            return Poll::Ready(());
        }
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = inner.next_id;
                inner.next_id += 1;
                inner.heap.push(Reverse((self.deadline, id)));
                if inner.armed.is_none_or(|a| self.deadline < a) {
                    inner.armed = Some(self.deadline);
                    arm(self.timer.fd.get_ref(), self.deadline - now);
                }
                id
            }
        };
        inner.wakers.insert(id, cx.waker().clone());
        drop(inner);
        self.id = Some(id);
        Poll::Pending
    }
}

impl Drop for Sleep<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.timer.inner.borrow_mut().wakers.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_end_within_a_fraction_of_a_millisecond() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        let late = local.block_on(&rt, async {
            let timer = PreciseTimer::new().unwrap();
            tokio::task::spawn_local(timer.clone().drive());
            let mut late = Vec::new();
            for i in 0..200u64 {
                // Deadlines at odd sub-millisecond offsets, some past the coarse margin.
                let d = Instant::now() + Duration::from_micros(300 + (i * 37) % 3000);
                timer.sleep_until(d).await;
                late.push(Instant::now() - d);
            }
            late
        });
        let mut late = late;
        late.sort();
        let median = late[late.len() / 2];
        // tokio's own timer would be ~0.5 ms late on average; a generous bound for a shared machine.
        assert!(
            median < Duration::from_micros(250),
            "median lateness {median:?}"
        );
    }
}
