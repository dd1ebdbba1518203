//! Terminal safety for text that comes from ServiceNow or Okta.
//!
//! Remote text is data. A ticket description holding `ESC [ 2 J` must render as harmless text,
//! never clear the operator's screen or retitle their terminal. Every string that reaches the
//! screen (TUI or plain CLI output) passes through [`sanitize`] or [`sanitize_line`].

use std::borrow::Cow;

/// True for characters that must never reach a terminal from remote data: C0 controls (except
/// tab and newline, handled by the callers), DEL, C1 controls (which include the 8-bit CSI),
/// and the bidirectional overrides that can make text read differently from what it is.
fn is_dangerous(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Strips control characters and escape sequences from multi-line remote text, keeping
/// newlines and turning tabs into spaces. `\r\n` becomes `\n`; a lone `\r` becomes `\n`.
/// An escape character is replaced by the visible `␛` so tampering is noticed, not hidden.
pub fn sanitize(input: &str) -> Cow<'_, str> {
    if !input.chars().any(|c| is_dangerous(c) || c == '\t' || c == '\r') {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\t' => out.push_str("    "),
            '\u{1b}' => out.push('␛'),
            c if is_dangerous(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Like [`sanitize`], for a single table cell or line: newlines become spaces too.
pub fn sanitize_line(input: &str) -> Cow<'_, str> {
    if !input.chars().any(|c| is_dangerous(c) || c == '\t' || c == '\n' || c == '\r') {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    for c in sanitize(input).chars() {
        out.push(if c == '\n' { ' ' } else { c });
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible_and_inert() {
        let evil = "Printer broken\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m";
        let clean = sanitize(evil);
        assert!(!clean.contains('\u{1b}'));
        assert!(!clean.contains('\u{7}'));
        assert!(!clean.contains('\u{9b}'));
        assert_eq!(clean, "Printer broken␛[2J␛]0;pwned31m");
    }

    #[test]
    fn plain_text_is_borrowed_untouched() {
        assert!(matches!(sanitize("Cannot access Salesforce"), Cow::Borrowed(_)));
        assert!(matches!(sanitize_line("a\nb"), Cow::Owned(_)));
    }

    #[test]
    fn newlines_kept_in_blocks_and_flattened_in_lines() {
        assert_eq!(sanitize("a\r\nb\rc\td"), "a\nb\nc    d");
        assert_eq!(sanitize_line("a\r\nb"), "a b");
    }

    #[test]
    fn bidi_overrides_are_removed() {
        assert_eq!(sanitize("abc\u{202e}def"), "abcdef");
    }
}
