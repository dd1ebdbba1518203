//! The real binary on both backends: `grantdesk audit verify | export | checkpoint` and
//! `grantdesk history`, exit codes included — and, after a run that touches every table, no token
//! or password anywhere in the database or the exports.

mod store_support;

use std::path::Path;
use std::process::{Command, Output};

use chrono::Duration;
use grantdesk::domain::audit::{AuditEvent, Outcome, action};
use grantdesk::domain::{ApprovalState, JournalKind, Membership, TicketKind, UserStatus};
use grantdesk::store::{CommandStatus, NewCommand, Store, Watermark, source};
use serde_json::json;
use store_support::fixtures::*;
use store_support::{Kind, TestDb};

const TOKEN: &str = "00QxTestOktaTokenDoNotStore9z";
const PASSWORD: &str = "Pa55-word-Do-Not-Store";

/// Runs `grantdesk --db LOCATION ARGS` with a clean environment holding the known secrets, as a
/// configured console would.
fn grantdesk(db: &TestDb, home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grantdesk"))
        .arg("--db")
        .arg(&db.location)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("GRANTDESK_OKTA_URL", "https://example.okta.com")
        .env("GRANTDESK_OKTA_TOKEN", TOKEN)
        .env("GRANTDESK_SERVICENOW_URL", "https://example.service-now.com")
        .env("GRANTDESK_SERVICENOW_USER", "dana.desk")
        .env("GRANTDESK_SERVICENOW_PASSWORD", PASSWORD)
        .output()
        .expect("run grantdesk")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn event(i: i64) -> AuditEvent {
    AuditEvent::new("dana.desk", action::GRANT_ADD, Outcome::Success)
        .at(now() - Duration::hours(10 - i))
        .subject("riley.requester@example.com")
        .object("zoom-users")
        .ticket(format!("RITM{:07}", 10000 + i))
        .details(json!({"target_kind": "group", "justification": format!("reason {i}")}))
}

async fn verify_checkpoint_and_tampering(db: &TestDb) {
    let home = tempfile::tempdir().unwrap();
    let store = db.open().await;
    store.append_audit_batch(&(0..10).map(event).collect::<Vec<_>>()).await.unwrap();

    let ok = grantdesk(db, home.path(), &["audit", "verify"]);
    assert!(ok.status.success(), "{ok:?}");
    assert!(stdout(&ok).contains("audit log intact: 10 events verified"), "{}", stdout(&ok));

    let cp = grantdesk(db, home.path(), &["audit", "checkpoint"]);
    assert!(cp.status.success());
    let checkpoint = stdout(&cp).trim().to_string();
    assert!(checkpoint.starts_with("10:") && checkpoint.len() == 3 + 64, "{checkpoint}");
    let with_cp = grantdesk(db, home.path(), &["audit", "verify", "--checkpoint", &checkpoint]);
    assert!(with_cp.status.success(), "{with_cp:?}");

    db.tamper(&["UPDATE audit_log SET subject = 'mallory@example.com' WHERE seq = 4"]).await;
    let broken = grantdesk(db, home.path(), &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1), "{broken:?}");
    let text = stdout(&broken);
    assert!(text.contains("BROKEN at sequence 4 (changed)"), "{text}");
    assert!(text.contains("events 1 to 3 verify"), "{text}");
    let json = grantdesk(db, home.path(), &["audit", "verify", "--json"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        (v["intact"].as_bool(), v["sequence"].as_u64(), v["problem"].as_str()),
        (Some(false), Some(4), Some("changed"))
    );

    // Cutting the tail off goes unnoticed without the checkpoint, and is named with it.
    db.tamper(&["UPDATE audit_log SET subject = 'riley.requester@example.com' WHERE seq = 4"]).await;
    db.tamper(&["DELETE FROM audit_log WHERE seq > 8"]).await;
    assert!(grantdesk(db, home.path(), &["audit", "verify"]).status.success());
    let cut = grantdesk(db, home.path(), &["audit", "verify", "--checkpoint", &checkpoint]);
    assert_eq!(cut.status.code(), Some(1));
    assert!(stdout(&cut).contains("sequence 9 (missing)"), "{}", stdout(&cut));
}

async fn export_to_a_file_and_to_stdout(db: &TestDb) {
    let home = tempfile::tempdir().unwrap();
    let store = db.open().await;
    store.append_audit_batch(&(0..10).map(event).collect::<Vec<_>>()).await.unwrap();
    let file = home.path().join("audit.csv");
    let out = grantdesk(db, home.path(), &["audit", "export", "--format", "csv", "-o", file.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 11);
    assert!(String::from_utf8_lossy(&out.stderr).contains("exported 10 audit events"));

    let since = (now() - Duration::hours(3)).to_rfc3339();
    let out = grantdesk(db, home.path(), &["audit", "export", "--format", "jsonl", "--since", &since]);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).expect("one JSON event per line")).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["eventType"] == "grantdesk.grant.add"));
    let bad = grantdesk(db, home.path(), &["audit", "export", "--since", "last tuesday"]);
    assert_eq!(bad.status.code(), Some(2), "a bad time is a usage error");
}

