//! The tree filter (`/`): typing narrows the tree and opens every branch with a match;
//! Esc clears it and restores what was open.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use kdive_core::model::tree::TreeNode;

use super::{App, Input};

impl App {
    pub(super) fn filter_key(&mut self, key: KeyEvent) {
        let Input::Filter(line) = &mut self.input else {
            return;
        };
        match key.code {
            KeyCode::Esc => {
                self.filter.clear();
                self.input = Input::Normal;
            }
            KeyCode::Enter => self.input = Input::Normal,
            KeyCode::Backspace => {
                line.text.pop();
                self.filter = line.text.clone();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                line.text.push(c);
                self.filter = line.text.clone();
            }
            _ => {}
        }
        self.tree_stale = true;
    }
}

pub(super) fn open_all(
    nodes: &[TreeNode],
    path: &mut Vec<String>,
    state: &mut tui_tree_widget::TreeState<String>,
) {
    for n in nodes {
        if n.children.is_empty() {
            continue;
        }
        path.push(n.id.clone());
        state.open(path.clone());
        open_all(&n.children, path, state);
        path.pop();
    }
}
