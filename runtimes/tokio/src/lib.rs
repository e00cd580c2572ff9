//! The tokio rows: `tokio` (one multi-thread, work-stealing runtime with a worker per assigned core) and
//! `tokio-tpc` (thread per core: one pinned `current_thread` runtime per core). Both spawn with
//! `tokio::spawn`, sleep with `tokio::time`, use tokio's blocking pool, and serve with `tokio::net` sockets
//! behind [`TokioConn`]. Each runtime offers its workers' park count to the cell
//! through `dyno_core::runtime_metrics`.

use dyno_core::row::{Fairness, Row, RowConfig, RowError, Shard, run_pinned_shards};
use dyno_net::NetRow;
use std::future::Future;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// A tokio task handle that yields the task's output and re-raises its panic.
pub struct TokioTask<T>(tokio::task::JoinHandle<T>);

impl<T> Future for TokioTask<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(v)) => Poll::Ready(v),
            Poll::Ready(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Poll::Ready(Err(e)) => panic!("tokio task did not finish: {e}"),
        }
    }
}

/// Offer the runtime's own counters to the cell (read at the window's edges): how often its workers
/// ran out of work and parked (`tokio_parks_per_s`). tokio counts a park as it happens, so the count is
/// exact. Its busy-time counter is left out: tokio adds a worker's busy time only when the worker parks,
/// so a saturated worker (never parking) read as 0 busy over the whole window.
fn register_metrics(handle: tokio::runtime::Handle) {
    dyno_core::runtime_metrics::register(Box::new(move |out| {
        let m = handle.metrics();
        let parks: u64 = (0..m.num_workers()).map(|w| m.worker_park_count(w)).sum();
        *out.entry("tokio_parks_per_s".into()).or_default() += parks as f64;
    }));
}

fn start_error(row: &'static str, e: std::io::Error) -> RowError {
    RowError::Start {
        row,
        reason: format!("cannot build the tokio runtime: {e}"),
    }
}

macro_rules! tokio_common {
    () => {
        type Task<T: Send + 'static> = TokioTask<T>;

        fn spawn<F>(fut: F) -> TokioTask<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            TokioTask(tokio::spawn(fut))
        }

        fn spawn_detached<F>(fut: F)
        where
            F: Future<Output = ()> + Send + 'static,
        {
            drop(tokio::spawn(fut));
        }

        fn spawn_blocking<F, T>(f: F) -> TokioTask<T>
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send + 'static,
        {
            TokioTask(tokio::task::spawn_blocking(f))
        }

        fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
            tokio::time::sleep(d)
        }

        fn yield_now() -> impl Future<Output = ()> + Send {
            tokio::task::yield_now()
        }
    };
}

/// The network facet of both tokio rows.
macro_rules! tokio_net {
    () => {
        type Listener = tokio::net::TcpListener;
        type Conn = TokioConn;

        fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener> {
            l.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(l)
        }

        async fn accept(l: &Self::Listener) -> std::io::Result<Self::Conn> {
            let (s, _) = l.accept().await?;
            s.set_nodelay(true)?;
            Ok(TokioConn(s))
        }
    };
}

/// How the tokio rows serve the network.
const NET_NOTE: &str = "tokio::net sockets read through tokio's ReadBuf into uninitialised memory (no copy, no memset)";

/// A tokio stream as a [`dyno_net::Conn`]: reads fill uninitialised memory through tokio's `ReadBuf`,
/// as hyper-util's `TokioIo` does.
pub struct TokioConn(tokio::net::TcpStream);

