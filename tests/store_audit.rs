//! The audit log on both backends: appends, refusals by the database itself, tamper detection,
//! concurrent writers, checkpoints and exports.

mod store_support;

use chrono::{DateTime, Duration, Utc};
use grantdesk::domain::audit::{AuditEvent, BreakKind, Checkpoint, Outcome, action};
use grantdesk::store::{AuditQuery, ExportFormat, Store, StoreError, TimeRange};
use serde_json::json;
use store_support::{Kind, TestDb};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-03-01T09:00:00Z").unwrap().with_timezone(&Utc)
}

fn event(i: usize) -> AuditEvent {
    AuditEvent::new(if i % 3 == 0 { "alex.approver" } else { "dana.desk" }, action::GRANT_ADD, Outcome::Success)
        .at(t0() + Duration::minutes(i as i64))
        .subject(format!("user{}@example.com", i % 7))
        .object(if i % 2 == 0 { "zoom-users" } else { "aws-prod-readonly" })
        .ticket(format!("RITM{:07}", 10000 + i))
        .request_id(format!("req{i:04}"))
        .details(json!({"justification": format!("reason {i}"), "target_kind": "group"}))
}

async fn filled(db: &TestDb, n: usize) -> Store {
    let store = db.open().await;
    let events: Vec<AuditEvent> = (0..n).map(event).collect();
    store.append_audit_batch(&events).await.unwrap();
    store
}

async fn open_creates_the_folder_and_reopens(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(store.audit_head().await.unwrap(), None);
    let r = store.append_audit(&event(0)).await.unwrap();
    assert_eq!(r.seq, 1);
    store.close().await;
    // Reopening applies nothing new and keeps the data.
    let store = db.open().await;
    assert_eq!(store.audit_count().await.unwrap(), 1);
    assert_eq!(store.audit_head().await.unwrap(), Some(Checkpoint { seq: 1, hash: r.hash }));
    assert!(!store.location().is_empty());
}

async fn a_newer_schema_is_refused_with_both_versions(db: &TestDb) {
    db.open().await.close().await;
    let forge = match db.kind {
        Kind::Sqlite => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (999, 'from the future', TRUE, X'00', 0)"
        }
        Kind::Postgres => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (999, 'from the future', TRUE, '\\x00'::bytea, 0)"
        }
    };
    db.try_raw(forge).await.unwrap();
    let err = Store::open(&db.location).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew { database: 999, .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("999") && msg.contains(&Store::schema_version().to_string()), "{msg}");
    assert!(msg.contains("upgrade grantdesk"), "{msg}");
}

async fn appends_chain_and_verify(db: &TestDb) {
    let store = db.open().await;
    for i in 0..30 {
        let r = store.append_audit(&event(i)).await.unwrap();
        assert_eq!(r.seq, i as u64 + 1);
    }
    let more: Vec<AuditEvent> = (30..250).map(event).collect();
    let head = store.append_audit_batch(&more).await.unwrap().unwrap();
    assert_eq!(head.seq, 250);
    assert_eq!(store.audit_head().await.unwrap(), Some(head));
    let v = store.verify_audit(None).await.unwrap();
    assert_eq!(v.result, Ok(250));
    assert_eq!(v.head, Some(head));
    assert_eq!(store.verify_audit(Some(head)).await.unwrap().result, Ok(250));

    // Listing: newest first, filtered, paged.
    let page = store.audit_records(&AuditQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), (241..=250).rev().collect::<Vec<_>>());
    let by_subject = store
        .audit_records(&AuditQuery { subject: Some("user3@example.com".into()), limit: 1000, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(by_subject.len(), (0..250).filter(|i| i % 7 == 3).count());
    assert!(by_subject.iter().all(|r| r.subject == "user3@example.com"));
    let older = store.audit_records(&AuditQuery { before_seq: Some(5), ..Default::default() }).await.unwrap();
    assert_eq!(older.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4, 3, 2, 1]);
    let window = TimeRange { since: Some(t0() + Duration::minutes(10)), until: Some(t0() + Duration::minutes(20)) };
    let in_window = store.audit_records(&AuditQuery { range: window, ..Default::default() }).await.unwrap();
    assert_eq!(in_window.len(), 10);
    let ticket =
        store.audit_records(&AuditQuery { ticket: Some("RITM0010042".into()), ..Default::default() }).await.unwrap();
    assert_eq!(ticket.len(), 1);
    assert_eq!(ticket[0].request_id, "req0042");
    assert_eq!(ticket[0].detail_str("justification").as_deref(), Some("reason 42"));
    assert_eq!(ticket[0].time(), Some(t0() + Duration::minutes(42)));

    // The console's free-text filter: any of the named columns, any case, `%`/`_` taken literally.
    let text = |t: &str| AuditQuery { text: Some(t.into()), limit: 1000, ..Default::default() };
    let alex = store.audit_records(&text("ALEX.app")).await.unwrap();
    assert_eq!(alex.len(), (0..250).filter(|i| i % 3 == 0).count());
    let ritm = store.audit_records(&text("rItM0010042")).await.unwrap();
    assert_eq!(ritm.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![43]);
    assert_eq!(store.audit_records(&text("zoom-users")).await.unwrap().len(), 125);
    assert!(store.audit_records(&text("user3%")).await.unwrap().is_empty(), "% is not a wildcard");
    assert!(store.audit_records(&text("zoom_users")).await.unwrap().is_empty(), "_ is not a wildcard");
    assert_eq!(store.audit_records(&text("  ")).await.unwrap().len(), 250, "blank text filters nothing");
}

