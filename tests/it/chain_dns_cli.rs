//! `kdive chain` and `kdive dns` run as a user would, on the demo fixtures
//! (tests/fixtures/chain/): text diagrams (insta snapshots, reviewed), `-o json`, and
//! exit status 2 with a message on bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/chain")
        .join(name)
        .display()
        .to_string()
}

fn kdive(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(args)
        // Never fall through to a real cluster from a test.
        .env("KUBECONFIG", "/nonexistent-kdive-test-kubeconfig")
        .output()
        .expect("kdive runs")
}

/// Runs with the three demo fixture files.
fn demo(args: &[&str]) -> Output {
    let files = [
        fixture("cluster.yaml"),
        fixture("demo.yaml"),
        fixture("dns-pods.yaml"),
    ];
    let mut all: Vec<&str> = args.to_vec();
    for f in &files {
        all.push("-f");
        all.push(f);
    }
    kdive(&all)
}

fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&ok_stdout(out)).expect("valid JSON")
}

fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Paths differ per checkout; snapshots show them as FIXTURES/.
fn scrub(text: &str) -> String {
    text.replace(&fixture(""), "FIXTURES/")
}

#[test]
fn chain_web_text() {
    let out = ok_stdout(&demo(&["chain", "svc/web", "-n", "demo"]));
    insta::assert_snapshot!("chain_web_text", scrub(&out));
}

#[test]
fn chain_web_json() {
    let v = json(&demo(&["chain", "svc/web", "-n", "demo", "-o", "json"]));
    assert_eq!(v["service"]["cluster_ips"][0], "10.96.120.15");
    let http = &v["ports"][0];
    assert_eq!(http["target_port"], "http");
    let eps: Vec<&str> = http["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(
        eps,
        [
            "10.244.1.5:8080",
            "10.244.1.9:8080",
            "10.244.2.7:8080",
            "10.244.2.8:8080"
        ]
    );
    assert_eq!(http["endpoints"][0]["probability"], 0.5);
    assert_eq!(http["endpoints"][3]["ready"], false);
    assert_eq!(http["excluded"][0]["pod"], "web-legacy");
    assert_eq!(http["excluded"][0]["reason"], "named_port_not_found");
    assert_eq!(v["proxy"]["status"], "rendered");
    assert_eq!(v["proxy"]["node"]["name"], "node-a");
    assert_eq!(v["nodes"].as_array().unwrap().len(), 3);
}

#[test]
fn chain_node_flag_changes_the_proxy_node() {
    let v = json(&demo(&[
        "chain", "web", "-n", "demo", "-o", "json", "--node", "node-c",
    ]));
    assert_eq!(v["proxy"]["node"]["name"], "node-c");
}

#[test]
fn chain_headless_postgres_text() {
    let out = ok_stdout(&demo(&["chain", "service/postgres", "-n", "demo"]));
    insta::assert_snapshot!("chain_postgres_text", scrub(&out));
}

#[test]
fn dns_statefulset_pod_from_web_pod_text() {
    let out = ok_stdout(&demo(&[
        "dns",
        "postgres-0.postgres",
        "--from",
        "pod/web-7d9f8b6c5d-4hx2k",
        "-n",
        "demo",
    ]));
    insta::assert_snapshot!("dns_postgres_0_text", scrub(&out));
}

#[test]
fn dns_search_list_json() {
    let v = json(&demo(&[
        "dns",
        "kube-dns.kube-system",
        "-n",
        "demo",
        "-o",
        "json",
    ]));
    assert_eq!(v["candidates"][0]["answer"]["rcode"], "NXDOMAIN");
    assert_eq!(
        v["candidates"][1]["name"],
        "kube-dns.kube-system.svc.cluster.local."
    );
    assert_eq!(v["result"]["candidate"], 1);
    assert_eq!(v["result"]["records"][0]["data"], "10.96.0.10");
    assert_eq!(v["dnat"]["status"], "rendered");
}

#[test]
fn dns_clusterip_text_shows_dnat() {
    let out = ok_stdout(&demo(&["dns", "web", "-n", "demo"]));
    insta::assert_snapshot!("dns_web_text", scrub(&out));
}

#[test]
fn dns_nxdomain() {
    let out = ok_stdout(&demo(&[
        "dns",
        "nosuch.demo.svc.cluster.local.",
        "-n",
        "demo",
    ]));
    assert!(out.contains("NXDOMAIN: no Service demo/nosuch"), "{out}");
    assert!(out.contains("Answer: NXDOMAIN"), "{out}");
}

#[test]
fn dns_srv_named_port() {
    let v = json(&demo(&[
        "dns",
        "_postgres._tcp.postgres",
        "--type",
        "SRV",
        "-n",
        "demo",
        "-o",
        "json",
    ]));
    assert_eq!(v["query"]["type"], "SRV");
    assert_eq!(
        v["result"]["records"][0]["data"],
        "0 50 5432 postgres-0.postgres.demo.svc.cluster.local."
    );
}

