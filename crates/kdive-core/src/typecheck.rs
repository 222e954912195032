//! JSON types checked as the API server's typed decoding checks them. The real server
//! decodes a body into Go structs before it validates anything, so a map where a string
//! belongs, `"three"` as replicas or 2^31 in an int32 never reaches validation:
//!
//! - create and update decode with `encoding/json` (the `sigs.k8s.io/json` fork): the error is
//!   `json.UnmarshalTypeError`, `json: cannot unmarshal string into Go struct field
//!   DeploymentSpec.spec.replicas of type int32`; the handler wraps it as a 400
//!   (`transformDecodeError` in `apiserver/pkg/endpoints/handlers/rest.go`).
//! - JSON and merge patches decode the patched JSON the same way.
//! - strategic merge patches convert a map with `runtime.DefaultUnstructuredConverter`
//!   (`apimachinery/pkg/runtime/converter.go`): `unrecognized type: int32`, and an int64 that
//!   overflows an int32 is converted (wrapped) like Go's `reflect.Value.Convert`.
//!
//! The schema covers the fields of the kinds the lab serves that its controllers and
//! validation read; other fields are not type-checked.

use serde_json::Value;

/// A Go field type.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Str,
    I32,
    I64,
    Bool,
    /// `[]byte`: base64 in JSON.
    Bytes,
    /// `intstr.IntOrString`.
    IntOrStr,
    /// Not type-checked (custom unmarshalers such as Quantity and Time, unmodelled structs).
    Any,
    Map(&'static Ty),
    List(&'static Ty),
    Struct(&'static StructTy),
}

#[derive(Debug)]
pub struct StructTy {
    /// Go package and type, e.g. `v1.DeploymentSpec`.
    pub go_name: &'static str,
    pub fields: &'static [(&'static str, Ty)],
}

impl Ty {
    /// `reflect.Type.String()` of the type (pointers already dereferenced, as `indirect` does).
    pub fn go_name(&self) -> String {
        match self {
            Ty::Str => "string".into(),
            Ty::I32 => "int32".into(),
            Ty::I64 => "int64".into(),
            Ty::Bool => "bool".into(),
            Ty::Bytes => "[]uint8".into(),
            Ty::IntOrStr => "intstr.IntOrString".into(),
            Ty::Any => "interface {}".into(),
            Ty::Map(v) => format!("map[string]{}", v.go_name()),
            Ty::List(v) => format!("[]{}", v.go_name()),
            Ty::Struct(s) => s.go_name.into(),
        }
    }

    /// `reflect.Kind` of the type, as the unstructured converter names it.
    fn go_kind(&self) -> &'static str {
        match self {
            Ty::Str => "string",
            Ty::I32 => "int32",
            Ty::I64 => "int64",
            Ty::Bool => "bool",
            Ty::Bytes | Ty::List(_) => "slice",
            Ty::Map(_) => "map",
            Ty::Struct(_) => "struct",
            Ty::IntOrStr => "struct",
            Ty::Any => "interface",
        }
    }
}

/// How the server turns JSON into its types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    /// `json.Unmarshal` into the typed object (create, update, JSON and merge patches).
    Json,
    /// `DefaultUnstructuredConverter.FromUnstructured` (strategic merge patches).
    Unstructured,
    /// structured-merge-diff's typed conversion of an apply patch (`ObjectToTyped`); its
    /// numbers then convert as `Unstructured` does.
    Apply,
}

/// The first type error, in document order, as the decoder words it; for `Unstructured`,
/// integers that overflow an int32 are wrapped in place. `kind` is the object's Kind.
pub fn check(kind: &str, obj: &mut Value, decoding: Decoding) -> Option<String> {
    let schema = schema_of(kind)?;
    let mut ctx = Ctx {
        decoding,
        first: None,
        stack: Vec::new(),
        smd_path: String::new(),
    };
    ctx.walk_struct(schema, obj, Some(kind));
    ctx.first
}

