//! Popups: help, confirmations, the journal editor, the resolve form, the state picker, and
//! command-line completions.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::clean;
use crate::domain::JournalKind;
use crate::tui::commandline::COMMANDS;
use crate::tui::editor::Editor;
use crate::tui::state::{Confirm, ConfirmFocus, Popup, Prompt, ResolveField, ResolveForm, State};
use crate::tui::theme::Role;

/// A centred rectangle of at most `w`×`h` inside `area`.
pub(super) fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

pub(super) fn dialog<'a>(s: &State, title: String, danger: bool) -> Block<'a> {
    let role = if danger { Role::DialogDanger } else { Role::DialogBorder };
    Block::default()
        .borders(Borders::ALL)
        .border_style(s.theme.style(role))
        .title(Span::styled(format!(" {title} "), s.theme.style(Role::Title)))
}

/// Draws the open popup over the view.
pub(super) fn render(frame: &mut Frame, state: &State, popup: &Popup) {
    let body = state.chrome().body;
    match popup {
        Popup::Help { scroll } => HelpPopup { state, scroll: *scroll }.render(body, frame.buffer_mut()),
        Popup::Confirm(c) => ConfirmPopup { state, confirm: c }.render(body, frame.buffer_mut()),
        Popup::Journal { ticket, kind, editor } => {
            let what = if *kind == JournalKind::WorkNote { "Work note" } else { "Comment (the caller sees it)" };
            let rect = centred(body, body.width.saturating_sub(4).min(100), body.height.saturating_sub(2).min(16));
            let title = format!("{what} on {}", clean(&ticket.number));
            let cursor = JournalPopup { state, title, editor }.draw(rect, frame.buffer_mut());
            if let Some(c) = cursor {
                frame.set_cursor_position(c);
            }
        }
        Popup::Resolve(form) => {
            let rect = centred(body, body.width.saturating_sub(4).min(100), body.height.saturating_sub(2).min(20));
            if let Some(c) = (ResolvePopup { state, form }).draw(rect, frame.buffer_mut()) {
                frame.set_cursor_position(c);
            }
        }
        Popup::ChangeState { ticket, choices, selected } => {
            let labels: Vec<String> = choices.iter().map(|c| c.label.clone()).collect();
            StatePopup { state, number: &ticket.number, labels: &labels, selected: *selected }
                .render(body, frame.buffer_mut())
        }
        Popup::Decide(form) => super::access::render_decide(frame, state, form),
        Popup::RequestForm(form) => super::access::render_form(frame, state, form),
    }
}

/// The keys of the current view, generated from the keymap.
pub struct HelpPopup<'a> {
    /// The state.
    pub state: &'a State,
    /// Scroll, in lines.
    pub scroll: usize,
}

impl Widget for HelpPopup<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let theme = &s.theme;
        let rect = centred(area, area.width.saturating_sub(4).min(90), area.height.saturating_sub(1));
        Clear.render(rect, buf);
        let block = dialog(s, "Keys (esc closes, j/k scroll)".into(), false);
        let inner = block.inner(rect);
        block.render(rect, buf);
        let mut lines: Vec<Line> = Vec::new();
        for (ctx, bindings) in s.keymap.help(s.screen().contexts()) {
            lines.push(Line::styled(
                format!("{} ([keys.{}])", title_of(ctx.name()), ctx.name()),
                theme.style(Role::Header),
            ));
            for (keys, desc) in bindings {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {keys:<18}"), theme.style(Role::KeyHint)),
                    Span::raw(desc),
                ]));
            }
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled("Command line (:, Tab completes)", theme.style(Role::Header)));
        for (cmd, arg, desc) in COMMANDS.iter().filter(|(c, _, _)| *c != "q") {
            lines.push(Line::from(vec![
                Span::styled(format!("  :{cmd} {arg:<10}"), theme.style(Role::KeyHint)),
                Span::raw(*desc),
            ]));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Filter (/): fzf syntax: 'exact ^prefix suffix$ !not; terms separated by spaces must all match",
            theme.style(Role::Muted),
        ));
        if s.read_only {
            lines.push(Line::styled("Read-only: keys that change things are switched off.", theme.style(Role::Warn)));
        }
        let max = lines.len().saturating_sub(usize::from(inner.height));
        let shown: Vec<Line> = lines.into_iter().skip(self.scroll.min(max)).collect();
        Paragraph::new(shown).render(inner, buf);
    }
}

