//! Audit figures on the synced store (beside the world's cached System Log and requested items,
//! which `history` joins): appends in batches of 1,000 until the log holds `events`, `audit
//! verify` over all of them, and `history --user` for people among them.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use super::{Figure, Samples, Target};
use crate::domain::audit::{AuditEvent, Outcome, action};
use crate::store::{HistoryTarget, Store};

/// Audit events appended at once (the outbox writes one or two; an import or a busy team more).
const BATCH: usize = 1000;

/// The `i`th event of a believable mix — requests, approvals, grants and ticket work — by the
/// world's people and for its catalog groups.
fn event(i: usize, people: &[String], groups: &[String], t0: chrono::DateTime<Utc>) -> AuditEvent {
    let act =
        [action::ACCESS_REQUEST_CREATE, action::ACCESS_REQUEST_APPROVE, action::GRANT_ADD, action::TICKET_WORK_NOTE]
            [i % 4];
    AuditEvent::new("dana.desk", act, Outcome::Success)
        .at(t0 + chrono::Duration::milliseconds(i as i64 * 50))
        .subject(people[(i * 7919) % people.len()].clone())
        .object(groups[i % groups.len()].clone())
        .ticket(format!("RITM{:07}", i / 4))
        .request_id(format!("bench-{i:012}"))
        .details(json!({ "access_request": format!("AR-B{}", i / 4), "justification": "quarterly close" }))
}

/// Appends until the log holds `events` more, timing each batch.
pub async fn append(store: &Store, events: usize, people: &[String], groups: &[String]) -> anyhow::Result<Figure> {
    let t0 = Utc::now() - chrono::Duration::days(60);
    let mut batches = Samples::default();
    let started = Instant::now();
    for first in (0..events).step_by(BATCH) {
        let batch: Vec<AuditEvent> =
            (first..(first + BATCH).min(events)).map(|i| event(i, people, groups, t0)).collect();
        let t = Instant::now();
        store.append_audit_batch(&batch).await?;
        batches.push(t.elapsed() / batch.len().max(1) as u32);
    }
    let overall = events as f64 / started.elapsed().as_secs_f64();
    // Rates from per-event times: the median batch's rate, and its slowest and fastest.
    let rate = |d: Duration| 1.0 / d.as_secs_f64().max(1e-9);
    let mut f = Figure::value(
        "audit-append",
        format!("audit append, batches of {BATCH}, onto a growing log ({events} events)"),
        rate(batches.median()),
        "events/s",
        Some(Target::at_least(20_000.0, "issue 4")),
    );
    f.min = Some(rate(batches.max()));
    f.median = Some(rate(batches.median()));
    f.details = json!({ "overall_events_per_s": overall, "batches": batches.len() });
    Ok(f)
}

/// `audit verify` over the whole log, `runs` times. The target is issue 4's 2 s for 1,000,000
/// events, pro rata for a smaller log.
pub async fn verify(store: &Store, runs: usize) -> anyhow::Result<Figure> {
    let mut samples = Samples::default();
    let mut events = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let v = store.verify_audit(None).await?;
        samples.push(t.elapsed());
        events = v.result.map_err(|b| anyhow::anyhow!("the audit chain is broken: {b:?}"))?;
    }
    let limit_ms = 2000.0 * events as f64 / 1_000_000.0;
    let source = if events >= 1_000_000 { "issue 4" } else { "issue 4, pro rata of 2 s per 1,000,000" };
    let mut f = Figure::timing(
        "audit-verify",
        format!("audit verify over {events} events"),
        &samples,
        Some(Target::median_ms(limit_ms, source)),
    );
    f.details = json!({ "events": events });
    Ok(f)
}

/// `history --user` (the store's grant history, as the command asks it) for `n` people among
/// the events.
pub async fn history(store: &Store, events: u64, people: &[String], n: usize) -> anyhow::Result<Figure> {
    let mut samples = Samples::default();
    let mut entries = 0;
    for k in 0..n {
        let login = people[(k * 7919 * 31) % people.len()].clone();
        let t = Instant::now();
        let h = store.grant_history(&HistoryTarget::User(login), Utc::now()).await?;
        samples.push(t.elapsed());
        entries += h.entries.len();
    }
    let mut f = Figure::timing(
        "history",
        format!("history --user among {events} audit events"),
        &samples,
        Some(Target::median_ms(5.0, "issue 4")),
    );
    f.details = json!({ "people": n, "entries_found": entries });
    Ok(f)
}
