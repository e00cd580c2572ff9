//! The contenders: plain allocation (the binary's global allocator) and object pools. Each gives out
//! objects that are empty, and takes them back when the handle drops, on whatever thread that is.
//!
//! Two handles per contender: [`Contender::get`] borrows the pool, as each crate's API intends for a
//! get/put on one task (no reference count is touched), and [`Contender::acquire`] owns a reference
//! to the pool, for a handle that moves to another task (the `cross` pattern).

use crate::objects::Object;
use crossbeam_utils::CachePadded;
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Where objects come from.
pub trait Contender<T: Object>: Send + Sync + 'static {
    /// The contender's name (the `contender` parameter).
    const NAME: &'static str;
    /// What bounds its growth, for the fairness notes.
    const GROWTH: &'static str;
    /// What a get and a put do, for the fairness notes.
    const GET_PUT: &'static str;
    /// A handle to one object that owns a reference to the pool; dropping it gives the object back.
    type Handle: Deref<Target = T> + DerefMut + Send + 'static;
    /// A handle to one object that borrows the pool; dropping it gives the object back.
    type Local<'a>: Deref<Target = T> + DerefMut + 'a
    where
        Self: 'a;
    fn new() -> Arc<Self>;
    /// An empty object, in a handle that may move to another task.
    fn acquire(self: &Arc<Self>) -> Self::Handle;
    /// An empty object, in a handle that borrows the pool.
    fn get(&self) -> Self::Local<'_>;
}

/// No pool: every acquire allocates, every release frees.
pub struct Malloc;

impl<T: Object> Contender<T> for Malloc {
    const NAME: &'static str = "malloc";
    const GROWTH: &'static str = "no pool: the allocator's own caches";
    const GET_PUT: &'static str = "malloc: get allocates a new object (Box), put frees it";
    type Handle = Box<T>;
    type Local<'a> = Box<T>;
    fn new() -> Arc<Self> {
        Arc::new(Malloc)
    }
    fn acquire(self: &Arc<Self>) -> Box<T> {
        Box::default()
    }
    fn get(&self) -> Box<T> {
        Box::default()
    }
}

/// `object-pool` 0.6: a locked Vec; objects are returned as they are, so the handle resets on acquire.
pub struct ObjectPool<T>(Arc<object_pool::Pool<T>>);

/// A handle that derefs to the object inside another handle.
pub struct Reset<H>(H);
impl<T, H: Deref<Target = T>> Deref for Reset<H> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
impl<T, H: DerefMut<Target = T>> DerefMut for Reset<H> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Object> Contender<T> for ObjectPool<T> {
    const NAME: &'static str = "object-pool";
    const GROWTH: &'static str =
        "object-pool grows to the peak number of objects out at once and never shrinks";
    const GET_PUT: &'static str = "object-pool: get pops from a Mutex<Vec> (borrowing the pool: pull) and resets the object, put pushes it back under the lock";
    type Handle = Reset<object_pool::ReusableOwned<T>>;
    type Local<'a> = Reset<object_pool::Reusable<'a, T>>;
    fn new() -> Arc<Self> {
        Arc::new(ObjectPool(Arc::new(object_pool::Pool::new(0, T::default))))
    }
    fn acquire(self: &Arc<Self>) -> Self::Handle {
        let mut h = self.0.pull_owned(T::default);
        h.clear();
        Reset(h)
    }
    fn get(&self) -> Self::Local<'_> {
        let mut h = self.0.pull(T::default);
        h.clear();
        Reset(h)
    }
}

/// `lockfree-object-pool` 0.1: the linear pool, reset by the pool on release.
pub struct LockFree<T>(Arc<lockfree_object_pool::LinearObjectPool<T>>);

