//! Orchestration: every change an operator makes is a [`Command`], written durably to the
//! outbox together with its audit intent, then applied by the worker through the clients — after
//! checking the remote state, so an action interrupted by a crash or a dropped connection is never
//! applied twice — and completed together with its audit outcome in one transaction.

pub mod access;
pub mod apply;
pub mod command;
pub mod directory;
pub mod extend;
pub mod routes;
pub mod sync;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::config::Config;
use crate::domain::audit::{AuditEvent, Outcome};
use crate::domain::catalog::Catalog;
use crate::okta::OktaClient;
use crate::servicenow::ServiceNowClient;
use crate::store::{Command as OutboxCommand, CommandStatus, Enqueued, NewCommand, Store, StoreError};

pub use apply::{Applied, ApplyError};
pub use command::{Command, TicketRef, UserRef};

/// How many times one run tries a command that fails transiently (throttled, a 5xx, a dropped
/// connection) before it gives up on it *for now*: the command stays queued, with the error, for
/// the next run or the worker to retry — a transient failure never ends a command for good, or
/// an outage longer than the backoff would leave approved requests that are never granted.
pub const MAX_ATTEMPTS: u32 = 6;

/// A command left in flight longer than this by a process on another host is considered abandoned,
/// and is resumed (with a remote-state check) by the next worker. On this host a dead claimant is
/// recognised at once (see [`claimant_is_gone`]) and no lease is waited out.
pub const IN_FLIGHT_LEASE: Duration = Duration::from_secs(60);

/// Whether the process that claimed a command (`host:pid:start`, as [`crate::store::claimant`]
/// records it) is known to be gone: it ran on this host, and no live process has that pid and
/// start time. Unknown formats, other hosts and systems without `/proc` are never "gone": for
/// them only the lease tells.
pub fn claimant_is_gone(claimed_by: &str) -> bool {
    let mut parts = claimed_by.rsplitn(3, ':');
    let (Some(start), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else { return false };
    let Ok(pid) = pid.parse::<u32>() else { return false };
    if start.is_empty()
        || host != crate::store::this_host()
        || crate::store::process_start(std::process::id()).is_none()
    {
        return false;
    }
    crate::store::process_start(pid).as_deref() != Some(start)
}

/// Who is operating: the ServiceNow account the console signs in with, joined to the Okta user
/// with the same email. Every audit event names `user_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// ServiceNow `user_name` (`dana.desk`).
    pub user_name: String,
    /// ServiceNow sys_id, once known.
    pub sys_id: String,
    /// Email, which is the Okta login (`dana.desk@example.com`).
    pub login: String,
    /// Display name.
    pub name: String,
}

/// Errors the engine reports to the CLI and console.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Refused by policy (read-only mode, separation of duties…): CLI exit code 3.
    #[error("{0}")]
    Refused(String),
    /// A service is not configured.
    #[error("{0}")]
    NotConfigured(String),
    /// Something remote failed; the message says what and what to do.
    #[error("{0}")]
    Remote(String),
    /// The operator's input cannot be used (the message says what is expected).
    #[error("{0}")]
    Invalid(String),
}

/// What happened to one command.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// Outbox id.
    pub id: i64,
    /// Idempotency key.
    pub key: String,
    /// What it was.
    pub description: String,
    /// Done, or why not.
    pub result: Result<String, String>,
}

/// Notifications for front ends (the console shows them; the CLI waits on them).
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// A command finished (done or failed for good), or this run gave up on it for now after
    /// [`MAX_ATTEMPTS`] transient failures (it stays queued; `result` says so).
    CommandFinished(Finished),
    /// A command failed transiently and will be retried.
    CommandRetrying {
        /// Outbox id.
        id: i64,
        /// Why.
        error: String,
    },
}

/// The engine: the store, the clients and the operator.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    servicenow: Option<ServiceNowClient>,
    okta: Option<OktaClient>,
    operator: Operator,
    read_only: bool,
    catalog: Catalog,
    events: broadcast::Sender<EngineEvent>,
    wake: tokio::sync::Notify,
    /// Outbox ids this engine is applying right now: never "abandoned", whatever their age.
    active: std::sync::Mutex<std::collections::HashSet<i64>>,
}

/// Marks a command as being applied by this engine for as long as it lives.
struct Applying<'a> {
    engine: &'a Inner,
    id: i64,
}

impl<'a> Applying<'a> {
    fn new(engine: &'a Inner, id: i64) -> Self {
        engine.active.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
        Applying { engine, id }
    }
}

