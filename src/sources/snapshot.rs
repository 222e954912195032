//! One-shot reads of the objects the model needs, into a [`Objects`] set.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use std::sync::Arc;

use kdive_core::model::Objects;

/// Lists everything a chain, DNS or iptables view reads, cluster-wide.
/// The kube-proxy ConfigMap is read from kube-system only.
pub async fn fetch(client: &kube::Client) -> Result<Objects, kube::Error> {
    let lp = ListParams::default();
    let c = client;
    let (namespaces, services, endpoint_slices, pods, nodes, config_maps, stateful_sets) = (
        Api::<Namespace>::all(c.clone()),
        Api::<Service>::all(c.clone()),
        Api::<EndpointSlice>::all(c.clone()),
        Api::<Pod>::all(c.clone()),
        Api::<Node>::all(c.clone()),
        Api::<ConfigMap>::namespaced(c.clone(), "kube-system"),
        Api::<StatefulSet>::all(c.clone()),
    );
    let (namespaces, services, endpoint_slices, pods, nodes, config_maps, stateful_sets) = tokio::try_join!(
        namespaces.list(&lp),
        services.list(&lp),
        endpoint_slices.list(&lp),
        pods.list(&lp),
        nodes.list(&lp),
        config_maps.list(&lp),
        stateful_sets.list(&lp),
    )?;
    let mut objects = Objects {
        namespaces: shared(namespaces.items),
        services: shared(services.items),
        endpoint_slices: shared(endpoint_slices.items),
        nodes: shared(nodes.items),
        config_maps: shared(config_maps.items),
        stateful_sets: shared(stateful_sets.items),
        ..Objects::default()
    };
    objects.add_pods(pods.items);
    Ok(objects)
}

fn shared<T>(items: Vec<T>) -> Vec<Arc<T>> {
    items.into_iter().map(Arc::new).collect()
}
