//! The live side of lessons: watches feeding the evaluator, server-side apply of a lesson's
//! objects into its own namespace, solution actions, cleanup, preflight, and where progress
//! is saved.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::ApiResource;
use kube::runtime::watcher;
use serde_json::Value;
use tokio::sync::mpsc;

use kdive_core::kinds::{self, Resource};
use kdive_core::lesson::check::Target;
use kdive_core::lesson::manifests::{self, FIELD_MANAGER, Planned};
use kdive_core::lesson::progress::{Progress, context_file_name};
use kdive_core::lesson::solution::{Action, PatchKind};
use kdive_core::lesson::{Lesson, Objects};
use kdive_core::model::OtherKinds;

/// What went wrong talking to the cluster for a lesson.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("{what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("{0}")]
    Other(String),
}

fn kube_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> LiveError {
    let what = what.into();
    move |source| LiveError::Kube { what, source }
}

pub fn api_resource(kind: &Resource) -> ApiResource {
    ApiResource {
        group: kind.group.to_string(),
        version: kind.version.to_string(),
        api_version: kind.api_version(),
        kind: kind.kind.to_string(),
        plural: kind.plural.to_string(),
    }
}

/// An Api for a kind: namespaced into `ns` when the kind is namespaced and `ns` is given.
pub fn api(client: &kube::Client, kind: &Resource, ns: Option<&str>) -> Api<DynamicObject> {
    let ar = api_resource(kind);
    match (kind.namespaced, ns) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    }
}

/// A watched object as the evaluator reads it: with kind and apiVersion (list items lack
/// them), without managedFields.
fn to_value(kind: &Resource, obj: &DynamicObject) -> Value {
    let mut v = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(kind.api_version()));
        m.insert("kind".into(), Value::String(kind.kind.to_string()));
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
        }
    }
    v
}

