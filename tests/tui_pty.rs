//! The real binary in a pseudo-terminal: the console (over the fixture, `console-preview`) starts,
//! opens a ticket with the caller's Okta account beside it, sends a work note that lands, shows
//! help, and `q` gives the terminal back as it was (main screen, cursor shown, exit code 0).
//! Every wait is on something appearing on the screen, with a deadline; none sleeps.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Console {
    parser: vt100::Parser,
    output: mpsc::Receiver<Vec<u8>>,
    input: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Console {
    fn start(rows: u16, cols: u16, extra_env: &[(&str, &str)]) -> Console {
        let pty = native_pty_system();
        let pair = pty.openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("a pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_grantdesk"));
        cmd.args(["console-preview", "--tickets", "2000", "--latency", "0ms", "--view", "all"]);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
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
        Console { parser: vt100::Parser::new(nz(rows), nz(cols), 0), output, input, child }
    }

    fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    /// Waits until the screen shows `text` (10 s deadline).
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.screen().contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "`{text}` never appeared; screen:\n{}", self.screen());
            if let Ok(bytes) = self.output.recv_timeout(left) {
                self.parser.process(&bytes);
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
                self.parser.process(&bytes);
            }
        }
    }

    fn send(&mut self, keys: &str) {
        self.input.write_all(keys.as_bytes()).expect("write");
        self.input.flush().expect("flush");
    }

    /// Waits for the process to end, reading what it still prints (10 s deadline).
    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            while let Ok(bytes) = self.output.try_recv() {
                self.parser.process(&bytes);
            }
            if let Some(status) = self.child.try_wait().expect("wait") {
                while let Ok(bytes) = self.output.recv_timeout(Duration::from_millis(200)) {
                    self.parser.process(&bytes);
                }
                return status;
            }
            assert!(Instant::now() < deadline, "the console did not quit; screen:\n{}", self.screen());
            if let Ok(bytes) = self.output.recv_timeout(Duration::from_millis(50)) {
                self.parser.process(&bytes);
            }
        }
    }
}

#[test]
fn a_new_user_opens_a_ticket_writes_a_note_and_quits_cleanly() {
    let mut c = Console::start(24, 80, &[]);
    c.wait_for("Queue: all open");
    assert!(c.parser.screen().alternate_screen(), "the console draws on the alternate screen");

    c.send("/riley");
    c.wait_for("/riley");
    // A lone Esc is only an Esc once the terminal has sent nothing after it (as over SSH).
    c.send("\x1b");
    c.wait_gone("/riley");
    c.send(":ticket INC0010001\r");
    c.wait_for("Okta: riley.requester@example.com");
    c.wait_for("LOCKED_OUT");

    c.send("n");
    c.wait_for("Work note on INC0010001");
    c.send("Called Riley, identity checked.");
    c.send("\x13"); // ctrl-s
    c.wait_for("work note added to INC0010001");
    c.wait_for("Called Riley, identity checked.");

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
}

#[test]
fn a_bad_keys_config_is_reported_before_the_terminal_is_touched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("grantdesk").join("config.toml");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, "[keys.queue]\nasign_to_me = \"m\"\n").unwrap();
    let mut c = Console::start(24, 80, &[("XDG_CONFIG_HOME", dir.path().to_str().unwrap())]);
    let status = c.wait_exit();
    assert!(!status.success());
    let screen = c.screen();
    assert!(screen.contains("keys.queue.asign_to_me") && screen.contains("assign_to_me"), "{screen}");
    assert!(!c.parser.screen().alternate_screen());
}