fn title_of(ctx: &str) -> String {
    match ctx {
        "nav" => "Moving around".into(),
        "marks" => "Marks".into(),
        "global" => "Everywhere".into(),
        other => {
            let mut c = other.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        }
    }
}

/// A question before a change that is hard to undo; focus starts on Cancel.
pub struct ConfirmPopup<'a> {
    /// The state.
    pub state: &'a State,
    /// The question.
    pub confirm: &'a Confirm,
}

impl Widget for ConfirmPopup<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let c = self.confirm;
        let theme = &s.theme;
        let h = (c.lines.len() as u16 + 6).min(area.height);
        let rect = centred(area, 64.min(area.width.saturating_sub(2)), h);
        Clear.render(rect, buf);
        let block = dialog(s, clean(&c.title).into_owned(), true);
        let inner = block.inner(rect);
        block.render(rect, buf);
        let mut lines: Vec<Line> = c.lines.iter().map(|l| Line::raw(clean(l).into_owned())).collect();
        lines.push(Line::raw(""));
        let button = |label: &str, focused: bool| {
            let text = if focused { format!("> {label} <") } else { format!("  {label}  ") };
            Span::styled(text, theme.style(if focused { Role::ButtonFocus } else { Role::Button }))
        };
        lines.push(Line::from(vec![
            button("Cancel", c.focus == ConfirmFocus::Cancel),
            Span::raw("   "),
            button(&c.confirm_label, c.focus == ConfirmFocus::Confirm),
        ]));
        lines.push(Line::styled("tab switches, enter chooses, esc cancels", theme.style(Role::Muted)));
        Paragraph::new(lines).render(inner, buf);
    }
}

/// Draws an editor in `area`; returns where the terminal cursor goes when it has focus.
fn draw_editor(s: &State, editor: &Editor, area: Rect, focused: bool, buf: &mut Buffer) -> Option<(u16, u16)> {
    let height = usize::from(area.height).max(1);
    let width = usize::from(area.width).max(1);
    let (row, col) = editor.cursor();
    let top = row.saturating_sub(height - 1);
    let hscroll = editor.scroll(width);
    let lines: Vec<Line> = editor
        .lines()
        .enumerate()
        .skip(top)
        .take(height)
        .map(|(i, l)| {
            let skip = if i == row { hscroll } else { 0 };
            Line::raw(l.chars().skip(skip).collect::<String>())
        })
        .collect();
    Paragraph::new(lines).style(s.theme.style(Role::Text)).render(area, buf);
    focused.then(|| (area.x + (col - hscroll) as u16, area.y + (row - top) as u16))
}

/// The work note / comment editor.
pub struct JournalPopup<'a> {
    /// The state.
    pub state: &'a State,
    /// Title.
    pub title: String,
    /// The text.
    pub editor: &'a Editor,
}

impl JournalPopup<'_> {
    fn draw(self, rect: Rect, buf: &mut Buffer) -> Option<(u16, u16)> {
        Clear.render(rect, buf);
        let block = dialog(self.state, self.title, false);
        let inner = block.inner(rect);
        block.render(rect, buf);
        let hint_area = Rect { y: inner.y + inner.height.saturating_sub(1), height: 1.min(inner.height), ..inner };
        Line::styled("ctrl-s sends · enter new line · esc keeps a draft", self.state.theme.style(Role::Muted))
            .render(hint_area, buf);
        let text_area = Rect { height: inner.height.saturating_sub(1), ..inner };
        draw_editor(self.state, self.editor, text_area, true, buf)
    }
}

impl Widget for JournalPopup<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        self.draw(area, buf);
    }
}

/// The resolve form: close code and notes.
pub struct ResolvePopup<'a> {
    /// The state.
    pub state: &'a State,
    /// The form.
    pub form: &'a ResolveForm,
}

