//! The embedded lab cluster: an HTTPS Kubernetes API server over one object store.

pub mod api;
pub mod clock;
pub mod controllers;
pub mod deadlines;
pub mod defaults;
pub mod housekeeping;
pub mod kubeconfig;
pub mod kubelet;
pub mod metrics;
pub mod names;
pub mod network;
pub mod patch;
pub mod persist;
pub mod prometheus;
pub mod protobuf;
pub mod resources;
pub mod scenario;
pub mod server;
pub mod sim;
pub mod store;
pub mod store_types;
pub mod table;
pub mod tls;
pub mod validate;

pub use server::{LabError, LabIdentity, LabOptions, RunningLab, start};
