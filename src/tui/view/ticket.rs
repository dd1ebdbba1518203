//! A ticket beside its caller's Okta account.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::{ago, clean, freshness, priority_role, state_role, status_span, when, wrap};
use crate::domain::text::sanitize;
use crate::domain::{ApprovalState, JournalKind};
use crate::tui::effect::{TicketDetail, UserDetail};
use crate::tui::layout;
use crate::tui::state::{State, TicketPane, TicketScreen};
use crate::tui::theme::Role;

/// The ticket view: the ticket pane and the caller's Okta pane, side by side when wide enough.
pub struct TicketView<'a> {
    /// The state.
    pub state: &'a State,
    /// The open ticket.
    pub screen: &'a TicketScreen,
}

fn pane_block<'a>(state: &State, title: Line<'a>, focused: bool) -> Block<'a> {
    let role = if focused { Role::BorderFocus } else { Role::Border };
    Block::default().borders(Borders::ALL).border_style(state.theme.style(role)).title(title)
}

impl Widget for TicketView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let t = self.screen;
        let l = layout::ticket(area, t.focus);
        let side_by_side = l.ticket.is_some() && l.okta.is_some();
        let user = t.caller_login.as_ref().and_then(|login| s.users.get(login));
        if let Some(pane) = l.ticket {
            let loaded = s.tickets.get(&t.number);
            let title = Line::from(vec![
                Span::styled(format!(" {} ", clean(&t.number)), s.theme.style(Role::Title)),
                Span::styled(
                    format!("{} ", freshness(s, loaded.and_then(|x| x.source), loaded.is_some_and(|x| x.loading))),
                    s.theme.style(Role::Muted),
                ),
            ]);
            let block = pane_block(s, title, t.focus == TicketPane::Ticket && side_by_side);
            let inner = block.inner(pane);
            block.render(pane, buf);
            let mut lines: Vec<Line> = Vec::new();
            if !side_by_side {
                lines.push(okta_summary(s, t, user.and_then(|u| u.data.as_ref())));
            }
            match loaded.and_then(|x| x.data.as_ref()) {
                Some(d) => lines.extend(ticket_lines(s, d, usize::from(inner.width))),
                None => match loaded.and_then(|x| x.error.as_ref()) {
                    Some(e) => {
                        lines.push(Line::styled(
                            format!("Could not load {}:", clean(&t.number)),
                            s.theme.style(Role::Error),
                        ));
                        lines.push(Line::raw(clean(e).into_owned()));
                        lines.push(Line::styled("R reloads", s.theme.style(Role::Muted)));
                    }
                    None => lines.push(Line::styled("Loading…", s.theme.style(Role::Muted))),
                },
            }
            let max = lines.len().saturating_sub(usize::from(inner.height));
            let scroll = t.scroll.min(max);
            let shown: Vec<Line> = lines.into_iter().skip(scroll).take(usize::from(inner.height)).collect();
            Paragraph::new(shown).render(inner, buf);
        }
        if let Some(pane) = l.okta {
            OktaAccountView { state: s, screen: t, focused: t.focus == TicketPane::Okta && side_by_side }
                .render(pane, buf);
        }
    }
}

/// How many lines the ticket pane's text takes at the current size (for scrolling).
pub fn ticket_pane_lines(s: &State, t: &TicketScreen) -> usize {
    let l = layout::ticket(s.chrome().body, t.focus);
    let Some(pane) = l.ticket else { return 0 };
    let width = usize::from(pane.width.saturating_sub(2));
    let summary = usize::from(l.okta.is_none());
    let body = s.tickets.get(&t.number).and_then(|x| x.data.as_ref()).map_or(3, |d| ticket_lines(s, d, width).len());
    summary + body
}

/// One line about the caller's account, for narrow screens where the Okta pane is hidden.
fn okta_summary<'a>(s: &State, t: &TicketScreen, user: Option<&UserDetail>) -> Line<'a> {
    let tab = s.keymap.keys_of(crate::tui::keymap::Context::Global, "next_pane").unwrap_or_default();
    match (user, &t.caller_login) {
        (Some(d), _) => Line::from(vec![
            Span::styled("Okta: ", s.theme.style(Role::Muted)),
            Span::raw(format!("{} ", clean(&d.user.login))),
            status_span(s, &d.user.status),
            Span::styled(format!("  ({tab}: account)"), s.theme.style(Role::Muted)),
        ]),
        (None, Some(login)) => Line::styled(format!("Okta: {} loading…", clean(login)), s.theme.style(Role::Muted)),
        (None, None) => Line::styled("Okta: caller has no login on record", s.theme.style(Role::Muted)),
    }
}

