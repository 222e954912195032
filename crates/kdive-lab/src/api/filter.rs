//! Label and field selectors of a list or watch request, applied to stored objects.

use serde_json::json;

use super::query::Query;
use super::status::ApiError;
use crate::resources::ResourceId;
use crate::store::Stored;
use kdive_core::selector::{FieldSelector, LabelSelector};

/// The selectors of one list or watch request.
#[derive(Debug, Default)]
pub struct Filter {
    labels: Option<LabelSelector>,
    fields: Option<FieldSelector>,
    /// Every field term is on metadata.name/namespace: no need to parse the object.
    metadata_only: bool,
}

impl Filter {
    pub fn from_query(q: &Query, res: ResourceId) -> Result<Self, ApiError> {
        let labels = match &q.label_selector {
            Some(s) => {
                Some(LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?)
            }
            None => None,
        }
        .filter(|l| !l.is_everything());
        let fields = match &q.field_selector {
            Some(s) => Some(
                FieldSelector::parse(s, res.info().plural)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?,
            ),
            None => None,
        }
        .filter(|f| !f.is_everything());
        let metadata_only = fields
            .as_ref()
            .is_none_or(FieldSelector::uses_only_metadata);
        Ok(Filter {
            labels,
            fields,
            metadata_only,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_none() && self.fields.is_none()
    }

    pub fn matches(&self, stored: &Stored) -> bool {
        if let Some(l) = &self.labels
            && !l.matches(&stored.labels)
        {
            return false;
        }
        match &self.fields {
            None => true,
            Some(f) if self.metadata_only => f.matches(
                &json!({"metadata": {"name": stored.name, "namespace": stored.namespace}}),
            ),
            Some(f) => f.matches(&stored.value()),
        }
    }
}