struct Ctx {
    decoding: Decoding,
    first: Option<String>,
    /// Struct names and JSON field names down to the current value (the error context).
    stack: Vec<(String, &'static str)>,
    /// structured-merge-diff's path of the current value (`.spec.containers[name="web"]`).
    smd_path: String,
}

impl Ctx {
    fn fail(&mut self, value: &Value, ty: &Ty, number_text: Option<String>) {
        if self.first.is_some() {
            return;
        }
        let msg = match self.decoding {
            Decoding::Json => {
                let what = number_text.unwrap_or_else(|| json_kind(value).to_string());
                match self.stack.last() {
                    Some((owner, _)) => {
                        let path: Vec<&str> = self.stack.iter().map(|(_, f)| *f).collect();
                        format!(
                            "json: cannot unmarshal {what} into Go struct field {owner}.{} of type {}",
                            path.join("."),
                            ty.go_name()
                        )
                    }
                    None => format!(
                        "json: cannot unmarshal {what} into Go value of type {}",
                        ty.go_name()
                    ),
                }
            }
            Decoding::Unstructured => unstructured_error(value, ty),
            Decoding::Apply => format!("{}: {}", self.smd_path, smd_error(value, ty)),
        };
        self.first = Some(msg);
    }

    /// `owner` names the top-level struct (the kind) where the schema is shared.
    fn walk_struct(&mut self, s: &'static StructTy, v: &mut Value, owner: Option<&str>) {
        let Some(map) = v.as_object_mut() else {
            return;
        };
        // The struct's short name is the error's `Struct` (`DeploymentSpec`, not `v1.…`).
        let owner = owner.unwrap_or_else(|| s.go_name.rsplit('.').next().unwrap_or(s.go_name));
        for (key, value) in map.iter_mut() {
            let Some((name, ty)) = s.fields.iter().find(|(n, _)| n == key) else {
                continue;
            };
            self.stack.push((owner.to_string(), name));
            let len = self.smd_path.len();
            self.smd_path.push('.');
            self.smd_path.push_str(name);
            self.walk(ty, value);
            self.smd_path.truncate(len);
            self.stack.pop();
        }
    }

    fn walk(&mut self, ty: &Ty, v: &mut Value) {
        if v.is_null() || self.first.is_some() {
            return;
        }
        match ty {
            Ty::Any => {}
            Ty::Str | Ty::Bytes => {
                if !v.is_string() {
                    self.mismatch(ty, v);
                }
            }
            Ty::Bool => {
                if !v.is_boolean() {
                    self.mismatch(ty, v);
                }
            }
            Ty::I32 | Ty::I64 => self.integer(ty, v),
            Ty::IntOrStr => {
                if v.is_string() {
                    return;
                }
                // IntOrString.UnmarshalJSON decodes a non-string into its int32, with a
                // decoder of its own (no field context), in both decodings.
                if self.decoding == Decoding::Apply {
                    // An int-or-string is an untyped scalar to structured-merge-diff.
                    if v.is_object() || v.is_array() {
                        self.mismatch(&Ty::Str, v);
                    }
                    return;
                }
                if self.decoding == Decoding::Unstructured && !v.is_i64() {
                    let what = json_kind(v);
                    self.first.get_or_insert_with(|| {
                        format!("json: cannot unmarshal {what} into Go value of type int32")
                    });
                } else {
                    self.integer(&Ty::I32, v);
                }
            }
            Ty::Map(inner) => match v.as_object_mut() {
                Some(m) => {
                    for (key, item) in m.iter_mut() {
                        let len = self.smd_path.len();
                        self.smd_path.push('.');
                        self.smd_path.push_str(key);
                        self.walk(inner, item);
                        self.smd_path.truncate(len);
                    }
                }
                None => self.mismatch(ty, v),
            },
            Ty::List(inner) => match v.as_array_mut() {
                Some(items) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        let len = self.smd_path.len();
                        self.smd_path.push_str(&list_element(inner, i, item));
                        self.walk(inner, item);
                        self.smd_path.truncate(len);
                    }
                }
                None => self.mismatch(ty, v),
            },
            Ty::Struct(s) => {
                if v.is_object() {
                    self.walk_struct(s, v, None);
                } else {
                    self.mismatch(ty, v);
                }
            }
        }
    }

    fn mismatch(&mut self, ty: &Ty, v: &Value) {
        // The converter turns an integer into a string type (`cannot convert int64 to string`)
        // but JSON never does; both reject everything else the same way.
        self.fail(v, ty, None);
    }

    fn integer(&mut self, ty: &Ty, v: &mut Value) {
        let Some(n) = v.as_number().cloned() else {
            self.mismatch(ty, v);
            return;
        };
        let as_int = n.as_i64();
        let fits = |i: i64| match ty {
            Ty::I32 => i32::try_from(i).is_ok(),
            _ => true,
        };
        match (self.decoding, as_int) {
            (Decoding::Json, Some(i)) if fits(i) => {}
            (Decoding::Json, _) => {
                let text = format!("number {n}");
                self.fail(v, ty, Some(text));
            }
            (Decoding::Unstructured | Decoding::Apply, Some(i)) => {
                if let Ty::I32 = ty {
                    // reflect's Convert truncates, as Go's int32(i) does.
                    *v = Value::from(i as i32);
                }
            }
            (Decoding::Unstructured | Decoding::Apply, None) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.trunc() == f && f.is_finite() {
                    let i = f as i64;
                    *v = Value::from(if matches!(ty, Ty::I32) {
                        i64::from(i as i32)
                    } else {
                        i
                    });
                } else {
                    self.first.get_or_insert_with(|| {
                        format!("cannot convert float64 to {}", ty.go_kind())
                    });
                }
            }
        }
    }
}