fn field<'a>(s: &State, label: &str, value: String) -> Vec<Span<'a>> {
    vec![Span::styled(format!("{label} "), s.theme.style(Role::Muted)), Span::raw(value)]
}

fn ticket_lines<'a>(s: &State, d: &TicketDetail, width: usize) -> Vec<Line<'a>> {
    let tk = &d.ticket;
    let theme = &s.theme;
    let mut out = Vec::new();
    for l in wrap(&clean(&tk.short_description), width) {
        out.push(Line::styled(l, theme.style(Role::Title)));
    }
    let mut head = vec![
        Span::styled(clean(&tk.state_label).into_owned(), theme.style(state_role(&tk.state_label))),
        Span::raw("  "),
        Span::styled(format!("P{}", tk.priority), theme.style(priority_role(tk.priority))),
        Span::raw("  "),
    ];
    match tk.sla_due {
        Some(due) if tk.sla_breached || due <= s.now => head.push(Span::styled(
            format!("{} SLA breached {}", theme.symbols.breached, ago(s.now, due)),
            theme.style(Role::SlaBreached),
        )),
        Some(due) => head.push(Span::styled(format!("SLA due {}", ago(s.now, due)), theme.style(Role::SlaOk))),
        None => {}
    }
    out.push(Line::from(head));
    let caller = if tk.caller_email.is_empty() {
        clean(&tk.caller.display).into_owned()
    } else {
        format!("{} <{}>", clean(&tk.caller.display), clean(&tk.caller_email))
    };
    out.push(Line::from(field(s, "Caller  ", caller)));
    let assigned =
        if tk.assigned_to.is_empty() { "-".to_string() } else { clean(&tk.assigned_to.display).into_owned() };
    let mut l = field(s, "Group   ", clean(&tk.assignment_group.display).into_owned());
    l.extend(field(s, "   Assigned", assigned));
    out.push(Line::from(l));
    let mut l = field(s, "Opened  ", format!("{} ({})", when(tk.opened_at), ago(s.now, tk.opened_at)));
    l.extend(field(s, "   Updated", format!("{} by {}", ago(s.now, tk.updated_at), clean(&tk.updated_by))));
    out.push(Line::from(l));
    if !tk.cat_item.is_empty() {
        out.push(Line::from(field(s, "Item    ", clean(&tk.cat_item).into_owned())));
    }
    if !tk.close_code.is_empty() {
        out.push(Line::from(field(s, "Closed  ", format!("{}: {}", clean(&tk.close_code), clean(&tk.close_notes)))));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Description", theme.style(Role::Header)));
    let desc = sanitize(&tk.description);
    if desc.trim().is_empty() {
        out.push(Line::styled("(none)", theme.style(Role::Muted)));
    }
    for para in desc.lines() {
        for l in wrap(para, width) {
            out.push(Line::raw(l));
        }
    }
    if !d.approvals.is_empty() {
        out.push(Line::raw(""));
        out.push(Line::styled(format!("Approvals ({})", d.approvals.len()), theme.style(Role::Header)));
        for a in &d.approvals {
            let (label, role) = match &a.state {
                ApprovalState::Requested => ("? requested", Role::ApprovalRequested),
                ApprovalState::Approved => ("+ approved", Role::ApprovalApproved),
                ApprovalState::Rejected => ("x rejected", Role::ApprovalRejected),
                other => (other.value(), Role::Muted),
            };
            let mut spans = vec![
                Span::styled(format!("{label:<12}"), theme.style(role)),
                Span::raw(format!("{}  ", clean(&a.approver.display))),
                Span::styled(ago(s.now, a.updated_on), theme.style(Role::Muted)),
            ];
            if !a.comments.is_empty() {
                spans.push(Span::raw(format!("  \"{}\"", clean(&a.comments))));
            }
            out.push(Line::from(spans));
        }
    }
    out.push(Line::raw(""));
    out.push(Line::styled(format!("Journal ({})", d.journal.len()), theme.style(Role::Header)));
    let mut journal: Vec<_> = d.journal.iter().collect();
    journal.sort_by_key(|j| std::cmp::Reverse(j.created_on));
    if journal.is_empty() {
        out.push(Line::styled("(no work notes or comments yet)", theme.style(Role::Muted)));
    }
    for j in journal {
        let (kind, role) = match j.kind {
            JournalKind::WorkNote => ("work note", Role::WorkNote),
            JournalKind::Comment => ("comment", Role::Comment),
        };
        out.push(Line::from(vec![
            Span::styled(format!("{} ", when(j.created_on)), theme.style(Role::Muted)),
            Span::styled(format!("{kind} "), theme.style(role)),
            Span::raw(clean(&j.created_by).into_owned()),
        ]));
        for para in sanitize(&j.value).lines() {
            for l in wrap(para, width.saturating_sub(2)) {
                out.push(Line::raw(format!("  {l}")));
            }
        }
    }
    out
}

/// The caller's Okta account: status (unmissable when it blocks sign-in), last login, groups,
/// apps, and the latest System Log events.
pub struct OktaAccountView<'a> {
    /// The state.
    pub state: &'a State,
    /// The open ticket.
    pub screen: &'a TicketScreen,
    /// Has the keyboard (its groups are selectable).
    pub focused: bool,
}

