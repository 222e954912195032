//! Namespace lifecycle (as kube-controller-manager's namespace controller): a deleted
//! namespace shows as Terminating while its contents are deleted, then its `kubernetes`
//! finalizer is removed and it goes away. Also the ServiceAccount controller's one rule:
//! every active namespace has a `default` ServiceAccount.

use std::time::Duration;

use serde_json::{Value, json};

use super::runtime::{Controller, Key};
use crate::resources::{RESOURCES, ResourceId, lookup};
use crate::store::{DeleteOptions, Event, EventType, Store, StoreError, UpdateScope, WriteOptions};

fn namespaces() -> ResourceId {
    lookup("", "v1", "namespaces").expect("namespaces are served")
}

fn service_accounts() -> ResourceId {
    lookup("", "v1", "serviceaccounts").expect("serviceaccounts are served")
}

fn ns_key(name: &str) -> Key {
    Key {
        namespace: String::new(),
        name: name.to_string(),
    }
}

pub struct NamespaceController;

impl Controller for NamespaceController {
    fn name(&self) -> &'static str {
        "namespace-controller"
    }

    fn primary(&self) -> ResourceId {
        namespaces()
    }

    fn keys_for(&self, event: &Event) -> Vec<Key> {
        if event.resource == namespaces() {
            return vec![ns_key(&event.name)];
        }
        // A deletion inside a namespace may be the last thing a terminating one waits for.
        if event.kind == EventType::Deleted && !event.namespace.is_empty() {
            return vec![ns_key(&event.namespace)];
        }
        Vec::new()
    }

    fn reconcile(&self, store: &Store, key: &Key) -> Result<Option<Duration>, StoreError> {
        let Some(ns) = store.get(namespaces(), "", &key.name) else {
            return Ok(None);
        };
        if ns.value().pointer("/metadata/deletionTimestamp").is_none() {
            return Ok(None);
        }
        let mut remaining = 0;
        for (i, info) in RESOURCES.iter().enumerate() {
            if !info.namespaced {
                continue;
            }
            let res = ResourceId(i as u16);
            for obj in store.list(res, Some(&key.name)).1 {
                remaining += 1;
                if obj.value().pointer("/metadata/deletionTimestamp").is_some() {
                    continue; // Already going; its own finalizers decide when.
                }
                match store.delete(res, &obj.namespace, &obj.name, &DeleteOptions::default()) {
                    Ok(_) | Err(StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if remaining > 0 {
            // Deleted objects trigger this again; the timer covers ones held by finalizers.
            return Ok(Some(Duration::from_secs(1)));
        }
        // Empty: remove our finalizer (the /finalize step), which completes the deletion.
        let finalized = store.update_with(
            namespaces(),
            "",
            &key.name,
            UpdateScope::Internal,
            &WriteOptions::default(),
            |current| {
                let mut next = current.clone();
                // A spec that is not an object has no finalizers to clear.
                if let Some(spec) = next.get_mut("spec").and_then(|s| s.as_object_mut()) {
                    spec.insert("finalizers".into(), json!([]));
                }
                Ok(next)
            },
        );
        match finalized {
            Ok(_) | Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub struct ServiceAccountController;

impl Controller for ServiceAccountController {
    fn name(&self) -> &'static str {
        "serviceaccount-controller"
    }

    fn primary(&self) -> ResourceId {
        namespaces()
    }

    fn keys_for(&self, event: &Event) -> Vec<Key> {
        if event.resource == namespaces() && event.kind != EventType::Deleted {
            return vec![ns_key(&event.name)];
        }
        if event.resource == service_accounts()
            && event.kind == EventType::Deleted
            && event.name == "default"
        {
            return vec![ns_key(&event.namespace)];
        }
        Vec::new()
    }

    fn reconcile(&self, store: &Store, key: &Key) -> Result<Option<Duration>, StoreError> {
        let Some(ns) = store.get(namespaces(), "", &key.name) else {
            return Ok(None);
        };
        let ns: Value = ns.value();
        if ns.pointer("/metadata/deletionTimestamp").is_some()
            || store
                .get(service_accounts(), &key.name, "default")
                .is_some()
        {
            return Ok(None);
        }
        let sa =
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
        match store.create(service_accounts(), &key.name, sa, &WriteOptions::default()) {
            Ok(_) | Err(StoreError::AlreadyExists(_)) | Err(StoreError::Forbidden(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
