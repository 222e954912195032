//! Kubernetes strategic merge patch, server side, and the minimal server-side apply built on
//! the same list merging.
//!
//! Follows `apimachinery/pkg/util/strategicpatch` with the apiserver's options (parallel lists
//! merged, unmatched nulls ignored): lists merge by their `patchMergeKey`, `$patch`,
//! `$retainKeys`, `$deleteFromPrimitiveList/<f>` and `$setElementOrder/<f>` are honoured and
//! never left in the result, and `null` deletes. Where upstream would copy a patch value with
//! directives still inside it (a key absent from the original), the value is merged into an
//! empty one instead, so directives are always consumed.

use serde_json::{Map, Value};

use super::schema::{FieldMeta, Ty, lookup};
use super::{PatchError, kind_of};

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// `application/strategic-merge-patch+json`: directives honoured.
    Strategic,
    /// Server-side apply: the body is plain desired state; a `$` key is an error.
    Apply,
}

pub(super) struct Merger {
    pub mode: Mode,
}

fn err(path: &str, reason: impl Into<String>) -> PatchError {
    PatchError::Strategic {
        path: if path.is_empty() {
            ".".into()
        } else {
            path.to_string()
        },
        reason: reason.into(),
    }
}

impl Merger {
    pub(super) fn merge_map(
        &self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
        ty: Ty,
        path: &str,
    ) -> Result<Map<String, Value>, PatchError> {
        if self.mode == Mode::Strategic {
            if let Some(directive) = patch.shift_remove(PATCH) {
                match directive.as_str() {
                    Some("replace") => return self.merge_map(Map::new(), patch, ty, path),
                    Some("delete") => return Ok(Map::new()),
                    Some("merge") => {}
                    _ => {
                        return Err(err(
                            path,
                            format!(
                                "unknown $patch directive {directive}; expected replace, delete or merge"
                            ),
                        ));
                    }
                }
            }
            if let Some(retain) = patch.shift_remove(RETAIN_KEYS) {
                let keys = string_list(&retain, path, RETAIN_KEYS)?;
                // Upstream rejects a patch that sets a field its own $retainKeys would clear.
                let stray = patch.iter().find(|(k, v)| {
                    !v.is_null()
                        && !k.starts_with(SET_ELEMENT_ORDER)
                        && !k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
                        && !keys.contains(&k.as_str())
                });
                if let Some((k, _)) = stray {
                    return Err(err(
                        path,
                        format!("{k:?} is set but not listed in $retainKeys"),
                    ));
                }
                original.retain(|k, _| keys.contains(&k.as_str()));
            }
            self.apply_element_orders(&mut original, &mut patch, ty, path)?;
        }

        for (key, patch_value) in patch {
            let child_path = format!("{path}.{key}");
            if key.starts_with('$') {
                if self.mode == Mode::Apply {
                    return Err(err(
                        &child_path,
                        "apply configurations cannot contain $ directives",
                    ));
                }
                let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) else {
                    return Err(err(&child_path, format!("unknown directive {key:?}")));
                };
                let Value::Array(remove) = patch_value else {
                    return Err(err(
                        &child_path,
                        format!("must be a list, not {}", kind_of(&patch_value)),
                    ));
                };
                if let Some(Value::Array(list)) = original.get_mut(field) {
                    list.retain(|v| !remove.contains(v));
                }
                continue;
            }
            let meta = lookup(ty, &key);
            if patch_value.is_null() {
                original.shift_remove(&key);
                continue;
            }
            let merged = match original.get_mut(&key).map(Value::take) {
                Some(Value::Object(o)) if patch_value.is_object() => {
                    let Value::Object(p) = patch_value else {
                        unreachable!("checked is_object")
                    };
                    Value::Object(self.merge_map(o, p, meta.child, &child_path)?)
                }
                Some(Value::Array(o)) if patch_value.is_array() => {
                    let Value::Array(p) = patch_value else {
                        unreachable!("checked is_array")
                    };
                    Value::Array(self.merge_list(o, p, meta, &child_path)?)
                }
                _ => self.fresh(patch_value, meta, &child_path)?,
            };
            original.insert(key, merged);
        }
        Ok(original)
    }

    /// A patch value for a key the original lacks (or has with another type): merged into an
    /// empty value of its own type, which drops nulls and consumes directives.
    fn fresh(&self, value: Value, meta: FieldMeta, path: &str) -> Result<Value, PatchError> {
        Ok(match value {
            Value::Object(p) => Value::Object(self.merge_map(Map::new(), p, meta.child, path)?),
            Value::Array(p) => Value::Array(self.merge_list(Vec::new(), p, meta, path)?),
            scalar => scalar,
        })
    }

    /// `$setElementOrder/<field>`: merge that field's list now, then order the result by the
    /// directive (patch items) interleaved with server-only items in their live order.
    fn apply_element_orders(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
        ty: Ty,
        path: &str,
    ) -> Result<(), PatchError> {
        let order_keys: Vec<String> = patch
            .keys()
            .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
            .cloned()
            .collect();
        for order_key in order_keys {
            let field = &order_key[SET_ELEMENT_ORDER.len()..];
            let field_path = format!("{path}.{field}");
            let order = match patch.shift_remove(&order_key) {
                Some(Value::Array(order)) => order,
                Some(other) => {
                    return Err(err(
                        &format!("{path}.{order_key}"),
                        format!("must be a list, not {}", kind_of(&other)),
                    ));
                }
                None => continue,
            };
            let meta = lookup(ty, field);
            let live = match original.get(field) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(list)) => list.clone(),
                Some(other) => {
                    return Err(err(
                        &field_path,
                        format!("is {}, not a list", kind_of(other)),
                    ));
                }
            };
            let patch_list = match patch.get(field) {
                // An atomic list the patch does not replace keeps its live items.
                None if !meta.merge => live.clone(),
                None => Vec::new(),
                Some(Value::Array(_)) => match patch.shift_remove(field) {
                    Some(Value::Array(list)) => list,
                    _ => unreachable!("checked to be a list"),
                },
                // A null or non-list patch value is handled by the ordinary merge.
                Some(_) => continue,
            };
            if live.is_empty() && patch_list.is_empty() {
                continue;
            }
            let merged = self.merge_list(live.clone(), patch_list, meta, &field_path)?;
            let ordered = order_by(merged, &order, &live, meta.key, &field_path)?;
            original.insert(field.to_string(), Value::Array(ordered));
        }
        Ok(())
    }

    pub(super) fn merge_list(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        meta: FieldMeta,
        path: &str,
    ) -> Result<Vec<Value>, PatchError> {
        if !meta.merge {
            // Atomic list: the patch replaces it; objects inside still lose nulls/directives.
            return patch
                .into_iter()
                .enumerate()
                .map(|(i, v)| self.fresh(v, meta, &format!("{path}[{i}]")))
                .collect();
        }
        if original.is_empty() && patch.is_empty() {
            return Ok(original);
        }
        let objects = element_kind(&original, &patch, path)?;
        if !objects {
            let mut merged = original.clone();
            for v in &patch {
                if !merged.contains(v) {
                    merged.push(v.clone());
                }
            }
            return order_by(merged, &patch, &original, None, path);
        }
        let Some(key) = meta.key else {
            return Err(err(
                path,
                "cannot merge a list of objects without a merge key",
            ));
        };

        let mut live = original.clone();
        let mut items = Vec::new();
        let mut replace = false;
        for (i, item) in patch.into_iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let directive = item.get(PATCH).cloned();
            match directive {
                None => items.push(item),
                Some(_) if self.mode == Mode::Apply => {
                    return Err(err(
                        &item_path,
                        "apply configurations cannot contain $ directives",
                    ));
                }
                Some(d) => match d.as_str() {
                    Some("delete") => {
                        let Some(wanted) = item.get(key) else {
                            return Err(err(
                                &item_path,
                                format!("$patch: delete needs the merge key {key:?}"),
                            ));
                        };
                        live.retain(|v| v.get(key) != Some(wanted));
                    }
                    Some("replace") => replace = true,
                    Some("merge") => {
                        return Err(err(
                            &item_path,
                            "$patch: merge is not supported inside a list",
                        ));
                    }
                    _ => {
                        return Err(err(&item_path, format!("unknown $patch directive {d}")));
                    }
                },
            }
        }
        if replace {
            // `$patch: replace` in a list: the other patch items become the whole list.
            return items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    self.fresh(
                        v,
                        FieldMeta {
                            merge: false,
                            ..meta
                        },
                        &format!("{path}[{i}]"),
                    )
                })
                .collect();
        }

        let mut patch_order = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let Value::Object(item) = item else {
                return Err(err(&item_path, "list mixes objects and other values"));
            };
            let Some(wanted) = item.get(key).cloned() else {
                return Err(err(&item_path, format!("missing merge key {key:?}")));
            };
            patch_order.push(Value::Object(Map::from_iter([(
                key.to_string(),
                wanted.clone(),
            )])));
            match live.iter().position(|v| v.get(key) == Some(&wanted)) {
                Some(pos) => {
                    let Value::Object(existing) = live[pos].take() else {
                        return Err(err(&item_path, "live list element is not an object"));
                    };
                    live[pos] =
                        Value::Object(self.merge_map(existing, item, meta.child, &item_path)?);
                }
                None => live.push(Value::Object(self.merge_map(
                    Map::new(),
                    item,
                    meta.child,
                    &item_path,
                )?)),
            }
        }
        order_by(live, &patch_order, &original, Some(key), path)
    }
}