/// The JSON token kind in `UnmarshalTypeError.Value`.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `fromUnstructured`'s error for a source value that does not fit the type.
fn unstructured_error(v: &Value, ty: &Ty) -> String {
    let source = match v {
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
        Value::Null => "interface",
    };
    match ty {
        Ty::Map(_) => format!("cannot restore map from {source}"),
        Ty::List(_) | Ty::Bytes if !v.is_string() => format!("cannot restore slice from {source}"),
        Ty::Struct(_) => format!("cannot restore struct from: {source}"),
        // An integer is convertible to a Go string, but the converter refuses it.
        Ty::Str if matches!(v, Value::Number(n) if !n.is_f64()) => {
            "cannot convert int64 to string".into()
        }
        Ty::Str if v.is_boolean() => "unrecognized type: string".into(),
        other => format!("unrecognized type: {}", other.go_kind()),
    }
}

/// A list element in a structured-merge-diff path: containers and env vars are keyed by
/// name (`[name="web"]`); other lists are shown by index, which is what structured-merge-diff
/// prints for atomic lists (the lab does not model the other list keys).
fn list_element(inner: &Ty, i: usize, item: &Value) -> String {
    let keyed_by_name =
        matches!(inner, Ty::Struct(s) if s.go_name == "v1.Container" || s.go_name == "v1.EnvVar");
    match item.get("name").and_then(Value::as_str) {
        Some(name) if keyed_by_name => format!("[name={}]", crate::field_errors::go_quote(name)),
        _ => format!("[{i}]"),
    }
}

/// Go's `%T` of a decoded JSON value.
fn go_type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// structured-merge-diff's scalar and container checks (`typed/helpers.go`,
/// `validateScalar`, `mapValue`, `listValue`); `value.Value` prints as
/// `&value.valueUnstructured{Value:…}` with `%#v` and `&{…}` with `%v`.
fn smd_error(v: &Value, ty: &Ty) -> String {
    use crate::field_errors::{go_plus_v, go_sharp_v};
    match ty {
        Ty::I32 | Ty::I64 => format!("expected numeric (int or float), got {}", go_type_of(v)),
        Ty::Bool => format!("expected boolean, got &{{{}}}", go_plus_v(v)),
        Ty::Map(_) | Ty::Struct(_) => format!("expected map, got &{{{}}}", go_plus_v(v)),
        Ty::List(_) => format!("expected list, got &{{{}}}", go_plus_v(v)),
        _ => format!(
            "expected string, got &value.valueUnstructured{{Value:{}}}",
            go_sharp_v(v)
        ),
    }
}

fn schema_of(kind: &str) -> Option<&'static StructTy> {
    Some(match kind {
        "Deployment" => &DEPLOYMENT,
        "ReplicaSet" => &REPLICA_SET,
        "StatefulSet" => &STATEFUL_SET,
        "Pod" => &POD,
        "Service" => &SERVICE,
        "ConfigMap" => &CONFIG_MAP,
        "Secret" => &SECRET,
        _ => &GENERIC,
    })
}

const STRINGS: Ty = Ty::Map(&Ty::Str);
const STRING_LIST: Ty = Ty::List(&Ty::Str);

static OWNER_REFERENCE: StructTy = StructTy {
    go_name: "v1.OwnerReference",
    fields: &[
        ("apiVersion", Ty::Str),
        ("kind", Ty::Str),
        ("name", Ty::Str),
        ("uid", Ty::Str),
        ("controller", Ty::Bool),
        ("blockOwnerDeletion", Ty::Bool),
    ],
};