async fn history_prints_a_table_and_json(db: &TestDb) {
    let home = tempfile::tempdir().unwrap();
    let store = db.open().await;
    let riley = user("riley.requester", UserStatus::LockedOut);
    store.upsert_users(std::slice::from_ref(&riley)).await.unwrap();
    store
        .append_audit(&event(1).details(
            json!({"target_kind": "group", "justification": "needs Zoom \u{1b}[31m", "approvers": ["alex.approver"]}),
        ))
        .await
        .unwrap();
    let out = grantdesk(db, home.path(), &["history", "--user", "riley.requester@example.com"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("Grant history for user riley.requester@example.com (Okta status LOCKED_OUT)"), "{text}");
    assert!(text.contains("okta:logs: never synced"), "{text}");
    assert!(text.contains("zoom-users") && text.contains("alex.approver") && text.contains("RITM0010001"), "{text}");
    assert!(text.contains("why: needs Zoom ␛[31m"), "remote text is made harmless: {text}");
    assert!(!text.contains('\u{1b}'));
    let out = grantdesk(db, home.path(), &["history", "--user", "riley.requester@example.com", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["entries"][0]["target"], "zoom-users");
    assert_eq!(v["entries"][0]["okta"]["status"], "not_seen");
    let usage = grantdesk(db, home.path(), &["history"]);
    assert_eq!(usage.status.code(), Some(2), "--user or --group is required");
}

/// `sqlite3 grantdesk.db` — the tool an operator would reach for — cannot edit the log.
async fn the_sqlite3_shell_cannot_edit_the_log(db: &TestDb) {
    if db.kind != Kind::Sqlite {
        return;
    }
    let store = db.open().await;
    store.append_audit(&event(0)).await.unwrap();
    // The last connection to close checkpoints the WAL under an exclusive lock: wait for it.
    store.close().await;
    let Ok(out) = Command::new("sqlite3")
        .args(["-cmd", ".timeout 5000"])
        .arg(&db.location)
        .arg("UPDATE audit_log SET operator = 'x'")
        .output()
    else {
        eprintln!("*** SKIPPED: no sqlite3 shell on PATH (the same refusal is tested through sqlx) ***");
        return;
    };
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("append-only"), "{out:?}");
}

/// Writes to every table the way a working console would, trying (and failing) to slip the known
/// secrets in, then runs the CLI with the secrets in its environment.
async fn full_run(store: &Store, db: &TestDb, home: &Path) -> Vec<Vec<u8>> {
    let riley = user("riley.requester", UserStatus::LockedOut);
    let zoom = group("zoom-users");
    let slack = app("slack", "Slack");
    store.upsert_users(std::slice::from_ref(&riley)).await.unwrap();
    store.upsert_groups(std::slice::from_ref(&zoom)).await.unwrap();
    store.upsert_apps(std::slice::from_ref(&slack)).await.unwrap();
    store.add_memberships(&[Membership { group_id: zoom.id.clone(), user_id: riley.id.clone() }]).await.unwrap();
    store.upsert_app_assignments(&[assignment(&slack, &riley)]).await.unwrap();
    let t = ticket(TicketKind::Incident, 1);
    store.upsert_tickets(std::slice::from_ref(&t)).await.unwrap();
    store.upsert_journal(&[journal(&t, 1, JournalKind::WorkNote, "unlocked the account")]).await.unwrap();
    store.upsert_approvals(&[approval(&t, 1, "alex", ApprovalState::Approved)]).await.unwrap();
    store
        .insert_log_events(&[membership_event(
            "e1",
            "group.user_membership.add",
            "alex",
            &riley,
            ("UserGroup", &zoom.id, &zoom.name),
            now(),
            "r1",
        )])
        .await
        .unwrap();
    store
        .set_watermark(&Watermark {
            source: source::OKTA_USERS.into(),
            value: "x".into(),
            last_id: String::new(),
            synced_at: now(),
        })
        .await
        .unwrap();
    for (i, details) in [
        json!({"okta_token": TOKEN}),
        json!({"authorization": format!("SSWS {TOKEN}")}),
        json!({"note": format!("Bearer {TOKEN}")}),
        json!({"servicenow": {"password": PASSWORD}}),
    ]
    .into_iter()
    .enumerate()
    {
        let sneaky = NewCommand {
            kind: "okta.user.unlock".into(),
            payload: details.clone(),
            idempotency_key: format!("sneaky-{i}"),
            intent: AuditEvent::new("dana.desk", action::USER_UNLOCK, Outcome::Intent).details(details.clone()),
        };
        assert!(store.enqueue(&sneaky).await.is_err(), "payload {i} must be refused");
        assert!(
            store
                .append_audit(&AuditEvent::new("dana.desk", action::USER_UNLOCK, Outcome::Success).details(details))
                .await
                .is_err()
        );
    }
    let cmd = NewCommand {
        kind: "okta.user.unlock".into(),
        payload: json!({"user_id": riley.id}),
        idempotency_key: "unlock-1".into(),
        intent: AuditEvent::new("dana.desk", action::USER_UNLOCK, Outcome::Intent)
            .subject(&riley.login)
            .ticket(&t.number),
    };
    let id = store.enqueue(&cmd).await.unwrap().command().id;
    store.claim(id).await.unwrap();
    let (done, _) = store
        .complete(id, &AuditEvent::new("dana.desk", action::USER_UNLOCK, Outcome::Success).subject(&riley.login))
        .await
        .unwrap();
    assert_eq!(done.status, CommandStatus::Done);

    let mut outputs = Vec::new();
    for args in [
        &["audit", "verify"][..],
        &["audit", "checkpoint"],
        &["audit", "export", "--format", "csv"],
        &["audit", "export", "--format", "jsonl"],
        &["history", "--user", "riley.requester@example.com", "--json"],
        &["history", "--group", "zoom-users"],
    ] {
        let out = grantdesk(db, home, args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    }
    outputs
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn no_secret_lands_in_the_database_or_the_exports(db: &TestDb) {
    let home = tempfile::tempdir().unwrap();
    let store = db.open().await;
    let outputs = full_run(&store, db, home.path()).await;
    store.close().await;
    let mut dumps: Vec<(String, Vec<u8>)> =
        outputs.into_iter().enumerate().map(|(i, o)| (format!("CLI output {i}"), o)).collect();
    match db.kind {
        Kind::Sqlite => {
            for f in db.sqlite_files() {
                if let Ok(bytes) = std::fs::read(&f) {
                    dumps.push((f.display().to_string(), bytes));
                }
            }
            assert!(dumps.iter().any(|(n, b)| n.ends_with("grantdesk.db") && b.len() > 4096), "the file was read");
        }
        Kind::Postgres => match Command::new("pg_dump").arg(&db.location).output() {
            Ok(out) if out.status.success() => dumps.push(("pg_dump".into(), out.stdout)),
            other => eprintln!("*** SKIPPED the PostgreSQL dump check: pg_dump unavailable ({other:?}) ***"),
        },
    }
    for (name, bytes) in &dumps {
        assert!(!contains(bytes, TOKEN), "the Okta token leaked into {name}");
        assert!(!contains(bytes, PASSWORD), "the ServiceNow password leaked into {name}");
    }
    // And the check itself can see: the operator and ticket written in the same run are there.
    assert!(dumps.iter().any(|(_, b)| contains(b, "riley.requester@example.com")));
}

backend_tests!(
    verify_checkpoint_and_tampering,
    export_to_a_file_and_to_stdout,
    history_prints_a_table_and_json,
    the_sqlite3_shell_cannot_edit_the_log,
    no_secret_lands_in_the_database_or_the_exports,
);
