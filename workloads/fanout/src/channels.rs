//! The channels fan-out compares, behind two small traits: [`QueueKind`] (multi-consumer work queue, each
//! message to one consumer) and [`BroadcastKind`] (every consumer gets every message). Each impl calls the
//! channel's own async API; nothing is added on the hot path.

use crate::Msg;
use std::future::Future;

/// The sending side shared by both shapes.
pub trait SendKind: 'static {
    type Tx: Send + Sync + 'static;
    /// Whether `send` waits for space (backpressure); if not, the producer yields after each send.
    const SEND_WAITS: bool;
    /// Send; `Err` when every receiver is gone.
    fn send(tx: &Self::Tx, m: Msg) -> impl Future<Output = Result<(), ()>> + Send;
}

/// A bounded multi-producer multi-consumer queue.
pub trait QueueKind: SendKind {
    type Rx: Clone + Send + Sync + 'static;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    /// Next message; `None` once the queue is closed and empty.
    fn recv(rx: &Self::Rx) -> impl Future<Output = Option<Msg>> + Send;
}

/// What a broadcast receiver gets.
pub enum Recv {
    Msg(Msg),
    /// The receiver fell behind and the channel dropped this many messages for it.
    Lagged(u64),
    Closed,
}

/// A bounded broadcast channel.
pub trait BroadcastKind: SendKind {
    type Rx: Send + 'static;
    /// A channel with `receivers` subscribed receivers.
    fn channel(cap: usize, receivers: usize) -> (Self::Tx, Vec<Self::Rx>);
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Recv> + Send;
}

/// `async-channel` (smol ecosystem).
pub struct AsyncChannel;

impl SendKind for AsyncChannel {
    type Tx = async_channel::Sender<Msg>;
    const SEND_WAITS: bool = true;
    async fn send(tx: &Self::Tx, m: Msg) -> Result<(), ()> {
        tx.send(m).await.map_err(drop)
    }
}

impl QueueKind for AsyncChannel {
    type Rx = async_channel::Receiver<Msg>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(cap)
    }
    async fn recv(rx: &Self::Rx) -> Option<Msg> {
        rx.recv().await.ok()
    }
}

/// `flume`.
pub struct Flume;

impl SendKind for Flume {
    type Tx = flume::Sender<Msg>;
    const SEND_WAITS: bool = true;
    async fn send(tx: &Self::Tx, m: Msg) -> Result<(), ()> {
        tx.send_async(m).await.map_err(drop)
    }
}

impl QueueKind for Flume {
    type Rx = flume::Receiver<Msg>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(cap)
    }
    async fn recv(rx: &Self::Rx) -> Option<Msg> {
        rx.recv_async().await.ok()
    }
}

/// `kanal`.
pub struct Kanal;

impl SendKind for Kanal {
    type Tx = kanal::AsyncSender<Msg>;
    const SEND_WAITS: bool = true;
    async fn send(tx: &Self::Tx, m: Msg) -> Result<(), ()> {
        tx.send(m).await.map_err(drop)
    }
}

impl QueueKind for Kanal {
    type Rx = kanal::AsyncReceiver<Msg>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        kanal::bounded_async(cap)
    }
    async fn recv(rx: &Self::Rx) -> Option<Msg> {
        rx.recv().await.ok()
    }
}

/// `tokio::sync::broadcast`: no backpressure; a slow receiver lags and is told how many it lost.
pub struct TokioBroadcast;

impl SendKind for TokioBroadcast {
    type Tx = tokio::sync::broadcast::Sender<Msg>;
    const SEND_WAITS: bool = false;
    async fn send(tx: &Self::Tx, m: Msg) -> Result<(), ()> {
        tx.send(m).map(drop).map_err(drop)
    }
}

impl BroadcastKind for TokioBroadcast {
    type Rx = tokio::sync::broadcast::Receiver<Msg>;
    fn channel(cap: usize, receivers: usize) -> (Self::Tx, Vec<Self::Rx>) {
        let (tx, first) = tokio::sync::broadcast::channel(cap);
        let mut rxs: Vec<_> = (1..receivers).map(|_| tx.subscribe()).collect();
        rxs.insert(0, first);
        (tx, rxs)
    }
    async fn recv(rx: &mut Self::Rx) -> Recv {
        use tokio::sync::broadcast::error::RecvError;
        match rx.recv().await {
            Ok(m) => Recv::Msg(m),
            Err(RecvError::Lagged(n)) => Recv::Lagged(n),
            Err(RecvError::Closed) => Recv::Closed,
        }
    }
}

/// `async-broadcast`: the sender waits while the slowest receiver is `cap` messages behind.
pub struct AsyncBroadcast;

impl SendKind for AsyncBroadcast {
    type Tx = async_broadcast::Sender<Msg>;
    const SEND_WAITS: bool = true;
    async fn send(tx: &Self::Tx, m: Msg) -> Result<(), ()> {
        tx.broadcast_direct(m).await.map(drop).map_err(drop)
    }
}

impl BroadcastKind for AsyncBroadcast {
    type Rx = async_broadcast::Receiver<Msg>;
    fn channel(cap: usize, receivers: usize) -> (Self::Tx, Vec<Self::Rx>) {
        let (tx, first) = async_broadcast::broadcast(cap);
        let mut rxs: Vec<_> = (1..receivers).map(|_| first.clone()).collect();
        rxs.insert(0, first);
        (tx, rxs)
    }
    async fn recv(rx: &mut Self::Rx) -> Recv {
        use async_broadcast::RecvError;
        match rx.recv_direct().await {
            Ok(m) => Recv::Msg(m),
            Err(RecvError::Overflowed(n)) => Recv::Lagged(n),
            Err(RecvError::Closed) => Recv::Closed,
        }
    }
}
