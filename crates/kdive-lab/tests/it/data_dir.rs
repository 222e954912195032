//! `--data-dir`: a lab started again on its data directory is the same cluster to its
//! clients: a client made before the restart (its CA, its token) keeps working, and
//! resourceVersions keep counting up.

use crate::support as common;

use common::TestLab;
use k8s_openapi::api::core::v1::ConfigMap;
use kdive_lab::LabOptions;
use kube::api::{Api, PostParams};

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).unwrap()
}

fn rv(c: &ConfigMap) -> u64 {
    c.metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_on_the_data_dir_keeps_ca_token_and_counting() {
    let dir = tempfile::tempdir().unwrap();
    let opts = LabOptions {
        seed: 5,
        simulate: false,
        data_dir: Some(dir.path().join("lab")),
        ..LabOptions::default()
    };
    let first = TestLab::start_with(opts.clone()).await;
    let client = first.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let before = rv(&cms.create(&PostParams::default(), &cm("a")).await.unwrap());
    let (ca, token, addr) = (
        first.lab.ca_pem.clone(),
        first.lab.token.clone(),
        first.lab.addr,
    );
    // (The e2e chaos test kills a `kdive lab` process instead.)
    first.stop().await;

    let second = TestLab::start_with(LabOptions { addr, ..opts }).await;
    assert_eq!(second.lab.ca_pem, ca);
    assert_eq!(second.lab.token, token);
    // The client from before the restart trusts the new server and is let in.
    let after = rv(&cms.create(&PostParams::default(), &cm("b")).await.unwrap());
    assert!(after > before, "{after} after {before}");
    // Objects start again from the scenario: the first lab's ConfigMap is not there.
    assert!(cms.get_opt("a").await.unwrap().is_none());
    second.stop().await;
}
