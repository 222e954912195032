//! The App's triage keys and commands: `t` on the tree selection, `:triage [TARGET]`,
//! moving through findings and opening one with Enter, and the SLO pane's rows, which
//! lead to the triage of their Service.

use chrono::{DateTime, Utc};

use kdive_core::metrics::SloDef;
use kdive_core::metrics::burn::Burn;
use kdive_core::model::kind::Kind;
use kdive_core::triage::{Target, TargetKind};

use super::app::{App, Focus, Level, View, view_for};
use super::keymap::Action;
use super::triage_track::{parse_target, target_for};

impl App {
    pub fn open_triage(&mut self, target: Target, now: DateTime<Utc>) {
        self.triage.open(target.clone());
        self.open(View::Triage(target), now);
        self.focus = Focus::Main;
        self.settle_triage(now);
    }

    /// `t`: the selected object's triage, or its namespace's.
    pub(super) fn triage_selected(&mut self, now: DateTime<Utc>) {
        let key = self.focus_key();
        let target = target_for(key.as_ref(), self.scope.as_deref());
        self.open_triage(target, now);
    }

    /// `:triage [TARGET]`; in all namespaces a name is looked up where it exists.
    pub fn run_triage_command(&mut self, arg: Option<&str>, now: DateTime<Utc>) {
        let scope = match (arg.and_then(|a| a.split_once('/')), &self.scope) {
            (Some((kind, name)), None) => {
                let kind = match kind {
                    "svc" | "service" | "services" => Some(Kind::Service),
                    "deploy" | "deployment" | "deployments" => Some(Kind::Deployment),
                    "sts" | "statefulset" | "statefulsets" => Some(Kind::StatefulSet),
                    "po" | "pod" | "pods" => Some(Kind::Pod),
                    _ => None,
                };
                let found = kind
                    .map(|k| self.objects().namespaces_of(k, name))
                    .unwrap_or_default();
                match found.as_slice() {
                    [only] => Some(only.clone()),
                    [] if kind.is_some() => {
                        self.say(
                            format!("nothing named {name:?} of that kind"),
                            Level::Error,
                            now,
                        );
                        return;
                    }
                    [] => None,
                    many => {
                        self.say(
                            format!("{name:?} is in {}: use :ns first", many.join(", ")),
                            Level::Error,
                            now,
                        );
                        return;
                    }
                }
            }
            (_, scope) => scope.clone(),
        };
        match parse_target(arg, scope.as_deref()) {
            Ok(target) => match target.check_exists(&self.objects()) {
                Ok(()) => self.open_triage(target, now),
                Err(e) => self.say(e.to_string(), Level::Error, now),
            },
            Err(e) => self.say(e, Level::Error, now),
        }
    }

    /// Up and down move between findings (Triage) or SLO rows (SLO) instead of scrolling.
    pub(super) fn list_key(&mut self, action: Action) -> bool {
        let delta = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::Top => isize::MIN / 2,
            Action::Bottom => isize::MAX / 2,
            _ => return false,
        };
        match &self.view {
            View::Triage(_) => self.triage.select(delta),
            View::Slo => {
                let n = self.feeds.metrics.as_ref().map_or(0, |m| m.slos.len());
                let at = self.feeds.slo_selected as isize + delta;
                self.feeds.slo_selected = at.clamp(0, n.saturating_sub(1) as isize) as usize;
            }
            _ => return false,
        }
        true
    }

    /// Enter in the main pane: a finding opens its object; an SLO row its Service's triage.
    pub(super) fn enter_main(&mut self, now: DateTime<Utc>) {
        match &self.view {
            View::Triage(_) => match self.triage.selected_object() {
                Some(key) => {
                    self.open(view_for(&key), now);
                    self.reveal(&key);
                }
                None => self.say("no finding to open", Level::Info, now),
            },
            View::Slo => {
                let service = self
                    .feeds
                    .metrics
                    .as_ref()
                    .and_then(|m| m.slos.get(self.feeds.slo_selected))
                    .and_then(|s| s.def.service.clone());
                match service {
                    Some(svc) => self.open_triage(
                        Target::Object {
                            kind: TargetKind::Service,
                            namespace: svc.namespace,
                            name: svc.name,
                        },
                        now,
                    ),
                    None => self.say(
                        "this SLO names no Service (kdive_service label)",
                        Level::Info,
                        now,
                    ),
                }
            }
            _ => {}
        }
    }

    /// Brings triage up to date with the settled objects.
    pub(super) fn settle_triage(&mut self, now: DateTime<Utc>) {
        let open = matches!(self.view, View::Triage(_));
        let slos: Vec<(SloDef, Burn)> = self
            .feeds
            .metrics
            .as_ref()
            .map(|m| {
                m.slos
                    .iter()
                    .map(|s| (s.def.clone(), s.burn.clone()))
                    .collect()
            })
            .unwrap_or_default();
        self.triage.gaps = self.watch_gaps();
        let objs = self.settled_objects().into_owned();
        if self
            .triage
            .settle(&objs, self.scope.as_deref(), open, &slos, now)
        {
            self.dirty = true;
        }
    }

    /// Kinds the explorer may not watch: triage says its verdict stands on less.
    fn watch_gaps(&self) -> Vec<String> {
        self.watches
            .iter()
            .filter(|(_, w)| {
                matches!(
                    w.state,
                    Some(crate::sources::kube::WatchState::Forbidden { .. })
                )
            })
            .map(|(k, _)| format!("{} forbidden", k.name()))
            .collect()
    }
}
