//! Orchestration: every change an operator makes is a [`Command`], written durably to the
//! outbox together with its audit intent, then applied by the worker through the clients — after
//! checking the remote state, so an action interrupted by a crash or a dropped connection is never
//! applied twice — and completed together with its audit outcome in one transaction.

pub mod access;
pub mod apply;
pub mod command;
pub mod directory;
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

/// How many times a command is tried before it is given up on (transient failures only).
pub const MAX_ATTEMPTS: u32 = 6;

/// A command left in flight longer than this is considered abandoned by a process that died,
/// and is resumed (with a remote-state check) by the next worker.
pub const IN_FLIGHT_LEASE: Duration = Duration::from_secs(60);

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
    /// A command finished (done or failed for good).
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
        loop {
            let claimed = match self.inner.store.claim(c.id).await {
                Ok(cl) => cl,
                Err(StoreError::CommandState { .. }) => {
                    // Another worker took it; wait for its outcome.
                    return self.wait_for(c.id).await;
                }
                Err(e) => return Err(e.into()),
            };
            match self.process(claimed).await? {
                Some(f) => return Ok(f),
                None => tokio::time::sleep(backoff(c.attempts + 1)).await,
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

    /// Applies one claimed command and completes it. `Ok(None)` means it failed transiently and
    /// was released for a retry.
    async fn process(&self, c: OutboxCommand) -> Result<Option<Finished>, EngineError> {
        let command: Command = match serde_json::from_value(c.payload.clone()) {
            Ok(cmd) => cmd,
            Err(e) => {
                let mut out = AuditEvent::new(c.operator.clone(), c.kind.clone(), Outcome::Failure);
                out.details = json!({"error": format!("unreadable command payload: {e}")});
                let (done, _) = self.inner.store.complete(c.id, &out).await?;
                let f = self.finished_of(&done);
                let _ = self.inner.events.send(EngineEvent::CommandFinished(f.clone()));
                return Ok(Some(f));
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
                Ok(Some(f))
            }
            Err(ApplyError::Transient(msg)) if c.attempts < MAX_ATTEMPTS => {
                self.inner.store.release(c.id, &msg).await?;
                let _ = self.inner.events.send(EngineEvent::CommandRetrying { id: c.id, error: msg });
                Ok(None)
            }
            Err(e) => {
                outcome.outcome = if matches!(e, ApplyError::Refused(_)) { Outcome::Refused } else { Outcome::Failure };
                outcome.details["error"] = Value::String(e.to_string());
                let (done, _) = self.inner.store.complete(c.id, &outcome).await?;
                let f = self.finished_of(&done);
                let _ = self.inner.events.send(EngineEvent::CommandFinished(f.clone()));
                Ok(Some(f))
            }
        }
    }

    /// Puts commands abandoned in flight by a process that died back to pending, so the worker
    /// re-applies them (each apply checks the remote state first). Returns how many.
    pub async fn recover_abandoned(&self, lease: Duration) -> Result<usize, EngineError> {
        let now = Utc::now();
        let mut n = 0;
        for c in self.inner.store.in_flight_commands().await? {
            let claimed = c.claimed_at.unwrap_or(c.updated_at);
            let age = now.signed_duration_since(claimed).to_std().unwrap_or_default();
            if age >= lease {
                self.inner.store.release(c.id, "interrupted: resumed after the process applying it stopped").await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Applies every pending command, oldest first, until none is left. Transient failures are
    /// retried with backoff; returns the finished commands.
    pub async fn drain(&self) -> Result<Vec<Finished>, EngineError> {
        let mut finished = Vec::new();
        while let Some(c) = self.inner.store.claim_next().await? {
            let attempts = c.attempts;
            match self.process(c).await? {
                Some(f) => finished.push(f),
                None => tokio::time::sleep(backoff(attempts)).await,
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
