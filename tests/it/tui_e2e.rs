//! End to end in tmux: `kdive --lab` in a real terminal, driven with keys, read back with
//! `capture-pane`, while the real kubectl changes the cluster beside it.

use crate::support as common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::have;

struct Tmux {
    socket: String,
    /// A whole kdive (and its lab) runs in each session: one at a time per test binary.
    _heavy: common::HeavyPermit,
}

impl Tmux {
    fn start(cmd: &str) -> Tmux {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("kdive-e2e-{}-{n}", std::process::id());
        let t = Tmux {
            socket,
            _heavy: common::heavy_permit(),
        };
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "160",
            "-y",
            "48",
            cmd,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "e2e"]).stdout)
            .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    /// Polls the screen until every text is on it.
    #[track_caller]
    fn wait_for(&self, texts: &[&str], secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out after {secs}s waiting for {texts:?}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Web pod names in the chain pane's endpoint rows.
fn web_pods(screen: &str) -> Vec<String> {
    screen
        .split_whitespace()
        .filter(|w| w.starts_with("web-") && w.matches('-').count() == 2)
        .map(str::to_string)
        .collect()
}

#[test]
fn lab_chain_scale_readiness_and_restart() {
    if !have("tmux") || !have("kubectl") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_kdive");
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let t = Tmux::start(&format!(
        "{bin} --lab --speed 10 --kubeconfig-out {} 2>{}",
        kc.display(),
        dir.path().join("stderr").display()
    ));
    t.wait_for(&["watches 13/13 synced", "export KUBECONFIG="], 30);

    // Navigate to demo/web's chain with the command line.
    t.keys(&[":svc web", "Enter"]);
    let before = t.wait_for(
        &[
            "Chain demo/web",
            "3/3 endpoints ready",
            "33.3%",
            "KUBE-SVC-",
        ],
        60,
    );
    let first_pods = web_pods(&before);
    assert_eq!(first_pods.len(), 3, "{before}");

    // Scale with kubectl beside the TUI: five endpoints, a fifth of the traffic each.
    kubectl(
        &kc,
        &["-n", "demo", "scale", "deployment/web", "--replicas=5"],
    );
    t.wait_for(&["5/5 endpoints ready", "20.0%"], 60);

    // Break readiness in a rollout: maxUnavailable (25% of 5 = 1) takes an old pod out of
    // the chain, the new ReplicaSet grows to the surge limit (5 + 2 = 7 pods) with pods that
    // never become ready, and the four old pods left share the traffic.
    kubectl(
        &kc,
        &[
            "-n",
            "demo",
            "set",
            "env",
            "deployment/web",
            "FAIL_READINESS=true",
        ],
    );
    let broken = t.wait_for(
        &["4/7 endpoints ready", "25.0%", "readiness probe failing"],
        60,
    );
    assert!(
        broken.contains("---"),
        "the new pods' conditions are all false:\n{broken}"
    );

    // The lab goes away and comes back on the same port: reconnecting, then a clean resync.
    t.keys(&[":lab restart", "Enter"]);
    t.wait_for(&["reconnecting"], 20);
    let after = t.wait_for(
        &["watches 13/13 synced", "3/3 endpoints ready", "33.3%"],
        60,
    );
    let new_pods = web_pods(&after);
    assert_eq!(new_pods.len(), 3, "{after}");
    // Endpoints that left are listed as `gone` for a few seconds; nowhere else may an old
    // pod appear.
    let live: String = after
        .lines()
        .filter(|l| !l.contains(" gone "))
        .collect::<Vec<_>>()
        .join("\n");
    for p in &first_pods {
        assert!(
            !live.contains(p.as_str()),
            "ghost {p} after the restart:\n{after}"
        );
    }

    // q quits and the terminal is given back.
    t.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.screen().contains("Chain demo/web") {
        assert!(
            Instant::now() < deadline,
            "kdive did not quit:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_ends_the_tui_and_restores_the_terminal() {
    if !have("tmux") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_kdive");
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let t = Tmux::start(&format!(
        "sh -c 'echo $$ > {pid}; exec {bin} --lab --kubeconfig-out {kc} 2>/dev/null'; echo EXITED $?; stty -a | tr ' ' '\\n' | grep icanon; sleep 30",
        pid = pidfile.display(),
        kc = dir.path().join("kubeconfig").display(),
    ));
    t.wait_for(&["watches 13/13 synced"], 30);
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let out = Command::new("kill")
        .args(["-TERM", pid.trim()])
        .output()
        .unwrap();
    assert!(out.status.success());
    // The stty line comes a moment after EXITED: wait for both.
    let screen = t.wait_for(&["EXITED 0", "icanon"], 20);
    assert!(
        !screen.contains("watches 13/13"),
        "the alternate screen is gone:\n{screen}"
    );
    // Raw mode is off again: the line discipline echoes and is canonical.
    assert!(
        screen.contains("icanon") && !screen.contains("-icanon"),
        "{screen}"
    );
}

/// Runs `kdive lab` on `addr` (a new CA and token each time), writing its kubeconfig to
/// `kc`; returns once kubectl gets an answer with that kubeconfig.
fn start_lab(bin: &str, addr: &str, kc: &Path, old: &str) -> std::process::Child {
    start_lab_with(bin, addr, kc, old, &[])
}

fn start_lab_with(
    bin: &str,
    addr: &str,
    kc: &Path,
    old: &str,
    more: &[&std::ffi::OsStr],
) -> std::process::Child {
    let mut child = Command::new(bin)
        .args(["lab", "--empty", "--no-prometheus", "--addr", addr])
        .args(more)
        .arg("--kubeconfig-out")
        .arg(kc)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kdive lab starts");
    if !answers_within(kc, old, Duration::from_secs(30)) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the lab on {addr} did not answer");
    }
    child
}

/// Whether `kc` is rewritten (differs from `old`) and kubectl gets an answer with it.
fn answers_within(kc: &Path, old: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let written = std::fs::read_to_string(kc).unwrap_or_default();
        let answers = written != old
            && !written.is_empty()
            && Command::new("kubectl")
                .args(["get", "--raw", "/version"])
                .env("KUBECONFIG", kc)
                .output()
                .is_ok_and(|o| o.status.success());
        if answers {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn a_lab_restarted_with_a_new_ca_and_token_is_followed_through_the_rewritten_kubeconfig() {
    if !have("tmux") || !have("kubectl") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_kdive");
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut first = start_lab(bin, &addr, &kc, "");
    let t = Tmux::start(&format!(
        "{bin} -A --kubeconfig {} 2>{}",
        kc.display(),
        dir.path().join("stderr").display()
    ));
    t.wait_for(&["watches 13/13 synced"], 30);

    // Same port, new CA and token: the old client can only fail (refused, then TLS).
    let before = std::fs::read_to_string(&kc).unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    let mut second = start_lab(bin, &addr, &kc, &before);
    kubectl(&kc, &["create", "namespace", "second-lab"]);
    t.wait_for(&["second-lab", "watches 13/13 synced"], 40);
    second.kill().unwrap();
    second.wait().unwrap();
}

/// Chaos, three rounds: the lab SIGKILLed and started again on its data directory under a
/// running explorer. Each time the explorer resyncs to what the new lab has (the namespace
/// made before the kill is gone: no ghosts), and resourceVersions keep counting up.
#[test]
fn a_lab_killed_and_restarted_on_its_data_dir_is_resynced_without_ghosts() {
    if !have("tmux") || !have("kubectl") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_kdive");
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let data = dir.path().join("data");
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let more = [std::ffi::OsStr::new("--data-dir"), data.as_os_str()];
    let mut lab = start_lab_with(bin, &addr, &kc, "", &more);
    let first_kubeconfig = std::fs::read_to_string(&kc).unwrap();
    let t = Tmux::start(&format!(
        "{bin} -A --kubeconfig {} 2>{}",
        kc.display(),
        dir.path().join("stderr").display()
    ));
    t.wait_for(&["watches 13/13 synced"], 30);
    let mut last_rv = 0u64;
    for round in 1..=3 {
        let ns = format!("round-{round}");
        kubectl(&kc, &["create", "namespace", &ns]);
        let rv: u64 = kubectl(
            &kc,
            &[
                "get",
                "namespace",
                &ns,
                "-o",
                "jsonpath={.metadata.resourceVersion}",
            ],
        )
        .trim()
        .parse()
        .unwrap();
        assert!(
            rv > last_rv,
            "round {round}: resourceVersion {rv} after {last_rv}"
        );
        last_rv = rv;
        t.wait_for(&[&ns, "watches 13/13 synced"], 30);
        lab.kill().unwrap();
        lab.wait().unwrap();
        // The same data directory: the kubeconfig it writes is the one written first.
        let _ = std::fs::remove_file(&kc);
        lab = start_lab_with(bin, &addr, &kc, "", &more);
        assert_eq!(std::fs::read_to_string(&kc).unwrap(), first_kubeconfig);
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let screen = t.screen();
            if !screen.contains(&ns) && screen.contains("watches 13/13 synced") {
                break;
            }
            if Instant::now() > deadline {
                let _ = lab.kill();
                let _ = lab.wait();
                panic!("round {round}: no resync without {ns}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    lab.kill().unwrap();
    lab.wait().unwrap();
}

#[test]
fn without_a_kubeconfig_it_suggests_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .env("HOME", dir.path())
        .env("KUBECONFIG", dir.path().join("missing"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("missing") && err.contains("cannot read kubeconfig"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .env("HOME", dir.path())
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no kubeconfig found") && err.contains("kdive --lab"),
        "{err}"
    );
    // A kubeconfig but no terminal: it says so instead of drawing into a pipe.
    let kc = dir.path().join("kc");
    std::fs::write(&kc, "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\ncurrent-context: x\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .arg("--kubeconfig")
        .arg(&kc)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("needs a terminal"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(["--kubeconfig"])
        .arg(&kc)
        .args(["--context", "nope"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("context \"nope\" is not in the kubeconfig (contexts: x)"),
        "{err}"
    );
}

#[test]
fn a_lesson_check_turns_green_when_the_learner_acts_with_kubectl() {
    if !have("tmux") || !have("kubectl") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_kdive");
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let state = dir.path().join("state");
    let t = Tmux::start(&format!(
        "KDIVE_STATE_DIR={} {bin} --lab --speed 10 --kubeconfig-out {} 2>/dev/null",
        state.display(),
        kc.display()
    ));
    t.wait_for(&["watches 13/13 synced"], 30);
    let lesson = "control-plane/watch-loops";
    let out = Command::new(bin)
        .args(["lesson", "start", lesson, "--yes"])
        .env("KUBECONFIG", &kc)
        .env("KDIVE_STATE_DIR", &state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.keys(&[&format!(":lesson {lesson}"), "Enter"]);
    t.wait_for(
        &[
            "0/3 steps",
            "✗ deployment/web lost ready replicas",
            "not seen yet",
        ],
        30,
    );
    // The learner deletes the pods with kubectl; the observe check sees the dip and the
    // recovery, and the step turns green.
    kubectl(
        &kc,
        &[
            "-n",
            "kdive-control-plane-watch-loops",
            "delete",
            "pod",
            "-l",
            "app=web",
        ],
    );
    t.wait_for(
        &[
            "1/3 steps",
            "✓ 1. Delete the pods and watch them come back  done",
        ],
        60,
    );
    t.keys(&["q"]);
}

/// The line count the log pane's status row shows.
fn log_lines(screen: &str) -> Option<u64> {
    let at = screen.find(" lines")?;
    screen[..at].rsplit(' ').next()?.parse().ok()
}

#[test]
fn the_log_pane_follows_a_lab_pod_and_names_a_missing_previous_run() {
    if !have("tmux") || !have("kubectl") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_kdive");
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let t = Tmux::start(&format!(
        "{bin} --lab --speed 10 --no-prometheus --kubeconfig-out {} 2>{}",
        kc.display(),
        dir.path().join("stderr").display()
    ));
    t.wait_for(&["watches 13/13 synced"], 30);
    let pod = kubectl(
        &kc,
        &[
            "get",
            "pods",
            "-n",
            "demo",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ],
    );
    t.keys(&[&format!(":pod {pod}"), "Enter"]);
    t.wait_for(&[&format!("Pod demo/{pod}")], 30);
    t.keys(&["l"]);
    let first = t.wait_for(
        &[
            &format!("Logs demo/{pod}"),
            "web · following",
            "msg=listening addr=:8080",
            "path=/ready status=200",
        ],
        30,
    );
    // Readiness probes every 5 simulated seconds (0.5 s here): the log grows while followed.
    let n = log_lines(&first).expect("a line count");
    let deadline = Instant::now() + Duration::from_secs(20);
    while log_lines(&t.screen()).is_none_or(|m| m <= n) {
        assert!(Instant::now() < deadline, "no new lines:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    t.keys(&["p"]);
    t.wait_for(
        &[&format!(
            "previous terminated container \"web\" in pod \"{pod}\" not found"
        )],
        20,
    );
    t.keys(&["Escape"]);
    t.wait_for(&[&format!("Pod demo/{pod}")], 20);
}

/// On-call in a real terminal: a Service broken with kubectl beside the explorer; the
/// Triage pane names the cause, the status bar counts it, and the fix clears it live.
#[test]
fn the_triage_pane_names_a_service_broken_with_kubectl() {
    if !have("tmux") || !have("kubectl") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_kdive");
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let t = Tmux::start(&format!(
        "{bin} --lab --no-prometheus --kubeconfig-out {} 2>{}",
        kc.display(),
        dir.path().join("stderr").display()
    ));
    t.wait_for(&["watches 13/13 synced", "export KUBECONFIG="], 30);
    t.keys(&[":triage svc/web", "Enter"]);
    t.wait_for(&["Triage Service demo/web", "healthy"], 60);
    kubectl(
        &kc,
        &[
            "-n",
            "demo",
            "patch",
            "service",
            "web",
            "-p",
            r#"{"spec":{"selector":{"app":"wbe"}}}"#,
        ],
    );
    let broken = t.wait_for(
        &[
            "selector-matches-nothing  Service demo/web",
            "Deployment web's pod template has app=web",
            "selector app=web → app=wbe",
            "critical finding",
        ],
        30,
    );
    assert!(broken.contains("down: it serves nothing"), "{broken}");
    kubectl(
        &kc,
        &[
            "-n",
            "demo",
            "patch",
            "service",
            "web",
            "-p",
            r#"{"spec":{"selector":{"app":"web"}}}"#,
        ],
    );
    t.wait_for(&["healthy: nothing found"], 30);
    t.keys(&["q"]);
}
