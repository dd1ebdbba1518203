//! The audit log, newest first, with the hash chain's status.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Widget};

use super::{clean, highlighted, when, wrap};
use crate::domain::text::sanitize;
use crate::tui::effect::AuditVerify;
use crate::tui::filter::Highlighter;
use crate::tui::layout;
use crate::tui::state::State;
use crate::tui::theme::Role;

/// The audit log view.
pub struct AuditView<'a> {
    /// The state.
    pub state: &'a State,
}

impl Widget for AuditView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let a = &s.audit;
        let theme = &s.theme;
        let l = layout::audit(area);

        let verify_key =
            s.keymap.keys_of(crate::tui::keymap::Context::Audit, "verify").unwrap_or_else(|| ":verify".into());
        let chain = match (&a.verify, a.verifying) {
            (_, true) => Span::styled("hash chain: verifying…", theme.style(Role::Info)),
            (AuditVerify::NotChecked, _) => {
                Span::styled(format!("hash chain: not verified yet ({verify_key} verifies)"), theme.style(Role::Muted))
            }
            (AuditVerify::Intact { events }, _) => {
                Span::styled(format!("hash chain: intact, {events} events verified"), theme.style(Role::Success))
            }
            (AuditVerify::Broken { seq, problem }, _) => Span::styled(
                format!("{} hash chain BROKEN at #{seq}: {}", theme.symbols.blocked, clean(problem)),
                theme.style(Role::Error),
            ),
        };
        let mut status = vec![Span::raw(" "), chain];
        if !a.filter.text.is_empty() {
            status.push(Span::styled(format!("   store filter: {}", clean(&a.filter.text)), theme.style(Role::Muted)));
        }
        Line::from(status).render(l.status, buf);

        let shown = a.list.visible();
        if shown.is_empty() {
            let msg = if let Some(e) = &a.error {
                vec![
                    Line::styled("Could not read the audit log:", theme.style(Role::Error)),
                    Line::raw(clean(e).into_owned()),
                ]
            } else if a.loading {
                vec![Line::styled("Loading…", theme.style(Role::Muted))]
            } else {
                vec![Line::raw("No audit events match.")]
            };
            Paragraph::new(msg).alignment(Alignment::Center).render(l.table, buf);
            return;
        }
        let wide = area.width >= 120;
        let height = usize::from(l.table.height.saturating_sub(1));
        let start = a.cursor.offset.min(shown.len());
        let end = (start + height).min(shown.len());
        let highlighter = Highlighter::new(a.list.query());
        let hit = theme.style(Role::Match);
        let rows = shown[start..end].iter().enumerate().map(|(i, &idx)| {
            let r = &a.rows[idx as usize];
            let selected = start + i == a.cursor.selected;
            let text = |t: &str, base: Style| {
                let t = clean(t);
                Cell::from(highlighted(&t, &highlighter.indices(&t), base, hit))
            };
            let outcome_role = match r.outcome.as_str() {
                "success" | "SUCCESS" => Role::Success,
                "failure" | "FAILURE" | "refused" => Role::Error,
                _ => Role::Muted,
            };
            let mut cells = vec![
                Cell::from(if selected { theme.symbols.selected.clone() } else { " ".into() }),
                Cell::from(Span::styled(r.seq.to_string(), theme.style(Role::Muted))),
                Cell::from(if wide { when(r.at) } else { r.at.format("%m-%d %H:%M").to_string() }),
                text(&r.operator, Style::default()),
                text(&r.action, Style::default()),
                text(&r.subject, Style::default()),
            ];
            if wide {
                cells.push(text(&r.object, Style::default()));
            }
            cells.push(text(&r.ticket, Style::default()));
            cells.push(text(&r.outcome, theme.style(outcome_role)));
            let row = Row::new(cells);
            if selected { row.style(theme.style(Role::Selection)) } else { row }
        });
        let mut header = vec!["", "Seq", "When (UTC)", "Operator", "Action", "Subject"];
        let mut widths = vec![
            Constraint::Length(1),
            Constraint::Length(if wide { 6 } else { 4 }),
            Constraint::Length(if wide { 16 } else { 11 }),
            Constraint::Length(if wide { 16 } else { 10 }),
            Constraint::Length(if wide { 26 } else { 14 }),
            Constraint::Min(10),
        ];
        if wide {
            header.push("Object");
            widths.push(Constraint::Length(24));
        }
        header.extend(["Ticket", "Outcome"]);
        widths.extend([Constraint::Length(11), Constraint::Length(8)]);
        Table::new(rows, widths)
            .header(Row::new(header).style(theme.style(Role::Header)))
            .column_spacing(1)
            .render(l.table, buf);

        if l.detail.height > 1 {
            let block =
                Block::default().borders(Borders::TOP).border_style(theme.style(Role::Border)).title(" Details ");
            let inner = block.inner(l.detail);
            block.render(l.detail, buf);
            if let Some(r) = shown.get(a.cursor.selected).map(|&i| &a.rows[i as usize]) {
                let mut lines = vec![Line::from(vec![
                    Span::styled(format!("#{} ", r.seq), theme.style(Role::Title)),
                    Span::raw(format!(
                        "{} {} {} {}",
                        clean(&r.operator),
                        clean(&r.action),
                        clean(&r.object),
                        if r.ticket.is_empty() { String::new() } else { format!("({})", clean(&r.ticket)) }
                    )),
                ])];
                for para in sanitize(&r.details).lines() {
                    for w in wrap(para, usize::from(inner.width)) {
                        lines.push(Line::styled(w, theme.style(Role::Muted)));
                    }
                }
                Paragraph::new(lines).render(inner, buf);
            }
        }
    }
}