impl Widget for OktaAccountView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let t = self.screen;
        let theme = &s.theme;
        let loaded = t.caller_login.as_ref().and_then(|l| s.users.get(l));
        let title = Line::from(vec![
            Span::styled(" Okta account ", theme.style(Role::Title)),
            Span::styled(
                format!("{} ", freshness(s, loaded.and_then(|x| x.source), loaded.is_some_and(|x| x.loading))),
                theme.style(Role::Muted),
            ),
        ]);
        let block = pane_block(s, title, self.focused || t.focus == TicketPane::Okta);
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(d) = loaded.and_then(|x| x.data.as_ref()) else {
            let msg = match (&t.caller_login, loaded.and_then(|x| x.error.as_ref())) {
                (None, _) => vec![Line::styled("The caller has no Okta login on record.", theme.style(Role::Muted))],
                (Some(l), Some(e)) => vec![
                    Line::styled(format!("Could not load {}:", clean(l)), theme.style(Role::Error)),
                    Line::raw(clean(e).into_owned()),
                ],
                (Some(l), None) => vec![Line::styled(format!("Loading {}…", clean(l)), theme.style(Role::Muted))],
            };
            Paragraph::new(msg).render(inner, buf);
            return;
        };
        let mut head: Vec<Line> = Vec::new();
        if t.focus == TicketPane::Okta && layout::ticket(s.chrome().body, t.focus).ticket.is_none() {
            let summary =
                s.tickets.get(&t.number).and_then(|x| x.data.as_ref()).map(|d| d.ticket.short_description.clone());
            head.push(Line::styled(
                format!("{}: {}", clean(&t.number), clean(&summary.unwrap_or_default())),
                theme.style(Role::Muted),
            ));
        }
        head.extend(profile_lines(s, d));
        let head_h = (head.len() as u16).min(inner.height);
        Paragraph::new(head).render(Rect { height: head_h, ..inner }, buf);
        let rest = Rect { y: inner.y + head_h, height: inner.height - head_h, ..inner };
        if rest.height < 3 {
            return;
        }
        // Room by need: events get at least a few lines, groups what they need up to half.
        let labels: Vec<String> = d.apps.iter().map(|a| clean(&a.label).into_owned()).collect();
        let app_lines = wrap(&labels.join(", "), usize::from(rest.width));
        let apps_h = (app_lines.len() as u16 + 1).min(rest.height / 4).max(2);
        let groups_h = (d.groups.len() as u16 + 1).min(rest.height / 2).max(2);
        let groups = Rect { height: groups_h, ..rest };
        let apps = Rect { y: rest.y + groups_h, height: apps_h.min(rest.height - groups_h), ..rest };
        let events_y = apps.y + apps.height;
        let events = Rect { y: events_y, height: rest.height.saturating_sub(events_y - rest.y), ..rest };

        // Groups: selectable when the pane has the keyboard.
        let mut lines = vec![Line::styled(format!("Groups ({})", d.groups.len()), theme.style(Role::Header))];
        let room = usize::from(groups.height.saturating_sub(1));
        let sel = t.groups.selected.min(d.groups.len().saturating_sub(1));
        let offset = sel.saturating_sub(room.saturating_sub(1));
        for (i, g) in d.groups.iter().enumerate().skip(offset).take(room) {
            let selected = t.focus == TicketPane::Okta && i == sel;
            let prefix = if selected { theme.symbols.selected.as_str() } else { " " };
            let line = Line::from(vec![
                Span::raw(format!("{prefix} {}", clean(&g.name))),
                Span::styled(format!("  {}", clean(g.kind.as_str())), theme.style(Role::Muted)),
            ]);
            lines.push(if selected { line.style(theme.style(Role::Selection)) } else { line });
        }
        Paragraph::new(lines).render(groups, buf);

        let mut lines = vec![Line::styled(format!("Apps ({})", d.apps.len()), theme.style(Role::Header))];
        lines.extend(app_lines.into_iter().map(Line::raw));
        Paragraph::new(lines).render(apps, buf);

        let mut events_sorted: Vec<_> = d.events.iter().collect();
        events_sorted.sort_by_key(|e| std::cmp::Reverse(e.published));
        let mut lines = vec![Line::styled("Recent System Log events", theme.style(Role::Header))];
        if events_sorted.is_empty() {
            lines.push(Line::styled("(none)", theme.style(Role::Muted)));
        }
        for e in events_sorted.into_iter().take(usize::from(events.height.saturating_sub(1))) {
            let outcome_role = if e.outcome == "SUCCESS" || e.outcome == "ALLOW" { Role::Muted } else { Role::Warn };
            lines.push(Line::from(vec![
                Span::styled(format!("{:>4} ", super::span_text(s.now - e.published)), theme.style(Role::Muted)),
                Span::raw(format!("{} ", clean(&e.event_type))),
                Span::styled(clean(&e.outcome).into_owned(), theme.style(outcome_role)),
            ]));
        }
        Paragraph::new(lines).render(events, buf);
    }
}

