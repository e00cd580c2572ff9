//! The contenders: plain allocation (the binary's global allocator) and object pools. Each gives out
//! objects that are empty, and takes them back when the handle drops, on whatever thread that is.

use crate::objects::Object;
use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Where objects come from.
pub trait Contender<T: Object>: Send + Sync + 'static {
    /// The contender's name (the `contender` parameter).
    const NAME: &'static str;
    /// What bounds its growth, for the fairness notes.
    const GROWTH: &'static str;
    /// A handle to one object; dropping it gives the object back.
    type Handle: Deref<Target = T> + DerefMut + Send + 'static;
    fn new() -> Arc<Self>;
    /// An empty object.
    fn acquire(self: &Arc<Self>) -> Self::Handle;
}

/// No pool: every acquire allocates, every release frees.
pub struct Malloc;

impl<T: Object> Contender<T> for Malloc {
    const NAME: &'static str = "malloc";
    const GROWTH: &'static str = "no pool: the allocator's own caches";
    type Handle = Box<T>;
    fn new() -> Arc<Self> {
        Arc::new(Malloc)
    }
    fn acquire(self: &Arc<Self>) -> Box<T> {
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
    type Handle = Reset<object_pool::ReusableOwned<T>>;
    fn new() -> Arc<Self> {
        Arc::new(ObjectPool(Arc::new(object_pool::Pool::new(0, T::default))))
    }
    fn acquire(self: &Arc<Self>) -> Self::Handle {
        let mut h = self.0.pull_owned(T::default);
        h.clear();
        Reset(h)
    }
}

/// `lockfree-object-pool` 0.1: the linear pool, reset by the pool on release.
pub struct LockFree<T>(Arc<lockfree_object_pool::LinearObjectPool<T>>);

impl<T: Object> Contender<T> for LockFree<T> {
    const NAME: &'static str = "lockfree-object-pool";
    const GROWTH: &'static str = "lockfree-object-pool (linear) grows to the peak number of objects out at once and never shrinks";
    type Handle = Reset<lockfree_object_pool::LinearOwnedReusable<T>>;
    fn new() -> Arc<Self> {
        Arc::new(LockFree(Arc::new(
            lockfree_object_pool::LinearObjectPool::new(T::default, |v: &mut T| v.clear()),
        )))
    }
    fn acquire(self: &Arc<Self>) -> Self::Handle {
        Reset(self.0.pull_owned())
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
    type Handle = Reset<opool::RcGuard<Alloc<T>, T>>;
    fn new() -> Arc<Self> {
        Arc::new(OPool(Arc::new(opool::Pool::new(
            OPOOL_SIZE,
            Alloc(std::marker::PhantomData),
        ))))
    }
    fn acquire(self: &Arc<Self>) -> Self::Handle {
        Reset(self.0.clone().get_rc())
    }
}

/// `sharded-slab` 0.1's `Pool`: per-thread shards; a released slot is cleared in place and reused.
pub struct Slab<T: Object>(Arc<sharded_slab::Pool<T>>);

/// Where a lent object goes back when its handle drops.
pub trait GiveBack<X>: Send + Sync + 'static {
    fn give_back(&self, obj: X);
}

/// An object lent by a pool that takes it back itself ([`GiveBack`]) when the handle drops.
pub struct Lent<X, P: GiveBack<X>> {
    obj: Option<X>,
    pool: Arc<P>,
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

impl<T: Object> Contender<T> for Slab<T> {
    const NAME: &'static str = "sharded-slab";
    const GROWTH: &'static str =
        "sharded-slab grows pages per thread up to its configured maximum and keeps them";
    type Handle = Lent<sharded_slab::pool::OwnedRefMut<T>, sharded_slab::Pool<T>>;
    fn new() -> Arc<Self> {
        Arc::new(Slab(Arc::new(sharded_slab::Pool::new())))
    }
    fn acquire(self: &Arc<Self>) -> Self::Handle {
        let obj = self
            .0
            .clone()
            .create_owned()
            .expect("sharded-slab is full (its configured maximum of slots)");
        Lent {
            obj: Some(obj),
            pool: self.0.clone(),
        }
    }
}

/// A thread-local free list: acquire and release touch only the current thread's list (on the
/// thread-per-core rows, the shard's own pool); an object released on another thread joins that
/// thread's list. Each list keeps at most [`THREAD_LOCAL_MAX`] objects.
pub struct ThreadLocal<T: Object>(thread_local::ThreadLocal<RefCell<Vec<Box<T>>>>);

/// Objects one thread's list keeps.
pub const THREAD_LOCAL_MAX: usize = 1024;

/// An object goes back to the releasing thread's list, reset, while the list has room.
impl<T: Object> GiveBack<Box<T>> for ThreadLocal<T> {
    fn give_back(&self, mut o: Box<T>) {
        o.clear();
        let list = self.0.get_or(|| RefCell::new(Vec::new()));
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
    type Handle = Lent<Box<T>, ThreadLocal<T>>;
    fn new() -> Arc<Self> {
        Arc::new(ThreadLocal(thread_local::ThreadLocal::new()))
    }
    fn acquire(self: &Arc<Self>) -> Self::Handle {
        let list = self.0.get_or(|| RefCell::new(Vec::new()));
        let obj = list.borrow_mut().pop().unwrap_or_default();
        Lent {
            obj: Some(obj),
            pool: self.clone(),
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
