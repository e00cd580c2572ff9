//! The `threads` row: the classic model. Every spawned task is an OS thread that drives its future with
//! `futures_lite::future::block_on`, so every wait parks the thread until it is woken (blocking semantics),
//! timers are `std::thread::sleep`, and there is no event loop or multiplexing.

pub mod pool;

use dyno_core::row::{Fairness, Row, RowConfig, RowError, Shard};
use dyno_net::NetRow;
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

/// `f` on the row's cached pool ([`pool`]); a panic in `f` reaches the awaiting task.
fn pooled_task<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ThreadTask<T> {
    let (tx, rx) = async_channel::bounded(1);
    pool::execute(move || {
        // The pooled thread outlives a panicking job: the panic is carried to the awaiting task.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send_blocking(r);
    });
    ThreadTask(Box::pin(async move {
        match rx.recv().await.expect("the pool ran the job") {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }))
}

/// `threads`.
pub struct Threads;

impl Row for Threads {
    const ID: &'static str = "threads";
    const ASYNC_LOCKS: &'static str =
        "none: blocking threads take std's Mutex and RwLock (contention: primitive=mutex, rwlock)";
    const BLOCKING_POOL: &'static str = "a cached thread pool (an idle pooled thread takes the job, else a new one starts; idle threads end after 10 s), floating over the row's cores";
    type Task<T: Send + 'static> = ThreadTask<T>;
    type Executor = ThreadsExecutor;

    fn executor() -> Result<ThreadsExecutor, RowError> {
        Ok(ThreadsExecutor)
    }

    fn fairness(cfg: &RowConfig) -> Fairness {
        Fairness {
            cores: cfg.cores.clone(),
            client_cores: vec![],
            client_host: None,
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

    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // The thread runs on when its handle is dropped.
        drop(Self::spawn(fut));
    }

    fn spawn_blocking<F, T>(f: F) -> Self::Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        pooled_task(f)
    }

    async fn sleep(d: Duration) {
        std::thread::sleep(d)
    }

    async fn yield_now() {
        std::thread::yield_now()
    }
}

impl NetRow for Threads {
    type Listener = std::net::TcpListener;
    type Conn = BlockingIo;

    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener> {
        l.set_nonblocking(false)?;
        Ok(l)
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<Self::Conn> {
        let (s, _) = l.accept()?;
        s.set_nodelay(true)?;
        Ok(BlockingIo::new(s))
    }

    fn network_notes() -> Vec<String> {
        vec!["blocking std sockets, a thread per connection running hyper over blocking reads and writes (one non-blocking read while a response is owed, so hyper cannot deadlock)".into()]
    }
}

/// A blocking std stream as a [`dyno_net::Conn`], so hyper runs as a thread-per-connection blocking server:
/// reads and writes block the connection's thread. One exception keeps hyper from deadlocking: between
/// reading a request and flushing its response, hyper also polls the socket for an early close; that
/// read must not block (the response is not written yet), so it is a non-blocking `recv(MSG_DONTWAIT)`
/// that returns `Pending` and asks to be polled again at once when no byte is there.
pub struct BlockingIo {
    stream: std::net::TcpStream,
    /// Bytes were read and no flush has followed: a response may still be owed.
    owe_response: bool,
}

impl BlockingIo {
    fn new(stream: std::net::TcpStream) -> Self {
        BlockingIo {
            stream,
            owe_response: false,
        }
    }
}

impl dyno_net::Conn for BlockingIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<std::io::Result<usize>> {
        let slice = dyno_net::sockets::initialised(buf);
        let n = if self.owe_response {
            use std::os::fd::AsRawFd;
            // SAFETY: recv writes at most slice.len() bytes into the slice we own.
            let r = unsafe {
                libc::recv(
                    self.stream.as_raw_fd(),
                    slice.as_mut_ptr().cast(),
                    slice.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if r < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::WouldBlock {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                return Poll::Ready(Err(e));
            }
            r as usize
        } else {
            std::io::Read::read(&mut &self.stream, slice)?
        };
        if n > 0 {
            self.owe_response = true;
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(std::io::Write::write(&mut &self.stream, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.owe_response = false;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.stream.shutdown(std::net::Shutdown::Write))
    }
}

/// `futures_lite::future::block_on`: the calling thread parks until the future is ready.
pub struct ThreadsExecutor;

impl dyno_core::row::BlockOn for ThreadsExecutor {
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        futures_lite::future::block_on(fut)
    }
}
