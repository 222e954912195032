//! The core group's kinds for `object_validation`: pod specs (also inside workload
//! templates), Services, ConfigMaps and Secrets, as `pkg/apis/core/validation/validation.go`
//! (kubernetes) and `pkg/util/validation/validation.go` (apimachinery v0.32.0) word them.

use serde_json::Value;

use super::{MAX_SECRET_SIZE, int, labels, object, sorted, text};
use crate::field_errors::{BadValue, FieldError};
use crate::validation::is_dns1123_label;

const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// The parts of `ValidatePodSpec` the lab reproduces: containers (names, images, ports),
/// init containers, and the restart policy.
pub(super) fn pod_spec(spec: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let containers = spec.get("containers").and_then(Value::as_array);
    match containers {
        Some(list) if !list.is_empty() => {
            container_list(list, &format!("{path}.containers"), errs);
        }
        _ => errs.push(FieldError::required(format!("{path}.containers"), "")),
    }
    if let Some(list) = spec.get("initContainers").and_then(Value::as_array) {
        container_list(list, &format!("{path}.initContainers"), errs);
    }
    if let Some(policy) = text(spec, "restartPolicy")
        && !matches!(policy, "Always" | "OnFailure" | "Never")
    {
        errs.push(FieldError::not_supported(
            format!("{path}.restartPolicy"),
            BadValue::Str(policy.into()),
            &["Always", "OnFailure", "Never"],
        ));
    }
}

/// `validateContainers`: each container's common checks, then unique names.
fn container_list(list: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    let mut names: Vec<&str> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let name = text(c, "name").unwrap_or_default();
        if name.is_empty() {
            errs.push(FieldError::required(format!("{p}.name"), ""));
        } else {
            for msg in is_dns1123_label(name) {
                errs.push(FieldError::invalid(
                    format!("{p}.name"),
                    BadValue::Str(name.into()),
                    msg,
                ));
            }
        }
        if text(c, "image").unwrap_or_default().is_empty() {
            errs.push(FieldError::required(format!("{p}.image"), ""));
        }
        if let Some(ports) = c.get("ports").and_then(Value::as_array) {
            container_ports(ports, &format!("{p}.ports"), errs);
        }
        if names.contains(&name) {
            errs.push(FieldError::duplicate(
                format!("{p}.name"),
                BadValue::Str(name.into()),
            ));
        } else {
            names.push(name);
        }
    }
}

/// `IsValidPortName`.
pub fn port_name_problems(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push(crate::validation::max_len_error(15));
    }
    let b = name.as_bytes();
    if b.is_empty()
        || !b
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !b.iter().any(u8::is_ascii_lowercase) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

fn valid_port(n: i64) -> bool {
    (1..=65535).contains(&n)
}

/// `validateContainerPorts`.
fn container_ports(ports: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Some(name) = text(port, "name").filter(|n| !n.is_empty()) {
            let problems = port_name_problems(name);
            if !problems.is_empty() {
                for msg in problems {
                    errs.push(FieldError::invalid(
                        format!("{p}.name"),
                        BadValue::Str(name.into()),
                        msg,
                    ));
                }
            } else if names.contains(&name) {
                errs.push(FieldError::duplicate(
                    format!("{p}.name"),
                    BadValue::Str(name.into()),
                ));
            } else {
                names.push(name);
            }
        }
        match int(port, "containerPort").unwrap_or(0) {
            0 => errs.push(FieldError::required(format!("{p}.containerPort"), "")),
            n if !valid_port(n) => errs.push(FieldError::invalid(
                format!("{p}.containerPort"),
                BadValue::Int(n),
                PORT_RANGE,
            )),
            _ => {}
        }
        if let Some(n) = int(port, "hostPort").filter(|n| *n != 0 && !valid_port(*n)) {
            errs.push(FieldError::invalid(
                format!("{p}.hostPort"),
                BadValue::Int(n),
                PORT_RANGE,
            ));
        }
        protocol(port, &p, errs);
    }
}

fn protocol(port: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(proto) = text(port, "protocol")
        && !PROTOCOLS.contains(&proto)
    {
        errs.push(FieldError::not_supported(
            format!("{path}.protocol"),
            BadValue::Str(proto.into()),
            PROTOCOLS,
        ));
    }
}

