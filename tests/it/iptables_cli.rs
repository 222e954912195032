//! `kdive iptables` run as a binary on the fixtures of tests/fixtures/iptables.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/iptables")
}

fn kdive(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kdive"))
        .arg("iptables")
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run kdive")
}

fn path(rel: &str) -> String {
    fixtures().join(rel).display().to_string()
}

fn expected(rel: &str) -> String {
    std::fs::read_to_string(fixtures().join(rel)).unwrap()
}

fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn three_endpoints(extra: &[&str]) -> Output {
    let objects = path("clusterip-three-endpoints/objects.yaml");
    let config = path("kube-proxy-config.yaml");
    let mut args = vec![
        "-f",
        &objects,
        "--node-name",
        "node-a",
        "--node-ip",
        "192.168.0.10",
        "--proxy-config",
        &config,
    ];
    args.extend_from_slice(extra);
    kdive(&args)
}

#[test]
fn restore_output_matches_the_golden_file() {
    let out = three_endpoints(&["--table", "nat"]);
    assert_eq!(
        stdout_ok(&out),
        expected("clusterip-three-endpoints/expected.txt")
    );
}

#[test]
fn save_output_matches_the_golden_file() {
    let out = three_endpoints(&["--table", "nat", "--format", "save"]);
    assert_eq!(
        stdout_ok(&out),
        expected("clusterip-three-endpoints/expected-save.txt")
    );
}

#[test]
fn node_and_config_map_come_from_the_objects() {
    // No --node-ip and no --proxy-config: the Node gives 192.168.0.10 and the kube-proxy
    // ConfigMap gives clusterCIDR 10.0.0.0/8, as in the fixture's case.yaml.
    let objects = path("etp-local-loadbalancer/objects.yaml");
    let cluster = path("cluster-objects.yaml");
    let out = kdive(&["-f", &objects, "-f", &cluster, "--node-name", "node-a"]);
    assert_eq!(
        stdout_ok(&out),
        expected("etp-local-loadbalancer/expected.txt")
    );
}