impl dyno_net::Conn for TokioConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<std::io::Result<usize>> {
        let mut rb = tokio::io::ReadBuf::uninit(buf);
        match Pin::new(&mut self.0).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// `tokio`: the multi-thread, work-stealing runtime.
pub struct Tokio;

impl Row for Tokio {
    const ID: &'static str = "tokio";
    const ASYNC_LOCKS: &'static str =
        "tokio::sync::{Mutex, RwLock} (contention: primitive=tokio-mutex, tokio-rwlock)";
    const BLOCKING_POOL: &'static str =
        "tokio's blocking pool: threads made on demand (up to 512), floating over the row's cores";
    tokio_common!();
    type Executor = TokioExecutor;

    fn executor() -> Result<TokioExecutor, RowError> {
        tokio::runtime::Builder::new_multi_thread()
            .enable_time()
            .build()
            .map(TokioExecutor)
            .map_err(|e| start_error(Self::ID, e))
    }

    fn fairness(cfg: &RowConfig) -> Fairness {
        Fairness {
            cores: cfg.cores.clone(),
            client_cores: vec![],
            client_host: None,
            workers: cfg.workers(),
            io: "epoll".into(),
            model: "work-stealing (multi-thread runtime)".into(),
            pinned: false,
            notes: vec![format!(
                "{} worker threads float over the assigned cores (process affinity); blocking pool on demand",
                cfg.workers()
            )],
        }
    }

    fn run<F, Fut>(cfg: &RowConfig, body: F) -> Result<Vec<Fut::Output>, RowError>
    where
        F: Fn(Shard) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.workers())
            .enable_all()
            .build()
            .map_err(|e| start_error(Self::ID, e))?;
        register_metrics(rt.handle().clone());
        let out = rt.block_on(body(Shard { index: 0, count: 1 }));
        rt.shutdown_timeout(Duration::from_secs(1));
        Ok(vec![out])
    }
}

impl NetRow for Tokio {
    tokio_net!();

    fn network_notes() -> Vec<String> {
        vec![NET_NOTE.into()]
    }
}

/// `tokio-tpc`: thread per core, one pinned current-thread runtime per core.
pub struct TokioTpc;

impl Row for TokioTpc {
    const ID: &'static str = "tokio-tpc";
    const ASYNC_LOCKS: &'static str = "tokio::sync::{Mutex, RwLock}, shared across the shards' runtimes (contention: primitive=tokio-mutex, tokio-rwlock)";
    const BLOCKING_POOL: &'static str = "each shard's runtime has its own tokio blocking pool; its threads are started by the shard's pinned thread and inherit its core (Linux affinity inheritance), so offloaded work shares the shard's core";
    tokio_common!();
    type Executor = TokioExecutor;

    fn executor() -> Result<TokioExecutor, RowError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map(TokioExecutor)
            .map_err(|e| start_error(Self::ID, e))
    }

    fn fairness(cfg: &RowConfig) -> Fairness {
        Fairness {
            cores: cfg.cores.clone(),
            client_cores: vec![],
            client_host: None,
            workers: cfg.workers(),
            io: "epoll".into(),
            model: "thread per core (current-thread runtime per core)".into(),
            pinned: true,
            notes: vec![
                "one current_thread runtime per core, each thread pinned; tasks never migrate"
                    .into(),
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
            dyno_core::os::pin_thread(core).map_err(|e| RowError::Start {
                row: Self::ID,
                reason: e.to_string(),
            })?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| start_error(Self::ID, e))?;
            register_metrics(rt.handle().clone());
            let out = rt.block_on(body(shard));
            rt.shutdown_timeout(Duration::from_secs(1));
            Ok(out)
        })
    }
}

impl NetRow for TokioTpc {
    tokio_net!();

    fn network_notes() -> Vec<String> {
        vec![
            NET_NOTE.into(),
            "one SO_REUSEPORT listener per core; the kernel spreads connections".into(),
        ]
    }
}

/// A tokio runtime (multi-thread for `tokio`, current-thread for `tokio-tpc`) blocking on a future.
pub struct TokioExecutor(tokio::runtime::Runtime);

impl dyno_core::row::BlockOn for TokioExecutor {
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.0.block_on(fut)
    }
}
