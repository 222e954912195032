//! The one owner of UI state. Only [`App::update`] changes it; sources send messages.
//! After a batch of messages the run loop calls [`App::settle`], which recomputes what
//! changed data derives (the tree, the open Service chain), then draws once.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::keymap::{self, Action, Context};
use super::msg::{Cmd, Msg};
use super::panes::PaneStates;
use super::track::{ChainTrack, PodTimeline, WatchStats};
use crate::sources::kube::{KubeMsg, Stores};
use kdive_core::model::kind::Kind;
use kdive_core::model::objects::{ObjKey, Objects};
use kdive_core::model::tree::{self, TreeNode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Tree,
    Main,
}

#[path = "app_filter.rs"]
mod filter;
use filter::open_all;

/// What the main (right) pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Nothing chosen yet: a short how-to.
    Welcome,
    Chain(ObjKey),
    Pod(ObjKey),
    Workload(ObjKey),
    Detail(ObjKey),
    Watches,
    Help,
    Slo,
    Query,
    Lesson,
    Triage(kdive_core::triage::Target),
    /// A pod's container log (`l`).
    Logs(ObjKey),
}

/// A one-line text input (`:` commands, `/` filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    pub text: String,
    /// Completion candidates for the word being typed.
    pub completions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Normal,
    Command(LineInput),
    Filter(LineInput),
    /// `/` in the log pane.
    Search(LineInput),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

/// Where things were drawn last, so mouse events can find their pane.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub tree: Rect,
    pub main: Rect,
}

/// Facts about the session the App shows but does not change.
#[derive(Debug, Clone)]
pub struct Session {
    pub context: String,
    pub contexts: Vec<String>,
    /// `export KUBECONFIG=...` when running on the in-process lab.
    pub lab_kubeconfig: Option<String>,
    /// The Prometheus polled for SLOs, or why there is none.
    pub prometheus: Result<String, String>,
    /// The lessons `:lesson` opens.
    pub lessons: Vec<std::sync::Arc<kdive_core::lesson::format::Lesson>>,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            context: String::new(),
            contexts: Vec::new(),
            lab_kubeconfig: None,
            prometheus: Err("not connected".into()),
            lessons: Vec::new(),
        }
    }
}

pub struct App {
    pub stores: Stores,
    pub session: Session,
    /// The namespace the tree shows (None: all).
    pub scope: Option<String>,
    pub focus: Focus,
    pub view: View,
    pub back: Vec<View>,
    pub input: Input,
    pub filter: String,
    pub watches: BTreeMap<Kind, WatchStats>,
    pub chain: Option<ChainTrack>,
    pub timeline: Option<PodTimeline>,
    pub triage: super::triage_track::TriageTrack,
    /// The log pane's lines and stream, while it is open.
    pub logs: Option<super::logs::LogTrack>,
    pub flash: Option<(String, Level, DateTime<Utc>)>,
    /// What Prometheus and the lesson engine last sent.
    pub feeds: super::feeds::Feeds,
    pub panes: PaneStates,
    pub areas: Areas,
    pub size: (u16, u16),
    pub tree: Vec<TreeNode>,
    /// What was open before a filter opened everything.
    saved_open: Option<HashSet<Vec<String>>>,
    /// Kinds changed since the last settle.
    changed: HashSet<Kind>,
    tree_stale: bool,
    /// The objects the last data settle read: a key's tree rebuild reuses them (and their
    /// pod groups) instead of regrouping every pod.
    pub snapshot: Option<Objects>,
    pub quit: bool,
    /// Set by update when something visible changed; the run loop draws and clears it.
    pub dirty: bool,
}

impl App {
    pub fn new(stores: Stores, session: Session, scope: Option<String>) -> App {
        App {
            stores,
            session,
            scope,
            focus: Focus::Tree,
            view: View::Welcome,
            back: Vec::new(),
            input: Input::Normal,
            filter: String::new(),
            watches: BTreeMap::new(),
            chain: None,
            timeline: None,
            triage: Default::default(),
            logs: None,
            flash: None,
            feeds: Default::default(),
            panes: PaneStates::default(),
            areas: Areas::default(),
            size: (80, 24),
            tree: Vec::new(),
            saved_open: None,
            changed: HashSet::new(),
            tree_stale: true,
            snapshot: None,
            quit: false,
            dirty: true,
        }
    }

