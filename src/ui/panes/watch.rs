//! The watch inspector: per kind, the watch's state, event rate and totals; the last
//! events (ADDED/MODIFIED/DELETED/BOOKMARK, object, resourceVersion); and the core/v1
//! Events of the selected object.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ratatui::text::{Line, Span};

use crate::sources::kube::{NoteType, WatchState};
use crate::ui::theme::Theme;
use crate::ui::track::WatchStats;
use kdive_core::duration;
use kdive_core::model::kind::Kind;
use kdive_core::model::objects::{ObjKey, Objects};
use kdive_core::model::status::{self, Health};

use super::{glyph, heading, pad};

pub struct KindRow {
    pub kind: Kind,
    pub health: Health,
    pub state: String,
    pub objects: usize,
    pub rate: f64,
    pub total: u64,
    pub lists: u64,
}

pub struct WatchView {
    pub kinds: Vec<KindRow>,
    /// Newest first: (age, type, kind, object, resourceVersion).
    pub last: Vec<(String, &'static str, Kind, String, String)>,
    pub selection: Option<String>,
    pub events: Vec<(Health, String)>,
    /// Objects left out because they could not be decoded: (kind, object, error).
    pub skipped: Vec<(Kind, String, String)>,
}

pub fn state_text(state: Option<&WatchState>) -> (Health, String) {
    match state {
        None => (Health::None, "not started".into()),
        Some(WatchState::Syncing) => (Health::Warn, "syncing".into()),
        Some(WatchState::Synced) => (Health::Ok, "synced".into()),
        Some(WatchState::Reconnecting {
            attempt,
            error,
            retry_in,
        }) => (
            Health::Bad,
            format!(
                "reconnecting (try {attempt}, in {:.1}s): {error}",
                retry_in.as_secs_f64()
            ),
        ),
        Some(WatchState::Forbidden { message }) => (Health::Bad, format!("forbidden: {message}")),
    }
}

pub fn view(
    watches: &BTreeMap<Kind, WatchStats>,
    counts: &dyn Fn(Kind) -> usize,
    objs: &Objects,
    selection: Option<&ObjKey>,
    now: DateTime<Utc>,
) -> WatchView {
    let kinds = Kind::ALL
        .iter()
        .map(|k| {
            let w = watches.get(k);
            let (mut health, mut state) = state_text(w.and_then(|w| w.state.as_ref()));
            if let Some(n) = w.map(|w| w.skipped.len()).filter(|n| *n > 0) {
                health = health.worst(Health::Warn);
                state = format!("{state}, {n} unreadable");
            }
            KindRow {
                kind: *k,
                health,
                state,
                objects: counts(*k),
                rate: w.map_or(0.0, |w| w.rate(now)),
                total: w.map_or(0, |w| w.total),
                lists: w.map_or(0, |w| w.lists),
            }
        })
        .collect();
    let mut last: Vec<_> = watches
        .values()
        .flat_map(|w| w.last.iter())
        .map(|n| {
            let obj = match (n.ty, &n.namespace) {
                (NoteType::Listed, _) => format!("{} objects", n.name),
                (NoteType::Bookmark, _) => String::new(),
                (_, Some(ns)) => format!("{ns}/{}", n.name),
                (_, None) => n.name.clone(),
            };
            (n.at, n.ty.as_str(), n.kind, obj, n.resource_version.clone())
        })
        .collect();
    last.sort_by_key(|e| std::cmp::Reverse(e.0));
    let last = last
        .into_iter()
        .take(40)
        .map(|(at, ty, kind, obj, rv)| (duration::age(at, now), ty, kind, obj, rv))
        .collect();
    let events = selection
        .map(|key| selection_events(objs, key, now))
        .unwrap_or_default();
    let skipped = watches
        .values()
        .flat_map(|w| w.skipped.values())
        .map(|o| {
            let obj = match &o.namespace {
                Some(ns) => format!("{ns}/{}", o.name),
                None => o.name.clone(),
            };
            (o.kind, obj, o.error.clone())
        })
        .collect();
    WatchView {
        kinds,
        last,
        skipped,
        selection: selection.map(|k| format!("{} {}", k.kind.name(), k.display())),
        events,
    }
}

fn selection_events(objs: &Objects, key: &ObjKey, now: DateTime<Utc>) -> Vec<(Health, String)> {
    let mut evs: Vec<_> = objs
        .events
        .iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some(key.kind.name())
                && e.involved_object.name.as_deref() == Some(key.name.as_str())
                && e.involved_object.namespace == key.namespace
        })
        .collect();
    let when = |e: &k8s_openapi::api::core::v1::Event| {
        e.last_timestamp
            .as_ref()
            .map(status::utc)
            .or(e.event_time.as_ref().map(status::utc_micro))
            .or(e.metadata.creation_timestamp.as_ref().map(status::utc))
    };
    evs.sort_by_key(|e| std::cmp::Reverse(when(e)));
    evs.iter()
        .take(15)
        .map(|e| {
            let h = if e.type_.as_deref() == Some("Warning") {
                Health::Warn
            } else {
                Health::None
            };
            (
                h,
                format!(
                    "{:>4}  {:<8} {:<18} {}{}",
                    when(e).map_or("-".into(), |t| duration::age(t, now)),
                    e.type_.as_deref().unwrap_or(""),
                    e.reason.as_deref().unwrap_or(""),
                    e.message.as_deref().unwrap_or(""),
                    e.count
                        .filter(|c| *c > 1)
                        .map(|c| format!(" (x{c})"))
                        .unwrap_or_default()
                ),
            )
        })
        .collect()
}

