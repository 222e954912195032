//! Starting and stopping the lab: TLS listener on loopback, token, bootstrap objects.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rand::Rng;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::api::metrics::MetricsSource;
use super::api::{self, ApiState};
use super::clock::LabClock;
use super::controllers::ControlPlane;
use super::kubeconfig;
use super::network::{self, Network};
use super::resources::lookup;
use super::scenario::{Scenario, ScenarioError};
use super::store::{Store, WriteOptions};
use super::tls;

/// How to start a lab.
#[derive(Clone)]
pub struct LabOptions {
    pub addr: SocketAddr,
    pub seed: u64,
    pub bookmark_interval: Duration,
    pub history: usize,
    /// Simulated time runs this many times faster than the wall clock.
    pub speed: f64,
    /// What the lab starts with besides the bootstrap objects (none: an empty cluster).
    pub scenario: Option<Arc<Scenario>>,
    /// Run the control plane, kubelets and data plane (false: a static API server that
    /// keeps objects exactly as written, for tests of clients).
    pub simulate: bool,
    /// Serve with this CA and token instead of new ones (a restarted lab that existing
    /// clients and kubeconfigs still trust).
    pub identity: Option<LabIdentity>,
    /// Keep the CA, token and resourceVersion here, so a restart is the same cluster to
    /// its clients (see `persist.rs`). `identity` wins over a saved one.
    pub data_dir: Option<std::path::PathBuf>,
    /// Pod creates beyond this many pods are refused as a ResourceQuota would refuse them
    /// (None: no cap), so a huge `replicas` cannot exhaust the machine.
    pub max_pods: Option<usize>,
}

/// The default cap on pods in the lab.
pub const DEFAULT_MAX_PODS: usize = 100_000;

/// What a client trusts and presents: the lab's TLS and its bearer token.
#[derive(Clone)]
pub struct LabIdentity {
    pub tls: tls::LabTls,
    pub token: String,
}

impl Default for LabOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: rand::rng().random(),
            bookmark_interval: Duration::from_secs(60),
            history: super::store::DEFAULT_HISTORY,
            speed: 1.0,
            scenario: None,
            simulate: true,
            identity: None,
            data_dir: None,
            max_pods: Some(DEFAULT_MAX_PODS),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("the lab only listens on loopback addresses, not {0}")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("--data-dir {0}")]
    DataDir(#[from] crate::persist::PersistError),
    #[error("cannot start the simulation thread: {0}")]
    Simulation(std::io::Error),
}

