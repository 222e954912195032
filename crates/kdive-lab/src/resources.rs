//! The resources the lab serves: the rows of the core kind table the lab implements, in
//! discovery order. Routing, discovery, OpenAPI and the store all index this list.

use std::sync::LazyLock;

pub use kdive_core::kinds::Resource;

pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Every served resource, grouped by group version in discovery order.
pub static RESOURCES: LazyLock<Vec<&'static Resource>> = LazyLock::new(|| {
    kdive_core::kinds::RESOURCES
        .iter()
        .filter(|r| r.served_by_lab)
        .collect()
});

/// Index of a resource in [`RESOURCES`]; cheap to copy and compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(pub u16);

impl ResourceId {
    pub fn info(self) -> &'static Resource {
        RESOURCES[self.0 as usize]
    }
}

/// Finds a served resource by group, version and plural name.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<ResourceId> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.plural == plural)
        .map(|i| ResourceId(i as u16))
}

/// Finds a served resource by apiVersion and kind (for bodies and ownerReferences).
pub fn lookup_kind(api_version: &str, kind: &str) -> Option<ResourceId> {
    RESOURCES
        .iter()
        .position(|r| r.kind == kind && r.has_api_version(api_version))
        .map(|i| ResourceId(i as u16))
}

/// The group versions served, in discovery order: (group, version).
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES.iter() {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_lessons_know_but_the_lab_does_not_serve_stay_unrouted() {
        assert!(lookup("apps", "v1", "daemonsets").is_none());
        assert!(lookup_kind("batch/v1", "Job").is_none());
        assert!(!group_versions().contains(&("batch", "v1")));
        assert!(lookup("apps", "v1", "deployments").is_some());
    }
}
