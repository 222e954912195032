//! The keymap: one table of bindings per context, and the `:` commands. The help pane and
//! the status-bar hints are generated from these tables.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    CommandLine,
    Filter,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Collapse,
    Expand,
    Enter,
    Back,
    FocusNext,
    Yaml,
    Watches,
    Hint,
    CheckNow,
    Triage,
    Logs,
    LogPrevious,
    LogWrap,
    LogSearch,
    LogNextMatch,
    LogPrevMatch,
    LogFollow,
    LogContainer,
}

/// Where a binding applies: everywhere, or only when that pane has focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Tree,
    Main,
    /// The log pane, when it has focus.
    Logs,
}

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub context: Context,
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the keys are written in help.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// Shown in the status bar's hint line.
    pub hint: bool,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

pub const BINDINGS: &[Binding] = &[
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Char('q'), NONE), (KeyCode::Char('c'), CTRL)],
        label: "q, Ctrl-c",
        action: Action::Quit,
        help: "quit",
        hint: true,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT)],
        label: "?",
        action: Action::Help,
        help: "help (generated from the keymap)",
        hint: true,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Char(':'), NONE), (KeyCode::Char(':'), SHIFT)],
        label: ":",
        action: Action::CommandLine,
        help: "command: the command line (Tab completes; see commands below)",
        hint: true,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Char('/'), NONE)],
        label: "/",
        action: Action::Filter,
        help: "filter: the tree by name (Enter keeps it, Esc clears it)",
        hint: true,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Tab, NONE), (KeyCode::BackTab, SHIFT)],
        label: "Tab",
        action: Action::FocusNext,
        help: "focus: move between the tree and the main pane",
        hint: true,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Char('k'), NONE), (KeyCode::Up, NONE)],
        label: "k, ↑",
        action: Action::Up,
        help: "up",
        hint: false,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Char('j'), NONE), (KeyCode::Down, NONE)],
        label: "j, ↓",
        action: Action::Down,
        help: "down",
        hint: true,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::PageUp, NONE), (KeyCode::Char('u'), CTRL)],
        label: "PgUp, Ctrl-u",
        action: Action::PageUp,
        help: "page up",
        hint: false,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::PageDown, NONE), (KeyCode::Char('d'), CTRL)],
        label: "PgDn, Ctrl-d",
        action: Action::PageDown,
        help: "page down",
        hint: false,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Char('g'), NONE), (KeyCode::Home, NONE)],
        label: "g, Home",
        action: Action::Top,
        help: "first line",
        hint: false,
    },
    Binding {
        context: Context::Global,
        keys: &[
            (KeyCode::Char('G'), NONE),
            (KeyCode::Char('G'), SHIFT),
            (KeyCode::End, NONE),
        ],
        label: "G, End",
        action: Action::Bottom,
        help: "last line",
        hint: false,
    },
    Binding {
        context: Context::Tree,
        keys: &[(KeyCode::Char('h'), NONE), (KeyCode::Left, NONE)],
        label: "h, ←",
        action: Action::Collapse,
        help: "close the node (or go to its parent)",
        hint: false,
    },
    Binding {
        context: Context::Tree,
        keys: &[(KeyCode::Right, NONE)],
        label: "→",
        action: Action::Expand,
        help: "open the node",
        hint: false,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Enter, NONE)],
        label: "Enter",
        action: Action::Enter,
        help: "open: Service → chain, Pod → pod view, Deployment/StatefulSet → workload",
        hint: true,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Esc, NONE)],
        label: "Esc",
        action: Action::Back,
        help: "back: to the previous view",
        hint: true,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Char('y'), NONE)],
        label: "y",
        action: Action::Yaml,
        help: "yaml: the selected object (trimmed; Secret values are never loaded)",
        hint: true,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Char('w'), NONE)],
        label: "w",
        action: Action::Watches,
        help: "watches: the inspector (event rates, last events, core/v1 Events)",
        hint: true,
    },
    Binding {
        context: Context::Global,
        keys: &[(KeyCode::Char('t'), NONE)],
        label: "t",
        action: Action::Triage,
        help: "triage: the root cause behind the selected object (its namespace otherwise)",
        hint: true,
    },
];

