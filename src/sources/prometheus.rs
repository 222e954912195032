//! The Prometheus client: prometheus-http-query over reqwest with rustls (ring), bearer
//! token, extra CA, and a timeout on every request. Errors keep Prometheus's own wording
//! (`bad_data: invalid parameter "query": 1:26: parse error: ...`).
//!
//! Where the URL comes from: `--prometheus URL`, else the `kdive.dev/prometheus` extension
//! that `kdive lab` writes on the `kdive-lab` cluster entry of its kubeconfig.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use prometheus_http_query::{Client, Error as CrateError, response::Data};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use super::failure::Failure;
use kdive_core::metrics::burn::{Measurement, Observation, Ratio};
use kdive_core::metrics::discover::RuleInfo;
use kdive_core::metrics::slo::SloDef;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, thiserror::Error)]
pub enum PromError {
    /// Prometheus answered with an error: `<errorType>: <error>` exactly as it sent them.
    #[error("{error_type}: {message}")]
    Prometheus { error_type: String, message: String },
    #[error("{url}: no answer within {}s", .after.as_secs_f64())]
    Timeout { url: String, after: Duration },
    /// The request did not reach Prometheus, or a server in front of it refused it.
    #[error("{url}: {failure}")]
    Unreachable { url: String, failure: Failure },
    #[error("{0}")]
    Config(String),
}

impl PromError {
    pub fn is_bad_data(&self) -> bool {
        matches!(self, PromError::Prometheus { error_type, .. } if error_type == "bad_data")
    }