/// The profile and status lines shared by the ticket's Okta pane and the user view.
pub(crate) fn profile_lines<'a>(s: &State, d: &UserDetail) -> Vec<Line<'a>> {
    let u = &d.user;
    let theme = &s.theme;
    let mut out = vec![Line::from(vec![
        Span::styled(clean(&u.display_name()).into_owned(), Style::default().add_modifier(Modifier::BOLD)),
        Span::styled(format!("  {}", clean(&u.login)), theme.style(Role::Muted)),
    ])];
    let mut status = vec![Span::styled("Status   ", theme.style(Role::Muted)), status_span(s, &u.status)];
    let hint = match u.status {
        crate::domain::UserStatus::LockedOut => s
            .keymap
            .keys_of(crate::tui::keymap::Context::Ticket, "unlock")
            .map(|k| format!("  cannot sign in; {k} unlocks")),
        crate::domain::UserStatus::Suspended => Some("  cannot sign in (suspended)".to_string()),
        crate::domain::UserStatus::Deprovisioned => Some("  deactivated".to_string()),
        _ => None,
    };
    if let Some(h) = hint {
        status.push(Span::styled(h, theme.style(Role::Warn)));
    }
    out.push(Line::from(status));
    let last_login = u.last_login.map_or("never".to_string(), |t| format!("{} ({})", when(t), ago(s.now, t)));
    out.push(Line::from(field(s, "Login   ", last_login)));
    let pw = u.password_changed.map_or("-".to_string(), |t| ago(s.now, t));
    out.push(Line::from(field(s, "Password", format!("changed {pw}"))));
    let mut who = format!("{} · {}", clean(&u.title), clean(&u.department));
    if !u.user_type.is_empty() {
        who.push_str(&format!(" · {}", clean(&u.user_type)));
    }
    out.push(Line::from(field(s, "Job     ", who)));
    if let Some(m) = &d.manager {
        out.push(Line::from(field(s, "Manager ", clean(m).into_owned())));
    }
    out
}
