//! `grantdesk tickets` as a new user meets it: the real binary against the in-process emulator,
//! with the mistakes people make — one clear line naming the cause, never a panic.

use std::path::Path;
use std::process::{Command, Output};

use grantdesk::emulator::{self, EmulatorOptions, RunningEmulator, Scale};

async fn start() -> RunningEmulator {
    emulator::start(EmulatorOptions::local(Scale::Demo, 1)).await.expect("emulator starts")
}

/// Runs the binary with a clean environment: only the variables given, and a config folder
/// with nothing in it.
fn grantdesk(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grantdesk"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("the binary runs")
}

fn emulator_env(emu: &RunningEmulator) -> Vec<(String, String)> {
    emu.environment()
}

fn with<'a>(env: &'a [(String, String)], over: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<(&str, &str)> =
        env.iter().filter(|(k, _)| !over.iter().any(|(o, _)| o == k)).map(|(k, v)| (k.as_str(), v.as_str())).collect();
    v.extend_from_slice(over);
    v
}

/// A failure a person can read: exit 1, exactly one line on stderr starting `error:`, no panic.
fn one_clear_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr:?}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
    lines[0].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn json_lists_exactly_the_matching_incidents() {
    let emu = start().await;
    let home = tempfile::tempdir().unwrap();
    let env = emulator_env(&emu);
    let out = grantdesk(
        home.path(),
        &with(&env, &[]),
        &["tickets", "--query", "priority=1^active=true", "--json", "--limit", "0"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("each line is JSON")["number"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut want: Vec<String> = emu
        .shared
        .servicenow
        .find("incident", "priority", "1")
        .into_iter()
        .filter(|r| r["active"] == "true")
        .map(|r| r["number"].clone())
        .collect();
    got.sort();
    want.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread")]
async fn table_view_shows_the_queue() {
    let emu = start().await;
    let home = tempfile::tempdir().unwrap();
    let env = emulator_env(&emu);
    let out = grantdesk(home.path(), &with(&env, &[]), &["tickets", "--limit", "5"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[0].starts_with("NUMBER") && lines[0].contains("SHORT DESCRIPTION"));
    // Newest update first: riley's lockout opened 40 minutes before the epoch leads.
    assert!(lines[1].contains("Riley Requester") && lines[1].contains("Locked out of Okta"), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("showing 5 of"), "{stderr}");

    let out = grantdesk(
        home.path(),
        &with(&env, &[]),
        &["tickets", "--table", "sc_req_item", "--query", "approval=requested", "--limit", "0"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Access request: aws-prod-readonly for Riley Requester"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_is_one_line() {
    let emu = start().await;
    let home = tempfile::tempdir().unwrap();
    let env = emulator_env(&emu);
    let out = grantdesk(home.path(), &with(&env, &[("GRANTDESK_SERVICENOW_PASSWORD", "letmein-wrong")]), &["tickets"]);
    let line = one_clear_line(&out);
    assert!(line.contains("rejected the credentials") && line.contains("401"), "{line}");
    assert!(!line.contains("letmein-wrong"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_url_is_one_line() {
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("GRANTDESK_SERVICENOW_URL", "http://127.0.0.1:9"),
        ("GRANTDESK_SERVICENOW_USER", "dana.desk"),
        ("GRANTDESK_SERVICENOW_PASSWORD", "x"),
    ];
    let line = one_clear_line(&grantdesk(home.path(), &env, &["tickets"]));
    assert!(line.contains("cannot reach ServiceNow at http://127.0.0.1:9") && line.contains("refused"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_config_is_one_line_naming_the_file() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("broken.toml");
    std::fs::write(&file, "[servicenow]\nurl = \"https://acme.service-now.com\"\ntimeout_secs = \"soon\"\n").unwrap();
    let line = one_clear_line(&grantdesk(home.path(), &[], &["--config", file.to_str().unwrap(), "tickets"]));
    assert!(line.contains("broken.toml") && line.contains("timeout_secs"), "{line}");

    let line = one_clear_line(&grantdesk(home.path(), &[], &["tickets"]));
    assert!(line.contains("servicenow.url"), "a missing URL is named: {line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_queries_are_one_line() {
    let emu = start().await;
    let home = tempfile::tempdir().unwrap();
    let env = emulator_env(&emu);
    let line = one_clear_line(&grantdesk(home.path(), &with(&env, &[]), &["tickets", "--query", "priorty=1"]));
    assert!(line.contains("priorty") && line.contains("did you mean `priority`"), "{line}");
    let line = one_clear_line(&grantdesk(home.path(), &with(&env, &[]), &["tickets", "--query", "priority~1"]));
    assert!(line.contains("invalid --query") && line.contains("priority~1"), "{line}");
    // A usage mistake is clap's, with exit code 2.
    let out = grantdesk(home.path(), &with(&env, &[]), &["tickets", "--table", "problem"]);
    assert_eq!(out.status.code(), Some(2));
}
