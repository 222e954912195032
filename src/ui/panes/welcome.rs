//! What the main pane shows before anything is chosen.

use ratatui::text::Line;

use crate::ui::theme::Theme;

pub fn lines(theme: &Theme, lab_kubeconfig: Option<&str>) -> Vec<Line<'static>> {
    let mut out = vec![
        super::heading("kdive: how the cluster really works", theme),
        Line::from(""),
        Line::from("Pick an object in the tree (j/k, Enter), or type a command:"),
        Line::from(
            "  :svc web      a Service's chain: DNS, ClusterIP, endpoints, kube-proxy rules",
        ),
        Line::from("  :pod NAME     probes, restarts, volumes, readiness timeline"),
        Line::from("  :deploy NAME  rollout, ReplicaSets, revisions"),
        Line::from("  :ns demo      one namespace     w  watch inspector     ?  help"),
    ];
    if let Some(k) = lab_kubeconfig {
        out.push(Line::from(""));
        out.push(Line::from(
            "This is the kdive lab. Use kubectl beside the TUI:",
        ));
        out.push(Line::styled(
            format!("  export KUBECONFIG={k}"),
            theme.accent(),
        ));
        out.push(Line::from(
            "  kubectl -n demo scale deployment/web --replicas=5",
        ));
    }
    out
}
