//! A cluster that cannot be read is named for what is wrong, as the status bar and the
//! commands show it: 401 for a token the server does not accept, TLS for a certificate the
//! kubeconfig's CA did not sign, "connection refused" for a server that is down, "timed
//! out" for one that accepts and never answers.

use crate::support as common;

use std::time::Duration;

use common::TestLab;
use k8s_openapi::api::core::v1::Pod;
use kdive::sources::failure::Failure;
use kube::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};

async fn client(kubeconfig: &str, timeout: Option<Duration>) -> kube::Client {
    let kc = Kubeconfig::from_yaml(kubeconfig).expect("kubeconfig parses");
    let mut config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    if timeout.is_some() {
        config.connect_timeout = timeout;
        config.read_timeout = timeout;
    }
    kube::Client::try_from(config).expect("client")
}

async fn failure(kubeconfig: &str, timeout: Option<Duration>) -> Failure {
    let pods: Api<Pod> = Api::all(client(kubeconfig, timeout).await);
    let e = pods
        .list(&Default::default())
        .await
        .expect_err("the list fails");
    Failure::of(&e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_is_named_for_what_it_is() {
    let lab = TestLab::start().await;
    let other = TestLab::start().await;
    let l = &lab.lab;

    let wrong_token = kdive_lab::kubeconfig::render(&l.url, &l.ca_pem, "not-the-token");
    let f = failure(&wrong_token, None).await;
    assert!(matches!(f, Failure::Unauthorized(_)), "{f:?}");
    assert!(f.to_string().starts_with("401 Unauthorized"), "{f}");

    let wrong_ca = kdive_lab::kubeconfig::render(&l.url, &other.lab.ca_pem, &l.token);
    let f = failure(&wrong_ca, None).await;
    assert!(matches!(f, Failure::Tls(_)), "{f:?}");
    assert!(
        f.to_string().starts_with("TLS: invalid peer certificate"),
        "{f}"
    );

    // A server that accepts connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("https://{}", silent.local_addr().unwrap());
    let hangs = kdive_lab::kubeconfig::render(&silent_url, &l.ca_pem, &l.token);
    let f = failure(&hangs, Some(Duration::from_secs(1))).await;
    assert_eq!(f, Failure::Timeout, "{f}");
    drop(silent);

    let kubeconfig = lab.lab.kubeconfig();
    other.stop().await;
    lab.stop().await;
    let f = failure(&kubeconfig, None).await;
    assert_eq!(f, Failure::Refused, "{f}");
    assert_eq!(f.to_string(), "connection refused");
}
