//! The real binary in a pseudo-terminal, as a new user meets it: `grantdesk demo` shows the queue,
//! `/` filters it, Enter opens a ticket with the caller's Okta account beside it, a work note
//! typed in the editor lands in the emulator (ServiceNow) and in the audit log with its intent
//! and success, a ticket whose description holds escape sequences shows as harmless text, `?`
//! shows help, and `q` gives the terminal back as it was (main screen, cursor shown, exit code
//! 0). Every wait is on something appearing on the screen, with a deadline; none sleeps.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use grantdesk::config::{Secret, ServiceNowAuth, ServiceNowConfig};
use grantdesk::domain::{JournalKind, TicketKind};
use grantdesk::servicenow::ServiceNowClient;
use grantdesk::store::Store;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Console {
    parser: vt100::Parser,
    /// Every byte the program wrote, to check what reached the terminal.
    raw: Vec<u8>,
    output: mpsc::Receiver<Vec<u8>>,
    input: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Console {
    fn start(rows: u16, cols: u16, args: &[&str], extra_env: &[(&str, &str)]) -> Console {
        let pty = native_pty_system();
        let pair = pty.openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("a pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_grantdesk"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("GRANTDESK_DB");
        cmd.env("XDG_CONFIG_HOME", std::env::temp_dir().join("grantdesk-pty-test-no-config"));
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("grantdesk starts");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let input = pair.master.take_writer().expect("writer");
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        // Keep the master alive for the child's lifetime.
        std::mem::forget(pair.master);
        let nz = |n: u16| std::num::NonZeroU16::new(n).expect("non-zero size");
        Console { parser: vt100::Parser::new(nz(rows), nz(cols), 0), raw: Vec::new(), output, input, child }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
        self.raw.extend_from_slice(bytes);
    }

    fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    /// Waits until the screen shows `text` (30 s deadline: the demo builds its world first).
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.screen().contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "`{text}` never appeared; screen:\n{}", self.screen());
            if let Ok(bytes) = self.output.recv_timeout(left) {
                self.feed(&bytes);
            }
        }
    }

    /// Waits until the screen no longer shows `text` (10 s deadline).
    fn wait_gone(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.screen().contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "`{text}` never went away; screen:\n{}", self.screen());
            if let Ok(bytes) = self.output.recv_timeout(left) {
                self.feed(&bytes);
            }
        }
    }

    fn send(&mut self, keys: &str) {
        self.input.write_all(keys.as_bytes()).expect("write");
        self.input.flush().expect("flush");
    }

    /// Waits for the process to end, reading what it still prints (10 s deadline).
    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            while let Ok(bytes) = self.output.try_recv() {
                self.feed(&bytes);
            }
            if let Some(status) = self.child.try_wait().expect("wait") {
                while let Ok(bytes) = self.output.recv_timeout(Duration::from_millis(200)) {
                    self.feed(&bytes);
                }
                return status;
            }
            assert!(Instant::now() < deadline, "the console did not quit; screen:\n{}", self.screen());
            if let Ok(bytes) = self.output.recv_timeout(Duration::from_millis(50)) {
                self.feed(&bytes);
            }
        }
    }

    /// The first screen line showing `text`.
    fn line_with(&self, text: &str) -> String {
        self.screen().lines().find(|l| l.contains(text)).unwrap_or_default().to_string()
    }
}

/// The emulator's `KEY=value` environment, as the demo wrote it.
fn emulator_env(path: &Path) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(path).expect("the demo wrote the emulator's environment");
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn servicenow(env: &std::collections::HashMap<String, String>) -> ServiceNowClient {
    grantdesk::install_crypto_provider();
    ServiceNowClient::new(&ServiceNowConfig {
        url: env["GRANTDESK_SERVICENOW_URL"].parse().unwrap(),
        auth: ServiceNowAuth::Basic {
            user: "riley.requester".into(),
            password: Secret::new(env["GRANTDESK_SERVICENOW_PASSWORD"].clone()),
        },
        ca_bundle: None,
        timeout: Duration::from_secs(10),
    })
    .unwrap()
}

/// The first ticket number on a screen line.
fn number_in(line: &str) -> String {
    line.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.starts_with("INC") && w.len() == 10)
        .unwrap_or_else(|| panic!("no ticket number in {line:?}"))
        .to_string()
}

