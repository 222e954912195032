//! The lab's metric registry: counters and histograms the simulation updates as things
//! happen (probes run, requests served), rendered in the Prometheus text format (0.0.4) on
//! the lab's `/metrics`. Gauges that describe current objects (kube-state-metrics style) are
//! computed at scrape time from the store instead of being kept here.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Label pairs, in the order they are written.
pub type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

#[derive(Debug, Clone)]
struct Histogram {
    /// Cumulative counts per upper bound of `Family::buckets`.
    counts: Vec<u64>,
    count: u64,
    sum: f64,
}

#[derive(Debug)]
struct Family {
    help: &'static str,
    kind: Kind,
    buckets: Vec<f64>,
    values: BTreeMap<Vec<(&'static str, String)>, f64>,
    histograms: BTreeMap<Vec<(&'static str, String)>, Histogram>,
}

#[derive(Debug, Default)]
pub struct Registry {
    families: Mutex<BTreeMap<&'static str, Family>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    fn family<R>(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        buckets: &[f64],
        f: impl FnOnce(&mut Family) -> R,
    ) -> R {
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let family = families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            buckets: buckets.to_vec(),
            values: BTreeMap::new(),
            histograms: BTreeMap::new(),
        });
        f(family)
    }

    /// Adds `by` to a counter series (created at 0).
    pub fn inc(&self, name: &'static str, help: &'static str, labels: Labels, by: f64) {
        self.family(name, help, Kind::Counter, &[], |f| {
            *f.values.entry(labels).or_insert(0.0) += by;
        });
    }

    pub fn set(&self, name: &'static str, help: &'static str, labels: Labels, value: f64) {
        self.family(name, help, Kind::Gauge, &[], |f| {
            f.values.insert(labels, value);
        });
    }

    /// Observes one value into a histogram with the given bucket upper bounds (the first
    /// call for a name fixes them).
    pub fn observe(
        &self,
        name: &'static str,
        help: &'static str,
        buckets: &[f64],
        labels: Labels,
        value: f64,
    ) {
        self.observe_n(name, help, buckets, labels, value, 1);
    }

    /// Observes the same value `n` times (one batch of equal answers).
    pub fn observe_n(
        &self,
        name: &'static str,
        help: &'static str,
        buckets: &[f64],
        labels: Labels,
        value: f64,
        n: u64,
    ) {
        self.family(name, help, Kind::Histogram, buckets, |f| {
            let bounds = f.buckets.len();
            let h = f.histograms.entry(labels).or_insert_with(|| Histogram {
                counts: vec![0; bounds],
                count: 0,
                sum: 0.0,
            });
            for (i, le) in f.buckets.iter().enumerate() {
                if value <= *le {
                    h.counts[i] += n;
                }
            }
            h.count += n;
            h.sum += value * n as f64;
        });
    }

    /// The value of one counter or gauge series, for tests and summaries.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let f = families.get(name)?;
        f.values
            .iter()
            .find(|(l, _)| {
                l.len() == labels.len()
                    && l.iter()
                        .zip(labels)
                        .all(|((k, v), (k2, v2))| k == k2 && v == v2)
            })
            .map(|(_, v)| *v)
    }

    /// Appends every family in the text format.
    pub fn render(&self, out: &mut String) {
        self.render_with(out, |_| Vec::new());
    }

    /// Like [`Registry::render`], first adding `extra(family)` labels a series lacks: the
    /// labels a Prometheus scrape would attach (`job`, `metrics_path`).
    pub fn render_with(&self, out: &mut String, extra: impl Fn(&str) -> Labels) {
        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        for (name, f) in families.iter() {
            header(out, name, f.help, f.kind);
            let added = extra(name);
            let with_extra = |labels: &Labels| -> Labels {
                let mut all: Labels = added
                    .iter()
                    .filter(|(k, _)| !labels.iter().any(|(k2, _)| k2 == k))
                    .cloned()
                    .collect();
                all.extend(labels.iter().cloned());
                all
            };
            for (labels, v) in &f.values {
                sample(out, name, &with_extra(labels), None, *v);
            }
            for (labels, h) in &f.histograms {
                let labels = &with_extra(labels);
                let bucket = format!("{name}_bucket");
                for (le, c) in f.buckets.iter().zip(&h.counts) {
                    sample(out, &bucket, labels, Some(&format_value(*le)), *c as f64);
                }
                sample(out, &bucket, labels, Some("+Inf"), h.count as f64);
                sample(out, &format!("{name}_sum"), labels, None, h.sum);
                sample(out, &format!("{name}_count"), labels, None, h.count as f64);
            }
        }
    }
}

/// Families computed at scrape time (gauges and counters derived from current objects),
/// grouped by name so each family is written in one block.
#[derive(Debug, Default)]
pub struct FamilySet {
    families: BTreeMap<&'static str, ComputedFamily>,
}

