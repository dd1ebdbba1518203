//! Access requests from the command line: `catalog`, `request`, `requests`, `approve`, `deny`,
//! `orphans` and the long-running `worker`.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt as _;
use serde_json::json;

use super::{Globals, PolicyRefusal};
use crate::domain::catalog::{ApproverRule, Target};
use crate::domain::request::{AccessRequest, RequestStatus, Verdict, human_duration};
use crate::domain::text::sanitize_line;
use crate::engine::access::NewRequest;
use crate::engine::{Engine, EngineError, Finished};
use crate::store::RequestFilter;

async fn connect(globals: &Globals) -> anyhow::Result<Engine> {
    let cfg = globals.load_config()?;
    Engine::connect(&cfg, globals.read_only || cfg.read_only).await
}

fn s(x: &str) -> String {
    sanitize_line(x).into_owned()
}

fn into_exit(e: EngineError) -> anyhow::Error {
    match e {
        EngineError::Refused(m) => PolicyRefusal(m).into(),
        other => other.into(),
    }
}

// ----- catalog -------------------------------------------------------------------------------

/// Options of `grantdesk catalog`.
#[derive(Debug, clap::Args)]
pub struct CatalogArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn catalog(args: CatalogArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let engine = connect(globals).await?;
    if engine.catalog().entries.is_empty() {
        anyhow::bail!(
            "the access catalog is empty: define [[catalog.entry]] in the config (or GRANTDESK_CATALOG=demo against the emulator)"
        );
    }
    let snap = engine.validate_catalog().await.map_err(into_exit)?;
    let owners = |e: &crate::domain::catalog::CatalogEntry| -> Vec<String> {
        match &e.target {
            Target::Group(g) => crate::domain::catalog::Directory::group_owners(&snap, g),
            Target::App(_) => e.owners.clone(),
        }
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let v: Vec<_> = engine
            .catalog()
            .entries
            .iter()
            .map(|e| {
                json!({
                    "name": e.name,
                    "target": e.target,
                    "description": e.description,
                    "routes": e.routes,
                    "requestable_by": e.requestable_by,
                    "max_duration": e.max_duration.map(human_duration),
                    "justification_required": e.justification_required,
                    "approval": e.approval.iter().map(|s| json!({"approvers": s.approvers, "quorum": s.quorum,
                        "timeout": s.timeout.map(human_duration), "on_timeout": s.on_timeout})).collect::<Vec<_>>(),
                    "owners": owners(e),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for e in &engine.catalog().entries {
        let routes: Vec<&str> = e.routes.iter().map(|r| r.as_str()).collect();
        writeln!(out, "{}  ({}; route {})", e.name, e.target, routes.join(" + "))?;
        if !e.description.is_empty() {
            writeln!(out, "    {}", s(&e.description))?;
        }
        let steps: Vec<String> = e
            .approval
            .iter()
            .map(|st| match &st.approvers {
                ApproverRule::GroupOwner | ApproverRule::AppOwner => {
                    format!("{} ({})", st.approvers, owners(e).join(", "))
                }
                other => other.to_string(),
            })
            .collect();
        writeln!(
            out,
            "    approval: {}",
            if steps.is_empty() { "in Okta Identity Governance".into() } else { steps.join(" → ") }
        )?;
        writeln!(
            out,
            "    for: {}; at most {}; justification {}",
            if e.requestable_by.is_empty() { "everyone".to_string() } else { e.requestable_by.join(", ") },
            e.max_duration.map(human_duration).unwrap_or_else(|| "permanent".into()),
            if e.justification_required { "required" } else { "optional" }
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

// ----- request -------------------------------------------------------------------------------

/// Options of `grantdesk request`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["group", "app", "entry"])))]
pub struct RequestArgs {
    /// The ticket the request is raised from; its caller is who the access is for by default.
    #[arg(long, value_name = "NUMBER")]
    pub ticket: Option<String>,
    /// Who the access is for (Okta login), if not the ticket's caller.
    #[arg(long = "for", value_name = "LOGIN")]
    pub for_login: Option<String>,
    /// An Okta group from the catalog.
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// An Okta app from the catalog.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,
    /// A catalog entry by name.
    #[arg(long, value_name = "NAME")]
    pub entry: Option<String>,
    /// Why the access is needed.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub justification: String,
    /// How long (e.g. 8h, 3days); default: the entry's maximum, or permanent.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Show what would be requested and who would be asked, without raising it.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn request(args: RequestArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let engine = connect(globals).await?;
    let entry = args.entry.clone().or(args.group.clone()).or(args.app.clone()).unwrap_or_default();
    if args.ticket.is_none() && args.for_login.is_none() {
        anyhow::bail!("say who the access is for: --ticket NUMBER (its caller) or --for LOGIN");
    }
    let new = NewRequest {
        entry,
        requested_for: args.for_login.clone(),
        ticket: args.ticket.as_ref().map(|t| t.trim().to_ascii_uppercase()),
        justification: args.justification.clone(),
        duration: args.duration,
    };
    let (preview, _) = engine.preview_request(&new).await.map_err(into_exit)?;
    let mut out = std::io::stdout().lock();
    if !args.json {
        writeln!(out, "{} for {}", preview.entry.name, s(&preview.requested_for))?;
        writeln!(out, "  would grant: {}", preview.grants.join(", "))?;
        for (i, (step, who)) in preview.entry.approval.iter().zip(&preview.approvers).enumerate() {
            writeln!(
                out,
                "  step {}: {} — {}",
                i + 1,
                step.approvers,
                if who.is_empty() { "(nobody)".into() } else { who.join(", ") }
            )?;
        }
    }
    if args.dry_run {
        if args.json {
            writeln!(
                out,
                "{}",
                json!({"entry": preview.entry.name, "requested_for": preview.requested_for,
                "grants": preview.grants, "approvers": preview.approvers})
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let raised = engine.raise_request(&new).await.map_err(into_exit)?;
    // Apply the route work now (ServiceNow record, OIG request), so it is there when we return.
    let finished = engine.drain().await?;
    let stored = engine.store().access_request(&raised.id).await?.map(|s| s.request).unwrap_or(raised);
    if args.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({"request": stored, "route_work": finished_json(&finished)}))?
        )?;
    } else {
        writeln!(out, "raised {} ({})", stored.id, stored.status)?;
        for f in &finished {
            match &f.result {
                Ok(m) => writeln!(out, "  {}", s(m))?,
                Err(e) => writeln!(out, "  could not {}: {}", f.description, s(e))?,
            }
        }
        if stored.runs_own_sequence() {
            writeln!(out, "  waiting on: {}", stored.current_approvers().join(", "))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn finished_json(f: &[Finished]) -> serde_json::Value {
    serde_json::Value::Array(
        f.iter()
            .map(|f| match &f.result {
                Ok(m) => json!({"id": f.id, "what": f.description, "ok": true, "result": m}),
                Err(e) => json!({"id": f.id, "what": f.description, "ok": false, "error": e}),
            })
            .collect(),
    )
}

// ----- requests ------------------------------------------------------------------------------

/// Options of `grantdesk requests`.
#[derive(Debug, clap::Args)]
pub struct RequestsArgs {
    /// Only requests still waiting for a decision.
    #[arg(long)]
    pub pending: bool,
    /// Only requests you may decide now (your approvals inbox).
    #[arg(long)]
    pub mine: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn age(r: &AccessRequest) -> String {
    let d = chrono::Utc::now().signed_duration_since(r.created_at);
    if d.num_days() > 0 {
        format!("{}d", d.num_days())
    } else if d.num_hours() > 0 {
        format!("{}h", d.num_hours())
    } else {
        format!("{}m", d.num_minutes().max(0))
    }
}

/// What approving would grant, per target (cached per run).
async fn blast_radius(engine: &Engine, cache: &mut HashMap<String, Vec<String>>, r: &AccessRequest) -> Vec<String> {
    let key = r.target.to_string();
    if let Some(v) = cache.get(&key) {
        return v.clone();
    }
    let v = match (&r.target, engine.okta()) {
        (Target::Group(g), Ok(okta)) => match crate::engine::directory::group_by_name(okta, g).await {
            Ok(Some(group)) => {
                let apps: Vec<String> =
                    okta.group_apps(&group.id).filter_map(|a| async move { a.ok().map(|a| a.label) }).collect().await;
                apps
            }
            _ => Vec::new(),
        },
        (Target::App(a), _) => vec![a.clone()],
        _ => Vec::new(),
    };
    cache.insert(key, v.clone());
    v
}

pub(super) async fn requests(args: RequestsArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let engine = connect(globals).await?;
    let list = if args.mine {
        engine.my_inbox().await?
    } else {
        let statuses = if args.pending { vec![RequestStatus::Pending] } else { Vec::new() };
        engine.store().access_requests(&RequestFilter { statuses, ..Default::default() }).await?
    };
    let mut radius = HashMap::new();
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = Vec::new();
        for r in &list {
            let grants = blast_radius(&engine, &mut radius, r).await;
            v.push(json!({"request": r, "age": age(r), "step": r.current_step + 1, "steps": r.steps.len(),
                          "waiting_on": r.current_approvers(), "grants": grants}));
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        writeln!(out, "{}", if args.mine { "nothing waits for your decision" } else { "no access requests" })?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:<12} {:<10} {:<20} {:<30} {:<28} {:>4} {:<11} {:<5}",
        "ID", "STATUS", "ENTRY", "FOR", "BY", "AGE", "TICKET", "STEP"
    )?;
    for r in &list {
        let grants = blast_radius(&engine, &mut radius, r).await;
        writeln!(
            out,
            "{:<12} {:<10} {:<20} {:<30} {:<28} {:>4} {:<11} {:<5}",
            r.id,
            r.status.as_str(),
            s(&r.entry),
            s(&r.requested_for),
            s(&r.requested_by),
            age(r),
            r.ticket.as_deref().unwrap_or("-"),
            format!("{}/{}", (r.current_step + 1).min(r.steps.len().max(1)), r.steps.len())
        )?;
        writeln!(out, "    why: {}", s(&r.justification))?;
        if !grants.is_empty() {
            writeln!(out, "    grants: {}", grants.iter().map(|g| s(g)).collect::<Vec<_>>().join(", "))?;
        }
        if r.status == RequestStatus::Pending && r.runs_own_sequence() {
            writeln!(out, "    waiting on: {}", r.current_approvers().join(", "))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ----- approve / deny ------------------------------------------------------------------------

/// What deciding many requests at once did.
pub(super) struct BulkDecision {
    /// Each request's decision, with the follow-ups settled right after it (fulfilment, records).
    pub results: Vec<(String, Result<Finished, EngineError>, Vec<Finished>)>,
    /// Every follow-up, those settled with their decision and those drained at the end.
    pub follow_ups: Vec<Finished>,
    /// Why the System Log could not prove the grants yet, if it could not.
    pub proof_error: Option<EngineError>,
}

/// Decides `ids` with one comment, `concurrency` at a time: what `grantdesk approve|deny` does
/// once it knows which requests (and what `grantdesk bench` times).
pub(super) async fn decide_in_bulk(
    engine: &Engine,
    ids: &[String],
    verdict: Verdict,
    comment: &str,
    concurrency: usize,
) -> Result<BulkDecision, EngineError> {
    let batch = (ids.len() > 1).then(|| format!("batch-{}", uuid::Uuid::new_v4().simple()));
    // Two stages: decisions as fast as the store takes them, and each decided request settled
    // (fulfilled, recorded) as soon as its decision is made, in its own lanes — so while the
    // fulfilments wait for Okta's rate-limit window (the clients pace them), the next decisions are
    // already being made, and when the window turns the fulfilments go out at once. The work of
    // one request never runs twice at once: it is settled once, after its decision.
    let lanes = concurrency.max(1);
    let (decided_tx, decided_rx) = futures::channel::mpsc::unbounded::<String>();
    let deciding = async move {
        let results: Vec<(String, Result<Finished, EngineError>)> = futures::stream::iter(ids.iter().cloned())
            .map(|id| {
                let (batch, decided_tx) = (batch.clone(), decided_tx.clone());
                async move {
                    let r = engine.decide(&id, verdict, comment, batch).await;
                    if matches!(&r, Ok(f) if f.result.is_ok()) {
                        let _ = decided_tx.unbounded_send(id.clone());
                    }
                    (id, r)
                }
            })
            .buffered(lanes)
            .collect()
            .await;
        // The last sender gone, the settling stream ends once it has settled what was sent.
        drop(decided_tx);
        results
    };
    let settling = decided_rx
        .map(|id| async move {
            let follow = engine.settle(&id).await.unwrap_or_default();
            (id, follow)
        })
        .buffer_unordered(lanes)
        .collect::<std::collections::HashMap<String, Vec<Finished>>>();
    let (decided, mut settled) = tokio::join!(deciding, settling);
    let results: Vec<(String, Result<Finished, EngineError>, Vec<Finished>)> = decided
        .into_iter()
        .map(|(id, r)| {
            let follow = settled.remove(&id).unwrap_or_default();
            (id, r, follow)
        })
        .collect();
    // Whatever else the decisions queued, then the System Log events proving the grants.
    let mut follow_ups: Vec<Finished> = results.iter().flat_map(|(_, _, f)| f.iter().cloned()).collect();
    follow_ups.extend(engine.drain().await?);
    let proof_error = engine.prove_grants().await.err();
    Ok(BulkDecision { results, follow_ups, proof_error })
}

/// Options of `grantdesk approve` and `grantdesk deny`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["ids", "all_pending"])))]
pub struct DecideArgs {
    /// Request ids (AR-…).
    pub ids: Vec<String>,
    /// Every request waiting for your decision (optionally narrowed by --filter).
    #[arg(long)]
    pub all_pending: bool,
    /// With --all-pending: only requests whose entry, person, ticket or id contains TEXT.
    #[arg(long, value_name = "TEXT", requires = "all_pending")]
    pub filter: Option<String>,
    /// The comment recorded with each decision.
    #[arg(long, value_name = "TEXT")]
    pub comment: String,
    /// Show what would be decided, without deciding.
    #[arg(long)]
    pub dry_run: bool,
    /// How many decisions to apply at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
    /// Print JSON lines, one per request.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn decide(args: DecideArgs, verdict: Verdict, globals: &Globals) -> anyhow::Result<ExitCode> {
    let engine = connect(globals).await?;
    // A run killed mid-bulk left commands in flight: resume them now (each checks the remote state
    // first), so nothing waits for a lease when the process that held them is gone.
    let resumed = engine.recover_abandoned(crate::engine::IN_FLIGHT_LEASE).await?;
    if resumed > 0 {
        eprintln!("resuming {resumed} action(s) left unfinished by a stopped run");
    }
    let verb = if verdict == Verdict::Approve { "approve" } else { "deny" };
    let ids: Vec<String> = if args.all_pending {
        let needle = args.filter.as_deref().map(str::to_ascii_lowercase);
        engine
            .my_inbox()
            .await?
            .into_iter()
            .filter(|r| {
                needle.as_deref().is_none_or(|n| {
                    [r.id.as_str(), r.entry.as_str(), r.requested_for.as_str(), r.ticket.as_deref().unwrap_or("")]
                        .iter()
                        .any(|f| f.to_ascii_lowercase().contains(n))
                })
            })
            .map(|r| r.id)
            .collect()
    } else {
        args.ids.iter().map(|i| i.trim().to_ascii_uppercase()).collect()
    };
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        if ids.is_empty() {
            writeln!(out, "nothing to {verb}")?;
        } else {
            writeln!(out, "would {verb} {} request(s):", ids.len())?;
            for id in &ids {
                writeln!(out, "  {id}")?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if ids.is_empty() {
        // Nothing new to decide, but a stopped run may have left work queued: finish it.
        let follow_ups = engine.drain().await?;
        let _ = engine.prove_grants().await;
        let mut out = std::io::stdout().lock();
        print_follow_ups(&mut out, &follow_ups)?;
        writeln!(out, "nothing to {verb}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let BulkDecision { results, follow_ups, proof_error } =
        decide_in_bulk(&engine, &ids, verdict, &args.comment, usize::from(args.concurrency)).await?;
    if let Some(e) = proof_error {
        eprintln!("could not read the Okta System Log to prove the grants yet ({e}); `grantdesk worker` will");
    }
    let mut out = std::io::stdout().lock();
    let (mut ok, mut refused, mut failed) = (0, 0, 0);
    for (id, r, _) in &results {
        let (status, text) = match r {
            Ok(f) => match &f.result {
                Ok(m) => {
                    ok += 1;
                    ("ok", m.clone())
                }
                Err(e)
                    if e.contains("separation of duties")
                        || e.contains("already ")
                        || e.contains("not an approver") =>
                {
                    refused += 1;
                    ("refused", e.clone())
                }
                Err(e) => {
                    failed += 1;
                    ("failed", e.clone())
                }
            },
            Err(EngineError::Refused(m)) => {
                refused += 1;
                ("refused", m.clone())
            }
            Err(e) => {
                failed += 1;
                ("failed", e.to_string())
            }
        };
        if args.json {
            writeln!(out, "{}", json!({"id": id, "status": status, "message": text}))?;
        } else {
            writeln!(out, "{id:<12} {status:<8} {}", s(&text))?;
        }
    }
    let follow_failed = follow_ups.iter().filter(|f| f.result.is_err()).count();
    if !args.json {
        print_follow_ups(&mut out, &follow_ups)?;
        writeln!(out, "{ok} {verb}d, {refused} refused, {failed} failed")?;
    }
    if follow_failed > 0 && failed == 0 {
        anyhow::bail!(
            "{follow_failed} follow-up action(s) failed (listed above); `grantdesk worker --once` retries what can be retried"
        );
    }
    if failed > 0 {
        anyhow::bail!("{failed} decision(s) failed; run the same command again to retry them");
    }
    if refused > 0 {
        return Err(PolicyRefusal(format!("{refused} decision(s) refused by policy")).into());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_follow_ups(out: &mut impl std::io::Write, follow_ups: &[Finished]) -> std::io::Result<()> {
    for f in follow_ups {
        match &f.result {
            Ok(m) => writeln!(out, "  {}", s(m))?,
            Err(e) => writeln!(out, "  could not {}: {}", f.description, s(e))?,
        }
    }
    Ok(())
}

// ----- worker --------------------------------------------------------------------------------

/// Options of `grantdesk worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// How often to look at timeouts, expiries and OIG requests.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Do one round and exit (for cron).
    #[arg(long)]
    pub once: bool,
}

/// One round of the worker: pending commands, step timeouts, expiring grants, OIG requests, the
/// System Log events proving recent grants, and OIG requests ServiceNow has no record of (the
/// bridge of pattern D, from the cached System Log).
pub async fn worker_round(engine: &Engine) -> anyhow::Result<(usize, Vec<Finished>)> {
    let changed = engine.tick_requests(chrono::Utc::now()).await?;
    let tracked = if engine.okta().is_ok() { crate::engine::routes::oig::track(engine).await.unwrap_or(0) } else { 0 };
    let bridged = match crate::engine::routes::bridge::queue(engine, false).await {
        Ok(b) => b.len(),
        Err(e) => {
            tracing::warn!("bridge: {e}");
            0
        }
    };
    let finished = engine.drain().await?;
    let proved = if engine.okta().is_ok() { engine.prove_grants().await.unwrap_or(0) } else { 0 };
    Ok((changed + tracked + bridged + proved, finished))
}

pub(super) async fn worker(args: WorkerArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let engine = connect(globals).await?;
    let resumed = engine.recover_abandoned(crate::engine::IN_FLIGHT_LEASE).await?;
    if resumed > 0 {
        eprintln!("resumed {resumed} command(s) left in flight by a stopped process");
    }
    loop {
        let (changed, finished) = worker_round(&engine).await?;
        for f in &finished {
            match &f.result {
                Ok(m) => eprintln!("{}", s(m)),
                Err(e) => eprintln!("could not {}: {}", f.description, s(e)),
            }
        }
        if changed > 0 {
            eprintln!("{changed} request(s) changed (timeouts, expiries, OIG, grant proofs, ServiceNow records)");
        }
        if args.once {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            _ = tokio::time::sleep(args.interval) => {}
        }
    }
}

// ----- bridge --------------------------------------------------------------------------------

/// Options of `grantdesk bridge`.
#[derive(Debug, clap::Args)]
pub struct BridgeArgs {
    /// List what would be recorded, without recording it.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON (an array of the OIG requests found).
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn bridge(args: BridgeArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let engine = connect(globals).await?;
    if engine.store().watermark(crate::store::source::OKTA_LOGS).await?.is_none() {
        anyhow::bail!("no Okta System Log in the store yet: run `grantdesk sync` first");
    }
    if engine.catalog().entries.is_empty() {
        anyhow::bail!(
            "the access catalog is empty: define [[catalog.entry]] in the config (or GRANTDESK_CATALOG=demo against the emulator)"
        );
    }
    let found = crate::engine::routes::bridge::queue(&engine, args.dry_run).await.map_err(into_exit)?;
    let finished = if args.dry_run { Vec::new() } else { engine.drain().await? };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&json!({"found": found, "done": finished_json(&finished)}))?)?;
    } else if found.is_empty() {
        writeln!(out, "every Okta access request in the cached System Log has a ServiceNow record")?;
    } else {
        let verb = if args.dry_run { "would record" } else { "recording" };
        writeln!(out, "{verb} {} Okta access request(s) in ServiceNow:", found.len())?;
        for f in &found {
            writeln!(
                out,
                "  {:<24} {:<20} {:<36} {}",
                s(&f.oig_request),
                s(&f.entry),
                s(&f.user),
                if f.approved { "approved" } else { "denied" }
            )?;
        }
        print_follow_ups(&mut out, &finished)?;
    }
    let failed = finished.iter().filter(|f| f.result.is_err()).count();
    if failed > 0 {
        anyhow::bail!("{failed} record(s) could not be written; run the same command again to retry");
    }
    Ok(ExitCode::SUCCESS)
}

// ----- orphans -------------------------------------------------------------------------------

/// Options of `grantdesk orphans`.
#[derive(Debug, clap::Args)]
pub struct OrphansArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A member of a catalog group with no approved request on record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Orphan {
    /// Okta login.
    pub user: String,
    /// The catalog entry.
    pub entry: String,
    /// The group.
    pub group: String,
    /// When the membership appeared in the System Log, if it did.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Who added them, per the System Log.
    pub added_by: String,
    /// What to do about it.
    pub suggested: Vec<String>,
}

/// Members of catalog groups whose access no approved request explains, from the store.
pub async fn find_orphans(engine: &Engine) -> anyhow::Result<Vec<Orphan>> {
    use crate::store::{GrantChange, HistoryTarget};
    let mut out = Vec::new();
    for e in &engine.catalog().entries {
        let Target::Group(g) = &e.target else { continue };
        let h = engine.store().grant_history(&HistoryTarget::Group(g.clone()), chrono::Utc::now()).await?;
        let mut members: Vec<String> = h.unexplained.clone();
        let backed = |u: &str| {
            h.entries.iter().any(|x| {
                x.change == GrantChange::Grant
                    && x.user.eq_ignore_ascii_case(u)
                    && (!x.ticket.is_empty() || !x.approved_by.is_empty() || x.by.contains("Access Request"))
            })
        };
        // Members whose only grant was made outside any request.
        if let Some(detail) = engine.store().group(g, u32::MAX).await? {
            for m in detail.members {
                if !backed(&m.login) && !members.iter().any(|x| x.eq_ignore_ascii_case(&m.login)) {
                    members.push(m.login.clone());
                }
            }
        }
        for u in members {
            if backed(&u) {
                continue;
            }
            let last =
                h.entries.iter().rev().find(|x| x.change == GrantChange::Grant && x.user.eq_ignore_ascii_case(&u));
            out.push(Orphan {
                user: u.clone(),
                entry: e.name.clone(),
                group: g.clone(),
                since: last.map(|x| x.when),
                added_by: last.map(|x| x.by.clone()).unwrap_or_default(),
                suggested: vec![
                    format!("grantdesk request --for {u} --group {g} --justification \"retroactive: …\""),
                    format!("remove {u} from {g} in Okta"),
                ],
            });
        }
    }
    Ok(out)
}

pub(super) async fn orphans(args: OrphansArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let engine = connect(globals).await?;
    if engine.store().watermark(crate::store::source::OKTA_MEMBERSHIPS).await?.is_none() {
        anyhow::bail!("no Okta memberships in the store yet: run `grantdesk sync` first");
    }
    let list = find_orphans(&engine).await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        writeln!(out, "every member of a catalog group has an approved request on record")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "{} member(s) of catalog groups with no approved request on record:", list.len())?;
    for o in &list {
        let since = o.since.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "unknown".into());
        let by = if o.added_by.is_empty() { "unknown" } else { &o.added_by };
        writeln!(out, "  {:<36} {:<20} since {since}, added by {}", s(&o.user), o.group, s(by))?;
        for sug in &o.suggested {
            writeln!(out, "      → {}", s(sug))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
