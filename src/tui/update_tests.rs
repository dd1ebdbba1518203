//! `update` unit tests: an action in, the state and the effects out.

use chrono::Duration;

use crate::domain::{JournalKind, UserStatus};
use crate::tui::action::Action;
use crate::tui::effect::{Command, CommandId, DataSource, Effect, SavedView};
use crate::tui::fixture::{Harness, fixed_now};
use crate::tui::state::{ConfirmFocus, Level, Popup, PromptKind, Screen, SortKey, State};
use crate::tui::theme::ColorDepth;
use crate::tui::update::update;

fn harness() -> Harness {
    Harness::new(&Harness::config("default", ColorDepth::Ansi16), 2000, 120, 30)
}

fn read_only_harness() -> Harness {
    let mut c = Harness::config("default", ColorDepth::Ansi16);
    c.read_only = true;
    Harness::new(&c, 2000, 120, 30)
}

fn bare_state() -> State {
    State::new(&Harness::config("default", ColorDepth::Ansi16), fixed_now(), 100, 30).unwrap()
}

fn commands(effects: &[Effect]) -> Vec<&Command> {
    effects
        .iter()
        .filter_map(|e| if let Effect::RunCommand { command, .. } = e { Some(command) } else { None })
        .collect()
}

#[test]
fn start_asks_for_the_queue_then_the_dashboard() {
    let mut s = bare_state();
    let fx = update(&mut s, Action::Start);
    let screenfuls = (s.queue_layout().rows() * 2).max(50);
    assert_eq!(
        fx.effects,
        vec![
            Effect::PreviewQueue {
                view: SavedView::AllOpen,
                sort: SortKey::Priority,
                descending: false,
                rows: screenfuls
            },
            Effect::LoadQueue { view: SavedView::AllOpen }
        ]
    );
    assert!(s.queue.loading);
    // Once the queue is in (the first frame's business), the dashboard's strip is asked for.
    let fx =
        update(&mut s, Action::QueueLoaded { view: SavedView::AllOpen, rows: Vec::new(), source: DataSource::Live });
    assert_eq!(fx.effects, vec![Effect::LoadDashboard]);
    assert!(!s.queue.loading);
}

#[test]
fn the_top_of_the_queue_shows_while_the_whole_of_it_loads() {
    let mut h = harness();
    let fixture_rows = h.state.queue.rows.clone();
    assert!(fixture_rows.len() > 120);
    h.state = bare_state();
    let s = &mut h.state;
    update(s, Action::Start);
    let top = fixture_rows[..40].to_vec();
    let fx = update(s, Action::QueuePreview { view: SavedView::AllOpen, rows: top.clone(), total: 23_574 });
    assert!(fx.render);
    assert_eq!(s.queue.shown(), 40);
    assert_eq!(s.queue.total(), 23_574, "the count is the whole view's");
    assert!(s.queue.loading, "still loading the rest");
    let screen = h.screen();
    assert!(screen.contains("Queue: all open (23574)"), "{screen}");
    assert!(screen.contains(&top[0].number), "{screen}");
    let s = &mut h.state;

    // The whole view replaces it; a late preview changes nothing.
    let all = fixture_rows[..120].to_vec();
    update(s, Action::QueueLoaded { view: SavedView::AllOpen, rows: all, source: DataSource::Live });
    assert_eq!((s.queue.shown(), s.queue.total()), (120, 120));
    assert!(!s.queue.loading);
    let fx = update(s, Action::QueuePreview { view: SavedView::AllOpen, rows: top.clone(), total: 9 });
    assert!(!fx.render);
    assert_eq!((s.queue.shown(), s.queue.total()), (120, 120));

    // Another view's preview is dropped; switching views asks for a preview of the new one.
    let fx = update(s, Action::QueuePreview { view: SavedView::BreachedSla, rows: top, total: 3 });
    assert!(!fx.render);
    let fx = update(s, Action::ShowView(SavedView::BreachedSla));
    assert!(matches!(fx.effects.first(), Some(Effect::PreviewQueue { view: SavedView::BreachedSla, .. })));
    assert_eq!(s.queue.total(), 0, "nothing of the old view's count is left");
}

