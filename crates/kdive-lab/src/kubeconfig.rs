//! The kubeconfig the lab writes: context, cluster and user all named `kdive-lab`.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::json;

pub const NAME: &str = "kdive-lab";

/// Renders the kubeconfig YAML for a lab at `server` (an https URL).
pub fn render(server: &str, ca_pem: &str, token: &str) -> String {
    render_with_prometheus(server, ca_pem, token, None)
}

/// The kubeconfig, with the lab's Prometheus (when one runs) recorded as an extension of
/// the `kdive-lab` cluster entry (kubectl keeps and ignores extensions it does not know).
pub fn render_with_prometheus(
    server: &str,
    ca_pem: &str,
    token: &str,
    prometheus_url: Option<&str>,
) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let mut cluster = json!({"server": server, "certificate-authority-data": ca});
    if let Some(url) = prometheus_url {
        cluster["extensions"] = json!([{"name": kdive_core::metrics::PROMETHEUS_KUBECONFIG_EXTENSION, "extension": {"url": url}}]);
    }
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NAME, "cluster": cluster}],
        "users": [{"name": NAME, "user": {"token": token}}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME, "namespace": "default"}}],
        "current-context": NAME,
        "preferences": {},
    });
    serde_saphyr::to_string(&config).unwrap_or_else(|_| config.to_string())
}

/// Where `kdive lab` writes its kubeconfig when `--kubeconfig-out` is not given.
pub fn default_path() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("kdive")
        .join("lab-kubeconfig")
}

/// Writes the kubeconfig with owner-only permissions (it holds the bearer token).
pub fn write(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(contents.as_bytes())?;
    }
    std::fs::rename(&tmp, path)
}
