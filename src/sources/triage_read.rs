//! One read of what triage needs, in one namespace or all, with nothing but read access:
//! a kind the user may not list becomes a named gap (`events forbidden`), never a failure.
//! ConfigMaps and Secrets are read as metadata only: their values are never fetched.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, Node, PersistentVolumeClaim, Pod, Secret, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, ListParams};
use serde::de::DeserializeOwned;

use super::failure::Failure;
use kdive_core::model::Objects;
use kdive_core::triage::{PreviousLogs, Report};

/// Lines of a crashed container's previous run read as evidence, and a byte cap on them.
const LOG_TAIL_LINES: usize = 20;
const LOG_LIMIT_BYTES: i64 = 16 * 1024;
/// Previous-run logs read per triage (the first findings' pods).
const LOG_READS: usize = 4;

pub struct TriageRead {
    pub objects: Objects,
    /// What could not be read, as `events forbidden`.
    pub gaps: Vec<String>,
}

/// Lists the kinds triage reads, in `namespace` (all when `None`). Fails only when the
/// cluster cannot be reached at all.
pub async fn read(client: &kube::Client, namespace: Option<&str>) -> Result<TriageRead, Failure> {
    let c = client;
    let ns = namespace;
    let (pods, services, slices, deployments, sets, stateful, claims, events) = tokio::join!(
        list(api::<Pod>(c, ns), "pods"),
        list(api::<Service>(c, ns), "services"),
        list(api::<EndpointSlice>(c, ns), "endpointslices"),
        list(api::<Deployment>(c, ns), "deployments"),
        list(api::<ReplicaSet>(c, ns), "replicasets"),
        list(api::<StatefulSet>(c, ns), "statefulsets"),
        list(
            api::<PersistentVolumeClaim>(c, ns),
            "persistentvolumeclaims"
        ),
        list(api::<Event>(c, ns), "events"),
    );
    let (nodes, namespaces, config_maps, secrets, policies) = tokio::join!(
        list(Api::<Node>::all(c.clone()), "nodes"),
        list(Api::<Namespace>::all(c.clone()), "namespaces"),
        metadata::<ConfigMap>(c, ns, "configmaps"),
        metadata::<Secret>(c, ns, "secrets"),
        list(api::<NetworkPolicy>(c, ns), "networkpolicies"),
    );
    let mut gaps: Vec<String> = Vec::new();
    let pods = take(pods, &mut gaps)?;
    let mut objects = Objects {
        services: shared(take(services, &mut gaps)?),
        endpoint_slices: shared(take(slices, &mut gaps)?),
        deployments: shared(take(deployments, &mut gaps)?),
        replica_sets: shared(take(sets, &mut gaps)?),
        stateful_sets: shared(take(stateful, &mut gaps)?),
        pvcs: shared(take(claims, &mut gaps)?),
        events: shared(take(events, &mut gaps)?),
        nodes: shared(take(nodes, &mut gaps)?),
        namespaces: shared(take(namespaces, &mut gaps)?),
        ..Objects::default()
    };
    objects.config_maps = take(config_maps, &mut gaps)?
        .into_iter()
        .map(|m: kube::api::PartialObjectMeta<ConfigMap>| {
            Arc::new(ConfigMap {
                metadata: m.metadata,
                ..ConfigMap::default()
            })
        })
        .collect();
    objects.secrets = shared(take(secrets, &mut gaps)?);
    // A server that does not serve NetworkPolicies enforces none: that is no gap.
    let policies = match policies {
        Listed::Gap(g) if g.ends_with("not served") => Vec::new(),
        other => take(other, &mut gaps)?,
    };
    for p in policies {
        if let Ok(v) = serde_json::to_value(&p) {
            objects.other.push(Arc::new(v));
        }
    }
    objects.add_pods(pods);
    Ok(TriageRead { objects, gaps })
}

fn take<T>(r: Listed<T>, gaps: &mut Vec<String>) -> Result<Vec<T>, Failure> {
    match r {
        Listed::Items(items) => Ok(items),
        Listed::Gap(g) => {
            gaps.push(g);
            Ok(Vec::new())
        }
        Listed::Failed(f) => Err(f),
    }
}

enum Listed<T> {
    Items(Vec<T>),
    Gap(String),
    Failed(Failure),
}

fn api<K>(client: &kube::Client, ns: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn list<K>(api: Api<K>, resource: &str) -> Listed<K>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    classify(
        api.list(&ListParams::default()).await.map(|l| l.items),
        resource,
    )
}

async fn metadata<K>(
    client: &kube::Client,
    ns: Option<&str>,
    resource: &str,
) -> Listed<kube::api::PartialObjectMeta<K>>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = api(client, ns);
    classify(
        api.list_metadata(&ListParams::default())
            .await
            .map(|l| l.items),
        resource,
    )
}

/// 403 and 404 (a kind the server does not serve) are gaps; anything else ends the read.
fn classify<T>(r: Result<Vec<T>, kube::Error>, resource: &str) -> Listed<T> {
    match r {
        Ok(items) => Listed::Items(items),
        Err(e) => match Failure::of(&e) {
            Failure::Forbidden(_) => Listed::Gap(format!("{resource} forbidden")),
            Failure::Status { code: 404, .. } => Listed::Gap(format!("{resource} not served")),
            f => Listed::Failed(f),
        },
    }
}

fn shared<T>(items: Vec<T>) -> Vec<Arc<T>> {
    items.into_iter().map(Arc::new).collect()
}

/// The last lines of the previous run of the containers the first crash findings name.
/// A log that cannot be read is left out (the finding keeps its other evidence); a 403 is
/// a gap.
pub async fn previous_logs(
    client: &kube::Client,
    report: &Report,
    gaps: &mut Vec<String>,
) -> PreviousLogs {
    let mut out = PreviousLogs::new();
    let wanted = report
        .findings
        .iter()
        .filter(|f| {
            matches!(
                f.cause.code(),
                "crash-loop" | "oom-killed" | "liveness-restarts"
            )
        })
        .filter_map(|f| {
            Some((
                f.object.namespace.clone()?,
                f.object.name.clone(),
                f.container.clone()?,
            ))
        })
        .take(LOG_READS);
    for (ns, pod, container) in wanted {
        match super::logs::previous_tail(
            client,
            &ns,
            &pod,
            Some(&container),
            LOG_TAIL_LINES,
            Some(LOG_LIMIT_BYTES),
        )
        .await
        {
            Ok(lines) => {
                out.insert((ns, pod, container), lines);
            }
            // A log that cannot be read is left out; a 403 is a gap.
            Err(super::logs::LogError::Failed(Failure::Forbidden(_))) => {
                let gap = "pods/log forbidden".to_string();
                if !gaps.contains(&gap) {
                    gaps.push(gap);
                }
            }
            Err(_) => {}
        }
    }
    out
}
