//! The registry of runtime rows and the cell entry point shared by every workload binary.
//!
//! - [`for_each_row!`] is the registry: the one list of rows. [`ROWS`], [`visit_row`], [`visit_net_row`]
//!   and [`row_matrix_test!`] all expand from it, so adding a row is its crate plus one line there.
//! - [`cell_main`] (or [`CellBinary`], for a workload with facets beyond [`dyno_core::InProcess`]) is the
//!   whole `main` of a workload's cell binary (`dyno-cell-<workload>`): it describes the workload, plans
//!   its matrix, lists rows, and runs one cell (all its repeats) in this process.
//! - [`foreign`] is the row protocol for processes that are not Rust runtimes (a workload's Go row).

mod cell;
pub mod foreign;
pub mod self_profile;

pub use cell::{Alone, CellBinary, Served, Shape, cell_main, client_server, in_process};
pub use dyno_rt_async_std::AsyncStd;
pub use dyno_rt_glommio::Glommio;
pub use dyno_rt_smol::Smol;
pub use dyno_rt_threads::Threads;
pub use dyno_rt_tokio::{Tokio, TokioTpc};

use dyno_core::metrics::{Question, Side};
use dyno_core::row::RowConfig;
use dyno_core::schema::RowInfo;
use dyno_core::{Row, Workload};
use dyno_net::NetRow;

/// The design questions the rows answer on any workload, for a workload's declared questions: thread
/// per core against work stealing, io_uring against epoll (both thread per core), and an event loop
/// against a blocking thread per task.
pub fn design_questions() -> Vec<Question> {
    design_questions_on(None)
}

/// [`design_questions`] asked of a workload's declared figure (e.g. memory per connection) instead of
/// throughput, with `what` (the figure in words) added to each question.
pub fn design_questions_of(figure: &str, what: &str) -> Vec<Question> {
    design_questions_on(Some((figure, what)))
}

fn design_questions_on(figure: Option<(&str, &str)>) -> Vec<Question> {
    asked(
        figure,
        vec![
            (
                "Thread per core or work stealing (tokio's two flavours)?",
                Side::row(TokioTpc::ID),
                Side::row(Tokio::ID),
            ),
            (
                "Thread per core on io_uring (glommio) or on epoll (tokio-tpc)?",
                Side::row(Glommio::ID),
                Side::row(TokioTpc::ID),
            ),
            (
                "An event loop (tokio) or a blocking thread per task or connection (threads)?",
                Side::row(Tokio::ID),
                Side::row(Threads::ID),
            ),
        ],
    )
}

/// The questions a workload with a Go row ([`foreign::GO_ROW`]) asks: Rust's work-stealing and
/// thread-per-core runtimes against Go, and (of throughput) Rust's best row in each parameter set.
pub fn go_questions() -> Vec<Question> {
    go_questions_on(None)
}

/// [`go_questions`] asked of a declared figure, with `what` (the figure in words) added to each.
pub fn go_questions_of(figure: &str, what: &str) -> Vec<Question> {
    go_questions_on(Some((figure, what)))
}

fn go_questions_on(figure: Option<(&str, &str)>) -> Vec<Question> {
    asked(
        figure,
        vec![
            (
                "Rust work stealing (tokio) or Go?",
                Side::row(Tokio::ID),
                Side::row(foreign::GO_ROW),
            ),
            (
                "Rust thread per core (tokio-tpc) or Go?",
                Side::row(TokioTpc::ID),
                Side::row(foreign::GO_ROW),
            ),
        ],
    )
    .into_iter()
    .chain(figure.is_none().then(|| {
        Question::new(
            "Rust's best row or Go?",
            Side::best_of(ROWS),
            Side::row(foreign::GO_ROW),
        )
    }))
    .collect()
}