async fn the_database_refuses_edits(db: &TestDb) {
    let store = filled(db, 10).await;
    for statement in [
        "UPDATE audit_log SET operator = 'mallory' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 10",
        "DELETE FROM audit_log",
        // A row forged at the head that does not link to it.
        "INSERT INTO audit_log SELECT 11, time_us, operator, action, subject, object, ticket, request_id, outcome, \
         details, hash, hash FROM audit_log WHERE seq = 5",
    ] {
        let err = db.try_raw(statement).await.expect_err(statement);
        assert!(err.contains("append-only"), "`{statement}` failed for another reason: {err}");
    }
    let special = match db.kind {
        // REPLACE deletes the old row without firing delete triggers; the insert trigger stops it.
        Kind::Sqlite => "INSERT OR REPLACE INTO audit_log SELECT * FROM audit_log WHERE seq = 4",
        Kind::Postgres => "TRUNCATE audit_log CASCADE",
    };
    let err = db.try_raw(special).await.expect_err(special);
    assert!(err.contains("append-only"), "{err}");
    assert_eq!(store.verify_audit(None).await.unwrap().result, Ok(10));
}

/// Each kind of tampering, done directly in the database with the protections off, is caught
/// and named at the right sequence number.
async fn verify_names_every_kind_of_tampering(db: &TestDb) {
    struct Case {
        name: &'static str,
        statements: &'static [&'static str],
        seq: u64,
        kind: BreakKind,
    }
    let cases = [
        Case {
            name: "edit a field",
            statements: &["UPDATE audit_log SET operator = 'mallory' WHERE seq = 5"],
            seq: 5,
            kind: BreakKind::Changed,
        },
        Case {
            name: "edit the details",
            statements: &["UPDATE audit_log SET details = '{\"justification\":\"approved by the CEO\"}' WHERE seq = 8"],
            seq: 8,
            kind: BreakKind::Changed,
        },
        Case {
            name: "edit the time",
            statements: &["UPDATE audit_log SET time_us = time_us + 1 WHERE seq = 12"],
            seq: 12,
            kind: BreakKind::Changed,
        },
        Case {
            name: "delete a row",
            statements: &["DELETE FROM audit_log WHERE seq = 7"],
            seq: 7,
            kind: BreakKind::Missing,
        },
        Case {
            name: "delete a row and renumber the rest",
            statements: &[
                "DELETE FROM audit_log WHERE seq = 7",
                "UPDATE audit_log SET seq = seq + 1000000 WHERE seq > 7",
                "UPDATE audit_log SET seq = seq - 1000001 WHERE seq > 1000000",
            ],
            seq: 7,
            kind: BreakKind::Missing,
        },
        Case {
            name: "insert a row, renumbering the rest",
            statements: &[
                "UPDATE audit_log SET seq = seq + 1000000 WHERE seq >= 4",
                "UPDATE audit_log SET seq = seq - 999999 WHERE seq > 1000000",
                "INSERT INTO audit_log SELECT 4, time_us, 'mallory', action, 'mallory@example.com', 'aws-prod-admin', \
                 ticket, request_id, outcome, details, (SELECT hash FROM audit_log WHERE seq = 3), hash \
                 FROM audit_log WHERE seq = 3",
            ],
            seq: 4,
            kind: BreakKind::Inserted,
        },
        Case {
            name: "swap two adjacent rows",
            statements: &[
                "UPDATE audit_log SET seq = 0 - 5 WHERE seq = 5",
                "UPDATE audit_log SET seq = 5 WHERE seq = 6",
                "UPDATE audit_log SET seq = 6 WHERE seq = 0 - 5",
            ],
            seq: 5,
            kind: BreakKind::Reordered,
        },
        Case {
            name: "swap two distant rows",
            statements: &[
                "UPDATE audit_log SET seq = 0 - 3 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = 15",
                "UPDATE audit_log SET seq = 15 WHERE seq = 0 - 3",
            ],
            seq: 3,
            kind: BreakKind::Reordered,
        },
    ];
    for case in cases {
        let fresh = db.fresh_like().await;
        let store = filled(&fresh, 20).await;
        assert_eq!(store.verify_audit(None).await.unwrap().result, Ok(20), "{}", case.name);
        fresh.tamper(case.statements).await;
        let v = store.verify_audit(None).await.unwrap();
        let b = v.result.expect_err(case.name);
        assert_eq!((b.seq, b.kind), (case.seq, case.kind), "{}: {b}", case.name);
        assert!(b.to_string().contains(&format!("sequence {}", case.seq)), "{b}");
        assert_eq!(v.head.map(|h| h.seq), Some(case.seq - 1).filter(|s| *s > 0), "{}", case.name);
        store.close().await;
    }
}

