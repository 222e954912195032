//! kdive: a terminal app for Kubernetes deep dives, with an embedded lab cluster.
//!
//! See the README for what it does; `model/` is pure, `lab/` is the embedded cluster,
//! `cli/` holds one file per subcommand.

pub mod cli;
pub mod lab;
pub mod lesson;
pub mod metrics;
pub mod model;
pub mod sources;
pub mod ui;