#[test]
fn rows_opened_at_the_same_moment_keep_the_previews_order_when_the_whole_view_lands() {
    let mut h = harness();
    let mut rows = h.state.queue.rows[..3].to_vec();
    for r in &mut rows {
        r.priority = 2;
        r.opened_at = fixed_now() - Duration::hours(5);
    }
    let mut numbers: Vec<String> = rows.iter().map(|r| r.number.clone()).collect();
    numbers.sort();
    // The store's preview orders ties by number; the whole view arrives in another order.
    rows.sort_by(|a, b| b.number.cmp(&a.number));
    let s = &mut h.state;
    *s = bare_state();
    update(s, Action::Start);
    let mut preview = rows.clone();
    preview.sort_by(|a, b| a.number.cmp(&b.number));
    update(s, Action::QueuePreview { view: SavedView::AllOpen, rows: preview, total: 3 });
    let shown = |s: &State| (0..s.queue.shown()).map(|i| s.queue.row_at(i).unwrap().number.clone()).collect::<Vec<_>>();
    assert_eq!(shown(s), numbers);
    update(s, Action::QueueLoaded { view: SavedView::AllOpen, rows: rows.clone(), source: DataSource::Live });
    assert_eq!(shown(s), numbers, "priority sort");
    s.queue.sort = SortKey::Age;
    update(s, Action::QueueLoaded { view: SavedView::AllOpen, rows, source: DataSource::Live });
    assert_eq!(shown(s), numbers, "age sort");
}

#[test]
fn movement_keys_move_the_selection_and_scroll() {
    let mut h = harness();
    let n = h.state.queue.shown();
    assert!(n > 100, "fixture has {n} open tickets");
    h.press("j j down");
    assert_eq!(h.state.queue.cursor.selected, 3);
    h.press("k");
    assert_eq!(h.state.queue.cursor.selected, 2);
    h.press("G");
    assert_eq!(h.state.queue.cursor.selected, n - 1);
    let page = h.state.queue_layout().rows();
    assert_eq!(h.state.queue.cursor.offset, n - page, "last page shown");
    h.press("g");
    assert_eq!((h.state.queue.cursor.selected, h.state.queue.cursor.offset), (0, 0));
    h.press("pgdown");
    assert_eq!(h.state.queue.cursor.selected, page);
    assert!(h.state.queue.cursor.offset > 0);
}

#[test]
fn unbound_keys_do_not_redraw() {
    let mut h = harness();
    let fx = update(&mut h.state, Action::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('%'))));
    assert!(!fx.render);
    assert!(fx.effects.is_empty());
}

#[test]
fn filter_narrows_as_you_type_and_esc_clears_it() {
    let mut h = harness();
    let all = h.state.queue.shown();
    h.press("/");
    assert_eq!(h.state.prompt.as_ref().map(|p| p.kind), Some(PromptKind::Filter));
    h.type_text("riley");
    let hits = h.state.queue.shown();
    assert!(hits > 0 && hits < all, "{hits} of {all}");
    let q = &h.state.queue;
    assert!((0..hits).all(|i| {
        let r = q.row_at(i).unwrap();
        [&r.caller, &r.caller_login, &r.assigned_to].iter().any(|f| f.to_lowercase().contains("riley"))
    }));
    h.press("enter");
    assert!(h.state.prompt.is_none());
    assert_eq!(h.state.queue.list.query(), "riley", "enter keeps the filter");
    h.press("esc");
    assert_eq!(h.state.queue.shown(), all);
}

