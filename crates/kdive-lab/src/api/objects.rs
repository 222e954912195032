//! get, list, create, update, patch and delete on stored objects.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use kdive_core::field_errors::{BadValue, FieldError, go_plus_v};
use kdive_core::typecheck::{self, Decoding};
use serde_json::{Value, json};

use super::filter::Filter;
use super::query::Query;
use super::representation::{Representation, partial, partial_list};
use super::status::{ApiError, delete_success};
use super::{ApiState, bytes_response, value_response};
use crate::patch::{self, PatchType};
use crate::resources::ResourceId;
use crate::store::{DeleteOptions, Deleted, Propagation, Stored, UpdateScope, WriteOptions};
use crate::table::{TableOptions, list_table, object_table};

pub fn get(
    st: &ApiState,
    res: ResourceId,
    ns: &str,
    name: &str,
    rep: Representation,
) -> Result<Response, ApiError> {
    let stored = st
        .store
        .get(res, ns, name)
        .ok_or_else(|| not_found(res, name))?;
    if rep == Representation::Metadata {
        return Ok(value_response(StatusCode::OK, &partial(&stored.value())));
    }
    if let Some(include_object) = rep.table() {
        let opts = TableOptions {
            include_object,
            column_definitions: true,
        };
        let t = object_table(res.info().plural, &stored.value(), st.store.now(), &opts);
        return Ok(value_response(StatusCode::OK, &t));
    }
    Ok(bytes_response(StatusCode::OK, stored.json.clone()))
}

pub fn not_found(res: ResourceId, name: &str) -> ApiError {
    ApiError::from_store(
        crate::store::StoreError::NotFound(name.to_string()),
        res.info(),
        name,
    )
}

/// A list page: items after the continue token, at most `limit`, with the first page's RV.
pub struct Page {
    pub rv: u64,
    pub items: Vec<Arc<Stored>>,
    pub continue_token: Option<String>,
}

pub fn list_page(
    st: &ApiState,
    res: ResourceId,
    ns: Option<&str>,
    q: &Query,
) -> Result<Page, ApiError> {
    let filter = Filter::from_query(q, res)?;
    if q.resource_version_match.as_deref() == Some("Exact") {
        let current = st.store.resource_version().to_string();
        if q.resource_version.as_deref() != Some(current.as_str()) {
            return Err(ApiError::new(
                410,
                "Expired",
                format!(
                    "too old resource version: {} ({current})",
                    q.resource_version.as_deref().unwrap_or("")
                ),
            ));
        }
    }
    let (snapshot_rv, all) = st.store.list(res, ns);
    let (rv, start_after) = match &q.continue_token {
        Some(token) => decode_continue(token)?,
        None => (snapshot_rv, None),
    };
    // The token's key is `namespace\0name`; the store lists in that order.
    let after = start_after
        .as_deref()
        .map(|k| k.split_once('\u{0}').unwrap_or(("", k)));
    let mut items: Vec<Arc<Stored>> = Vec::new();
    let mut more = false;
    for stored in all.into_iter() {
        if let Some(after) = after
            && (stored.namespace.as_str(), stored.name.as_str()) <= after
        {
            continue;
        }
        if !filter.matches(&stored) {
            continue;
        }
        if q.limit.is_some_and(|l| items.len() >= l) {
            more = true;
            break;
        }
        items.push(stored);
    }
    let continue_token = match items.last() {
        Some(last) if more => Some(encode_continue(rv, &key_of(last))),
        _ => None,
    };
    Ok(Page {
        rv,
        items,
        continue_token,
    })
}

pub fn list(
    st: &ApiState,
    res: ResourceId,
    ns: Option<&str>,
    q: &Query,
    accept: &str,
) -> Result<Response, ApiError> {
    let rep = Representation::from_accept(accept, q)?.for_list(res.info())?;
    let page = list_page(st, res, ns, q)?;
    if rep == Representation::MetadataList {
        let items = page.items.iter().map(|s| s.value());
        let body = partial_list(items, page.rv, page.continue_token.as_deref());
        return Ok(bytes_response(StatusCode::OK, body));
    }
    if let Some(include_object) = rep.table() {
        let items: Vec<Value> = page.items.iter().map(|s| s.value()).collect();
        let opts = TableOptions {
            include_object,
            column_definitions: true,
        };
        let t = list_table(
            res.info().plural,
            &items,
            &page.rv.to_string(),
            page.continue_token.as_deref(),
            st.store.now(),
            &opts,
        );
        return Ok(value_response(StatusCode::OK, &t));
    }
    Ok(bytes_response(StatusCode::OK, list_body(res, &page)))
}

