//! `grantdesk audit checkpoint --ticket` and `audit verify --witness` against the in-process
//! emulator: the head goes to a ServiceNow work note through the outbox (audited as
//! `audit.checkpoint` intent and outcome), and a log rewritten as a whole — which verifies on its
//! own — is caught against that note.

use std::path::Path;
use std::process::{Command as Process, Output};
use std::time::Duration;

use grantdesk::config::{ServiceNowAuth, ServiceNowConfig};
use grantdesk::domain::audit::{AuditEvent, Checkpoint, Outcome, action};
use grantdesk::domain::{JournalKind, TicketKind};
use grantdesk::emulator::{self, DEMO_PASSWORD, EmulatorOptions, RunningEmulator, Scale};
use grantdesk::servicenow::{Query, ServiceNowClient};
use grantdesk::store::Store;

fn sn(emu: &RunningEmulator) -> ServiceNowClient {
    grantdesk::install_crypto_provider();
    ServiceNowClient::new(&ServiceNowConfig {
        url: emu.base_url.parse().unwrap(),
        auth: ServiceNowAuth::Basic {
            user: "dana.desk".into(),
            password: grantdesk::config::Secret::new(DEMO_PASSWORD.into()),
        },
        ca_bundle: None,
        timeout: Duration::from_secs(10),
    })
    .unwrap()
}

fn grantdesk(home: &Path, emu: &RunningEmulator, args: &[&str]) -> Output {
    let mut cmd = Process::new(env!("CARGO_BIN_EXE_grantdesk"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"));
    for (k, v) in emu.environment() {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn db(home: &Path) -> String {
    home.join("data/grantdesk/grantdesk.db").to_str().unwrap().to_string()
}

fn events(n: usize, operator: &str) -> Vec<AuditEvent> {
    (0..n)
        .map(|i| {
            AuditEvent::new(operator, action::TICKET_WORK_NOTE, Outcome::Success)
                .object(format!("INC{:07}", 10_000 + i))
                .ticket(format!("INC{:07}", 10_000 + i))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_on_a_ticket_witnesses_the_whole_log() {
    let emu = emulator::start(EmulatorOptions::local(Scale::Demo, 1)).await.expect("emulator starts");
    let home = tempfile::tempdir().unwrap();
    let sn = sn(&emu);
    let q = Query::new().eq("active", "true");
    let inc = sn.tickets(TicketKind::Incident, &q, Some(1)).await.unwrap().remove(0);

    let store = Store::open(&db(home.path())).await.unwrap();
    store.append_audit_batch(&events(5, "dana.desk")).await.unwrap();
    let head = store.audit_head().await.unwrap().unwrap();
    assert_eq!(head.seq, 5);
    store.close().await;

    // Nothing written yet: the witness says so, and how to write one.
    let none = grantdesk(home.path(), &emu, &["audit", "verify", "--witness", &inc.number]);
    assert_eq!(none.status.code(), Some(1), "{}", text(&none));
    assert!(text(&none).contains("holds no audit checkpoint"), "{}", text(&none));

    let out = grantdesk(home.path(), &emu, &["audit", "checkpoint", "--ticket", &inc.number]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("checkpoint {head} written to {}", inc.number)), "{}", text(&out));

    // The note is on the ticket, once, by the operator.
    let notes: Vec<_> = sn
        .journal(&inc.sys_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == JournalKind::WorkNote && Checkpoint::from_witness_note(&j.value).is_some())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(Checkpoint::from_witness_note(&notes[0].value), Some(head));
    assert_eq!(notes[0].created_by, "dana.desk");

    // Intent and outcome in the log, naming the checkpoint and the ticket.
    let store = Store::open(&db(home.path())).await.unwrap();
    let audited: Vec<_> = store
        .audit_records_for_object(&inc.number)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == action::AUDIT_CHECKPOINT)
        .collect();
    let outcomes: Vec<&str> = audited.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["intent", "success"], "{audited:?}");
    assert_eq!(audited[0].seq, 6, "the head written is the one before the intent");
    assert_eq!(audited[0].detail_str("hash"), Some(head.hash.to_hex()));
    store.close().await;

    let ok = grantdesk(home.path(), &emu, &["audit", "verify", "--witness", &inc.number]);
    assert!(ok.status.success(), "{}", text(&ok));
    let said = text(&ok);
    assert!(said.contains(&format!("checkpoint {head}")) && said.contains("by dana.desk"), "{said}");
    assert!(said.contains("audit log intact: 7 events verified"), "{said}");
    assert!(said.contains("checkpoint found in the log"), "{said}");

    // Someone replaces the whole file with a log of their own: it verifies on its own…
    let path = db(home.path());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let forged = Store::open(&path).await.unwrap();
    forged.append_audit_batch(&events(9, "mallory")).await.unwrap();
    forged.close().await;
    let alone = grantdesk(home.path(), &emu, &["audit", "verify"]);
    assert!(alone.status.success(), "a consistent forgery verifies without a witness: {}", text(&alone));

    // …but not against the witness, which names where it parts from the note.
    let caught = grantdesk(home.path(), &emu, &["audit", "verify", "--witness", &inc.number, "--json"]);
    assert_eq!(caught.status.code(), Some(1), "{}", text(&caught));
    let v: serde_json::Value = serde_json::from_slice(&caught.stdout).unwrap();
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["sequence"], 5, "{v}");
}
