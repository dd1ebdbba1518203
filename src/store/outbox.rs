//! The outbox: operator actions as durable commands, so the engine applies each exactly once.
//!
//! Life of a command: [`Store::enqueue`] writes it as `pending` together with its audit *intent*
//! (one transaction; the same idempotency key twice returns the first command and writes nothing);
//! [`Store::claim_next`] or [`Store::claim`] mark it `in_flight` and count the attempt;
//! [`Store::complete`] marks it `done` or `failed` together with its audit *outcome* (one
//! transaction); [`Store::release`] puts it back to `pending` after a transient failure. After a
//! crash, [`Store::in_flight_commands`] lists what was being applied, for the engine to check
//! against the remote state and complete or release.
//!
//! Payloads are JSON and are refused if they hold anything that looks like a secret (see
//! [`crate::domain::audit::find_secret`]): a command carries references to what it needs (a user
//! id, a group name), never a password or token.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::audit::append_in_tx;
use super::{QueryContext as _, Store, StoreError, WriteTx, from_us, on_pool, on_tx};
use crate::domain::audit::{AuditEvent, AuditRecord, Outcome, canonical_json, find_secret};

/// Where a command is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandStatus {
    /// Written, not yet picked up.
    Pending,
    /// Being applied (or was, when the process died).
    InFlight,
    /// Applied.
    Done,
    /// Given up on, with the reason in `last_error`.
    Failed,
}

impl CommandStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Pending => "pending",
            CommandStatus::InFlight => "in_flight",
            CommandStatus::Done => "done",
            CommandStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => CommandStatus::Pending,
            "in_flight" => CommandStatus::InFlight,
            "done" => CommandStatus::Done,
            "failed" => CommandStatus::Failed,
            other => return Err(StoreError::Corrupt(format!("unknown outbox status `{other}`"))),
        })
    }
}

impl std::fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A command to enqueue.
#[derive(Debug, Clone)]
pub struct NewCommand {
    /// What to do (`okta.group.add`, `servicenow.work_note`…), for the engine to dispatch on.
    pub kind: String,
    /// Its arguments. Never secrets.
    pub payload: Value,
    /// Unique per intended effect: enqueueing the same key again returns the first command.
    pub idempotency_key: String,
    /// The audit intent written with it. Its operator is the command's operator; its outcome is
    /// forced to `intent`; the command's kind and key are added to its details.
    pub intent: AuditEvent,
}

/// A command as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Outbox id.
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// Its arguments.
    pub payload: Value,
    /// The idempotency key it was enqueued with.
    pub idempotency_key: String,
    /// Where it is in its life.
    pub status: CommandStatus,
    /// How many times it was claimed.
    pub attempts: u32,
    /// The last failure (empty if none).
    pub last_error: String,
    /// Who asked for it.
    pub operator: String,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// Last status change.
    pub updated_at: DateTime<Utc>,
    /// When it was last claimed.
    pub claimed_at: Option<DateTime<Utc>>,
    /// When it was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Audit sequence of its intent.
    pub intent_seq: u64,
    /// Audit sequence of its outcome, once completed.
    pub outcome_seq: Option<u64>,
    /// The process that last claimed it (`host:pid:start`, see [`claimant`]); empty if never.
    pub claimed_by: String,
}

/// What [`Store::enqueue`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Enqueued {
    /// A new command, with its intent in the audit log.
    New(Command),
    /// The key was already used: the existing command, untouched.
    Existing(Command),
}

impl Enqueued {
    /// The command either way.
    pub fn command(&self) -> &Command {
        match self {
            Enqueued::New(c) | Enqueued::Existing(c) => c,
        }
    }
}

macro_rules! outbox_columns {
    () => {
        "id, kind, payload, idempotency_key, status, attempts, last_error, operator, created_us, updated_us, \
         claimed_us, completed_us, intent_seq, outcome_seq, claimed_by"
    };
}

