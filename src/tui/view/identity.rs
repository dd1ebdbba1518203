//! Okta users and groups.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Widget};

use super::ticket::profile_lines;
use super::{ago, clean, freshness, highlighted, span_text, status_span, when};
use crate::tui::filter::Highlighter;
use crate::tui::layout;
use crate::tui::state::{GroupScreen, ListCursor, State, UserScreen};
use crate::tui::theme::Role;

/// An Okta user: profile and status, groups, apps, System Log events.
pub struct UserView<'a> {
    /// The state.
    pub state: &'a State,
    /// The open user.
    pub screen: &'a UserScreen,
}

fn list_block<'a>(s: &State, title: Line<'a>, focused: bool) -> Block<'a> {
    let role = if focused { Role::BorderFocus } else { Role::Border };
    Block::default().borders(Borders::ALL).border_style(s.theme.style(role)).title(title)
}

/// Draws the visible slice of a list of lines with the selection marked.
fn draw_list(
    s: &State,
    len: usize,
    line: impl Fn(usize) -> Line<'static>,
    cursor: &ListCursor,
    focused: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    let height = usize::from(area.height);
    let shown: Vec<Line> = (cursor.offset.min(len)..(cursor.offset + height).min(len))
        .map(|i| (i, line(i)))
        .map(|(i, l)| {
            let selected = focused && i == cursor.selected;
            let mut spans =
                vec![Span::raw(if selected { format!("{} ", s.theme.symbols.selected) } else { "  ".into() })];
            spans.extend(l.spans);
            let line = Line::from(spans);
            if selected { line.style(s.theme.style(Role::Selection)) } else { line }
        })
        .collect();
    Paragraph::new(shown).render(area, buf);
}

impl Widget for UserView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let u = self.screen;
        let theme = &s.theme;
        let loaded = s.users.get(&u.login);
        let l = layout::user(area, u.focus);
        let title = Line::from(vec![
            Span::styled(format!(" {} ", clean(&u.login)), theme.style(Role::Title)),
            Span::styled(
                format!("{} ", freshness(s, loaded.and_then(|x| x.source), loaded.is_some_and(|x| x.loading))),
                theme.style(Role::Muted),
            ),
        ]);
        let block = list_block(s, title, false);
        let inner = block.inner(l.profile);
        block.render(l.profile, buf);
        let Some(d) = loaded.and_then(|x| x.data.as_ref()) else {
            let msg = match loaded.and_then(|x| x.error.as_ref()) {
                Some(e) => vec![
                    Line::styled("Could not load this user:", theme.style(Role::Error)),
                    Line::raw(clean(e).into_owned()),
                ],
                None => vec![Line::styled("Loading…", theme.style(Role::Muted))],
            };
            Paragraph::new(msg).render(inner, buf);
            return;
        };
        let mut lines = profile_lines(s, d);
        let changed = d.user.status_changed.map_or("-".into(), |t| ago(s.now, t));
        lines.push(Line::from(vec![
            Span::styled("Created ", theme.style(Role::Muted)),
            Span::raw(format!("{}   status changed {changed}", when(d.user.created))),
        ]));
        Paragraph::new(lines).render(inner, buf);

        let narrow = l.lists.iter().filter(|x| x.is_some()).count() == 1;
        let titles = [
            format!("Groups ({})", d.groups.len()),
            format!("Apps ({})", d.apps.len()),
            format!("System Log ({})", d.events.len()),
        ];
        for (i, area) in l.lists.iter().enumerate() {
            let Some(area) = *area else { continue };
            let focused = u.focus as usize == i;
            let title = if narrow {
                let mut spans = Vec::new();
                for (j, t) in titles.iter().enumerate() {
                    let role = if j == i { Role::Title } else { Role::Muted };
                    spans.push(Span::styled(format!(" {t} "), theme.style(role)));
                }
                Line::from(spans)
            } else {
                Line::styled(format!(" {} ", titles[i]), theme.style(if focused { Role::Title } else { Role::Muted }))
            };
            let block = list_block(s, title, focused);
            let inner = block.inner(area);
            block.render(area, buf);
            let mut events: Vec<_> = if i == 2 { d.events.iter().collect() } else { Vec::new() };
            events.sort_by_key(|e| std::cmp::Reverse(e.published));
            let len = [d.groups.len(), d.apps.len(), events.len()][i];
            // Only the lines on screen are built.
            let line = |k: usize| -> Line<'static> {
                match i {
                    0 => {
                        let g = &d.groups[k];
                        Line::from(vec![
                            Span::raw(clean(&g.name).into_owned()),
                            Span::styled(format!("  {}", clean(g.kind.as_str())), theme.style(Role::Muted)),
                        ])
                    }
                    1 => {
                        let a = &d.apps[k];
                        Line::from(vec![
                            Span::raw(clean(&a.label).into_owned()),
                            Span::styled(
                                format!("  {} {}", clean(&a.name), clean(&a.status)),
                                theme.style(Role::Muted),
                            ),
                        ])
                    }
                    _ => {
                        let e = events[k];
                        let role =
                            if e.outcome == "SUCCESS" || e.outcome == "ALLOW" { Role::Muted } else { Role::Warn };
                        Line::from(vec![
                            Span::styled(format!("{} ", when(e.published)), theme.style(Role::Muted)),
                            Span::raw(format!("{} ", clean(&e.event_type))),
                            Span::styled(format!("{} ", clean(&e.outcome)), theme.style(role)),
                            Span::styled(
                                format!("by {} {}", clean(&e.actor.alternate_id), clean(&e.display_message)),
                                theme.style(Role::Muted),
                            ),
                        ])
                    }
                }
            };
            if len == 0 {
                Paragraph::new(Line::styled("(none)", theme.style(Role::Muted))).render(inner, buf);
            } else {
                draw_list(s, len, line, &u.cursors[i], focused, inner, buf);
            }
        }
    }
}