#[test]
fn enter_opens_the_ticket_with_the_callers_account_and_esc_goes_back() {
    let mut h = harness();
    h.press("/");
    h.type_text("INC0010001");
    h.press("enter enter");
    let Screen::Ticket(t) = h.state.screen() else { panic!("ticket not open") };
    assert_eq!(t.number, "INC0010001");
    assert_eq!(t.caller_login.as_deref(), Some("riley.requester@example.com"));
    assert!(h.effects.contains(&Effect::LoadUser { login: "riley.requester@example.com".into() }));
    let user = h.state.users.get("riley.requester@example.com").unwrap();
    assert_eq!(user.data.as_ref().unwrap().user.status, UserStatus::LockedOut);
    assert_eq!(user.source, Some(DataSource::Live));
    h.press("esc");
    assert!(matches!(h.state.screen(), Screen::Queue));
    assert_eq!(h.state.queue.list.query(), "INC0010001", "going back keeps the filter");
}

#[test]
fn cached_answers_show_at_once_and_stay_loading_until_live() {
    let mut s = bare_state();
    let mut h = harness();
    let detail = h.handler.data().lock().unwrap().user_detail("riley.requester").unwrap();
    update(&mut s, Action::OpenUser("riley.requester@example.com".into()));
    let cached = DataSource::Cache { as_of: fixed_now() - Duration::minutes(5) };
    update(
        &mut s,
        Action::UserLoaded {
            login: "riley.requester@example.com".into(),
            detail: Box::new(detail.clone()),
            source: cached,
        },
    );
    let u = &s.users["riley.requester@example.com"];
    assert!(u.data.is_some() && u.loading, "shown from cache while the live answer is on its way");
    update(
        &mut s,
        Action::UserLoaded {
            login: "riley.requester@example.com".into(),
            detail: Box::new(detail),
            source: DataSource::Live,
        },
    );
    assert!(!s.users["riley.requester@example.com"].loading);
    h.press("q");
    assert!(h.state.quit);
}

#[test]
fn answers_for_another_view_are_dropped() {
    let mut h = harness();
    let before = h.state.queue.rows.len();
    let fx = update(
        &mut h.state,
        Action::QueueLoaded { view: SavedView::BreachedSla, rows: Vec::new(), source: DataSource::Live },
    );
    assert!(!fx.render);
    assert_eq!(h.state.queue.rows.len(), before);
}

#[test]
fn number_keys_and_view_command_switch_saved_views() {
    let mut h = harness();
    h.press("4");
    assert_eq!(h.state.queue.view, SavedView::BreachedSla);
    assert!(h.state.queue.rows.iter().all(|r| r.sla_breached && r.active));
    h.press(":");
    h.type_text("view my-open");
    h.press("enter");
    assert_eq!(h.state.queue.view, SavedView::MyOpen);
    assert!(h.state.queue.rows.iter().all(|r| r.assigned_to_user == "dana.desk"));
    assert_eq!(h.effects.last(), Some(&Effect::LoadQueue { view: SavedView::MyOpen }));
}

#[test]
fn sorting_keeps_the_selected_ticket_selected() {
    let mut h = harness();
    h.press("j j j");
    let before = h.state.queue.selected().unwrap().sys_id.clone();
    h.press("s");
    assert_eq!(h.state.queue.sort, SortKey::Sla);
    assert_eq!(h.state.queue.selected().unwrap().sys_id, before);
    h.press("S");
    assert!(h.state.queue.descending);
    assert_eq!(h.state.queue.selected().unwrap().sys_id, before);
    let q = &h.state.queue;
    let first = q.row_at(0).unwrap();
    let last = q.row_at(q.shown() - 1).unwrap();
    assert!(first.sla_due >= last.sla_due || !last.sla_breached, "reversed SLA order");
}

#[test]
fn marks_and_ranges_feed_bulk_assign_behind_a_confirmation_starting_on_cancel() {
    let mut h = harness();
    h.press("space");
    assert_eq!(h.state.queue.marks.len(), 1);
    assert_eq!(h.state.queue.cursor.selected, 1, "space moves on");
    h.press("j v j j v");
    assert_eq!(h.state.queue.marks.len(), 4);
    h.press("a");
    let Some(Popup::Confirm(c)) = &h.state.popup else { panic!("no confirmation") };
    assert_eq!(c.focus, ConfirmFocus::Cancel);
    assert_eq!(c.commands.len(), 4);
    let sent = h.effects.len();
    h.press("enter");
    assert!(h.state.popup.is_none());
    assert_eq!(commands(&h.effects[sent..]).len(), 0, "enter on Cancel sends nothing");
    h.press("a tab enter");
    let sent = commands(&h.effects[sent..]);
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|c| matches!(c, Command::AssignToMe { .. })));
    assert!(h.state.queue.marks.is_empty());
    assert!(h.state.pending.is_empty(), "the fixture answered every command");
}

