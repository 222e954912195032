//! Objects in and out as JSON: manifests and one-shot lists come in as documents, lesson
//! checks read objects of any kind as JSON. Kinds with a typed field are decoded into it;
//! every other kind is kept as its JSON in `other` when the caller takes any kind.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube_core::PartialObjectMeta;
use serde_json::Value;

use super::Objects;
use super::kind::Kind;
use super::stored_pod::{NamespaceNames, StoredPod};

/// Why an object could not be added to an object set.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AddError {
    #[error("the document is not an object with apiVersion and kind")]
    NotAnObject,
    #[error("{kind} ({api_version}) is not a kind kdive reads here")]
    UnsupportedKind { api_version: String, kind: String },
    #[error("{kind} {name:?} is not valid: {message}")]
    Invalid {
        kind: String,
        name: String,
        message: String,
    },
}

/// What to do with a kind that has no typed field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherKinds {
    /// An error, so that a typo in a fixture is not silently ignored.
    Refuse,
    /// Kept as JSON (lesson checks may name any kind).
    Keep,
}

impl Objects {
    /// Adds one decoded document: a single object or a `v1 List` (or typed `…List`) of
    /// objects. Returns how many objects were added. Secrets keep their metadata only.
    pub fn add_value(&mut self, doc: Value, other: OtherKinds) -> Result<usize, AddError> {
        self.add_with(doc, other, &mut NamespaceNames::default())
    }

    /// Every document, any kind (for watches of arbitrary kinds); stops at the first that
    /// cannot be decoded.
    pub fn from_values(docs: impl IntoIterator<Item = Value>) -> Result<Objects, AddError> {
        let mut objects = Objects::default();
        let mut names = NamespaceNames::default();
        for doc in docs {
            objects.add_with(doc, OtherKinds::Keep, &mut names)?;
        }
        Ok(objects)
    }

    fn add_with(
        &mut self,
        doc: Value,
        other: OtherKinds,
        names: &mut NamespaceNames,
    ) -> Result<usize, AddError> {
        let obj = doc.as_object().ok_or(AddError::NotAnObject)?;
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind.is_empty() || api_version.is_empty() {
            return Err(AddError::NotAnObject);
        }
        if kind == "List" || (kind.ends_with("List") && obj.get("items").is_some()) {
            let items = obj
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
            let api_version = api_version.to_string();
            let mut added = 0;
            for mut item in items {
                // Items of a typed list (ServiceList) may omit their own kind.
                if let (Some(k), Some(m)) = (item_kind, item.as_object_mut()) {
                    m.entry("kind").or_insert_with(|| Value::from(k));
                    m.entry("apiVersion")
                        .or_insert_with(|| Value::from(api_version.as_str()));
                }
                added += self.add_with(item, other, names)?;
            }
            return Ok(added);
        }
        let Some(typed_kind) = Kind::ALL
            .into_iter()
            .find(|k| k.name() == kind && k.resource().api_version() == api_version)
        else {
            return match other {
                OtherKinds::Keep => {
                    self.other.push(Arc::new(doc));
                    Ok(1)
                }
                OtherKinds::Refuse => Err(AddError::UnsupportedKind {
                    api_version: api_version.into(),
                    kind: kind.into(),
                }),
            };
        };
        match typed_kind {
            Kind::Namespace => self.namespaces.push(typed(doc)?),
            Kind::Node => self.nodes.push(typed(doc)?),
            Kind::Pod => {
                let pod: Pod = decode(doc)?;
                self.pods.push(Arc::new(StoredPod::new(pod, names)));
            }
            Kind::Service => self.services.push(typed(doc)?),
            Kind::EndpointSlice => self.endpoint_slices.push(typed(doc)?),
            Kind::Deployment => self.deployments.push(typed(doc)?),
            Kind::ReplicaSet => self.replica_sets.push(typed(doc)?),
            Kind::StatefulSet => self.stateful_sets.push(typed(doc)?),
            Kind::ConfigMap => self.config_maps.push(typed(doc)?),
            Kind::Secret => {
                // Decoded in full only to check it; the values are dropped here.
                let secret: Secret = decode(doc)?;
                self.secrets.push(Arc::new(PartialObjectMeta {
                    types: None,
                    metadata: secret.metadata,
                    _phantom: Default::default(),
                }));
            }
            Kind::PersistentVolumeClaim => self.pvcs.push(typed(doc)?),
            Kind::PersistentVolume => self.pvs.push(typed(doc)?),
            Kind::Event => self.events.push(typed(doc)?),
        }
        self.pod_groups = Default::default();
        Ok(1)
    }