/// A running lab. Dropping it does not stop it; call [`RunningLab::shutdown`].
pub struct RunningLab {
    pub addr: SocketAddr,
    pub url: String,
    pub token: String,
    pub ca_pem: String,
    pub identity: LabIdentity,
    pub store: Arc<Store>,
    pub control_plane: Arc<ControlPlane>,
    /// kube-proxies (rules per node) and traffic.
    pub network: Arc<Network>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningLab {
    pub fn kubeconfig(&self) -> String {
        kubeconfig::render(&self.url, &self.ca_pem, &self.token)
    }

    /// Stops accepting, closes every connection (watches included) and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// How far ahead of the store's resourceVersion the data directory's reservation runs: a
/// lab killed without warning restarts above every version it handed out.
const RV_RESERVE: u64 = 10_000;

fn new_token() -> String {
    let mut rng = rand::rng();
    (0..40)
        .map(|_| {
            let i = rng.random_range(0..36);
            char::from_digit(i, 36).unwrap_or('x')
        })
        .collect()
}

/// Keeps the data directory's reservation ahead of the store's resourceVersion.
async fn reserve_versions(
    data: crate::persist::DataDir,
    store: Arc<Store>,
    mut reserved: u64,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        if store.resource_version() + RV_RESERVE / 2 > reserved {
            reserved = store.resource_version() + RV_RESERVE;
            if let Err(e) = data.save_resource_version(reserved) {
                tracing::warn!(error = %e, "cannot save the resourceVersion reservation");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = stopped.changed() => return,
        }
    }
}

pub async fn start(opts: LabOptions) -> Result<RunningLab, LabError> {
    if !opts.addr.ip().is_loopback() {
        return Err(LabError::NotLoopback(opts.addr));
    }
    let data = opts
        .data_dir
        .as_deref()
        .map(crate::persist::DataDir::open)
        .transpose()?;
    let (tls, token) = match (opts.identity.clone(), &data) {
        (Some(id), _) => (id.tls, Some(id.token)),
        (None, Some(d)) => {
            let (pems, token) = d.identity(new_token)?;
            (tls::from_pems(&pems)?, Some(token))
        }
        (None, None) => (tls::generate()?, None),
    };
    let listener = TcpListener::bind(opts.addr)
        .await
        .map_err(|source| LabError::Bind {
            addr: opts.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| LabError::Bind {
        addr: opts.addr,
        source,
    })?;
    let store = Arc::new(Store::with_history(
        Arc::new(LabClock::new(opts.speed)),
        opts.seed,
        opts.history,
    ));
    let reserved = match &data {
        Some(d) => {
            let from = d.resource_version()?;
            store.continue_from(from);
            let reserved = from + RV_RESERVE;
            d.save_resource_version(reserved)?;
            Some(reserved)
        }
        None => None,
    };
    store.set_max_pods(opts.max_pods);
    bootstrap(&store, addr.port());
    if let Some(scenario) = &opts.scenario {
        scenario.apply(&store)?;
    }
    let token: String = token.unwrap_or_else(new_token);
    let (stop, stopped) = watch::channel(false);
    store.set_history_fresh(opts.bookmark_interval + Duration::from_secs(15));
    let mut housekeeping = Vec::new();
    if let (Some(d), Some(r)) = (data, reserved) {
        housekeeping.push(tokio::spawn(reserve_versions(
            d,
            store.clone(),
            r,
            stopped.clone(),
        )));
    }
    let control_plane = Arc::new(ControlPlane::new(store.clone(), opts.seed));
    let mut simulation = None;
    let mut simulation_handle = None;
    let network = if opts.simulate {
        let traffic = opts
            .scenario
            .as_ref()
            .map(|s| s.traffic.clone())
            .unwrap_or_default();
        let (handle, tasks_tx, done) = simulation_thread().await?;
        let (network, tasks) = {
            // Every task the simulation spawns, now and later, runs on its own runtime.
            let _on_simulation = handle.enter();
            let (network, mut tasks) = network::start_network(&control_plane, traffic, &stop);
            tasks.extend(super::controllers::start(&control_plane, &stop));
            (network, tasks)
        };
        let _ = tasks_tx.send(tasks);
        simulation = Some(done);
        simulation_handle = Some(handle);
        network
    } else {
        // Only the API server: no proxies, no traffic (its /metrics has the registry only).
        Network::new(control_plane.clone())
    };
    housekeeping.push(tokio::spawn(crate::housekeeping::run(
        store.clone(),
        simulation_handle,
        stopped.clone(),
    )));
    let metrics_source: MetricsSource = {
        let network = network.clone();
        Arc::new(move || network.metrics_text())
    };
    let state = Arc::new(ApiState {
        store: store.clone(),
        token: token.clone(),
        server_address: addr.to_string(),
        bookmark_interval: opts.bookmark_interval,
        default_watch_timeout: Duration::from_secs(1800),
        metrics: Some(metrics_source),
        catalog: control_plane.catalog.clone(),
    });
    let acceptor = TlsAcceptor::from(tls.server_config.clone());
    let identity = LabIdentity {
        tls: tls.clone(),
        token: token.clone(),
    };
    let server = tokio::spawn(accept_loop(listener, acceptor, api::router(state), stopped));
    let task = tokio::spawn(async move {
        let _ = server.await;
        if let Some(done) = simulation {
            let _ = done.await;
        }
        for h in housekeeping {
            let _ = h.await;
        }
    });
    Ok(RunningLab {
        addr,
        url: format!("https://{addr}"),
        token,
        ca_pem: tls.ca_pem,
        identity,
        store,
        control_plane,
        network,
        stop,
        task,
    })
}

type SimulationTasks = Vec<tokio::task::JoinHandle<()>>;

/// A thread with its own runtime for the controllers, kubelets and network. Busy with
/// 50,000 pods they can keep a runtime's workers for seconds; on their own thread, the OS
/// still shares the CPU with the API server's threads (TLS handshakes, `/version`). The
/// thread runs until the tasks it is sent have ended, then says so.
async fn simulation_thread() -> Result<
    (
        tokio::runtime::Handle,
        tokio::sync::oneshot::Sender<SimulationTasks>,
        tokio::sync::oneshot::Receiver<()>,
    ),
    LabError,
> {
    let (handle_tx, handle_rx) = tokio::sync::oneshot::channel();
    let (tasks_tx, tasks_rx) = tokio::sync::oneshot::channel::<SimulationTasks>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("kdive-lab-sim".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = handle_tx.send(Err(e));
                    return;
                }
            };
            let _ = handle_tx.send(Ok(runtime.handle().clone()));
            runtime.block_on(async {
                if let Ok(tasks) = tasks_rx.await {
                    for t in tasks {
                        let _ = t.await;
                    }
                }
            });
            drop(runtime);
            let _ = done_tx.send(());
        })
        .map_err(LabError::Simulation)?;
    let handle = handle_rx
        .await
        .map_err(|_| LabError::Simulation(std::io::Error::other("the thread ended")))?
        .map_err(LabError::Simulation)?;
    Ok((handle, tasks_tx, done_rx))
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: axum::Router,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let service = TowerToHyperService::new(router.clone());
                connections.spawn(async move {
                    // A failed handshake (a plain-HTTP client, a scanner) ends only that connection.
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection_with_upgrades(TokioIo::new(tls), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped.changed() => break,
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// Objects every cluster has: the system namespaces and the `kubernetes` Service, whose
/// endpoint is the lab's own API server (as the real apiserver maintains it).
fn bootstrap(store: &Store, port: u16) {
    let opts = WriteOptions::default();
    if let Some(ns) = lookup("", "v1", "namespaces") {
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}
            });
            let _ = store.create(ns, "", obj, &opts);
        }
    }
    if let Some(svc) = lookup("", "v1", "services") {
        let obj = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {
                "type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
                "sessionAffinity": "None", "internalTrafficPolicy": "Cluster"
            },
            "status": {"loadBalancer": {}}
        });
        let _ = store.create(svc, "default", obj, &opts);
    }
    if let Some(eps) = lookup("", "v1", "endpoints") {
        let obj = json!({
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]
        });
        let _ = store.create(eps, "default", obj, &opts);
    }
    bootstrap_storage_class(store);
    if let Some(slices) = lookup("discovery.k8s.io", "v1", "endpointslices") {
        let obj = json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kubernetes", "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]
        });
        let _ = store.create(slices, "default", obj, &opts);
    }
}

/// The default StorageClass `standard`, as a kind cluster has one.
fn bootstrap_storage_class(store: &Store) {
    if let Some(classes) = lookup("storage.k8s.io", "v1", "storageclasses") {
        let class = super::controllers::volumes::default_storage_class();
        let _ = store.create(classes, "", class, &WriteOptions::default());
    }
}
