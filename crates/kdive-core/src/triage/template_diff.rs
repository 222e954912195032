//! A pod template's essentials (images, env names, probes, resources, mounted config) and
//! the one-line difference of two: what a rollout changed, in the words `kubectl set`
//! would use. Env values are never kept, only a fingerprint, so Secrets pasted into env
//! stay out of memory and output.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use k8s_openapi::api::core::v1::{Container, PodTemplateSpec, Probe};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateSummary {
    containers: Vec<ContainerEssentials>,
    /// `configMap app-config`, `secret db`, `pvc data`.
    volumes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ContainerEssentials {
    name: String,
    image: String,
    /// Env name → fingerprint of its value or source.
    env: BTreeMap<String, u64>,
    env_from: Vec<String>,
    probes: BTreeMap<&'static str, String>,
    resources: BTreeMap<String, String>,
    command: u64,
}

impl TemplateSummary {
    pub fn of(t: &PodTemplateSpec) -> TemplateSummary {
        let Some(spec) = &t.spec else {
            return TemplateSummary::default();
        };
        let mut volumes: Vec<String> = spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| {
                if let Some(c) = &v.config_map {
                    Some(format!("configMap {}", c.name))
                } else if let Some(s) = &v.secret {
                    Some(format!("secret {}", s.secret_name.as_deref().unwrap_or("")))
                } else {
                    v.persistent_volume_claim
                        .as_ref()
                        .map(|c| format!("pvc {}", c.claim_name))
                }
            })
            .collect();
        volumes.sort();
        TemplateSummary {
            containers: spec.containers.iter().map(essentials).collect(),
            volumes,
        }
    }

    /// ConfigMaps and Secrets the template reads (volumes, envFrom, env valueFrom).
    pub fn config_refs(t: &PodTemplateSpec) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let Some(spec) = &t.spec else { return out };
        for v in spec.volumes.iter().flatten() {
            if let Some(c) = &v.config_map {
                out.push(("ConfigMap", c.name.clone()));
            }
            if let Some(s) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
                out.push(("Secret", s));
            }
        }
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            for f in c.env_from.iter().flatten() {
                if let Some(r) = &f.config_map_ref {
                    out.push(("ConfigMap", r.name.clone()));
                }
                if let Some(r) = &f.secret_ref {
                    out.push(("Secret", r.name.clone()));
                }
            }
            for e in c.env.iter().flatten() {
                let from = e.value_from.as_ref();
                if let Some(r) = from.and_then(|f| f.config_map_key_ref.as_ref()) {
                    out.push(("ConfigMap", r.name.clone()));
                }
                if let Some(r) = from.and_then(|f| f.secret_key_ref.as_ref()) {
                    out.push(("Secret", r.name.clone()));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

fn fingerprint<T: Hash>(v: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

fn essentials(c: &Container) -> ContainerEssentials {
    let env = c
        .env
        .iter()
        .flatten()
        .map(|e| {
            let source = e
                .value_from
                .as_ref()
                .map(|f| serde_json::to_string(f).unwrap_or_default());
            (e.name.clone(), fingerprint(&(&e.value, source)))
        })
        .collect();
    let env_from = c
        .env_from
        .iter()
        .flatten()
        .map(|f| match (&f.config_map_ref, &f.secret_ref) {
            (Some(r), _) => format!("configMap {}", r.name),
            (_, Some(r)) => format!("secret {}", r.name),
            _ => String::new(),
        })
        .collect();
    let mut probes = BTreeMap::new();
    for (kind, p) in [
        ("readiness", &c.readiness_probe),
        ("liveness", &c.liveness_probe),
        ("startup", &c.startup_probe),
    ] {
        if let Some(p) = p {
            probes.insert(kind, probe_text(p));
        }
    }
    let mut resources = BTreeMap::new();
    if let Some(r) = &c.resources {
        for (what, map) in [("requests", &r.requests), ("limits", &r.limits)] {
            for (k, q) in map.iter().flatten() {
                resources.insert(format!("{what}.{k}"), q.0.clone());
            }
        }
    }
    ContainerEssentials {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        env,
        env_from,
        probes,
        resources,
        command: fingerprint(&(&c.command, &c.args)),
    }
}

fn probe_text(p: &Probe) -> String {
    let action = if let Some(h) = &p.http_get {
        format!(
            "http-get {}:{}",
            h.path.as_deref().unwrap_or("/"),
            port_text(&h.port)
        )
    } else if let Some(t) = &p.tcp_socket {
        format!("tcp-socket :{}", port_text(&t.port))
    } else if let Some(e) = &p.exec {
        format!("exec {}", e.command.as_deref().unwrap_or(&[]).join(" "))
    } else if let Some(g) = &p.grpc {
        format!("grpc :{}", g.port)
    } else {
        "none".into()
    };
    let mut timing = Vec::new();
    for (name, v) in [
        ("delay", p.initial_delay_seconds),
        ("period", p.period_seconds),
        ("timeout", p.timeout_seconds),
        ("failures", p.failure_threshold),
    ] {
        if let Some(v) = v {
            timing.push(format!("{name}={v}"));
        }
    }
    if timing.is_empty() {
        action
    } else {
        format!("{action} {}", timing.join(" "))
    }
}

fn port_text(p: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString) -> String {
    match p {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => n.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
    }
}

/// What changed from `old` to `new`, one short phrase per change, container by container.
pub fn template_changes(old: &TemplateSummary, new: &TemplateSummary) -> Vec<String> {
    let mut out = Vec::new();
    for c in &new.containers {
        let Some(o) = old.containers.iter().find(|o| o.name == c.name) else {
            out.push(format!("container {} added ({})", c.name, c.image));
            continue;
        };
        let n = &c.name;
        if o.image != c.image {
            out.push(format!("image {n}: {} → {}", o.image, c.image));
        }
        let mut env = Vec::new();
        for (k, v) in &c.env {
            match o.env.get(k) {
                None => env.push(format!("+{k}")),
                Some(ov) if ov != v => env.push(format!("~{k}")),
                _ => {}
            }
        }
        env.extend(
            o.env
                .keys()
                .filter(|k| !c.env.contains_key(*k))
                .map(|k| format!("-{k}")),
        );
        if !env.is_empty() {
            out.push(format!("env {n}: {}", env.join(" ")));
        }
        if o.env_from != c.env_from {
            out.push(format!(
                "envFrom {n}: [{}] → [{}]",
                o.env_from.join(", "),
                c.env_from.join(", ")
            ));
        }
        for kind in ["readiness", "liveness", "startup"] {
            match (o.probes.get(kind), c.probes.get(kind)) {
                (Some(a), Some(b)) if a != b => out.push(format!("{kind} probe {n}: {a} → {b}")),
                (None, Some(b)) => out.push(format!("{kind} probe {n} added: {b}")),
                (Some(_), None) => out.push(format!("{kind} probe {n} removed")),
                _ => {}
            }
        }
        let mut res = Vec::new();
        for (k, v) in &c.resources {
            match o.resources.get(k) {
                Some(ov) if ov != v => res.push(format!("{k} {ov} → {v}")),
                None => res.push(format!("{k} {v}")),
                _ => {}
            }
        }
        res.extend(
            o.resources
                .keys()
                .filter(|k| !c.resources.contains_key(*k))
                .map(|k| format!("{k} removed")),
        );
        if !res.is_empty() {
            out.push(format!("resources {n}: {}", res.join(", ")));
        }
        if o.command != c.command {
            out.push(format!("command {n} changed"));
        }
    }
    for o in &old.containers {
        if !new.containers.iter().any(|c| c.name == o.name) {
            out.push(format!("container {} removed", o.name));
        }
    }
    for v in &new.volumes {
        if !old.volumes.contains(v) {
            out.push(format!("volume {v} added"));
        }
    }
    for v in &old.volumes {
        if !new.volumes.contains(v) {
            out.push(format!("volume {v} removed"));
        }
    }
    out
}
