//! Text a guest controls (error and panic messages, output lines) made safe
//! for errors and logs: bounded in length, control characters escaped.

use std::fmt::Write as _;

/// Longest guest message kept in an error, in bytes.
pub(crate) const MAX_MESSAGE_BYTES: usize = 1024;

/// `text` cut to at most `max` bytes (on a character boundary, noting how
/// much was cut) with control characters (newlines, escape sequences, ...)
/// written as `\n`, `\u{1b}` and so on, so that a guest can neither flood a
/// log nor forge log lines or terminal output.
pub(crate) fn sanitize(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 16);
    let mut kept = 0;
    for (index, c) in text.char_indices() {
        let before = out.len();
        if c.is_control() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                other => {
                    let _ = write!(out, "\\u{{{:x}}}", other as u32);
                }
            }
        } else {
            out.push(c);
        }
        if out.len() > max {
            out.truncate(before);
            let _ = write!(out, "… ({} more bytes)", text.len() - index);
            return out;
        }
        kept = index + c.len_utf8();
    }
    debug_assert_eq!(kept, text.len());
    out
}

/// A guest message for an error: [`sanitize`] at [`MAX_MESSAGE_BYTES`].
pub(crate) fn summary(text: &str) -> String {
    sanitize(text, MAX_MESSAGE_BYTES)
}

/// Like [`summary`], but leaves text that needs no change unallocated.
pub(crate) fn summary_owned(text: String) -> String {
    let clean = text.len() <= MAX_MESSAGE_BYTES && !text.chars().any(char::is_control);
    if clean { text } else { summary(&text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(
            sanitize("a\nb\r\t\u{1b}[31mred\0", 100),
            "a\\nb\\r\\t\\u{1b}[31mred\\u{0}"
        );
        assert_eq!(sanitize("plain ünïcode", 100), "plain ünïcode");
    }

    #[test]
    fn truncates_on_a_character_boundary() {
        let text = "é".repeat(100); // 200 bytes
        let out = sanitize(&text, 11);
        assert!(out.starts_with("ééééé…"), "{out}");
        assert!(out.ends_with("(190 more bytes)"), "{out}");
        let long = "x".repeat(10_000);
        assert!(summary(&long).len() < MAX_MESSAGE_BYTES + 32);
    }

    #[test]
    fn clean_text_is_kept_as_is() {
        let text = String::from("fine");
        assert_eq!(summary_owned(text), "fine");
        assert_eq!(summary_owned("bad\nline".into()), "bad\\nline");
    }
}
