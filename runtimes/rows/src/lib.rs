//! The registry of runtime rows and the cell entry point shared by every workload binary.
//!
//! - [`ROWS`] and [`visit_row`] map a row id to its adapter type, so generic code runs on any row.
//! - [`cell_main`] is the whole `main` of a workload's cell binary (`dyno-cell-<workload>`): it describes
//!   the workload, plans its matrix, lists rows, and runs one cell (all its repeats) in this process.
//! - [`row_matrix_test!`] runs one generic test body on every row.

mod cell;
pub mod self_profile;

pub use cell::cell_main;
pub use dyno_rt_async_std::AsyncStd;
pub use dyno_rt_glommio::Glommio;
pub use dyno_rt_smol::Smol;
pub use dyno_rt_threads::Threads;
pub use dyno_rt_tokio::{Tokio, TokioTpc};

use dyno_core::Row;
use dyno_core::row::RowConfig;
use dyno_core::schema::RowInfo;

/// Every row id, in the order the book shows them.
pub const ROWS: [&str; 6] = [
    Tokio::ID,
    TokioTpc::ID,
    AsyncStd::ID,
    Smol::ID,
    Glommio::ID,
    Threads::ID,
];

/// Generic code to run with a row's adapter type.
pub trait RowVisitor {
    type Out;
    fn visit<R: Row>(self) -> Self::Out;
}

/// Run `v` with the adapter of row `id`; `None` for an unknown id.
pub fn visit_row<V: RowVisitor>(id: &str, v: V) -> Option<V::Out> {
    Some(match id {
        Tokio::ID => v.visit::<Tokio>(),
        TokioTpc::ID => v.visit::<TokioTpc>(),
        AsyncStd::ID => v.visit::<AsyncStd>(),
        Smol::ID => v.visit::<Smol>(),
        Glommio::ID => v.visit::<Glommio>(),
        Threads::ID => v.visit::<Threads>(),
        _ => return None,
    })
}

/// Every row's fairness block for the given cores.
pub fn row_infos(cfg: &RowConfig) -> Vec<RowInfo> {
    struct Info<'a>(&'a RowConfig);
    impl RowVisitor for Info<'_> {
        type Out = RowInfo;
        fn visit<R: Row>(self) -> RowInfo {
            RowInfo {
                id: R::ID.to_string(),
                fairness: R::fairness(self.0),
            }
        }
    }
    ROWS.iter()
        .map(|id| visit_row(id, Info(cfg)).expect("ROWS are all known"))
        .collect()
}

/// Define one `#[test]` per row running the generic function `$body::<Row>()` (tokio's `rt_test!` idea).
///
/// ```ignore
/// fn counts_every_message<R: dyno_core::Row>() { /* ... */ }
/// dyno_rows::row_matrix_test!(counts_every_message);
/// ```
#[macro_export]
macro_rules! row_matrix_test {
    ($body:ident) => {
        mod $body {
            #[test]
            fn tokio() {
                super::$body::<$crate::Tokio>()
            }
            #[test]
            fn tokio_tpc() {
                super::$body::<$crate::TokioTpc>()
            }
            #[test]
            fn async_std() {
                super::$body::<$crate::AsyncStd>()
            }
            #[test]
            fn smol() {
                super::$body::<$crate::Smol>()
            }
            #[test]
            fn glommio() {
                super::$body::<$crate::Glommio>()
            }
            #[test]
            fn threads() {
                super::$body::<$crate::Threads>()
            }
        }
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

    #[test]
    fn every_row_is_registered_and_unknown_ids_are_not() {
        let infos = row_infos(&RowConfig { cores: vec![0] });
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
    }
}
