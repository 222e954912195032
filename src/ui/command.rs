//! The `:` command line: editing, Tab completion from the keymap's command table and the
//! live stores, and running a command.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Input, Level, View};
use super::keymap::{self, ArgKind};
use super::msg::Cmd;
use kdive_core::model::kind::Kind;
use kdive_core::model::objects::ObjKey;

impl App {
    pub(super) fn command_key(&mut self, key: KeyEvent, now: DateTime<Utc>) -> Vec<Cmd> {
        let Input::Command(line) = &mut self.input else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => self.input = Input::Normal,
            KeyCode::Enter => {
                let text = line.text.trim().to_string();
                self.input = Input::Normal;
                return self.run_command(&text, now);
            }
            KeyCode::Tab => {
                let text = line.text.clone();
                let candidates = self.completions(&text);
                let Input::Command(line) = &mut self.input else {
                    return Vec::new();
                };
                match candidates.as_slice() {
                    [] => {}
                    [one] => line.text = replace_last_word(&line.text, one, true),
                    many => {
                        let common = common_prefix(many);
                        line.text = replace_last_word(&line.text, &common, false);
                    }
                }
                line.completions = candidates;
            }
            KeyCode::Backspace => {
                line.text.pop();
                line.completions.clear();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                line.text.push(c);
                line.completions.clear();
            }
            _ => {}
        }
        Vec::new()
    }

    /// Candidates for the last word: command names first, then the command's argument.
    pub fn completions(&self, text: &str) -> Vec<String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let typing_new_word = text.ends_with(' ') || text.is_empty();
        let (done, partial) = if typing_new_word {
            (words.as_slice(), "")
        } else {
            (&words[..words.len() - 1], *words.last().unwrap_or(&""))
        };
        let mut out: Vec<String> = match done {
            [] => keymap::COMMANDS
                .iter()
                .map(|c| c.names[0].to_string())
                .filter(|n| n.starts_with(partial))
                .collect(),
            [cmd] => match keymap::command(cmd).map(|c| c.arg) {
                Some(ArgKind::Object(kind)) => {
                    let objs = self.objects();
                    objs.names(kind, self.scope.as_deref())
                }
                Some(ArgKind::Namespace) => {
                    let mut v = self.objects().names(Kind::Namespace, None);
                    v.insert(0, "all".into());
                    v
                }
                Some(ArgKind::Context) => self.session.contexts.clone(),
                Some(ArgKind::LabAction) => vec!["restart".into()],
                Some(ArgKind::Lesson) => {
                    self.session.lessons.iter().map(|l| l.id.clone()).collect()
                }
                _ => Vec::new(),
            }
            .into_iter()
            .filter(|n| n.starts_with(partial))
            .collect(),
            _ => Vec::new(),
        };
        out.dedup();
        out
    }

    pub fn run_command(&mut self, text: &str, now: DateTime<Utc>) -> Vec<Cmd> {
        let mut words = text.split_whitespace();
        let Some(name) = words.next() else {
            return Vec::new();
        };
        let arg = words.next();
        let rest = text[name.len()..].trim();
        let Some(spec) = keymap::command(name) else {
            self.say(
                format!("unknown command :{name} (Tab lists commands, ? shows help)"),
                Level::Error,
                now,
            );
            return Vec::new();
        };
        match (spec.arg, arg) {
            (ArgKind::None, _) if spec.names[0] == "q" => {
                self.quit = true;
                return vec![Cmd::Quit];
            }
            (ArgKind::None, _) if spec.names[0] == "help" => self.open(View::Help, now),
            (ArgKind::None, _) if spec.names[0] == "slo" => {
                self.open(View::Slo, now);
                self.focus = super::app::Focus::Main;
            }
            (ArgKind::None, _) => self.open(View::Watches, now),
            (ArgKind::Object(kind), Some(name)) => self.open_named(kind, name, now),
            (ArgKind::Object(kind), None) => self.say(
                format!(
                    "usage: {} (Tab completes {} names)",
                    spec.usage,
                    kind.name()
                ),
                Level::Error,
                now,
            ),
            (ArgKind::Namespace, Some("all")) | (ArgKind::Namespace, None) => {
                self.scope = None;
                self.mark_tree_stale();
                self.say("showing all namespaces", Level::Info, now);
            }
            (ArgKind::Namespace, Some(ns)) => {
                if self
                    .objects()
                    .names(Kind::Namespace, None)
                    .iter()
                    .any(|n| n == ns)
                {
                    self.scope = Some(ns.to_string());
                    self.mark_tree_stale();
                    self.say(format!("namespace {ns}"), Level::Info, now);
                } else {
                    self.say(format!("namespace {ns:?} not found"), Level::Error, now);
                }
            }
            (ArgKind::Context, None) => {
                let list = self
                    .session
                    .contexts
                    .iter()
                    .map(|c| {
                        if *c == self.session.context {
                            format!("*{c}")
                        } else {
                            c.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("  ");
                self.say(format!("contexts: {list}"), Level::Info, now);
            }
            // The kubeconfig is read again first: a context added since is found.
            (ArgKind::Context, Some(ctx)) => {
                self.say(format!("switching to context {ctx}"), Level::Info, now);
                return vec![Cmd::SwitchContext(ctx.to_string())];
            }
            // Whether there is a lab to restart is the effects' to say (see `ui/effects.rs`).
            (ArgKind::LabAction, Some("restart")) => return vec![Cmd::RestartLab],
            (ArgKind::LabAction, _) => self.say("usage: :lab restart", Level::Error, now),
            (ArgKind::PromQl, _) if rest.is_empty() => {
                self.say(format!("usage: {}", spec.usage), Level::Error, now)
            }
            (ArgKind::PromQl, _) => {
                self.open(View::Query, now);
                self.focus = super::app::Focus::Main;
                self.feeds.query_pending = Some(rest.to_string());
                return vec![Cmd::Query {
                    expr: rest.to_string(),
                    range: spec.names[0] == "range",
                }];
            }
            (ArgKind::TriageTarget, arg) => self.run_triage_command(arg, now),
            (ArgKind::Lesson, None) => self.say(
                format!(
                    "usage: :lesson ID ({})",
                    self.session
                        .lessons
                        .iter()
                        .map(|l| l.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Level::Error,
                now,
            ),
            (ArgKind::Lesson, Some(id)) => {
                if !self.session.lessons.iter().any(|l| l.id == id) {
                    self.say(
                        format!("no lesson {id:?} (Tab lists them)"),
                        Level::Error,
                        now,
                    );
                    return Vec::new();
                }
                self.open(View::Lesson, now);
                self.focus = super::app::Focus::Main;
                self.feeds.open_lesson(id);
                return vec![Cmd::OpenLesson(id.to_string())];
            }
        }
        Vec::new()
    }

    /// `:svc web`: in the scope's namespace, or the only namespace holding that name.
    fn open_named(&mut self, kind: Kind, name: &str, now: DateTime<Utc>) {
        let objs = self.objects();
        let namespaces = objs.namespaces_of(kind, name);
        let ns = match (&self.scope, namespaces.as_slice()) {
            (Some(s), found) if found.contains(s) => s.clone(),
            (_, [only]) => only.clone(),
            (_, []) => {
                self.say(
                    format!("no {} named {name:?}", kind.name()),
                    Level::Error,
                    now,
                );
                return;
            }
            (_, many) => {
                self.say(
                    format!(
                        "{} {name:?} is in {}: use :ns first",
                        kind.name(),
                        many.join(", ")
                    ),
                    Level::Error,
                    now,
                );
                return;
            }
        };
        let key = ObjKey::new(kind, Some(&ns), name);
        self.open(super::app::view_for(&key), now);
        self.focus = super::app::Focus::Main;
    }
}

fn replace_last_word(text: &str, word: &str, finished: bool) -> String {
    let base = if text.ends_with(' ') || text.is_empty() {
        text.to_string()
    } else {
        match text.rfind(' ') {
            Some(i) => text[..=i].to_string(),
            None => String::new(),
        }
    };
    format!("{base}{word}{}", if finished { " " } else { "" })
}

fn common_prefix(words: &[String]) -> String {
    let first = &words[0];
    let mut len = first.len();
    for w in &words[1..] {
        len = len.min(
            first
                .chars()
                .zip(w.chars())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    first.chars().take(len).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_replaces_only_the_last_word() {
        assert_eq!(replace_last_word("sv", "svc", true), "svc ");
        assert_eq!(replace_last_word("svc w", "web", true), "svc web ");
        assert_eq!(replace_last_word("svc ", "we", false), "svc we");
        assert_eq!(common_prefix(&["web".into(), "webhook".into()]), "web");
    }
}
