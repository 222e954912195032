//! The Node status a kubelet posts: conditions with their heartbeat, addresses, capacity
//! and nodeInfo. Pure: the current object and `now` in, the status to write out.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::store::format_time;

pub const KUBELET_VERSION: &str = "v1.32.2";
pub const CONTAINER_RUNTIME: &str = "containerd://1.7.24";

/// (type, status, reason, message) in the order kubelet lists them.
const CONDITIONS: [(&str, &str, &str, &str); 4] = [
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    (
        "DiskPressure",
        "False",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
    ),
    (
        "PIDPressure",
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
    ),
    (
        "Ready",
        "True",
        "KubeletReady",
        "kubelet is posting ready status",
    ),
];

/// A 4-CPU, 16 GiB node that takes 110 pods, as a kind worker reports it.
fn default_capacity() -> Value {
    json!({
        "cpu": "4",
        "ephemeral-storage": "102687672Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": "16365432Ki",
        "pods": "110"
    })
}

/// The node's InternalIP if its object has one.
pub fn internal_ip(node: &Value) -> Option<String> {
    node.pointer("/status/addresses")?
        .as_array()?
        .iter()
        .find(|a| a["type"] == "InternalIP")?
        .get("address")?
        .as_str()
        .filter(|a| !a.is_empty())
        .map(String::from)
}

fn hex_id(name: &str, salt: u64) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    let h2 = h.rotate_left(29).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("{h:016x}{h2:016x}")
}

fn uuid_like(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The status to post. `heartbeat` stamps every condition's lastHeartbeatTime with `now`;
/// otherwise existing heartbeats stay, so an unrelated sync writes nothing.
pub fn desired(node: &Value, host_ip: &str, now: DateTime<Utc>, heartbeat: bool) -> Value {
    let name = node
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let old = node.get("status").cloned().unwrap_or_else(|| json!({}));
    let mut status: Map<String, Value> = old.as_object().cloned().unwrap_or_default();
    let stamp = format_time(now);
    let old_conditions: Vec<Value> = old
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let conditions: Vec<Value> = CONDITIONS
        .iter()
        .map(|(type_, st, reason, message)| {
            let prev = old_conditions.iter().find(|c| c["type"] == *type_);
            let same = prev.is_some_and(|p| p["status"] == *st);
            let transition = prev
                .filter(|_| same)
                .and_then(|p| p.get("lastTransitionTime").cloned())
                .unwrap_or_else(|| json!(stamp));
            let beat = prev
                .filter(|_| same && !heartbeat)
                .and_then(|p| p.get("lastHeartbeatTime").cloned())
                .unwrap_or_else(|| json!(stamp));
            json!({
                "type": type_, "status": st, "reason": reason, "message": message,
                "lastHeartbeatTime": beat, "lastTransitionTime": transition,
            })
        })
        .collect();
    // Conditions kubelet does not own (e.g. NetworkUnavailable) stay after its own.
    let others = old_conditions
        .into_iter()
        .filter(|c| !CONDITIONS.iter().any(|(t, ..)| c["type"] == *t));
    status.insert(
        "conditions".into(),
        Value::Array(conditions.into_iter().chain(others).collect()),
    );
    let ip = internal_ip(node).unwrap_or_else(|| host_ip.to_string());
    status.insert(
        "addresses".into(),
        json!([
            {"type": "InternalIP", "address": ip},
            {"type": "Hostname", "address": name},
        ]),
    );
    let capacity = status
        .get("capacity")
        .filter(|c| c.as_object().is_some_and(|m| !m.is_empty()))
        .cloned()
        .unwrap_or_else(default_capacity);
    status.insert("capacity".into(), capacity.clone());
    if status
        .get("allocatable")
        .is_none_or(|a| a.as_object().is_none_or(|m| m.is_empty()))
    {
        status.insert("allocatable".into(), capacity);
    }
    let machine = hex_id(name, 1);
    let boot = hex_id(name, 2);
    status.insert(
        "nodeInfo".into(),
        json!({
            "machineID": machine,
            "systemUUID": uuid_like(&hex_id(name, 3)),
            "bootID": uuid_like(&boot),
            "kernelVersion": "6.8.0-1021-aws",
            "osImage": "Debian GNU/Linux 12 (bookworm)",
            "containerRuntimeVersion": CONTAINER_RUNTIME,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        }),
    );
    status.insert(
        "daemonEndpoints".into(),
        json!({"kubeletEndpoint": {"Port": 10250}}),
    );
    Value::Object(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, s).unwrap()
    }

    #[test]
    fn a_bare_node_gets_ready_conditions_addresses_and_defaults() {
        let node = json!({"metadata": {"name": "worker-1"}, "spec": {"podCIDR": "10.244.1.0/24"}});
        let st = desired(&node, "172.18.0.2", at(0), true);
        let types: Vec<&str> = st["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
        );
        assert_eq!(
            st["conditions"][3],
            json!({"type": "Ready", "status": "True", "reason": "KubeletReady",
                   "message": "kubelet is posting ready status",
                   "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                   "lastTransitionTime": "2026-01-01T00:00:00Z"})
        );
        assert_eq!(
            st["addresses"],
            json!([{"type": "InternalIP", "address": "172.18.0.2"},
                   {"type": "Hostname", "address": "worker-1"}])
        );
        assert_eq!(st["allocatable"]["pods"], "110");
        assert_eq!(st["nodeInfo"]["kubeletVersion"], "v1.32.2");
        assert_eq!(st["nodeInfo"]["architecture"], "amd64");
    }

    #[test]
    fn heartbeats_move_only_when_asked_and_transitions_stay() {
        let mut node = json!({"metadata": {"name": "n"}});
        node["status"] = desired(&node, "172.18.0.3", at(0), true);
        let quiet = desired(&node, "172.18.0.3", at(5), false);
        assert_eq!(
            quiet, node["status"],
            "a non-heartbeat sync changes nothing"
        );
        let beat = desired(&node, "172.18.0.3", at(10), true);
        assert_eq!(
            beat["conditions"][3]["lastHeartbeatTime"],
            "2026-01-01T00:00:10Z"
        );
        assert_eq!(
            beat["conditions"][3]["lastTransitionTime"],
            "2026-01-01T00:00:00Z"
        );
    }

    #[test]
    fn an_existing_internal_ip_and_capacity_are_kept() {
        let node = json!({"metadata": {"name": "n"}, "status": {
            "addresses": [{"type": "InternalIP", "address": "10.0.1.17"}],
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "20"}}});
        let st = desired(&node, "172.18.0.9", at(0), true);
        assert_eq!(st["addresses"][0]["address"], "10.0.1.17");
        assert_eq!(
            st["capacity"],
            json!({"cpu": "2", "memory": "4Gi", "pods": "20"})
        );
        assert_eq!(st["allocatable"], st["capacity"]);
    }
}