impl<T: Object> Contender<T> for LockFree<T> {
    const NAME: &'static str = "lockfree-object-pool";
    const GROWTH: &'static str = "lockfree-object-pool (linear) grows to the peak number of objects out at once and never shrinks";
    const GET_PUT: &'static str = "lockfree-object-pool: get claims a free slot of the linear pool with atomics (borrowing the pool: pull), put resets the object and frees its slot; with threads on two cores sharing the pool, some processes run in a slow mode (measured on tokio-tpc: one core 12 of 12 repeats at 8.8-9.3M/s; two cores 8 of 12 at 3.8M/s, the rest at 8.5-9.0M/s), so the two cores contend on the pool's shared state in those processes";
    type Handle = Reset<lockfree_object_pool::LinearOwnedReusable<T>>;
    type Local<'a> = Reset<lockfree_object_pool::LinearReusable<'a, T>>;
    fn new() -> Arc<Self> {
        Arc::new(LockFree(Arc::new(
            lockfree_object_pool::LinearObjectPool::new(T::default, |v: &mut T| v.clear()),
        )))
    }
    fn acquire(self: &Arc<Self>) -> Self::Handle {
        Reset(self.0.pull_owned())
    }
    fn get(&self) -> Self::Local<'_> {
        Reset(self.0.pull())
    }
}

/// `opool` 0.2: a bounded lock-free queue; objects beyond its size are dropped on release.
pub struct OPool<T: Object>(Arc<opool::Pool<Alloc<T>, T>>);

/// How opool makes and resets objects.
pub struct Alloc<T>(std::marker::PhantomData<fn() -> T>);
impl<T: Object> opool::PoolAllocator<T> for Alloc<T> {
    fn allocate(&self) -> T {
        T::default()
    }
    fn reset(&self, obj: &mut T) {
        obj.clear();
    }
}

/// Objects opool keeps.
pub const OPOOL_SIZE: usize = 1024;

impl<T: Object> Contender<T> for OPool<T> {
    const NAME: &'static str = "opool";
    const GROWTH: &'static str = "opool keeps at most 1024 objects; more are allocated and dropped";
    const GET_PUT: &'static str = "opool: get pops from a bounded lock-free queue (borrowing the pool: get), put resets the object and pushes it back";
    type Handle = Reset<opool::RcGuard<Alloc<T>, T>>;
    type Local<'a> = Reset<opool::RefGuard<'a, Alloc<T>, T>>;
    fn new() -> Arc<Self> {
        Arc::new(OPool(Arc::new(opool::Pool::new(
            OPOOL_SIZE,
            Alloc(std::marker::PhantomData),
        ))))
    }
    fn acquire(self: &Arc<Self>) -> Self::Handle {
        Reset(self.0.clone().get_rc())
    }
    fn get(&self) -> Self::Local<'_> {
        Reset(self.0.get())
    }
}

/// `sharded-slab` 0.1's `Pool`: per-thread shards; a released slot is cleared in place and reused.
pub struct Slab<T: Object>(Arc<sharded_slab::Pool<T>>);

/// Where a lent object goes back when its handle drops: the pool, through an `Arc` (an owned handle)
/// or a reference (a borrowed one).
pub trait GiveBack<X> {
    fn give_back(&self, obj: X);
}

impl<X, P: GiveBack<X>> GiveBack<X> for Arc<P> {
    fn give_back(&self, obj: X) {
        (**self).give_back(obj)
    }
}

impl<X, P: GiveBack<X>> GiveBack<X> for &P {
    fn give_back(&self, obj: X) {
        (**self).give_back(obj)
    }
}

/// An object lent by a pool that takes it back itself ([`GiveBack`]) when the handle drops.
pub struct Lent<X, P: GiveBack<X>> {
    obj: Option<X>,
    pool: P,
}

impl<X: Deref, P: GiveBack<X>> Deref for Lent<X, P> {
    type Target = X::Target;
    fn deref(&self) -> &X::Target {
        self.obj.as_ref().expect("held until drop")
    }
}
impl<X: DerefMut, P: GiveBack<X>> DerefMut for Lent<X, P> {
    fn deref_mut(&mut self) -> &mut X::Target {
        self.obj.as_mut().expect("held until drop")
    }
}
impl<X, P: GiveBack<X>> Drop for Lent<X, P> {
    fn drop(&mut self) {
        if let Some(o) = self.obj.take() {
            self.pool.give_back(o);
        }
    }
}

/// A sharded-slab slot goes back by clearing it (`Clear`) for reuse.
impl<T: Object> GiveBack<sharded_slab::pool::OwnedRefMut<T>> for sharded_slab::Pool<T> {
    fn give_back(&self, slot: sharded_slab::pool::OwnedRefMut<T>) {
        let key = slot.key();
        drop(slot);
        self.clear(key);
    }
}

