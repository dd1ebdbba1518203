//! The access-request screens: the approvals inbox, a request's detail, a bulk decision's
//! progress and results, the expiry radar and orphan grants; and their popups (approve/deny with
//! a comment and the bulk confirmation, the request form with its preview).

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Gauge, Paragraph, Row, Table, Widget};
use tui_input::Input;

use super::popup::{centred, dialog};
use super::{ago, clean, highlighted, span_text, when, wrap};
use crate::domain::request::{AccessRequest, RequestStatus, Verdict, human_duration};
use crate::tui::effect::{BulkOutcome, OrphanRow};
use crate::tui::filter::Highlighter;
use crate::tui::keymap::Context;
use crate::tui::layout;
use crate::tui::state::{
    AccessItem, AccessListState, ConfirmFocus, DecideForm, FormField, RequestForm, RequestScreen, State,
};
use crate::tui::theme::Role;
use crate::tui::update::access::{ENTRY_ROWS, TYPE_COUNT_OVER};

/// How many steps a request has and which one it is at (`1/2`).
fn step_text(r: &AccessRequest) -> String {
    if r.steps.is_empty() {
        return "OIG".into();
    }
    format!("{}/{}", (r.current_step + 1).min(r.steps.len()), r.steps.len())
}

/// The message of an empty, loading or failed list.
fn empty_message<T>(s: &State, list: &AccessListState<T>, empty: &str, area: Rect, buf: &mut Buffer) {
    let theme = &s.theme;
    let msg = if let Some(e) = &list.error {
        vec![Line::styled("Could not load:", theme.style(Role::Error)), Line::raw(clean(e).into_owned())]
    } else if list.loading && list.rows.is_empty() {
        vec![Line::styled("Loading…", theme.style(Role::Muted))]
    } else if !list.rows.is_empty() {
        vec![
            Line::raw(format!("Nothing matches /{}", clean(list.list.query()))),
            Line::styled("esc clears the filter", theme.style(Role::Muted)),
        ]
    } else {
        vec![Line::raw(empty.to_string())]
    };
    let y = area.y + area.height / 3;
    Paragraph::new(msg)
        .alignment(Alignment::Center)
        .render(Rect { y, height: area.height - (y - area.y), ..area }, buf);
}

/// A table of the shown lines of `list` (only those on screen are built): a selection and mark
/// gutter, then `cells` of each row.
fn table<'a, T: AccessItem>(
    s: &'a State,
    list: &'a AccessListState<T>,
    header: Vec<&'static str>,
    widths: Vec<Constraint>,
    area: Rect,
    buf: &mut Buffer,
    cells: impl Fn(&T, &dyn Fn(&str, Style) -> Cell<'static>) -> Vec<Cell<'static>>,
) {
    let theme = &s.theme;
    let highlighter = Highlighter::new(list.list.query());
    let hit = theme.style(Role::Match);
    let height = usize::from(area.height.saturating_sub(1));
    let visible = list.list.visible();
    let start = list.cursor.offset.min(visible.len());
    let end = (start + height).min(visible.len());
    let rows = visible[start..end].iter().enumerate().map(|(i, &idx)| {
        let row = &list.rows[idx as usize];
        let selected = start + i == list.cursor.selected;
        let marked = list.marks.contains(&row.key());
        let text = |t: &str, base: Style| -> Cell<'static> {
            let t = clean(t);
            Cell::from(highlighted(&t, &highlighter.indices(&t), base, hit))
        };
        let r = Row::new(std::iter::once(super::gutter(s, selected, marked)).chain(cells(row, &text)));
        if selected { r.style(theme.style(Role::Selection)) } else { r }
    });
    let widths = std::iter::once(Constraint::Length(2)).chain(widths);
    let header = Row::new(std::iter::once("").chain(header)).style(theme.style(Role::Header));
    Table::new(rows, widths).header(header).column_spacing(1).render(area, buf);
}

/// The details block under a list.
fn details(s: &State, area: Rect, lines: Vec<Line<'static>>, buf: &mut Buffer) {
    if area.height < 2 {
        return;
    }
    let block = Block::default().borders(Borders::TOP).border_style(s.theme.style(Role::Border)).title(" Details ");
    let inner = block.inner(area);
    block.render(area, buf);
    Paragraph::new(lines).render(inner, buf);
}

