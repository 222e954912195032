//! kdive-core: Kubernetes semantics and every pure derivation kdive shows or enforces.
//!
//! No tokio, no HTTP, no terminal, no file I/O: objects (and `now`) in, plain data out. The
//! lab enforces these rules and the panes explain them, from this one implementation.

pub mod duration;
pub mod field_errors;
pub mod kinds;
pub mod lesson;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod object_validation;
pub mod quantity;
pub mod selector;
pub mod triage;
pub mod typecheck;
pub mod validation;
pub mod yaml;

/// The demo fixtures under `tests/fixtures/chain/`, for the tests of every crate.
#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixtures {
    use crate::model::Objects;

    /// The demo cluster: cluster.yaml + demo.yaml + dns-pods.yaml.
    pub fn chain_demo() -> Objects {
        let mut snapshot = Objects::default();
        for (origin, text) in [
            (
                "cluster.yaml",
                include_str!("../../../tests/fixtures/chain/cluster.yaml"),
            ),
            (
                "demo.yaml",
                include_str!("../../../tests/fixtures/chain/demo.yaml"),
            ),
            (
                "dns-pods.yaml",
                include_str!("../../../tests/fixtures/chain/dns-pods.yaml"),
            ),
        ] {
            crate::manifest::add_text(&mut snapshot, origin, text).expect("demo fixtures load");
        }
        snapshot
    }
}
