//! `update(&mut State, Action) -> Effects`: the console's only logic. Pure — no I/O, no await,
//! no clock (time arrives as [`Action::Tick`]) — so every behaviour is testable by feeding
//! actions and looking at the state and the effects.

use std::collections::HashSet;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use crate::domain::request::Verdict;
use crate::domain::text::sanitize_line;
use crate::domain::{JournalKind, UserStatus};
use crate::tui::action::Action;
use crate::tui::commandline;
use crate::tui::editor::Editor;
use crate::tui::effect::{
    AccessList, Command, Effect, QueueRow, StateChoice, TicketRef, UserRef, is_terminal_state, state_choices,
};
use crate::tui::filter::FuzzyList;
use crate::tui::keymap::KeyChord;
use crate::tui::layout;
use crate::tui::state::{
    Confirm, ConfirmFocus, GroupScreen, Level, ListCursor, Notification, Pending, Popup, Prompt, PromptKind,
    QueueState, ResolveField, ResolveForm, Screen, SortKey, State, TicketPane, TicketScreen, UserPane, UserScreen,
};

/// What `update` asks of the runtime.
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    /// Work for the effect handler.
    pub effects: Vec<Effect>,
    /// Something visible changed: draw a frame (throttled).
    pub render: bool,
}

/// More tickets than this in one assign asks for confirmation.
const CONFIRM_BULK_OVER: usize = 1;
/// Audit events loaded at once.
const AUDIT_LIMIT: usize = 2000;
/// How many lines a mouse wheel notch scrolls.
const WHEEL_LINES: isize = 3;

/// Applies one action.
pub fn update(state: &mut State, action: Action) -> Effects {
    let mut fx = Effects { effects: Vec::new(), render: true };
    handle(state, action, &mut fx);
    fx
}

