//! Pure model code: an [`Objects`] set in, plain data out.
//! No tokio, no ratatui, no kube::Client here.

pub mod chain;
pub mod dns;
pub mod kind;
pub mod node;
pub mod objects;
pub mod objects_json;
pub mod pod_columns;
pub mod pod_readiness;
pub mod probes;
pub mod proxy;
pub mod revision;
pub mod rollout;
pub mod scheduling;
pub mod service;
pub mod status;
pub mod stored_pod;
pub mod tree;
pub mod vpc_cni;

pub use objects::Objects;
pub use objects_json::{AddError, OtherKinds};