fn wrapped(prefix: &str, text: &str, width: u16, style: Style) -> Vec<Line<'static>> {
    wrap(&format!("{prefix}{}", clean(text)), usize::from(width)).into_iter().map(|l| Line::styled(l, style)).collect()
}

/// The approvals inbox: what the operator may decide now.
pub struct InboxView<'a> {
    /// The state.
    pub state: &'a State,
}

impl Widget for InboxView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let theme = &s.theme;
        let l = layout::access(area);
        let inbox = &s.access.inbox;
        if inbox.shown() == 0 {
            return empty_message(s, inbox, "Nothing waits for your decision.", l.table, buf);
        }
        let wide = area.width >= 120;
        let mut header = vec!["ID", "For", "Entry", "Step", "Age", "Ticket"];
        let mut widths = vec![
            Constraint::Length(11),
            Constraint::Min(14),
            Constraint::Length(if wide { 22 } else { 17 }),
            Constraint::Length(4),
            Constraint::Length(4),
            Constraint::Length(10),
        ];
        if wide {
            header.extend(["Raised by", "Blast radius", "Why"]);
            widths.extend([Constraint::Length(24), Constraint::Length(22), Constraint::Min(16)]);
        }
        table(s, inbox, header, widths, l.table, buf, |row, text| {
            let r = &row.request;
            let mut cells = vec![
                text(&r.id, Style::default()),
                text(&r.requested_for, Style::default()),
                text(&r.entry, Style::default()),
                Cell::from(step_text(r)),
                Cell::from(Span::styled(span_text(s.now - r.created_at), theme.style(Role::Muted))),
                text(r.ticket.as_deref().unwrap_or("-"), Style::default()),
            ];
            if wide {
                cells.push(text(&r.requested_by, Style::default()));
                cells.push(text(&row.grants.join(", "), theme.style(Role::Warn)));
                cells.push(text(&r.justification, theme.style(Role::Muted)));
            }
            cells
        });
        let Some(row) = inbox.selected() else { return };
        let r = &row.request;
        let w = l.detail.width;
        let mut lines = vec![Line::from(vec![
            Span::styled(format!("{} ", r.id), theme.style(Role::Title)),
            Span::raw(format!(
                "{} ({}) for {}, raised by {} {}{}",
                clean(&r.entry),
                clean(&r.target.to_string()),
                clean(&r.requested_for),
                clean(&r.requested_by),
                ago(s.now, r.created_at),
                r.ticket.as_deref().map(|t| format!(" from {}", clean(t))).unwrap_or_default()
            )),
        ])];
        let grants = if row.grants.is_empty() { "(nothing known yet)".to_string() } else { row.grants.join(", ") };
        lines.extend(wrapped("Approving grants: ", &grants, w, theme.style(Role::Warn)));
        if let Some(step) = r.steps.get(r.current_step) {
            let waiting = format!(
                "Step {} ({}, {}): waiting on {}",
                step_text(r),
                step.rule,
                format!("{:?}", step.quorum).to_lowercase(),
                r.current_approvers().join(", ")
            );
            lines.extend(wrapped("", &waiting, w, Style::default()));
        }
        lines.extend(wrapped("Why: ", &r.justification, w, theme.style(Role::Muted)));
        if !inbox.marks.is_empty() {
            lines.insert(0, Line::styled(format!("{} marked", inbox.marks.len()), theme.style(Role::Mark)));
        }
        details(s, l.detail, lines, buf);
    }
}

/// One access request: what it grants, its steps and the decisions so far.
pub struct RequestView<'a> {
    /// The state.
    pub state: &'a State,
    /// Which.
    pub screen: &'a RequestScreen,
}