/// An Okta group: what it is, what it grants, and who is in it.
pub struct GroupView<'a> {
    /// The state.
    pub state: &'a State,
    /// The open group.
    pub screen: &'a GroupScreen,
}

impl Widget for GroupView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let g = self.screen;
        let theme = &s.theme;
        let loaded = s.groups.get(&g.name);
        let l = layout::group(area);
        let name = loaded.and_then(|x| x.data.as_ref()).map_or(g.name.clone(), |d| d.group.name.clone());
        let title = Line::from(vec![
            Span::styled(format!(" {} ", clean(&name)), theme.style(Role::Title)),
            Span::styled(
                format!("{} ", freshness(s, loaded.and_then(|x| x.source), loaded.is_some_and(|x| x.loading))),
                theme.style(Role::Muted),
            ),
        ]);
        let block = list_block(s, title, false);
        let inner = block.inner(l.info);
        block.render(l.info, buf);
        let Some(d) = loaded.and_then(|x| x.data.as_ref()) else {
            let msg = match loaded.and_then(|x| x.error.as_ref()) {
                Some(e) => vec![
                    Line::styled("Could not load this group:", theme.style(Role::Error)),
                    Line::raw(clean(e).into_owned()),
                ],
                None => vec![Line::styled("Loading…", theme.style(Role::Muted))],
            };
            Paragraph::new(msg).render(inner, buf);
            return;
        };
        let gr = &d.group;
        let apps: Vec<String> = d.apps.iter().map(|a| clean(&a.label).into_owned()).collect();
        let membership = gr.last_membership_updated.map_or("-".into(), |t| ago(s.now, t));
        let info = vec![
            Line::from(vec![
                Span::styled("Type    ", theme.style(Role::Muted)),
                Span::raw(format!(
                    "{}   members {}   last membership change {membership}",
                    clean(gr.kind.as_str()),
                    d.members.len()
                )),
            ]),
            Line::from(vec![
                Span::styled("About   ", theme.style(Role::Muted)),
                Span::raw(clean(&gr.description).into_owned()),
            ]),
            Line::from(vec![
                Span::styled("Grants  ", theme.style(Role::Muted)),
                Span::raw(if apps.is_empty() { "no apps".into() } else { apps.join(", ") }),
            ]),
            Line::from(vec![Span::styled("Created ", theme.style(Role::Muted)), Span::raw(when(gr.created))]),
        ];
        Paragraph::new(info).render(inner, buf);

        let shown = g.members.visible();
        let title = if g.members.query().is_empty() {
            format!(" Members ({}) ", d.members.len())
        } else {
            format!(" Members ({} of {}, /{}) ", shown.len(), d.members.len(), clean(g.members.query()))
        };
        let block = list_block(s, Line::styled(title, theme.style(Role::Title)), true);
        let inner = block.inner(l.members);
        block.render(l.members, buf);
        let height = usize::from(inner.height.saturating_sub(1));
        let wide = inner.width >= 100;
        let highlighter = Highlighter::new(g.members.query());
        let hit = theme.style(Role::Match);
        let start = g.cursor.offset.min(shown.len());
        let end = (start + height).min(shown.len());
        let rows = shown[start..end].iter().enumerate().map(|(i, &idx)| {
            let u = &d.members[idx as usize];
            let selected = start + i == g.cursor.selected;
            let text = |t: &str| {
                let t = clean(t);
                Cell::from(highlighted(&t, &highlighter.indices(&t), Style::default(), hit))
            };
            let mut cells = vec![
                Cell::from(if selected { s.theme.symbols.selected.clone() } else { " ".into() }),
                text(&u.login),
                text(&u.display_name()),
                Cell::from(status_span(s, &u.status)),
            ];
            if wide {
                cells.push(text(&u.department));
            }
            cells.push(Cell::from(Span::styled(
                u.last_login.map_or("never".into(), |t| span_text(s.now - t)),
                theme.style(Role::Muted),
            )));
            let row = Row::new(cells);
            if selected { row.style(theme.style(Role::Selection)) } else { row }
        });
        let mut header = vec!["", "Login", "Name", "Status"];
        let mut widths =
            vec![Constraint::Length(1), Constraint::Min(20), Constraint::Length(20), Constraint::Length(18)];
        if wide {
            header.push("Department");
            widths.push(Constraint::Length(12));
        }
        header.push("Last in");
        widths.push(Constraint::Length(7));
        let header = Row::new(header).style(theme.style(Role::Header));
        Table::new(rows, widths).header(header).column_spacing(1).render(inner, buf);
    }
}
