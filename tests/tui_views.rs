//! Snapshots of every view of the console on an off-screen terminal, at 80×24 and 160×48, in the
//! `default` and `mono` themes, over the fixture data at a fixed clock. Each snapshot holds the
//! text and the styles of every cell (ratatui's buffer dump), so a theme change shows up too.

use grantdesk::tui::ColorDepth;
use grantdesk::tui::action::Action;
use grantdesk::tui::fixture::Harness;
use ratatui::style::Modifier;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
const THEMES: [(&str, ColorDepth); 2] = [("default", ColorDepth::Ansi16), ("mono", ColorDepth::Mono)];

fn harness(theme: &str, depth: ColorDepth, w: u16, h: u16, read_only: bool) -> Harness {
    let mut config = Harness::config(theme, depth);
    config.read_only = read_only;
    Harness::new(&config, 2000, w, h)
}

/// Snapshots the view reached by `setup` at both sizes in both themes.
fn snap(name: &str, read_only: bool, setup: impl Fn(&mut Harness)) {
    for (w, h) in SIZES {
        for (theme, depth) in THEMES {
            let mut hs = harness(theme, depth, w, h, read_only);
            setup(&mut hs);
            let buf = hs.render();
            insta::assert_snapshot!(format!("{name}_{w}x{h}_{theme}"), format!("{buf:?}"));
        }
    }
}

fn open_ticket(h: &mut Harness, number: &str) {
    h.press(":");
    h.type_text(&format!("ticket {number}"));
    h.press("enter");
}

#[test]
fn queue() {
    snap("queue", false, |_| {});
}

#[test]
fn queue_filtered_with_marks() {
    snap("queue_filtered", false, |h| {
        h.press("/");
        h.type_text("riley");
        h.press("enter space space");
    });
}

#[test]
fn queue_read_only() {
    snap("queue_read_only", true, |_| {});
}

#[test]
fn help() {
    snap("help", false, |h| h.press("?"));
}

#[test]
fn command_completion() {
    snap("command_completion", false, |h| {
        h.press(":");
        h.type_text("view ");
        h.press("tab");
    });
}

#[test]
fn ticket_with_locked_out_caller() {
    snap("ticket", false, |h| open_ticket(h, "INC0010001"));
}

#[test]
fn ticket_okta_pane() {
    snap("ticket_okta", false, |h| {
        open_ticket(h, "INC0010001");
        h.press("tab j");
    });
}

#[test]
fn ticket_with_escape_sequences() {
    snap("ticket_escapes", false, |h| open_ticket(h, "INC0010002"));
}

#[test]
fn journal_editor() {
    snap("journal", false, |h| {
        open_ticket(h, "INC0010001");
        h.press("n");
        h.type_text("Called Riley, identity verified.\nUnlocking in Okta.");
    });
}

#[test]
fn resolve_form() {
    snap("resolve", false, |h| {
        open_ticket(h, "INC0010001");
        h.press("r j tab");
        h.type_text("Unlocked the account.");
    });
}

#[test]
fn confirmation() {
    snap("confirm", false, |h| {
        open_ticket(h, "INC0010001");
        h.press("S");
    });
}

#[test]
fn change_state() {
    snap("change_state", false, |h| {
        open_ticket(h, "INC0010001");
        h.press("e j");
    });
}

#[test]
fn user() {
    snap("user", false, |h| h.act(Action::OpenUser("riley.requester@example.com".into())));
}

#[test]
fn group() {
    snap("group", false, |h| {
        h.act(Action::OpenGroup("zoom-users".into()));
        h.press("j");
    });
}

#[test]
fn audit() {
    snap("audit", false, |h| h.press("A V"));
}

#[test]
fn dashboard() {
    snap("dashboard", false, |h| h.press("D"));
}

#[test]
fn failure_notification() {
    snap("failure", false, |h| {
        h.handler.fail_commands(Some("ServiceNow answered 503 Service Unavailable (request id 7f3a)".into()));
        h.press("a");
    });
}