impl<'a, T: Object> GiveBack<sharded_slab::pool::RefMut<'a, T>> for sharded_slab::Pool<T> {
    fn give_back(&self, slot: sharded_slab::pool::RefMut<'a, T>) {
        let key = slot.key();
        drop(slot);
        self.clear(key);
    }
}

impl<T: Object> Contender<T> for Slab<T> {
    const NAME: &'static str = "sharded-slab";
    const GROWTH: &'static str =
        "sharded-slab grows pages per thread up to its configured maximum and keeps them";
    const GET_PUT: &'static str = "sharded-slab: get takes a free slot of the calling thread's shard (borrowing the pool: create), put clears the slot in place for reuse";
    type Handle = Lent<sharded_slab::pool::OwnedRefMut<T>, Arc<sharded_slab::Pool<T>>>;
    type Local<'a> = Lent<sharded_slab::pool::RefMut<'a, T>, &'a sharded_slab::Pool<T>>;
    fn new() -> Arc<Self> {
        Arc::new(Slab(Arc::new(sharded_slab::Pool::new())))
    }
    fn acquire(self: &Arc<Self>) -> Self::Handle {
        let obj = self.0.clone().create_owned().expect(SLAB_FULL);
        Lent {
            obj: Some(obj),
            pool: self.0.clone(),
        }
    }
    fn get(&self) -> Self::Local<'_> {
        Lent {
            obj: Some(self.0.create().expect(SLAB_FULL)),
            pool: &*self.0,
        }
    }
}

const SLAB_FULL: &str = "sharded-slab is full (its configured maximum of slots)";

/// A thread-local free list: acquire and release touch only the current thread's list (on the
/// thread-per-core rows, the shard's own pool); an object released on another thread joins that
/// thread's list. Each list keeps at most [`THREAD_LOCAL_MAX`] objects. Each thread's list sits on a
/// cache line of its own: `thread_local` stores the threads' entries side by side, and two threads
/// writing their lists' borrow flags and lengths on one line would share it (measured: 127 ns per
/// operation with two threads against 72 ns with one, before the padding).
pub struct ThreadLocal<T: Object>(thread_local::ThreadLocal<CachePadded<RefCell<Vec<Box<T>>>>>);

/// Objects one thread's list keeps.
pub const THREAD_LOCAL_MAX: usize = 1024;

impl<T: Object> ThreadLocal<T> {
    /// An object from this thread's list, or a new one.
    fn pop(&self) -> Box<T> {
        let list = self.0.get_or(|| CachePadded::new(RefCell::new(Vec::new())));
        list.borrow_mut().pop().unwrap_or_default()
    }
}

/// An object goes back to the releasing thread's list, reset, while the list has room.
impl<T: Object> GiveBack<Box<T>> for ThreadLocal<T> {
    fn give_back(&self, mut o: Box<T>) {
        o.clear();
        let list = self.0.get_or(|| CachePadded::new(RefCell::new(Vec::new())));
        let mut l = list.borrow_mut();
        if l.len() < THREAD_LOCAL_MAX {
            l.push(o);
        }
    }
}

impl<T: Object> Contender<T> for ThreadLocal<T> {
    const NAME: &'static str = "thread-local";
    const GROWTH: &'static str =
        "thread-local keeps at most 1024 objects per thread; more are freed";
    const GET_PUT: &'static str = "thread-local: get pops from the calling thread's list (borrowing the pool: no shared counter is touched), put resets the object and pushes it on the releasing thread's list";
    type Handle = Lent<Box<T>, Arc<ThreadLocal<T>>>;
    type Local<'a> = Lent<Box<T>, &'a ThreadLocal<T>>;
    fn new() -> Arc<Self> {
        Arc::new(ThreadLocal(thread_local::ThreadLocal::new()))
    }
    fn acquire(self: &Arc<Self>) -> Self::Handle {
        Lent {
            obj: Some(self.pop()),
            pool: self.clone(),
        }
    }
    fn get(&self) -> Self::Local<'_> {
        Lent {
            obj: Some(self.pop()),
            pool: self,
        }
    }
}

/// Every contender's name, in the order the book shows them.
pub const NAMES: [&str; 6] = [
    "malloc",
    "object-pool",
    "lockfree-object-pool",
    "opool",
    "sharded-slab",
    "thread-local",
];
