//! Where things go on screen, as pure functions of the terminal size. Drawing uses them to place
//! widgets and `update` uses the same ones to know how many lines a page holds and which line a
//! mouse click hit, so the two never disagree.

use ratatui::layout::Rect;

use crate::tui::state::{Screen, State, TicketPane, UserPane};

/// Below this width the ticket and the caller's account share the screen by turns (Tab).
pub const SIDE_BY_SIDE_MIN_WIDTH: u16 = 120;
/// From this height the queue shows the dashboard strip above the table.
pub const STRIP_MIN_HEIGHT: u16 = 40;
/// Height of the dashboard strip.
pub const STRIP_HEIGHT: u16 = 5;

/// The frame every view shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chrome {
    /// Breadcrumbs (top line).
    pub crumbs: Rect,
    /// The read-only banner, when read-only.
    pub banner: Option<Rect>,
    /// The view.
    pub body: Rect,
    /// Status line: notifications, hints, or the `:`/`/` prompt (bottom line).
    pub status: Rect,
}

/// Splits the terminal into chrome and body.
pub fn chrome(area: Rect, read_only: bool) -> Chrome {
    let line = |y: u16| Rect { x: area.x, y, width: area.width, height: 1.min(area.height) };
    let crumbs = line(area.y);
    let banner = (read_only && area.height > 3).then(|| line(area.y + 1));
    let top = 1 + u16::from(banner.is_some());
    let status = line(area.y + area.height.saturating_sub(1));
    let body = Rect { x: area.x, y: area.y + top, width: area.width, height: area.height.saturating_sub(top + 1) };
    Chrome { crumbs, banner, body, status }
}

/// The queue view's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLayout {
    /// Dashboard strip, on tall terminals once figures are loaded.
    pub strip: Option<Rect>,
    /// Table: a header line, then rows.
    pub table: Rect,
}

impl QueueLayout {
    /// Rows the table shows at once.
    pub fn rows(&self) -> usize {
        usize::from(self.table.height.saturating_sub(1))
    }
}

/// Lays the queue out in `body`.
pub fn queue(body: Rect, with_strip: bool) -> QueueLayout {
    if with_strip && body.height >= STRIP_MIN_HEIGHT - 2 {
        let strip = Rect { height: STRIP_HEIGHT, ..body };
        let table = Rect { y: body.y + STRIP_HEIGHT, height: body.height - STRIP_HEIGHT, ..body };
        QueueLayout { strip: Some(strip), table }
    } else {
        QueueLayout { strip: None, table: body }
    }
}

/// The ticket view's parts: both panes side by side on wide terminals, one at a time otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketLayout {
    /// Ticket pane, when shown.
    pub ticket: Option<Rect>,
    /// Okta pane, when shown.
    pub okta: Option<Rect>,
}

/// Lays the ticket view out in `body`.
pub fn ticket(body: Rect, focus: TicketPane) -> TicketLayout {
    if body.width >= SIDE_BY_SIDE_MIN_WIDTH {
        let okta_w = (body.width * 2 / 5).max(44);
        let ticket = Rect { width: body.width - okta_w, ..body };
        let okta = Rect { x: body.x + ticket.width, width: okta_w, ..body };
        TicketLayout { ticket: Some(ticket), okta: Some(okta) }
    } else {
        match focus {
            TicketPane::Ticket => TicketLayout { ticket: Some(body), okta: None },
            TicketPane::Okta => TicketLayout { ticket: None, okta: Some(body) },
        }
    }
}

/// The user view's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserLayout {
    /// Profile and status.
    pub profile: Rect,
    /// The three lists; on narrow terminals only the focused one has room.
    pub lists: [Option<Rect>; 3],
}

/// Profile height in the user view.
pub const PROFILE_HEIGHT: u16 = 9;

/// Lays the user view out in `body`.
pub fn user(body: Rect, focus: UserPane) -> UserLayout {
    let profile_h = PROFILE_HEIGHT.min(body.height);
    if body.width >= SIDE_BY_SIDE_MIN_WIDTH {
        let left_w = body.width / 2;
        let profile = Rect { width: left_w, height: profile_h, ..body };
        let groups = Rect { y: body.y + profile_h, width: left_w, height: body.height - profile_h, ..body };
        let right = Rect { x: body.x + left_w, width: body.width - left_w, ..body };
        let apps_h = right.height / 3;
        let apps = Rect { height: apps_h, ..right };
        let events = Rect { y: right.y + apps_h, height: right.height - apps_h, ..right };
        UserLayout { profile, lists: [Some(groups), Some(apps), Some(events)] }
    } else {
        let profile = Rect { height: profile_h, ..body };
        let list = Rect { y: body.y + profile_h, height: body.height - profile_h, ..body };
        let mut lists = [None; 3];
        lists[focus as usize] = Some(list);
        UserLayout { profile, lists }
    }
}