/// Keys of the lesson view (the main pane); elsewhere they do nothing.
pub const LESSON_BINDINGS: &[Binding] = &[
    Binding {
        context: Context::Main,
        keys: &[(KeyCode::Char('h'), NONE)],
        label: "h",
        action: Action::Hint,
        help: "hint: reveal the next hint of the lesson's step",
        hint: false,
    },
    Binding {
        context: Context::Main,
        keys: &[(KeyCode::Char('c'), NONE)],
        label: "c",
        action: Action::CheckNow,
        help: "check: evaluate the lesson's checks now",
        hint: false,
    },
];

/// Keys of the log pane (`l` on a pod); j/k, PgUp/PgDn, g/G scroll, Esc goes back.
pub const LOG_BINDINGS: &[Binding] = &[
    Binding {
        context: Context::Tree,
        keys: &[(KeyCode::Char('l'), NONE)],
        label: "l",
        action: Action::Logs,
        help: "on a pod: its logs, followed; on other nodes: open the node",
        hint: false,
    },
    Binding {
        context: Context::Main,
        keys: &[(KeyCode::Char('l'), NONE)],
        label: "l",
        action: Action::Logs,
        help: "logs: the pod's log, followed",
        hint: false,
    },
    Binding {
        context: Context::Logs,
        keys: &[(KeyCode::Char('p'), NONE)],
        label: "p",
        action: Action::LogPrevious,
        help: "previous: the last terminated run's log, or back to the current one",
        hint: false,
    },
    Binding {
        context: Context::Logs,
        keys: &[(KeyCode::Char('w'), NONE)],
        label: "w",
        action: Action::LogWrap,
        help: "wrap long lines, or cut them",
        hint: false,
    },
    Binding {
        context: Context::Logs,
        keys: &[(KeyCode::Char('/'), NONE)],
        label: "/",
        action: Action::LogSearch,
        help: "search the log (Enter keeps it, Esc clears it)",
        hint: false,
    },
    Binding {
        context: Context::Logs,
        keys: &[(KeyCode::Char('n'), NONE)],
        label: "n",
        action: Action::LogNextMatch,
        help: "next match",
        hint: false,
    },
    Binding {
        context: Context::Logs,
        keys: &[(KeyCode::Char('N'), NONE), (KeyCode::Char('N'), SHIFT)],
        label: "N",
        action: Action::LogPrevMatch,
        help: "previous match",
        hint: false,
    },
    Binding {
        context: Context::Logs,
        keys: &[(KeyCode::Char('f'), NONE)],
        label: "f",
        action: Action::LogFollow,
        help: "follow: keep the newest line in view, or pause (scrolling up pauses)",
        hint: false,
    },
    Binding {
        context: Context::Logs,
        keys: &[(KeyCode::Char('c'), NONE)],
        label: "c",
        action: Action::LogContainer,
        help: "container: the pod's next container",
        hint: false,
    },
];

/// The action bound to a key in a context (context bindings first, then global ones).
pub fn action_for(key: &KeyEvent, context: Context) -> Option<Action> {
    let matches = |b: &&Binding| {
        b.keys
            .iter()
            .any(|(code, mods)| *code == key.code && key.modifiers == *mods)
    };
    BINDINGS
        .iter()
        .chain(LESSON_BINDINGS)
        .chain(LOG_BINDINGS)
        .filter(|b| b.context == context)
        .find(matches)
        .or_else(|| {
            BINDINGS
                .iter()
                .filter(|b| b.context == Context::Global)
                .find(matches)
        })
        .map(|b| b.action)
}

/// What a `:` command takes as its argument (for completion and help).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    /// An object of this kind, by name (in the current namespace scope).
    Object(kdive_core::model::kind::Kind),
    Namespace,
    Context,
    LabAction,
    /// A lesson id.
    Lesson,
    /// The rest of the line is PromQL.
    PromQl,
    /// `svc/NAME`, `deploy/NAME`, `sts/NAME`, `pod/NAME`, `ns/NAME` or nothing.
    TriageTarget,
}

