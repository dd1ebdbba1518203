//! `update` unit tests of the access-request screens: marks, bulk decisions behind a typed-count
//! confirmation, the request form's validation and preview, the expiry radar, `:as`.

use crate::domain::request::Verdict;
use crate::tui::effect::{AccessData, AccessList, BulkOutcome, Command, Effect};
use crate::tui::fixture::Harness;
use crate::tui::state::{ConfirmFocus, FormField, Level, Popup, Screen};
use crate::tui::theme::ColorDepth;

fn harness(read_only: bool) -> Harness {
    let mut c = Harness::config("default", ColorDepth::Ansi16);
    c.read_only = read_only;
    Harness::new(&c, 2000, 120, 30)
}

fn command(h: &mut Harness, line: &str) {
    h.press(":");
    h.type_text(line);
    h.press("enter");
}

fn inbox(h: &mut Harness) -> usize {
    command(h, "inbox");
    assert!(matches!(h.state.screen(), Screen::Inbox));
    h.state.access.inbox.shown()
}

fn commands(h: &Harness) -> Vec<&Command> {
    h.effects
        .iter()
        .filter_map(|e| if let Effect::RunCommand { command, .. } = e { Some(command) } else { None })
        .collect()
}

fn bulk_runs(h: &Harness) -> Vec<(u64, Vec<String>)> {
    h.effects
        .iter()
        .filter_map(|e| match e {
            Effect::BulkDecide { batch, ids, .. } => Some((*batch, ids.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_inbox_lists_what_the_operator_may_decide_and_enter_shows_the_steps() {
    let mut h = harness(false);
    let n = inbox(&mut h);
    assert_eq!(n, 14, "the fixture's pending requests for dana");
    assert!(h.effects.contains(&Effect::LoadAccess(AccessList::Inbox)));
    let first = h.state.access.inbox.selected().unwrap().request.id.clone();
    h.press("enter");
    assert!(matches!(h.state.screen(), Screen::Request(r) if r.id == first));
    let screen = h.screen();
    assert!(screen.contains("Steps") && screen.contains("waiting") && screen.contains("Decisions"), "{screen}");
    h.press("esc");
    assert!(matches!(h.state.screen(), Screen::Inbox));
    // `i` from the queue opens it too.
    h.press("esc i");
    assert!(matches!(h.state.screen(), Screen::Inbox));
}

#[test]
fn marks_ranges_mark_all_matching_and_clear() {
    let mut h = harness(false);
    let n = inbox(&mut h);
    h.press("space space");
    assert_eq!(h.state.access.inbox.marks.len(), 2);
    assert_eq!(h.state.access.inbox.cursor.selected, 2, "space moves down");
    h.press("v j j v");
    assert_eq!(h.state.access.inbox.marks.len(), 5, "a range from the third line to the fifth");
    h.press("v esc");
    assert!(matches!(h.state.screen(), Screen::Inbox), "esc first closes the open range");
    h.press("j");
    assert_eq!(h.state.access.inbox.marks.len(), 5, "a closed range marks no more");
    h.press("u");
    assert!(h.state.access.inbox.marks.is_empty());
    h.press("/");
    h.type_text("aws-prod");
    h.press("enter");
    let shown = h.state.access.inbox.shown();
    assert!(shown > 0 && shown < n, "{shown} of {n}");
    h.press("*");
    assert_eq!(h.state.access.inbox.marks.len(), shown, "every line the filter shows, and no other");
    let marked = h.state.access.inbox.marked_shown();
    assert!(marked.iter().all(|r| r.request.entry.starts_with("aws-prod")));
}

#[test]
fn a_large_bulk_decision_asks_for_a_comment_then_the_typed_count_starting_on_cancel() {
    let mut h = harness(false);
    let n = inbox(&mut h);
    assert!(n > crate::tui::update::access::TYPE_COUNT_OVER);
    h.press("*");
    h.press("a");
    h.type_text("quarterly review");
    h.press("enter");
    let Some(Popup::Decide(f)) = &h.state.popup else { panic!("{:?}", h.state.popup) };
    assert!(f.confirming && f.focus == ConfirmFocus::Cancel, "focus starts on Cancel");
    assert_eq!(f.targets.len(), n);
    let text = h.screen();
    assert!(text.contains(&format!("Approve {n} requests")) && text.contains("… and"), "{text}");
    h.press("enter");
    assert!(h.state.popup.is_none() && bulk_runs(&h).is_empty(), "enter on Cancel cancels");

    h.press("a");
    h.type_text("quarterly review");
    h.press("enter tab enter");
    let Some(Popup::Decide(f)) = &h.state.popup else { panic!("the count was not typed: still asking") };
    assert!(f.problem.as_deref().is_some_and(|p| p.contains(&format!("type {n}"))));
    h.type_text(&(n - 1).to_string());
    h.press("enter");
    assert!(bulk_runs(&h).is_empty(), "a wrong count does not go ahead");
    h.press("backspace backspace");
    h.type_text(&n.to_string());
    h.press("enter");
    let runs = bulk_runs(&h);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].1.len(), n);
    assert!(matches!(h.state.screen(), Screen::Bulk));
    assert!(h.state.access.inbox.marks.is_empty(), "marks are spent");

    // Per-item results: refused by policy listed with the reason, a failure retryable.
    let run = h.state.access.bulk.clone().unwrap();
    assert_eq!(run.done(), n);
    assert_eq!(run.counts(), (n - 2, 1, 1));
    let refused = run.items.iter().find(|i| matches!(i.outcome, Some(BulkOutcome::Refused(_)))).unwrap();
    assert!(matches!(&refused.outcome, Some(BulkOutcome::Refused(why)) if why.contains("already denied")));
    let note = h.state.notification().unwrap();
    assert_eq!(note.level, Level::Error);
    assert!(note.text.contains("1 refused by policy, 1 failed"), "{}", note.text);
    assert!(h.screen().contains("REFUSED"));
    h.press("T");
    let runs = bulk_runs(&h);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].1.len(), 1, "only the failed one is decided again");
    assert_eq!(h.state.access.bulk.as_ref().unwrap().counts(), (n - 1, 1, 0));
}

#[test]
fn a_small_bulk_needs_no_typed_count_and_a_denial_needs_a_comment() {
    let mut h = harness(false);
    inbox(&mut h);
    h.press("space space d enter");
    let Some(Popup::Decide(f)) = &h.state.popup else { panic!() };
    assert!(!f.confirming && f.problem.as_deref().is_some_and(|p| p.contains("needs a comment")));
    h.type_text("duplicate");
    h.press("enter tab enter");
    let runs = bulk_runs(&h);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].1.len(), 2);
    assert!(
        h.effects
            .iter()
            .any(|e| matches!(e, Effect::BulkDecide { verdict: Verdict::Deny, comment, .. } if comment == "duplicate"))
    );
}

