//! Simulated nodes: one kubelet task per Node object. The supervisor follows the store's
//! events, starts a kubelet when a Node appears, stops it when the Node goes, and routes
//! each pod change to the kubelet of the node the pod is bound to.

pub mod ipam;
pub mod node;
pub mod node_status;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};

use crate::controllers::ControlPlane;
use crate::resources::{ResourceId, lookup};
use crate::store::{Event, EventType};

pub use node::Msg;

pub(crate) fn nodes() -> ResourceId {
    lookup("", "v1", "nodes").expect("nodes are served")
}

pub(crate) fn pods() -> ResourceId {
    lookup("", "v1", "pods").expect("pods are served")
}

/// Just enough of a pod to route it, parsed without building the whole tree.
#[derive(Deserialize)]
struct Binding {
    spec: Option<BindingSpec>,
}

#[derive(Deserialize)]
struct BindingSpec {
    #[serde(rename = "nodeName")]
    node_name: Option<String>,
}

pub(crate) fn node_of(json: &[u8]) -> Option<String> {
    serde_json::from_slice::<Binding>(json)
        .ok()?
        .spec?
        .node_name
        .filter(|n| !n.is_empty())
}

struct Running {
    tx: mpsc::UnboundedSender<Msg>,
}

struct Supervisor {
    cp: Arc<ControlPlane>,
    stop: watch::Receiver<bool>,
    kubelets: HashMap<String, Running>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Supervisor {
    /// A host address for a new node: 172.18.0.2 upwards (a kind network), skipping any
    /// that a node object already reports.
    fn host_ip_for(&self, name: &str) -> String {
        let (_, all) = self.cp.store.list(nodes(), None);
        let mut used = BTreeSet::new();
        for n in &all {
            let v = n.value();
            if let Some(ip) = node_status::internal_ip(&v) {
                if n.name == name {
                    return ip;
                }
                used.insert(ip);
            }
        }
        (2..=254)
            .chain(256..=65_000)
            .map(|i: u32| format!("172.18.{}.{}", i / 256, i % 256))
            .find(|ip| !used.contains(ip))
            .unwrap_or_else(|| "172.18.255.254".to_string())
    }

    fn ensure(&mut self, name: &str) {
        if self.kubelets.contains_key(name) {
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let host_ip = self.host_ip_for(name);
        let task = node::spawn(
            self.cp.clone(),
            name.to_string(),
            host_ip,
            rx,
            self.stop.clone(),
        );
        self.tasks.retain(|t| !t.is_finished());
        self.tasks.push(task);
        self.kubelets.insert(name.to_string(), Running { tx });
    }

    /// Starts kubelets for every node and stops those whose node is gone.
    fn resync(&mut self) {
        let (_, all) = self.cp.store.list(nodes(), None);
        let names: BTreeSet<String> = all.iter().map(|n| n.name.clone()).collect();
        // Dropping the sender ends that kubelet's loop.
        self.kubelets.retain(|name, _| names.contains(name));
        for name in &names {
            self.ensure(name);
        }
        for k in self.kubelets.values() {
            let _ = k.tx.send(Msg::Resync);
        }
    }

    fn route(&mut self, event: &Event) {
        if event.resource == nodes() {
            if event.kind == EventType::Deleted {
                self.kubelets.remove(&event.name);
            } else {
                self.ensure(&event.name);
                self.send(&event.name, Msg::Node);
            }
        } else if event.resource == pods() {
            let node = node_of(&event.object.json)
                .or_else(|| event.prev.as_ref().and_then(|p| node_of(&p.json)));
            if let Some(node) = node {
                let key = (event.namespace.clone(), event.name.clone());
                self.send(&node, Msg::Pod(key));
            }
        }
    }

    fn send(&self, node: &str, msg: Msg) {
        if let Some(k) = self.kubelets.get(node) {
            let _ = k.tx.send(msg);
        }
    }
}

/// Runs the kubelets of the lab's nodes until `stop` changes.
pub fn spawn(cp: Arc<ControlPlane>, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (_, mut events) = cp.store.subscribe();
        let mut sup = Supervisor {
            cp,
            stop: stop.clone(),
            kubelets: HashMap::new(),
            tasks: Vec::new(),
        };
        sup.resync();
        let mut stop = stop;
        loop {
            tokio::select! {
                received = events.recv() => match received {
                    Ok(event) => sup.route(&event),
                    Err(RecvError::Lagged(_)) => sup.resync(),
                    Err(RecvError::Closed) => break,
                },
                _ = stop.changed() => break,
            }
        }
        sup.kubelets.clear();
        for t in sup.tasks {
            let _ = t.await;
        }
    })
}

/// Whether the pod (its stored JSON) is bound to `node`.
pub(crate) fn bound_to(json: &[u8], node: &str) -> bool {
    node_of(json).as_deref() == Some(node)
}
