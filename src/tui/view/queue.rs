//! The queue table: only the rows on screen are built, whatever the queue's size.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::{clean, highlighted, priority_role, span_text, state_role};
use crate::tui::effect::QueueRow;
use crate::tui::filter::Highlighter;
use crate::tui::state::{SortKey, State};
use crate::tui::theme::Role;

/// The queue of the current saved view.
pub struct QueueView<'a> {
    /// The state.
    pub state: &'a State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Number,
    Priority,
    State,
    Sla,
    Age,
    Caller,
    Group,
    Assigned,
    Summary,
}

impl Col {
    fn header(self) -> &'static str {
        match self {
            Col::Number => "Number",
            Col::Priority => "P",
            Col::State => "State",
            Col::Sla => "SLA",
            Col::Age => "Age",
            Col::Caller => "Caller",
            Col::Group => "Group",
            Col::Assigned => "Assigned to",
            Col::Summary => "Short description",
        }
    }

    fn sort(self) -> Option<SortKey> {
        Some(match self {
            Col::Number => SortKey::Number,
            Col::Priority => SortKey::Priority,
            Col::State => SortKey::State,
            Col::Sla => SortKey::Sla,
            Col::Age => SortKey::Age,
            Col::Caller => SortKey::Caller,
            Col::Group => SortKey::Group,
            Col::Assigned => SortKey::AssignedTo,
            Col::Summary => return None,
        })
    }
}

/// Columns that fit `width`, with their widths; the summary takes what is left.
fn columns(width: u16) -> Vec<(Col, Constraint)> {
    let mut cols = vec![
        (Col::Number, Constraint::Length(11)),
        (Col::Priority, Constraint::Length(2)),
        (Col::State, Constraint::Length(11)),
        (Col::Sla, Constraint::Length(6)),
    ];
    if width >= 100 {
        cols.push((Col::Age, Constraint::Length(4)));
    }
    cols.push((Col::Caller, Constraint::Length(if width >= 160 { 20 } else { 15 })));
    if width >= 120 {
        cols.push((Col::Group, Constraint::Length(if width >= 160 { 20 } else { 15 })));
        cols.push((Col::Assigned, Constraint::Length(if width >= 160 { 18 } else { 14 })));
    }
    cols.push((Col::Summary, Constraint::Min(10)));
    cols
}

/// The SLA cell: how long past due (breached), or how long left.
fn sla(state: &State, row: &QueueRow) -> (String, Role) {
    let sym = &state.theme.symbols.breached;
    match row.sla_due {
        Some(due) if row.sla_breached || due <= state.now => {
            (format!("{sym}{}", span_text(state.now - due)), Role::SlaBreached)
        }
        Some(due) if due - state.now < chrono::Duration::hours(4) => (span_text(due - state.now), Role::SlaAtRisk),
        Some(due) => (span_text(due - state.now), Role::SlaOk),
        None if row.sla_breached => (sym.clone(), Role::SlaBreached),
        None => ("-".into(), Role::Muted),
    }
}

impl Widget for QueueView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let theme = &s.theme;
        let layout = s.queue_layout();
        if let (Some(strip), Some(d)) = (layout.strip, s.dashboard.as_ref()) {
            super::DashboardStripView { state: s, dashboard: d }.render(strip, buf);
        }
        let area = layout.table.intersection(area);
        let q = &s.queue;
        if q.shown() == 0 {
            let msg = if let Some(e) = &q.error {
                vec![
                    Line::styled(format!("Could not load {}:", q.view.title()), theme.style(Role::Error)),
                    Line::raw(clean(e).into_owned()),
                    Line::styled("R reloads", theme.style(Role::Muted)),
                ]
            } else if q.loading && q.rows.is_empty() {
                vec![Line::styled(format!("Loading {}…", q.view.title()), theme.style(Role::Muted))]
            } else if !q.list.query().is_empty() {
                vec![
                    Line::raw(format!("Nothing in {} matches /{}", q.view.title(), clean(q.list.query()))),
                    Line::styled("esc clears the filter", theme.style(Role::Muted)),
                ]
            } else {
                vec![
                    Line::raw(format!("No tickets in {}.", q.view.title())),
                    Line::styled("1-5 switch views, :view NAME", theme.style(Role::Muted)),
                ]
            };
            let y = area.y + area.height / 3;
            Paragraph::new(msg)
                .alignment(Alignment::Center)
                .render(Rect { y, height: area.height - (y - area.y), ..area }, buf);
            return;
        }
        let cols = columns(area.width);
        let arrow = if q.descending { "v" } else { "^" };
        let header = Row::new(std::iter::once(Cell::from("")).chain(cols.iter().map(|(c, _)| {
            let mark = if c.sort() == Some(q.sort) { arrow } else { "" };
            Cell::from(format!("{}{mark}", c.header()))
        })))
        .style(theme.style(Role::Header));
        let highlighter = Highlighter::new(q.list.query());
        let hit = theme.style(Role::Match);
        let height = layout.rows();
        let start = q.cursor.offset;
        let visible = q.list.visible();
        let end = (start + height).min(visible.len());
        let rows = visible[start..end].iter().enumerate().map(|(i, &idx)| {
            let row = &q.rows[idx as usize];
            let selected = start + i == q.cursor.selected;
            let marked = q.marks.contains(&row.sys_id);
            let text = |t: &str, base: Style| -> Cell<'static> {
                let t = clean(t);
                Cell::from(highlighted(&t, &highlighter.indices(&t), base, hit))
            };
            let cells = cols.iter().map(|(c, _)| match c {
                Col::Number => text(&row.number, if marked { theme.style(Role::Mark) } else { Style::default() }),
                Col::Priority => Cell::from(Span::styled(
                    if row.priority == 0 { "-".into() } else { row.priority.to_string() },
                    theme.style(priority_role(row.priority)),
                )),
                Col::State => text(&row.state, theme.style(state_role(&row.state))),
                Col::Sla => {
                    let (t, role) = sla(s, row);
                    Cell::from(Span::styled(t, theme.style(role)))
                }
                Col::Age => Cell::from(Span::styled(span_text(s.now - row.opened_at), theme.style(Role::Muted))),
                Col::Caller => text(&row.caller, Style::default()),
                Col::Group => text(&row.assignment_group, Style::default()),
                Col::Assigned => {
                    if row.assigned_to.is_empty() {
                        Cell::from(Span::styled("-", theme.style(Role::Muted)))
                    } else {
                        text(&row.assigned_to, Style::default())
                    }
                }
                Col::Summary => text(&row.short_description, Style::default()),
            });
            let r = Row::new(std::iter::once(super::gutter(s, selected, marked)).chain(cells));
            if selected { r.style(theme.style(Role::Selection)) } else { r }
        });
        let widths = std::iter::once(Constraint::Length(2)).chain(cols.iter().map(|(_, w)| *w));
        Table::new(rows, widths).header(header).column_spacing(1).render(area, buf);
    }
}