static OBJECT_META: StructTy = StructTy {
    go_name: "v1.ObjectMeta",
    fields: &[
        ("name", Ty::Str),
        ("generateName", Ty::Str),
        ("namespace", Ty::Str),
        ("uid", Ty::Str),
        ("resourceVersion", Ty::Str),
        ("generation", Ty::I64),
        ("deletionGracePeriodSeconds", Ty::I64),
        ("labels", STRINGS),
        ("annotations", STRINGS),
        ("ownerReferences", Ty::List(&Ty::Struct(&OWNER_REFERENCE))),
        ("finalizers", STRING_LIST),
    ],
};

static GENERIC: StructTy = StructTy {
    go_name: "v1.Object",
    fields: &[("metadata", Ty::Struct(&OBJECT_META))],
};

static REQUIREMENT: StructTy = StructTy {
    go_name: "v1.LabelSelectorRequirement",
    fields: &[
        ("key", Ty::Str),
        ("operator", Ty::Str),
        ("values", STRING_LIST),
    ],
};

static LABEL_SELECTOR: StructTy = StructTy {
    go_name: "v1.LabelSelector",
    fields: &[
        ("matchLabels", STRINGS),
        ("matchExpressions", Ty::List(&Ty::Struct(&REQUIREMENT))),
    ],
};

static CONTAINER_PORT: StructTy = StructTy {
    go_name: "v1.ContainerPort",
    fields: &[
        ("name", Ty::Str),
        ("hostPort", Ty::I32),
        ("containerPort", Ty::I32),
        ("protocol", Ty::Str),
        ("hostIP", Ty::Str),
    ],
};

static ENV_VAR: StructTy = StructTy {
    go_name: "v1.EnvVar",
    fields: &[("name", Ty::Str), ("value", Ty::Str)],
};

static CONTAINER: StructTy = StructTy {
    go_name: "v1.Container",
    fields: &[
        ("name", Ty::Str),
        ("image", Ty::Str),
        ("command", STRING_LIST),
        ("args", STRING_LIST),
        ("workingDir", Ty::Str),
        ("ports", Ty::List(&Ty::Struct(&CONTAINER_PORT))),
        ("env", Ty::List(&Ty::Struct(&ENV_VAR))),
        ("imagePullPolicy", Ty::Str),
    ],
};

static POD_SPEC: StructTy = StructTy {
    go_name: "v1.PodSpec",
    fields: &[
        ("initContainers", Ty::List(&Ty::Struct(&CONTAINER))),
        ("containers", Ty::List(&Ty::Struct(&CONTAINER))),
        ("restartPolicy", Ty::Str),
        ("terminationGracePeriodSeconds", Ty::I64),
        ("activeDeadlineSeconds", Ty::I64),
        ("nodeSelector", STRINGS),
        ("serviceAccountName", Ty::Str),
        ("nodeName", Ty::Str),
        ("hostNetwork", Ty::Bool),
        ("hostname", Ty::Str),
        ("subdomain", Ty::Str),
        ("schedulerName", Ty::Str),
        ("priority", Ty::I32),
    ],
};

static POD_TEMPLATE_SPEC: StructTy = StructTy {
    go_name: "v1.PodTemplateSpec",
    fields: &[
        ("metadata", Ty::Struct(&OBJECT_META)),
        ("spec", Ty::Struct(&POD_SPEC)),
    ],
};

static POD: StructTy = StructTy {
    go_name: "v1.Pod",
    fields: &[
        ("metadata", Ty::Struct(&OBJECT_META)),
        ("spec", Ty::Struct(&POD_SPEC)),
    ],
};

static ROLLING_UPDATE_DEPLOYMENT: StructTy = StructTy {
    go_name: "v1.RollingUpdateDeployment",
    fields: &[("maxUnavailable", Ty::IntOrStr), ("maxSurge", Ty::IntOrStr)],
};

static DEPLOYMENT_STRATEGY: StructTy = StructTy {
    go_name: "v1.DeploymentStrategy",
    fields: &[
        ("type", Ty::Str),
        ("rollingUpdate", Ty::Struct(&ROLLING_UPDATE_DEPLOYMENT)),
    ],
};

static DEPLOYMENT_SPEC: StructTy = StructTy {
    go_name: "v1.DeploymentSpec",
    fields: &[
        ("replicas", Ty::I32),
        ("selector", Ty::Struct(&LABEL_SELECTOR)),
        ("template", Ty::Struct(&POD_TEMPLATE_SPEC)),
        ("strategy", Ty::Struct(&DEPLOYMENT_STRATEGY)),
        ("minReadySeconds", Ty::I32),
        ("revisionHistoryLimit", Ty::I32),
        ("paused", Ty::Bool),
        ("progressDeadlineSeconds", Ty::I32),
    ],
};