/// `grantdesk demo` at 80×24 with its store and the emulator's environment in `dir`.
fn demo_80x24(dir: &Path) -> (Console, std::path::PathBuf, std::path::PathBuf) {
    let db = dir.join("demo.db");
    let env_file = dir.join("emulator.env");
    let args = ["demo", "--db", db.to_str().unwrap(), "--emulator-env", env_file.to_str().unwrap()];
    (Console::start(24, 80, &args, &[]), db, env_file)
}

#[test]
fn the_demo_as_a_new_user_meets_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut c, db, env_file) = demo_80x24(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    c.wait_for("unassigned in my groups");
    c.wait_for("INC00");
    assert!(c.parser.screen().alternate_screen(), "the console draws on the alternate screen");
    let env = emulator_env(&env_file);
    let sn = servicenow(&env);

    // Someone (riley, in the emulator) opens a ticket whose description tries to take over the
    // terminal: clear it, retitle the window, hide the cursor.
    let hostile = "Printer says \x1b[2J\x1b]0;pwned\x07\x1b[?25l hello";
    let hostile_ticket = rt
        .block_on(sn.create_ticket(
            TicketKind::Incident,
            &[("short_description", "Escape \x1b[31mred\x1b[0m test"), ("description", hostile)],
        ))
        .expect("a ticket is created in the emulator");

    // `/` filters as you type; Enter keeps the filter, Enter again opens the ticket.
    c.send("/riley");
    c.wait_for("/riley");
    c.send("\r");
    c.wait_gone("/riley");
    let row = c.line_with("Riley");
    let number = number_in(&row);
    c.send("\r");
    c.wait_for("riley.requester@example.com");
    c.wait_for("LOCKED_OUT");

    c.send("n");
    c.wait_for(&format!("Work note on {number}"));
    c.send("Called Riley, identity checked.");
    c.send("\x13"); // ctrl-s
    c.wait_for(&format!("work note added to {number}"));
    c.wait_for("Called Riley, identity checked.");

    // The hostile ticket, opened by number: its text is shown, its escapes are not obeyed.
    let before = c.raw.len();
    c.send(&format!(":ticket {}\r", hostile_ticket.number));
    c.wait_for("hello");
    c.wait_for("Escape");
    let after = String::from_utf8_lossy(&c.raw[before..]).to_string();
    assert!(!after.contains("\x1b]0;pwned"), "the title escape reached the terminal");
    assert!(!after.contains("\x1b[2J"), "the clear-screen escape reached the terminal");
    assert!(c.screen().contains("Printer says"), "{}", c.screen());

    // The note is in ServiceNow, written by dana, once (asked while the demo, and so its
    // emulator, still runs).
    let ticket = rt.block_on(sn.ticket_by_number(&number)).unwrap().expect("the ticket exists");
    let journal = rt.block_on(sn.journal(&ticket.sys_id)).unwrap();
    let notes: Vec<_> = journal
        .iter()
        .filter(|j| j.kind == JournalKind::WorkNote && j.value == "Called Riley, identity checked.")
        .collect();
    assert_eq!(notes.len(), 1, "{journal:?}");
    assert_eq!(notes[0].created_by, "dana.desk");

    c.send("?");
    c.wait_for("Keys (esc closes");
    c.send("\x1b");
    c.wait_gone("Keys (esc closes");
    c.send("q");
    let status = c.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    let screen = c.parser.screen();
    assert!(!screen.alternate_screen(), "back on the main screen");
    assert!(!screen.hide_cursor(), "cursor shown again");

    // And in the store's audit log: the intent before, the success after, by dana, intact.
    rt.block_on(async {
        let store = Store::open(db.to_str().unwrap()).await.unwrap();
        let records = store.audit_records_for_object(&number).await.unwrap();
        let seen: Vec<(&str, &str, &str)> =
            records.iter().map(|r| (r.operator.as_str(), r.action.as_str(), r.outcome.as_str())).collect();
        assert_eq!(
            seen,
            [("dana.desk", "ticket.work_note", "intent"), ("dana.desk", "ticket.work_note", "success")],
            "{records:?}"
        );
        assert!(store.verify_audit(None).await.unwrap().result.is_ok());
    });
}

