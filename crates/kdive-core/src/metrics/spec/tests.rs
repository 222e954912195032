use super::*;

const GOOD: &str = r#"version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
  kdive_service: "demo/web"
slos:
  - name: "requests-availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="web",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="web"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
  - name: "latency"
    objective: 99
    labels:
      kdive_service: "demo/api"
    sli:
      raw:
        error_ratio_query: 1 - avg_over_time(probe_success[{{.window}}])
    alerting:
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"#;

fn err(text: &str) -> String {
    parse("slo.yaml", text).unwrap_err().to_string()
}

#[test]
fn parses_sloths_format_and_the_service_label() {
    let l = parse("slo.yaml", GOOD).unwrap();
    assert_eq!(l.spec.service, "myservice");
    assert_eq!(l.spec.slos.len(), 2);
    assert_eq!(l.slo_lines, vec![7, 15]);
    let web = &l.spec.slos[0];
    assert_eq!(web.objective, 99.9);
    assert!(matches!(web.sli(), Sli::Events(_)));
    assert_eq!(l.service_of(web).unwrap().to_string(), "demo/web");
    // An SLO's own label wins over the spec's.
    assert_eq!(
        l.service_of(&l.spec.slos[1]).unwrap().to_string(),
        "demo/api"
    );
    assert!(matches!(l.spec.slos[1].sli(), Sli::Raw(_)));
}

#[test]
fn unknown_field_names_file_line_and_field() {
    let text = GOOD.replace(
        "    objective: 99\n",
        "    objective: 99\n    objectve: 99\n",
    );
    let e = err(&text);
    assert!(e.starts_with("slo.yaml:17:"), "{e}");
    assert!(e.contains("unknown field `objectve`"), "{e}");
    assert!(!e.contains("error: line"), "{e}");
}

#[test]
fn objective_out_of_range() {
    for bad in ["0", "100", "150", "-1"] {
        let text = GOOD.replace("objective: 99.9", &format!("objective: {bad}"));
        let e = err(&text);
        assert!(
            e.starts_with("slo.yaml:8: slos[0].objective: "),
            "{bad}: {e}"
        );
        assert!(e.contains("out of range"), "{e}");
    }
}

#[test]
fn missing_window_placeholder() {
    let text = GOOD.replace(r#"{job="web"}[{{.window}}]"#, r#"{job="web"}[5m]"#);
    let e = err(&text);
    assert!(
        e.starts_with("slo.yaml:12: slos[0].sli.events.total_query: "),
        "{e}"
    );
}

#[test]
fn bad_service_reference() {
    let text = GOOD.replace("\"demo/api\"", "\"api\"");
    let e = err(&text);
    assert!(
        e.starts_with("slo.yaml:18: slos[1].labels.kdive_service: "),
        "{e}"
    );
}

#[test]
fn other_errors() {
    let e = err(&GOOD.replace("prometheus/v1", "sloth.slok.dev/v1"));
    assert!(e.starts_with("slo.yaml:1: version: "), "{e}");
    let e = err(&GOOD.replace("    alerting:\n      name: MyServiceHighErrorRate\n", ""));
    assert!(
        e.starts_with("slo.yaml:7: slos[0].alerting.name: required"),
        "{e}"
    );
    let e = err(&GOOD.replace("  owner:", "  team.owner:"));
    assert!(e.starts_with("slo.yaml:3: labels: "), "{e}");
    let e = err(&GOOD.replace("name: \"latency\"", "name: \"requests-availability\""));
    assert!(e.contains("slos[1].name: "), "{e}");
    let e = err("version: [\n");
    assert!(e.starts_with("slo.yaml:"), "{e}");
    let both = GOOD.replace(
        "      raw:\n",
        "      events: {error_query: \"a[{{.window}}]\", total_query: \"b[{{.window}}]\"}\n      raw:\n",
    );
    assert!(
        err(&both).contains("slos[1].sli: give exactly one"),
        "{}",
        err(&both)
    );
}

/// A Service's name is a DNS-1035 label (`ValidateServiceName` is `NameIsDNS1035Label` in
/// pkg/apis/core/validation/validation.go): a `kdive_service` naming `shop/1web` names no
/// Service, though the former check took any DNS-1123 label.
#[test]
fn a_service_ref_names_a_namespace_and_a_dns1035_service_name() {
    let r = ServiceRef::parse("shop/web-1").unwrap();
    assert_eq!((r.namespace.as_str(), r.name.as_str()), ("shop", "web-1"));
    assert!(ServiceRef::parse("1shop/web").is_some());
    assert!(ServiceRef::parse("shop/1web").is_none());
    assert!(ServiceRef::parse("shop/Web").is_none());
    assert!(ServiceRef::parse("shop").is_none());
    assert!(ServiceRef::parse(&format!("shop/{}", "a".repeat(64))).is_none());
}