#[derive(sqlx::FromRow)]
struct CommandRow {
    id: i64,
    kind: String,
    payload: String,
    idempotency_key: String,
    status: String,
    attempts: i64,
    last_error: String,
    operator: String,
    created_us: i64,
    updated_us: i64,
    claimed_us: Option<i64>,
    completed_us: Option<i64>,
    intent_seq: i64,
    outcome_seq: Option<i64>,
    claimed_by: String,
}

impl TryFrom<CommandRow> for Command {
    type Error = StoreError;

    fn try_from(r: CommandRow) -> Result<Self, StoreError> {
        Ok(Command {
            id: r.id,
            kind: r.kind,
            payload: serde_json::from_str(&r.payload)
                .map_err(|e| StoreError::Corrupt(format!("outbox command {} has an unreadable payload: {e}", r.id)))?,
            idempotency_key: r.idempotency_key,
            status: CommandStatus::parse(&r.status)?,
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            last_error: r.last_error,
            operator: r.operator,
            created_at: from_us(r.created_us)?,
            updated_at: from_us(r.updated_us)?,
            claimed_at: r.claimed_us.map(from_us).transpose()?,
            completed_at: r.completed_us.map(from_us).transpose()?,
            intent_seq: u64::try_from(r.intent_seq).unwrap_or(0),
            outcome_seq: r.outcome_seq.map(|s| u64::try_from(s).unwrap_or(0)),
            claimed_by: r.claimed_by,
        })
    }
}

