//! Commands: every change an operator makes, as a durable, serialisable value.
//!
//! A command is written to the outbox together with its audit *intent* before anything is sent,
//! then applied by the worker, which first checks the remote state (so a command interrupted by
//! a crash is never applied twice), and completed together with its audit *outcome*.

use serde::{Deserialize, Serialize};

use crate::domain::audit::action;
use crate::domain::request::Verdict;
use crate::domain::{JournalKind, TicketKind};

/// A ticket as the operator saw it when they acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRef {
    /// sys_id.
    pub sys_id: String,
    /// Number (`INC0010042`).
    pub number: String,
    /// Which table.
    pub kind: TicketKind,
    /// `sys_mod_count` the operator saw: a newer one on the server means someone else changed the
    /// ticket, and the change is reported instead of overwritten.
    pub mod_count: u64,
}

/// An Okta user acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// Okta id.
    pub id: String,
    /// Login.
    pub login: String,
}

/// A change an operator asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// Assign the ticket to the operator.
    AssignToMe {
        /// The ticket.
        ticket: TicketRef,
    },
    /// Move the ticket to another state (value, e.g. `"2"`), not Resolved.
    ChangeState {
        /// The ticket.
        ticket: TicketRef,
        /// State value.
        state: String,
        /// State label, for messages.
        label: String,
    },
    /// Append a work note or comment.
    AddJournal {
        /// The ticket.
        ticket: TicketRef,
        /// Which journal.
        journal: JournalKind,
        /// The text.
        text: String,
    },
    /// Resolve with a close code and notes.
    Resolve {
        /// The ticket.
        ticket: TicketRef,
        /// Close code.
        close_code: String,
        /// Close notes.
        close_notes: String,
    },
    /// Unlock a locked-out Okta user.
    UnlockUser {
        /// The user.
        user: UserRef,
    },
    /// Send an Okta password reset email.
    ResetPassword {
        /// The user.
        user: UserRef,
    },
    /// Suspend an Okta user.
    SuspendUser {
        /// The user.
        user: UserRef,
    },
    /// Lift a suspension.
    UnsuspendUser {
        /// The user.
        user: UserRef,
    },
    /// Record an approval decision on a grantdesk access request (and mirror it where the routes
    /// say).
    Decide {
        /// grantdesk request id.
        request_id: String,
        /// Approve or deny.
        verdict: Verdict,
        /// The approver's comment.
        comment: String,
        /// Bulk batch id, when decided in bulk.
        batch: Option<String>,
        /// The approver's Okta login: the decision is theirs whoever's worker applies it (a
        /// command resumed after a crash by `grantdesk worker` run by someone else). Commands
        /// written before it was recorded are applied as the worker's operator.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approver: Option<String>,
    },
    /// Give the access of an approved request (Okta membership / assignment, or OIG request).
    Fulfil {
        /// grantdesk request id.
        request_id: String,
    },
    /// Remove the access of a granted request (expiry or revocation).
    Revoke {
        /// grantdesk request id.
        request_id: String,
        /// `expired`, `revoked`…
        reason: String,
    },
    /// Record a raised request in ServiceNow (RITM + approvals), route `servicenow`.
    RecordInServiceNow {
        /// grantdesk request id.
        request_id: String,
    },
    /// Raise the OIG request for a grantdesk request, route `oig`.
    RaiseInOig {
        /// grantdesk request id.
        request_id: String,
    },
    /// Write the audit log's head as a work note on a ticket: an outside witness against which
    /// `audit verify --witness` later checks the whole log.
    AuditCheckpoint {
        /// The ticket.
        ticket: TicketRef,
        /// The head's sequence number.
        sequence: u64,
        /// The head's hash (hex).
        hash: String,
    },
    /// Record in ServiceNow an OIG access request that has no record there (pattern D).
    BridgeOktaRequest {
        /// What the System Log showed.
        seen: Box<super::routes::bridge::OktaRequestSeen>,
    },
}

