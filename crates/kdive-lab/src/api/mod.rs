//! The lab's HTTP API: routing, authentication and responses. Everything is served from
//! the [`Store`]; handlers never hold state of their own.

pub mod body;
pub mod discovery;
pub mod filter;
pub mod logs;
pub mod metrics;
pub mod objects;
pub mod path;
pub mod query;
pub mod representation;
pub mod status;
pub mod subresources;
pub mod watch;

use representation::Representation;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use crate::patch::PatchType;
use crate::store::{Store, UpdateScope};
use path::Route;
use query::Query;
use status::ApiError;
use subresources::ScaleChange;

/// Shared, read-only server state.
pub struct ApiState {
    pub store: Arc<Store>,
    pub token: String,
    /// `host:port` for `/api`'s serverAddressByClientCIDRs.
    pub server_address: String,
    pub bookmark_interval: Duration,
    pub default_watch_timeout: Duration,
    /// What `GET /metrics` serves; `None` answers 404.
    pub metrics: Option<metrics::MetricsSource>,
    /// The image catalog the kubelets simulate, for `pods/log`.
    pub catalog: Arc<crate::sim::catalog::Catalog>,
}

pub fn router(state: Arc<ApiState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

pub fn bytes_response(code: StatusCode, body: Bytes) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub fn value_response(code: StatusCode, v: &Value) -> Response {
    bytes_response(code, Bytes::from(serde_json::to_vec(v).unwrap_or_default()))
}

fn authorized(st: &ApiState, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(token) = value.strip_prefix("Bearer ") else {
        return false;
    };
    // Constant-time comparison: the token is the only credential.
    let (a, b) = (token.trim().as_bytes(), st.token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn handle(State(st): State<Arc<ApiState>>, req: Request) -> Response {
    if !authorized(&st, req.headers()) {
        return ApiError::unauthorized().into_response();
    }
    if req.uri().path() == "/metrics" {
        return metrics::serve(st.metrics.as_ref(), req.method()).await;
    }
    match dispatch(st, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn dispatch(st: Arc<ApiState>, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let q = Query::parse(parts.uri.query())?;
    let route = path::parse(parts.uri.path());
    let accept = header_str(&parts.headers, header::ACCEPT).to_string();
    let ct = header_str(&parts.headers, header::CONTENT_TYPE).to_string();
    let method = parts.method;
    let body = to_bytes(body, body::MAX_BODY).await.map_err(|_| {
        ApiError::new(
            413,
            "RequestEntityTooLarge",
            "the request body is too large (limit 3 MiB)",
        )
    })?;
    let ok = |v: Value| Ok(value_response(StatusCode::OK, &v));
    match (method, route) {
        (Method::GET, Route::Version) => ok(discovery::version()),
        (Method::GET, Route::Health) => Ok((StatusCode::OK, "ok").into_response()),
        (Method::GET, Route::Root { core }) => {
            if discovery::wants_aggregated(&accept) {
                let mut resp = value_response(StatusCode::OK, &discovery::aggregated(core));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(discovery::AGGREGATED_CT),
                );
                Ok(resp)
            } else if core {
                ok(discovery::api_versions(&st.server_address))
            } else {
                ok(discovery::api_group_list())
            }
        }
        (Method::GET, Route::Group(g)) => {
            discovery::api_group(&g).map_or_else(|| Err(ApiError::not_found_path()), ok)
        }
        (Method::GET, Route::GroupVersion { group, version }) => {
            discovery::api_resource_list(&group, &version)
                .map_or_else(|| Err(ApiError::not_found_path()), ok)
        }
        (Method::GET, Route::OpenApiIndex) => ok(discovery::openapi_index()),
        (Method::GET, Route::OpenApiGroupVersion { group, version }) => {
            discovery::openapi_group_version(&group, &version)
                .map_or_else(|| Err(ApiError::not_found_path()), ok)
        }
        (_, Route::NotFound | Route::OpenApiV2) => Err(ApiError::not_found_path()),
        (Method::GET, Route::Collection { res, namespace }) if q.watch => {
            watch::serve(st, res, namespace, &q, &accept)
        }
        (Method::GET, Route::Collection { res, namespace }) => {
            objects::list(&st, res, namespace.as_deref(), &q, &accept)
        }
        (Method::POST, Route::Collection { res, namespace }) => {
            let ns = match (res.info().namespaced, namespace) {
                (true, Some(ns)) => ns,
                (false, None) => String::new(),
                _ => {
                    return Err(ApiError::method_not_allowed(
                        "create is not allowed on this path; use the namespaced collection",
                    ));
                }
            };
            let obj = body::decode_object(&ct, &body, res.info())?;
            objects::create(&st, res, &ns, obj, &q)
        }
        (Method::DELETE, Route::Collection { res, namespace }) => {
            let opts = objects::delete_options(&q, &body)?;
            objects::delete_collection(&st, res, namespace.as_deref(), &q, &opts)
        }
        (
            method,
            Route::Object {
                res,
                namespace,
                name,
                sub,
            },
        ) => {
            let req = ObjectRequest {
                ct: &ct,
                accept: &accept,
                body: &body,
                q: &q,
            };
            object_route(&st, method, res, &namespace, &name, sub.as_deref(), &req)
        }
        (method, _) => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))),
    }
}

/// The parts of a request that object handlers read.
struct ObjectRequest<'a> {
    ct: &'a str,
    accept: &'a str,
    body: &'a Bytes,
    q: &'a Query,
}

fn object_route(
    st: &ApiState,
    method: Method,
    res: crate::resources::ResourceId,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    req: &ObjectRequest<'_>,
) -> Result<Response, ApiError> {
    let ObjectRequest {
        ct,
        accept,
        body,
        q,
    } = *req;
    let info = res.info();
    let scope = match sub {
        None => UpdateScope::Main,
        Some("status") if info.status => UpdateScope::Status,
        Some("scale") if info.scale => UpdateScope::Main,
        Some("log") if info.kind == "Pod" => UpdateScope::Main,
        Some(_) => return Err(ApiError::not_found_path()),
    };
    let patch_type =
        || PatchType::from_content_type(ct).ok_or_else(|| ApiError::unsupported_media_type(ct));
    match (method, sub) {
        (Method::GET, Some("log")) => logs::serve(st, res, ns, name, q),
        (_, Some("log")) => Err(ApiError::method_not_allowed("pods/log only supports GET")),
        (Method::GET, Some("scale")) => subresources::get_scale(st, res, ns, name),
        (Method::PUT, Some("scale")) => {
            let v = body::decode_patch(false, body)?;
            subresources::write_scale(st, res, ns, name, ScaleChange::Replace(v), q)
        }
        (Method::PATCH, Some("scale")) => {
            let t = patch_type()?;
            let v = body::decode_patch(t == PatchType::Apply, body)?;
            subresources::write_scale(st, res, ns, name, ScaleChange::Patch(t, v), q)
        }
        (Method::GET, _) => {
            let rep = Representation::from_accept(accept, q)?.for_object(info)?;
            objects::get(st, res, ns, name, rep)
        }
        (Method::PUT, _) => {
            let obj = body::decode_object(ct, body, info)?;
            objects::update(st, res, ns, name, scope, obj, q)
        }
        (Method::PATCH, _) => {
            let t = patch_type()?;
            let v = body::decode_patch(t == PatchType::Apply, body)?;
            objects::patch(st, res, ns, name, scope, t, v, q)
        }
        (Method::DELETE, None) => {
            let opts = objects::delete_options(q, body)?;
            objects::delete(st, res, ns, name, &opts)
        }
        (method, _) => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))),
    }
}