/// This process, as recorded on the commands it claims: `host:pid:start`, where `start` is the
/// process's start time (clock ticks since boot on Linux; empty elsewhere). With the start time a
/// recycled pid is not mistaken for the process that claimed a command.
pub fn claimant() -> &'static str {
    static ME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ME.get_or_init(|| {
        let pid = std::process::id();
        format!("{}:{pid}:{}", this_host(), process_start(pid).unwrap_or_default())
    })
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`).
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The start time of a live process (field 22 of `/proc/PID/stat`), `None` when no such process
/// runs (or has exited and awaits its parent) or when `/proc` is not there.
pub fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&"Z") | Some(&"X") | None) {
        return None;
    }
    fields.get(19).map(|s| s.to_string())
}

const BY_KEY: &str = concat!("SELECT ", outbox_columns!(), " FROM outbox WHERE idempotency_key = $1");
const BY_ID: &str = concat!("SELECT ", outbox_columns!(), " FROM outbox WHERE id = $1");

/// `event`'s details with the command's identity added, so the log links intent and outcome.
fn with_command(event: &AuditEvent, outcome: Outcome, kind: &str, key: &str) -> AuditEvent {
    let mut e = event.clone();
    e.outcome = outcome;
    let mut details = match e.details {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => Map::from_iter([("value".to_string(), other)]),
    };
    details.insert("command".into(), json!({"kind": kind, "idempotency_key": key}));
    e.details = Value::Object(details);
    e
}

impl Store {
    /// Writes a command and its audit intent in one transaction. The same idempotency key again
    /// returns the first command without writing anything.
    pub async fn enqueue(&self, command: &NewCommand) -> Result<Enqueued, StoreError> {
        if let Some(found) = find_secret(&command.payload) {
            return Err(found.into());
        }
        let mut tx = self.begin_write().await?;
        // On PostgreSQL, take the audit append lock first so two consoles enqueueing the same key
        // are serialised before either looks the key up.
        lock_chain(&mut tx).await?;
        let existing: Option<CommandRow> = on_tx!(&mut tx, c => sqlx::query_as(BY_KEY)
            .bind(&command.idempotency_key)
            .fetch_optional(c)
            .await
            .ctx("looking up an idempotency key"))?;
        if let Some(row) = existing {
            return Ok(Enqueued::Existing(row.try_into()?));
        }
        let intent = with_command(&command.intent, Outcome::Intent, &command.kind, &command.idempotency_key);
        let record = single(append_in_tx(&mut tx, std::slice::from_ref(&intent)).await?)?;
        let now = super::to_us(Utc::now());
        const INSERT: &str = concat!(
            "INSERT INTO outbox (kind, payload, idempotency_key, status, attempts, last_error, operator, created_us, \
             updated_us, intent_seq) VALUES ($1, $2, $3, 'pending', 0, '', $4, $5, $5, $6) RETURNING ",
            outbox_columns!()
        );
        let row: CommandRow = on_tx!(&mut tx, c => sqlx::query_as(INSERT)
            .bind(&command.kind)
            .bind(canonical_json(&command.payload))
            .bind(&command.idempotency_key)
            .bind(&intent.operator)
            .bind(now)
            .bind(seq_i64(record.seq))
            .fetch_one(c)
            .await
            .ctx("writing an outbox command"))?;
        tx.commit().await?;
        Ok(Enqueued::New(row.try_into()?))
    }

    /// Claims the oldest pending command: marks it in flight and counts the attempt. Concurrent
    /// workers never claim the same command.
    pub async fn claim_next(&self) -> Result<Option<Command>, StoreError> {
        const SQLITE: &str = concat!(
            "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, claimed_us = $1, updated_us = $1, \
             claimed_by = $2 WHERE id = (SELECT id FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1) RETURNING ",
            outbox_columns!()
        );
        const POSTGRES: &str = concat!(
            "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, claimed_us = $1, updated_us = $1, \
             claimed_by = $2 WHERE id = (SELECT id FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1 \
             FOR UPDATE SKIP LOCKED) RETURNING ",
            outbox_columns!()
        );
        let now = super::to_us(Utc::now());
        let row: Option<CommandRow> = match &self.backend {
            super::Backend::Sqlite(p) => sqlx::query_as(SQLITE)
                .bind(now)
                .bind(claimant())
                .fetch_optional(p)
                .await
                .ctx("claiming an outbox command")?,
            super::Backend::Postgres(p) => sqlx::query_as(POSTGRES)
                .bind(now)
                .bind(claimant())
                .fetch_optional(p)
                .await
                .ctx("claiming an outbox command")?,
        };
        row.map(Command::try_from).transpose()
    }

    /// Claims one pending command by id (for work that runs items in parallel, like bulk approval).
    pub async fn claim(&self, id: i64) -> Result<Command, StoreError> {
        const SQL: &str = concat!(
            "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, claimed_us = $1, updated_us = $1, \
             claimed_by = $3 WHERE id = $2 AND status = 'pending' RETURNING ",
            outbox_columns!()
        );
        let now = super::to_us(Utc::now());
        let row: Option<CommandRow> = on_pool!(self, p => sqlx::query_as(SQL).bind(now).bind(id).bind(claimant())
            .fetch_optional(p).await.ctx("claiming an outbox command"))?;
        match row {
            Some(r) => r.try_into(),
            None => Err(self.state_error(id, "pending").await),
        }
    }

    /// Puts an in-flight command back to pending after a transient failure, keeping the error.
    pub async fn release(&self, id: i64, error: &str) -> Result<Command, StoreError> {
        const SQL: &str = concat!(
            "UPDATE outbox SET status = 'pending', last_error = $1, updated_us = $2 \
             WHERE id = $3 AND status = 'in_flight' RETURNING ",
            outbox_columns!()
        );
        let now = super::to_us(Utc::now());
        let row: Option<CommandRow> = on_pool!(self, p => sqlx::query_as(SQL).bind(error).bind(now).bind(id)
            .fetch_optional(p).await.ctx("releasing an outbox command"))?;
        match row {
            Some(r) => r.try_into(),
            None => Err(self.state_error(id, "in_flight").await),
        }
    }

    /// Completes an in-flight command and appends its audit outcome in one transaction. The
    /// outcome decides the status: `success` → done; `failure` or `refused` → failed, with the
    /// `error` (or `reason`) detail as the last error.
    pub async fn complete(&self, id: i64, outcome: &AuditEvent) -> Result<(Command, AuditRecord), StoreError> {
        let status = match outcome.outcome {
            Outcome::Success => CommandStatus::Done,
            Outcome::Failure | Outcome::Refused => CommandStatus::Failed,
            Outcome::Intent => {
                return Err(StoreError::Corrupt("a command is completed with success, failure or refused".into()));
            }
        };
        let mut tx = self.begin_write().await?;
        lock_chain(&mut tx).await?;
        let row: Option<CommandRow> = on_tx!(&mut tx, c => sqlx::query_as(BY_ID).bind(id).fetch_optional(c).await
            .ctx("reading an outbox command"))?;
        let current: Command = row.ok_or(StoreError::UnknownCommand(id))?.try_into()?;
        if current.status != CommandStatus::InFlight {
            return Err(StoreError::CommandState { id, actual: current.status.to_string(), expected: "in_flight" });
        }
        let event = with_command(outcome, outcome.outcome, &current.kind, &current.idempotency_key);
        let record = single(append_in_tx(&mut tx, std::slice::from_ref(&event)).await?)?;
        let error = match status {
            CommandStatus::Failed => ["error", "reason"]
                .iter()
                .find_map(|k| outcome.details.get(*k).and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| outcome.outcome.to_string()),
            _ => current.last_error.clone(),
        };
        const SQL: &str = concat!(
            "UPDATE outbox SET status = $1, last_error = $2, updated_us = $3, completed_us = $3, outcome_seq = $4 \
             WHERE id = $5 RETURNING ",
            outbox_columns!()
        );
        let now = super::to_us(Utc::now());
        let row: CommandRow = on_tx!(&mut tx, c => sqlx::query_as(SQL)
            .bind(status.as_str())
            .bind(&error)
            .bind(now)
            .bind(seq_i64(record.seq))
            .bind(id)
            .fetch_one(c)
            .await
            .ctx("completing an outbox command"))?;
        tx.commit().await?;
        Ok((row.try_into()?, record))
    }

    /// One command by id.
    pub async fn command(&self, id: i64) -> Result<Option<Command>, StoreError> {
        let row: Option<CommandRow> = on_pool!(self, p => sqlx::query_as(BY_ID).bind(id).fetch_optional(p).await.ctx("reading an outbox command"))?;
        row.map(Command::try_from).transpose()
    }

    /// One command by idempotency key.
    pub async fn command_by_key(&self, key: &str) -> Result<Option<Command>, StoreError> {
        let row: Option<CommandRow> = on_pool!(self, p => sqlx::query_as(BY_KEY).bind(key).fetch_optional(p).await
            .ctx("reading an outbox command"))?;
        row.map(Command::try_from).transpose()
    }

    /// Commands in one status, oldest first.
    pub async fn commands(&self, status: CommandStatus, limit: u32) -> Result<Vec<Command>, StoreError> {
        const SQL: &str = concat!("SELECT ", outbox_columns!(), " FROM outbox WHERE status = $1 ORDER BY id LIMIT $2");
        let rows: Vec<CommandRow> = on_pool!(self, p => sqlx::query_as(SQL).bind(status.as_str()).bind(i64::from(limit))
            .fetch_all(p).await.ctx("listing outbox commands"))?;
        rows.into_iter().map(Command::try_from).collect()
    }

    /// Commands left in flight — after a crash, what the worker must check and resume first.
    pub async fn in_flight_commands(&self) -> Result<Vec<Command>, StoreError> {
        self.commands(CommandStatus::InFlight, u32::MAX).await
    }

    async fn state_error(&self, id: i64, expected: &'static str) -> StoreError {
        match self.command(id).await {
            Ok(Some(c)) => StoreError::CommandState { id, actual: c.status.to_string(), expected },
            Ok(None) => StoreError::UnknownCommand(id),
            Err(e) => e,
        }
    }
}

/// On PostgreSQL, takes the audit append lock now (it is re-entrant within the transaction).
async fn lock_chain(tx: &mut WriteTx) -> Result<(), StoreError> {
    if let WriteTx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(super::audit::AUDIT_LOCK_KEY)
            .execute(&mut **t)
            .await
            .ctx("locking the audit log")?;
    }
    Ok(())
}

fn single(mut records: Vec<AuditRecord>) -> Result<AuditRecord, StoreError> {
    records.pop().ok_or_else(|| StoreError::Corrupt("an append returned no record".into()))
}

fn seq_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}
