//! Rows for core/v1 kinds (and discovery.k8s.io EndpointSlices).

use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Row;
use super::fields::{
    age, arr_at, bool_at, format_labels, int_at, name, obj_at, present, since, str_at, time,
};

/// At most this many addresses are listed before `+ N more...`.
const LIST_MAX: usize = 3;

pub(crate) fn print_service(svc: &Value, now: DateTime<Utc>) -> Row {
    // The server defaults `type` to ClusterIP and `clusterIPs` from `clusterIP`.
    let svc_type = match str_at(svc, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = arr_at(svc, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .or(Some(str_at(svc, "/spec/clusterIP")).filter(|s| !s.is_empty()))
        .unwrap_or("<none>");
    let ports: Vec<String> = arr_at(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let protocol = match str_at(p, "/protocol") {
                "" => "TCP",
                proto => proto,
            };
            let node_port = int_at(p, "/nodePort");
            if node_port > 0 {
                format!("{}:{node_port}/{protocol}", int_at(p, "/port"))
            } else {
                format!("{}/{protocol}", int_at(p, "/port"))
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    Row::new(vec![
        json!(name(svc)),
        json!(svc_type),
        json!(cluster_ip),
        json!(external_ip(svc, svc_type)),
        json!(ports),
        json!(age(svc, now)),
        json!(format_labels(obj_at(svc, "/spec/selector"))),
    ])
}

fn strings(v: &[Value]) -> Vec<&str> {
    v.iter().filter_map(Value::as_str).collect()
}

/// `getServiceExternalIP` (wide, so load-balancer addresses are not clipped).
fn external_ip(svc: &Value, svc_type: &str) -> String {
    let external = strings(arr_at(svc, "/spec/externalIPs"));
    match svc_type {
        "ClusterIP" | "NodePort" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" => "<none>".to_string(),
        "LoadBalancer" => {
            let lb: BTreeSet<&str> = arr_at(svc, "/status/loadBalancer/ingress")
                .iter()
                .filter_map(|i| match (str_at(i, "/ip"), str_at(i, "/hostname")) {
                    ("", "") => None,
                    ("", host) => Some(host),
                    (ip, _) => Some(ip),
                })
                .collect();
            let mut all: Vec<&str> = lb.into_iter().collect();
            all.extend(external);
            if all.is_empty() {
                "<pending>".to_string()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => str_at(svc, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// Go's `net.JoinHostPort`: IPv6 addresses get brackets.
fn host_port(ip: &str, port: i64) -> String {
    if ip.parse::<Ipv6Addr>().is_ok() || ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// `formatEndpoints`: `ip:port` per address and port, at most three, then `+ N more...`.
fn format_endpoints(ep: &Value) -> String {
    let subsets = arr_at(ep, "/subsets");
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for subset in subsets {
        let addresses = arr_at(subset, "/addresses");
        let ports = arr_at(subset, "/ports");
        if ports.is_empty() {
            // Headless services may have no ports.
            count += addresses.len();
            for addr in addresses {
                if list.len() == LIST_MAX {
                    more = true;
                    break;
                }
                list.push(str_at(addr, "/ip").to_string());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for addr in addresses {
                if list.len() == LIST_MAX {
                    more = true;
                    break;
                }
                list.push(host_port(str_at(addr, "/ip"), int_at(port, "/port")));
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count - LIST_MAX)
    } else {
        joined
    }
}

pub(crate) fn print_endpoints(ep: &Value, now: DateTime<Utc>) -> Row {
    Row::new(vec![
        json!(name(ep)),
        json!(format_endpoints(ep)),
        json!(age(ep, now)),
    ])
}

/// `listWithMoreString`: the first three, `+ N more...`, or `<unset>` when empty.
fn list_with_more(items: Vec<String>) -> String {
    let count = items.len();
    if count > LIST_MAX {
        return format!(
            "{} + {} more...",
            items[..LIST_MAX].join(","),
            count - LIST_MAX
        );
    }
    if count == 0 {
        return "<unset>".to_string();
    }
    items.join(",")
}

pub(crate) fn print_endpoint_slice(slice: &Value, now: DateTime<Utc>) -> Row {
    let ports: Vec<String> = arr_at(slice, "/ports")
        .iter()
        .map(|p| match (present(p, "/port"), present(p, "/name")) {
            (Some(port), _) => port.as_i64().unwrap_or(0).to_string(),
            (None, Some(n)) => n.as_str().unwrap_or("").to_string(),
            (None, None) => "*".to_string(),
        })
        .collect();
    let addresses: Vec<String> = arr_at(slice, "/endpoints")
        .iter()
        .flat_map(|e| strings(arr_at(e, "/addresses")))
        .map(String::from)
        .collect();
    Row::new(vec![
        json!(name(slice)),
        json!(str_at(slice, "/addressType")),
        json!(list_with_more(ports)),
        json!(list_with_more(addresses)),
        json!(age(slice, now)),
    ])
}

fn node_address(node: &Value, kind: &str) -> String {
    arr_at(node, "/status/addresses")
        .iter()
        .find(|a| str_at(a, "/type") == kind)
        .map(|a| str_at(a, "/address").to_string())
        .unwrap_or_else(|| "<none>".to_string())
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "<unknown>" } else { s }
}

pub(crate) fn print_node(node: &Value, now: DateTime<Utc>) -> Row {
    // Only the Ready condition counts; the last one of that type wins.
    let ready = arr_at(node, "/status/conditions")
        .iter()
        .rfind(|c| str_at(c, "/type") == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_at(c, "/status") == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if bool_at(node, "/spec/unschedulable") {
        status.push("SchedulingDisabled");
    }
    let mut roles = BTreeSet::new();
    for (key, value) in obj_at(node, "/metadata/labels").into_iter().flatten() {
        if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.insert(role.to_string());
            }
        } else if key == "kubernetes.io/role" {
            let role = value.as_str().unwrap_or("");
            if !role.is_empty() {
                roles.insert(role.to_string());
            }
        }
    }
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    };
    Row::new(vec![
        json!(name(node)),
        json!(status.join(",")),
        json!(roles),
        json!(age(node, now)),
        json!(str_at(node, "/status/nodeInfo/kubeletVersion")),
        json!(node_address(node, "InternalIP")),
        json!(node_address(node, "ExternalIP")),
        json!(or_unknown(str_at(node, "/status/nodeInfo/osImage"))),
        json!(or_unknown(str_at(node, "/status/nodeInfo/kernelVersion"))),
        json!(or_unknown(str_at(
            node,
            "/status/nodeInfo/containerRuntimeVersion"
        ))),
    ])
}

pub(crate) fn print_namespace(ns: &Value, now: DateTime<Utc>) -> Row {
    Row::new(vec![
        json!(name(ns)),
        json!(str_at(ns, "/status/phase")),
        json!(age(ns, now)),
    ])
}

fn map_len(v: &Value, pointer: &str) -> usize {
    obj_at(v, pointer).map_or(0, |m| m.len())
}

pub(crate) fn print_config_map(cm: &Value, now: DateTime<Utc>) -> Row {
    let data = map_len(cm, "/data") + map_len(cm, "/binaryData");
    Row::new(vec![json!(name(cm)), json!(data), json!(age(cm, now))])
}

pub(crate) fn print_secret(secret: &Value, now: DateTime<Utc>) -> Row {
    // The server defaults an empty type to Opaque.
    let kind = match str_at(secret, "/type") {
        "" => "Opaque",
        t => t,
    };
    Row::new(vec![
        json!(name(secret)),
        json!(kind),
        json!(map_len(secret, "/data")),
        json!(age(secret, now)),
    ])
}

pub(crate) fn print_service_account(sa: &Value, now: DateTime<Utc>) -> Row {
    Row::new(vec![
        json!(name(sa)),
        json!(arr_at(sa, "/secrets").len()),
        json!(age(sa, now)),
    ])
}

/// An events.k8s.io/v1 Event seen through the core/v1 field names the printer reads.
fn core_event_view(ev: &Value) -> Value {
    if !str_at(ev, "/apiVersion").starts_with("events.k8s.io/") {
        return ev.clone();
    }
    let get = |p: &str| present(ev, p).cloned().unwrap_or(Value::Null);
    json!({
        "metadata": get("/metadata"),
        "involvedObject": get("/regarding"),
        "reason": get("/reason"),
        "message": get("/note"),
        "type": get("/type"),
        "source": get("/deprecatedSource"),
        "firstTimestamp": get("/deprecatedFirstTimestamp"),
        "lastTimestamp": get("/deprecatedLastTimestamp"),
        "count": get("/deprecatedCount"),
        "eventTime": get("/eventTime"),
        "series": get("/series"),
        "reportingComponent": get("/reportingController"),
        "reportingInstance": get("/reportingInstance"),
    })
}

pub(crate) fn print_event(event: &Value, now: DateTime<Utc>) -> Row {
    let ev = core_event_view(event);
    let first = if time(ev.pointer("/firstTimestamp")).is_some() {
        since(ev.pointer("/firstTimestamp"), now)
    } else {
        since(ev.pointer("/eventTime"), now)
    };
    let mut last = if time(ev.pointer("/lastTimestamp")).is_some() {
        since(ev.pointer("/lastTimestamp"), now)
    } else {
        first.clone()
    };
    let mut count = int_at(&ev, "/count");
    if present(&ev, "/series").is_some() {
        last = since(ev.pointer("/series/lastObservedTime"), now);
        count = int_at(&ev, "/series/count");
    } else if count == 0 {
        // Singleton events have no count in the new API.
        count = 1;
    }
    let kind = str_at(&ev, "/involvedObject/kind").to_lowercase();
    let target = match str_at(&ev, "/involvedObject/name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    Row::new(vec![
        json!(last),
        json!(str_at(&ev, "/type")),
        json!(str_at(&ev, "/reason")),
        json!(target),
        json!(str_at(&ev, "/involvedObject/fieldPath")),
        json!(event_source(&ev)),
        json!(str_at(&ev, "/message").trim()),
        json!(first),
        json!(count),
        json!(name(&ev)),
    ])
}

/// `formatEventSource`: component (or reporting controller), then `, host` when known.
fn event_source(ev: &Value) -> String {
    let first_non_empty =
        |a: &str, b: &str| -> String { if a.is_empty() { b } else { a }.to_string() };
    let component = first_non_empty(
        str_at(ev, "/source/component"),
        str_at(ev, "/reportingComponent"),
    );
    let instance = first_non_empty(str_at(ev, "/source/host"), str_at(ev, "/reportingInstance"));
    if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    }
}

/// `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order, each once.
fn access_modes(modes: &[Value]) -> String {
    let modes = strings(modes);
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(long, _)| modes.contains(long))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

const BETA_CLASS_ANNOTATION: &str =
    "/metadata/annotations/volume.beta.kubernetes.io~1storage-class";

/// The storage class: the beta annotation wins over `spec.storageClassName`.
fn storage_class(v: &Value) -> &str {
    match present(v, BETA_CLASS_ANNOTATION).and_then(Value::as_str) {
        Some(class) => class,
        None => str_at(v, "/spec/storageClassName"),
    }
}

fn unset_or(v: &Value, pointer: &str) -> String {
    present(v, pointer)
        .and_then(Value::as_str)
        .unwrap_or("<unset>")
        .to_string()
}

pub(crate) fn print_pv(pv: &Value, now: DateTime<Utc>) -> Row {
    let claim = match present(pv, "/spec/claimRef") {
        Some(r) => format!("{}/{}", str_at(r, "/namespace"), str_at(r, "/name")),
        None => String::new(),
    };
    let phase = if present(pv, "/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else {
        str_at(pv, "/status/phase")
    };
    Row::new(vec![
        json!(name(pv)),
        json!(quantity(pv, "/spec/capacity/storage")),
        json!(access_modes(arr_at(pv, "/spec/accessModes"))),
        json!(str_at(pv, "/spec/persistentVolumeReclaimPolicy")),
        json!(phase),
        json!(claim),
        json!(storage_class(pv)),
        json!(unset_or(pv, "/spec/volumeAttributesClassName")),
        json!(str_at(pv, "/status/reason")),
        json!(age(pv, now)),
        json!(unset_or(pv, "/spec/volumeMode")),
    ])
}

/// A quantity as stored; Go prints a missing one as "0".
fn quantity(v: &Value, pointer: &str) -> String {
    match present(v, pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(n @ Value::Number(_)) => n.to_string(),
        _ => "0".to_string(),
    }
}

pub(crate) fn print_pvc(pvc: &Value, now: DateTime<Utc>) -> Row {
    let phase = if present(pvc, "/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else {
        str_at(pvc, "/status/phase")
    };
    let volume = str_at(pvc, "/spec/volumeName");
    // Capacity and access modes only show once the claim is bound to a volume.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(pvc, "/status/capacity/storage"),
            access_modes(arr_at(pvc, "/status/accessModes")),
        )
    };
    Row::new(vec![
        json!(name(pvc)),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(storage_class(pvc)),
        json!(unset_or(pvc, "/spec/volumeAttributesClassName")),
        json!(age(pvc, now)),
        json!(unset_or(pvc, "/spec/volumeMode")),
    ])
}