impl Widget for RequestView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let theme = &s.theme;
        let Some(row) = s.access.request(&self.screen.id) else {
            let msg = format!("{} is no longer in the inbox or the expiry radar; R reloads", clean(&self.screen.id));
            Paragraph::new(msg).alignment(Alignment::Center).render(area, buf);
            return;
        };
        let r = &row.request;
        let w = area.width.saturating_sub(2);
        let status_role = match r.status {
            RequestStatus::Pending => Role::ApprovalRequested,
            RequestStatus::Approved | RequestStatus::Granted => Role::ApprovalApproved,
            _ => Role::ApprovalRejected,
        };
        let field = |k: &str, v: String| {
            Line::from(vec![Span::styled(format!("{k:<12}"), theme.style(Role::Header)), Span::raw(v)])
        };
        let mut lines = vec![
            Line::from(vec![
                Span::styled(format!("{}  ", r.id), theme.style(Role::Title)),
                Span::styled(r.status.as_str().to_uppercase(), theme.style(status_role)),
            ]),
            field("Entry", format!("{} ({})", clean(&r.entry), clean(&r.target.to_string()))),
            field("For", clean(&r.requested_for).into_owned()),
            field("Raised by", format!("{}, {}", clean(&r.requested_by), ago(s.now, r.created_at))),
            field("Ticket", r.ticket.as_deref().map(|t| clean(t).into_owned()).unwrap_or_else(|| "-".into())),
            field("Duration", r.duration.map(human_duration).unwrap_or_else(|| "permanent".into())),
            field("Routes", r.routes.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" + ")),
        ];
        if let Some(e) = r.expires_at {
            lines.push(field("Expires", format!("{} ({})", when(e), ago(s.now, e))));
        }
        if let Some(ritm) = &r.external.ritm {
            lines.push(field("ServiceNow", clean(ritm).into_owned()));
        }
        lines.extend(wrapped("Why: ", &r.justification, w, Style::default()));
        let grants = if row.grants.is_empty() { "(nothing known yet)".to_string() } else { row.grants.join(", ") };
        lines.extend(wrapped("Approving grants: ", &grants, w, theme.style(Role::Warn)));
        lines.push(Line::raw(""));
        lines.push(Line::styled("Steps", theme.style(Role::Header)));
        let passed_all = matches!(r.status, RequestStatus::Approved | RequestStatus::Granted);
        for (i, step) in r.steps.iter().enumerate() {
            let (mark, role) = if i < r.current_step || passed_all {
                ("passed ", Role::ApprovalApproved)
            } else if i == r.current_step && r.status == RequestStatus::Pending {
                ("waiting", Role::ApprovalRequested)
            } else {
                ("       ", Role::Muted)
            };
            let quorum = format!("{:?}", step.quorum).to_lowercase();
            let text = format!(" {}. {} ({quorum}): {}", i + 1, step.rule, step.approvers.join(", "));
            lines.push(Line::from(vec![Span::styled(mark, theme.style(role)), Span::raw(clean(&text).into_owned())]));
        }
        if r.steps.is_empty() {
            lines.push(Line::styled("  approved in Okta Identity Governance", theme.style(Role::Muted)));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled("Decisions", theme.style(Role::Header)));
        if r.decisions.is_empty() {
            lines.push(Line::styled("  none yet", theme.style(Role::Muted)));
        }
        for d in &r.decisions {
            let (verb, role) = match d.verdict {
                Verdict::Approve => ("approved", Role::ApprovalApproved),
                Verdict::Deny => ("denied", Role::ApprovalRejected),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {} ", when(d.at)), theme.style(Role::Muted)),
                Span::raw(format!("step {} {} ", d.step + 1, clean(&d.approver))),
                Span::styled(verb, theme.style(role)),
            ]));
            if !d.comment.is_empty() {
                lines.extend(wrapped("    “", &format!("{}”", d.comment), w, theme.style(Role::Muted)));
            }
        }
        let max = lines.len().saturating_sub(usize::from(area.height));
        let shown: Vec<Line> = lines.into_iter().skip(self.screen.scroll.min(max)).collect();
        Paragraph::new(shown).render(Rect { x: area.x + 1, width: w, ..area }, buf);
    }
}

/// A bulk decision: a gauge and the per-item results.
pub struct BulkView<'a> {
    /// The state.
    pub state: &'a State,
}

