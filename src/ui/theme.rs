//! Colours and the symbols paired with them. With `NO_COLOR` set, only modifiers are used,
//! and every state still reads from its symbol.

use ratatui::style::{Color, Modifier, Style};

pub use kdive_core::model::status::Health;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Theme {
        Theme::for_no_color(std::env::var_os("NO_COLOR").as_deref())
    }

    /// The theme for a given `NO_COLOR` value (set and non-empty: no colour).
    pub fn for_no_color(value: Option<&std::ffi::OsStr>) -> Theme {
        Theme {
            color: value.is_none_or(|v| v.is_empty()),
        }
    }

    pub fn mono() -> Theme {
        Theme { color: false }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn health(&self, h: Health) -> Style {
        match h {
            Health::Ok => self.fg(Color::Green),
            Health::Warn => self.fg(Color::Yellow),
            Health::Bad => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Health::None => self.muted(),
        }
    }

    pub fn muted(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn heading(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan)
    }

    /// Rows that changed a moment ago.
    pub fn changed(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn selected(&self, focused: bool) -> Style {
        let s = Style::new().add_modifier(Modifier::REVERSED);
        if focused {
            s.add_modifier(Modifier::BOLD)
        } else {
            s
        }
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.muted()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_drops_colours_but_keeps_modifiers() {
        assert!(Theme::for_no_color(None).color);
        assert!(Theme::for_no_color(Some("".as_ref())).color);
        let mono = Theme::for_no_color(Some("1".as_ref()));
        assert!(!mono.color);
        for h in [Health::Ok, Health::Warn, Health::Bad, Health::None] {
            assert_eq!(mono.health(h).fg, None);
            assert!(!h.glyph().is_empty(), "every state has a symbol");
        }
        assert!(mono.changed().add_modifier.contains(Modifier::REVERSED));
        assert_eq!(
            Theme::for_no_color(None).health(Health::Bad).fg,
            Some(Color::Red)
        );
    }
}
