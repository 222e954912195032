//! The log pane's state and keys: a ring of the last 10,000 lines of one container's log,
//! fed by [`LogFeed`] (the stream runs in `effects`), with follow, wrap, search and the
//! previous run. Part of the App: only `App::update` reaches it.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Focus, Input, Level, LineInput, View};
use super::keymap::Action;
use super::msg::{Cmd, LogRequest};
use crate::sources::logs::{FeedEnd, LogFeed};
use kdive_core::model::kind::Kind;
use kdive_core::model::objects::ObjKey;

/// Lines the pane keeps; older ones leave from the top.
pub const RING: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogState {
    Connecting,
    Streaming,
    /// The server closed the stream: the container stopped, or a previous run was read.
    Ended,
    /// In the server's words (e.g. `... is waiting to start: ContainerCreating`).
    Failed(String),
}

#[derive(Debug)]
pub struct LogTrack {
    pub pod: ObjKey,
    pub containers: Vec<String>,
    pub container: String,
    pub previous: bool,
    /// Keep the newest line in view.
    pub follow: bool,
    pub wrap: bool,
    pub lines: VecDeque<String>,
    /// Lines that left the top of the ring, so line numbers stay put.
    pub dropped: u64,
    pub state: LogState,
    pub search: String,
    /// The line (index into `lines`) of the current match.
    pub current: Option<usize>,
    /// The first line shown while not following.
    pub top: usize,
    feed: LogFeed,
}

impl LogTrack {
    fn new(pod: ObjKey, containers: Vec<String>) -> LogTrack {
        LogTrack {
            pod,
            container: containers.first().cloned().unwrap_or_default(),
            containers,
            previous: false,
            follow: true,
            wrap: false,
            lines: VecDeque::new(),
            dropped: 0,
            state: LogState::Connecting,
            search: String::new(),
            current: None,
            top: 0,
            feed: LogFeed::default(),
        }
    }

    /// Starts reading again (another container, previous or current): a fresh feed.
    fn request(&mut self) -> Cmd {
        self.feed = LogFeed::default();
        self.lines.clear();
        self.dropped = 0;
        self.state = LogState::Connecting;
        self.current = None;
        self.top = 0;
        self.follow = true;
        Cmd::FollowLogs(LogRequest {
            namespace: self.pod.namespace.clone().unwrap_or_default(),
            pod: self.pod.name.clone(),
            container: self.container.clone(),
            previous: self.previous,
            feed: self.feed.clone(),
        })
    }

    /// Takes what the feed has.
    pub fn pull(&mut self) {
        let d = self.feed.drain();
        if !d.lines.is_empty() && self.state == LogState::Connecting {
            self.state = LogState::Streaming;
        }
        self.dropped += d.dropped;
        for line in d.lines {
            if self.lines.len() == RING {
                self.lines.pop_front();
                self.dropped += 1;
                self.top = self.top.saturating_sub(1);
                self.current = self.current.and_then(|c| c.checked_sub(1));
            }
            self.lines.push_back(line);
        }
        match d.end {
            Some(FeedEnd::Ended) => self.state = LogState::Ended,
            Some(FeedEnd::Failed(e)) => self.state = LogState::Failed(e),
            None => {}
        }
    }

    fn matches(&self, i: usize) -> bool {
        !self.search.is_empty()
            && self.lines.get(i).is_some_and(|l| {
                l.to_ascii_lowercase()
                    .contains(&self.search.to_ascii_lowercase())
            })
    }

    /// Moves to the next (or previous) line that matches after (before) line `from`,
    /// wrapping around; `from` may be -1 or `len` to start at an end.
    fn jump(&mut self, forward: bool, from: i64) -> bool {
        let n = self.lines.len() as i64;
        if n == 0 || self.search.is_empty() {
            return false;
        }
        let dir = if forward { 1 } else { -1 };
        for step in 1..=n {
            let i = (from + dir * step).rem_euclid(n) as usize;
            if self.matches(i) {
                self.current = Some(i);
                self.follow = false;
                self.top = i.saturating_sub(2);
                return true;
            }
        }
        false
    }
}

impl App {
    /// Opens the log pane on a pod (its first container).
    fn open_logs(&mut self, key: ObjKey, now: DateTime<Utc>) -> Vec<Cmd> {
        let objs = self.settled_objects();
        let containers: Vec<String> = objs
            .pods
            .iter()
            .find(|p| p.metadata.namespace == key.namespace && p.name() == key.name)
            .and_then(|p| p.pod().spec)
            .map(|s| s.containers.into_iter().map(|c| c.name).collect())
            .unwrap_or_default();
        if containers.is_empty() {
            self.say(
                format!("{} has no containers to read", key.display()),
                Level::Info,
                now,
            );
            return Vec::new();
        }
        let mut track = LogTrack::new(key.clone(), containers);
        let cmd = track.request();
        self.logs = Some(track);
        self.open(View::Logs(key), now);
        self.focus = Focus::Main;
        vec![cmd]
    }