fn handle(state: &mut State, action: Action, fx: &mut Effects) {
    match action {
        Action::Start => {
            // The dashboard's strip is asked for once the queue is in: both read the tickets, and
            // the queue is what the first frame must show.
            load_queue(state, fx);
            if state.sync_at_start {
                start_sync(state, true, fx);
            } else {
                state.next_sync = state.sync_every.map(|every| state.now + every);
            }
        }
        Action::Key(key) => on_key(state, key, fx),
        Action::Mouse(ev) => on_mouse(state, ev, fx),
        Action::Paste(text) => on_paste(state, &text),
        Action::Resize { width, height } => {
            state.width = width;
            state.height = height;
            reveal_all(state);
        }
        Action::Tick(now) => {
            let before = (state.notification().cloned(), state.now.timestamp() / 60);
            state.now = now;
            while state.notifications.len() > 1
                && state.notifications.front().is_some_and(|n| (now - n.at).num_seconds() > n.ttl_secs())
            {
                state.notifications.pop_front();
            }
            fx.render = before != (state.notification().cloned(), now.timestamp() / 60);
            if state.next_sync.is_some_and(|due| now >= due) && !state.syncing {
                start_sync(state, true, fx);
                fx.render = true;
            }
        }
        Action::ContinueSearch => {
            let matcher = &mut state.matcher;
            state.queue.list.advance(crate::tui::filter::CHUNK, matcher);
            state.audit.list.advance(crate::tui::filter::CHUNK, matcher);
            for screen in &mut state.screens {
                if let Screen::Group(g) = screen {
                    g.members.advance(crate::tui::filter::CHUNK, matcher);
                }
            }
            access::continue_search(state);
        }
        Action::Quit => state.quit = true,
        Action::ShowHelp => state.popup = Some(Popup::Help { scroll: 0 }),
        Action::OpenCommandLine => {
            state.prompt = Some(Prompt {
                kind: PromptKind::Command,
                input: Input::default(),
                completions: Vec::new(),
                chosen: None,
            })
        }
        Action::OpenFilter => open_filter(state, fx),
        Action::Back => back(state),
        Action::NextPane => switch_pane(state, true),
        Action::PrevPane => switch_pane(state, false),
        Action::Up => move_selection(state, Move::By(-1)),
        Action::Down => move_selection(state, Move::By(1)),
        Action::Top => move_selection(state, Move::Top),
        Action::Bottom => move_selection(state, Move::Bottom),
        Action::PageUp => move_selection(state, Move::Page(-1)),
        Action::PageDown => move_selection(state, Move::Page(1)),
        Action::Open => open_selected(state, fx),
        Action::ToggleMark => {
            if !access::toggle_mark(state) {
                toggle_mark(state)
            }
        }
        Action::MarkRange => {
            if !access::mark_range(state) {
                mark_range(state)
            }
        }
        Action::ClearMarks => {
            if !access::clear_marks(state) {
                state.queue.marks.clear();
                state.queue.range_anchor = None;
            }
        }
        Action::MarkAllShown => access::mark_all_shown(state, fx),
        Action::ShowInbox => access::show(state, Screen::Inbox, AccessList::Inbox, fx),
        Action::ShowExpiring => access::show(state, Screen::Expiring, AccessList::Expiring, fx),
        Action::ShowOrphans => access::show(state, Screen::Orphans, AccessList::Orphans, fx),
        Action::OpenRequest(id) => access::open_request(state, id),
        Action::Approve => access::open_decide(state, Verdict::Approve, fx),
        Action::Deny => access::open_decide(state, Verdict::Deny, fx),
        Action::RequestAccess => access::open_request_form(state, fx),
        Action::ExtendGrant => access::extend(state, fx),
        Action::RetryBulk => access::retry_bulk(state, fx),
        Action::SwitchOperator(login) => access::switch_operator(state, &login, fx),
        Action::AccessLoaded(data) => access::loaded(state, data, fx),
        Action::AccessLoadFailed { list, error } => access::load_failed(state, list, error),
        Action::PreviewLoaded(p) => access::preview_loaded(state, *p, fx),
        Action::PreviewFailed(e) => access::preview_failed(state, e),
        Action::BulkItemDone { batch, id, outcome } => access::bulk_item_done(state, batch, &id, outcome, fx),
        Action::OperatorSwitched { user_name } => access::operator_switched(state, user_name, fx),
        Action::OperatorSwitchFailed(e) => notify(state, Level::Error, e),
        Action::ShowView(view) => {
            state.screens.truncate(1);
            if state.queue.view != view || state.queue.error.is_some() {
                state.queue.view = view;
                state.queue.rows.clear();
                state.queue.list = FuzzyList::default();
                state.queue.cursor = ListCursor::default();
                state.queue.range_anchor = None;
                state.queue.source = None;
                state.queue.preview_total = None;
            }
            load_queue(state, fx);
        }
        Action::CycleSort => {
            let i = SortKey::CYCLE.iter().position(|k| *k == state.queue.sort).unwrap_or(0);
            state.queue.sort = SortKey::CYCLE[(i + 1) % SortKey::CYCLE.len()];
            state.queue.descending = false;
            resort(state);
        }
        Action::ReverseSort => {
            state.queue.descending = !state.queue.descending;
            resort(state);
        }
        Action::AssignToMe => assign_to_me(state, fx),
        Action::ChangeState => {
            if let Some(ticket) = refuse_if_read_only(state, "change state").then(|| target_ticket(state)).flatten() {
                let choices = state_choices(ticket.kind);
                state.popup = Some(Popup::ChangeState { ticket, choices, selected: 0 });
            }
        }
        Action::AddWorkNote => open_journal(state, JournalKind::WorkNote),
        Action::AddComment => open_journal(state, JournalKind::Comment),
        Action::Resolve => {
            if let Some(ticket) = refuse_if_read_only(state, "resolve").then(|| target_ticket(state)).flatten() {
                state.popup = Some(Popup::Resolve(ResolveForm {
                    ticket,
                    codes: state.close_codes.clone(),
                    code: 0,
                    notes: Editor::default(),
                    focus: ResolveField::Code,
                    problem: None,
                }));
            }
        }
        Action::OpenCaller => match caller_login(state) {
            Some(login) => handle(state, Action::OpenUser(login), fx),
            None => notify(state, Level::Warn, "this ticket's caller has no Okta login on record".into()),
        },
        Action::Unlock | Action::ResetPassword | Action::Suspend | Action::Unsuspend => okta_action(state, &action, fx),
        Action::ShowDashboard => {
            if !matches!(state.screen(), Screen::Dashboard) {
                state.screens.push(Screen::Dashboard);
            }
            fx.effects.push(Effect::LoadDashboard);
        }
        Action::ShowAudit => {
            show_audit(state);
            load_audit(state, fx);
        }
        Action::SearchAudit(text) => {
            show_audit(state);
            state.audit.filter.text = text;
            load_audit(state, fx);
        }
        Action::VerifyAudit => {
            state.audit.verifying = true;
            fx.effects.push(Effect::VerifyAudit);
        }
        Action::Refresh => refresh(state, fx),
        Action::Sync => {
            if state.syncing {
                // The operator now waits for the one running: announce its result.
                state.sync_quiet = false;
                notify(state, Level::Info, "a sync is already running".into());
            } else {
                start_sync(state, false, fx);
            }
        }
        Action::Retry => match state.failed.pop() {
            Some(command) if !state.read_only => {
                notify(state, Level::Info, format!("retrying: {}", command.describe()));
                run(state, command, fx);
            }
            Some(_) => {
                refuse_if_read_only(state, "retry");
            }
            None => notify(state, Level::Info, "nothing to retry".into()),
        },
        Action::OpenTicket { number, sys_id } => open_ticket(state, number, sys_id, fx),
        Action::OpenUser(login) => {
            let login = login.trim().to_lowercase();
            let already = matches!(state.screen(), Screen::User(u) if u.login == login);
            if !already {
                state.screens.push(Screen::User(UserScreen {
                    login: login.clone(),
                    focus: UserPane::Groups,
                    cursors: [ListCursor::default(); 3],
                }));
            }
            load_user(state, &login, fx);
        }
        Action::OpenGroup(name) => {
            let key = name.trim().to_lowercase();
            if !matches!(state.screen(), Screen::Group(g) if g.name == key) {
                let mut screen =
                    GroupScreen { name: key.clone(), members: FuzzyList::default(), cursor: ListCursor::default() };
                rebuild_members(state, &mut screen);
                state.screens.push(Screen::Group(screen));
            }
            state.groups.entry(key).or_default().start();
            fx.effects.push(Effect::LoadGroup { name: name.trim().to_string() });
        }
        Action::SetTheme(name) => match state.themes.resolve(name.trim(), state.depth) {
            Ok(theme) => {
                let note = if state.depth == crate::tui::theme::ColorDepth::Mono {
                    format!("theme {} (no colours: NO_COLOR or a dumb terminal)", theme.name)
                } else {
                    format!("theme {}", theme.name)
                };
                state.theme = theme;
                notify(state, Level::Info, note);
            }
            Err(e) => notify(state, Level::Error, e.to_string()),
        },

        // ---- answers
        Action::QueueLoaded { view, rows, source } => {
            if view != state.queue.view {
                fx.render = false;
                return;
            }
            set_queue_rows(state, rows);
            state.queue.preview_total = None;
            state.queue.source = Some(source);
            state.queue.error = None;
            if state.dashboard.is_none() && !fx.effects.contains(&Effect::LoadDashboard) {
                fx.effects.push(Effect::LoadDashboard);
            }
            // A queue is answered once; a cached one says how old it is instead.
            state.queue.loading = false;
        }
        Action::QueuePreview { view, rows, total } => {
            // Only while nothing better is on screen: the whole view may have come first.
            if view != state.queue.view || !state.queue.loading || !state.queue.rows.is_empty() {
                fx.render = false;
                return;
            }
            set_queue_rows(state, rows);
            state.queue.preview_total = Some(total);
            state.queue.error = None;
        }
        Action::QueueLoadFailed { view, error } => {
            if view == state.queue.view {
                state.queue.loading = false;
                notify(
                    state,
                    Level::Error,
                    format!("could not load the queue ({}): {error} — R reloads", view.title()),
                );
                state.queue.error = Some(error);
            }
        }
        Action::QueueRowsChanged(changed) => {
            let mut rows = std::mem::take(&mut state.queue.rows);
            let mut touched = false;
            for new in changed {
                if let Some(old) = rows.iter_mut().find(|r| r.sys_id == new.sys_id) {
                    *old = new;
                    touched = true;
                }
            }
            if touched {
                set_queue_rows(state, rows);
            } else {
                state.queue.rows = rows;
                fx.render = false;
            }
        }
        Action::TicketLoaded { detail, source } => {
            let number = detail.ticket.number.to_ascii_uppercase();
            let login = detail.ticket.caller_email.to_lowercase();
            let t = &detail.ticket;
            if let Some(row) = state.queue.rows.iter_mut().find(|r| r.sys_id == t.sys_id) {
                row.mod_count = t.mod_count;
                row.state.clone_from(&t.state_label);
                row.priority = t.priority;
            }
            let sys_id = t.sys_id.clone();
            state.tickets.entry(number.clone()).or_default().arrive(*detail, source);
            let mut want_user = None;
            for screen in &mut state.screens {
                if let Screen::Ticket(ts) = screen
                    && ts.number == number
                {
                    ts.sys_id = Some(sys_id.clone());
                    if ts.caller_login.is_none() && !login.is_empty() {
                        ts.caller_login = Some(login.clone());
                        want_user = Some(login.clone());
                    }
                }
            }
            if let Some(login) = want_user
                && !state.users.get(&login).is_some_and(|u| u.loading || u.data.is_some())
            {
                load_user(state, &login, fx);
            }
        }
        Action::TicketLoadFailed { number, error } => {
            let number = number.to_ascii_uppercase();
            state.tickets.entry(number.clone()).or_default().fail(error.clone());
            notify(state, Level::Error, format!("could not load {number}: {error}"));
        }
        Action::UserLoaded { login, detail, source } => {
            let key = login.trim().to_lowercase();
            let actual = detail.user.login.to_lowercase();
            if actual != key && !actual.is_empty() {
                state.users.entry(actual).or_default().arrive((*detail).clone(), source);
            }
            state.users.entry(key).or_default().arrive(*detail, source);
            reveal_all(state);
        }
        Action::UserLoadFailed { login, error } => {
            let key = login.trim().to_lowercase();
            state.users.entry(key).or_default().fail(error.clone());
            notify(state, Level::Error, format!("could not load Okta user {login}: {error}"));
        }
        Action::GroupLoaded { name, detail, source } => {
            let key = name.trim().to_lowercase();
            let actual = detail.group.name.to_lowercase();
            if actual != key {
                state.groups.entry(actual).or_default().arrive((*detail).clone(), source);
            }
            state.groups.entry(key.clone()).or_default().arrive(*detail, source);
            let mut screens = std::mem::take(&mut state.screens);
            for screen in &mut screens {
                if let Screen::Group(g) = screen
                    && g.name == key
                {
                    rebuild_members(state, g);
                }
            }
            state.screens = screens;
        }
        Action::GroupLoadFailed { name, error } => {
            state.groups.entry(name.trim().to_lowercase()).or_default().fail(error.clone());
            notify(state, Level::Error, format!("could not load Okta group {name}: {error}"));
        }
        Action::AuditLoaded { filter, rows, verify } => {
            if filter != state.audit.filter {
                fx.render = false;
                return;
            }
            let columns = rows.iter().flat_map(|r| {
                [&r.operator, &r.action, &r.subject, &r.object, &r.ticket, &r.outcome].map(|c| sanitize_line(c))
            });
            let query = state.audit.list.query().to_string();
            state.audit.list = FuzzyList::new(6, columns, (0..rows.len() as u32).collect());
            state.audit.list.set_query(&query, &mut state.matcher);
            state.audit.rows = rows;
            state.audit.loading = false;
            state.audit.error = None;
            if let Some(v) = verify {
                state.audit.verify = v;
            }
            reveal_all(state);
        }
        Action::AuditLoadFailed { error } => {
            state.audit.loading = false;
            notify(state, Level::Error, format!("could not read the audit log: {error}"));
            state.audit.error = Some(error);
        }
        Action::AuditVerified(v) => {
            state.audit.verifying = false;
            match &v {
                crate::tui::effect::AuditVerify::Broken { seq, problem } => {
                    notify(state, Level::Error, format!("audit chain BROKEN at #{seq}: {problem}"))
                }
                crate::tui::effect::AuditVerify::Intact { events } => {
                    notify(state, Level::Info, format!("audit chain intact: {events} events"))
                }
                crate::tui::effect::AuditVerify::NotChecked => {}
            }
            state.audit.verify = v;
        }
        Action::DashboardLoaded(d) => {
            state.dashboard = Some(*d);
            reveal_all(state);
        }
        Action::SyncFinished { summary, queue_changed } => {
            state.syncing = false;
            state.sync_failing = false;
            if !state.sync_quiet {
                notify(state, Level::Info, format!("sync done: {summary}"));
            }
            state.last_sync = Some((state.now, summary));
            state.next_sync = state.sync_every.map(|every| state.now + every);
            if queue_changed {
                reload_tickets(state, fx);
            }
        }
        Action::TicketsSynced { changed } => {
            fx.render = false;
            if changed {
                reload_tickets(state, fx);
            }
        }
        Action::SyncFailed { error } => {
            state.syncing = false;
            state.next_sync = state.sync_every.map(|every| state.now + every);
            // A background sync failing again (offline for a while) is not announced every time.
            if !(state.sync_quiet && state.sync_failing) {
                notify(state, Level::Error, format!("sync failed: {error} — ctrl-r tries again"));
            }
            state.sync_failing = true;
        }
        Action::CommandQueued { id } => match state.pending.get_mut(&id) {
            Some(p) => p.queued = true,
            None => fx.render = false,
        },
        Action::CommandSucceeded { id, message } => {
            let Some(pending) = state.pending.remove(&id) else {
                fx.render = false;
                return;
            };
            notify(state, Level::Info, message);
            state.failed.retain(|c| *c != pending.command);
            access::decided(state, &pending.command);
            after_change(state, &pending.command, fx);
            if let Command::AddJournal { ticket, kind, .. } = &pending.command {
                state.drafts.remove(&(ticket.sys_id.clone(), kind.field()));
            }
        }
        Action::CommandFailed { id, error } => {
            let Some(pending) = state.pending.remove(&id) else {
                fx.render = false;
                return;
            };
            if let Command::AddJournal { ticket, kind, text } = &pending.command {
                state.drafts.insert((ticket.sys_id.clone(), kind.field()), text.clone());
            }
            let retry =
                state.keymap.keys_of(crate::tui::keymap::Context::Global, "retry").unwrap_or_else(|| ":retry".into());
            notify(state, Level::Error, format!("could not {}: {error} — {retry} retries", pending.command.describe()));
            state.failed.retain(|c| *c != pending.command);
            state.failed.push(pending.command.clone());
            // What failed may have failed because the record changed: show the current one.
            after_change(state, &pending.command, fx);
        }
    }
}

