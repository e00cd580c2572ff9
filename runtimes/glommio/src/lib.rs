//! The `glommio` row: thread per core on io_uring. One `LocalExecutor` per assigned core, each pinned
//! (`Placement::Fixed`), tasks spawned with `glommio::spawn_local` and timers from `glommio::timer`.
//! glommio's task handles and timers are thread-bound (`!Send`); the row wraps them in `SendWrapper`, a
//! checked wrapper that panics if they ever leave their thread (they cannot: glommio never moves tasks).

use dyno_core::row::{Fairness, Row, RowConfig, RowError, Shard, run_pinned_shards};
use dyno_net::{FuturesIo, NetRow};
use send_wrapper::SendWrapper;
use std::future::Future;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A thread-bound future made `Send` by a checked wrapper.
pub struct Bound<T>(SendWrapper<Pin<Box<dyn Future<Output = T>>>>);

impl<T> Bound<T> {
    fn new(f: impl Future<Output = T> + 'static) -> Self {
        Bound(SendWrapper::new(Box::pin(f)))
    }
}

impl<T> Future for Bound<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.0.as_mut().poll(cx)
    }
}

/// A glommio stream (thread-bound) made `Send` by the same checked wrapper as tasks.
pub struct BoundStream(SendWrapper<glommio::net::TcpStream>);

impl futures_io::AsyncRead for BoundStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for BoundStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_close(cx)
    }
}

/// `glommio`.
pub struct Glommio;

impl Row for Glommio {
    const ID: &'static str = "glommio";
    const ASYNC_LOCKS: &'static str = "none its shards can share: glommio::sync's RwLock and Semaphore belong to one executor (RefCell inside: not Sync); async-lock's and tokio::sync's stand in (contention: primitive=async-*, tokio-*)";
    const BLOCKING_POOL: &'static str = "glommio's per-executor blocking pool: one thread per shard, bound to the shard's own core (glommio's default for Placement::Fixed)";
    type Task<T: Send + 'static> = Bound<T>;
    type Executor = GlommioExecutor;

    fn executor() -> Result<GlommioExecutor, RowError> {
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .make()
            .map(GlommioExecutor)
            .map_err(|e| RowError::Start {
                row: Self::ID,
                reason: format!("cannot start a glommio executor ({e})"),
            })
    }

    fn fairness(cfg: &RowConfig) -> Fairness {
        Fairness {
            cores: cfg.cores.clone(),
            client_cores: vec![],
            client_host: None,
            workers: cfg.workers(),
            io: "io_uring".into(),
            model: "thread per core (LocalExecutor per core)".into(),
            pinned: true,
            notes: vec![
                "one LocalExecutor per core, Placement::Fixed (pinned); tasks never migrate".into(),
                "task handles and timers are !Send: wrapped in send_wrapper::SendWrapper (a thread check and a box per spawn/sleep)".into(),
                "LocalExecutorBuilder defaults: one task queue, glommio's 100 ms preempt timer; while tasks stay runnable (they yield and are ready again), a timer is served only when that timer expires (measured: a 1 ms sleep woke ~99 ms late beside CPU-bound tasks)".into(),
            ],
        }
    }

    fn run<F, Fut>(cfg: &RowConfig, body: F) -> Result<Vec<Fut::Output>, RowError>
    where
        F: Fn(Shard) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        run_pinned_shards(Self::ID, &cfg.cores, move |shard, core| {
            let ex = glommio::LocalExecutorBuilder::new(glommio::Placement::Fixed(core))
                .name(&format!("glommio-{}", shard.index))
                .make()
                .map_err(|e| RowError::Start {
                    row: Self::ID,
                    reason: format!(
                        "cannot start a glommio executor on core {core} ({e}); glommio needs io_uring \
                         (Linux >= 5.8) and enough locked memory (ulimit -l)"
                    ),
                })?;
            Ok(ex.run(body(shard)))
        })
    }

    fn spawn<F>(fut: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Bound::new(glommio::spawn_local(fut))
    }

    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        glommio::spawn_local(fut).detach();
    }

    fn spawn_blocking<F, T>(f: F) -> Self::Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Bound::new(glommio::executor().spawn_blocking(f))
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        Bound::new(glommio::timer::sleep(d))
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        Bound::new(async { glommio::executor().yield_now().await })
    }
}

impl NetRow for Glommio {
    type Listener = glommio::net::TcpListener;
    type Conn = FuturesIo<BoundStream>;

    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener> {
        // SAFETY: the fd is a bound, listening TCP socket we own; glommio takes ownership of it.
        Ok(unsafe { glommio::net::TcpListener::from_raw_fd(l.into_raw_fd()) })
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<Self::Conn> {
        let s = l.accept().await.map_err(std::io::Error::from)?;
        s.set_nodelay(true).map_err(std::io::Error::from)?;
        Ok(FuturesIo(BoundStream(SendWrapper::new(s))))
    }

    fn network_notes() -> Vec<String> {
        vec!["glommio's io_uring TcpStream in SendWrapper, hyper through dyno's FuturesIo adapter (zeroes each read buffer); one SO_REUSEPORT listener per core".into()]
    }
}

/// A glommio `LocalExecutor` on the calling thread, running one future to completion.
pub struct GlommioExecutor(glommio::LocalExecutor);

impl dyno_core::row::BlockOn for GlommioExecutor {
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.0.run(fut)
    }
}
