//! The access-request part of `update`: the approvals inbox and a request's detail, marks and
//! bulk decisions, the request form with its preview, the expiry radar, orphan grants and `:as`.
//! Pure like the rest of `update`: effects out, answers in.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use super::{Effects, Move, load_queue, move_cursor, notify, refuse_if_read_only, run};
use crate::domain::request::{RequestStatus, Verdict, human_duration};
use crate::domain::text::sanitize_line;
use crate::tui::effect::{
    AccessData, AccessList, BulkOutcome, CatalogChoice, Command, Effect, RequestDraft, RequestRow,
};
use crate::tui::filter::FuzzyList;
use crate::tui::keymap::Context;
use crate::tui::layout;
use crate::tui::state::{
    AccessItem, AccessListState, BulkItem, BulkRun, ConfirmFocus, DecideForm, FormField, Level, ListCursor, Popup,
    RequestForm, RequestScreen, Screen, State,
};

/// Above this many requests, a bulk decision asks the operator to type the count.
pub const TYPE_COUNT_OVER: usize = 10;
/// Catalog entries the request form shows at once.
pub const ENTRY_ROWS: usize = 5;

/// Shows an access screen (moving it to the top if it is open already) and loads its list.
pub(super) fn show(state: &mut State, screen: Screen, list: AccessList, fx: &mut Effects) {
    let kind = std::mem::discriminant(&screen);
    if std::mem::discriminant(state.screen()) != kind {
        state.screens.retain(|s| std::mem::discriminant(s) != kind);
        state.screens.push(screen);
    }
    load(state, list, fx);
}

/// Asks for an access list.
pub(super) fn load(state: &mut State, list: AccessList, fx: &mut Effects) {
    match list {
        AccessList::Inbox => state.access.inbox.loading = true,
        AccessList::Expiring => state.access.expiring.loading = true,
        AccessList::Orphans => state.access.orphans.loading = true,
        AccessList::Catalog => {}
    }
    if !fx.effects.contains(&Effect::LoadAccess(list)) {
        fx.effects.push(Effect::LoadAccess(list));
    }
}

/// After an access command or a change of seat: the lists on screen again.
pub(super) fn reload_lists(state: &mut State, fx: &mut Effects) {
    let open = |s: &State, f: fn(&Screen) -> bool| s.screens.iter().any(f);
    if open(state, |s| matches!(s, Screen::Inbox | Screen::Request(_))) {
        load(state, AccessList::Inbox, fx);
    }
    if open(state, |s| matches!(s, Screen::Expiring | Screen::Request(_))) {
        load(state, AccessList::Expiring, fx);
    }
}

fn list_page(state: &State) -> usize {
    layout::access(state.chrome().body).rows()
}

/// An access list arrived.
pub(super) fn loaded(state: &mut State, data: AccessData, fx: &mut Effects) {
    let page = list_page(state);
    let matcher = &mut state.matcher;
    match data {
        AccessData::Inbox { operator, rows } if operator == state.operator => {
            state.access.inbox.set_rows(rows, matcher, page)
        }
        AccessData::Inbox { .. } => fx.render = false,
        AccessData::Expiring(rows) => state.access.expiring.set_rows(rows, matcher, page),
        AccessData::Orphans(rows) => state.access.orphans.set_rows(rows, matcher, page),
        AccessData::Catalog(choices) => {
            if let Some(Popup::RequestForm(form)) = state.popup.as_mut() {
                let pick = form.pick.take();
                rebuild_entries(form, &choices, pick.as_deref(), matcher);
            }
            state.access.catalog = Some(choices);
        }
    }
}

