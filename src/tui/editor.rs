//! A small multi-line text editor for work notes, comments and close notes: each line is edited
//! with tui-input (cursor movement, word deletion, yank), Enter splits lines, Backspace at the
//! start of a line joins it to the previous one, Up/Down move between lines.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};

/// The text being written and where the cursor is.
#[derive(Debug, Clone)]
pub struct Editor {
    /// Every line; the one at `row` is stale while `current` holds its live edit.
    lines: Vec<String>,
    row: usize,
    current: Input,
}

impl Default for Editor {
    fn default() -> Self {
        Editor::new("")
    }
}

impl Editor {
    /// An editor holding `text` with the cursor at its end.
    pub fn new(text: &str) -> Editor {
        let lines: Vec<String> =
            if text.is_empty() { vec![String::new()] } else { text.split('\n').map(str::to_string).collect() };
        let row = lines.len() - 1;
        let current = Input::new(lines[row].clone());
        Editor { lines, row, current }
    }

    /// The whole text, lines joined by `\n`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(if i == self.row { self.current.value() } else { line });
        }
        out
    }

    /// True when nothing but whitespace has been written.
    pub fn is_blank(&self) -> bool {
        self.text().trim().is_empty()
    }

    /// The lines as they are now.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().enumerate().map(|(i, l)| if i == self.row { self.current.value() } else { l.as_str() })
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// Cursor as (line, display column).
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.current.visual_cursor())
    }

    /// Horizontal scroll of the cursor's line for a given width.
    pub fn scroll(&self, width: usize) -> usize {
        self.current.visual_scroll(width)
    }

    fn store(&mut self) {
        self.lines[self.row] = self.current.value().to_string();
    }

    fn go_to(&mut self, row: usize, col: usize) {
        self.store();
        self.row = row;
        let chars = self.lines[row].chars().count();
        self.current = Input::new(self.lines[row].clone()).with_cursor(col.min(chars));
    }

    /// Inserts text at the cursor (a paste); newlines split lines and other controls are dropped.
    pub fn insert(&mut self, text: &str) {
        for c in text.chars() {
            match c {
                '\n' => self.newline(),
                '\r' => {}
                '\t' => {
                    for _ in 0..4 {
                        self.current.handle(InputRequest::InsertChar(' '));
                    }
                }
                c if c.is_control() => {}
                c => {
                    self.current.handle(InputRequest::InsertChar(c));
                }
            }
        }
    }

    fn newline(&mut self) {
        let value = self.current.value().to_string();
        let split = value.char_indices().nth(self.current.cursor()).map_or(value.len(), |(b, _)| b);
        let (head, tail) = value.split_at(split);
        self.lines[self.row] = head.to_string();
        self.lines.insert(self.row + 1, tail.to_string());
        self.row += 1;
        self.current = Input::new(tail.to_string()).with_cursor(0);
    }

    /// Applies an editing key; returns false for keys the editor does not use (the caller's:
    /// submit, cancel, switching fields).
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        let plain = key.modifiers - KeyModifiers::SHIFT == KeyModifiers::NONE;
        match key.code {
            KeyCode::Enter if plain => self.newline(),
            KeyCode::Up if plain => {
                if self.row == 0 {
                    return true;
                }
                let col = self.current.cursor();
                self.go_to(self.row - 1, col);
            }
            KeyCode::Down if plain => {
                if self.row + 1 >= self.lines.len() {
                    return true;
                }
                let col = self.current.cursor();
                self.go_to(self.row + 1, col);
            }
            KeyCode::Backspace if plain && self.current.cursor() == 0 && self.row > 0 => {
                let line = self.current.value().to_string();
                self.lines.remove(self.row);
                self.row -= 1;
                let prev = self.lines[self.row].clone();
                let col = prev.chars().count();
                self.lines[self.row] = format!("{prev}{line}");
                self.current = Input::new(self.lines[self.row].clone()).with_cursor(col);
            }
            KeyCode::Delete
                if plain
                    && self.current.cursor() == self.current.value().chars().count()
                    && self.row + 1 < self.lines.len() =>
            {
                let next = self.lines.remove(self.row + 1);
                let col = self.current.cursor();
                let joined = format!("{}{next}", self.current.value());
                self.current = Input::new(joined).with_cursor(col);
            }
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Esc => return false,
            _ => match to_input_request(&Event::Key(key)) {
                Some(req) => {
                    self.current.handle(req);
                }
                None => return false,
            },
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(e: &mut Editor, s: &str) {
        for c in s.chars() {
            assert!(e.handle_key(key(if c == '\n' { KeyCode::Enter } else { KeyCode::Char(c) })));
        }
    }

    #[test]
    fn enter_splits_and_backspace_joins() {
        let mut e = Editor::new("");
        typed(&mut e, "Called the user.\nUnlocked in Okta.");
        assert_eq!(e.text(), "Called the user.\nUnlocked in Okta.");
        assert_eq!(e.cursor(), (1, 17));
        for _ in 0..17 {
            e.handle_key(key(KeyCode::Left));
        }
        e.handle_key(key(KeyCode::Backspace));
        assert_eq!(e.text(), "Called the user.Unlocked in Okta.");
        assert_eq!(e.line_count(), 1);
        e.handle_key(key(KeyCode::Enter));
        assert_eq!(e.text(), "Called the user.\nUnlocked in Okta.");
    }

    #[test]
    fn up_and_down_keep_the_column() {
        let mut e = Editor::new("abcdef\nxy");
        e.handle_key(key(KeyCode::Up));
        assert_eq!(e.cursor(), (0, 2));
        e.handle_key(key(KeyCode::Char('Z')));
        e.handle_key(key(KeyCode::Down));
        assert_eq!(e.text(), "abZcdef\nxy");
        assert_eq!(e.cursor(), (1, 2));
        e.handle_key(key(KeyCode::Home));
        e.handle_key(key(KeyCode::Up));
        e.handle_key(key(KeyCode::End));
        e.handle_key(key(KeyCode::Delete));
        assert_eq!(e.text(), "abZcdefxy");
    }

    #[test]
    fn paste_keeps_lines_and_drops_controls() {
        let mut e = Editor::new("x");
        e.insert("a\r\nb\u{1b}[2Jc\td");
        assert_eq!(e.text(), "xa\nb[2Jc    d");
        assert!(!e.is_blank());
        assert!(Editor::new(" \n ").is_blank());
    }

    #[test]
    fn keys_for_the_caller_are_not_swallowed() {
        let mut e = Editor::new("");
        assert!(!e.handle_key(key(KeyCode::Esc)));
        assert!(!e.handle_key(key(KeyCode::Tab)));
        assert!(!e.handle_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
    }
}
