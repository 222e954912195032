//! Pure model code: a [`Snapshot`] of objects in, plain data out.
//! No tokio, no ratatui, no kube::Client here.

pub mod chain;
pub mod dns;
pub mod probes;
pub mod proxy;
pub mod snapshot;

pub use snapshot::Snapshot;