/// An access list could not be loaded.
pub(super) fn load_failed(state: &mut State, list: AccessList, error: String) {
    let slot = match list {
        AccessList::Inbox => Some(&mut state.access.inbox.error),
        AccessList::Expiring => Some(&mut state.access.expiring.error),
        AccessList::Orphans => Some(&mut state.access.orphans.error),
        AccessList::Catalog => None,
    };
    if let Some(slot) = slot {
        *slot = Some(error.clone());
    }
    if let (AccessList::Catalog, Some(Popup::RequestForm(form))) = (list, state.popup.as_mut()) {
        form.problem = Some(format!("could not load the catalog: {}", sanitize_line(&error)));
    }
    state.access.inbox.loading &= list != AccessList::Inbox;
    state.access.expiring.loading &= list != AccessList::Expiring;
    state.access.orphans.loading &= list != AccessList::Orphans;
    notify(state, Level::Error, format!("could not load {}: {error} — R reloads", list.title()));
}

// ---- marks

fn toggle<T: AccessItem>(list: &mut AccessListState<T>, page: usize) {
    if let Some(k) = list.selected().map(AccessItem::key)
        && !list.marks.remove(&k)
    {
        list.marks.insert(k);
    }
    let len = list.shown();
    list.cursor.step(1, len, page);
}

/// Space on the inbox; false when the screen is not an access list with marks.
pub(super) fn toggle_mark(state: &mut State) -> bool {
    let page = list_page(state);
    match state.screen() {
        Screen::Inbox => toggle(&mut state.access.inbox, page),
        _ => return false,
    }
    true
}

/// `v` on the inbox; false when the screen is not an access list with marks.
pub(super) fn mark_range(state: &mut State) -> bool {
    if !matches!(state.screen(), Screen::Inbox) {
        return false;
    }
    let inbox = &mut state.access.inbox;
    if inbox.range_anchor.take().is_none()
        && let Some(k) = inbox.selected().map(AccessItem::key)
    {
        inbox.marks.insert(k.clone());
        inbox.range_anchor = Some(k);
    }
    true
}

/// While a range is open on the inbox, every line between its anchor and the selection is marked.
pub(super) fn extend_range(state: &mut State) {
    let inbox = &mut state.access.inbox;
    let Some(anchor) = inbox.range_anchor.clone() else { return };
    let Some(a) = inbox.position(&anchor) else { return };
    let b = inbox.cursor.selected;
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let keys: Vec<String> = (lo..=hi).filter_map(|p| inbox.row_at(p).map(AccessItem::key)).collect();
    inbox.marks.extend(keys);
}

/// Drops the inbox's marks; false when the screen is not the inbox.
pub(super) fn clear_marks(state: &mut State) -> bool {
    if !matches!(state.screen(), Screen::Inbox) {
        return false;
    }
    state.access.inbox.marks.clear();
    state.access.inbox.range_anchor = None;
    true
}

/// Marks every line the filter shows (queue or inbox).
pub(super) fn mark_all_shown(state: &mut State, fx: &mut Effects) {
    let n = match state.screen() {
        Screen::Queue => {
            let q = &mut state.queue;
            let ids: Vec<String> = q.list.visible().iter().map(|&i| q.rows[i as usize].sys_id.clone()).collect();
            let n = ids.len();
            q.marks.extend(ids);
            n
        }
        Screen::Inbox => {
            let inbox = &mut state.access.inbox;
            let keys: Vec<String> = (0..inbox.shown()).filter_map(|p| inbox.row_at(p).map(AccessItem::key)).collect();
            let n = keys.len();
            inbox.marks.extend(keys);
            n
        }
        _ => return fx.render = false,
    };
    notify(state, Level::Info, format!("marked {n} shown line(s)"));
}

// ---- decisions

fn label(r: &RequestRow) -> String {
    let q = &r.request;
    format!("{} {} for {}", q.id, sanitize_line(&q.entry), sanitize_line(&q.requested_for))
}