pub fn lines(v: &WatchView, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![Line::styled(
        format!(
            "  {} {} {:>7} {:>7} {:>8} {:>5}",
            pad("KIND", 22),
            pad("STATE", 12),
            "OBJECTS",
            "EV/S",
            "EVENTS",
            "LISTS"
        ),
        theme.muted(),
    )];
    for r in &v.kinds {
        out.push(Line::from(vec![
            glyph(r.health, theme),
            Span::raw(format!(
                " {} {} {:>7} {:>7.1} {:>8} {:>5}",
                pad(r.kind.plural(), 22),
                pad(&r.state, 12),
                r.objects,
                r.rate,
                r.total,
                r.lists
            )),
        ]));
        if r.state.len() > 12 {
            out.push(Line::styled(
                format!("    {}", r.state),
                theme.health(r.health),
            ));
        }
    }
    if !v.skipped.is_empty() {
        out.push(heading(
            "Left out: the server sent these, but they do not decode as their kind",
            theme,
        ));
        for (kind, obj, error) in &v.skipped {
            out.push(Line::from(vec![
                glyph(Health::Warn, theme),
                Span::raw(format!(" {} {obj}", pad(kind.name(), 14))),
            ]));
            out.push(Line::styled(
                format!("      {error}"),
                theme.health(Health::Warn),
            ));
        }
    }
    out.push(heading("Last watch events (newest first)", theme));
    for (age, ty, kind, obj, rv) in &v.last {
        out.push(Line::from(format!(
            "  {age:>4}  {ty:<8} {} {}  rv {rv}",
            pad(kind.name(), 14),
            obj
        )));
    }
    if v.last.is_empty() {
        out.push(Line::styled("  (none yet)", theme.muted()));
    }
    if let Some(sel) = &v.selection {
        out.push(heading(format!("Events for {sel}"), theme));
        if v.events.is_empty() {
            out.push(Line::styled("  (no Events)", theme.muted()));
        }
        out.extend(super::rows(
            &v.events
                .iter()
                .map(|(h, t)| (*h, format!("  {t}")))
                .collect::<Vec<_>>(),
            theme,
        ));
    }
    out
}