/// Help, type and samples of one scrape-time family.
type ComputedFamily = (&'static str, Kind, Vec<(Labels, f64)>);

impl FamilySet {
    pub fn new() -> FamilySet {
        FamilySet::default()
    }

    /// Adds one sample; the first call for a name fixes its help and type.
    pub fn add(
        &mut self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        labels: Labels,
        value: f64,
    ) {
        self.families
            .entry(name)
            .or_insert_with(|| (help, kind, Vec::new()))
            .2
            .push((labels, value));
    }

    /// Appends every family in the text format.
    pub fn render(&self, out: &mut String) {
        for (name, (help, kind, samples)) in &self.families {
            header(out, name, help, *kind);
            for (labels, v) in samples {
                sample(out, name, labels, None, *v);
            }
        }
    }

    /// The samples of one family, for tests.
    pub fn samples(&self, name: &str) -> &[(Labels, f64)] {
        self.families.get(name).map_or(&[], |f| f.2.as_slice())
    }
}

/// `# HELP` and `# TYPE` lines of a family.
pub fn header(out: &mut String, name: &str, help: &str, kind: Kind) {
    let _ = writeln!(
        out,
        "# HELP {name} {}",
        help.replace('\\', "\\\\").replace('\n', "\\n")
    );
    let _ = writeln!(out, "# TYPE {name} {}", kind.as_str());
}

/// One sample line; `le` is appended as the last label (histogram buckets).
pub fn sample(
    out: &mut String,
    name: &str,
    labels: &[(&'static str, String)],
    le: Option<&str>,
    value: f64,
) {
    out.push_str(name);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        for (k, v) in labels {
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        if let Some(le) = le {
            if !first {
                out.push(',');
            }
            let _ = write!(out, "le=\"{le}\"");
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&format_value(value));
    out.push('\n');
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Prometheus number formatting: integers without a fraction, `+Inf`, `NaN`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let r = Registry::new();
        let l = || vec![("code", "200".to_string()), ("service", "web".to_string())];
        r.inc("http_requests_total", "Requests.", l(), 1.0);
        r.inc("http_requests_total", "Requests.", l(), 2.0);
        for v in [0.004, 0.02, 0.3] {
            r.observe(
                "http_request_duration_seconds",
                "Latency.",
                &[0.005, 0.05, 0.5],
                l(),
                v,
            );
        }
        let mut out = String::new();
        r.render(&mut out);
        // Buckets are cumulative: 0.004 ≤ 0.005; 0.004, 0.02 ≤ 0.05; all three ≤ 0.5.
        let expected = "\
# HELP http_request_duration_seconds Latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{code=\"200\",service=\"web\",le=\"0.005\"} 1
http_request_duration_seconds_bucket{code=\"200\",service=\"web\",le=\"0.05\"} 2
http_request_duration_seconds_bucket{code=\"200\",service=\"web\",le=\"0.5\"} 3
http_request_duration_seconds_bucket{code=\"200\",service=\"web\",le=\"+Inf\"} 3
http_request_duration_seconds_sum{code=\"200\",service=\"web\"} 0.324
http_request_duration_seconds_count{code=\"200\",service=\"web\"} 3
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code=\"200\",service=\"web\"} 3
";
        assert_eq!(out, expected);
        assert_eq!(
            r.value(
                "http_requests_total",
                &[("code", "200"), ("service", "web")]
            ),
            Some(3.0)
        );
    }

    #[test]
    fn scrape_labels_are_added_unless_the_series_has_them() {
        let r = Registry::new();
        r.inc(
            "prober_probe_total",
            "Probes.",
            vec![("result", "failed".into())],
            2.0,
        );
        r.inc(
            "prober_probe_total",
            "Probes.",
            vec![("job", "own".into())],
            1.0,
        );
        let mut out = String::new();
        r.render_with(&mut out, |name| {
            assert_eq!(name, "prober_probe_total");
            vec![
                ("job", "kubelet".into()),
                ("metrics_path", "/metrics/probes".into()),
            ]
        });
        assert_eq!(
            out,
            "# HELP prober_probe_total Probes.\n# TYPE prober_probe_total counter\n\
             prober_probe_total{metrics_path=\"/metrics/probes\",job=\"own\"} 1\n\
             prober_probe_total{job=\"kubelet\",metrics_path=\"/metrics/probes\",result=\"failed\"} 2\n"
        );
    }

    #[test]
    fn family_sets_group_samples_by_name() {
        let mut f = FamilySet::new();
        f.add("b", "B.", Kind::Gauge, vec![("x", "1".into())], 1.0);
        f.add("a", "A.", Kind::Counter, vec![], 2.0);
        f.add("b", "B.", Kind::Gauge, vec![("x", "2".into())], 3.5);
        let mut out = String::new();
        f.render(&mut out);
        assert_eq!(
            out,
            "# HELP a A.\n# TYPE a counter\na 2\n# HELP b B.\n# TYPE b gauge\nb{x=\"1\"} 1\nb{x=\"2\"} 3.5\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "m", &[("path", "a\"b\\c".to_string())], None, 1.5);
        assert_eq!(out, "m{path=\"a\\\"b\\\\c\"} 1.5\n");
    }
}