impl Command {
    /// The outbox `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::AssignToMe { .. } => "assign_to_me",
            Command::ChangeState { .. } => "change_state",
            Command::AddJournal { .. } => "add_journal",
            Command::Resolve { .. } => "resolve",
            Command::UnlockUser { .. } => "unlock_user",
            Command::ResetPassword { .. } => "reset_password",
            Command::SuspendUser { .. } => "suspend_user",
            Command::UnsuspendUser { .. } => "unsuspend_user",
            Command::Decide { .. } => "decide",
            Command::Fulfil { .. } => "fulfil",
            Command::Revoke { .. } => "revoke",
            Command::RecordInServiceNow { .. } => "record_in_servicenow",
            Command::RaiseInOig { .. } => "raise_in_oig",
            Command::AuditCheckpoint { .. } => "audit_checkpoint",
            Command::BridgeOktaRequest { .. } => "bridge_okta_request",
        }
    }

    /// The audit action recorded for this command.
    pub fn audit_action(&self) -> &'static str {
        match self {
            Command::AssignToMe { .. } => action::TICKET_ASSIGN,
            Command::ChangeState { .. } => action::TICKET_STATE,
            Command::AddJournal { journal: JournalKind::WorkNote, .. } => action::TICKET_WORK_NOTE,
            Command::AddJournal { journal: JournalKind::Comment, .. } => action::TICKET_COMMENT,
            Command::Resolve { .. } => action::TICKET_RESOLVE,
            Command::UnlockUser { .. } => action::USER_UNLOCK,
            Command::ResetPassword { .. } => action::USER_RESET_PASSWORD,
            Command::SuspendUser { .. } => action::USER_SUSPEND,
            Command::UnsuspendUser { .. } => action::USER_UNSUSPEND,
            Command::Decide { verdict: Verdict::Approve, .. } => action::ACCESS_REQUEST_APPROVE,
            Command::Decide { verdict: Verdict::Deny, .. } => action::ACCESS_REQUEST_DENY,
            Command::Fulfil { .. } => action::GRANT_ADD,
            Command::Revoke { .. } => action::GRANT_REMOVE,
            Command::RecordInServiceNow { .. } => "access_request.record_servicenow",
            Command::RaiseInOig { .. } => "access_request.raise_oig",
            Command::AuditCheckpoint { .. } => action::AUDIT_CHECKPOINT,
            Command::BridgeOktaRequest { .. } => "access_request.bridge_servicenow",
        }
    }

    /// The ticket it concerns, if any.
    pub fn ticket(&self) -> Option<&TicketRef> {
        match self {
            Command::AssignToMe { ticket }
            | Command::ChangeState { ticket, .. }
            | Command::AddJournal { ticket, .. }
            | Command::Resolve { ticket, .. }
            | Command::AuditCheckpoint { ticket, .. } => Some(ticket),
            _ => None,
        }
    }

    /// The Okta user it concerns, if any.
    pub fn user(&self) -> Option<&UserRef> {
        match self {
            Command::UnlockUser { user }
            | Command::ResetPassword { user }
            | Command::SuspendUser { user }
            | Command::UnsuspendUser { user } => Some(user),
            _ => None,
        }
    }

    /// The access request it concerns, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Command::Decide { request_id, .. }
            | Command::Fulfil { request_id }
            | Command::Revoke { request_id, .. }
            | Command::RecordInServiceNow { request_id }
            | Command::RaiseInOig { request_id } => Some(request_id),
            _ => None,
        }
    }

    /// What the command does, in a few words (`add a work note to INC0010001`).
    pub fn describe(&self) -> String {
        match self {
            Command::AssignToMe { ticket } => format!("assign {} to you", ticket.number),
            Command::ChangeState { ticket, label, .. } => format!("set {} to {label}", ticket.number),
            Command::AddJournal { ticket, journal: JournalKind::WorkNote, .. } => {
                format!("add a work note to {}", ticket.number)
            }
            Command::AddJournal { ticket, journal: JournalKind::Comment, .. } => {
                format!("add a comment to {}", ticket.number)
            }
            Command::Resolve { ticket, close_code, .. } => format!("resolve {} ({close_code})", ticket.number),
            Command::UnlockUser { user } => format!("unlock {}", user.login),
            Command::ResetPassword { user } => format!("reset the password of {}", user.login),
            Command::SuspendUser { user } => format!("suspend {}", user.login),
            Command::UnsuspendUser { user } => format!("unsuspend {}", user.login),
            Command::Decide { request_id, verdict: Verdict::Approve, .. } => format!("approve request {request_id}"),
            Command::Decide { request_id, verdict: Verdict::Deny, .. } => format!("deny request {request_id}"),
            Command::Fulfil { request_id } => format!("grant the access of request {request_id}"),
            Command::Revoke { request_id, reason } => format!("remove the access of request {request_id} ({reason})"),
            Command::RecordInServiceNow { request_id } => format!("record request {request_id} in ServiceNow"),
            Command::RaiseInOig { request_id } => format!("raise request {request_id} in Okta Identity Governance"),
            Command::AuditCheckpoint { ticket, sequence, .. } => {
                format!("write the audit checkpoint at sequence {sequence} to {}", ticket.number)
            }
            Command::BridgeOktaRequest { seen } => {
                format!(
                    "record Okta access request {} ({} for {}) in ServiceNow",
                    seen.oig_request, seen.entry, seen.user
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_through_json_with_a_kind_tag() {
        let c = Command::AddJournal {
            ticket: TicketRef {
                sys_id: "abc".into(),
                number: "INC0010001".into(),
                kind: TicketKind::Incident,
                mod_count: 3,
            },
            journal: JournalKind::WorkNote,
            text: "Called the user\nUnlocked".into(),
        };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["kind"], c.kind());
        assert_eq!(serde_json::from_value::<Command>(json).unwrap(), c);
        assert_eq!(c.audit_action(), "ticket.work_note");
    }
}
