//! The `smol` row: one `async_executor::Executor` run by one thread per assigned core (work-sharing),
//! async-io timers and reactor, and the `blocking` crate's pool for blocking work.

use async_executor::Executor;
use dyno_core::row::{Fairness, Row, RowConfig, RowError, Shard, panic_message};
use dyno_net::{FuturesIo, NetRow};
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

thread_local! {
    /// The executor of the row running on this thread.
    static EXECUTOR: RefCell<Option<Arc<Executor<'static>>>> = const { RefCell::new(None) };
}

fn enter(ex: &Arc<Executor<'static>>) {
    EXECUTOR.with(|e| *e.borrow_mut() = Some(ex.clone()));
}

fn leave() {
    EXECUTOR.with(|e| *e.borrow_mut() = None);
}

/// `smol`.
pub struct Smol;

impl Row for Smol {
    const ID: &'static str = "smol";
    const ASYNC_LOCKS: &'static str = "smol::lock::{Mutex, RwLock}: async-lock's, re-exported (contention: primitive=async-mutex, async-rwlock)";
    const BLOCKING_POOL: &'static str = "`blocking::unblock`: the process-wide `blocking` crate pool (threads made on demand, up to 500, floating over the row's cores)";
    type Task<T: Send + 'static> = async_executor::Task<T>;
    type Executor = SmolExecutor;

    fn executor() -> Result<SmolExecutor, RowError> {
        Ok(SmolExecutor(Executor::new()))
    }

    fn fairness(cfg: &RowConfig) -> Fairness {
        Fairness {
            cores: cfg.cores.clone(),
            client_cores: vec![],
            client_host: None,
            workers: cfg.workers(),
            io: "epoll".into(),
            model: "work-sharing (one async-executor, N threads)".into(),
            pinned: false,
            notes: vec![format!(
                "{} threads run one async_executor::Executor and float over the assigned cores; async-io reactor",
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
        let ex = Arc::new(Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let helpers: Vec<_> = (1..cfg.workers())
            .map(|i| {
                let ex = ex.clone();
                let stopped = stopped.clone();
                std::thread::Builder::new()
                    .name(format!("smol-{i}"))
                    .spawn(move || {
                        enter(&ex);
                        let _ = async_io::block_on(ex.run(stopped.recv()));
                        leave();
                    })
                    .map_err(|e| RowError::Start {
                        row: Self::ID,
                        reason: format!("cannot start a worker: {e}"),
                    })
            })
            .collect::<Result<_, _>>()?;
        enter(&ex);
        let out = async_io::block_on(ex.run(body(Shard { index: 0, count: 1 })));
        leave();
        drop(stop);
        for (i, h) in helpers.into_iter().enumerate() {
            h.join().map_err(|p| RowError::ShardPanicked {
                row: Self::ID,
                shard: i + 1,
                message: panic_message(&*p),
            })?;
        }
        Ok(vec![out])
    }

    fn spawn<F>(fut: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        EXECUTOR.with(|e| {
            e.borrow()
                .as_ref()
                .expect("Smol::spawn called outside a smol row")
                .spawn(fut)
        })
    }

    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Self::spawn(fut).detach();
    }

    fn spawn_blocking<F, T>(f: F) -> Self::Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        blocking::unblock(f)
    }

    async fn sleep(d: Duration) {
        async_io::Timer::after(d).await;
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
}

impl NetRow for Smol {
    type Listener = async_io::Async<std::net::TcpListener>;
    type Conn = FuturesIo<async_io::Async<std::net::TcpStream>>;

    fn listen(l: std::net::TcpListener) -> std::io::Result<Self::Listener> {
        async_io::Async::new(l)
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<Self::Conn> {
        let (s, _) = l.accept().await?;
        s.get_ref().set_nodelay(true)?;
        Ok(FuturesIo(s))
    }

    fn network_notes() -> Vec<String> {
        vec!["hyper through dyno's FuturesIo adapter over futures-io sockets (zeroes each read buffer: futures-io reads into initialised memory)".into()]
    }
}

/// An async-executor `Executor` driven by `async_io::block_on` (the reactor) on the calling thread.
pub struct SmolExecutor(Executor<'static>);

impl dyno_core::row::BlockOn for SmolExecutor {
    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        async_io::block_on(self.0.run(fut))
    }
}