/// Adds a notification (sanitised: error texts come from remote services).
pub fn notify(state: &mut State, level: Level, text: String) {
    let text = sanitize_line(&text).into_owned();
    state.notifications.push_back(Notification { level, text, at: state.now });
    while state.notifications.len() > 20 {
        state.notifications.pop_front();
    }
}

fn refuse_if_read_only(state: &mut State, what: &str) -> bool {
    if state.read_only {
        notify(state, Level::Warn, format!("read-only mode: cannot {what}"));
        false
    } else {
        true
    }
}

fn run(state: &mut State, command: Command, fx: &mut Effects) {
    if !refuse_if_read_only(state, &command.describe()) {
        return;
    }
    let id = crate::tui::effect::CommandId(state.next_command);
    state.next_command += 1;
    state.pending.insert(id, Pending { command: command.clone(), queued: false });
    fx.effects.push(Effect::RunCommand { id, command });
}

fn after_change(state: &mut State, command: &Command, fx: &mut Effects) {
    if let Some(t) = command.ticket() {
        let open = state.screens.iter().any(|s| matches!(s, Screen::Ticket(ts) if ts.number == t.number));
        if open || state.tickets.contains_key(&t.number) {
            fx.effects.push(Effect::LoadTicket { number: t.number.clone(), sys_id: Some(t.sys_id.clone()) });
        }
        if !matches!(command, Command::AddJournal { .. }) {
            load_queue(state, fx);
        }
    }
    if let Some(u) = command.user() {
        load_user(state, &u.login.to_lowercase(), fx);
    }
    if matches!(command, Command::Decide { .. } | Command::RaiseRequest(_) | Command::Extend { .. }) {
        access::reload_lists(state, fx);
    }
}