/// Logs above 20,000 events are verified in parallel segments; a break in any segment, or at a
/// join between two, still comes back named exactly.
async fn large_logs_verify_in_segments(db: &TestDb) {
    let store = filled(db, 30_000).await;
    let head = store.audit_head().await.unwrap().unwrap();
    let v = store.verify_audit(Some(head)).await.unwrap();
    assert_eq!(v.result, Ok(30_000));
    assert_eq!(v.head, Some(head));
    assert!(v.segments >= 2, "an intact large log verifies on the parallel path");
    // 15,000 is the last record of the first of two segments (or inside one of four).
    db.tamper(&["UPDATE audit_log SET subject = 'mallory@example.com' WHERE seq = 15001"]).await;
    let b = store.verify_audit(None).await.unwrap().result.unwrap_err();
    assert_eq!((b.seq, b.kind), (15001, BreakKind::Changed), "{b}");
}

async fn a_checkpoint_catches_a_truncated_log(db: &TestDb) {
    let store = filled(db, 20).await;
    let cp = store.audit_head().await.unwrap().unwrap();
    db.tamper(&["DELETE FROM audit_log WHERE seq > 17"]).await;
    // Without the outside witness a cut tail looks like a shorter, intact log…
    assert_eq!(store.verify_audit(None).await.unwrap().result, Ok(17));
    // …with it, the cut is named.
    let b = store.verify_audit(Some(cp)).await.unwrap().result.unwrap_err();
    assert_eq!((b.seq, b.kind), (18, BreakKind::Missing), "{b}");
}

async fn concurrent_writers_keep_one_chain(db: &TestDb) {
    db.open().await.close().await;
    let (a, b) = (db.open().await, db.open().await);
    let mut tasks = Vec::new();
    for w in 0..4usize {
        let store = if w % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                if i % 5 == 0 {
                    let batch: Vec<AuditEvent> = (0..4).map(|k| event(w * 1000 + i * 10 + k)).collect();
                    store.append_audit_batch(&batch).await.unwrap();
                } else {
                    store.append_audit(&event(w * 1000 + i)).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let expected = 4 * (20 + 5 * 4);
    assert_eq!(a.audit_count().await.unwrap(), expected);
    assert_eq!(b.verify_audit(None).await.unwrap().result, Ok(expected));
}

async fn exports_csv_and_okta_shaped_jsonl(db: &TestDb) {
    let store = filled(db, 30).await;
    let mut csv = Vec::new();
    assert_eq!(store.export_audit(ExportFormat::Csv, TimeRange::default(), &mut csv).await.unwrap(), 30);
    let csv = String::from_utf8(csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("sequence,time,operator,action,subject,object,ticket,request_id,outcome,details,prev_hash,hash")
    );
    assert!(lines.next().unwrap().starts_with("1,2025-03-01T09:00:00.000000Z,alex.approver,grant.add,"));
    assert_eq!(csv.lines().count(), 31);

    let range = TimeRange { since: Some(t0() + Duration::minutes(5)), until: Some(t0() + Duration::minutes(8)) };
    let mut jsonl = Vec::new();
    assert_eq!(store.export_audit(ExportFormat::Jsonl, range, &mut jsonl).await.unwrap(), 3);
    let events: Vec<serde_json::Value> =
        String::from_utf8(jsonl).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 3);
    let e = &events[0];
    assert_eq!(e["eventType"], "grantdesk.grant.add");
    assert_eq!(e["published"], "2025-03-01T09:05:00.000Z");
    assert_eq!(e["actor"]["alternateId"], "dana.desk");
    assert_eq!(e["target"][0]["alternateId"], "user5@example.com");
    assert_eq!(e["outcome"]["result"], "SUCCESS");
    assert_eq!(e["debugContext"]["debugData"]["sequence"], 6);
    assert_eq!(e["debugContext"]["debugData"]["requestId"], "req0005");
    assert!(e["uuid"].as_str().unwrap().len() == 36);
}

async fn secrets_never_enter_the_log(db: &TestDb) {
    let store = db.open().await;
    let bad = event(1).details(json!({"okta": {"api_token": "00abcdefSECRET"}}));
    let err = store.append_audit(&bad).await.unwrap_err();
    assert!(matches!(err, StoreError::Secret(ref s) if s.path == "okta.api_token"), "{err}");
    assert!(err.to_string().contains("secrets never go into the store"), "{err}");
    assert_eq!(store.audit_count().await.unwrap(), 0);
}

backend_tests!(
    open_creates_the_folder_and_reopens,
    a_newer_schema_is_refused_with_both_versions,
    appends_chain_and_verify,
    the_database_refuses_edits,
    verify_names_every_kind_of_tampering,
    a_checkpoint_catches_a_truncated_log,
    large_logs_verify_in_segments,
    concurrent_writers_keep_one_chain,
    exports_csv_and_okta_shaped_jsonl,
    secrets_never_enter_the_log,
);
