//! Peer benchmark: one lab of 10,000 pods watched at once by kdive's explorer, by kdash, and
//! by `kubectl get pods -A -w` (the floor: a client that only prints what it hears), each in
//! its own tmux session of 160×48 on the lab's kubeconfig, all namespaces. Measures each
//! client's RSS once synced and again after churn, its CPU while the pods churn (label patches
//! at a fixed rate), and key-to-screen latency (a key sent with `tmux send-keys` until
//! `capture-pane` shows a different screen) for the two TUIs; then the ratios.
//!
//! `cargo bench --bench peers`; prints `SKIPPED: ...` and exits 0 when kdash, tmux or
//! kubectl is not on PATH (KDIVE_REQUIRE_EXTERNAL=1 makes that a failure). Env BENCH_PODS
//! (10000), BENCH_NAMESPACES (10), BENCH_RATE (pod patches/s, 100), BENCH_SECONDS (churn,
//! 30), BENCH_KEYS (20) scale it.

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{client_from, env_num, percentile, rss_kib};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};

const DEPLOYMENTS_PER_NS: u64 = 10;
const PODS_PER_NODE: u64 = 500;
/// How long a key may take before it counts as lost.
const KEY_TIMEOUT: Duration = Duration::from_secs(5);

fn main() {
    let missing: Vec<&str> = ["tmux", "kdash", "kubectl"]
        .into_iter()
        .filter(|p| !on_path(p))
        .collect();
    if !missing.is_empty() {
        let msg = format!("SKIPPED: {} not on PATH", missing.join(", "));
        if env_num("KDIVE_REQUIRE_EXTERNAL", 0) == 1 {
            eprintln!("{msg} (KDIVE_REQUIRE_EXTERNAL=1)");
            std::process::exit(1);
        }
        println!("{msg}");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(e) = rt.block_on(run()) {
        eprintln!("peers: {e}");
        std::process::exit(1);
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program)).is_ok_and(|m| {
                m.is_file()
                    && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            })
        })
    })
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stdout);
            text.lines().next().unwrap_or_default().trim().to_string()
        })
        .unwrap_or_default()
}

/// Nodes, namespaces `peers-NN`, and in each namespace Deployments `web-N` sharing its pods.
fn scenario(pods: u64, namespaces: u64) -> String {
    let replicas = (pods / (namespaces * DEPLOYMENTS_PER_NS)).max(1);
    let nodes = (pods / PODS_PER_NODE).max(1) + 1;
    let mut out = String::new();
    for n in 0..nodes {
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: node-{n:02}\n  labels: {{topology.kubernetes.io/zone: zone-{}}}\nspec: {{podCIDR: 10.{}.{}.0/22}}\nstatus:\n  capacity: {{cpu: '64', memory: 256Gi, pods: '{PODS_PER_NODE}'}}\n  allocatable: {{cpu: '64', memory: 256Gi, pods: '{PODS_PER_NODE}'}}\n",
            n % 3,
            100 + n / 64,
            (n % 64) * 4
        );
    }
    for ns in 0..namespaces {
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: peers-{ns:02}}}\n"
        );
        for d in 0..DEPLOYMENTS_PER_NS {
            let _ = write!(
                out,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web-{d}, namespace: peers-{ns:02}}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: web-{d}}}}}\n  template:\n    metadata: {{labels: {{app: web-{d}}}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        ports: [{{containerPort: 80, name: http}}]\n        resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}\n"
            );
        }
    }
    out
}

