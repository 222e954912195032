//! Progress of a learner through lessons: serde data, saved per kubeconfig context.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// All lessons' progress on one cluster context.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    #[serde(default)]
    pub lessons: BTreeMap<String, LessonProgress>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LessonProgress {
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub steps: BTreeMap<String, StepProgress>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Done,
    Skipped,
}

impl StepProgress {
    /// Marks the step finished, once: a finished step stays finished. True when it just was.
    pub fn latch(&mut self, status: StepStatus, at: DateTime<Utc>) -> bool {
        if self.status.is_some() {
            return false;
        }
        self.status = Some(status);
        self.completed_at = Some(at);
        true
    }
}

/// One step: its status, and the state its checks carry between evaluations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepProgress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StepStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Observe checks' sightings, by check id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub observed: BTreeMap<String, ObserveProgress>,
    /// Input checks' answers, by check id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answers: BTreeMap<String, String>,
    /// Since when a `for:` check has held, by check id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub holding_since: BTreeMap<String, DateTime<Utc>>,
    #[serde(default)]
    pub hints_shown: usize,
    /// When the learner got to this step (hints with `after:` count from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
}

/// How far an observe check got: entries of its sequence seen so far, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObserveProgress {
    pub matched: usize,
    #[serde(default)]
    pub sightings: Vec<Sighting>,
    /// For `never`: when the forbidden state was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violated: Option<Sighting>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    pub at: DateTime<Utc>,
    pub what: String,
}

impl Progress {
    pub fn lesson(&mut self, id: &str) -> &mut LessonProgress {
        self.lessons.entry(id.to_string()).or_default()
    }
}

impl LessonProgress {
    pub fn step(&mut self, id: &str) -> &mut StepProgress {
        self.steps.entry(id.to_string()).or_default()
    }
}

/// A file-name-safe form of a context name (`arn:aws:eks:…/prod` → `arn_aws_eks_…_prod`).
pub fn context_file_name(context: &str) -> String {
    let safe: String = context
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{}.json",
        if safe.is_empty() {
            "default".into()
        } else {
            safe
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_sightings_and_answers() {
        let mut p = Progress::default();
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let step = p.lesson("services/clusterip").step("scale");
        step.status = Some(StepStatus::Done);
        step.answers.insert("typed-ip".into(), "10.96.0.10".into());
        step.observed.insert(
            "left".into(),
            ObserveProgress {
                matched: 1,
                sightings: vec![Sighting {
                    at,
                    what: "x".into(),
                }],
                violated: None,
            },
        );
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.contains("\"status\":\"done\""), "{text}");
        assert_eq!(serde_json::from_str::<Progress>(&text).unwrap(), p);
        assert_eq!(
            context_file_name("arn:aws:eks:eu/prod"),
            "arn_aws_eks_eu_prod.json"
        );
    }
}