/// The parts of `ValidateService` the lab reproduces: ports (names, numbers, protocols,
/// target ports, duplicates), the selector's labels, session affinity and type.
pub(super) fn service_spec(spec: &Value, errs: &mut Vec<FieldError>) {
    let ports = spec
        .get("ports")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let svc_type = text(spec, "type");
    let headless = text(spec, "clusterIP") == Some("None");
    if ports.is_empty() && !headless && svc_type != Some("ExternalName") {
        errs.push(FieldError::required("spec.ports", ""));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let p = format!("spec.ports[{i}]");
        let name = text(port, "name").unwrap_or_default();
        if ports.len() > 1 && name.is_empty() {
            errs.push(FieldError::required(format!("{p}.name"), ""));
        } else if !name.is_empty() {
            for msg in is_dns1123_label(name) {
                errs.push(FieldError::invalid(
                    format!("{p}.name"),
                    BadValue::Str(name.into()),
                    msg,
                ));
            }
            if names.contains(&name) {
                errs.push(FieldError::duplicate(
                    format!("{p}.name"),
                    BadValue::Str(name.into()),
                ));
            } else {
                names.push(name);
            }
        }
        let number = int(port, "port").unwrap_or(0);
        if !valid_port(number) {
            errs.push(FieldError::invalid(
                format!("{p}.port"),
                BadValue::Int(number),
                PORT_RANGE,
            ));
        }
        protocol(port, &p, errs);
        // `ValidatePortNumOrName`; an absent (zero) target port defaults to the port.
        match port.get("targetPort") {
            Some(Value::String(s)) => {
                for msg in port_name_problems(s) {
                    errs.push(FieldError::invalid(
                        format!("{p}.targetPort"),
                        BadValue::Str(s.clone()),
                        msg,
                    ));
                }
            }
            Some(Value::Number(n)) => {
                let n = n.as_i64().unwrap_or(0);
                if n != 0 && !valid_port(n) {
                    errs.push(FieldError::invalid(
                        format!("{p}.targetPort"),
                        BadValue::Int(n),
                        PORT_RANGE,
                    ));
                }
            }
            _ => {}
        }
    }
    labels(object(spec, "selector"), "spec.selector", errs);
    if let Some(affinity) = text(spec, "sessionAffinity")
        && !matches!(affinity, "ClientIP" | "None")
    {
        errs.push(FieldError::not_supported(
            "spec.sessionAffinity",
            BadValue::Str(affinity.into()),
            &["ClientIP", "None"],
        ));
    }
    if let Some(t) = svc_type
        && !matches!(
            t,
            "ClusterIP" | "ExternalName" | "LoadBalancer" | "NodePort"
        )
    {
        errs.push(FieldError::not_supported(
            "spec.type",
            BadValue::Str(t.into()),
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        ));
    }
    // Duplicate (protocol, port) pairs; the bad value is the internal `core.ServicePort` key.
    let mut seen: Vec<(String, i64)> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let key = (
            text(port, "protocol").unwrap_or("TCP").to_string(),
            int(port, "port").unwrap_or(0),
        );
        if seen.contains(&key) {
            errs.push(FieldError::duplicate(
                format!("spec.ports[{i}]"),
                BadValue::Go(format!(
                    "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                    crate::field_errors::go_quote(&key.0),
                    key.1
                )),
            ));
        } else {
            seen.push(key);
        }
    }
}

/// `ValidateConfigMap` / `ValidateSecret`: keys are config keys (`IsConfigMapKey`), a
/// ConfigMap key may not be in both bags, and the data is at most 1 MiB. A Secret's
/// `stringData` is merged into `data` before validation, so its keys are named `data[k]`.
pub(super) fn config_data(obj: &Value, secret: bool, errs: &mut Vec<FieldError>) {
    let mut total = 0usize;
    let bags: [(&str, &str, bool); 2] = if secret {
        [("data", "data", true), ("stringData", "data", false)]
    } else {
        [("data", "data", false), ("binaryData", "binaryData", true)]
    };
    for (bag, name, bytes) in bags {
        let Some(map) = object(obj, bag) else {
            continue;
        };
        for (key, value) in sorted(map) {
            let path = format!("{name}[{key}]");
            for msg in config_key_problems(key) {
                errs.push(FieldError::invalid(&path, BadValue::Str(key.clone()), msg));
            }
            if !secret
                && bag == "data"
                && object(obj, "binaryData").is_some_and(|m| m.contains_key(key))
            {
                errs.push(FieldError::invalid(
                    &path,
                    BadValue::Str(key.clone()),
                    "duplicate of key present in binaryData",
                ));
            }
            let len = value.as_str().map_or(0, str::len);
            // `[]byte` fields count decoded bytes (base64: 4 characters for 3 bytes).
            total += if bytes { len / 4 * 3 } else { len };
        }
    }
    if total > MAX_SECRET_SIZE {
        // Upstream passes the path "" for "the whole object".
        errs.push(FieldError::too_long("", MAX_SECRET_SIZE));
    }
}

/// `IsConfigMapKey`.
pub fn config_key_problems(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > crate::validation::DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(crate::validation::max_len_error(
            crate::validation::DNS1123_SUBDOMAIN_MAX_LENGTH,
        ));
    }
    let ok = !key.is_empty()
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
    if !ok {
        errs.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".into());
    }
    if key == "." {
        errs.push("must not be '.'".into());
    } else if key == ".." {
        errs.push("must not be '..'".into());
    } else if key.starts_with("..") {
        errs.push("must not start with '..'".into());
    }
    errs
}