/// The (kind, namespace) pairs to watch for a lesson: namespaced kinds in the lesson's
/// namespace (or a target's own), cluster-scoped kinds everywhere.
pub fn watch_keys(lesson: &Lesson) -> Vec<(&'static Resource, Option<String>)> {
    let mut targets: Vec<&Target> = lesson.steps.iter().flat_map(|s| s.targets()).collect();
    for c in lesson.setup.wait.iter().chain(&lesson.invariants) {
        if let kdive_core::lesson::CheckBody::Match(m) = &c.body {
            targets.push(&m.target);
        }
    }
    let mut out: Vec<(&'static Resource, Option<String>)> = Vec::new();
    for t in targets {
        let ns = t.kind.namespaced.then(|| {
            t.namespace
                .clone()
                .unwrap_or_else(|| lesson.namespace.clone())
        });
        if !out.iter().any(|(k, n)| *k == t.kind && *n == ns) {
            out.push((t.kind, ns));
        }
    }
    out
}

type Key = (usize, String, String);

/// Watches of the kinds a lesson reads, applied in order so each change is one observation.
pub struct LiveObjects {
    rx: mpsc::UnboundedReceiver<(usize, watcher::Event<DynamicObject>)>,
    keys: Vec<(&'static Resource, Option<String>)>,
    objects: BTreeMap<Key, Value>,
    pending: BTreeMap<usize, BTreeMap<Key, Value>>,
    synced: Vec<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for LiveObjects {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What one call of [`LiveObjects::next`] saw.
pub enum Change {
    /// An object changed (or a watch re-listed): evaluate again.
    Changed,
    /// A watch failed; it retries by itself.
    Error(String),
}

impl LiveObjects {
    /// Starts the watches and waits until each has listed its objects once.
    pub async fn start(
        client: &kube::Client,
        keys: Vec<(&'static Resource, Option<String>)>,
        timeout: Duration,
    ) -> Result<LiveObjects, LiveError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for (i, (kind, ns)) in keys.iter().enumerate() {
            let api = api(client, kind, ns.as_deref());
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                let mut stream = watcher(api, watcher::Config::default()).boxed();
                while let Some(ev) = stream.next().await {
                    let ev = match ev {
                        Ok(ev) => ev,
                        Err(e) => {
                            tracing::debug!(error = %e, "lesson watch failed; retrying");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            continue;
                        }
                    };
                    if tx.send((i, ev)).is_err() {
                        return;
                    }
                }
            }));
        }
        let mut live = LiveObjects {
            rx,
            synced: vec![false; keys.len()],
            keys,
            objects: BTreeMap::new(),
            pending: BTreeMap::new(),
            tasks,
        };
        let deadline = tokio::time::Instant::now() + timeout;
        while !live.synced.iter().all(|s| *s) {
            match tokio::time::timeout_at(deadline, live.rx.recv()).await {
                Ok(Some((i, ev))) => live.apply(i, ev),
                Ok(None) => return Err(LiveError::Other("the watches stopped".into())),
                Err(_) => {
                    let missing: Vec<String> = live
                        .keys
                        .iter()
                        .zip(&live.synced)
                        .filter(|(_, s)| !**s)
                        .map(|((k, _), _)| k.kind.to_string())
                        .collect();
                    return Err(LiveError::Other(format!(
                        "could not list {} within {}s",
                        missing.join(", "),
                        timeout.as_secs()
                    )));
                }
            }
        }
        Ok(live)
    }

    fn apply(&mut self, i: usize, ev: watcher::Event<DynamicObject>) {
        let kind = self.keys[i].0;
        let key = |o: &DynamicObject| {
            (
                i,
                o.metadata.namespace.clone().unwrap_or_default(),
                o.metadata.name.clone().unwrap_or_default(),
            )
        };
        match ev {
            watcher::Event::Apply(o) => {
                self.objects.insert(key(&o), to_value(kind, &o));
            }
            watcher::Event::Delete(o) => {
                self.objects.remove(&key(&o));
            }
            watcher::Event::Init => {
                self.pending.insert(i, BTreeMap::new());
            }
            watcher::Event::InitApply(o) => {
                self.pending
                    .entry(i)
                    .or_default()
                    .insert(key(&o), to_value(kind, &o));
            }
            watcher::Event::InitDone => {
                self.objects.retain(|k, _| k.0 != i);
                self.objects
                    .extend(self.pending.remove(&i).unwrap_or_default());
                self.synced[i] = true;
            }
        }
    }

    /// Waits for the next change (at most `max_wait`); None when nothing changed.
    pub async fn next(&mut self, max_wait: Duration) -> Option<Change> {
        match tokio::time::timeout(max_wait, self.rx.recv()).await {
            Ok(Some((i, ev))) => {
                self.apply(i, ev);
                Some(Change::Changed)
            }
            Ok(None) => Some(Change::Error("the watches stopped".into())),
            Err(_) => None,
        }
    }

    /// The objects as of the last change applied.
    pub fn objects(&self) -> Objects {
        let mut objects = Objects::default();
        for v in self.objects.values() {
            // An object its kind's schema cannot read is left out, not the whole lesson.
            if let Err(e) = objects.add_value(v.clone(), OtherKinds::Keep) {
                tracing::warn!(error = %e, "lesson check input skipped");
            }
        }
        objects
    }
}

/// Server-side applies one object (field manager `kdive-lesson`, forced).
pub async fn apply(client: &kube::Client, p: &Planned) -> Result<(), LiveError> {
    let ns = p
        .object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str);
    let api = api(client, p.kind, ns);
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(p.name(), &pp, &Patch::Apply(&p.object))
        .await
        .map_err(kube_err(format!("apply {}", p.reference())))?;
    Ok(())
}

