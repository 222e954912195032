//! SLOs that rules already record, found in `/api/v1/rules`: Sloth's
//! `slo:sli_error:ratio_rate<window>` series (labelled `sloth_id`, `sloth_service`,
//! `sloth_slo`, objective from `slo:objective:ratio`, period from `slo:time_period:days`)
//! and Pyrra's `<metric>:burnrate<window>` series (labelled `slo`, objective from the
//! `(1-0.99)` in its `ErrorBudgetBurn` alerts, period from its `:increase<window>` rule).

use std::collections::BTreeMap;

use super::slo::{Engine, SliSource, SloDef};
use super::spec::{SERVICE_LABEL, ServiceRef};
use super::window::{Period, Window};

/// One rule from `/api/v1/rules`, reduced to what discovery reads.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    pub group: String,
    /// Record name or alert name.
    pub name: String,
    pub query: String,
    pub labels: BTreeMap<String, String>,
    pub alerting: bool,
}

type Labels = BTreeMap<String, String>;

const SLOTH_PREFIX: &str = "slo:sli_error:ratio_rate";

pub fn discover(rules: &[RuleInfo]) -> Vec<SloDef> {
    let mut out = sloth(rules);
    out.extend(pyrra(rules));
    out
}

fn sloth(rules: &[RuleInfo]) -> Vec<SloDef> {
    // sloth_id → (windows, labels of its SLI rules, group)
    let mut found: BTreeMap<String, (Vec<Window>, Labels, String)> = BTreeMap::new();
    for r in rules.iter().filter(|r| !r.alerting) {
        let Some(w) = r.name.strip_prefix(SLOTH_PREFIX) else {
            continue;
        };
        let (Some(id), Ok(w)) = (r.labels.get("sloth_id"), Window::parse(w)) else {
            continue;
        };
        let e = found
            .entry(id.clone())
            .or_insert_with(|| (Vec::new(), r.labels.clone(), r.group.clone()));
        e.0.push(w);
    }
    let meta = |record: &str, id: &str| {
        rules
            .iter()
            .find(|r| r.name == record && r.labels.get("sloth_id").map(String::as_str) == Some(id))
            .and_then(|r| vector_value(&r.query))
    };
    found
        .into_iter()
        .filter_map(|(id, (mut windows, labels, group))| {
            windows.sort();
            let objective = meta("slo:objective:ratio", &id)? * 100.0;
            let days = meta("slo:time_period:days", &id).unwrap_or(30.0);
            let period = Period::new(Window((days * 86_400.0).round() as u64)).ok()?;
            let slo = labels
                .get("sloth_slo")
                .cloned()
                .unwrap_or_else(|| id.clone());
            Some(SloDef {
                name: slo,
                service: labels.get(SERVICE_LABEL).and_then(|v| ServiceRef::parse(v)),
                objective_percent: round_percent(objective),
                period,
                source: SliSource::Recorded {
                    prefix: SLOTH_PREFIX.into(),
                    selector: format!("{{sloth_id=\"{id}\"}}"),
                    windows,
                },
                engine: Engine::Sloth,
                origin: format!("rules group {group}"),
                id,
            })
        })
        .collect()
}

fn pyrra(rules: &[RuleInfo]) -> Vec<SloDef> {
    // slo → (metric prefix, windows, labels, group)
    let mut found: BTreeMap<String, (String, Vec<Window>, Labels, String)> = BTreeMap::new();
    for r in rules.iter().filter(|r| !r.alerting) {
        let Some((metric, w)) = r.name.split_once(":burnrate") else {
            continue;
        };
        let (Some(slo), Ok(w)) = (r.labels.get("slo"), Window::parse(w)) else {
            continue;
        };
        let e = found.entry(slo.clone()).or_insert_with(|| {
            (
                format!("{metric}:burnrate"),
                Vec::new(),
                r.labels.clone(),
                r.group.clone(),
            )
        });
        e.1.push(w);
    }
    found
        .into_iter()
        .filter_map(|(slo, (prefix, mut windows, labels, group))| {
            windows.sort();
            let target = rules
                .iter()
                .filter(|r| r.alerting && r.labels.get("slo") == Some(&slo))
                .find_map(|r| pyrra_target(&r.query))?;
            let period = rules
                .iter()
                .filter(|r| !r.alerting && r.labels.get("slo") == Some(&slo))
                .find_map(|r| r.name.split_once(":increase"))
                .and_then(|(_, w)| Window::parse(w).ok())
                .unwrap_or(Window::D28);
            let period = Period::new(period).ok()?;
            Some(SloDef {
                id: slo.clone(),
                name: slo.clone(),
                service: labels.get(SERVICE_LABEL).and_then(|v| ServiceRef::parse(v)),
                objective_percent: round_percent(target * 100.0),
                period,
                source: SliSource::Recorded {
                    prefix,
                    selector: format!("{{slo=\"{slo}\"}}"),
                    windows,
                },
                engine: Engine::Pyrra,
                origin: format!("rules group {group}"),
            })
        })
        .collect()
}

