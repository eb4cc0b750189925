//! Text from plugins made safe for a terminal.
//!
//! Titles, rationales, notes, log lines, panic messages and summaries come
//! from untrusted plugins (and some from user files). Printed raw, an ESC
//! sequence in them could clear the screen, retitle the window, hide lines
//! or fake output; a bidirectional override could make text read in
//! another order than it is. So every control character (C0, DEL, C1) and
//! every invisible formatting character that can reorder or hide text is
//! shown as an escape (`\u{1b}`, `\n`, `\t`), never interpreted. JSON
//! output does not go through this: it stays exact data, and JSON escaping
//! covers the C0 range.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control and text-reordering character escaped,
/// newlines included: one line of text stays one line on screen.
pub fn escape(text: &str) -> Cow<'_, str> {
    if is_plain(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push(&mut out, c);
    }
    Cow::Owned(out)
}

/// Whether `text` reaches a terminal as itself (nothing to escape).
pub fn is_plain(text: &str) -> bool {
    !text.chars().any(needs_escape)
}

/// `text` escaped like [`escape`] except that its line breaks stay line
/// breaks: for blocks that are several lines by nature (a plugin's stderr,
/// a guest backtrace).
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && needs_escape(c)) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(escape).collect();
    Cow::Owned(lines.join("\n"))
}

/// Whether `c` must not reach a terminal as itself.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061c}'                  // Arabic letter mark
            | '\u{200b}'..='\u{200f}'   // zero-width space/joiners, LRM, RLM
            | '\u{2028}' | '\u{2029}'   // line and paragraph separators
            | '\u{202a}'..='\u{202e}'   // bidirectional embeddings and overrides
            | '\u{2060}'..='\u{2064}'   // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}'   // bidirectional isolates
            | '\u{feff}'                // zero-width no-break space
        )
}

fn push(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_reordering_characters_are_shown_not_interpreted() {
        assert_eq!(escape("plain text, ünïcode"), "plain text, ünïcode");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("title\x1b]0;owned\x07"), "title\\u{1b}]0;owned\\u{7}");
        assert_eq!(escape("one\ntwo\tthree\r"), "one\\ntwo\\tthree\\r");
        assert_eq!(escape("c1 \u{9b}31m del \u{7f}"), "c1 \\u{9b}31m del \\u{7f}");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("zero\u{200b}width"), "zero\\u{200b}width");
    }

    #[test]
    fn blocks_keep_their_lines() {
        assert_eq!(escape_lines("one\ntwo"), "one\ntwo");
        assert_eq!(escape_lines("red \x1b[31m\nnext\r"), "red \\u{1b}[31m\nnext\\r");
    }
}