/// Performs a solution action with the app's own client.
pub async fn run_action(
    client: &kube::Client,
    lesson: &Lesson,
    action: &Action,
) -> Result<(), LiveError> {
    let what = action.kubectl(&lesson.namespace);
    match action {
        Action::Apply { file } => {
            let objects =
                manifests::objects(lesson, file).map_err(|e| LiveError::Other(e.to_string()))?;
            for p in &objects {
                apply(client, p).await?;
            }
        }
        Action::Patch {
            target,
            kind,
            patch,
            ..
        } => {
            let ns = target.namespace.as_deref().unwrap_or(&lesson.namespace);
            let api = api(client, target.kind, Some(ns));
            let names = match (&target.name, &target.selector) {
                (Some(n), _) => vec![n.clone()],
                (None, sel) => {
                    let lp = ListParams {
                        label_selector: sel.as_ref().map(|s| s.text.clone()),
                        ..ListParams::default()
                    };
                    let list = api.list(&lp).await.map_err(kube_err(what.clone()))?;
                    list.items
                        .into_iter()
                        .filter_map(|o| o.metadata.name)
                        .collect()
                }
            };
            let pp = PatchParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PatchParams::default()
            };
            for name in &names {
                let result = match kind {
                    PatchKind::Strategic => api.patch(name, &pp, &Patch::Strategic(patch)).await,
                    PatchKind::Merge => api.patch(name, &pp, &Patch::Merge(patch)).await,
                    PatchKind::Json => {
                        let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                            .map_err(|e| {
                                LiveError::Other(format!("{what}: not a JSON patch: {e}"))
                            })?;
                        api.patch(name, &pp, &Patch::<()>::Json(ops)).await
                    }
                };
                result.map_err(kube_err(what.clone()))?;
            }
        }
        Action::Wait { .. } | Action::Answer { .. } => {
            // Waiting needs the watches and answers go to the progress, which the caller owns
            // (see `kdive lesson solve`).
            return Err(LiveError::Other(format!(
                "{what}: runs in the caller's watch loop"
            )));
        }
        Action::Delete { target } => {
            let ns = target.namespace.as_deref().unwrap_or(&lesson.namespace);
            let api = api(client, target.kind, Some(ns));
            match (&target.name, &target.selector) {
                (Some(name), _) => {
                    api.delete(name, &DeleteParams::default())
                        .await
                        .map_err(kube_err(what))?;
                }
                (None, sel) => {
                    let lp = ListParams {
                        label_selector: sel.as_ref().map(|s| s.text.clone()),
                        ..ListParams::default()
                    };
                    let list = api.list(&lp).await.map_err(kube_err(what.clone()))?;
                    for o in list.items {
                        if let Some(n) = o.metadata.name.as_deref() {
                            api.delete(n, &DeleteParams::default())
                                .await
                                .map_err(kube_err(what.clone()))?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

pub async fn namespace_exists(client: &kube::Client, name: &str) -> Result<bool, LiveError> {
    let ns_api = api(
        client,
        kinds::lookup("Namespace").expect("known kind"),
        None,
    );
    Ok(ns_api
        .get_opt(name)
        .await
        .map_err(kube_err(format!("read namespace/{name}")))?
        .is_some())
}

/// Why the cluster cannot run a lesson (empty: it can).
pub async fn preflight(client: &kube::Client, lesson: &Lesson) -> Result<Vec<String>, LiveError> {
    let mut problems = Vec::new();
    let mut needed: Vec<&'static Resource> = lesson.kinds();
    for k in &lesson.requires.kinds {
        match kinds::lookup(k) {
            Some(kind) if !needed.contains(&kind) => needed.push(kind),
            Some(_) => {}
            None => problems.push(format!("requires kind {k:?}, which kdive does not know")),
        }
    }
    for kind in needed {
        let lp = ListParams::default().limit(1);
        match api(client, kind, Some(&lesson.namespace)).list(&lp).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => problems.push(format!(
                "the cluster does not serve {} ({})",
                kind.kind,
                kind.api_version()
            )),
            Err(kube::Error::Api(s)) if s.code == 403 => problems.push(format!(
                "you may not list {} here: {}",
                kind.plural, s.message
            )),
            Err(e) => return Err(kube_err(format!("list {}", kind.plural))(e)),
        }
    }
    if let Some(want) = &lesson.requires.kube_proxy_mode {
        let cms = api(
            client,
            kinds::lookup("ConfigMap").expect("known kind"),
            Some("kube-system"),
        );
        match cms.get_opt("kube-proxy").await.map_err(kube_err("read kube-system/kube-proxy"))? {
            None => problems.push(format!(
                "needs kube-proxy in {want} mode, but there is no kube-system/kube-proxy ConfigMap to tell its mode"
            )),
            Some(cm) => {
                let text = cm
                    .data
                    .pointer("/data/config.conf")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let mode = kube_proxy_mode(text);
                if mode != *want {
                    problems.push(format!(
                        "needs kube-proxy in {want} mode; kube-system/kube-proxy says mode {mode:?}"
                    ));
                }
            }
        }
    }
    Ok(problems)
}

/// kube-proxy's mode from its config.conf; empty means iptables on Linux.
pub fn kube_proxy_mode(config_conf: &str) -> String {
    let mode = serde_saphyr::from_str::<Value>(config_conf)
        .ok()
        .and_then(|v| v.get("mode").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    if mode.is_empty() {
        "iptables".into()
    } else {
        mode
    }
}

/// Deletes the lesson's namespace and its labelled cluster-scoped objects, then waits
/// (up to `timeout`) until they are gone. Returns what is left.
pub async fn cleanup(
    client: &kube::Client,
    lesson: &Lesson,
    timeout: Duration,
) -> Result<Vec<String>, LiveError> {
    let selector = manifests::label_selector(lesson);
    let cluster_kinds: Vec<&'static Resource> = kinds::RESOURCES
        .iter()
        .filter(|k| !k.namespaced && k.kind != "Namespace" && k.kind != "Node")
        .collect();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut left = Vec::new();
        let ns_api = api(
            client,
            kinds::lookup("Namespace").expect("known kind"),
            None,
        );
        if lesson.delete_namespace
            && let Some(ns) = ns_api
                .get_opt(&lesson.namespace)
                .await
                .map_err(kube_err("read namespace"))?
        {
            left.push(format!("namespace/{}", lesson.namespace));
            if ns.metadata.deletion_timestamp.is_none() {
                ns_api
                    .delete(&lesson.namespace, &DeleteParams::default())
                    .await
                    .map_err(kube_err(format!("delete namespace/{}", lesson.namespace)))?;
            }
        }
        for kind in &cluster_kinds {
            let a = api(client, kind, None);
            let lp = ListParams::default().labels(&selector);
            let list = match a.list(&lp).await {
                Ok(l) => l,
                Err(kube::Error::Api(s)) if s.code == 404 => continue,
                Err(e) => return Err(kube_err(format!("list {}", kind.plural))(e)),
            };
            for o in list.items {
                let name = o.metadata.name.clone().unwrap_or_default();
                left.push(format!("{}/{name}", kind.singular));
                if o.metadata.deletion_timestamp.is_none() {
                    a.delete(&name, &DeleteParams::default())
                        .await
                        .map_err(kube_err(format!("delete {}/{name}", kind.singular)))?;
                }
            }
        }
        // Volumes provisioned for the lesson's claims: Delete ones go with their claims;
        // others (Retain) would outlive the lesson, so they are deleted too.
        let pvs = api(
            client,
            kinds::lookup("PersistentVolume").expect("known kind"),
            None,
        );
        match pvs.list(&ListParams::default()).await {
            Ok(list) => {
                for pv in list.items {
                    let claim_ns = pv
                        .data
                        .pointer("/spec/claimRef/namespace")
                        .and_then(Value::as_str);
                    if claim_ns != Some(lesson.namespace.as_str()) {
                        continue;
                    }
                    let name = pv.metadata.name.clone().unwrap_or_default();
                    left.push(format!("persistentvolume/{name}"));
                    let policy = pv
                        .data
                        .pointer("/spec/persistentVolumeReclaimPolicy")
                        .and_then(Value::as_str);
                    if policy != Some("Delete") && pv.metadata.deletion_timestamp.is_none() {
                        pvs.delete(&name, &DeleteParams::default())
                            .await
                            .map_err(kube_err(format!("delete persistentvolume/{name}")))?;
                    }
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 403 => {}
            Err(e) => return Err(kube_err("list persistentvolumes")(e)),
        }
        left.sort();
        left.dedup();
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(left);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The progress file of a kubeconfig context: `$KDIVE_STATE_DIR/progress/<context>.json`,
/// else under the user's state (or local data) directory.
pub fn progress_path(context: &str) -> Option<PathBuf> {
    let base = match std::env::var_os("KDIVE_STATE_DIR") {
        Some(d) => PathBuf::from(d),
        None => dirs::state_dir()
            .or_else(dirs::data_local_dir)?
            .join("kdive"),
    };
    Some(base.join("progress").join(context_file_name(context)))
}

pub fn load_progress(context: &str) -> Result<Progress, LiveError> {
    match progress_path(context) {
        Some(path) => load_progress_file(&path),
        None => Ok(Progress::default()),
    }
}

pub fn save_progress(context: &str, progress: &Progress) -> Result<(), LiveError> {
    let Some(path) = progress_path(context) else {
        return Err(LiveError::Other(
            "no state directory to save progress in (set KDIVE_STATE_DIR)".into(),
        ));
    };
    save_progress_file(&path, progress)
}

/// Reads a progress file; a missing file is no progress yet.
pub fn load_progress_file(path: &std::path::Path) -> Result<Progress, LiveError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| LiveError::Other(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::default()),
        Err(e) => Err(LiveError::Other(format!("{}: {e}", path.display()))),
    }
}

/// Writes a progress file whole (temp file, then rename).
pub fn save_progress_file(path: &std::path::Path, progress: &Progress) -> Result<(), LiveError> {
    let io = |e: std::io::Error| LiveError::Other(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(progress).unwrap_or_default();
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_proxy_mode_defaults_to_iptables() {
        assert_eq!(kube_proxy_mode("mode: ipvs\n"), "ipvs");
        assert_eq!(kube_proxy_mode("mode: \"\"\n"), "iptables");
        assert_eq!(
            kube_proxy_mode("kind: KubeProxyConfiguration\n"),
            "iptables"
        );
    }
}