#[test]
fn escape_sequences_in_a_ticket_render_as_harmless_text() {
    let mut h = harness("default", ColorDepth::Ansi16, 160, 48, false);
    open_ticket(&mut h, "INC0010002");
    let buf = h.render();
    let text: String = buf.content().iter().map(|c| c.symbol()).collect();
    assert!(text.contains("Every page starts with ␛[2J␛]0;pwned and then nothing."), "{text}");
    assert!(text.contains("Printer shows ␛[2Jgarbage"));
    for cell in buf.content() {
        assert!(!cell.symbol().chars().any(|c| c.is_control()), "control character {:?} reached a cell", cell.symbol());
    }
}

#[test]
fn mono_marks_selection_and_blocking_status_without_colour() {
    let mut h = harness("mono", ColorDepth::Mono, 160, 48, false);
    h.press("space");
    let buf = h.render();
    let table_top = 1;
    let header = (0..buf.area.height).find(|&y| buf[(3, y)].symbol() == "N").unwrap_or(table_top);
    // First row: marked (symbol + bold), second row: selected (symbol + reversed).
    let marked_y = header + 1;
    let selected_y = header + 2;
    assert_eq!(buf[(1, marked_y)].symbol(), "*");
    assert!(buf[(1, marked_y)].modifier.contains(Modifier::BOLD));
    assert_eq!(buf[(0, selected_y)].symbol(), ">");
    assert!(buf[(5, selected_y)].modifier.contains(Modifier::REVERSED));
    for cell in buf.content() {
        assert!(
            matches!(cell.fg, ratatui::style::Color::Reset) && matches!(cell.bg, ratatui::style::Color::Reset),
            "mono draws no colour"
        );
    }
    open_ticket(&mut h, "INC0010001");
    let buf = h.render();
    let y = (0..buf.area.height)
        .find(|&y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect::<String>().contains("LOCKED_OUT"))
        .expect("status shown");
    let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
    let x = line.find("!! LOCKED_OUT").expect("blocking symbol beside the status") as u16;
    assert!(buf[(x + 3, y)].modifier.contains(Modifier::REVERSED | Modifier::BOLD));
}

fn command(h: &mut Harness, line: &str) {
    h.press(":");
    h.type_text(line);
    h.press("enter");
}

#[test]
fn inbox_with_marks() {
    snap("inbox", false, |h| {
        command(h, "inbox");
        h.press("space space");
    });
}

#[test]
fn request_detail() {
    snap("request_detail", false, |h| {
        command(h, "inbox");
        h.press("enter");
    });
}

#[test]
fn bulk_confirmation_asks_for_the_count() {
    snap("bulk_confirm", false, |h| {
        command(h, "inbox");
        h.press("* a");
        h.type_text("quarterly access review");
        h.press("enter tab");
        h.type_text("1");
    });
}

#[test]
fn bulk_progress_and_results() {
    snap("bulk_results", false, |h| {
        command(h, "inbox");
        h.press("* a");
        h.type_text("quarterly access review");
        h.press("enter tab");
        h.type_text("14");
        h.press("enter");
    });
}

#[test]
fn request_form_with_preview() {
    snap("request_form", false, |h| {
        open_ticket(h, "INC0010001");
        h.press("+");
        h.type_text("aws-prod-read");
        h.press("tab tab");
        h.type_text("Investigating INC0010001 on production");
        h.press("ctrl-s");
    });
}

#[test]
fn expiry_radar() {
    snap("expiring", false, |h| command(h, "expiring"));
}

#[test]
fn orphan_grants() {
    snap("orphans", false, |h| command(h, "orphans"));
}

#[test]
fn the_seat_taken_with_as_stays_in_the_header_at_80_columns() {
    let mut h = harness("mono", ColorDepth::Mono, 80, 24, false);
    let top = |h: &Harness| h.screen().lines().next().unwrap_or_default().to_string();
    open_ticket(&mut h, "INC0010001");
    command(&mut h, "user riley.requester@example.com");
    command(&mut h, "inbox");
    assert!(!top(&h).contains("dana.desk"), "without :as the operator gives way to the crumbs: {}", top(&h));
    command(&mut h, "as morgan.manager");
    assert!(top(&h).contains("as morgan.manager@fixture"), "{}", top(&h));
}

#[test]
fn deny_one_with_a_comment() {
    snap("deny_one", false, |h| {
        command(h, "inbox");
        h.press("d enter");
    });
}
