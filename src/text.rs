//! Values read back from IAM, Kubernetes, API errors or km-config.yaml are
//! shown with their control characters made visible, so nobody who can
//! write such a value (a ServiceAccount annotation, a trust policy, an API
//! server's message) can move the cursor, erase or rewrite lines, retitle
//! the terminal or write the clipboard (OSC 52). JSON and YAML output stay
//! exact: those formats escape on their own.

use std::borrow::Cow;

/// One value on one line: every control character (including newlines),
/// and the bidirectional overrides that reorder what is shown, escaped.
pub fn visible(value: &str) -> Cow<'_, str> {
    escape(value, false)
}

/// Text of several lines (an error message): newlines kept, everything
/// else escaped as `visible` does.
pub fn visible_lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn hidden(c: char, keep_newlines: bool) -> bool {
    (c.is_control() && !(keep_newlines && c == '\n'))
        // LRE, RLE, PDF, LRO, RLO and the isolates: "Trojan source" reordering.
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn escape(value: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !value.chars().any(|c| hidden(c, keep_newlines)) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            c if !hidden(c, keep_newlines) => out.push(c),
            '\u{1b}' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_borrowed_unchanged() {
        let v = "arn:aws:iam::333333333333:role/km-cluster-dev ünïcode";
        assert!(matches!(visible(v), Cow::Borrowed(s) if s == v));
    }

    #[test]
    fn terminal_sequences_cannot_reach_the_screen() {
        let attack = "ok\u{1b}[2K\r\u{1b}[1A\u{1b}]0;pwned\u{7}\u{1b}]52;c;Y2xpcA==\u{7}\u{9b}31m";
        let shown = visible(attack);
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert_eq!(
            shown,
            "ok\\e[2K\\r\\e[1A\\e]0;pwned\\u{7}\\e]52;c;Y2xpcA==\\u{7}\\u{9b}31m"
        );
    }

    #[test]
    fn newlines_and_bidi_overrides_are_escaped_in_values() {
        assert_eq!(visible("a\nWARNING: fake"), "a\\nWARNING: fake");
        assert_eq!(visible("x\u{202E}gnp.exe"), "x\\u{202e}gnp.exe");
        assert_eq!(visible("tab\there"), "tab\\there");
    }

    #[test]
    fn messages_keep_their_lines() {
        assert_eq!(visible_lines("one\ntwo\u{1b}[2K"), "one\ntwo\\e[2K");
    }
}
