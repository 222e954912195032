//! One SLO to evaluate, whatever defined it: a spec file, or rules Sloth or Pyrra recorded.

use super::burn::Observation;
use super::query;
use super::spec::{LoadedSpec, ServiceRef, Sli};
use super::window::{Period, Window};

/// Where the SLI's error ratio per window comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum SliSource {
    /// A spec's queries, evaluated as written (with `{{.window}}` filled in).
    Spec(Sli),
    /// Series recorded by rules: `<prefix><window>{selector}`, for the listed windows only.
    Recorded {
        prefix: String,
        selector: String,
        windows: Vec<Window>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Computed by kdive from a spec file's queries.
    Kdive,
    /// Read from Sloth's recording rules (the period ratio is Sloth's mean of 5m ratios).
    Sloth,
    /// Read from Pyrra's `:burnrate` recording rules (error ratios despite the name).
    Pyrra,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloDef {
    /// The SLO's name (`requests-availability`).
    pub name: String,
    /// Sloth's id, `<service>-<slo>`.
    pub id: String,
    /// The Kubernetes Service it covers, from the `kdive_service` label.
    pub service: Option<ServiceRef>,
    pub objective_percent: f64,
    pub period: Period,
    pub source: SliSource,
    pub engine: Engine,
    /// `file.yaml:7` or `rules group sloth-slo-…`, for messages.
    pub origin: String,
}

impl SloDef {
    /// Every SLO of a loaded spec file.
    pub fn from_spec(l: &LoadedSpec, period: &Period) -> Vec<SloDef> {
        l.spec
            .slos
            .iter()
            .enumerate()
            .map(|(i, slo)| SloDef {
                name: slo.name.clone(),
                id: format!("{}-{}", l.spec.service, slo.name),
                service: l.service_of(slo),
                objective_percent: slo.objective,
                period: period.clone(),
                source: SliSource::Spec(slo.sli()),
                engine: Engine::Kdive,
                origin: format!("{}:{}", l.origin, l.slo_lines.get(i).copied().unwrap_or(1)),
            })
            .collect()
    }

    /// The error-ratio query for a window (None: the rules do not record that window).
    pub fn ratio_query(&self, w: Window) -> Option<String> {
        match &self.source {
            SliSource::Spec(sli) => Some(query::error_ratio(sli, w)),
            SliSource::Recorded {
                prefix,
                selector,
                windows,
            } => windows
                .contains(&w)
                .then(|| format!("max({prefix}{w}{selector})")),
        }
    }

    /// The request-count query for a window (events SLIs only).
    pub fn requests_query(&self, w: Window) -> Option<String> {
        match &self.source {
            SliSource::Spec(sli) => query::requests(sli, w),
            SliSource::Recorded { .. } => None,
        }
    }

    /// How long the SLI has had data within the period.
    pub fn data_age_query(&self) -> String {
        match &self.source {
            SliSource::Spec(sli) => query::data_age(sli, self.period.window),
            SliSource::Recorded {
                prefix, selector, ..
            } => query::data_age_of(&format!("max({prefix}5m{selector})"), self.period.window),
        }
    }

    pub fn evaluate(&self, obs: &Observation) -> super::Burn {
        super::burn::evaluate(self.objective_percent, &self.period, obs)
    }
}
