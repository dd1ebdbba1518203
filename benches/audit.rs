//! Audit log speed on SQLite: appends in batches, `verify` over 1,000,000 events, and grant
//! history for one user among them.
//!
//! Targets (issue 4): append ≥ 20,000 events/s (batched in transactions); verify over 1,000,000
//! events ≤ 2 s; `history --user` among 1,000,000 events ≤ 5 ms.
//!
//! Run: `cargo bench --bench audit`. The 1,000,000-event store (with 100,000 cached System Log
//! events and 20,000 requested items beside it) is built once per run in a temporary folder
//! (a minute or two) before the verify and history measurements.

use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use grantdesk::domain::audit::{AuditEvent, Outcome, action};
use grantdesk::domain::{Approval, ApprovalState, LogActor, LogEvent, LogTarget, Reference, Ticket, TicketKind};
use grantdesk::store::{HistoryTarget, Store};
use serde_json::json;

const BIG: usize = 1_000_000;
const USERS: usize = 50_000;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap().with_timezone(&Utc)
}

/// A believable mix: grants, approvals and ticket work spread over 50,000 users and 40 groups.
fn event(i: usize) -> AuditEvent {
    let user = format!("user{:05}@example.com", (i * 7919) % USERS);
    let group = format!("group-{:02}", i % 40);
    let (act, outcome) = match i % 4 {
        0 => (action::ACCESS_REQUEST_CREATE, Outcome::Success),
        1 => (action::ACCESS_REQUEST_APPROVE, Outcome::Success),
        2 => (action::GRANT_ADD, Outcome::Success),
        _ => (action::TICKET_WORK_NOTE, Outcome::Success),
    };
    AuditEvent::new("dana.desk", act, outcome)
        .at(t0() + chrono::Duration::seconds(i as i64))
        .subject(user)
        .object(group)
        .ticket(format!("RITM{:07}", i / 4))
        .request_id(format!("{:032x}", i))
        .details(json!({
            "access_request": format!("ar-{}", i / 4),
            "justification": "needs it for the quarterly close",
            "target_kind": "group",
        }))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn append(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = rt.block_on(Store::open(&dir.path().join("append.db").display().to_string())).unwrap();
    let mut g = c.benchmark_group("audit_append_sqlite");
    g.throughput(Throughput::Elements(1000));
    g.sample_size(20);
    let mut next = 0usize;
    g.bench_function("batch_of_1000", |b| {
        b.iter_batched(
            || {
                let events: Vec<AuditEvent> = (next..next + 1000).map(event).collect();
                next += 1000;
                events
            },
            |events| rt.block_on(store.append_audit_batch(&events)).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn big_store(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> Store {
    let store = rt.block_on(Store::open(&dir.join("big.db").display().to_string())).unwrap();
    let started = std::time::Instant::now();
    for chunk in (0..BIG).collect::<Vec<_>>().chunks(10_000) {
        let events: Vec<AuditEvent> = chunk.iter().map(|&i| event(i)).collect();
        rt.block_on(store.append_audit_batch(&events)).unwrap();
    }
    eprintln!("built {BIG} audit events in {:.1?}", started.elapsed());
    // A cache beside them, as a synced console has: 100,000 System Log membership events and
    // 20,000 requested items with approvals, so history's joins have something to search.
    let started = std::time::Instant::now();
    for chunk in (0..100_000usize).collect::<Vec<_>>().chunks(5_000) {
        let events: Vec<LogEvent> = chunk.iter().map(|&i| log_event(i)).collect();
        rt.block_on(store.insert_log_events(&events)).unwrap();
    }
    for chunk in (0..20_000usize).collect::<Vec<_>>().chunks(2_000) {
        let items: Vec<Ticket> = chunk.iter().map(|&i| ritm(i)).collect();
        let approvals: Vec<Approval> = items.iter().map(approval).collect();
        rt.block_on(store.upsert_tickets(&items)).unwrap();
        rt.block_on(store.upsert_approvals(&approvals)).unwrap();
    }
    eprintln!("built the cache beside them in {:.1?}", started.elapsed());
    store
}

fn log_event(i: usize) -> LogEvent {
    let user = (i * 104_729) % USERS;
    LogEvent {
        uuid: format!("{:032x}", i),
        published: t0() + chrono::Duration::seconds(i as i64 * 7),
        event_type: if i % 5 == 0 { "group.user_membership.remove" } else { "group.user_membership.add" }.into(),
        display_message: "Add user to group membership".into(),
        severity: "INFO".into(),
        actor: LogActor {
            id: "00uadmin".into(),
            kind: "User".into(),
            alternate_id: "it.admin@example.com".into(),
            display_name: "IT Admin".into(),
        },
        targets: vec![
            LogTarget {
                id: format!("00u{user:05}"),
                kind: "User".into(),
                alternate_id: format!("user{user:05}@example.com"),
                display_name: format!("User {user}"),
            },
            LogTarget {
                id: format!("00g{:02}", i % 40),
                kind: "UserGroup".into(),
                alternate_id: "unknown".into(),
                display_name: format!("group-{:02}", i % 40),
            },
        ],
        outcome: "SUCCESS".into(),
        outcome_reason: String::new(),
        request_id: format!("{:032x}", i + BIG),
    }
}

fn ritm(i: usize) -> Ticket {
    let user = (i * 15_485_863) % USERS;
    let at = t0() + chrono::Duration::minutes(i as i64);
    Ticket {
        sys_id: format!("{:032x}", i),
        number: format!("RITM{:07}", 1_000_000 + i),
        kind: TicketKind::RequestedItem,
        short_description: format!("Access to group-{:02}", i % 40),
        description: String::new(),
        state: "1".into(),
        state_label: "Open".into(),
        priority: 4,
        active: i % 3 != 0,
        caller: Reference { sys_id: format!("sn{user}"), display: format!("User {user}") },
        caller_email: format!("user{user:05}@example.com"),
        assignment_group: Reference { sys_id: "iam".into(), display: "IAM".into() },
        assigned_to: Reference::default(),
        category: "access".into(),
        parent: Reference::default(),
        cat_item: format!("group-{:02}", i % 40),
        opened_at: at,
        updated_at: at,
        updated_by: "system".into(),
        mod_count: 1,
        sla_due: None,
        sla_breached: false,
        resolved_at: None,
        close_code: String::new(),
        close_notes: String::new(),
        approval: "approved".into(),
    }
}

fn approval(t: &Ticket) -> Approval {
    Approval {
        sys_id: format!("a{}", t.sys_id),
        approver: Reference { sys_id: "alex".into(), display: "Alex Approver".into() },
        document: Reference { sys_id: t.sys_id.clone(), display: t.number.clone() },
        state: ApprovalState::Approved,
        comments: String::new(),
        created_on: t.opened_at,
        updated_on: t.opened_at,
    }
}

fn big(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    // Built on first use, so `cargo bench --bench audit -- append` skips the minute it takes.
    let store = std::cell::OnceCell::new();
    let store = || store.get_or_init(|| big_store(&rt, dir.path()));

    let mut g = c.benchmark_group("audit_1m_sqlite");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(BIG as u64));
    g.bench_function("verify", |b| {
        let store = store();
        b.iter(|| {
            let v = rt.block_on(store.verify_audit(None)).unwrap();
            assert_eq!(v.result, Ok(BIG as u64));
        })
    });
    g.finish();

    let mut g = c.benchmark_group("history_1m_sqlite");
    let mut k = 0usize;
    g.bench_function("history_user", |b| {
        let store = store();
        b.iter(|| {
            k += 1;
            let login = format!("user{:05}@example.com", (k * 31) % USERS);
            let h = rt.block_on(store.grant_history(&HistoryTarget::User(login), Utc::now())).unwrap();
            assert!(!h.entries.is_empty());
        })
    });
    g.finish();
}

criterion_group!(benches, append, big);
criterion_main!(benches);