static DEPLOYMENT: StructTy = StructTy {
    go_name: "v1.Deployment",
    fields: &[
        ("metadata", Ty::Struct(&OBJECT_META)),
        ("spec", Ty::Struct(&DEPLOYMENT_SPEC)),
    ],
};

static REPLICA_SET_SPEC: StructTy = StructTy {
    go_name: "v1.ReplicaSetSpec",
    fields: &[
        ("replicas", Ty::I32),
        ("minReadySeconds", Ty::I32),
        ("selector", Ty::Struct(&LABEL_SELECTOR)),
        ("template", Ty::Struct(&POD_TEMPLATE_SPEC)),
    ],
};

static REPLICA_SET: StructTy = StructTy {
    go_name: "v1.ReplicaSet",
    fields: &[
        ("metadata", Ty::Struct(&OBJECT_META)),
        ("spec", Ty::Struct(&REPLICA_SET_SPEC)),
    ],
};

static STS_ROLLING_UPDATE: StructTy = StructTy {
    go_name: "v1.RollingUpdateStatefulSetStrategy",
    fields: &[("partition", Ty::I32), ("maxUnavailable", Ty::IntOrStr)],
};

static STS_UPDATE_STRATEGY: StructTy = StructTy {
    go_name: "v1.StatefulSetUpdateStrategy",
    fields: &[
        ("type", Ty::Str),
        ("rollingUpdate", Ty::Struct(&STS_ROLLING_UPDATE)),
    ],
};

static STATEFUL_SET_SPEC: StructTy = StructTy {
    go_name: "v1.StatefulSetSpec",
    fields: &[
        ("replicas", Ty::I32),
        ("selector", Ty::Struct(&LABEL_SELECTOR)),
        ("template", Ty::Struct(&POD_TEMPLATE_SPEC)),
        ("serviceName", Ty::Str),
        ("podManagementPolicy", Ty::Str),
        ("updateStrategy", Ty::Struct(&STS_UPDATE_STRATEGY)),
        ("revisionHistoryLimit", Ty::I32),
        ("minReadySeconds", Ty::I32),
    ],
};

static STATEFUL_SET: StructTy = StructTy {
    go_name: "v1.StatefulSet",
    fields: &[
        ("metadata", Ty::Struct(&OBJECT_META)),
        ("spec", Ty::Struct(&STATEFUL_SET_SPEC)),
    ],
};

static SERVICE_PORT: StructTy = StructTy {
    go_name: "v1.ServicePort",
    fields: &[
        ("name", Ty::Str),
        ("protocol", Ty::Str),
        ("appProtocol", Ty::Str),
        ("port", Ty::I32),
        ("targetPort", Ty::IntOrStr),
        ("nodePort", Ty::I32),
    ],
};

static SERVICE_SPEC: StructTy = StructTy {
    go_name: "v1.ServiceSpec",
    fields: &[
        ("ports", Ty::List(&Ty::Struct(&SERVICE_PORT))),
        ("selector", STRINGS),
        ("clusterIP", Ty::Str),
        ("clusterIPs", STRING_LIST),
        ("type", Ty::Str),
        ("externalName", Ty::Str),
        ("sessionAffinity", Ty::Str),
        ("publishNotReadyAddresses", Ty::Bool),
    ],
};

static SERVICE: StructTy = StructTy {
    go_name: "v1.Service",
    fields: &[
        ("metadata", Ty::Struct(&OBJECT_META)),
        ("spec", Ty::Struct(&SERVICE_SPEC)),
    ],
};

static CONFIG_MAP: StructTy = StructTy {
    go_name: "v1.ConfigMap",
    fields: &[
        ("metadata", Ty::Struct(&OBJECT_META)),
        ("immutable", Ty::Bool),
        ("data", STRINGS),
        ("binaryData", Ty::Map(&Ty::Bytes)),
    ],
};

static SECRET: StructTy = StructTy {
    go_name: "v1.Secret",
    fields: &[
        ("metadata", Ty::Struct(&OBJECT_META)),
        ("immutable", Ty::Bool),
        ("data", Ty::Map(&Ty::Bytes)),
        ("stringData", STRINGS),
        ("type", Ty::Str),
    ],
};

#[cfg(test)]
#[path = "typecheck_tests.rs"]
mod tests;