/// Approve or deny: the marked requests the filter shows, else the selected or open one.
pub(super) fn open_decide(state: &mut State, verdict: Verdict, fx: &mut Effects) {
    let what = if verdict == Verdict::Approve { "approve" } else { "deny" };
    if !refuse_if_read_only(state, &format!("{what} access requests")) {
        return;
    }
    let targets: Vec<(String, String)> = match state.screen() {
        Screen::Inbox => {
            let inbox = &state.access.inbox;
            let marked = inbox.marked_shown();
            if marked.is_empty() && !inbox.marks.is_empty() {
                let text = "the marked requests are hidden by the filter; clear it or the marks".to_string();
                return notify(state, Level::Warn, text);
            }
            let chosen = if marked.is_empty() { inbox.selected().into_iter().collect() } else { marked };
            chosen.into_iter().map(|r| (r.request.id.clone(), label(r))).collect()
        }
        Screen::Request(r) => match state.access.request(&r.id) {
            Some(row) if row.request.status != RequestStatus::Pending => {
                let text = format!("{} is {}: there is nothing to decide", row.request.id, row.request.status);
                return notify(state, Level::Info, text);
            }
            row => row.map(|r| (r.request.id.clone(), label(r))).into_iter().collect(),
        },
        _ => return fx.render = false,
    };
    if targets.is_empty() {
        return notify(state, Level::Info, format!("nothing to {what}: no request is selected"));
    }
    state.popup = Some(Popup::Decide(DecideForm {
        targets,
        verdict,
        comment: Input::default(),
        confirming: false,
        focus: ConfirmFocus::Cancel,
        typed: Input::default(),
        problem: None,
    }));
}

/// A request decided from its detail: back to the list it came from (it has left the inbox).
pub(super) fn decided(state: &mut State, command: &Command) {
    if let Command::Decide { id, .. } = command
        && matches!(state.screen(), Screen::Request(r) if r.id == *id)
    {
        state.screens.pop();
    }
}

/// A key in the approve/deny popup: the comment first, then (for many) the confirmation.
pub(super) fn decide_key(state: &mut State, mut form: DecideForm, key: KeyEvent, fx: &mut Effects) {
    if key.code == KeyCode::Esc {
        return;
    }
    if !form.confirming {
        if key.code == KeyCode::Enter {
            let comment = form.comment.value().trim().to_string();
            if form.verdict == Verdict::Deny && comment.is_empty() {
                form.problem = Some("a denial needs a comment: say why".into());
            } else if form.targets.len() == 1 {
                let id = form.targets.remove(0).0;
                return run(state, Command::Decide { id, verdict: form.verdict, comment }, fx);
            } else {
                form.confirming = true;
                form.focus = ConfirmFocus::Cancel;
                form.problem = None;
            }
        } else if let Some(req) = to_input_request(&Event::Key(key)) {
            form.comment.handle(req);
            form.problem = None;
        } else {
            fx.render = false;
        }
        state.popup = Some(Popup::Decide(form));
        return;
    }
    let n = form.targets.len();
    let needs_count = n > TYPE_COUNT_OVER;
    match key.code {
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => {
            form.focus = if form.focus == ConfirmFocus::Cancel { ConfirmFocus::Confirm } else { ConfirmFocus::Cancel };
        }
        KeyCode::Enter if form.focus == ConfirmFocus::Cancel => return,
        KeyCode::Enter => {
            if needs_count && form.typed.value().trim() != n.to_string() {
                form.problem = Some(format!("type {n} (the number of requests) to confirm"));
            } else {
                return start_bulk(state, form, fx);
            }
        }
        KeyCode::Char(c) if needs_count && c.is_ascii_digit() => {
            form.typed = Input::new(format!("{}{c}", form.typed.value()));
            form.problem = None;
        }
        KeyCode::Backspace if needs_count => {
            let mut t = form.typed.value().to_string();
            t.pop();
            form.typed = Input::new(t);
        }
        KeyCode::Char('n') | KeyCode::Char('q') => return,
        _ => fx.render = false,
    }
    state.popup = Some(Popup::Decide(form));
}

fn start_bulk(state: &mut State, form: DecideForm, fx: &mut Effects) {
    let batch = state.access.next_batch;
    state.access.next_batch += 1;
    let comment = form.comment.value().trim().to_string();
    let ids: Vec<String> = form.targets.iter().map(|t| t.0.clone()).collect();
    let items = form.targets.into_iter().map(|(id, label)| BulkItem { id, label, outcome: None }).collect();
    state.access.bulk =
        Some(BulkRun { batch, verdict: form.verdict, comment: comment.clone(), items, cursor: ListCursor::default() });
    state.access.inbox.marks.clear();
    state.access.inbox.range_anchor = None;
    if !matches!(state.screen(), Screen::Bulk) {
        state.screens.retain(|s| !matches!(s, Screen::Bulk));
        state.screens.push(Screen::Bulk);
    }
    fx.effects.push(Effect::BulkDecide { batch, ids, verdict: form.verdict, comment });
}

