//! The kubeconfig as files on disk: which files (as kubectl picks them), reading and merging
//! them, and noticing when they change (a lab restarted with a new CA and token, `aws eks
//! update-kubeconfig`, a new context), so the explorer reconnects with what they say now.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kube::config::Kubeconfig;
use tokio::sync::mpsc::UnboundedSender;

use crate::ui::msg::Msg;

/// How often the files are looked at (a stat each; cheap).
const POLL: Duration = Duration::from_secs(2);

/// The kubeconfig files kdive reads: `--kubeconfig`, else `$KUBECONFIG` (a path list, merged
/// in order, first wins), else `~/.kube/config`.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeconfigFiles(pub Vec<PathBuf>);

impl KubeconfigFiles {
    pub fn locate(explicit: Option<&Path>) -> KubeconfigFiles {
        if let Some(p) = explicit {
            // `--kubeconfig` takes `$KUBECONFIG` when unset, and that is a list (`a:b`) to
            // merge as kubectl merges it; a single file whose name has the separator wins.
            if !p.exists() {
                let paths: Vec<PathBuf> = std::env::split_paths(p)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect();
                if paths.len() > 1 {
                    return KubeconfigFiles(paths);
                }
            }
            return KubeconfigFiles(vec![p.to_path_buf()]);
        }
        if let Some(list) = std::env::var_os("KUBECONFIG") {
            let paths: Vec<PathBuf> = std::env::split_paths(&list)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            if !paths.is_empty() {
                return KubeconfigFiles(paths);
            }
        }
        KubeconfigFiles(
            dirs::home_dir()
                .map(|h| h.join(".kube").join("config"))
                .into_iter()
                .collect(),
        )
    }

    /// Reads and merges the files; the error names the file.
    pub fn read(&self) -> Result<Kubeconfig, String> {
        let mut merged: Option<Kubeconfig> = None;
        for path in &self.0 {
            // kubectl skips listed files that do not exist; an unreadable one is an error.
            if !path.exists() && self.0.len() > 1 {
                continue;
            }
            let k = Kubeconfig::read_from(path)
                .map_err(|e| format!("{}: cannot read kubeconfig: {e}", path.display()))?;
            merged = Some(match merged {
                None => k,
                Some(m) => m
                    .merge(k)
                    .map_err(|e| format!("{}: cannot merge kubeconfig: {e}", path.display()))?,
            });
        }
        merged.ok_or_else(|| "no kubeconfig file found".to_string())
    }

    /// What changes when a file is rewritten: its modification time and size.
    pub fn stamp(&self) -> Vec<Option<(SystemTime, u64)>> {
        self.0
            .iter()
            .map(|p| {
                let m = std::fs::metadata(p).ok()?;
                Some((m.modified().ok()?, m.len()))
            })
            .collect()
    }
}

/// Polls the files; when they change and still read, says so (the App reconnects). A file
/// that no longer reads is reported once and the last good kubeconfig stays in use.
pub fn spawn_watch(
    files: KubeconfigFiles,
    tx: UnboundedSender<Msg>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = files.stamp();
        loop {
            tokio::time::sleep(POLL).await;
            let now = files.stamp();
            if now == last {
                continue;
            }
            last = now;
            let msg = match files.read() {
                Ok(_) => Msg::KubeconfigChanged,
                Err(e) => Msg::Failed(format!("{e} (still using the one read before)")),
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: a\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: a\n  context: {cluster: a, user: a}\nusers:\n- name: a\n  user: {token: t}\n";

    #[test]
    fn merged_files_name_the_one_that_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, ONE).unwrap();
        std::fs::write(&b, ONE.replace("name: a", "name: b").replace(": a", ": b")).unwrap();
        let files = KubeconfigFiles(vec![a.clone(), b.clone(), dir.path().join("missing")]);
        let k = files.read().unwrap();
        let names: Vec<_> = k.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        // The first file's current-context wins, as kubectl merges.
        assert_eq!(k.current_context.as_deref(), Some("a"));
        let before = files.stamp();
        std::fs::write(&b, "clusters: [").unwrap();
        assert_ne!(files.stamp(), before);
        let e = files.read().unwrap_err();
        assert!(
            e.starts_with(&format!("{}: cannot read kubeconfig", b.display())),
            "{e}"
        );
    }
}