#[test]
fn one_request_is_decided_at_once_with_its_comment() {
    let mut h = harness(false);
    inbox(&mut h);
    let id = h.state.access.inbox.selected().unwrap().request.id.clone();
    h.press("enter a");
    h.type_text("ok for the incident");
    h.press("enter");
    assert!(h.state.popup.is_none());
    assert!(matches!(h.state.screen(), Screen::Inbox), "decided from its detail: back to the inbox");
    assert!(commands(&h).iter().any(|c| matches!(c, Command::Decide { id: i, verdict: Verdict::Approve, comment }
        if *i == id && comment == "ok for the incident")));
    assert!(h.state.access.inbox.rows.iter().all(|r| r.request.id != id), "the inbox was reloaded without it");
}

#[test]
fn the_request_form_validates_then_previews_then_raises() {
    let mut h = harness(false);
    h.press(":");
    h.type_text("ticket INC0010001");
    h.press("enter +");
    let Some(Popup::RequestForm(f)) = &h.state.popup else { panic!("{:?}", h.state.popup) };
    assert_eq!(f.for_login.value(), "riley.requester@example.com", "for the caller by default");
    assert_eq!(f.focus, FormField::Entry);
    h.type_text("aws-prod-read");
    h.press("tab");
    h.type_text("12h");
    h.press("ctrl-s");
    let Some(Popup::RequestForm(f)) = &h.state.popup else { panic!() };
    assert_eq!(f.focus, FormField::Duration);
    assert!(f.problem.as_deref().is_some_and(|p| p.contains("at most 8h")), "{:?}", f.problem);
    h.press("backspace backspace backspace");
    h.type_text("soon");
    h.press("ctrl-s");
    let Some(Popup::RequestForm(f)) = &h.state.popup else { panic!() };
    assert!(f.problem.as_deref().is_some_and(|p| p.contains("not a duration")), "{:?}", f.problem);
    h.press("backspace backspace backspace backspace");
    h.type_text("4h");
    h.press("ctrl-s");
    let Some(Popup::RequestForm(f)) = &h.state.popup else { panic!() };
    assert_eq!(f.focus, FormField::Justification);
    assert!(f.problem.as_deref().is_some_and(|p| p.contains("requires a justification")), "{:?}", f.problem);
    assert!(!h.effects.iter().any(|e| matches!(e, Effect::PreviewRequest(_))), "nothing asked while invalid");
    h.type_text("Investigating INC0010001");
    h.press("ctrl-s");
    let Some(Popup::RequestForm(f)) = &h.state.popup else { panic!() };
    let p = f.preview.as_ref().expect("preview shown");
    assert!(p.grants.iter().any(|g| g == "app AWS"), "{:?}", p.grants);
    assert_eq!(p.steps[0].1, vec!["morgan.manager@example.com".to_string()]);
    assert!(h.screen().contains("Approval would grant"));
    // An edit drops the preview: what is raised is always what was previewed.
    h.type_text(".");
    let Some(Popup::RequestForm(f)) = &h.state.popup else { panic!() };
    assert!(f.preview.is_none());
    assert!(commands(&h).is_empty());
    h.press("ctrl-s ctrl-s");
    let raised: Vec<&Command> = commands(&h);
    match raised.as_slice() {
        [Command::RaiseRequest(d)] => {
            assert_eq!(d.entry, "aws-prod-readonly");
            assert_eq!(d.requested_for, "riley.requester@example.com");
            assert_eq!(d.ticket.as_deref(), Some("INC0010001"));
            assert_eq!(d.duration, Some(std::time::Duration::from_secs(4 * 3600)));
            assert_eq!(d.justification, "Investigating INC0010001.");
        }
        other => panic!("{other:?}"),
    }
    assert!(h.state.popup.is_none());
}

