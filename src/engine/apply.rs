//! Applying commands through the clients, checking the remote state first.
//!
//! Each apply first reads what is there now. If the change is already in place (a retry after a
//! dropped response, or a crash between applying and completing), the command completes as done
//! without sending it again. If someone else changed a ticket since the operator saw it
//! (`sys_mod_count` moved), the command fails with who and when, instead of overwriting.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::command::{Command, TicketRef, UserRef};
use super::{Engine, EngineError};
use crate::domain::{JournalKind, Ticket, UserStatus};
use crate::okta::OktaError;
use crate::servicenow::ServiceNowError;
use crate::store::{Command as OutboxCommand, StoreError};

/// Incident state values (ServiceNow's `incident.state` choices).
pub const STATE_RESOLVED: &str = "6";

/// A command applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// One line for the operator (`INC0010001 assigned to you`).
    pub summary: String,
    /// The remote request id, when the service gave one.
    pub request_id: Option<String>,
    /// What to add to the audit outcome's details.
    pub details: Value,
}

impl Applied {
    fn new(summary: impl Into<String>, details: Value) -> Self {
        Applied { summary: summary.into(), request_id: None, details }
    }
}

/// Why a command was not applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// Worth retrying: throttled, a 5xx, a dropped connection.
    #[error("{0}")]
    Transient(String),
    /// Someone else changed the record since the operator saw it.
    #[error("{0}")]
    Conflict(String),
    /// Refused by policy.
    #[error("{0}")]
    Refused(String),
    /// Failed for good (the service refused it, or it makes no sense any more).
    #[error("{0}")]
    Permanent(String),
}

impl From<ServiceNowError> for ApplyError {
    fn from(e: ServiceNowError) -> Self {
        match &e {
            ServiceNowError::RateLimited { .. } | ServiceNowError::Transport { .. } => {
                ApplyError::Transient(e.to_string())
            }
            _ if e.status().is_some_and(|s| s >= 500) => ApplyError::Transient(e.to_string()),
            _ => ApplyError::Permanent(e.to_string()),
        }
    }
}

impl From<OktaError> for ApplyError {
    fn from(e: OktaError) -> Self {
        match &e {
            OktaError::RateLimited { .. } | OktaError::Transport { .. } => ApplyError::Transient(e.to_string()),
            OktaError::Api { status, .. } if *status >= 500 => ApplyError::Transient(e.to_string()),
            OktaError::Http { status, .. } if *status >= 500 => ApplyError::Transient(e.to_string()),
            _ => ApplyError::Permanent(e.to_string()),
        }
    }
}

impl From<EngineError> for ApplyError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Refused(m) => ApplyError::Refused(m),
            // A store that was busy or briefly unreachable: the retry re-reads the state and
            // finishes what this attempt began (a decision stored, its fulfilment not yet
            // queued). Failing for good here would leave the request approved and never granted.
            EngineError::Store(StoreError::Query { .. } | StoreError::Open { .. }) => {
                ApplyError::Transient(e.to_string())
            }
            other => ApplyError::Permanent(other.to_string()),
        }
    }
}

/// What the intent records besides subject/object/ticket: the command's arguments, minus free
/// text that belongs to the ticket (the journal text is kept: it is what the operator wrote).
pub fn intent_details(command: &Command) -> Value {
    match command {
        Command::AssignToMe { ticket } => json!({"mod_count_seen": ticket.mod_count}),
        Command::ChangeState { ticket, state, label } => {
            json!({"mod_count_seen": ticket.mod_count, "state": state, "state_label": label})
        }
        Command::AddJournal { text, .. } => json!({"text": text}),
        Command::Resolve { ticket, close_code, close_notes } => {
            json!({"mod_count_seen": ticket.mod_count, "close_code": close_code, "close_notes": close_notes})
        }
        Command::UnlockUser { user }
        | Command::ResetPassword { user }
        | Command::SuspendUser { user }
        | Command::UnsuspendUser { user } => json!({"okta_user_id": user.id}),
        Command::Decide { request_id, comment, batch, .. } => {
            json!({"access_request": request_id, "comment": comment, "batch": batch})
        }
        Command::Fulfil { request_id }
        | Command::RecordInServiceNow { request_id }
        | Command::RaiseInOig { request_id } => {
            json!({"access_request": request_id})
        }
        Command::Revoke { request_id, reason } => json!({"access_request": request_id, "reason": reason}),
        Command::AuditCheckpoint { sequence, hash, .. } => json!({"sequence": sequence, "hash": hash}),
        Command::BridgeOktaRequest { seen } => json!({"oig_request": seen.oig_request, "entry": seen.entry,
            "approved": seen.approved, "resolved_event": seen.resolved.uuid,
            "grant_event": seen.granted.as_ref().map(|g| &g.uuid)}),
    }
}

