//! A real Prometheus beside the lab: when a `prometheus` binary is available, kdive starts it
//! as a child process scraping the lab's `/metrics` every second (bearer token, TLS verified
//! against the lab's CA) into a temporary data directory, with the Sloth rules of the
//! shipped demo SLOs loaded, starts it again when it exits, and stops it when the lab stops.
//!
//! Prometheus scrapes and evaluates in wall-clock time: with `--speed 10`, a `[5m]` range
//! covers five real minutes, in which fifty simulated minutes of traffic happened.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::server::RunningLab;
use kdive_core::metrics::{Period, spec};

/// The shipped SLO spec for the demo web Service; its Sloth rules are loaded into the lab's
/// Prometheus.
pub const DEMO_SLO_SPEC: &str = include_str!("../../../assets/slo/demo-web.yaml");

#[derive(Debug, Clone)]
pub struct PrometheusOptions {
    /// The binary (default: `prometheus` on PATH).
    pub binary: Option<PathBuf>,
    /// Scrape and rule evaluation interval.
    pub interval: Duration,
    /// How long to wait for `/-/ready`.
    pub ready_timeout: Duration,
}

impl Default for PrometheusOptions {
    fn default() -> Self {
        Self {
            binary: None,
            interval: Duration::from_secs(1),
            ready_timeout: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrometheusStartError {
    #[error(
        "no `prometheus` on PATH (install Debian's prometheus package, or pass --prometheus-bin PATH)"
    )]
    NotFound,
    #[error("{path}: {message}")]
    Spawn { path: String, message: String },
    #[error("cannot prepare Prometheus's files in {dir}: {message}")]
    Files { dir: String, message: String },
    #[error("prometheus exited before it was ready ({status}): {stderr}")]
    Exited { status: String, stderr: String },
    #[error("prometheus was not ready at {url} within {secs}s")]
    NotReady { url: String, secs: u64 },
}

/// A supervised Prometheus child: when it exits (killed, crashed) it is reaped and started
/// again on the same port and files after a back-off, so clients reconnect. Call
/// [`PrometheusChild::stop`]; dropping it stops it too (and a kdive that dies without either
/// takes it along through the parent-death signal; its directory is then removed by the next
/// start, see [`remove_stale_dirs`]).
pub struct PrometheusChild {
    pub url: String,
    pub binary: PathBuf,
    pub dir: PathBuf,
    state: Arc<ChildState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct ChildState {
    /// The running process's pid; 0 while it is down.
    pid: AtomicU32,
    restarts: AtomicU32,
}

/// The first wait before a restart; it doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A child that ran this long crashed afresh: its restart waits [`BACKOFF_MIN`] again.
const STABLE_AFTER: Duration = Duration::from_secs(60);

impl PrometheusChild {
    /// The running process's pid (None while it is down between restarts).
    pub fn pid(&self) -> Option<u32> {
        Some(self.state.pid.load(Ordering::SeqCst)).filter(|p| *p != 0)
    }

    /// How many times the child was started again after it exited.
    pub fn restarts(&self) -> u32 {
        self.state.restarts.load(Ordering::SeqCst)
    }

