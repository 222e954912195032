//! `kdive chain` and `kdive dns` live against the lab's demo cluster (at 10x speed): the
//! `demo/web` chain lists exactly the web pods the control plane made, `postgres-0.postgres`
//! resolves from a web pod through the search list, and a missing name is NXDOMAIN.

use crate::support as common;

use std::time::Duration;

use common::{TestLab, ok};
use serde_json::Value;

fn kdive(lab: &TestLab, args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(args)
        .arg("--kubeconfig")
        .arg(&lab.kubeconfig)
        .output()
        .expect("kdive runs");
    serde_json::from_str(&ok(&out)).expect("JSON output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_and_dns_read_the_live_demo_cluster() {
    if !common::have("kubectl") {
        return;
    }
    let lab = TestLab::demo(5).await;
    for (kind, ns) in [
        ("deployment/web", "demo"),
        ("deployment/coredns", "kube-system"),
        ("statefulset/postgres", "demo"),
    ] {
        ok(&lab
            .kubectl(&["rollout", "status", kind, "-n", ns, "--timeout=45s"])
            .await
            .unwrap());
    }
    // The endpoint controller runs a moment behind readiness.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pods = ok(&lab
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "demo",
            "-l",
            "app=web",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.status.podIP}{\"\\n\"}{end}",
        ])
        .await
        .unwrap());
    let mut want: Vec<String> = pods
        .lines()
        .map(|l| format!("{}:8080", l.split(' ').nth(1).unwrap_or("")))
        .collect();
    want.sort();
    assert_eq!(want.len(), 3, "{pods}");
    let web_pod = pods
        .lines()
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();

    let chain = kdive(&lab, &["chain", "svc/web", "-n", "demo", "-o", "json"]);
    let cluster_ip = ok(&lab
        .kubectl(&[
            "get",
            "svc",
            "web",
            "-n",
            "demo",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ])
        .await
        .unwrap());
    assert_eq!(chain["service"]["cluster_ips"][0], cluster_ip.as_str());
    let http = &chain["ports"][0];
    let mut eps: Vec<String> = http["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap().to_string())
        .collect();
    eps.sort();
    assert_eq!(eps, want);
    for e in http["endpoints"].as_array().unwrap() {
        assert_eq!(e["ready"], true);
        // Three ready endpoints: kube-proxy's chain picks each with 1/3 overall.
        let share = e["share"]
            .as_f64()
            .or(e["probability"].as_f64())
            .unwrap_or(0.0);
        assert!(share > 0.0, "{e}");
    }
    assert_eq!(chain["proxy"]["status"], "rendered");
    // The nodes section lists the nodes the web pods run on.
    let nodes = ok(&lab
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "demo",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].spec.nodeName}",
        ])
        .await
        .unwrap());
    let distinct: std::collections::BTreeSet<&str> = nodes.split_whitespace().collect();
    assert_eq!(
        chain["nodes"].as_array().unwrap().len(),
        distinct.len(),
        "{}",
        chain["nodes"]
    );

    let dns = kdive(
        &lab,
        &[
            "dns",
            "postgres-0.postgres",
            "--from",
            &format!("pod/{web_pod}"),
            "-n",
            "demo",
            "-o",
            "json",
        ],
    );
    let pg_ip = ok(&lab
        .kubectl(&[
            "get",
            "pod",
            "postgres-0",
            "-n",
            "demo",
            "-o",
            "jsonpath={.status.podIP}",
        ])
        .await
        .unwrap());
    // One dot < ndots 5: the search list first; the namespace's own domain answers.
    assert_eq!(
        dns["candidates"][0]["name"],
        "postgres-0.postgres.demo.svc.cluster.local."
    );
    assert_eq!(dns["result"]["candidate"], 0);
    assert_eq!(dns["result"]["records"][0]["data"], pg_ip.as_str());

    let missing = kdive(
        &lab,
        &[
            "dns",
            "nosuch.demo.svc.cluster.local.",
            "--from",
            &format!("pod/{web_pod}"),
            "-n",
            "demo",
            "-o",
            "json",
        ],
    );
    assert_eq!(missing["result"]["status"], "nxdomain", "{missing}");
    assert_eq!(missing["candidates"][0]["answer"]["rcode"], "NXDOMAIN");
    // The live CoreDNS pods are the resolver's endpoints.
    assert_eq!(missing["server"]["endpoints"].as_array().unwrap().len(), 2);
    lab.stop().await;
}
