//! The shared counter behind each primitive, and one operation on it: a read, or an increment.

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering};

/// The primitives, as the `primitive` parameter names them.
pub const PRIMITIVES: [&str; 11] = [
    "mutex",
    "rwlock",
    "pl-mutex",
    "pl-rwlock",
    "async-mutex",
    "async-rwlock",
    "tokio-mutex",
    "tokio-rwlock",
    "atomic",
    "arc-swap",
    "sharded",
];

/// One counter behind one primitive.
pub enum Shared {
    Mutex(std::sync::Mutex<u64>),
    RwLock(std::sync::RwLock<u64>),
    PlMutex(parking_lot::Mutex<u64>),
    PlRwLock(parking_lot::RwLock<u64>),
    AsyncMutex(async_lock::Mutex<u64>),
    AsyncRwLock(async_lock::RwLock<u64>),
    /// tokio's own locks: they need no tokio runtime, so every row runs them.
    TokioMutex(tokio::sync::Mutex<u64>),
    TokioRwLock(tokio::sync::RwLock<u64>),
    Atomic(AtomicU64),
    ArcSwap(arc_swap::ArcSwap<u64>),
    /// One padded slot per task: a write adds to its own slot, a read sums every slot.
    Sharded(Vec<CachePadded<AtomicU64>>),
}

impl Shared {
    /// A zero counter behind `primitive`, for `tasks` tasks; `Err` names the accepted primitives.
    pub fn new(primitive: &str, tasks: usize) -> Result<Shared, String> {
        Ok(match primitive {
            "mutex" => Shared::Mutex(Default::default()),
            "rwlock" => Shared::RwLock(Default::default()),
            "pl-mutex" => Shared::PlMutex(Default::default()),
            "pl-rwlock" => Shared::PlRwLock(Default::default()),
            "async-mutex" => Shared::AsyncMutex(Default::default()),
            "async-rwlock" => Shared::AsyncRwLock(Default::default()),
            "tokio-mutex" => Shared::TokioMutex(Default::default()),
            "tokio-rwlock" => Shared::TokioRwLock(Default::default()),
            "atomic" => Shared::Atomic(AtomicU64::new(0)),
            "arc-swap" => Shared::ArcSwap(arc_swap::ArcSwap::from_pointee(0)),
            "sharded" => Shared::Sharded((0..tasks.max(1)).map(|_| Default::default()).collect()),
            other => {
                return Err(format!(
                    "unknown primitive {other:?}; accepted: {}",
                    PRIMITIVES.join(", ")
                ));
            }
        })
    }

    /// One operation by task `task`: an increment when `write`, else a read (its value kept from the
    /// optimiser). Only the async locks await.
    pub async fn op(&self, write: bool, task: usize) {
        let read = match self {
            Shared::Mutex(m) => bump(&mut m.lock().expect("no task panics holding it"), write),
            Shared::RwLock(l) if write => bump(&mut l.write().expect("no task panics"), true),
            Shared::RwLock(l) => *l.read().expect("no task panics holding it"),
            Shared::PlMutex(m) => bump(&mut m.lock(), write),
            Shared::PlRwLock(l) if write => bump(&mut l.write(), true),
            Shared::PlRwLock(l) => *l.read(),
            Shared::AsyncMutex(m) => bump(&mut *m.lock().await, write),
            Shared::AsyncRwLock(l) if write => bump(&mut *l.write().await, true),
            Shared::AsyncRwLock(l) => *l.read().await,
            Shared::TokioMutex(m) => bump(&mut *m.lock().await, write),
            Shared::TokioRwLock(l) if write => bump(&mut *l.write().await, true),
            Shared::TokioRwLock(l) => *l.read().await,
            Shared::Atomic(a) if write => a.fetch_add(1, Ordering::AcqRel),
            Shared::Atomic(a) => a.load(Ordering::Acquire),
            Shared::ArcSwap(s) if write => *s.rcu(|v| **v + 1),
            Shared::ArcSwap(s) => **s.load(),
            Shared::Sharded(slots) if write => {
                slots[task % slots.len()].fetch_add(1, Ordering::AcqRel)
            }
            Shared::Sharded(slots) => slots.iter().map(|s| s.load(Ordering::Acquire)).sum(),
        };
        std::hint::black_box(read);
    }

    /// The counter's value once every task has ended.
    pub fn value(&self) -> u64 {
        match self {
            Shared::Mutex(m) => *m.lock().expect("no task panicked holding it"),
            Shared::RwLock(l) => *l.read().expect("no task panicked holding it"),
            Shared::PlMutex(m) => *m.lock(),
            Shared::PlRwLock(l) => *l.read(),
            Shared::AsyncMutex(m) => *m.lock_blocking(),
            Shared::AsyncRwLock(l) => *l.read_blocking(),
            Shared::TokioMutex(m) => *m.try_lock().expect("no task holds it any more"),
            Shared::TokioRwLock(l) => *l.try_read().expect("no task holds it any more"),
            Shared::Atomic(a) => a.load(Ordering::Acquire),
            Shared::ArcSwap(s) => **s.load(),
            Shared::Sharded(slots) => slots.iter().map(|s| s.load(Ordering::Acquire)).sum(),
        }
    }
}

/// Increment (returning the old value) or read.
fn bump(v: &mut u64, write: bool) -> u64 {
    let old = *v;
    if write {
        *v += 1;
    }
    old
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_primitive_counts_its_increments_and_unknown_ones_are_refused() {
        for name in PRIMITIVES {
            let s = Shared::new(name, 3).unwrap();
            futures_lite::future::block_on(async {
                for i in 0..10 {
                    s.op(i % 2 == 0, i).await;
                }
            });
            assert_eq!(s.value(), 5, "{name}");
        }
        let e = Shared::new("spinlock", 1).err().unwrap();
        assert!(e.contains("accepted: mutex"), "{e}");
    }
}
