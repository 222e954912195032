//! `GET /metrics`: the Prometheus text the lab's data plane computes (see
//! `lab::network::scrape`). Rendering reads every pod, so it runs off the async runtime.

use std::sync::Arc;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::status::ApiError;

/// Produces the metrics text.
pub type MetricsSource = Arc<dyn Fn() -> String + Send + Sync>;

/// The exposition format's content type (text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn serve(source: Option<&MetricsSource>, method: &Method) -> Response {
    if method != Method::GET {
        return ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))
        .into_response();
    }
    let Some(source) = source.cloned() else {
        return ApiError::not_found_path().into_response();
    };
    match tokio::task::spawn_blocking(move || source()).await {
        Ok(text) => {
            let mut resp = (StatusCode::OK, text).into_response();
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            resp
        }
        Err(_) => ApiError::new(500, "InternalError", "rendering metrics failed").into_response(),
    }
}
