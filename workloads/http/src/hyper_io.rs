//! A row's connection ([`dyno_net::Conn`]) behind hyper's IO traits: the one place the http workload
//! adapts the rows' byte streams to its HTTP library, one call each way and no copy.

use dyno_net::Conn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// `C` as hyper reads and writes it.
pub struct HyperIo<C>(pub C);

impl<C: Conn> hyper::rt::Read for HyperIo<C> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: a `Conn` only writes initialised bytes into the front of the slice and returns how
        // many, which is what `advance` is then told.
        let n = match Pin::new(&mut self.0).poll_read(cx, unsafe { buf.as_mut() }) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        // SAFETY: as above: `n` bytes at the front were filled.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<C: Conn> hyper::rt::Write for HyperIo<C> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
}