/// Encodes a list without re-serialising the items: they are stored as JSON already.
pub fn list_body(res: ResourceId, page: &Page) -> Bytes {
    let info = res.info();
    let size: usize = page.items.iter().map(|s| s.json.len() + 1).sum();
    let mut out = Vec::with_capacity(size + 256);
    out.extend_from_slice(b"{\"kind\":\"");
    out.extend_from_slice(info.list_kind().as_bytes());
    out.extend_from_slice(b"\",\"apiVersion\":\"");
    out.extend_from_slice(info.api_version().as_bytes());
    out.extend_from_slice(b"\",\"metadata\":{\"resourceVersion\":\"");
    out.extend_from_slice(page.rv.to_string().as_bytes());
    out.push(b'"');
    if let Some(token) = &page.continue_token {
        out.extend_from_slice(b",\"continue\":");
        out.extend_from_slice(json!(token).to_string().as_bytes());
    }
    out.extend_from_slice(b"},\"items\":[");
    for (i, s) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&s.json);
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

fn key_of(s: &Stored) -> String {
    format!("{}\u{0}{}", s.namespace, s.name)
}

fn encode_continue(rv: u64, key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{rv}\u{1}{key}"))
}

fn decode_continue(token: &str) -> Result<(u64, Option<String>), ApiError> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {token:?}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (rv, key) = text.split_once('\u{1}').ok_or_else(bad)?;
    Ok((rv.parse().map_err(|_| bad())?, Some(key.to_string())))
}

fn write_options(q: &Query) -> WriteOptions {
    WriteOptions {
        dry_run: q.dry_run,
        field_manager: q.field_manager.clone(),
    }
}

/// Typed decoding of a create or update body: a wrong JSON type is a 400 before any
/// validation (`transformDecodeError`: `Deployment in version "v1" cannot be handled as a
/// Deployment: json: cannot unmarshal ...`). Bodies of another kind fail later, as before.
fn decode_typed(res: ResourceId, obj: &mut Value) -> Result<(), ApiError> {
    let info = res.info();
    if obj.get("kind").and_then(Value::as_str) != Some(info.kind) {
        return Ok(());
    }
    match typecheck::check(info.kind, obj, Decoding::Json) {
        None => Ok(()),
        Some(e) => Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: {e}",
            kind = info.kind,
            version = info.version
        ))),
    }
}

/// What a patch whose result does not decode answers: `NewInvalid` with an empty group,
/// kind and name and one `patch` error. JSON and merge patches decode the patched JSON
/// (the bad value); strategic merge patches convert a map (the bad value is the patch as
/// Go's `%+v` prints it). Apply patches are checked before they are applied.
fn patched_type_error(
    info: &crate::resources::Resource,
    patch_type: PatchType,
    body: &Value,
    patched: &mut Value,
) -> Option<ApiError> {
    let decoding = match patch_type {
        PatchType::Strategic => Decoding::Unstructured,
        PatchType::Apply => return None,
        _ => Decoding::Json,
    };
    let error = typecheck::check(info.kind, patched, decoding)?;
    let bad = match decoding {
        Decoding::Unstructured => go_plus_v(body),
        _ => serde_json::to_string(patched).unwrap_or_default(),
    };
    let e = FieldError::invalid("patch", BadValue::Str(bad), error);
    Some(ApiError::invalid_group_kind("", "", "", "", &[e]))
}

pub fn create(
    st: &ApiState,
    res: ResourceId,
    ns: &str,
    mut obj: Value,
    q: &Query,
) -> Result<Response, ApiError> {
    decode_typed(res, &mut obj)?;
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let stored = st
        .store
        .create(res, ns, obj, &write_options(q))
        .map_err(|e| ApiError::from_store(e, res.info(), &name))?;
    Ok(bytes_response(StatusCode::CREATED, stored.json.clone()))
}

pub fn update(
    st: &ApiState,
    res: ResourceId,
    ns: &str,
    name: &str,
    scope: UpdateScope,
    mut obj: Value,
    q: &Query,
) -> Result<Response, ApiError> {
    decode_typed(res, &mut obj)?;
    let stored = st
        .store
        .update(res, ns, name, obj, scope, &write_options(q))
        .map_err(|e| ApiError::from_store(e, res.info(), name))?;
    Ok(bytes_response(StatusCode::OK, stored.json.clone()))
}