#[test]
fn clear_marks_drops_them() {
    let mut h = harness();
    h.press("space space u");
    assert!(h.state.queue.marks.is_empty());
}

#[test]
fn a_work_note_is_written_sent_and_lands() {
    let mut h = harness();
    h.press(":");
    h.type_text("ticket INC0010001");
    h.press("enter n");
    let Some(Popup::Journal { kind, .. }) = &h.state.popup else { panic!("no editor") };
    assert_eq!(*kind, JournalKind::WorkNote);
    h.press("ctrl-s");
    assert!(h.state.popup.is_some(), "an empty note is not sent");
    h.type_text("Called Riley.\nUnlocking now.");
    h.press("ctrl-s");
    assert!(h.state.popup.is_none());
    let sent = commands(&h.effects);
    let Some(Command::AddJournal { text, kind, ticket }) = sent.last() else { panic!("not sent") };
    assert_eq!(
        (text.as_str(), *kind, ticket.number.as_str()),
        ("Called Riley.\nUnlocking now.", JournalKind::WorkNote, "INC0010001")
    );
    let d = h.state.tickets["INC0010001"].data.as_ref().unwrap();
    assert!(d.journal.iter().any(|j| j.value == "Called Riley.\nUnlocking now."), "reloaded after success");
    assert!(h.state.drafts.is_empty());
    assert_eq!(h.state.notification().unwrap().level, Level::Info);
}

#[test]
fn a_failed_change_says_why_keeps_the_text_and_can_be_retried() {
    let mut h = harness();
    h.handler.fail_commands(Some("ServiceNow answered 503 \u{1b}[31m(request id abc)".into()));
    h.press(":");
    h.type_text("ticket INC0010001");
    h.press("enter n");
    h.type_text("Tried the VPN profile.");
    h.press("ctrl-s");
    let n = h.state.notification().unwrap();
    assert_eq!(n.level, Level::Error);
    assert!(n.text.contains("could not add a work note to INC0010001") && n.text.contains("503"), "{}", n.text);
    assert!(!n.text.contains('\u{1b}'), "remote text is sanitised");
    assert!(n.text.contains("T retries"));
    assert_eq!(h.state.failed.len(), 1);
    h.press("n");
    let Some(Popup::Journal { editor, .. }) = &h.state.popup else { panic!("no editor") };
    assert_eq!(editor.text(), "Tried the VPN profile.", "the draft survives the failure");
    h.press("esc");
    h.handler.fail_commands(None);
    let before = h.effects.len();
    h.press("T");
    let retried = commands(&h.effects[before..]);
    assert_eq!(retried.len(), 1);
    assert!(matches!(retried[0], Command::AddJournal { text, .. } if text == "Tried the VPN profile."));
    assert!(h.state.failed.is_empty());
    assert!(h.state.drafts.is_empty());
}

#[test]
fn okta_actions_check_status_and_dangerous_ones_confirm() {
    let mut h = harness();
    h.act(Action::OpenUser("riley.requester@example.com".into()));
    h.press("Z");
    assert!(h.state.notification().unwrap().text.contains("not suspended"));
    h.press("S");
    let Some(Popup::Confirm(c)) = &h.state.popup else { panic!("suspend must confirm") };
    assert_eq!(c.focus, ConfirmFocus::Cancel);
    h.press("esc");
    assert!(h.state.popup.is_none());
    let before = h.effects.len();
    h.press("U");
    assert!(matches!(commands(&h.effects[before..])[..], [Command::UnlockUser { .. }]));
    let u = h.state.users["riley.requester@example.com"].data.as_ref().unwrap();
    assert_eq!(u.user.status, UserStatus::Active, "reloaded after the unlock");
    h.press("U");
    assert!(h.state.notification().unwrap().text.contains("not locked out"));
}

