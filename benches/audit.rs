//! Audit log speed on SQLite: appends in batches, `verify` over 1,000,000 events, and grant
//! history for one user among them.
//!
//! Targets (issue 4): append ≥ 20,000 events/s (batched in transactions); verify over 1,000,000
//! events ≤ 2 s; `history --user` among 1,000,000 events ≤ 5 ms.
//!
//! Run: `cargo bench --bench audit`. The 1,000,000-event store is built once per run in a
//! temporary folder (about a minute) before the verify and history measurements.

use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use grantdesk::domain::audit::{AuditEvent, Outcome, action};
use grantdesk::store::Store;
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
    eprintln!("built {BIG} events in {:.1?}", started.elapsed());
    store
}

fn big(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = big_store(&rt, dir.path());

    let mut g = c.benchmark_group("audit_1m_sqlite");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(BIG as u64));
    g.bench_function("verify", |b| {
        b.iter(|| {
            let v = rt.block_on(store.verify_audit(None)).unwrap();
            assert_eq!(v.result, Ok(BIG as u64));
        })
    });
    g.finish();
}

criterion_group!(benches, append, big);
criterion_main!(benches);
