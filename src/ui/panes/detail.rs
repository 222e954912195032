//! The selected object as YAML, trimmed (no managedFields, no last-applied annotation;
//! Secrets are metadata only, because their values are never loaded).

use ratatui::text::Line;

use crate::ui::theme::Theme;
use kdive_core::model::objects::{ObjKey, Objects};

pub struct DetailView {
    pub title: String,
    pub yaml: String,
}

pub fn view(objs: &Objects, key: &ObjKey) -> DetailView {
    let yaml = match objs.to_json(key) {
        Some(v) => serde_saphyr::to_string(&v).unwrap_or_else(|e| format!("cannot render: {e}")),
        None => format!("{} {} is gone", key.kind.name(), key.display()),
    };
    DetailView {
        title: format!("{} {}", key.kind.name(), key.display()),
        yaml,
    }
}

pub fn lines(v: &DetailView, theme: &Theme) -> Vec<Line<'static>> {
    v.yaml
        .lines()
        .map(|l| {
            // Keys in the accent colour; values plain.
            match l.find(": ") {
                Some(i) if !l.trim_start().starts_with('-') => Line::from(vec![
                    ratatui::text::Span::styled(l[..=i].to_string(), theme.accent()),
                    ratatui::text::Span::raw(l[i + 1..].to_string()),
                ]),
                _ => Line::from(l.to_string()),
            }
        })
        .collect()
}