/// Applies `command` (claimed as `claimed`) through the clients.
pub async fn apply(engine: &Engine, command: &Command, claimed: &OutboxCommand) -> Result<Applied, ApplyError> {
    match command {
        Command::AssignToMe { ticket } => assign_to_me(engine, ticket).await,
        Command::ChangeState { ticket, state, label } => change_state(engine, ticket, state, label).await,
        Command::AddJournal { ticket, journal, text } => add_journal(engine, ticket, *journal, text, claimed).await,
        Command::Resolve { ticket, close_code, close_notes } => resolve(engine, ticket, close_code, close_notes).await,
        Command::UnlockUser { user } => unlock(engine, user).await,
        Command::ResetPassword { user } => reset_password(engine, user, claimed).await,
        Command::SuspendUser { user } => suspend(engine, user, true).await,
        Command::UnsuspendUser { user } => suspend(engine, user, false).await,
        Command::AuditCheckpoint { ticket, sequence, hash } => checkpoint(engine, ticket, *sequence, hash).await,
        Command::Decide { .. }
        | Command::Fulfil { .. }
        | Command::Revoke { .. }
        | Command::RecordInServiceNow { .. }
        | Command::RaiseInOig { .. } => crate::engine::access::apply(engine, command, claimed).await,
        Command::BridgeOktaRequest { seen } => crate::engine::routes::bridge::record(engine, seen).await,
    }
}

/// The ticket as it is now, or a permanent failure if it is gone.
async fn current(engine: &Engine, t: &TicketRef) -> Result<Ticket, ApplyError> {
    let sn = engine.servicenow()?;
    sn.ticket(t.kind, &t.sys_id)
        .await?
        .ok_or_else(|| ApplyError::Permanent(format!("{} no longer exists in ServiceNow", t.number)))
}

fn changed_under(t: &TicketRef, now: &Ticket) -> ApplyError {
    ApplyError::Conflict(format!(
        "{} was changed by {} at {} since you saw it (update {} → {}); nothing was overwritten — reload it and try again",
        t.number,
        if now.updated_by.is_empty() { "someone" } else { &now.updated_by },
        now.updated_at.format("%Y-%m-%d %H:%M UTC"),
        t.mod_count,
        now.mod_count
    ))
}

/// Checks the ticket was not changed since the operator saw it.
fn unchanged(t: &TicketRef, now: &Ticket) -> Result<(), ApplyError> {
    if now.mod_count != t.mod_count { Err(changed_under(t, now)) } else { Ok(()) }
}

async fn patch(engine: &Engine, t: &TicketRef, fields: &[(&str, &str)]) -> Result<Ticket, ApplyError> {
    Ok(engine.servicenow()?.update_ticket(t.kind, &t.sys_id, fields).await?)
}

fn interleaved(t: &TicketRef, after: &Ticket) -> Value {
    // After our PATCH the count should be one more than what we checked; more means another
    // write landed between our read and our write (the Table API has no compare-and-set).
    json!({"mod_count_before": t.mod_count, "mod_count_after": after.mod_count,
           "interleaved_update": after.mod_count > t.mod_count + 1})
}

async fn assign_to_me(engine: &Engine, t: &TicketRef) -> Result<Applied, ApplyError> {
    let me = engine.operator();
    let now = current(engine, t).await?;
    if now.assigned_to.sys_id == me.sys_id {
        return Ok(Applied::new(format!("{} is assigned to you", t.number), json!({"already": true})));
    }
    unchanged(t, &now)?;
    let after = patch(engine, t, &[("assigned_to", &me.sys_id)]).await?;
    Ok(Applied::new(format!("{} assigned to you", t.number), interleaved(t, &after)))
}

async fn change_state(engine: &Engine, t: &TicketRef, state: &str, label: &str) -> Result<Applied, ApplyError> {
    let now = current(engine, t).await?;
    if now.state == state {
        return Ok(Applied::new(format!("{} is {label}", t.number), json!({"already": true})));
    }
    unchanged(t, &now)?;
    let after = patch(engine, t, &[("state", state)]).await?;
    Ok(Applied::new(format!("{} set to {}", t.number, after.state_label), interleaved(t, &after)))
}

async fn resolve(engine: &Engine, t: &TicketRef, code: &str, notes: &str) -> Result<Applied, ApplyError> {
    let now = current(engine, t).await?;
    if now.state == STATE_RESOLVED && now.close_code == code {
        return Ok(Applied::new(format!("{} is resolved", t.number), json!({"already": true})));
    }
    unchanged(t, &now)?;
    let after = patch(engine, t, &[("state", STATE_RESOLVED), ("close_code", code), ("close_notes", notes)]).await?;
    Ok(Applied::new(format!("{} resolved ({code})", t.number), interleaved(t, &after)))
}

