//! The outbox on both backends: durable commands, their audit intent and outcome in the same
//! transactions, idempotency keys, claiming by concurrent workers, and resumption after a crash.

mod store_support;

use std::collections::HashSet;

use grantdesk::domain::audit::{AuditEvent, Outcome, action};
use grantdesk::store::{CommandStatus, Enqueued, NewCommand, StoreError};
use serde_json::json;
use store_support::TestDb;

fn grant(key: &str, user: &str) -> NewCommand {
    NewCommand {
        kind: "okta.group.add".into(),
        payload: json!({"group": "zoom-users", "user": user}),
        idempotency_key: key.into(),
        intent: AuditEvent::new("dana.desk", action::GRANT_ADD, Outcome::Intent)
            .subject(user)
            .object("zoom-users")
            .ticket("RITM0010001")
            .details(json!({"justification": "needs Zoom", "target_kind": "group"})),
    }
}

fn outcome(outcome: Outcome, details: serde_json::Value) -> AuditEvent {
    AuditEvent::new("dana.desk", action::GRANT_ADD, outcome)
        .subject("riley.requester@example.com")
        .object("zoom-users")
        .ticket("RITM0010001")
        .request_id("5168be8d5f54ca5371398055415254ff")
        .details(details)
}

async fn enqueue_writes_the_intent_with_the_command(db: &TestDb) {
    let store = db.open().await;
    let Enqueued::New(cmd) = store.enqueue(&grant("k1", "riley.requester@example.com")).await.unwrap() else {
        panic!("first enqueue must be new")
    };
    assert_eq!(cmd.status, CommandStatus::Pending);
    assert_eq!((cmd.attempts, cmd.operator.as_str(), cmd.kind.as_str()), (0, "dana.desk", "okta.group.add"));
    assert_eq!(cmd.payload["group"], "zoom-users");
    let log = store.audit_records(&Default::default()).await.unwrap();
    assert_eq!(log.len(), 1);
    let intent = &log[0];
    assert_eq!(intent.seq, cmd.intent_seq);
    assert_eq!(intent.outcome, "intent");
    assert_eq!(intent.subject, "riley.requester@example.com");
    let details = intent.details_json();
    assert_eq!(details["command"]["idempotency_key"], "k1");
    assert_eq!(details["justification"], "needs Zoom");

    // The same key again: the first command, and nothing new written.
    let again = store.enqueue(&grant("k1", "riley.requester@example.com")).await.unwrap();
    assert_eq!(again, Enqueued::Existing(cmd.clone()));
    assert_eq!(store.audit_count().await.unwrap(), 1);
    assert_eq!(store.command_by_key("k1").await.unwrap(), Some(cmd));
}

async fn claim_release_complete(db: &TestDb) {
    let store = db.open().await;
    let id = store.enqueue(&grant("k1", "riley.requester@example.com")).await.unwrap().command().id;
    let claimed = store.claim_next().await.unwrap().expect("one pending command");
    assert_eq!((claimed.id, claimed.status, claimed.attempts), (id, CommandStatus::InFlight, 1));
    assert!(claimed.claimed_at.is_some());
    assert_eq!(store.claim_next().await.unwrap(), None, "nothing else is pending");

    let released = store.release(id, "Okta answered 503").await.unwrap();
    assert_eq!((released.status, released.last_error.as_str()), (CommandStatus::Pending, "Okta answered 503"));
    let again = store.claim(id).await.unwrap();
    assert_eq!(again.attempts, 2);

    let (done, record) = store.complete(id, &outcome(Outcome::Success, json!({"membership": "added"}))).await.unwrap();
    assert_eq!(done.status, CommandStatus::Done);
    assert_eq!(done.outcome_seq, Some(record.seq));
    assert!(done.completed_at.is_some());
    assert_eq!(record.outcome, "success");
    assert_eq!(record.request_id, "5168be8d5f54ca5371398055415254ff");
    assert_eq!(record.details_json()["command"]["idempotency_key"], "k1");

    // A second completion (another worker, a replay) is refused and writes nothing.
    let err = store.complete(id, &outcome(Outcome::Success, json!({}))).await.unwrap_err();
    assert!(matches!(err, StoreError::CommandState { actual: ref a, .. } if a == "done"), "{err}");
    let err = store.claim(id).await.unwrap_err();
    assert!(matches!(err, StoreError::CommandState { .. }), "{err}");
    assert!(matches!(store.claim(9999).await.unwrap_err(), StoreError::UnknownCommand(9999)));
    assert_eq!(store.audit_count().await.unwrap(), 2);
    assert_eq!(store.verify_audit(None).await.unwrap().result, Ok(2));
}