impl Widget for BulkView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let theme = &s.theme;
        let Some(run) = &s.access.bulk else {
            Paragraph::new("No bulk decision yet: mark requests in the inbox (space, v, *) and approve or deny them.")
                .alignment(Alignment::Center)
                .render(area, buf);
            return;
        };
        let l = layout::bulk(area);
        let (ok, refused, failed) = run.counts();
        let n = run.items.len();
        let done = run.done();
        let verb = if run.verdict == Verdict::Approve { "Approving" } else { "Denying" };
        let summary = vec![
            Line::from(vec![
                Span::styled(format!(" {verb} {n} request(s)"), theme.style(Role::Title)),
                Span::raw(format!(" — comment: “{}”", clean(&run.comment))),
            ]),
            Line::from(vec![
                Span::styled(format!(" {ok} done"), theme.style(Role::Success)),
                Span::raw(", "),
                Span::styled(format!("{refused} refused by policy"), theme.style(Role::Warn)),
                Span::raw(", "),
                Span::styled(format!("{failed} failed"), theme.style(Role::Error)),
                Span::raw(if done < n { format!(", {} running", n - done) } else { String::new() }),
            ]),
        ];
        Paragraph::new(summary).render(l.summary, buf);
        let ratio = if n == 0 { 1.0 } else { done as f64 / n as f64 };
        Gauge::default()
            .ratio(ratio)
            .label(format!("{done}/{n}"))
            .gauge_style(theme.style(Role::ChartBar))
            .use_unicode(true)
            .render(Rect { x: l.gauge.x + 1, width: l.gauge.width.saturating_sub(2), ..l.gauge }, buf);
        // One line per item; a refusal or failure says why on the lines below it.
        let height = usize::from(l.results.height);
        let width = usize::from(l.results.width.saturating_sub(10)).max(10);
        let wide = area.width >= 120;
        let mut lines: Vec<Line> = Vec::new();
        for (i, item) in run.items.iter().enumerate().skip(run.cursor.offset.min(n)) {
            if lines.len() >= height {
                break;
            }
            let (word, role, why) = match &item.outcome {
                None => ("running", Role::Muted, None),
                Some(BulkOutcome::Done(m)) => ("done   ", Role::Success, wide.then_some(m)),
                Some(BulkOutcome::Refused(m)) => ("REFUSED", Role::Warn, Some(m)),
                Some(BulkOutcome::Failed(m)) => ("FAILED ", Role::Error, Some(m)),
            };
            let sel = i == run.cursor.selected;
            let line = Line::from(vec![
                Span::raw(if sel { theme.symbols.selected.clone() } else { " ".into() }),
                Span::styled(format!("{word} "), theme.style(role)),
                Span::raw(clean(&item.label).into_owned()),
            ]);
            lines.push(if sel { line.style(theme.style(Role::Selection)) } else { line });
            if let Some(why) = why {
                for w in wrap(&clean(why), width) {
                    lines.push(Line::styled(format!("{:9}{w}", ""), theme.style(Role::Muted)));
                }
            }
        }
        Paragraph::new(lines).render(l.results, buf);
    }
}

/// Grants expiring soonest first, with the time left.
pub struct ExpiringView<'a> {
    /// The state.
    pub state: &'a State,
}

impl Widget for ExpiringView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let theme = &s.theme;
        let l = layout::access(area);
        let list = &s.access.expiring;
        if list.shown() == 0 {
            return empty_message(s, list, "No granted access expires.", l.table, buf);
        }
        let wide = area.width >= 120;
        let mut header = vec!["ID", "For", "Entry", "Left", if wide { "Expires (UTC)" } else { "Expires" }];
        let mut widths = vec![
            Constraint::Length(11),
            Constraint::Min(14),
            Constraint::Length(if wide { 22 } else { 17 }),
            Constraint::Length(5),
            Constraint::Length(if wide { 16 } else { 11 }),
        ];
        if wide {
            header.extend(["Ticket", "Why"]);
            widths.extend([Constraint::Length(11), Constraint::Min(16)]);
        }
        table(s, list, header, widths, l.table, buf, |row, text| {
            let r = &row.request;
            let (left, role) = match r.expires_at {
                Some(e) if e <= s.now => ("gone".to_string(), Role::SlaBreached),
                Some(e) if e - s.now < chrono::Duration::hours(24) => (span_text(e - s.now), Role::SlaAtRisk),
                Some(e) => (span_text(e - s.now), Role::SlaOk),
                None => ("-".into(), Role::Muted),
            };
            let at = r.expires_at.map(|e| if wide { when(e) } else { e.format("%m-%d %H:%M").to_string() });
            let mut cells = vec![
                text(&r.id, Style::default()),
                text(&r.requested_for, Style::default()),
                text(&r.entry, Style::default()),
                Cell::from(Span::styled(left, theme.style(role))),
                Cell::from(at.unwrap_or_default()),
            ];
            if wide {
                cells.push(text(r.ticket.as_deref().unwrap_or("-"), Style::default()));
                cells.push(text(&r.justification, theme.style(Role::Muted)));
            }
            cells
        });
        let Some(row) = list.selected() else { return };
        let r = &row.request;
        let key = s.keymap.keys_of(Context::Expiring, "extend");
        let mut lines = vec![Line::raw(format!(
            "{} has {} until {}",
            clean(&r.requested_for),
            clean(&r.target.to_string()),
            r.expires_at.map(when).unwrap_or_default()
        ))];
        lines.extend(wrapped("Grants: ", &row.grants.join(", "), l.detail.width, theme.style(Role::Muted)));
        if let Some(k) = key {
            lines.push(Line::styled(
                format!("{k} raises an extension request (a new request through the same approvals)"),
                theme.style(Role::KeyHint),
            ));
        }
        details(s, l.detail, lines, buf);
    }
}