/// After tickets changed in the cache: the queue again, and the ticket on screen.
fn reload_tickets(state: &mut State, fx: &mut Effects) {
    load_queue(state, fx);
    if let Screen::Ticket(t) = state.screen() {
        fx.effects.push(Effect::LoadTicket { number: t.number.clone(), sys_id: t.sys_id.clone() });
    }
}

/// Starts a sync; `quiet` when the console's clock asked for it rather than the operator.
fn start_sync(state: &mut State, quiet: bool, fx: &mut Effects) {
    state.syncing = true;
    state.sync_quiet = quiet;
    state.next_sync = None;
    fx.effects.push(Effect::Sync);
}

fn load_queue(state: &mut State, fx: &mut Effects) {
    state.queue.loading = true;
    if !fx.effects.iter().any(|e| matches!(e, Effect::LoadQueue { .. })) {
        // Nothing on screen yet (start, another view): the top of the view first, so a frame
        // shows it while the whole view — which the filter and the sort need — loads.
        if state.queue.rows.is_empty() {
            let q = &state.queue;
            let rows = (state.queue_layout().rows() * 2).max(50);
            fx.effects.push(Effect::PreviewQueue { view: q.view, sort: q.sort, descending: q.descending, rows });
        }
        fx.effects.push(Effect::LoadQueue { view: state.queue.view });
    }
}

fn load_user(state: &mut State, login: &str, fx: &mut Effects) {
    state.users.entry(login.to_string()).or_default().start();
    fx.effects.push(Effect::LoadUser { login: login.to_string() });
}

fn load_audit(state: &mut State, fx: &mut Effects) {
    state.audit.loading = true;
    state.audit.filter.limit = AUDIT_LIMIT;
    fx.effects.push(Effect::LoadAudit { filter: state.audit.filter.clone() });
}

fn show_audit(state: &mut State) {
    if !matches!(state.screen(), Screen::Audit) {
        state.screens.retain(|s| !matches!(s, Screen::Audit));
        state.screens.push(Screen::Audit);
    }
}

fn refresh(state: &mut State, fx: &mut Effects) {
    if access::refresh(state, fx) {
        return;
    }
    match state.screen().clone() {
        Screen::Queue => load_queue(state, fx),
        Screen::Ticket(t) => {
            state.tickets.entry(t.number.clone()).or_default().start();
            fx.effects.push(Effect::LoadTicket { number: t.number, sys_id: t.sys_id });
            if let Some(login) = t.caller_login {
                load_user(state, &login, fx);
            }
        }
        Screen::User(u) => load_user(state, &u.login, fx),
        Screen::Group(g) => {
            state.groups.entry(g.name.clone()).or_default().start();
            fx.effects.push(Effect::LoadGroup { name: g.name });
        }
        Screen::Audit => load_audit(state, fx),
        Screen::Dashboard => fx.effects.push(Effect::LoadDashboard),
        Screen::Inbox | Screen::Expiring | Screen::Orphans | Screen::Request(_) | Screen::Bulk => {}
    }
}

fn set_queue_rows(state: &mut State, rows: Vec<QueueRow>) {
    let selected = state.queue.selected().map(|r| r.sys_id.clone());
    state.queue.rows = rows;
    let order = state.queue.sorted_order();
    let query = state.queue.list.query().to_string();
    let columns = state.queue.rows.iter().flat_map(QueueState::filter_columns);
    state.queue.list = FuzzyList::new(QueueState::FILTER_COLUMNS, columns, order);
    state.queue.list.set_query(&query, &mut state.matcher);
    reselect(state, selected);
}

fn resort(state: &mut State) {
    let selected = state.queue.selected().map(|r| r.sys_id.clone());
    let order = state.queue.sorted_order();
    state.queue.list.set_order(order, &mut state.matcher);
    reselect(state, selected);
}

fn reselect(state: &mut State, sys_id: Option<String>) {
    let page = state.queue_layout().rows();
    let pos = sys_id.and_then(|id| {
        let rows = &state.queue.rows;
        state.queue.list.visible().iter().position(|&i| rows[i as usize].sys_id == id)
    });
    let len = state.queue.shown();
    match pos {
        Some(p) => state.queue.cursor.select(p, len, page),
        None => state.queue.cursor.reveal(len, page),
    }
}

fn rebuild_members(state: &mut State, screen: &mut GroupScreen) {
    let Some(detail) = state.groups.get(&screen.name).and_then(|g| g.data.as_ref()) else { return };
    let columns = detail.members.iter().flat_map(|u| {
        [
            sanitize_line(&u.login).into_owned(),
            sanitize_line(&u.display_name()).into_owned(),
            u.status.to_string(),
            sanitize_line(&u.department).into_owned(),
        ]
    });
    let query = screen.members.query().to_string();
    screen.members = FuzzyList::new(4, columns, (0..detail.members.len() as u32).collect());
    screen.members.set_query(&query, &mut state.matcher);
    let len = screen.members.visible().len();
    let page = usize::from(layout::group(state.chrome().body).members.height.saturating_sub(3)).max(1);
    screen.cursor.reveal(len, page);
}

/// Keeps every selection on screen after a resize or new data.
fn reveal_all(state: &mut State) {
    let page = state.queue_layout().rows();
    let len = state.queue.shown();
    state.queue.cursor.reveal(len, page);
    let audit_page = usize::from(layout::audit(state.chrome().body).table.height.saturating_sub(1)).max(1);
    let audit_len = state.audit.list.visible().len();
    state.audit.cursor.reveal(audit_len, audit_page);
}

enum Move {
    By(isize),
    Page(isize),
    Top,
    Bottom,
}

fn move_cursor(cursor: &mut ListCursor, mv: &Move, len: usize, page: usize) {
    match mv {
        Move::By(d) => cursor.step(*d, len, page),
        Move::Page(d) => cursor.step(d * page.max(1) as isize, len, page),
        Move::Top => cursor.select(0, len, page),
        Move::Bottom => cursor.select(len.saturating_sub(1), len, page),
    }
}