/// True when the lists hold objects, false for scalars; an error when they mix, or hold
/// nulls or nested lists.
fn element_kind(original: &[Value], patch: &[Value], path: &str) -> Result<bool, PatchError> {
    let mut objects = None;
    for v in original.iter().chain(patch) {
        let this = match v {
            Value::Object(_) => true,
            Value::String(_) | Value::Number(_) | Value::Bool(_) => false,
            other => {
                return Err(err(
                    path,
                    format!("merge lists cannot hold {}", kind_of(other)),
                ));
            }
        };
        if objects.is_some_and(|o| o != this) {
            return Err(err(path, "list mixes objects and other values"));
        }
        objects = Some(this);
    }
    Ok(objects.unwrap_or(false))
}

fn string_list<'a>(v: &'a Value, path: &str, what: &str) -> Result<Vec<&'a str>, PatchError> {
    let Value::Array(items) = v else {
        return Err(err(path, format!("{what} must be a list of strings")));
    };
    items
        .iter()
        .map(|i| {
            i.as_str()
                .ok_or_else(|| err(path, format!("{what} must be a list of strings")))
        })
        .collect()
}

/// Position of `item` in `order`, comparing by merge key for objects and by value otherwise.
fn index_of(order: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    match key {
        Some(k) => {
            let wanted = item.get(k)?;
            order.iter().position(|o| o.get(k) == Some(wanted))
        }
        None => order.iter().position(|o| o == item),
    }
}

/// Upstream `normalizeElementOrder`: items named in `patch_order` are sorted by it, the rest
/// (server-only) keep their live order, and the two runs are interleaved by live position.
fn order_by(
    merged: Vec<Value>,
    patch_order: &[Value],
    live_order: &[Value],
    key: Option<&str>,
    path: &str,
) -> Result<Vec<Value>, PatchError> {
    if let Some(k) = key
        && let Some(bad) = patch_order.iter().position(|o| o.get(k).is_none())
    {
        return Err(err(
            &format!("{path}[{bad}]"),
            format!("order entry lacks merge key {k:?}"),
        ));
    }
    let (mut from_patch, mut server_only): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|v| index_of(patch_order, v, key).is_some());
    from_patch.sort_by_key(|v| index_of(patch_order, v, key));
    server_only.sort_by_key(|v| index_of(live_order, v, key).unwrap_or(usize::MAX));

    let mut out = Vec::with_capacity(from_patch.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = from_patch.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => matches!(
                (index_of(live_order, l, key), index_of(live_order, r, key)),
                (Some(li), Some(ri)) if li < ri
            ),
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    Ok(out)
}