/// One item of a bulk run finished; the last one sums the run up and reloads the inbox.
pub(super) fn bulk_item_done(state: &mut State, batch: u64, id: &str, outcome: BulkOutcome, fx: &mut Effects) {
    let Some(run) = state.access.bulk.as_mut().filter(|r| r.batch == batch) else { return fx.render = false };
    let Some(item) = run.items.iter_mut().find(|i| i.id == id && i.outcome.is_none()) else {
        return fx.render = false;
    };
    item.outcome = Some(outcome);
    if run.done() < run.items.len() {
        return;
    }
    let (ok, refused, failed) = run.counts();
    let verb = if run.verdict == Verdict::Approve { "approved" } else { "denied" };
    let level = if failed > 0 {
        Level::Error
    } else if refused > 0 {
        Level::Warn
    } else {
        Level::Info
    };
    let retry = if failed > 0 {
        let key = state.keymap.keys_of(Context::Bulk, "retry_failed").unwrap_or_else(|| "T".into());
        format!(" — {key} decides the failed ones again")
    } else {
        String::new()
    };
    notify(state, level, format!("bulk: {ok} {verb}, {refused} refused by policy, {failed} failed{retry}"));
    load(state, AccessList::Inbox, fx);
}

/// Decides the failed items of the finished bulk run again, as a new run.
pub(super) fn retry_bulk(state: &mut State, fx: &mut Effects) {
    if !refuse_if_read_only(state, "retry") {
        return;
    }
    let batch = state.access.next_batch;
    let Some(run) = state.access.bulk.as_mut() else {
        return notify(state, Level::Info, "no bulk decision to retry".into());
    };
    if run.done() < run.items.len() {
        return notify(state, Level::Info, "the bulk decision is still running".into());
    }
    let mut ids = Vec::new();
    for item in run.items.iter_mut().filter(|i| matches!(i.outcome, Some(BulkOutcome::Failed(_)))) {
        item.outcome = None;
        ids.push(item.id.clone());
    }
    if ids.is_empty() {
        return notify(state, Level::Info, "nothing failed: nothing to retry".into());
    }
    run.batch = batch;
    let (verdict, comment) = (run.verdict, run.comment.clone());
    state.access.next_batch += 1;
    notify(state, Level::Info, format!("deciding {} failed request(s) again", ids.len()));
    fx.effects.push(Effect::BulkDecide { batch, ids, verdict, comment });
}

// ---- the request form

fn rebuild_entries(
    form: &mut RequestForm,
    catalog: &[CatalogChoice],
    pick: Option<&str>,
    m: &mut nucleo_matcher::Matcher,
) {
    let columns = catalog.iter().flat_map(|c| {
        [
            sanitize_line(&c.name).into_owned(),
            sanitize_line(&c.target).into_owned(),
            sanitize_line(&c.description).into_owned(),
        ]
    });
    form.entries = FuzzyList::new(3, columns, (0..catalog.len() as u32).collect());
    form.entries.set_query(form.query.value(), m);
    let at = pick.and_then(|name| {
        form.entries.visible().iter().position(|&i| catalog[i as usize].name.eq_ignore_ascii_case(name))
    });
    form.entry.select(at.unwrap_or(0), form.entries.visible().len(), ENTRY_ROWS);
}