fn move_selection(state: &mut State, mv: Move) {
    if access::move_selection(state, &mv) {
        return;
    }
    let page = state.page_rows();
    let body = state.chrome().body;
    // Scrolling a ticket stops where its last line shows, so `k` after `G` moves at once.
    let ticket_last = match state.screen() {
        Screen::Ticket(t) if t.focus == TicketPane::Ticket => {
            crate::tui::view::ticket_pane_lines(state, t).saturating_sub(page)
        }
        _ => 0,
    };
    match state.screens.last_mut() {
        Some(Screen::Queue) | None => {
            let len = state.queue.shown();
            move_cursor(&mut state.queue.cursor, &mv, len, page);
        }
        Some(Screen::Ticket(t)) => match t.focus {
            TicketPane::Ticket => {
                let last = ticket_last;
                t.scroll = match mv {
                    Move::By(d) => t.scroll.saturating_add_signed(d),
                    Move::Page(d) => t.scroll.saturating_add_signed(d * page as isize),
                    Move::Top => 0,
                    Move::Bottom => last,
                }
                .min(last);
            }
            TicketPane::Okta => {
                let len = t
                    .caller_login
                    .as_ref()
                    .and_then(|l| state.users.get(l))
                    .and_then(|u| u.data.as_ref())
                    .map_or(0, |d| d.groups.len());
                move_cursor(&mut t.groups, &mv, len, page);
            }
        },
        Some(Screen::User(u)) => {
            let detail = state.users.get(&u.login).and_then(|x| x.data.as_ref());
            let len = detail.map_or(0, |d| match u.focus {
                UserPane::Groups => d.groups.len(),
                UserPane::Apps => d.apps.len(),
                UserPane::Events => d.events.len(),
            });
            let page = layout::bordered_rows(layout::user(body, u.focus).lists[u.focus as usize]);
            move_cursor(&mut u.cursors[u.focus as usize], &mv, len, page);
        }
        Some(Screen::Group(g)) => {
            let len = g.members.visible().len();
            move_cursor(&mut g.cursor, &mv, len, page);
        }
        Some(Screen::Audit) => {
            let len = state.audit.list.visible().len();
            move_cursor(&mut state.audit.cursor, &mv, len, page);
        }
        _ => {}
    }
    if let Some(anchor) = state.queue.range_anchor.clone()
        && matches!(state.screen(), Screen::Queue)
    {
        extend_range(state, &anchor);
    }
}

fn back(state: &mut State) {
    if state.popup.take().is_some() {
        return;
    }
    if matches!(state.screen(), Screen::Inbox) && state.access.inbox.range_anchor.take().is_some() {
        return;
    }
    if state.screens.len() > 1 {
        state.screens.pop();
        return;
    }
    if state.queue.range_anchor.take().is_some() {
        return;
    }
    if !state.queue.list.query().is_empty() {
        set_filter(state, "");
    }
}

fn switch_pane(state: &mut State, forward: bool) {
    match state.screens.last_mut() {
        Some(Screen::Ticket(t)) => {
            t.focus = match t.focus {
                TicketPane::Ticket => TicketPane::Okta,
                TicketPane::Okta => TicketPane::Ticket,
            };
        }
        Some(Screen::User(u)) => {
            let order = [UserPane::Groups, UserPane::Apps, UserPane::Events];
            let i = order.iter().position(|p| *p == u.focus).unwrap_or(0);
            u.focus = order[if forward { (i + 1) % 3 } else { (i + 2) % 3 }];
        }
        _ => {}
    }
}

fn open_selected(state: &mut State, fx: &mut Effects) {
    let next = match state.screen() {
        Screen::Queue => state
            .queue
            .selected()
            .map(|r| Action::OpenTicket { number: r.number.clone(), sys_id: Some(r.sys_id.clone()) }),
        Screen::Ticket(t) => match t.focus {
            TicketPane::Okta => t
                .caller_login
                .as_ref()
                .and_then(|l| state.users.get(l))
                .and_then(|u| u.data.as_ref())
                .and_then(|d| d.groups.get(t.groups.selected))
                .map(|g| Action::OpenGroup(g.name.clone())),
            TicketPane::Ticket => t.caller_login.clone().map(Action::OpenUser),
        },
        Screen::User(u) => {
            let d = state.users.get(&u.login).and_then(|x| x.data.as_ref());
            match u.focus {
                UserPane::Groups => {
                    d.and_then(|d| d.groups.get(u.cursors[0].selected)).map(|g| Action::OpenGroup(g.name.clone()))
                }
                _ => None,
            }
        }
        Screen::Group(g) => {
            let d = state.groups.get(&g.name).and_then(|x| x.data.as_ref());
            g.members
                .visible()
                .get(g.cursor.selected)
                .and_then(|&i| d.and_then(|d| d.members.get(i as usize)))
                .map(|u| Action::OpenUser(u.login.clone()))
        }
        Screen::Audit => state
            .audit
            .list
            .visible()
            .get(state.audit.cursor.selected)
            .map(|&i| &state.audit.rows[i as usize])
            .filter(|r| !r.ticket.is_empty())
            .map(|r| Action::OpenTicket { number: r.ticket.to_ascii_uppercase(), sys_id: None }),
        Screen::Dashboard | Screen::Bulk | Screen::Request(_) => None,
        Screen::Inbox | Screen::Expiring | Screen::Orphans => access::open(state),
    };
    match next {
        Some(a) => handle(state, a, fx),
        None => fx.render = false,
    }
}

fn open_ticket(state: &mut State, number: String, sys_id: Option<String>, fx: &mut Effects) {
    let number = number.trim().to_ascii_uppercase();
    let row = state.queue.rows.iter().find(|r| r.number == number);
    let sys_id = sys_id.or_else(|| row.map(|r| r.sys_id.clone()));
    let login = row
        .map(|r| r.caller_login.to_lowercase())
        .filter(|l| !l.is_empty())
        .or_else(|| {
            state.tickets.get(&number).and_then(|t| t.data.as_ref()).map(|d| d.ticket.caller_email.to_lowercase())
        })
        .filter(|l| !l.is_empty());
    let already = matches!(state.screen(), Screen::Ticket(t) if t.number == number);
    if !already {
        state.screens.push(Screen::Ticket(TicketScreen {
            number: number.clone(),
            sys_id: sys_id.clone(),
            caller_login: login.clone(),
            focus: TicketPane::Ticket,
            scroll: 0,
            groups: ListCursor::default(),
        }));
    }
    state.tickets.entry(number.clone()).or_default().start();
    fx.effects.push(Effect::LoadTicket { number, sys_id });
    if let Some(login) = login {
        load_user(state, &login, fx);
    }
}

fn caller_login(state: &State) -> Option<String> {
    match state.screen() {
        Screen::Queue => state.queue.selected().map(|r| r.caller_login.to_lowercase()).filter(|l| !l.is_empty()),
        Screen::Ticket(t) => t.caller_login.clone(),
        _ => None,
    }
}

