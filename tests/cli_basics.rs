//! The CLI as a new user meets it: help, completions, usage errors and bad configuration.

mod support;

use std::process::Command;
use std::time::Duration;

fn grantdesk() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_grantdesk"));
    c.env_remove("GRANTDESK_CONFIG").env("XDG_CONFIG_HOME", "/nonexistent-grantdesk-test");
    c
}

#[test]
fn help_lists_working_subcommands() {
    let out = grantdesk().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in ["emulator", "completions"] {
        assert!(text.contains(cmd), "{cmd} missing from help:\n{text}");
    }
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = grantdesk().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("emulator"), "{shell}");
    }
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let out = grantdesk().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn emulator_prints_environment_in_a_terminal() {
    let mut pty = support::pty::Pty::spawn(
        env!("CARGO_BIN_EXE_grantdesk"),
        &["emulator", "--listen", "127.0.0.1:0"],
        100,
        30,
        &[],
    );
    let screen = pty.wait_for_text("GRANTDESK_OKTA_TOKEN=", Duration::from_secs(60));
    assert!(screen.contains("GRANTDESK_SERVICENOW_URL=http://127.0.0.1:"), "{screen}");
    pty.send("\x03");
    assert_eq!(pty.wait_exit(Duration::from_secs(30)), 0);
}
