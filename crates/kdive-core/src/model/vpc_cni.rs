//! What the AWS VPC CNI builds on a node for a pod, below the pod IP: the host side of the
//! veth pair, named from the pod's namespace and name (amazon-vpc-cni-k8s,
//! `pkg/networkutils`, `GeneratePodHostVethName`: `eni` + the first 11 hex digits of
//! SHA-1("namespace.name")), the host route to the pod IP through it, and the policy rule
//! that sends traffic to the pod through the main table (`toContainerRulePriority`, 512).
//! Only for nodes that run the VPC CNI: an EC2 instance's providerID. Other CNIs name their
//! host interfaces in their own ways, so nothing is derived for them.

use k8s_openapi::api::core::v1::{Node, Pod};
use sha1::{Digest, Sha1};

/// The prefix the VPC CNI gives host-side veths (`AWS_VPC_K8S_CNI_VETHPREFIX`'s default).
pub const DEFAULT_VETH_PREFIX: &str = "eni";
/// `toContainerRulePriority` in the CNI's networkutils.
pub const TO_CONTAINER_RULE_PRIORITY: u32 = 512;

/// The host-side interface of a pod's primary veth (index 0).
pub fn host_veth_name(prefix: &str, namespace: &str, pod: &str) -> String {
    let digest = Sha1::digest(format!("{namespace}.{pod}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{}", &hex[..11])
}

/// The pod's plumbing on its node, as `ip link`, `ip route` and `ip rule` would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSide {
    pub interface: String,
    /// `10.0.1.5 dev eni… scope link`
    pub route: String,
    /// `512: from all to 10.0.1.5 lookup main`
    pub rule: String,
}

/// Whether the node is an EC2 instance (`aws:///zone/i-…`), where EKS runs the VPC CNI
/// unless it was replaced.
pub fn runs_vpc_cni(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.provider_id.as_deref())
        .is_some_and(|p| p.starts_with("aws://"))
}

/// The host side of a pod on a VPC CNI node; `None` for host-network pods, pods without an
/// IP yet, and nodes of other CNIs.
pub fn host_side(node: &Node, pod: &Pod) -> Option<HostSide> {
    if !runs_vpc_cni(node) {
        return None;
    }
    let spec = pod.spec.as_ref()?;
    if spec.host_network == Some(true) {
        return None;
    }
    let ip = pod.status.as_ref()?.pod_ip.as_deref()?;
    let interface = host_veth_name(
        DEFAULT_VETH_PREFIX,
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.name.as_deref()?,
    );
    Some(HostSide {
        route: format!("{ip} dev {interface} scope link"),
        rule: format!("{TO_CONTAINER_RULE_PRIORITY}: from all to {ip} lookup main"),
        interface,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Expected names computed independently (Python's hashlib over "namespace.name").
    #[test]
    fn host_veth_names_follow_the_cnis_rule() {
        for (ns, pod, want) in [
            ("default", "nginx", "enic440f455693"),
            ("demo", "web-675549d9d6-gjht6", "eni19ef4225939"),
            ("kube-system", "coredns-5d78c9869d-x2x4p", "eni169bac5260a"),
            ("shop", "postgres-0", "eni7fb549e73c3"),
        ] {
            assert_eq!(host_veth_name("eni", ns, pod), want, "{ns}/{pod}");
        }
        // 15 characters: Linux's interface-name limit (IFNAMSIZ - 1).
        assert_eq!(host_veth_name("eni", "a", "b").len(), 14);
    }

    #[test]
    fn only_vpc_cni_nodes_and_pod_network_pods_get_a_host_side() {
        let node = |provider: &str| -> Node {
            serde_json::from_value(
                json!({"metadata": {"name": "n"}, "spec": {"providerID": provider}}),
            )
            .unwrap()
        };
        let pod = |host: bool, ip: Option<&str>| -> Pod {
            serde_json::from_value(
                json!({"metadata": {"name": "nginx", "namespace": "default"},
                "spec": {"hostNetwork": host, "containers": [{"name": "c"}]},
                "status": {"podIP": ip}}),
            )
            .unwrap()
        };
        let eks = node("aws:///us-east-1a/i-0abc123");
        assert_eq!(
            host_side(&eks, &pod(false, Some("10.0.1.5"))),
            Some(HostSide {
                interface: "enic440f455693".into(),
                route: "10.0.1.5 dev enic440f455693 scope link".into(),
                rule: "512: from all to 10.0.1.5 lookup main".into(),
            })
        );
        assert_eq!(host_side(&eks, &pod(true, Some("10.0.1.5"))), None);
        assert_eq!(host_side(&eks, &pod(false, None)), None);
        assert_eq!(
            host_side(&node("kdive://lab-1a/x"), &pod(false, Some("10.0.1.5"))),
            None
        );
        assert_eq!(
            host_side(&node("gce://p/z/x"), &pod(false, Some("10.0.1.5"))),
            None
        );
    }
}
