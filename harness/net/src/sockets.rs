//! Sockets shared by the rows' network facets: SO_REUSEPORT listeners and the futures-io adapter to `Conn`.
//!
//! Every row serves TCP through its own runtime's sockets ([`crate::NetRow::listen`], [`crate::NetRow::accept`]);
//! this module holds the parts that do not depend on a runtime: building the listening socket (so every
//! row gets the same options: SO_REUSEPORT, the same backlog) and [`FuturesIo`], the thin adapter from a
//! `futures-io` stream (smol, async-std, glommio) to [`crate::Conn`].

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Listen backlog asked for; the kernel clamps it to `net.core.somaxconn`.
pub const BACKLOG: i32 = 65_535;

fn socket(addr: SocketAddr) -> io::Result<socket2::Socket> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    Ok(s)
}

/// A listening socket on `addr` with SO_REUSEPORT, so each shard of a thread-per-core row can bind the same
/// address and the kernel spreads connections over them. Blocking mode; rows switch it as they need.
pub fn listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let s = socket(addr)?;
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    Ok(s.into())
}

/// Reserve a free port on `ip` for shards to bind with [`listener`]: a bound, non-listening SO_REUSEPORT
/// socket (it receives no connections). Keep it until every shard has bound, then drop it.
pub fn reserve_port(ip: std::net::IpAddr) -> io::Result<(socket2::Socket, SocketAddr)> {
    reserve(SocketAddr::new(ip, 0))
}

/// [`reserve_port`] at a given address (port 0: any free one). A port another socket holds is an error
/// here even where SO_REUSEPORT would let both bind (and split the connections): a plain bind is tried
/// first.
pub fn reserve(addr: SocketAddr) -> io::Result<(socket2::Socket, SocketAddr)> {
    if addr.port() != 0 {
        drop(std::net::TcpListener::bind(addr)?);
    }
    let s = socket(addr)?;
    s.bind(&addr.into())?;
    let bound = s
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("bound address is not an IP address"))?;
    Ok((s, bound))
}

/// Zero a read buffer and return it as bytes. futures-io (and std) read into initialised memory, so
/// adapters over them pay a memset per read that tokio's `ReadBuf` avoids; the rows that use it say so
/// in their network notes.
pub fn initialised(buf: &mut [MaybeUninit<u8>]) -> &mut [u8] {
    for b in buf.iter_mut() {
        b.write(0);
    }
    // SAFETY: every byte was just written, and `MaybeUninit<u8>` has the layout of `u8`.
    unsafe { &mut *(buf as *mut [MaybeUninit<u8>] as *mut [u8]) }
}

/// A `futures-io` stream as a [`crate::Conn`].
pub struct FuturesIo<T>(pub T);

impl<T> crate::Conn for FuturesIo<T>
where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
{
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, initialised(buf))
    }

    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_can_bind_a_reserved_port_twice() {
        let (_reserved, addr) = reserve_port([127, 0, 0, 1].into()).unwrap();
        assert_ne!(addr.port(), 0);
        let a = listener(addr).unwrap();
        let b = listener(addr).unwrap();
        assert_eq!(a.local_addr().unwrap(), b.local_addr().unwrap());
        // Connections reach one of the two listeners.
        let _c = std::net::TcpStream::connect(addr).unwrap();
    }
}
