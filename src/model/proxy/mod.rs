//! kube-proxy rule rendering (iptables) and packet tracing.