#[test]
fn one_service_only() {
    let objects = path("etp-local-loadbalancer/objects.yaml");
    let cluster = path("cluster-objects.yaml");
    let out = kdive(&[
        "-f",
        &objects,
        "-f",
        &cluster,
        "--node-name",
        "node-a",
        "--service",
        "ns2/web",
        "--table",
        "filter",
    ]);
    let text = stdout_ok(&out);
    assert_eq!(
        text,
        "*filter\n\
         -A KUBE-NODEPORTS -m comment --comment \"ns2/web:http health check node port\" -m tcp -p tcp --dport 32000 -j ACCEPT\n\
         -A KUBE-PROXY-FIREWALL -m comment --comment \"ns2/web:http traffic not accepted by KUBE-FW-7UQ5MBLAVSKMG6DI\" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP\n"
    );
    let out = kdive(&[
        "-f",
        &objects,
        "-f",
        &cluster,
        "--node-name",
        "node-a",
        "--service",
        "ns2/web",
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(&out)).unwrap();
    assert_eq!(v["ports"][0]["external_chain"], "KUBE-SVL-7UQ5MBLAVSKMG6DI");
    assert_eq!(v["ports"][0]["external"][0]["endpoint"], "10.3.0.1:8080");
    // KUBE-NODEPORTS 2, KUBE-SERVICES 2, EXT 4, FW 4, SEP 4, SVC 3, SVL 1.
    assert_eq!(v["rules"]["nat"].as_array().unwrap().len(), 20);
}

#[test]
fn trace_as_json() {
    let out = three_endpoints(&["--trace", "10.0.0.2", "172.30.0.41:80", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(&out)).unwrap();
    assert_eq!(v["verdict"], "DNAT");
    let targets: Vec<(String, f64)> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["endpoint"].as_str().unwrap().to_string(),
                t["probability"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            ("10.1.1.11:80".to_string(), 0.333333),
            ("10.1.1.1:80".to_string(), 0.333333),
            ("10.1.1.2:80".to_string(), 0.333333)
        ]
    );
    assert_eq!(v["masquerade"], false);
    assert_eq!(
        v["path"],
        serde_json::json!([
            "KUBE-SERVICES",
            "KUBE-SVC-XPGD46QRK7WJZT7O",
            "KUBE-SEP-HD2VEEY4CGVFF3QD",
            "KUBE-SEP-2WRVPOE56O752K2O",
            "KUBE-SEP-OZW6NKYJN3H5427X"
        ])
    );
    // From outside the pod CIDR the cluster-IP rule marks the packet.
    let out = three_endpoints(&["--trace", "203.0.113.1", "172.30.0.41:80/tcp", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(&out)).unwrap();
    assert_eq!(v["masquerade"], true);
}

#[test]
fn trace_as_text() {
    let out = three_endpoints(&["--trace", "10.0.0.2", "172.30.0.41:80"]);
    let text = stdout_ok(&out);
    assert!(text.contains("verdict: DNAT to 3 endpoints"), "{text}");
    assert!(text.contains("10.1.1.11:80   33.33%"), "{text}");
    assert!(text.contains("masquerade: no"), "{text}");
    let out = three_endpoints(&["--trace", "10.0.0.2", "172.30.0.99:80"]);
    assert!(stdout_ok(&out).contains("verdict: no kube-proxy rule handles this packet"));
}

fn expect_input_error(out: &Output, needle: &str) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {} stderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

#[test]
fn bad_files_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad_yaml = dir.path().join("bad.yaml");
    std::fs::write(
        &bad_yaml,
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [oops\n",
    )
    .unwrap();
    let p = bad_yaml.display().to_string();
    expect_input_error(&kdive(&["-f", &p]), &format!("{p}:"));

    let missing = dir.path().join("missing.yaml");
    std::fs::write(
        &missing,
        "# a slice without addressType\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, namespace: ns}\nendpoints: []\n",
    )
    .unwrap();
    let p = missing.display().to_string();
    expect_input_error(
        &kdive(&["-f", &p]),
        &format!("{p}:3: EndpointSlice \"s\" is missing addressType"),
    );
    let no_port = dir.path().join("no-port.yaml");
    std::fs::write(
        &no_port,
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{name: http}]\n",
    )
    .unwrap();
    let p = no_port.display().to_string();
    expect_input_error(
        &kdive(&["-f", &p]),
        &format!("{p}:1: Service \"a\" is missing spec.ports[0].port"),
    );

    let unnamed = dir.path().join("unnamed.yaml");
    std::fs::write(
        &unnamed,
        "apiVersion: v1\nkind: Service\nspec: {clusterIP: 10.0.0.1}\n",
    )
    .unwrap();
    let p = unnamed.display().to_string();
    expect_input_error(
        &kdive(&["-f", &p]),
        &format!("{p}:1: Service has no metadata.name"),
    );

    let p = dir.path().join("absent.yaml").display().to_string();
    expect_input_error(&kdive(&["-f", &p]), "cannot read");
}

#[test]
fn bad_flags_exit_2() {
    expect_input_error(
        &three_endpoints(&["--service", "ns1/nope"]),
        "--service ns1/nope: no such Service",
    );
    expect_input_error(
        &three_endpoints(&["--trace", "10.0.0.300", "172.30.0.41:80"]),
        "invalid source IP \"10.0.0.300\"",
    );
    expect_input_error(
        &three_endpoints(&["--trace", "10.0.0.2", "172.30.0.41:99999"]),
        "invalid port",
    );
    expect_input_error(
        &three_endpoints(&["--trace", "10.0.0.2", "172.30.0.41"]),
        "invalid destination",
    );
    let objects = path("clusterip-three-endpoints/objects.yaml");
    expect_input_error(
        &kdive(&["-f", &objects, "--node-ip", "192.168.0.999"]),
        "--node-ip 192.168.0.999",
    );

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kp.yaml");
    std::fs::write(
        &cfg,
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\niptables:\n  masqueradeBit: 40\n",
    )
    .unwrap();
    let c = cfg.display().to_string();
    expect_input_error(
        &kdive(&["-f", &objects, "--proxy-config", &c]),
        &format!("{c}:1: iptables.masqueradeBit: expected an integer 0..31"),
    );
}
