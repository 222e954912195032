//! SLOs over Prometheus (pure): Sloth `prometheus/v1` specs, windows and the alert table,
//! PromQL building, burn-rate math, Sloth rule generation and discovery of SLOs that Sloth
//! or Pyrra rules already record. No I/O here; `sources::prometheus` runs the queries.

pub mod burn;
pub mod discover;
pub mod frame;
pub mod query;
pub mod rules;
pub mod slo;
pub mod spec;
pub mod window;

/// Name of the kubeconfig cluster extension that records a Prometheus URL (`{url: ...}`): the
/// lab writes it, every kdive command pointed at that kubeconfig reads it.
pub const PROMETHEUS_KUBECONFIG_EXTENSION: &str = "kdive.dev/prometheus";

pub use burn::{Burn, Observation, evaluate};
pub use slo::{Engine, SliSource, SloDef};
pub use spec::{LoadedSpec, ServiceRef, Sli, SpecError};
pub use window::{Period, Window};
