//! Drawing. Everything here reads `&State` and writes cells; nothing changes the state, awaits, or
//! does I/O. Every string from ServiceNow or Okta goes through `domain::text::sanitize*` before it
//! becomes a cell. Lists build rows only for the lines on screen.

mod access;
mod audit;
mod dashboard;
mod identity;
mod popup;
mod queue;
mod ticket;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::domain::UserStatus;
use crate::domain::text::sanitize_line;
use crate::tui::effect::DataSource;
use crate::tui::keymap::Context;
use crate::tui::state::{Level, PromptKind, Screen, State};
use crate::tui::theme::Role;

pub use access::{BulkView, ExpiringView, InboxView, OrphansView, RequestView};
pub use audit::AuditView;
pub use dashboard::{DashboardStripView, DashboardView};
pub use identity::{GroupView, UserView};
pub use popup::{CompletionPopup, ConfirmPopup, HelpPopup, JournalPopup, ResolvePopup, StatePopup};
pub use queue::QueueView;
pub use ticket::{OktaAccountView, TicketView, ticket_pane_lines};

/// Draws the whole console for `state`.
pub fn render(frame: &mut Frame, state: &State) {
    let area = frame.area();
    let chrome = crate::tui::layout::chrome(area, state.read_only);
    let buf = frame.buffer_mut();
    buf.set_style(area, state.theme.style(Role::Text));
    CrumbsView { state }.render(chrome.crumbs, buf);
    if let Some(banner) = chrome.banner {
        Paragraph::new(Line::from(format!(
            "{} READ-ONLY: nothing can be changed from this console (--read-only)",
            state.theme.symbols.blocked
        )))
        .alignment(Alignment::Center)
        .style(state.theme.style(Role::ReadOnlyBanner))
        .render(banner, buf);
    }
    match state.screen() {
        Screen::Queue => QueueView { state }.render(chrome.body, buf),
        Screen::Ticket(t) => TicketView { state, screen: t }.render(chrome.body, buf),
        Screen::User(u) => UserView { state, screen: u }.render(chrome.body, buf),
        Screen::Group(g) => GroupView { state, screen: g }.render(chrome.body, buf),
        Screen::Audit => AuditView { state }.render(chrome.body, buf),
        Screen::Dashboard => DashboardView { state }.render(chrome.body, buf),
        Screen::Inbox => InboxView { state }.render(chrome.body, buf),
        Screen::Request(r) => RequestView { state, screen: r }.render(chrome.body, buf),
        Screen::Bulk => BulkView { state }.render(chrome.body, buf),
        Screen::Expiring => ExpiringView { state }.render(chrome.body, buf),
        Screen::Orphans => OrphansView { state }.render(chrome.body, buf),
    }
    StatusLineView { state }.render(chrome.status, buf);
    if let Some(prompt) = &state.prompt {
        if !prompt.completions.is_empty() {
            CompletionPopup { state, prompt }.render(chrome.body, buf);
        }
        // One column for the `:` or `/` in front of the text.
        let prefix = 1;
        let width = usize::from(chrome.status.width.saturating_sub(prefix + 1)).max(1);
        let x = chrome.status.x + prefix + (prompt.input.visual_cursor() - prompt.input.visual_scroll(width)) as u16;
        frame.set_cursor_position((x.min(chrome.status.right().saturating_sub(1)), chrome.status.y));
    }
    if let Some(popup) = &state.popup {
        popup::render(frame, state, popup);
    }
}

/// Remote text made safe for one cell or line.
pub(crate) fn clean(s: &str) -> Cow<'_, str> {
    sanitize_line(s)
}

/// The two-column gutter of a list line: the selection and the mark symbols (so neither depends
/// on colour), in the mark's style when marked.
pub(crate) fn gutter(state: &State, selected: bool, marked: bool) -> ratatui::widgets::Cell<'static> {
    let symbols = &state.theme.symbols;
    let text = format!(
        "{}{}",
        if selected { symbols.selected.as_str() } else { " " },
        if marked { symbols.marked.as_str() } else { " " }
    );
    let style = if marked { state.theme.style(Role::Mark) } else { Style::default() };
    ratatui::widgets::Cell::from(Span::styled(text, style))
}

/// "12m", "3h", "5d": how long ago (or until, for future times) in one short word.
pub(crate) fn span_text(d: chrono::Duration) -> String {
    let s = d.num_seconds().abs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        86_400..=1_209_599 => format!("{}d", s / 86_400),
        _ => format!("{}w", s / 604_800),
    }
}

/// "3d ago".
pub(crate) fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    if t > now { format!("in {}", span_text(t - now)) } else { format!("{} ago", span_text(now - t)) }
}