    /// Why Prometheus cannot be used at all, named ("connection refused", "timed out after
    /// 10s", "TLS: ...", "401 Unauthorized: ..."); None when it answered, even with an
    /// error about one query, or with a status that means "not here" (404).
    pub fn outage(&self) -> Option<String> {
        match self {
            PromError::Timeout { after, .. } => {
                Some(format!("timed out after {}s", after.as_secs_f64()))
            }
            PromError::Unreachable { failure, .. } => match failure {
                Failure::Status { code, .. } if *code < 500 => None,
                f => Some(f.to_string()),
            },
            PromError::Prometheus { .. } | PromError::Config(_) => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PromOptions {
    pub url: String,
    pub bearer_token_file: Option<PathBuf>,
    /// Extra trusted CA certificates (PEM), besides the system's.
    pub ca_pem: Option<String>,
    pub timeout: Option<Duration>,
}

/// One series of an instant or range query result.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    /// (unix seconds, value); one point for instant queries.
    pub points: Vec<(f64, f64)>,
}

#[derive(Clone)]
pub struct Prometheus {
    client: Client,
    /// The same HTTP client, for the one request the crate does not make.
    http: reqwest::Client,
    url: String,
    timeout: Duration,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus")
            .field("url", &self.url)
            .finish()
    }
}

impl Prometheus {
    pub fn new(opts: &PromOptions) -> Result<Prometheus, PromError> {
        let url = opts.url.trim_end_matches('/').to_string();
        let timeout = opts.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let mut headers = HeaderMap::new();
        if let Some(path) = &opts.bearer_token_file {
            let token = std::fs::read_to_string(path).map_err(|e| {
                PromError::Config(format!(
                    "{}: cannot read the bearer token: {e}",
                    path.display()
                ))
            })?;
            let mut v =
                HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
                    PromError::Config(format!(
                        "{}: the bearer token has characters a header cannot carry",
                        path.display()
                    ))
                })?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(opts.ca_pem.as_deref())?)
            .default_headers(headers)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| PromError::Config(format!("cannot build the HTTP client: {e}")))?;
        let client = Client::from(http.clone(), &url)
            .map_err(|e| PromError::Config(format!("--prometheus {url}: {e}")))?;
        Ok(Prometheus {
            client,
            http,
            url,
            timeout,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Names a failed request. A JSON answer that is not Prometheus's (a Kubernetes-style
    /// 401 Status from a proxy in front of it) fails to decode without its HTTP status: one
    /// `/-/ready` request finds the status that says why.
    async fn failed(&self, e: CrateError) -> PromError {
        let undecodable =
            matches!(&e, CrateError::Client(c) if c.inner().is_some_and(|r| r.is_decode()));
        if undecodable && let Some(failure) = self.status_failure().await {
            return PromError::Unreachable {
                url: self.url.clone(),
                failure,
            };
        }
        self.map_err(e)
    }

    /// The failure `/-/ready`'s HTTP status names, if it is not a success.
    async fn status_failure(&self) -> Option<Failure> {
        let resp = self
            .http
            .get(format!("{}/-/ready", self.url))
            .send()
            .await
            .ok()?;
        let status = resp.status();
        if status.is_success() {
            return None;
        }
        let body = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message")?.as_str().map(str::to_string))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or_default().to_string());
        Some(Failure::of_http(status.as_u16(), message))
    }

    fn map_err(&self, e: CrateError) -> PromError {
        match e {
            CrateError::Prometheus(p) => PromError::Prometheus {
                error_type: p.error_type().to_string(),
                message: p.message().to_string(),
            },
            CrateError::Client(c) => match c.inner() {
                Some(r) if r.is_timeout() => PromError::Timeout {
                    url: self.url.clone(),
                    after: self.timeout,
                },
                Some(r) => PromError::Unreachable {
                    url: self.url.clone(),
                    failure: match r.status() {
                        Some(status) => Failure::of_http(status.as_u16(), c.to_string()),
                        None => {
                            Failure::in_chain(r).unwrap_or_else(|| Failure::Other(error_chain(r)))
                        }
                    },
                },
                None => PromError::Unreachable {
                    url: self.url.clone(),
                    failure: Failure::Other(c.to_string()),
                },
            },
            other => PromError::Unreachable {
                url: self.url.clone(),
                failure: Failure::Other(other.to_string()),
            },
        }
    }

    /// An instant query at `at` (unix seconds; None: Prometheus's now).
    pub async fn instant(&self, query: &str, at: Option<i64>) -> Result<Vec<Series>, PromError> {
        let mut q = self.client.query(query);
        if let Some(t) = at {
            q = q.at(t);
        }
        let result = match q.post().await {
            Ok(r) => r,
            Err(e) => return Err(self.failed(e).await),
        };
        Ok(series_of(result.data()))
    }

    /// A range query; `step` in seconds.
    pub async fn range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: f64,
    ) -> Result<Vec<Series>, PromError> {
        let result = match self
            .client
            .query_range(query, start, end, step)
            .post()
            .await
        {
            Ok(r) => r,
            Err(e) => return Err(self.failed(e).await),
        };
        Ok(series_of(result.data()))
    }

    /// `/-/ready`.
    pub async fn ready(&self) -> Result<bool, PromError> {
        match self.client.is_server_ready().await {
            Ok(r) => Ok(r),
            Err(e) => Err(self.failed(e).await),
        }
    }

    /// Every rule of every group (`/api/v1/rules`), reduced for discovery.
    pub async fn rules(&self) -> Result<Vec<RuleInfo>, PromError> {
        let groups = match self.client.rules().get().await {
            Ok(g) => g,
            Err(e) => return Err(self.failed(e).await),
        };
        let mut out = Vec::new();
        for g in &groups {
            for r in g.rules() {
                if let Some(rec) = r.as_recording() {
                    out.push(RuleInfo {
                        group: g.name().to_string(),
                        name: rec.name().to_string(),
                        query: rec.query().to_string(),
                        labels: rec
                            .labels()
                            .as_ref()
                            .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default(),
                        alerting: false,
                    });
                } else if let Some(a) = r.as_alerting() {
                    out.push(RuleInfo {
                        group: g.name().to_string(),
                        name: a.name().to_string(),
                        query: a.query().to_string(),
                        labels: a
                            .labels()
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        alerting: true,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Everything one SLO's numbers need, evaluated at one instant: the error ratio and the
    /// request count per window, and the age of its data. Queries run concurrently.
    pub async fn observe(&self, slo: &SloDef, at: i64) -> Result<Observation, PromError> {
        let windows = slo.period.windows();
        let ratio_futs = windows.iter().map(|w| async move {
            match slo.ratio_query(*w) {
                Some(q) => self.instant(&q, Some(at)).await.map(Some),
                None => Ok(None),
            }
        });
        let request_futs = windows.iter().map(|w| async move {
            match slo.requests_query(*w) {
                Some(q) => self.instant(&q, Some(at)).await.map(Some),
                None => Ok(None),
            }
        });
        let age_query = slo.data_age_query();
        let (ratios, requests, age) = futures::join!(
            join_all(ratio_futs),
            join_all(request_futs),
            self.instant(&age_query, Some(at))
        );
        let mut measurements = Vec::new();
        for ((w, ratio), reqs) in windows.iter().zip(ratios).zip(requests) {
            let ratio = match ratio? {
                Some(series) => Ratio::from_samples(&first_values(&series)),
                None => Ratio::NoData,
            };
            let requests = reqs?.and_then(|s| first_values(&s).first().copied());
            measurements.push(Measurement {
                window: *w,
                ratio,
                requests: requests.filter(|r| r.is_finite()),
            });
        }
        let data_age_seconds = age?
            .first()
            .and_then(|s| s.points.first())
            .map(|p| p.1)
            .filter(|v| v.is_finite());
        Ok(Observation {
            windows: measurements,
            data_age_seconds,
        })
    }
}

fn first_values(series: &[Series]) -> Vec<f64> {
    series
        .iter()
        .filter_map(|s| s.points.first().map(|p| p.1))
        .collect()
}

fn series_of(data: &Data) -> Vec<Series> {
    let labels = |m: &std::collections::HashMap<String, String>| {
        m.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    match data {
        Data::Vector(v) => v
            .iter()
            .map(|s| Series {
                labels: labels(s.metric()),
                points: vec![(s.sample().timestamp(), s.sample().value())],
            })
            .collect(),
        Data::Matrix(m) => m
            .iter()
            .map(|s| Series {
                labels: labels(s.metric()),
                points: s
                    .samples()
                    .iter()
                    .map(|p| (p.timestamp(), p.value()))
                    .collect(),
            })
            .collect(),
        Data::Scalar(s) => vec![Series {
            labels: BTreeMap::new(),
            points: vec![(s.timestamp(), s.value())],
        }],
    }
}

/// reqwest's message plus its causes (`error sending request: ... Connection refused`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}

/// rustls with ring (the crate's one TLS stack), trusting the system roots plus `ca_pem`.
fn tls_config(ca_pem: Option<&str>) -> Result<rustls::ClientConfig, PromError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(pem) = ca_pem {
        use rustls::pki_types::pem::PemObject;
        for cert in
            rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()).filter_map(Result::ok)
        {
            roots
                .add(cert)
                .map_err(|e| PromError::Config(format!("the CA certificate is not usable: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PromError::Config(format!("TLS: {e}")))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// The Prometheus URL recorded in a kubeconfig for the current (or given) context's
/// cluster, as `kdive lab` writes it.
pub fn url_from_kubeconfig(
    kubeconfig: &kube::config::Kubeconfig,
    context: Option<&str>,
) -> Option<String> {
    let ctx_name = context
        .map(str::to_string)
        .or_else(|| kubeconfig.current_context.clone())?;
    let ctx = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == ctx_name)?
        .context
        .as_ref()?;
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)?
        .cluster
        .as_ref()?;
    cluster
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.name == kdive_core::metrics::PROMETHEUS_KUBECONFIG_EXTENSION)?
        .extension
        .get("url")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable(failure: Failure) -> PromError {
        PromError::Unreachable {
            url: "http://p:9090".into(),
            failure,
        }
    }

    #[test]
    fn outages_are_named_and_answers_are_not_outages() {
        assert_eq!(
            unreachable(Failure::Refused).outage().as_deref(),
            Some("connection refused")
        );
        let timeout = PromError::Timeout {
            url: "http://p:9090".into(),
            after: Duration::from_secs(10),
        };
        assert_eq!(timeout.outage().as_deref(), Some("timed out after 10s"));
        let denied = unreachable(Failure::of_http(401, "bad token".into()));
        assert_eq!(
            denied.outage().as_deref(),
            Some("401 Unauthorized: bad token")
        );
        assert!(
            unreachable(Failure::of_http(403, "no".into()))
                .outage()
                .is_some_and(|o| o.starts_with("403 Forbidden"))
        );
        // A proxy whose Prometheus is down is an outage; a path it does not serve is not.
        assert!(
            unreachable(Failure::of_http(503, "Service Unavailable".into()))
                .outage()
                .is_some()
        );
        assert_eq!(
            unreachable(Failure::of_http(404, "Not Found".into())).outage(),
            None
        );
        let bad = PromError::Prometheus {
            error_type: "bad_data".into(),
            message: "parse error".into(),
        };
        assert_eq!(bad.outage(), None);
    }
}
