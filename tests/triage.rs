//! Triage through the outbox: `grantdesk ticket NUMBER --note/--assign-to-me/--state/--resolve`
//! against the in-process emulator — audited before and after, refused (not overwritten) when the
//! ticket changed under the operator, and applied exactly once across a crash.

use std::path::Path;
use std::process::{Command as Process, Output};
use std::time::Duration;

use grantdesk::config::{ServiceNowAuth, ServiceNowConfig};
use grantdesk::domain::{JournalKind, TicketKind};
use grantdesk::emulator::{self, DEMO_PASSWORD, EmulatorOptions, RunningEmulator, Scale};
use grantdesk::engine::{Command, Engine, EngineParts, Operator, TicketRef};
use grantdesk::servicenow::{Query, ServiceNowClient};
use grantdesk::store::Store;

async fn start() -> RunningEmulator {
    emulator::start(EmulatorOptions::local(Scale::Demo, 1)).await.expect("emulator starts")
}

fn sn_as(emu: &RunningEmulator, user: &str) -> ServiceNowClient {
    grantdesk::install_crypto_provider();
    let cfg = ServiceNowConfig {
        url: emu.base_url.parse().unwrap(),
        auth: ServiceNowAuth::Basic {
            user: user.into(),
            password: grantdesk::config::Secret::new(DEMO_PASSWORD.into()),
        },
        ca_bundle: None,
        timeout: Duration::from_secs(10),
    };
    ServiceNowClient::new(&cfg).unwrap()
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

/// Riley's "locked out" incident, the first ticket of the demo story.
async fn rileys_incident(sn: &ServiceNowClient) -> grantdesk::domain::Ticket {
    let q = Query::new().like("short_description", "Locked out").eq("active", "true");
    sn.tickets(TicketKind::Incident, &q, Some(1)).await.unwrap().into_iter().next().expect("riley's incident")
}

async fn store_of(home: &Path) -> Store {
    Store::open(home.join("data/grantdesk/grantdesk.db").to_str().unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_work_note_lands_once_with_intent_and_outcome_audited() {
    let emu = start().await;
    let home = tempfile::tempdir().unwrap();
    let sn = sn_as(&emu, "dana.desk");
    let inc = rileys_incident(&sn).await;
    let out = grantdesk(home.path(), &emu, &["ticket", &inc.number, "--note", "Called Riley; unlocking in Okta"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("work note added"));

    let notes: Vec<_> = sn
        .journal(&inc.sys_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == JournalKind::WorkNote && j.value == "Called Riley; unlocking in Okta")
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].created_by, "dana.desk");

    let store = store_of(home.path()).await;
    let records = store.audit_records_for_object(&inc.number).await.unwrap();
    let outcomes: Vec<&str> = records.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["intent", "success"], "{records:?}");
    assert!(records.iter().all(|r| r.operator == "dana.desk" && r.action == "ticket.work_note"));
    assert!(store.verify_audit(None).await.unwrap().result.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_changed_under_the_operator_is_reported_not_overwritten() {
    let emu = start().await;
    let home = tempfile::tempdir().unwrap();
    let dana = sn_as(&emu, "dana.desk");
    let inc = rileys_incident(&dana).await;
    // Dana looks at the ticket (this caches it)…
    let shown = grantdesk(home.path(), &emu, &["ticket", &inc.number]);
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    assert!(String::from_utf8_lossy(&shown.stdout).contains("Locked out"));
    // …then alex assigns it to himself before dana acts.
    let alex = sn_as(&emu, "alex.approver");
    let alex_user = alex.current_user().await.unwrap();
    alex.update_ticket(TicketKind::Incident, &inc.sys_id, &[("assigned_to", &alex_user.sys_id)]).await.unwrap();

    let out = grantdesk(home.path(), &emu, &["ticket", &inc.number, "--assign-to-me"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("was changed by alex.approver") && err.contains("nothing was overwritten"), "{err}");
    let now = dana.ticket(TicketKind::Incident, &inc.sys_id).await.unwrap().unwrap();
    assert_eq!(now.assigned_to.sys_id, alex_user.sys_id, "alex's assignment stands");

    // Having seen the new version, dana can take it.
    assert!(grantdesk(home.path(), &emu, &["ticket", &inc.number]).status.success());
    let out = grantdesk(home.path(), &emu, &["ticket", &inc.number, "--assign-to-me"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let now = dana.ticket(TicketKind::Incident, &inc.sys_id).await.unwrap().unwrap();
    assert_eq!(now.assigned_to.display, "Dana Desk");
}

#[tokio::test(flavor = "multi_thread")]
async fn state_changes_and_resolution_need_what_servicenow_needs() {
    let emu = start().await;
    let home = tempfile::tempdir().unwrap();
    let sn = sn_as(&emu, "dana.desk");
    let inc = rileys_incident(&sn).await;
    let out = grantdesk(home.path(), &emu, &["ticket", &inc.number, "--state", "in progress"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sn.ticket(TicketKind::Incident, &inc.sys_id).await.unwrap().unwrap().state_label, "In Progress");

    let out = grantdesk(home.path(), &emu, &["ticket", &inc.number, "--state", "Sleeping"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("In Progress (2)"));

    let out = grantdesk(home.path(), &emu, &["ticket", &inc.number, "--resolve", "--close-code", "Solution provided"]);
    assert_eq!(out.status.code(), Some(2), "close notes are required");

    let out = grantdesk(
        home.path(),
        &emu,
        &["ticket", &inc.number, "--resolve", "--close-code", "Solution provided", "--close-notes", "Unlocked in Okta"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t = sn.ticket(TicketKind::Incident, &inc.sys_id).await.unwrap().unwrap();
    assert_eq!((t.state_label.as_str(), t.close_notes.as_str()), ("Resolved", "Unlocked in Okta"));
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_mode_refuses_with_exit_code_3_and_an_audit_entry() {
    let emu = start().await;
    let home = tempfile::tempdir().unwrap();
    let sn = sn_as(&emu, "dana.desk");
    let inc = rileys_incident(&sn).await;
    let before = sn.journal(&inc.sys_id).await.unwrap().len();
    let out = grantdesk(home.path(), &emu, &["--read-only", "ticket", &inc.number, "--note", "should not land"]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
    assert_eq!(sn.journal(&inc.sys_id).await.unwrap().len(), before);
    let records = store_of(home.path()).await.audit_records_for_object(&inc.number).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome.as_str(), "refused");
}

/// The crash this design exists for: the note reached ServiceNow, then the process died before
/// completing the command. The next worker must not add it a second time.
#[tokio::test(flavor = "multi_thread")]
async fn a_note_applied_before_a_crash_is_not_applied_again() {
    let emu = start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("g.db").to_str().unwrap()).await.unwrap();
    let sn = sn_as(&emu, "dana.desk");
    let me = sn.current_user().await.unwrap();
    let inc = rileys_incident(&sn).await;
    let engine = Engine::new(EngineParts {
        store: store.clone(),
        servicenow: Some(sn.clone()),
        okta: None,
        operator: Operator {
            user_name: me.user_name.clone(),
            sys_id: me.sys_id.clone(),
            login: me.email.clone(),
            name: me.name,
        },
        read_only: false,
        catalog: Default::default(),
    });
    let text = "Crash-test note";
    let cmd = Command::AddJournal {
        ticket: TicketRef {
            sys_id: inc.sys_id.clone(),
            number: inc.number.clone(),
            kind: inc.kind,
            mod_count: inc.mod_count,
        },
        journal: JournalKind::WorkNote,
        text: text.into(),
    };
    let queued = engine.submit(&cmd, None).await.unwrap();
    // The first worker claims it and gets the note to ServiceNow — then dies.
    store.claim(queued.id).await.unwrap();
    sn.add_journal(inc.kind, &inc.sys_id, JournalKind::WorkNote, text).await.unwrap();

    // The next worker recovers the abandoned command and finishes it.
    assert_eq!(engine.recover_abandoned(Duration::ZERO).await.unwrap(), 1);
    let finished = engine.drain().await.unwrap();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].result, Ok(format!("work note already on {}", inc.number)));
    let copies = sn.journal(&inc.sys_id).await.unwrap().into_iter().filter(|j| j.value == text).count();
    assert_eq!(copies, 1, "applied exactly once");
    assert!(store.verify_audit(None).await.unwrap().result.is_ok());
}