/// A time as the console writes it (UTC, minutes).
pub(crate) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// The role a ServiceNow state label is drawn in.
pub(crate) fn state_role(label: &str) -> Role {
    match label.to_ascii_lowercase().as_str() {
        "new" | "open" => Role::StateNew,
        "on hold" | "pending" => Role::StateOnHold,
        "resolved" | "closed complete" => Role::StateResolved,
        "closed" | "closed incomplete" | "closed skipped" => Role::StateClosed,
        "canceled" | "cancelled" => Role::StateCanceled,
        _ => Role::StateInProgress,
    }
}

/// The role a priority is drawn in.
pub(crate) fn priority_role(p: u8) -> Role {
    match p {
        1 => Role::P1,
        2 => Role::P2,
        3 => Role::P3,
        4 => Role::P4,
        _ => Role::P5,
    }
}

/// The role an Okta status is drawn in.
pub(crate) fn status_role(s: &UserStatus) -> Role {
    match s {
        UserStatus::Active => Role::OktaActive,
        UserStatus::Staged => Role::OktaStaged,
        UserStatus::Provisioned => Role::OktaProvisioned,
        UserStatus::Recovery => Role::OktaRecovery,
        UserStatus::PasswordExpired => Role::OktaPasswordExpired,
        UserStatus::LockedOut => Role::OktaLockedOut,
        UserStatus::Suspended => Role::OktaSuspended,
        UserStatus::Deprovisioned => Role::OktaDeprovisioned,
        UserStatus::Other(_) => Role::Warn,
    }
}

/// An Okta status as a label that cannot be missed when it blocks sign-in.
pub(crate) fn status_span<'a>(state: &State, s: &UserStatus) -> Span<'a> {
    let text = if s.is_blocking() {
        format!(" {} {} ", state.theme.symbols.blocked, clean(s.as_str()))
    } else {
        clean(s.as_str()).into_owned()
    };
    Span::styled(text, state.theme.style(status_role(s)))
}

/// "cached 3m ago" / "live" / "loading…" for data with a source.
pub(crate) fn freshness(state: &State, source: Option<DataSource>, loading: bool) -> String {
    match (source, loading) {
        (None, true) => "loading…".into(),
        (None, false) => String::new(),
        (Some(DataSource::Cache { as_of }), true) => format!("cached {}, refreshing…", ago(state.now, as_of)),
        (Some(DataSource::Cache { as_of }), false) => format!("cached {}", ago(state.now, as_of)),
        (Some(DataSource::Live), true) => "refreshing…".into(),
        (Some(DataSource::Live), false) => "live".into(),
    }
}

/// Text with the characters at `indices` (char positions) in `hit` style.
pub(crate) fn highlighted<'a>(text: &str, indices: &[usize], base: Style, hit: Style) -> Line<'a> {
    if indices.is_empty() {
        return Line::from(Span::styled(text.to_string(), base));
    }
    let mut spans = Vec::new();
    let mut run = String::new();
    let mut run_hit = false;
    let mut next = indices.iter().peekable();
    for (i, c) in text.chars().enumerate() {
        let is_hit = next.peek().is_some_and(|&&n| n == i);
        if is_hit {
            next.next();
        }
        if is_hit != run_hit && !run.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut run), if run_hit { base.patch(hit) } else { base }));
        }
        run_hit = is_hit;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(Span::styled(run, if run_hit { base.patch(hit) } else { base }));
    }
    Line::from(spans)
}

/// Greedy word wrap of one logical line to `width` display columns (long words are cut).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    let mut line_w = 0;
    for word in text.split(' ') {
        let w = Span::raw(word).width();
        if line_w > 0 && line_w + 1 + w > width {
            out.push(std::mem::take(&mut line));
            line_w = 0;
        }
        if line_w > 0 {
            line.push(' ');
            line_w += 1;
        }
        if w > width {
            for c in word.chars() {
                let cw = Span::raw(c.to_string()).width();
                if line_w + cw > width {
                    out.push(std::mem::take(&mut line));
                    line_w = 0;
                }
                line.push(c);
                line_w += cw;
            }
        } else {
            line.push_str(word);
            line_w += w;
        }
    }
    out.push(line);
    out
}

/// The top line: where you are (breadcrumbs) and what the console is doing.
pub struct CrumbsView<'a> {
    /// The state.
    pub state: &'a State,
}