/// Members of catalog groups with no approved request on record.
pub struct OrphansView<'a> {
    /// The state.
    pub state: &'a State,
}

impl Widget for OrphansView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.state;
        let theme = &s.theme;
        let l = layout::access(area);
        let list = &s.access.orphans;
        if list.shown() == 0 {
            return empty_message(
                s,
                list,
                "Every member of a catalog group has an approved request on record.",
                l.table,
                buf,
            );
        }
        let wide = area.width >= 120;
        let header = vec!["Member", "Group", "Since", "Added by"];
        let widths = vec![
            Constraint::Min(20),
            Constraint::Length(if wide { 24 } else { 18 }),
            Constraint::Length(10),
            Constraint::Length(if wide { 30 } else { 14 }),
        ];
        table(s, list, header, widths, l.table, buf, |o: &OrphanRow, text| {
            vec![
                text(&o.user, Style::default()),
                text(&o.group, Style::default()),
                Cell::from(o.since.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "unknown".into())),
                text(if o.added_by.is_empty() { "unknown" } else { &o.added_by }, theme.style(Role::Muted)),
            ]
        });
        let Some(o) = list.selected() else { return };
        let w = l.detail.width;
        let about = format!("{} is in {} with no approved request on record. Suggested:", o.user, o.group);
        let mut lines = wrapped("", &about, w, Style::default());
        if let Some(k) = s.keymap.keys_of(Context::Orphans, "request_access") {
            lines.push(Line::styled(format!("  {k} raise a request to regularise it"), theme.style(Role::KeyHint)));
        }
        let remove = "or remove the membership in Okta (grantdesk has no removal action), then sync";
        lines.extend(wrapped("→ ", remove, w, theme.style(Role::Muted)));
        details(s, l.detail, lines, buf);
    }
}

/// The text of an input scrolled to show its cursor in `width` columns, and the cursor column.
fn input_line(input: &Input, width: usize) -> (String, u16) {
    let scroll = input.visual_scroll(width.max(1));
    let text: String = input.value().chars().skip(scroll).collect();
    (text, (input.visual_cursor().saturating_sub(scroll)) as u16)
}