/// Opens the request form: from a ticket (for its caller), an orphan (for that member and
/// entry), the queue's selection, or empty.
pub(super) fn open_request_form(state: &mut State, fx: &mut Effects) {
    if !refuse_if_read_only(state, "raise access requests") {
        return;
    }
    let (ticket, who, entry) = match state.screen() {
        Screen::Ticket(t) => (Some(t.number.clone()), t.caller_login.clone().unwrap_or_default(), None),
        Screen::Queue => state
            .queue
            .selected()
            .map(|r| (Some(r.number.clone()), r.caller_login.to_lowercase(), None))
            .unwrap_or_default(),
        Screen::Orphans => match state.access.orphans.selected() {
            Some(o) => (None, o.user.clone(), Some(o.entry.clone())),
            None => return fx.render = false,
        },
        _ => (None, String::new(), None),
    };
    let mut form = RequestForm {
        ticket,
        focus: if who.is_empty() { FormField::For } else { FormField::Entry },
        for_login: Input::new(who),
        query: Input::default(),
        entries: FuzzyList::default(),
        entry: ListCursor::default(),
        pick: entry.clone(),
        duration: Input::default(),
        justification: Input::default(),
        problem: None,
        preview: None,
        previewing: false,
    };
    match &state.access.catalog {
        Some(catalog) => rebuild_entries(&mut form, catalog, entry.as_deref(), &mut state.matcher),
        None => load(state, AccessList::Catalog, fx),
    }
    if entry.is_some() {
        form.focus = FormField::Justification;
    }
    state.popup = Some(Popup::RequestForm(Box::new(form)));
}

/// What the form asks for, or the field that is wrong and why.
pub fn validate(form: &RequestForm, catalog: Option<&[CatalogChoice]>) -> Result<RequestDraft, (FormField, String)> {
    let requested_for = form.for_login.value().trim().to_lowercase();
    if requested_for.is_empty() {
        return Err((FormField::For, "say who the access is for (their Okta login)".into()));
    }
    let catalog = catalog.ok_or((FormField::Entry, "the catalog is still loading; try again in a moment".into()))?;
    let entry = form
        .entries
        .visible()
        .get(form.entry.selected)
        .and_then(|&i| catalog.get(i as usize))
        .ok_or((FormField::Entry, "choose a catalog entry: type to search, ↑↓ to pick".into()))?;
    let duration = match form.duration.value().trim() {
        "" => None,
        text => {
            let d = humantime::parse_duration(text)
                .map_err(|_| (FormField::Duration, format!("`{text}` is not a duration: write 8h, 30m or 2days")))?;
            if d.is_zero() {
                return Err((FormField::Duration, "the duration must be more than zero".into()));
            }
            if let Some(max) = entry.max_duration
                && d > max
            {
                return Err((
                    FormField::Duration,
                    format!("{} may be granted for at most {}", entry.name, human_duration(max)),
                ));
            }
            Some(d)
        }
    };
    let justification = form.justification.value().trim().to_string();
    if entry.justification_required && justification.is_empty() {
        return Err((
            FormField::Justification,
            format!("{} requires a justification: say why the access is needed", entry.name),
        ));
    }
    Ok(RequestDraft { ticket: form.ticket.clone(), requested_for, entry: entry.name.clone(), duration, justification })
}

/// A key in the request form: Tab between fields, typing edits, ↑↓ pick an entry; ctrl-s (or
/// Enter on the last field) previews, and once the preview shows exactly the form, raises.
pub(super) fn form_key(state: &mut State, mut form: Box<RequestForm>, key: KeyEvent, fx: &mut Effects) {
    let ctrl_s = key.code == KeyCode::Char('s') && key.modifiers.contains(KeyModifiers::CONTROL);
    let order = FormField::ORDER;
    let at = order.iter().position(|f| *f == form.focus).unwrap_or(0);
    match key.code {
        KeyCode::Esc => return,
        _ if ctrl_s => return submit_form(state, form, fx),
        KeyCode::Enter if form.focus == FormField::Justification => return submit_form(state, form, fx),
        KeyCode::Tab | KeyCode::Enter => form.focus = order[(at + 1) % order.len()],
        KeyCode::BackTab => form.focus = order[(at + order.len() - 1) % order.len()],
        KeyCode::Up | KeyCode::Down if form.focus == FormField::Entry => {
            let len = form.entries.visible().len();
            form.entry.step(if key.code == KeyCode::Up { -1 } else { 1 }, len, ENTRY_ROWS);
            form.preview = None;
        }
        _ => match to_input_request(&Event::Key(key)) {
            Some(req) => {
                let input = match form.focus {
                    FormField::For => &mut form.for_login,
                    FormField::Entry => &mut form.query,
                    FormField::Duration => &mut form.duration,
                    FormField::Justification => &mut form.justification,
                };
                input.handle(req);
                form.preview = None;
                form.problem = None;
                if form.focus == FormField::Entry {
                    let q = form.query.value().to_string();
                    form.entries.set_query(&q, &mut state.matcher);
                    form.entry.select(0, form.entries.visible().len(), ENTRY_ROWS);
                }
            }
            None => fx.render = false,
        },
    }
    state.popup = Some(Popup::RequestForm(form));
}

