//! Server-side defaulting, as the apiserver's defaulters and admission plugins do it, and the
//! allocation of Service ClusterIPs and NodePorts. Pure functions over JSON objects.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

/// The Service CIDR (10.96.0.0/12) and NodePort range, as kubeadm and kind default them.
const SERVICE_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const SERVICE_SIZE: u32 = 1 << 20;
const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;

/// Allocated ClusterIPs and NodePorts.
pub struct Allocations {
    cluster_ips: BTreeSet<u32>,
    node_ports: BTreeSet<u16>,
    rng: StdRng,
}

impl Allocations {
    pub fn new(seed: u64) -> Self {
        Self {
            // .0 is the network address; .1 (kubernetes) and .10 (kube-dns) are never
            // handed out automatically, only to Services that ask for them.
            cluster_ips: [SERVICE_BASE].into(),
            node_ports: BTreeSet::new(),
            rng: StdRng::seed_from_u64(seed ^ 0x5e41_1ce5),
        }
    }

    fn take_ip(&mut self, wanted: Option<&str>) -> Result<String, String> {
        if let Some(w) = wanted {
            let ip: Ipv4Addr = w
                .parse()
                .map_err(|_| format!("Invalid value: {w:?}: must be a valid IP address"))?;
            let n = u32::from(ip);
            if !(SERVICE_BASE..SERVICE_BASE + SERVICE_SIZE).contains(&n) {
                return Err(format!(
                    "Invalid value: {w:?}: failed to allocate IP {w}: the provided IP ({w}) is not in the valid range. The range of valid IPs is 10.96.0.0/12"
                ));
            }
            if !self.cluster_ips.insert(n) {
                return Err(format!(
                    "Invalid value: {w:?}: failed to allocate IP {w}: provided IP is already allocated"
                ));
            }
            return Ok(w.to_string());
        }
        loop {
            // Mostly within 10.96.0.0/16, like a young cluster's allocations look.
            let n = SERVICE_BASE + self.rng.random_range(2..65_535);
            if n != SERVICE_BASE + 10 && self.cluster_ips.insert(n) {
                return Ok(Ipv4Addr::from(n).to_string());
            }
        }
    }

    fn take_port(&mut self, wanted: Option<u16>) -> Result<u16, String> {
        if let Some(p) = wanted {
            if !NODE_PORTS.contains(&p) {
                return Err(format!(
                    "Invalid value: {p}: provided port is not in the valid range. The range of valid ports is 30000-32767"
                ));
            }
            if !self.node_ports.insert(p) {
                return Err(format!(
                    "Invalid value: {p}: provided port is already allocated"
                ));
            }
            return Ok(p);
        }
        if self.node_ports.len() >= NODE_PORTS.len() {
            return Err("no NodePorts left in 30000-32767".into());
        }
        loop {
            let p = self.rng.random_range(NODE_PORTS);
            if self.node_ports.insert(p) {
                return Ok(p);
            }
        }
    }

    /// Frees what a deleted Service held.
    pub fn release(&mut self, kind: &str, obj: &Value) {
        if kind != "Service" {
            return;
        }
        if let Some(ip) = obj.pointer("/spec/clusterIP").and_then(Value::as_str)
            && let Ok(ip) = ip.parse::<Ipv4Addr>()
        {
            self.cluster_ips.remove(&u32::from(ip));
        }
        for port in node_ports(obj) {
            self.node_ports.remove(&port);
        }
    }
}

