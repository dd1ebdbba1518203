//! Bulk approval against a rate-limit budget: `okta`-route requests raised by one persona, then
//! approved at once by another through `grantdesk approve`'s own code (decide, fulfil — one
//! membership PUT each — and the System Log proof), with the emulator's Okta budget set to
//! `budget` requests a window. The run starts as a window begins, so the least time the budget
//! allows is exact: `(⌈PUTs / budget⌉ − 1)` windows.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;

use super::{Figure, Target};
use crate::cli::access::{BulkDecision, decide_in_bulk};
use crate::domain::request::Verdict;
use crate::emulator::RunningEmulator;
use crate::engine::Engine;
use crate::engine::access::NewRequest;

/// Catalog entries of the `okta` route that any standard approver may approve (demo catalog).
const GROUPS: [&str; 2] = ["zoom-users", "slack-guests"];
/// Who raises the requests (not an approver of them).
pub const RAISER: &str = "morgan.manager";
/// The Okta bucket one membership PUT is counted in (`PUT /api/v1/groups/{id}/users/{id}`).
const BUCKET: &str = "/api/v1/groups/{id}";
/// Decisions applied at once (`grantdesk approve`'s default).
const CONCURRENCY: usize = 4;

/// How the bulk run is set up.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Requests.
    pub requests: usize,
    /// Okta budget: requests per window per bucket.
    pub budget: u32,
    /// Window length in seconds (Okta's is 60).
    pub window_secs: u32,
}

/// `n` (person, group) pairs where the person is active, not yet a member, and neither the
/// approver nor the raiser.
fn pairs(emu: &RunningEmulator, approver: &str, n: usize) -> anyhow::Result<Vec<(String, String)>> {
    let okta = &emu.shared.okta;
    let skip = [format!("{approver}@example.com"), format!("{RAISER}@example.com")];
    let mut people = okta.logins_with_status("ACTIVE");
    people.sort();
    people.retain(|p| !skip.contains(p));
    let members: Vec<HashSet<String>> =
        GROUPS.iter().map(|g| okta.group_member_logins(g).into_iter().collect()).collect();
    let mut out = Vec::with_capacity(n);
    for p in &people {
        for (g, m) in GROUPS.iter().zip(&members) {
            if out.len() < n && !m.contains(p) {
                out.push((p.clone(), (*g).to_string()));
            }
        }
    }
    anyhow::ensure!(out.len() == n, "the world has room for only {} of {n} requests", out.len());
    Ok(out)
}

/// Raises the requests as [`RAISER`] (not timed).
pub async fn raise(emu: &RunningEmulator, raiser: &Engine, approver: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let reqs: Vec<NewRequest> = pairs(emu, approver, n)?
        .into_iter()
        .map(|(who, g)| NewRequest {
            entry: g,
            requested_for: Some(who),
            ticket: None,
            justification: "bulk onboarding (grantdesk bench)".into(),
            duration: None,
        })
        .collect();
    let raised = raiser.raise_requests(&reqs).await?;
    raised.into_iter().map(|r| Ok(r.context("raising a request")?.id)).collect()
}

/// Approves `ids` as `approver` under the budget of `plan`, and reads what the emulator saw.
pub async fn approve(
    emu: &RunningEmulator,
    approver: &Engine,
    ids: &[String],
    plan: Plan,
) -> anyhow::Result<Vec<Figure>> {
    let okta = &emu.shared.okta;
    okta.set_rate_limit(Some(plan.budget));
    okta.set_rate_limit_window(plan.window_secs);
    // Start as a window begins (the emulator's windows are aligned to the wall clock).
    let w = i64::from(plan.window_secs);
    let now = chrono::Utc::now();
    let next = (now.timestamp() / w + 1) * w;
    let wait = (next * 1000 - now.timestamp_millis()).max(0) as u64 + 20;
    tokio::time::sleep(Duration::from_millis(wait)).await;

    let before = okta.stats();
    let started = Instant::now();
    let BulkDecision { results, follow_ups, proof_error } =
        decide_in_bulk(approver, ids, Verdict::Approve, "approved in bulk (grantdesk bench)", CONCURRENCY).await?;
    let seconds = started.elapsed().as_secs_f64();
    let after = okta.stats();

    let decided = results.iter().filter(|(_, r, _)| r.as_ref().is_ok_and(|f| f.result.is_ok())).count();
    let granted = follow_ups.iter().filter(|f| f.result.is_ok()).count();
    anyhow::ensure!(decided == ids.len(), "only {decided} of {} requests were approved", ids.len());
    let windows: Vec<_> = okta.budget_windows(BUCKET).into_iter().filter(|w| w.start >= next).collect();
    let puts: u64 = windows.iter().map(|w| u64::from(w.used)).sum();
    let budget = u64::from(plan.budget);
    let least = (puts.div_ceil(budget).saturating_sub(1) * u64::from(plan.window_secs)) as f64;
    // Every window but the last had more work waiting than its budget: how much of it was used.
    let full = &windows[..windows.len().saturating_sub(1)];
    let share = (!full.is_empty())
        .then(|| 100.0 * full.iter().map(|w| f64::from(w.used)).sum::<f64>() / (budget * full.len() as u64) as f64);
    let rate_limited = after.rate_limited - before.rate_limited;

    let setting = format!("{} okta-route approvals, budget {} per {} s", ids.len(), plan.budget, plan.window_secs);
    let details = json!({
        "requests": ids.len(),
        "granted": granted,
        "okta_requests": after.requests - before.requests,
        "membership_puts": puts,
        "budget_per_window": plan.budget,
        "window_seconds": plan.window_secs,
        "least_seconds_the_budget_allows": least,
        "ratio_to_least": if least > 0.0 { seconds / least } else { f64::NAN },
        "windows_used": windows.iter().map(|w| w.used).collect::<Vec<_>>(),
        "proof_error": proof_error.map(|e| e.to_string()),
    });
    let target = (least > 0.0).then(|| Target::at_most(1.1 * least, "issue 6: 1.1 x the least the budget allows"));
    let mut time = Figure::value("bulk", format!("bulk approval: {setting}"), seconds, "s", target);
    time.details = details;
    let mut limited = Figure::value(
        "bulk",
        "bulk approval: 429 responses seen".into(),
        rate_limited as f64,
        "responses",
        Some(Target::at_most(0.0, "issue 6")),
    );
    limited.details = json!({ "okta_requests": after.requests - before.requests });
    let mut used = Figure::value(
        "bulk",
        "bulk approval: share of the budget used (windows with work left)".into(),
        share.unwrap_or(f64::NAN),
        "%",
        share.map(|_| Target::at_least(95.0, "issue 7")),
    );
    used.details = json!({ "windows": full.len() });
    Ok(vec![time, limited, used])
}
