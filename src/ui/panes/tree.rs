//! The resource tree (tui-tree-widget over [`kdive_core::model::tree`]).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Scrollbar, ScrollbarOrientation};
use tui_tree_widget::{Tree, TreeItem, TreeState};

use crate::ui::theme::Theme;
use kdive_core::model::tree::TreeNode;

fn item<'a>(n: &'a TreeNode, theme: &Theme) -> TreeItem<'a, String> {
    let mut spans = Vec::with_capacity(4);
    if n.target.is_some() || !n.children.is_empty() {
        spans.push(super::glyph(n.health, theme));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::raw(n.text.as_str()));
    if !n.detail.is_empty() {
        spans.push(Span::styled(format!("  {}", n.detail), theme.muted()));
    }
    let text = Line::from(spans);
    if n.children.is_empty() {
        return TreeItem::new_leaf(n.id.clone(), text);
    }
    let children: Vec<TreeItem<String>> = n.children.iter().map(|c| item(c, theme)).collect();
    // Ids are unique among siblings by construction; fall back to a leaf if not.
    TreeItem::new(n.id.clone(), text.clone(), children)
        .unwrap_or_else(|_| TreeItem::new_leaf(n.id.clone(), text))
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    nodes: &[TreeNode],
    state: &mut TreeState<String>,
    title: Line<'_>,
    focused: bool,
    theme: &Theme,
) {
    let items: Vec<TreeItem<String>> = nodes.iter().map(|n| item(n, theme)).collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(title);
    let tree = match Tree::new(&items) {
        Ok(t) => t,
        Err(_) => return,
    };
    let tree = tree
        .block(block)
        .highlight_style(theme.selected(focused))
        .experimental_scrollbar(Some(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None)
                .track_symbol(None),
        ));
    frame.render_stateful_widget(tree, area, state);
}
