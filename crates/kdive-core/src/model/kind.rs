//! The kinds the explorer watches, with their short names and API groups.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Kind {
    Namespace,
    Node,
    Pod,
    Service,
    EndpointSlice,
    Deployment,
    ReplicaSet,
    StatefulSet,
    ConfigMap,
    Secret,
    PersistentVolumeClaim,
    PersistentVolume,
    Event,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Namespace,
        Kind::Node,
        Kind::Pod,
        Kind::Service,
        Kind::EndpointSlice,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::StatefulSet,
        Kind::ConfigMap,
        Kind::Secret,
        Kind::PersistentVolumeClaim,
        Kind::PersistentVolume,
        Kind::Event,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Node => "Node",
            Kind::Pod => "Pod",
            Kind::Service => "Service",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
            Kind::PersistentVolume => "PersistentVolume",
            Kind::Event => "Event",
        }
    }

    /// The lower-case plural kubectl prints in `api-resources` (and the status bar uses).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Node => "nodes",
            Kind::Pod => "pods",
            Kind::Service => "services",
            Kind::EndpointSlice => "endpointslices",
            Kind::Deployment => "deployments",
            Kind::ReplicaSet => "replicasets",
            Kind::StatefulSet => "statefulsets",
            Kind::ConfigMap => "configmaps",
            Kind::Secret => "secrets",
            Kind::PersistentVolumeClaim => "persistentvolumeclaims",
            Kind::PersistentVolume => "persistentvolumes",
            Kind::Event => "events",
        }
    }

    /// kubectl's short name, used by `:` commands (`:svc web`).
    pub fn short(self) -> &'static str {
        match self {
            Kind::Namespace => "ns",
            Kind::Node => "no",
            Kind::Pod => "pod",
            Kind::Service => "svc",
            Kind::EndpointSlice => "eps",
            Kind::Deployment => "deploy",
            Kind::ReplicaSet => "rs",
            Kind::StatefulSet => "sts",
            Kind::ConfigMap => "cm",
            Kind::Secret => "secret",
            Kind::PersistentVolumeClaim => "pvc",
            Kind::PersistentVolume => "pv",
            Kind::Event => "ev",
        }
    }

    pub fn namespaced(self) -> bool {
        !matches!(self, Kind::Namespace | Kind::Node | Kind::PersistentVolume)
    }

    /// Parses what a user may type for a kind: short name, singular or plural, any case.
    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.to_ascii_lowercase();
        Kind::ALL.into_iter().find(|k| {
            s == k.short()
                || s == k.plural()
                || s == k.name().to_ascii_lowercase()
                || (*k == Kind::Pod && s == "po")
                || (*k == Kind::Service && s == "service")
                || (*k == Kind::Node && s == "node")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubectl_spellings() {
        assert_eq!(Kind::parse("svc"), Some(Kind::Service));
        assert_eq!(Kind::parse("Services"), Some(Kind::Service));
        assert_eq!(Kind::parse("po"), Some(Kind::Pod));
        assert_eq!(Kind::parse("deploy"), Some(Kind::Deployment));
        assert_eq!(Kind::parse("statefulset"), Some(Kind::StatefulSet));
        assert_eq!(Kind::parse("pvc"), Some(Kind::PersistentVolumeClaim));
        assert_eq!(Kind::parse("widgets"), None);
    }
}