/// `vector(0.999)` → 0.999.
fn vector_value(q: &str) -> Option<f64> {
    q.trim()
        .strip_prefix("vector(")?
        .strip_suffix(')')?
        .trim()
        .parse()
        .ok()
}

/// Pyrra's alert threshold `(14 * (1-0.99))` → 0.99.
fn pyrra_target(q: &str) -> Option<f64> {
    let at = q.find("(1-")?;
    let rest = &q[at + 3..];
    let end = rest.find(')')?;
    rest[..end].trim().parse().ok()
}

/// 0.9990000000000001 × 100 → 99.9 (what the spec said).
fn round_percent(p: f64) -> f64 {
    (p * 1e9).round() / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        group: &str,
        name: &str,
        query: &str,
        labels: &[(&str, &str)],
        alerting: bool,
    ) -> RuleInfo {
        RuleInfo {
            group: group.into(),
            name: name.into(),
            query: query.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            alerting,
        }
    }

    #[test]
    fn finds_sloth_slos_from_their_rules() {
        let id = [
            ("sloth_id", "web-avail"),
            ("sloth_slo", "avail"),
            ("kdive_service", "demo/web"),
        ];
        let mut rules: Vec<RuleInfo> = ["5m", "1h", "30d"]
            .iter()
            .map(|w| {
                rule(
                    "sloth-slo-sli-recordings-web-avail",
                    &format!("slo:sli_error:ratio_rate{w}"),
                    "x",
                    &id,
                    false,
                )
            })
            .collect();
        rules.push(rule(
            "meta",
            "slo:objective:ratio",
            "vector(0.9990000000000001)",
            &id,
            false,
        ));
        rules.push(rule(
            "meta",
            "slo:time_period:days",
            "vector(30)",
            &id,
            false,
        ));
        let found = discover(&rules);
        assert_eq!(found.len(), 1);
        let s = &found[0];
        assert_eq!(s.name, "avail");
        assert_eq!(s.id, "web-avail");
        assert_eq!(s.engine, Engine::Sloth);
        assert_eq!(s.objective_percent, 99.9);
        assert_eq!(s.period.window, Window::D30);
        assert_eq!(s.service.as_ref().unwrap().to_string(), "demo/web");
        assert_eq!(
            s.ratio_query(Window::H1).unwrap(),
            "max(slo:sli_error:ratio_rate1h{sloth_id=\"web-avail\"})"
        );
        assert_eq!(s.ratio_query(Window::H6), None, "6h is not recorded");
    }

    #[test]
    fn finds_pyrra_slos_from_their_rules() {
        let l = [("slo", "api-errors")];
        let rules = vec![
            rule("api-errors", "http_requests:burnrate5m", "x", &l, false),
            rule("api-errors", "http_requests:burnrate1h", "x", &l, false),
            rule(
                "api-errors-increase",
                "http_requests:increase4w",
                "x",
                &l,
                false,
            ),
            rule(
                "api-errors",
                "ErrorBudgetBurn",
                "http_requests:burnrate5m{slo=\"api-errors\"} > (14 * (1-0.99)) and http_requests:burnrate1h{slo=\"api-errors\"} > (14 * (1-0.99))",
                &l,
                true,
            ),
        ];
        let found = discover(&rules);
        assert_eq!(found.len(), 1);
        let s = &found[0];
        assert_eq!(s.engine, Engine::Pyrra);
        assert_eq!(s.objective_percent, 99.0);
        assert_eq!(s.period.window, Window::D28);
        assert_eq!(
            s.ratio_query(Window::M5).unwrap(),
            "max(http_requests:burnrate5m{slo=\"api-errors\"})"
        );
    }

    #[test]
    fn ignores_unrelated_rules() {
        let rules = vec![rule("g", "job:up:sum", "sum(up)", &[], false)];
        assert!(discover(&rules).is_empty());
    }
}