impl Drop for Applying<'_> {
    fn drop(&mut self) {
        self.engine.active.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

/// Everything an [`Engine`] is built from.
pub struct EngineParts {
    /// The store.
    pub store: Store,
    /// ServiceNow client, if configured.
    pub servicenow: Option<ServiceNowClient>,
    /// Okta client, if configured.
    pub okta: Option<OktaClient>,
    /// Who operates.
    pub operator: Operator,
    /// Refuse every change.
    pub read_only: bool,
    /// The access catalog.
    pub catalog: Catalog,
}

impl Engine {
    /// An engine over already built parts.
    pub fn new(parts: EngineParts) -> Engine {
        let (events, _) = broadcast::channel(1024);
        Engine {
            inner: Arc::new(Inner {
                store: parts.store,
                servicenow: parts.servicenow,
                okta: parts.okta,
                operator: parts.operator,
                read_only: parts.read_only,
                catalog: parts.catalog,
                events,
                wake: tokio::sync::Notify::new(),
                active: Default::default(),
            }),
        }
    }

    /// Opens the store and builds the clients from the configuration, and asks ServiceNow who
    /// the operator is.
    pub async fn connect(cfg: &Config, read_only: bool) -> anyhow::Result<Engine> {
        use anyhow::Context as _;
        let location = cfg.db_location().ok_or_else(|| {
            anyhow::anyhow!("no store location: set --db or GRANTDESK_DB (no home folder to put the default in)")
        })?;
        let store = Store::open(&location).await?;
        let sn_cfg = cfg.servicenow()?;
        let servicenow = ServiceNowClient::new(&sn_cfg)?;
        let okta = match cfg.okta() {
            Ok(o) => Some(OktaClient::new(&o)?),
            Err(_) if cfg.okta.url.is_none() => None,
            Err(e) => return Err(e.into()),
        };
        let me = servicenow.current_user().await.context("asking ServiceNow who the operator is")?;
        let operator = Operator { user_name: me.user_name, sys_id: me.sys_id, login: me.email, name: me.name };
        let catalog = load_catalog(cfg)?;
        Ok(Engine::new(EngineParts { store, servicenow: Some(servicenow), okta, operator, read_only, catalog }))
    }

    /// The same engine (store, Okta client, catalog) operated by someone else, signed in to
    /// ServiceNow with `servicenow` — how `grantdesk demo` lets one console take another
    /// persona's seat (`:as USER`). The outbox and audit log are shared, so each action still
    /// names who took it.
    pub fn as_operator(&self, servicenow: ServiceNowClient, operator: Operator) -> Engine {
        Engine::new(EngineParts {
            store: self.inner.store.clone(),
            servicenow: Some(servicenow),
            okta: self.inner.okta.clone(),
            operator,
            read_only: self.inner.read_only,
            catalog: self.inner.catalog.clone(),
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The ServiceNow client, or an error saying how to configure one.
    pub fn servicenow(&self) -> Result<&ServiceNowClient, EngineError> {
        self.inner.servicenow.as_ref().ok_or_else(|| {
            EngineError::NotConfigured(
                "ServiceNow is not configured: set servicenow.url (GRANTDESK_SERVICENOW_URL)".into(),
            )
        })
    }

    /// The Okta client, or an error saying how to configure one.
    pub fn okta(&self) -> Result<&OktaClient, EngineError> {
        self.inner.okta.as_ref().ok_or_else(|| {
            EngineError::NotConfigured("Okta is not configured: set okta.url (GRANTDESK_OKTA_URL)".into())
        })
    }

    /// Who operates.
    pub fn operator(&self) -> &Operator {
        &self.inner.operator
    }

    /// Whether changes are refused.
    pub fn read_only(&self) -> bool {
        self.inner.read_only
    }

    /// The access catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// Subscribes to command outcomes.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// The audit intent of `command` by the operator: who it concerns (the Okta user), what
    /// (the group, app or ticket), on which ticket.
    async fn intent(&self, command: &Command) -> AuditEvent {
        let mut e = AuditEvent::new(self.inner.operator.user_name.clone(), command.audit_action(), Outcome::Intent);
        if let Some(t) = command.ticket() {
            e.object = t.number.clone();
            e.ticket = t.number.clone();
        }
        if let Some(u) = command.user() {
            e.subject = u.login.clone();
        }
        if let Command::BridgeOktaRequest { seen } = command {
            e.subject = seen.user.clone();
            e.object = seen.target.name().to_string();
        }
        if let Some(id) = command.request_id()
            && let Ok(Some(s)) = self.inner.store.access_request(id).await
        {
            e.subject = s.request.requested_for.clone();
            e.object = s.request.target.name().to_string();
            e.ticket = s.request.ticket.clone().unwrap_or_default();
        }
        e.details = apply::intent_details(command);
        e
    }

    /// Writes `command` to the outbox with its audit intent. `key` makes it idempotent (a repeat
    /// of the same key returns the first command); `None` makes a fresh key. Read-only mode
    /// refuses every command, and the refusal is audited.
    pub async fn submit(&self, command: &Command, key: Option<String>) -> Result<OutboxCommand, EngineError> {
        if self.inner.read_only {
            let mut e = self.intent(command).await;
            e.outcome = Outcome::Refused;
            e.details["reason"] = Value::String("read-only mode".into());
            self.inner.store.append_audit(&e).await?;
            return Err(EngineError::Refused(format!("read-only mode: cannot {}", command.describe())));
        }
        let payload =
            serde_json::to_value(command).map_err(|e| EngineError::Remote(format!("encoding a command: {e}")))?;
        let new = NewCommand {
            kind: command.kind().to_string(),
            payload,
            idempotency_key: key.unwrap_or_else(|| format!("{}:{}", command.kind(), uuid::Uuid::new_v4())),
            intent: self.intent(command).await,
        };
        let c = match self.inner.store.enqueue(&new).await? {
            Enqueued::New(c) | Enqueued::Existing(c) => c,
        };
        self.inner.wake.notify_one();
        Ok(c)
    }

    /// Submits `command` and applies it now, returning its outcome (the CLI's path).
    pub async fn run(&self, command: &Command, key: Option<String>) -> Result<Finished, EngineError> {
        let c = self.submit(command, key).await?;
        self.run_queued(c).await
    }

    /// Applies an already queued command now and returns its outcome.
    pub async fn run_queued(&self, c: OutboxCommand) -> Result<Finished, EngineError> {
        match c.status {
            CommandStatus::Done | CommandStatus::Failed => return Ok(self.finished_of(&c)),
            CommandStatus::InFlight => {
                return Err(EngineError::Remote(format!(
                    "this action is already being applied (outbox command {}); check again in a moment",
                    c.id
                )));
            }
            CommandStatus::Pending => {}
        }
        let mut tries = 0;
        loop {
            let claimed = match self.inner.store.claim(c.id).await {
                Ok(cl) => cl,
                Err(StoreError::CommandState { .. }) => {
                    // Another worker took it; wait for its outcome.
                    return self.wait_for(c.id).await;
                }
                Err(e) => return Err(e.into()),
            };
            tries += 1;
            match self.process(claimed, tries).await? {
                Processed::Finished(f) | Processed::GaveUp(f) => return Ok(f),
                Processed::Retry => tokio::time::sleep(backoff(tries)).await,
            }
        }
    }

    async fn wait_for(&self, id: i64) -> Result<Finished, EngineError> {
        let mut rx = self.subscribe();
        loop {
            if let Some(c) = self.inner.store.command(id).await?
                && matches!(c.status, CommandStatus::Done | CommandStatus::Failed)
            {
                return Ok(self.finished_of(&c));
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
        }
    }

    fn finished_of(&self, c: &OutboxCommand) -> Finished {
        let description = serde_json::from_value::<Command>(c.payload.clone())
            .map(|cmd| cmd.describe())
            .unwrap_or_else(|_| c.kind.clone());
        Finished {
            id: c.id,
            key: c.idempotency_key.clone(),
            description,
            result: if c.status == CommandStatus::Done { Ok("done".into()) } else { Err(c.last_error.clone()) },
        }
    }

    /// Applies one claimed command — the `tries`-th time in this run — and completes it, or
    /// releases it after a transient failure.
    async fn process(&self, c: OutboxCommand, tries: u32) -> Result<Processed, EngineError> {
        let _applying = Applying::new(&self.inner, c.id);
        let command: Command = match serde_json::from_value(c.payload.clone()) {
            Ok(cmd) => cmd,
            Err(e) => {
                let mut out = AuditEvent::new(c.operator.clone(), c.kind.clone(), Outcome::Failure);
                out.details = json!({"error": format!("unreadable command payload: {e}")});
                let (done, _) = self.inner.store.complete(c.id, &out).await?;
                let f = self.finished_of(&done);
                let _ = self.inner.events.send(EngineEvent::CommandFinished(f.clone()));
                return Ok(Processed::Finished(f));
            }
        };
        let mut outcome = self.intent(&command).await;
        outcome.operator = c.operator.clone();
        outcome.time = Utc::now();
        let result = apply::apply(self, &command, &c).await;
        match result {
            Ok(applied) => {
                outcome.outcome = Outcome::Success;
                outcome.request_id = applied.request_id.clone().unwrap_or_default();
                merge(&mut outcome.details, applied.details);
                outcome.details["summary"] = Value::String(applied.summary.clone());
                let (done, _) = self.inner.store.complete(c.id, &outcome).await?;
                let mut f = self.finished_of(&done);
                f.result = Ok(applied.summary);
                let _ = self.inner.events.send(EngineEvent::CommandFinished(f.clone()));
                Ok(Processed::Finished(f))
            }
            Err(ApplyError::Transient(msg)) => {
                // Back to pending, with no outcome: it is not finished, and its one outcome is
                // written when it is.
                let released = self.inner.store.release(c.id, &msg).await?;
                if tries < MAX_ATTEMPTS {
                    let _ = self.inner.events.send(EngineEvent::CommandRetrying { id: c.id, error: msg });
                    return Ok(Processed::Retry);
                }
                let mut f = self.finished_of(&released);
                f.result = Err(format!(
                    "{msg} (tried {tries} times; not applied yet — it stays queued: run again, or `grantdesk worker`, to retry)"
                ));
                let _ = self.inner.events.send(EngineEvent::CommandFinished(f.clone()));
                Ok(Processed::GaveUp(f))
            }
            Err(e) => {
                outcome.outcome = if matches!(e, ApplyError::Refused(_)) { Outcome::Refused } else { Outcome::Failure };
                outcome.details["error"] = Value::String(e.to_string());
                let (done, _) = self.inner.store.complete(c.id, &outcome).await?;
                let f = self.finished_of(&done);
                let _ = self.inner.events.send(EngineEvent::CommandFinished(f.clone()));
                Ok(Processed::Finished(f))
            }
        }
    }

    /// Puts commands abandoned in flight by a process that died back to pending, so the worker
    /// re-applies them (each apply checks the remote state first): at once when the claimant ran
    /// on this host and is gone, after `lease` otherwise. Commands this engine is applying are
    /// left alone, however long they take. Returns how many.
    pub async fn recover_abandoned(&self, lease: Duration) -> Result<usize, EngineError> {
        let now = Utc::now();
        let mut n = 0;
        for c in self.inner.store.in_flight_commands().await? {
            if self.inner.active.lock().unwrap_or_else(|e| e.into_inner()).contains(&c.id) {
                continue;
            }
            let claimed = c.claimed_at.unwrap_or(c.updated_at);
            let age = now.signed_duration_since(claimed).to_std().unwrap_or_default();
            if claimant_is_gone(&c.claimed_by) || age >= lease {
                match self.inner.store.release(c.id, "interrupted: resumed after the process applying it stopped").await
                {
                    Ok(_) => n += 1,
                    // Another worker resumed or finished it meanwhile.
                    Err(StoreError::CommandState { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(n)
    }

    /// Applies the work queued for access request `id` (its ServiceNow record, OIG request,
    /// fulfilment or removal), oldest first, until none of it is pending — so a bulk run can fulfil
    /// each request right after deciding it, while the commands of different requests run in
    /// parallel and those of one request never do.
    pub async fn settle(&self, id: &str) -> Result<Vec<Finished>, EngineError> {
        let mut finished = Vec::new();
        // Each command once: one given up on for now stays pending, for the next run.
        let mut tried: std::collections::HashSet<i64> = Default::default();
        loop {
            let Some(stored) = self.inner.store.access_request(id).await? else { break };
            let keys = access::route_keys(id, stored.version);
            let mut next: Option<OutboxCommand> = None;
            for k in &keys {
                if let Some(c) = self.inner.store.command_by_key(k).await?
                    && c.status == CommandStatus::Pending
                    && !tried.contains(&c.id)
                    && next.as_ref().is_none_or(|n| c.id < n.id)
                {
                    next = Some(c);
                }
            }
            let Some(c) = next else { break };
            tried.insert(c.id);
            match self.run_queued(c).await {
                Ok(f) => finished.push(f),
                // Claimed by another worker meanwhile: its outcome is its own to report.
                Err(EngineError::Remote(_)) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(finished)
    }

    /// Applies every pending command, oldest first, until none is left but those it gave up on
    /// for now. Transient failures are retried with backoff, [`MAX_ATTEMPTS`] times a command;
    /// returns the finished (and given-up) commands.
    pub async fn drain(&self) -> Result<Vec<Finished>, EngineError> {
        let mut finished = Vec::new();
        let mut tries: std::collections::HashMap<i64, u32> = Default::default();
        let mut given_up: std::collections::HashSet<i64> = Default::default();
        loop {
            // The oldest pending command not given up on: among the oldest `given_up + 1`.
            let window = u32::try_from(given_up.len() + 1).unwrap_or(u32::MAX);
            let pending = self.inner.store.commands(CommandStatus::Pending, window).await?;
            let Some(next) = pending.into_iter().find(|c| !given_up.contains(&c.id)) else { break };
            let claimed = match self.inner.store.claim(next.id).await {
                Ok(c) => c,
                // Another worker claimed it meanwhile.
                Err(StoreError::CommandState { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let n = tries.entry(claimed.id).or_default();
            *n += 1;
            let n = *n;
            match self.process(claimed, n).await? {
                Processed::Finished(f) => finished.push(f),
                Processed::GaveUp(f) => {
                    given_up.insert(f.id);
                    finished.push(f);
                }
                Processed::Retry => tokio::time::sleep(backoff(n)).await,
            }
        }
        Ok(finished)
    }

    /// The background worker: recovers abandoned commands, then applies pending commands as they
    /// arrive, until `stop` resolves.
    pub async fn work(&self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        if let Err(e) = self.recover_abandoned(IN_FLIGHT_LEASE).await {
            tracing::warn!("recovering abandoned commands: {e}");
        }
        loop {
            if let Err(e) = self.drain().await {
                tracing::warn!("outbox worker: {e}");
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {
                    if let Err(e) = self.recover_abandoned(IN_FLIGHT_LEASE).await {
                        tracing::warn!("recovering abandoned commands: {e}");
                    }
                }
            }
        }
    }
}

/// What [`Engine::process`] did with a command.
enum Processed {
    /// Completed (done or failed for good), with its outcome in the audit log.
    Finished(Finished),
    /// Failed transiently and released: try again after a backoff.
    Retry,
    /// Failed transiently [`MAX_ATTEMPTS`] times in this run: released, still queued.
    GaveUp(Finished),
}

/// The configured catalog: `[catalog]` in the config, or `GRANTDESK_CATALOG` naming a TOML file
/// (or `demo` for the demo world's default catalog); empty when neither is set.
pub fn load_catalog(cfg: &Config) -> anyhow::Result<Catalog> {
    use anyhow::Context as _;
    if let Some(v) = &cfg.catalog {
        return Catalog::from_toml(v).map_err(|e| {
            anyhow::anyhow!("config {}: {e}", cfg.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default())
        });
    }
    match std::env::var("GRANTDESK_CATALOG").ok().filter(|s| !s.is_empty()).as_deref() {
        None => Ok(Catalog::default()),
        Some("demo") => Ok(Catalog::demo()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the catalog {path} (GRANTDESK_CATALOG)"))?;
            let value: toml::Value =
                toml::from_str(&text).with_context(|| format!("catalog {path} is not valid TOML"))?;
            let table = value.get("catalog").cloned().unwrap_or(value);
            Catalog::from_toml(&table).map_err(|e| anyhow::anyhow!("catalog {path}: {e}"))
        }
    }
}

/// Exponential backoff for the `attempt`-th retry, capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(5))).min(Duration::from_secs(8))
}

/// Adds `extra`'s keys to `base` (both JSON objects).
fn merge(base: &mut Value, extra: Value) {
    if let (Value::Object(b), Value::Object(e)) = (base, extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimant_is_gone_only_when_it_ran_here_and_no_longer_runs() {
        let me = crate::store::claimant();
        assert!(!claimant_is_gone(me), "this process is alive: {me}");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = crate::store::process_start(pid);
        child.wait().unwrap();
        let host = crate::store::this_host();
        if let Some(start) = start {
            assert!(claimant_is_gone(&format!("{host}:{pid}:{start}")), "an exited process is gone");
        }
        // Our own pid with another start time: the pid was recycled, the claimant is gone.
        assert!(claimant_is_gone(&format!("{host}:{}:1", std::process::id())));
        // Elsewhere, or unreadable: only the lease can tell.
        assert!(!claimant_is_gone(&format!("another-host:{pid}:1")));
        assert!(!claimant_is_gone(""));
        assert!(!claimant_is_gone(&format!("{host}:notapid:1")));
        assert!(!claimant_is_gone(&format!("{host}:{pid}:")));
    }
}
