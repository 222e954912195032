//! Solution actions: what the app can do itself, each shown as the kubectl command it equals.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::check::{CheckBody, CheckSpec, MatchCheck, ObjectTest, Target};
use super::eval::show;
use super::path::FieldPath;

/// An action as written in a step's `solution:` list.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionSpec {
    /// Server-side apply of a file of the lesson (e.g. `solutions/role.yaml`).
    Apply(String),
    /// Scales one object, or every object a selector matches (`kubectl scale rs -l …`).
    Scale { target: Value, replicas: i64 },
    Patch {
        target: String,
        #[serde(rename = "type", default)]
        patch_type: Option<String>,
        patch: Value,
    },
    /// Deletes one object (`pod/web-0`) or those matching a selector.
    Delete { target: Value },
    /// Sets (or, with `null`, removes) container env variables.
    SetEnv {
        target: String,
        container: Option<String>,
        env: BTreeMap<String, Option<String>>,
    },
    SetImage {
        target: String,
        container: String,
        image: String,
    },
    /// Answers an input check: a constant, or a live field read when the solution runs.
    Answer {
        check: String,
        value: Option<String>,
        from: Option<AnswerFrom>,
    },
    /// Waits until a matcher check holds (e.g. before undoing a change that must be seen).
    Wait(Box<CheckSpec>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerFrom {
    pub target: String,
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Strategic,
    Merge,
    Json,
}

impl PatchKind {
    pub fn kubectl(self) -> &'static str {
        match self {
            PatchKind::Strategic => "strategic",
            PatchKind::Merge => "merge",
            PatchKind::Json => "json",
        }
    }
}

#[derive(Debug, Clone)]
pub enum AnswerValue {
    Constant(String),
    Field(Target, FieldPath),
}

/// A validated action. Everything but `Apply` is a patch or delete on existing objects.
#[derive(Debug, Clone)]
pub enum Action {
    Apply {
        file: String,
    },
    Patch {
        target: Target,
        kind: PatchKind,
        patch: Value,
        /// How kubectl would say it.
        kubectl: String,
    },
    Delete {
        target: Target,
    },
    /// Records an answer to an input check.
    Answer {
        check: String,
        value: AnswerValue,
    },
    /// Waits (with the app's watches) until a matcher check holds.
    Wait {
        check: MatchCheck,
    },
}

impl ActionSpec {
    pub fn validate(&self) -> Result<Action, String> {
        let named = |t: &str| -> Result<Target, String> {
            let target = Target::parse(&Value::String(t.to_string()))?;
            if target.name.is_none() {
                return Err(format!("target {t:?}: expected kind/name"));
            }
            Ok(target)
        };
        Ok(match self {
            ActionSpec::Apply(file) => Action::Apply { file: file.clone() },
            ActionSpec::Scale { target, replicas } => {
                let t = Target::parse(target)?;
                if t.name.is_none() && t.selector.is_none() {
                    return Err("scale: the target needs a name or a selector".into());
                }
                if !matches!(t.kind.kind, "Deployment" | "ReplicaSet" | "StatefulSet") {
                    return Err(format!("scale: {} has no scale subresource", t.kind.kind));
                }
                let what = match (&t.name, &t.selector) {
                    (None, Some(sel)) => {
                        format!("{} -l {}", t.kind.singular, shell_word(&sel.text))
                    }
                    _ => t.describe(),
                };
                Action::Patch {
                    kubectl: format!("scale {what} --replicas={replicas}"),
                    target: t,
                    kind: PatchKind::Merge,
                    patch: json!({"spec": {"replicas": replicas}}),
                }
            }
            ActionSpec::Patch {
                target,
                patch_type,
                patch,
            } => {
                let t = named(target)?;
                let kind = match patch_type.as_deref() {
                    None | Some("strategic") => PatchKind::Strategic,
                    Some("merge") => PatchKind::Merge,
                    Some("json") => PatchKind::Json,
                    Some(other) => {
                        return Err(format!(
                            "patch: type `{other}` is not strategic, merge or json"
                        ));
                    }
                };
                Action::Patch {
                    kubectl: format!(
                        "patch {} --type={} -p '{}'",
                        t.describe(),
                        kind.kubectl(),
                        patch
                    ),
                    target: t,
                    kind,
                    patch: patch.clone(),
                }
            }
            ActionSpec::Delete { target } => Action::Delete {
                target: Target::parse(target)?,
            },
            ActionSpec::SetEnv {
                target,
                container,
                env,
            } => {
                let t = named(target)?;
                let container = container
                    .clone()
                    .ok_or("set_env: `container` is required")?;
                let vars: Vec<Value> = env
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => json!({"name": k, "value": v}),
                        None => json!({"name": k, "$patch": "delete"}),
                    })
                    .collect();
                let args: Vec<String> = env
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!("{k}={}", shell_word(v)),
                        None => format!("{k}-"),
                    })
                    .collect();
                Action::Patch {
                    kubectl: format!("set env {} -c {container} {}", t.describe(), args.join(" ")),
                    patch: pod_template_patch(&t, json!([{"name": container, "env": vars}]))?,
                    target: t,
                    kind: PatchKind::Strategic,
                }
            }
            ActionSpec::Answer { check, value, from } => match (value, from) {
                (Some(v), None) => Action::Answer {
                    check: check.clone(),
                    value: AnswerValue::Constant(v.clone()),
                },
                (None, Some(f)) => Action::Answer {
                    check: check.clone(),
                    value: AnswerValue::Field(named(&f.target)?, FieldPath::parse(&f.path)?),
                },
                _ => return Err("answer: give `value` or `from: {target, path}`".into()),
            },
            ActionSpec::Wait(spec) => match spec.validate(0)?.body {
                CheckBody::Match(check) if spec.hold.is_none() => Action::Wait { check },
                _ => return Err("wait: takes a matcher check (target + expect or total)".into()),
            },
            ActionSpec::SetImage {
                target,
                container,
                image,
            } => {
                let t = named(target)?;
                Action::Patch {
                    kubectl: format!("set image {} {container}={image}", t.describe()),
                    patch: pod_template_patch(&t, json!([{"name": container, "image": image}]))?,
                    target: t,
                    kind: PatchKind::Strategic,
                }
            }
        })
    }
}