/// The ticket a triage action applies to: the open one, or the queue's selection.
fn target_ticket(state: &State) -> Option<TicketRef> {
    match state.screen() {
        Screen::Queue => state.queue.selected().map(QueueRow::ticket_ref),
        Screen::Ticket(t) => {
            if let Some(d) = state.tickets.get(&t.number).and_then(|l| l.data.as_ref()) {
                let tk = &d.ticket;
                Some(TicketRef {
                    sys_id: tk.sys_id.clone(),
                    number: tk.number.clone(),
                    kind: tk.kind,
                    mod_count: tk.mod_count,
                })
            } else {
                state.queue.rows.iter().find(|r| r.number == t.number).map(QueueRow::ticket_ref)
            }
        }
        _ => None,
    }
}

fn assign_to_me(state: &mut State, fx: &mut Effects) {
    if !refuse_if_read_only(state, "assign") {
        return;
    }
    let targets: Vec<TicketRef> = if matches!(state.screen(), Screen::Queue) && !state.queue.marks.is_empty() {
        let marks = &state.queue.marks;
        let rows = &state.queue.rows;
        state
            .queue
            .list
            .visible()
            .iter()
            .map(|&i| &rows[i as usize])
            .filter(|r| marks.contains(&r.sys_id))
            .map(QueueRow::ticket_ref)
            .collect()
    } else {
        target_ticket(state).into_iter().collect()
    };
    match targets.len() {
        0 => {
            if state.queue.marks.is_empty() {
                fx.render = false;
            } else {
                notify(state, Level::Warn, "the marked tickets are hidden by the filter; clear it or the marks".into());
            }
        }
        n if n > CONFIRM_BULK_OVER => {
            let mut lines: Vec<String> = targets.iter().take(5).map(|t| t.number.clone()).collect();
            if n > 5 {
                lines.push(format!("… and {} more", n - 5));
            }
            state.popup = Some(Popup::Confirm(Confirm {
                title: format!("Assign {n} tickets to {}?", state.operator),
                lines,
                confirm_label: format!("Assign {n}"),
                focus: ConfirmFocus::Cancel,
                commands: targets.into_iter().map(|ticket| Command::AssignToMe { ticket }).collect(),
            }));
        }
        _ => {
            for ticket in targets {
                run(state, Command::AssignToMe { ticket }, fx);
            }
        }
    }
}

fn open_journal(state: &mut State, kind: JournalKind) {
    let what = if kind == JournalKind::WorkNote { "add a work note" } else { "add a comment" };
    if !refuse_if_read_only(state, what) {
        return;
    }
    let Some(ticket) = target_ticket(state) else { return };
    let draft = state.drafts.get(&(ticket.sys_id.clone(), kind.field())).cloned().unwrap_or_default();
    state.popup = Some(Popup::Journal { ticket, kind, editor: Editor::new(&draft) });
}

/// The Okta user an Okta action applies to, with its status: the open user, or the open ticket's caller.
fn target_user(state: &State) -> Result<(UserRef, UserStatus), String> {
    let login = match state.screen() {
        Screen::User(u) => Some(u.login.clone()),
        Screen::Ticket(t) => t.caller_login.clone(),
        _ => None,
    }
    .ok_or("no Okta account here: open a ticket or a user first")?;
    let detail = state
        .users
        .get(&login)
        .and_then(|u| u.data.as_ref())
        .ok_or_else(|| format!("{login}'s Okta account is not loaded yet; wait a moment or press R"))?;
    Ok((UserRef { id: detail.user.id.clone(), login: detail.user.login.clone() }, detail.user.status.clone()))
}

fn okta_action(state: &mut State, action: &Action, fx: &mut Effects) {
    if !refuse_if_read_only(state, "change an Okta account") {
        return;
    }
    let (user, status) = match target_user(state) {
        Ok(x) => x,
        Err(e) => return notify(state, Level::Warn, e),
    };
    let login = sanitize_line(&user.login).into_owned();
    match action {
        Action::Unlock => {
            if status != UserStatus::LockedOut {
                return notify(state, Level::Info, format!("{login} is not locked out (status {status})"));
            }
            run(state, Command::UnlockUser { user }, fx);
        }
        Action::ResetPassword => {
            state.popup = Some(Popup::Confirm(Confirm {
                title: format!("Reset the password of {login}?"),
                lines: vec![
                    "Their current password stops working now.".into(),
                    "Okta emails them a link to choose a new one.".into(),
                ],
                confirm_label: "Reset password".into(),
                focus: ConfirmFocus::Cancel,
                commands: vec![Command::ResetPassword { user }],
            }));
        }
        Action::Suspend => {
            if matches!(status, UserStatus::Suspended | UserStatus::Deprovisioned) {
                return notify(state, Level::Info, format!("{login} is already {status}"));
            }
            state.popup = Some(Popup::Confirm(Confirm {
                title: format!("Suspend {login}?"),
                lines: vec![
                    "They are signed out and cannot sign in to any app".into(),
                    "until someone unsuspends the account.".into(),
                ],
                confirm_label: "Suspend".into(),
                focus: ConfirmFocus::Cancel,
                commands: vec![Command::SuspendUser { user }],
            }));
        }
        Action::Unsuspend => {
            if status != UserStatus::Suspended {
                return notify(state, Level::Info, format!("{login} is not suspended (status {status})"));
            }
            state.popup = Some(Popup::Confirm(Confirm {
                title: format!("Unsuspend {login}?"),
                lines: vec!["They can sign in again with their current password.".into()],
                confirm_label: "Unsuspend".into(),
                focus: ConfirmFocus::Cancel,
                commands: vec![Command::UnsuspendUser { user }],
            }));
        }
        _ => {}
    }
}

fn toggle_mark(state: &mut State) {
    if !matches!(state.screen(), Screen::Queue) {
        return;
    }
    if let Some(id) = state.queue.selected().map(|r| r.sys_id.clone())
        && !state.queue.marks.remove(&id)
    {
        state.queue.marks.insert(id);
    }
    let page = state.queue_layout().rows();
    let len = state.queue.shown();
    state.queue.cursor.step(1, len, page);
}

fn mark_range(state: &mut State) {
    if !matches!(state.screen(), Screen::Queue) {
        return;
    }
    match state.queue.range_anchor.take() {
        Some(_) => {}
        None => {
            if let Some(id) = state.queue.selected().map(|r| r.sys_id.clone()) {
                state.queue.marks.insert(id.clone());
                state.queue.range_anchor = Some(id);
            }
        }
    }
}

/// While a range is open, every line between its anchor and the selection is marked.
fn extend_range(state: &mut State, anchor: &str) {
    let rows = &state.queue.rows;
    let visible = state.queue.list.visible();
    let Some(a) = visible.iter().position(|&i| rows[i as usize].sys_id == anchor) else { return };
    let b = state.queue.cursor.selected;
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let ids: HashSet<String> = visible[lo..=hi.min(visible.len().saturating_sub(1))]
        .iter()
        .map(|&i| rows[i as usize].sys_id.clone())
        .collect();
    state.queue.marks.extend(ids);
}

