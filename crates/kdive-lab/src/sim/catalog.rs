//! The image catalog (`assets/lab/images.yaml`): what a simulated container of each image
//! listens on, serves, uses and honours. Parsed once, validated with `file:line` errors.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

/// The catalog shipped with kdive.
pub const BUILTIN: &str = include_str!("../../../../assets/lab/images.yaml");
const BUILTIN_NAME: &str = "assets/lab/images.yaml";

/// Env knobs the process model implements; a catalog may only document these.
pub const KNOWN_KNOBS: &[&str] = &[
    "LISTEN_PORT",
    "STARTUP_SECONDS",
    "READINESS_DELAY_SECONDS",
    "FAIL_READINESS",
    "FAIL_LIVENESS",
    "ERROR_RATE",
    "LATENCY_MS",
    "MEMORY_GROWTH_MB_PER_MIN",
    "CRASH_AFTER_SECONDS",
    "EXIT_CODE",
    "IGNORE_SIGTERM",
    "SHUTDOWN_DELAY_SECONDS",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    pub port: Spanned<i64>,
    pub protocol: Protocol,
    #[serde(default)]
    pub http: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathRole {
    App,
    Liveness,
    Readiness,
    Static,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpPath {
    pub path: Spanned<String>,
    pub status: Spanned<i64>,
    pub role: PathRole,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sigterm {
    #[serde(default)]
    pub ignored: bool,
    #[serde(default)]
    pub exit_after_seconds: f64,
    #[serde(default)]
    pub exit_code: i32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecCommand {
    pub command: String,
    pub when_started: String,
    pub when_starting: String,
    pub fail_exit_code: i32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knob {
    pub name: Spanned<String>,
    pub default: String,
    pub doc: Spanned<String>,
}

/// One image's behaviour, as written in the catalog.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Image {
    pub ports: Vec<Port>,
    #[serde(default)]
    pub listen_on_declared_ports: bool,
    pub paths: Vec<HttpPath>,
    pub unknown_path_status: u16,
    pub startup_seconds: Spanned<f64>,
    pub memory_mi_b: f64,
    pub cpu_millicores: f64,
    pub sigterm: Sigterm,
    #[serde(default)]
    pub required_env: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub exec: Vec<ExecCommand>,
    #[serde(default)]
    pub shell: bool,
    pub knobs: Vec<Knob>,
}

impl Image {
    /// The documented default of a knob this image honours; `None` if it does not honour it.
    pub fn knob_default(&self, name: &str) -> Option<&str> {
        self.knobs
            .iter()
            .find(|k| k.name.value == name)
            .map(|k| k.default.as_str())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    images: BTreeMap<String, Spanned<Image>>,
}

/// The parsed, validated catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    images: BTreeMap<String, Image>,
}

/// A catalog problem, rendered `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError(pub String);

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CatalogError {}

impl Catalog {
    /// The catalog shipped with kdive (validated by a test, so this cannot fail at runtime).
    pub fn builtin() -> Catalog {
        Catalog::parse(BUILTIN, BUILTIN_NAME).unwrap_or_else(|_| Catalog {
            images: BTreeMap::new(),
        })
    }

    /// Parses and validates `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Catalog, CatalogError> {
        let raw: CatalogFile = serde_saphyr::from_str(text).map_err(|e| {
            let at = kdive_core::yaml::locate(&e, 1);
            CatalogError(format!("{file}:{}: {}", at.line, at.message))
        })?;
        let err = |line: u64, msg: String| Err(CatalogError(format!("{file}:{line}: {msg}")));
        if !raw.images.contains_key("default") {
            return err(1, "no `default` image (used for images not listed)".into());
        }
        let mut images = BTreeMap::new();
        for (name, entry) in raw.images {
            let line = entry.referenced.line();
            let img = entry.value;
            let mut seen = Vec::new();
            for p in &img.ports {
                let n = p.port.value;
                if !(1..=65535).contains(&n) {
                    return err(
                        p.port.referenced.line(),
                        format!("image {name}: port {n} is not in 1-65535"),
                    );
                }
                if seen.contains(&(n, p.protocol)) {
                    return err(
                        p.port.referenced.line(),
                        format!("image {name}: port {n} listed twice"),
                    );
                }
                seen.push((n, p.protocol));
                if p.http && p.protocol != Protocol::Tcp {
                    return err(
                        p.port.referenced.line(),
                        format!("image {name}: http port {n} must be TCP"),
                    );
                }
            }
            for p in &img.paths {
                if !p.path.value.starts_with('/') {
                    return err(
                        p.path.referenced.line(),
                        format!("image {name}: path {:?} must start with /", p.path.value),
                    );
                }
                if !(100..=599).contains(&p.status.value) {
                    return err(
                        p.status.referenced.line(),
                        format!(
                            "image {name}: status {} is not an HTTP status (100-599)",
                            p.status.value
                        ),
                    );
                }
            }
            let s = img.startup_seconds.value;
            if !s.is_finite() || s < 0.0 {
                return err(
                    img.startup_seconds.referenced.line(),
                    format!("image {name}: startupSeconds must be a number >= 0"),
                );
            }
            for k in &img.knobs {
                if !KNOWN_KNOBS.contains(&k.name.value.as_str()) {
                    return err(
                        k.name.referenced.line(),
                        format!(
                            "image {name}: unknown knob {} (the simulator implements: {})",
                            k.name.value,
                            KNOWN_KNOBS.join(", ")
                        ),
                    );
                }
                if k.doc.value.trim().is_empty() {
                    return err(
                        k.doc.referenced.line(),
                        format!("image {name}: knob {} has no doc", k.name.value),
                    );
                }
            }
            if img.shell && !img.ports.is_empty() {
                return err(
                    line,
                    format!("image {name}: a shell image listens on no ports"),
                );
            }
            images.insert(name, img);
        }
        Ok(Catalog { images })
    }

    /// The entry for an image reference, or `default`.
    pub fn lookup(&self, image: &str) -> &Image {
        let repo = repository(image);
        self.images
            .get(repo.as_str())
            .or_else(|| self.images.get("default"))
            .unwrap_or_else(|| fallback())
    }

    /// Names of the listed images (besides `default`).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.images
            .keys()
            .map(String::as_str)
            .filter(|n| *n != "default")
    }
}

/// `docker.io/library/nginx:1.27@sha256:..` → `nginx`; `ghcr.io/x/y:1` → `ghcr.io/x/y`.
pub fn repository(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let no_tag = match no_digest[last_slash..].find(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    };
    let no_registry = no_tag
        .strip_prefix("docker.io/")
        .or_else(|| no_tag.strip_prefix("index.docker.io/"))
        .unwrap_or(no_tag);
    no_registry
        .strip_prefix("library/")
        .unwrap_or(no_registry)
        .to_string()
}

/// Used only if a catalog somehow has no `default`: listens on declared ports, serves `/`.
fn fallback() -> &'static Image {
    static FALLBACK: std::sync::OnceLock<Image> = std::sync::OnceLock::new();
    FALLBACK.get_or_init(|| Image {
        ports: Vec::new(),
        listen_on_declared_ports: true,
        paths: Vec::new(),
        unknown_path_status: 200,
        startup_seconds: Spanned::new(0.0, Location::UNKNOWN, Location::UNKNOWN),
        memory_mi_b: 16.0,
        cpu_millicores: 5.0,
        sigterm: Sigterm {
            ignored: false,
            exit_after_seconds: 0.5,
            exit_code: 0,
        },
        required_env: Vec::new(),
        files: Vec::new(),
        exec: Vec::new(),
        shell: false,
        knobs: Vec::new(),
    })
}
