//! dyno-net: the network facet of a runtime row, for the workloads that serve or dial TCP.
//!
//! [`dyno_core::Row`] is an executor (run, spawn, timers). A row that also has sockets implements
//! [`NetRow`]: it takes over a listening socket built here ([`sockets::listener`], so every row gets the
//! same SO_REUSEPORT options and backlog), accepts with its own runtime's accept, and hands hyper its own
//! stream behind hyper's IO traits. Only network workloads depend on this crate; what a row does on the
//! network ([`NetRow::network_notes`]) appears in the fairness block of their cells only.

pub mod sockets;

pub use sockets::{BACKLOG, FuturesIo, listener, reserve, reserve_port};

use dyno_core::Row;
use std::future::Future;

/// A row's sockets: the network facet beside the executor facet [`Row`].
pub trait NetRow: Row {
    /// A listening socket owned by one shard, in the row's own runtime.
    type Listener: 'static;

    /// An accepted connection as hyper drives it: the row's own stream behind hyper's IO traits. `Send`
    /// so connection tasks go through [`Row::spawn`] (thread-bound streams are wrapped, as for tasks).
    type Conn: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static;

    /// Take over a bound, listening socket (made by [`sockets::listener`]) on the current shard.
    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener>;

    /// Accept the next connection with the row's own accept, with TCP_NODELAY set.
    fn accept(l: &Self::Listener) -> impl Future<Output = std::io::Result<Self::Conn>>;

    /// What the row puts on the network hot path (sockets, IO adapter, copies), for the fairness notes
    /// of the cells of network workloads.
    fn network_notes() -> Vec<String>;
}