fn node_ports(obj: &Value) -> Vec<u16> {
    obj.pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .filter_map(|p| p.get("nodePort").and_then(Value::as_u64))
                .filter_map(|p| u16::try_from(p).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Defaults and allocations for a new object. Errors are `(field, message)` for a 422.
pub fn on_create(
    kind: &str,
    obj: &mut Value,
    alloc: &mut Allocations,
) -> Result<(), (String, String)> {
    apply_defaults(kind, obj);
    match kind {
        "Pod" => {
            let spec = obj.get("spec").cloned().unwrap_or_default();
            let qos = qos_class(&spec);
            obj["status"] = json!({"phase": "Pending", "qosClass": qos});
            let spec = ensure_object(obj, "spec");
            spec.entry("serviceAccountName")
                .or_insert_with(|| json!("default"));
            let sa = spec["serviceAccountName"].clone();
            spec.entry("serviceAccount").or_insert(sa);
            spec.entry("priority").or_insert_with(|| json!(0));
            spec.entry("preemptionPolicy")
                .or_insert_with(|| json!("PreemptLowerPriority"));
            let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
            if let Some(list) = tolerations.as_array_mut() {
                for key in [
                    "node.kubernetes.io/not-ready",
                    "node.kubernetes.io/unreachable",
                ] {
                    if !list.iter().any(|t| t["key"] == key) {
                        list.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
                    }
                }
            }
        }
        "Deployment" | "ReplicaSet" | "StatefulSet" => {
            if let Some(map) = obj.as_object_mut() {
                map.insert("status".into(), json!({}));
            }
        }
        "Service" => allocate_service(obj, alloc)?,
        "PersistentVolumeClaim" | "PersistentVolume" => {
            obj["status"] = json!({"phase": "Pending"});
            // Admission's StorageObjectInUseProtection: the protection controllers remove
            // these once no pod uses the claim / no claim is bound to the volume.
            let finalizer = if kind == "PersistentVolume" {
                "kubernetes.io/pv-protection"
            } else {
                "kubernetes.io/pvc-protection"
            };
            let meta = ensure_object(obj, "metadata");
            let list = meta.entry("finalizers").or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut()
                && !list.iter().any(|f| f == finalizer)
            {
                list.push(json!(finalizer));
            }
        }
        "Namespace" => {
            obj["status"] = json!({"phase": "Active"});
        }
        _ => {}
    }
    Ok(())
}

/// Admission's DefaultStorageClass: a claim that leaves `storageClassName` out (an empty
/// string means "no class" and is kept) gets the default class, if there is one.
pub fn default_claim_class<'a>(obj: &mut Value, classes: impl Iterator<Item = &'a Value>) {
    if obj
        .pointer("/spec/storageClassName")
        .is_some_and(|c| !c.is_null())
    {
        return;
    }
    if let Some(name) = default_class_name(classes) {
        ensure_object(obj, "spec").insert("storageClassName".into(), json!(name));
    }
}

/// The class annotated `storageclass.kubernetes.io/is-default-class: "true"`; of several,
/// the newest (then the first by name), as upstream picks.
pub fn default_class_name<'a>(classes: impl Iterator<Item = &'a Value>) -> Option<String> {
    let text = |v: &'a Value, p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("");
    classes
        .filter(|c| {
            text(
                c,
                "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
            ) == "true"
        })
        .max_by(|a, b| {
            text(a, "/metadata/creationTimestamp")
                .cmp(text(b, "/metadata/creationTimestamp"))
                .then_with(|| text(b, "/metadata/name").cmp(text(a, "/metadata/name")))
        })
        .map(|c| text(c, "/metadata/name").to_string())
}

/// Defaults on every write (create and update), as decoding does on the real server.
/// For Services, values allocated before are kept when an update leaves them out.
pub fn on_update(kind: &str, old: &Value, new: &mut Value) {
    apply_defaults(kind, new);
    if kind == "Service" {
        for field in ["clusterIP", "clusterIPs"] {
            if new.pointer(&format!("/spec/{field}")).is_none()
                && let Some(v) = old.pointer(&format!("/spec/{field}"))
            {
                ensure_object(new, "spec").insert(field.into(), v.clone());
            }
        }
        let old_ports = old
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(ports) = new.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            for p in ports.iter_mut().filter(|p| p.get("nodePort").is_none()) {
                let same = old_ports
                    .iter()
                    .find(|o| o["port"] == p["port"] && o["protocol"] == p["protocol"]);
                if let Some(np) = same.and_then(|o| o.get("nodePort")) {
                    set(p, "nodePort", np.clone());
                }
            }
        }
    }
}

fn allocate_service(obj: &mut Value, alloc: &mut Allocations) -> Result<(), (String, String)> {
    let svc_type = obj
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    let spec = ensure_object(obj, "spec");
    if svc_type == "ExternalName" {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
        return Ok(());
    }
    let ports_missing = spec
        .get("ports")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    let wanted = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .map(String::from);
    if ports_missing && wanted.as_deref() != Some("None") {
        return Err(("spec.ports".into(), "Required value".into()));
    }
    let ip = match wanted.as_deref() {
        Some("None") => "None".to_string(),
        Some("") | None => alloc
            .take_ip(None)
            .map_err(|m| ("spec.clusterIP".into(), m))?,
        Some(w) => alloc
            .take_ip(Some(w))
            .map_err(|m| ("spec.clusterIP".into(), m))?,
    };
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
    spec.entry("ipFamilyPolicy")
        .or_insert_with(|| json!("SingleStack"));
    if matches!(svc_type.as_str(), "NodePort" | "LoadBalancer") {
        spec.entry("externalTrafficPolicy")
            .or_insert_with(|| json!("Cluster"));
        if svc_type == "LoadBalancer" {
            spec.entry("allocateLoadBalancerNodePorts")
                .or_insert_with(|| json!(true));
        }
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for (i, p) in ports.iter_mut().enumerate() {
                let wanted = p
                    .get("nodePort")
                    .and_then(Value::as_u64)
                    .and_then(|n| u16::try_from(n).ok());
                let port = alloc
                    .take_port(wanted)
                    .map_err(|m| (format!("spec.ports[{i}].nodePort"), m))?;
                set(p, "nodePort", json!(port));
            }
        }
    }
    obj["status"] = json!({"loadBalancer": {}});
    Ok(())
}