/// Questions asked of throughput, or of `figure` (its name, and the figure in words prefixed to each).
fn asked(figure: Option<(&str, &str)>, qs: Vec<(&str, Side, Side)>) -> Vec<Question> {
    qs.into_iter()
        .map(|(q, a, b)| match figure {
            Some((f, what)) => Question::new(&format!("{what}: {q}"), a, b).on(f),
            None => Question::new(q, a, b),
        })
        .collect()
}

/// The registry of rows, in the order the book shows them: calls
/// `$callback! { [args] name => Type [facets], .. }` with every row (a test-function name, its adapter
/// type, and `[net]` when it also implements [`NetRow`]; `[]` for a row that is an executor only). To
/// add a row: write its crate under `runtimes/`, depend on it in this crate's Cargo.toml, re-export its
/// type above and add one line here.
#[macro_export]
macro_rules! for_each_row {
    ($callback:path $(, $arg:tt)*) => {
        $callback! {
            [$($arg)*]
            tokio => $crate::Tokio [net],
            tokio_tpc => $crate::TokioTpc [net],
            async_std => $crate::AsyncStd [net],
            smol => $crate::Smol [net],
            glommio => $crate::Glommio [net],
            threads => $crate::Threads [net],
        }
    };
}

/// `$($t)*` for a row whose facets include `net`, nothing for one without.
#[doc(hidden)]
#[macro_export]
macro_rules! __if_net {
    ([net] $($t:tt)*) => { $($t)* };
    ([] $($t:tt)*) => {};
}

/// The ids of the rows marked `[net]`, as a slice (accumulated: a macro cannot filter a repetition).
macro_rules! net_ids {
    ([$($acc:expr,)*]) => { &[$($acc),*] };
    ([$($acc:expr,)*] $name:ident => $ty:path [net], $($rest:tt)*) => {
        net_ids!([$($acc,)* <$ty as Row>::ID,] $($rest)*)
    };
    ([$($acc:expr,)*] $name:ident => $ty:path [], $($rest:tt)*) => {
        net_ids!([$($acc,)*] $($rest)*)
    };
}

macro_rules! define_registry {
    ([] $($name:ident => $ty:path [$($facet:ident)*],)+) => {
        /// Every row id, in the order the book shows them.
        pub const ROWS: &[&str] = &[$(<$ty as Row>::ID),+];

        /// The ids of the rows with a network facet ([`NetRow`]).
        pub const NET_ROWS: &[&str] = net_ids!([] $($name => $ty [$($facet)*],)+);

        /// Run `v` with the adapter of row `id`; `None` for an unknown id.
        pub fn visit_row<V: RowVisitor>(id: &str, v: V) -> Option<V::Out> {
            $(if id == <$ty as Row>::ID {
                return Some(v.visit::<$ty>());
            })+
            None
        }

        /// Run `v` with the adapter of row `id` as a [`NetRow`]; `None` for an unknown id or a row
        /// without a network facet.
        pub fn visit_net_row<V: NetRowVisitor>(id: &str, v: V) -> Option<V::Out> {
            $($crate::__if_net!([$($facet)*] if id == <$ty as Row>::ID {
                return Some(v.visit::<$ty>());
            });)+
            None
        }
    };
}

for_each_row!(define_registry);

/// Generic code to run with a row's adapter type.
pub trait RowVisitor {
    type Out;
    fn visit<R: Row>(self) -> Self::Out;
}

/// Generic code to run with a row's adapter type and its network facet.
pub trait NetRowVisitor {
    type Out;
    fn visit<R: NetRow>(self) -> Self::Out;
}

/// Re-enter generic network code for the row `R` a workload was instantiated with: a network workload's
/// `run::<R: Row>` calls this to get `R` as a [`NetRow`] (the same type, found in the registry
/// by its id). `Err` names the row when it has no network facet.
pub fn as_net_row<R: Row, V: NetRowVisitor>(v: V) -> Result<V::Out, String> {
    visit_net_row(R::ID, v).ok_or_else(|| format!("row {} has no network facet", R::ID))
}

