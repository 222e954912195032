//! What every crate's integration tests share: a lab on an ephemeral port, kube-rs clients
//! for it, the real kubectl against it, external programs (skipped with a notice when
//! missing, unless `KDIVE_REQUIRE_EXTERNAL=1`), and a permit for heavy tests.
//!
//! One file for both crates: the lab's `tests/it` has it as `support`, the root's includes
//! it from there.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use std::sync::{Condvar, Mutex};

use kdive_lab::{self as lab, LabOptions, RunningLab};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// A lab started in-process, with its kubeconfig written to a temp dir.
pub struct TestLab {
    pub lab: RunningLab,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl TestLab {
    pub async fn start() -> TestLab {
        Self::start_with(LabOptions {
            seed: 7,
            ..LabOptions::default()
        })
        .await
    }

    /// The demo cluster, simulated at 10× speed.
    pub async fn demo(seed: u64) -> TestLab {
        Self::start_with(LabOptions {
            seed,
            speed: 10.0,
            scenario: Some(std::sync::Arc::new(kdive_lab::scenario::Scenario::demo())),
            ..LabOptions::default()
        })
        .await
    }

    pub async fn start_with(opts: LabOptions) -> TestLab {
        let lab = lab::start(opts).await.expect("lab starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        lab::kubeconfig::write(&kubeconfig, &lab.kubeconfig()).expect("write kubeconfig");
        std::fs::create_dir_all(dir.path().join("cache")).expect("cache dir");
        TestLab {
            lab,
            dir,
            kubeconfig,
        }
    }

    pub async fn client(&self) -> kube::Client {
        let kc = Kubeconfig::from_yaml(&self.lab.kubeconfig()).expect("kubeconfig parses");
        let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("config");
        kube::Client::try_from(config).expect("client")
    }

    /// Runs the real kubectl against this lab with a fresh cache dir; None when kubectl is
    /// missing and not required.
    pub async fn kubectl(&self, args: &[&str]) -> Option<Output> {
        self.kubectl_stdin(args, None).await
    }

    pub async fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> Option<Output> {
        if !have("kubectl") {
            return None;
        }
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
            .stdin(if stdin.is_some() {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("kubectl spawns");
        if let Some(input) = stdin {
            use tokio::io::AsyncWriteExt;
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(input.as_bytes()).await.expect("write stdin");
            drop(pipe);
        }
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("kubectl finished within 60s")
            .expect("kubectl ran");
        Some(out)
    }

    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).expect("write file");
        p
    }

    pub async fn stop(self) {
        self.lab.shutdown().await;
    }
}

/// Whether an external program is present. Missing + KDIVE_REQUIRE_EXTERNAL=1 panics;
/// missing otherwise prints a notice so the skip is visible.
pub fn have(program: &str) -> bool {
    let found = which(program).is_some();
    if !found {
        if std::env::var("KDIVE_REQUIRE_EXTERNAL").as_deref() == Ok("1") {
            panic!("{program} is required (KDIVE_REQUIRE_EXTERNAL=1) but not on PATH");
        }
        eprintln!(
            "SKIPPED: {program} is not on PATH; set KDIVE_REQUIRE_EXTERNAL=1 to fail instead"
        );
    }
    found
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout, printing both streams on failure.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "command failed ({}):\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// How many heavy tests (a lab with Prometheus, tmux with a whole kdive) may run at once in
/// one test binary: each is several processes, and the machines have two cores.
const HEAVY_AT_ONCE: usize = 1;

static HEAVY_RUNNING: Mutex<usize> = Mutex::new(0);
static HEAVY_FREED: Condvar = Condvar::new();

/// Held while a heavy test runs; dropping it lets the next one start.
pub struct HeavyPermit(());

/// Waits until fewer than [`HEAVY_AT_ONCE`] heavy tests run, then counts this one in. Each
/// test runs on its own thread, so blocking here holds back only this test.
pub fn heavy_permit() -> HeavyPermit {
    let mut running = HEAVY_RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    while *running >= HEAVY_AT_ONCE {
        running = HEAVY_FREED.wait(running).unwrap_or_else(|p| p.into_inner());
    }
    *running += 1;
    HeavyPermit(())
}

impl Drop for HeavyPermit {
    fn drop(&mut self) {
        let mut running = HEAVY_RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        *running -= 1;
        HEAVY_FREED.notify_one();
    }
}

/// Sends a raw request to the lab: the status code, and the body as JSON (Null when it is
/// not JSON).
pub async fn exchange(
    client: &kube::Client,
    req: http::Request<Vec<u8>>,
) -> (u16, serde_json::Value) {
    let resp = client.send(req.map(Into::into)).await.expect("a response");
    let code = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        code,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}