/// Whether the journal already holds `text` by the operator, written at or after `since` —
/// how a retried note is recognised as already applied.
async fn journal_has(
    engine: &Engine,
    t: &TicketRef,
    kind: JournalKind,
    text: &str,
    since: DateTime<Utc>,
) -> Result<bool, ApplyError> {
    let me = &engine.operator().user_name;
    let entries = engine.servicenow()?.journal(&t.sys_id).await?;
    // ServiceNow keeps times to the second; allow for clock skew between us and the instance.
    let since = since - chrono::Duration::seconds(120);
    Ok(entries
        .iter()
        .any(|e| e.kind == kind && e.value.trim() == text.trim() && &e.created_by == me && e.created_on >= since))
}

async fn add_journal(
    engine: &Engine,
    t: &TicketRef,
    kind: JournalKind,
    text: &str,
    claimed: &OutboxCommand,
) -> Result<Applied, ApplyError> {
    let what = match kind {
        JournalKind::WorkNote => "work note",
        JournalKind::Comment => "comment",
    };
    // A first attempt cannot have been applied before; a retry might have been.
    if claimed.attempts > 1 && journal_has(engine, t, kind, text, claimed.created_at).await? {
        return Ok(Applied::new(format!("{what} already on {}", t.number), json!({"already": true})));
    }
    engine.servicenow()?.add_journal(t.kind, &t.sys_id, kind, text).await?;
    Ok(Applied::new(format!("{what} added to {}", t.number), json!({})))
}

/// Writes the audit head as a work note. The note's text is fixed by the head, so a note already
/// on the ticket with that text (a retry after a dropped response) means it is done.
async fn checkpoint(engine: &Engine, t: &TicketRef, sequence: u64, hash: &str) -> Result<Applied, ApplyError> {
    use crate::domain::audit::Checkpoint;
    let head: Checkpoint = format!("{sequence}:{hash}")
        .parse()
        .map_err(|e| ApplyError::Permanent(format!("not an audit checkpoint: {e}")))?;
    let text = head.witness_note();
    let sn = engine.servicenow()?;
    let there = sn
        .journal(&t.sys_id)
        .await?
        .iter()
        .any(|e| e.kind == JournalKind::WorkNote && Checkpoint::from_witness_note(&e.value) == Some(head));
    if there {
        return Ok(Applied::new(format!("checkpoint {head} is already on {}", t.number), json!({"already": true})));
    }
    sn.add_journal(t.kind, &t.sys_id, JournalKind::WorkNote, &text).await?;
    Ok(Applied::new(format!("checkpoint {head} written to {}", t.number), json!({"checkpoint": head.to_string()})))
}

async fn okta_status(engine: &Engine, u: &UserRef) -> Result<UserStatus, ApplyError> {
    Ok(engine.okta()?.user(&u.id).await?.status)
}

async fn unlock(engine: &Engine, u: &UserRef) -> Result<Applied, ApplyError> {
    let status = okta_status(engine, u).await?;
    if status != UserStatus::LockedOut {
        return Ok(Applied::new(
            format!("{} is not locked out ({status})", u.login),
            json!({"already": true, "status": status.as_str()}),
        ));
    }
    engine.okta()?.unlock_user(&u.id).await?;
    Ok(Applied::new(format!("{} unlocked", u.login), json!({"status_before": status.as_str()})))
}

async fn reset_password(engine: &Engine, u: &UserRef, claimed: &OutboxCommand) -> Result<Applied, ApplyError> {
    let status = okta_status(engine, u).await?;
    // A reset puts the account in RECOVERY; on a retry that means the first attempt landed.
    if claimed.attempts > 1 && status == UserStatus::Recovery {
        return Ok(Applied::new(format!("password reset already sent to {}", u.login), json!({"already": true})));
    }
    engine.okta()?.reset_password_by_email(&u.id).await?;
    Ok(Applied::new(format!("password reset email sent to {}", u.login), json!({"status_before": status.as_str()})))
}

async fn suspend(engine: &Engine, u: &UserRef, suspend: bool) -> Result<Applied, ApplyError> {
    let status = okta_status(engine, u).await?;
    let okta = engine.okta()?;
    if suspend {
        if status == UserStatus::Suspended {
            return Ok(Applied::new(format!("{} is suspended", u.login), json!({"already": true})));
        }
        okta.suspend_user(&u.id).await?;
        Ok(Applied::new(format!("{} suspended", u.login), json!({"status_before": status.as_str()})))
    } else {
        if status != UserStatus::Suspended {
            return Ok(Applied::new(
                format!("{} is not suspended ({status})", u.login),
                json!({"already": true, "status": status.as_str()}),
            ));
        }
        okta.unsuspend_user(&u.id).await?;
        Ok(Applied::new(format!("{} unsuspended", u.login), json!({"status_before": "SUSPENDED"})))
    }
}