    /// Takes the current objects from the stores (shared pointers; no copies of objects).
    pub fn objects(&self) -> Objects {
        let s = &self.stores;
        Objects {
            namespaces: s.namespaces.state(),
            nodes: s.nodes.state(),
            pods: s.pods.state(),
            services: s.services.state(),
            endpoint_slices: s.endpoint_slices.state(),
            deployments: s.deployments.state(),
            replica_sets: s.replica_sets.state(),
            stateful_sets: s.stateful_sets.state(),
            config_maps: s.config_maps.state(),
            secrets: s.secrets.state(),
            pvcs: s.pvcs.state(),
            pvs: s.pvs.state(),
            events: s.events.state(),
            other: Vec::new(),
            pod_groups: Default::default(),
        }
    }

    /// What the panes draw: the objects the last data settle read (fresh ones before the
    /// first), so a frame does not snapshot every store again.
    pub fn settled_objects(&self) -> std::borrow::Cow<'_, Objects> {
        match &self.snapshot {
            Some(o) => std::borrow::Cow::Borrowed(o),
            None => std::borrow::Cow::Owned(self.objects()),
        }
    }

    /// Replaces the stores (after a context switch): everything derived from them goes.
    pub fn reset_stores(&mut self, stores: Stores, context: String) {
        self.stores = stores;
        self.session.context = context;
        self.watches.clear();
        self.chain = None;
        self.timeline = None;
        self.view = View::Welcome;
        self.back.clear();
        self.tree_stale = true;
        self.snapshot = None;
        self.dirty = true;
    }

    pub fn update(&mut self, msg: Msg, now: DateTime<Utc>) -> Vec<Cmd> {
        match msg {
            Msg::Key(key) => {
                self.dirty = true;
                let mut cmds = self.key(key, now);
                cmds.extend(self.logs_left());
                cmds
            }
            Msg::Mouse(m) => {
                self.mouse(m);
                Vec::new()
            }
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.dirty = true;
                Vec::new()
            }
            Msg::Kube(k) => {
                self.kube(k, now);
                Vec::new()
            }
            Msg::Tick => {
                // Highlights and ages move with time; redraw only when something is fading.
                if self
                    .chain
                    .as_ref()
                    .is_some_and(|c| c.changes.has_recent(now))
                    || self.flash.is_some()
                    || self.feeds.prom_down.is_some()
                    || matches!(self.view, View::Watches)
                {
                    self.dirty = true;
                }
                if self.triage.count_due(now) {
                    self.settle_triage(now);
                }
                if self
                    .flash
                    .as_ref()
                    .is_some_and(|(_, _, at)| (now - *at).num_seconds() >= 5)
                {
                    self.flash = None;
                }
                Vec::new()
            }
            Msg::Switched { stores, context } => {
                self.reset_stores(stores, context.clone());
                self.say(format!("context {context}"), Level::Info, now);
                self.logs_left()
            }
            Msg::KubeconfigChanged => {
                let context = self.session.context.clone();
                self.say(
                    format!("the kubeconfig changed on disk: reconnecting to {context}"),
                    Level::Info,
                    now,
                );
                vec![Cmd::SwitchContext(context)]
            }
            Msg::Contexts(contexts) => {
                self.session.contexts = contexts;
                Vec::new()
            }
            Msg::Info(text) => {
                self.say(text, Level::Info, now);
                Vec::new()
            }
            Msg::Failed(text) => {
                self.say(text, Level::Error, now);
                Vec::new()
            }
            Msg::Metrics(frame) => {
                self.feeds.metrics = Some(*frame);
                if matches!(self.view, View::Slo) {
                    self.dirty = true;
                }
                Vec::new()
            }
            Msg::Lesson(update) => {
                let step = (update.lesson_id.clone(), update.current);
                self.feeds.lesson_update(*update);
                // A new step points the tree at the object its checks read.
                if self.feeds.focused_step.as_ref() != Some(&step) {
                    self.feeds.focused_step = Some(step);
                    if let Some(key) = self
                        .feeds
                        .lesson_view(&self.session.lessons, now)
                        .and_then(|v| v.focus.into_iter().find_map(|f| focus_key(&f)))
                    {
                        self.reveal(&key);
                    }
                }
                self.dirty = true;
                Vec::new()
            }
            Msg::PromReach(outage) => {
                if self.feeds.prom_reach(outage, now) {
                    self.dirty = true;
                }
                Vec::new()
            }
            Msg::QueryDone(result) => {
                self.feeds.query_done(*result);
                self.dirty = true;
                Vec::new()
            }
            Msg::LogsChanged => {
                self.logs_changed();
                Vec::new()
            }
            Msg::Shutdown => {
                self.quit = true;
                vec![Cmd::Quit]
            }
        }
    }

    fn kube(&mut self, msg: KubeMsg, now: DateTime<Utc>) {
        match msg {
            KubeMsg::Changed(kind) => {
                self.changed.insert(kind);
                self.dirty = true;
            }
            KubeMsg::State(kind, state) => {
                self.watches.entry(kind).or_default().set_state(state, now);
                self.dirty = true;
            }
            KubeMsg::Skipped {
                kind,
                relisted,
                objects,
            } => {
                self.watches
                    .entry(kind)
                    .or_default()
                    .skipped(relisted, objects);
                self.dirty = true;
            }
            KubeMsg::Note(note) => {
                if let Some(c) = self.chain.as_mut()
                    && c.affected_by(&note)
                {
                    c.stale = true;
                }
                self.watches.entry(note.kind).or_default().note(note);
                if matches!(self.view, View::Watches) {
                    self.dirty = true;
                }
            }
        }
    }

    /// Recomputes what the changed kinds derive. Pure and synchronous; called once per batch.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        self.settle_with(now, true);
    }

    /// As [`App::settle`]; with `data` false only what keys changed is recomputed (tree
    /// open/close, filter, scope) and watch changes stay pending. Returns whether any are
    /// still pending, so the run loop knows another frame is due.
    pub fn settle_with(&mut self, now: DateTime<Utc>, data: bool) -> bool {
        if !data {
            if self.tree_stale {
                let objs = self.snapshot.take().unwrap_or_else(|| self.objects());
                self.rebuild_tree(&objs);
                self.snapshot = Some(objs);
            }
            return !self.changed.is_empty() || self.chain.as_ref().is_some_and(|c| c.stale);
        }
        let changed = std::mem::take(&mut self.changed);
        self.triage.changed(&changed);
        let tree_kinds = !changed.is_empty() && changed.iter().any(|k| *k != Kind::Event);
        // The timeline reads only the pod and the slices.
        let timeline_kinds = changed.contains(&Kind::Pod) || changed.contains(&Kind::EndpointSlice);
        if !(tree_kinds || self.tree_stale || self.chain.as_ref().is_some_and(|c| c.stale)) {
            if !changed.is_empty() {
                self.snapshot = Some(self.objects());
            }
            self.settle_triage(now);
            return false;
        }
        let objs = self.objects();
        if tree_kinds || self.tree_stale {
            self.rebuild_tree(&objs);
        }
        if let Some(c) = self.chain.as_mut()
            && c.stale
        {
            c.refresh(&objs, now);
        }
        if timeline_kinds && let Some(t) = self.timeline.as_mut() {
            t.observe(&self.stores, now);
        }
        self.snapshot = Some(objs);
        self.settle_triage(now);
        false
    }

    fn rebuild_tree(&mut self, objs: &Objects) {
        // A filter opens every branch with a match; clearing it restores what was open.
        if self.filter.is_empty()
            && let Some(saved) = self.saved_open.take()
        {
            self.panes.tree.close_all();
            for path in saved {
                self.panes.tree.open(path);
            }
        }
        let opened: HashSet<String> = self
            .panes
            .tree
            .opened()
            .iter()
            .filter_map(|path| path.last().cloned())
            .collect();
        let is_open = |id: &str| opened.contains(id);
        self.tree = tree::build(
            objs,
            &tree::TreeOptions {
                scope: self.scope.as_deref(),
                filter: &self.filter,
                is_open: &is_open,
            },
        );
        if !self.filter.is_empty() {
            if self.saved_open.is_none() {
                self.saved_open = Some(self.panes.tree.opened().clone());
            }
            open_all(&self.tree, &mut Vec::new(), &mut self.panes.tree);
        }
        self.tree_stale = false;
        self.dirty = true;
        if self.panes.tree.selected().is_empty()
            && let Some(first) = self.tree.first()
        {
            self.panes.tree.select(vec![first.id.clone()]);
        }
    }

    pub fn selected_key(&self) -> Option<ObjKey> {
        selected_key(&self.panes)
    }

    /// The object the main pane is about (for `y` and the watch inspector's Events).
    pub fn focus_key(&self) -> Option<ObjKey> {
        match (&self.focus, &self.view) {
            (
                Focus::Main,
                View::Chain(k) | View::Pod(k) | View::Workload(k) | View::Detail(k) | View::Logs(k),
            ) => Some(k.clone()),
            _ => self.selected_key(),
        }
    }

    pub fn say(&mut self, text: impl Into<String>, level: Level, now: DateTime<Utc>) {
        self.flash = Some((text.into(), level, now));
        self.dirty = true;
    }

    fn key(&mut self, key: KeyEvent, now: DateTime<Utc>) -> Vec<Cmd> {
        if key.kind == ratatui::crossterm::event::KeyEventKind::Release {
            return Vec::new();
        }
        match &self.input {
            Input::Command(_) => return self.command_key(key, now),
            Input::Filter(_) => {
                self.filter_key(key);
                return Vec::new();
            }
            Input::Search(_) => return self.search_key(key),
            Input::Normal => {}
        }
        let context = match (self.focus, &self.view) {
            (Focus::Tree, _) => Context::Tree,
            (Focus::Main, View::Logs(_)) => Context::Logs,
            (Focus::Main, _) => Context::Main,
        };
        let Some(action) = keymap::action_for(&key, context) else {
            return Vec::new();
        };
        self.act(action, now)
    }

    pub fn act(&mut self, action: Action, now: DateTime<Utc>) -> Vec<Cmd> {
        if let Some(cmds) = self.log_act(action, now) {
            return cmds;
        }
        match action {
            Action::Quit => {
                self.quit = true;
                return vec![Cmd::Quit];
            }
            Action::Help => self.open(View::Help, now),
            Action::Watches => self.open(View::Watches, now),
            Action::CommandLine => self.input = Input::Command(LineInput::default()),
            Action::Filter => {
                self.input = Input::Filter(LineInput {
                    text: self.filter.clone(),
                    completions: Vec::new(),
                })
            }
            Action::FocusNext => {
                self.focus = match self.focus {
                    Focus::Tree => Focus::Main,
                    Focus::Main => Focus::Tree,
                }
            }
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.scroll(action),
            Action::Collapse => {
                self.panes.tree.key_left();
                self.tree_stale = true;
            }
            Action::Expand => {
                self.panes.tree.key_right();
                self.tree_stale = true;
            }
            Action::Enter => self.enter(now),
            Action::Back => self.go_back(),
            Action::Hint | Action::CheckNow if self.view != View::Lesson => {
                self.say("h and c work in a lesson (:lesson ID)", Level::Info, now)
            }
            Action::Hint => {
                return vec![Cmd::Lesson(
                    crate::sources::lesson_engine::EngineCmd::NextHint,
                )];
            }
            Action::CheckNow => {
                return vec![Cmd::Lesson(
                    crate::sources::lesson_engine::EngineCmd::CheckNow,
                )];
            }
            Action::Triage => self.triage_selected(now),
            Action::Yaml => match self.focus_key() {
                Some(k) => self.open(View::Detail(k), now),
                None => self.say("select an object first", Level::Info, now),
            },
            // Handled by log_act where they apply.
            Action::Logs
            | Action::LogPrevious
            | Action::LogWrap
            | Action::LogSearch
            | Action::LogNextMatch
            | Action::LogPrevMatch
            | Action::LogFollow
            | Action::LogContainer => {}
        }
        Vec::new()
    }

    fn scroll(&mut self, action: Action) {
        let page = self.areas.main.height.saturating_sub(3).max(1) as usize;
        if self.focus == Focus::Main && self.list_key(action) {
            return;
        }
        match self.focus {
            Focus::Tree => {
                let tree_page = self.areas.tree.height.saturating_sub(2).max(1) as usize;
                let t = &mut self.panes.tree;
                match action {
                    Action::Up => t.key_up(),
                    Action::Down => t.key_down(),
                    Action::PageUp => {
                        t.select_relative(|i| i.map_or(0, |i| i.saturating_sub(tree_page)))
                    }
                    Action::PageDown => t.select_relative(|i| i.map_or(0, |i| i + tree_page)),
                    Action::Top => t.select_first(),
                    _ => t.select_last(),
                };
            }
            Focus::Main => {
                let s = &mut self.panes.main_scroll;
                *s = match action {
                    Action::Up => s.saturating_sub(1),
                    Action::Down => s.saturating_add(1),
                    Action::PageUp => s.saturating_sub(page),
                    Action::PageDown => s.saturating_add(page),
                    Action::Top => 0,
                    _ => usize::MAX / 2,
                };
            }
        }
    }

    /// Opens the view for the tree selection (or toggles a group), focusing the main pane.
    fn enter(&mut self, now: DateTime<Utc>) {
        if self.focus == Focus::Main {
            self.enter_main(now);
            return;
        }
        match self.selected_key() {
            Some(key) => {
                let view = view_for(&key);
                self.open(view, now);
                self.focus = Focus::Main;
            }
            None => {
                self.panes.tree.toggle_selected();
                self.tree_stale = true;
            }
        }
    }

    pub fn open(&mut self, view: View, now: DateTime<Utc>) {
        if self.view == view {
            return;
        }
        let previous = std::mem::replace(&mut self.view, view);
        // A log pane is not gone back to: its stream stopped when it was left.
        if previous != View::Welcome && !matches!(previous, View::Logs(_)) {
            self.back.push(previous);
        }
        self.panes.main_scroll = 0;
        self.view_opened(now);
    }

    fn go_back(&mut self) {
        match self.back.pop() {
            Some(v) => {
                self.view = v;
                self.panes.main_scroll = 0;
                self.view_opened(Utc::now());
            }
            None => self.focus = Focus::Tree,
        }
        if self.back.is_empty() && self.view == View::Welcome {
            self.focus = Focus::Tree;
        }
    }

    /// Starts the trackers a view needs (chain changes, readiness timeline).
    fn view_opened(&mut self, now: DateTime<Utc>) {
        match &self.view {
            View::Chain(k) if self.chain.as_ref().is_none_or(|c| &c.key != k) => {
                let mut c = ChainTrack::new(k.clone());
                c.refresh(&self.objects(), now);
                self.chain = Some(c);
            }
            View::Pod(k) if self.timeline.as_ref().is_none_or(|t| &t.key != k) => {
                let mut t = PodTimeline::new(k.clone());
                t.observe(&self.stores, now);
                self.timeline = Some(t);
            }
            _ => {}
        }
        self.reveal_current();
        self.dirty = true;
    }

    /// Selects the current view's object in the tree, opening its ancestors.
    fn reveal_current(&mut self) {
        let key = match &self.view {
            View::Chain(k) | View::Pod(k) | View::Workload(k) | View::Detail(k) | View::Logs(k) => {
                k.clone()
            }
            _ => return,
        };
        self.reveal(&key);
    }

    /// Selects an object in the tree, opening its ancestors.
    pub fn reveal(&mut self, key: &ObjKey) {
        let key = key.clone();
        let objs = self.objects();
        let ancestors = tree::ancestors_of(&objs, &key);
        let mut path = Vec::new();
        for id in ancestors {
            path.push(id);
            self.panes.tree.open(path.clone());
        }
        path.push(key.id());
        self.panes.tree.select(path);
        self.tree_stale = true;
    }

    fn mouse(&mut self, m: MouseEvent) {
        let at = Position::new(m.column, m.row);
        let in_tree = self.areas.tree.contains(at);
        let in_main = self.areas.main.contains(at);
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) if in_tree => {
                self.focus = Focus::Tree;
                if self.panes.tree.click_at(at) {
                    self.tree_stale = true;
                }
                self.dirty = true;
            }
            MouseEventKind::Down(MouseButton::Left) if in_main => {
                self.focus = Focus::Main;
                self.dirty = true;
            }
            MouseEventKind::ScrollDown if in_tree => {
                self.panes.tree.scroll_down(3);
                self.dirty = true;
            }
            MouseEventKind::ScrollUp if in_tree => {
                self.panes.tree.scroll_up(3);
                self.dirty = true;
            }
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp
                if in_main && self.logs.is_some() =>
            {
                self.log_wheel(m.kind == MouseEventKind::ScrollUp);
            }
            MouseEventKind::ScrollDown if in_main => {
                self.panes.main_scroll = self.panes.main_scroll.saturating_add(3);
                self.dirty = true;
            }
            MouseEventKind::ScrollUp if in_main => {
                self.panes.main_scroll = self.panes.main_scroll.saturating_sub(3);
                self.dirty = true;
            }
            _ => {}
        }
    }

    pub fn mark_tree_stale(&mut self) {
        self.tree_stale = true;
    }
}

/// The tree object a lesson's focus names (a kind and a name; selectors stay with the pane).
fn focus_key(f: &super::panes::lesson::FocusTarget) -> Option<ObjKey> {
    let kind = Kind::parse(f.kind)?;
    let name = f.name.as_deref()?;
    let ns = kind.namespaced().then_some(f.namespace.as_str());
    Some(ObjKey::new(kind, ns, name))
}

/// The view Enter opens for an object.
/// The object selected in the tree.
pub fn selected_key(panes: &PaneStates) -> Option<ObjKey> {
    ObjKey::from_id(panes.tree.selected().last()?)
}

pub fn view_for(key: &ObjKey) -> View {
    match key.kind {
        Kind::Service => View::Chain(key.clone()),
        Kind::Pod => View::Pod(key.clone()),
        Kind::Deployment | Kind::StatefulSet => View::Workload(key.clone()),
        _ => View::Detail(key.clone()),
    }
}