#[test]
fn read_only_mode_offers_no_change_at_all() {
    let mut h = read_only_harness();
    let before = h.effects.len();
    h.press("a n c r e");
    assert!(h.state.popup.is_none());
    h.act(Action::OpenUser("riley.requester@example.com".into()));
    h.press("U P S Z");
    assert!(h.state.popup.is_none());
    // Even an action that reaches update another way is refused.
    h.act(Action::Unlock);
    h.act(Action::AssignToMe);
    assert!(commands(&h.effects[before..]).is_empty());
    assert!(h.state.notification().unwrap().text.contains("read-only"));
}

#[test]
fn resolve_needs_close_notes() {
    let mut h = harness();
    h.press("r");
    let Some(Popup::Resolve(form)) = &h.state.popup else { panic!("no form") };
    assert_eq!(form.codes[0], "Solution provided");
    h.press("j ctrl-s");
    let Some(Popup::Resolve(form)) = &h.state.popup else { panic!("form closed without notes") };
    assert!(form.problem.as_deref().unwrap_or_default().contains("required"));
    h.type_text("Reset the VPN profile.");
    h.press("ctrl-s");
    assert!(h.state.popup.is_none(), "{:?}", h.state.popup);
    let last = commands(&h.effects).last().cloned().cloned();
    assert!(matches!(last, Some(Command::Resolve { close_code, close_notes, .. })
        if close_code == "Workaround provided" && close_notes == "Reset the VPN profile."));
}

#[test]
fn cancelling_a_ticket_confirms_but_other_states_apply_at_once() {
    let mut h = harness();
    h.press("e");
    let Some(Popup::ChangeState { choices, .. }) = &h.state.popup else { panic!("no picker") };
    let labels: Vec<&str> = choices.iter().map(|c| c.label.as_str()).collect();
    assert!(labels.contains(&"On Hold") || labels.contains(&"Pending"), "{labels:?}");
    h.press("G j j j enter");
    assert!(matches!(&h.state.popup, Some(Popup::Confirm(c)) if c.focus == ConfirmFocus::Cancel));
    h.press("esc e j enter");
    assert!(h.state.popup.is_none());
    assert!(matches!(commands(&h.effects).last(), Some(Command::ChangeState { .. })));
}

#[test]
fn a_ticket_changed_under_the_operator_is_refused_not_overwritten() {
    let mut h = harness();
    let row = h.state.queue.selected().unwrap().clone();
    h.handler.data().lock().unwrap().rows.iter_mut().find(|r| r.sys_id == row.sys_id).unwrap().mod_count += 1;
    h.press("a");
    let n = h.state.notification().unwrap();
    assert_eq!(n.level, Level::Error);
    assert!(n.text.contains("changed since you read it"), "{}", n.text);
    assert_eq!(h.state.failed.len(), 1);
}

#[test]
fn command_line_reports_mistakes_and_completes() {
    let mut h = harness();
    h.press(":");
    h.type_text("frob");
    h.press("enter");
    assert!(h.state.notification().unwrap().text.contains("unknown command"));
    h.press(":");
    h.type_text("vi");
    h.press("tab");
    assert_eq!(h.state.prompt.as_ref().unwrap().input.value(), "view ");
    h.type_text("br");
    h.press("tab enter");
    assert_eq!(h.state.queue.view, SavedView::BreachedSla);
    h.press(":");
    h.type_text("theme mo");
    h.press("tab enter");
    assert_eq!(h.state.theme.name, "mono");
    h.press(":");
    h.type_text("theme nope");
    h.press("enter");
    assert!(h.state.notification().unwrap().text.contains("high-contrast"));
}