/// The network notes of row `R`, prefixed `network: `, for a network workload's
/// `Workload::fairness_notes`.
pub fn network_notes<R: Row>() -> Vec<String> {
    struct Notes;
    impl NetRowVisitor for Notes {
        type Out = Vec<String>;
        fn visit<N: NetRow>(self) -> Vec<String> {
            N::network_notes()
                .into_iter()
                .map(|n| format!("network: {n}"))
                .collect()
        }
    }
    as_net_row::<R, _>(Notes).unwrap_or_default()
}

/// Row `R`'s fairness block for workload `W`: the row's own, plus what the workload adds on this row.
pub fn fairness<W: Workload, R: Row>(cfg: &RowConfig) -> dyno_core::Fairness {
    let mut f = R::fairness(cfg);
    f.notes.extend(W::fairness_notes::<R>());
    f
}

/// Every row's fairness block for workload `W` on the given cores, in registry order.
pub fn row_infos<W: Workload>(cfg: &RowConfig) -> Vec<RowInfo> {
    struct Info<'a, W>(&'a RowConfig, std::marker::PhantomData<W>);
    impl<W: Workload> RowVisitor for Info<'_, W> {
        type Out = RowInfo;
        fn visit<R: Row>(self) -> RowInfo {
            RowInfo {
                id: R::ID.to_string(),
                fairness: fairness::<W, R>(self.0),
            }
        }
    }
    ROWS.iter()
        .map(|id| {
            visit_row(id, Info::<W>(cfg, std::marker::PhantomData)).expect("ROWS are all known")
        })
        .collect()
}

#[doc(hidden)]
#[macro_export]
macro_rules! __row_tests {
    ([$body:ident] $($name:ident => $ty:path [$($facet:ident)*],)+) => {
        mod $body {
            $(
                #[test]
                fn $name() {
                    super::$body::<$ty>()
                }
            )+
        }
    };
}

/// The rows with `[net]`, one `#[test]` each (a tt-muncher: a macro cannot filter a repetition).
#[doc(hidden)]
#[macro_export]
macro_rules! __net_row_tests {
    ([$body:ident] $($rows:tt)*) => {
        mod $body {
            $crate::__net_row_tests!(@each $body $($rows)*);
        }
    };
    (@each $body:ident) => {};
    (@each $body:ident $name:ident => $ty:path [net], $($rest:tt)*) => {
        #[test]
        fn $name() {
            super::$body::<$ty>()
        }
        $crate::__net_row_tests!(@each $body $($rest)*);
    };
    (@each $body:ident $name:ident => $ty:path [], $($rest:tt)*) => {
        $crate::__net_row_tests!(@each $body $($rest)*);
    };
}

/// Define one `#[test]` per registered row running the generic function `$body::<Row>()` (tokio's
/// `rt_test!` idea).
///
/// ```ignore
/// fn counts_every_message<R: dyno_core::Row>() { /* ... */ }
/// dyno_rows::row_matrix_test!(counts_every_message);
/// ```
#[macro_export]
macro_rules! row_matrix_test {
    ($body:ident) => {
        $crate::for_each_row!($crate::__row_tests, $body);
    };
}

