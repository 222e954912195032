//! Query parameters, parsed leniently (kube-rs sends `?&watch=true`; unknown keys are ignored).

use super::status::ApiError;

#[derive(Debug, Default, Clone)]
pub struct Query {
    pub watch: bool,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub force: bool,
    pub include_object: Option<String>,
    pub propagation_policy: Option<String>,
    pub grace_period_seconds: Option<i64>,
    pub container: Option<String>,
    pub follow: bool,
    pub tail_lines: Option<usize>,
    pub previous: bool,
    pub timestamps: bool,
    pub limit_bytes: Option<usize>,
    pub since_seconds: Option<usize>,
    pub since_time: Option<String>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut q = Query::default();
        let Some(raw) = raw else { return Ok(q) };
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            let v = value.to_string();
            match key.as_ref() {
                "watch" => q.watch = flag(&key, &v)?,
                "resourceVersion" => q.resource_version = Some(v).filter(|s| !s.is_empty()),
                "resourceVersionMatch" => {
                    q.resource_version_match = Some(v).filter(|s| !s.is_empty())
                }
                "labelSelector" => q.label_selector = Some(v).filter(|s| !s.is_empty()),
                "fieldSelector" => q.field_selector = Some(v).filter(|s| !s.is_empty()),
                "limit" => q.limit = Some(number(&key, &v)?).filter(|n| *n > 0),
                "continue" => q.continue_token = Some(v).filter(|s| !s.is_empty()),
                "timeoutSeconds" => q.timeout_seconds = Some(number(&key, &v)? as u64),
                "allowWatchBookmarks" => q.allow_watch_bookmarks = flag(&key, &v)?,
                "sendInitialEvents" => q.send_initial_events = Some(flag(&key, &v)?),
                "dryRun" => {
                    if v != "All" {
                        return Err(ApiError::bad_request(format!(
                            "Invalid value: {v:?}: supported values: \"All\""
                        )));
                    }
                    q.dry_run = true
                }
                "fieldManager" => q.field_manager = Some(v),
                "force" => q.force = flag(&key, &v)?,
                "includeObject" => q.include_object = Some(v),
                "propagationPolicy" => q.propagation_policy = Some(v),
                "gracePeriodSeconds" => q.grace_period_seconds = Some(number(&key, &v)? as i64),
                "container" => q.container = Some(v).filter(|s| !s.is_empty()),
                "follow" => q.follow = flag(&key, &v)?,
                "tailLines" => q.tail_lines = Some(number(&key, &v)?),
                "previous" => q.previous = flag(&key, &v)?,
                "timestamps" => q.timestamps = flag(&key, &v)?,
                "limitBytes" => q.limit_bytes = Some(number(&key, &v)?),
                "sinceSeconds" => q.since_seconds = Some(number(&key, &v)?),
                "sinceTime" => q.since_time = Some(v).filter(|s| !s.is_empty()),
                _ => {}
            }
        }
        Ok(q)
    }
}

fn flag(key: &str, v: &str) -> Result<bool, ApiError> {
    match v {
        "" | "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "invalid value {v:?} for {key}: expected true or false"
        ))),
    }
}

fn number(key: &str, v: &str) -> Result<usize, ApiError> {
    v.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid value {v:?} for {key}: expected a non-negative integer"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_rs_style() {
        let q = Query::parse(Some("&watch=true&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion=0&labelSelector=app%3Dweb")).unwrap();
        assert!(q.watch && q.allow_watch_bookmarks);
        assert_eq!(q.timeout_seconds, Some(290));
        assert_eq!(q.resource_version.as_deref(), Some("0"));
        assert_eq!(q.label_selector.as_deref(), Some("app=web"));
        assert!(Query::parse(Some("limit=x")).is_err());
        assert!(Query::parse(Some("dryRun=Some")).is_err());
    }
}