#[test]
fn users_and_groups_open_from_each_other() {
    let mut h = harness();
    h.press(":");
    h.type_text("user riley.requester@example.com");
    h.press("enter");
    assert!(matches!(h.state.screen(), Screen::User(u) if u.login == "riley.requester@example.com"));
    h.press("enter");
    let Screen::Group(g) = h.state.screen() else { panic!("group not opened") };
    assert_eq!(g.name, "everyone");
    assert!(g.members.total() > 100);
    h.press("/");
    h.type_text("riley");
    h.press("enter enter");
    assert!(matches!(h.state.screen(), Screen::User(u) if u.login == "riley.requester@example.com"));
    assert_eq!(h.state.screens.len(), 4, "queue > user > group > user");
    h.press("esc esc esc");
    assert!(matches!(h.state.screen(), Screen::Queue));
}

#[test]
fn audit_view_loads_newest_first_and_verifies() {
    let mut h = harness();
    h.press("A");
    assert!(matches!(h.state.screen(), Screen::Audit));
    let rows = &h.state.audit.rows;
    assert!(rows.len() > 10);
    assert!(rows.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    h.press("V");
    assert!(matches!(h.state.audit.verify, crate::tui::effect::AuditVerify::Intact { .. }));
    h.press(":");
    h.type_text("audit unlock");
    h.press("enter");
    assert!(h.state.audit.rows.iter().all(|r| r.action.contains("unlock")));
}

#[test]
fn notifications_expire_with_the_clock_and_ticks_only_redraw_on_change() {
    let mut s = bare_state();
    crate::tui::update::notify(&mut s, Level::Info, "hello".into());
    let fx = update(&mut s, Action::Tick(fixed_now() + Duration::seconds(1)));
    assert!(!fx.render, "nothing visible changed");
    let fx = update(&mut s, Action::Tick(fixed_now() + Duration::seconds(7)));
    assert!(fx.render, "the notification went away");
    assert!(s.notification().is_none());
}

#[test]
fn resizing_keeps_the_selection_on_screen() {
    let mut h = harness();
    h.press("G");
    h.act(Action::Resize { width: 80, height: 12 });
    let c = h.state.queue.cursor;
    let rows = h.state.queue_layout().rows();
    assert!(c.selected >= c.offset && c.selected < c.offset + rows);
}

#[test]
fn command_results_for_unknown_ids_are_ignored() {
    let mut s = bare_state();
    let fx = update(&mut s, Action::CommandSucceeded { id: CommandId(99), message: "x".into() });
    assert!(!fx.render && fx.effects.is_empty());
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let mut h = harness();
    h.press("n");
    h.press("ctrl-c");
    assert!(h.state.quit);
}

#[test]
fn mouse_wheel_scrolls_and_a_click_selects_then_opens() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mut h = harness();
    let mouse = |kind, row| Action::Mouse(MouseEvent { kind, column: 20, row, modifiers: KeyModifiers::NONE });
    h.act(mouse(MouseEventKind::ScrollDown, 5));
    assert_eq!(h.state.queue.cursor.selected, 3);
    // Row 0 is the breadcrumbs, row 1 the table header: row 4 is the third ticket shown.
    let top = h.state.queue_layout().table.y + 1;
    h.act(mouse(MouseEventKind::Down(MouseButton::Left), top + 2));
    assert_eq!(h.state.queue.cursor.selected, 2);
    let number = h.state.queue.selected().unwrap().number.clone();
    h.act(mouse(MouseEventKind::Down(MouseButton::Left), top + 2));
    assert!(matches!(h.state.screen(), Screen::Ticket(t) if t.number == number), "second click opens");
}

#[test]
fn a_ticket_scrolls_no_further_than_its_last_line() {
    let mut h = Harness::new(&Harness::config("default", ColorDepth::Ansi16), 2000, 80, 12);
    h.press(":");
    h.type_text("ticket INC0010001");
    h.press("enter G");
    let Screen::Ticket(t) = h.state.screen() else { panic!() };
    let bottom = t.scroll;
    assert!(bottom > 0, "a 12-line terminal cannot show the whole ticket");
    assert!(h.screen().contains("Called the user, no answer."), "the last journal entry shows at the bottom");
    h.press("j j j k");
    let Screen::Ticket(t) = h.state.screen() else { panic!() };
    assert_eq!(t.scroll, bottom - 1);
}

