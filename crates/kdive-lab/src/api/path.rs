//! Parsing request paths into what they address.

use crate::resources::{self, ResourceId};

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Version,
    Health,
    /// `/api` or `/apis`.
    Root {
        core: bool,
    },
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`.
    GroupVersion {
        group: String,
        version: String,
    },
    OpenApiIndex,
    OpenApiGroupVersion {
        group: String,
        version: String,
    },
    OpenApiV2,
    /// A collection: all namespaces when `namespace` is None for a namespaced resource.
    Collection {
        res: ResourceId,
        namespace: Option<String>,
    },
    Object {
        res: ResourceId,
        namespace: String,
        name: String,
        sub: Option<String>,
    },
    NotFound,
}

/// Parses a path. Unknown group versions and resources are `NotFound`.
pub fn parse(path: &str) -> Route {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::Root { core: true },
        ["apis"] => Route::Root { core: false },
        ["openapi", "v3"] => Route::OpenApiIndex,
        ["openapi", "v3", "api", v] => Route::OpenApiGroupVersion {
            group: String::new(),
            version: v.to_string(),
        },
        ["openapi", "v3", "apis", g, v] => Route::OpenApiGroupVersion {
            group: g.to_string(),
            version: v.to_string(),
        },
        ["openapi", "v2"] => Route::OpenApiV2,
        ["api", v, rest @ ..] => resource_route("", v, rest),
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v, rest @ ..] => resource_route(g, v, rest),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let known_gv = resources::group_versions().contains(&(group, version))
        || resources::RESOURCES
            .iter()
            .any(|r| r.group == group && r.version == version);
    if !known_gv {
        return Route::NotFound;
    }
    let lookup = |plural: &str| resources::lookup(group, version, plural);
    let object = |res: ResourceId, ns: &str, name: &str, sub: Option<&str>| Route::Object {
        res,
        namespace: ns.to_string(),
        name: name.to_string(),
        sub: sub.map(String::from),
    };
    let namespaced_collection = |res: Option<ResourceId>, ns: &str| match res {
        Some(r) if r.info().namespaced => Route::Collection {
            res: r,
            namespace: Some(ns.to_string()),
        },
        _ => Route::NotFound,
    };
    match rest {
        [] => Route::GroupVersion {
            group: group.to_string(),
            version: version.to_string(),
        },
        [plural] => match lookup(plural) {
            Some(res) => Route::Collection {
                res,
                namespace: None,
            },
            None => Route::NotFound,
        },
        ["namespaces", ns, sub @ ("status" | "finalize")] if group.is_empty() => {
            match lookup("namespaces") {
                Some(res) => object(res, "", ns, Some(sub)),
                None => Route::NotFound,
            }
        }
        ["namespaces", ns, plural] => namespaced_collection(lookup(plural), ns),
        ["namespaces", ns, plural, name] => match lookup(plural) {
            Some(res) if res.info().namespaced => object(res, ns, name, None),
            _ => Route::NotFound,
        },
        ["namespaces", ns, plural, name, sub] => match lookup(plural) {
            Some(res) if res.info().namespaced => object(res, ns, name, Some(sub)),
            _ => Route::NotFound,
        },
        [plural, name] => match lookup(plural) {
            Some(res) if !res.info().namespaced => object(res, "", name, None),
            _ => Route::NotFound,
        },
        [plural, name, sub] => match lookup(plural) {
            Some(res) if !res.info().namespaced => object(res, "", name, Some(sub)),
            _ => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(g: &str, p: &str) -> ResourceId {
        resources::lookup(g, "v1", p).unwrap()
    }

    #[test]
    fn routes() {
        assert_eq!(parse("/version"), Route::Version);
        assert_eq!(
            parse("/api/v1/pods"),
            Route::Collection {
                res: res("", "pods"),
                namespace: None
            }
        );
        assert_eq!(
            parse("/api/v1/namespaces/demo/pods"),
            Route::Collection {
                res: res("", "pods"),
                namespace: Some("demo".into())
            }
        );
        assert_eq!(
            parse("/api/v1/namespaces/demo"),
            Route::Object {
                res: res("", "namespaces"),
                namespace: String::new(),
                name: "demo".into(),
                sub: None
            }
        );
        assert_eq!(
            parse("/api/v1/namespaces/demo/status"),
            Route::Object {
                res: res("", "namespaces"),
                namespace: String::new(),
                name: "demo".into(),
                sub: Some("status".into())
            }
        );
        assert_eq!(
            parse("/apis/apps/v1/namespaces/d/deployments/web/scale"),
            Route::Object {
                res: res("apps", "deployments"),
                namespace: "d".into(),
                name: "web".into(),
                sub: Some("scale".into())
            }
        );
        assert_eq!(
            parse("/api/v1/nodes/n1"),
            Route::Object {
                res: res("", "nodes"),
                namespace: String::new(),
                name: "n1".into(),
                sub: None
            }
        );
        assert_eq!(parse("/api/v1/namespaces/d/nodes"), Route::NotFound);
        assert_eq!(parse("/api/v1/pods/x"), Route::NotFound);
        assert_eq!(parse("/apis/nope/v1/things"), Route::NotFound);
        assert_eq!(parse("/api/v1/namespaces/d/widgets"), Route::NotFound);
    }
}