#[test]
fn a_bad_keys_config_is_reported_before_the_terminal_is_touched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("grantdesk").join("config.toml");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, "[keys.queue]\nasign_to_me = \"m\"\n").unwrap();
    let db = dir.path().join("demo.db");
    let mut c = Console::start(
        24,
        80,
        &["demo", "--db", db.to_str().unwrap()],
        &[("XDG_CONFIG_HOME", dir.path().to_str().unwrap())],
    );
    let status = c.wait_exit();
    assert!(!status.success());
    let screen = c.screen();
    assert!(screen.contains("keys.queue.asign_to_me") && screen.contains("assign_to_me"), "{screen}");
    assert!(!c.parser.screen().alternate_screen());
}

/// Issue 6's story in the real `grantdesk demo` at 80×24: as dana.desk raise aws-prod-readonly
/// for riley from riley's ticket (after the preview), `:as morgan.manager` approve from the
/// inbox, `:as alex.approver` approve; riley is in the Okta group and the store's audit log
/// names each of them.
#[test]
fn the_access_story_plays_in_the_demo_with_as() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut c, db, env_file) = demo_80x24(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    c.wait_for("INC00");
    c.send("/riley");
    c.wait_for("/riley");
    c.send("\r");
    c.wait_gone("/riley");
    let number = number_in(&c.line_with("Riley"));
    c.send("\r");
    c.wait_for("LOCKED_OUT");
    c.send("+");
    c.wait_for("Request access (from");
    c.send("aws-prod-read\t\tInvestigating the incident");
    c.send("\x13"); // ctrl-s: the preview
    c.wait_for("Approval would grant");
    c.wait_for("Step 1 (manager): morgan.manager@example.com");
    c.send("\x13"); // ctrl-s: raise it
    c.wait_for("raised AR-");
    let id = c.line_with("raised AR-").split_whitespace().nth(1).unwrap().to_string();

    c.send(":as morgan.manager\r");
    c.wait_for("as morgan.manager@demo");
    c.send(":inbox\r");
    c.wait_for(&id);
    c.send("a");
    c.wait_for(&format!("Approve {id}"));
    c.send("ok as manager\r");
    c.wait_for("now waiting on alex.approver@example.com");

    c.send(":as alex.approver\r");
    c.wait_for("as alex.approver@demo");
    c.send(":inbox\r");
    c.wait_for(&id);
    c.send("a");
    c.wait_for(&format!("Approve {id}"));
    c.send("ok as owner\r");
    c.wait_for(&format!("{id} approved"));

    // Riley is in the group, in Okta (the demo's emulator still runs).
    let env = emulator_env(&env_file);
    let okta = grantdesk::okta::OktaClient::new(&grantdesk::config::OktaConfig {
        url: env["GRANTDESK_OKTA_URL"].parse().unwrap(),
        auth: grantdesk::config::OktaAuth::Ssws(Secret::new(env["GRANTDESK_OKTA_TOKEN"].clone())),
        ca_bundle: None,
        timeout: Duration::from_secs(10),
    })
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let user = rt.block_on(okta.user("riley.requester@example.com")).unwrap();
        let groups = rt.block_on(okta.user_groups(&user.id)).unwrap();
        if groups.iter().any(|g| g.name == "aws-prod-readonly") {
            break;
        }
        assert!(Instant::now() < deadline, "riley never got aws-prod-readonly: {groups:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    c.send("q");
    assert!(c.wait_exit().success());

    rt.block_on(async {
        let store = Store::open(db.to_str().unwrap()).await.unwrap();
        let r = store.access_request(&id).await.unwrap().expect("the request is stored").request;
        assert_eq!(r.ticket.as_deref(), Some(number.as_str()));
        let by: Vec<&str> = r.decisions.iter().map(|d| d.approver.as_str()).collect();
        assert_eq!(by, ["morgan.manager@example.com", "alex.approver@example.com"]);
        let records = store.audit_records_for_object("aws-prod-readonly").await.unwrap();
        for who in ["dana.desk", "morgan.manager", "alex.approver"] {
            assert!(records.iter().any(|r| r.operator == who && r.outcome == "success"), "{who}: {records:#?}");
        }
        assert!(store.verify_audit(None).await.unwrap().result.is_ok());
    });
}
