//! One-shot reads of the objects the model needs, into a [`Snapshot`].

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};

use kdive_core::model::Snapshot;

/// Lists everything a chain, DNS or iptables view reads, cluster-wide.
/// The kube-proxy ConfigMap is read from kube-system only.
pub async fn fetch(client: &kube::Client) -> Result<Snapshot, kube::Error> {
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
    Ok(Snapshot {
        namespaces: namespaces.items,
        services: services.items,
        endpoint_slices: endpoint_slices.items,
        pods: pods.items,
        nodes: nodes.items,
        config_maps: config_maps.items,
        stateful_sets: stateful_sets.items,
    })
}
