//! Sync figures: the engine's own `sync` against the in-process emulator — a first (full) sync
//! of the world into an empty store, then an incremental one after 100 changes made in the
//! services. Requests are counted by the emulator (what was actually served).

use std::time::Instant;

use anyhow::Context as _;
use futures::TryStreamExt as _;
use serde_json::json;

use super::{Figure, Target};
use crate::domain::TicketKind;
use crate::emulator::RunningEmulator;
use crate::engine::Engine;
use crate::engine::sync::{SyncOptions, SyncReport};
use crate::servicenow::Query;

/// Requests the emulator has served so far (both services).
pub fn served(emu: &RunningEmulator) -> u64 {
    let snapshot = emu.shared.serve_times.snapshot();
    snapshot.as_object().map(|m| m.values().filter_map(|v| v["requests"].as_u64()).sum()).unwrap_or(0)
}

fn records(report: &SyncReport) -> u64 {
    report.sources.iter().map(|s| s.fetched).sum()
}

fn per_source(report: &SyncReport) -> serde_json::Value {
    report
        .sources
        .iter()
        .map(|s| {
            let figures =
                json!({ "fetched": s.fetched, "requests": s.requests, "seconds": s.seconds, "store_seconds": s.store_seconds });
            (s.source.clone(), figures)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The first sync of the world into an empty store.
pub async fn full(emu: &RunningEmulator, engine: &Engine) -> anyhow::Result<Figure> {
    let before = served(emu);
    let started = Instant::now();
    let report = engine.sync(SyncOptions::default(), &|_| {}).await.context("the first sync")?;
    let seconds = started.elapsed().as_secs_f64();
    let requests = served(emu) - before;
    let records = records(&report);
    let mut f = Figure::value(
        "sync-full",
        format!("full sync of the world: {records} records in {requests} requests"),
        seconds,
        "s",
        None,
    );
    f.details = json!({
        "requests": requests,
        "records": records,
        "records_per_s": records as f64 / seconds,
        "store_seconds": report.store_seconds,
        "store_share": report.store_seconds / seconds,
        "sources": per_source(&report),
    });
    Ok(f)
}

/// A full sync (`grantdesk sync --full`) into a fresh store under Okta's default rate limits,
/// as a real org would pace it: issue 4 asks that it be bounded by those limits, not by the
/// store — the time spent writing to the store at most a tenth of the whole.
pub async fn limited(emu: &RunningEmulator, engine: &Engine) -> anyhow::Result<Figure> {
    emu.shared.okta.set_rate_limit(None);
    let before = served(emu);
    let started = Instant::now();
    let report = engine.sync(SyncOptions { full: true, ..SyncOptions::default() }, &|_| {}).await;
    let seconds = started.elapsed().as_secs_f64();
    emu.shared.okta.set_rate_limit(Some(super::UNLIMITED));
    let report = report.context("the rate-limited sync")?;
    let requests = served(emu) - before;
    let mut f = Figure::value(
        "sync-limited",
        format!(
            "full sync under Okta's default rate limits ({} records, {requests} requests, {seconds:.1} s): time in the store",
            records(&report)
        ),
        100.0 * report.store_seconds / seconds.max(1e-9),
        "%",
        Some(Target::at_most(10.0, "issue 4")),
    );
    f.details = json!({
        "seconds": seconds,
        "store_seconds": report.store_seconds,
        "requests": requests,
        "sources": per_source(&report),
    });
    Ok(f)
}

/// 100 changes made in the services by someone else (70 incidents edited, 30 people added to a
/// group in Okta), then an incremental sync.
pub async fn incremental(emu: &RunningEmulator, engine: &Engine) -> anyhow::Result<Vec<Figure>> {
    let sn = engine.servicenow()?;
    let okta = engine.okta()?;
    let incidents = sn.tickets(TicketKind::Incident, &Query::new().eq("active", true), Some(70)).await?;
    for t in &incidents {
        let text = format!("{} (updated)", t.short_description);
        sn.update_ticket(TicketKind::Incident, &t.sys_id, &[("short_description", text.as_str())]).await?;
    }
    let group = crate::engine::directory::group_by_name(okta, "slack-guests")
        .await?
        .context("the world has no slack-guests group")?;
    let members: std::collections::HashSet<String> =
        okta.group_members(&group.id).map_ok(|u| u.id).try_collect().await?;
    let mut added = 0;
    let mut users = std::pin::pin!(okta.users(&crate::okta::UserQuery::all().limit(200)));
    while added < 30 {
        let u = users.try_next().await?.context("too few people for 30 new members")?;
        if !members.contains(&u.id) {
            okta.add_group_member(&group.id, &u.id).await?;
            added += 1;
        }
    }
    let changes = incidents.len() + added;

    let before = served(emu);
    let started = Instant::now();
    let report = engine.sync(SyncOptions::default(), &|_| {}).await.context("the incremental sync")?;
    let seconds = started.elapsed().as_secs_f64();
    let requests = served(emu) - before;
    let mut f = Figure::value(
        "sync-incremental",
        format!("incremental sync after {changes} changes: requests made"),
        requests as f64,
        "requests",
        Some(Target::at_most(20.0, "issue 4: a handful")),
    );
    f.details = json!({ "seconds": seconds, "records": records(&report), "sources": per_source(&report) });
    let mut time = Figure::value(
        "sync-incremental",
        format!("incremental sync after {changes} changes: time"),
        seconds,
        "s",
        None,
    );
    time.details = json!({ "requests": requests });
    Ok(vec![f, time])
}