fn open_filter(state: &mut State, fx: &mut Effects) {
    let query = match state.screen() {
        Screen::Queue => state.queue.list.query().to_string(),
        Screen::Group(g) => g.members.query().to_string(),
        Screen::Audit => state.audit.list.query().to_string(),
        _ => match access::filter_query(state) {
            Some(q) => q,
            None => {
                fx.render = false;
                return;
            }
        },
    };
    state.prompt =
        Some(Prompt { kind: PromptKind::Filter, input: Input::new(query), completions: Vec::new(), chosen: None });
}

fn set_filter(state: &mut State, query: &str) {
    if access::set_filter(state, query) {
        return;
    }
    let page = state.page_rows();
    let matcher = &mut state.matcher;
    match state.screens.last_mut() {
        Some(Screen::Queue) | None => {
            let selected = state.queue.selected().map(|r| r.sys_id.clone());
            state.queue.list.set_query(query, matcher);
            reselect(state, selected);
            if query.is_empty() {
                return;
            }
            // A new query starts at the best place to look: the top.
            let len = state.queue.shown();
            state.queue.cursor.select(0, len, page);
        }
        Some(Screen::Group(g)) => {
            g.members.set_query(query, matcher);
            let len = g.members.visible().len();
            g.cursor.select(0, len, page);
        }
        Some(Screen::Audit) => {
            state.audit.list.set_query(query, matcher);
            let len = state.audit.list.visible().len();
            state.audit.cursor.select(0, len, page);
        }
        _ => {}
    }
}

fn on_key(state: &mut State, key: KeyEvent, fx: &mut Effects) {
    if key.kind == KeyEventKind::Release {
        fx.render = false;
        return;
    }
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        // Ctrl-C always leaves, whatever is open: the operator's escape hatch.
        state.quit = true;
        return;
    }
    if state.popup.is_some() {
        return popup_key(state, key, fx);
    }
    if state.prompt.is_some() {
        return prompt_key(state, key, fx);
    }
    let chord = KeyChord::from_event(&key);
    match state.keymap.action(state.screen().contexts(), chord).cloned() {
        Some(action) => handle(state, action, fx),
        None => fx.render = false,
    }
}

fn prompt_key(state: &mut State, key: KeyEvent, fx: &mut Effects) {
    let Some(prompt) = state.prompt.as_mut() else { return };
    let kind = prompt.kind;
    match key.code {
        KeyCode::Esc => {
            state.prompt = None;
            if kind == PromptKind::Filter {
                set_filter(state, "");
            }
        }
        KeyCode::Enter => {
            let line = prompt.input.value().to_string();
            state.prompt = None;
            if kind == PromptKind::Command {
                match commandline::parse(&line) {
                    Ok(action) => handle(state, action, fx),
                    Err(e) => notify(state, Level::Error, e),
                }
            }
        }
        KeyCode::Tab | KeyCode::BackTab if kind == PromptKind::Command => {
            if prompt.completions.is_empty() {
                let line = prompt.input.value().to_string();
                let list = commandline::complete(&line, state);
                let Some(prompt) = state.prompt.as_mut() else { return };
                prompt.completions = list;
                prompt.chosen = None;
            }
            let Some(prompt) = state.prompt.as_mut() else { return };
            let n = prompt.completions.len();
            if n == 0 {
                return;
            }
            let next = match (prompt.chosen, key.code == KeyCode::BackTab) {
                (None, false) => 0,
                (None, true) => n - 1,
                (Some(i), false) => (i + 1) % n,
                (Some(i), true) => (i + n - 1) % n,
            };
            prompt.chosen = Some(next);
            let line = commandline::apply(prompt.input.value(), &prompt.completions[next]);
            prompt.input = Input::new(line);
            if n == 1 {
                prompt.completions.clear();
                prompt.chosen = None;
            }
        }
        KeyCode::Backspace if prompt.input.value().is_empty() => {
            state.prompt = None;
        }
        _ => {
            if let Some(req) = to_input_request(&Event::Key(key)) {
                prompt.input.handle(req);
                prompt.completions.clear();
                prompt.chosen = None;
                if kind == PromptKind::Filter {
                    let q = prompt.input.value().to_string();
                    set_filter(state, &q);
                }
            } else {
                fx.render = false;
            }
        }
    }
}