    /// SIGTERM, then up to 5s for Prometheus to flush and exit, then SIGKILL; reaps it and
    /// removes the data directory.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for PrometheusChild {
    fn drop(&mut self) {
        // The dropped sender tells the supervisor to stop; should the runtime end first,
        // the task's `Child` is dropped, which kills it (kill_on_drop) and tokio reaps it.
        self.stop.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What starts the child, kept to start it again the same way.
struct Launch {
    binary: PathBuf,
    dir: PathBuf,
    port: u16,
}

type Tail = Arc<Mutex<Vec<String>>>;

fn spawn_child(l: &Launch) -> std::io::Result<(Child, Tail)> {
    let mut cmd = Command::new(&l.binary);
    cmd.arg(format!(
        "--config.file={}",
        l.dir.join("prometheus.yml").display()
    ))
    .arg(format!(
        "--storage.tsdb.path={}",
        l.dir.join("data").display()
    ))
    .arg(format!("--web.listen-address=127.0.0.1:{}", l.port))
    .arg("--storage.tsdb.retention.time=1d")
    .arg("--log.level=warn")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe; it only marks the child to get SIGTERM when
    // this process dies, so a killed kdive leaves no Prometheus behind.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    // Always drain stderr (a full pipe would block Prometheus); keep the last lines for
    // the message when it exits early.
    let tail: Tail = Arc::new(Mutex::new(Vec::new()));
    if let Some(stderr) = child.stderr.take() {
        let tail = tail.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                t.push(line);
                if t.len() > 3 {
                    t.remove(0);
                }
            }
        });
    }
    Ok((child, tail))
}

/// SIGTERM, up to 5s to exit, then SIGKILL; always waits, so the child is reaped.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        // SAFETY: sending a signal to our own child by its pid (not yet reaped, so the pid
        // is still ours).
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

/// Owns the child: waits on it (reaping it when it exits), starts it again after a back-off,
/// and terminates it when told to stop (or when the handle is dropped).
async fn supervise(
    mut child: Child,
    launch: Launch,
    state: Arc<ChildState>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut backoff = BACKOFF_MIN;
    let mut up_since = Instant::now();
    loop {
        let status = tokio::select! {
            _ = &mut stop => {
                terminate(&mut child).await;
                state.pid.store(0, Ordering::SeqCst);
                return;
            }
            status = child.wait() => status,
        };
        let pid = state.pid.swap(0, Ordering::SeqCst);
        if up_since.elapsed() >= STABLE_AFTER {
            backoff = BACKOFF_MIN;
        }
        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        tracing::warn!(
            pid,
            %status,
            "the lab's Prometheus exited; starting it again in {}s",
            backoff.as_secs()
        );
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = next_backoff(backoff);
            match spawn_child(&launch) {
                Ok((c, _)) => {
                    child = c;
                    state.pid.store(child.id().unwrap_or(0), Ordering::SeqCst);
                    state.restarts.fetch_add(1, Ordering::SeqCst);
                    up_since = Instant::now();
                    break;
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    "cannot start the lab's Prometheus again; retrying in {}s",
                    backoff.as_secs()
                ),
            }
        }
    }
}

/// The wait before the next restart: double the last, up to [`BACKOFF_MAX`].
fn next_backoff(last: Duration) -> Duration {
    (last * 2).min(BACKOFF_MAX)
}

/// Temp directories are named `kdive-prometheus-<pid>-<random>`.
const DIR_PREFIX: &str = "kdive-prometheus-";

/// Removes `kdive-prometheus-<pid>-*` directories in `tmp` whose owning process is gone (a
/// kdive killed with SIGKILL leaves its directory, token file included). Directories of
/// live processes, and anything not ours, are kept. Returns what was removed.
pub fn remove_stale_dirs(tmp: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return Vec::new();
    };
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let path = entry.path();
        let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == uid);
        if ours && !process_alive(pid) && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// Whether a process with this pid exists: signal 0 checks without sending anything;