    /// Adds decoded pods (a one-shot list), sharing one namespace-name interner.
    pub fn add_pods(&mut self, pods: impl IntoIterator<Item = Pod>) {
        let mut names = NamespaceNames::default();
        self.pods.extend(
            pods.into_iter()
                .map(|p| Arc::new(StoredPod::new(p, &mut names))),
        );
        self.pod_groups = Default::default();
    }

    /// The pods as k8s-openapi Pods (decoded from their compact form).
    pub fn decoded_pods(&self) -> Vec<Pod> {
        self.pods.iter().map(|p| p.pod()).collect()
    }

    /// Every object of `kind` (`apiVersion`, `Kind`) as JSON with its apiVersion and kind
    /// set, as a list or watch returns it. Secrets are metadata only.
    pub fn values_of(&self, api_version: &str, kind: &str) -> Vec<Value> {
        self.values_where(api_version, kind, |_, _| true)
    }

    /// Like [`Objects::values_of`], for the objects whose namespace and name pass `keep`
    /// (only those are serialised).
    pub fn values_where(
        &self,
        api_version: &str,
        kind: &str,
        keep: impl Fn(Option<&str>, &str) -> bool,
    ) -> Vec<Value> {
        let typed_kind = Kind::ALL
            .into_iter()
            .find(|k| k.name() == kind && k.resource().api_version() == api_version);
        let Some(k) = typed_kind else {
            let text = |o: &Value, f: &str| o.get("metadata")?.get(f)?.as_str().map(str::to_owned);
            return self
                .other
                .iter()
                .filter(|o| {
                    o.get("kind").and_then(Value::as_str) == Some(kind)
                        && o.get("apiVersion").and_then(Value::as_str) == Some(api_version)
                        && keep(
                            text(o, "namespace").as_deref(),
                            text(o, "name").as_deref().unwrap_or(""),
                        )
                })
                .map(|o| (**o).clone())
                .collect();
        };
        let kept = |m: &ObjectMeta| keep(m.namespace.as_deref(), m.name.as_deref().unwrap_or(""));
        fn pick<K: kube_core::Resource<DynamicType = ()> + serde::Serialize>(
            items: &[Arc<K>],
            k: Kind,
            kept: &dyn Fn(&ObjectMeta) -> bool,
        ) -> Vec<Value> {
            items
                .iter()
                .filter(|o| kept(o.meta()))
                .filter_map(|o| with_kind(&**o, k))
                .collect()
        }
        match k {
            Kind::Namespace => pick(&self.namespaces, k, &kept),
            Kind::Node => pick(&self.nodes, k, &kept),
            Kind::Pod => self
                .pods
                .iter()
                .filter(|p| kept(&p.metadata))
                .filter_map(|p| with_kind(&p.pod(), k))
                .collect(),
            Kind::Service => pick(&self.services, k, &kept),
            Kind::EndpointSlice => pick(&self.endpoint_slices, k, &kept),
            Kind::Deployment => pick(&self.deployments, k, &kept),
            Kind::ReplicaSet => pick(&self.replica_sets, k, &kept),
            Kind::StatefulSet => pick(&self.stateful_sets, k, &kept),
            Kind::ConfigMap => pick(&self.config_maps, k, &kept),
            Kind::Secret => pick(&self.secrets, k, &kept),
            Kind::PersistentVolumeClaim => pick(&self.pvcs, k, &kept),
            Kind::PersistentVolume => pick(&self.pvs, k, &kept),
            Kind::Event => pick(&self.events, k, &kept),
        }
    }
}