/// Sets a field where the value is an object; a value of another type is left for
/// decoding and validation to refuse (defaulting never panics on what a client sent).
fn set(v: &mut Value, key: &str, to: Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_string(), to);
    }
}

fn ensure_object<'a>(obj: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !obj[key].is_object() {
        obj[key] = json!({});
    }
    obj[key].as_object_mut().expect("just made an object")
}

/// The defaulters of k8s.io/api for the kinds the lab serves.
pub fn apply_defaults(kind: &str, obj: &mut Value) {
    match kind {
        "Pod" => default_pod_spec(obj.pointer_mut("/spec")),
        "Deployment" => {
            let spec = ensure_object(obj, "spec");
            spec.entry("replicas").or_insert_with(|| json!(1));
            spec.entry("revisionHistoryLimit")
                .or_insert_with(|| json!(10));
            spec.entry("progressDeadlineSeconds")
                .or_insert_with(|| json!(600));
            let strategy = spec.entry("strategy").or_insert_with(|| json!({}));
            if strategy.get("type").is_none() {
                set(strategy, "type", json!("RollingUpdate"));
            }
            if strategy["type"] == "RollingUpdate" && strategy.get("rollingUpdate").is_none() {
                set(
                    strategy,
                    "rollingUpdate",
                    json!({"maxSurge": "25%", "maxUnavailable": "25%"}),
                );
            }
            default_pod_spec(obj.pointer_mut("/spec/template/spec"));
        }
        "ReplicaSet" => {
            ensure_object(obj, "spec")
                .entry("replicas")
                .or_insert_with(|| json!(1));
            default_pod_spec(obj.pointer_mut("/spec/template/spec"));
        }
        "StatefulSet" => {
            let spec = ensure_object(obj, "spec");
            spec.entry("replicas").or_insert_with(|| json!(1));
            spec.entry("podManagementPolicy")
                .or_insert_with(|| json!("OrderedReady"));
            spec.entry("revisionHistoryLimit")
                .or_insert_with(|| json!(10));
            spec.entry("updateStrategy").or_insert_with(
                || json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            spec.entry("persistentVolumeClaimRetentionPolicy")
                .or_insert_with(|| json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
            if let Some(templates) = spec
                .get_mut("volumeClaimTemplates")
                .and_then(Value::as_array_mut)
            {
                for t in templates {
                    if let Some(s) = t.get_mut("spec").and_then(Value::as_object_mut) {
                        s.entry("volumeMode").or_insert_with(|| json!("Filesystem"));
                    }
                }
            }
            default_pod_spec(obj.pointer_mut("/spec/template/spec"));
        }
        "Service" => {
            let spec = ensure_object(obj, "spec");
            spec.entry("type").or_insert_with(|| json!("ClusterIP"));
            if spec["type"] != "ExternalName" {
                spec.entry("sessionAffinity")
                    .or_insert_with(|| json!("None"));
                spec.entry("internalTrafficPolicy")
                    .or_insert_with(|| json!("Cluster"));
            }
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports {
                    if p.get("protocol").is_none() {
                        set(p, "protocol", json!("TCP"));
                    }
                    if p.get("targetPort").is_none() {
                        let port = p.get("port").cloned().unwrap_or(Value::Null);
                        set(p, "targetPort", port);
                    }
                }
            }
        }
        "Secret" => {
            if obj.get("type").is_none() {
                obj["type"] = json!("Opaque");
            }
            // stringData is write-only: merged into data, base64-encoded.
            if let Some(Value::Object(string_data)) =
                obj.as_object_mut().and_then(|m| m.remove("stringData"))
            {
                use base64::Engine;
                let data = ensure_object(obj, "data");
                for (k, v) in string_data {
                    let text = v.as_str().unwrap_or_default();
                    data.insert(
                        k,
                        json!(base64::engine::general_purpose::STANDARD.encode(text)),
                    );
                }
            }
        }
        "PersistentVolumeClaim" => {
            ensure_object(obj, "spec")
                .entry("volumeMode")
                .or_insert_with(|| json!("Filesystem"));
        }
        "PersistentVolume" => {
            let spec = ensure_object(obj, "spec");
            spec.entry("persistentVolumeReclaimPolicy")
                .or_insert_with(|| json!("Retain"));
            spec.entry("volumeMode")
                .or_insert_with(|| json!("Filesystem"));
        }
        "Namespace" => {
            let name = obj
                .pointer("/metadata/name")
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                let labels = meta.entry("labels").or_insert_with(|| json!({}));
                if let Some(l) = labels.as_object_mut() {
                    l.insert("kubernetes.io/metadata.name".into(), name);
                }
            }
            let spec = ensure_object(obj, "spec");
            spec.entry("finalizers")
                .or_insert_with(|| json!(["kubernetes"]));
        }
        "EndpointSlice" => {
            if let Some(ports) = obj.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports {
                    if p.get("protocol").is_none() {
                        set(p, "protocol", json!("TCP"));
                    }
                }
            }
        }
        _ => {}
    }
}

