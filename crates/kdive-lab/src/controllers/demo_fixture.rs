//! The demo cluster fixture as the controllers take their inputs: owned, editable objects.

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use std::sync::Arc;

#[derive(Clone)]
pub struct Demo {
    pub services: Vec<Service>,
    pub endpoint_slices: Vec<EndpointSlice>,
    pub pods: Vec<Pod>,
    pub nodes: Vec<Node>,
}

/// tests/fixtures/chain/{cluster,demo,dns-pods}.yaml.
fn owned<T: Clone>(v: &[Arc<T>]) -> Vec<T> {
    v.iter().map(|x| (**x).clone()).collect()
}

pub fn demo() -> Demo {
    let o = kdive_core::fixtures::chain_demo();
    Demo {
        services: owned(&o.services),
        endpoint_slices: owned(&o.endpoint_slices),
        pods: o.decoded_pods(),
        nodes: owned(&o.nodes),
    }
}