fn submit_form(state: &mut State, mut form: Box<RequestForm>, fx: &mut Effects) {
    match validate(&form, state.access.catalog.as_deref()) {
        Err((field, problem)) => {
            form.focus = field;
            form.problem = Some(problem);
        }
        Ok(draft) if form.preview.as_ref().is_some_and(|p| p.draft == draft) => {
            return run(state, Command::RaiseRequest(draft), fx);
        }
        Ok(draft) => {
            form.previewing = true;
            form.problem = None;
            fx.effects.push(Effect::PreviewRequest(draft));
        }
    }
    state.popup = Some(Popup::RequestForm(form));
}

/// The preview arrived: shown if the form still says what it was asked for.
pub(super) fn preview_loaded(state: &mut State, preview: crate::tui::effect::PreviewInfo, fx: &mut Effects) {
    let catalog = state.access.catalog.as_deref();
    let Some(Popup::RequestForm(form)) = state.popup.as_mut() else { return fx.render = false };
    form.previewing = false;
    if validate(form, catalog).is_ok_and(|d| d == preview.draft) {
        form.preview = Some(preview);
    }
}

/// The preview failed: the form says why.
pub(super) fn preview_failed(state: &mut State, error: String) {
    match state.popup.as_mut() {
        Some(Popup::RequestForm(form)) => {
            form.previewing = false;
            form.problem = Some(sanitize_line(&error).into_owned());
        }
        _ => notify(state, Level::Error, format!("could not preview the request: {error}")),
    }
}

// ---- expiry radar, detail

/// One key on the expiry radar: an extension request for the selected grant.
pub(super) fn extend(state: &mut State, fx: &mut Effects) {
    if !refuse_if_read_only(state, "extend grants") {
        return;
    }
    let Some(r) = state.access.expiring.selected().filter(|_| matches!(state.screen(), Screen::Expiring)) else {
        return fx.render = false;
    };
    let what = format!("{} for {}", r.request.entry, r.request.requested_for);
    let id = r.request.id.clone();
    run(state, Command::Extend { id, what }, fx);
}

/// Enter on an access list: a request's detail, or an orphan's Okta account.
pub(super) fn open(state: &State) -> Option<crate::tui::Action> {
    match state.screen() {
        Screen::Inbox => state.access.inbox.selected().map(|r| r.request.id.clone()),
        Screen::Expiring => state.access.expiring.selected().map(|r| r.request.id.clone()),
        Screen::Orphans => {
            return state.access.orphans.selected().map(|o| crate::tui::Action::OpenUser(o.user.clone()));
        }
        _ => None,
    }
    .map(crate::tui::Action::OpenRequest)
}

/// Opens a request's detail.
pub(super) fn open_request(state: &mut State, id: String) {
    if !matches!(state.screen(), Screen::Request(r) if r.id == id) {
        state.screens.push(Screen::Request(RequestScreen { id, scroll: 0 }));
    }
}

