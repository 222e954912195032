//! What the main pane shows before anything is chosen.

use ratatui::text::Line;

use crate::ui::theme::Theme;

pub fn lines(theme: &Theme, lab_kubeconfig: Option<&str>) -> Vec<Line<'static>> {
    let mut out = vec![
        super::heading("kdive: how the cluster really works", theme),
        Line::from(""),
        Line::from("Pick an object in the tree (j/k, Enter)"),
        Line::from("or type a command:"),
        Line::from("  :svc web      a Service's chain"),
        Line::from("  :pod NAME     probes, restarts, timeline"),
        Line::from("  :deploy NAME  rollout and ReplicaSets"),
        Line::from("  :ns demo      one namespace"),
        Line::from("  w             the watch inspector"),
        Line::from("  ?             help"),
    ];
    if let Some(k) = lab_kubeconfig {
        out.push(Line::from(""));
        out.push(Line::from("The kdive lab: use kubectl beside kdive:"));
        out.push(Line::styled(
            format!("  export KUBECONFIG={k}"),
            theme.accent(),
        ));
        out.push(Line::from(
            "  kubectl -n demo scale deploy/web --replicas=5",
        ));
    }
    out
}