/// The object as JSON with apiVersion and kind (typed structs leave them out).
pub(crate) fn with_kind<K: serde::Serialize>(o: &K, kind: Kind) -> Option<Value> {
    let mut v = serde_json::to_value(o).ok()?;
    let m = v.as_object_mut()?;
    m.insert("apiVersion".into(), kind.resource().api_version().into());
    m.insert("kind".into(), kind.name().into());
    Some(v)
}

fn typed<T: serde::de::DeserializeOwned>(doc: Value) -> Result<Arc<T>, AddError> {
    decode(doc).map(Arc::new)
}

fn decode<T: serde::de::DeserializeOwned>(doc: Value) -> Result<T, AddError> {
    let kind = doc
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    serde_json::from_value(doc).map_err(|e| AddError::Invalid {
        kind,
        name,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_kinds_are_decoded_and_others_kept_or_refused() {
        let mut o = Objects::default();
        let svc =
            json!({"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"x"}});
        let hpa = json!({"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"h"}});
        assert_eq!(o.add_value(svc, OtherKinds::Refuse), Ok(1));
        assert_eq!(o.services.len(), 1);
        assert_eq!(
            o.add_value(hpa.clone(), OtherKinds::Refuse),
            Err(AddError::UnsupportedKind {
                api_version: "autoscaling/v2".into(),
                kind: "HorizontalPodAutoscaler".into()
            })
        );
        assert_eq!(o.add_value(hpa.clone(), OtherKinds::Keep), Ok(1));
        assert_eq!(
            o.values_of("autoscaling/v2", "HorizontalPodAutoscaler"),
            vec![hpa]
        );
        // The same Kind in another group is another kind.
        let ev = json!({"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e"}});
        assert_eq!(o.add_value(ev, OtherKinds::Keep), Ok(1));
        assert!(o.events.is_empty());
        assert_eq!(o.values_of("events.k8s.io/v1", "Event").len(), 1);
    }

    #[test]
    fn secret_values_are_not_held() {
        let mut o = Objects::default();
        let s = json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"x"},
            "data":{"password":"aHVudGVyMg=="},"stringData":{"k":"v"}});
        o.add_value(s, OtherKinds::Keep).unwrap();
        let back = o.values_of("v1", "Secret");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0]["metadata"]["name"], "s");
        assert!(back[0].get("data").is_none(), "{}", back[0]);
        assert!(!back[0].to_string().contains("aHVudGVyMg"));
    }

    #[test]
    fn pods_round_trip_through_their_compact_form() {
        let pod = json!({"apiVersion":"v1","kind":"Pod",
            "metadata":{"name":"p","namespace":"x","labels":{"app":"web"}},
            "spec":{"containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80}]}]},
            "status":{"phase":"Running","podIP":"10.0.0.1"}});
        let o = Objects::from_values([pod.clone()]).unwrap();
        assert_eq!(o.pods_in("x").len(), 1);
        assert_eq!(o.values_of("v1", "Pod"), vec![pod]);
    }

    #[test]
    fn lists_expand_and_bad_items_name_themselves() {
        let list = json!({"apiVersion":"v1","kind":"ServiceList","items":[
            {"metadata":{"name":"a"}},
            {"metadata":{"name":"b"},"spec":{"ports":"eighty"}}]});
        let err = Objects::default()
            .add_value(list, OtherKinds::Refuse)
            .unwrap_err();
        let AddError::Invalid { kind, name, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!((kind.as_str(), name.as_str()), ("Service", "b"));
    }
}