/// [`row_matrix_test!`] for a body that needs the row's network facet: `$body::<R: NetRow>()`, one
/// `#[test]` per row registered with `[net]`.
#[macro_export]
macro_rules! net_row_matrix_test {
    ($body:ident) => {
        $crate::for_each_row!($crate::__net_row_tests, $body);
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Spawn, sleep, yield, spawn_blocking and join on every row, on two shards' worth of cores.
    fn primitives_work<R: Row>() {
        let cores = dyno_core::os::allowed_cores();
        let cfg = RowConfig {
            cores: cores.iter().copied().cycle().take(2).collect(),
        };
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let out = R::run(&cfg, move |shard| {
            let h = h.clone();
            async move {
                let tasks: Vec<_> = (0..8)
                    .map(|i| {
                        let h = h.clone();
                        R::spawn(async move {
                            R::sleep(Duration::from_millis(1)).await;
                            R::yield_now().await;
                            h.fetch_add(1, Ordering::Relaxed);
                            i
                        })
                    })
                    .collect();
                let mut sum = 0;
                for t in tasks {
                    sum += t.await;
                }
                sum + R::spawn_blocking(move || shard.index * 100).await
            }
        })
        .expect("row starts");
        let shards = out.len();
        assert!(shards == 1 || shards == 2, "{shards}");
        assert_eq!(hits.load(Ordering::Relaxed), 8 * shards);
        assert_eq!(out[0], 28);
        if shards == 2 {
            assert_eq!(out[1], 128);
        }
    }

    row_matrix_test!(primitives_work);

    /// The row's executor drives a future with the row's own timer and yield to its value.
    fn executor_blocks_on_a_future<R: Row>() {
        use dyno_core::row::BlockOn;
        let ex = R::executor().unwrap_or_else(|e| panic!("{}: {e}", R::ID));
        let t = std::time::Instant::now();
        let v = ex.block_on(async {
            R::yield_now().await;
            R::sleep(Duration::from_millis(2)).await;
            42
        });
        assert_eq!(v, 42);
        assert!(
            t.elapsed() >= Duration::from_millis(2),
            "{}: the sleep was skipped",
            R::ID
        );
        // Reusable: criterion blocks on one future per sample.
        assert_eq!(ex.block_on(async { 7 }), 7);
    }

    row_matrix_test!(executor_blocks_on_a_future);

    #[test]
    fn every_row_is_registered_and_unknown_ids_are_not() {
        struct NoWorkload;
        impl Workload for NoWorkload {
            fn spec() -> dyno_core::params::WorkloadSpec {
                unreachable!()
            }
        }
        let infos = row_infos::<NoWorkload>(&RowConfig { cores: vec![0] });
        let ids: Vec<_> = infos.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ROWS);
        assert!(
            infos
                .iter()
                .all(|i| i.fairness.workers == 1 && !i.fairness.io.is_empty())
        );
        struct Id;
        impl RowVisitor for Id {
            type Out = &'static str;
            fn visit<R: Row>(self) -> &'static str {
                R::ID
            }
        }
        assert_eq!(visit_row("nope", Id), None);
        assert_eq!(visit_row("glommio", Id), Some("glommio"));
        // Every row registered with [net] is a NetRow the visitor reaches; no other id is.
        struct NetId;
        impl NetRowVisitor for NetId {
            type Out = &'static str;
            fn visit<R: NetRow>(self) -> &'static str {
                R::ID
            }
        }
        for id in NET_ROWS {
            assert_eq!(visit_net_row(id, NetId), Some(*id));
        }
        for id in ROWS.iter().filter(|id| !NET_ROWS.contains(id)) {
            assert_eq!(visit_net_row(id, NetId), None);
        }
        assert_eq!(visit_net_row("nope", NetId), None);
    }

    #[test]
    fn only_rows_marked_net_are_network_rows() {
        const IDS: &[&str] =
            net_ids!([] a => crate::Tokio [net], b => Executor [], c => crate::Smol [net],);
        assert_eq!(IDS, ["tokio", "smol"]);
    }

    /// The tt-muncher keeps `[net]` rows and drops the others: `needs_net` only compiles for a
    /// `NetRow`, and `Executor` (a row without one) is in the list.
    fn needs_net<R: NetRow>() {
        assert!(!R::network_notes().is_empty());
    }
    #[allow(dead_code, reason = "named only in the lists that must drop it")]
    struct Executor;
    crate::__net_row_tests!([needs_net] tokio => crate::Tokio [net], executor => Executor [], threads => crate::Threads [net],);
}