#[allow(clippy::too_many_arguments)]
pub fn patch(
    st: &ApiState,
    res: ResourceId,
    ns: &str,
    name: &str,
    scope: UpdateScope,
    patch_type: PatchType,
    mut body: Value,
    q: &Query,
) -> Result<Response, ApiError> {
    let info = res.info();
    if patch_type == PatchType::Apply {
        if q.field_manager.as_deref().unwrap_or("").is_empty() {
            return Err(ApiError::invalid_errors(
                info,
                name,
                &[FieldError::required(
                    "fieldManager",
                    "is required for apply patch",
                )],
            ));
        }
        // `ObjectToTyped` of the applied configuration (structuredmerge.go). Released
        // servers answer this plain error with a 500; the lab answers 400 with the same
        // words, as kubernetes PR #139255 proposes, so client input never gets a 5xx.
        if let Some(e) = typecheck::check(info.kind, &mut body, Decoding::Apply) {
            return Err(ApiError::bad_request(format!(
                "failed to create typed patch object ({ns}/{name}; {}/{}, Kind={}): {e}",
                info.group, info.version, info.kind
            )));
        }
        if st.store.get(res, ns, name).is_none() && scope != UpdateScope::Status {
            // Server-side apply creates what is missing.
            let mut created = patch::apply_patch(info.kind, &json!({}), patch_type, &body)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            if let Some(meta) = created.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("name".into(), json!(name));
            }
            return create(st, res, ns, created, q);
        }
    }
    let mut type_error = None;
    let updated = st
        .store
        .update_with(res, ns, name, scope, &write_options(q), |current| {
            let mut patched = patch::apply_patch(info.kind, current, patch_type, &body)
                .map_err(|e| crate::store::StoreError::BadRequest(e.to_string()))?;
            if let Some(e) = patched_type_error(info, patch_type, &body, &mut patched) {
                type_error = Some(e);
                // Aborts the write; the Status is `type_error`.
                return Err(crate::store::StoreError::BadRequest(String::new()));
            }
            // A patch carries a precondition only when it names a resourceVersion itself.
            if body.pointer("/metadata/resourceVersion").is_none()
                && let Some(meta) = patched.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.remove("resourceVersion");
            }
            Ok(patched)
        });
    let (stored, _) = match (updated, type_error) {
        (Ok(done), _) => done,
        (Err(_), Some(e)) => return Err(e),
        (Err(e), None) => return Err(ApiError::from_store(e, info, name)),
    };
    Ok(bytes_response(StatusCode::OK, stored.json.clone()))
}

/// DeleteOptions from the body (kubectl, kube-rs) and the query (curl-style).
pub fn delete_options(q: &Query, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions {
        grace_period_seconds: q.grace_period_seconds,
        dry_run: q.dry_run,
        ..Default::default()
    };
    let mut policy = q.propagation_policy.clone();
    if !body.iter().all(u8::is_ascii_whitespace) {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("the DeleteOptions body is not valid JSON: {e}"))
        })?;
        if let Some(p) = v.get("propagationPolicy").and_then(Value::as_str) {
            policy = Some(p.to_string());
        }
        if let Some(g) = v.get("gracePeriodSeconds").and_then(Value::as_i64) {
            opts.grace_period_seconds = Some(g);
        }
        if v.get("orphanDependents").and_then(Value::as_bool) == Some(true) {
            policy = Some("Orphan".into());
        }
        opts.precondition_uid = v
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(String::from);
        opts.precondition_rv = v
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(String::from);
        if let Some(dry) = v.get("dryRun").and_then(Value::as_array) {
            opts.dry_run |= dry.iter().any(|d| d == "All");
        }
    }
    opts.propagation = match policy.as_deref() {
        None | Some("Background") => Propagation::Background,
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
    };
    Ok(opts)
}

pub fn delete(
    st: &ApiState,
    res: ResourceId,
    ns: &str,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Response, ApiError> {
    let info = res.info();
    match st
        .store
        .delete(res, ns, name, opts)
        .map_err(|e| ApiError::from_store(e, info, name))?
    {
        Deleted::Pending(stored) => Ok(bytes_response(StatusCode::OK, stored.json.clone())),
        Deleted::Gone(stored) if info.returns_deleted_object => {
            Ok(bytes_response(StatusCode::OK, stored.json.clone()))
        }
        Deleted::Gone(stored) => Ok(value_response(
            StatusCode::OK,
            &delete_success(info, name, &stored.uid),
        )),
    }
}

pub fn delete_collection(
    st: &ApiState,
    res: ResourceId,
    ns: Option<&str>,
    q: &Query,
    opts: &DeleteOptions,
) -> Result<Response, ApiError> {
    let page = list_page(
        st,
        res,
        ns,
        &Query {
            limit: None,
            continue_token: None,
            ..q.clone()
        },
    )?;
    let mut deleted = Vec::new();
    for stored in &page.items {
        let (ns, name) = (stored.namespace.as_str(), stored.name.as_str());
        match st.store.delete(res, ns, name, opts) {
            Ok(Deleted::Gone(s) | Deleted::Pending(s)) => deleted.push(s),
            Err(crate::store::StoreError::NotFound(_)) => {}
            Err(e) => return Err(ApiError::from_store(e, res.info(), name)),
        }
    }
    let page = Page {
        rv: st.store.resource_version(),
        items: deleted,
        continue_token: None,
    };
    Ok(bytes_response(StatusCode::OK, list_body(res, &page)))
}
