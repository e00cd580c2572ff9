//! The `threads` row: the classic model. Every spawned task is an OS thread that drives its future with
//! `futures_lite::future::block_on`, so every wait parks the thread until it is woken (blocking semantics),
//! timers are `std::thread::sleep`, and there is no event loop or multiplexing.

use dyno_core::row::{Fairness, Row, RowConfig, RowError, Shard};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The result of a task thread, delivered when the thread ends; re-raises its panic as a panic.
pub struct ThreadTask<T>(Pin<Box<dyn Future<Output = T> + Send>>);

impl<T> Future for ThreadTask<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.0.as_mut().poll(cx)
    }
}

fn thread_task<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ThreadTask<T> {
    let (tx, rx) = async_channel::bounded(1);
    std::thread::Builder::new()
        .name("threads-task".into())
        .spawn(move || {
            let _ = tx.send_blocking(f());
        })
        .expect("cannot start a task thread");
    ThreadTask(Box::pin(async move {
        rx.recv().await.expect("a task thread panicked")
    }))
}

/// `threads`.
pub struct Threads;

impl Row for Threads {
    const ID: &'static str = "threads";
    type Task<T: Send + 'static> = ThreadTask<T>;

    fn fairness(cfg: &RowConfig) -> Fairness {
        Fairness {
            cores: cfg.cores.clone(),
            client_cores: vec![],
            workers: cfg.workers(),
            io: "blocking".into(),
            model: "thread per task (blocking)".into(),
            pinned: false,
            notes: vec![
                "one OS thread per task (workers = assigned cores is only the core count; threads are unbounded)".into(),
                "each thread drives its task with futures_lite::block_on: every wait parks the thread".into(),
            ],
        }
    }

    fn run<F, Fut>(_cfg: &RowConfig, body: F) -> Result<Vec<Fut::Output>, RowError>
    where
        F: Fn(Shard) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        Ok(vec![futures_lite::future::block_on(body(Shard {
            index: 0,
            count: 1,
        }))])
    }

    fn spawn<F>(fut: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        thread_task(move || futures_lite::future::block_on(fut))
    }

    fn spawn_blocking<F, T>(f: F) -> Self::Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        thread_task(f)
    }

    async fn sleep(d: Duration) {
        std::thread::sleep(d)
    }

    async fn yield_now() {
        std::thread::yield_now()
    }

    type Listener = std::net::TcpListener;
    type Conn = BlockingIo;

    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener> {
        l.set_nonblocking(false)?;
        Ok(l)
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<Self::Conn> {
        let (s, _) = l.accept()?;
        s.set_nodelay(true)?;
        Ok(BlockingIo(s))
    }
}

/// A blocking std stream behind hyper's IO traits: every read and write blocks the connection's thread,
/// so hyper runs as a thread-per-connection blocking server.
pub struct BlockingIo(std::net::TcpStream);

impl hyper::rt::Read for BlockingIo {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let slice = dyno_core::net::initialised(&mut buf);
        let n = std::io::Read::read(&mut &self.0, slice)?;
        dyno_core::net::advance(&mut buf, n);
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for BlockingIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(std::io::Write::write(&mut &self.0, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.0.shutdown(std::net::Shutdown::Write))
    }
}