/// Approve or deny with a comment; for many, the confirmation.
pub(super) fn render_decide(frame: &mut Frame, s: &State, f: &DecideForm) {
    let theme = &s.theme;
    let body = s.chrome().body;
    let n = f.targets.len();
    let verb = if f.verdict == Verdict::Approve { "Approve" } else { "Deny" };
    let shown = n.min(5);
    let h = (shown as u16 + 9 + u16::from(n > shown)).min(body.height);
    let rect = centred(body, 76.min(body.width.saturating_sub(2)), h);
    let buf = frame.buffer_mut();
    Clear.render(rect, buf);
    let title = if n == 1 { format!("{verb} {}", clean(&f.targets[0].0)) } else { format!("{verb} {n} requests") };
    let block = dialog(s, title, f.confirming || f.verdict == Verdict::Deny);
    let inner = block.inner(rect);
    block.render(rect, buf);
    let mut lines: Vec<Line> =
        f.targets.iter().take(shown).map(|(_, l)| Line::raw(format!("  {}", clean(l)))).collect();
    if n > shown {
        lines.push(Line::styled(format!("  … and {} more", n - shown), theme.style(Role::Muted)));
    }
    lines.push(Line::raw(""));
    let mut cursor = None;
    if !f.confirming {
        let label = if f.verdict == Verdict::Deny { "Comment (required: say why)" } else { "Comment" };
        lines.push(Line::styled(label, theme.style(Role::Title)));
        let (text, col) = input_line(&f.comment, usize::from(inner.width.saturating_sub(2)));
        cursor = Some((inner.x + 2 + col, inner.y + lines.len() as u16));
        lines.push(Line::raw(format!("> {text}")));
        lines.push(Line::raw(""));
        let next = if n == 1 { format!("enter {}s", verb.to_lowercase()) } else { "enter continues".into() };
        lines.push(match &f.problem {
            Some(p) => Line::styled(clean(p).into_owned(), theme.style(Role::Error)),
            None => Line::styled(format!("{next} · esc cancels"), theme.style(Role::Muted)),
        });
    } else {
        lines.push(Line::raw(format!("{verb} all {n} with the comment “{}”?", clean(f.comment.value()))));
        if n > TYPE_COUNT_OVER {
            cursor = Some((inner.x + 18 + f.typed.value().chars().count() as u16, inner.y + lines.len() as u16));
            lines.push(Line::from(vec![
                Span::styled(format!("Type {n} to confirm: "), theme.style(Role::Warn)),
                Span::styled(format!("{:<4}", f.typed.value()), theme.style(Role::CommandLine)),
            ]));
        }
        let button = |label: &str, focused: bool| {
            let text = if focused { format!("> {label} <") } else { format!("  {label}  ") };
            Span::styled(text, theme.style(if focused { Role::ButtonFocus } else { Role::Button }))
        };
        lines.push(Line::from(vec![
            button("Cancel", f.focus == ConfirmFocus::Cancel),
            Span::raw("   "),
            button(&format!("{verb} {n}"), f.focus == ConfirmFocus::Confirm),
        ]));
        lines.push(match &f.problem {
            Some(p) => Line::styled(clean(p).into_owned(), theme.style(Role::Error)),
            None => Line::styled("tab switches, enter chooses, esc cancels", theme.style(Role::Muted)),
        });
    }
    Paragraph::new(lines).render(inner, buf);
    if let Some((x, y)) = cursor
        && y < inner.bottom()
    {
        frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), y));
    }
}