fn default_pod_spec(spec: Option<&mut Value>) {
    let Some(spec) = spec.and_then(Value::as_object_mut) else {
        return;
    };
    spec.entry("restartPolicy")
        .or_insert_with(|| json!("Always"));
    spec.entry("terminationGracePeriodSeconds")
        .or_insert_with(|| json!(30));
    spec.entry("dnsPolicy")
        .or_insert_with(|| json!("ClusterFirst"));
    spec.entry("securityContext").or_insert_with(|| json!({}));
    spec.entry("schedulerName")
        .or_insert_with(|| json!("default-scheduler"));
    spec.entry("enableServiceLinks")
        .or_insert_with(|| json!(true));
    for list in ["containers", "initContainers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            cs.iter_mut().for_each(default_container);
        }
    }
    if let Some(volumes) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in volumes {
            for source in ["configMap", "secret"] {
                if let Some(s) = v.get_mut(source).and_then(Value::as_object_mut) {
                    s.entry("defaultMode").or_insert_with(|| json!(420));
                }
            }
        }
    }
}

fn default_container(c: &mut Value) {
    let Some(map) = c.as_object_mut() else { return };
    let image = map
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    map.entry("terminationMessagePath")
        .or_insert_with(|| json!("/dev/termination-log"));
    map.entry("terminationMessagePolicy")
        .or_insert_with(|| json!("File"));
    map.entry("resources").or_insert_with(|| json!({}));
    map.entry("imagePullPolicy").or_insert_with(|| {
        let tag = image
            .rsplit('/')
            .next()
            .and_then(|last| last.split_once(':'))
            .map(|(_, t)| t);
        if image.contains('@') || tag.is_some_and(|t| t != "latest") {
            json!("IfNotPresent")
        } else {
            json!("Always")
        }
    });
    if let Some(ports) = map.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            if p.get("protocol").is_none() {
                set(p, "protocol", json!("TCP"));
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = map.get_mut(probe).and_then(Value::as_object_mut) {
            p.entry("timeoutSeconds").or_insert_with(|| json!(1));
            p.entry("periodSeconds").or_insert_with(|| json!(10));
            p.entry("successThreshold").or_insert_with(|| json!(1));
            p.entry("failureThreshold").or_insert_with(|| json!(3));
            if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                h.entry("scheme").or_insert_with(|| json!("HTTP"));
            }
        }
    }
}

/// Guaranteed when every container has equal CPU and memory requests and limits,
/// BestEffort when none has any, Burstable otherwise.
fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_array))
        .flatten()
        .collect();
    let any = containers.iter().any(|c| {
        let r = &c["resources"];
        r.get("requests")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
            || r.get("limits")
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let r = &c["resources"];
        ["cpu", "memory"].iter().all(|res| {
            let limit = r.pointer(&format!("/limits/{res}"));
            let request = r.pointer(&format!("/requests/{res}")).or(limit);
            limit.is_some() && limit == request
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_gets_ip_and_ports() {
        let mut alloc = Allocations::new(1);
        let mut svc = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}});
        apply_defaults("Service", &mut svc);
        on_create("Service", &mut svc, &mut alloc).unwrap();
        let ip: Ipv4Addr = svc["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
        assert_eq!(ip.octets()[..2], [10, 96]);
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], 80);
        let np = svc["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
        assert!((30000..=32767).contains(&np));
        let mut dup = json!({"spec": {"clusterIP": ip.to_string(), "ports": [{"port": 80}]}});
        let err = on_create("Service", &mut dup, &mut alloc).unwrap_err();
        assert!(err.1.contains("already allocated"), "{err:?}");
        alloc.release("Service", &svc);
        on_create("Service", &mut dup, &mut alloc).unwrap();
    }

    #[test]
    fn pod_defaults_and_qos() {
        let mut alloc = Allocations::new(1);
        let mut pod = json!({"spec": {"containers": [{"name": "a", "image": "nginx",
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}});
        on_create("Pod", &mut pod, &mut alloc).unwrap();
        assert_eq!(pod["status"]["qosClass"], "Guaranteed");
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(pod["spec"]["serviceAccountName"], "default");
        let mut best = json!({"spec": {"containers": [{"name": "a", "image": "nginx:1.27"}]}});
        on_create("Pod", &mut best, &mut alloc).unwrap();
        assert_eq!(best["status"]["qosClass"], "BestEffort");
        assert_eq!(
            best["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }
}