/// A strategic merge patch of the containers of a workload's pod template (or a Pod).
fn pod_template_patch(t: &Target, containers: Value) -> Result<Value, String> {
    Ok(match t.kind.kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
            json!({"spec": {"template": {"spec": {"containers": containers}}}})
        }
        other => return Err(format!("{other} has no pod template to change")),
    })
}

impl Action {
    /// The kubectl command a learner would type for this action.
    pub fn kubectl(&self, namespace: &str) -> String {
        match self {
            Action::Apply { file } => {
                format!("kubectl apply --server-side -n {namespace} -f {file}")
            }
            Action::Patch {
                target, kubectl, ..
            } => {
                format!("kubectl{} {kubectl}", ns_flag(target, namespace))
            }
            Action::Delete { target } => {
                let what = match (&target.name, &target.selector) {
                    (Some(_), _) => target.describe(),
                    (None, Some(s)) => {
                        format!("{} -l {}", target.kind.singular, shell_word(&s.text))
                    }
                    (None, None) => format!("{} --all", target.kind.singular),
                };
                format!("kubectl{} delete {what}", ns_flag(target, namespace))
            }
            Action::Wait { check } => wait_command(check, namespace),
            Action::Answer { check, value } => match value {
                AnswerValue::Constant(v) => format!("# answer {check}: {v}"),
                AnswerValue::Field(t, p) => format!(
                    "# answer {check} with: kubectl{} get {} -o jsonpath='{{.{}}}'",
                    ns_flag(t, namespace),
                    t.describe(),
                    p.text
                ),
            },
        }
    }

    /// Files of the lesson this action reads.
    pub fn file(&self) -> Option<&str> {
        match self {
            Action::Apply { file } => Some(file),
            _ => None,
        }
    }
}

/// `kubectl wait --for=jsonpath=…` where one field of one object says it; else a comment.
fn wait_command(check: &MatchCheck, namespace: &str) -> String {
    use super::check::{Cmp, Matcher, Op};
    let t = &check.target;
    if let (Some(_), ObjectTest::Expect(e)) = (&t.name, &check.test)
        && let [(path, Matcher::Ops(ops))] = e.0.as_slice()
        && let [Op::Cmp(Cmp::Eq, v)] = ops.as_slice()
        && !path.is_multi()
    {
        return format!(
            "kubectl{} wait {} --for=jsonpath='{{.{}}}'={}",
            ns_flag(t, namespace),
            t.describe(),
            path.text,
            show(v)
        );
    }
    format!("# wait until {}", super::eval::describe_match(check))
}

fn ns_flag(t: &Target, namespace: &str) -> String {
    if t.kind.namespaced {
        format!(" -n {}", t.namespace.as_deref().unwrap_or(namespace))
    } else {
        String::new()
    }
}

fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=,".contains(c))
        && !s.is_empty()
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(yaml: &str) -> Action {
        serde_saphyr::from_str::<ActionSpec>(yaml)
            .unwrap()
            .validate()
            .unwrap()
    }

    #[test]
    fn actions_show_as_kubectl() {
        let cases = [
            (
                "scale: {target: deployment/web, replicas: 4}",
                "kubectl -n ns1 scale deployment/web --replicas=4",
            ),
            (
                "set_env: {target: deploy/web, container: web, env: {FAIL_READINESS: 'true', X: null}}",
                "kubectl -n ns1 set env deployment/web -c web FAIL_READINESS=true X-",
            ),
            (
                "set_image: {target: sts/db, container: pg, image: 'postgres:17'}",
                "kubectl -n ns1 set image statefulset/db pg=postgres:17",
            ),
            (
                "delete: {target: {kind: Pod, selector: app=web}}",
                "kubectl -n ns1 delete pod -l app=web",
            ),
            (
                "delete: {target: pv/data}",
                "kubectl delete persistentvolume/data",
            ),
            (
                "patch: {target: deployment/web, type: merge, patch: {spec: {paused: true}}}",
                "kubectl -n ns1 patch deployment/web --type=merge -p '{\"spec\":{\"paused\":true}}'",
            ),
            (
                "apply: solutions/role.yaml",
                "kubectl apply --server-side -n ns1 -f solutions/role.yaml",
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(action(yaml).kubectl("ns1"), want, "{yaml}");
        }
    }

    #[test]
    fn set_env_is_a_strategic_patch_of_the_template() {
        let Action::Patch { patch, kind, .. } =
            action("set_env: {target: deployment/web, container: web, env: {A: '1', B: null}}")
        else {
            panic!("a patch")
        };
        assert_eq!(kind, PatchKind::Strategic);
        assert_eq!(
            patch,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [
                {"name": "A", "value": "1"}, {"name": "B", "$patch": "delete"}]}]}}}})
        );
    }
}
