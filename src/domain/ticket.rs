//! Tickets as the console understands them: incidents, service-catalog requests, requested
//! items and catalog tasks, their journals and their approvals — independent of how ServiceNow
//! spells them on the wire (the client maps its wire records into these).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which ServiceNow table a ticket comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// `incident` (INC…)
    Incident,
    /// `sc_request` (REQ…)
    Request,
    /// `sc_req_item` (RITM…)
    RequestedItem,
    /// `sc_task` (SCTASK…)
    CatalogTask,
}

impl TicketKind {
    /// The ServiceNow table this kind lives in.
    pub fn table(self) -> &'static str {
        match self {
            TicketKind::Incident => "incident",
            TicketKind::Request => "sc_request",
            TicketKind::RequestedItem => "sc_req_item",
            TicketKind::CatalogTask => "sc_task",
        }
    }

    /// The kind stored in a table, if it is a ticket table.
    pub fn from_table(table: &str) -> Option<Self> {
        Some(match table {
            "incident" => TicketKind::Incident,
            "sc_request" => TicketKind::Request,
            "sc_req_item" => TicketKind::RequestedItem,
            "sc_task" => TicketKind::CatalogTask,
            _ => return None,
        })
    }

    /// The kind a ticket number belongs to, from its prefix (`INC0010001` → incident).
    pub fn from_number(number: &str) -> Option<Self> {
        let n = number.to_ascii_uppercase();
        Some(if n.starts_with("INC") {
            TicketKind::Incident
        } else if n.starts_with("RITM") {
            TicketKind::RequestedItem
        } else if n.starts_with("REQ") {
            TicketKind::Request
        } else if n.starts_with("SCTASK") {
            TicketKind::CatalogTask
        } else {
            return None;
        })
    }

    /// Every ticket kind, in the order the queue lists them.
    pub const ALL: [TicketKind; 4] =
        [TicketKind::Incident, TicketKind::Request, TicketKind::RequestedItem, TicketKind::CatalogTask];
}

/// A reference to another record: its sys_id and, when known, its display value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reference {
    /// sys_id of the referenced record (empty when the reference is empty).
    pub sys_id: String,
    /// Display value (a person's name, a group's name), possibly empty if not fetched.
    pub display: String,
}

impl Reference {
    /// True when the reference points nowhere.
    pub fn is_empty(&self) -> bool {
        self.sys_id.is_empty()
    }
}

/// A ticket of any kind, as cached and shown by the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// ServiceNow sys_id.
    pub sys_id: String,
    /// Human number, e.g. `INC0010042`, `RITM0010007`.
    pub number: String,
    /// Which table it lives in.
    pub kind: TicketKind,
    /// One-line summary.
    pub short_description: String,
    /// Long description (may be empty).
    pub description: String,
    /// State code as stored (`"1"`, `"2"`, `"6"`…).
    pub state: String,
    /// State label (`New`, `In Progress`, `Resolved`…).
    pub state_label: String,
    /// Priority 1 (critical) to 5 (planning); 0 when unknown.
    pub priority: u8,
    /// Whether the ticket is still active (not closed/cancelled).
    pub active: bool,
    /// The person the ticket is for (incident `caller_id`, request `requested_for`).
    pub caller: Reference,
    /// Email of the caller, which is their Okta login (empty if unknown).
    pub caller_email: String,
    /// Assignment group.
    pub assignment_group: Reference,
    /// Assignee.
    pub assigned_to: Reference,
    /// Category (`inquiry`, `software`, `hardware`, `network`, `access`…).
    pub category: String,
    /// Parent record for RITMs (the REQ) and tasks (the RITM); empty otherwise.
    pub parent: Reference,
    /// Catalog item name for RITMs (empty otherwise).
    pub cat_item: String,
    /// `opened_at`.
    pub opened_at: DateTime<Utc>,
    /// `sys_updated_on`.
    pub updated_at: DateTime<Utc>,
    /// `sys_updated_by` (a user name).
    pub updated_by: String,
    /// `sys_mod_count`: how many times the record has been updated — used to detect changes made
    /// under the operator.
    pub mod_count: u64,
    /// When the resolution SLA is due, if one applies.
    pub sla_due: Option<DateTime<Utc>>,
    /// Whether the SLA is already breached (`made_sla` false).
    pub sla_breached: bool,
    /// When it was resolved (`resolved_at`, or `closed_at` for tables without a resolved state);
    /// `None` while open.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Close code (`Solved (Permanently)`…), empty while open.
    pub close_code: String,
    /// Close notes, empty while open.
    pub close_notes: String,
    /// Approval summary of the record (`approval` field: `not requested`, `requested`, `approved`, `rejected`).
    pub approval: String,
}

impl Ticket {
    /// How long ago the ticket was opened, relative to `now`.
    pub fn age(&self, now: DateTime<Utc>) -> chrono::Duration {
        now.signed_duration_since(self.opened_at)
    }
}

/// Whether a journal entry is internal or visible to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalKind {
    /// `work_notes`: visible to agents only.
    WorkNote,
    /// `comments`: additional comments, visible to the caller.
    Comment,
}

impl JournalKind {
    /// The journal field name in ServiceNow.
    pub fn field(self) -> &'static str {
        match self {
            JournalKind::WorkNote => "work_notes",
            JournalKind::Comment => "comments",
        }
    }
}

/// One entry of a ticket's journal (`sys_journal_field`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// sys_id of the journal row.
    pub sys_id: String,
    /// sys_id of the ticket it belongs to (`element_id`).
    pub ticket_sys_id: String,
    /// Work note or comment.
    pub kind: JournalKind,
    /// The text.
    pub value: String,
    /// When it was written.
    pub created_on: DateTime<Utc>,
    /// Who wrote it (user name).
    pub created_by: String,
}

/// State of one approver's decision (`sysapproval_approver.state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Waiting on the approver.
    Requested,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
    /// No longer needed (another approver decided, or the request was cancelled).
    NotRequired,
    /// Cancelled.
    Cancelled,
    /// Not yet asked (a later step of a sequence).
    NotYetRequested,
    /// Any other value ServiceNow may hold.
    Other(String),
}

impl ApprovalState {
    /// Parses the stored choice value.
    pub fn from_value(v: &str) -> Self {
        match v {
            "requested" => ApprovalState::Requested,
            "approved" => ApprovalState::Approved,
            "rejected" => ApprovalState::Rejected,
            "not_required" => ApprovalState::NotRequired,
            "cancelled" => ApprovalState::Cancelled,
            "not requested" | "not_requested" => ApprovalState::NotYetRequested,
            other => ApprovalState::Other(other.to_string()),
        }
    }

    /// The stored choice value.
    pub fn value(&self) -> &str {
        match self {
            ApprovalState::Requested => "requested",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::NotRequired => "not_required",
            ApprovalState::Cancelled => "cancelled",
            ApprovalState::NotYetRequested => "not requested",
            ApprovalState::Other(s) => s,
        }
    }
}

/// One approver's row for one document (`sysapproval_approver`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// sys_id of the approval row.
    pub sys_id: String,
    /// The approver.
    pub approver: Reference,
    /// The ticket awaiting approval (`sysapproval` / `document_id`).
    pub document: Reference,
    /// Decision state.
    pub state: ApprovalState,
    /// Approver's comments (may be empty).
    pub comments: String,
    /// When the approval was asked.
    pub created_on: DateTime<Utc>,
    /// Last change.
    pub updated_on: DateTime<Utc>,
}
