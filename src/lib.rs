//! kdive: a terminal app for Kubernetes deep dives, with an embedded lab cluster.
//!
//! This crate is the edge: `cli/` (one file per subcommand), `sources/` (clusters and
//! Prometheus read over the network), `ui/` (the explorer). Kubernetes semantics live in
//! `kdive-core`, the embedded cluster in `kdive-lab`; see ARCHITECTURE.md.

pub mod cli;
pub mod lesson_library;
pub mod sources;
pub mod ui;
