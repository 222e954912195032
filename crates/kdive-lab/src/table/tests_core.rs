//! Cells for core kinds, the default table and list metadata (`human_duration` buckets: kdive_core::duration).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{TableOptions, list_table, object_table};

fn now() -> DateTime<Utc> {
    "2024-01-01T12:00:00Z".parse().unwrap()
}

/// An object of `kind` named `name`, created one hour before `now` (AGE "60m"), plus `rest`.
fn obj(kind: &str, name: &str, rest: Value) -> Value {
    let mut v = json!({"apiVersion": "v1", "kind": kind,
        "metadata": {"name": name, "namespace": "default", "resourceVersion": "7",
                     "creationTimestamp": "2024-01-01T11:00:00Z"}});
    for (k, val) in rest.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

fn cells(resource: &str, v: &Value) -> Value {
    object_table(resource, v, now(), &TableOptions::default())["rows"][0]["cells"].clone()
}

fn column_names(resource: &str) -> Vec<String> {
    let t = list_table(resource, &[], "1", None, now(), &TableOptions::default());
    t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let wide = if c["priority"] == 1 { " (w)" } else { "" };
            format!("{}{wide}", c["name"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn list_metadata_and_zero_age() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
    let t = list_table(
        "configmaps",
        std::slice::from_ref(&cm),
        "100",
        Some("tok"),
        now(),
        &TableOptions::default(),
    );
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(
        t["metadata"],
        json!({"resourceVersion": "100", "continue": "tok"})
    );
    // Missing creationTimestamp is Go's zero time: <unknown>.
    assert_eq!(t["rows"][0]["cells"], json!(["a", 0, "<unknown>"]));
    let t = list_table(
        "configmaps",
        &[],
        "100",
        Some(""),
        now(),
        &TableOptions::default(),
    );
    assert_eq!(t["metadata"], json!({"resourceVersion": "100"}));
    assert_eq!(t["rows"], json!([]));
}

#[test]
fn default_table_for_roles_and_unknown_kinds() {
    for resource in ["roles", "clusterroles", "widgets"] {
        assert_eq!(column_names(resource), ["Name", "Created At"]);
    }
    let t = list_table("roles", &[], "1", None, now(), &TableOptions::default());
    assert_eq!(t["columnDefinitions"][1]["type"], "date");
    let role = obj("Role", "reader", json!({}));
    assert_eq!(
        cells("roles", &role),
        json!(["reader", "2024-01-01T11:00:00Z"])
    );
    let bare = json!({"metadata": {"name": "x"}});
    assert_eq!(
        cells("widgets", &bare),
        json!(["x", "0001-01-01T00:00:00Z"])
    );
}

#[test]
fn services() {
    assert_eq!(
        column_names("services"),
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector (w)"
        ]
    );
    let web = obj(
        "Service",
        "web",
        json!({"spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
        "clusterIPs": ["10.96.0.10"], "selector": {"tier": "fe", "app": "web"},
        "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}}),
    );
    assert_eq!(
        cells("services", &web),
        json!([
            "web",
            "ClusterIP",
            "10.96.0.10",
            "<none>",
            "80/TCP,53/UDP",
            "60m",
            "app=web,tier=fe"
        ])
    );
    let np = obj(
        "Service",
        "np",
        json!({"spec": {"type": "NodePort", "clusterIPs": ["10.96.1.1"],
        "externalIPs": ["1.2.3.4"], "ports": [{"port": 80, "nodePort": 30080}]}}),
    );
    assert_eq!(
        cells("services", &np),
        json!([
            "np",
            "NodePort",
            "10.96.1.1",
            "1.2.3.4",
            "80:30080/TCP",
            "60m",
            "<none>"
        ])
    );
    let pending = obj(
        "Service",
        "lb",
        json!({"spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.2.2"], "ports": []}}),
    );
    assert_eq!(cells("services", &pending)[3], "<pending>");
    assert_eq!(cells("services", &pending)[4], "<none>");
    // Ingress addresses sorted and de-duplicated (IP preferred over hostname), then externalIPs.
    let lb = obj(
        "Service",
        "lb",
        json!({"spec": {"type": "LoadBalancer", "externalIPs": ["9.9.9.9"]},
        "status": {"loadBalancer": {"ingress": [{"ip": "5.5.5.5"}, {"hostname": "a.example"}, {"ip": "5.5.5.5"}]}}}),
    );
    assert_eq!(cells("services", &lb)[3], "5.5.5.5,a.example,9.9.9.9");
    let ext = obj(
        "Service",
        "ext",
        json!({"spec": {"type": "ExternalName", "externalName": "db.example"}}),
    );
    assert_eq!(
        cells("services", &ext).as_array().unwrap()[2..4],
        [json!("<none>"), json!("db.example")]
    );
    let headless = obj("Service", "h", json!({"spec": {"clusterIP": "None"}}));
    assert_eq!(
        cells("services", &headless).as_array().unwrap()[1..3],
        [json!("ClusterIP"), json!("None")]
    );
}

#[test]
fn endpoints() {
    assert_eq!(column_names("endpoints"), ["Name", "Endpoints", "Age"]);
    let empty = obj("Endpoints", "e", json!({}));
    assert_eq!(cells("endpoints", &empty), json!(["e", "<none>", "60m"]));
    // 2 addresses × 2 ports = 4 pairs: 3 shown, "+ 1 more...". Port order outer, address inner.
    let ep = obj(
        "Endpoints",
        "web",
        json!({"subsets": [{
        "addresses": [{"ip": "10.0.0.1"}, {"ip": "fd00::2"}],
        "ports": [{"port": 80}, {"port": 443}]}]}),
    );
    assert_eq!(
        cells("endpoints", &ep)[1],
        "10.0.0.1:80,[fd00::2]:80,10.0.0.1:443 + 1 more..."
    );
    let headless = obj(
        "Endpoints",
        "h",
        json!({"subsets": [{"addresses": [{"ip": "10.0.0.5"}]}]}),
    );
    assert_eq!(cells("endpoints", &headless)[1], "10.0.0.5");
}

#[test]
fn endpoint_slices() {
    assert_eq!(
        column_names("endpointslices"),
        ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    );
    let s = obj(
        "EndpointSlice",
        "web-abc",
        json!({"addressType": "IPv4",
        "ports": [{"port": 80}, {"name": "metrics"}, {}, {"port": 9}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}]}),
    );
    assert_eq!(
        cells("endpointslices", &s),
        json!([
            "web-abc",
            "IPv4",
            "80,metrics,* + 1 more...",
            "10.0.0.1,10.0.0.2,10.0.0.3",
            "60m"
        ])
    );
    let bare = obj("EndpointSlice", "empty", json!({"addressType": "IPv6"}));
    assert_eq!(
        cells("endpointslices", &bare).as_array().unwrap()[2..4],
        [json!("<unset>"), json!("<unset>")]
    );
}

#[test]
fn nodes() {
    assert_eq!(
        column_names("nodes"),
        [
            "Name",
            "Status",
            "Roles",
            "Age",
            "Version",
            "Internal-IP (w)",
            "External-IP (w)",
            "OS-Image (w)",
            "Kernel-Version (w)",
            "Container-Runtime (w)"
        ]
    );
    let mut n = obj(
        "Node",
        "node-1",
        json!({
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": "node-1"}],
                   "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian", "kernelVersion": "6.1",
                                "containerRuntimeVersion": "containerd://1.7"}}}),
    );
    n["metadata"]["labels"] = json!({"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "",
                                     "kubernetes.io/role": "edge", "node-role.kubernetes.io/": ""});
    assert_eq!(
        cells("nodes", &n),
        json!([
            "node-1",
            "Ready,SchedulingDisabled",
            "control-plane,edge,worker",
            "60m",
            "v1.32.0",
            "172.18.0.2",
            "<none>",
            "Debian",
            "6.1",
            "containerd://1.7"
        ])
    );
    let not_ready = obj(
        "Node",
        "n2",
        json!({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
    );
    assert_eq!(
        cells("nodes", &not_ready),
        json!([
            "n2",
            "NotReady",
            "<none>",
            "60m",
            "",
            "<none>",
            "<none>",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ])
    );
    let unknown = obj("Node", "n3", json!({}));
    assert_eq!(cells("nodes", &unknown)[1], "Unknown");
}

#[test]
fn namespaces_configmaps_secrets_serviceaccounts() {
    assert_eq!(column_names("namespaces"), ["Name", "Status", "Age"]);
    let ns = obj(
        "Namespace",
        "prod",
        json!({"status": {"phase": "Terminating"}}),
    );
    assert_eq!(
        cells("namespaces", &ns),
        json!(["prod", "Terminating", "60m"])
    );

    assert_eq!(column_names("configmaps"), ["Name", "Data", "Age"]);
    let cm = obj(
        "ConfigMap",
        "cfg",
        json!({"data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}),
    );
    assert_eq!(cells("configmaps", &cm), json!(["cfg", 3, "60m"]));

    assert_eq!(column_names("secrets"), ["Name", "Type", "Data", "Age"]);
    let s = obj(
        "Secret",
        "tls",
        json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}),
    );
    assert_eq!(
        cells("secrets", &s),
        json!(["tls", "kubernetes.io/tls", 2, "60m"])
    );

    assert_eq!(column_names("serviceaccounts"), ["Name", "Secrets", "Age"]);
    let sa = obj(
        "ServiceAccount",
        "default",
        json!({"secrets": [{"name": "t"}]}),
    );
    assert_eq!(cells("serviceaccounts", &sa), json!(["default", 1, "60m"]));
}

#[test]
fn events() {
    assert_eq!(
        column_names("events"),
        [
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject (w)",
            "Source (w)",
            "Message",
            "First Seen (w)",
            "Count (w)",
            "Name (w)"
        ]
    );
    let e = obj(
        "Event",
        "web-1.17a",
        json!({
        "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "type": "Warning", "message": "  Back-off restarting  \n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": "2024-01-01T11:50:00Z", "lastTimestamp": "2024-01-01T11:59:00Z", "count": 5}),
    );
    assert_eq!(
        cells("events", &e),
        json!([
            "60s",
            "Warning",
            "BackOff",
            "pod/web-1",
            "spec.containers{app}",
            "kubelet, node-1",
            "Back-off restarting",
            "10m",
            5,
            "web-1.17a"
        ])
    );
    // New-style: no first/last timestamps → eventTime for both; count 0 → 1; reporting* as source.
    let new = obj(
        "Event",
        "n",
        json!({"involvedObject": {"kind": "Node"}, "reason": "R", "type": "Normal",
        "eventTime": "2024-01-01T11:58:00.000000Z", "reportingComponent": "ctrl"}),
    );
    assert_eq!(
        cells("events", &new),
        json!(["2m", "Normal", "R", "node", "", "ctrl", "", "2m", 1, "n"])
    );
    // A series: last seen and count from the series.
    let series = obj(
        "Event",
        "s",
        json!({"involvedObject": {"kind": "Pod", "name": "p"},
        "firstTimestamp": "2024-01-01T11:00:00Z", "lastTimestamp": "2024-01-01T11:10:00Z",
        "series": {"count": 9, "lastObservedTime": "2024-01-01T11:59:50.000000Z"}}),
    );
    let c = cells("events", &series);
    assert_eq!(
        (c[0].clone(), c[7].clone(), c[8].clone()),
        (json!("10s"), json!("60m"), json!(9))
    );
    // events.k8s.io/v1 objects are read through the core field names.
    let mut v1 = obj(
        "Event",
        "k",
        json!({"regarding": {"kind": "Deployment", "name": "web"},
        "note": "Scaled", "reason": "ScalingReplicaSet", "type": "Normal",
        "deprecatedFirstTimestamp": "2024-01-01T11:59:00Z", "deprecatedCount": 2,
        "reportingController": "deployment-controller"}),
    );
    v1["apiVersion"] = json!("events.k8s.io/v1");
    assert_eq!(
        cells("events", &v1),
        json!([
            "60s",
            "Normal",
            "ScalingReplicaSet",
            "deployment/web",
            "",
            "deployment-controller",
            "Scaled",
            "60s",
            2,
            "k"
        ])
    );
}

#[test]
fn persistent_volume_claims() {
    assert_eq!(
        column_names("persistentvolumeclaims"),
        [
            "Name",
            "Status",
            "Volume",
            "Capacity",
            "Access Modes",
            "StorageClass",
            "VolumeAttributesClass",
            "Age",
            "VolumeMode (w)"
        ]
    );
    let bound = obj(
        "PersistentVolumeClaim",
        "data",
        json!({
        "spec": {"volumeName": "pv-1", "storageClassName": "standard", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "capacity": {"storage": "10Gi"},
                   "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"]}}),
    );
    assert_eq!(
        cells("persistentvolumeclaims", &bound),
        json!([
            "data",
            "Bound",
            "pv-1",
            "10Gi",
            "RWO,RWX",
            "standard",
            "<unset>",
            "60m",
            "Filesystem"
        ])
    );
    // Unbound: capacity and modes blank; the beta annotation wins over storageClassName.
    let mut pending = obj(
        "PersistentVolumeClaim",
        "p",
        json!({
        "spec": {"storageClassName": "fast", "volumeAttributesClassName": "gold"},
        "status": {"phase": "Pending", "capacity": {"storage": "1Gi"}}}),
    );
    pending["metadata"]["annotations"] = json!({"volume.beta.kubernetes.io/storage-class": "old"});
    pending["metadata"]["deletionTimestamp"] = json!("2024-01-01T11:59:00Z");
    assert_eq!(
        cells("persistentvolumeclaims", &pending),
        json!([
            "p",
            "Terminating",
            "",
            "",
            "",
            "old",
            "gold",
            "60m",
            "<unset>"
        ])
    );
}

#[test]
fn persistent_volumes() {
    assert_eq!(
        column_names("persistentvolumes"),
        [
            "Name",
            "Capacity",
            "Access Modes",
            "Reclaim Policy",
            "Status",
            "Claim",
            "StorageClass",
            "VolumeAttributesClass",
            "Reason",
            "Age",
            "VolumeMode (w)"
        ]
    );
    let pv = obj(
        "PersistentVolume",
        "pv-1",
        json!({
        "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOncePod", "ReadOnlyMany"],
                 "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "default", "name": "data"},
                 "storageClassName": "standard", "volumeMode": "Block"},
        "status": {"phase": "Released", "reason": "gone"}}),
    );
    assert_eq!(
        cells("persistentvolumes", &pv),
        json!([
            "pv-1",
            "5Gi",
            "ROX,RWOP",
            "Retain",
            "Released",
            "default/data",
            "standard",
            "<unset>",
            "gone",
            "60m",
            "Block"
        ])
    );
    let bare = obj("PersistentVolume", "pv-2", json!({}));
    assert_eq!(
        cells("persistentvolumes", &bare),
        json!([
            "pv-2", "0", "", "", "", "", "", "<unset>", "", "60m", "<unset>"
        ])
    );
}