/// EPERM means it exists but is not ours.
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Finds `prometheus` on PATH.
pub fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("prometheus"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The Prometheus configuration scraping a lab at `lab_addr` (`127.0.0.1:PORT`).
/// `honor_labels`: the lab's series carry their own `job`, `namespace` and `pod` (as the
/// mesh sidecar, kube-state-metrics and kubelet report them), which must win over the
/// scrape's target labels, as kube-prometheus-stack configures those jobs.
pub fn config_yaml(lab_addr: &str, dir: &Path, interval: Duration, rule_file: &Path) -> String {
    let secs = interval.as_secs_f64();
    format!(
        "global:\n  scrape_interval: {secs}s\n  evaluation_interval: {secs}s\n  scrape_timeout: {secs}s\nrule_files:\n  - {rules}\nscrape_configs:\n  - job_name: kdive-lab\n    scheme: https\n    metrics_path: /metrics\n    honor_labels: true\n    authorization:\n      type: Bearer\n      credentials_file: {token}\n    tls_config:\n      ca_file: {ca}\n    static_configs:\n      - targets: [\"{lab_addr}\"]\n",
        rules = quote(rule_file),
        token = quote(&dir.join("token")),
        ca = quote(&dir.join("ca.pem")),
    )
}

fn quote(p: &Path) -> String {
    serde_json::to_string(&p.display().to_string()).unwrap_or_default()
}

/// Starts Prometheus for a running lab and waits until it is ready.
pub async fn start_prometheus_for(
    lab: &RunningLab,
    opts: &PrometheusOptions,
) -> Result<PrometheusChild, PrometheusStartError> {
    let binary = match &opts.binary {
        Some(b) => b.clone(),
        None => find_binary().ok_or(PrometheusStartError::NotFound)?,
    };
    let tmp = std::env::temp_dir();
    for stale in remove_stale_dirs(&tmp) {
        tracing::info!(dir = %stale.display(), "removed a dead kdive's Prometheus directory");
    }
    let dir = tmp.join(format!(
        "{DIR_PREFIX}{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let files_err = |e: std::io::Error| PrometheusStartError::Files {
        dir: dir.display().to_string(),
        message: e.to_string(),
    };
    if let Err(e) = write_private_dir(&dir, lab, opts.interval) {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(files_err(e));
    }
    let port = match free_port() {
        Ok(p) => p,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(files_err(e));
        }
    };
    let url = format!("http://127.0.0.1:{port}");
    let launch = Launch {
        binary: binary.clone(),
        dir: dir.clone(),
        port,
    };
    let (mut child, tail) = match spawn_child(&launch) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(PrometheusStartError::Spawn {
                path: binary.display().to_string(),
                message: e.to_string(),
            });
        }
    };
    if let Err(e) = wait_ready(&url, &mut child, &tail, opts.ready_timeout).await {
        terminate(&mut child).await;
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    let state = Arc::new(ChildState::default());
    state.pid.store(child.id().unwrap_or(0), Ordering::SeqCst);
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(supervise(child, launch, state.clone(), stop_rx));
    Ok(PrometheusChild {
        url,
        binary,
        dir,
        state,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

fn write_private_dir(dir: &Path, lab: &RunningLab, interval: Duration) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    let write = |name: &str, text: &str| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.join(name))?;
        f.write_all(text.as_bytes())
    };
    write("token", &lab.token)?;
    write("ca.pem", &lab.ca_pem)?;
    let rules = demo_rules();
    write("slo-rules.yml", &rules)?;
    write(
        "prometheus.yml",
        &config_yaml(
            &lab.addr.to_string(),
            dir,
            interval,
            &dir.join("slo-rules.yml"),
        ),
    )
}

/// Sloth's rules for the shipped demo SLOs.
pub fn demo_rules() -> String {
    match spec::parse("assets/slo/demo-web.yaml", DEMO_SLO_SPEC) {
        Ok(l) => kdive_core::metrics::rules::generate(&[l], &Period::thirty_days()),
        Err(_) => "groups: []\n".to_string(),
    }
}

fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

/// Prometheus's own readiness endpoint answers 200 once it serves queries. A plain HTTP/1.0
/// request over loopback: the lab talks to its child, not to any Prometheus.
async fn answers_ready(url: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(addr) = url.strip_prefix("http://").map(|a| a.trim_end_matches('/')) else {
        return false;
    };
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET /-/ready HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(b"HTTP/1.") && &head[9..12] == b"200")
    };
    tokio::time::timeout(Duration::from_secs(1), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

async fn wait_ready(
    url: &str,
    child: &mut Child,
    tail: &Mutex<Vec<String>>,
    timeout: Duration,
) -> Result<(), PrometheusStartError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            // Give the drain task a moment to read the last lines.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let lines = tail.lock().unwrap_or_else(|p| p.into_inner()).join(" | ");
            return Err(PrometheusStartError::Exited {
                status: status.to_string(),
                stderr: lines,
            });
        }
        if answers_ready(url).await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(PrometheusStartError::NotReady {
                url: url.to_string(),
                secs: timeout.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_back_off_from_1s_doubling_to_30s() {
        let mut waits = vec![BACKOFF_MIN];
        for _ in 0..6 {
            waits.push(next_backoff(*waits.last().unwrap()));
        }
        let secs: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30]);
    }
}