impl Widget for CrumbsView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let theme = &s.theme;
        let mut spans = vec![Span::styled(" grantdesk ", theme.style(Role::Title))];
        let n = s.screens.len();
        for (i, screen) in s.screens.iter().enumerate() {
            let label = match screen {
                Screen::Queue => format!("Queue: {} ({})", s.queue.view.title(), s.queue.total()),
                Screen::Ticket(t) => clean(&t.number).into_owned(),
                Screen::User(u) => format!("User {}", clean(&u.login)),
                Screen::Group(g) => {
                    let name = s
                        .groups
                        .get(&g.name)
                        .and_then(|l| l.data.as_ref())
                        .map_or(g.name.clone(), |d| d.group.name.clone());
                    format!("Group {}", clean(&name))
                }
                Screen::Audit => "Audit log".into(),
                Screen::Dashboard => "Dashboard".into(),
                other => access::crumb(s, other).unwrap_or_default(),
            };
            let role = if i + 1 == n { Role::CrumbsActive } else { Role::Crumbs };
            if i > 0 {
                spans.push(Span::styled(">", theme.style(Role::Muted)));
            }
            spans.push(Span::styled(format!(" {label} "), theme.style(role)));
        }
        let left = Line::from(spans);
        // After `:as`, who sits at the console always shows: the crumbs give way to it.
        let seat = s.seat_taken.then(|| format!("as {}@{} ", clean(&s.operator), clean(&s.instance)));
        let reserved = seat.as_ref().map_or(0, |t| Span::raw(t.as_str()).width() as u16 + 1);
        let left_area = Rect { width: area.width.saturating_sub(reserved), ..area };
        let left_w = left.width().min(usize::from(left_area.width));
        left.render(left_area, buf);

        let mut right: Vec<Span> = Vec::new();
        if !s.pending.is_empty() {
            right.push(Span::styled(format!("{} pending ", s.pending.len()), theme.style(Role::Warn)));
        }
        if !s.failed.is_empty() {
            right.push(Span::styled(format!("{} failed ", s.failed.len()), theme.style(Role::Error)));
        }
        if s.syncing {
            right.push(Span::styled("syncing… ", theme.style(Role::Info)));
        } else if let Some((at, _)) = &s.last_sync {
            right.push(Span::styled(format!("synced {} ", ago(s.now, *at)), theme.style(Role::Muted)));
        }
        if s.queue.source.is_some_and(|src| src != DataSource::Live) {
            right.push(Span::styled(
                format!("queue {} ", freshness(s, s.queue.source, s.queue.loading)),
                theme.style(Role::Muted),
            ));
        }
        // Drop what does not fit, least important (who) first, never overwriting the crumbs.
        let mut line = Line::from(right.clone()).spans;
        match seat {
            Some(seat) => line.push(Span::styled(seat, theme.style(Role::Warn))),
            None => line.push(Span::styled(
                format!("{}@{} ", clean(&s.operator), clean(&s.instance)),
                theme.style(Role::Muted),
            )),
        }
        while !line.is_empty() && left_w + Line::from(line.clone()).width() + 1 > usize::from(area.width) {
            if s.seat_taken && line.len() > 1 {
                line.remove(0);
            } else {
                line.pop();
            }
        }
        Line::from(line).alignment(Alignment::Right).render(area, buf);
    }
}

/// The bottom line: the `:`/`/` prompt, else the newest notification, else key hints.
pub struct StatusLineView<'a> {
    /// The state.
    pub state: &'a State,
}

/// Commands worth a hint per screen, in order of importance.
fn hints_for(screen: &Screen) -> &'static [(Context, &'static str)] {
    match screen {
        Screen::Queue => &[
            (Context::Nav, "open"),
            (Context::Nav, "filter"),
            (Context::Queue, "assign_to_me"),
            (Context::Queue, "work_note"),
            (Context::Queue, "resolve"),
            (Context::Marks, "toggle_mark"),
            (Context::Queue, "sort"),
            (Context::Global, "command_line"),
            (Context::Global, "help"),
            (Context::Global, "quit"),
            (Context::Queue, "inbox"),
        ],
        Screen::Ticket(_) => &[
            (Context::Global, "next_pane"),
            (Context::Ticket, "work_note"),
            (Context::Ticket, "assign_to_me"),
            (Context::Ticket, "resolve"),
            (Context::Ticket, "unlock"),
            (Context::Ticket, "open_caller"),
            (Context::Global, "back"),
            (Context::Global, "help"),
            (Context::Ticket, "request_access"),
        ],
        Screen::User(_) => &[
            (Context::Global, "next_pane"),
            (Context::Nav, "open"),
            (Context::User, "unlock"),
            (Context::User, "reset_password"),
            (Context::User, "suspend"),
            (Context::Global, "back"),
            (Context::Global, "help"),
        ],
        Screen::Group(_) => {
            &[(Context::Nav, "open"), (Context::Nav, "filter"), (Context::Global, "back"), (Context::Global, "help")]
        }
        Screen::Audit => &[
            (Context::Nav, "filter"),
            (Context::Audit, "verify"),
            (Context::Nav, "open"),
            (Context::Global, "back"),
            (Context::Global, "help"),
        ],
        Screen::Dashboard => &[(Context::Global, "refresh"), (Context::Global, "back"), (Context::Global, "help")],
        Screen::Inbox => &[
            (Context::Nav, "open"),
            (Context::Inbox, "approve"),
            (Context::Inbox, "deny"),
            (Context::Marks, "toggle_mark"),
            (Context::Marks, "mark_all"),
            (Context::Nav, "filter"),
            (Context::Global, "back"),
            (Context::Global, "help"),
        ],
        Screen::Request(_) => &[
            (Context::Inbox, "approve"),
            (Context::Inbox, "deny"),
            (Context::Global, "back"),
            (Context::Global, "help"),
        ],
        Screen::Bulk => &[(Context::Bulk, "retry_failed"), (Context::Global, "back"), (Context::Global, "help")],
        Screen::Expiring => &[
            (Context::Expiring, "extend"),
            (Context::Nav, "open"),
            (Context::Nav, "filter"),
            (Context::Global, "back"),
            (Context::Global, "help"),
        ],
        Screen::Orphans => &[
            (Context::Orphans, "request_access"),
            (Context::Nav, "open"),
            (Context::Nav, "filter"),
            (Context::Global, "back"),
            (Context::Global, "help"),
        ],
    }
}

