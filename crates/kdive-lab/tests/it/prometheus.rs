//! The lab's Prometheus child with the real binary: killed, it is reaped and started again
//! on the same port; stopped, it leaves no process and no directory; and directories a
//! dead kdive left behind are removed at the next start.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use kdive_lab::prometheus::{PrometheusOptions, remove_stale_dirs, start_prometheus_for};

use crate::support::{TestLab, have, heavy_permit};

/// The state letter of `/proc/<pid>/stat` ('Z' for a zombie), None once the pid is gone.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// `GET /-/ready` over plain TCP: whether Prometheus answers 200.
fn ready(url: &str) -> bool {
    let addr = url.trim_start_matches("http://");
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(s, "GET /-/ready HTTP/1.0\r\nHost: {addr}\r\n\r\n").is_err() {
        return false;
    }
    let mut head = String::new();
    let _ = s.read_to_string(&mut head);
    head.starts_with("HTTP/1.") && head.split_whitespace().nth(1) == Some("200")
}

async fn eventually(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_killed_is_reaped_and_restarted_on_its_port() {
    if !have("prometheus") {
        return;
    }
    let _heavy = heavy_permit();
    let lab = TestLab::start().await;
    let prom = start_prometheus_for(&lab.lab, &PrometheusOptions::default())
        .await
        .expect("prometheus starts");
    // The directory carries the owner's pid (for the stale-directory sweep) and the token
    // is readable by its owner only.
    let name = prom.dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("kdive-prometheus-{}-", std::process::id())),
        "{name}"
    );
    assert_eq!(mode(&prom.dir.join("token")), 0o600);
    assert_eq!(mode(&prom.dir), 0o700);
    assert!(ready(&prom.url));

    let first = prom.pid().expect("a running child has a pid");
    // SAFETY: SIGKILL to the child this test started.
    assert_eq!(
        unsafe { libc::kill(first as libc::pid_t, libc::SIGKILL) },
        0
    );
    // Reaped: a killed process is a zombie ('Z') until its parent waits for it; the
    // supervisor's wait makes the pid disappear instead of lingering.
    eventually(
        "the killed child is reaped",
        Duration::from_secs(10),
        || proc_state(first).is_none(),
    )
    .await;
    assert!(!ready(&prom.url), "nothing answers while it is down");
    // Started again after the first back-off, on the same URL.
    eventually("a new child", Duration::from_secs(10), || {
        prom.pid().is_some_and(|p| p != first)
    })
    .await;
    assert_eq!(prom.restarts(), 1);
    eventually("the new child answers", Duration::from_secs(60), || {
        ready(&prom.url)
    })
    .await;

    let second = prom.pid().expect("running again");
    let dir = prom.dir.clone();
    prom.stop().await;
    assert_eq!(proc_state(second), None, "stopped and reaped");
    assert!(!dir.exists(), "{} removed on stop", dir.display());
    lab.stop().await;
}

#[test]
fn stale_prometheus_dirs_of_dead_pids_are_removed_and_live_ones_kept() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // A pid that surely ended: a child this test started and reaped.
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let dead = child.id();
    child.wait().expect("reap");
    let live = std::process::id();
    let mk = |name: String| {
        let p = tmp.path().join(name);
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("token"), "secret").unwrap();
        p
    };
    let stale = mk(format!("kdive-prometheus-{dead}-0000abcd"));
    let kept = mk(format!("kdive-prometheus-{live}-0000abcd"));
    let other = mk(format!("kdive-other-{dead}-0000abcd"));
    let removed = remove_stale_dirs(tmp.path());
    assert_eq!(removed, vec![stale.clone()]);
    assert!(!stale.exists());
    assert!(kept.join("token").exists());
    assert!(other.exists());
}
