//! `grantdesk users` and `grantdesk user` as a person runs them, against the in-process emulator:
//! the account in JSON, and one clear line for each way the credentials or the input go wrong.

use std::process::Command;
use std::sync::Arc;

use grantdesk::emulator::{self, EmulatorOptions, RunningEmulator, Scale, Shared};
use serde_json::Value;

async fn start(configure: impl FnOnce(&Arc<Shared>)) -> RunningEmulator {
    let opts = EmulatorOptions::local(Scale::Demo, 1);
    let shared = emulator::build(&opts);
    configure(&shared);
    emulator::start_with(opts, shared).await.unwrap()
}

/// Runs the binary with a clean environment pointing at the emulator.
fn grantdesk(emu: &RunningEmulator, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grantdesk"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("GRANTDESK_OKTA_URL", &emu.base_url)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0]
}

const TOKEN: (&str, &str) = ("GRANTDESK_OKTA_TOKEN", emulator::DEMO_OKTA_TOKEN);

#[tokio::test(flavor = "multi_thread")]
async fn user_json_shows_account_groups_apps_and_recent_events() {
    let emu = start(|_| {}).await;
    let (code, out, err) = tokio::task::spawn_blocking({
        let emu_url = emu.base_url.clone();
        move || {
            let out = Command::new(env!("CARGO_BIN_EXE_grantdesk"))
                .env("GRANTDESK_OKTA_URL", emu_url)
                .env(TOKEN.0, TOKEN.1)
                .env("XDG_CONFIG_HOME", "/nonexistent")
                .args(["user", "riley.requester@example.com", "--json"])
                .output()
                .unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).to_string(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["user"]["login"], "riley.requester@example.com");
    assert_eq!(v["user"]["status"], "LOCKED_OUT");
    let groups: Vec<&str> = v["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert!(groups.contains(&"Everyone") && groups.contains(&"dept-engineering"), "{groups:?}");
    let apps: Vec<&str> = v["apps"].as_array().unwrap().iter().map(|a| a["label"].as_str().unwrap()).collect();
    assert!(apps.contains(&"Google Workspace"), "{apps:?}");
    let events = v["events"].as_array().unwrap();
    assert!(!events.is_empty() && events.len() <= 20);
    assert_eq!(events[0]["event_type"], "user.account.lock", "newest first: the lock-out");
}

#[tokio::test(flavor = "multi_thread")]
async fn users_table_and_search() {
    let emu = start(|_| {}).await;
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        grantdesk(&emu, &[TOKEN], &["users", "--search", "status eq \"LOCKED_OUT\""])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("LOGIN"));
    assert!(lines.iter().skip(1).all(|l| l.contains("LOCKED_OUT")));
    assert!(lines.iter().any(|l| l.starts_with("riley.requester@example.com")));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_token_is_one_clear_line() {
    let emu = start(|_| {}).await;
    let (code, out, err) =
        tokio::task::spawn_blocking(move || grantdesk(&emu, &[("GRANTDESK_OKTA_TOKEN", "wrong")], &["users"]))
            .await
            .unwrap();
    assert_eq!(code, 1);
    assert!(out.is_empty(), "no table when the token is refused: {out}");
    let line = one_error_line(&err);
    assert!(line.contains("Invalid token provided") && line.contains("GRANTDESK_OKTA_TOKEN"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_user_is_one_clear_line() {
    let emu = start(|_| {}).await;
    let (code, _, err) =
        tokio::task::spawn_blocking(move || grantdesk(&emu, &[TOKEN], &["user", "nobody@example.com"])).await.unwrap();
    assert_eq!(code, 1);
    let line = one_error_line(&err);
    assert!(line.contains("nobody@example.com") && line.contains("E0000007"), "{line}");
}

fn oauth_env(key: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("GRANTDESK_OKTA_CLIENT_ID", emulator::okta::DEMO_CLIENT_ID.to_string()),
        ("GRANTDESK_OKTA_PRIVATE_KEY", key.display().to_string()),
        ("GRANTDESK_OKTA_KEY_ID", "demo".to_string()),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_expired_assertion_and_revoked_scope_are_one_clear_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("service-app.pem");
    std::fs::write(&key, emulator::okta::DEMO_PRIVATE_KEY_PEM).unwrap();
    let emu = start(|_| {}).await;
    let env = oauth_env(&key);
    let run = |emu: Arc<RunningEmulator>, env: Vec<(&'static str, String)>| {
        tokio::task::spawn_blocking(move || {
            let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            grantdesk(&emu, &e, &["user", "riley.requester@example.com"])
        })
    };
    let emu = Arc::new(emu);
    let (code, out, err) = run(emu.clone(), env.clone()).await.unwrap();
    assert_eq!(code, 0, "OAuth works: {err}");
    assert!(out.contains("LOCKED_OUT"));

    emu.shared.okta.revoke_scope("okta.logs.read");
    let (code, _, err) = run(emu.clone(), env.clone()).await.unwrap();
    assert_eq!(code, 1);
    let line = one_error_line(&err);
    assert!(line.contains("okta.logs.read") && line.contains("invalid_scope"), "{line}");

    let emu2 = Arc::new(start(|s| s.okta.advance_clock(std::time::Duration::from_secs(3600))).await);
    let (code, _, err) = run(emu2, env).await.unwrap();
    assert_eq!(code, 1);
    let line = one_error_line(&err);
    assert!(line.contains("The client_assertion token is expired."), "{line}");
}
