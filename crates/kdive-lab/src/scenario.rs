//! Scenarios: what a lab starts with. A scenario is a multi-document YAML file of Kubernetes
//! objects (created in order, Namespaces and Nodes first) plus `lab.kdive.dev/v1alpha1`
//! documents that configure the simulation itself (`Traffic`). Every error names the file
//! and line of the document at fault.

use std::path::Path;

use serde_json::Value;

use super::network::traffic::TrafficSpec;
use super::resources::{ResourceId, lookup_kind};
use super::store::{Store, StoreError, WriteOptions};

/// The demo cluster every `kdive lab` starts with.
pub const DEMO: &str = include_str!("../../../assets/lab/demo.yaml");
const DEMO_ORIGIN: &str = "assets/lab/demo.yaml";

/// The API group of the lab's own document kinds.
pub const LAB_API_VERSION: &str = "lab.kdive.dev/v1alpha1";

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct ScenarioError(pub String);

/// One document of a scenario, with where it came from.
#[derive(Debug, Clone)]
pub struct Document {
    pub origin: String,
    pub line: usize,
    pub value: Value,
}

impl Document {
    pub fn at(&self) -> String {
        format!("{}:{}", self.origin, self.line)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// Kubernetes objects, in creation order.
    pub objects: Vec<(ResourceId, Document)>,
    /// Simulated client traffic (`Traffic` documents).
    pub traffic: Vec<TrafficSpec>,
}

impl Scenario {
    pub fn demo() -> Scenario {
        // The demo is part of the binary and covered by tests; failing here is a build bug.
        Scenario::parse(DEMO_ORIGIN, DEMO).unwrap_or_else(|e| panic!("built-in demo: {e}"))
    }

    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError(format!("{}: cannot read: {e}", path.display())))?;
        Scenario::parse(&path.display().to_string(), &text)
    }

    pub fn parse(origin: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let docs =
            kdive_core::manifest::parse_documents(origin, text).map_err(|e| ScenarioError(e.0))?;
        let mut scenario = Scenario::default();
        for (line, value) in docs {
            let doc = Document {
                origin: origin.to_string(),
                line,
                value,
            };
            let field = |name: &str| doc.value.get(name).and_then(Value::as_str).unwrap_or("");
            let (api_version, kind) = (field("apiVersion"), field("kind"));
            if !doc.value.is_object() {
                return Err(ScenarioError(format!(
                    "{}: a document must be a mapping (an object with apiVersion and kind)",
                    doc.at()
                )));
            }
            if api_version.is_empty() || kind.is_empty() {
                return Err(ScenarioError(format!(
                    "{}: the document needs apiVersion and kind",
                    doc.at()
                )));
            }
            if doc
                .value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_none()
            {
                return Err(ScenarioError(format!(
                    "{}: {kind} needs metadata.name",
                    doc.at()
                )));
            }
            if api_version == LAB_API_VERSION {
                match kind {
                    "Traffic" => scenario.traffic.push(
                        TrafficSpec::from_value(&doc.value)
                            .map_err(|e| ScenarioError(format!("{}: {e}", doc.at())))?,
                    ),
                    other => {
                        return Err(ScenarioError(format!(
                            "{}: unknown lab kind {other:?} (the lab reads: Traffic)",
                            doc.at()
                        )));
                    }
                }
                continue;
            }
            let Some(res) = lookup_kind(api_version, kind) else {
                return Err(ScenarioError(format!(
                    "{}: the lab does not serve {kind} in {api_version}",
                    doc.at()
                )));
            };
            scenario.objects.push((res, doc));
        }
        // Namespaces and Nodes first, as `kubectl apply` users expect regardless of order.
        scenario
            .objects
            .sort_by_key(|(res, _)| match res.info().kind {
                "Namespace" => 0,
                "Node" => 1,
                _ => 2,
            });
        Ok(scenario)
    }

    /// Creates every object. Stops at the first failure, naming the document.
    pub fn apply(&self, store: &Store) -> Result<(), ScenarioError> {
        for (res, doc) in &self.objects {
            let namespace = if res.info().namespaced {
                doc.value
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default")
            } else {
                ""
            };
            match store.create(*res, namespace, doc.value.clone(), &WriteOptions::default()) {
                Ok(_) => {}
                // Bootstrap objects (e.g. namespace `default`) may be listed again.
                Err(StoreError::AlreadyExists(_)) if res.info().kind == "Namespace" => {}
                Err(e) => {
                    let name = doc
                        .value
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let shown = if namespace.is_empty() {
                        name.to_string()
                    } else {
                        format!("{namespace}/{name}")
                    };
                    return Err(ScenarioError(format!(
                        "{}: cannot create {} {shown}: {e}",
                        doc.at(),
                        res.info().kind
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::LabClock;
    use crate::resources::lookup;

    #[test]
    fn the_demo_parses_and_applies_onto_a_bootstrapped_store() {
        let demo = Scenario::demo();
        let kinds: Vec<&str> = demo.objects.iter().map(|(r, _)| r.info().kind).collect();
        assert_eq!(&kinds[..4], ["Namespace", "Node", "Node", "Node"]);
        assert_eq!(demo.traffic.len(), 1);
        let store = Store::new(Arc::new(LabClock::default()), 1);
        let ns = lookup("", "v1", "namespaces").unwrap();
        store
            .create(
                ns,
                "",
                serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}),
                &WriteOptions::default(),
            )
            .unwrap();
        demo.apply(&store).unwrap();
        let svc = lookup("", "v1", "services").unwrap();
        let dns = store.get(svc, "kube-system", "kube-dns").unwrap().value();
        assert_eq!(dns["spec"]["clusterIP"], "10.96.0.10");
        let nodes = lookup("", "v1", "nodes").unwrap();
        let (_, all) = store.list(nodes, None);
        let zones: Vec<String> = all
            .iter()
            .map(|n| {
                n.value()["metadata"]["labels"]["topology.kubernetes.io/zone"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(zones, ["lab-1a", "lab-1a", "lab-1b"]);
    }

    #[test]
    fn errors_name_the_file_and_line_of_the_document() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# comment\napiVersion: v1\nkind: Gadget\nmetadata: {name: b}\n";
        let err = Scenario::parse("s.yaml", text).unwrap_err();
        assert_eq!(err.0, "s.yaml:6: the lab does not serve Gadget in v1");
        let err = Scenario::parse("s.yaml", "kind: Pod\nmetadata: {name: p}\n").unwrap_err();
        assert_eq!(err.0, "s.yaml:1: the document needs apiVersion and kind");
        let err = Scenario::parse(
            "s.yaml",
            "apiVersion: lab.kdive.dev/v1alpha1\nkind: Chaos\nmetadata: {name: c}\n",
        )
        .unwrap_err();
        assert!(
            err.0.starts_with("s.yaml:1: unknown lab kind \"Chaos\""),
            "{}",
            err.0
        );
        let err = Scenario::parse("s.yaml", "apiVersion: v1\nkind: Pod\nspec: {}\n").unwrap_err();
        assert_eq!(err.0, "s.yaml:1: Pod needs metadata.name");
        let err = Scenario::parse("s.yaml", "a: [1,\n").unwrap_err();
        assert!(err.0.starts_with("s.yaml:"), "{}", err.0);
    }

    #[test]
    fn apply_names_the_document_that_failed() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: nowhere}\n";
        let scenario = Scenario::parse("s.yaml", text).unwrap();
        let store = Store::new(Arc::new(LabClock::default()), 1);
        let err = scenario.apply(&store).unwrap_err();
        assert!(
            err.0
                .starts_with("s.yaml:1: cannot create ConfigMap nowhere/a: "),
            "{}",
            err.0
        );
    }
}