async fn a_failure_keeps_its_reason(db: &TestDb) {
    let store = db.open().await;
    let id = store.enqueue(&grant("k1", "riley.requester@example.com")).await.unwrap().command().id;
    store.claim(id).await.unwrap();
    let (failed, record) = store
        .complete(id, &outcome(Outcome::Failure, json!({"error": "E0000007: Not found: Resource not found"})))
        .await
        .unwrap();
    assert_eq!(failed.status, CommandStatus::Failed);
    assert_eq!(failed.last_error, "E0000007: Not found: Resource not found");
    assert_eq!(record.outcome, "failure");
    assert_eq!(store.commands(CommandStatus::Failed, 10).await.unwrap(), vec![failed]);
}

async fn completion_and_its_outcome_are_one_transaction(db: &TestDb) {
    let store = db.open().await;
    let id = store.enqueue(&grant("k1", "riley.requester@example.com")).await.unwrap().command().id;
    store.claim(id).await.unwrap();
    // An outcome the audit log refuses (it holds a secret) must leave the command in flight.
    let bad = outcome(Outcome::Success, json!({"resetPasswordUrl": "https://example.okta.com/reset/abc"}));
    assert!(matches!(store.complete(id, &bad).await.unwrap_err(), StoreError::Secret(_)));
    assert_eq!(store.command(id).await.unwrap().unwrap().status, CommandStatus::InFlight);
    assert_eq!(store.audit_count().await.unwrap(), 1);
    // Likewise an intent the log refuses leaves no command behind.
    let mut cmd = grant("k2", "sam.security@example.com");
    cmd.intent = cmd.intent.details(json!({"client_secret": "x"}));
    assert!(matches!(store.enqueue(&cmd).await.unwrap_err(), StoreError::Secret(_)));
    assert_eq!(store.command_by_key("k2").await.unwrap(), None);
}

async fn secrets_are_refused_in_payloads(db: &TestDb) {
    let store = db.open().await;
    let mut cmd = grant("k1", "riley.requester@example.com");
    cmd.payload = json!({"user": "riley", "credentials": {"password": {"value": "hunter2"}}});
    let err = store.enqueue(&cmd).await.unwrap_err();
    assert!(err.to_string().contains("credentials"), "{err}");
    assert_eq!(store.audit_count().await.unwrap(), 0);
    assert_eq!(store.command_by_key("k1").await.unwrap(), None);
}

async fn in_flight_commands_survive_a_crash(db: &TestDb) {
    let store = db.open().await;
    for k in 0..3 {
        store.enqueue(&grant(&format!("k{k}"), "riley.requester@example.com")).await.unwrap();
    }
    let claimed = store.claim_next().await.unwrap().unwrap();
    // The process dies here: the pool goes away without completing anything.
    drop(store);
    let store = db.open().await;
    let left = store.in_flight_commands().await.unwrap();
    assert_eq!(left.iter().map(|c| c.id).collect::<Vec<_>>(), vec![claimed.id]);
    assert_eq!(left[0].attempts, 1);
    assert_eq!(store.commands(CommandStatus::Pending, 10).await.unwrap().len(), 2);
}

async fn concurrent_workers_claim_each_command_once(db: &TestDb) {
    let store = db.open().await;
    for k in 0..40 {
        store.enqueue(&grant(&format!("k{k}"), &format!("user{k}@example.com"))).await.unwrap();
    }
    let other = db.open().await;
    let mut workers = Vec::new();
    for w in 0..4 {
        let s = if w % 2 == 0 { store.clone() } else { other.clone() };
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(cmd) = s.claim_next().await.unwrap() {
                s.complete(cmd.id, &outcome(Outcome::Success, json!({"worker": w}))).await.unwrap();
                mine.push(cmd.id);
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    for w in workers {
        for id in w.await.unwrap() {
            assert!(seen.insert(id), "command {id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), 40);
    let done = store.commands(CommandStatus::Done, 100).await.unwrap();
    assert_eq!(done.len(), 40);
    assert!(done.iter().all(|c| c.attempts == 1));
    assert_eq!(store.verify_audit(None).await.unwrap().result, Ok(80));
}

async fn concurrent_enqueues_of_one_key_make_one_command(db: &TestDb) {
    let (a, b) = (db.open().await, db.open().await);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { s.enqueue(&grant("same-key", "riley.requester@example.com")).await }));
    }
    let mut new = 0;
    for t in tasks {
        if let Enqueued::New(_) = t.await.unwrap().unwrap() {
            new += 1;
        }
    }
    assert_eq!(new, 1);
    assert_eq!(a.audit_count().await.unwrap(), 1);
}

backend_tests!(
    enqueue_writes_the_intent_with_the_command,
    claim_release_complete,
    a_failure_keeps_its_reason,
    completion_and_its_outcome_are_one_transaction,
    secrets_are_refused_in_payloads,
    in_flight_commands_survive_a_crash,
    concurrent_workers_claim_each_command_once,
    concurrent_enqueues_of_one_key_make_one_command,
);
