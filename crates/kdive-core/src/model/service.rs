//! Service rules the controllers, CoreDNS, kube-proxy and the chain view all apply: whether
//! a Service is headless, whether it has a cluster IP, and which container port a Service
//! port's targetPort selects in a pod (kubernetes `pkg/api/v1/pod/util.go` `FindPort`).

use k8s_openapi::api::core::v1::{Container, Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// `spec.clusterIP` of a headless Service (`v1.ClusterIPNone`).
pub const CLUSTER_IP_NONE: &str = "None";

/// clusterIP `"None"`, the test the endpoints and EndpointSlice controllers (the headless
/// label, port-less subsets) and CoreDNS make. `clusterIPs[0]` must equal it (validation).
pub fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some(CLUSTER_IP_NONE)
}

/// `helper.IsServiceIPSet` over one address: neither empty nor `"None"`.
pub fn is_cluster_ip_set(ip: &str) -> bool {
    !ip.is_empty() && ip != CLUSTER_IP_NONE
}

/// The port's protocol, TCP when unset (as the API server defaults it).
pub fn protocol(sp: &ServicePort) -> &str {
    sp.protocol.as_deref().unwrap_or("TCP")
}

/// The targetPort after `SetDefaults_Service`: absent, 0 and `""` all mean the port itself.
pub fn target_port(sp: &ServicePort) -> IntOrString {
    match &sp.target_port {
        None => IntOrString::Int(sp.port),
        Some(IntOrString::Int(0)) => IntOrString::Int(sp.port),
        Some(IntOrString::String(s)) if s.is_empty() => IntOrString::Int(sp.port),
        Some(t) => t.clone(),
    }
}

/// The containers `FindPort` looks through, in its order: the regular ones, then sidecars
/// (init containers with restartPolicy Always).
pub fn serving_containers(pod: &Pod) -> impl Iterator<Item = &Container> {
    pod.spec.iter().flat_map(|s| {
        let sidecars = s
            .init_containers
            .iter()
            .flatten()
            .filter(|c| c.restart_policy.as_deref() == Some("Always"));
        s.containers.iter().chain(sidecars)
    })
}

/// `podutil.FindPort`: a numeric targetPort as is; a name must match a container port with
/// the Service port's protocol too. `None` for a missing name: the pod is then no endpoint
/// for this Service port (it may still be one for the Service's other ports).
pub fn find_port(pod: &Pod, sp: &ServicePort) -> Option<i32> {
    match target_port(sp) {
        IntOrString::Int(n) => Some(n),
        IntOrString::String(name) => named_port(pod, &name, protocol(sp)).map(|(_, p)| p),
    }
}

/// The container that declares the port targetPort selects: by name and protocol, or for a
/// number the first container port with that number and protocol (numbers need none).
pub fn declaring_container<'a>(pod: &'a Pod, sp: &ServicePort) -> Option<&'a Container> {
    let proto = protocol(sp);
    match target_port(sp) {
        IntOrString::Int(n) => serving_containers(pod).find(|c| {
            c.ports
                .iter()
                .flatten()
                .any(|p| p.container_port == n && p.protocol.as_deref().unwrap_or("TCP") == proto)
        }),
        IntOrString::String(name) => named_port(pod, &name, proto).map(|(c, _)| c),
    }
}

fn named_port<'a>(pod: &'a Pod, name: &str, proto: &str) -> Option<(&'a Container, i32)> {
    serving_containers(pod).find_map(|c| {
        c.ports
            .iter()
            .flatten()
            .find(|p| {
                p.name.as_deref() == Some(name) && p.protocol.as_deref().unwrap_or("TCP") == proto
            })
            .map(|p| (c, p.container_port))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ContainerPort, PodSpec, ServiceSpec};

    fn port(name: &str, number: i32, protocol: &str) -> ContainerPort {
        ContainerPort {
            name: Some(name.into()),
            container_port: number,
            protocol: Some(protocol.into()),
            ..Default::default()
        }
    }

    fn container(name: &str, ports: Vec<ContainerPort>, restart: Option<&str>) -> Container {
        Container {
            name: name.into(),
            ports: Some(ports),
            restart_policy: restart.map(str::to_string),
            ..Default::default()
        }
    }

    fn pod(containers: Vec<Container>, init: Vec<Container>) -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers,
                init_containers: Some(init),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn service_port(target: Option<IntOrString>, protocol: Option<&str>) -> ServicePort {
        ServicePort {
            port: 80,
            target_port: target,
            protocol: protocol.map(str::to_string),
            ..Default::default()
        }
    }

    fn named(s: &str) -> Option<IntOrString> {
        Some(IntOrString::String(s.into()))
    }

    #[test]
    fn a_named_target_port_must_match_name_and_protocol() {
        // pkg/api/v1/pod/util.go FindPort: `port.Name == name && port.Protocol == svcPort.Protocol`.
        let p = pod(
            vec![container("app", vec![port("dns", 53, "UDP")], None)],
            vec![],
        );
        assert_eq!(
            find_port(&p, &service_port(named("dns"), Some("UDP"))),
            Some(53)
        );
        assert_eq!(find_port(&p, &service_port(named("dns"), None)), None);
        assert_eq!(find_port(&p, &service_port(named("web"), None)), None);
    }

    #[test]
    fn sidecars_serve_named_ports_but_plain_init_containers_do_not() {
        // pkg/api/v1/pod/util.go FindPort: "also support sidecar container (initContainer
        // with restartPolicy=Always)", after the regular containers.
        let p = pod(
            vec![container("app", vec![port("http", 8080, "TCP")], None)],
            vec![
                container("setup", vec![port("admin", 9000, "TCP")], None),
                container(
                    "proxy",
                    vec![port("http", 15001, "TCP"), port("metrics", 15090, "TCP")],
                    Some("Always"),
                ),
            ],
        );
        assert_eq!(
            find_port(&p, &service_port(named("http"), None)),
            Some(8080)
        );
        assert_eq!(
            find_port(&p, &service_port(named("metrics"), None)),
            Some(15090)
        );
        assert_eq!(
            declaring_container(&p, &service_port(named("metrics"), None)).map(|c| c.name.as_str()),
            Some("proxy")
        );
        assert_eq!(find_port(&p, &service_port(named("admin"), None)), None);
    }

    #[test]
    fn numbers_need_no_declared_port_and_absent_means_the_port() {
        // FindPort returns an int targetPort as is; pkg/apis/core/v1/defaults.go
        // SetDefaults_Service turns an absent, 0 or "" targetPort into the port.
        let p = pod(vec![container("app", vec![], None)], vec![]);
        let n = |t| find_port(&p, &service_port(t, None));
        assert_eq!(n(Some(IntOrString::Int(8080))), Some(8080));
        assert_eq!(n(None), Some(80));
        assert_eq!(n(Some(IntOrString::Int(0))), Some(80));
        assert_eq!(n(named("")), Some(80));
        assert_eq!(declaring_container(&p, &service_port(None, None)), None);
    }

    #[test]
    fn headless_is_cluster_ip_none() {
        let svc = |ip: Option<&str>| Service {
            spec: Some(ServiceSpec {
                cluster_ip: ip.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(is_headless(&svc(Some("None"))));
        assert!(!is_headless(&svc(Some("10.96.0.10"))));
        // Not yet allocated is not headless.
        assert!(!is_headless(&svc(None)));
        assert!(!is_headless(&svc(Some(""))));
        assert!(!is_cluster_ip_set("None") && !is_cluster_ip_set(""));
        assert!(is_cluster_ip_set("10.96.0.10"));
    }
}
