//! The pooled objects: byte buffers of a fixed capacity and a request-like struct, each with a reset
//! that leaves no data of its last user visible, and the work an operation does with one.

use sharded_slab::Clear;

/// A pooled object: made empty, reset to empty on release (or before reuse), used by one operation.
pub trait Object: Default + Clear + Send + Sync + 'static {
    /// Bytes of payload the object carries when in use.
    const BYTES: usize;
    /// Fill the object as operation `i` would, and return a checksum of what it holds (so the work is
    /// not optimised away).
    fn fill(&mut self, i: u64) -> u64;
    /// Whether the object holds nothing (what every acquirer must see).
    fn is_empty(&self) -> bool;
}

/// A byte buffer of `N` bytes capacity.
#[derive(Debug)]
pub struct Buf<const N: usize>(pub Vec<u8>);

impl<const N: usize> Default for Buf<N> {
    fn default() -> Self {
        Buf(Vec::with_capacity(N))
    }
}

impl<const N: usize> Clear for Buf<N> {
    fn clear(&mut self) {
        self.0.clear();
    }
}

impl<const N: usize> Object for Buf<N> {
    const BYTES: usize = N;
    fn fill(&mut self, i: u64) -> u64 {
        let b = &mut self.0;
        b.clear();
        b.resize(N, (i & 0xff) as u8);
        // Parse-like pass: read back every 64th byte.
        b.iter().step_by(64).map(|&x| x as u64).sum::<u64>() + b.len() as u64
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A request-like struct with owned fields, as a server fills one per request.
#[derive(Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Headers a request carries.
pub const REQUEST_HEADERS: usize = 8;
/// Body bytes a request carries.
pub const REQUEST_BODY: usize = 256;

impl Clear for Request {
    fn clear(&mut self) {
        self.method.clear();
        self.path.clear();
        self.headers.clear();
        self.body.clear();
    }
}

impl Object for Request {
    const BYTES: usize = REQUEST_BODY;
    fn fill(&mut self, i: u64) -> u64 {
        self.clear();
        self.method
            .push_str(if i.is_multiple_of(3) { "POST" } else { "GET" });
        self.path.push_str("/api/v1/items/");
        self.path.push_str(&(i % 10_000).to_string());
        for h in 0..REQUEST_HEADERS {
            self.headers
                .push((format!("x-header-{h}"), format!("value-{}", i + h as u64)));
        }
        self.body.resize(REQUEST_BODY, (i & 0xff) as u8);
        self.path.len() as u64 + self.headers.len() as u64 + self.body.len() as u64
    }
    fn is_empty(&self) -> bool {
        self.method.is_empty()
            && self.path.is_empty()
            && self.headers.is_empty()
            && self.body.is_empty()
    }
}