#[test]
fn an_unknown_person_fails_the_preview_with_the_reason() {
    let mut h = harness(false);
    h.press("D");
    command(&mut h, "request");
    let Some(Popup::RequestForm(f)) = &h.state.popup else { panic!() };
    assert_eq!(f.focus, FormField::For, "nobody to default to outside a ticket");
    h.press("ctrl-s");
    let Some(Popup::RequestForm(f)) = &h.state.popup else { panic!() };
    assert!(f.problem.as_deref().is_some_and(|p| p.contains("who the access is for")));
    h.type_text("nobody.here@example.com");
    h.press("tab");
    h.type_text("zoom");
    h.press("ctrl-s");
    let Some(Popup::RequestForm(f)) = &h.state.popup else { panic!() };
    assert!(f.problem.as_deref().is_some_and(|p| p.contains("not an Okta user")), "{:?}", f.problem);
    assert!(f.preview.is_none());
}

#[test]
fn the_expiry_radar_lists_soonest_first_and_one_key_extends() {
    let mut h = harness(false);
    command(&mut h, "expiring");
    h.press("enter a");
    assert!(h.state.popup.is_none(), "a granted request has nothing to decide");
    assert!(h.state.notification().unwrap().text.contains("is granted"));
    h.press("esc");
    let rows = &h.state.access.expiring.rows;
    assert!(rows.len() >= 3);
    assert!(rows.windows(2).all(|w| w[0].request.expires_at <= w[1].request.expires_at), "soonest first");
    let first = rows[0].request.id.clone();
    h.press("x");
    assert!(matches!(commands(&h).as_slice(), [Command::Extend { id, .. }] if *id == first));
}

#[test]
fn orphans_offer_a_request_to_regularise() {
    let mut h = harness(false);
    command(&mut h, "orphans");
    let o = h.state.access.orphans.selected().cloned().unwrap();
    h.press("+");
    let Some(Popup::RequestForm(f)) = &h.state.popup else { panic!() };
    assert_eq!(f.for_login.value(), o.user);
    assert_eq!(f.focus, FormField::Justification);
    let catalog = h.state.access.catalog.as_deref();
    let chosen = f.entries.visible().get(f.entry.selected).and_then(|&i| catalog.and_then(|c| c.get(i as usize)));
    assert_eq!(chosen.map(|c| c.name.as_str()), Some(o.entry.as_str()));
}

#[test]
fn read_only_offers_no_decision_request_or_extension() {
    let mut h = harness(true);
    inbox(&mut h);
    h.press("space a d *");
    assert!(h.state.popup.is_none());
    command(&mut h, "request");
    assert!(h.state.popup.is_none());
    assert!(h.state.notification().unwrap().text.contains("read-only"));
    command(&mut h, "expiring");
    h.press("x");
    assert!(commands(&h).is_empty() && bulk_runs(&h).is_empty());
}

#[test]
fn as_takes_another_seat_and_says_when_it_cannot() {
    let mut h = harness(false);
    inbox(&mut h);
    let dana_rows = h.state.access.inbox.rows.clone();
    command(&mut h, "as morgan.manager");
    assert_eq!(h.state.operator, "morgan.manager");
    assert!(h.state.notification().unwrap().text.contains("you are now morgan.manager"));
    assert!(h.state.access.inbox.rows.is_empty(), "dana's inbox is not morgan's");
    assert!(h.effects.iter().filter(|e| **e == Effect::LoadAccess(AccessList::Inbox)).count() >= 2);
    // dana's inbox, asked before the switch, answering after it: not shown as morgan's.
    let late = AccessData::Inbox { operator: "dana.desk".into(), rows: vec![dana_rows[0].clone()] };
    crate::tui::update(&mut h.state, crate::tui::Action::AccessLoaded(late));
    assert!(h.state.access.inbox.rows.is_empty());
    command(&mut h, "as nobody");
    assert_eq!(h.state.operator, "morgan.manager");
    assert_eq!(h.state.notification().unwrap().level, Level::Error);
}