#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub names: &'static [&'static str],
    pub arg: ArgKind,
    pub usage: &'static str,
    pub help: &'static str,
}

use kdive_core::model::kind::Kind as K;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        names: &["svc", "service", "services"],
        arg: ArgKind::Object(K::Service),
        usage: ":svc NAME",
        help: "open a Service's chain",
    },
    CommandSpec {
        names: &["pod", "pods", "po"],
        arg: ArgKind::Object(K::Pod),
        usage: ":pod NAME",
        help: "open a pod: probes, restarts, volumes, readiness timeline",
    },
    CommandSpec {
        names: &["deploy", "deployment", "deployments"],
        arg: ArgKind::Object(K::Deployment),
        usage: ":deploy NAME",
        help: "open a Deployment's rollout view",
    },
    CommandSpec {
        names: &["sts", "statefulset", "statefulsets"],
        arg: ArgKind::Object(K::StatefulSet),
        usage: ":sts NAME",
        help: "open a StatefulSet's ordinals and claims",
    },
    CommandSpec {
        names: &["ns", "namespace"],
        arg: ArgKind::Namespace,
        usage: ":ns NAME|all",
        help: "show one namespace (or all)",
    },
    CommandSpec {
        names: &["slo", "slos"],
        arg: ArgKind::None,
        usage: ":slo",
        help: "SLO burn (from Prometheus) next to the Services that cause it",
    },
    CommandSpec {
        names: &["triage"],
        arg: ArgKind::TriageTarget,
        usage: ":triage [TGT]",
        help: "root cause of TGT: svc/, deploy/, sts/, pod/ or ns/NAME (none: the namespace)",
    },
    CommandSpec {
        names: &["query"],
        arg: ArgKind::PromQl,
        usage: ":query PROMQL",
        help: "run an instant query; the result as a table",
    },
    CommandSpec {
        names: &["range"],
        arg: ArgKind::PromQl,
        usage: ":range PROMQL",
        help: "run a query over the last hour; a table and a chart",
    },
    CommandSpec {
        names: &["lesson", "lessons"],
        arg: ArgKind::Lesson,
        usage: ":lesson ID",
        help: "open a lesson; h hint, c check now (kdive lesson list shows ids)",
    },
    CommandSpec {
        names: &["ctx", "context"],
        arg: ArgKind::Context,
        usage: ":ctx [NAME]",
        help: "list kubeconfig contexts, or switch to one",
    },
    CommandSpec {
        names: &["watch", "watches"],
        arg: ArgKind::None,
        usage: ":watch",
        help: "the watch inspector",
    },
    CommandSpec {
        names: &["lab"],
        arg: ArgKind::LabAction,
        usage: ":lab restart",
        help: "restart the in-process lab (kdive --lab only)",
    },
    CommandSpec {
        names: &["help"],
        arg: ArgKind::None,
        usage: ":help",
        help: "this help",
    },
    CommandSpec {
        names: &["q", "quit"],
        arg: ArgKind::None,
        usage: ":q",
        help: "quit",
    },
];

pub fn command(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.names.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_bindings_win_over_global_ones() {
        let h = KeyEvent::new(KeyCode::Char('h'), NONE);
        assert_eq!(action_for(&h, Context::Tree), Some(Action::Collapse));
        assert_eq!(action_for(&h, Context::Main), Some(Action::Hint));
        let j = KeyEvent::new(KeyCode::Char('j'), NONE);
        assert_eq!(action_for(&j, Context::Main), Some(Action::Down));
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        let all: Vec<&Binding> = BINDINGS
            .iter()
            .chain(LESSON_BINDINGS)
            .chain(LOG_BINDINGS)
            .collect();
        for a in all.iter().copied() {
            for b in all.iter().copied() {
                if std::ptr::eq(a, b) || a.context != b.context {
                    continue;
                }
                for k in a.keys {
                    assert!(
                        !b.keys.contains(k),
                        "{k:?} bound to {:?} and {:?}",
                        a.action,
                        b.action
                    );
                }
            }
        }
    }
}