fn syncing_state(at_start: bool) -> State {
    let mut c = Harness::config("default", ColorDepth::Ansi16);
    c.sync_every = Some(std::time::Duration::from_secs(60));
    c.sync_at_start = at_start;
    State::new(&c, fixed_now(), 100, 30).unwrap()
}

#[test]
fn the_console_syncs_by_itself_on_its_clock_and_quietly() {
    let mut s = syncing_state(false);
    let fx = update(&mut s, Action::Start);
    assert!(!fx.effects.contains(&Effect::Sync), "not at start unless asked");
    let fx = update(&mut s, Action::Tick(fixed_now() + Duration::seconds(30)));
    assert!(!fx.effects.contains(&Effect::Sync), "not before a minute");
    let fx = update(&mut s, Action::Tick(fixed_now() + Duration::seconds(61)));
    assert_eq!(fx.effects, vec![Effect::Sync]);
    assert!(s.syncing && fx.render, "the header shows the sync");
    // No second sync while one runs.
    let fx = update(&mut s, Action::Tick(fixed_now() + Duration::seconds(200)));
    assert!(!fx.effects.contains(&Effect::Sync));
    let notes = s.notifications.len();
    let fx = update(&mut s, Action::SyncFinished { summary: "3 tickets".into(), queue_changed: false });
    assert_eq!(s.notifications.len(), notes, "a background sync's success is not announced");
    assert!(fx.effects.is_empty(), "nothing changed, nothing reloaded: {:?}", fx.effects);
    assert!(!s.syncing && s.last_sync.is_some());
    // The next one is a minute after this one finished.
    let fx = update(&mut s, Action::Tick(fixed_now() + Duration::seconds(230)));
    assert!(!fx.effects.contains(&Effect::Sync));
    let fx = update(&mut s, Action::Tick(fixed_now() + Duration::seconds(261)));
    assert_eq!(fx.effects, vec![Effect::Sync]);
    let fx = update(&mut s, Action::SyncFinished { summary: "1 ticket".into(), queue_changed: true });
    assert_eq!(
        fx.effects.last(),
        Some(&Effect::LoadQueue { view: SavedView::AllOpen }),
        "changed tickets reload the queue"
    );
    assert!(
        fx.effects.iter().all(|e| matches!(e, Effect::LoadQueue { .. } | Effect::PreviewQueue { .. })),
        "{:?}",
        fx.effects
    );
}

#[test]
fn a_sync_at_start_and_background_failures_are_said_once() {
    let mut s = syncing_state(true);
    let fx = update(&mut s, Action::Start);
    assert!(fx.effects.contains(&Effect::Sync), "{:?}", fx.effects);
    let errors = |s: &State| s.notifications.iter().filter(|n| n.level == Level::Error).count();
    update(&mut s, Action::SyncFailed { error: "Okta: connection refused".into() });
    assert_eq!(errors(&s), 1);
    update(&mut s, Action::Tick(fixed_now() + Duration::seconds(61)));
    update(&mut s, Action::SyncFailed { error: "Okta: connection refused".into() });
    assert_eq!(errors(&s), 1, "the same background failure is not repeated every minute");
    // The operator asking gets an answer, even while failing.
    let fx = update(&mut s, Action::Sync);
    assert_eq!(fx.effects, vec![Effect::Sync]);
    update(&mut s, Action::SyncFailed { error: "Okta: connection refused".into() });
    assert_eq!(errors(&s), 2);
    update(&mut s, Action::Sync);
    update(&mut s, Action::SyncFinished { summary: "all caught up".into(), queue_changed: false });
    assert!(s.notification().is_some_and(|n| n.text.contains("all caught up")));
}