#[test]
fn dns_policy_none_and_default() {
    let out = ok_stdout(&demo(&[
        "dns",
        "web",
        "--from",
        "pod/tools-none",
        "-n",
        "demo",
    ]));
    insta::assert_snapshot!("dns_policy_none_text", scrub(&out));
    let v = json(&demo(&[
        "dns",
        "web",
        "--from",
        "pod/tools-default",
        "-n",
        "demo",
        "-o",
        "json",
        "--node-resolv-conf",
        &fixture("node-resolv.conf"),
    ]));
    assert_eq!(v["client"]["mode"], "node");
    assert_eq!(v["resolv_conf"]["nameservers"][0], "192.168.10.2");
    assert_eq!(v["server"]["kind"], "upstream");
    assert_eq!(v["result"]["status"], "unknown");
}

#[test]
fn dns_host_network() {
    let v = json(&demo(&[
        "dns",
        "web",
        "--from",
        "pod/node-agent",
        "-n",
        "demo",
        "-o",
        "json",
    ]));
    assert_eq!(v["client"]["host_network"], true);
    assert_eq!(v["client"]["mode"], "cluster");
    assert_eq!(v["dnat"]["node"]["name"], "node-b");
    let out = ok_stdout(&demo(&[
        "dns",
        "web",
        "--from",
        "pod/hostnet-plain",
        "-n",
        "demo",
    ]));
    assert!(
        out.contains("set ClusterFirstWithHostNet to use cluster DNS"),
        "{out}"
    );
}

#[test]
fn unknown_service_exits_2() {
    fails_with(
        &demo(&["chain", "svc/nope", "-n", "demo"]),
        "Service demo/nope not found (Services there: billing, postgres, web)",
    );
    fails_with(
        &demo(&["chain", "pod/web", "-n", "demo"]),
        "expected svc/NAME",
    );
}

#[test]
fn unknown_pod_exits_2() {
    fails_with(
        &demo(&["dns", "web", "--from", "pod/ghost", "-n", "demo"]),
        "pod demo/ghost not found",
    );
}

#[test]
fn bad_yaml_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n",
    )
    .unwrap();
    let p = path.display().to_string();
    let out = kdive(&["chain", "svc/a", "-f", &p]);
    fails_with(&out, &format!("{p}:"));
    fails_with(&out, "invalid YAML");
}

#[test]
fn missing_name_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noname.yaml");
    std::fs::write(
        &path,
        "# header\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  namespace: demo\nspec: {}\n",
    )
    .unwrap();
    let p = path.display().to_string();
    // The second document starts on line 6.
    fails_with(
        &kdive(&["dns", "a", "-f", &p]),
        &format!("{p}:6: Service has no metadata.name"),
    );
}

#[test]
fn invalid_object_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slice.yaml");
    // addressType is required in an EndpointSlice.
    std::fs::write(
        &path,
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, namespace: demo}\nendpoints: []\n",
    )
    .unwrap();
    let p = path.display().to_string();
    fails_with(
        &kdive(&["chain", "svc/a", "-f", &p]),
        &format!("{p}:1: EndpointSlice \"s\" is missing addressType"),
    );
}

#[test]
fn bad_flags_exit_2() {
    fails_with(&demo(&["dns", "web", "--type", "MX"]), "MX");
    fails_with(&demo(&["dns", "web..x"]), "not a valid DNS name");
    fails_with(
        &demo(&["dns", "web", "--cluster-dns", "not-an-ip"]),
        "not an IP address",
    );
}

#[test]
fn chain_nodeport_local_per_node() {
    let run = |node: &str| {
        let files = [
            fixture("cluster.yaml"),
            fixture("demo.yaml"),
            fixture("nodeport.yaml"),
        ];
        ok_stdout(&kdive(&[
            "chain",
            "svc/web-public",
            "-n",
            "demo",
            "--node",
            node,
            "-f",
            &files[0],
            "-f",
            &files[1],
            "-f",
            &files[2],
        ]))
    };
    // Derivation in the fixture's header comment.
    let b = run("node-b");
    assert!(
        b.contains("cluster IP → KUBE-SVC-")
            && b.contains("10.244.1.5:8080 50%, 10.244.2.7:8080 50%"),
        "{b}"
    );
    assert!(b.contains("node port 30080 → KUBE-SVL-"), "{b}");
    assert!(b.contains("→ 10.244.2.7:8080 100%"), "{b}");
    let c = run("node-c");
    assert!(c.contains("node port 30080 → KUBE-SVL-"), "{c}");
    assert!(c.contains("no local endpoint on this node: DROP"), "{c}");
    // web-legacy sits in the port-less slice: in a slice, but not under port http.
    assert!(c.contains("web-legacy: targetPort \"http\""), "{c}");
    assert!(c.contains("listed in slice web-public-q4m8z"), "{c}");
}
