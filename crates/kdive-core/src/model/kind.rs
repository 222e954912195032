//! The kinds the explorer watches: a cheap map key whose names come from the core kind
//! table.

use serde::Serialize;

use crate::kinds::{self, Resource};

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

    /// This kind's row in the core kind table.
    pub fn resource(self) -> &'static Resource {
        match self {
            Kind::Namespace => &kinds::NAMESPACE,
            Kind::Node => &kinds::NODE,
            Kind::Pod => &kinds::POD,
            Kind::Service => &kinds::SERVICE,
            Kind::EndpointSlice => &kinds::ENDPOINT_SLICE,
            Kind::Deployment => &kinds::DEPLOYMENT,
            Kind::ReplicaSet => &kinds::REPLICA_SET,
            Kind::StatefulSet => &kinds::STATEFUL_SET,
            Kind::ConfigMap => &kinds::CONFIG_MAP,
            Kind::Secret => &kinds::SECRET,
            Kind::PersistentVolumeClaim => &kinds::PERSISTENT_VOLUME_CLAIM,
            Kind::PersistentVolume => &kinds::PERSISTENT_VOLUME,
            Kind::Event => &kinds::EVENT,
        }
    }

    /// The Kind (`Deployment`).
    pub fn name(self) -> &'static str {
        self.resource().kind
    }

    /// The lower-case plural kubectl prints in `api-resources` (and the status bar uses).
    pub fn plural(self) -> &'static str {
        self.resource().plural
    }

    pub fn namespaced(self) -> bool {
        self.resource().namespaced
    }

    /// Parses what a user may type for a kind, as kubectl does: Kind, singular, plural or
    /// short name, any case.
    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.to_ascii_lowercase();
        // kubectl has no short name for EndpointSlices; the explorer always took `eps`.
        if s == "eps" {
            return Some(Kind::EndpointSlice);
        }
        Kind::ALL.into_iter().find(|k| k.resource().is_named(&s))
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
        assert_eq!(Kind::parse("eps"), Some(Kind::EndpointSlice));
        assert_eq!(Kind::parse("Secret"), Some(Kind::Secret));
        assert_eq!(Kind::parse("widgets"), None);
    }
}
