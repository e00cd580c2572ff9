//! dyno-net: the network facet of a runtime row, for the workloads that serve or dial TCP.
//!
//! [`dyno_core::Row`] is an executor (run, spawn, timers). A row that also has sockets implements
//! [`NetRow`]: it takes over a listening socket built here ([`sockets::listener`], so every row gets the
//! same SO_REUSEPORT options and backlog), accepts with its own runtime's accept, and hands over its own
//! stream behind [`Conn`], a small poll-based byte stream with no HTTP library behind it: the http
//! workload adapts a `Conn` to hyper in its own crate, so no runtime crate depends on hyper. Only network workloads depend on this crate; what a row does on the
//! network ([`NetRow::network_notes`]) appears in the fairness block of their cells only.

pub mod sockets;

pub use sockets::{BACKLOG, FuturesIo, listener, reserve, reserve_port};

use dyno_core::Row;
use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An accepted connection as a row's runtime moves its bytes. Reads go into uninitialised memory so a
/// runtime that can fill it without zeroing first (tokio's `ReadBuf`) does; the others zero it
/// ([`sockets::initialised`]) and say so in their network notes.
pub trait Conn: Unpin + Send + 'static {
    /// Read into the front of `buf`; `Ready(Ok(n))`: its first `n` bytes are filled (0: end of stream).
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;

    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>>;

    /// Whether [`Conn::poll_write_vectored`] writes several buffers at once. Default: no.
    fn is_write_vectored(&self) -> bool {
        false
    }

    /// Write from several buffers. Default: the first non-empty one.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let buf = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        self.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Shut the write side down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A row's sockets: the network facet beside the executor facet [`Row`].
pub trait NetRow: Row {
    /// A listening socket owned by one shard, in the row's own runtime.
    type Listener: 'static;

    /// An accepted connection: the row's own stream behind [`Conn`]. `Send` so connection tasks go
    /// through [`Row::spawn`] (thread-bound streams are wrapped, as for tasks).
    type Conn: Conn;

    /// Take over a bound, listening socket (made by [`sockets::listener`]) on the current shard.
    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener>;

    /// Accept the next connection with the row's own accept, with TCP_NODELAY set.
    fn accept(l: &Self::Listener) -> impl Future<Output = std::io::Result<Self::Conn>>;

    /// What the row puts on the network hot path (sockets, IO adapter, copies), for the fairness notes
    /// of the cells of network workloads.
    fn network_notes() -> Vec<String>;
}