/// Moves the selection of an access screen; false when the screen is not one.
pub(super) fn move_selection(state: &mut State, mv: &Move) -> bool {
    let page = list_page(state);
    let bulk_page = layout::bulk(state.chrome().body).rows();
    match state.screens.last_mut() {
        Some(Screen::Inbox) => {
            let l = &mut state.access.inbox;
            let len = l.shown();
            move_cursor(&mut l.cursor, mv, len, page);
            extend_range(state);
        }
        Some(Screen::Expiring) => {
            let l = &mut state.access.expiring;
            let len = l.shown();
            move_cursor(&mut l.cursor, mv, len, page);
        }
        Some(Screen::Orphans) => {
            let l = &mut state.access.orphans;
            let len = l.shown();
            move_cursor(&mut l.cursor, mv, len, page);
        }
        Some(Screen::Bulk) => {
            if let Some(run) = state.access.bulk.as_mut() {
                let len = run.items.len();
                move_cursor(&mut run.cursor, mv, len, bulk_page);
            }
        }
        Some(Screen::Request(r)) => {
            r.scroll = match mv {
                Move::By(d) => r.scroll.saturating_add_signed(*d),
                Move::Page(d) => r.scroll.saturating_add_signed(d * page as isize),
                Move::Top => 0,
                Move::Bottom => usize::MAX,
            }
            .min(200);
        }
        _ => return false,
    }
    true
}

/// The query of the current access list, when the screen has one.
pub(super) fn filter_query(state: &State) -> Option<String> {
    match state.screen() {
        Screen::Inbox => Some(state.access.inbox.list.query().to_string()),
        Screen::Expiring => Some(state.access.expiring.list.query().to_string()),
        Screen::Orphans => Some(state.access.orphans.list.query().to_string()),
        _ => None,
    }
}

fn filter<T: AccessItem>(list: &mut AccessListState<T>, query: &str, m: &mut nucleo_matcher::Matcher, page: usize) {
    list.list.set_query(query, m);
    let len = list.shown();
    list.cursor.select(0, len, page);
}

/// Filters the current access list; false when the screen has none.
pub(super) fn set_filter(state: &mut State, query: &str) -> bool {
    let page = list_page(state);
    let m = &mut state.matcher;
    match state.screens.last() {
        Some(Screen::Inbox) => filter(&mut state.access.inbox, query, m, page),
        Some(Screen::Expiring) => filter(&mut state.access.expiring, query, m, page),
        Some(Screen::Orphans) => filter(&mut state.access.orphans, query, m, page),
        _ => return false,
    }
    true
}

/// The filter of every access list searches on (large lists are searched in chunks).
pub(super) fn continue_search(state: &mut State) {
    let m = &mut state.matcher;
    state.access.inbox.list.advance(crate::tui::filter::CHUNK, m);
    state.access.expiring.list.advance(crate::tui::filter::CHUNK, m);
    state.access.orphans.list.advance(crate::tui::filter::CHUNK, m);
}

/// Reloads what an access screen shows; false when the screen is not one.
pub(super) fn refresh(state: &mut State, fx: &mut Effects) -> bool {
    match state.screen() {
        Screen::Inbox => load(state, AccessList::Inbox, fx),
        Screen::Expiring => load(state, AccessList::Expiring, fx),
        Screen::Orphans => load(state, AccessList::Orphans, fx),
        Screen::Request(_) => reload_lists(state, fx),
        Screen::Bulk => {}
        _ => return false,
    }
    true
}

// ---- seats

/// `:as LOGIN`: ask the handler for another persona's seat.
pub(super) fn switch_operator(state: &mut State, login: &str, fx: &mut Effects) {
    let login = login.trim().to_string();
    notify(state, Level::Info, format!("taking {login}'s seat…"));
    fx.effects.push(Effect::SwitchOperator { login });
}

/// The console now acts as `user_name`: what depends on who operates is loaded again.
pub(super) fn operator_switched(state: &mut State, user_name: String, fx: &mut Effects) {
    state.operator = user_name;
    state.seat_taken = true;
    state.access.inbox = AccessListState::default();
    state.access.expiring = AccessListState::default();
    notify(state, Level::Info, format!("you are now {} (demo seat)", sanitize_line(&state.operator)));
    load_queue(state, fx);
    reload_lists(state, fx);
}
