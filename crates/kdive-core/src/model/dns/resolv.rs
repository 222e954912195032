//! A pod's `/etc/resolv.conf` as kubelet writes it, and the names a stub resolver tries.
//!
//! kubelet picks a mode from `dnsPolicy` and `hostNetwork`:
//! `ClusterFirst` (the default) → cluster DNS, except for hostNetwork pods, which get the
//! node's file (`Default`); `ClusterFirstWithHostNet` → cluster DNS even with hostNetwork;
//! `Default` → the node's resolv.conf; `None` → nothing but `dnsConfig`.
//! Cluster mode writes `nameserver` = kubelet's clusterDNS (the kube-dns Service IP),
//! `search <ns>.svc.<domain> svc.<domain> <domain>` plus the node's own search domains, and
//! `options ndots:5`. Then `dnsConfig` is appended: nameservers and searches without
//! duplicates, options merged by name (the pod's value wins). Limits: 3 nameservers,
//! 32 search domains.

use k8s_openapi::api::core::v1::PodDNSConfig;
use serde::Serialize;

/// The three directives kubelet writes, in the order the container runtime prints them
/// (`search`, `nameserver`, `options`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResolvConf {
    pub search: Vec<String>,
    pub nameservers: Vec<String>,
    /// `name` or `name:value`, e.g. `ndots:5`.
    pub options: Vec<String>,
}

const MAX_NAMESERVERS: usize = 3;
const MAX_SEARCHES: usize = 32;

impl ResolvConf {
    /// The file text as a container sees it.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if !self.search.is_empty() {
            out.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        for ns in &self.nameservers {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        if !self.options.is_empty() {
            out.push_str(&format!("options {}\n", self.options.join(" ")));
        }
        out
    }

    /// `ndots` as the resolver reads it (glibc's default is 1; values above 15 are capped).
    pub fn ndots(&self) -> usize {
        self.options
            .iter()
            .rev()
            .find_map(|o| o.strip_prefix("ndots:"))
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(1, |n| n.min(15))
    }

    /// Parses a node's resolv.conf (as given with `--node-resolv-conf`). Unknown lines are
    /// ignored as the resolver ignores them; search domains lose a trailing dot as kubelet
    /// normalises them.
    pub fn parse(text: &str) -> ResolvConf {
        let mut rc = ResolvConf::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut fields = line.split_whitespace();
            match fields.next() {
                Some("nameserver") => rc.nameservers.extend(fields.next().map(str::to_string)),
                Some("search") | Some("domain") => {
                    rc.search = fields
                        .map(|s| s.trim_end_matches('.').to_string())
                        .collect()
                }
                Some("options") => rc.options.extend(fields.map(str::to_string)),
                _ => {}
            }
        }
        rc
    }
}

/// Which of kubelet's three DNS modes applies to the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KubeletMode {
    /// Cluster DNS: nameserver = clusterDNS, cluster search list, ndots:5.
    Cluster,
    /// The node's own resolv.conf.
    Node,
    /// Only the pod's `dnsConfig`.
    None,
}

/// What the pod declares, and what kubelet knows.
#[derive(Debug, Clone)]
pub struct PodDnsInput<'a> {
    pub namespace: &'a str,
    pub dns_policy: Option<&'a str>,
    pub host_network: bool,
    pub dns_config: Option<&'a PodDNSConfig>,
    /// kubelet's `clusterDNS` (empty: not configured).
    pub cluster_dns: &'a [String],
    pub cluster_domain: &'a str,
    /// The node's resolv.conf when known; `None` means not visible through the API.
    pub node_resolv: Option<&'a ResolvConf>,
}

/// kubelet's decision and the resulting file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodResolv {
    pub mode: KubeletMode,
    pub resolv_conf: ResolvConf,
    /// True when the node's own resolv.conf is part of the file but was not given, so
    /// the file shown lacks whatever the node contributes.
    pub node_part_unknown: bool,
    /// Why kubelet chose the mode, and any trimming it did.
    pub notes: Vec<String>,
}