/// One tmux server of its own, so nothing of the user's tmux is touched; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Option<Output> {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .ok()
    }

    fn start(&self, session: &str, cmd: &str) -> Result<(), String> {
        let args = [
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "160",
            "-y",
            "48",
            cmd,
        ];
        match self.run(&args) {
            Some(o) if o.status.success() => Ok(()),
            Some(o) => Err(format!("tmux: {}", String::from_utf8_lossy(&o.stderr))),
            None => Err("tmux did not run".into()),
        }
    }

    /// The screen with its attributes (-e): a moved selection is often only a highlight.
    fn screen(&self, session: &str) -> String {
        self.run(&["capture-pane", "-p", "-e", "-t", session])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn key(&self, session: &str, key: &str) {
        self.run(&["send-keys", "-t", session, key]);
    }

    fn pane_pid(&self, session: &str) -> Option<u32> {
        let out = self.run(&["list-panes", "-t", session, "-F", "#{pane_pid}"])?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// The process named `comm` among `root` and its descendants (the pane may run a shell).
fn find_process(root: u32, comm: &str) -> Option<u32> {
    let mut parent = HashMap::new();
    let mut name = HashMap::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let ppid = stat[close + 1..].split_whitespace().nth(1);
        if let Some(ppid) = ppid.and_then(|p| p.parse::<u32>().ok()) {
            parent.insert(pid, ppid);
            name.insert(pid, stat[open + 1..close].to_string());
        }
    }
    let descends = |mut pid: u32| loop {
        if pid == root {
            return true;
        }
        match parent.get(&pid) {
            Some(&p) if p != 0 => pid = p,
            _ => return false,
        }
    };
    let mut found: Vec<u32> = name
        .iter()
        .filter(|(pid, n)| n.as_str() == comm && descends(**pid))
        .map(|(pid, _)| *pid)
        .collect();
    found.sort();
    found.first().copied()
}

/// User plus system CPU time of a process (all its threads), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(close) = stat.rfind(')') else {
        return 0.0;
    };
    // Fields 14 and 15 (utime, stime); after the ')' the first field is the 3rd.
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf only reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    ticks as f64 / hz as f64
}

#[derive(Clone, Copy, PartialEq)]
enum Peer {
    Kdive,
    Kdash,
    Kubectl,
}

impl Peer {
    const ALL: [Peer; 3] = [Peer::Kdive, Peer::Kdash, Peer::Kubectl];
    fn name(self) -> &'static str {
        match self {
            Peer::Kdive => "kdive",
            Peer::Kdash => "kdash",
            Peer::Kubectl => "kubectl",
        }
    }
}

#[derive(Default)]
struct Figures {
    pid: u32,
    sync_secs: f64,
    rss_sync_kib: u64,
    rss_churn_kib: u64,
    cpu_percent: f64,
    keys: Vec<Duration>,
    lost_keys: usize,
}