/// Rows a bordered list shows inside `area` (borders take two lines).
pub fn bordered_rows(area: Option<Rect>) -> usize {
    area.map_or(1, |a| usize::from(a.height.saturating_sub(2)).max(1))
}

/// The group view's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLayout {
    /// Name, type, description and apps.
    pub info: Rect,
    /// Members table (bordered, with a header line).
    pub members: Rect,
}

/// Height of the group info block.
pub const GROUP_INFO_HEIGHT: u16 = 6;

/// Lays the group view out in `body`.
pub fn group(body: Rect) -> GroupLayout {
    let info_h = GROUP_INFO_HEIGHT.min(body.height);
    GroupLayout {
        info: Rect { height: info_h, ..body },
        members: Rect { y: body.y + info_h, height: body.height - info_h, ..body },
    }
}

/// The audit view's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditLayout {
    /// Chain status and filter line.
    pub status: Rect,
    /// Events table (header line, then rows).
    pub table: Rect,
    /// Details of the selected event.
    pub detail: Rect,
}

/// Lays the audit view out in `body`.
pub fn audit(body: Rect) -> AuditLayout {
    let detail_h = if body.height >= 30 { 8 } else { 4 }.min(body.height.saturating_sub(3));
    let status = Rect { height: 1.min(body.height), ..body };
    let table = Rect { y: body.y + 1, height: body.height.saturating_sub(1 + detail_h), ..body };
    let detail = Rect { y: table.y + table.height, height: detail_h, ..body };
    AuditLayout { status, table, detail }
}

/// An access list's parts (inbox, expiry radar, orphans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessLayout {
    /// Table: a header line, then rows.
    pub table: Rect,
    /// Details of the selected line (a rule, then text).
    pub detail: Rect,
}

impl AccessLayout {
    /// Rows the table shows at once.
    pub fn rows(&self) -> usize {
        usize::from(self.table.height.saturating_sub(1)).max(1)
    }
}

/// Lays an access list out in `body`.
pub fn access(body: Rect) -> AccessLayout {
    let detail_h = if body.height >= 30 { 8 } else { 5 }.min(body.height.saturating_sub(3));
    let table = Rect { height: body.height.saturating_sub(detail_h), ..body };
    let detail = Rect { y: body.y + table.height, height: detail_h, ..body };
    AccessLayout { table, detail }
}

/// A bulk run's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLayout {
    /// What is being decided, with what comment.
    pub summary: Rect,
    /// The gauge.
    pub gauge: Rect,
    /// Per-item results.
    pub results: Rect,
}

impl BulkLayout {
    /// Results shown at once for certain (a refusal or failure takes more than one line).
    pub fn rows(&self) -> usize {
        usize::from(self.results.height / 3).max(1)
    }
}

/// Lays a bulk run out in `body`.
pub fn bulk(body: Rect) -> BulkLayout {
    let summary = Rect { height: 2.min(body.height), ..body };
    let gauge = Rect { y: body.y + summary.height, height: 1.min(body.height.saturating_sub(summary.height)), ..body };
    let top = summary.height + gauge.height + 1;
    let results = Rect { y: body.y + top.min(body.height), height: body.height.saturating_sub(top), ..body };
    BulkLayout { summary, gauge, results }
}

impl State {
    /// The whole terminal.
    pub fn area(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// The chrome of the current frame.
    pub fn chrome(&self) -> Chrome {
        chrome(self.area(), self.read_only)
    }

    /// The queue's layout now.
    pub fn queue_layout(&self) -> QueueLayout {
        queue(self.chrome().body, self.dashboard.is_some() && self.height >= STRIP_MIN_HEIGHT)
    }

    /// How many lines a page of the current screen's focused list holds.
    pub fn page_rows(&self) -> usize {
        let body = self.chrome().body;
        match self.screen() {
            Screen::Queue => self.queue_layout().rows(),
            Screen::Ticket(t) => {
                let l = ticket(body, t.focus);
                let pane = if t.focus == TicketPane::Okta { l.okta } else { l.ticket };
                bordered_rows(pane)
            }
            Screen::User(u) => bordered_rows(user(body, u.focus).lists[u.focus as usize]),
            Screen::Group(_) => usize::from(group(body).members.height.saturating_sub(3)).max(1),
            Screen::Audit => usize::from(audit(body).table.height.saturating_sub(1)).max(1),
            Screen::Dashboard => 1,
            Screen::Inbox | Screen::Expiring | Screen::Orphans => access(body).rows(),
            Screen::Bulk => bulk(body).rows(),
            Screen::Request(_) => usize::from(body.height).max(1),
        }
    }
}