/// Builds the pod's resolv.conf the way kubelet's `GetPodDNS` does.
pub fn pod_resolv(input: &PodDnsInput<'_>) -> PodResolv {
    let policy = input.dns_policy.unwrap_or("ClusterFirst");
    let mut notes = Vec::new();
    let mut mode = match policy {
        "None" => KubeletMode::None,
        "ClusterFirstWithHostNet" => KubeletMode::Cluster,
        "Default" => KubeletMode::Node,
        _ if input.host_network => {
            notes.push(
                "dnsPolicy ClusterFirst with hostNetwork: kubelet uses the node's resolv.conf \
                 (set ClusterFirstWithHostNet to use cluster DNS)"
                    .into(),
            );
            KubeletMode::Node
        }
        _ => KubeletMode::Cluster,
    };
    if mode == KubeletMode::Cluster && input.cluster_dns.is_empty() {
        notes.push(
            "kubelet has no clusterDNS (no kube-dns Service found): it falls back to the \
             node's resolv.conf (dnsPolicy Default)"
                .into(),
        );
        mode = KubeletMode::Node;
    }
    let node = input.node_resolv.cloned();
    let mut node_part_unknown = false;
    let mut rc = match mode {
        KubeletMode::None => ResolvConf::default(),
        KubeletMode::Node => {
            node_part_unknown = node.is_none();
            node.unwrap_or_default()
        }
        KubeletMode::Cluster => {
            let d = input.cluster_domain;
            let mut search = vec![
                format!("{}.svc.{d}", input.namespace),
                format!("svc.{d}"),
                d.to_string(),
            ];
            match &node {
                Some(n) => search.extend(n.search.iter().cloned()),
                None => node_part_unknown = true,
            }
            ResolvConf {
                search: dedup(search),
                nameservers: input.cluster_dns.to_vec(),
                options: vec!["ndots:5".into()],
            }
        }
    };
    if let Some(cfg) = input.dns_config {
        rc.nameservers
            .extend(cfg.nameservers.iter().flatten().cloned());
        rc.nameservers = dedup(std::mem::take(&mut rc.nameservers));
        rc.search.extend(
            cfg.searches
                .iter()
                .flatten()
                .map(|s| s.trim_end_matches('.').to_string()),
        );
        rc.search = dedup(std::mem::take(&mut rc.search));
        for opt in cfg.options.iter().flatten() {
            let Some(name) = opt.name.as_deref().filter(|n| !n.is_empty()) else {
                continue;
            };
            let text = match opt.value.as_deref() {
                Some(v) if !v.is_empty() => format!("{name}:{v}"),
                _ => name.to_string(),
            };
            // Same name: the pod's value replaces the existing one in place.
            match rc
                .options
                .iter()
                .position(|o| o.split(':').next() == Some(name))
            {
                Some(i) => rc.options[i] = text,
                None => rc.options.push(text),
            }
        }
    }
    if rc.nameservers.len() > MAX_NAMESERVERS {
        notes.push(format!(
            "kubelet keeps the first {MAX_NAMESERVERS} nameservers and drops {}",
            rc.nameservers[MAX_NAMESERVERS..].join(", ")
        ));
        rc.nameservers.truncate(MAX_NAMESERVERS);
    }
    if rc.search.len() > MAX_SEARCHES {
        notes.push(format!(
            "kubelet keeps the first {MAX_SEARCHES} search domains"
        ));
        rc.search.truncate(MAX_SEARCHES);
    }
    PodResolv {
        mode,
        resolv_conf: rc,
        node_part_unknown,
        notes,
    }
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for s in v {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// One name the resolver sends, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Absolute, lower case, with the trailing dot.
    pub name: String,
    /// `"as given"` or `"search <domain>"`.
    pub via: String,
}

/// The names a glibc stub resolver tries for `name`, in order: a name ending in `.` is
/// tried alone; a name with at least `ndots` dots is tried as given first, then with each
/// search domain; otherwise the search domains come first and the name as given last.
/// (musl, in Alpine images, differs: a name with at least `ndots` dots is tried only as
/// given. kdive shows glibc's order.)
pub fn candidates(name: &str, rc: &ResolvConf) -> Vec<Candidate> {
    let lower = name.to_ascii_lowercase();
    if let Some(abs) = lower.strip_suffix('.') {
        return vec![Candidate {
            name: format!("{abs}."),
            via: "as given (absolute name)".into(),
        }];
    }
    let as_given = Candidate {
        name: format!("{lower}."),
        via: "as given".into(),
    };
    let searched = rc
        .search
        .iter()
        .filter(|d| !d.is_empty() && *d != ".")
        .map(|d| Candidate {
            name: format!("{lower}.{}.", d.to_ascii_lowercase()),
            via: format!("search {d}"),
        });
    let dots = lower.matches('.').count();
    if dots >= rc.ndots() {
        std::iter::once(as_given).chain(searched).collect()
    } else {
        searched.chain(std::iter::once(as_given)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        policy: Option<&'a str>,
        host_network: bool,
        dns: &'a [String],
    ) -> PodDnsInput<'a> {
        PodDnsInput {
            namespace: "demo",
            dns_policy: policy,
            host_network,
            dns_config: None,
            cluster_dns: dns,
            cluster_domain: "cluster.local",
            node_resolv: None,
        }
    }

    #[test]
    fn cluster_first_text_matches_kubelet() {
        let dns = ["10.96.0.10".to_string()];
        let r = pod_resolv(&input(None, false, &dns));
        assert_eq!(r.mode, KubeletMode::Cluster);
        assert_eq!(
            r.resolv_conf.text(),
            "search demo.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
        );
    }

    #[test]
    fn host_network_cluster_first_falls_back_to_node() {
        let dns = ["10.96.0.10".to_string()];
        let r = pod_resolv(&input(Some("ClusterFirst"), true, &dns));
        assert_eq!(r.mode, KubeletMode::Node);
        assert!(r.node_part_unknown);
        let r = pod_resolv(&input(Some("ClusterFirstWithHostNet"), true, &dns));
        assert_eq!(r.mode, KubeletMode::Cluster);
    }

    #[test]
    fn no_cluster_dns_falls_back() {
        let r = pod_resolv(&input(None, false, &[]));
        assert_eq!(r.mode, KubeletMode::Node);
        assert!(r.notes[0].contains("no clusterDNS"));
    }

    #[test]
    fn dns_config_merges_and_overrides_options() {
        let dns = ["10.96.0.10".to_string()];
        let cfg: PodDNSConfig = serde_json::from_value(serde_json::json!({
            "nameservers": ["10.96.0.10", "1.1.1.1"],
            "searches": ["corp.example."],
            "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]
        }))
        .unwrap();
        let mut i = input(None, false, &dns);
        i.dns_config = Some(&cfg);
        let rc = pod_resolv(&i).resolv_conf;
        assert_eq!(rc.nameservers, ["10.96.0.10", "1.1.1.1"]);
        assert_eq!(rc.search.last().unwrap(), "corp.example");
        assert_eq!(rc.options, ["ndots:2", "edns0"]);
        assert_eq!(rc.ndots(), 2);
    }

    #[test]
    fn candidate_order_follows_ndots() {
        let rc = ResolvConf {
            search: vec!["demo.svc.cluster.local".into(), "svc.cluster.local".into()],
            nameservers: vec![],
            options: vec!["ndots:2".into()],
        };
        // 1 dot < ndots 2: search first, as given last.
        let c: Vec<String> = candidates("web.demo", &rc)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            c,
            [
                "web.demo.demo.svc.cluster.local.",
                "web.demo.svc.cluster.local.",
                "web.demo."
            ]
        );
        // 2 dots >= 2: as given first.
        let c = candidates("a.b.c", &rc);
        assert_eq!(c[0].name, "a.b.c.");
        assert_eq!(c.len(), 3);
        // Trailing dot: only the name itself.
        assert_eq!(candidates("Web.Demo.", &rc).len(), 1);
    }

    #[test]
    fn parse_node_file() {
        let rc = ResolvConf::parse(
            "# x\nnameserver 192.168.0.2\nsearch corp.example. lan\noptions timeout:2\n",
        );
        assert_eq!(rc.nameservers, ["192.168.0.2"]);
        assert_eq!(rc.search, ["corp.example", "lan"]);
        assert_eq!(rc.ndots(), 1);
    }

    proptest::proptest! {
        /// Whatever the name and ndots: the name as given is tried exactly once, every
        /// search domain once, and it comes first exactly when dots >= ndots.
        #[test]
        fn candidates_cover_search_list(
            labels in proptest::collection::vec("[a-z][a-z0-9-]{0,5}", 1..5),
            ndots in 1usize..6,
            domains in proptest::collection::vec("[a-z]{1,6}\\.[a-z]{2,4}", 0..4),
        ) {
            let name = labels.join(".");
            let mut search = domains.clone();
            search.dedup();
            let rc = ResolvConf { search: search.clone(), nameservers: vec![], options: vec![format!("ndots:{ndots}")] };
            let c = candidates(&name, &rc);
            let as_given = format!("{name}.");
            proptest::prop_assert_eq!(c.iter().filter(|x| x.name == as_given).count(), 1);
            proptest::prop_assert_eq!(c.len(), search.len() + 1);
            let first = c[0].name == as_given;
            let dots = labels.len() - 1;
            proptest::prop_assert_eq!(first, dots >= ndots || search.is_empty());
        }
    }
}