async fn run() -> Result<(), String> {
    let pods = env_num("BENCH_PODS", 10_000);
    let namespaces = env_num("BENCH_NAMESPACES", 10).max(1);
    let rate = env_num("BENCH_RATE", 100).max(1);
    let seconds = env_num("BENCH_SECONDS", 30);
    let key_count = env_num("BENCH_KEYS", 20) as usize;
    let expected =
        (pods / (namespaces * DEPLOYMENTS_PER_NS)).max(1) * namespaces * DEPLOYMENTS_PER_NS;

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, scenario(pods, namespaces)).map_err(|e| e.to_string())?;
    let kubeconfig = dir.path().join("kubeconfig");
    let kdive = env!("CARGO_BIN_EXE_kdive");
    let started = Instant::now();
    let mut lab = tokio::process::Command::new(kdive)
        .args(["lab", "--seed", "1", "--no-prometheus", "--scenario"])
        .arg(&file)
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("kdive lab: {e}"))?;
    while !kubeconfig.exists() {
        if started.elapsed() > Duration::from_secs(60) {
            return Err("the lab wrote no kubeconfig within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = client_from(&kubeconfig).await;
    let all: Api<Pod> = Api::all(client.clone());

    // The clients start on a settled cluster: every pod Running.
    let names = loop {
        let list = all
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?;
        let running: Vec<(String, String)> = list
            .items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .map(|p| {
                let m = &p.metadata;
                (
                    m.namespace.clone().unwrap_or_default(),
                    m.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        if running.len() as u64 >= expected {
            break running;
        }
        if started.elapsed() > Duration::from_secs(900) {
            return Err(format!(
                "{}/{expected} pods Running after 900 s",
                running.len()
            ));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    println!(
        "lab: {expected} pods Running in {namespaces} namespaces {:.0} s after start",
        started.elapsed().as_secs_f64()
    );

    println!(
        "clients: kdive (this build), {}, {}",
        first_line("kdash", &["--version"]),
        first_line("kubectl", &["version", "--client"])
    );
    let tmux = Tmux {
        socket: format!("kdive-peers-{}", std::process::id()),
    };
    let kc = kubeconfig.display();
    let kubectl_out = dir.path().join("kubectl-watch.txt");
    let commands = [
        format!("env KUBECONFIG={kc} {kdive} -A"),
        format!("env KUBECONFIG={kc} kdash"),
        // tee so the lines can be counted; kubectl still writes every line it hears.
        format!(
            "env KUBECONFIG={kc} kubectl get pods -A -w | tee {}",
            kubectl_out.display()
        ),
    ];
    let sync_start = Instant::now();
    for (peer, cmd) in Peer::ALL.iter().zip(&commands) {
        tmux.start(peer.name(), cmd)?;
    }
    let mut figures: Vec<Figures> = Vec::new();
    for peer in Peer::ALL {
        let root = tmux.pane_pid(peer.name()).ok_or("no tmux pane")?;
        let mut f = Figures::default();
        let deadline = Instant::now() + Duration::from_secs(600);
        while f.pid == 0 {
            f.pid = find_process(root, peer.name()).unwrap_or(0);
            if Instant::now() > deadline {
                return Err(format!("{} did not start", peer.name()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        figures.push(f);
    }
    wait_synced(&tmux, &mut figures, expected, &kubectl_out, sync_start).await?;
    // Let one more poll (kdash) and the allocators settle before reading memory.
    tokio::time::sleep(Duration::from_secs(10)).await;
    for f in &mut figures {
        f.rss_sync_kib = rss_kib(f.pid).0;
    }

    // Key-to-screen latency on a quiet cluster, so a screen change is the key's doing.
    for (i, peer) in [Peer::Kdive, Peer::Kdash].into_iter().enumerate() {
        for k in 0..key_count {
            let key = if k % 2 == 0 { "Down" } else { "Up" };
            match key_latency(&tmux, peer.name(), key).await {
                Some(d) => figures[i].keys.push(d),
                None => figures[i].lost_keys += 1,
            }
        }
        figures[i].keys.sort();
    }

    // Churn: label patches at a fixed rate, each a MODIFIED event for every client.
    let cpu_before: Vec<f64> = figures.iter().map(|f| cpu_seconds(f.pid)).collect();
    let churn_start = Instant::now();
    let (patched, failed) = churn(&client, &names, rate, seconds).await;
    let churn_secs = churn_start.elapsed().as_secs_f64();
    for (f, before) in figures.iter_mut().zip(cpu_before) {
        f.cpu_percent = (cpu_seconds(f.pid) - before) / churn_secs * 100.0;
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    for f in &mut figures {
        f.rss_churn_kib = rss_kib(f.pid).0;
    }
    println!(
        "churn: {patched} pod label patches over {churn_secs:.1} s ({:.0}/s, {failed} failed)",
        patched as f64 / churn_secs
    );
    print!("{}", report(&figures, key_count));
    drop(tmux);
    let _ = lab.kill().await;
    Ok(())
}

/// Until every client shows (or has printed) the whole cluster; each one's time from
/// `start` goes in its figures. The three sync at once, as they would side by side.
async fn wait_synced(
    tmux: &Tmux,
    figures: &mut [Figures],
    pods: u64,
    kubectl_out: &Path,
    start: Instant,
) -> Result<(), String> {
    let deadline = start + Duration::from_secs(600);
    loop {
        let mut pending = Vec::new();
        for (peer, f) in Peer::ALL.iter().zip(figures.iter_mut()) {
            if f.sync_secs > 0.0 {
                continue;
            }
            let done = match peer {
                Peer::Kdive => kdive_synced(&tmux.screen(peer.name())),
                Peer::Kdash => kdash_synced(&tmux.screen(peer.name()), pods),
                Peer::Kubectl => lines(kubectl_out) > pods,
            };
            if done {
                f.sync_secs = start.elapsed().as_secs_f64();
            } else {
                pending.push(*peer);
            }
        }
        let Some(late) = pending.first() else {
            return Ok(());
        };
        if Instant::now() > deadline {
            return Err(format!(
                "{} not synced after 600 s; screen:\n{}",
                late.name(),
                tmux.screen(late.name())
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The status bar's "watches N/N synced".
fn kdive_synced(screen: &str) -> bool {
    screen.split("watches ").skip(1).any(|rest| {
        let word = rest.split_whitespace().next().unwrap_or("");
        let synced = rest.split_whitespace().nth(1) == Some("synced");
        matches!(word.split_once('/'), Some((a, b)) if a == b && synced)
    })
}

/// kdash titles its pod table with the count it listed.
fn kdash_synced(screen: &str, pods: u64) -> bool {
    let count = pods.to_string();
    screen
        .lines()
        .any(|l| l.contains("Pods") && l.contains(&count))
}

fn lines(path: &Path) -> u64 {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64)
        .unwrap_or(0)
}

/// Waits for a still screen, sends the key, and times until the screen differs.
async fn key_latency(tmux: &Tmux, session: &str, key: &str) -> Option<Duration> {
    let mut before = tmux.screen(session);
    let quiet = Instant::now() + Duration::from_secs(3);
    loop {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let now = tmux.screen(session);
        if now == before || Instant::now() > quiet {
            before = now;
            break;
        }
        before = now;
    }
    let sent = Instant::now();
    tmux.key(session, key);
    while sent.elapsed() < KEY_TIMEOUT {
        if tmux.screen(session) != before {
            return Some(sent.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}

/// Patches a label on `rate` pods a second for `seconds`; returns (sent, failed).
async fn churn(
    client: &kube::Client,
    names: &[(String, String)],
    rate: u64,
    seconds: u64,
) -> (usize, usize) {
    let total = (rate * seconds) as usize;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let mut writers = Vec::with_capacity(total);
    for i in 0..total {
        ticker.tick().await;
        let (ns, name) = names[i % names.len()].clone();
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        writers.push(tokio::spawn(async move {
            let patch = serde_json::json!({"metadata": {"labels": {"churn": i.to_string()}}});
            pods.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ())
        }));
    }
    let mut failed = 0;
    for w in writers {
        if !matches!(w.await, Ok(Ok(()))) {
            failed += 1;
        }
    }
    (total, failed)
}

fn report(figures: &[Figures], keys: usize) -> String {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<8} {:>9} {:>14} {:>15} {:>11} {:>13} {:>13}",
        "client",
        "synced s",
        "RSS synced MiB",
        "RSS churned MiB",
        "CPU churn %",
        "key p50 ms",
        "key p90 ms"
    );
    for (peer, f) in Peer::ALL.iter().zip(figures) {
        let (p50, p90) = if f.keys.is_empty() {
            ("-".to_string(), "-".to_string())
        } else {
            (
                format!("{:.1}", ms(percentile(&f.keys, 0.5))),
                format!("{:.1}", ms(percentile(&f.keys, 0.9))),
            )
        };
        let lost = if f.lost_keys > 0 {
            format!(" ({} of {keys} keys lost)", f.lost_keys)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:<8} {:>9.1} {:>14.1} {:>15.1} {:>11.1} {:>13} {:>13}{lost}",
            peer.name(),
            f.sync_secs,
            mib(f.rss_sync_kib),
            mib(f.rss_churn_kib),
            f.cpu_percent,
            p50,
            p90
        );
    }
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.2}", a / b)
        } else {
            "-".into()
        }
    };
    let (kd, ka, kc) = (&figures[0], &figures[1], &figures[2]);
    let _ = writeln!(
        out,
        "\nratios          kdive/kdash  kdive/kubectl  kdash/kubectl"
    );
    let row = |name: &str, f: &dyn Fn(&Figures) -> f64| {
        format!(
            "{name:<15} {:>11}  {:>13}  {:>13}\n",
            ratio(f(kd), f(ka)),
            ratio(f(kd), f(kc)),
            ratio(f(ka), f(kc))
        )
    };
    out += &row("RSS synced", &|f| f.rss_sync_kib as f64);
    out += &row("RSS churned", &|f| f.rss_churn_kib as f64);
    out += &row("CPU churn", &|f| f.cpu_percent);
    if !kd.keys.is_empty() && !ka.keys.is_empty() {
        let _ = writeln!(
            out,
            "{:<15} {:>11}",
            "key p50",
            ratio(ms(percentile(&kd.keys, 0.5)), ms(percentile(&ka.keys, 0.5)))
        );
        let _ = writeln!(
            out,
            "{:<15} {:>11}",
            "key p90",
            ratio(ms(percentile(&kd.keys, 0.9)), ms(percentile(&ka.keys, 0.9)))
        );
    }
    out
}
