//! The `async-std` row: async-std's global executor (async-global-executor over async-io/epoll), its
//! `task::spawn`, timers and blocking pool. async-std was discontinued upstream in 2025; the row stays for
//! comparison and the book says so.

use dyno_core::row::{Fairness, Row, RowConfig, RowError, Shard};
use dyno_net::{FuturesIo, NetRow};
use std::future::Future;
use std::time::Duration;

/// `async-std`.
pub struct AsyncStd;

/// Environment variable async-std reads, once, for its worker count.
const THREADS_VAR: &str = "ASYNC_STD_THREAD_COUNT";

impl Row for AsyncStd {
    const ID: &'static str = "async-std";
    const ASYNC_LOCKS: &'static str = "async_std::sync::{Mutex, RwLock}: async-lock's, re-exported (contention: primitive=async-mutex, async-rwlock)";
    const BLOCKING_POOL: &'static str = "async-std's `spawn_blocking`: the process-wide `blocking` crate pool (threads made on demand, up to 500, floating over the row's cores)";
    type Task<T: Send + 'static> = async_std::task::JoinHandle<T>;
    type Executor = AsyncStdExecutor;

    fn executor() -> Result<AsyncStdExecutor, RowError> {
        Ok(AsyncStdExecutor)
    }

    fn fairness(cfg: &RowConfig) -> Fairness {
        Fairness {
            cores: cfg.cores.clone(),
            client_cores: vec![],
            client_host: None,
            workers: cfg.workers(),
            io: "epoll".into(),
            model: "work-stealing (global executor)".into(),
            pinned: false,
            notes: vec![
                "async-std is discontinued upstream (2025): kept for comparison".into(),
                format!("{} global executor threads (ASYNC_STD_THREAD_COUNT) float over the assigned cores", cfg.workers()),
                "async-io runs its reactor on a thread of its own when no executor thread drives it".into(),
            ],
        }
    }

    fn run<F, Fut>(cfg: &RowConfig, body: F) -> Result<Vec<Fut::Output>, RowError>
    where
        F: Fn(Shard) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let want = cfg.workers().to_string();
        match std::env::var(THREADS_VAR) {
            // SAFETY: set before async-std's runtime starts, while only this thread runs dyno code.
            Err(_) => unsafe { std::env::set_var(THREADS_VAR, &want) },
            Ok(v) if v == want => {}
            Ok(v) => {
                return Err(RowError::Start {
                    row: Self::ID,
                    reason: format!(
                        "{THREADS_VAR}={v} is already set; this cell needs {want} workers"
                    ),
                });
            }
        }
        Ok(vec![async_std::task::block_on(body(Shard {
            index: 0,
            count: 1,
        }))])
    }

    fn spawn<F>(fut: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        async_std::task::spawn(fut)
    }

    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Dropping an async-std JoinHandle detaches the task.
        drop(async_std::task::spawn(fut));
    }

    fn spawn_blocking<F, T>(f: F) -> Self::Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        async_std::task::spawn_blocking(f)
    }

    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        async_std::task::sleep(d)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        async_std::task::yield_now()
    }
}

impl NetRow for AsyncStd {
    type Listener = async_std::net::TcpListener;
    type Conn = FuturesIo<async_std::net::TcpStream>;

    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener> {
        Ok(async_std::net::TcpListener::from(l))
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<Self::Conn> {
        let (s, _) = l.accept().await?;
        s.set_nodelay(true)?;
        Ok(FuturesIo(s))
    }

    fn network_notes() -> Vec<String> {
        vec!["hyper through dyno's FuturesIo adapter over futures-io sockets (zeroes each read buffer: futures-io reads into initialised memory)".into()]
    }
}

/// `async_std::task::block_on` on the calling thread.
pub struct AsyncStdExecutor;

impl dyno_core::row::BlockOn for AsyncStdExecutor {
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        async_std::task::block_on(fut)
    }
}