impl ResolvePopup<'_> {
    fn draw(self, rect: Rect, buf: &mut Buffer) -> Option<(u16, u16)> {
        let s = self.state;
        let f = self.form;
        let theme = &s.theme;
        Clear.render(rect, buf);
        let block = dialog(s, format!("Resolve {}", clean(&f.ticket.number)), false);
        let inner = block.inner(rect);
        block.render(rect, buf);
        let codes_h = (f.codes.len() as u16 + 1).min(inner.height / 2).max(2);
        let mut lines = vec![Line::styled(
            "Close code",
            theme.style(if f.focus == ResolveField::Code { Role::Title } else { Role::Header }),
        )];
        let room = usize::from(codes_h.saturating_sub(1));
        let offset = f.code.saturating_sub(room.saturating_sub(1));
        for (i, code) in f.codes.iter().enumerate().skip(offset).take(room) {
            let chosen = i == f.code;
            let mark = if chosen { "(*)" } else { "( )" };
            let line = Line::raw(format!(" {mark} {}", clean(code)));
            lines.push(if chosen && f.focus == ResolveField::Code {
                line.style(theme.style(Role::Selection))
            } else {
                line
            });
        }
        Paragraph::new(lines).render(Rect { height: codes_h, ..inner }, buf);
        let notes_title = Rect { y: inner.y + codes_h, height: 1, ..inner };
        Line::styled(
            "Close notes (required)",
            theme.style(if f.focus == ResolveField::Notes { Role::Title } else { Role::Header }),
        )
        .render(notes_title, buf);
        let hint_y = inner.y + inner.height.saturating_sub(1);
        let notes = Rect { y: notes_title.y + 1, height: hint_y.saturating_sub(notes_title.y + 1), ..inner };
        let cursor = draw_editor(s, &f.notes, notes, f.focus == ResolveField::Notes, buf);
        let hint = match &f.problem {
            Some(p) => Line::styled(clean(p).into_owned(), theme.style(Role::Error)),
            None => Line::styled("tab switches field · ctrl-s resolves · esc cancels", theme.style(Role::Muted)),
        };
        hint.render(Rect { y: hint_y, height: 1, ..inner }, buf);
        cursor
    }
}

impl Widget for ResolvePopup<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        self.draw(area, buf);
    }
}

/// Picking a ticket's new state.
pub struct StatePopup<'a> {
    /// The state.
    pub state: &'a State,
    /// Ticket number.
    pub number: &'a str,
    /// State labels.
    pub labels: &'a [String],
    /// Highlighted one.
    pub selected: usize,
}

impl Widget for StatePopup<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let rect = centred(area, 40, self.labels.len() as u16 + 4);
        Clear.render(rect, buf);
        let block = dialog(s, format!("Set {} to", clean(self.number)), false);
        let inner = block.inner(rect);
        block.render(rect, buf);
        let mut lines: Vec<Line> = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let sel = i == self.selected;
                let line = Line::raw(format!("{} {l}", if sel { s.theme.symbols.selected.as_str() } else { " " }));
                if sel { line.style(s.theme.style(Role::Selection)) } else { line }
            })
            .collect();
        lines.push(Line::styled("enter sets · esc cancels", s.theme.style(Role::Muted)));
        Paragraph::new(lines).render(inner, buf);
    }
}

/// Candidates for the command line, above the status line.
pub struct CompletionPopup<'a> {
    /// The state.
    pub state: &'a State,
    /// The prompt.
    pub prompt: &'a Prompt,
}

impl Widget for CompletionPopup<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let p = self.prompt;
        let n = p.completions.len().min(8);
        if n == 0 || area.height < 3 {
            return;
        }
        let chosen = p.chosen.unwrap_or(0);
        let offset = chosen.saturating_sub(n - 1);
        let width = p.completions.iter().map(|c| c.chars().count()).max().unwrap_or(0).clamp(10, 50) as u16 + 4;
        let h = n as u16 + 2;
        let rect = Rect {
            x: area.x,
            y: area.y + area.height.saturating_sub(h),
            width: width.min(area.width),
            height: h.min(area.height),
        };
        Clear.render(rect, buf);
        let block = Block::default().borders(Borders::ALL).border_style(s.theme.style(Role::DialogBorder));
        let inner = block.inner(rect);
        block.render(rect, buf);
        let lines: Vec<Line> = p
            .completions
            .iter()
            .enumerate()
            .skip(offset)
            .take(n)
            .map(|(i, c)| {
                let line = Line::raw(clean(c).into_owned());
                if p.chosen == Some(i) { line.style(s.theme.style(Role::Selection)) } else { line }
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}