fn popup_key(state: &mut State, key: KeyEvent, fx: &mut Effects) {
    let Some(popup) = state.popup.take() else { return };
    let ctrl_s = key.code == KeyCode::Char('s') && key.modifiers.contains(KeyModifiers::CONTROL);
    match popup {
        Popup::Help { scroll } => {
            let scroll = match key.code {
                KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::Enter => return,
                KeyCode::Down | KeyCode::Char('j') => scroll + 1,
                KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                KeyCode::PageDown | KeyCode::Char(' ') => scroll + 10,
                KeyCode::PageUp => scroll.saturating_sub(10),
                KeyCode::Home | KeyCode::Char('g') => 0,
                _ => scroll,
            };
            state.popup = Some(Popup::Help { scroll });
        }
        Popup::Confirm(mut c) => match key.code {
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => {}
            KeyCode::Tab
            | KeyCode::BackTab
            | KeyCode::Left
            | KeyCode::Right
            | KeyCode::Char('h')
            | KeyCode::Char('l') => {
                c.focus = if c.focus == ConfirmFocus::Cancel { ConfirmFocus::Confirm } else { ConfirmFocus::Cancel };
                state.popup = Some(Popup::Confirm(c));
            }
            KeyCode::Enter => {
                if c.focus == ConfirmFocus::Confirm {
                    for command in c.commands {
                        run(state, command, fx);
                    }
                    state.queue.marks.clear();
                    state.queue.range_anchor = None;
                }
            }
            _ => {
                state.popup = Some(Popup::Confirm(c));
                fx.render = false;
            }
        },
        Popup::Journal { ticket, kind, mut editor } => {
            if key.code == KeyCode::Esc {
                if !editor.is_blank() {
                    state.drafts.insert((ticket.sys_id.clone(), kind.field()), editor.text());
                    notify(state, Level::Info, format!("draft kept for {}", ticket.number));
                } else {
                    state.drafts.remove(&(ticket.sys_id.clone(), kind.field()));
                }
            } else if ctrl_s {
                if editor.is_blank() {
                    notify(state, Level::Warn, "nothing to send: write the note first".into());
                    state.popup = Some(Popup::Journal { ticket, kind, editor });
                } else {
                    let text = editor.text().trim_end().to_string();
                    state.drafts.insert((ticket.sys_id.clone(), kind.field()), text.clone());
                    run(state, Command::AddJournal { ticket, kind, text }, fx);
                }
            } else {
                editor.handle_key(key);
                state.popup = Some(Popup::Journal { ticket, kind, editor });
            }
        }
        Popup::Resolve(mut form) => {
            if key.code == KeyCode::Esc {
                return;
            }
            if ctrl_s {
                let notes = form.notes.text().trim_end().to_string();
                let Some(code) = form.codes.get(form.code).cloned() else {
                    form.problem = Some("no close codes configured".into());
                    state.popup = Some(Popup::Resolve(form));
                    return;
                };
                if notes.trim().is_empty() {
                    form.problem = Some("close notes are required: say what fixed it".into());
                    form.focus = ResolveField::Notes;
                    state.popup = Some(Popup::Resolve(form));
                    return;
                }
                run(state, Command::Resolve { ticket: form.ticket, close_code: code, close_notes: notes }, fx);
                return;
            }
            match (form.focus, key.code) {
                (_, KeyCode::Tab | KeyCode::BackTab) => {
                    form.focus =
                        if form.focus == ResolveField::Code { ResolveField::Notes } else { ResolveField::Code };
                }
                (ResolveField::Code, KeyCode::Up | KeyCode::Char('k')) => form.code = form.code.saturating_sub(1),
                (ResolveField::Code, KeyCode::Down | KeyCode::Char('j')) => {
                    form.code = (form.code + 1).min(form.codes.len().saturating_sub(1))
                }
                (ResolveField::Code, KeyCode::Enter) => form.focus = ResolveField::Notes,
                (ResolveField::Notes, _) => {
                    form.notes.handle_key(key);
                    form.problem = None;
                }
                _ => fx.render = false,
            }
            state.popup = Some(Popup::Resolve(form));
        }
        Popup::ChangeState { ticket, choices, mut selected } => match key.code {
            KeyCode::Esc | KeyCode::Char('q') => {}
            KeyCode::Up | KeyCode::Char('k') => {
                selected = selected.saturating_sub(1);
                state.popup = Some(Popup::ChangeState { ticket, choices, selected });
            }
            KeyCode::Down | KeyCode::Char('j') => {
                selected = (selected + 1).min(choices.len().saturating_sub(1));
                state.popup = Some(Popup::ChangeState { ticket, choices, selected });
            }
            KeyCode::Enter => {
                let Some(choice) = choices.get(selected).cloned() else { return };
                change_state(state, ticket, choice, fx);
            }
            _ => {
                state.popup = Some(Popup::ChangeState { ticket, choices, selected });
                fx.render = false;
            }
        },
        Popup::Decide(form) => access::decide_key(state, form, key, fx),
        Popup::RequestForm(form) => access::form_key(state, form, key, fx),
    }
}

fn change_state(state: &mut State, ticket: TicketRef, choice: StateChoice, fx: &mut Effects) {
    if is_terminal_state(&choice) {
        state.popup = Some(Popup::Confirm(Confirm {
            title: format!("Set {} to {}?", ticket.number, choice.label),
            lines: vec![format!("{} closes without being resolved.", ticket.number)],
            confirm_label: choice.label.clone(),
            focus: ConfirmFocus::Cancel,
            commands: vec![Command::ChangeState { ticket, state: choice }],
        }));
    } else {
        run(state, Command::ChangeState { ticket, state: choice }, fx);
    }
}

fn on_paste(state: &mut State, text: &str) {
    match state.popup.as_mut() {
        Some(Popup::Journal { editor, .. }) => editor.insert(text),
        Some(Popup::Resolve(form)) if form.focus == ResolveField::Notes => form.notes.insert(text),
        Some(Popup::Decide(form)) if !form.confirming => {
            let line: String = sanitize_line(text).chars().filter(|c| !c.is_control()).collect();
            form.comment = Input::new(format!("{}{line}", form.comment.value()));
        }
        Some(Popup::RequestForm(form)) if form.focus == crate::tui::state::FormField::Justification => {
            let line: String = sanitize_line(text).chars().filter(|c| !c.is_control()).collect();
            form.justification = Input::new(format!("{}{line}", form.justification.value()));
            form.preview = None;
        }
        _ => {
            if let Some(prompt) = state.prompt.as_mut() {
                let line: String = sanitize_line(text).chars().filter(|c| !c.is_control()).collect();
                let value = format!("{}{line}", prompt.input.value());
                prompt.input = Input::new(value);
                if prompt.kind == PromptKind::Filter {
                    let q = prompt.input.value().to_string();
                    set_filter(state, &q);
                }
            }
        }
    }
}

fn on_mouse(state: &mut State, ev: MouseEvent, fx: &mut Effects) {
    if state.popup.is_some() || state.prompt.is_some() {
        fx.render = false;
        return;
    }
    match ev.kind {
        MouseEventKind::ScrollDown => move_selection(state, Move::By(WHEEL_LINES)),
        MouseEventKind::ScrollUp => move_selection(state, Move::By(-WHEEL_LINES)),
        MouseEventKind::Down(MouseButton::Left) => {
            let hit = |area: ratatui::layout::Rect, header: u16| -> Option<usize> {
                let top = area.y + header;
                (ev.row >= top
                    && ev.row < area.y + area.height
                    && ev.column >= area.x
                    && ev.column < area.x + area.width)
                    .then(|| usize::from(ev.row - top))
            };
            let body = state.chrome().body;
            match state.screen() {
                Screen::Queue => {
                    let Some(line) = hit(state.queue_layout().table, 1) else { return fx.render = false };
                    let pos = state.queue.cursor.offset + line;
                    if pos >= state.queue.shown() {
                        return fx.render = false;
                    }
                    if pos == state.queue.cursor.selected {
                        return open_selected(state, fx);
                    }
                    let (len, page) = (state.queue.shown(), state.queue_layout().rows());
                    state.queue.cursor.select(pos, len, page);
                }
                Screen::Audit => {
                    let Some(line) = hit(layout::audit(body).table, 1) else { return fx.render = false };
                    let pos = state.audit.cursor.offset + line;
                    let len = state.audit.list.visible().len();
                    if pos < len {
                        let page = state.page_rows();
                        state.audit.cursor.select(pos, len, page);
                    }
                }
                Screen::Group(_) => {
                    let Some(line) = hit(layout::group(body).members, 2) else { return fx.render = false };
                    let page = state.page_rows();
                    if let Some(Screen::Group(g)) = state.screens.last_mut() {
                        let pos = g.cursor.offset + line;
                        let len = g.members.visible().len();
                        if pos < len {
                            g.cursor.select(pos, len, page);
                        }
                    }
                }
                _ => fx.render = false,
            }
        }
        _ => fx.render = false,
    }
}

#[path = "update_access.rs"]
pub mod access;

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "update_access_tests.rs"]
mod access_tests;