    /// The log pane's actions; `None` when the action is not about logs.
    pub(super) fn log_act(&mut self, action: Action, now: DateTime<Utc>) -> Option<Vec<Cmd>> {
        if action == Action::Logs {
            let key = match self.focus {
                Focus::Tree => self.selected_key(),
                Focus::Main => self.focus_key(),
            };
            return Some(match key {
                Some(k) if k.kind == Kind::Pod => self.open_logs(k, now),
                _ if self.focus == Focus::Tree => self.act(Action::Expand, now),
                _ => {
                    self.say("l opens the logs of a pod", Level::Info, now);
                    Vec::new()
                }
            });
        }
        if !(matches!(self.view, View::Logs(_)) && self.focus == Focus::Main) {
            return None;
        }
        let height = self.areas.main.height.saturating_sub(3).max(1) as usize;
        let t = self.logs.as_mut()?;
        let last = t.lines.len().saturating_sub(height);
        let top = if t.follow { last } else { t.top.min(last) };
        match action {
            Action::LogPrevious => {
                t.previous = !t.previous;
                return Some(vec![t.request()]);
            }
            Action::LogContainer => {
                let i = t.containers.iter().position(|c| *c == t.container);
                let next = i.map_or(0, |i| (i + 1) % t.containers.len().max(1));
                t.container = t.containers.get(next).cloned().unwrap_or_default();
                return Some(vec![t.request()]);
            }
            Action::LogWrap => t.wrap = !t.wrap,
            Action::LogFollow => {
                t.follow = !t.follow;
                t.top = top;
            }
            Action::LogSearch => {
                self.input = Input::Search(LineInput {
                    text: t.search.clone(),
                    completions: Vec::new(),
                });
            }
            Action::LogNextMatch | Action::LogPrevMatch => {
                let forward = action == Action::LogNextMatch;
                let from = match t.current {
                    Some(c) => c as i64,
                    None if forward => top as i64 - 1,
                    None => (top + height) as i64,
                };
                if !t.jump(forward, from) {
                    let text = if t.search.is_empty() {
                        "/ to search the log first".to_string()
                    } else {
                        format!("no line matches {:?}", t.search)
                    };
                    self.say(text, Level::Info, now);
                }
            }
            Action::Up | Action::PageUp | Action::Top => {
                let by = match action {
                    Action::Up => 1,
                    Action::PageUp => height,
                    _ => usize::MAX,
                };
                t.follow = false;
                t.top = top.saturating_sub(by);
            }
            Action::Down | Action::PageDown => {
                let by = if action == Action::Down { 1 } else { height };
                t.top = (top + by).min(last);
                // Scrolling to the end follows again, as `tail -f` readers expect.
                t.follow = t.top == last;
            }
            Action::Bottom => t.follow = true,
            _ => return None,
        }
        Some(Vec::new())
    }

    /// The mouse wheel over the log pane: three lines, as elsewhere; up pauses.
    pub(super) fn log_wheel(&mut self, up: bool) {
        let height = self.areas.main.height.saturating_sub(3).max(1) as usize;
        if let Some(t) = self.logs.as_mut() {
            let last = t.lines.len().saturating_sub(height);
            let top = if t.follow { last } else { t.top.min(last) };
            t.top = if up {
                top.saturating_sub(3)
            } else {
                (top + 3).min(last)
            };
            t.follow = !up && t.top == last;
            self.dirty = true;
        }
    }

    /// Keys while typing a search in the log pane.
    pub(super) fn search_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let Input::Search(line) = &mut self.input else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => {
                line.text.clear();
                self.input = Input::Normal;
            }
            KeyCode::Enter => self.input = Input::Normal,
            KeyCode::Backspace => {
                line.text.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => line.text.push(c),
            _ => {}
        }
        let text = match &self.input {
            Input::Search(l) => l.text.clone(),
            _ if key.code == KeyCode::Esc => String::new(),
            _ => return Vec::new(),
        };
        if let Some(t) = self.logs.as_mut() {
            t.search = text;
            t.current = None;
            // Typing finds a match as it goes: the newest while following, else the first
            // from the top of what is shown, as less does.
            if !t.search.is_empty() {
                if t.follow {
                    t.jump(false, t.lines.len() as i64);
                } else {
                    t.jump(true, t.top as i64 - 1);
                }
            }
        }
        Vec::new()
    }

    /// The feed has news.
    pub(super) fn logs_changed(&mut self) {
        if let Some(t) = self.logs.as_mut() {
            t.pull();
            if matches!(self.view, View::Logs(_)) {
                self.dirty = true;
            }
        }
    }

    /// The view left the log pane: its stream stops.
    pub(super) fn logs_left(&mut self) -> Vec<Cmd> {
        if self.logs.is_some() && !matches!(self.view, View::Logs(_)) {
            self.logs = None;
            return vec![Cmd::StopLogs];
        }
        Vec::new()
    }
}