/// The request form: for whom, entry, duration, justification; then the preview.
pub(super) fn render_form(frame: &mut Frame, s: &State, f: &RequestForm) {
    let theme = &s.theme;
    let body = s.chrome().body;
    let rect = centred(body, body.width.saturating_sub(4).min(100), body.height.min(24));
    let buf = frame.buffer_mut();
    Clear.render(rect, buf);
    let title = match &f.ticket {
        Some(t) => format!("Request access (from {})", clean(t)),
        None => "Request access".into(),
    };
    let block = dialog(s, title, false);
    let inner = block.inner(rect);
    block.render(rect, buf);
    let catalog = s.access.catalog.as_deref();
    let label_w = 13usize;
    let field_w = usize::from(inner.width).saturating_sub(label_w + 1);
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor = None;
    let mut field = |lines: &mut Vec<Line<'static>>, which: FormField, label: &str, input: &Input, note: String| {
        let focused = f.focus == which;
        let (text, col) = input_line(input, field_w.saturating_sub(note.chars().count() + 1).max(8));
        if focused {
            cursor = Some((inner.x + label_w as u16 + col, inner.y + lines.len() as u16));
        }
        let label_role = if focused { Role::Title } else { Role::Header };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{}{label:<w$}", if focused { ">" } else { " " }, w = label_w - 1),
                theme.style(label_role),
            ),
            Span::styled(text, theme.style(Role::CommandLine)),
            Span::styled(if note.is_empty() { String::new() } else { format!("  {note}") }, theme.style(Role::Muted)),
        ]));
    };
    field(&mut lines, FormField::For, "For", &f.for_login, "Okta login".into());
    let shown = f.entries.visible().len();
    let note = match catalog {
        None => "loading the catalog…".to_string(),
        Some(c) => format!("{shown}/{} entries, ↑↓ picks", c.len()),
    };
    field(&mut lines, FormField::Entry, "Entry", &f.query, note);
    let chosen = catalog.and_then(|c| f.entries.visible().get(f.entry.selected).and_then(|&i| c.get(i as usize)));
    let start = f.entry.offset;
    for pos in start..(start + ENTRY_ROWS).min(shown) {
        let Some(c) = catalog.and_then(|c| f.entries.visible().get(pos).and_then(|&i| c.get(i as usize))) else {
            continue;
        };
        let sel = pos == f.entry.selected;
        let max = c.max_duration.map(|d| format!("max {}", human_duration(d))).unwrap_or_else(|| "permanent".into());
        let why = if c.justification_required { ", justification required" } else { "" };
        let text = format!(
            "{} {:<22} {} ({max}{why})",
            if sel { theme.symbols.selected.as_str() } else { " " },
            clean(&c.name),
            clean(&c.target)
        );
        let line = Line::raw(format!("{:w$}{text}", "", w = label_w));
        lines.push(if sel { line.style(theme.style(Role::Selection)) } else { line });
    }
    for _ in shown.min(ENTRY_ROWS)..ENTRY_ROWS {
        lines.push(Line::raw(""));
    }
    let max = chosen
        .map(|c| c.max_duration.map(|d| format!("at most {}; empty: the maximum", human_duration(d))))
        .unwrap_or(None)
        .unwrap_or_else(|| "empty: permanent".into());
    field(&mut lines, FormField::Duration, "Duration", &f.duration, max);
    let req = if chosen.is_some_and(|c| c.justification_required) { "required" } else { "" };
    field(&mut lines, FormField::Justification, "Why", &f.justification, req.into());
    lines.push(Line::raw(""));
    let w = inner.width;
    if f.previewing {
        lines.push(Line::styled("Asking who would approve and what it grants…", theme.style(Role::Info)));
    } else if let Some(p) = &f.preview {
        lines.push(Line::styled(
            format!("Raising {} for {}:", clean(&p.draft.entry), clean(&p.draft.requested_for)),
            theme.style(Role::Header),
        ));
        lines.extend(wrapped("Approval would grant: ", &p.grants.join(", "), w, theme.style(Role::Warn)));
        for (i, (rule, who)) in p.steps.iter().enumerate() {
            let who = if who.is_empty() { "(nobody)".to_string() } else { who.join(", ") };
            lines.extend(wrapped(&format!("Step {} ({}): ", i + 1, clean(rule)), &who, w, Style::default()));
        }
        if p.steps.is_empty() {
            lines.push(Line::raw("Approved in Okta Identity Governance (its own sequence)"));
        }
    } else {
        lines.push(Line::styled(
            "ctrl-s shows what approval would grant and who would be asked",
            theme.style(Role::Muted),
        ));
    }
    let hint_y = inner.y + inner.height.saturating_sub(1);
    let hint = match &f.problem {
        Some(p) => Line::styled(clean(p).into_owned(), theme.style(Role::Error)),
        None if f.preview.is_some() => {
            Line::styled("ctrl-s raises the request · esc cancels", theme.style(Role::KeyHint))
        }
        None => Line::styled("tab next field · ctrl-s previews · esc cancels", theme.style(Role::Muted)),
    };
    Paragraph::new(lines).render(Rect { height: inner.height.saturating_sub(1), ..inner }, buf);
    hint.render(Rect { y: hint_y, height: 1.min(inner.height), ..inner }, buf);
    if let Some((x, y)) = cursor
        && y < hint_y
    {
        frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), y));
    }
}

/// The crumb of an access screen.
pub(super) fn crumb(s: &State, screen: &crate::tui::state::Screen) -> Option<String> {
    use crate::tui::state::Screen;
    Some(match screen {
        Screen::Inbox => format!("Approvals inbox ({})", s.access.inbox.rows.len()),
        Screen::Request(r) => clean(&r.id).into_owned(),
        Screen::Bulk => match &s.access.bulk {
            Some(b) if b.verdict == Verdict::Approve => format!("Bulk approve ({})", b.items.len()),
            Some(b) => format!("Bulk deny ({})", b.items.len()),
            None => "Bulk".into(),
        },
        Screen::Expiring => format!("Expiring grants ({})", s.access.expiring.rows.len()),
        Screen::Orphans => format!("Orphan grants ({})", s.access.orphans.rows.len()),
        _ => return None,
    })
}
