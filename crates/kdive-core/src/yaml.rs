//! serde-saphyr errors as kdive reports them: `file:line: message`, with the line counted
//! in the whole file even when only a chunk of it (a document, a fenced block) was parsed.

/// Where a YAML error is and what it says, on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line in the file.
    pub line: usize,
    pub message: String,
}

/// Locates a serde-saphyr error whose text started on line `first_line` of the file. The
/// library's `line N column M` is relative to the parsed text; it is shifted here and
/// dropped from the message (with the `error: ` prefix and the snippet lines after it),
/// since the caller reports the line itself. No known line means the text's first line.
pub fn locate(error: &serde_saphyr::Error, first_line: usize) -> YamlError {
    let text = error.to_string();
    let line = error
        .location()
        .map(|l| l.line() as usize)
        .or_else(|| line_in_message(&text))
        .unwrap_or(1);
    YamlError {
        line: first_line + line.saturating_sub(1),
        message: one_line_message(&text),
    }
}

/// The first line of the message without serde-saphyr's `error: line N column M: ` prefix.
fn one_line_message(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first.strip_prefix("line ").and_then(|m| m.split_once(": ")) {
        Some((_, rest)) => rest.to_string(),
        None => first.to_string(),
    }
}

/// The `N` of the first `line N` in a message.
fn line_in_message(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let pos = lower.find("line ")?;
    let digits: String = lower[pos + 5..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(yaml: &str) -> serde_saphyr::Error {
        serde_saphyr::from_str::<serde_json::Value>(yaml).unwrap_err()
    }

    #[test]
    fn the_line_is_shifted_to_the_file_and_left_out_of_the_message() {
        let e = error("a: 1\nb: [1,\n");
        let at_top = locate(&e, 1);
        let shifted = locate(&e, 10);
        assert_eq!(shifted.line, at_top.line + 9);
        assert!(at_top.line >= 2, "{at_top:?}");
        assert!(!at_top.message.is_empty());
        assert!(!at_top.message.contains('\n'), "{at_top:?}");
        assert!(!at_top.message.starts_with("error: "), "{at_top:?}");
        assert!(!at_top.message.starts_with("line "), "{at_top:?}");
    }

    #[test]
    fn prefixes_and_snippets_are_trimmed() {
        assert_eq!(
            one_line_message("error: line 3 column 5: unknown field `x`\n  3 | x: 1\n"),
            "unknown field `x`"
        );
        assert_eq!(one_line_message("invalid type"), "invalid type");
        assert_eq!(line_in_message("error: Line 7 column 2: bad"), Some(7));
        assert_eq!(line_in_message("bad"), None);
    }
}
