//! Label and field selectors, with the apiserver's syntax, validation and matching.
//!
//! Label syntax (`labels.Parse`): `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`,
//! `!a`, `a>1`, `a<1`; a comma means AND, whitespace between tokens is ignored. Field
//! selectors (`fields.ParseSelector`): `f=v`, `f==v`, `f!=v` joined by commas, with `\,`
//! `\=` `\\` escapes, checked against the fields the resource supports. Map selectors
//! (`Service.spec.selector`, `nodeSelector`) and typed `metav1.LabelSelector`s match here too.

mod field;
mod label;
mod parser;
mod set;

use thiserror::Error;

pub use field::FieldSelector;
pub use label::LabelSelector;
pub use set::{service_selector, service_selects, set_matches, set_matches_labels};

/// A selector that does not parse or names something invalid. The message is the
/// apiserver's (it goes back to the client in a 400 `BadRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SelectorError {
    #[error("{0}")]
    Syntax(String),
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

fn syntax(msg: impl Into<String>) -> SelectorError {
    SelectorError::Syntax(msg.into())
}

#[cfg(test)]
mod tests;