fn hint_label(ctx: Context, name: &str) -> &'static str {
    match (ctx, name) {
        (_, "open") => "open",
        (_, "filter") => "filter",
        (_, "assign_to_me") => "assign me",
        (_, "work_note") => "note",
        (_, "resolve") => "resolve",
        (_, "toggle_mark") => "mark",
        (_, "sort") => "sort",
        (_, "command_line") => "cmd",
        (_, "help") => "help",
        (_, "quit") => "quit",
        (_, "next_pane") => "pane",
        (_, "unlock") => "unlock",
        (_, "reset_password") => "reset pw",
        (_, "suspend") => "suspend",
        (_, "open_caller") => "caller",
        (_, "back") => "back",
        (_, "verify") => "verify",
        (_, "refresh") => "reload",
        (_, "approve") => "approve",
        (_, "deny") => "deny",
        (_, "mark_all") => "mark shown",
        (_, "retry_failed") => "retry failed",
        (_, "extend") => "extend",
        (_, "request_access") => "request",
        (_, "inbox") => "inbox",
        _ => "",
    }
}

impl Widget for StatusLineView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let theme = &s.theme;
        if let Some(p) = &s.prompt {
            let (prefix, role) = match p.kind {
                PromptKind::Command => (":", Role::CommandLine),
                PromptKind::Filter => ("/", Role::FilterActive),
            };
            let width = usize::from(area.width.saturating_sub(2)).max(1);
            let scroll = p.input.visual_scroll(width);
            let shown: String = p.input.value().chars().skip(scroll).collect();
            let mut spans =
                vec![Span::styled(prefix, theme.style(role)), Span::styled(shown, theme.style(Role::CommandLine))];
            if p.kind == PromptKind::Filter {
                let list = match s.screen() {
                    Screen::Queue => Some(&s.queue.list),
                    Screen::Group(g) => Some(&g.members),
                    Screen::Audit => Some(&s.audit.list),
                    Screen::Inbox => Some(&s.access.inbox.list),
                    Screen::Expiring => Some(&s.access.expiring.list),
                    Screen::Orphans => Some(&s.access.orphans.list),
                    _ => None,
                };
                let (shown, total, more) =
                    list.map_or((0, 0, false), |l| (l.visible().len(), l.total(), l.searching()));
                let more = if more { "+ (searching)" } else { "" };
                let count = Line::from(Span::styled(format!(" {shown}{more}/{total} "), theme.style(Role::Muted)));
                count.alignment(Alignment::Right).render(area, buf);
                spans.truncate(2);
            }
            Line::from(spans).render(area, buf);
            return;
        }
        if let Some(n) = s.notification() {
            let role = match n.level {
                Level::Info => Role::NotifyInfo,
                Level::Warn => Role::NotifyWarn,
                Level::Error => Role::NotifyError,
            };
            let label = match n.level {
                Level::Info => "",
                Level::Warn => "warning: ",
                Level::Error => "error: ",
            };
            Line::from(Span::styled(format!(" {label}{}", n.text), theme.style(role))).render(area, buf);
            return;
        }
        let mut spans = Vec::new();
        let mut used = 0usize;
        for (ctx, name) in hints_for(s.screen()) {
            let Some(key) = s.keymap.keys_of(*ctx, name) else { continue };
            let label = hint_label(*ctx, name);
            let w = key.chars().count() + label.len() + 3;
            if used + w > usize::from(area.width) {
                break;
            }
            used += w;
            spans.push(Span::styled(format!(" {key}"), theme.style(Role::KeyHint)));
            spans.push(Span::styled(format!(" {label} "), theme.style(Role::StatusLine)));
        }
        Line::from(spans).render(area, buf);
    }
}
