//! Rendering benchmark: full filter and nat tables (canonical text) for many Services.
//! Run with `cargo bench --bench iptables`. Prints the median of several runs per size
//! and the ratios that show the cost is linear in the number of endpoints.
//!
//! The timed region is what `kdive iptables -f FILES` does once the files are parsed:
//! service ports from the objects, the rules, the canonical text, and dropping the rules.
//! Parsing the files and writing the text to stdout are not timed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kdive_core::model::Objects;
use kdive_core::model::proxy::{KubeProxyConfig, ProxyOptions, TableSel, canonical_text, render};

const RUNS: usize = 7;

fn build(services: usize, endpoints: usize) -> Objects {
    let mut s = Objects::default();
    let mut ep_counter: u32 = 0;
    for i in 0..services {
        let name = format!("svc-{i}");
        let namespace = format!("ns-{}", i % 50);
        let node_port = (i % 10 == 0).then_some(30000 + (i % 2700) as i32);
        s.services.push(Arc::new(Service {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                type_: Some(
                    if node_port.is_some() {
                        "NodePort"
                    } else {
                        "ClusterIP"
                    }
                    .into(),
                ),
                cluster_ip: Some(format!("172.16.{}.{}", i / 256, i % 256)),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    node_port,
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: None,
        }));
        let eps = (0..endpoints)
            .map(|k| {
                ep_counter += 1;
                let n = ep_counter;
                Endpoint {
                    addresses: vec![format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255)],
                    node_name: Some(format!("node-{}", k % 10)),
                    ..Default::default()
                }
            })
            .collect();
        s.endpoint_slices.push(Arc::new(EndpointSlice {
            metadata: ObjectMeta {
                name: Some(format!("{name}-1")),
                namespace: Some(namespace),
                labels: Some([("kubernetes.io/service-name".to_string(), name)].into()),
                ..Default::default()
            },
            address_type: "IPv4".into(),
            endpoints: eps,
            ports: Some(vec![EndpointPort {
                name: Some("http".into()),
                port: Some(8080),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
        }));
    }
    s
}

fn options() -> ProxyOptions {
    let mut opts = ProxyOptions {
        node_name: "node-0".into(),
        node_ips: vec!["192.168.0.10".parse().unwrap()],
        ..ProxyOptions::default()
    };
    let config = serde_json::json!({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clusterCIDR": "10.0.0.0/8",
    });
    KubeProxyConfig::from_value(&config)
        .unwrap()
        .apply(&mut opts, &[]);
    opts
}

/// Nanoseconds this thread has spent running on a CPU (Linux schedstat), if available.
/// On a busy machine wall time also counts the time spent waiting for a core.
fn on_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Median wall time and median on-CPU time of rendering and printing both tables, and
/// the output size.
fn measure(services: usize, endpoints: usize) -> (Duration, Option<Duration>, usize) {
    let snapshot = build(services, endpoints);
    let opts = options();
    let mut times = Vec::with_capacity(RUNS);
    let mut cpu = Vec::with_capacity(RUNS);
    let mut lines = 0;
    for _ in 0..RUNS {
        let cpu_start = on_cpu_ns();
        let start = Instant::now();
        // The rule set is dropped inside the timed region; the text after it.
        let text = std::hint::black_box(canonical_text(&render(&snapshot, &opts), TableSel::All));
        times.push(start.elapsed());
        if let (Some(a), Some(b)) = (cpu_start, on_cpu_ns()) {
            cpu.push(Duration::from_nanos(b.saturating_sub(a)));
        }
        lines = text.lines().count();
    }
    times.sort();
    cpu.sort();
    (times[RUNS / 2], cpu.get(RUNS / 2).copied(), lines)
}

/// With KDIVE_BENCH_PHASES set: time each stage (objects, rules, canonical text, drop),
/// on-CPU where the platform reports it (else wall time), and print their medians.
fn phases() {
    const ROUNDS: usize = 5;
    let snapshot = build(10_000, 5);
    let opts = options();
    let start = Instant::now();
    let now = || on_cpu_ns().map_or_else(|| start.elapsed(), Duration::from_nanos);
    let mut times: [Vec<Duration>; 4] = Default::default();
    for _ in 0..ROUNDS {
        let t0 = now();
        let ports =
            kdive_core::model::proxy::input::service_ports(&snapshot, opts.family, &opts.node_name);
        let t1 = now();
        let rules = kdive_core::model::proxy::render::render_ports(&ports, &opts);
        let t2 = now();
        let text = std::hint::black_box(canonical_text(&rules, TableSel::All));
        let t3 = now();
        drop((ports, rules, text));
        let t4 = now();
        for (k, (a, b)) in [(t0, t1), (t1, t2), (t2, t3), (t3, t4)]
            .into_iter()
            .enumerate()
        {
            times[k].push(b.saturating_sub(a));
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1e3
    };
    let [a, b, c, d] = &mut times;
    println!(
        "phases (median of {ROUNDS}, ms): input {:.1} render {:.1} canonical {:.1} drop {:.1}",
        median(a),
        median(b),
        median(c),
        median(d)
    );
}

// The same allocator as the kdive binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if std::env::var("KDIVE_BENCH_PHASES").is_ok() {
        phases();
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` runs this too, so keep a quick
    // mode for it.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: &[(usize, usize)] = if quick {
        &[(200, 5), (400, 5), (400, 10)]
    } else {
        &[(5_000, 5), (10_000, 5), (10_000, 10)]
    };
    let mut results = Vec::new();
    for &(services, endpoints) in sizes {
        let (median, cpu, lines) = measure(services, endpoints);
        let cpu_text = cpu.map_or_else(String::new, |c| {
            format!(", on-CPU {:.1} ms", c.as_secs_f64() * 1e3)
        });
        println!(
            "iptables render {services:>6} services x {endpoints:>2} endpoints: median wall {:>7.1} ms{cpu_text} over {RUNS} runs ({lines} lines)",
            median.as_secs_f64() * 1e3
        );
        results.push(cpu.unwrap_or(median).as_secs_f64());
    }
    // Ratios and the target use on-CPU time where the platform reports it.
    let (a, b, c) = (results[0], results[1], results[2]);
    println!(
        "ratio {}x{} / {}x{}: {:.2} (endpoints doubled by doubling services)",
        sizes[1].0,
        sizes[1].1,
        sizes[0].0,
        sizes[0].1,
        b / a
    );
    println!(
        "ratio {}x{} / {}x{}: {:.2} (endpoints doubled per service)",
        sizes[2].0,
        sizes[2].1,
        sizes[1].0,
        sizes[1].1,
        c / b
    );
    if !quick {
        let target = 0.200;
        println!(
            "10000 x 5 median {:.1} ms, target < {:.0} ms: {}",
            b * 1e3,
            target * 1e3,
            if b < target { "met" } else { "NOT met" }
        );
    }
}
