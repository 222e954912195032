//! kdive's integration tests, one binary: the CLI, the sources and the explorer against the
//! lab over HTTPS, the real kubectl, Prometheus and tmux. Lab-only tests live in
//! `crates/kdive-lab/tests/it`.

mod support;

mod chain_dns_cli;
mod demo_chain_dns;
mod exec_credentials;
mod failures;
mod iptables_cli;
mod lab_cli;
mod lessons_lab;
mod logs_source;
mod model_live;
mod prom_outage;
mod slo_prometheus;
mod slo_rules;
mod triage_lab;
mod triage_rbac;
mod tui_app;
mod tui_e2e;
mod tui_lesson;
mod tui_logs;
mod tui_panes;
mod tui_slo_panes;
mod tui_sources;
mod tui_triage;
mod watch_faults;
