//! Bulk approval applied exactly once (issue 6, items 6, 7 and 11), through the real binary as
//! the approver against the in-process emulator:
//!
//! - a thousand `okta`-route requests approved with `grantdesk approve --all-pending` while the
//!   emulator injects 5 % 429s, 5 % 5xx and 2 % connection resets (half of them after the change
//!   was applied, so the answer is lost), re-run while it reports failures, as its message says;
//! - a few hundred approved by a run that is killed (SIGKILL) at random points, round after round,
//!   then resumed by `grantdesk worker --once` and `grantdesk approve --all-pending`.
//!
//! Both must end as an uncrashed, fault-free run would: every request granted, each membership
//! added (and logged by Okta) once, one decision and one fulfilment per request, each with one
//! audit intent and one success outcome, nothing left in flight, and `grantdesk audit verify`
//! intact.

mod access_support;

use std::time::{Duration, Instant};

use access_support::{
    BULK_APPROVER, BULK_RAISER, Home, assert_exactly_once, bulk_catalog, bulk_pairs, raise_bulk, set_faults, start,
    text,
};
use grantdesk::config::{OktaAuth, OktaConfig, Secret};
use grantdesk::domain::request::Verdict;
use grantdesk::emulator::{DEMO_OKTA_TOKEN, RunningEmulator};
use grantdesk::okta::{ClientOptions, OktaClient};
use grantdesk::store::{AuditQuery, CommandStatus, RequestFilter};
use rand::{RngExt as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

const COMMENT: &str = "bulk onboarding approved";

/// The emulator's own counters (`GET /_emulator/stats`), as an operator would read them.
async fn emulator_stats(emu: &RunningEmulator) -> serde_json::Value {
    reqwest::get(format!("{}/_emulator/stats", emu.base_url)).await.unwrap().json().await.unwrap()
}

/// Okta's budgets raised far above what a thousand approvals spend: these tests are about faults
/// and crashes, not pacing (which the README's benchmark measures).
fn unthrottled(emu: &RunningEmulator) {
    emu.shared.okta.set_rate_limit(Some(1_000_000));
}

/// A count from the binary's store, read while it runs (SQLite in WAL mode: readers do not block
/// the writer).
async fn count(db: &sqlx::SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_approvals_under_injected_faults_apply_exactly_once() {
    const N: usize = 1000;
    let emu = start(Some("429=5%,5xx=5%,reset=2%")).await;
    unthrottled(&emu);
    let home = Home::with_catalog(&bulk_catalog());
    let pairs = bulk_pairs(&emu, N);
    let ids = raise_bulk(&emu, &home, &pairs).await;
    assert_eq!(ids.len(), N);
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);

    set_faults(&emu, true);
    let started = Instant::now();
    let mut runs = Vec::new();
    loop {
        let out = home.run(&emu, BULK_APPROVER, &["approve", "--all-pending", "--comment", COMMENT]).await;
        let code = out.status.code();
        runs.push(code);
        if out.status.success() {
            break;
        }
        // A partial failure says what failed and that running it again retries it.
        assert_eq!(code, Some(1), "exit {code:?}\n{}\n{}", text(&out.stdout), text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("again") || stderr.contains("retries") || stderr.contains("grantdesk worker"),
            "a failed run says how to retry: {stderr}"
        );
        assert!(runs.len() < 5, "re-running does not converge: {runs:?}\n{}\n{stderr}", text(&out.stdout));
    }
    // The proofs a run could not read under faults are the worker's to find.
    let out = home.run(&emu, BULK_APPROVER, &["worker", "--once"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    eprintln!("{N} approvals under faults: {} run(s) {runs:?}, {:.1?}", runs.len(), started.elapsed());

    let stats = emulator_stats(&emu).await;
    let faults = &stats["faults"];
    eprintln!("emulator: {faults}");
    for k in ["too_many_requests", "server_errors", "resets_before", "resets_after"] {
        assert!(faults[k].as_u64().unwrap_or(0) > 0, "no {k} were injected: {faults}");
    }
    assert_exactly_once(&emu, &home, &pairs, since).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_run_killed_at_random_points_resumes_to_the_same_end() {
    const N: usize = 300;
    const KILLS: usize = 10;
    let seed: u64 =
        std::env::var("GRANTDESK_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| rand::rng().random());
    // Shown so that a failure reproduces: GRANTDESK_CRASH_SEED=… cargo test --test bulk_exactly_once
    eprintln!("crash test seed: GRANTDESK_CRASH_SEED={seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let emu = start(None).await;
    unthrottled(&emu);
    let home = Home::with_catalog(&bulk_catalog());
    let pairs = bulk_pairs(&emu, N);
    raise_bulk(&emu, &home, &pairs).await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", home.db().display())).await.unwrap();
    const DONE: &str = "SELECT count(*) FROM outbox WHERE status = 'done'";
    const IN_FLIGHT: &str = "SELECT count(*) FROM outbox WHERE status = 'in_flight'";
    let total = 2 * N as i64;

    // Kill the approving process at a random number of finished commands (and a random moment
    // after), so it dies between any two steps: mid-decision, between the Okta call and its
    // outcome, while completing. Every third round a worker resumes first — run by someone else
    // (the raiser), whose worker must apply the approver's decisions as the approver's — and is
    // killed too.
    let mut left_in_flight = 0;
    let mut kills = 0;
    for round in 0..KILLS {
        let done = count(&db, DONE).await;
        if done >= total {
            break;
        }
        let target = rng.random_range(done + 1..=(done + (total - done) / 4).max(done + 1));
        let extra = Duration::from_micros(rng.random_range(0..20_000));
        let (who, args): (&str, &[&str]) = if round % 3 == 2 {
            (BULK_RAISER, &["worker", "--once"])
        } else {
            (BULK_APPROVER, &["approve", "--all-pending", "--comment", COMMENT])
        };
        let mut child = home.spawn(&emu, who, args);
        let deadline = Instant::now() + Duration::from_secs(60);
        let finished = loop {
            if child.try_wait().unwrap().is_some() {
                break true;
            }
            if count(&db, DONE).await >= target {
                break false;
            }
            assert!(Instant::now() < deadline, "round {round}: no progress to {target} commands done");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        if !finished {
            tokio::time::sleep(extra).await;
            child.kill().unwrap();
            kills += 1;
        }
        let out = access_support::blocking(move || child.wait_with_output().unwrap()).await;
        let in_flight = count(&db, IN_FLIGHT).await;
        left_in_flight += in_flight;
        eprintln!(
            "round {round}: {} {} at {} of {total} commands done (target {target}), {in_flight} left in flight",
            args[0],
            if finished { format!("finished ({:?})", out.status.code()) } else { "killed".to_string() },
            count(&db, DONE).await,
        );
    }
    assert!(kills >= KILLS / 2, "only {kills} run(s) were killed mid-bulk");
    assert!(left_in_flight > 0, "no kill left a command in flight: the resumption was not exercised");

    // Resume: the worker finishes what was queued, the approve run decides what was not, and
    // the next worker round proves the grants.
    let out = home.run(&emu, BULK_APPROVER, &["worker", "--once"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = home.run(&emu, BULK_APPROVER, &["approve", "--all-pending", "--comment", COMMENT]).await;
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let out = home.run(&emu, BULK_APPROVER, &["worker", "--once"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    db.close().await;
    set_faults(&emu, false);
    assert_exactly_once(&emu, &home, &pairs, since).await;
    assert_decided_by(&home, &format!("{BULK_APPROVER}@example.com")).await;
}

/// Every request was decided once, by `approver`, with the bulk comment.
async fn assert_decided_by(home: &Home, approver: &str) {
    let store = home.store().await;
    for r in store.access_requests(&RequestFilter::default()).await.unwrap() {
        let who: Vec<(&str, &str)> = r.decisions.iter().map(|d| (d.approver.as_str(), d.comment.as_str())).collect();
        assert_eq!(who, [(approver, COMMENT)], "{}", r.id);
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_decision_is_the_approvers_whoever_runs_the_worker() {
    let emu = start(None).await;
    let home = Home::with_catalog(&bulk_catalog());
    let pairs = bulk_pairs(&emu, 3);
    let ids = raise_bulk(&emu, &home, &pairs).await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);
    // The approver's console queues the decisions and goes away before applying them.
    let dana = home.engine(&emu, BULK_APPROVER).await;
    for id in &ids {
        dana.submit_decision(id, Verdict::Approve, COMMENT, None).await.unwrap();
    }
    dana.store().close().await;
    // The raiser's worker applies them: they stay the approver's (the raiser may not approve).
    let out = home.run(&emu, BULK_RAISER, &["worker", "--once"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_exactly_once(&emu, &home, &pairs, since).await;
    assert_decided_by(&home, &format!("{BULK_APPROVER}@example.com")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_okta_outage_longer_than_the_retries_leaves_the_grant_queued_for_the_next_run() {
    let emu = start(None).await;
    let home = Home::with_catalog(&bulk_catalog());
    let pairs = bulk_pairs(&emu, 1);
    let id = raise_bulk(&emu, &home, &pairs).await.remove(0);
    let since = chrono::Utc::now() - chrono::Duration::seconds(1);
    // A console whose Okta client gives up at once: each of the engine's attempts is one call.
    let okta = OktaClient::with_options(
        &OktaConfig {
            url: emu.base_url.parse().unwrap(),
            auth: OktaAuth::Ssws(Secret::new(DEMO_OKTA_TOKEN.into())),
            ca_bundle: None,
            timeout: Duration::from_secs(30),
        },
        ClientOptions { max_concurrency: 1, max_retries: 0 },
    )
    .unwrap();
    let dana = home.engine_with(&emu, BULK_APPROVER, okta).await;
    let decided = dana.decide(&id, Verdict::Approve, COMMENT, None).await.unwrap();
    assert!(decided.result.is_ok(), "{decided:?}");
    // Okta fails every attempt the run makes at the grant.
    emu.shared.okta.inject_server_error(grantdesk::engine::MAX_ATTEMPTS);
    let finished = dana.settle(&id).await.unwrap();
    assert_eq!(finished.len(), 1);
    let error = finished[0].result.clone().unwrap_err();
    assert!(error.contains("not applied yet") && error.contains("stays queued"), "{error}");
    // Not failed for good: still queued, with no outcome yet.
    let key = format!("fulfil:{id}");
    let queued = dana.store().command_by_key(&key).await.unwrap().unwrap();
    assert_eq!(queued.status, CommandStatus::Pending, "{queued:?}");
    assert!(queued.last_error.contains("500") || queued.last_error.contains("Internal"), "{}", queued.last_error);
    let outcomes = dana
        .store()
        .audit_records(&AuditQuery { limit: u32::MAX, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.details_json().pointer("/command/idempotency_key").and_then(|k| k.as_str()) == Some(&key))
        .map(|r| r.outcome)
        .collect::<Vec<_>>();
    assert_eq!(outcomes, ["intent"]);
    assert!(!emu.shared.okta.group_member_logins(&pairs[0].1).contains(&pairs[0].0));
    dana.store().close().await;

    // Okta is back: running the same approval again grants it, once.
    let out = home.run(&emu, BULK_APPROVER, &["approve", "--all-pending", "--comment", COMMENT]).await;
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_exactly_once(&emu, &home, &pairs, since).await;
}
